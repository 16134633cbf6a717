//! The canonical encoding of a committed [`WriteBatch`], as the shipped
//! journal keeps it: the logical writes the committer made, so a restore
//! re-applies them through [`crate::storage::Storage::commit`], the same
//! code path the running center took.
//!
//! ```text
//! batch  = count u32 | write*
//! write  = tag u8 | fields (each in its record's canonical encoding)
//!   1 party        PartyRecord
//!   2 counter      Counter u8 | value u64
//!   3 idempotency  sender PartyId | processing number u64 | IdempotencyRecord
//!   4 journal      JournalEntry
//!   5 mailbox put  MailboxNotice
//!   6 mailbox remove  recipient PartyId | sequence u64
//!   7 letter       LetterRecord
//!   8 ledger put   LedgerRecord (any family but the purchase, `O`)
//!   9 ledger remove   key bytes (u16 length, upper-case family byte first)
//!  10 purchase put LedgerRecord of family `O`, with its draws field
//! ```
//!
//! Builds before purchases kept their card draws wrote purchases with tag
//! 8, ending before the draws field. A purchase under tag 8 is read that
//! way (its draws apart, as they are), so a journal shipped by those builds
//! restores as it was written; under tag 10 it is read whole.

use denbun_protocol::header::PartyId;
use denbun_protocol::wire::{Blob, DecodeError, Reader, Wire, Writer};

use crate::storage::ledger_records::{TransactionRecord, family};
use crate::storage::{
    Counter, IdempotencyRecord, JournalEntry, LedgerKey, LedgerRecord, LetterRecord, MailboxNotice, PartyRecord, Write,
    WriteBatch,
};

/// Longest key of a money record (family byte and a few big-endian fields).
const LEDGER_KEY_BYTES_MAX: usize = 256;

const TAG_PARTY: u8 = 1;
const TAG_COUNTER: u8 = 2;
const TAG_IDEMPOTENCY: u8 = 3;
const TAG_JOURNAL: u8 = 4;
const TAG_MAILBOX_PUT: u8 = 5;
const TAG_MAILBOX_REMOVE: u8 = 6;
const TAG_LETTER: u8 = 7;
const TAG_LEDGER_PUT: u8 = 8;
const TAG_LEDGER_REMOVE: u8 = 9;
const TAG_PURCHASE_PUT: u8 = 10;

/// Appends `batch` to `writer`.
pub fn encode(batch: &WriteBatch, writer: &mut Writer) {
    let count = u32::try_from(batch.writes.len()).expect("a group's batch holds fewer than 2^32 writes");
    writer.put(&count);
    for write in &batch.writes {
        match write {
            Write::Party(record) => {
                writer.put(&TAG_PARTY);
                writer.put(record);
            }
            Write::Counter(counter, value) => {
                writer.put(&TAG_COUNTER);
                writer.put(counter);
                writer.put(value);
            }
            Write::Idempotency { sender, processing_number, record } => {
                writer.put(&TAG_IDEMPOTENCY);
                writer.put(sender);
                writer.put(processing_number);
                writer.put(record);
            }
            Write::Journal(entry) => {
                writer.put(&TAG_JOURNAL);
                writer.put(entry);
            }
            Write::MailboxPut(notice) => {
                writer.put(&TAG_MAILBOX_PUT);
                writer.put(notice);
            }
            Write::MailboxRemove { recipient, sequence } => {
                writer.put(&TAG_MAILBOX_REMOVE);
                writer.put(recipient);
                writer.put(sequence);
            }
            Write::Letter(letter) => {
                writer.put(&TAG_LETTER);
                writer.put(letter);
            }
            Write::LedgerPut(record) => {
                let tag = match record {
                    LedgerRecord::Transaction(_) => TAG_PURCHASE_PUT,
                    _ => TAG_LEDGER_PUT,
                };
                writer.put(&tag);
                writer.put(record);
            }
            Write::LedgerRemove(key) => {
                writer.put(&TAG_LEDGER_REMOVE);
                let bytes = Blob::<LEDGER_KEY_BYTES_MAX>::new(key.as_bytes().to_vec())
                    .expect("ledger keys are a family byte and a few fixed-size fields");
                writer.put(&bytes);
            }
        }
    }
}

