//! Frames and the frame codec: each bad input its own test, the codec fed one
//! byte at a time and in random splits, and arbitrary bytes never panic.

#![cfg(feature = "codec")]

use bytes::{Bytes, BytesMut};
use denbun_protocol::codec::{CodecError, FrameCodec};
use denbun_protocol::frame::{self, FrameError};
use denbun_protocol::limits::{FRAME_BYTES_MAX, FRAME_PREFIX_BYTES};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

/// Frames a list of payloads, back to back.
fn stream_of(payloads: &[Vec<u8>]) -> Vec<u8> {
    payloads.iter().flat_map(|payload| frame::encode(payload).unwrap()).collect()
}

/// Feeds `stream` to a fresh codec in the given chunk sizes (cycled), then
/// ends the stream; returns the payloads decoded.
fn decode_in_chunks(stream: &[u8], chunk_sizes: &[usize]) -> Result<Vec<Vec<u8>>, CodecError> {
    let mut codec = FrameCodec::new();
    let mut buffer = BytesMut::new();
    let mut payloads = Vec::new();
    let mut offset = 0;
    let mut chunk_index = 0;
    // Each round consumes at least one byte, so this loop runs at most
    // `stream.len()` times.
    while offset < stream.len() {
        let chunk_bytes = chunk_sizes[chunk_index % chunk_sizes.len()].clamp(1, stream.len() - offset);
        chunk_index += 1;
        buffer.extend_from_slice(&stream[offset..offset + chunk_bytes]);
        offset += chunk_bytes;
        // At most one frame per byte buffered.
        for _ in 0..=buffer.len() {
            match codec.decode(&mut buffer)? {
                Some(payload) => payloads.push(payload.to_vec()),
                None => break,
            }
        }
    }
    for _ in 0..=buffer.len() {
        match codec.decode_eof(&mut buffer)? {
            Some(payload) => payloads.push(payload.to_vec()),
            None => break,
        }
    }
    Ok(payloads)
}

#[test]
fn length_prefix_zero_is_malformed() {
    assert_eq!(frame::check(&[0, 0]), Err(FrameError::Empty));
    assert_eq!(frame::decode(&[0, 0, 0x41]), Err(FrameError::Empty));
    let mut buffer = BytesMut::from(&[0_u8, 0, 0x41][..]);
    assert!(matches!(FrameCodec::new().decode(&mut buffer), Err(CodecError::Frame(FrameError::Empty))));
}

#[test]
fn length_prefix_65535_is_accepted() {
    let mut stream = vec![0xff, 0xff];
    stream.extend(std::iter::repeat_n(0x5a, FRAME_BYTES_MAX));
    assert_eq!(frame::check(&stream), Ok(Some(FRAME_PREFIX_BYTES + 65_535)));
    assert_eq!(frame::check(&stream[..stream.len() - 1]), Ok(None));
    let mut buffer = BytesMut::from(&stream[..]);
    let payload = FrameCodec::new().decode(&mut buffer).unwrap().unwrap();
    assert_eq!(payload.len(), 65_535);
    assert!(buffer.is_empty());
}

#[test]
fn encode_of_65535_bytes_is_accepted() {
    let payload = vec![0x5a; FRAME_BYTES_MAX];
    let encoded = frame::encode(&payload).unwrap();
    assert_eq!(&encoded[..FRAME_PREFIX_BYTES], &[0xff, 0xff]);
    assert_eq!(encoded.len(), FRAME_PREFIX_BYTES + FRAME_BYTES_MAX);
}

#[test]
fn encode_of_65536_bytes_is_refused() {
    let payload = vec![0x5a; FRAME_BYTES_MAX + 1];
    assert_eq!(frame::encode(&payload), Err(FrameError::TooLarge { payload_bytes: 65_536 }));
    let mut destination = BytesMut::new();
    let result = FrameCodec::new().encode(&payload[..], &mut destination);
    assert!(matches!(result, Err(CodecError::Frame(FrameError::TooLarge { payload_bytes: 65_536 }))));
    assert!(destination.is_empty(), "nothing written for a refused frame");
}

#[test]
fn encode_of_an_empty_payload_is_refused() {
    assert_eq!(frame::encode(&[]), Err(FrameError::Empty));
    let mut destination = BytesMut::new();
    let result = FrameCodec::new().encode(Bytes::new(), &mut destination);
    assert!(matches!(result, Err(CodecError::Frame(FrameError::Empty))));
    assert!(destination.is_empty());
}

