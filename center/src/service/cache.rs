//! The committer's cache of register entries, money records and counters.
//!
//! The committer is the only writer, so what it has read or written stays
//! true until it writes again: a payment reads the member, the store, their
//! accounts, the ledger totals, the catalog and the day's figures, the same
//! few records for every payment of a busy day. Reading them from sled costs
//! an epoch pin, a tree descent and a decode each time; from here, a hash
//! lookup and a clone.
//!
//! A group's writes enter the cache only once the group is applied to
//! storage ([`Cache::absorb`]): a group refused before its write leaves the
//! cache as the storage is. After a failed sync the storage refuses every
//! later write until a restart, which starts with an empty cache. The cache
//! is bounded: past [`CACHE_RECORDS_MAX`] entries it starts again empty; it
//! keeps only records that are read (see [`Cache::absorb`]), so on a busy
//! day it holds the working set of accounts and cards rather than every
//! posting.

use std::collections::{BTreeMap, HashMap};

use denbun_protocol::header::PartyId;

use crate::storage::{Counter, LedgerRecord, PartyRecord};

/// Entries kept at most (register entries, money records and senders' last
/// processing numbers together).
pub const CACHE_RECORDS_MAX: usize = 65_536;

/// Committed state the committer has seen.
#[derive(Default)]
pub struct Cache {
    parties: HashMap<PartyId, PartyRecord>,
    /// Money records by key bytes; `None`: known to be absent (removed).
    ledger: HashMap<Vec<u8>, Option<LedgerRecord>>,
    counters: HashMap<Counter, u64>,
    /// The highest processing number recorded per sender (0: none).
    idempotency_last: HashMap<PartyId, u64>,
}

/// What one group read from storage and wrote, for [`Cache::absorb`].
#[derive(Default)]
pub struct CacheFill {
    /// Register entries read from storage, then those written (newer).
    pub(crate) parties: HashMap<PartyId, PartyRecord>,
    /// Money records read from storage.
    pub(crate) ledger_read: HashMap<Vec<u8>, LedgerRecord>,
    /// Money records written (`None`: removed).
    pub(crate) ledger_written: BTreeMap<Vec<u8>, Option<LedgerRecord>>,
    pub(crate) counters: HashMap<Counter, u64>,
    /// The highest processing number recorded per sender, read from storage
    /// or known before, and raised by the group's own records.
    pub(crate) idempotency_last: HashMap<PartyId, u64>,
}

impl Cache {
    /// A register entry, if cached.
    pub fn party(&self, party: PartyId) -> Option<&PartyRecord> {
        self.parties.get(&party)
    }

    /// A money record: `Some(None)` when known to be absent, `None` when not cached.
    pub fn ledger(&self, key: &[u8]) -> Option<&Option<LedgerRecord>> {
        self.ledger.get(key)
    }

    /// The highest processing number recorded for `sender` (0: none), if cached.
    pub fn idempotency_last(&self, sender: PartyId) -> Option<u64> {
        self.idempotency_last.get(&sender).copied()
    }

    /// A counter's value, if cached.
    pub fn counter(&self, counter: Counter) -> Option<u64> {
        self.counters.get(&counter).copied()
    }

    /// Takes in what a group read and wrote, once the group is applied to storage.
    ///
    /// A money record written enters the cache only when it was read (in
    /// this group or before): accounts, cards, catalogs and the day's
    /// figures are read again and again, while a payment's posting, purchase
    /// and statement lines are written once and seldom read, and caching
    /// them would fill the cache with them.
    pub fn absorb(&mut self, fill: CacheFill) {
        let CacheFill { parties, mut ledger_read, ledger_written, counters, idempotency_last } = fill;
        self.parties.extend(parties);
        self.counters.extend(counters);
        self.idempotency_last.extend(idempotency_last);
        for (key, record) in ledger_written {
            let known = ledger_read.remove(&key).is_some() || self.ledger.contains_key(&key);
            match record {
                Some(record) if known => {
                    self.ledger.insert(key, Some(record));
                }
                Some(_) => {}
                None => {
                    self.ledger.remove(&key);
                }
            }
        }
        self.ledger.extend(ledger_read.into_iter().map(|(key, record)| (key, Some(record))));
        if self.len() > CACHE_RECORDS_MAX {
            self.parties.clear();
            self.ledger.clear();
            self.idempotency_last.clear();
        }
    }

    /// Records cached now.
    pub fn len(&self) -> usize {
        self.parties.len() + self.ledger.len() + self.idempotency_last.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use denbun_protocol::header::PartyId;

    use super::*;
    use crate::storage::LedgerKey;
    use crate::storage::ledger_records::{AccountId, AccountRecord};

    fn account(member: u64, debits: u64) -> LedgerRecord {
        let id = AccountId::stored_value(PartyId::member(member).unwrap().try_into().unwrap());
        let mut record = AccountRecord::empty(id);
        record.debits_yen = debits;
        record.into()
    }

    #[test]
    fn a_record_written_enters_only_when_it_was_read() {
        let mut cache = Cache::default();
        let read = account(1, 10);
        let read_key = read.key().as_bytes().to_vec();
        let unread = account(2, 20);
        let unread_key = unread.key().as_bytes().to_vec();
        let mut fill = CacheFill::default();
        fill.ledger_read.insert(read_key.clone(), read);
        fill.ledger_written.insert(read_key.clone(), Some(account(1, 11)));
        fill.ledger_written.insert(unread_key.clone(), Some(unread));
        cache.absorb(fill);
        assert_eq!(cache.ledger(&read_key), Some(&Some(account(1, 11))), "the write is newer than the read");
        assert_eq!(cache.ledger(&unread_key), None, "written once, never read: not kept");

        // A later write updates what the cache holds; a removal takes it out.
        let mut fill = CacheFill::default();
        fill.ledger_written.insert(read_key.clone(), Some(account(1, 12)));
        cache.absorb(fill);
        assert_eq!(cache.ledger(&read_key), Some(&Some(account(1, 12))));
        let mut fill = CacheFill::default();
        fill.ledger_written.insert(read_key.clone(), None);
        cache.absorb(fill);
        assert_eq!(cache.ledger(&read_key), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn past_its_bound_the_cache_starts_again_empty() {
        let mut cache = Cache::default();
        let mut fill = CacheFill::default();
        for member in 1..=CACHE_RECORDS_MAX as u64 {
            let record = account(member, member);
            fill.ledger_read.insert(record.key().as_bytes().to_vec(), record);
        }
        cache.absorb(fill);
        assert_eq!(cache.len(), CACHE_RECORDS_MAX);
        let mut fill = CacheFill::default();
        let record = account(CACHE_RECORDS_MAX as u64 + 1, 1);
        let key: LedgerKey = record.key();
        fill.ledger_read.insert(key.as_bytes().to_vec(), record);
        cache.absorb(fill);
        assert!(cache.is_empty());
    }
}
