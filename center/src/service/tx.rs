//! A group's view of the center's state: committed state plus the writes the
//! group has made so far.
//!
//! The committer is the only writer, so reading committed state and layering
//! the group's own writes on top is consistent: a later telegram of a group
//! sees the effects of an earlier one (two payments from one member in one
//! group see each other's debit). Nothing reaches storage until the whole
//! group commits as one batch.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use denbun_protocol::header::{Header, PartyId};
use denbun_protocol::limits::SIGNATURE_BYTES;
use denbun_protocol::sign::{Signer, placeholder_slot, seal_later};
use denbun_protocol::telegram::{Body, Telegram};
use denbun_protocol::wire::{Blob, Text};
use ed25519_dalek::SigningKey;

use super::cache::{Cache, CacheFill, PREFIX_RECORDS_MAX, PrefixRecords};
use super::signing::SigningPool;
use crate::storage::{
    Counter, IdempotencyRecord, JournalDirection, JournalEntry, JournalHead, JournalSummary, LedgerKey, LedgerRange,
    LedgerRecord, LedgerType, LetterRecord, MailboxNotice, PartyRecord, ScanOrder, Storage, StorageError, Write,
    WriteBatch,
};

/// Where a telegram travelled: kept in its journal entry.
#[derive(Clone, Debug)]
pub struct Origin {
    /// The session's id (0 when none).
    pub session: u64,
    /// The session's Noise handshake hash (zero when none).
    pub handshake_hash: [u8; 32],
    /// The peer's address as text.
    pub peer: String,
}

/// One group's reads and writes.
pub struct Tx<'a> {
    storage: &'a dyn Storage,
    signing_key: &'a SigningKey,
    now_ms: u64,
    batch: WriteBatch,
    parties: HashMap<PartyId, PartyRecord>,
    counters: HashMap<Counter, u64>,
    idempotency: HashMap<(PartyId, u64), IdempotencyRecord>,
    mailbox_added: BTreeMap<(PartyId, u64), MailboxNotice>,
    mailbox_removed: BTreeSet<(PartyId, u64)>,
    journal_head: JournalHead,
    /// Money records this group wrote (`None`: removed), by key bytes, so
    /// scans merge them in key order with what is committed.
    ledger: BTreeMap<Vec<u8>, Option<LedgerRecord>>,
    /// The committer's cache of committed state, read before storage.
    cache: Option<&'a Cache>,
    /// Committed records this group read from storage (not from the cache).
    read: CacheFill,
    /// With [`Tx::signing_later`]: the pool signing the group's answers and
    /// notices, and each as built, with a placeholder naming its index here.
    later: Option<(&'a SigningPool, Vec<Vec<u8>>)>,
    /// The journal head before the group (the chain is hashed from it at the
    /// finish when signing later).
    head_before: JournalHead,
}

/// Records of one type; a record of another type is damage.
fn typed<T: LedgerType>(records: Vec<LedgerRecord>) -> Result<Vec<T>, StorageError> {
    records
        .into_iter()
        .map(|record| {
            let key = record.key();
            T::from_record(record).ok_or_else(|| StorageError::Corrupt {
                key: format!("{key:?}"),
                reason: "a record of another kind".to_owned(),
            })
        })
        .collect()
}

/// The signatures of a group's answers and notices, computed at its finish,
/// for the copies of them the caller still holds (its replies).
#[derive(Debug, Default)]
pub struct Signatures(Vec<[u8; SIGNATURE_BYTES]>);

impl Signatures {
    /// Puts the signature in place of `telegram`'s placeholder, if it has one.
    pub fn seal(&self, telegram: &mut [u8]) {
        if let Some(slot) = placeholder_slot(telegram) {
            let signature = usize::try_from(slot).ok().and_then(|slot| self.0.get(slot));
            seal_later(telegram, signature.expect("a placeholder of this group names one of its slots"));
        }
    }
}

impl<'a> Tx<'a> {
    /// A view over `storage`, journaling after `journal_head`, at time `now_ms`.
    pub fn new(storage: &'a dyn Storage, signing_key: &'a SigningKey, journal_head: JournalHead, now_ms: u64) -> Self {
        Self::with_cache(storage, signing_key, journal_head, now_ms, None)
    }

    /// [`Tx::new`], reading committed state from `cache` before storage.
    pub fn with_cache(
        storage: &'a dyn Storage,
        signing_key: &'a SigningKey,
        journal_head: JournalHead,
        now_ms: u64,
        cache: Option<&'a Cache>,
    ) -> Self {
        Self {
            cache,
            read: CacheFill::default(),
            later: None,
            head_before: journal_head.clone(),
            storage,
            signing_key,
            now_ms,
            batch: WriteBatch::default(),
            parties: HashMap::new(),
            counters: HashMap::new(),
            idempotency: HashMap::new(),
            mailbox_added: BTreeMap::new(),
            mailbox_removed: BTreeSet::new(),
            journal_head,
            ledger: BTreeMap::new(),
        }
    }

