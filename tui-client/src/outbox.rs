//! The outbox (claim 3): signed telegrams that wait, inside the password-A
//! layer, until the center's signed answer has been verified.
//!
//! A pure data structure over [`VaultContents`]: no I/O, no clock. The vault
//! ([`crate::vault::UnlockedVault`]) calls these and saves after each change,
//! so the order of events on disk is always:
//!
//! 1. a processing number is allocated and the next number saved (so it is
//!    never used twice, even across a crash);
//! 2. the signed telegram with that number is appended and saved, before it is
//!    sent for the first time ([`enqueue`] does 1 and 2 in memory, the vault
//!    saves once after it);
//! 3. when the center's answer for that number has been verified, the entry
//!    leaves the outbox (and its receipt goes into the history) and is saved.
//!
//! After a crash between 2 and 3 the entry is still there and is sent again
//! with the same processing number; the center answers it idempotently.

use denbun_protocol::keyfile::{HistoryEntry, OutboxEntry, VaultContents};
use denbun_protocol::limits::{KEYFILE_HISTORY_ENTRIES_MAX, KEYFILE_OUTBOX_ENTRIES_MAX, TELEGRAM_BYTES_MAX};
use denbun_protocol::wire::{Blob, List};

/// The first processing number a new key file hands out.
pub const FIRST_PROCESSING_NUMBER: u64 = 1;

/// Why an outbox operation was refused. Nothing changes when one is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    #[error(
        "the outbox is full ({max} telegrams wait for an answer); connect to the center so they can be sent and answered"
    )]
    Full { max: usize },
    #[error("the purchase history is full ({max} entries); this key file cannot record more")]
    HistoryFull { max: usize },
    #[error("no telegram with processing number {number} waits in the outbox")]
    NotFound { number: u64 },
    #[error("the telegram is {bytes} bytes, over the limit of {max}")]
    TelegramTooLarge { bytes: usize, max: usize },
    #[error("this key file has used every processing number")]
    ProcessingNumbersExhausted,
}

/// Hands out the next processing number. The caller saves before using it.
pub fn allocate_processing_number(contents: &mut VaultContents) -> Result<u64, OutboxError> {
    let number = contents.next_processing_number;
    contents.next_processing_number = number.checked_add(1).ok_or(OutboxError::ProcessingNumbersExhausted)?;
    Ok(number)
}

/// Allocates the next processing number, lets `compose` build and sign the
/// telegram that carries it, and appends that telegram to the outbox.
///
/// This is the only way into the outbox, so an entry's number always comes
/// from the allocator and no number is ever used twice. Numbers rise along the
/// outbox, so it lists telegrams in the order they were written. If `compose`
/// fails, its number stays used (it may already be inside a signature).
pub fn enqueue<E: From<OutboxError>>(
    contents: &mut VaultContents,
    compose: impl FnOnce(u64) -> Result<Vec<u8>, E>,
) -> Result<u64, E> {
    if contents.outbox.len() >= KEYFILE_OUTBOX_ENTRIES_MAX {
        return Err(OutboxError::Full { max: KEYFILE_OUTBOX_ENTRIES_MAX }.into());
    }
    let processing_number = allocate_processing_number(contents)?;
    let telegram = compose(processing_number)?;
    let bytes = telegram.len();
    let telegram = Blob::new(telegram).map_err(|_| OutboxError::TelegramTooLarge { bytes, max: TELEGRAM_BYTES_MAX })?;
    // Allocation only rises, so the new entry sorts after every other one.
    assert!(contents.outbox.last().is_none_or(|last| last.processing_number < processing_number));
    let mut entries = std::mem::take(&mut contents.outbox).into_vec();
    entries.push(OutboxEntry { processing_number, telegram });
    contents.outbox = List::new(entries).expect("length checked above");
    Ok(processing_number)
}

/// The telegrams waiting for an answer, oldest (lowest number) first.
pub fn pending(contents: &VaultContents) -> &[OutboxEntry] {
    contents.outbox.as_slice()
}

/// Removes the entry answered by the center and records `history` (the
/// receipt), both or neither. Call only after the answer's signature and its
/// echoed processing number have been verified.
pub fn complete(
    contents: &mut VaultContents,
    processing_number: u64,
    history: Option<HistoryEntry>,
) -> Result<OutboxEntry, OutboxError> {
    let position = contents
        .outbox
        .iter()
        .position(|entry| entry.processing_number == processing_number)
        .ok_or(OutboxError::NotFound { number: processing_number })?;
    if history.is_some() && contents.history.len() >= KEYFILE_HISTORY_ENTRIES_MAX {
        return Err(OutboxError::HistoryFull { max: KEYFILE_HISTORY_ENTRIES_MAX });
    }
    if let Some(entry) = history {
        add_history(contents, entry)?;
    }
    let mut entries = std::mem::take(&mut contents.outbox).into_vec();
    let removed = entries.remove(position);
    contents.outbox = List::new(entries).expect("one entry fewer still fits");
    Ok(removed)
}

