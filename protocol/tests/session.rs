//! Noise NK sessions driven in memory: two endpoints, a seeded RNG, every loop
//! capped. Each bad input has its own test.

use denbun_protocol::limits::{
    FRAME_BYTES_MAX, HANDSHAKE_REQUEST_BYTES, HANDSHAKE_RESPONSE_BYTES, NOISE_PUBLIC_KEY_BYTES, NOISE_TAG_BYTES,
    TELEGRAM_BYTES_MAX,
};
use denbun_protocol::session::{
    CenterNoiseKey, Initiator, NOISE_PATTERN, PROLOGUE, Responder, SessionError, Transport, public_key_from_secret,
};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Messages exchanged in the longer conversation tests.
const CONVERSATION_MESSAGES_MAX: usize = 64;

fn center_key(seed: u64) -> CenterNoiseKey {
    CenterNoiseKey::generate(&mut ChaCha20Rng::seed_from_u64(seed))
}

struct Handshake {
    request: Vec<u8>,
    response: Vec<u8>,
    terminal: Transport,
    center: Transport,
}

fn handshake(key: &CenterNoiseKey, rng: &mut ChaCha20Rng) -> Handshake {
    let (awaiting, request) = Initiator::new(&key.public_key()).start(rng).unwrap();
    let (center, response) = Responder::new(key).respond(&request, rng).unwrap();
    let terminal = awaiting.finish(&response).unwrap();
    Handshake { request, response, terminal, center }
}

fn session_pair(seed: u64) -> (Transport, Transport) {
    let key = center_key(1);
    let session = handshake(&key, &mut ChaCha20Rng::seed_from_u64(seed));
    (session.terminal, session.center)
}

fn flip_bit(message: &[u8], bit: usize) -> Vec<u8> {
    let mut flipped = message.to_vec();
    flipped[bit / 8] ^= 1 << (bit % 8);
    flipped
}

#[test]
fn handshake_messages_have_the_documented_sizes() {
    let session = handshake(&center_key(1), &mut ChaCha20Rng::seed_from_u64(2));
    assert_eq!(session.request.len(), HANDSHAKE_REQUEST_BYTES);
    assert_eq!(session.response.len(), HANDSHAKE_RESPONSE_BYTES);
    assert_eq!(HANDSHAKE_REQUEST_BYTES, 48);
    assert_eq!(PROLOGUE, b"denbun telegram protocol v1");
    assert_eq!(NOISE_PATTERN, "Noise_NK_25519_ChaChaPoly_BLAKE2s");
}

#[test]
fn telegrams_travel_both_ways_after_the_handshake() {
    let (mut terminal, mut center) = session_pair(3);
    let mut content_rng = ChaCha20Rng::seed_from_u64(4);
    for index in 0..CONVERSATION_MESSAGES_MAX {
        let mut telegram = vec![0_u8; (content_rng.next_u32() % 300) as usize];
        content_rng.fill_bytes(&mut telegram);
        let (sender, receiver) =
            if index % 3 == 0 { (&mut center, &mut terminal) } else { (&mut terminal, &mut center) };
        let sealed = sender.seal(&telegram).unwrap();
        assert_eq!(sealed.len(), telegram.len() + NOISE_TAG_BYTES);
        if telegram.len() >= 8 {
            assert!(!sealed.windows(8).any(|window| window == &telegram[..8]), "plaintext visible in ciphertext");
        }
        assert_eq!(receiver.open(&sealed).unwrap(), telegram, "message {index}");
    }
}

#[test]
fn handshake_hash_is_equal_at_both_ends_and_differs_across_sessions() {
    let key = center_key(1);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let first = handshake(&key, &mut rng);
    let second = handshake(&key, &mut rng);
    assert_eq!(first.terminal.handshake_hash(), first.center.handshake_hash());
    assert_eq!(second.terminal.handshake_hash(), second.center.handshake_hash());
    assert_ne!(first.terminal.handshake_hash(), second.terminal.handshake_hash());
}

