//! A lean terminal: one TCP connection, one Noise transport, one signature
//! key, and nothing else — no outbox, no key file, no connection task of its
//! own. The load generator drives thousands of these from plain async loops,
//! so what it spends per telegram is what a terminal must spend: sign,
//! seal, open, decode, verify.
//!
//! Like a real terminal it verifies every telegram from the center against
//! the pinned key, answers the center's echo probes, and keeps notices it
//! receives (a store learns its payments from them) until it acknowledges
//! them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use denbun_client::line::{FrameReader, LineError, ReadEvent, handshake_as_terminal, write_frame};
use denbun_protocol::header::{Code, Function, PartyId};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::limits::FRAME_PREFIX_BYTES;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::session::Transport;
use denbun_protocol::sign::{BuildError, CenterFingerprint, Signer};
use denbun_protocol::telegram::network::{EchoAnswer, SignOn};
use denbun_protocol::telegram::{Body, Telegram, TelegramError};
use denbun_protocol::wire::Text;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long one wait for the center may take before the run counts a failure.
pub const WAIT: Duration = Duration::from_secs(20);
/// Telegrams from the center (notices, probes) accepted while waiting for one
/// answer before the wait counts as a failure.
const INTERLEAVED_TELEGRAMS_MAX: usize = 10_000;
/// What the bench's terminals call themselves in their sign-on.
const SOFTWARE_VERSION: &str = concat!("denbun-bench ", env!("CARGO_PKG_VERSION"));

