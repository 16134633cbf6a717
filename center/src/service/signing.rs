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
        drop(state);
        self.shared.work.notify_one();
    }

    /// The signatures of the group's `unsigned` telegrams (slot by slot),
    /// signing on this thread whatever no helper has taken, and making the
    /// pool ready for the next group.
    pub fn finish(&self, unsigned: &[Vec<u8>]) -> Vec<Signature> {
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
            state = self.shared.done.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
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
    loop {
        if let Some((group, slot, telegram)) = state.queue.pop_front() {
            state.signing += 1;
            drop(state);
            let signature = shared.sign(&telegram);
            state = shared.lock();
            state.signing -= 1;
            state.store(group, slot, signature);
            shared.done.notify_all();
            continue;
        }
        if state.closing {
            return;
        }
        state = shared.work.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
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
}
