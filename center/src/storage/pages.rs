//! Pages: consecutive records of a sequence-numbered family (journal
//! entries, postings, an account's statement lines of a day, a mailbox's
//! notices) kept as one stored value.
//!
//! sled 0.34 pays for every key a batch writes: it clones the leaf the key
//! lands in, links the new version and splits the leaf every few inserts.
//! A payment journals three telegrams and posts once, all under keys that
//! only ever grow, so a group of 256 payments wrote about a thousand such
//! keys (docs/performance-history.md, "what the durable write path costs"). Kept
//! as pages, the same group writes a few dozen.
//!
//! A page is stored under its first record's key (the group, such as the
//! family byte or an account's family, account and day, then the
//! big-endian sequence); its value is the records' canonical encodings one
//! after the other, in ascending sequence. Pages never overlap: every
//! record of a page is below the next page's first sequence. A value that
//! holds one record is a page of one, so a database written before pages
//! (one record per key) reads as it is: there is nothing to migrate.
//!
//! This module is pure (no storage): it cuts records into pages and reads
//! a page back, checking it; `sled_store.rs` puts the pages into sled.

use std::ops::Range;

use denbun_protocol::wire::{Reader, Wire};

/// A page closes before it would pass this many bytes. sled splits a leaf
/// above 16 entries and writes a leaf of over about 128 KiB
/// (`segment_size / 4`) as a separate blob file; 17 pages of this size stay
/// under that. One record larger than this is a page of its own.
pub const PAGE_BYTES_MAX: usize = 6 * 1024;
/// A page holds at most this many records, so reading one record decodes at
/// most this many.
pub const PAGE_RECORDS_MAX: usize = 64;
const _: () = assert!(17 * PAGE_BYTES_MAX < 128 * 1024);

/// Cuts `records` (sequence and encoding, ascending sequence) into pages:
/// each page's first sequence and its bytes.
pub fn paginate(records: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Vec<(u64, Vec<u8>)> {
    let mut pages: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut records_in_last = 0usize;
    let mut last_sequence: Option<u64> = None;
    for (sequence, bytes) in records {
        // Our own invariant: callers hand records in ascending order.
        assert!(last_sequence.is_none_or(|last| last < sequence), "page records must ascend");
        last_sequence = Some(sequence);
        match pages.last_mut() {
            Some((_, page)) if records_in_last < PAGE_RECORDS_MAX && page.len() + bytes.len() <= PAGE_BYTES_MAX => {
                page.extend_from_slice(&bytes);
                records_in_last += 1;
            }
            _ => {
                pages.push((sequence, bytes));
                records_in_last = 1;
            }
        }
    }
    pages
}

/// One record of a page, decoded, with where its bytes are in the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRecord<T> {
    /// Its sequence.
    pub sequence: u64,
    /// The record.
    pub record: T,
    /// Its encoding's place in the page's bytes.
    pub bytes: Range<usize>,
}

/// Why a stored page is not a page.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// A record does not decode.
    #[error("record {index} of the page does not decode: {reason}")]
    Decode {
        /// Which record (0 is the first).
        index: usize,
        /// The decoder's words.
        reason: String,
    },
    /// The page holds no record.
    #[error("the page is empty")]
    Empty,
    /// The first record is not the one the page is stored under.
    #[error("the page is stored under sequence {stored_under} but begins with {first}")]
    Misplaced {
        /// The sequence of the page's key.
        stored_under: u64,
        /// The sequence of its first record.
        first: u64,
    },
    /// The records do not ascend.
    #[error("record {index} of the page (sequence {sequence}) does not follow {previous}")]
    OutOfOrder {
        /// Which record.
        index: usize,
        /// Its sequence.
        sequence: u64,
        /// The sequence before it.
        previous: u64,
    },
    /// More records than a page holds.
    #[error("the page holds more than {PAGE_RECORDS_MAX} records")]
    TooLong,
}

