//! Group commit: what one storage batch with one flush costs for a group of
//! 1, 16 and 256 telegrams, each an echo and its signed answer journaled
//! through the committer's own `Tx` (hash chain, encoding) on a
//! sled database in a temporary directory — next to a flush with a single
//! write, the floor every group pays once. Signing happens before the clock
//! runs: this is the storage path alone.
//!
//! A second group, `ledger apply`, runs groups of payment instructions
//! through the center's own flows (`flows::apply` over one `Tx`: standing,
//! catalog prices, balance, the double-entry posting, the cards drawn, the
//! purchase record and the store's signed notice), without the commit: the
//! committer's work per payment besides signing the answer and the flush;
//! once reading storage directly, once through the committer's cache.
//!
//! A third, `committed payments`, hands groups of verified payment
//! instructions of many members to a real committer (`Center::start` over
//! sled) and waits for every answer: the flows, the journal, the idempotency
//! records, the signatures of answers and notices, sled's apply and the flush.
//! Its difference to `ledger apply` is the durable write path, the largest
//! part of a payment's cost that is not cryptography (docs/performance.md).
//!
//! `cargo bench -p denbun-bench --bench commit`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use denbun_bench::workload;
use denbun_center::config::Config;
use denbun_center::flows::{self, Decision, FlowContext};
use denbun_center::service::cache::Cache;
use denbun_center::service::committer::Inbound;
use denbun_center::service::tx::{Origin, Tx};
use denbun_center::service::{Center, now_ms};
use denbun_center::storage::{Counter, PartyRecord, PartyStatus, SledStorage, Storage, Write, WriteBatch};
use denbun_protocol::header::{Code, Header, PartyId};
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::Telegram;
use denbun_protocol::telegram::network::{Echo, EchoAnswer};
use denbun_protocol::wire::{Blob, Date, Text};
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
                let (batch, _) = tx.finish();
                storage.commit(black_box(&batch)).expect("commit");
            })
        });
    }
    group.finish();
}

fn party(party: PartyId, key: &SigningKey) -> PartyRecord {
    PartyRecord {
        party,
        status: PartyStatus::Registered,
        name: Text::truncated("Bench Party"),
        address: Text::truncated("1-2-3 Marunouchi, Chiyoda-ku, Tokyo"),
        date_of_birth: Date::new(1990, 4, 1).filter(|_| party.kind() == denbun_protocol::header::PartyKind::Member),
        trade_name: (party.kind() == denbun_protocol::header::PartyKind::Store).then(|| Text::truncated("Bench Shop")),
        bank_account: Blob::default(),
        verification_key: Some(key.verifying_key().to_bytes()),
        delivery_key: Some([9; 32]),
        activation: None,
        applied_at_ms: SENT_AT_MS,
        registered_at_ms: SENT_AT_MS,
    }
}

/// Applies `telegram` through the flows and commits it on its own; panics unless accepted.
fn apply_and_commit(storage: &SledStorage, center: &SigningKey, context: &FlowContext<'_>, telegram: &Telegram) {
    let head = storage.journal_head().expect("read the head");
    let mut tx = Tx::new(storage, center, head, SENT_AT_MS);
    let decision = flows::apply(&mut tx, context, telegram).expect("storage works");
    assert!(matches!(decision, Decision::Answer(_)), "{:?} was refused: {decision:?}", telegram.code());
    let (batch, _) = tx.finish();
    storage.commit(&batch).expect("commit");
}

fn ledger_apply(criterion: &mut Criterion) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let storage = SledStorage::open(directory.path()).expect("open sled");
    let center = SigningKey::from_bytes(&[0x43; 32]);
    let fingerprint = CenterFingerprint::of(&center.verifying_key());
    let mut config = Config::default_config();
    config.credit.default_monthly_line_yen = 1_000_000;
    let origin = Origin { session: 1, handshake_hash: [0; 32], peer: "127.0.0.1:40000".to_owned() };
    let context = FlowContext { config: &config, fingerprint: &fingerprint, origin: &origin };
    let member_key = SigningKey::from_bytes(&[0x4d; 32]);
    let store_key = SigningKey::from_bytes(&[0x53; 32]);
    let member = PartyId::member(1).expect("a member");
    let store = PartyId::store(1).expect("a store");
    let mut batch = WriteBatch::default();
    batch.push(Write::Party(party(member, &member_key)));
    batch.push(Write::Party(party(store, &store_key)));
    storage.commit(&batch).expect("register");
    let member_signer = Signer::new(member, &member_key, fingerprint).expect("signs");
    let store_signer = Signer::new(store, &store_key, fingerprint).expect("signs");
    let card = member_signer.request(1, SENT_AT_MS, workload::top_up(500_000)).expect("a card request");
    apply_and_commit(&storage, &center, &context, &card);
    let catalog = store_signer.request(1, SENT_AT_MS, workload::catalog_publish()).expect("a catalog");
    apply_and_commit(&storage, &center, &context, &catalog);

    // The committer's cache, filled as the committer fills it: by a group
    // that is applied to storage, then absorbed.
    let mut cache = Cache::default();
    {
        let head = storage.journal_head().expect("read the head");
        let mut tx = Tx::with_cache(&storage, &center, head, SENT_AT_MS, Some(&cache));
        let warm =
            member_signer.request(1_000_000, SENT_AT_MS, workload::payment(store, 1_000_000, 1)).expect("a payment");
        let decision = flows::apply(&mut tx, &context, &warm).expect("storage works");
        assert!(matches!(decision, Decision::Answer(_)), "refused: {decision:?}");
        let finished = tx.finish_signed();
        storage.commit(&finished.batch).expect("commit");
        cache.absorb(finished.fill);
    }

    let mut group = criterion.benchmark_group("ledger apply");
    for size in GROUP_SIZES {
        // Fresh transaction numbers each time: the overlay is dropped uncommitted,
        // so the member's balance is the same for every group.
        let payments: Vec<Telegram> = (0..size as u64)
            .map(|index| {
                let instruction = workload::payment(store, index + 1, (index % 8) as u32 + 1);
                member_signer.request(index + 2, SENT_AT_MS, instruction).expect("a payment")
            })
            .collect();
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("payments in one Tx", size), &payments, |bench, payments| {
            bench.iter(|| {
                let head = storage.journal_head().expect("read the head");
                let mut tx = Tx::new(&storage, &center, head, SENT_AT_MS);
                for payment in payments {
                    let decision = flows::apply(&mut tx, &context, payment).expect("storage works");
                    assert!(matches!(decision, Decision::Answer(_)), "refused: {decision:?}");
                }
                black_box(tx.finish())
            })
        });
        group.bench_with_input(BenchmarkId::new("payments in one Tx, cached", size), &payments, |bench, payments| {
            bench.iter(|| {
                let head = storage.journal_head().expect("read the head");
                let mut tx = Tx::with_cache(&storage, &center, head, SENT_AT_MS, Some(&cache));
                for payment in payments {
                    let decision = flows::apply(&mut tx, &context, payment).expect("storage works");
                    assert!(matches!(decision, Decision::Answer(_)), "refused: {decision:?}");
                }
                black_box(tx.finish())
            })
        });
    }
    group.finish();
}

