//! What a session costs, next to one raw Ed25519 `verify_strict` measured in
//! the same run (the ratio is what we report, since absolute times depend on
//! the machine and on whatever else it is doing).
//!
//! Run: `cargo bench -p denbun-protocol --bench handshake`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use denbun_protocol::session::{CenterNoiseKey, Initiator, Responder};
use ed25519_dalek::{Signer, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// Size of the telegram sealed and opened: a typical business telegram
/// (41-byte header, a small body, 64-byte signature).
const TELEGRAM_BYTES: usize = 256;

fn session_costs(criterion: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let center_key = CenterNoiseKey::generate(&mut rng);
    let center_public = center_key.public_key();

    let signing_key = SigningKey::from_bytes(&[7; 32]);
    let verifying_key = signing_key.verifying_key();
    let signed_message = vec![0x42_u8; TELEGRAM_BYTES];
    let signature = signing_key.sign(&signed_message);

    let mut group = criterion.benchmark_group("session");

    group.bench_function("ed25519_verify_strict_256_bytes", |bencher| {
        bencher.iter(|| {
            verifying_key.verify_strict(black_box(&signed_message), black_box(&signature)).unwrap();
        })
    });

    group.bench_function("nk_handshake_both_sides", |bencher| {
        bencher.iter(|| {
            let (awaiting, request) = Initiator::new(black_box(&center_public)).start(&mut rng).unwrap();
            let (center, response) = Responder::new(&center_key).respond(&request, &mut rng).unwrap();
            let terminal = awaiting.finish(&response).unwrap();
            black_box((terminal, center))
        })
    });

    let (awaiting, request) = Initiator::new(&center_public).start(&mut rng).unwrap();
    let (mut center, response) = Responder::new(&center_key).respond(&request, &mut rng).unwrap();
    let mut terminal = awaiting.finish(&response).unwrap();
    let telegram = vec![0x61_u8; TELEGRAM_BYTES];
    group.bench_function("seal_open_256_bytes", |bencher| {
        bencher.iter(|| {
            let sealed = terminal.seal(black_box(&telegram)).unwrap();
            black_box(center.open(&sealed).unwrap())
        })
    });

    group.finish();
}

criterion_group!(benches, session_costs);
criterion_main!(benches);
