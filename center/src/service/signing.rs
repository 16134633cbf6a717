//! Threads that sign the center's answers and notices beside the committer.
//!
//! The committer builds each answer and notice with a placeholder signature
//! (`Signer::center_later`) and hands it here the moment it is built; a
//! helper thread signs it while the committer goes on with the group's next
//! telegrams. When the group's flows are done, [`SigningPool::finish`] signs
//! whatever is still queued on the committer's own thread and waits for the
//! rest, so the group is never held up by an idle core. Signatures are a
//! pure function of the bytes (Ed25519 is deterministic): who signs changes
//! nothing in what is stored or sent.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use denbun_protocol::limits::SIGNATURE_BYTES;
use denbun_protocol::sign::{CenterFingerprint, sign_later};
use ed25519_dalek::SigningKey;

/// At most this many helper threads (the committer signs too).
const HELPERS_MAX: usize = 3;

/// A sleeping helper is woken once this many telegrams wait (or at the
/// group's finish), and takes at most this many off the queue at a time.
const WAKE_AT_QUEUED: usize = 8;

type Signature = [u8; SIGNATURE_BYTES];

/// The center's signing helpers. One pool serves one committer, one group
/// at a time.
pub struct SigningPool {
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
}

struct Shared {
    key: SigningKey,
    center: CenterFingerprint,
    state: Mutex<State>,
    /// Work was queued, or the pool is closing.
    work: Condvar,
    /// A signature was stored, or a helper stopped.
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// The group being signed: a signature of an earlier one (a group
    /// abandoned without its finish) is never stored.
    group: u64,
    /// Groups, slots and telegrams waiting for a signer.
    queue: VecDeque<(u64, usize, Vec<u8>)>,
    /// The group's signatures by slot, as they come.
    signatures: Vec<Option<Signature>>,
    /// Taken off the queue by a helper, not yet stored.
    signing: usize,
    /// Helpers still running.
    helpers_alive: usize,
    /// Helpers waiting for work: a submit wakes one only when one waits
    /// that is not woken already.
    helpers_waiting: usize,
    /// Wakes sent that no helper has returned from yet.
    wakes_pending: usize,
    /// `finish` waits for signatures: a helper wakes it only then.
    finisher_waiting: bool,
    closing: bool,
}

impl State {
    fn store(&mut self, group: u64, slot: usize, signature: Signature) {
        if group == self.group
            && let Some(stored) = self.signatures.get_mut(slot)
        {
            *stored = Some(signature);
        }
    }
}

impl Shared {
    fn sign(&self, telegram: &[u8]) -> Signature {
        sign_later(&self.key, &self.center, telegram)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A helper that panicked while holding the lock left the state
        // consistent (it only pops and stores); keep using it.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SigningPool {
    /// A pool signing with `key`: one helper per core beyond the first, at
    /// most three; none on one core (or when no thread can be
    /// started), and then the committer signs everything at the finish.
    pub fn new(key: &SigningKey) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with_helpers(key, cores.saturating_sub(1).min(HELPERS_MAX))
    }

    /// A pool with `helpers` helper threads (0: the caller signs alone).
    pub fn with_helpers(key: &SigningKey, helpers: usize) -> Self {
        let shared = Arc::new(Shared {
            key: key.clone(),
            center: CenterFingerprint::of(&key.verifying_key()),
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let mut threads = Vec::with_capacity(helpers);
        for index in 0..helpers {
            shared.lock().helpers_alive += 1;
            let for_thread = shared.clone();
            let spawned = std::thread::Builder::new().name(format!("signer-{index}")).spawn(move || help(&for_thread));
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    shared.lock().helpers_alive -= 1;
                    tracing::warn!(%error, "could not start a signing thread; the committer signs alone");
                    break;
                }
            }
        }
        Self { shared, helpers: threads }
    }

    /// Starts a group: whatever an earlier group left (one dropped without
    /// [`SigningPool::finish`]) is dropped.
    pub fn begin(&self) {
        let mut state = self.shared.lock();
        state.group += 1;
        state.queue.clear();
        state.signatures.clear();
    }

