//! The connection task: the one owner of the line.
//!
//! It seals and writes the handles' requests, reads, decrypts, decodes and
//! verifies every frame from the center, matches answers to the requests
//! waiting for them, answers echo probes and hands notices to the caller.
//! When it ends, for whatever reason, it publishes the reason and fails every
//! waiting request with it.

use std::collections::HashMap;

use denbun_protocol::header::{Code, Function, PartyId};
use denbun_protocol::session::Transport;
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::{Body, EchoAnswer, MailboxAck, Telegram};
use ed25519_dalek::{SigningKey, VerifyingKey};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{DownReason, LineState, Notice, Rejection, SessionConfig, SessionError, unix_time_ms};
use crate::line::{FrameReader, ReadEvent, write_frame};

/// Where a request's outcome goes: the verified answer, or why there is none.
pub(super) type Reply = oneshot::Sender<Result<Telegram, SessionError>>;

/// What a handle asks the connection task to do.
pub(super) enum Command {
    /// Send a signed request; `sign_on` is set for a sign-on, whose verified
    /// answer makes these the session's credentials.
    Send { telegram: Box<Telegram>, sign_on: Option<Box<Credentials>>, reply: Reply },
    /// Sign `body` with the session's credentials and send it.
    SendSigned { body: Box<Body>, processing_number: u64, closes_line: bool, reply: Reply },
    /// Acknowledge delivered notices up to a sequence number.
    Acknowledge { up_to_sequence: u64, processing_number: u64, reply: Reply },
    /// Stop delivering notices.
    IgnoreNotices,
}

/// The signed-on party and its key. The key is wiped when dropped
/// (ed25519-dalek's `zeroize` feature).
pub(super) struct Credentials {
    party: PartyId,
    key: SigningKey,
}

impl Credentials {
    /// Boxed, so the key is not copied around as the credentials move.
    pub(super) fn new(party: PartyId, key: SigningKey) -> Box<Self> {
        Box::new(Self { party, key })
    }
}

struct Pending {
    request_code: Code,
    reply: Reply,
    sign_on: Option<Box<Credentials>>,
    closes_line: bool,
}

/// What handling one frame led to.
enum Next {
    Continue,
    /// The session ended as asked (signed off).
    End(DownReason),
}

pub(super) struct Connection<S> {
    reader: FrameReader<S>,
    transport: Transport,
    center_key: VerifyingKey,
    fingerprint: CenterFingerprint,
    config: SessionConfig,
    /// Requests waiting for an answer, by (sender, processing number): the
    /// answer is addressed to the request's sender and echoes its number.
    pending: HashMap<(PartyId, u64), Pending>,
    signed_on: Option<Box<Credentials>>,
    notices_wanted: bool,
    /// A verified notice waiting for room in the notice queue; while it
    /// waits, the line is not read (backpressure).
    held_notice: Option<Notice>,
    /// The highest mailbox sequence received (duplicates at or below it are skipped).
    received_up_to: Option<u64>,
    /// The highest mailbox sequence handed to the caller.
    delivered_up_to: Option<u64>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Connection<S> {
    pub(super) fn new(
        reader: FrameReader<S>,
        transport: Transport,
        center_key: VerifyingKey,
        fingerprint: CenterFingerprint,
        config: SessionConfig,
    ) -> Self {
        Self {
            reader,
            transport,
            center_key,
            fingerprint,
            config,
            pending: HashMap::new(),
            signed_on: None,
            notices_wanted: true,
            held_notice: None,
            received_up_to: None,
            delivered_up_to: None,
        }
    }

    /// Serves the line until it goes down, then fails everything still
    /// waiting with the reason.
    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        notices: mpsc::Sender<Notice>,
        state: watch::Sender<LineState>,
    ) {
        let reason = match self.serve(&mut commands, &notices).await {
            Ok(reason) | Err(reason) => reason,
        };
        tracing::debug!(%reason, "session ended");
        // Published first, so a handle that sees its reply dropped reads why.
        state.send_replace(LineState::Down(reason.clone()));
        for (_, pending) in self.pending.drain() {
            let _ = pending.reply.send(Err(SessionError::LineDown(reason.clone())));
        }
        commands.close();
        while let Ok(command) = commands.try_recv() {
            match command {
                Command::Send { reply, .. }
                | Command::SendSigned { reply, .. }
                | Command::Acknowledge { reply, .. } => {
                    let _ = reply.send(Err(SessionError::LineDown(reason.clone())));
                }
                Command::IgnoreNotices => {}
            }
        }
        // Best effort: tell the center we are gone (the socket closes on drop anyway).
        let _ = tokio::time::timeout(self.config.write_timeout, self.reader.get_mut().shutdown()).await;
    }