#[test]
fn the_caller_rng_is_the_only_source_of_randomness() {
    let key = center_key(1);
    let first = handshake(&key, &mut ChaCha20Rng::seed_from_u64(6));
    let again = handshake(&key, &mut ChaCha20Rng::seed_from_u64(6));
    let other = handshake(&key, &mut ChaCha20Rng::seed_from_u64(7));
    assert_eq!(first.request, again.request);
    assert_eq!(first.response, again.response);
    assert_eq!(first.terminal.handshake_hash(), again.terminal.handshake_hash());
    assert_ne!(first.request, other.request);
    assert_ne!(first.response, other.response);
}

#[test]
fn center_key_is_generated_from_the_caller_rng_and_rebuilt_from_its_secret() {
    let key = center_key(8);
    assert_eq!(key.public_key(), center_key(8).public_key());
    assert_ne!(key.public_key(), center_key(9).public_key());
    let rebuilt = CenterNoiseKey::from_secret_bytes(key.secret_bytes());
    assert_eq!(rebuilt.public_key(), key.public_key());
    assert_eq!(public_key_from_secret(key.secret_bytes()), key.public_key());
}

#[test]
fn debug_output_shows_no_secret() {
    let key = CenterNoiseKey::from_secret_bytes(&[0x5a; 32]);
    let responder = Responder::new(&key);
    let (terminal, _) = session_pair(10);
    for shown in [format!("{key:?}"), format!("{responder:?}"), format!("{terminal:?}")] {
        assert!(!shown.contains("5a5a5a5a"), "{shown}");
        assert!(!shown.contains("90, 90, 90"), "{shown}");
    }
}

#[test]
fn request_of_wrong_length_is_refused_before_any_work() {
    let key = center_key(1);
    for length in [0, 1, HANDSHAKE_REQUEST_BYTES - 1, HANDSHAKE_REQUEST_BYTES + 1, 96, FRAME_BYTES_MAX] {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let untouched = rng.clone();
        let result = Responder::new(&key).respond(&vec![0x42; length], &mut rng);
        assert_eq!(result.err(), Some(SessionError::RequestLength { message_bytes: length }));
        // Not even the RNG was touched, let alone a Diffie-Hellman done.
        assert_eq!(rng, untouched);
    }
}

#[test]
fn response_of_wrong_length_is_refused() {
    let key = center_key(1);
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    for length in [0, 1, HANDSHAKE_RESPONSE_BYTES - 1, HANDSHAKE_RESPONSE_BYTES + 1, FRAME_BYTES_MAX] {
        let (awaiting, _) = Initiator::new(&key.public_key()).start(&mut rng).unwrap();
        let result = awaiting.finish(&vec![0x42; length]);
        assert_eq!(result.err(), Some(SessionError::ResponseLength { message_bytes: length }));
    }
}

/// Every encoding of every X25519 public key of low order: the 8-torsion of
/// the curve (taken from curve25519-dalek, mapped to Montgomery form), the
/// order-4 point of the twist (u = p - 1), their non-canonical encodings u + p
/// (which fit below 2^255 only for u = 0 and u = 1), and each of those with
/// the top bit set (ignored by X25519).
fn low_order_public_keys() -> Vec<[u8; 32]> {
    let field_prime: [u8; 32] = {
        let mut bytes = [0xff_u8; 32];
        bytes[0] = 0xed;
        bytes[31] = 0x7f;
        bytes
    };
    let mut minus_one = field_prime;
    minus_one[0] = 0xec;
    let mut canonical: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
        .iter()
        .map(|point| point.to_montgomery().to_bytes())
        .chain([minus_one])
        .collect();
    canonical.sort();
    canonical.dedup();
    // 0, 1, p - 1 and the two points of order 8.
    assert_eq!(canonical.len(), 5, "{canonical:02x?}");
    let mut keys = canonical.clone();
    for small in [0_u8, 1] {
        let mut shifted = field_prime;
        shifted[0] += small;
        keys.push(shifted);
    }
    let with_top_bit: Vec<[u8; 32]> = keys
        .iter()
        .map(|key| {
            let mut key = *key;
            key[31] |= 0x80;
            key
        })
        .collect();
    keys.extend(with_top_bit);
    keys
}

