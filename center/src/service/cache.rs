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
//! is bounded: past [`CACHE_RECORDS_MAX`] records it starts again empty.

use std::collections::{BTreeMap, HashMap};

use denbun_protocol::header::PartyId;

use crate::storage::{Counter, LedgerRecord, PartyRecord};

/// Records kept at most (register entries and money records together).
pub const CACHE_RECORDS_MAX: usize = 65_536;

/// Committed state the committer has seen.
#[derive(Default)]
pub struct Cache {
    parties: HashMap<PartyId, PartyRecord>,
    /// Money records by key bytes; `None`: known to be absent (removed).
    ledger: HashMap<Vec<u8>, Option<LedgerRecord>>,
    counters: HashMap<Counter, u64>,
}

/// What one group read from storage and wrote, for [`Cache::absorb`].
#[derive(Default)]
pub struct CacheFill {
    pub(crate) parties: HashMap<PartyId, PartyRecord>,
    pub(crate) ledger: BTreeMap<Vec<u8>, Option<LedgerRecord>>,
    pub(crate) counters: HashMap<Counter, u64>,
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

    /// A counter's value, if cached.
    pub fn counter(&self, counter: Counter) -> Option<u64> {
        self.counters.get(&counter).copied()
    }

    /// Takes in what a group read and wrote, once the group is applied to storage.
    pub fn absorb(&mut self, fill: CacheFill) {
        self.parties.extend(fill.parties);
        self.ledger.extend(fill.ledger);
        self.counters.extend(fill.counters);
        if self.parties.len() + self.ledger.len() > CACHE_RECORDS_MAX {
            self.parties.clear();
            self.ledger.clear();
        }
    }

    /// Records cached now.
    pub fn len(&self) -> usize {
        self.parties.len() + self.ledger.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