/// Why a terminal's exchange with the center failed.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// The connection, the frame layer or the Noise session failed.
    #[error("line failed: {0}")]
    Line(#[from] LineError),
    /// Connecting did not succeed in time.
    #[error("could not connect to {address}: {reason}")]
    Connect {
        /// Where.
        address: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The center closed the connection.
    #[error("the center closed the connection")]
    Closed,
    /// Nothing arrived in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The center sent a telegram that does not decode.
    #[error("the center sent a malformed telegram: {0}")]
    Malformed(#[from] TelegramError),
    /// A telegram from the center did not verify under its pinned key.
    #[error("a telegram from the center does not verify: it is not the center's")]
    Forged,
    /// The center answered something other than what was asked.
    #[error("unexpected telegram {0} while waiting for an answer")]
    Unexpected(Code),
    /// Building a telegram failed (a mistake of the bench itself).
    #[error("could not build a telegram: {0}")]
    Build(#[from] BuildError),
}

/// The center as terminals pin it.
pub struct CenterView {
    /// Where to connect.
    pub address: SocketAddr,
    /// Its X25519 Noise key.
    pub noise_public_key: [u8; 32],
    /// Its Ed25519 verification key (decompressed once).
    pub verification_key: VerifyingKey,
    /// What every telegram names.
    pub fingerprint: CenterFingerprint,
    /// Wire totals of every line to this center.
    pub wire: WireTotals,
}

impl CenterView {
    /// The view of the center on `identity`, reached at `address`.
    pub fn new(identity: &CenterIdentity, address: SocketAddr) -> Result<CenterView, ed25519_dalek::SignatureError> {
        Ok(CenterView {
            address,
            noise_public_key: identity.noise_public_key,
            verification_key: VerifyingKey::from_bytes(&identity.verification_key)?,
            fingerprint: identity.fingerprint(),
            wire: WireTotals::default(),
        })
    }
}

/// Telegrams and bytes over every line, both directions (frames with their
/// length prefix; handshake messages count as bytes, not telegrams).
#[derive(Default)]
pub struct WireTotals {
    /// Telegrams the terminals sent.
    pub telegrams_sent: AtomicU64,
    /// Telegrams the terminals received.
    pub telegrams_received: AtomicU64,
    /// Bytes the terminals sent.
    pub bytes_sent: AtomicU64,
    /// Bytes the terminals received.
    pub bytes_received: AtomicU64,
}

/// A copy of [`WireTotals`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireSnapshot {
    /// Telegrams both ways.
    pub telegrams: u64,
    /// Bytes both ways.
    pub bytes: u64,
}

impl WireTotals {
    /// The totals now.
    pub fn snapshot(&self) -> WireSnapshot {
        WireSnapshot {
            telegrams: self.telegrams_sent.load(Ordering::Relaxed) + self.telegrams_received.load(Ordering::Relaxed),
            bytes: self.bytes_sent.load(Ordering::Relaxed) + self.bytes_received.load(Ordering::Relaxed),
        }
    }
}

/// A party's keys and processing numbers.
pub struct Terminal {
    /// Member, store or operator number (anonymous until registered).
    pub party: PartyId,
    signing_key: SigningKey,
    delivery_public_key: [u8; 32],
    next_processing_number: u64,
}

impl Terminal {
    /// A newcomer with fresh keys and no number yet.
    pub fn generate() -> Terminal {
        let mut delivery_secret = [0u8; 32];
        OsRng.fill_bytes(&mut delivery_secret);
        let delivery_public_key =
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(delivery_secret)).to_bytes();
        Terminal {
            party: PartyId::ANONYMOUS,
            signing_key: SigningKey::generate(&mut OsRng),
            delivery_public_key,
            next_processing_number: 1,
        }
    }

    /// `party` holding `signing_key`, numbering its requests from `next_processing_number`.
    pub fn with_key(party: PartyId, signing_key: SigningKey, next_processing_number: u64) -> Terminal {
        Terminal { party, signing_key, delivery_public_key: [0; 32], next_processing_number }
    }

    /// Its verification key.
    pub fn verification_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// Its X25519 delivery public key.
    pub fn delivery_public_key(&self) -> [u8; 32] {
        self.delivery_public_key
    }

    /// Numbers the next request `number` (a key file's counter decides it).
    pub fn set_next_processing_number(&mut self, number: u64) {
        self.next_processing_number = number;
    }

    /// Takes the next processing number.
    pub fn next_processing_number(&mut self) -> u64 {
        let number = self.next_processing_number;
        self.next_processing_number += 1;
        number
    }

    /// A signed request to the center with the next processing number.
    pub fn request(&mut self, center: &CenterView, body: impl Into<Body>) -> Result<Telegram, BuildError> {
        if self.party == PartyId::ANONYMOUS {
            // Every applicant shares the anonymous sender id: a random number
            // keeps one applicant's request from looking like another's repeat.
            return Signer::anonymous().request(OsRng.next_u64(), now_ms(), body);
        }
        let processing_number = self.next_processing_number();
        Signer::new(self.party, &self.signing_key, center.fingerprint)?.request(processing_number, now_ms(), body)
    }

    /// A sign-on bound to `handshake_hash`.
    pub fn sign_on(&mut self, center: &CenterView, handshake_hash: &[u8; 32]) -> Result<Telegram, BuildError> {
        let processing_number = self.next_processing_number();
        let body = SignOn { software_version: Text::truncated(SOFTWARE_VERSION) };
        Signer::new(self.party, &self.signing_key, center.fingerprint)?.sign_on(
            processing_number,
            now_ms(),
            body,
            handshake_hash,
        )
    }

    fn echo_answer(&self, center: &CenterView, probe: &Telegram) -> Result<Telegram, BuildError> {
        Signer::new(self.party, &self.signing_key, center.fingerprint)?.answer(probe.header(), now_ms(), EchoAnswer {})
    }
}

/// Unix milliseconds now (the terminal's clock).
pub fn now_ms() -> u64 {
    denbun_center::service::now_ms()
}

/// A notice the terminal received and has not acknowledged yet.
pub struct HeldNotice {
    /// Its mailbox sequence.
    pub sequence: u64,
    /// The verified notice.
    pub telegram: Telegram,
}

/// An answer and how long it took.
pub struct Answered {
    /// The verified answer (maybe a reject).
    pub answer: Telegram,
    /// From just before signing the request to the verified answer.
    pub latency: Duration,
}

impl Answered {
    /// The reason, when the center refused.
    pub fn reject_reason(&self) -> Option<RejectReason> {
        (self.answer.code() == Code::REJECT).then(|| self.answer.header().reject_reason()).flatten()
    }
}

/// One connection to the center after the handshake.
pub struct Line {
    reader: FrameReader<TcpStream>,
    transport: Transport,
    center: Arc<CenterView>,
    /// Notices received and not yet acknowledged, oldest first.
    pub notices: Vec<HeldNotice>,
    /// Notices received over the life of the line.
    pub notices_received: u64,
}

impl Line {
    /// Connects and runs the handshake.
    pub async fn connect(center: &Arc<CenterView>) -> Result<Line, TerminalError> {
        let address = center.address;
        let stream = match tokio::time::timeout(WAIT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(TerminalError::Connect { address, reason: error.to_string() }),
            Err(_) => return Err(TerminalError::Connect { address, reason: format!("no answer within {WAIT:?}") }),
        };
        stream.set_nodelay(true).map_err(LineError::Io)?;
        let mut reader = FrameReader::new(stream, WAIT);
        let transport = handshake_as_terminal(&mut reader, &center.noise_public_key, &mut OsRng, WAIT).await?;
        let handshake_bytes = (denbun_protocol::limits::HANDSHAKE_REQUEST_BYTES
            + denbun_protocol::limits::HANDSHAKE_RESPONSE_BYTES
            + 2 * FRAME_PREFIX_BYTES) as u64;
        center.wire.bytes_sent.fetch_add(handshake_bytes / 2, Ordering::Relaxed);
        center.wire.bytes_received.fetch_add(handshake_bytes / 2, Ordering::Relaxed);
        Ok(Line { reader, transport, center: center.clone(), notices: Vec::new(), notices_received: 0 })
    }

    /// This session's handshake hash.
    pub fn handshake_hash(&self) -> [u8; 32] {
        self.transport.handshake_hash()
    }

    /// Seals and sends one telegram.
    pub async fn send(&mut self, telegram: &Telegram) -> Result<(), TerminalError> {
        let sealed = self.transport.seal(telegram.as_bytes()).map_err(LineError::Session)?;
        write_frame(self.reader.get_mut(), &sealed).await?;
        let wire = &self.center.wire;
        wire.telegrams_sent.fetch_add(1, Ordering::Relaxed);
        wire.bytes_sent.fetch_add((sealed.len() + FRAME_PREFIX_BYTES) as u64, Ordering::Relaxed);
        Ok(())
    }

    /// The next telegram from the center, opened, decoded and verified;
    /// `None` when nothing arrived before `deadline`.
    pub async fn receive_until(&mut self, deadline: Instant) -> Result<Option<Telegram>, TerminalError> {
        match self.reader.next(Some(deadline)).await? {
            ReadEvent::Frame(payload) => {
                let wire = &self.center.wire;
                wire.telegrams_received.fetch_add(1, Ordering::Relaxed);
                wire.bytes_received.fetch_add((payload.len() + FRAME_PREFIX_BYTES) as u64, Ordering::Relaxed);
                let bytes = self.transport.open(&payload).map_err(LineError::Session)?;
                let telegram = Telegram::decode(&bytes)?;
                telegram
                    .verify(&self.center.verification_key, &self.center.fingerprint)
                    .map_err(|_| TerminalError::Forged)?;
                Ok(Some(telegram))
            }
            ReadEvent::Closed => Err(TerminalError::Closed),
            ReadEvent::Idle => Ok(None),
        }
    }

    /// Handles a telegram that is not the awaited answer: keeps a notice,
    /// answers an echo probe. Anything else is unexpected.
    async fn take_unasked(&mut self, terminal: &Terminal, telegram: Telegram) -> Result<(), TerminalError> {
        match telegram.code().function() {
            Function::Notice => {
                self.notices_received += 1;
                self.notices.push(HeldNotice { sequence: telegram.header().processing_number(), telegram });
                Ok(())
            }
            Function::Request if telegram.code() == Code::ECHO => {
                let answer = terminal.echo_answer(&self.center, &telegram)?;
                self.send(&answer).await
            }
            _ => Err(TerminalError::Unexpected(telegram.code())),
        }
    }

    /// Waits for whatever the center sends next (a notice, a probe) until
    /// `deadline`; returns whether something arrived.
    pub async fn poll(&mut self, terminal: &Terminal, deadline: Instant) -> Result<bool, TerminalError> {
        match self.receive_until(deadline).await? {
            Some(telegram) => {
                self.take_unasked(terminal, telegram).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Sends `request` and waits for its answer, keeping notices and
    /// answering probes that arrive in between.
    pub async fn exchange(&mut self, terminal: &Terminal, request: &Telegram) -> Result<Telegram, TerminalError> {
        self.send(request).await?;
        self.await_answer(terminal, request.header().processing_number()).await
    }

    /// Waits for the answer to the request numbered `processing_number`.
    pub async fn await_answer(
        &mut self,
        terminal: &Terminal,
        processing_number: u64,
    ) -> Result<Telegram, TerminalError> {
        let deadline = Instant::now() + WAIT;
        for _ in 0..INTERLEAVED_TELEGRAMS_MAX {
            let Some(telegram) = self.receive_until(deadline).await? else {
                return Err(TerminalError::Timeout(WAIT));
            };
            let is_answer = telegram.code().function() == Function::Answer;
            if is_answer && telegram.header().processing_number() == processing_number {
                return Ok(telegram);
            }
            self.take_unasked(terminal, telegram).await?;
        }
        Err(TerminalError::Timeout(WAIT))
    }

    /// Builds and signs a request for `terminal`, sends it and waits for
    /// the answer, timing the whole round.
    pub async fn ask(&mut self, terminal: &mut Terminal, body: impl Into<Body>) -> Result<Answered, TerminalError> {
        let started = Instant::now();
        let request = terminal.request(&self.center, body)?;
        let answer = self.exchange(terminal, &request).await?;
        Ok(Answered { answer, latency: started.elapsed() })
    }

    /// Signs on as `terminal` in this session.
    pub async fn sign_on(&mut self, terminal: &mut Terminal) -> Result<Answered, TerminalError> {
        let started = Instant::now();
        let request = terminal.sign_on(&self.center, &self.handshake_hash())?;
        let answer = self.exchange(terminal, &request).await?;
        Ok(Answered { answer, latency: started.elapsed() })
    }
}