    /// Queues `telegram` (built with a placeholder naming `slot`) for
    /// signing. Slots of one group are 0, 1, 2, … in order.
    pub fn submit(&self, slot: usize, telegram: Vec<u8>) {
        let mut state = self.shared.lock();
        if state.signatures.len() <= slot {
            state.signatures.resize(slot + 1, None);
        }
        let group = state.group;
        state.queue.push_back((group, slot, telegram));
        // A helper is woken for a run of telegrams, not for each: std's
        // condition variable makes a system call on every notify, whether or
        // not anyone waits, and a notify for every answer and every notice
        // made about four futex calls a payment (docs/performance-history.md). The
        // helper signs the queue empty before it sleeps again.
        let wake = state.helpers_waiting > state.wakes_pending && state.queue.len() >= WAKE_AT_QUEUED;
        if wake {
            state.wakes_pending += 1;
        }
        drop(state);
        if wake {
            self.shared.work.notify_one();
        }
    }

    /// The signatures of the group's `unsigned` telegrams (slot by slot),
    /// signing on this thread whatever no helper has taken, and making the
    /// pool ready for the next group.
    pub fn finish(&self, unsigned: &[Vec<u8>]) -> Vec<Signature> {
        // Fewer than a run may be queued, with every helper asleep: they
        // sign beside this thread.
        let wake = {
            let mut state = self.shared.lock();
            let wake = state.helpers_waiting > state.wakes_pending && !state.queue.is_empty();
            if wake {
                state.wakes_pending = state.helpers_waiting;
            }
            wake
        };
        if wake {
            self.shared.work.notify_all();
        }
        loop {
            let mut state = self.shared.lock();
            let Some((group, slot, telegram)) = state.queue.pop_front() else { break };
            drop(state);
            let signature = self.shared.sign(&telegram);
            state = self.shared.lock();
            state.store(group, slot, signature);
        }
        let mut state = self.shared.lock();
        while state.signing > 0 && state.helpers_alive > 0 {
            state.finisher_waiting = true;
            state = self.shared.done.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
            state.finisher_waiting = false;
        }
        let signatures = std::mem::take(&mut state.signatures);
        drop(state);
        // A slot no helper delivered (one stopped mid-way) is signed here.
        unsigned
            .iter()
            .enumerate()
            .map(|(slot, telegram)| match signatures.get(slot).copied().flatten() {
                Some(signature) => signature,
                None => self.shared.sign(telegram),
            })
            .collect()
    }
}

impl Drop for SigningPool {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.work.notify_all();
        for helper in self.helpers.drain(..) {
            // A helper that panicked has already said so on stderr.
            let _ = helper.join();
        }
    }
}