#[test]
fn end_of_stream_in_the_prefix_is_an_error() {
    let mut buffer = BytesMut::from(&[0x00_u8][..]);
    let result = FrameCodec::new().decode_eof(&mut buffer);
    assert!(matches!(result, Err(CodecError::EndOfStreamInFrame { buffered_bytes: 1 })), "{result:?}");
}

#[test]
fn end_of_stream_in_the_body_is_an_error() {
    let mut buffer = BytesMut::from(&[0x00_u8, 0x05, 0x61, 0x62][..]);
    let mut codec = FrameCodec::new();
    assert!(codec.decode(&mut buffer).unwrap().is_none());
    let result = codec.decode_eof(&mut buffer);
    assert!(matches!(result, Err(CodecError::EndOfStreamInFrame { buffered_bytes: 4 })), "{result:?}");
}

#[test]
fn end_of_stream_between_frames_is_a_clean_end() {
    let mut buffer = BytesMut::from(&stream_of(&[b"last".to_vec()])[..]);
    let mut codec = FrameCodec::new();
    assert_eq!(codec.decode_eof(&mut buffer).unwrap().unwrap(), &b"last"[..]);
    assert_eq!(codec.decode_eof(&mut buffer).unwrap(), None);
}

#[test]
fn codec_fed_one_byte_at_a_time_yields_every_frame() {
    let payloads = vec![vec![0x01], b"hello".to_vec(), vec![0x77; 300], vec![0x5a; FRAME_BYTES_MAX], vec![0x02]];
    let stream = stream_of(&payloads);
    assert_eq!(decode_in_chunks(&stream, &[1]).unwrap(), payloads);
}

#[test]
fn codec_reports_a_zero_prefix_after_good_frames() {
    let mut stream = stream_of(&[b"good".to_vec()]);
    stream.extend_from_slice(&[0, 0, 0x41]);
    let result = decode_in_chunks(&stream, &[1]);
    assert!(matches!(result, Err(CodecError::Frame(FrameError::Empty))), "{result:?}");
}

#[tokio::test]
async fn framed_read_over_a_byte_stream_ends_with_an_error_inside_a_frame() {
    use futures::StreamExt;
    use tokio_util::codec::FramedRead;

    let mut stream = stream_of(&[b"one".to_vec(), b"two".to_vec()]);
    stream.extend_from_slice(&[0x00, 0x09, 0x61]);
    let mut frames = FramedRead::new(&stream[..], FrameCodec::new());
    assert_eq!(frames.next().await.unwrap().unwrap(), &b"one"[..]);
    assert_eq!(frames.next().await.unwrap().unwrap(), &b"two"[..]);
    let last = frames.next().await.unwrap();
    assert!(matches!(last, Err(CodecError::EndOfStreamInFrame { buffered_bytes: 3 })), "{last:?}");
}

fn payload_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..40),
        prop::collection::vec(any::<u8>(), 250..270),
        (FRAME_BYTES_MAX - 2..=FRAME_BYTES_MAX).prop_map(|length| vec![0xa5; length]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random splits of a stream of frames decode to the same frames.
    #[test]
    fn codec_in_random_splits_yields_the_same_frames(
        payloads in prop::collection::vec(payload_strategy(), 0..6),
        chunk_sizes in prop::collection::vec(1_usize..70_000, 1..10),
    ) {
        let stream = stream_of(&payloads);
        prop_assert_eq!(decode_in_chunks(&stream, &chunk_sizes).unwrap(), payloads);
    }

    /// Encoding then decoding a payload gives it back, and the whole frame.
    #[test]
    fn encode_then_decode_is_the_identity(payload in payload_strategy()) {
        let encoded = frame::encode(&payload).unwrap();
        let (decoded, used) = frame::decode(&encoded).unwrap().unwrap();
        prop_assert_eq!(decoded, &payload[..]);
        prop_assert_eq!(used, encoded.len());
    }
}

proptest! {
    /// Proptest twin of the `frame` fuzz target: arbitrary bytes never make
    /// the decoders panic, and whatever they accept is canonical (it
    /// re-encodes to the very bytes it came from).
    #[test]
    fn frame_decoder_never_panics_on_arbitrary_bytes(
        stream in prop::collection::vec(any::<u8>(), 0..600),
        chunk_sizes in prop::collection::vec(1_usize..64, 1..6),
    ) {
        let mut rest = &stream[..];
        for _ in 0..=stream.len() {
            match frame::decode(rest) {
                Ok(Some((payload, used))) => {
                    prop_assert_eq!(frame::encode(payload).unwrap(), rest[..used].to_vec());
                    rest = &rest[used..];
                }
                Ok(None) | Err(_) => break,
            }
        }
        let _outcome = decode_in_chunks(&stream, &chunk_sizes);
    }
}