    async fn serve(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
        notices: &mpsc::Sender<Notice>,
    ) -> Result<DownReason, DownReason> {
        let mut last_heard = Instant::now();
        loop {
            let silence_deadline = last_heard + self.config.silence_timeout;
            tokio::select! {
                permit = notices.reserve(), if self.held_notice.is_some() => {
                    let notice = self.held_notice.take().expect("guarded by the branch condition");
                    match permit {
                        Ok(permit) => {
                            self.delivered_up_to = Some(notice.sequence());
                            permit.send(notice);
                        }
                        // Nobody takes notices any more: they stay in the mailbox.
                        Err(_) => self.notices_wanted = false,
                    }
                }
                command = commands.recv() => match command {
                    None => return Ok(DownReason::ClosedByTerminal),
                    Some(command) => self.handle_command(command).await?,
                },
                event = self.reader.next(Some(silence_deadline)), if self.held_notice.is_none() => {
                    match event.map_err(DownReason::from_line)? {
                        ReadEvent::Frame(payload) => {
                            last_heard = Instant::now();
                            if let Next::End(reason) = self.handle_frame(&payload).await? {
                                return Ok(reason);
                            }
                        }
                        ReadEvent::Idle => return Err(DownReason::Silent(self.config.silence_timeout)),
                        ReadEvent::Closed => return Err(DownReason::ClosedByCenter),
                    }
                }
            }
        }
    }

    async fn handle_command(&mut self, command: Command) -> Result<(), DownReason> {
        match command {
            Command::Send { telegram, sign_on, reply } => self.send_request(*telegram, sign_on, false, reply).await,
            Command::SendSigned { body, processing_number, closes_line, reply } => {
                match self.sign(*body, processing_number) {
                    Ok(telegram) => self.send_request(telegram, None, closes_line, reply).await,
                    Err(error) => {
                        let _ = reply.send(Err(error));
                        Ok(())
                    }
                }
            }
            Command::Acknowledge { up_to_sequence, processing_number, reply } => {
                if self.delivered_up_to.is_none_or(|delivered| up_to_sequence > delivered) {
                    let error = SessionError::NotDelivered { up_to_sequence, delivered_up_to: self.delivered_up_to };
                    let _ = reply.send(Err(error));
                    return Ok(());
                }
                match self.sign(MailboxAck { up_to_sequence }.into(), processing_number) {
                    Ok(telegram) => self.send_request(telegram, None, false, reply).await,
                    Err(error) => {
                        let _ = reply.send(Err(error));
                        Ok(())
                    }
                }
            }
            Command::IgnoreNotices => {
                self.notices_wanted = false;
                self.held_notice = None;
                Ok(())
            }
        }
    }

    /// Signs a network-management request with the session's credentials.
    fn sign(&self, body: Body, processing_number: u64) -> Result<Telegram, SessionError> {
        let credentials = self.signed_on.as_ref().ok_or(SessionError::NotSignedOn)?;
        let signer = Signer::new(credentials.party, &credentials.key, self.fingerprint)?;
        Ok(signer.request(processing_number, unix_time_ms(), body)?)
    }

    async fn send_request(
        &mut self,
        telegram: Telegram,
        sign_on: Option<Box<Credentials>>,
        closes_line: bool,
        reply: Reply,
    ) -> Result<(), DownReason> {
        // Requests whose caller stopped waiting (deadline passed) make room.
        self.pending.retain(|_, pending| !pending.reply.is_closed());
        let key = (telegram.sender(), telegram.header().processing_number());
        if self.pending.contains_key(&key) {
            let _ = reply.send(Err(SessionError::AlreadyPending { processing_number: key.1 }));
            return Ok(());
        }
        if self.pending.len() >= self.config.pending_requests_max {
            let _ = reply.send(Err(SessionError::TooManyPending { max: self.config.pending_requests_max }));
            return Ok(());
        }
        let sealed = match self.transport.seal(telegram.as_bytes()) {
            Ok(sealed) => sealed,
            Err(error) => {
                let _ = reply.send(Err(SessionError::LineDown(DownReason::Decryption(error.to_string()))));
                return Err(DownReason::Decryption(error.to_string()));
            }
        };
        tracing::debug!(code = %telegram.code(), processing_number = key.1, "sending");
        // Registered before writing, so a failed write fails it with the reason.
        self.pending.insert(key, Pending { request_code: telegram.code().base(), reply, sign_on, closes_line });
        self.write(&sealed).await
    }

