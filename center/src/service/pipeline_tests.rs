//! The committer and its flusher over a storage that the test holds back or
//! makes fail: answers and notices wait for the sync, and a group refused at
//! its write leaves nothing behind in the committer's cache.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use denbun_protocol::header::PartyId;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{Body, ItemKind, Telegram};
use tokio::sync::{mpsc, oneshot};

use super::committer::{Inbound, Job, Reply};
use super::registry::Registry;
use super::tx::Origin;
use crate::flows::testing::{Bench, item, rejected};
use crate::storage::{
    Counter, IdempotencyRecord, JournalEntry, JournalHead, LedgerKey, LedgerRange, LedgerRecord, LetterRecord,
    MailboxNotice, PartyRecord, ScanOrder, SledStorage, Storage, StorageError, TelegramHour, WriteBatch,
};

/// How long a test waits for the committer before it fails (a deadline, not
/// a measurement).
const WAIT: Duration = Duration::from_secs(20);

/// The bench's storage, with a sync the test can hold back and an apply it
/// can make fail.
struct Held {
    inner: Arc<SledStorage>,
    fail_apply: AtomicBool,
    /// (syncs begun, whether syncs may finish)
    syncs: Mutex<(u32, bool)>,
    changed: Condvar,
}

impl Held {
    fn new(inner: Arc<SledStorage>, syncs_open: bool) -> Arc<Held> {
        Arc::new(Held {
            inner,
            fail_apply: AtomicBool::new(false),
            syncs: Mutex::new((0, syncs_open)),
            changed: Condvar::new(),
        })
    }

    fn wait_for_syncs(&self, count: u32) {
        let guard = self.syncs.lock().unwrap();
        let (guard, timeout) = self.changed.wait_timeout_while(guard, WAIT, |(begun, _)| *begun < count).unwrap();
        assert!(!timeout.timed_out(), "the flusher never synced (began {})", guard.0);
    }

    fn open_syncs(&self) {
        self.syncs.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

impl Storage for Held {
    fn party(&self, party: PartyId) -> Result<Option<PartyRecord>, StorageError> {
        self.inner.party(party)
    }
    fn parties(
        &self,
        kind: denbun_protocol::header::PartyKind,
        after: u64,
        limit: usize,
    ) -> Result<Vec<PartyRecord>, StorageError> {
        self.inner.parties(kind, after, limit)
    }
    fn counter(&self, counter: Counter) -> Result<u64, StorageError> {
        self.inner.counter(counter)
    }
    fn idempotency(&self, sender: PartyId, processing_number: u64) -> Result<Option<IdempotencyRecord>, StorageError> {
        self.inner.idempotency(sender, processing_number)
    }
    fn idempotency_last(&self, sender: PartyId) -> Result<Option<u64>, StorageError> {
        self.inner.idempotency_last(sender)
    }
    fn journal_head(&self) -> Result<JournalHead, StorageError> {
        self.inner.journal_head()
    }
    fn journal(&self, from: u64, limit: usize) -> Result<Vec<JournalEntry>, StorageError> {
        self.inner.journal(from, limit)
    }
    fn mailbox(&self, recipient: PartyId, after: u64, limit: usize) -> Result<Vec<MailboxNotice>, StorageError> {
        self.inner.mailbox(recipient, after, limit)
    }
    fn letters(&self, after: u64, limit: usize) -> Result<Vec<LetterRecord>, StorageError> {
        self.inner.letters(after, limit)
    }
    fn for_each_idempotency(
        &self,
        visit: &mut dyn FnMut(PartyId, u64, &IdempotencyRecord) -> bool,
    ) -> Result<(), StorageError> {
        self.inner.for_each_idempotency(visit)
    }
    fn ledger_get(&self, key: &LedgerKey) -> Result<Option<LedgerRecord>, StorageError> {
        self.inner.ledger_get(key)
    }
    fn ledger_scan(
        &self,
        range: &LedgerRange,
        order: ScanOrder,
        limit: usize,
    ) -> Result<Vec<LedgerRecord>, StorageError> {
        self.inner.ledger_scan(range, order, limit)
    }
    fn telegram_hours(&self, first_hour: u64, hours: u64) -> Result<Vec<TelegramHour>, StorageError> {
        self.inner.telegram_hours(first_hour, hours)
    }
    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        if self.fail_apply.load(Ordering::SeqCst) {
            // Like a write refused before it went in: nothing of it is kept.
            return Err(StorageError::Io("the test refuses this write".to_owned()));
        }
        self.inner.apply(batch)
    }
    fn sync(&self) -> Result<(), StorageError> {
        let mut guard = self.syncs.lock().unwrap();
        guard.0 += 1;
        self.changed.notify_all();
        let (_guard, timeout) = self.changed.wait_timeout_while(guard, WAIT, |(_, open)| !*open).unwrap();
        assert!(!timeout.timed_out(), "the test never let the sync finish");
        self.inner.sync()
    }
    fn for_each_raw(&self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), StorageError> {
        self.inner.for_each_raw(visit)
    }
    fn load_raw(&self, records: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StorageError> {
        self.inner.load_raw(records)
    }
    fn size_on_disk_bytes(&self) -> Result<u64, StorageError> {
        self.inner.size_on_disk_bytes()
    }
}

/// A committer running on its own thread over `storage`.
struct Running {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<Result<(), StorageError>>>,
}

impl Running {
    fn start(bench: &Bench, storage: Arc<dyn Storage>, registry: Arc<Registry>) -> Running {
        let committer = bench.committer(storage, registry);
        let (jobs, receiver) = mpsc::channel(16);
        let thread = std::thread::spawn(move || committer.run(receiver));
        Running { jobs: Some(jobs), thread: Some(thread) }
    }

    fn submit(&self, telegram: Telegram) -> oneshot::Receiver<Reply> {
        let (reply, answer) = oneshot::channel();
        let origin = Origin { session: 1, handshake_hash: [0; 32], peer: "test".to_owned() };
        let job = Job { origin, inbound: Inbound::Verified(Box::new(telegram)), reply: Some(reply) };
        self.jobs.as_ref().unwrap().blocking_send(job).expect("the committer takes jobs");
        answer
    }

    fn ask(&self, telegram: Telegram) -> Telegram {
        let reply = self.submit(telegram).blocking_recv().expect("the job is answered");
        Telegram::decode(&reply.answer).expect("answers decode")
    }

    fn stop(mut self) {
        drop(self.jobs.take());
        self.thread.take().unwrap().join().unwrap().expect("the committer ends cleanly");
    }
}

/// A store with a published one-item catalog, and a member with 10,000 yen.
fn shop(bench: &mut Bench) -> (PartyId, PartyId) {
    let store = bench.store();
    bench.publish(store, 1, vec![item(1, "Tea", 300, ItemKind::Service)]);
    let member = bench.funded_member(10_000);
    (member, store)
}

#[test]
fn answers_and_notices_wait_until_their_group_is_durable() {
    let mut bench = Bench::new();
    let (member, store) = shop(&mut bench);
    let notices_before = bench.storage.counter(Counter::LastNotice).unwrap();
    let registry = Arc::new(Registry::with_durable_notices(notices_before));
    let held = Held::new(bench.storage.clone(), false);
    let running = Running::start(&bench, held.clone(), registry.clone());

    let payment = bench.sign(member, Bench::instruction(store, 77, 1, &[(1, 1, 300)]));
    let mut answer = running.submit(payment);
    held.wait_for_syncs(1);
    // Applied (a mailbox read sees the notice) but not durable: no answer
    // yet, and connections may not send the notice.
    let waiting = bench.storage.mailbox(store, notices_before, 10).unwrap();
    assert_eq!(waiting.len(), 1, "the group is applied before its sync");
    assert!(matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Empty)), "answered before the sync");
    assert_eq!(registry.durable_notice_sequence(), notices_before);

