//! Crash safety, proven (issue 8): terminals pay and top up through their
//! outboxes while a supervisor kills the real `denbun-center` with SIGKILL at
//! random moments and starts it again. Afterwards:
//! - every outbox is empty;
//! - every signed answer a terminal holds is reflected at the center (each
//!   member's balance equals the balance on its last receipt, and its number
//!   of purchases and cards equals the receipts it holds; every payment
//!   receipt names a transaction the center knows);
//! - `denbun-center audit` passes (journal chain, signatures, at most once,
//!   ledger sums).
//!
//! CI runs a short version; `DENBUN_CRASH_KILLS=200 cargo test -p
//! denbun-tests --test e2e crash -- --nocapture` runs the long one.
//! Everything is bounded in count and time and stays on 127.0.0.1.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use denbun_center::operator::Operator;
use denbun_client::keys::generate_member_keys;
use denbun_client::session::{Session, SessionConfig, SubmitError, run_outbox, submit};
use denbun_client::vault::{NewVault, UnlockedVault, Vault, VaultConfig};
use denbun_protocol::header::{Code, StoreNumber};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{Password, Profile};
use denbun_protocol::telegram::Body;
use denbun_protocol::telegram::card::{CardAnswer, CardRequest, FundingChannel};
use denbun_protocol::telegram::catalog::{CatalogItem, CatalogPublish, ItemKind};
use denbun_protocol::telegram::inquiry::{Inquiry, InquiryAnswer};
use denbun_protocol::telegram::payment::{OrderLine, PaymentInstruction};
use denbun_protocol::telegram::registration::Applicant;
use denbun_protocol::wire::{Amount, List, Text};
use denbun_tests::{
    CHILD_OPERATOR_PASSWORD_A, CHILD_OPERATOR_PASSWORD_B, ChildCenter, RawTerminal, TestParty, personal_data,
};
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};

const TERMINALS: usize = 64;
const KILLS_DEFAULT: usize = 20;
const ITEM_PRICE_YEN: u64 = 100;
const TOP_UP_YEN: u64 = 1_000;
/// A terminal's operations are bounded too, so the test ends even if kills are slow.
const OPERATIONS_PER_TERMINAL_MAX: usize = 400;
const RUN_TIME_MAX: Duration = Duration::from_secs(600);
const TRANSACTIONS_CHECKED_PER_MEMBER: usize = 2;

/// What a member's terminal ends up holding.
#[derive(Default)]
struct Receipts {
    payments: Vec<u64>,
    cards: u32,
    last_balance: Option<u64>,
    refused: u32,
    refusals: Vec<String>,
}

fn record(receipts: &mut Receipts, body: &Body) {
    match body {
        Body::PaymentAnswer(answer) => {
            receipts.payments.push(answer.transaction_number);
            receipts.last_balance = Some(answer.balance.get());
        }
        Body::CardAnswer(CardAnswer::Issued(issued)) => {
            receipts.cards += 1;
            receipts.last_balance = Some(issued.balance.get());
        }
        other => panic!("unexpected answer {other:?}"),
    }
}

struct Member {
    vault: UnlockedVault,
    key: SigningKey,
    session: Option<Session>,
    receipts: Receipts,
}

impl Member {
    /// Connects (again) and sends whatever waits in the outbox; false while the center is down.
    async fn ensure_session(&mut self, address: &str, identity: &CenterIdentity) -> bool {
        if self.session.is_none() {
            match Session::connect(address, identity, SessionConfig::default()).await {
                Ok(session) => self.session = Some(session),
                Err(_) => return false,
            }
        }
        let session = self.session.as_ref().expect("just set");
        match run_outbox(&mut self.vault, session).await {
            Ok(report) => {
                for completed in &report.completed {
                    match completed {
                        denbun_client::session::Completed::Answered { answer, .. } => {
                            record(&mut self.receipts, answer.body())
                        }
                        denbun_client::session::Completed::Refused { rejection, .. } => {
                            self.receipts.refused += 1;
                            self.receipts.refusals.push(rejection.to_string());
                        }
                    }
                }
                if report.stopped.is_some() {
                    self.session = None;
                    return false;
                }
                true
            }
            Err(error) => panic!("the outbox could not be sent: {error}"),
        }
    }

