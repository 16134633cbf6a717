//! The line: frames and the Noise handshake over a tokio byte stream.
//!
//! Shared by terminals and the center (which depends on this library), so
//! both ends read frames the same way. The protocol core decides what bytes
//! mean; this module only moves them, with deadlines:
//! - the whole handshake must finish within a deadline;
//! - once the first byte of a frame has arrived, the rest must follow within
//!   the frame deadline (a trickling sender is cut off);
//! - between frames, the caller chooses how long to wait (idle handling).

use std::time::Duration;

use bytes::{Buf, BytesMut};
use denbun_protocol::frame::{self, FrameError};
use denbun_protocol::limits::{FRAME_PREFIX_BYTES, HANDSHAKE_REQUEST_BYTES, HANDSHAKE_RESPONSE_BYTES};
use denbun_protocol::session::{CenterNoiseKey, Initiator, Responder, SessionError, Transport};
use rand_core::{CryptoRng, RngCore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Why the line failed. Every variant ends the connection.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// The socket failed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent a malformed frame.
    #[error("malformed frame: {0}")]
    Frame(#[from] FrameError),
    /// The Noise layer refused a message.
    #[error("secure session failed: {0}")]
    Session(#[from] SessionError),
    /// The handshake did not finish in time.
    #[error("handshake did not finish within {0:?}")]
    HandshakeTimeout(Duration),
    /// A frame started but did not finish in time.
    #[error("a frame did not finish within {0:?} of its first byte")]
    FrameTimeout(Duration),
    /// The peer closed the connection inside a frame.
    #[error("connection closed inside a frame ({0} bytes of it received)")]
    ClosedInFrame(usize),
}

/// What waiting for the next frame produced.
#[derive(Debug)]
pub enum ReadEvent {
    /// One whole frame's payload.
    Frame(BytesMut),
    /// The caller's deadline passed with no frame started.
    Idle,
    /// The peer closed the connection between frames.
    Closed,
}

/// Reads frames from a byte stream with a per-frame deadline.
pub struct FrameReader<R> {
    reader: R,
    buffer: BytesMut,
    frame_timeout: Duration,
    frame_started: Option<Instant>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Reads from `reader`; a frame must complete within `frame_timeout` of its first byte.
    pub fn new(reader: R, frame_timeout: Duration) -> Self {
        Self { reader, buffer: BytesMut::with_capacity(4_096), frame_timeout, frame_started: None }
    }

    /// Waits for the next whole frame. `idle_deadline` bounds the wait while no
    /// frame has started; once one has, the frame deadline applies instead.
    ///
    /// Cancel-safe: bytes read stay in the buffer if the future is dropped.
    pub async fn next(&mut self, idle_deadline: Option<Instant>) -> Result<ReadEvent, LineError> {
        loop {
            if let Some((payload, consumed)) = frame::decode(&self.buffer)? {
                let payload = BytesMut::from(payload);
                self.buffer.advance(consumed);
                self.frame_started = if self.buffer.is_empty() { None } else { Some(Instant::now()) };
                return Ok(ReadEvent::Frame(payload));
            }
            if let Some(payload_bytes) = frame::payload_length(&self.buffer)? {
                // The prefix is valid, so this reserves at most one maximal frame.
                self.buffer.reserve(FRAME_PREFIX_BYTES + payload_bytes - self.buffer.len());
            }
            let deadline = match self.frame_started {
                Some(started) => Some(started + self.frame_timeout),
                None => idle_deadline,
            };
            let read = async { self.reader.read_buf(&mut self.buffer).await };
            let read_bytes = match deadline {
                None => read.await?,
                Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
                    Ok(result) => result?,
                    Err(_) if self.frame_started.is_some() => {
                        return Err(LineError::FrameTimeout(self.frame_timeout));
                    }
                    Err(_) => return Ok(ReadEvent::Idle),
                },
            };
            if read_bytes == 0 {
                return match self.buffer.len() {
                    0 => Ok(ReadEvent::Closed),
                    buffered => Err(LineError::ClosedInFrame(buffered)),
                };
            }
            if self.frame_started.is_none() {
                self.frame_started = Some(Instant::now());
            }
        }
    }

    /// The underlying reader.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }
}

/// Writes one frame (prefix and payload) and flushes it.
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, payload: &[u8]) -> Result<(), LineError> {
    writer.write_all(&frame::encode(payload)?).await?;
    writer.flush().await?;
    Ok(())
}

/// Writes several frames with one write, in order: a burst of notices costs
/// one system call (and, on loopback, one pass of the peer's receive path)
/// instead of one each.
pub async fn write_frames<W: AsyncWrite + Unpin>(writer: &mut W, payloads: &[Vec<u8>]) -> Result<(), LineError> {
    let mut frames = Vec::with_capacity(payloads.iter().map(|payload| payload.len() + FRAME_PREFIX_BYTES).sum());
    for payload in payloads {
        frames.extend_from_slice(&frame::prefix(payload.len())?);
        frames.extend_from_slice(payload);
    }
    writer.write_all(&frames).await?;
    writer.flush().await?;
    Ok(())
}

