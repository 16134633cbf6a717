//! [`Storage`] on sled 0.34: the only module that touches sled.
//!
//! Everything lives in one tree with a one-byte prefix per record family, so
//! a whole group of telegrams commits with one `apply_batch` (atomic within a
//! tree, and far cheaper than a multi-tree transaction) followed by one
//! `flush` (fsync). Keys are big-endian so prefix scans come out in order.
//!
//! | prefix | key after the prefix              | value               |
//! |--------|-----------------------------------|---------------------|
//! | `p`    | party kind, number                | [`PartyRecord`]     |
//! | `c`    | counter byte                      | u64                 |
//! | `i`    | sender kind, number, processing # | [`IdempotencyRecord`] |
//! | `j`    | first sequence of the page        | a page of [`JournalEntry`] (`pages.rs`) |
//! | `h`    | (none)                            | [`JournalHead`]     |
//! | `s`    | sender kind, number, sequence     | (empty: an index of entries not sent by the center) |
//! | `m`    | recipient kind, number, first sequence of the page | a page of [`MailboxNotice`] |
//! | `l`    | letter id                         | [`LetterRecord`]    |
//! | `t`    | UTC hour (hours since the epoch)  | [`TelegramHour`]    |
//!
//! Money records ([`LedgerRecord`], `ledger_records.rs`) use upper-case
//! family bytes, and `n` once those ran out; the key is the family byte and
//! these fields, big-endian:
//!
//! | family | key after the family byte            | value                   |
//! |--------|--------------------------------------|-------------------------|
//! | `A`    | account class, number                | account totals          |
//! | `T`    | (none)                               | ledger totals by class  |
//! | `P`    | first posting sequence of the page   | a page of postings (`pages.rs`) |
//! | `Q`    | account class, number, day, first sequence of the page | a page of one account's entries that day (statements) |
//! | `C`    | card number                          | prepaid card            |
//! | `K`    | member, card number                  | index: all cards        |
//! | `L`    | member, card number                  | index: cards with value left |
//! | `X`    | transaction, card number             | what a payment drew, when its purchase does not keep it (over 16 cards, or stored before purchases kept their draws) |
//! | `F`    | funding number                       | funding request         |
//! | `G`    | funding number                       | index: pending funding  |
//! | `U`    | member, month (yyyymm)               | credit granted          |
//! | `H`    | store                                | catalog head            |
//! | `I`    | store, version, part                 | catalog part            |
//! | `J`    | store, version, item id              | catalog item            |
//! | `O`    | transaction number                   | purchase (with its card draws) |
//! | `N`    | member, transaction number           | index: member's purchases, as older builds wrote it for each |
//! | `n`    | member                               | member's purchases since (a count, updated in place) |
//! | `D`    | transaction, item id                 | delivery                |
//! | `E`    | transaction, item id, chunk index    | sealed chunk            |
//! | `R`    | claim number                         | payment claim           |
//! | `S`    | claim number                         | index: pending claims   |
//! | `M`    | store                                | outstanding claims      |
//! | `B`    | batch number                         | payout batch            |
//! | `W`    | batch number, format                 | bank transfer file      |
//! | `V`    | refund number                        | balance refund          |
//! | `Y`    | day (yyyymmdd)                       | day totals              |
//! | `Z`    | day, store                           | store's sales that day  |
//!
//! The journal, the postings, each mailbox and each account's statement
//! lines of a day are kept in pages (`pages.rs`): a batch's consecutive
//! records share one value under the first one's key, since sled's cost is
//! per key written (a store's lines of a group share a page; a member, with
//! one line a group, keeps a page of one). An acknowledged
//! notice is taken out of its page (the page is rewritten, or removed with
//! its last notice). One record alone under its own key, as databases before
//! pages have them, is a page of one.
//!
//! Every lookup on the paths that move money is a point read or a scan of
//! one member's, store's or purchase's prefix, so they cost the same however
//! large the ledger grows.

use std::path::Path;

use denbun_protocol::header::{PartyId, PartyKind};
use denbun_protocol::wire::{Wire, decode_exact};

use super::ledger_records::family;
use super::pages::{self, PageRecord};
use super::records::{HOUR_MS, encode};
use super::{
    Counter, IdempotencyRecord, JournalDirection, JournalEntry, JournalHead, LedgerKey, LedgerRange, LedgerRecord,
    LetterRecord, MailboxNotice, PartyRecord, ScanOrder, Storage, StorageError, TelegramHour, Write, WriteBatch,
};

const PREFIX_PARTY: u8 = b'p';
const PREFIX_COUNTER: u8 = b'c';
const PREFIX_IDEMPOTENCY: u8 = b'i';
const PREFIX_JOURNAL: u8 = b'j';
const PREFIX_JOURNAL_HEAD: u8 = b'h';
/// Written by earlier versions (an index of the journal by sender, which
/// nothing read: the console's journal search scans the journal); no
/// longer written, and left alone where a database still has it.
#[cfg(test)]
const PREFIX_JOURNAL_BY_SENDER: u8 = b's';
const PREFIX_MAILBOX: u8 = b'm';
const PREFIX_LETTER: u8 = b'l';
const PREFIX_TELEGRAM_HOUR: u8 = b't';
/// Postings are money records kept in pages, like the journal.
const PREFIX_POSTING: u8 = family::POSTING;
/// Money record families kept in pages: the postings (one group, `P`) and
/// the statement lines (a group per account and day). Each is write-once
/// and numbered by the posting's sequence, the last eight bytes of its key.
const PAGED_LEDGER_FAMILIES: [u8; 2] = [PREFIX_POSTING, family::ACCOUNT_ENTRY];

/// The center's data in a sled database.
pub struct SledStorage {
    database: sled::Db,
    tree: sled::Tree,
    /// Set when a write or flush failed: sled may hold part of it in memory
    /// only, so nothing more is committed until a restart recovers the disk.
    poisoned: std::sync::atomic::AtomicBool,
}