    /// Writes the group's batch into `buffer`, an earlier group's emptied
    /// batch, with room for `writes` writes.
    ///
    /// The room: a write is 264 bytes and a payment makes about 12, so a
    /// group of 175 payments holds about 550 KB of them; growing the batch
    /// by doubling copied them again at every step (2–3% of the center's
    /// samples, in `grow_one`). The buffer: a group in flight holds only its
    /// own writes' memory, not a new reservation as well. Measured: about
    /// 40 MB less resident at the end of 8-s runs at 256 terminals, in four
    /// pairs out of four; the rate did not move beyond the noise (the fresh
    /// pages the reservation faulted in, 1% of the center's samples, went to
    /// other allocations while the heap grows with sled's cache).
    pub fn writing_into(mut self, mut buffer: Vec<Write>, writes: usize) -> Self {
        buffer.clear();
        buffer.reserve(writes);
        self.batch.writes = buffer;
        self
    }

    /// Builds the group's answers and notices with placeholder signatures,
    /// hands each to `pool` as it is built, and collects the signatures at
    /// [`Tx::finish_signed`]: the signing runs beside the group's flows
    /// instead of inside them (it was a quarter of the committer's time).
    /// The batch then holds only signed telegrams, chained as if each had
    /// been signed when it was journaled.
    pub fn signing_later(mut self, pool: &'a SigningPool) -> Self {
        pool.begin();
        self.later = Some((pool, Vec::new()));
        self
    }

    /// The center's signed answer to `request` (a placeholder until the
    /// finish when signing later).
    pub fn center_answer(&mut self, request: &Header, body: impl Into<Body>) -> Vec<u8> {
        let now_ms = self.now_ms;
        self.center_telegram(|signer| signer.answer(request, now_ms, body))
    }

