//! Frames: a 2-byte big-endian length prefix, then 1..=65,535 payload bytes.
//!
//! No I/O here: these functions look at a buffer the caller filled. A buffer
//! that does not yet hold a whole frame is the normal state of a stream
//! (mini-redis treats it the same way), so [`check`] answers `Ok(None)` for it
//! rather than an error. The length is read and checked before anyone
//! allocates room for the payload, so a peer cannot make us reserve memory
//! with a prefix alone.
//!
//! A prefix of 0 is malformed: every frame carries one Noise message, and the
//! shortest Noise message (an empty transport message) is 16 bytes. Refusing
//! 0 also keeps the encoding canonical (there is no "empty frame" that means
//! nothing).

use crate::limits::{FRAME_BYTES_MAX, FRAME_PREFIX_BYTES};

/// What is wrong with a frame, on the way in or on the way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix (incoming) or the payload (outgoing) is zero bytes.
    #[error("frame payload is empty (length prefix 0)")]
    Empty,
    /// The payload is larger than [`FRAME_BYTES_MAX`].
    #[error("frame payload of {payload_bytes} bytes exceeds the maximum of {FRAME_BYTES_MAX}")]
    TooLarge {
        /// Size of the payload that was refused.
        payload_bytes: usize,
    },
}

/// Looks at the start of `buf` and tells whether a whole frame is there.
///
/// Returns `Ok(Some(frame_bytes))` with the size of the whole frame (prefix
/// included) when it is complete, `Ok(None)` when more bytes are needed (a
/// normal condition, not an error), and `Err` when the prefix is malformed.
/// Bytes after the first frame are left alone.
pub fn check(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    let Some(payload_bytes) = payload_length(buf)? else {
        return Ok(None);
    };
    let frame_bytes = FRAME_PREFIX_BYTES + payload_bytes;
    if buf.len() < frame_bytes {
        return Ok(None);
    }
    Ok(Some(frame_bytes))
}

/// Reads and validates the length prefix at the start of `buf`.
///
/// Returns `Ok(None)` while fewer than [`FRAME_PREFIX_BYTES`] bytes are
/// buffered. This is what a decoder calls before reserving room for the rest
/// of a frame: the value it returns has already been checked.
pub fn payload_length(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.first_chunk::<FRAME_PREFIX_BYTES>() else {
        return Ok(None);
    };
    let payload_bytes = usize::from(u16::from_be_bytes(*prefix));
    check_payload_length(payload_bytes)?;
    Ok(Some(payload_bytes))
}

/// Splits the first whole frame off the start of `buf`.
///
/// Returns the payload and the number of bytes the frame took in `buf`
/// (prefix included), `Ok(None)` when the frame is not complete yet, or the
/// error [`check`] would give.
pub fn decode(buf: &[u8]) -> Result<Option<(&[u8], usize)>, FrameError> {
    let Some(frame_bytes) = check(buf)? else {
        return Ok(None);
    };
    Ok(Some((&buf[FRAME_PREFIX_BYTES..frame_bytes], frame_bytes)))
}

/// The length prefix for a payload of `payload_bytes` bytes.
///
/// Refuses 0 and anything above [`FRAME_BYTES_MAX`], so no frame that
/// [`check`] would reject can be produced.
pub fn prefix(payload_bytes: usize) -> Result<[u8; FRAME_PREFIX_BYTES], FrameError> {
    check_payload_length(payload_bytes)?;
    let length = u16::try_from(payload_bytes).map_err(|_| FrameError::TooLarge { payload_bytes })?;
    Ok(length.to_be_bytes())
}

/// Encodes one frame: the length prefix followed by `payload`.
///
/// Refuses an empty payload and one larger than [`FRAME_BYTES_MAX`].
pub fn encode(payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    let prefix = prefix(payload.len())?;
    let mut frame = Vec::with_capacity(FRAME_PREFIX_BYTES + payload.len());
    frame.extend_from_slice(&prefix);
    frame.extend_from_slice(payload);
    Ok(frame)
}

fn check_payload_length(payload_bytes: usize) -> Result<(), FrameError> {
    if payload_bytes == 0 {
        return Err(FrameError::Empty);
    }
    // With a u16 prefix this can only fire if FRAME_BYTES_MAX is ever lowered
    // below u16::MAX (incoming) or for an outgoing payload; keep it so the
    // limit stays the single source of truth.
    if payload_bytes > FRAME_BYTES_MAX {
        return Err(FrameError::TooLarge { payload_bytes });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_answers_incomplete_for_every_strict_prefix_of_a_frame() {
        let frame = encode(b"hello").unwrap();
        for cut in 0..frame.len() {
            assert_eq!(check(&frame[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(check(&frame), Ok(Some(frame.len())));
    }

    #[test]
    fn check_ignores_bytes_after_the_first_frame() {
        let mut buf = encode(b"one").unwrap();
        buf.extend_from_slice(&encode(b"two").unwrap());
        buf.push(0xff);
        assert_eq!(check(&buf), Ok(Some(FRAME_PREFIX_BYTES + 3)));
        let (payload, used) = decode(&buf).unwrap().unwrap();
        assert_eq!(payload, b"one");
        let (payload, _) = decode(&buf[used..]).unwrap().unwrap();
        assert_eq!(payload, b"two");
    }

    #[test]
    fn zero_prefix_is_malformed_even_alone() {
        assert_eq!(check(&[0, 0]), Err(FrameError::Empty));
        assert_eq!(payload_length(&[0, 0, 1, 2]), Err(FrameError::Empty));
    }

    #[test]
    fn prefix_refuses_zero_and_oversize() {
        assert_eq!(prefix(0), Err(FrameError::Empty));
        assert_eq!(prefix(FRAME_BYTES_MAX + 1), Err(FrameError::TooLarge { payload_bytes: FRAME_BYTES_MAX + 1 }));
        assert_eq!(prefix(1), Ok([0, 1]));
        assert_eq!(prefix(FRAME_BYTES_MAX), Ok([0xff, 0xff]));
    }

    #[test]
    fn prefix_is_big_endian() {
        assert_eq!(prefix(0x0102), Ok([0x01, 0x02]));
    }
}