/// How long opening waits for a database that this process has just closed.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl SledStorage {
    /// Opens (or creates) the database in `directory`.
    ///
    /// sled 0.34 releases its file lock only when its background threads
    /// have wound down, a moment after the last handle is dropped (sled
    /// issues #1234 and #1289), so opening a database that this process has
    /// just closed (a restart in place, the bench seeding before its center
    /// starts) can find it still locked. Opening waits up to two seconds for
    /// the lock; a database another running process holds is refused after
    /// that, as before.
    pub fn open(directory: &Path) -> Result<Self, StorageError> {
        Self::open_waiting(directory, LOCK_WAIT)
    }

    fn open_waiting(directory: &Path, lock_wait: std::time::Duration) -> Result<Self, StorageError> {
        let deadline = std::time::Instant::now() + lock_wait;
        let database = loop {
            let opened = sled::Config::new()
                .path(directory)
                // We flush explicitly before answering; the background flush only
                // bounds what an unacknowledged write might lose.
                .flush_every_ms(Some(500))
                .open();
            match opened {
                Ok(database) => break database,
                Err(error) if is_lock_contention(&error) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(error) => return Err(io_error(error)),
            }
        };
        let tree = database.open_tree("center").map_err(io_error)?;
        Ok(Self { database, tree, poisoned: std::sync::atomic::AtomicBool::new(false) })
    }

    /// A failpoint's error after the write went in: like a real one, it poisons.
    #[cfg(feature = "failpoints")]
    fn struck(&self, failpoint: &str) -> StorageError {
        self.poison(StorageError::Io(format!("failpoint {failpoint}")))
    }

    /// Marks the storage unusable for writes after `error` (see `poisoned`).
    fn poison(&self, error: StorageError) -> StorageError {
        self.poisoned.store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::error!(%error, "a write to the database failed; nothing more is written until the center restarts");
        error
    }

    fn refuse_when_poisoned(&self) -> Result<(), StorageError> {
        if self.poisoned.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StorageError::Io(
                "an earlier write failed, so the database refuses writes until the center restarts".to_owned(),
            ));
        }
        Ok(())
    }

    fn get_record<T: Wire>(&self, key: &[u8]) -> Result<Option<T>, StorageError> {
        match self.tree.get(key).map_err(io_error)? {
            None => Ok(None),
            Some(bytes) => decode_record(key, &bytes).map(Some),
        }
    }

    fn scan<T: Wire>(&self, start: Vec<u8>, prefix: &[u8], limit: usize) -> Result<Vec<T>, StorageError> {
        let mut records = Vec::new();
        for item in self.tree.range(start..) {
            if records.len() >= limit {
                break;
            }
            let (key, value) = item.map_err(io_error)?;
            if !key.starts_with(prefix) {
                break;
            }
            records.push(decode_record(&key, &value)?);
        }
        Ok(records)
    }

    /// The key and value of the page of `group` that holds `sequence` if
    /// any does: the last page stored at or before it. A group is a paged
    /// family's key without its sequence: `j` (the journal), `P` (the
    /// postings), `m` and a recipient (one mailbox).
    fn page_at_or_before(&self, group: &[u8], sequence: u64) -> Result<Option<(sled::IVec, sled::IVec)>, StorageError> {
        match self.tree.range(..=page_key(group, sequence)).next_back() {
            Some(item) => {
                let (key, value) = item.map_err(io_error)?;
                Ok(is_page_of(&key, group).then_some((key, value)))
            }
            None => Ok(None),
        }
    }

    /// Records of a paged group with sequences `>= from`, ascending, at most `limit`.
    fn paged_from<T: Wire>(
        &self,
        group: &[u8],
        from: u64,
        limit: usize,
        sequence_of: impl Fn(&T) -> u64,
    ) -> Result<Vec<T>, StorageError> {
        let mut records = Vec::new();
        if limit == 0 {
            return Ok(records);
        }
        let start = match self.page_at_or_before(group, from)? {
            Some((key, _)) => key.to_vec(),
            None => page_key(group, from),
        };
        for item in self.tree.range(start..) {
            let (key, value) = item.map_err(io_error)?;
            if !is_page_of(&key, group) {
                break;
            }
            for page_record in read_stored_page(&key, &value, &sequence_of)? {
                if page_record.sequence >= from {
                    records.push(page_record.record);
                    if records.len() >= limit {
                        return Ok(records);
                    }
                }
            }
        }
        Ok(records)
    }

    /// Records with keys in `range` (which lies within the paged `family`),
    /// read through their pages. A page holds records of one group only, all
    /// at or above its key, so the page stored at or before the range's
    /// start is the only one before the range that can hold records in it.
    fn paged_ledger_scan(
        &self,
        family: u8,
        range: &LedgerRange,
        order: ScanOrder,
        limit: usize,
    ) -> Result<Vec<LedgerRecord>, StorageError> {
        let mut records = Vec::new();
        let take = |key: &[u8], value: &[u8], records: &mut Vec<LedgerRecord>| -> Result<bool, StorageError> {
            let mut page = read_stored_page(key, value, ledger_page_sequence)?;
            if matches!(order, ScanOrder::Descending) {
                page.reverse();
            }
            for page_record in page {
                check_ledger_key(key, &page_record.record)?;
                if range.contains(page_record.record.key().as_bytes()) {
                    records.push(page_record.record);
                    if records.len() >= limit {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        };
        match order {
            ScanOrder::Ascending => {
                // The page holding the range's first key may begin before it.
                let start = match self.tree.range(..=range.start.as_slice()).next_back() {
                    Some(item) => {
                        let (key, _) = item.map_err(io_error)?;
                        if key.first() == Some(&family) { key.to_vec() } else { range.start.clone() }
                    }
                    None => range.start.clone(),
                };
                for item in self.tree.range(start..range.end.clone()) {
                    let (key, value) = item.map_err(io_error)?;
                    if key.first() != Some(&family) {
                        continue;
                    }
                    if !take(&key, &value, &mut records)? {
                        break;
                    }
                }
            }
            ScanOrder::Descending => {
                for item in self.tree.range(..range.end.clone()).rev() {
                    let (key, value) = item.map_err(io_error)?;
                    if key.first() != Some(&family) {
                        break;
                    }
                    // A page stored at or before the range's start is the last one to look at.
                    if !take(&key, &value, &mut records)? || key.as_ref() <= range.start.as_slice() {
                        break;
                    }
                }
            }
        }
        Ok(records)
    }

    /// Puts `writes` (sequence to encoded record, or `None` to remove) of a
    /// paged group into `sled_batch` as pages. Records beyond the last one
    /// stored (nearly every write of the committer) become new pages; any
    /// other write rewrites the page that holds its sequence (a removal, a
    /// restore).
    fn write_pages<T: Wire>(
        &self,
        group: &[u8],
        mut writes: std::collections::BTreeMap<u64, Option<Vec<u8>>>,
        sequence_of: impl Fn(&T) -> u64,
        sled_batch: &mut sled::Batch,
    ) -> Result<(), StorageError> {
        let Some(&first_write) = writes.keys().next() else {
            return Ok(());
        };
        let last_stored = match self.tree.scan_prefix(group).next_back() {
            Some(item) => {
                let (key, value) = item.map_err(io_error)?;
                read_stored_page(&key, &value, &sequence_of)?.last().map(|record| record.sequence)
            }
            None => None,
        };
        let appended = match last_stored {
            Some(last) if last >= first_write => match last.checked_add(1) {
                Some(next) => writes.split_off(&next),
                None => std::collections::BTreeMap::new(),
            },
            _ => std::mem::take(&mut writes),
        };
        for (first, page) in
            pages::paginate(appended.into_iter().filter_map(|(sequence, bytes)| Some((sequence, bytes?))))
        {
            sled_batch.insert(page_key(group, first), page);
        }
        // What is left amends stored pages: rare (a restore, a repair).
        let mut touched: std::collections::BTreeMap<Vec<u8>, std::collections::BTreeMap<u64, Vec<u8>>> =
            std::collections::BTreeMap::new();
        let mut before_first: std::collections::BTreeMap<u64, Vec<u8>> = std::collections::BTreeMap::new();
        for (sequence, write) in writes {
            match self.page_at_or_before(group, sequence)? {
                Some((key, value)) => {
                    let records = match touched.entry(key.to_vec()) {
                        std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                        std::collections::btree_map::Entry::Vacant(entry) => {
                            let page = read_stored_page(&key, &value, &sequence_of)?;
                            entry.insert(
                                page.into_iter()
                                    .map(|record| (record.sequence, value[record.bytes].to_vec()))
                                    .collect(),
                            )
                        }
                    };
                    match write {
                        Some(bytes) => records.insert(sequence, bytes),
                        None => records.remove(&sequence),
                    };
                }
                None => {
                    if let Some(bytes) = write {
                        before_first.insert(sequence, bytes);
                    }
                }
            }
        }
        for (key, records) in touched {
            sled_batch.remove(key);
            for (first, page) in pages::paginate(records) {
                sled_batch.insert(page_key(group, first), page);
            }
        }
        for (first, page) in pages::paginate(before_first) {
            sled_batch.insert(page_key(group, first), page);
        }
        Ok(())
    }
}

/// The key of the page of `group` that begins at `sequence`.
fn page_key(group: &[u8], sequence: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(group.len() + 8);
    key.extend_from_slice(group);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

/// Whether `key` is a page of `group`: the group's bytes and a sequence.
fn is_page_of(key: &[u8], group: &[u8]) -> bool {
    key.len() == group.len() + 8 && key.starts_with(group)
}

/// The sequence of a money record read from a page: a posting's, or a
/// statement line's (its posting's). 0, which no posting has, for another
/// kind of money record: the page check refuses it.
fn ledger_page_sequence(record: &LedgerRecord) -> u64 {
    match record {
        LedgerRecord::Posting(posting) => posting.sequence,
        LedgerRecord::AccountEntry(entry) => entry.sequence,
        _ => 0,
    }
}

/// Reads the page stored under `key`, as damage if it is not one.
fn read_stored_page<T: Wire>(
    key: &[u8],
    value: &[u8],
    sequence_of: impl Fn(&T) -> u64,
) -> Result<Vec<PageRecord<T>>, StorageError> {
    let corrupt = |reason: String| StorageError::Corrupt { key: readable_key(key), reason };
    let stored_under = key
        .len()
        .checked_sub(8)
        .and_then(|start| <[u8; 8]>::try_from(&key[start..]).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| corrupt("a page's key ends in a sequence".to_owned()))?;
    pages::read_page(value, stored_under, sequence_of).map_err(|error| corrupt(error.to_string()))
}

/// Whether the money record read from the page under `page_key` belongs
/// there: its key is the page's group and its own sequence.
fn check_ledger_key(page_key: &[u8], record: &LedgerRecord) -> Result<(), StorageError> {
    let key = record.key();
    let group = paged_ledger_key(page_key).map(|(group, _)| group);
    if paged_ledger_key(key.as_bytes()).map(|(group, _)| group) != group || group.is_none() {
        return Err(StorageError::Corrupt {
            key: readable_key(page_key),
            reason: format!("the page holds {key:?}, of another family or group"),
        });
    }
    Ok(())
}

/// A paged money record's group and sequence: `P` and the posting's
/// sequence; `Q`, the account and the day, and the posting's sequence.
/// None for the other families (and for keys too short to be either).
fn paged_ledger_key(key: &[u8]) -> Option<(&[u8], u64)> {
    let family = *key.first()?;
    if !PAGED_LEDGER_FAMILIES.contains(&family) {
        return None;
    }
    let split = key.len().checked_sub(8).filter(|&split| split >= 1)?;
    if family == PREFIX_POSTING && split != 1 {
        return None;
    }
    let sequence = u64::from_be_bytes(<[u8; 8]>::try_from(&key[split..]).ok()?);
    Some((&key[..split], sequence))
}

/// sled 0.34 reports a held file lock as an `Other` I/O error with this text
/// (`Config::try_lock`); nothing else distinguishes it.
fn is_lock_contention(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock on"))
}

fn io_error(error: sled::Error) -> StorageError {
    StorageError::Io(error.to_string())
}

fn decode_record<T: Wire>(key: &[u8], bytes: &[u8]) -> Result<T, StorageError> {
    decode_exact(bytes).map_err(|error| StorageError::Corrupt { key: readable_key(key), reason: error.to_string() })
}

/// A money record, checked to belong under the key it was found at.
fn decode_ledger(key: &[u8], bytes: &[u8]) -> Result<LedgerRecord, StorageError> {
    let record = LedgerRecord::decode_stored(bytes)
        .map_err(|error| StorageError::Corrupt { key: readable_key(key), reason: error.to_string() })?;
    if record.key().as_bytes() != key {
        return Err(StorageError::Corrupt {
            key: readable_key(key),
            reason: format!("the record found here belongs under {:?}", record.key()),
        });
    }
    Ok(record)
}

fn readable_key(key: &[u8]) -> String {
    match key.split_first() {
        Some((prefix, rest)) => format!("{}/{}", char::from(*prefix), hex_string(rest)),
        None => "(empty key)".to_owned(),
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn party_key(prefix: u8, party: PartyId) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + 9 + 8);
    key.push(prefix);
    key.extend_from_slice(&encode(&party));
    key
}

fn party_sequence_key(prefix: u8, party: PartyId, sequence: u64) -> Vec<u8> {
    let mut key = party_key(prefix, party);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

fn sequence_key(prefix: u8, sequence: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(prefix);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

impl Storage for SledStorage {
    fn party(&self, party: PartyId) -> Result<Option<PartyRecord>, StorageError> {
        self.get_record(&party_key(PREFIX_PARTY, party))
    }

    fn parties(&self, kind: PartyKind, after: u64, limit: usize) -> Result<Vec<PartyRecord>, StorageError> {
        if after == u64::MAX {
            return Ok(Vec::new());
        }
        let prefix = [PREFIX_PARTY, kind as u8];
        let mut start = prefix.to_vec();
        start.extend_from_slice(&(after + 1).to_be_bytes());
        self.scan(start, &prefix, limit)
    }

    fn counter(&self, counter: Counter) -> Result<u64, StorageError> {
        Ok(self.get_record::<u64>(&[PREFIX_COUNTER, counter as u8])?.unwrap_or(0))
    }

    fn idempotency(&self, sender: PartyId, processing_number: u64) -> Result<Option<IdempotencyRecord>, StorageError> {
        self.get_record(&party_sequence_key(PREFIX_IDEMPOTENCY, sender, processing_number))
    }

    fn idempotency_last(&self, sender: PartyId) -> Result<Option<u64>, StorageError> {
        let prefix = party_key(PREFIX_IDEMPOTENCY, sender);
        let Some(item) = self.tree.scan_prefix(&prefix).next_back() else { return Ok(None) };
        let (key, _) = item.map_err(io_error)?;
        let number = <[u8; 8]>::try_from(&key[prefix.len()..]).map_err(|_| StorageError::Corrupt {
            key: readable_key(&key),
            reason: "an idempotency key ends in a processing number".to_owned(),
        })?;
        Ok(Some(u64::from_be_bytes(number)))
    }

    fn journal_head(&self) -> Result<JournalHead, StorageError> {
        Ok(self.get_record(&[PREFIX_JOURNAL_HEAD])?.unwrap_or(JournalHead { sequence: 0, hash: [0; 32] }))
    }

    fn journal(&self, from: u64, limit: usize) -> Result<Vec<JournalEntry>, StorageError> {
        self.paged_from(&[PREFIX_JOURNAL], from, limit, |entry: &JournalEntry| entry.sequence)
    }

    fn mailbox(&self, recipient: PartyId, after: u64, limit: usize) -> Result<Vec<MailboxNotice>, StorageError> {
        if after == u64::MAX {
            return Ok(Vec::new());
        }
        self.paged_from(&party_key(PREFIX_MAILBOX, recipient), after + 1, limit, |notice: &MailboxNotice| {
            notice.sequence
        })
    }

    fn letters(&self, after: u64, limit: usize) -> Result<Vec<LetterRecord>, StorageError> {
        if after == u64::MAX {
            return Ok(Vec::new());
        }
        self.scan(sequence_key(PREFIX_LETTER, after + 1), &[PREFIX_LETTER], limit)
    }

    fn for_each_idempotency(
        &self,
        visit: &mut dyn FnMut(PartyId, u64, &IdempotencyRecord) -> bool,
    ) -> Result<(), StorageError> {
        for item in self.tree.scan_prefix([PREFIX_IDEMPOTENCY]) {
            let (key, value) = item.map_err(io_error)?;
            let mut reader = denbun_protocol::wire::Reader::new(&key[1..]);
            let parsed = PartyId::decode(&mut reader).and_then(|party| {
                let number = u64::decode(&mut reader)?;
                reader.finish()?;
                Ok((party, number))
            });
            let (sender, processing_number) =
                parsed.map_err(|error| StorageError::Corrupt { key: readable_key(&key), reason: error.to_string() })?;
            let record: IdempotencyRecord = decode_record(&key, &value)?;
            if !visit(sender, processing_number, &record) {
                break;
            }
        }
        Ok(())
    }

    fn ledger_get(&self, key: &LedgerKey) -> Result<Option<LedgerRecord>, StorageError> {
        if let Some((group, sequence)) = paged_ledger_key(key.as_bytes()) {
            let Some((page_key, value)) = self.page_at_or_before(group, sequence)? else {
                return Ok(None);
            };
            let page = read_stored_page(&page_key, &value, ledger_page_sequence)?;
            let Some(found) = page.into_iter().find(|record| record.sequence == sequence) else {
                return Ok(None);
            };
            check_ledger_key(&page_key, &found.record)?;
            return Ok(Some(found.record));
        }
        match self.tree.get(key.as_bytes()).map_err(io_error)? {
            None => Ok(None),
            Some(bytes) => decode_ledger(key.as_bytes(), &bytes).map(Some),
        }
    }

    fn ledger_scan(
        &self,
        range: &LedgerRange,
        order: ScanOrder,
        limit: usize,
    ) -> Result<Vec<LedgerRecord>, StorageError> {
        let mut records = Vec::new();
        if range.start >= range.end || limit == 0 {
            return Ok(records);
        }
        for family in PAGED_LEDGER_FAMILIES {
            let pages = [family]..[family + 1];
            if range.start.as_slice() >= pages.start.as_slice() && range.end.as_slice() <= pages.end.as_slice() {
                return self.paged_ledger_scan(family, range, order, limit);
            }
            // Every scan of the money records stays within one family.
            assert!(
                range.end.as_slice() <= pages.start.as_slice() || range.start.as_slice() >= pages.end.as_slice(),
                "a scan across a paged family and another: {range:?}"
            );
        }
        let items = self.tree.range(range.start.as_slice()..range.end.as_slice());
        let mut visit = |item: sled::Result<(sled::IVec, sled::IVec)>| -> Result<bool, StorageError> {
            let (key, value) = item.map_err(io_error)?;
            records.push(decode_ledger(&key, &value)?);
            Ok(records.len() < limit)
        };
        match order {
            ScanOrder::Ascending => {
                for item in items {
                    if !visit(item)? {
                        break;
                    }
                }
            }
            ScanOrder::Descending => {
                for item in items.rev() {
                    if !visit(item)? {
                        break;
                    }
                }
            }
        }
        Ok(records)
    }

    fn telegram_hours(&self, first_hour: u64, hours: u64) -> Result<Vec<TelegramHour>, StorageError> {
        let end = first_hour.saturating_add(hours);
        let start = sequence_key(PREFIX_TELEGRAM_HOUR, first_hour);
        let limit = usize::try_from(hours).unwrap_or(usize::MAX);
        let counts: Vec<TelegramHour> = self.scan(start, &[PREFIX_TELEGRAM_HOUR], limit)?;
        Ok(counts.into_iter().take_while(|count| count.hour < end).collect())
    }

    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.refuse_when_poisoned()?;
        let mut sled_batch = sled::Batch::default();
        // The batch's last journal entry: the new head (hashed once, below).
        let mut last_entry: Option<&JournalEntry> = None;
        // Journal entries counted per UTC hour, added to the stored counts below.
        let mut hours: std::collections::BTreeMap<u64, (u64, u64)> = std::collections::BTreeMap::new();
        // The paged families' writes (sequence to encoding, `None` removes),
        // put into pages once the batch's writes are all known.
        let mut journal_pages = std::collections::BTreeMap::new();
        let mut ledger_pages: std::collections::BTreeMap<Vec<u8>, std::collections::BTreeMap<u64, Option<Vec<u8>>>> =
            std::collections::BTreeMap::new();
        let mut mailbox_pages: std::collections::BTreeMap<PartyId, std::collections::BTreeMap<u64, Option<Vec<u8>>>> =
            std::collections::BTreeMap::new();
        for write in &batch.writes {
            match write {
                Write::Party(record) => sled_batch.insert(party_key(PREFIX_PARTY, record.party), encode(record)),
                Write::Counter(counter, value) => sled_batch.insert(&[PREFIX_COUNTER, *counter as u8], encode(value)),
                Write::Idempotency { sender, processing_number, record } => sled_batch
                    .insert(party_sequence_key(PREFIX_IDEMPOTENCY, *sender, *processing_number), encode(record)),
                Write::Journal(entry) => {
                    let expected = match last_entry {
                        Some(last) => last.sequence + 1,
                        None => self.journal_head()?.sequence + 1,
                    };
                    // Our own invariant: the committer numbers entries from the head.
                    assert_eq!(entry.sequence, expected, "journal entries must follow the head");
                    journal_pages.insert(entry.sequence, Some(encode(entry)));
                    last_entry = Some(entry);
                    let counts = hours.entry(entry.recorded_at_ms / HOUR_MS).or_default();
                    match entry.direction {
                        JournalDirection::In => counts.0 += 1,
                        JournalDirection::Out => counts.1 += 1,
                    }
                }
                Write::MailboxPut(notice) => {
                    mailbox_pages.entry(notice.recipient).or_default().insert(notice.sequence, Some(encode(notice)));
                }
                Write::MailboxRemove { recipient, sequence } => {
                    mailbox_pages.entry(*recipient).or_default().insert(*sequence, None);
                }
                Write::Letter(letter) => sled_batch.insert(sequence_key(PREFIX_LETTER, letter.id), encode(letter)),
                Write::LedgerPut(record) => {
                    let key = record.key();
                    match paged_ledger_key(key.as_bytes()) {
                        Some((group, sequence)) => {
                            ledger_pages.entry(group.to_vec()).or_default().insert(sequence, Some(encode(record)));
                        }
                        None => sled_batch.insert(key.as_bytes(), encode(record)),
                    }
                }
                Write::LedgerRemove(key) => match paged_ledger_key(key.as_bytes()) {
                    Some((group, sequence)) => {
                        ledger_pages.entry(group.to_vec()).or_default().insert(sequence, None);
                    }
                    None => sled_batch.remove(key.as_bytes()),
                },
            }
        }
        self.write_pages(&[PREFIX_JOURNAL], journal_pages, |entry: &JournalEntry| entry.sequence, &mut sled_batch)?;
        for (group, writes) in ledger_pages {
            // A statement line is written once, when its posting is made, and
            // numbered by it: above every line its account has stored. So an
            // account's one new line of a batch (a member's, nearly always)
            // is a new page of one, put without reading the stored pages.
            if group.first() == Some(&family::ACCOUNT_ENTRY)
                && writes.len() == 1
                && let Some((sequence, Some(bytes))) = writes.first_key_value()
            {
                sled_batch.insert(page_key(&group, *sequence), bytes.clone());
                continue;
            }
            self.write_pages(&group, writes, ledger_page_sequence, &mut sled_batch)?;
        }
        for (recipient, writes) in mailbox_pages {
            let group = party_key(PREFIX_MAILBOX, recipient);
            self.write_pages(&group, writes, |notice: &MailboxNotice| notice.sequence, &mut sled_batch)?;
        }
        // The committer is the only writer, so reading the counts here and
        // writing the sums in the same batch cannot lose an update.
        for (hour, (telegrams_in, telegrams_out)) in hours {
            let key = sequence_key(PREFIX_TELEGRAM_HOUR, hour);
            let stored = self.get_record::<TelegramHour>(&key)?.unwrap_or(TelegramHour {
                hour,
                telegrams_in: 0,
                telegrams_out: 0,
            });
            let counts = TelegramHour {
                hour,
                telegrams_in: stored.telegrams_in + telegrams_in,
                telegrams_out: stored.telegrams_out + telegrams_out,
            };
            sled_batch.insert(key, encode(&counts));
        }
        if let Some(entry) = last_entry {
            let head = JournalHead { sequence: entry.sequence, hash: entry.hash() };
            sled_batch.insert(&[PREFIX_JOURNAL_HEAD], encode(&head));
        }
        fail::fail_point!("storage.before_write", |_| Err(StorageError::Io("failpoint storage.before_write".into())));
        self.tree.apply_batch(sled_batch).map_err(|error| self.poison(io_error(error)))?;
        Ok(())
    }

    fn sync(&self) -> Result<(), StorageError> {
        self.refuse_when_poisoned()?;
        fail::fail_point!("storage.before_flush", |_| Err(self.struck("storage.before_flush")));
        // sled's flush makes durable every write that went in before the call.
        self.database.flush().map_err(|error| self.poison(io_error(error)))?;
        fail::fail_point!("storage.after_flush", |_| Err(self.struck("storage.after_flush")));
        Ok(())
    }

    fn for_each_raw(&self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), StorageError> {
        for item in self.tree.iter() {
            let (key, value) = item.map_err(io_error)?;
            if !visit(&key, &value) {
                break;
            }
        }
        Ok(())
    }

    fn load_raw(&self, records: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StorageError> {
        let mut sled_batch = sled::Batch::default();
        for (key, value) in records {
            sled_batch.insert(key.as_slice(), value.as_slice());
        }
        self.tree.apply_batch(sled_batch).map_err(io_error)?;
        self.database.flush().map_err(io_error)?;
        Ok(())
    }

    fn size_on_disk_bytes(&self) -> Result<u64, StorageError> {
        self.database.size_on_disk().map_err(io_error)
    }
}

#[cfg(test)]
mod tests {
    use denbun_protocol::wire::{Blob, Text};

    use super::*;
    use crate::storage::{JournalDirection, JournalSummary, PartyStatus};

    fn member(number: u64) -> PartyId {
        PartyId::member(number).unwrap()
    }

    #[test]
    fn every_family_of_records_has_a_first_byte_of_its_own() {
        let prefixes = [
            PREFIX_PARTY,
            PREFIX_COUNTER,
            PREFIX_IDEMPOTENCY,
            PREFIX_JOURNAL,
            PREFIX_JOURNAL_HEAD,
            PREFIX_JOURNAL_BY_SENDER,
            PREFIX_MAILBOX,
            PREFIX_LETTER,
            PREFIX_TELEGRAM_HOUR,
        ];
        let all: Vec<u8> = prefixes.iter().chain(LedgerRecord::FAMILIES).copied().collect();
        let distinct: std::collections::BTreeSet<u8> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len(), "two families share a first byte: {:?}", String::from_utf8_lossy(&all));
        assert!(LedgerRecord::FAMILIES.contains(&family::MEMBER_PURCHASES));
    }

    fn party_record(party: PartyId) -> PartyRecord {
        PartyRecord {
            party,
            status: PartyStatus::Registered,
            name: Text::new("Hanako Yamada").unwrap(),
            address: Text::new("1-2-3 Chiyoda, Tokyo").unwrap(),
            date_of_birth: None,
            trade_name: None,
            bank_account: Blob::default(),
            verification_key: Some([7; 32]),
            delivery_key: Some([8; 32]),
            activation: None,
            applied_at_ms: 1,
            registered_at_ms: 2,
        }
    }

    fn journal_entry(sequence: u64, previous_hash: [u8; 32], sender: PartyId) -> JournalEntry {
        JournalEntry {
            sequence,
            previous_hash,
            recorded_at_ms: 1_000 + sequence,
            direction: JournalDirection::In,
            session: 1,
            handshake_hash: [0; 32],
            peer: Text::new("127.0.0.1:5000").unwrap(),
            summary: JournalSummary {
                sender,
                recipient: PartyId::CENTER,
                code: 8000,
                result: 0,
                processing_number: sequence,
            },
            decoded: true,
            verified: true,
            in_reply_to: 0,
            telegram: Blob::new(vec![sequence as u8; 10]).unwrap(),
        }
    }

    #[test]
    fn a_commit_survives_reopening_the_database() {
        let directory = tempfile::tempdir().unwrap();
        {
            let storage = SledStorage::open(directory.path()).unwrap();
            let mut batch = WriteBatch::default();
            batch.push(Write::Party(party_record(member(5))));
            batch.push(Write::Counter(Counter::LastMember, 5));
            storage.commit(&batch).unwrap();
        }
        let storage = SledStorage::open(directory.path()).unwrap();
        assert_eq!(storage.party(member(5)).unwrap(), Some(party_record(member(5))));
        assert_eq!(storage.counter(Counter::LastMember).unwrap(), 5);
        assert_eq!(storage.counter(Counter::LastStore).unwrap(), 0);
        assert_eq!(storage.party(member(6)).unwrap(), None);
    }

    #[test]
    fn parties_are_listed_in_number_order_by_kind() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let mut batch = WriteBatch::default();
        for number in [3, 1, 2] {
            batch.push(Write::Party(party_record(member(number))));
        }
        batch.push(Write::Party(party_record(PartyId::store(1).unwrap())));
        storage.commit(&batch).unwrap();
        let numbers: Vec<u64> =
            storage.parties(PartyKind::Member, 0, 10).unwrap().iter().map(|record| record.party.number()).collect();
        assert_eq!(numbers, [1, 2, 3]);
        let after_one: Vec<u64> =
            storage.parties(PartyKind::Member, 1, 1).unwrap().iter().map(|record| record.party.number()).collect();
        assert_eq!(after_one, [2]);
        assert_eq!(storage.parties(PartyKind::Store, 0, 10).unwrap().len(), 1);
    }

    #[test]
    fn the_journal_chains_across_batches_and_reads_in_order() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let first = journal_entry(1, [0; 32], member(1));
        let second = journal_entry(2, first.hash(), member(2));
        let third = journal_entry(3, second.hash(), member(1));
        let mut batch = WriteBatch::default();
        batch.push(Write::Journal(first.clone()));
        batch.push(Write::Journal(second.clone()));
        storage.commit(&batch).unwrap();
        let mut batch = WriteBatch::default();
        batch.push(Write::Journal(third.clone()));
        storage.commit(&batch).unwrap();

        assert_eq!(storage.journal_head().unwrap(), JournalHead { sequence: 3, hash: third.hash() });
        assert_eq!(storage.journal(2, 10).unwrap(), [second, third.clone()]);
        assert_eq!(storage.journal(1, 1).unwrap(), [first]);
        assert_eq!(storage.journal(4, 10).unwrap(), []);
    }

    #[test]
    fn opening_waits_for_a_lock_this_process_is_releasing_and_refuses_one_still_held() {
        let directory = tempfile::tempdir().unwrap();
        let held = SledStorage::open(directory.path()).unwrap();
        // Held throughout: refused once the wait is over, with sled's message.
        let refused = SledStorage::open_waiting(directory.path(), std::time::Duration::from_millis(100));
        assert!(
            matches!(&refused, Err(StorageError::Io(message)) if message.contains("could not acquire lock")),
            "{:?}",
            refused.err()
        );
        // Released while the opener waits: it opens.
        let path = directory.path().to_owned();
        let opener = std::thread::spawn(move || SledStorage::open_waiting(&path, std::time::Duration::from_secs(30)));
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(held);
        assert!(opener.join().unwrap().is_ok(), "the lock was released while the opener waited");
    }

    #[test]
    fn a_groups_journal_entries_share_pages_and_no_index() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let mut batch = WriteBatch::default();
        let mut previous = [0; 32];
        let mut entries = Vec::new();
        for sequence in 1..=200 {
            let sender = if sequence % 2 == 0 { PartyId::CENTER } else { member(1) };
            let entry = journal_entry(sequence, previous, sender);
            previous = entry.hash();
            entries.push(entry.clone());
            batch.push(Write::Journal(entry));
        }
        storage.commit(&batch).unwrap();
        let mut prefixes = Vec::new();
        storage
            .for_each_raw(&mut |key, _| {
                prefixes.push(key[0]);
                true
            })
            .unwrap();
        let pages = prefixes.iter().filter(|&&prefix| prefix == PREFIX_JOURNAL).count();
        let entry_bytes = encode(&entries[0]).len();
        assert_eq!(pages, 200usize.div_ceil(pages::PAGE_BYTES_MAX / entry_bytes), "{entry_bytes}-byte entries");
        assert!(!prefixes.contains(&PREFIX_JOURNAL_BY_SENDER), "no sender index: {prefixes:?}");
        // Read from anywhere, in any amount, across pages.
        for from in [1, 2, 37, 38, 39, 199, 200, 201] {
            for limit in [0, 1, 5, 64, 500] {
                let expected: Vec<JournalEntry> = entries.iter().skip(from as usize - 1).take(limit).cloned().collect();
                assert_eq!(storage.journal(from, limit).unwrap(), expected, "from {from}, limit {limit}");
            }
        }
    }

    #[test]
    fn a_journal_of_one_entry_per_key_reads_as_pages_of_one_and_grows_in_pages() {
        // A database written before pages: each entry under its own key.
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let mut previous = [0; 32];
        let mut entries = Vec::new();
        for sequence in 1..=5 {
            let entry = journal_entry(sequence, previous, member(1));
            previous = entry.hash();
            storage.tree.insert(sequence_key(PREFIX_JOURNAL, sequence), encode(&entry)).unwrap();
            entries.push(entry);
        }
        let head = JournalHead { sequence: 5, hash: previous };
        storage.tree.insert([PREFIX_JOURNAL_HEAD], encode(&head)).unwrap();
        assert_eq!(storage.journal(1, 10).unwrap(), entries);
        assert_eq!(storage.journal(4, 1).unwrap(), entries[3..4]);
        let mut batch = WriteBatch::default();
        for sequence in 6..=9 {
            let entry = journal_entry(sequence, previous, member(1));
            previous = entry.hash();
            entries.push(entry.clone());
            batch.push(Write::Journal(entry));
        }
        storage.commit(&batch).unwrap();
        assert_eq!(storage.journal(1, 100).unwrap(), entries);
        assert_eq!(storage.journal(5, 2).unwrap(), entries[4..6]);
        assert_eq!(storage.journal_head().unwrap().sequence, 9);
    }

    fn posting(sequence: u64) -> LedgerRecord {
        use crate::storage::ledger_records::{AccountId, PostingKind, PostingRecord};
        use denbun_protocol::header::{MemberNumber, StoreNumber};
        LedgerRecord::Posting(PostingRecord {
            sequence,
            recorded_at_ms: 1_000 + sequence,
            day: denbun_protocol::wire::Date::new(2026, 12, 5).unwrap(),
            kind: PostingKind::Payment,
            debit: AccountId::stored_value(MemberNumber::new(1).unwrap()),
            credit: AccountId::payable(StoreNumber::new(1).unwrap()),
            amount: denbun_protocol::wire::Amount::new(sequence).unwrap(),
            reference: sequence,
            cause_sender: member(1),
            cause_processing_number: sequence,
            description: Text::new("tea").unwrap(),
        })
    }

    fn live_card() -> crate::storage::ledger_records::LiveCard {
        crate::storage::ledger_records::LiveCard {
            member: denbun_protocol::header::MemberNumber::new(1).unwrap(),
            card_number: 5,
        }
    }

    #[test]
    fn postings_are_paged_and_read_by_key_and_by_range_both_ways() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        // A money record of another family, just before the postings' keys.
        let live = live_card();
        let mut batch = WriteBatch::default();
        batch.push(Write::LedgerPut(live.clone().into()));
        for sequence in 1..=150 {
            batch.push(Write::LedgerPut(posting(sequence)));
        }
        storage.commit(&batch).unwrap();
        let mut batch = WriteBatch::default();
        for sequence in 151..=160 {
            batch.push(Write::LedgerPut(posting(sequence)));
        }
        storage.commit(&batch).unwrap();
        let keys = |storage: &SledStorage| -> usize {
            let mut count = 0;
            storage
                .for_each_raw(&mut |key, _| {
                    count += usize::from(key[0] == PREFIX_POSTING);
                    true
                })
                .unwrap();
            count
        };
        assert!(keys(&storage) < 20, "160 postings in {} keys", keys(&storage));
        for sequence in [1, 2, 64, 65, 150, 151, 160] {
            assert_eq!(storage.ledger_get(&LedgerKey::posting(sequence)).unwrap(), Some(posting(sequence)));
        }
        assert_eq!(storage.ledger_get(&LedgerKey::posting(0)).unwrap(), None);
        assert_eq!(storage.ledger_get(&LedgerKey::posting(161)).unwrap(), None);
        assert_eq!(storage.ledger_get(&live.key()).unwrap(), Some(live.into()));
        let sequences = |range: LedgerRange, order: ScanOrder, limit: usize| -> Vec<u64> {
            storage
                .ledger_scan(&range, order, limit)
                .unwrap()
                .into_iter()
                .map(|record| match record {
                    LedgerRecord::Posting(posting) => posting.sequence,
                    other => panic!("not a posting: {other:?}"),
                })
                .collect()
        };
        let family = LedgerRange::family(family::POSTING);
        assert_eq!(sequences(family.clone(), ScanOrder::Ascending, 1_000), (1..=160).collect::<Vec<_>>());
        assert_eq!(sequences(family.clone(), ScanOrder::Descending, 3), [160, 159, 158]);
        let after = LedgerRange::after(LedgerKey::prefix_of(family::POSTING, &[]), 70);
        assert_eq!(sequences(after.clone(), ScanOrder::Ascending, 2), [71, 72]);
        assert_eq!(sequences(after.resume_after(&LedgerKey::posting(72)), ScanOrder::Ascending, 1), [73]);
        let between = LedgerRange::between(LedgerKey::posting(60), LedgerKey::posting(70));
        assert_eq!(sequences(between.clone(), ScanOrder::Ascending, 100), (60..70).collect::<Vec<_>>());
        assert_eq!(sequences(between, ScanOrder::Descending, 100), (60..70).rev().collect::<Vec<_>>());

        // A removal and a rewrite amend the page that holds them.
        let mut batch = WriteBatch::default();
        batch.push(Write::LedgerRemove(LedgerKey::posting(1)));
        batch.push(Write::LedgerRemove(LedgerKey::posting(100)));
        let mut changed = posting(101);
        if let LedgerRecord::Posting(record) = &mut changed {
            record.reference = 9_999;
        }
        batch.push(Write::LedgerPut(changed.clone()));
        storage.commit(&batch).unwrap();
        assert_eq!(storage.ledger_get(&LedgerKey::posting(1)).unwrap(), None);
        assert_eq!(storage.ledger_get(&LedgerKey::posting(2)).unwrap(), Some(posting(2)));
        assert_eq!(storage.ledger_get(&LedgerKey::posting(100)).unwrap(), None);
        assert_eq!(storage.ledger_get(&LedgerKey::posting(101)).unwrap(), Some(changed));
        let all = sequences(family, ScanOrder::Ascending, 1_000);
        assert_eq!(all.len(), 158);
        assert!(!all.contains(&1) && !all.contains(&100));
        // And one put back before the first page is a page of its own.
        let mut batch = WriteBatch::default();
        batch.push(Write::LedgerPut(posting(1)));
        storage.commit(&batch).unwrap();
        assert_eq!(storage.ledger_get(&LedgerKey::posting(1)).unwrap(), Some(posting(1)));
        assert_eq!(storage.ledger_get(&LedgerKey::posting(2)).unwrap(), Some(posting(2)));
    }

    fn statement_line(account: crate::storage::ledger_records::AccountId, day: u8, sequence: u64) -> LedgerRecord {
        use crate::storage::ledger_records::{AccountEntry, Side};
        LedgerRecord::AccountEntry(AccountEntry {
            account,
            day: denbun_protocol::wire::Date::new(2026, 12, day).unwrap(),
            sequence,
            side: Side::Credit,
            amount: denbun_protocol::wire::Amount::new(sequence).unwrap(),
            balance_after_yen: sequence * 10,
        })
    }

    #[test]
    fn statement_lines_are_paged_per_account_and_day_and_read_as_they_were_written() {
        use crate::storage::ledger_records::AccountId;
        use denbun_protocol::header::{MemberNumber, StoreNumber};
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let store = AccountId::payable(StoreNumber::new(1).unwrap());
        let other_store = AccountId::payable(StoreNumber::new(2).unwrap());
        let member = AccountId::stored_value(MemberNumber::new(1).unwrap());
        let old_member = AccountId::stored_value(MemberNumber::new(2).unwrap());
        let mut written = std::collections::BTreeMap::new();
        // A database from before the pages: one line a key.
        let old_lines: Vec<LedgerRecord> = (1..=3).map(|sequence| statement_line(old_member, 4, sequence)).collect();
        let raw: Vec<(Vec<u8>, Vec<u8>)> =
            old_lines.iter().map(|line| (line.key().as_bytes().to_vec(), encode(line))).collect();
        storage.load_raw(&raw).unwrap();
        for line in old_lines {
            written.insert(line.key(), line);
        }
        // Three groups: a store's many lines a group, a member's one, days changing.
        let mut sequence = 10;
        for (group, day) in [(0, 4), (1, 4), (2, 5)] {
            let mut batch = WriteBatch::default();
            let mut put = |record: LedgerRecord| {
                written.insert(record.key(), record.clone());
                batch.push(Write::LedgerPut(record));
            };
            for _ in 0..40 {
                sequence += 1;
                put(statement_line(store, day, sequence));
                if sequence % 7 == 0 {
                    put(statement_line(other_store, day, sequence));
                }
            }
            sequence += 1;
            put(statement_line(member, day, sequence));
            // The posting of the same sequence, a neighbouring paged family.
            put(posting(sequence));
            if group == 1 {
                // A second line of the member's in one group: a page of two.
                sequence += 1;
                put(statement_line(member, day, sequence));
            }
            storage.commit(&batch).unwrap();
        }
        let mut store_keys = 0;
        storage
            .for_each_raw(&mut |key, _| {
                store_keys +=
                    usize::from(key.starts_with(LedgerKey::family_with(family::ACCOUNT_ENTRY, &store).as_bytes()));
                true
            })
            .unwrap();
        assert!(store_keys <= 4, "120 lines of one store in {store_keys} keys");
        for (key, record) in &written {
            assert_eq!(storage.ledger_get(key).unwrap().as_ref(), Some(record), "{key:?}");
        }
        for missing in [
            LedgerKey::account_entry(store, denbun_protocol::wire::Date::new(2026, 12, 4).unwrap(), 5),
            LedgerKey::account_entry(store, denbun_protocol::wire::Date::new(2026, 12, 4).unwrap(), 99),
            LedgerKey::account_entry(member, denbun_protocol::wire::Date::new(2026, 12, 6).unwrap(), 1),
        ] {
            assert_eq!(storage.ledger_get(&missing).unwrap(), None);
        }
        // Ranges between written keys (from every third key to every fifth
        // after it), the family, each account's prefix and its lines from a
        // day on: both ways, with and without a limit, each reads what was
        // written.
        let keys: Vec<LedgerKey> = written.keys().cloned().collect();
        let mut ranges = vec![LedgerRange::family(family::ACCOUNT_ENTRY)];
        for account in [store, other_store, member, old_member] {
            ranges.push(LedgerRange::prefix(LedgerKey::family_with(family::ACCOUNT_ENTRY, &account)));
            ranges.push(LedgerRange::from_within(
                LedgerKey::account_entry(account, denbun_protocol::wire::Date::new(2026, 12, 5).unwrap(), 0),
                LedgerKey::family_with(family::ACCOUNT_ENTRY, &account),
            ));
        }
        for (index, start) in keys.iter().enumerate().step_by(3) {
            for end in keys[index..].iter().step_by(5) {
                let in_family = |key: &LedgerKey| key.as_bytes().first() == Some(&family::ACCOUNT_ENTRY);
                if in_family(start) && in_family(end) {
                    ranges.push(LedgerRange::between(start.clone(), end.clone()));
                }
            }
        }
        for range in ranges {
            let expected: Vec<&LedgerRecord> =
                written.iter().filter(|(key, _)| range.contains(key.as_bytes())).map(|(_, record)| record).collect();
            for limit in [1, 7, 1_000] {
                let ascending = storage.ledger_scan(&range, ScanOrder::Ascending, limit).unwrap();
                let want: Vec<&LedgerRecord> = expected.iter().copied().take(limit).collect();
                assert_eq!(ascending.iter().collect::<Vec<_>>(), want, "{range:?} ascending, {limit}");
                let descending = storage.ledger_scan(&range, ScanOrder::Descending, limit).unwrap();
                let want: Vec<&LedgerRecord> = expected.iter().rev().copied().take(limit).collect();
                assert_eq!(descending.iter().collect::<Vec<_>>(), want, "{range:?} descending, {limit}");
            }
        }
    }

    #[test]
    fn a_page_of_statement_lines_holding_another_group_is_damage() {
        use crate::storage::ledger_records::AccountId;
        use denbun_protocol::header::StoreNumber;
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let store = AccountId::payable(StoreNumber::new(1).unwrap());
        let other = AccountId::payable(StoreNumber::new(2).unwrap());
        let first = statement_line(store, 4, 1);
        // A page under the first store's key that goes on with the other store's line.
        let mut page = encode(&first);
        page.extend_from_slice(&encode(&statement_line(other, 4, 2)));
        storage.load_raw(&[(first.key().as_bytes().to_vec(), page)]).unwrap();
        let key = LedgerKey::account_entry(other, denbun_protocol::wire::Date::new(2026, 12, 4).unwrap(), 2);
        assert_eq!(storage.ledger_get(&key).unwrap(), None, "the other store's line is not found under another's page");
        let error = storage
            .ledger_scan(&LedgerRange::family(family::ACCOUNT_ENTRY), ScanOrder::Ascending, 10)
            .expect_err("a page holding another account's line is damage");
        assert!(matches!(error, StorageError::Corrupt { .. }), "{error:?}");
    }

    #[test]
    fn a_page_holding_something_else_is_damage() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let card = live_card();
        storage.tree.insert(LedgerKey::posting(0).as_bytes(), encode(&LedgerRecord::from(card))).unwrap();
        assert!(matches!(storage.ledger_get(&LedgerKey::posting(0)), Err(StorageError::Corrupt { .. })));
        let range = LedgerRange::family(family::POSTING);
        assert!(matches!(storage.ledger_scan(&range, ScanOrder::Ascending, 10), Err(StorageError::Corrupt { .. })));
        storage.tree.insert(sequence_key(PREFIX_JOURNAL, 3), encode(&journal_entry(4, [0; 32], member(1)))).unwrap();
        assert!(matches!(storage.journal(1, 10), Err(StorageError::Corrupt { .. })));
    }

    #[test]
    #[allow(clippy::panic)]
    fn a_journal_entry_out_of_sequence_is_our_own_bug_and_asserts() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let mut batch = WriteBatch::default();
        batch.push(Write::Journal(journal_entry(2, [0; 32], member(1))));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| storage.commit(&batch)));
        assert!(result.is_err());
        assert_eq!(storage.journal_head().unwrap().sequence, 0);
    }

    #[test]
    fn mailbox_notices_come_in_order_and_leave_when_removed() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let mut batch = WriteBatch::default();
        for sequence in [4, 2, 9] {
            batch.push(Write::MailboxPut(MailboxNotice {
                recipient: member(1),
                sequence,
                telegram: Blob::new(vec![sequence as u8]).unwrap(),
            }));
        }
        batch.push(Write::MailboxPut(MailboxNotice { recipient: member(2), sequence: 3, telegram: Blob::default() }));
        storage.commit(&batch).unwrap();
        let sequences = |storage: &SledStorage| -> Vec<u64> {
            storage.mailbox(member(1), 0, 10).unwrap().iter().map(|notice| notice.sequence).collect()
        };
        assert_eq!(sequences(&storage), [2, 4, 9]);
        let mut batch = WriteBatch::default();
        batch.push(Write::MailboxRemove { recipient: member(1), sequence: 4 });
        storage.commit(&batch).unwrap();
        assert_eq!(sequences(&storage), [2, 9]);
        assert_eq!(storage.mailbox(member(1), 2, 10).unwrap().len(), 1);
    }

    #[test]
    fn idempotency_records_are_found_and_visited() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let record = IdempotencyRecord {
            request_digest: [1; 32],
            request_code: 4000,
            answer: Blob::new(vec![1, 2, 3]).unwrap(),
            journal_sequence: 1,
        };
        let mut batch = WriteBatch::default();
        batch.push(Write::Idempotency { sender: member(1), processing_number: 42, record: record.clone() });
        storage.commit(&batch).unwrap();
        assert_eq!(storage.idempotency(member(1), 42).unwrap(), Some(record));
        assert_eq!(storage.idempotency(member(1), 43).unwrap(), None);
        assert_eq!(storage.idempotency_last(member(1)).unwrap(), Some(42));
        assert_eq!(storage.idempotency_last(member(2)).unwrap(), None);
        assert_eq!(storage.idempotency_last(PartyId::store(1).unwrap()).unwrap(), None);
        let mut seen = Vec::new();
        storage
            .for_each_idempotency(&mut |sender, number, _| {
                seen.push((sender, number));
                true
            })
            .unwrap();
        assert_eq!(seen, [(member(1), 42)]);
    }

    #[test]
    fn journal_entries_are_counted_per_hour_as_they_commit() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let mut first = journal_entry(1, [0; 32], member(1));
        first.recorded_at_ms = 5 * HOUR_MS + 10;
        let mut second = journal_entry(2, first.hash(), member(1));
        second.recorded_at_ms = 5 * HOUR_MS + 20;
        second.direction = JournalDirection::Out;
        let mut third = journal_entry(3, second.hash(), member(1));
        third.recorded_at_ms = 7 * HOUR_MS;
        let mut batch = WriteBatch::default();
        batch.push(Write::Journal(first));
        batch.push(Write::Journal(second));
        storage.commit(&batch).unwrap();
        let mut batch = WriteBatch::default();
        batch.push(Write::Journal(third));
        storage.commit(&batch).unwrap();
        let hours = storage.telegram_hours(5, 3).unwrap();
        let counts: Vec<(u64, u64, u64)> =
            hours.iter().map(|hour| (hour.hour, hour.telegrams_in, hour.telegrams_out)).collect();
        assert_eq!(counts, [(5, 1, 1), (7, 1, 0)]);
        assert!(storage.telegram_hours(6, 1).unwrap().is_empty());
        assert_eq!(storage.telegram_hours(0, 6).unwrap().len(), 1);
    }

    #[test]
    fn a_money_record_under_another_key_is_damage() {
        use crate::storage::ledger_records::{LiveCard, family};
        use denbun_protocol::header::MemberNumber;
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        let card = LiveCard { member: MemberNumber::new(1).unwrap(), card_number: 5 };
        let mut batch = WriteBatch::default();
        batch.push(Write::LedgerPut(card.clone().into()));
        storage.commit(&batch).unwrap();
        assert_eq!(storage.ledger_get(&card.key()).unwrap(), Some(card.clone().into()));
        let elsewhere = LedgerKey::live_card(MemberNumber::new(1).unwrap(), 6);
        storage.tree.insert(elsewhere.as_bytes(), encode(&LedgerRecord::from(card))).unwrap();
        assert!(matches!(storage.ledger_get(&elsewhere), Err(StorageError::Corrupt { .. })));
        let range = LedgerRange::family(family::LIVE_CARD);
        assert!(matches!(storage.ledger_scan(&range, ScanOrder::Ascending, 10), Err(StorageError::Corrupt { .. })));
    }

    #[test]
    fn a_damaged_record_is_reported_not_misread() {
        let directory = tempfile::tempdir().unwrap();
        let storage = SledStorage::open(directory.path()).unwrap();
        storage.tree.insert(party_key(PREFIX_PARTY, member(1)), vec![1, 2, 3]).unwrap();
        assert!(matches!(storage.party(member(1)), Err(StorageError::Corrupt { .. })));
    }
}
