//! The center's network side: accepting terminals and serving each one.
//!
//! [`run`] takes its listener and its shutdown signal from the caller
//! (mini-redis style), so tests bind `127.0.0.1:0` and call it directly.
//! Every connection is one task: handshake under a deadline, then telegrams
//! one at a time — decode, check, verify, hand to the committer, send the
//! durable answer — with idle probes and notices pushed between them.
//!
//! Caps (all in `center.toml`): connections in total and per address, and
//! handshakes computed at once. A terminal over a connection cap still gets
//! a reject telegram ("busy") when a handshake slot is free, so it learns why.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use denbun_client::line::{FrameReader, LineError, ReadEvent, handshake_as_center, write_frame, write_frames};
use denbun_protocol::header::{Code, Function, PartyId, PartyKind};
use denbun_protocol::limits::MAILBOX_BATCH_MAX;
use denbun_protocol::reject::{Refused, RejectReason};
use denbun_protocol::session::Transport;
use denbun_protocol::sign::Signer;
use denbun_protocol::telegram::network::Echo;
use denbun_protocol::telegram::{Body, Telegram};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand_core::OsRng;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::service::committer::{Inbound, Reply};
use crate::service::registry::Inbox;
use crate::service::tx::Origin;
use crate::service::{Center, now_ms};
use crate::storage::{JournalDirection, MailboxNotice};

/// Threads the center's runtime may start for blocking work, its storage
/// reads off the async workers (register entries, mailboxes). Each is a
/// short sled read, so more threads than this only queue for the same
/// cores, and each thread the pool ever started keeps its allocator's
/// memory: with tokio's default of 512, the sign-ons of 256 terminals left
/// over a hundred such threads, about 200 MB of the center's resident
/// memory (docs/performance-history.md, "Fifth sitting of 2026-12-05").
pub const BLOCKING_THREADS_MAX: usize = 8;

/// Shared caps and rate limiters.
struct Gate {
    connections: Arc<Semaphore>,
    handshakes: Arc<Semaphore>,
    per_address: Mutex<HashMap<IpAddr, u32>>,
    per_address_max: u32,
    handshakes_per_address: DefaultKeyedRateLimiter<IpAddr>,
    telegrams: DefaultKeyedRateLimiter<PartyId>,
    applications: DefaultKeyedRateLimiter<IpAddr>,
}

/// Holds one connection's place in the per-address count.
struct AddressSlot {
    gate: Arc<Gate>,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.gate.per_address.lock().expect("per-address lock");
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

impl Gate {
    fn new(center: &Center) -> Self {
        let limits = &center.config().limits;
        let nonzero = |value: u32| NonZeroU32::new(value).expect("the configuration checks limits are positive");
        Gate {
            connections: Arc::new(Semaphore::new(limits.connections_max as usize)),
            handshakes: Arc::new(Semaphore::new(limits.handshakes_concurrent_max as usize)),
            per_address: Mutex::new(HashMap::new()),
            per_address_max: limits.connections_per_address_max,
            handshakes_per_address: RateLimiter::keyed(
                Quota::per_second(nonzero(limits.handshakes_per_second_per_address))
                    .allow_burst(nonzero(limits.handshake_burst_per_address)),
            ),
            telegrams: RateLimiter::keyed(
                Quota::per_second(nonzero(limits.telegrams_per_second_per_sender))
                    .allow_burst(nonzero(limits.telegram_burst_per_sender)),
            ),
            applications: RateLimiter::keyed(
                Quota::per_hour(nonzero(limits.applications_per_address_per_hour))
                    .allow_burst(nonzero(limits.applications_per_address_per_hour)),
            ),
        }
    }

    fn forget_idle(&self) {
        self.handshakes_per_address.retain_recent();
        self.telegrams.retain_recent();
        self.applications.retain_recent();
        self.handshakes_per_address.shrink_to_fit();
        self.telegrams.shrink_to_fit();
        self.applications.shrink_to_fit();
    }