    async fn write(&mut self, sealed: &[u8]) -> Result<(), DownReason> {
        let timeout = self.config.write_timeout;
        match tokio::time::timeout(timeout, write_frame(self.reader.get_mut(), sealed)).await {
            Ok(result) => result.map_err(DownReason::from_line),
            Err(_) => {
                Err(DownReason::Connection(format!("a frame could not be written within {} s", timeout.as_secs())))
            }
        }
    }

    /// Decrypts, decodes and verifies one frame, then acts on it.
    async fn handle_frame(&mut self, payload: &[u8]) -> Result<Next, DownReason> {
        let bytes = self.transport.open(payload).map_err(|error| DownReason::Decryption(error.to_string()))?;
        let telegram = Telegram::decode(&bytes).map_err(|error| DownReason::Malformed(error.to_string()))?;
        if telegram.sender() != PartyId::CENTER {
            return Err(DownReason::Protocol(format!(
                "telegram {} claims to come from {}, not from the center",
                telegram.code(),
                telegram.sender()
            )));
        }
        if telegram.verify(&self.center_key, &self.fingerprint).is_err() {
            tracing::warn!(code = %telegram.code(), "a telegram from the center failed signature verification");
            return Err(DownReason::BadSignature { code: telegram.code() });
        }
        match telegram.code().function() {
            Function::Answer => self.complete(telegram),
            Function::Notice => self.notice(telegram).map(|()| Next::Continue),
            Function::Request => self.answer_probe(&telegram).await.map(|()| Next::Continue),
        }
    }

    /// Hands a verified answer to the request waiting for it.
    fn complete(&mut self, answer: Telegram) -> Result<Next, DownReason> {
        let key = (answer.header().recipient(), answer.header().processing_number());
        let Some(pending) = self.pending.remove(&key) else {
            // The caller gave up waiting (deadline) before it came.
            tracing::debug!(code = %answer.code(), processing_number = key.1, "answer for no waiting request");
            return Ok(Next::Continue);
        };
        if let Body::Reject(reject) = answer.body() {
            let rejection = Rejection {
                reason: reject.reason,
                refused_code: reject.refused_code,
                message: reject.message.as_str().to_owned(),
                telegram: answer.clone(),
            };
            let _ = pending.reply.send(Err(SessionError::Rejected(Box::new(rejection))));
            return Ok(Next::Continue);
        }
        if answer.code().number() != pending.request_code.number() + 10 {
            let reason = DownReason::Protocol(format!(
                "telegram {} (processing number {}) was answered with telegram {}",
                pending.request_code,
                key.1,
                answer.code()
            ));
            let _ = pending.reply.send(Err(SessionError::LineDown(reason.clone())));
            return Err(reason);
        }
        if let Some(credentials) = pending.sign_on {
            self.signed_on = Some(credentials);
        }
        let _ = pending.reply.send(Ok(answer));
        Ok(if pending.closes_line { Next::End(DownReason::SignedOff) } else { Next::Continue })
    }

    /// Queues a verified notice for the caller.
    fn notice(&mut self, notice: Telegram) -> Result<(), DownReason> {
        let Some(credentials) = &self.signed_on else {
            return Err(DownReason::Protocol(format!("notice {} arrived before sign-on", notice.code())));
        };
        let recipient = notice.header().recipient();
        if recipient != credentials.party {
            return Err(DownReason::Protocol(format!(
                "notice {} is for {recipient}, but this session is signed on as {}",
                notice.code(),
                credentials.party
            )));
        }
        let sequence = notice.header().processing_number();
        if self.received_up_to.is_some_and(|received| sequence <= received) {
            tracing::debug!(sequence, "duplicate notice skipped");
            return Ok(());
        }
        self.received_up_to = Some(sequence);
        if self.notices_wanted {
            self.held_notice = Some(Notice { telegram: notice });
        }
        Ok(())
    }

    /// Answers the center's echo probe (the only request the center sends).
    async fn answer_probe(&mut self, probe: &Telegram) -> Result<(), DownReason> {
        if probe.code().base() != Code::ECHO {
            return Err(DownReason::Protocol(format!("the center sent request {}", probe.code())));
        }
        let answer = match &self.signed_on {
            Some(credentials) => Signer::new(credentials.party, &credentials.key, self.fingerprint)
                .and_then(|signer| signer.answer(probe.header(), unix_time_ms(), EchoAnswer {})),
            None => Signer::anonymous().answer(probe.header(), unix_time_ms(), EchoAnswer {}),
        }
        .map_err(|error| DownReason::Protocol(format!("the center's echo probe cannot be answered: {error}")))?;
        let sealed =
            self.transport.seal(answer.as_bytes()).map_err(|error| DownReason::Decryption(error.to_string()))?;
        self.write(&sealed).await
    }
}
