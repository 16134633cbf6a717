//! The committer: the center's single writer, and its flusher.
//!
//! Connection tasks hand it telegrams that are already decoded and verified
//! (that work runs in parallel, on every core). It takes whatever has queued
//! up — at most `group_commit_telegrams_max` — applies each through one
//! [`Tx`], and applies the whole group to storage as one atomic batch. The
//! flusher thread then makes it durable with one fsync and only then answers
//! each telegram. While group k's fsync runs, the committer already applies
//! group k+1 (whose reads see group k), and the flusher's next fsync covers
//! every group applied meanwhile: the disk's wait and the committer's CPU
//! overlap instead of adding up, and a group shares one write and one fsync.
//!
//! No answer and no notice leaves before its group is durable: the flusher
//! answers, signals recipients, and raises the registry's durable notice
//! sequence (connections send no notice above it) only after its sync
//! returned. With a backup location the committer ships, applies and syncs
//! each group itself before the next (shipping must follow the commit order
//! exactly, and a failed commit takes the shipped group back).
//!
//! The answers and notices a group's flows produce are signed on the
//! [`SigningPool`]'s threads while the committer applies the group's next
//! telegrams; the group's batch holds them signed (see [`Tx::signing_later`]).
//!
//! Both run on their own OS threads, so storage calls never block the async
//! workers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use denbun_protocol::header::{Code, PartyId};
use denbun_protocol::reject::{Refused, RejectReason};
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::{Body, MaintenanceRequest, Telegram};
use denbun_protocol::wire::Blob;
use ed25519_dalek::SigningKey;
use tokio::sync::{mpsc, oneshot};

use super::cache::Cache;
use super::live::Live;
use super::registry::Registry;
use super::signing::SigningPool;
use super::tx::{Finished, Origin, Tx};
use crate::config::Config;
use crate::flows::{self, Decision, FlowContext};
use crate::storage::{
    IdempotencyRecord, JournalDirection, JournalHead, LedgerRecord, MailboxNotice, Storage, StorageError, Write,
    WriteBatch,
};

/// What a connection hands the committer.
pub enum Inbound {
    /// Decoded, permitted for its sender, and signature-verified (or anonymous).
    Verified(Box<Telegram>),
    /// Refused before any flow ran: journaled, then answered with a reject.
    Refused {
        /// The telegram as received.
        bytes: Vec<u8>,
        /// What could be read of it.
        refused: Refused,
        /// Why it is refused.
        reason: RejectReason,
        /// A message for the person at the terminal (else the reason's own).
        message: Option<String>,
    },
    /// Only to be journaled (echo probes the center sends, and their answers).
    Record {
        /// In or out.
        direction: JournalDirection,
        /// The telegram.
        bytes: Vec<u8>,
    },
}

/// One unit of work for the committer.
pub struct Job {
    /// Where it came from.
    pub origin: Origin,
    /// What arrived.
    pub inbound: Inbound,
    /// Where the answer goes (none for [`Inbound::Record`]).
    pub reply: Option<oneshot::Sender<Reply>>,
}

/// The committer's answer to one job, sent only once it is durable.
#[derive(Debug)]
pub struct Reply {
    /// The signed answer (or reject) to send back, byte for byte.
    pub answer: Vec<u8>,
    /// Whether this answer repeats one given before (same processing number).
    pub repeated: bool,
}

/// Everything the committer thread owns.
pub struct Committer {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) signing_key: SigningKey,
    pub(crate) fingerprint: CenterFingerprint,
    pub(crate) config: Config,
    pub(crate) registry: Arc<Registry>,
    pub(crate) mail_directory: Option<PathBuf>,
    /// Where exported bank transfer files are written (`DIR/payouts/`).
    pub(crate) payout_directory: Option<PathBuf>,
    pub(crate) clock: fn() -> u64,
    /// The console's live figures: what arrived, what was refused.
    pub(crate) live: Arc<Live>,
    /// The backup location each group is shipped to before it commits.
    pub(crate) backup: Option<crate::backup::BackupSite>,
}

