//! Group commit: what one storage batch with one flush costs for a group of
//! 1, 16 and 256 telegrams, each an echo and its signed answer journaled
//! through the committer's own `Tx` (hash chain, encoding, sender index) on a
//! sled database in a temporary directory — next to a flush with a single
//! write, the floor every group pays once. Signing happens before the clock
//! runs: this is the storage path alone.
//!
//! `cargo bench -p denbun-bench --bench commit`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use denbun_center::service::tx::{Origin, Tx};
use denbun_center::storage::{Counter, SledStorage, Storage, Write, WriteBatch};
use denbun_protocol::header::PartyId;
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::network::{Echo, EchoAnswer};
use ed25519_dalek::SigningKey;

const SENT_AT_MS: u64 = 1_735_689_600_000;
const GROUP_SIZES: [usize; 3] = [1, 16, 256];

/// `count` echo requests of one member and the center's answers, as bytes.
fn exchanges(center: &SigningKey, count: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let fingerprint = CenterFingerprint::of(&center.verifying_key());
    let member_key = SigningKey::from_bytes(&[0x4d; 32]);
    let member = Signer::new(PartyId::member(1).expect("a member"), &member_key, fingerprint).expect("signs");
    (1..=count as u64)
        .map(|number| {
            let request = member.request(number, SENT_AT_MS, Echo {}).expect("an echo");
            let answer = Signer::center(center).answer(request.header(), SENT_AT_MS, EchoAnswer {}).expect("an answer");
            (request.into_bytes(), answer.into_bytes())
        })
        .collect()
}

fn group_commit(criterion: &mut Criterion) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let storage = SledStorage::open(directory.path()).expect("open sled");
    let center = SigningKey::from_bytes(&[0x43; 32]);
    let origin = Origin { session: 1, handshake_hash: [0; 32], peer: "127.0.0.1:40000".to_owned() };
    let mut group = criterion.benchmark_group("group commit");

    let mut counter = 0u64;
    group.throughput(Throughput::Elements(1));
    group.bench_function("flush of one write", |bench| {
        bench.iter(|| {
            counter += 1;
            let mut batch = WriteBatch::default();
            batch.push(Write::Counter(Counter::LastNotice, counter));
            storage.commit(black_box(&batch)).expect("commit");
        })
    });

    for size in GROUP_SIZES {
        let telegrams = exchanges(&center, size);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("echo and answer journaled", size), &telegrams, |bench, telegrams| {
            bench.iter(|| {
                let head = storage.journal_head().expect("read the head");
                let mut tx = Tx::new(&storage, &center, head, SENT_AT_MS);
                for (request, answer) in telegrams {
                    let sequence = tx.journal_in(&origin, request, true);
                    tx.journal_out(&origin, answer, sequence);
                }
                let (batch, _, _) = tx.finish();
                storage.commit(black_box(&batch)).expect("commit");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, group_commit);
criterion_main!(benches);