    async fn submit(&mut self, body: Body) {
        let session = self.session.as_ref().expect("connected");
        match submit(&mut self.vault, session, &self.key, body).await {
            Ok(answer) => record(&mut self.receipts, answer.body()),
            Err(SubmitError::Refused { rejection, .. }) => {
                self.receipts.refused += 1;
                self.receipts.refusals.push(rejection.to_string());
            }
            // The line went down: the telegram waits in the outbox for the next connection.
            Err(SubmitError::NotAnswered { .. }) => self.session = None,
            Err(error) => panic!("submit failed: {error}"),
        }
    }
}

async fn register_member(center: &ChildCenter, identity: &CenterIdentity, directory: &Path, index: usize) -> Member {
    let address = center.address.parse().unwrap();
    let mut terminal = RawTerminal::connect(address, identity).await.unwrap();
    let party = terminal.apply(Applicant::Member).await;
    let keys = generate_member_keys(&mut OsRng, None);
    let password_a = Password::new(format!("member {index} A"));
    let password_b = Password::new(format!("member {index} B"));
    let mut vault = Vault::create(
        &directory.join(format!("member-{index}.key")),
        NewVault {
            profile: Profile { party, name: Text::new(format!("Member {index}")).unwrap() },
            center: identity.clone(),
            keys,
        },
        &password_a,
        &password_b,
        VaultConfig::test_only_fast(),
        &mut OsRng,
    )
    .unwrap();
    let key = vault.signing_key(&password_b).unwrap().signing_key().clone();
    let session = Session::connect(&center.address, identity, SessionConfig::default()).await.unwrap();
    let registration = denbun_protocol::telegram::registration::Registration {
        activation_code: center.activation_code(party),
        personal: personal_data(),
        store: None,
        verification_key: key.verifying_key(),
        delivery_key: x25519_dalek::PublicKey::from(vault.contents().delivery_public_key),
    };
    let answer = submit(&mut vault, &session, &key, registration).await.unwrap();
    assert_eq!(answer.telegram().code(), Code::REGISTRATION_CERTIFICATE);
    Member { vault, key, session: Some(session), receipts: Receipts::default() }
}

fn payment(store: StoreNumber) -> Body {
    let line = OrderLine { item_id: 1, quantity: 1, unit_price: Amount::new(ITEM_PRICE_YEN).unwrap() };
    PaymentInstruction {
        transaction_number: OsRng.next_u64() | 1,
        store,
        catalog_version: 1,
        lines: List::new(vec![line]).unwrap(),
        total: Amount::new(ITEM_PRICE_YEN).unwrap(),
    }
    .into()
}