async fn read_handshake_message<R: AsyncRead + Unpin>(
    reader: &mut FrameReader<R>,
    expected_bytes: usize,
) -> Result<BytesMut, LineError> {
    match reader.next(None).await? {
        ReadEvent::Frame(payload) => {
            if payload.len() != expected_bytes {
                // Refused before any Diffie-Hellman; the session layer would say the same.
                return Err(LineError::Session(if expected_bytes == HANDSHAKE_REQUEST_BYTES {
                    SessionError::RequestLength { message_bytes: payload.len() }
                } else {
                    SessionError::ResponseLength { message_bytes: payload.len() }
                }));
            }
            Ok(payload)
        }
        ReadEvent::Idle | ReadEvent::Closed => Err(LineError::Io(std::io::ErrorKind::UnexpectedEof.into())),
    }
}

/// The terminal's side: runs the NK handshake against the pinned center key.
pub async fn handshake_as_terminal<S: AsyncRead + AsyncWrite + Unpin>(
    reader: &mut FrameReader<S>,
    center_noise_public: &[u8; 32],
    rng: &mut (impl RngCore + CryptoRng),
    timeout: Duration,
) -> Result<Transport, LineError> {
    let work = async {
        let (awaiting, request) = Initiator::new(center_noise_public).start(rng)?;
        write_frame(reader.get_mut(), &request).await?;
        let response = read_handshake_message(reader, HANDSHAKE_RESPONSE_BYTES).await?;
        Ok(awaiting.finish(&response)?)
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| LineError::HandshakeTimeout(timeout))?
}

/// The center's side: answers an NK handshake with its static key.
pub async fn handshake_as_center<S: AsyncRead + AsyncWrite + Unpin>(
    reader: &mut FrameReader<S>,
    center_key: &CenterNoiseKey,
    rng: &mut (impl RngCore + CryptoRng),
    timeout: Duration,
) -> Result<Transport, LineError> {
    let work = async {
        let request = read_handshake_message(reader, HANDSHAKE_REQUEST_BYTES).await?;
        let (transport, response) = Responder::new(center_key).respond(&request, rng)?;
        write_frame(reader.get_mut(), &response).await?;
        Ok(transport)
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| LineError::HandshakeTimeout(timeout))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[tokio::test]
    async fn handshake_and_frames_both_ways_over_a_duplex_pipe() {
        let center_key = CenterNoiseKey::generate(&mut OsRng);
        let center_public = center_key.public_key();
        let (terminal_end, center_end) = tokio::io::duplex(1 << 16);
        let timeout = Duration::from_secs(5);
        let center = tokio::spawn(async move {
            let mut reader = FrameReader::new(center_end, timeout);
            let mut transport = handshake_as_center(&mut reader, &center_key, &mut OsRng, timeout).await.unwrap();
            let ReadEvent::Frame(payload) = reader.next(None).await.unwrap() else { panic!("expected a frame") };
            let telegram = transport.open(&payload).unwrap();
            let answer = transport.seal(&[telegram.as_slice(), b" back"].concat()).unwrap();
            write_frame(reader.get_mut(), &answer).await.unwrap();
        });
        let mut reader = FrameReader::new(terminal_end, timeout);
        let mut transport = handshake_as_terminal(&mut reader, &center_public, &mut OsRng, timeout).await.unwrap();
        write_frame(reader.get_mut(), &transport.seal(b"hello").unwrap()).await.unwrap();
        let ReadEvent::Frame(payload) = reader.next(None).await.unwrap() else { panic!("expected a frame") };
        assert_eq!(transport.open(&payload).unwrap(), b"hello back");
        center.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickling_sender_is_cut_off_at_the_frame_deadline() {
        let (mut sender, receiver) = tokio::io::duplex(1 << 16);
        let mut reader = FrameReader::new(receiver, Duration::from_secs(10));
        // A prefix announcing 100 bytes, then one byte, then silence.
        sender.write_all(&[0, 100, 7]).await.unwrap();
        let error = reader.next(Some(Instant::now() + Duration::from_secs(600))).await.unwrap_err();
        assert!(matches!(error, LineError::FrameTimeout(_)), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_line_reports_idle_not_an_error() {
        let (_sender, receiver) = tokio::io::duplex(1 << 16);
        let mut reader = FrameReader::new(receiver, Duration::from_secs(10));
        let event = reader.next(Some(Instant::now() + Duration::from_secs(60))).await.unwrap();
        assert!(matches!(event, ReadEvent::Idle));
    }

    #[tokio::test]
    async fn closing_inside_a_frame_is_an_error_and_between_frames_is_not() {
        let (mut sender, receiver) = tokio::io::duplex(1 << 16);
        sender.write_all(&[0, 2, 1, 2, 0, 5, 1]).await.unwrap();
        drop(sender);
        let mut reader = FrameReader::new(receiver, Duration::from_secs(10));
        assert!(matches!(reader.next(None).await.unwrap(), ReadEvent::Frame(payload) if payload[..] == [1, 2]));
        assert!(matches!(reader.next(None).await, Err(LineError::ClosedInFrame(3))));

        let (sender, receiver) = tokio::io::duplex(16);
        drop(sender);
        let mut reader = FrameReader::new(receiver, Duration::from_secs(10));
        assert!(matches!(reader.next(None).await.unwrap(), ReadEvent::Closed));
    }

    #[tokio::test]
    async fn a_zero_length_prefix_is_malformed() {
        let (mut sender, receiver) = tokio::io::duplex(16);
        sender.write_all(&[0, 0]).await.unwrap();
        let mut reader = FrameReader::new(receiver, Duration::from_secs(10));
        assert!(matches!(reader.next(None).await, Err(LineError::Frame(_))));
    }
}