#[test]
fn zero_ephemeral_key_in_the_request_is_refused() {
    let key = center_key(1);
    let mut request = vec![0_u8; HANDSHAKE_REQUEST_BYTES];
    request[NOISE_PUBLIC_KEY_BYTES..].fill(0x17);
    let result = Responder::new(&key).respond(&request, &mut ChaCha20Rng::seed_from_u64(13));
    assert_eq!(result.err(), Some(SessionError::LowOrderKey));
}

#[test]
fn low_order_ephemeral_keys_in_the_request_are_refused() {
    let key = center_key(1);
    let keys = low_order_public_keys();
    assert_eq!(keys.len(), 14);
    for public in keys {
        let mut request = public.to_vec();
        request.extend_from_slice(&[0x17; NOISE_TAG_BYTES]);
        let result = Responder::new(&key).respond(&request, &mut ChaCha20Rng::seed_from_u64(14));
        assert_eq!(result.err(), Some(SessionError::LowOrderKey), "key {public:02x?}");
    }
}

#[test]
fn a_valid_ephemeral_key_with_a_forged_tag_fails_authentication_not_the_order_check() {
    let key = center_key(1);
    let mut request = center_key(2).public_key().to_vec();
    request.extend_from_slice(&[0x17; NOISE_TAG_BYTES]);
    let result = Responder::new(&key).respond(&request, &mut ChaCha20Rng::seed_from_u64(15));
    assert_eq!(result.err(), Some(SessionError::HandshakeFailed));
}

#[test]
fn low_order_ephemeral_keys_in_the_response_are_refused() {
    let key = center_key(1);
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    for public in low_order_public_keys() {
        let (awaiting, _) = Initiator::new(&key.public_key()).start(&mut rng).unwrap();
        let mut response = public.to_vec();
        response.extend_from_slice(&[0x17; NOISE_TAG_BYTES]);
        assert_eq!(awaiting.finish(&response).err(), Some(SessionError::LowOrderKey), "key {public:02x?}");
    }
}

#[test]
fn low_order_pinned_center_key_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    for public in low_order_public_keys() {
        assert_eq!(Initiator::new(&public).start(&mut rng).err(), Some(SessionError::LowOrderKey));
    }
}

#[test]
fn initiator_pinning_another_center_key_fails() {
    let mut rng = ChaCha20Rng::seed_from_u64(18);
    let (_, request) = Initiator::new(&center_key(2).public_key()).start(&mut rng).unwrap();
    let result = Responder::new(&center_key(1)).respond(&request, &mut rng);
    assert_eq!(result.err(), Some(SessionError::HandshakeFailed));
}

/// A plain snow endpoint, for talking to ours from outside our API.
fn plain_snow_builder<'a>(prologue: &'a [u8], ephemeral_secret: &'a [u8; 32]) -> snow::Builder<'a> {
    snow::Builder::new(NOISE_PATTERN.parse().unwrap())
        .prologue(prologue)
        .unwrap()
        .fixed_ephemeral_key_for_testing_only(ephemeral_secret)
}

