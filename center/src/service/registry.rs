//! Which parties are signed on, and how their notices reach them.
//!
//! Once a group is durable, the flusher hands each signed-on session the
//! notices the group put in its party's mailbox ([`Registry::deliver`]), so
//! a connection that has sent everything its mailbox held sends them
//! without reading storage. Storage stays the record: a session that
//! signed on with more waiting than one burst, or whose inbox overflowed,
//! reads its mailbox as before until it has caught up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use denbun_protocol::header::PartyId;
use denbun_protocol::limits::MAILBOX_BATCH_MAX;
use tokio::sync::mpsc;

use crate::storage::MailboxNotice;

/// A session id, its inbox, and where to signal it.
type SessionSignal = (u64, Arc<Inbox>, mpsc::Sender<()>);

/// Notices durable since a session's connection last took them. It holds at
/// most one burst ([`MAILBOX_BATCH_MAX`]); past that it drops them and says
/// so, and the connection reads its mailbox instead (where they all are).
#[derive(Default)]
pub struct Inbox {
    state: Mutex<InboxState>,
}

#[derive(Default)]
struct InboxState {
    notices: Vec<MailboxNotice>,
    overflowed: bool,
}

impl Inbox {
    fn put(&self, mut notices: Vec<MailboxNotice>) {
        let mut state = self.state.lock().expect("inbox lock");
        if state.overflowed {
            return;
        }
        if state.notices.len() + notices.len() > MAILBOX_BATCH_MAX {
            state.notices.clear();
            state.overflowed = true;
            return;
        }
        state.notices.append(&mut notices);
    }

    /// Takes what waits, oldest first; `None` when some were dropped, so the
    /// mailbox must be read instead. Either way the inbox is empty after.
    pub fn take(&self) -> Option<Vec<MailboxNotice>> {
        let mut state = self.state.lock().expect("inbox lock");
        let notices = std::mem::take(&mut state.notices);
        if std::mem::take(&mut state.overflowed) { None } else { Some(notices) }
    }
}

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

    /// Registers session `session` of `party`: its notices go to `inbox`,
    /// and `signal` is told when some wait.
    pub fn sign_on(&self, party: PartyId, session: u64, inbox: Arc<Inbox>, signal: mpsc::Sender<()>) {
        let mut sessions = self.sessions.lock().expect("registry lock");
        sessions.entry(party).or_default().push((session, inbox, signal));
    }

    /// Forgets session `session` of `party`.
    pub fn sign_off(&self, party: PartyId, session: u64) {
        let mut sessions = self.sessions.lock().expect("registry lock");
        if let Some(list) = sessions.get_mut(&party) {
            list.retain(|(id, _, _)| *id != session);
            if list.is_empty() {
                sessions.remove(&party);
            }
        }
    }

    /// Hands every session of `party` the durable `notices` of its mailbox
    /// (oldest first) and tells it they wait. A signal already pending is
    /// enough, so a full channel is not an error.
    pub fn deliver(&self, party: PartyId, notices: Vec<MailboxNotice>) {
        let sessions = self.sessions.lock().expect("registry lock");
        let Some(list) = sessions.get(&party) else { return };
        let mut notices = Some(notices);
        for (index, (_, inbox, signal)) in list.iter().enumerate() {
            // The last session takes the notices themselves, the others copies.
            let theirs = if index + 1 == list.len() { notices.take() } else { notices.clone() };
            inbox.put(theirs.unwrap_or_default());
            let _ = signal.try_send(());
        }
    }

    /// Signed-on sessions, for statistics.
    pub fn signed_on_sessions(&self) -> usize {
        self.sessions.lock().expect("registry lock").values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use denbun_protocol::wire::Blob;

    use super::*;

    fn notice(sequence: u64) -> MailboxNotice {
        MailboxNotice { recipient: PartyId::store(1).unwrap(), sequence, telegram: Blob::new(vec![1; 8]).unwrap() }
    }

    #[test]
    fn each_session_of_a_party_gets_its_notices_in_order_and_a_signal() {
        let registry = Registry::default();
        let party = PartyId::store(1).unwrap();
        let (first, second) = (Arc::new(Inbox::default()), Arc::new(Inbox::default()));
        let (signal_first, mut signals_first) = mpsc::channel(1);
        let (signal_second, mut signals_second) = mpsc::channel(1);
        registry.sign_on(party, 1, first.clone(), signal_first);
        registry.sign_on(party, 2, second.clone(), signal_second);
        registry.deliver(party, vec![notice(3), notice(5)]);
        registry.deliver(party, vec![notice(8)]);
        registry.deliver(PartyId::store(2).unwrap(), vec![notice(9)]);
        for (inbox, signals) in [(&first, &mut signals_first), (&second, &mut signals_second)] {
            assert_eq!(signals.try_recv(), Ok(()));
            let sequences: Vec<u64> = inbox.take().unwrap().iter().map(|notice| notice.sequence).collect();
            assert_eq!(sequences, [3, 5, 8]);
            assert_eq!(inbox.take().unwrap(), Vec::new(), "taken once");
        }
        registry.sign_off(party, 1);
        registry.deliver(party, vec![notice(10)]);
        assert_eq!(first.take().unwrap(), Vec::new(), "a session that signed off gets nothing more");
        assert_eq!(second.take().unwrap().len(), 1);
    }

    #[test]
    fn an_inbox_past_one_burst_drops_what_it_held_and_says_so_once() {
        let inbox = Inbox::default();
        let burst: Vec<MailboxNotice> = (1..=MAILBOX_BATCH_MAX as u64).map(notice).collect();
        inbox.put(burst);
        inbox.put(vec![notice(1_000)]);
        inbox.put(vec![notice(1_001)]);
        assert_eq!(inbox.take(), None, "the mailbox must be read instead");
        inbox.put(vec![notice(1_002)]);
        assert_eq!(inbox.take().unwrap(), vec![notice(1_002)]);
    }
}
