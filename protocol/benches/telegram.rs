//! Telegram costs beside the raw Ed25519 operation they are built on,
//! measured in the same run: encode + sign and decode + verify of a payment
//! instruction (the center's hottest telegram), next to one raw
//! `verify_strict` (and one raw `sign`) over a message of the same size.
//!
//! `cargo bench -p denbun-protocol --bench telegram`

use criterion::{Criterion, criterion_group, criterion_main};
use denbun_protocol::header::{PartyId, StoreNumber};
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::{OrderLine, PaymentInstruction, Telegram, order_total};
use denbun_protocol::wire::{Amount, List};
use ed25519_dalek::{Signature, Signer as _, SigningKey};
use std::hint::black_box;

const SENT_AT_MS: u64 = 1_735_689_600_000;

fn payment_instruction() -> PaymentInstruction {
    let lines: Vec<OrderLine> = (1..=3)
        .map(|item_id| OrderLine { item_id, quantity: 2, unit_price: Amount::new(1_200).expect("in range") })
        .collect();
    let total = order_total(&lines).expect("small total");
    PaymentInstruction {
        transaction_number: 0x0123_4567_89ab_cdef,
        store: StoreNumber::new(7).expect("in range"),
        catalog_version: 5,
        lines: List::new(lines).expect("three lines"),
        total,
    }
}

fn telegrams(criterion: &mut Criterion) {
    let center = SigningKey::from_bytes(&[0x43; 32]);
    let fingerprint = CenterFingerprint::of(&center.verifying_key());
    let member_key = SigningKey::from_bytes(&[0x4d; 32]);
    let member_verifying_key = member_key.verifying_key();
    let signer = Signer::new(PartyId::member(123).expect("in range"), &member_key, fingerprint).expect("not anonymous");
    let body = payment_instruction();
    let telegram = signer.request(41, SENT_AT_MS, body.clone()).expect("valid payment");
    let bytes = telegram.as_bytes().to_vec();

    // The raw operations over a message as long as the telegram's signed message
    // (purpose tag 4 + fingerprint 32 + header and body).
    let message = vec![0x5a_u8; 4 + 32 + bytes.len() - 64];
    let raw_signature: Signature = member_key.sign(&message);

    let mut group = criterion.benchmark_group("payment instruction");
    group.bench_function("encode + sign", |bench| {
        bench.iter(|| signer.request(black_box(41), SENT_AT_MS, black_box(body.clone())).expect("valid payment"))
    });
    group.bench_function("raw ed25519 sign", |bench| bench.iter(|| member_key.sign(black_box(&message))));
    group.bench_function("decode + verify", |bench| {
        bench.iter(|| {
            let telegram = Telegram::decode(black_box(&bytes)).expect("valid bytes");
            telegram.verify(&member_verifying_key, &fingerprint).expect("genuine");
            telegram
        })
    });
    group.bench_function("raw ed25519 verify_strict", |bench| {
        bench.iter(|| {
            member_verifying_key.verify_strict(black_box(&message), black_box(&raw_signature)).expect("genuine")
        })
    });
    group.bench_function("decode only", |bench| {
        bench.iter(|| Telegram::decode(black_box(&bytes)).expect("valid bytes"))
    });
    group.finish();
}

criterion_group!(benches, telegrams);
criterion_main!(benches);