#[test]
fn plain_snow_peers_with_our_prologue_interoperate() {
    let key = center_key(1);
    let center_public = key.public_key();
    let ephemeral_secret = [0x21; 32];
    let mut rng = ChaCha20Rng::seed_from_u64(19);

    // A plain snow terminal against our center.
    let mut terminal = plain_snow_builder(PROLOGUE, &ephemeral_secret)
        .remote_public_key(&center_public)
        .unwrap()
        .build_initiator()
        .unwrap();
    let mut request = [0_u8; HANDSHAKE_REQUEST_BYTES];
    assert_eq!(terminal.write_message(&[], &mut request).unwrap(), HANDSHAKE_REQUEST_BYTES);
    let (center, response) = Responder::new(&key).respond(&request, &mut rng).unwrap();
    terminal.read_message(&response, &mut []).unwrap();
    assert_eq!(terminal.get_handshake_hash(), center.handshake_hash());

    // Our terminal against a plain snow center.
    let mut center = plain_snow_builder(PROLOGUE, &ephemeral_secret)
        .local_private_key(key.secret_bytes())
        .unwrap()
        .build_responder()
        .unwrap();
    let (awaiting, request) = Initiator::new(&center_public).start(&mut rng).unwrap();
    center.read_message(&request, &mut []).unwrap();
    let mut response = [0_u8; HANDSHAKE_RESPONSE_BYTES];
    center.write_message(&[], &mut response).unwrap();
    let terminal = awaiting.finish(&response).unwrap();
    assert_eq!(terminal.handshake_hash(), center.get_handshake_hash());
}

#[test]
fn peer_with_another_prologue_fails_against_our_center() {
    let key = center_key(1);
    let ephemeral_secret = [0x21; 32];
    let mut terminal = plain_snow_builder(b"denbun telegram protocol v2", &ephemeral_secret)
        .remote_public_key(&key.public_key())
        .unwrap()
        .build_initiator()
        .unwrap();
    let mut request = [0_u8; HANDSHAKE_REQUEST_BYTES];
    terminal.write_message(&[], &mut request).unwrap();
    let result = Responder::new(&key).respond(&request, &mut ChaCha20Rng::seed_from_u64(20));
    assert_eq!(result.err(), Some(SessionError::HandshakeFailed));
}

#[test]
fn peer_with_another_prologue_fails_against_our_terminal() {
    let key = center_key(1);
    let ephemeral_secret = [0x21; 32];
    let mut center = plain_snow_builder(b"", &ephemeral_secret)
        .local_private_key(key.secret_bytes())
        .unwrap()
        .build_responder()
        .unwrap();
    let (awaiting, request) = Initiator::new(&key.public_key()).start(&mut ChaCha20Rng::seed_from_u64(21)).unwrap();
    // The other prologue already makes our request fail at their end...
    assert!(center.read_message(&request, &mut []).is_err());
    // ...and a response they write anyway fails at ours.
    let mut other_center = plain_snow_builder(b"", &ephemeral_secret)
        .local_private_key(key.secret_bytes())
        .unwrap()
        .build_responder()
        .unwrap();
    let mut other_terminal =
        plain_snow_builder(b"", &[0x33; 32]).remote_public_key(&key.public_key()).unwrap().build_initiator().unwrap();
    let mut other_request = [0_u8; HANDSHAKE_REQUEST_BYTES];
    other_terminal.write_message(&[], &mut other_request).unwrap();
    other_center.read_message(&other_request, &mut []).unwrap();
    let mut response = [0_u8; HANDSHAKE_RESPONSE_BYTES];
    other_center.write_message(&[], &mut response).unwrap();
    assert_eq!(awaiting.finish(&response).err(), Some(SessionError::HandshakeFailed));
}

#[test]
fn every_flipped_bit_in_the_request_is_refused() {
    let key = center_key(1);
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let (_, request) = Initiator::new(&key.public_key()).start(&mut rng).unwrap();
    for bit in 0..request.len() * 8 {
        let result = Responder::new(&key).respond(&flip_bit(&request, bit), &mut rng);
        assert!(
            matches!(result, Err(SessionError::HandshakeFailed | SessionError::LowOrderKey)),
            "bit {bit}: {:?}",
            result.err()
        );
    }
    // The unmodified request still works: the failures above were the flips.
    assert!(Responder::new(&key).respond(&request, &mut rng).is_ok());
}

