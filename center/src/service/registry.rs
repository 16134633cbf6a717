//! Which parties are signed on, and where to tell them that notices wait.

use std::collections::HashMap;
use std::sync::Mutex;

use denbun_protocol::header::PartyId;
use tokio::sync::mpsc;

/// A session id and where to signal it.
type SessionSignal = (u64, mpsc::Sender<()>);

/// Signed-on sessions by party. A party may be signed on from several
/// terminals; each gets the signal.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<PartyId, Vec<SessionSignal>>>,
}

impl Registry {
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