/// Reads the page stored under `stored_under`: every record, checked to
/// begin at that sequence and to ascend.
pub fn read_page<T: Wire>(
    bytes: &[u8],
    stored_under: u64,
    sequence_of: impl Fn(&T) -> u64,
) -> Result<Vec<PageRecord<T>>, PageError> {
    let mut reader = Reader::new(bytes);
    let mut records: Vec<PageRecord<T>> = Vec::new();
    while reader.remaining() > 0 {
        let index = records.len();
        // A page written before pages existed may be one record larger than
        // a page's bytes, but never holds more records than a page.
        if index == PAGE_RECORDS_MAX {
            return Err(PageError::TooLong);
        }
        let start = reader.offset();
        let record: T = reader.get().map_err(|error| PageError::Decode { index, reason: error.to_string() })?;
        let sequence = sequence_of(&record);
        match records.last() {
            None if sequence != stored_under => return Err(PageError::Misplaced { stored_under, first: sequence }),
            Some(previous) if previous.sequence >= sequence => {
                return Err(PageError::OutOfOrder { index, sequence, previous: previous.sequence });
            }
            _ => {}
        }
        records.push(PageRecord { sequence, record, bytes: start..reader.offset() });
    }
    if records.is_empty() {
        return Err(PageError::Empty);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use denbun_protocol::wire::encode_to_vec;
    use proptest::prelude::*;

    use super::*;

    /// A record of a test family: its sequence and some filler bytes.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Numbered(u64, Vec<u8>);

    impl Wire for Numbered {
        fn encode(&self, writer: &mut denbun_protocol::wire::Writer) {
            writer.put(&self.0);
            writer.put(&u16::try_from(self.1.len()).unwrap());
            writer.put_slice(&self.1);
        }
        fn decode(reader: &mut Reader<'_>) -> Result<Self, denbun_protocol::wire::DecodeError> {
            let sequence = reader.get()?;
            let length: u16 = reader.get()?;
            Ok(Numbered(sequence, reader.take(usize::from(length))?.to_vec()))
        }
    }

    fn encoded(records: &[Numbered]) -> Vec<(u64, Vec<u8>)> {
        records.iter().map(|record| (record.0, encode_to_vec(record))).collect()
    }

    fn read(first: u64, bytes: &[u8]) -> Result<Vec<Numbered>, PageError> {
        Ok(read_page(bytes, first, |record: &Numbered| record.0)?.into_iter().map(|page| page.record).collect())
    }

    #[test]
    fn small_records_share_a_page_and_a_large_one_has_its_own() {
        let records = vec![
            Numbered(5, vec![1; 100]),
            Numbered(6, vec![2; 100]),
            Numbered(7, vec![3; 10_000]),
            Numbered(9, vec![]),
        ];
        let pages = paginate(encoded(&records));
        let firsts: Vec<u64> = pages.iter().map(|(first, _)| *first).collect();
        assert_eq!(firsts, [5, 7, 9]);
        assert_eq!(read(5, &pages[0].1).unwrap(), records[..2]);
        assert_eq!(read(7, &pages[1].1).unwrap(), records[2..3]);
    }

    #[test]
    fn a_page_holds_at_most_its_record_count() {
        let records: Vec<Numbered> = (1..=PAGE_RECORDS_MAX as u64 + 1).map(|n| Numbered(n, Vec::new())).collect();
        let pages = paginate(encoded(&records));
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[1].0, PAGE_RECORDS_MAX as u64 + 1);
        // Joined by hand into one value, the page is refused as too long.
        let joined: Vec<u8> = pages.iter().flat_map(|(_, bytes)| bytes.clone()).collect();
        assert_eq!(read(1, &joined), Err(PageError::TooLong));
    }

    #[test]
    fn a_record_stored_alone_is_a_page_of_one() {
        // What databases written before pages hold: one record per key.
        let record = Numbered(42, vec![7; 3]);
        assert_eq!(read(42, &encode_to_vec(&record)).unwrap(), [record]);
    }

    #[test]
    fn a_page_that_is_not_one_is_refused_with_why() {
        let page = |records: &[Numbered]| -> Vec<u8> { records.iter().flat_map(encode_to_vec).collect() };
        assert_eq!(read(1, &[]), Err(PageError::Empty));
        assert_eq!(read(1, &page(&[Numbered(2, vec![])])), Err(PageError::Misplaced { stored_under: 1, first: 2 }));
        assert_eq!(
            read(1, &page(&[Numbered(1, vec![]), Numbered(1, vec![])])),
            Err(PageError::OutOfOrder { index: 1, sequence: 1, previous: 1 })
        );
        let mut cut = page(&[Numbered(1, vec![]), Numbered(2, vec![9; 4])]);
        cut.pop();
        assert!(matches!(read(1, &cut), Err(PageError::Decode { index: 1, .. })));
    }

    proptest! {
        #[test]
        fn pages_hold_every_record_once_in_order(
            lengths in proptest::collection::vec(0usize..3_000, 0..200),
            gaps in proptest::collection::vec(1u64..5, 200),
        ) {
            let mut sequence = 0;
            let records: Vec<Numbered> = lengths
                .iter()
                .zip(&gaps)
                .map(|(length, gap)| {
                    sequence += gap;
                    Numbered(sequence, vec![0xAB; *length])
                })
                .collect();
            let pages = paginate(encoded(&records));
            let mut read_back = Vec::new();
            for (first, bytes) in &pages {
                let page = read(*first, bytes).unwrap();
                prop_assert!(page.len() <= PAGE_RECORDS_MAX);
                prop_assert!(page.len() == 1 || bytes.len() <= PAGE_BYTES_MAX);
                read_back.extend(page);
            }
            prop_assert_eq!(read_back, records);
        }

        #[test]
        fn any_bytes_read_as_a_page_give_an_error_or_ascending_records(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            first in 0u64..4,
        ) {
            if let Ok(page) = read(first, &bytes) {
                prop_assert_eq!(page[0].0, first);
                prop_assert!(page.windows(2).all(|pair| pair[0].0 < pair[1].0));
            }
        }
    }
}
