//! Sessions with the center: connect with the pinned `center.pub`, run the
//! Noise NK handshake, sign on, send telegrams and await their answers,
//! receive notices, and run the outbox ([`run_outbox`], [`submit`]).
//!
//! # Shape
//!
//! One **connection task** owns the line (the socket, the Noise transport and
//! the table of requests waiting for an answer). It waits on three things at
//! once: commands from the [`Session`] handle, frames from the center, and
//! room in the notice queue. The handle talks to it only through bounded
//! channels, so a UI holding a `Session` never awaits the network while it
//! draws: it spawns the request future, or polls [`Session::try_next_notice`].
//!
//! ```text
//!  Session (handle) --commands (bounded)--> connection task --frames--> center
//!        ^   <--one answer per request (oneshot)--'   ^   <--frames--'
//!        '---------- notices (bounded) ---------------'
//! ```
//!
//! # What the task guarantees
//!
//! - Every telegram from the center is decrypted, decoded and **verified with
//!   the center's Ed25519 key from `center.pub`** before anything else looks
//!   at it. One that fails verification (or decoding, or breaks the protocol)
//!   ends the session: every waiting request fails with
//!   [`SessionError::LineDown`] naming why, and nothing from it is delivered.
//! - An answer is matched to its request by the processing number it echoes
//!   and its addressee (the request's sender); its code must be the request's
//!   code plus 10, or it is a reject (9910), which becomes
//!   [`SessionError::Rejected`] with the reason and the center's message.
//! - The center's echo probe (8100) is answered at once with 8110, signed by
//!   the signed-on party (or anonymously before sign-on).
//! - Notices (xx40) are delivered in mailbox order through a bounded queue;
//!   while the queue is full the task stops reading the line (backpressure),
//!   so **a caller that is signed on must keep taking notices**
//!   ([`Session::next_notice`]) or call [`Session::ignore_notices`]. A notice
//!   whose sequence number is not above the last one delivered in this session
//!   is a duplicate and is skipped; after a line drop the next session may
//!   deliver again notices that were not acknowledged (at least once), so the
//!   caller keeps them by sequence number.
//! - Every wait has a deadline: connecting, the handshake, each frame, each
//!   write, each answer ([`SessionConfig`]), and the line as a whole, which is
//!   declared down when the center has been silent for longer than its idle
//!   probe allows.
//!
//! # Acknowledging notices
//!
//! The session never acknowledges a notice by itself: the caller stores it
//! first (in the key file, with its receipt) and then calls
//! [`Session::acknowledge`] with the highest sequence number it has stored.
//! Until then the notice stays in the center's mailbox, so a crash between
//! delivery and storage loses nothing. The acknowledgement (8400) is signed
//! by the session's signed-on key.
//!
//! # Keys and processing numbers
//!
//! Signing on hands the session a copy of the signature key: it signs the
//! echo answers and mailbox acknowledgements of that session, and is wiped
//! when the session ends (ed25519-dalek zeroizes it on drop). Business
//! telegrams are signed by the caller before they enter the outbox, and the
//! session only carries them. Processing numbers always come from the caller
//! (the key file allocates and persists them), so the session never invents
//! one that could be reused; anonymous telegrams (guide, application) use a
//! random one ([`random_processing_number`]).

mod connection;
mod error;
mod outbox_flow;

use std::time::Duration;

use denbun_protocol::header::{Code, Function, PartyId};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::limits::{HANDSHAKE_HASH_BYTES, KEYFILE_OUTBOX_ENTRIES_MAX, MAILBOX_BATCH_MAX};
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::{
    Body, MailboxAckAnswer, MailboxFetch, MailboxFetchAnswer, SignOff, SignOn, SignOnAnswer, Telegram,
};
use denbun_protocol::wire::Text;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::line::{FrameReader, handshake_as_terminal};
use connection::{Command, Connection, Credentials};

pub use error::{DownReason, Rejection, SessionError};
pub use outbox_flow::{
    Completed, OutboxReport, SubmitError, compose, date_of_unix_ms, history_entry, run_outbox, send_composed, submit,
};

/// How long to wait for the TCP connection to the center.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the Noise handshake may take (the center allows 5 s too).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Once a frame has started, the rest must arrive within this time.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// Writing one frame may take at most this long (a center that stops reading
/// is a dead line).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request waits for its answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Nothing heard from the center for this long means the line is dead. The
/// center probes a session after 60 s of idleness and closes it when the
/// probe is not answered within 20 s, so a live center is never this silent.
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(150);
/// Requests waiting for an answer at once: enough for a whole outbox.
pub const PENDING_REQUESTS_MAX: usize = KEYFILE_OUTBOX_ENTRIES_MAX;
/// Notices delivered but not yet taken by the caller: one mailbox batch.
pub const NOTICE_QUEUE_MAX: usize = MAILBOX_BATCH_MAX;
/// Commands from handles waiting for the connection task.
pub const COMMAND_QUEUE_MAX: usize = 16;