    fn center_telegram(
        &mut self,
        build: impl FnOnce(Signer<'_>) -> Result<Telegram, denbun_protocol::sign::BuildError>,
    ) -> Vec<u8> {
        let signer = match &self.later {
            Some((_, unsigned)) => Signer::center_later(unsigned.len() as u64),
            None => Signer::center(self.signing_key),
        };
        let bytes = build(signer).expect("the center builds only telegrams the catalog allows").into_bytes();
        if let Some((pool, unsigned)) = &mut self.later {
            pool.submit(unsigned.len(), bytes.clone());
            unsigned.push(bytes.clone());
        }
        bytes
    }

    /// The group's clock (unix milliseconds).
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The center's signing key, for answers and notices.
    pub fn signing_key(&self) -> &SigningKey {
        self.signing_key
    }

    /// The committed storage underneath (for reads the overlay does not cover).
    pub fn storage(&self) -> &dyn Storage {
        self.storage
    }

    /// A register entry as this group sees it.
    pub fn party(&mut self, party: PartyId) -> Result<Option<PartyRecord>, StorageError> {
        if let Some(record) = self.parties.get(&party) {
            return Ok(Some(record.clone()));
        }
        if let Some(record) = self.cache.and_then(|cache| cache.party(party)) {
            return Ok(Some(record.clone()));
        }
        let record = self.storage.party(party)?;
        if let Some(record) = &record
            && self.cache.is_some()
        {
            self.read.parties.insert(party, record.clone());
        }
        Ok(record)
    }

    /// Inserts or replaces a register entry.
    pub fn put_party(&mut self, record: PartyRecord) {
        self.parties.insert(record.party, record.clone());
        self.batch.push(Write::Party(record));
    }

    /// Takes the next value of a counter (1, 2, 3, …).
    pub fn next(&mut self, counter: Counter) -> Result<u64, StorageError> {
        let current = match self.counters.get(&counter) {
            Some(value) => *value,
            None => match self.cache.and_then(|cache| cache.counter(counter)) {
                Some(value) => value,
                None => self.storage.counter(counter)?,
            },
        };
        let next = current.checked_add(1).expect("a u64 counter does not wrap in the life of a center");
        // Written at the finish, once a group.
        self.counters.insert(counter, next);
        Ok(next)
    }

    /// The answer recorded for (sender, processing number), if any.
    pub fn idempotency(
        &mut self,
        sender: PartyId,
        processing_number: u64,
    ) -> Result<Option<IdempotencyRecord>, StorageError> {
        if let Some(record) = self.idempotency.get(&(sender, processing_number)) {
            return Ok(Some(record.clone()));
        }
        // A terminal numbers its requests upwards, so nearly every lookup is
        // of a number above any recorded: with the committer's cache, that
        // is known without a read (it was 5% of the committer's time).
        if self.cache.is_some() {
            let last = match self.known_idempotency_last(sender) {
                Some(last) => last,
                None => {
                    let last = self.storage.idempotency_last(sender)?.unwrap_or(0);
                    self.read.idempotency_last.insert(sender, last);
                    last
                }
            };
            if processing_number > last {
                return Ok(None);
            }
        }
        self.storage.idempotency(sender, processing_number)
    }

    /// The highest processing number recorded for `sender` (0: none), if
    /// this group or the cache knows it.
    fn known_idempotency_last(&self, sender: PartyId) -> Option<u64> {
        self.read
            .idempotency_last
            .get(&sender)
            .copied()
            .or_else(|| self.cache.and_then(|cache| cache.idempotency_last(sender)))
    }

    /// Records the answer to (sender, processing number).
    pub fn put_idempotency(&mut self, sender: PartyId, processing_number: u64, record: IdempotencyRecord) {
        // Raised only when known: an unknown one is read when next needed.
        if let Some(last) = self.known_idempotency_last(sender) {
            self.read.idempotency_last.insert(sender, last.max(processing_number));
        }
        self.idempotency.insert((sender, processing_number), record.clone());
        self.batch.push(Write::Idempotency { sender, processing_number, record });
    }

    /// Journals a telegram that arrived; `verified` when the center checked
    /// its signature and acts on it. Returns its sequence.
    pub fn journal_in(&mut self, origin: &Origin, bytes: &[u8], verified: bool) -> u64 {
        self.journal(JournalDirection::In, origin, bytes, verified, 0)
    }

    /// Journals a telegram the center signed and sends, answering entry
    /// `in_reply_to` (0 for notices and probes). Returns its sequence.
    pub fn journal_out(&mut self, origin: &Origin, bytes: &[u8], in_reply_to: u64) -> u64 {
        self.journal(JournalDirection::Out, origin, bytes, true, in_reply_to)
    }

    fn journal(
        &mut self,
        direction: JournalDirection,
        origin: &Origin,
        bytes: &[u8],
        verified: bool,
        in_reply_to: u64,
    ) -> u64 {
        let (summary, decoded) = summarize(bytes);
        let entry = JournalEntry {
            sequence: self.journal_head.sequence + 1,
            previous_hash: self.journal_head.hash,
            recorded_at_ms: self.now_ms,
            direction,
            session: origin.session,
            handshake_hash: origin.handshake_hash,
            peer: Text::truncated(&origin.peer),
            summary,
            decoded,
            verified,
            in_reply_to,
            telegram: Blob::new(bytes.to_vec()).expect("a telegram fits its journal field"),
        };
        // Signing later, the chain is hashed at the finish, over the signed entries.
        let hash = if self.later.is_some() { [0; 32] } else { entry.hash() };
        self.journal_head = JournalHead { sequence: entry.sequence, hash };
        let sequence = entry.sequence;
        self.batch.push(Write::Journal(entry));
        sequence
    }

    /// Signs a notice to `recipient`, journals it and puts it in the
    /// recipient's mailbox (delivered at once if it is signed on, else at its
    /// next sign-on).
    pub fn notice(&mut self, recipient: PartyId, body: impl Into<Body>) -> Result<(), StorageError> {
        let sequence = self.next(Counter::LastNotice)?;
        let now_ms = self.now_ms;
        let telegram = self.center_telegram(|signer| signer.notice(recipient, sequence, now_ms, body));
        let origin = Origin { session: 0, handshake_hash: [0; 32], peer: "mailbox".to_owned() };
        self.journal_out(&origin, &telegram, 0);
        let notice = MailboxNotice {
            recipient,
            sequence,
            telegram: Blob::new(telegram).expect("a telegram fits its mailbox field"),
        };
        self.mailbox_added.insert((recipient, sequence), notice.clone());
        self.batch.push(Write::MailboxPut(notice));
        Ok(())
    }

    /// Notices waiting for `recipient` (as this group sees them), in order, at most `limit`.
    pub fn mailbox(&mut self, recipient: PartyId, limit: usize) -> Result<Vec<MailboxNotice>, StorageError> {
        let mut notices: BTreeMap<u64, MailboxNotice> = self
            .storage
            .mailbox(recipient, 0, limit.saturating_add(self.mailbox_removed.len()))?
            .into_iter()
            .map(|notice| (notice.sequence, notice))
            .collect();
        for ((party, sequence), notice) in &self.mailbox_added {
            if *party == recipient {
                notices.insert(*sequence, notice.clone());
            }
        }
        notices.retain(|sequence, _| !self.mailbox_removed.contains(&(recipient, *sequence)));
        Ok(notices.into_values().take(limit).collect())
    }

    /// Removes an acknowledged notice.
    pub fn remove_notice(&mut self, recipient: PartyId, sequence: u64) {
        self.mailbox_added.remove(&(recipient, sequence));
        self.mailbox_removed.insert((recipient, sequence));
        self.batch.push(Write::MailboxRemove { recipient, sequence });
    }

    /// Adds a letter to the mail queue.
    pub fn letter(&mut self, letter: LetterRecord) {
        self.batch.push(Write::Letter(letter));
    }

    /// A money record as this group sees it.
    pub fn ledger_get(&mut self, key: &LedgerKey) -> Result<Option<LedgerRecord>, StorageError> {
        if let Some(record) = self.ledger.get(key.as_bytes()) {
            return Ok(record.clone());
        }
        if let Some(record) = self.cache.and_then(|cache| cache.ledger(key.as_bytes())) {
            return Ok(record.clone());
        }
        let record = self.storage.ledger_get(key)?;
        // Only records found are kept: most keys found absent are new
        // numbers (a transaction's) that nobody asks for twice.
        if let Some(record) = &record
            && self.cache.is_some()
        {
            self.read.ledger_read.insert(key.as_bytes().to_vec(), record.clone());
        }
        Ok(record)
    }

    /// A money record of a known type; a record of another type under the
    /// key is damage.
    pub fn ledger_record<T: LedgerType>(&mut self, key: &LedgerKey) -> Result<Option<T>, StorageError> {
        match self.ledger_get(key)? {
            None => Ok(None),
            Some(record) => T::from_record(record).map(Some).ok_or_else(|| StorageError::Corrupt {
                key: format!("{key:?}"),
                reason: "a record of another kind".to_owned(),
            }),
        }
    }

    /// Inserts or replaces a money record (written at the finish, once
    /// however often the group changed it).
    pub fn ledger_put(&mut self, record: impl Into<LedgerRecord>) {
        let record = record.into();
        self.ledger.insert(record.key().as_bytes().to_vec(), Some(record));
    }

    /// Removes a money record (at the finish).
    pub fn ledger_remove(&mut self, key: LedgerKey) {
        self.ledger.insert(key.as_bytes().to_vec(), None);
    }

    /// Money records in `range` as this group sees them, in `order`, at most `limit`.
    pub fn ledger_scan(
        &mut self,
        range: &LedgerRange,
        order: ScanOrder,
        limit: usize,
    ) -> Result<Vec<LedgerRecord>, StorageError> {
        if range.start >= range.end || limit == 0 {
            return Ok(Vec::new());
        }
        let overlay: Vec<(&Vec<u8>, &Option<LedgerRecord>)> =
            self.ledger.range(range.start.clone()..range.end.clone()).collect();
        // Each of the group's writes hides or replaces at most one committed
        // record, so this many committed records, merged with every write,
        // always hold the first `limit` in order (an overlay key beyond the
        // last committed one read can never be among them).
        let committed = self.storage.ledger_scan(range, order, limit.saturating_add(overlay.len()))?;
        let mut merged: BTreeMap<Vec<u8>, LedgerRecord> =
            committed.into_iter().map(|record| (record.key().as_bytes().to_vec(), record)).collect();
        for (key, record) in overlay {
            match record {
                Some(record) => merged.insert(key.clone(), record.clone()),
                None => merged.remove(key),
            };
        }
        let records: Vec<LedgerRecord> = match order {
            ScanOrder::Ascending => merged.into_values().take(limit).collect(),
            ScanOrder::Descending => merged.into_values().rev().take(limit).collect(),
        };
        Ok(records)
    }

    /// Money records of one type in `range`, in `order`, at most `limit`.
    pub fn ledger_scan_as<T: LedgerType>(
        &mut self,
        range: &LedgerRange,
        order: ScanOrder,
        limit: usize,
    ) -> Result<Vec<T>, StorageError> {
        typed(self.ledger_scan(range, order, limit)?)
    }

    /// Money records under `prefix` from `start` on, ascending, at most
    /// `limit`, as this group sees them: [`Tx::ledger_scan`] for a prefix
    /// that holds few records (a member's live cards, scanned at every
    /// payment).
    ///
    /// With the committer's cache, the prefix's committed records are read
    /// whole from storage once and then kept by the cache
    /// ([`Cache::prefix`]) as long as there are at most
    /// [`PREFIX_RECORDS_MAX`] of them. A larger prefix is scanned as usual,
    /// after the bounded read that found it larger (a member holding more
    /// than 64 cards with value left pays that read at every payment).
    pub fn ledger_scan_prefix_as<T: LedgerType>(
        &mut self,
        prefix: &LedgerKey,
        start: &LedgerKey,
        limit: usize,
    ) -> Result<Vec<T>, StorageError> {
        let range = LedgerRange::from_within(start.clone(), prefix.clone());
        if self.cache.is_none() || range.start >= range.end || limit == 0 {
            return self.ledger_scan_as(&range, ScanOrder::Ascending, limit);
        }
        let held = self.cache.and_then(|cache| cache.prefix(prefix.as_bytes())).is_some()
            || self.read.prefixes_read.contains_key(prefix.as_bytes());
        if !held {
            let whole = LedgerRange::from_within(prefix.clone(), prefix.clone());
            let committed = self.storage.ledger_scan(&whole, ScanOrder::Ascending, PREFIX_RECORDS_MAX + 1)?;
            if committed.len() > PREFIX_RECORDS_MAX {
                return self.ledger_scan_as(&range, ScanOrder::Ascending, limit);
            }
            let records: PrefixRecords =
                committed.into_iter().map(|record| (record.key().as_bytes().to_vec(), record)).collect();
            self.read.prefixes_read.insert(prefix.as_bytes().to_vec(), records);
        }
        let committed = self
            .cache
            .and_then(|cache| cache.prefix(prefix.as_bytes()))
            .or_else(|| self.read.prefixes_read.get(prefix.as_bytes()))
            .expect("the prefix is held by the cache or was just read whole");
        let mut merged: BTreeMap<Vec<u8>, LedgerRecord> = committed
            .range(range.start.clone()..range.end.clone())
            .map(|(key, record)| (key.clone(), record.clone()))
            .collect();
        for (key, record) in self.ledger.range(range.start.clone()..range.end.clone()) {
            match record {
                Some(record) => merged.insert(key.clone(), record.clone()),
                None => merged.remove(key),
            };
        }
        typed(merged.into_values().take(limit).collect())
    }

    /// Splits into the batch to commit and the journal head after it.
    pub fn finish(self) -> (WriteBatch, JournalHead) {
        let finished = self.finish_signed();
        (finished.batch, finished.head)
    }

    /// [`Tx::finish`], with what the group read and wrote for the
    /// committer's cache (to absorb once the batch is applied) and, when
    /// signing later, the signatures for the caller's copies of answers.
    pub fn finish_signed(mut self) -> Finished {
        let signatures = self.sign_later();
        // Each money record the group wrote goes into the batch once, as the
        // group left it: the store's payable account, the ledger's and the
        // day's totals, changed by every payment of a group, are encoded and
        // written once a group instead of once a payment. Money records and
        // counters hold no telegram of the center's, so nothing in them
        // waits for a signature.
        self.batch.writes.extend(self.ledger.iter().map(|(key, record)| match record {
            Some(record) => Write::LedgerPut(record.clone()),
            None => Write::LedgerRemove(LedgerKey::from_written(key.clone())),
        }));
        // Each counter taken, once, at its last value (in a fixed order).
        let mut counters: Vec<(Counter, u64)> =
            self.counters.iter().map(|(counter, value)| (*counter, *value)).collect();
        counters.sort_by_key(|(counter, _)| *counter as u8);
        self.batch.writes.extend(counters.into_iter().map(|(counter, value)| Write::Counter(counter, value)));
        let mut fill = self.read;
        // The group's own writes come last: they are newer than what it read.
        fill.parties.extend(self.parties);
        fill.ledger_written = self.ledger;
        fill.counters.extend(self.counters);
        Finished { batch: self.batch, head: self.journal_head, fill, signatures }
    }

    /// Signs the placeholders, seals every copy in the batch, and hashes the
    /// journal chain over the signed entries.
    fn sign_later(&mut self) -> Signatures {
        let Some((pool, unsigned)) = self.later.take() else { return Signatures::default() };
        let signatures = Signatures(pool.finish(&unsigned));
        let mut hash = self.head_before.hash;
        for write in &mut self.batch.writes {
            match write {
                Write::Journal(entry) => {
                    // Only what the center sends can hold its placeholders.
                    // What arrived is journaled as it came, even when a
                    // peer's bytes end in something shaped like one.
                    if entry.direction == JournalDirection::Out {
                        signatures.seal(entry.telegram.as_mut_slice());
                    }
                    entry.previous_hash = hash;
                    hash = entry.hash();
                }
                Write::MailboxPut(notice) => signatures.seal(notice.telegram.as_mut_slice()),
                Write::Idempotency { record, .. } => signatures.seal(record.answer.as_mut_slice()),
                _ => {}
            }
        }
        self.journal_head.hash = hash;
        signatures
    }
}

/// A finished group: what to write, the journal head after it, who got
/// notices, what to give the committer's cache once it is applied, and the
/// signatures for the caller's copies of its answers.
pub struct Finished {
    /// The writes, every telegram in them signed.
    pub batch: WriteBatch,
    /// The journal head after the batch.
    pub head: JournalHead,
    /// For the committer's cache.
    pub fill: CacheFill,
    /// For the answers the caller holds ([`Signatures::seal`]).
    pub signatures: Signatures,
}

/// Query fields of a journaled telegram, or zeros for bytes that do not decode.
pub fn summarize(bytes: &[u8]) -> (JournalSummary, bool) {
    match Telegram::decode(bytes) {
        Ok(telegram) => {
            let header = telegram.header();
            (
                JournalSummary {
                    sender: header.sender(),
                    recipient: header.recipient(),
                    code: header.code().number(),
                    result: header.result(),
                    processing_number: header.processing_number(),
                },
                true,
            )
        }
        Err(_) => {
            let refused = denbun_protocol::reject::Refused::from_bytes(bytes);
            (
                JournalSummary {
                    sender: refused.sender(),
                    recipient: PartyId::CENTER,
                    code: refused.code(),
                    result: 0,
                    processing_number: refused.processing_number(),
                },
                false,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use denbun_protocol::telegram::{Echo, ItemKind};
    use denbun_protocol::wire::encode_to_vec;

    use super::*;
    use crate::flows::testing::{Bench, START_MS, item};
    use crate::flows::{self, Decision, FlowContext};

    /// What a batch writes, comparable: the journal, mailbox and idempotency
    /// records in their stored encoding, the rest as they print.
    fn written(batch: &WriteBatch) -> Vec<String> {
        let hex = |bytes: Vec<u8>| bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>();
        batch
            .writes
            .iter()
            .map(|write| match write {
                Write::Journal(entry) => format!("journal {}", hex(encode_to_vec(entry))),
                Write::MailboxPut(notice) => format!("mailbox {}", hex(encode_to_vec(notice))),
                Write::Idempotency { sender, processing_number, record } => {
                    format!("idempotency {sender:?} {processing_number} {}", hex(encode_to_vec(record)))
                }
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// One group of `telegrams` over the bench's committed state, the way
    /// the committer journals and answers them; nothing is committed.
    fn group(bench: &Bench, telegrams: &[Telegram], later: bool) -> (Vec<String>, JournalHead, Vec<Vec<u8>>) {
        let head = bench.storage.journal_head().expect("journal head");
        let pool = SigningPool::with_helpers(&bench.center_key, 1);
        let mut tx = Tx::new(bench.storage.as_ref(), &bench.center_key, head, START_MS + 60_000);
        if later {
            tx = tx.signing_later(&pool);
        }
        let origin = Origin { session: 1, handshake_hash: [7; 32], peer: "127.0.0.1:50000".to_owned() };
        let context = FlowContext { config: &bench.config, fingerprint: &bench.fingerprint, origin: &origin };
        let mut answers = Vec::new();
        for telegram in telegrams {
            let sequence = tx.journal_in(&origin, telegram.as_bytes(), true);
            let answer = match flows::apply(&mut tx, &context, telegram).expect("storage works") {
                Decision::Answer(body) => tx.center_answer(telegram.header(), *body),
                Decision::Reject(reason, message) => panic!("refused: {reason:?} {message:?}"),
            };
            tx.journal_out(&origin, &answer, sequence);
            answers.push(answer);
        }
        let finished = tx.finish_signed();
        for answer in &mut answers {
            finished.signatures.seal(answer);
        }
        (written(&finished.batch), finished.head, answers)
    }

    #[test]
    fn signing_later_writes_byte_for_byte_what_signing_at_once_writes() {
        let mut bench = Bench::new();
        let member = bench.funded_member(50_000);
        let store = bench.store();
        bench.publish(store, 1, vec![item(1, "Tea", 300, ItemKind::Service)]);
        // Enough telegrams that helper threads sign a share (payments with
        // their store's notices, and echoes without any).
        let mut telegrams = Vec::new();
        for transaction in 1..=20 {
            telegrams.push(bench.sign(member, Bench::instruction(store, transaction, 1, &[(1, 1, 300)])));
            telegrams.push(bench.sign(store, Echo {}));
        }
        let at_once = group(&bench, &telegrams, false);
        let later = group(&bench, &telegrams, true);
        assert_eq!(later.0.len(), at_once.0.len());
        for (index, (later, at_once)) in later.0.iter().zip(&at_once.0).enumerate() {
            assert_eq!(later, at_once, "write {index}");
        }
        assert_eq!(later.1, at_once.1, "the journal head");
        assert_eq!(later.2, at_once.2, "the answers");
        let mailbox_puts = later.0.iter().filter(|write| write.starts_with("mailbox")).count();
        assert_eq!(mailbox_puts, 20, "every payment notified its store");
        for answer in &later.2 {
            assert_eq!(placeholder_slot(answer), None);
            Telegram::decode(answer)
                .expect("an answer decodes")
                .verify(&bench.center_key.verifying_key(), &bench.fingerprint)
                .expect("an answer sealed after the finish verifies");
        }
    }

    #[test]
    fn what_arrived_is_journaled_as_it_came_even_ending_in_a_placeholder_shape() {
        let mut bench = Bench::new();
        let member = bench.member();
        let echo = bench.sign(member, Echo {});
        let head = bench.storage.journal_head().expect("journal head");
        let pool = SigningPool::with_helpers(&bench.center_key, 1);
        let mut tx = Tx::new(bench.storage.as_ref(), &bench.center_key, head, START_MS).signing_later(&pool);
        let origin = Origin { session: 1, handshake_hash: [0; 32], peer: "127.0.0.1:50000".to_owned() };
        // A peer's telegram whose signature bytes look like placeholders:
        // one naming a slot this group has, one naming a slot it has not.
        let mut arrived = Vec::new();
        for slot in [0u64, 999] {
            let mut bytes = echo.as_bytes().to_vec();
            let end = bytes.len();
            bytes[end - 64..].fill(0xFF);
            bytes[end - 32..end - 24].copy_from_slice(&slot.to_le_bytes());
            assert_eq!(placeholder_slot(&bytes), Some(slot));
            let sequence = tx.journal_in(&origin, &bytes, false);
            let answer = tx.center_answer(echo.header(), denbun_protocol::telegram::EchoAnswer {});
            tx.journal_out(&origin, &answer, sequence);
            arrived.push(bytes);
        }
        let finished = tx.finish_signed();
        let journaled: Vec<(JournalDirection, Vec<u8>)> = finished
            .batch
            .writes
            .iter()
            .filter_map(|write| match write {
                Write::Journal(entry) => Some((entry.direction, entry.telegram.as_slice().to_vec())),
                _ => None,
            })
            .collect();
        assert_eq!(journaled.len(), 4);
        assert_eq!(journaled[0], (JournalDirection::In, arrived[0].clone()), "kept as it came");
        assert_eq!(journaled[2], (JournalDirection::In, arrived[1].clone()), "kept as it came");
        for (_, answer) in [&journaled[1], &journaled[3]] {
            Telegram::decode(answer)
                .expect("an answer decodes")
                .verify(&bench.center_key.verifying_key(), &bench.fingerprint)
                .expect("the center's answers are signed");
        }
    }

    #[test]
    fn a_group_signing_later_with_nothing_to_sign_keeps_its_head() {
        let bench = Bench::new();
        let head = bench.storage.journal_head().expect("journal head");
        let pool = SigningPool::with_helpers(&bench.center_key, 1);
        let tx = Tx::new(bench.storage.as_ref(), &bench.center_key, head.clone(), START_MS).signing_later(&pool);
        let finished = tx.finish_signed();
        assert!(finished.batch.is_empty());
        assert_eq!(finished.head, head);
    }

    #[test]
    fn with_the_cache_a_number_above_the_last_recorded_is_new_without_a_read() {
        let bench = Bench::new();
        let member = PartyId::member(1).unwrap();
        let record = |digest: u8| IdempotencyRecord {
            request_digest: [digest; 32],
            request_code: 8000,
            answer: denbun_protocol::wire::Blob::new(vec![digest]).unwrap(),
            journal_sequence: 1,
        };
        let commit = |number: u64, digest: u8| {
            let mut batch = WriteBatch::default();
            batch.push(Write::Idempotency { sender: member, processing_number: number, record: record(digest) });
            bench.storage.commit(&batch).unwrap();
        };
        commit(3, 3);
        let head = bench.storage.journal_head().unwrap();
        let mut cache = Cache::default();

        // The first look reads the last number recorded (3) and the record.
        let mut tx = Tx::with_cache(bench.storage.as_ref(), &bench.center_key, head.clone(), START_MS, Some(&cache));
        assert_eq!(tx.idempotency(member, 3).unwrap(), Some(record(3)));
        assert_eq!(tx.idempotency(member, 2).unwrap(), None);
        assert_eq!(tx.idempotency(member, 4).unwrap(), None);
        tx.put_idempotency(member, 4, record(4));
        assert_eq!(tx.idempotency(member, 4).unwrap(), Some(record(4)));
        let finished = tx.finish_signed();
        bench.storage.commit(&finished.batch).unwrap();
        cache.absorb(finished.fill);
        assert_eq!(cache.idempotency_last(member), Some(4));

        // A record written behind the committer's back (which nothing but a
        // test does) above what the cache knows is not looked for: the
        // shortcut is taken. At or below it, storage is read as before.
        commit(9, 9);
        commit(2, 2);
        let mut tx = Tx::with_cache(bench.storage.as_ref(), &bench.center_key, head.clone(), START_MS, Some(&cache));
        assert_eq!(tx.idempotency(member, 9).unwrap(), None, "above the cached last number: new without a read");
        assert_eq!(tx.idempotency(member, 4).unwrap(), Some(record(4)));
        assert_eq!(tx.idempotency(member, 2).unwrap(), Some(record(2)));
        // Without the cache (the operator's and the audit's reads) storage is always asked.
        let mut tx = Tx::new(bench.storage.as_ref(), &bench.center_key, head, START_MS);
        assert_eq!(tx.idempotency(member, 9).unwrap(), Some(record(9)));
        // Another sender's last number is its own: its record at 7, above
        // the first member's cached 4, is found.
        let other = PartyId::member(2).unwrap();
        let mut batch = WriteBatch::default();
        batch.push(Write::Idempotency { sender: other, processing_number: 7, record: record(7) });
        bench.storage.commit(&batch).unwrap();
        let mut tx = Tx::with_cache(
            bench.storage.as_ref(),
            &bench.center_key,
            bench.storage.journal_head().unwrap(),
            START_MS,
            Some(&cache),
        );
        assert_eq!(tx.idempotency(other, 7).unwrap(), Some(record(7)));
        assert_eq!(tx.idempotency(other, 8).unwrap(), None);
    }

    #[test]
    fn a_prefix_held_by_the_cache_stays_what_storage_holds_through_each_group() {
        use crate::storage::ledger_records::{LiveCard, family};
        let bench = Bench::new();
        let member = denbun_protocol::header::MemberNumber::new(7).unwrap();
        let neighbour = denbun_protocol::header::MemberNumber::new(8).unwrap();
        let live = |member, card_number| LiveCard { member, card_number };
        let mut batch = WriteBatch::default();
        for card in [10, 20, 30] {
            batch.push(Write::LedgerPut(live(member, card).into()));
        }
        batch.push(Write::LedgerPut(live(neighbour, 15).into()));
        bench.storage.commit(&batch).unwrap();
        let prefix = LedgerKey::family_with(family::LIVE_CARD, &member);
        let cards = |tx: &mut Tx<'_>, from: u64, limit: usize| -> Vec<u64> {
            let scanned: Vec<LiveCard> =
                tx.ledger_scan_prefix_as(&prefix, &LedgerKey::live_card(member, from), limit).unwrap();
            scanned.iter().map(|card| card.card_number).collect()
        };
        let mut cache = Cache::default();

        // The first group reads the prefix whole; its own writes show at once.
        let head = bench.storage.journal_head().unwrap();
        let mut tx = Tx::with_cache(bench.storage.as_ref(), &bench.center_key, head, START_MS, Some(&cache));
        assert_eq!(cards(&mut tx, 0, 64), [10, 20, 30]);
        assert_eq!(cards(&mut tx, 11, 1), [20], "from a card on, at most the limit");
        tx.ledger_remove(LedgerKey::live_card(member, 10));
        tx.ledger_put(live(member, 40));
        tx.ledger_put(live(neighbour, 16));
        assert_eq!(cards(&mut tx, 0, 64), [20, 30, 40]);
        let finished = tx.finish_signed();
        bench.storage.commit(&finished.batch).unwrap();
        cache.absorb(finished.fill);
        let held: Vec<&Vec<u8>> = cache.prefix(prefix.as_bytes()).expect("held whole").keys().collect();
        let stored: Vec<LedgerRecord> =
            bench.storage.ledger_scan(&LedgerRange::prefix(prefix.clone()), ScanOrder::Ascending, 100).unwrap();
        let stored: Vec<Vec<u8>> = stored.iter().map(|record| record.key().as_bytes().to_vec()).collect();
        assert_eq!(held, stored.iter().collect::<Vec<_>>(), "the cache holds what storage holds, the neighbour apart");

        // The next group is answered from the cache: a card written behind
        // the committer's back (which nothing but a test does) is not seen,
        // while a read without the cache sees it.
        let mut batch = WriteBatch::default();
        batch.push(Write::LedgerPut(live(member, 25).into()));
        bench.storage.commit(&batch).unwrap();
        let head = bench.storage.journal_head().unwrap();
        let mut tx = Tx::with_cache(bench.storage.as_ref(), &bench.center_key, head.clone(), START_MS, Some(&cache));
        assert_eq!(cards(&mut tx, 0, 64), [20, 30, 40], "from the cache");
        tx.ledger_remove(LedgerKey::live_card(member, 20));
        assert_eq!(cards(&mut tx, 0, 64), [30, 40]);
        let finished = tx.finish_signed();
        cache.absorb(finished.fill);
        let mut tx = Tx::with_cache(bench.storage.as_ref(), &bench.center_key, head.clone(), START_MS, Some(&cache));
        assert_eq!(cards(&mut tx, 0, 64), [30, 40], "the removal kept in the cache");
        let mut tx = Tx::new(bench.storage.as_ref(), &bench.center_key, head, START_MS);
        assert_eq!(cards(&mut tx, 0, 64), [20, 25, 30, 40], "storage, without the cache");
    }

    #[test]
    fn a_prefix_of_more_records_than_the_cache_keeps_is_scanned_from_storage() {
        use crate::storage::ledger_records::{LiveCard, family};
        let bench = Bench::new();
        let member = denbun_protocol::header::MemberNumber::new(7).unwrap();
        let mut batch = WriteBatch::default();
        for card in 1..=PREFIX_RECORDS_MAX as u64 + 1 {
            batch.push(Write::LedgerPut(LiveCard { member, card_number: card }.into()));
        }
        bench.storage.commit(&batch).unwrap();
        let prefix = LedgerKey::family_with(family::LIVE_CARD, &member);
        let cache = Cache::default();
        let head = bench.storage.journal_head().unwrap();
        let mut tx = Tx::with_cache(bench.storage.as_ref(), &bench.center_key, head, START_MS, Some(&cache));
        let scanned: Vec<LiveCard> = tx.ledger_scan_prefix_as(&prefix, &LedgerKey::live_card(member, 3), 2).unwrap();
        assert_eq!(scanned.iter().map(|card| card.card_number).collect::<Vec<_>>(), [3, 4]);
        let finished = tx.finish_signed();
        assert!(finished.fill.prefixes_read.is_empty(), "too many records to hold whole");
    }

    #[test]
    fn a_money_record_or_counter_changed_twice_in_a_group_is_written_once_as_it_was_left() {
        use crate::storage::ledger_records::{AccountId, AccountRecord, LiveCard};
        let bench = Bench::new();
        let member = denbun_protocol::header::MemberNumber::new(7).unwrap();
        let head = bench.storage.journal_head().unwrap();
        let mut tx = Tx::new(bench.storage.as_ref(), &bench.center_key, head, START_MS);
        let mut account = AccountRecord::empty(AccountId::stored_value(member));
        for debits in [100, 250] {
            account.debits_yen = debits;
            tx.ledger_put(account.clone());
        }
        let card = LiveCard { member, card_number: 3 };
        tx.ledger_put(card.clone());
        tx.ledger_remove(LedgerRecord::from(card.clone()).key());
        let first = tx.next(Counter::LastPosting).unwrap();
        let second = tx.next(Counter::LastPosting).unwrap();
        assert_eq!(second, first + 1);
        let finished = tx.finish_signed();
        let writes: Vec<String> = finished.batch.writes.iter().map(|write| format!("{write:?}")).collect();
        assert_eq!(writes.len(), 3, "one write a record and a counter: {writes:?}");
        assert!(
            matches!(finished.batch.writes[2], Write::Counter(Counter::LastPosting, value) if value == second),
            "the counter at its last value: {writes:?}"
        );
        assert!(
            matches!(&finished.batch.writes[0], Write::LedgerPut(LedgerRecord::Account(written)) if *written == account),
            "the account as the group left it: {writes:?}"
        );
        assert!(
            matches!(&finished.batch.writes[1], Write::LedgerRemove(key) if *key == LedgerRecord::from(card).key()),
            "the card put and removed: removed: {writes:?}"
        );
        bench.storage.commit(&finished.batch).unwrap();
        let stored: Option<AccountRecord> =
            Tx::new(bench.storage.as_ref(), &bench.center_key, bench.storage.journal_head().unwrap(), START_MS)
                .ledger_record(&LedgerKey::account(AccountId::stored_value(member)))
                .unwrap();
        assert_eq!(stored.map(|stored| stored.debits_yen), Some(250));
    }
}