fn top_up() -> Body {
    CardRequest { amount: Amount::new(TOP_UP_YEN).unwrap(), channel: FundingChannel::CreditCompany }.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_telegram_is_lost_when_the_center_is_killed_again_and_again() {
    let kills: usize =
        std::env::var("DENBUN_CRASH_KILLS").ok().and_then(|text| text.parse().ok()).unwrap_or(KILLS_DEFAULT);
    let started_setup = Instant::now();
    let scratch = tempfile::tempdir().unwrap();
    let mut center = ChildCenter::init(scratch.path().join("center"));
    center.allow_many_terminals_from_one_address();
    center.start();
    let identity = center.identity();
    let address = center.address.clone();

    // A store with a catalog of one service, then members with funded cards.
    let mut store_terminal = RawTerminal::connect(address.parse().unwrap(), &identity).await.unwrap();
    let store_number = store_terminal.apply(Applicant::Store(Text::new("Crash Test Shop").unwrap())).await;
    let mut store = TestParty::new(store_number);
    let fingerprint = identity.fingerprint();
    let answer = store.send_registration(&mut store_terminal, &fingerprint, center.activation_code(store_number)).await;
    assert_eq!(answer.code(), Code::REGISTRATION_CERTIFICATE, "{answer:?}");
    let item = CatalogItem {
        item_id: 1,
        title: Text::new("One minute of service").unwrap(),
        description: Text::new("Bought again and again").unwrap(),
        price: Amount::new(ITEM_PRICE_YEN).unwrap(),
        kind: ItemKind::Service,
    };
    let publish = CatalogPublish { version: 1, part_index: 0, part_count: 1, items: List::new(vec![item]).unwrap() };
    let published = store_terminal.exchange(&store.request(&fingerprint, publish)).await;
    assert_eq!(published.code(), Code::CATALOG_PUBLISH_ANSWER, "{published:?}");
    let store_number = StoreNumber::try_from(store_number).unwrap();

    let keys_directory = scratch.path().join("terminals");
    std::fs::create_dir_all(&keys_directory).unwrap();
    let mut members = Vec::with_capacity(TERMINALS);
    for index in 0..TERMINALS {
        let mut member = register_member(&center, &identity, &keys_directory, index).await;
        member.submit(top_up()).await;
        members.push(member);
    }

    let setup_seconds = started_setup.elapsed().as_secs_f64();
    // The load: each terminal pays and tops up until the supervisor is done.
    let started = Instant::now();
    let killing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let members = Arc::new(Mutex::new(Some(members)));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..TERMINALS {
        let mut member = members.lock().unwrap().as_mut().unwrap().pop().unwrap();
        let killing = killing.clone();
        let address = address.clone();
        let identity = identity.clone();
        workers.spawn(async move {
            // Four payments of 100 yen, then a top-up of 1,000: the balance only grows.
            let mut executed = 0usize;
            for _ in 0..OPERATIONS_PER_TERMINAL_MAX {
                if !killing.load(std::sync::atomic::Ordering::Relaxed) || started.elapsed() > RUN_TIME_MAX {
                    break;
                }
                if !member.ensure_session(&address, &identity).await {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                let body = if executed % 5 == 4 { top_up() } else { payment(store_number) };
                executed += 1;
                member.submit(body).await;
            }
            member
        });
    }

    let supervisor = tokio::task::spawn_blocking(move || {
        for _ in 0..kills {
            std::thread::sleep(Duration::from_millis(100 + u64::from(OsRng.next_u32() % 500)));
            center.kill();
            center.start();
        }
        center
    });
    let mut center = supervisor.await.unwrap();
    killing.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut members: Vec<Member> = Vec::new();
    while let Some(member) = workers.join_next().await {
        members.push(member.unwrap());
    }
    let load_seconds = started.elapsed().as_secs_f64();

    // Every outbox empties once the center stays up.
    for member in &mut members {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !member.vault.outbox().is_empty() || member.session.is_none() {
            assert!(Instant::now() < deadline, "an outbox did not empty");
            if !member.ensure_session(&address, &identity).await {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        assert!(member.vault.outbox().is_empty());
    }

    // What every terminal holds is what the center has.
    let operator_key = center.data.join("operators/O001.key");
    let mut operator = Operator::sign_on(
        &center.data.join("center.pub"),
        &operator_key,
        &Password::new(CHILD_OPERATOR_PASSWORD_A.to_owned()),
        &Password::new(CHILD_OPERATOR_PASSWORD_B.to_owned()),
    )
    .await
    .unwrap();
    let mut payments = 0usize;
    for member in &members {
        let number = denbun_protocol::header::MemberNumber::try_from(member.vault.profile().party).unwrap();
        let answer = operator.request(Inquiry::Member(number)).await.unwrap();
        let Body::InquiryAnswer(InquiryAnswer::Member(detail)) = answer.body() else { panic!("{answer:?}") };
        let receipts = &member.receipts;
        assert_eq!(
            Some(detail.balance.get()),
            receipts.last_balance,
            "{number}: balance differs from its last receipt"
        );
        assert_eq!(detail.purchases as usize, receipts.payments.len(), "{number}: purchases differ from its receipts");
        assert_eq!(detail.cards, receipts.cards, "{number}: cards differ from its receipts");
        // Each inquiry is an operator telegram through the outbox (two fsynced
        // saves); the counts above cover every receipt, so a sample suffices here.
        for transaction in receipts.payments.iter().take(TRANSACTIONS_CHECKED_PER_MEMBER) {
            let answer = operator.request(Inquiry::Transaction(*transaction)).await.unwrap();
            assert!(matches!(answer.body(), Body::InquiryAnswer(InquiryAnswer::Transaction(_))), "{answer:?}");
        }
        payments += receipts.payments.len();
    }
    drop(operator);
    center.stop();
    let report = center.assert_audit_passes();
    let refusals: Vec<&String> = members.iter().flat_map(|member| &member.receipts.refusals).collect();
    assert!(refusals.is_empty(), "a balance that only grows refuses nothing, but: {refusals:#?}");
    println!(
        "crash test: {kills} kills, {} starts, {TERMINALS} terminals, {payments} payments acknowledged, \
         {} refusals; setup {setup_seconds:.1} s, load under kills {load_seconds:.1} s, total {:.1} s\n{report}",
        center.starts,
        members.iter().map(|member| member.receipts.refused).sum::<u32>(),
        started_setup.elapsed().as_secs_f64(),
    );
}
