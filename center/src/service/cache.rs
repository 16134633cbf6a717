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
//!
//! It also keeps a few prefixes whole: every committed money record under a
//! key prefix of at most [`PREFIX_RECORDS_MAX`] records (a member's live
//! cards, which every payment scans), once a scan read them all from
//! storage, kept true by each group's writes under the prefix.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use denbun_protocol::header::PartyId;

use crate::storage::{Counter, LedgerRecord, PartyRecord};

/// Entries kept at most (register entries, money records and senders' last
/// processing numbers together).
pub const CACHE_RECORDS_MAX: usize = 65_536;

/// Records a prefix holds at most for the cache to keep it whole.
pub const PREFIX_RECORDS_MAX: usize = 64;

/// Every committed money record under one key prefix, by key bytes.
pub type PrefixRecords = BTreeMap<Vec<u8>, LedgerRecord>;

/// Committed state the committer has seen.
#[derive(Default)]
pub struct Cache {
    parties: HashMap<PartyId, PartyRecord>,
    /// Money records by key bytes; `None`: known to be absent (removed).
    ledger: HashMap<Vec<u8>, Option<LedgerRecord>>,
    counters: HashMap<Counter, u64>,
    /// The highest processing number recorded per sender (0: none).
    idempotency_last: HashMap<PartyId, u64>,
    /// Prefixes held whole, by prefix bytes.
    prefixes: HashMap<Vec<u8>, PrefixRecords>,
    /// The lengths of the prefixes held, to find a written key's prefix.
    prefix_lengths: BTreeSet<usize>,
    /// Records in `prefixes`, counted as they change.
    prefix_records: usize,
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
    /// Prefixes whose every committed record the group read from storage.
    pub(crate) prefixes_read: HashMap<Vec<u8>, PrefixRecords>,
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

    /// Every committed money record under `prefix`, if the cache holds it whole.
    pub fn prefix(&self, prefix: &[u8]) -> Option<&PrefixRecords> {
        self.prefixes.get(prefix)
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
    ///
    /// A prefix the group read whole is as storage held it before the
    /// group; the group's writes under it are applied on top, like those of
    /// any prefix already held. A prefix grown past [`PREFIX_RECORDS_MAX`]
    /// is let go.
    pub fn absorb(&mut self, fill: CacheFill) {
        let CacheFill { parties, mut ledger_read, ledger_written, counters, idempotency_last, prefixes_read } = fill;
        self.parties.extend(parties);
        self.counters.extend(counters);
        self.idempotency_last.extend(idempotency_last);
        for (prefix, records) in prefixes_read {
            self.prefix_lengths.insert(prefix.len());
            self.prefix_records += records.len();
            if let Some(replaced) = self.prefixes.insert(prefix, records) {
                self.prefix_records -= replaced.len();
            }
        }
        for (key, record) in ledger_written {
            self.amend_prefix(&key, record.as_ref());
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
            self.prefixes.clear();
            self.prefix_lengths.clear();
            self.prefix_records = 0;
        }
    }

    /// Applies a write of `key` (`None`: removed) to the prefix holding it, if one is held.
    fn amend_prefix(&mut self, key: &[u8], record: Option<&LedgerRecord>) {
        for &length in &self.prefix_lengths {
            let Some(prefix) = key.get(..length) else { continue };
            let Some(records) = self.prefixes.get_mut(prefix) else { continue };
            let before = records.len();
            match record {
                Some(record) => {
                    records.insert(key.to_vec(), record.clone());
                }
                None => {
                    records.remove(key);
                }
            }
            let after = records.len();
            self.prefix_records = self.prefix_records + after - before;
            if after > PREFIX_RECORDS_MAX {
                self.prefixes.remove(prefix);
                self.prefix_records -= after;
            }
        }
    }

    /// Records cached now.
    pub fn len(&self) -> usize {
        self.parties.len() + self.ledger.len() + self.idempotency_last.len() + self.prefix_records
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

    #[test]
    fn a_prefix_grown_past_its_bound_is_let_go() {
        use crate::storage::ledger_records::{LiveCard, family};
        let member = denbun_protocol::header::MemberNumber::new(3).unwrap();
        let prefix = LedgerKey::family_with(family::LIVE_CARD, &member).as_bytes().to_vec();
        let live = |card_number| -> LedgerRecord { LiveCard { member, card_number }.into() };
        let mut cache = Cache::default();
        let mut fill = CacheFill::default();
        let whole: PrefixRecords =
            (1..=PREFIX_RECORDS_MAX as u64).map(|card| (live(card).key().as_bytes().to_vec(), live(card))).collect();
        fill.prefixes_read.insert(prefix.clone(), whole);
        cache.absorb(fill);
        assert_eq!(cache.prefix(&prefix).map(|records| records.len()), Some(PREFIX_RECORDS_MAX));
        assert_eq!(cache.len(), PREFIX_RECORDS_MAX);

        // A removal and a put under it keep it whole.
        let mut fill = CacheFill::default();
        fill.ledger_written.insert(live(1).key().as_bytes().to_vec(), None);
        fill.ledger_written.insert(live(100).key().as_bytes().to_vec(), Some(live(100)));
        cache.absorb(fill);
        let held = cache.prefix(&prefix).expect("still held");
        assert!(!held.contains_key(live(1).key().as_bytes()) && held.contains_key(live(100).key().as_bytes()));

        // One more record than it may hold: let go, and no longer counted.
        let mut fill = CacheFill::default();
        fill.ledger_written.insert(live(101).key().as_bytes().to_vec(), Some(live(101)));
        cache.absorb(fill);
        assert_eq!(cache.prefix(&prefix), None);
        assert!(cache.is_empty());
    }
}