/// Reads a batch written by [`encode`]. Every size is checked before
/// anything is allocated for it.
pub fn decode(reader: &mut Reader<'_>) -> Result<WriteBatch, DecodeError> {
    let count = u32::decode(reader)? as usize;
    // Each write takes at least two bytes, so a count the input cannot hold is refused at once.
    if count > reader.remaining() / 2 {
        return Err(DecodeError::invalid(count as u64).in_field("count"));
    }
    let mut writes = Vec::with_capacity(count);
    for _ in 0..count {
        let tag = u8::decode(reader)?;
        let write = match tag {
            TAG_PARTY => Write::Party(PartyRecord::decode(reader)?),
            TAG_COUNTER => Write::Counter(Counter::decode(reader)?, u64::decode(reader)?),
            TAG_IDEMPOTENCY => Write::Idempotency {
                sender: PartyId::decode(reader)?,
                processing_number: u64::decode(reader)?,
                record: IdempotencyRecord::decode(reader)?,
            },
            TAG_JOURNAL => Write::Journal(JournalEntry::decode(reader)?),
            TAG_MAILBOX_PUT => Write::MailboxPut(MailboxNotice::decode(reader)?),
            TAG_MAILBOX_REMOVE => {
                Write::MailboxRemove { recipient: PartyId::decode(reader)?, sequence: u64::decode(reader)? }
            }
            TAG_LETTER => Write::Letter(LetterRecord::decode(reader)?),
            TAG_LEDGER_PUT if reader.peek() == Some(family::TRANSACTION) => {
                u8::decode(reader)?;
                Write::LedgerPut(TransactionRecord::decode_without_draws(reader)?.into())
            }
            TAG_LEDGER_PUT => Write::LedgerPut(LedgerRecord::decode(reader)?),
            TAG_PURCHASE_PUT => match LedgerRecord::decode(reader)? {
                purchase @ LedgerRecord::Transaction(_) => Write::LedgerPut(purchase),
                _ => return Err(DecodeError::invalid(u64::from(TAG_PURCHASE_PUT)).in_field("write tag")),
            },
            TAG_LEDGER_REMOVE => {
                let bytes = Blob::<LEDGER_KEY_BYTES_MAX>::decode(reader)?.into_vec();
                // Only money records (upper-case families) may be removed this way.
                match bytes.split_first() {
                    Some((family, fields)) if family.is_ascii_uppercase() => {
                        Write::LedgerRemove(LedgerKey::prefix_of(*family, fields))
                    }
                    _ => return Err(DecodeError::invalid(u64::from(bytes.first().copied().unwrap_or(0)))),
                }
            }
            other => return Err(DecodeError::invalid(u64::from(other)).in_field("write tag")),
        };
        writes.push(write);
    }
    Ok(WriteBatch { writes })
}

#[cfg(test)]
mod tests {
    use denbun_protocol::header::MemberNumber;
    use denbun_protocol::wire::{Text, encode_to_vec};

    use super::*;
    use crate::storage::ledger_records::{LiveCard, MemberPurchases};
    use crate::storage::{JournalDirection, JournalSummary, PartyStatus};

    fn sample() -> WriteBatch {
        let member = PartyId::member(3).unwrap();
        let card = LiveCard { member: MemberNumber::new(3).unwrap(), card_number: 9 };
        let entry = JournalEntry {
            sequence: 1,
            previous_hash: [0; 32],
            recorded_at_ms: 5,
            direction: JournalDirection::In,
            session: 2,
            handshake_hash: [1; 32],
            peer: Text::new("127.0.0.1:1").unwrap(),
            summary: JournalSummary {
                sender: member,
                recipient: PartyId::CENTER,
                code: 4000,
                result: 0,
                processing_number: 7,
            },
            decoded: true,
            verified: true,
            in_reply_to: 0,
            telegram: Blob::new(vec![1, 2, 3]).unwrap(),
        };
        WriteBatch {
            writes: vec![
                Write::Party(PartyRecord {
                    party: member,
                    status: PartyStatus::Registered,
                    name: Text::new("Hanako").unwrap(),
                    address: Text::new("Tokyo").unwrap(),
                    date_of_birth: None,
                    trade_name: None,
                    bank_account: Blob::default(),
                    verification_key: Some([2; 32]),
                    delivery_key: None,
                    activation: None,
                    applied_at_ms: 1,
                    registered_at_ms: 2,
                }),
                Write::Counter(Counter::LastCard, 9),
                Write::Idempotency {
                    sender: member,
                    processing_number: 7,
                    record: IdempotencyRecord {
                        request_digest: [3; 32],
                        request_code: 4000,
                        answer: Blob::new(vec![4; 10]).unwrap(),
                        journal_sequence: 1,
                    },
                },
                Write::Journal(entry),
                Write::MailboxPut(MailboxNotice { recipient: member, sequence: 4, telegram: Blob::default() }),
                Write::MailboxRemove { recipient: member, sequence: 3 },
                Write::LedgerPut(card.clone().into()),
                Write::LedgerRemove(card.key()),
                Write::LedgerPut(MemberPurchases { member: MemberNumber::new(1).unwrap(), purchases: 300 }.into()),
            ],
        }
    }

    fn round_trip(batch: &WriteBatch) -> Vec<u8> {
        let mut writer = Writer::new();
        encode(batch, &mut writer);
        writer.into_vec()
    }

    #[test]
    fn a_batch_reads_back_write_for_write() {
        let batch = sample();
        let bytes = round_trip(&batch);
        let mut reader = Reader::new(&bytes);
        let decoded = decode(&mut reader).unwrap();
        reader.finish().unwrap();
        assert_eq!(format!("{:?}", decoded.writes), format!("{:?}", batch.writes));
        assert_eq!(round_trip(&decoded), bytes);
    }