#[test]
fn every_flipped_bit_in_the_response_is_refused() {
    let key = center_key(1);
    let bit_count = HANDSHAKE_RESPONSE_BYTES * 8;
    for bit in 0..bit_count {
        let mut rng = ChaCha20Rng::seed_from_u64(23);
        let (awaiting, request) = Initiator::new(&key.public_key()).start(&mut rng).unwrap();
        let (_, response) = Responder::new(&key).respond(&request, &mut rng).unwrap();
        let result = awaiting.finish(&flip_bit(&response, bit));
        assert!(
            matches!(result, Err(SessionError::HandshakeFailed | SessionError::LowOrderKey)),
            "bit {bit}: {:?}",
            result.err()
        );
    }
}

#[test]
fn every_flipped_bit_in_a_transport_message_is_refused_both_ways() {
    let telegram = b"short telegram";
    let bit_count = (telegram.len() + NOISE_TAG_BYTES) * 8;
    for terminal_sends in [true, false] {
        for bit in 0..bit_count {
            let (mut terminal, mut center) = session_pair(24);
            let (sender, receiver) =
                if terminal_sends { (&mut terminal, &mut center) } else { (&mut center, &mut terminal) };
            let sealed = sender.seal(telegram).unwrap();
            assert_eq!(receiver.open(&flip_bit(&sealed, bit)), Err(SessionError::DecryptFailed), "bit {bit}");
        }
    }
}

#[test]
fn replayed_and_reordered_transport_messages_are_refused() {
    let (mut terminal, mut center) = session_pair(25);
    let first = terminal.seal(b"first").unwrap();
    let second = terminal.seal(b"second").unwrap();
    assert_eq!(center.open(&second), Err(SessionError::DecryptFailed));

    let (mut terminal, mut center) = session_pair(25);
    let first_again = terminal.seal(b"first").unwrap();
    assert_eq!(first_again, first, "same seed, same session");
    assert_eq!(center.open(&first_again).unwrap(), b"first");
    assert_eq!(center.open(&first_again), Err(SessionError::DecryptFailed));
}

#[test]
fn a_message_from_another_session_is_refused() {
    let (mut terminal, _) = session_pair(26);
    let (_, mut other_center) = session_pair(27);
    let sealed = terminal.seal(b"hello").unwrap();
    assert_eq!(other_center.open(&sealed), Err(SessionError::DecryptFailed));
}

#[test]
fn the_transport_refuses_all_work_after_a_failed_open() {
    let (mut terminal, mut center) = session_pair(28);
    let good = terminal.seal(b"good").unwrap();
    assert_eq!(center.open(&flip_bit(&good, 0)), Err(SessionError::DecryptFailed));
    assert_eq!(center.open(&good), Err(SessionError::Closed));
    assert_eq!(center.seal(b"answer"), Err(SessionError::Closed));
}

#[test]
fn transport_message_shorter_than_a_tag_or_longer_than_a_frame_is_refused() {
    for length in [0, 1, NOISE_TAG_BYTES - 1, FRAME_BYTES_MAX + 1] {
        let (_, mut center) = session_pair(29);
        assert_eq!(center.open(&vec![0; length]), Err(SessionError::MessageLength { message_bytes: length }));
        assert_eq!(center.open(&[0; 32]), Err(SessionError::Closed));
    }
}

#[test]
fn largest_telegram_fills_exactly_one_frame() {
    let (mut terminal, mut center) = session_pair(30);
    let telegram = vec![0x61; TELEGRAM_BYTES_MAX];
    let sealed = terminal.seal(&telegram).unwrap();
    assert_eq!(sealed.len(), FRAME_BYTES_MAX);
    assert_eq!(center.open(&sealed).unwrap(), telegram);
}