/// Members and stores of `committed payments`: many members paying a few
/// stores, as in the load, so a group's writes spread over the tree.
const PAYING_MEMBERS: u64 = 128;
const PAID_STORES: u64 = 16;

/// A member's or store's signing key, derived from its number.
fn party_key(party: PartyId) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&party.number().to_be_bytes());
    seed[8] = party.kind() as u8;
    seed[9] = 0x5e;
    SigningKey::from_bytes(&seed)
}

/// Hands `telegrams` to the committer at once and waits for every answer;
/// panics on a refusal.
async fn submit_all(center: &Arc<Center>, origin: &Origin, telegrams: Vec<Telegram>) {
    let mut answers = tokio::task::JoinSet::new();
    for telegram in telegrams {
        let (center, origin) = (center.clone(), origin.clone());
        answers.spawn(async move { center.submit(origin, Inbound::Verified(Box::new(telegram))).await });
    }
    while let Some(answered) = answers.join_next().await {
        let reply = answered.expect("the task ran").expect("the center is running");
        let header = Header::decode(&reply.answer).expect("an answer decodes");
        assert_ne!(header.code(), Code::REJECT, "a telegram was refused");
    }
}

fn committed_payments(criterion: &mut Criterion) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let storage: Arc<dyn Storage> = Arc::new(SledStorage::open(directory.path()).expect("open sled"));
    let mut secrets = [0x43u8; 64];
    secrets[32..].fill(0x4e);
    let keys = denbun_bench::target::key_contents(&secrets);
    let mut config = Config::default_config();
    config.credit.default_monthly_line_yen = 1_000_000;
    let members: Vec<PartyId> = (1..=PAYING_MEMBERS).map(|number| PartyId::member(number).expect("a member")).collect();
    let stores: Vec<PartyId> = (1..=PAID_STORES).map(|number| PartyId::store(number).expect("a store")).collect();
    let mut register = WriteBatch::default();
    for &who in members.iter().chain(&stores) {
        register.push(Write::Party(party(who, &party_key(who))));
    }
    storage.commit(&register).expect("register");
    let (center, committer) = Center::start(config, &keys, storage, None).expect("start the center");
    let fingerprint = *center.fingerprint();
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let origin = Origin { session: 1, handshake_hash: [0; 32], peer: "127.0.0.1:40000".to_owned() };
    let mut processing_numbers = vec![0u64; members.len() + stores.len()];
    let mut request = |index: usize, who: PartyId, body: denbun_protocol::telegram::Body| {
        processing_numbers[index] += 1;
        Signer::new(who, &party_key(who), fingerprint)
            .expect("signs")
            .request(processing_numbers[index], now_ms(), body)
            .expect("a request")
    };
    let mut funding = Vec::with_capacity(members.len() + stores.len());
    for (index, &member) in members.iter().enumerate() {
        funding.push(request(index, member, workload::top_up(500_000).into()));
    }
    for (index, &store) in stores.iter().enumerate() {
        funding.push(request(members.len() + index, store, workload::catalog_publish().into()));
    }
    runtime.block_on(submit_all(&center, &origin, funding));

    let mut group = criterion.benchmark_group("committed payments");
    let mut transaction_number = 0u64;
    for size in [16usize, 256] {
        group.throughput(Throughput::Elements(size as u64));
        let name = format!("payments of {PAYING_MEMBERS} members to {PAID_STORES} stores");
        group.bench_function(BenchmarkId::new(name, size), |bench| {
            bench.iter_batched(
                // Fresh numbers each time (the committed state moves on);
                // the members' signing is the terminals' work, not timed.
                || {
                    (0..size)
                        .map(|_| {
                            transaction_number += 1;
                            let index = (transaction_number % PAYING_MEMBERS) as usize;
                            let store = stores[(transaction_number % PAID_STORES) as usize];
                            let item = (transaction_number % u64::from(workload::CATALOG_ITEMS)) as u32 + 1;
                            request(index, members[index], workload::payment(store, transaction_number, item).into())
                        })
                        .collect::<Vec<Telegram>>()
                },
                |payments| runtime.block_on(submit_all(&center, &origin, payments)),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
    drop(center);
    committer.join().expect("the last group is durable");
}

criterion_group!(benches, group_commit, ledger_apply, committed_payments);
criterion_main!(benches);
