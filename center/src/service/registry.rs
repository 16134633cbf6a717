//! Which parties are signed on, and where to tell them that notices wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use denbun_protocol::header::PartyId;
use tokio::sync::mpsc;

/// A session id and where to signal it.
type SessionSignal = (u64, mpsc::Sender<()>);

/// Signed-on sessions by party. A party may be signed on from several
/// terminals; each gets the signal.
///
/// It also holds the newest mailbox sequence that is durable: the committer
/// applies a group before the flusher has made it durable, so a mailbox read
/// can see notices that a crash could still take back. A connection sends
/// none above this sequence (notice sequences grow with the commit order).
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<PartyId, Vec<SessionSignal>>>,
    durable_notice_sequence: AtomicU64,
}

impl Registry {
    /// A registry whose mailboxes hold durable notices up to `sequence`
    /// (what storage holds when the center starts is durable).
    pub fn with_durable_notices(sequence: u64) -> Self {
        Self { sessions: Mutex::default(), durable_notice_sequence: AtomicU64::new(sequence) }
    }

    /// Notices up to `sequence` are durable now.
    pub fn notices_durable_up_to(&self, sequence: u64) {
        self.durable_notice_sequence.fetch_max(sequence, Ordering::Release);
    }

    /// The newest notice sequence that may be sent.
    pub fn durable_notice_sequence(&self) -> u64 {
        self.durable_notice_sequence.load(Ordering::Acquire)
    }

    /// Registers session `session` of `party`; `signal` is told when notices wait.
    pub fn sign_on(&self, party: PartyId, session: u64, signal: mpsc::Sender<()>) {
        let mut sessions = self.sessions.lock().expect("registry lock");
        sessions.entry(party).or_default().push((session, signal));
    }

    /// Forgets session `session` of `party`.
    pub fn sign_off(&self, party: PartyId, session: u64) {
        let mut sessions = self.sessions.lock().expect("registry lock");
        if let Some(list) = sessions.get_mut(&party) {
            list.retain(|(id, _)| *id != session);
            if list.is_empty() {
                sessions.remove(&party);
            }
        }
    }

    /// Tells every session of `party` that notices wait. A signal already
    /// pending is enough, so a full channel is not an error.
    pub fn notify(&self, party: PartyId) {
        let sessions = self.sessions.lock().expect("registry lock");
        if let Some(list) = sessions.get(&party) {
            for (_, signal) in list {
                let _ = signal.try_send(());
            }
        }
    }

    /// Signed-on sessions, for statistics.
    pub fn signed_on_sessions(&self) -> usize {
        self.sessions.lock().expect("registry lock").values().map(Vec::len).sum()
    }
}