/// A helper's loop: sign what is queued until the pool closes.
fn help(shared: &Shared) {
    /// Counts the helper out however it stops, so `finish` never waits on it.
    struct Alive<'a>(&'a Shared);
    impl Drop for Alive<'_> {
        fn drop(&mut self) {
            self.0.lock().helpers_alive -= 1;
            self.0.done.notify_all();
        }
    }
    let _alive = Alive(shared);
    let mut state = shared.lock();
    let mut taken = Vec::with_capacity(WAKE_AT_QUEUED);
    let mut signed = Vec::with_capacity(WAKE_AT_QUEUED);
    loop {
        if !state.queue.is_empty() {
            // A run at a time, not one: each lock taken while the committer
            // submits is a lock it may have to wait for.
            let run = state.queue.len().min(WAKE_AT_QUEUED);
            taken.extend(state.queue.drain(..run));
            state.signing += run;
            drop(state);
            signed.extend(taken.drain(..).map(|(group, slot, telegram)| (group, slot, shared.sign(&telegram))));
            state = shared.lock();
            state.signing -= run;
            for (group, slot, signature) in signed.drain(..) {
                state.store(group, slot, signature);
            }
            if state.finisher_waiting {
                shared.done.notify_all();
            }
            continue;
        }
        if state.closing {
            return;
        }
        state.helpers_waiting += 1;
        state = shared.work.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
        state.helpers_waiting -= 1;
        // Woken or not (a spurious wake), this helper looks at the queue now.
        state.wakes_pending = state.wakes_pending.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telegrams(count: usize) -> Vec<Vec<u8>> {
        // Any bytes at least a header and a signature long sign the same way
        // wherever they are signed.
        (0..count).map(|index| vec![u8::try_from(index % 251).unwrap(); 200 + index]).collect()
    }

    fn signed_alone(key: &SigningKey, unsigned: &[Vec<u8>]) -> Vec<Signature> {
        let center = CenterFingerprint::of(&key.verifying_key());
        unsigned.iter().map(|telegram| sign_later(key, &center, telegram)).collect()
    }

    #[test]
    fn every_slot_gets_its_own_signature_whoever_signs_it() {
        let key = SigningKey::from_bytes(&[0x43; 32]);
        for helpers in [0, 1, 3] {
            let pool = SigningPool::with_helpers(&key, helpers);
            // Several groups through one pool, of sizes that leave work
            // queued at the finish and sizes that do not.
            for count in [1, 2, 17, 64, 0, 5] {
                pool.begin();
                let unsigned = telegrams(count);
                for (slot, telegram) in unsigned.iter().enumerate() {
                    pool.submit(slot, telegram.clone());
                }
                assert_eq!(pool.finish(&unsigned), signed_alone(&key, &unsigned), "{helpers} helpers, {count}");
            }
        }
    }

    #[test]
    fn a_slot_never_submitted_is_signed_at_the_finish() {
        let key = SigningKey::from_bytes(&[0x43; 32]);
        let pool = SigningPool::with_helpers(&key, 1);
        pool.begin();
        let unsigned = telegrams(4);
        pool.submit(0, unsigned[0].clone());
        pool.submit(2, unsigned[2].clone());
        assert_eq!(pool.finish(&unsigned), signed_alone(&key, &unsigned));
    }

    #[test]
    fn a_group_abandoned_without_its_finish_leaves_nothing_in_the_next() {
        let key = SigningKey::from_bytes(&[0x43; 32]);
        let pool = SigningPool::with_helpers(&key, 1);
        pool.begin();
        let abandoned = telegrams(40);
        for (slot, telegram) in abandoned.iter().enumerate().rev() {
            pool.submit(slot, telegram.clone());
        }
        pool.begin();
        let unsigned: Vec<Vec<u8>> = telegrams(40)
            .into_iter()
            .map(|mut telegram| {
                telegram[0] ^= 0xFF;
                telegram
            })
            .collect();
        for (slot, telegram) in unsigned.iter().enumerate() {
            pool.submit(slot, telegram.clone());
        }
        assert_eq!(pool.finish(&unsigned), signed_alone(&key, &unsigned));
    }

    /// Polls `done` every millisecond for at most ten seconds.
    fn wait_until(what: &str, done: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if done() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("{what} did not happen within ten seconds");
    }

    #[test]
    fn a_run_of_telegrams_wakes_a_sleeping_helper_before_the_finish() {
        let key = SigningKey::from_bytes(&[0x43; 32]);
        let pool = SigningPool::with_helpers(&key, 1);
        wait_until("the helper going to sleep", || pool.shared.lock().helpers_waiting == 1);
        for round in 0..3 {
            pool.begin();
            // Fewer than a run: the helper sleeps on, and the finish signs them.
            let few = telegrams(WAKE_AT_QUEUED - 1);
            for (slot, telegram) in few.iter().enumerate() {
                pool.submit(slot, telegram.clone());
            }
            assert_eq!(pool.shared.lock().wakes_pending, 0, "round {round}: no wake for less than a run");
            assert_eq!(pool.finish(&few), signed_alone(&key, &few));
            wait_until("the helper going back to sleep", || pool.shared.lock().helpers_waiting == 1);

            // Three runs: the helper wakes and signs them all without the finish.
            pool.begin();
            let runs = telegrams(3 * WAKE_AT_QUEUED);
            for (slot, telegram) in runs.iter().enumerate() {
                pool.submit(slot, telegram.clone());
            }
            wait_until("the helper signing every telegram", || {
                let state = pool.shared.lock();
                state.signatures.iter().all(Option::is_some)
            });
            assert_eq!(pool.finish(&runs), signed_alone(&key, &runs), "round {round}");
            wait_until("the helper going back to sleep", || pool.shared.lock().helpers_waiting == 1);
            assert_eq!(pool.shared.lock().wakes_pending, 0, "round {round}: every wake was taken");
        }
    }
}
