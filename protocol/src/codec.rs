//! A tokio-util `Decoder`/`Encoder` for frames: a thin layer over
//! [`crate::frame`], for use with `FramedRead`/`FramedWrite`.
//!
//! The decoder yields each frame's payload (the prefix stripped). It reads
//! and checks the length prefix before it reserves room for the rest of a
//! frame, so a peer cannot make us allocate with a bad prefix. A stream that
//! ends inside a frame is an error; a stream that ends between frames is a
//! normal end.

use std::io;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::{self, FrameError};
use crate::limits::FRAME_PREFIX_BYTES;

/// Why the codec stopped.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The underlying stream failed.
    #[error("stream error: {0}")]
    Io(#[from] io::Error),
    /// A frame is malformed (incoming) or cannot be encoded (outgoing).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The stream ended in the middle of a frame (in its prefix or its body).
    #[error("stream ended inside a frame, {buffered_bytes} bytes of it received")]
    EndOfStreamInFrame {
        /// Bytes of the unfinished frame that had arrived.
        buffered_bytes: usize,
    },
}

/// Length-prefixed frames as in `docs/protocol.md`: u16 big-endian length,
/// then 1..=65,535 payload bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameCodec;

impl FrameCodec {
    /// A new codec (it keeps no state between frames).
    pub fn new() -> Self {
        Self
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = CodecError;

    fn decode(&mut self, source: &mut BytesMut) -> Result<Option<BytesMut>, CodecError> {
        let Some(payload_bytes) = frame::payload_length(source)? else {
            return Ok(None);
        };
        let frame_bytes = FRAME_PREFIX_BYTES + payload_bytes;
        if source.len() < frame_bytes {
            // The prefix has been validated, so this reserves at most one
            // maximal frame.
            source.reserve(frame_bytes - source.len());
            return Ok(None);
        }
        source.advance(FRAME_PREFIX_BYTES);
        Ok(Some(source.split_to(payload_bytes)))
    }

    fn decode_eof(&mut self, source: &mut BytesMut) -> Result<Option<BytesMut>, CodecError> {
        match self.decode(source)? {
            Some(payload) => Ok(Some(payload)),
            None if source.is_empty() => Ok(None),
            None => Err(CodecError::EndOfStreamInFrame { buffered_bytes: source.len() }),
        }
    }
}

impl Encoder<&[u8]> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, payload: &[u8], destination: &mut BytesMut) -> Result<(), CodecError> {
        let prefix = frame::prefix(payload.len())?;
        destination.reserve(FRAME_PREFIX_BYTES + payload.len());
        destination.put_slice(&prefix);
        destination.put_slice(payload);
        Ok(())
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, payload: Bytes, destination: &mut BytesMut) -> Result<(), CodecError> {
        self.encode(payload.as_ref(), destination)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_reserves_only_after_a_valid_prefix() {
        let mut codec = FrameCodec::new();
        let mut source = BytesMut::from(&[0x00, 0x00][..]);
        let capacity_before = source.capacity();
        assert!(matches!(codec.decode(&mut source), Err(CodecError::Frame(FrameError::Empty))));
        assert_eq!(source.capacity(), capacity_before);
    }

    #[test]
    fn decode_reserves_the_rest_of_a_valid_frame() {
        let mut codec = FrameCodec::new();
        let mut source = BytesMut::from(&[0x01, 0x00, 0xaa][..]);
        assert!(codec.decode(&mut source).unwrap().is_none());
        assert!(source.capacity() >= FRAME_PREFIX_BYTES + 0x100);
    }

    #[test]
    fn encoded_bytes_payload_matches_slice_payload() {
        let mut codec = FrameCodec::new();
        let mut from_slice = BytesMut::new();
        let mut from_bytes = BytesMut::new();
        codec.encode(&b"abc"[..], &mut from_slice).unwrap();
        codec.encode(Bytes::from_static(b"abc"), &mut from_bytes).unwrap();
        assert_eq!(from_slice, from_bytes);
        assert_eq!(&from_slice[..], &[0, 3, b'a', b'b', b'c']);
    }
}