    fn purchase() -> TransactionRecord {
        use denbun_protocol::header::StoreNumber;
        use denbun_protocol::telegram::OrderLine;
        use denbun_protocol::wire::{Amount, List, Yen};

        use crate::storage::ledger_records::{Draws, PurchaseDraw};
        let line = OrderLine { item_id: 1, quantity: 2, unit_price: Amount::new(500).unwrap() };
        TransactionRecord {
            transaction_number: 42,
            member: MemberNumber::new(3).unwrap(),
            store: StoreNumber::new(1).unwrap(),
            catalog_version: 1,
            lines: List::new(vec![line]).unwrap(),
            total: Amount::new(1_000).unwrap(),
            paid_at_ms: 5,
            balance_after: Yen::new(2_000).unwrap(),
            refunded_yen: 0,
            needs_shipment: false,
            digital_items: 0,
            digital_acknowledged: 0,
            shipment: None,
            delivered_at_ms: 5,
            claim_number: 0,
            paid_out: false,
            description: Text::new("Lesson").unwrap(),
            draws: Draws::Kept(
                List::new(vec![PurchaseDraw { card_number: 9, drawn_yen: 1_000, restored_yen: 0 }]).unwrap(),
            ),
        }
    }

    #[test]
    fn a_purchase_is_written_whole_under_its_own_tag() {
        let mut batch = sample();
        batch.writes.push(Write::LedgerPut(purchase().into()));
        let bytes = round_trip(&batch);
        let mut reader = Reader::new(&bytes);
        let decoded = decode(&mut reader).unwrap();
        reader.finish().unwrap();
        assert_eq!(format!("{:?}", decoded.writes), format!("{:?}", batch.writes));
        // Every cut is an error, a cut just before the purchase's draws too.
        for cut in 0..bytes.len() {
            let mut reader = Reader::new(&bytes[..cut]);
            assert!(decode(&mut reader).and_then(|_| reader.finish()).is_err(), "cut at {cut}");
        }
        // Under the other ledger tag, the purchase with its draws is refused:
        // read as an older build wrote it, the draws are bytes left over.
        let tag_at = bytes.len() - encode_to_vec(&LedgerRecord::from(purchase())).len() - 1;
        assert_eq!(bytes[tag_at], TAG_PURCHASE_PUT);
        let mut relabelled = bytes.clone();
        relabelled[tag_at] = TAG_LEDGER_PUT;
        let mut reader = Reader::new(&relabelled);
        assert!(decode(&mut reader).and_then(|_| reader.finish()).is_err());
    }

    #[test]
    fn the_purchase_tag_carries_only_purchases() {
        let card = LiveCard { member: MemberNumber::new(3).unwrap(), card_number: 9 };
        let mut writer = Writer::new();
        writer.put(&1u32);
        writer.put(&TAG_PURCHASE_PUT);
        writer.put(&LedgerRecord::from(card));
        let bytes = writer.into_vec();
        assert!(decode(&mut Reader::new(&bytes)).is_err());
    }

    #[test]
    fn a_purchase_shipped_by_builds_before_its_draws_reads_with_them_apart() {
        use crate::storage::ledger_records::Draws;
        // As those builds wrote it: tag 8, the purchase without its draws
        // field, and the next write straight after.
        let mut old = purchase();
        old.draws = Draws::Apart;
        let mut record = encode_to_vec(&LedgerRecord::from(old.clone()));
        assert_eq!(record.pop(), Some(0), "the draws field ends the record");
        let party = sample().writes.swap_remove(0);
        let mut writer = Writer::new();
        writer.put(&2u32);
        writer.put(&TAG_LEDGER_PUT);
        writer.put_slice(&record);
        encode(&WriteBatch { writes: vec![party.clone()] }, &mut writer);
        let mut bytes = writer.into_vec();
        // `encode` wrote its own count of one after the purchase: take it out.
        let count_at = 4 + 1 + record.len();
        bytes.drain(count_at..count_at + 4);
        let mut reader = Reader::new(&bytes);
        let decoded = decode(&mut reader).unwrap();
        reader.finish().unwrap();
        assert_eq!(format!("{:?}", decoded.writes), format!("{:?}", vec![Write::LedgerPut(old.into()), party]));
    }

    #[test]
    fn damage_is_an_error_never_a_panic() {
        let bytes = round_trip(&sample());
        for cut in 0..bytes.len() {
            let mut reader = Reader::new(&bytes[..cut]);
            assert!(decode(&mut reader).and_then(|_| reader.finish()).is_err(), "cut at {cut}");
        }
        // A huge count is refused before anything is allocated for it.
        let mut reader = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1]);
        assert!(decode(&mut reader).is_err());
        // Removing a register entry through a ledger removal is refused.
        let mut writer = Writer::new();
        writer.put(&1u32);
        writer.put(&TAG_LEDGER_REMOVE);
        writer.put(&Blob::<LEDGER_KEY_BYTES_MAX>::new(b"p1".to_vec()).unwrap());
        let bytes = writer.into_vec();
        assert!(decode(&mut Reader::new(&bytes)).is_err());
    }
}