#[test]
fn telegram_over_the_maximum_is_refused_and_the_session_goes_on() {
    let (mut terminal, mut center) = session_pair(31);
    let oversize = vec![0x61; TELEGRAM_BYTES_MAX + 1];
    assert_eq!(
        terminal.seal(&oversize),
        Err(SessionError::TelegramTooLarge { telegram_bytes: TELEGRAM_BYTES_MAX + 1 })
    );
    let sealed = terminal.seal(b"still fine").unwrap();
    assert_eq!(center.open(&sealed).unwrap(), b"still fine");
}

/// The codec and the session together over an in-memory byte stream.
#[cfg(feature = "codec")]
#[tokio::test]
async fn a_session_runs_over_the_frame_codec() {
    use bytes::Bytes;
    use denbun_protocol::codec::FrameCodec;
    use denbun_protocol::limits::FRAME_PREFIX_BYTES;
    use futures::{SinkExt, StreamExt};
    use tokio_util::codec::Framed;

    let key = center_key(1);
    let mut rng = ChaCha20Rng::seed_from_u64(32);
    // Each side sends one frame and then waits for the other, so a pipe that
    // holds one whole frame cannot deadlock.
    let (terminal_io, center_io) = tokio::io::duplex(FRAME_PREFIX_BYTES + FRAME_BYTES_MAX);
    let mut terminal_frames = Framed::new(terminal_io, FrameCodec::new());
    let mut center_frames = Framed::new(center_io, FrameCodec::new());

    let (awaiting, request) = Initiator::new(&key.public_key()).start(&mut rng).unwrap();
    terminal_frames.send(Bytes::from(request)).await.unwrap();
    let request = center_frames.next().await.unwrap().unwrap();
    let (mut center, response) = Responder::new(&key).respond(&request, &mut rng).unwrap();
    center_frames.send(Bytes::from(response)).await.unwrap();
    let response = terminal_frames.next().await.unwrap().unwrap();
    let mut terminal = awaiting.finish(&response).unwrap();

    let big_telegram = vec![0x62; 5_000];
    terminal_frames.send(Bytes::from(terminal.seal(&big_telegram).unwrap())).await.unwrap();
    let received = center_frames.next().await.unwrap().unwrap();
    assert_eq!(center.open(&received).unwrap(), big_telegram);
    center_frames.send(Bytes::from(center.seal(b"answer").unwrap())).await.unwrap();
    let received = terminal_frames.next().await.unwrap().unwrap();
    assert_eq!(terminal.open(&received).unwrap(), b"answer");
}

proptest! {
    /// Proptest twin of the `handshake_responder` fuzz target: arbitrary bytes
    /// never make the responder panic, and only a real request succeeds.
    #[test]
    fn responder_never_panics_on_arbitrary_requests(request in prop::collection::vec(any::<u8>(), 0..100)) {
        let key = center_key(1);
        let result = Responder::new(&key).respond(&request, &mut ChaCha20Rng::seed_from_u64(33));
        prop_assert!(result.is_err());
    }

    /// The same with exactly the right length, so every request reaches the
    /// Diffie-Hellman and the tag check.
    #[test]
    fn responder_never_panics_on_arbitrary_requests_of_the_right_length(
        request in prop::collection::vec(any::<u8>(), HANDSHAKE_REQUEST_BYTES)
    ) {
        let key = center_key(1);
        let result = Responder::new(&key).respond(&request, &mut ChaCha20Rng::seed_from_u64(34));
        prop_assert!(matches!(result, Err(SessionError::HandshakeFailed | SessionError::LowOrderKey)));
    }

    /// Arbitrary transport messages never make `open` panic, and never pass.
    #[test]
    fn open_never_panics_on_arbitrary_messages(message in prop::collection::vec(any::<u8>(), 0..200)) {
        let (_, mut center) = session_pair(35);
        prop_assert!(center.open(&message).is_err());
    }
}
