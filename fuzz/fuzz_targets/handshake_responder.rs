//! Arbitrary bytes as the first handshake message, into the center's
//! responder. It must never panic. It also never accepts: a valid request
//! carries a tag keyed by an X25519 Diffie-Hellman with the center's key,
//! which byte mutation cannot find (a 2^-128 chance per try).

#![no_main]

use denbun_protocol::session::{CenterNoiseKey, Responder};
use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let center_key = CenterNoiseKey::from_secret_bytes(&[0x42; 32]);
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let result = Responder::new(&center_key).respond(data, &mut rng);
    assert!(result.is_err(), "a forged handshake request was accepted");
});