/// A group applied to storage, on its way to the flusher.
struct Applied {
    jobs: Vec<Job>,
    /// One per job (none for [`Inbound::Record`]).
    answers: Vec<Option<Reply>>,
    /// What of the group's writes acts once it is durable: its letters
    /// and bank transfer files, written out as files.
    files: Vec<Write>,
    /// The notices the group put in mailboxes, in the order it put them:
    /// once durable they go to their recipients' sessions, and the durable
    /// notice sequence rises to the newest.
    notices: Vec<MailboxNotice>,
    now_ms: u64,
    /// Already durable (the committer synced it itself, with a backup
    /// location, or it wrote nothing).
    durable: bool,
}

/// The flusher's side: makes applied groups durable, then answers them.
struct Flusher {
    storage: Arc<dyn Storage>,
    signing_key: SigningKey,
    registry: Arc<Registry>,
    live: Arc<Live>,
    mail_directory: Option<PathBuf>,
    payout_directory: Option<PathBuf>,
}

impl Committer {
    /// Runs until every sender of `jobs` is dropped; then returns after the
    /// last group is durable and answered.
    pub fn run(self, mut jobs: mpsc::Receiver<Job>) -> Result<(), StorageError> {
        let mut head = self.storage.journal_head()?;
        let mut cache = Cache::default();
        // Writes per telegram in the last group, to size the next group's batch.
        let mut writes_per_telegram = WRITES_PER_TELEGRAM_FIRST;
        let group_max = self.config.limits.group_commit_telegrams_max as usize;
        let flusher = Flusher {
            storage: self.storage.clone(),
            signing_key: self.signing_key.clone(),
            registry: self.registry.clone(),
            live: self.live.clone(),
            mail_directory: self.mail_directory.clone(),
            payout_directory: self.payout_directory.clone(),
        };
        let (to_flusher, applied) = std::sync::mpsc::sync_channel::<Applied>(GROUPS_IN_FLIGHT_MAX);
        let flusher = std::thread::Builder::new()
            .name("flusher".to_owned())
            .spawn(move || flusher.run(applied))
            .map_err(|error| StorageError::Io(format!("could not start the flusher thread: {error}")))?;
        let signing = SigningPool::new(&self.signing_key);
        // The last group's batch, emptied, for the next group's writes.
        let mut buffer = Vec::new();
        let mut group = Vec::with_capacity(group_max);
        while let Some(first) = jobs.blocking_recv() {
            group.push(first);
            while group.len() < group_max {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            let expected = group.len().saturating_mul(writes_per_telegram);
            let (applied, new_head) = self.apply_group(
                std::mem::take(&mut group),
                head,
                (std::mem::take(&mut buffer), expected),
                &mut cache,
                &signing,
            );
            head = new_head;
            if let Some((applied, writes)) = applied {
                if !applied.jobs.is_empty() {
                    writes_per_telegram = writes.len().div_ceil(applied.jobs.len()).clamp(1, WRITES_PER_TELEGRAM_MAX);
                }
                buffer = writes;
                if to_flusher.send(applied).is_err() {
                    break;
                }
            }
        }
        drop(to_flusher);
        flusher.join().map_err(|_| StorageError::Io("the flusher thread panicked".to_owned()))?
    }

    /// Applies one group to storage, its writes in `buffer` (an earlier
    /// group's, emptied) with room for `expected_writes`. Returns it for the
    /// flusher with its batch's writes, for the next group's buffer (none
    /// when it was refused here), and the journal head after it (unchanged
    /// when it was refused).
    fn apply_group(
        &self,
        group: Vec<Job>,
        head: JournalHead,
        (buffer, expected_writes): (Vec<Write>, usize),
        cache: &mut Cache,
        signing: &SigningPool,
    ) -> (Option<(Applied, Vec<Write>)>, JournalHead) {
        let now_ms = (self.clock)();
        let mut tx = Tx::with_cache(self.storage.as_ref(), &self.signing_key, head.clone(), now_ms, Some(cache))
            .writing_into(buffer, expected_writes)
            .signing_later(signing);
        let mut answers = Vec::with_capacity(group.len());
        let mut failure = None;
        for job in &group {
            match self.apply(&mut tx, job) {
                Ok(reply) => answers.push(reply),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let Finished { batch, head: new_head, fill, signatures } = tx.finish_signed();
        for reply in answers.iter_mut().flatten() {
            signatures.seal(&mut reply.answer);
        }
        debug_assert!(
            answers.iter().flatten().all(|reply| denbun_protocol::sign::placeholder_slot(&reply.answer).is_none()),
            "every answer of the group is signed"
        );
        let durable = self.backup.is_some() || batch.is_empty();
        let failure = match failure {
            Some(error) => Some(error),
            None => self.write(&batch, &head, &new_head).err(),
        };
        if let Some(error) = failure {
            // Nothing of the group was applied: every telegram is refused as
            // "storage unavailable" and may be sent again unchanged.
            tracing::error!(%error, telegrams = group.len(), "storage failed; the group was refused and nothing applied");
            refuse_group(&self.signing_key, group, now_ms);
            return (None, head);
        }
        cache.absorb(fill);
        let mut writes = batch.writes;
        let (files, notices) = after_durable(&mut writes);
        let applied = Applied { jobs: group, answers, files, notices, now_ms, durable };
        (Some((applied, writes)), new_head)
    }

    /// Applies the group's batch. With a backup location: ships it first and
    /// makes it durable at once (a failed commit takes the shipped group
    /// back); without one the flusher makes it durable.
    fn write(&self, batch: &WriteBatch, before: &JournalHead, after: &JournalHead) -> Result<(), StorageError> {
        let Some(site) = &self.backup else { return self.storage.apply(batch) };
        if batch.is_empty() {
            return Ok(());
        }
        site.ship(before, after, batch)
            .map_err(|error| StorageError::Io(format!("shipping to the backup location failed: {error}")))?;
        let committed = self.storage.commit(batch);
        if committed.is_err() {
            site.unship();
        }
        committed
    }

    fn apply(&self, tx: &mut Tx<'_>, job: &Job) -> Result<Option<Reply>, StorageError> {
        let now_ms = tx.now_ms();
        match &job.inbound {
            Inbound::Record { direction: JournalDirection::In, bytes } => {
                tx.journal_in(&job.origin, bytes, false);
                Ok(None)
            }
            Inbound::Record { direction: JournalDirection::Out, bytes } => {
                tx.journal_out(&job.origin, bytes, 0);
                Ok(None)
            }
            Inbound::Refused { bytes, refused, reason, message } => {
                let sequence = tx.journal_in(&job.origin, bytes, false);
                let answer = self.reject(refused, *reason, message.as_deref(), now_ms);
                tx.journal_out(&job.origin, &answer, sequence);
                Ok(Some(Reply { answer, repeated: false }))
            }
            Inbound::Verified(telegram) => self.apply_verified(tx, job, telegram).map(Some),
        }
    }

    fn apply_verified(&self, tx: &mut Tx<'_>, job: &Job, telegram: &Telegram) -> Result<Reply, StorageError> {
        let now_ms = tx.now_ms();
        let header = telegram.header();
        let sender = header.sender();
        let processing_number = header.processing_number();
        let journal_sequence = tx.journal_in(&job.origin, telegram.as_bytes(), true);
        let recorded = flows::records_idempotency(telegram.body());
        let digest = telegram.content_digest(&self.fingerprint);
        if recorded && let Some(record) = tx.idempotency(sender, processing_number)? {
            let answer = if record.request_digest == digest {
                record.answer.into_vec()
            } else {
                self.reject(&Refused::from_header(header), RejectReason::DuplicateProcessingNumber, None, now_ms)
            };
            let repeated = record.request_digest == digest;
            tx.journal_out(&job.origin, &answer, journal_sequence);
            return Ok(Reply { answer, repeated });
        }
        let context = FlowContext { config: &self.config, fingerprint: &self.fingerprint, origin: &job.origin };
        let decision = match telegram.body() {
            // Live figures are the committer's own, not the storage's.
            Body::MaintenanceRequest(MaintenanceRequest::LiveFigures) => {
                flows::maintenance::live_figures(tx, &context, &self.live, self.registry.signed_on_sessions())?
            }
            // Backups are the committer's own too: taken between two commits.
            Body::MaintenanceRequest(
                request @ (MaintenanceRequest::Backup(_) | MaintenanceRequest::VerifyBackup(_)),
            ) => match &self.backup {
                Some(site) => site.maintenance(tx, request)?,
                None => flows::apply(tx, &context, telegram)?,
            },
            _ => flows::apply(tx, &context, telegram)?,
        };
        let (answer, transient) = match decision {
            Decision::Answer(body) => (tx.center_answer(header, *body), false),
            Decision::Reject(reason, message) => {
                let answer = self.reject(&Refused::from_header(header), reason, message.as_deref(), now_ms);
                (answer, is_transient(reason))
            }
        };
        tx.journal_out(&job.origin, &answer, journal_sequence);
        if recorded && !transient {
            tx.put_idempotency(
                sender,
                processing_number,
                IdempotencyRecord {
                    request_digest: digest,
                    request_code: header.code().base().number(),
                    answer: Blob::new(answer.clone()).expect("a telegram fits its record field"),
                    journal_sequence,
                },
            );
        }
        Ok(Reply { answer, repeated: false })
    }

    fn reject(&self, refused: &Refused, reason: RejectReason, message: Option<&str>, now_ms: u64) -> Vec<u8> {
        reject(&self.signing_key, refused, reason, message, now_ms)
    }
}

/// Groups the flusher may hold before the committer waits for it: enough to
/// keep applying while one fsync runs, few enough that a slow disk pushes
/// back on the committer (and so on the connections) instead of piling up
/// memory.
const GROUPS_IN_FLIGHT_MAX: usize = 8;

/// Writes per telegram the first group's batch is sized for (a payment
/// makes about 12: journal entries, notice, idempotency, its own ledger
/// records, and its share of the records a group writes once).
const WRITES_PER_TELEGRAM_FIRST: usize = 12;

/// The most writes per telegram a batch is sized for: a rare telegram that
/// writes hundreds (a catalog of many items) must not size the next group's
/// batch for hundreds per telegram.
const WRITES_PER_TELEGRAM_MAX: usize = 32;

impl Flusher {
    /// Takes every group applied so far, makes them durable with one sync,
    /// then answers them in order; until the committer hangs up.
    fn run(self, applied: std::sync::mpsc::Receiver<Applied>) -> Result<(), StorageError> {
        let mut pending = Vec::with_capacity(GROUPS_IN_FLIGHT_MAX);
        while let Ok(first) = applied.recv() {
            pending.push(first);
            while let Ok(more) = applied.try_recv() {
                pending.push(more);
            }
            let synced = if pending.iter().all(|group| group.durable) { Ok(()) } else { self.storage.sync() };
            match synced {
                Ok(()) => pending.drain(..).for_each(|group| self.answer(group)),
                Err(error) => {
                    // The storage is poisoned now: every later group fails to
                    // apply or to sync too, until a restart recovers the disk.
                    let telegrams: usize = pending.iter().map(|group| group.jobs.len()).sum();
                    tracing::error!(%error, telegrams, "storage sync failed; the groups were refused");
                    for group in pending.drain(..) {
                        refuse_group(&self.signing_key, group.jobs, group.now_ms);
                    }
                }
            }
        }
        Ok(())
    }

    /// Answers one durable group, signals its notices' recipients, and
    /// writes its letter and bank transfer files.
    fn answer(&self, group: Applied) {
        let Applied { jobs, answers, files, notices, now_ms, .. } = group;
        fail::fail_point!("committer.before_answer", |_| {
            tracing::warn!("failpoint committer.before_answer: the group is durable, its answers are dropped");
        });
        self.write_letter_files(&files);
        if let Some(directory) = &self.payout_directory {
            crate::ledger::export::write_files(directory, &files);
        }
        // Before the answers: a terminal that has its answer may fetch its
        // mailbox at once and must find the group's notices sendable.
        if let Some(sequence) = notices.iter().map(|notice| notice.sequence).max() {
            self.registry.notices_durable_up_to(sequence);
        }
        for (job, reply) in jobs.iter().zip(&answers) {
            self.count(job, reply.as_ref(), now_ms);
        }
        for (job, reply) in jobs.into_iter().zip(answers) {
            if let (Some(sender), Some(reply)) = (job.reply, reply) {
                // A connection that went away no longer needs its answer; the
                // terminal gets it again by repeating the telegram.
                let _ = sender.send(reply);
            }
        }
        let mut by_recipient: BTreeMap<PartyId, Vec<MailboxNotice>> = BTreeMap::new();
        for notice in notices {
            by_recipient.entry(notice.recipient).or_default().push(notice);
        }
        for (party, theirs) in by_recipient {
            self.registry.deliver(party, theirs);
        }
    }

    /// Counts a received telegram for the live figures (echo answers and
    /// the center's own probes are not traffic).
    fn count(&self, job: &Job, reply: Option<&Reply>, now_ms: u64) {
        let code = match &job.inbound {
            Inbound::Verified(telegram) => telegram.code().base().number(),
            Inbound::Refused { refused, .. } => refused.code(),
            Inbound::Record { .. } => return,
        };
        let refused = reply.is_some_and(|reply| reply.answer.get(1..3) == Some(&Code::REJECT.number().to_be_bytes()));
        self.live.telegram(code, refused, now_ms);
    }

    /// Letters also go to `DIR/mail/` as text files for printing. The queue
    /// in storage is the record; a file that cannot be written is logged.
    fn write_letter_files(&self, writes: &[Write]) {
        let Some(directory) = &self.mail_directory else { return };
        for write in writes {
            let Write::Letter(letter) = write else { continue };
            if letter.printed_at_ms.is_some() {
                continue;
            }
            let path = directory.join(format!("letter-{:06}.txt", letter.id));
            if let Err(error) = std::fs::write(&path, crate::mail::letter_text(letter)) {
                tracing::error!(path = %path.display(), %error, "could not write the letter file; it stays in the mail queue");
            }
        }
    }
}

/// Empties an applied group's `writes` (keeping their memory for the next
/// group) and returns what acts once the group is durable: its letters
/// and bank transfer files, and the notices it put in mailboxes.
fn after_durable(writes: &mut Vec<Write>) -> (Vec<Write>, Vec<MailboxNotice>) {
    let mut files = Vec::new();
    let mut notices = Vec::new();
    for write in writes.drain(..) {
        match write {
            Write::MailboxPut(notice) => notices.push(notice),
            Write::Letter(_) | Write::LedgerPut(LedgerRecord::ExportFile(_)) => files.push(write),
            _ => {}
        }
    }
    (files, notices)
}

fn reject(
    signing_key: &SigningKey,
    refused: &Refused,
    reason: RejectReason,
    message: Option<&str>,
    now_ms: u64,
) -> Vec<u8> {
    Signer::center(signing_key)
        .reject(refused, reason, message, now_ms)
        .expect("the center may reject any telegram")
        .into_bytes()
}

/// Refuses every telegram of a group that was not made durable as "storage
/// unavailable": nothing of it counts, and it may be sent again unchanged.
fn refuse_group(signing_key: &SigningKey, group: Vec<Job>, now_ms: u64) {
    for job in group {
        let Some(reply) = job.reply else { continue };
        let refused = match &job.inbound {
            Inbound::Verified(telegram) => Refused::from_header(telegram.header()),
            Inbound::Refused { refused, .. } => *refused,
            Inbound::Record { .. } => continue,
        };
        let answer = reject(signing_key, &refused, RejectReason::StorageUnavailable, None, now_ms);
        let _ = reply.send(Reply { answer, repeated: false });
    }
}

/// Refusals that say nothing about the telegram itself: it may be sent again
/// with the same processing number and be applied then.
fn is_transient(reason: RejectReason) -> bool {
    matches!(
        reason,
        RejectReason::RateLimited | RejectReason::Busy | RejectReason::StorageUnavailable | RejectReason::InternalError
    )
}