    fn take_address_slot(self: &Arc<Self>, address: IpAddr) -> Option<AddressSlot> {
        let mut counts = self.per_address.lock().expect("per-address lock");
        let count = counts.entry(address).or_insert(0);
        if *count >= self.per_address_max {
            return None;
        }
        *count += 1;
        Some(AddressSlot { gate: self.clone(), address })
    }
}

/// Serves terminals from `listener` until `shutdown` completes; then stops
/// accepting, lets each connection finish the telegram it is on, and returns.
pub async fn run(listener: TcpListener, center: Arc<Center>, shutdown: impl std::future::Future<Output = ()>) {
    let gate = Arc::new(Gate::new(&center));
    let (stop_sender, stop) = watch::channel(false);
    let mut connections = JoinSet::new();
    // The rate limiters keep a cell per address and per sender; forget idle ones
    // so their memory stays bounded by recent traffic.
    let mut housekeeping = tokio::time::interval(Duration::from_secs(60));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = housekeeping.tick() => gate.forget_idle(),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let center = center.clone();
                    let gate = gate.clone();
                    let stop = stop.clone();
                    connections.spawn(async move { serve_connection(stream, peer, center, gate, stop).await });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off briefly.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    tracing::info!(connections = connections.len(), "stopped accepting; letting connections finish");
    let _ = stop_sender.send(true);
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    center: Arc<Center>,
    gate: Arc<Gate>,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    if gate.handshakes_per_address.check_key(&peer.ip()).is_err() {
        // Before any Diffie-Hellman and without a word: a flood costs us an accept and a close.
        tracing::debug!(%peer, "handshake rate of this address exceeded; connection closed");
        return;
    }
    let mut origin = Origin { session: center.next_session_id(), handshake_hash: [0; 32], peer: peer.to_string() };
    let connection_permit = gate.connections.clone().try_acquire_owned().ok();
    let address_slot = gate.take_address_slot(peer.ip());
    let over_cap = connection_permit.is_none() || address_slot.is_none();
    let limits = center.config().limits.clone();
    let mut reader = FrameReader::new(stream, limits.frame_timeout());

    let transport = {
        // A newcomer waits for a handshake slot only as long as its handshake may take.
        let permit = if over_cap {
            gate.handshakes.clone().try_acquire_owned().ok()
        } else {
            tokio::time::timeout(limits.handshake_timeout(), gate.handshakes.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
        };
        let Some(_permit) = permit else {
            tracing::warn!(peer = %origin.peer, "no handshake slot free; connection closed");
            return;
        };
        match handshake_as_center(&mut reader, center.noise_key(), &mut OsRng, limits.handshake_timeout()).await {
            Ok(transport) => transport,
            Err(error) => {
                tracing::info!(peer = %origin.peer, %error, "handshake failed; connection closed");
                return;
            }
        }
    };
    origin.handshake_hash = transport.handshake_hash();
    let live_center = center.clone();
    let _counted = live_center.live().connection_opened();
    let mut connection = Connection {
        center,
        gate,
        origin,
        reader,
        transport,
        signed_on: None,
        notices_sent_up_to: 0,
        inbox: Arc::new(Inbox::default()),
        caught_up: false,
    };
    if over_cap {
        let message = "too many connections; try again in a minute";
        connection.refuse_and_close(&[], RejectReason::Busy, message).await;
        return;
    }
    connection.serve(stop).await;
    if let Some(party) = connection.signed_on {
        connection.center.registry().sign_off(party, connection.origin.session);
    }
    drop(address_slot);
    drop(connection_permit);
}

/// What the connection does after a telegram's answer is sent.
enum After {
    Continue,
    SignedOn(PartyId),
    /// Send waiting notices again from the oldest, at most `limit` (a mailbox fetch).
    DeliverNotices {
        limit: usize,
    },
    Close,
}

/// An echo probe the center sent and is waiting for.
struct Probe {
    processing_number: u64,
    deadline: Instant,
}

struct Connection {
    center: Arc<Center>,
    gate: Arc<Gate>,
    origin: Origin,
    reader: FrameReader<TcpStream>,
    transport: Transport,
    signed_on: Option<PartyId>,
    notices_sent_up_to: u64,
    /// Where the flusher puts this session's notices once they are durable.
    inbox: Arc<Inbox>,
    /// Every notice its mailbox held was sent by the last mailbox read, so
    /// the inbox alone holds what came since.
    caught_up: bool,
}

impl Connection {
    async fn serve(&mut self, mut stop: watch::Receiver<bool>) {
        let limits = self.center.config().limits.clone();
        let (signal_sender, mut signals) = mpsc::channel::<()>(1);
        let mut signal_sender = Some(signal_sender);
        let mut probe: Option<Probe> = None;
        let mut probes_sent = 0u64;
        let mut idle_deadline = Instant::now() + limits.sign_on_timeout();
        loop {
            let deadline = probe.as_ref().map_or(idle_deadline, |probe| probe.deadline);
            let event = tokio::select! {
                biased;
                _ = stop.changed() => return,
                Some(()) = signals.recv() => {
                    if let Err(error) = self.deliver_new_notices().await {
                        tracing::info!(peer = %self.origin.peer, %error, "line failed while delivering notices");
                        return;
                    }
                    continue;
                }
                event = self.reader.next(Some(deadline)) => event,
            };
            let payload = match event {
                Ok(ReadEvent::Frame(payload)) => payload,
                Ok(ReadEvent::Closed) => return,
                Ok(ReadEvent::Idle) => {
                    if probe.is_some() || self.signed_on.is_none() {
                        tracing::info!(peer = %self.origin.peer, "idle session closed");
                        return;
                    }
                    probes_sent += 1;
                    match self.send_probe(probes_sent).await {
                        Ok(()) => {
                            probe = Some(Probe {
                                processing_number: probes_sent,
                                deadline: Instant::now() + limits.echo_answer_timeout(),
                            })
                        }
                        Err(error) => {
                            tracing::info!(peer = %self.origin.peer, %error, "line failed");
                            return;
                        }
                    }
                    continue;
                }
                Err(error) => {
                    log_line_error(&self.origin, &error);
                    return;
                }
            };
            let bytes = match self.transport.open(&payload) {
                Ok(bytes) => bytes,
                Err(error) => {
                    // Never answered: a forged or damaged frame gets no oracle.
                    tracing::warn!(peer = %self.origin.peer, %error, "frame failed authentication; connection closed");
                    return;
                }
            };
            idle_deadline = Instant::now()
                + if self.signed_on.is_some() { limits.idle_timeout() } else { limits.sign_on_timeout() };
            if let Some(current) = &probe
                && self.is_probe_answer(&bytes, current.processing_number)
            {
                let _ = self
                    .center
                    .record(self.origin.clone(), Inbound::Record { direction: JournalDirection::In, bytes })
                    .await;
                probe = None;
                continue;
            }
            let after = match self.handle(bytes).await {
                Ok(after) => after,
                Err(error) => {
                    log_line_error(&self.origin, &error);
                    return;
                }
            };
            let delivered = match after {
                After::Continue => Ok(()),
                After::Close => return,
                After::SignedOn(party) => {
                    self.signed_on = Some(party);
                    idle_deadline = Instant::now() + limits.idle_timeout();
                    if let Some(sender) = signal_sender.take() {
                        self.center.registry().sign_on(party, self.origin.session, self.inbox.clone(), sender);
                    }
                    self.deliver_notices(false, MAILBOX_BATCH_MAX).await
                }
                After::DeliverNotices { limit } => self.deliver_notices(true, limit).await,
            };
            if let Err(error) = delivered {
                log_line_error(&self.origin, &error);
                return;
            }
        }
    }

    /// Decodes, checks and verifies one telegram, has the committer apply it,
    /// and sends the durable answer.
    async fn handle(&mut self, bytes: Vec<u8>) -> Result<After, LineError> {
        let telegram = match Telegram::decode(&bytes) {
            Ok(telegram) => telegram,
            Err(error) => {
                let reason = error.reject_reason();
                let message = format!("{}: {error}", reason.message());
                return self.refuse(bytes, None, reason, Some(message)).await;
            }
        };
        let sender = telegram.sender();
        let code = telegram.code().base();
        if code.function() != Function::Request {
            let message = format!("telegram {code} is not a request the center accepts");
            return self.refuse(bytes, Some(&telegram), RejectReason::NotPermitted, Some(message)).await;
        }
        let limited = match sender.kind() {
            PartyKind::Anonymous if code == Code::APPLICATION => {
                self.gate.applications.check_key(&peer_address(&self.origin)).is_err()
            }
            _ => self.gate.telegrams.check_key(&sender).is_err(),
        };
        if limited {
            return self.refuse(bytes, Some(&telegram), RejectReason::RateLimited, None).await;
        }
        if let Err(reason) = self.verify(&telegram).await {
            return self.refuse(bytes, Some(&telegram), reason, None).await;
        }
        if code.rule().needs_sign_on() && self.signed_on != Some(sender) {
            return self.refuse(bytes, Some(&telegram), RejectReason::NotSignedOn, None).await;
        }
        let body_after = match telegram.body() {
            Body::SignOn(_) => After::SignedOn(sender),
            Body::SignOff(_) => After::Close,
            Body::MailboxFetch(fetch) => After::DeliverNotices { limit: usize::from(fetch.max_notices) },
            _ => After::Continue,
        };
        let Ok(reply) = self.center.submit(self.origin.clone(), Inbound::Verified(Box::new(telegram))).await else {
            return Ok(After::Close);
        };
        let accepted = !is_reject(&reply);
        match body_after {
            // The notices a fetch delivers go before its answer.
            After::DeliverNotices { limit } => {
                if accepted {
                    self.deliver_notices(true, limit).await?;
                }
                self.send(&reply.answer).await?;
                Ok(After::Continue)
            }
            After::SignedOn(_) | After::Close if !accepted => {
                self.send(&reply.answer).await?;
                Ok(After::Continue)
            }
            after => {
                self.send(&reply.answer).await?;
                Ok(after)
            }
        }
    }

    /// Checks the signature against the right key: the register's, the
    /// registration body's own, or (sign-on) bound to this session.
    async fn verify(&self, telegram: &Telegram) -> Result<(), RejectReason> {
        let sender = telegram.sender();
        let fingerprint = self.center.fingerprint();
        match (sender.kind(), telegram.body()) {
            // Decoding already checked that an anonymous signature is all zeros.
            (PartyKind::Anonymous, _) => Ok(()),
            (PartyKind::Center, _) => Err(RejectReason::BadSignature),
            (_, Body::Registration(registration)) => {
                telegram.verify(&registration.verification_key, fingerprint).map_err(|error| error.reject_reason())
            }
            (_, body) => {
                let key = match self.center.verification_key(sender).await {
                    Ok(Some(key)) => key,
                    Ok(None) => return Err(RejectReason::UnknownSender),
                    Err(error) => {
                        tracing::error!(%error, "register read failed");
                        return Err(RejectReason::StorageUnavailable);
                    }
                };
                let verified = match body {
                    Body::SignOn(_) => telegram.verify_sign_on(&key, fingerprint, &self.transport.handshake_hash()),
                    _ => telegram.verify(&key, fingerprint),
                };
                verified.map_err(|error| error.reject_reason())
            }
        }
    }

    async fn refuse(
        &mut self,
        bytes: Vec<u8>,
        telegram: Option<&Telegram>,
        reason: RejectReason,
        message: Option<String>,
    ) -> Result<After, LineError> {
        let refused = match telegram {
            Some(telegram) => Refused::from_header(telegram.header()),
            None => Refused::from_bytes(&bytes),
        };
        tracing::info!(peer = %self.origin.peer, code = refused.code(), ?reason, "telegram refused");
        let inbound = Inbound::Refused { bytes, refused, reason, message };
        let Ok(reply) = self.center.submit(self.origin.clone(), inbound).await else {
            return Ok(After::Close);
        };
        self.send(&reply.answer).await?;
        Ok(After::Continue)
    }

    async fn refuse_and_close(&mut self, bytes: &[u8], reason: RejectReason, message: &str) {
        if let Err(error) = self.refuse(bytes.to_vec(), None, reason, Some(message.to_owned())).await {
            log_line_error(&self.origin, &error);
        }
    }

    async fn send(&mut self, telegram: &[u8]) -> Result<(), LineError> {
        let sealed = self.transport.seal(telegram)?;
        write_frame(self.reader.get_mut(), &sealed).await?;
        cut_after_sending("the answer")
    }

    async fn send_probe(&mut self, processing_number: u64) -> Result<(), LineError> {
        let Some(party) = self.signed_on else { return Ok(()) };
        let probe = Signer::center(self.center.signing_key())
            .request_to(party, processing_number, now_ms(), Echo {})
            .expect("the center may probe a signed-on terminal");
        let bytes = probe.into_bytes();
        self.send(&bytes).await?;
        let _ =
            self.center.record(self.origin.clone(), Inbound::Record { direction: JournalDirection::Out, bytes }).await;
        Ok(())
    }

    fn is_probe_answer(&self, bytes: &[u8], processing_number: u64) -> bool {
        let Ok(telegram) = Telegram::decode(bytes) else { return false };
        telegram.code() == Code::ECHO_ANSWER
            && telegram.header().processing_number() == processing_number
            && Some(telegram.sender()) == self.signed_on
    }

    /// Sends the notices that became durable since the last ones: from the
    /// inbox once the session has caught up with its mailbox, else (or when
    /// the inbox overflowed) from the mailbox in storage.
    async fn deliver_new_notices(&mut self) -> Result<(), LineError> {
        if self.caught_up {
            match self.inbox.take() {
                Some(mut notices) => {
                    notices.sort_by_key(|notice| notice.sequence);
                    notices.retain(|notice| notice.sequence > self.notices_sent_up_to);
                    return self.send_notices(notices).await;
                }
                None => self.caught_up = false,
            }
        }
        self.deliver_notices(false, MAILBOX_BATCH_MAX).await
    }

    /// Sends at most `limit` waiting notices, oldest first: all of them again
    /// (`from_start`, a fetch) or those not yet sent in this session.
    async fn deliver_notices(&mut self, from_start: bool, limit: usize) -> Result<(), LineError> {
        let Some(party) = self.signed_on else { return Ok(()) };
        let after = if from_start { 0 } else { self.notices_sent_up_to };
        let storage = self.center.storage().clone();
        let limit = limit.min(MAILBOX_BATCH_MAX);
        // Emptied before the read: a notice put in the inbox after this was
        // durable after it too, so the read or the inbox has every notice.
        let _ = self.inbox.take();
        let notices = tokio::task::spawn_blocking(move || storage.mailbox(party, after, limit))
            .await
            .unwrap_or_else(|_| Ok(Vec::new()));
        let notices = match notices {
            Ok(notices) => notices,
            Err(error) => {
                tracing::error!(%error, "mailbox read failed; notices stay for the next sign-on");
                self.caught_up = false;
                return Ok(());
            }
        };
        // Fewer than asked for: the mailbox had no more after `after`.
        self.caught_up = notices.len() < limit;
        // A notice above this sequence is applied but not durable yet: its
        // group's flush is still running, and the inbox gets it after.
        let durable = self.center.registry().durable_notice_sequence();
        let durable_notices: Vec<_> = notices.into_iter().take_while(|notice| notice.sequence <= durable).collect();
        self.send_notices(durable_notices).await
    }

    /// Seals `notices` (durable, oldest first) and sends them in one write.
    async fn send_notices(&mut self, notices: Vec<MailboxNotice>) -> Result<(), LineError> {
        let mut sealed = Vec::with_capacity(notices.len());
        let mut sent_up_to = self.notices_sent_up_to;
        for notice in notices {
            sealed.push(self.transport.seal(notice.telegram.as_slice())?);
            sent_up_to = sent_up_to.max(notice.sequence);
        }
        if sealed.is_empty() {
            return Ok(());
        }
        // One write for the lot: a store gets a burst of payment notices per group.
        write_frames(self.reader.get_mut(), &sealed).await?;
        self.notices_sent_up_to = sent_up_to;
        cut_after_sending("the notices")
    }
}

/// The failpoint `server.after_answer`: with the `failpoints` feature, the
/// line is cut right after `what` left (an answer, a burst of notices).
#[cfg_attr(not(feature = "failpoints"), allow(unused_variables))]
fn cut_after_sending(what: &str) -> Result<(), LineError> {
    fail::fail_point!("server.after_answer", |_| {
        tracing::warn!("failpoint server.after_answer: the line is cut after {what} left");
        Err(LineError::Io(std::io::ErrorKind::BrokenPipe.into()))
    });
    Ok(())
}

fn is_reject(reply: &Reply) -> bool {
    Telegram::decode(&reply.answer).map(|answer| answer.code() == Code::REJECT).unwrap_or(true)
}

fn peer_address(origin: &Origin) -> IpAddr {
    origin.peer.parse::<SocketAddr>().map(|address| address.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn log_line_error(origin: &Origin, error: &LineError) {
    match error {
        LineError::Io(_) => tracing::debug!(peer = %origin.peer, %error, "line closed"),
        _ => tracing::info!(peer = %origin.peer, %error, "connection closed"),
    }
}
