//! The center's durable state, behind a trait shaped by what the center
//! needs: registers, idempotency records, the journal, mailboxes and the mail
//! queue.
//!
//! **Architecture Invariant:** only `storage::sled_store` touches sled; no
//! sled type appears in this trait, so another engine (PostgreSQL for a
//! center that outgrows one machine) can implement it.
//!
//! **Durability contract:** [`Storage::apply`] applies a [`WriteBatch`]
//! atomically and [`Storage::sync`] makes every batch applied before it
//! durable (fsynced); [`Storage::commit`] is the two in turn. The committer
//! puts the effects, idempotency records and journal entries of a whole group
//! of telegrams into one batch, so a group shares one atomic write, and a
//! flusher thread syncs (one fsync for every group applied meanwhile) before
//! any of their answers is sent.
//!
//! All methods block; async callers run them on the blocking pool.

pub mod ledger_records;
pub mod pages;
pub mod records;
pub mod sled_store;

use denbun_protocol::header::PartyId;

pub use ledger_records::{LedgerKey, LedgerRange, LedgerRecord, LedgerType, ScanOrder};
pub use records::{
    Counter, IdempotencyRecord, JournalDirection, JournalEntry, JournalHead, JournalSummary, LetterRecord,
    MailboxNotice, PartyRecord, PartyStatus, TelegramHour,
};
pub use sled_store::SledStorage;

/// A storage failure. The center answers "storage unavailable" and keeps
/// nothing half-applied: a failed commit applied nothing.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The engine reported an I/O error (disk full, permissions, …).
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// A stored record does not decode: the data directory is damaged.
    #[error("stored record {key} is damaged: {reason}")]
    Corrupt {
        /// Which record (a readable key).
        key: String,
        /// What was wrong with it.
        reason: String,
    },
}

/// One write of a [`WriteBatch`].
#[derive(Clone, Debug)]
pub enum Write {
    /// Insert or replace a member's, store's or operator's register entry.
    Party(PartyRecord),
    /// Set a counter (number allocation).
    Counter(Counter, u64),
    /// Record the answer given to (sender, processing number).
    Idempotency {
        /// Who sent the request.
        sender: PartyId,
        /// The sender's processing number.
        processing_number: u64,
        /// What was answered.
        record: IdempotencyRecord,
    },
    /// Append a journal entry (its sequence must follow the head).
    Journal(JournalEntry),
    /// Put a notice into a recipient's mailbox.
    MailboxPut(MailboxNotice),
    /// Remove an acknowledged notice.
    MailboxRemove {
        /// Whose mailbox.
        recipient: PartyId,
        /// The notice's mailbox sequence.
        sequence: u64,
    },
    /// Insert or replace a letter of the mail queue.
    Letter(LetterRecord),
    /// Insert or replace a money record (ledger, cards, catalogs, orders, …).
    LedgerPut(LedgerRecord),
    /// Remove a money record (an index entry that no longer applies, a relayed chunk).
    LedgerRemove(LedgerKey),
}

/// Writes applied together, atomically and durably.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    /// The writes, applied in order (a later write to the same record wins).
    pub writes: Vec<Write>,
}

impl WriteBatch {
    /// Adds one write.
    pub fn push(&mut self, write: Write) {
        self.writes.push(write);
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// The center's durable state.
pub trait Storage: Send + Sync + 'static {
    /// A register entry.
    fn party(&self, party: PartyId) -> Result<Option<PartyRecord>, StorageError>;

    /// Register entries of one kind with numbers above `after`, in number order.
    fn parties(
        &self,
        kind: denbun_protocol::header::PartyKind,
        after: u64,
        limit: usize,
    ) -> Result<Vec<PartyRecord>, StorageError>;

    /// A counter's value (0 when never set).
    fn counter(&self, counter: Counter) -> Result<u64, StorageError>;

    /// The answer recorded for (sender, processing number).
    fn idempotency(&self, sender: PartyId, processing_number: u64) -> Result<Option<IdempotencyRecord>, StorageError>;

    /// The highest processing number recorded for `sender` (`None` when
    /// none is): the committer knows a higher one is new without looking.
    fn idempotency_last(&self, sender: PartyId) -> Result<Option<u64>, StorageError>;

    /// The journal's last sequence and hash (sequence 0 and zero hash when empty).
    fn journal_head(&self) -> Result<JournalHead, StorageError>;

    /// Journal entries with sequence `>= from`, in order.
    fn journal(&self, from: u64, limit: usize) -> Result<Vec<JournalEntry>, StorageError>;

    /// Notices waiting for `recipient` with sequence `> after`, in order.
    fn mailbox(&self, recipient: PartyId, after: u64, limit: usize) -> Result<Vec<MailboxNotice>, StorageError>;

    /// Letters with id `> after`, in order.
    fn letters(&self, after: u64, limit: usize) -> Result<Vec<LetterRecord>, StorageError>;

    /// Every idempotency record, in (sender, processing number) order, for
    /// the audit; `visit` returns false to stop.
    fn for_each_idempotency(
        &self,
        visit: &mut dyn FnMut(PartyId, u64, &IdempotencyRecord) -> bool,
    ) -> Result<(), StorageError>;

    /// A money record by key.
    fn ledger_get(&self, key: &LedgerKey) -> Result<Option<LedgerRecord>, StorageError>;

    /// Money records with keys in `range`, in `order`, at most `limit`.
    fn ledger_scan(
        &self,
        range: &LedgerRange,
        order: ScanOrder,
        limit: usize,
    ) -> Result<Vec<LedgerRecord>, StorageError>;

    /// Telegrams journaled per UTC hour (hours since the unix epoch) for the
    /// hours `first_hour..first_hour + hours`; hours with none are left out.
    /// The engine counts them as part of [`Storage::commit`], so the counts
    /// are exactly the journal's.
    fn telegram_hours(&self, first_hour: u64, hours: u64) -> Result<Vec<TelegramHour>, StorageError>;

    /// Applies `batch` atomically; returns once it is durable: [`Storage::apply`]
    /// then [`Storage::sync`].
    fn commit(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.apply(batch)?;
        self.sync()
    }

    /// Applies `batch` atomically, not yet durably: later reads see it, and
    /// the next successful [`Storage::sync`] makes it durable together with
    /// every batch applied before it. A crash before that sync may lose it
    /// whole (never part of it). The committer applies group k+1 while
    /// group k's sync runs, and answers a group only after its sync.
    ///
    /// After a failure that may have left part of a batch in the engine's
    /// memory (the write went in, the flush failed), every later apply and
    /// sync fails too until the center restarts and recovers what is on disk:
    /// after a failed fsync nobody knows what the disk holds (PostgreSQL's
    /// "fsyncgate").
    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError>;

    /// Makes every batch applied before this call durable (fsync). Fails,
    /// and keeps failing, once a write or an earlier sync has failed.
    fn sync(&self) -> Result<(), StorageError>;

    /// Every stored record as raw key and value bytes, in key order, for a
    /// backup's snapshot; `visit` returns false to stop. The layout of keys
    /// and values is the table in `sled_store.rs`, not anything of sled's.
    fn for_each_raw(&self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), StorageError>;

    /// Inserts raw records from a backup's snapshot (into a storage being
    /// restored, before it serves); durable on return.
    fn load_raw(&self, records: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StorageError>;

    /// Bytes the data uses on disk (for statistics and the performance table).
    fn size_on_disk_bytes(&self) -> Result<u64, StorageError>;
}
