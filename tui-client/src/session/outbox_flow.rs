//! The outbox flow (claim 3): signed telegrams wait in the key file until the
//! center's signed answer for their processing number has been verified.
//!
//! [`submit`] signs a new telegram, appends it to the outbox and saves
//! *before* sending it, then sends it; [`run_outbox`] sends whatever waits
//! (after a crash, a dropped line, or telegrams composed offline). Either way
//! an entry leaves the outbox only in one save together with its receipt in
//! the history, after the answer has been verified; a crash at any point
//! leaves it in the outbox, to be sent again with the same processing number
//! and answered once by the center.
//!
//! A reject ends an entry's wait only when sending it again cannot succeed
//! ([`Rejection::retry_may_succeed`]); a transient reject (busy, rate limit,
//! storage trouble) leaves it waiting and stops the run, since later entries
//! may depend on it.

use denbun_protocol::header::PartyIdError;
use denbun_protocol::keyfile::HistoryEntry;
use denbun_protocol::limits::{ITEM_TITLE_BYTES_MAX, TRADE_NAME_BYTES_MAX};
use denbun_protocol::sign::{BuildError, Signer};
use denbun_protocol::telegram::{Body, CardAnswer, Telegram};
use denbun_protocol::wire::{Blob, Date, Text, Yen};
use ed25519_dalek::SigningKey;

use super::{Answer, Rejection, Session, SessionError, unix_time_ms};
use crate::vault::{UnlockedVault, VaultError};