    held.open_syncs();
    let reply = answer.blocking_recv().expect("answered after the sync");
    let answer = Telegram::decode(&reply.answer).unwrap();
    assert!(matches!(answer.body(), Body::PaymentAnswer(paid) if paid.balance.get() == 9_700), "{answer:?}");
    assert_eq!(registry.durable_notice_sequence(), waiting[0].sequence);
    running.stop();
    bench.assert_audit_passes();
}

#[test]
fn a_group_refused_at_its_write_leaves_the_cache_as_storage_is() {
    let mut bench = Bench::new();
    let (member, store) = shop(&mut bench);
    let held = Held::new(bench.storage.clone(), true);
    let running = Running::start(&bench, held.clone(), Arc::new(Registry::default()));

    let first = running.ask(bench.sign(member, Bench::instruction(store, 1, 1, &[(1, 1, 300)])));
    assert!(matches!(first.body(), Body::PaymentAnswer(paid) if paid.balance.get() == 9_700), "{first:?}");
    held.fail_apply.store(true, Ordering::SeqCst);
    let refused = running.ask(bench.sign(member, Bench::instruction(store, 2, 1, &[(1, 2, 300)])));
    assert_eq!(rejected(&refused), Some(RejectReason::StorageUnavailable));
    held.fail_apply.store(false, Ordering::SeqCst);
    // The refused payment read the member's card and accounts (now cached)
    // and debited them in its overlay; none of that may be seen now.
    let third = running.ask(bench.sign(member, Bench::instruction(store, 3, 1, &[(1, 1, 300)])));
    assert!(matches!(third.body(), Body::PaymentAnswer(paid) if paid.balance.get() == 9_400), "{third:?}");
    running.stop();

    assert_eq!(bench.stored_value(member), 9_400);
    assert_eq!(bench.payable(store), 600);
    bench.assert_audit_passes();
}

#[test]
fn the_cache_follows_every_group_a_committer_applies() {
    // Many groups through one committer (and so one cache): every balance it
    // answers agrees with what storage holds and with the audit's replay.
    let mut bench = Bench::new();
    let (member, store) = shop(&mut bench);
    let running = Running::start(&bench, bench.storage.clone(), Arc::new(Registry::default()));
    let mut balance = 10_000;
    for transaction in 1..=15u64 {
        let quantity = (transaction % 3 + 1) as u16;
        let answer = running.ask(bench.sign(member, Bench::instruction(store, transaction, 1, &[(1, quantity, 300)])));
        balance -= 300 * u64::from(quantity);
        assert!(matches!(answer.body(), Body::PaymentAnswer(paid) if paid.balance.get() == balance), "{answer:?}");
    }
    running.stop();
    assert_eq!(bench.stored_value(member), balance);
    bench.assert_audit_passes();
}