// A full mailbox fetch fits the notice queue, so its answer can always follow
// the notices when the caller has taken the earlier ones.
const _: () = assert!(NOTICE_QUEUE_MAX >= MAILBOX_BATCH_MAX);
// The whole outbox can be in flight at once.
const _: () = assert!(PENDING_REQUESTS_MAX >= KEYFILE_OUTBOX_ENTRIES_MAX);
// A live center probes and gives up well within the silence allowed.
const _: () = assert!(SILENCE_TIMEOUT.as_secs() > 60 + 20);

/// The terminal's software and version, sent in the sign-on telegram.
pub const SOFTWARE_VERSION: &str = concat!("denbun ", env!("CARGO_PKG_VERSION"));

/// Deadlines and queue sizes of one session. [`SessionConfig::default`] has
/// the constants above; tests shorten the deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// TCP connect deadline.
    pub connect_timeout: Duration,
    /// Noise handshake deadline.
    pub handshake_timeout: Duration,
    /// Deadline for the rest of a frame once it has started.
    pub frame_timeout: Duration,
    /// Deadline for writing one frame.
    pub write_timeout: Duration,
    /// How long a request waits for its answer.
    pub answer_timeout: Duration,
    /// Silence after which the line is declared dead.
    pub silence_timeout: Duration,
    /// Requests in flight at once.
    pub pending_requests_max: usize,
    /// Notices waiting for the caller.
    pub notice_queue_max: usize,
    /// Commands waiting for the connection task.
    pub command_queue_max: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            connect_timeout: CONNECT_TIMEOUT,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            frame_timeout: FRAME_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            answer_timeout: ANSWER_TIMEOUT,
            silence_timeout: SILENCE_TIMEOUT,
            pending_requests_max: PENDING_REQUESTS_MAX,
            notice_queue_max: NOTICE_QUEUE_MAX,
            command_queue_max: COMMAND_QUEUE_MAX,
        }
    }
}

/// Whether the line is up, and if not, why it went down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineState {
    /// Connected; telegrams flow.
    Up,
    /// The session has ended; every later call fails with this reason.
    Down(DownReason),
}

/// The center's verified answer to one request (never a reject: those are
/// [`SessionError::Rejected`]).
#[derive(Clone, Debug)]
pub struct Answer {
    telegram: Telegram,
}

impl Answer {
    /// The whole signed answer (keep its bytes as a receipt).
    pub fn telegram(&self) -> &Telegram {
        &self.telegram
    }

    /// The answer's body.
    pub fn body(&self) -> &Body {
        self.telegram.body()
    }

    /// The processing number it answers.
    pub fn processing_number(&self) -> u64 {
        self.telegram.header().processing_number()
    }

    /// The telegram, owned.
    pub fn into_telegram(self) -> Telegram {
        self.telegram
    }
}

/// A verified notice from the center (code xx40).
#[derive(Clone, Debug)]
pub struct Notice {
    telegram: Telegram,
}

impl Notice {
    /// The center's mailbox sequence number: acknowledge up to it once stored.
    pub fn sequence(&self) -> u64 {
        self.telegram.header().processing_number()
    }

    /// The whole signed notice (keep its bytes as a receipt).
    pub fn telegram(&self) -> &Telegram {
        &self.telegram
    }

    /// The notice's body.
    pub fn body(&self) -> &Body {
        self.telegram.body()
    }

    /// The telegram, owned.
    pub fn into_telegram(self) -> Telegram {
        self.telegram
    }
}

/// A handle on one session with the center. Dropping it closes the session.
///
/// Every method takes `&self`, so several requests can be in flight at once
/// (share the handle with `Arc` across tasks).
pub struct Session {
    commands: mpsc::Sender<Command>,
    notices: Mutex<mpsc::Receiver<Notice>>,
    state: watch::Receiver<LineState>,
    center: CenterIdentity,
    fingerprint: CenterFingerprint,
    handshake_hash: [u8; HANDSHAKE_HASH_BYTES],
    config: SessionConfig,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Session")
            .field("center", &self.center.name.as_str())
            .field("fingerprint", &self.fingerprint)
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects to the center at `address` (`host:port`) and runs the Noise
    /// NK handshake pinned to `center`'s Noise key.
    pub async fn connect(
        address: &str,
        center: &CenterIdentity,
        config: SessionConfig,
    ) -> Result<Session, SessionError> {
        let stream = match tokio::time::timeout(config.connect_timeout, TcpStream::connect(address)).await {
            Err(_) => {
                return Err(SessionError::ConnectTimeout {
                    address: address.to_owned(),
                    timeout: config.connect_timeout,
                });
            }
            Ok(Err(source)) => return Err(SessionError::Connect { address: address.to_owned(), source }),
            Ok(Ok(stream)) => stream,
        };
        // Telegrams are small and each waits for an answer: send them at once.
        stream.set_nodelay(true).map_err(|source| SessionError::Connect { address: address.to_owned(), source })?;
        Self::over_stream(stream, center, config).await
    }