/// Why [`submit`] or [`run_outbox`] did not end with an answer.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The key file trusts another center than the session talks to.
    #[error(
        "This key file belongs to the center \"{key_file_center}\", but the session is with \"{session_center}\"; \
         telegrams signed for one center are worthless at another. Connect to the center of your key file."
    )]
    WrongCenter {
        /// The center pinned in the key file.
        key_file_center: String,
        /// The center of the session.
        session_center: String,
    },
    /// The signing key is not the one registered in this key file.
    #[error("The signature key does not belong to this key file; nothing was signed or stored.")]
    WrongKey,
    /// The key file's profile names no valid party.
    #[error("The key file's profile is not a valid member, store or operator ({0}).")]
    Profile(#[from] PartyIdError),
    /// The telegram could not be built; nothing was stored.
    #[error("Cannot sign this telegram: {0}. Nothing was stored.")]
    Build(#[from] BuildError),
    /// The key file could not be saved or changed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Stored in the outbox but not answered (line down, timeout, transient
    /// reject): it waits there and is sent again by the next run.
    #[error("{source} The telegram (processing number {processing_number}) waits in the outbox.")]
    NotAnswered {
        /// The telegram's processing number.
        processing_number: u64,
        /// Why there is no answer.
        source: SessionError,
    },
    /// The center refused it for good; it left the outbox.
    #[error("{rejection} It was removed from the outbox.")]
    Refused {
        /// The telegram's processing number.
        processing_number: u64,
        /// The center's signed reject.
        rejection: Box<Rejection>,
    },
}

/// An outbox entry that has left the outbox.
#[derive(Clone, Debug)]
pub enum Completed {
    /// The center answered; the answer is in the history.
    Answered {
        /// The entry's processing number.
        processing_number: u64,
        /// The verified answer.
        answer: Answer,
    },
    /// The center refused it for a reason that retrying cannot change.
    Refused {
        /// The entry's processing number.
        processing_number: u64,
        /// The signed reject.
        rejection: Rejection,
    },
}

/// What one run of the outbox did.
#[derive(Debug)]
#[must_use = "a run may stop early: check `stopped`"]
pub struct OutboxReport {
    /// Entries that left the outbox, in the order they were sent.
    pub completed: Vec<Completed>,
    /// Entries that could not be read as telegrams; they stay where they are.
    pub unreadable: Vec<u64>,
    /// Why the run stopped before the end of the outbox, if it did.
    pub stopped: Option<SessionError>,
    /// Entries still waiting after the run.
    pub waiting: usize,
}

impl OutboxReport {
    /// Whether every entry was sent and settled.
    pub fn is_complete(&self) -> bool {
        self.stopped.is_none() && self.waiting == self.unreadable.len()
    }
}

/// How one sent entry ended.
enum Settled {
    Answered(Answer),
    Refused(Rejection),
    Waiting(SessionError),
}

/// Sends every outbox entry in processing-number order, one at a time, each
/// marked as a retransmission (it may have been sent before a crash or a
/// dropped line; the repeat digit is outside the signature, so no key is
/// needed). Removes an entry, with its receipt added to the history, only
/// after the center's signed answer has been verified, saving the key file
/// after each change. Stops at the first entry that gets no answer or a
/// transient reject.
pub async fn run_outbox(vault: &mut UnlockedVault, session: &Session) -> Result<OutboxReport, SubmitError> {
    check_center(vault, session)?;
    let entries: Vec<(u64, Vec<u8>)> =
        vault.outbox().iter().map(|entry| (entry.processing_number, entry.telegram.as_slice().to_vec())).collect();
    let mut report = OutboxReport { completed: Vec::new(), unreadable: Vec::new(), stopped: None, waiting: 0 };
    for (processing_number, bytes) in entries {
        let Some(telegram) = Telegram::decode(&bytes).ok().and_then(|telegram| telegram.repeated()) else {
            tracing::warn!(processing_number, "an outbox entry is not a request telegram; left in place");
            report.unreadable.push(processing_number);
            continue;
        };
        match send_and_settle(vault, session, processing_number, &telegram).await? {
            Settled::Answered(answer) => report.completed.push(Completed::Answered { processing_number, answer }),
            Settled::Refused(rejection) => report.completed.push(Completed::Refused { processing_number, rejection }),
            Settled::Waiting(error) => {
                report.stopped = Some(error);
                break;
            }
        }
    }
    report.waiting = vault.outbox().len();
    Ok(report)
}

/// Signs `body` as the key file's owner with `key`, appends it to the outbox
/// under a fresh processing number and saves, then sends it and waits for
/// the answer; the answer moves it from the outbox to the history (saved).
/// A crash or a dropped line at any point leaves it in the outbox for
/// [`run_outbox`].
pub async fn submit(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    body: impl Into<Body>,
) -> Result<Answer, SubmitError> {
    check_center(vault, session)?;
    let (processing_number, telegram) = compose(vault, key, body)?;
    send_composed(vault, session, processing_number, &telegram).await
}

/// Signs `body` as the key file's owner with `key` for the key file's own
/// center, appends it to the outbox under a fresh processing number and
/// saves. Needs no line: a terminal that is offline composes here, and the
/// telegram is sent by [`send_composed`] now or by [`run_outbox`] at the next
/// connection.
pub fn compose(
    vault: &mut UnlockedVault,
    key: &SigningKey,
    body: impl Into<Body>,
) -> Result<(u64, Telegram), SubmitError> {
    if key.verifying_key().to_bytes() != vault.contents().verification_key {
        return Err(SubmitError::WrongKey);
    }
    let signer = Signer::new(vault.profile().party, key, vault.center().fingerprint())?;
    let body = body.into();
    let sent_at_ms = unix_time_ms();
    // What makes a build fail (the catalog's rules, the body's checks) does
    // not depend on the processing number, so checking with a placeholder
    // here means the build inside `enqueue` cannot fail.
    signer.request(0, sent_at_ms, body.clone())?;
    let mut built = None;
    let processing_number = vault.enqueue(|number| {
        let telegram = signer.request(number, sent_at_ms, body).expect("the same body built with number 0");
        let bytes = telegram.as_bytes().to_vec();
        built = Some(telegram);
        Ok(bytes)
    })?;
    let telegram = built.expect("enqueue succeeded, so it composed the telegram");
    Ok((processing_number, telegram))
}

/// Sends a telegram that [`compose`] put in the outbox (first transmission,
/// so not marked as a repeat) and settles it like [`run_outbox`] does.
pub async fn send_composed(
    vault: &mut UnlockedVault,
    session: &Session,
    processing_number: u64,
    telegram: &Telegram,
) -> Result<Answer, SubmitError> {
    check_center(vault, session)?;
    match send_and_settle(vault, session, processing_number, telegram).await? {
        Settled::Answered(answer) => Ok(answer),
        Settled::Refused(rejection) => Err(SubmitError::Refused { processing_number, rejection: Box::new(rejection) }),
        Settled::Waiting(source) => Err(SubmitError::NotAnswered { processing_number, source }),
    }
}

async fn send_and_settle(
    vault: &mut UnlockedVault,
    session: &Session,
    processing_number: u64,
    telegram: &Telegram,
) -> Result<Settled, VaultError> {
    match session.request(telegram).await {
        Ok(answer) => {
            vault.complete(processing_number, history_entry(telegram, answer.telegram()))?;
            Ok(Settled::Answered(answer))
        }
        Err(SessionError::Rejected(rejection)) if !rejection.retry_may_succeed() => {
            vault.complete(processing_number, None)?;
            Ok(Settled::Refused(*rejection))
        }
        Err(error) => Ok(Settled::Waiting(error)),
    }
}

fn check_center(vault: &UnlockedVault, session: &Session) -> Result<(), SubmitError> {
    // The same center is the same keys; its address may move (a new port, a new host).
    let (pinned, connected) = (vault.center(), session.center());
    if pinned.verification_key == connected.verification_key && pinned.noise_public_key == connected.noise_public_key {
        Ok(())
    } else {
        Err(SubmitError::WrongCenter {
            key_file_center: vault.center().name.as_str().to_owned(),
            session_center: session.center().name.as_str().to_owned(),
        })
    }
}

/// The history entry for the center's verified `answer` to `request`: the
/// answer's date (UTC), who was paid (or "center"), what it was, how much,
/// and the signed answer itself as the receipt. `None` when the answer is
/// too large to keep as a receipt or its date is out of range.
pub fn history_entry(request: &Telegram, answer: &Telegram) -> Option<HistoryEntry> {
    let receipt = Blob::new(answer.as_bytes().to_vec()).ok()?;
    let date = date_of_unix_ms(answer.header().sent_at_ms())?;
    let (store, goods, amount) = match (request.body(), answer.body()) {
        (Body::PaymentInstruction(instruction), Body::PaymentAnswer(paid)) => (
            instruction.store.to_string(),
            format!(
                "{} line{}, transaction {}",
                instruction.lines.len(),
                if instruction.lines.len() == 1 { "" } else { "s" },
                paid.transaction_number
            ),
            paid.total.as_yen(),
        ),
        (_, Body::CardAnswer(CardAnswer::Issued(issued))) => {
            ("center".to_owned(), format!("prepaid card {}", issued.card.card_number), issued.card.face_value.as_yen())
        }
        (_, body) => ("center".to_owned(), body.code().name().to_owned(), Yen::ZERO),
    };
    Some(HistoryEntry {
        date,
        store: Text::new(cut::<TRADE_NAME_BYTES_MAX>(&store)).ok()?,
        goods: Text::new(cut::<ITEM_TITLE_BYTES_MAX>(&goods)).ok()?,
        amount,
        receipt,
    })
}

/// The longest prefix of `text` of at most `MAX` bytes ending on a character boundary.
fn cut<const MAX: usize>(text: &str) -> &str {
    let mut end = text.len().min(MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The calendar date (UTC) of a unix time in milliseconds, `None` outside
/// the years a [`Date`] holds.
pub fn date_of_unix_ms(unix_ms: u64) -> Option<Date> {
    // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    let days = i64::try_from(unix_ms / 86_400_000).ok()?;
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Date::new(u16::try_from(year).ok()?, u8::try_from(month).ok()?, u8::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_unix_times() {
        let cases = [
            (0, (1970, 1, 1)),
            (86_399_999, (1970, 1, 1)),
            (86_400_000, (1970, 1, 2)),
            (951_782_400_000, (2000, 2, 29)),
            (1_700_000_000_000, (2023, 11, 14)),
            (4_107_542_400_000, (2100, 3, 1)),
        ];
        for (unix_ms, expected) in cases {
            assert_eq!(date_of_unix_ms(unix_ms).map(Date::parts), Some(expected), "{unix_ms}");
        }
        assert_eq!(date_of_unix_ms(u64::MAX), None, "beyond year 2999");
    }

    #[test]
    fn cutting_keeps_whole_characters() {
        assert_eq!(cut::<4>("電文"), "電");
        assert_eq!(cut::<6>("電文"), "電文");
        assert_eq!(cut::<64>("short"), "short");
    }
}