/// Appends one entry to the history (oldest first).
pub fn add_history(contents: &mut VaultContents, entry: HistoryEntry) -> Result<(), OutboxError> {
    if contents.history.len() >= KEYFILE_HISTORY_ENTRIES_MAX {
        return Err(OutboxError::HistoryFull { max: KEYFILE_HISTORY_ENTRIES_MAX });
    }
    let mut entries = std::mem::take(&mut contents.history).into_vec();
    entries.push(entry);
    contents.history = List::new(entries).expect("length checked above");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use denbun_protocol::identity::CenterIdentity;
    use denbun_protocol::keyfile::{Profile, Secret32};
    use denbun_protocol::wire::{Date, Text, Yen};

    fn empty_contents() -> VaultContents {
        let secret = [5u8; 32];
        VaultContents {
            profile: Profile {
                party: denbun_protocol::header::PartyId::member(7).expect("a member number"),
                name: Text::new("Taro").unwrap(),
            },
            center: CenterIdentity {
                name: Text::new("center").unwrap(),
                address: Text::new("127.0.0.1:1").unwrap(),
                verification_key: [1; 32],
                noise_public_key: [2; 32],
            },
            verification_key: [3; 32],
            delivery_public_key: x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(secret)).to_bytes(),
            next_processing_number: FIRST_PROCESSING_NUMBER,
            outbox: List::default(),
            history: List::default(),
            inner_layer: Blob::default(),
            delivery_secret_key: Secret32::new(secret),
        }
    }

    fn receipt(number: u64) -> HistoryEntry {
        HistoryEntry {
            date: Date::new(2024, 5, 1).unwrap(),
            store: Text::new("store").unwrap(),
            goods: Text::new(format!("goods {number}")).unwrap(),
            amount: Yen::new(100).unwrap(),
            receipt: Blob::new(number.to_be_bytes().to_vec()).unwrap(),
        }
    }

    fn push(contents: &mut VaultContents, telegram: &[u8]) -> Result<u64, OutboxError> {
        enqueue(contents, |_| Ok::<_, OutboxError>(telegram.to_vec()))
    }

    #[test]
    fn telegrams_wait_in_order_and_leave_only_when_answered() {
        let mut contents = empty_contents();
        let first = push(&mut contents, b"first").unwrap();
        let second = enqueue(&mut contents, |number| Ok::<_, OutboxError>(number.to_be_bytes().to_vec())).unwrap();
        assert_eq!((first, second, contents.next_processing_number), (1, 2, 3));
        assert_eq!(pending(&contents)[1].telegram.as_slice(), 2u64.to_be_bytes(), "compose saw its number");
        let numbers: Vec<u64> = pending(&contents).iter().map(|entry| entry.processing_number).collect();
        assert_eq!(numbers, [1, 2]);
        // Answers may come in any order.
        let removed = complete(&mut contents, second, Some(receipt(second))).unwrap();
        assert_eq!(removed.processing_number, second);
        assert_eq!(pending(&contents).len(), 1);
        assert_eq!(contents.history.len(), 1);
        assert_eq!(complete(&mut contents, second, None), Err(OutboxError::NotFound { number: 2 }));
        complete(&mut contents, first, None).unwrap();
        assert!(pending(&contents).is_empty());
        assert!(contents.check_consistency().is_ok());
    }

    #[test]
    fn numbers_are_never_reused() {
        let mut contents = empty_contents();
        let first = push(&mut contents, &[1]).unwrap();
        complete(&mut contents, first, None).unwrap();
        // The entry is gone, but its number is not handed out again.
        assert_eq!(allocate_processing_number(&mut contents).unwrap(), first + 1);
        // A failed composition burns its number too.
        let failed = enqueue(&mut contents, |_| Err(OutboxError::ProcessingNumbersExhausted));
        assert_eq!(failed, Err(OutboxError::ProcessingNumbersExhausted));
        assert_eq!(push(&mut contents, &[2]).unwrap(), first + 3);
        contents.next_processing_number = u64::MAX;
        assert_eq!(allocate_processing_number(&mut contents), Err(OutboxError::ProcessingNumbersExhausted));
        assert_eq!(contents.next_processing_number, u64::MAX, "a refused allocation changes nothing");
    }

    #[test]
    fn an_oversized_telegram_is_refused_and_the_outbox_unchanged() {
        let mut contents = empty_contents();
        push(&mut contents, &[1]).unwrap();
        assert_eq!(
            push(&mut contents, &vec![0; TELEGRAM_BYTES_MAX + 1]),
            Err(OutboxError::TelegramTooLarge { bytes: TELEGRAM_BYTES_MAX + 1, max: TELEGRAM_BYTES_MAX })
        );
        assert_eq!(pending(&contents).len(), 1);
    }

    #[test]
    fn a_full_outbox_refuses_more_without_using_a_number() {
        let mut contents = empty_contents();
        for _ in 0..KEYFILE_OUTBOX_ENTRIES_MAX {
            push(&mut contents, &[0]).unwrap();
        }
        let next = contents.next_processing_number;
        assert_eq!(push(&mut contents, &[0]), Err(OutboxError::Full { max: KEYFILE_OUTBOX_ENTRIES_MAX }));
        assert_eq!(contents.next_processing_number, next);
    }

    #[test]
    fn a_full_history_keeps_the_outbox_entry() {
        let mut contents = empty_contents();
        let number = push(&mut contents, &[0]).unwrap();
        contents.history = List::new(vec![receipt(0); KEYFILE_HISTORY_ENTRIES_MAX]).unwrap();
        assert_eq!(
            complete(&mut contents, number, Some(receipt(number))),
            Err(OutboxError::HistoryFull { max: KEYFILE_HISTORY_ENTRIES_MAX })
        );
        assert_eq!(pending(&contents).len(), 1, "nothing is lost when the history is full");
    }
}