    /// Runs the handshake over an already open byte stream (a TCP stream, an
    /// in-memory pipe in tests) and starts the connection task.
    pub async fn over_stream<S>(
        stream: S,
        center: &CenterIdentity,
        config: SessionConfig,
    ) -> Result<Session, SessionError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let center_key =
            VerifyingKey::from_bytes(&center.verification_key).map_err(|_| SessionError::UnusableCenterKey)?;
        let fingerprint = center.fingerprint();
        let mut reader = FrameReader::new(stream, config.frame_timeout);
        let transport =
            handshake_as_terminal(&mut reader, &center.noise_public_key, &mut OsRng, config.handshake_timeout)
                .await
                .map_err(SessionError::Handshake)?;
        let handshake_hash = transport.handshake_hash();
        let (command_sender, command_receiver) = mpsc::channel(config.command_queue_max.max(1));
        let (notice_sender, notice_receiver) = mpsc::channel(config.notice_queue_max.max(1));
        let (state_sender, state_receiver) = watch::channel(LineState::Up);
        let connection = Connection::new(reader, transport, center_key, fingerprint, config);
        tokio::spawn(connection.run(command_receiver, notice_sender, state_sender));
        Ok(Session {
            commands: command_sender,
            notices: Mutex::new(notice_receiver),
            state: state_receiver,
            center: center.clone(),
            fingerprint,
            handshake_hash,
            config,
        })
    }

    /// The center this session talks to.
    pub fn center(&self) -> &CenterIdentity {
        &self.center
    }

    /// The fingerprint every signed telegram of this center covers.
    pub fn fingerprint(&self) -> CenterFingerprint {
        self.fingerprint
    }

    /// This session's Noise handshake hash (what a sign-on signs).
    pub fn handshake_hash(&self) -> [u8; HANDSHAKE_HASH_BYTES] {
        self.handshake_hash
    }

    /// The session's deadlines and queue sizes.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Up, or down and why.
    pub fn line_state(&self) -> LineState {
        self.state.borrow().clone()
    }

    /// Waits until the line goes down, and says why (for a UI's status line).
    pub async fn closed(&self) -> DownReason {
        let mut state = self.state.clone();
        match state.wait_for(|state| matches!(state, LineState::Down(_))).await {
            Ok(state) => match &*state {
                LineState::Down(reason) => reason.clone(),
                LineState::Up => DownReason::ClosedByTerminal,
            },
            // The task is gone without saying why: it can only have ended.
            Err(_) => DownReason::ClosedByTerminal,
        }
    }

    /// Signs on as `party` with `key`, bound to this session's handshake hash,
    /// and returns the center's verified answer (mailbox count, center time).
    /// On success the session keeps a copy of `key` to sign its echo answers
    /// and mailbox acknowledgements; it is wiped when the session ends.
    pub async fn sign_on(
        &self,
        key: &SigningKey,
        party: PartyId,
        processing_number: u64,
    ) -> Result<SignOnAnswer, SessionError> {
        let signer = Signer::new(party, key, self.fingerprint)?;
        let software_version = Text::new(SOFTWARE_VERSION).expect("the version fits SOFTWARE_VERSION_BYTES_MAX");
        let telegram =
            signer.sign_on(processing_number, unix_time_ms(), SignOn { software_version }, &self.handshake_hash)?;
        let credentials = Credentials::new(party, key.clone());
        let answer = self
            .call(Code::SIGN_ON, processing_number, |reply| Command::Send {
                telegram: Box::new(telegram),
                sign_on: Some(credentials),
                reply,
            })
            .await?;
        match answer.into_body() {
            Body::SignOnAnswer(body) => Ok(body),
            other => Err(SessionError::UnexpectedAnswer { code: other.code() }),
        }
    }

    /// Sends a signed request (any but the sign-on) and waits for the
    /// center's verified answer with the same processing number.
    pub async fn request(&self, telegram: &Telegram) -> Result<Answer, SessionError> {
        let code = telegram.code();
        if code.function() != Function::Request || telegram.header().recipient() != PartyId::CENTER {
            return Err(SessionError::NotARequest { code });
        }
        if code.base() == Code::SIGN_ON {
            return Err(SessionError::UseSignOn);
        }
        let processing_number = telegram.header().processing_number();
        let telegram = Box::new(telegram.clone());
        let answer =
            self.call(code, processing_number, |reply| Command::Send { telegram, sign_on: None, reply }).await?;
        Ok(Answer { telegram: answer })
    }

    /// Waits for the next verified notice. Fails with
    /// [`SessionError::LineDown`] once the line is down and every notice
    /// received before has been taken. The wait is bounded by the line's
    /// silence deadline.
    pub async fn next_notice(&self) -> Result<Notice, SessionError> {
        let mut notices = self.notices.lock().await;
        match notices.recv().await {
            Some(notice) => Ok(notice),
            None => Err(self.line_down()),
        }
    }

    /// A notice if one is waiting, without waiting (for a UI's event loop).
    pub fn try_next_notice(&self) -> Option<Notice> {
        self.notices.try_lock().ok()?.try_recv().ok()
    }

    /// Tells the center that every notice up to `up_to_sequence` is stored
    /// (signed 8400 with the signed-on key). Refused unless this session has
    /// delivered that notice, so an acknowledgement never covers a notice the
    /// caller has not seen.
    pub async fn acknowledge(
        &self,
        up_to_sequence: u64,
        processing_number: u64,
    ) -> Result<MailboxAckAnswer, SessionError> {
        let answer = self
            .call(Code::MAILBOX_ACK, processing_number, |reply| Command::Acknowledge {
                up_to_sequence,
                processing_number,
                reply,
            })
            .await?;
        match answer.into_body() {
            Body::MailboxAckAnswer(body) => Ok(body),
            other => Err(SessionError::UnexpectedAnswer { code: other.code() }),
        }
    }

    /// Asks for up to `max_notices` waiting notices (8300). They arrive as
    /// notices before the answer, which says how many came and how many wait.
    pub async fn fetch_mailbox(
        &self,
        max_notices: u16,
        processing_number: u64,
    ) -> Result<MailboxFetchAnswer, SessionError> {
        let body = Box::new(Body::from(MailboxFetch { max_notices }));
        let answer = self
            .call(Code::MAILBOX_FETCH, processing_number, |reply| Command::SendSigned {
                body,
                processing_number,
                closes_line: false,
                reply,
            })
            .await?;
        match answer.into_body() {
            Body::MailboxFetchAnswer(body) => Ok(body),
            other => Err(SessionError::UnexpectedAnswer { code: other.code() }),
        }
    }

    /// Signs off (8200) and ends the session once the center has answered.
    pub async fn sign_off(&self, processing_number: u64) -> Result<(), SessionError> {
        let body = Box::new(Body::from(SignOff {}));
        self.call(Code::SIGN_OFF, processing_number, |reply| Command::SendSigned {
            body,
            processing_number,
            closes_line: true,
            reply,
        })
        .await
        .map(|_| ())
    }

    /// Stops delivering notices for the rest of this session (a script that
    /// only sends). They stay unacknowledged in the center's mailbox, and
    /// the line keeps being read.
    pub async fn ignore_notices(&self) -> Result<(), SessionError> {
        let deadline = Instant::now() + self.config.answer_timeout;
        match tokio::time::timeout_at(deadline, self.commands.send(Command::IgnoreNotices)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(self.line_down()),
            Err(_) => Err(SessionError::Busy { timeout: self.config.answer_timeout }),
        }
    }

    /// Sends one command and waits for its answer, all within the answer deadline.
    async fn call(
        &self,
        code: Code,
        processing_number: u64,
        command: impl FnOnce(oneshot::Sender<Result<Telegram, SessionError>>) -> Command,
    ) -> Result<Telegram, SessionError> {
        let timeout = self.config.answer_timeout;
        let deadline = Instant::now() + timeout;
        let (reply_sender, reply_receiver) = oneshot::channel();
        match tokio::time::timeout_at(deadline, self.commands.send(command(reply_sender))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(self.line_down()),
            Err(_) => return Err(SessionError::Busy { timeout }),
        }
        match tokio::time::timeout_at(deadline, reply_receiver).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.line_down()),
            Err(_) => Err(SessionError::AnswerTimeout { code, processing_number, timeout }),
        }
    }

    fn line_down(&self) -> SessionError {
        match &*self.state.borrow() {
            LineState::Down(reason) => SessionError::LineDown(reason.clone()),
            // The task dropped its channels before publishing why: it ended.
            LineState::Up => SessionError::LineDown(DownReason::ClosedByTerminal),
        }
    }
}

/// Unix time in milliseconds (the `sent_at` of telegrams this terminal
/// builds). A clock before 1970 reads as 0.
pub fn unix_time_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// A random processing number for an anonymous telegram (guide request,
/// application): an applicant has no key file to allocate numbers from, and
/// the center tells anonymous senders apart only by these numbers, so they
/// are drawn at random (never 0).
pub fn random_processing_number() -> u64 {
    OsRng.next_u64().max(1)
}
