//! Arbitrary bytes into the frame decoders: `frame::decode` over the whole
//! input, and `FrameCodec` fed in chunks whose sizes come from the input.
//! Neither may panic, and every frame accepted must re-encode to the exact
//! bytes it was read from (canonical encoding).

#![no_main]

use bytes::BytesMut;
use denbun_protocol::codec::FrameCodec;
use denbun_protocol::frame;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    // 1. The slice decoder, frame after frame.
    let mut rest = data;
    for _ in 0..=data.len() {
        match frame::decode(rest) {
            Ok(Some((payload, used))) => {
                assert_eq!(frame::encode(payload).expect("accepted payload re-encodes"), &rest[..used]);
                rest = &rest[used..];
            }
            Ok(None) | Err(_) => break,
        }
    }

    // 2. The codec, fed in chunks: the first byte picks the chunk size.
    let Some((&chunk_selector, stream)) = data.split_first() else {
        return;
    };
    let chunk_bytes = usize::from(chunk_selector) + 1;
    let mut codec = FrameCodec::new();
    let mut buffer = BytesMut::new();
    for chunk in stream.chunks(chunk_bytes) {
        buffer.extend_from_slice(chunk);
        for _ in 0..=buffer.len() {
            match codec.decode(&mut buffer) {
                Ok(Some(payload)) => assert!(!payload.is_empty()),
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    for _ in 0..=buffer.len() {
        match codec.decode_eof(&mut buffer) {
            Ok(Some(payload)) => assert!(!payload.is_empty()),
            Ok(None) | Err(_) => break,
        }
    }
});
