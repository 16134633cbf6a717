//! Terminals that pay and top up through the client library's outbox and
//! keep every signed answer as a receipt, so a test can check afterwards
//! that what the terminals hold is what the center has: the guarantees
//! every fault test ends with (docs/reliability.md).
//!
//! Members register straight with the center; the load then goes to any
//! address (the center, or a faulty [`crate::proxy::Proxy`] in front of it).

use std::path::Path;
use std::time::{Duration, Instant};

use denbun_center::operator::Operator;
use denbun_client::keys::generate_member_keys;
use denbun_client::session::{Completed, Session, SessionConfig, SubmitError, run_outbox, submit};
use denbun_client::vault::{NewVault, UnlockedVault, Vault, VaultConfig};
use denbun_protocol::header::{Code, MemberNumber, StoreNumber};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{Password, Profile};
use denbun_protocol::telegram::Body;
use denbun_protocol::telegram::card::{CardAnswer, CardRequest, FundingChannel};
use denbun_protocol::telegram::catalog::{CatalogItem, CatalogPublish, ItemKind};
use denbun_protocol::telegram::inquiry::{Inquiry, InquiryAnswer};
use denbun_protocol::telegram::payment::{OrderLine, PaymentInstruction};
use denbun_protocol::telegram::registration::Applicant;
use denbun_protocol::wire::{Amount, List, Text};
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};

use crate::{CHILD_OPERATOR_PASSWORD_A, CHILD_OPERATOR_PASSWORD_B, ChildCenter, RawTerminal, TestParty, personal_data};

/// The price of the one item every payment buys.
pub const ITEM_PRICE_YEN: u64 = 100;
/// What every top-up adds.
pub const TOP_UP_YEN: u64 = 1_000;

/// What a member's terminal holds: one receipt per answer.
#[derive(Debug, Default)]
pub struct Receipts {
    /// Transaction numbers of acknowledged payments.
    pub payments: Vec<u64>,
    /// Cards issued.
    pub cards: u32,
    /// The balance on the newest receipt.
    pub last_balance: Option<u64>,
    /// Refusals that retrying cannot change (none expected: balances only grow).
    pub refusals: Vec<String>,
}

impl Receipts {
    fn record(&mut self, body: &Body) {
        match body {
            Body::PaymentAnswer(answer) => {
                self.payments.push(answer.transaction_number);
                self.last_balance = Some(answer.balance.get());
            }
            Body::CardAnswer(CardAnswer::Issued(issued)) => {
                self.cards += 1;
                self.last_balance = Some(issued.balance.get());
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
}

/// One member's terminal.
pub struct FleetMember {
    vault: UnlockedVault,
    key: SigningKey,
    session: Option<Session>,
    /// What it holds.
    pub receipts: Receipts,
    /// Telegrams it signed.
    pub signed: usize,
}

impl FleetMember {
    /// Connects (again) and sends what waits in the outbox; false while the line or the center is down.
    async fn settle_outbox(&mut self, address: &str, identity: &CenterIdentity) -> bool {
        if self.session.is_none() {
            match Session::connect(address, identity, SessionConfig::default()).await {
                Ok(session) => self.session = Some(session),
                Err(_) => return false,
            }
        }
        let session = self.session.as_ref().expect("just set");
        let report = run_outbox(&mut self.vault, session).await.expect("the outbox is readable");
        for completed in &report.completed {
            match completed {
                Completed::Answered { answer, .. } => self.receipts.record(answer.body()),
                Completed::Refused { rejection, .. } => self.receipts.refusals.push(rejection.to_string()),
            }
        }
        if report.stopped.is_some() {
            self.session = None;
            return false;
        }
        true
    }

    async fn submit(&mut self, body: Body) {
        let session = self.session.as_ref().expect("connected");
        self.signed += 1;
        match submit(&mut self.vault, session, &self.key, body).await {
            Ok(answer) => self.receipts.record(answer.body()),
            Err(SubmitError::Refused { rejection, .. }) => self.receipts.refusals.push(rejection.to_string()),
            // The line went down, or a transient refusal: it waits in the outbox.
            Err(SubmitError::NotAnswered { .. }) => self.session = None,
            Err(error) => panic!("submit failed: {error}"),
        }
    }

    /// The member's number.
    pub fn party(&self) -> denbun_protocol::header::PartyId {
        self.vault.profile().party
    }

    /// Whether the outbox is empty.
    pub fn outbox_is_empty(&self) -> bool {
        self.vault.outbox().is_empty()
    }
}

/// A store with one item, and members who buy it.
pub struct Fleet {
    /// The members' terminals.
    pub members: Vec<FleetMember>,
    store: StoreNumber,
    identity: CenterIdentity,
}

impl Fleet {
    /// Registers a store and `count` members at the running `center`
    /// (directly, not through any proxy), each with one funded card.
    pub async fn register(center: &ChildCenter, directory: &Path, count: usize) -> Fleet {
        let identity = center.identity();
        let fingerprint = identity.fingerprint();
        let mut terminal = center.connect().await;
        let store_number = terminal.apply(Applicant::Store(Text::new("Fleet Shop").expect("short"))).await;
        let mut store = TestParty::new(store_number);
        let answer = store.send_registration(&mut terminal, &fingerprint, center.activation_code(store_number)).await;
        assert_eq!(answer.code(), Code::REGISTRATION_CERTIFICATE, "{answer:?}");
        let item = CatalogItem {
            item_id: 1,
            title: Text::new("One minute of service").expect("short"),
            description: Text::new("Bought again and again").expect("short"),
            price: Amount::new(ITEM_PRICE_YEN).expect("an amount"),
            kind: ItemKind::Service,
        };
        let publish = CatalogPublish {
            version: 1,
            part_index: 0,
            part_count: 1,
            items: List::new(vec![item]).expect("one item"),
        };
        let published = terminal.exchange(&store.request(&fingerprint, publish)).await;
        assert_eq!(published.code(), Code::CATALOG_PUBLISH_ANSWER, "{published:?}");
        std::fs::create_dir_all(directory).expect("the terminals' directory");
        let mut members = Vec::with_capacity(count);
        for index in 0..count {
            let mut member = register_member(center, &identity, &mut terminal, directory, index).await;
            member.submit(top_up()).await;
            members.push(member);
        }
        let store = StoreNumber::try_from(store_number).expect("a store");
        Fleet { members, store, identity }
    }

    /// Every member pays (four payments, then a top-up, again and again)
    /// through `address`, `operations` telegrams each, all members at once.
    /// Whatever a fault leaves unanswered waits in the outboxes.
    pub async fn run(&mut self, address: &str, operations: usize, deadline: Duration) {
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for mut member in self.members.drain(..) {
            let address = address.to_owned();
            let identity = self.identity.clone();
            let store = self.store;
            workers.spawn(async move {
                // The load goes through `address`, not the line registration used.
                member.session = None;
                let mut executed = 0usize;
                // Bounded by `operations` telegrams and by reconnection attempts.
                for _ in 0..operations * 20 {
                    if executed == operations || started.elapsed() > deadline {
                        break;
                    }
                    if !member.settle_outbox(&address, &identity).await {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    let body = if executed % 5 == 4 { top_up() } else { payment(store) };
                    executed += 1;
                    member.submit(body).await;
                }
                member
            });
        }
        while let Some(member) = workers.join_next().await {
            self.members.push(member.expect("a terminal task"));
        }
    }

    /// Sends what waits in every outbox through `address` until all are
    /// empty (the faults must be off by now); fails after `deadline`.
    pub async fn drain(&mut self, address: &str, deadline: Duration) {
        let until = Instant::now() + deadline;
        for member in &mut self.members {
            while !member.outbox_is_empty() || member.session.is_none() {
                assert!(Instant::now() < until, "an outbox did not empty");
                if !member.settle_outbox(address, &self.identity).await {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        for member in &mut self.members {
            member.session = None;
        }
    }

    /// Asserts that what every terminal holds is what the running center
    /// has: each balance is the one on the member's newest receipt, and the
    /// center counts as many purchases and cards as the member holds
    /// receipts for. Returns the payments acknowledged.
    pub async fn assert_center_agrees(&self, center: &ChildCenter) -> usize {
        let mut operator = Operator::sign_on(
            &center.data.join("center.pub"),
            &center.data.join("operators/O001.key"),
            &Password::new(CHILD_OPERATOR_PASSWORD_A.to_owned()),
            &Password::new(CHILD_OPERATOR_PASSWORD_B.to_owned()),
        )
        .await
        .expect("the operator signs on");
        let mut payments = 0;
        for member in &self.members {
            assert!(member.outbox_is_empty(), "an outbox is not empty");
            let refusals = &member.receipts.refusals;
            assert!(refusals.is_empty(), "balances only grow, yet: {refusals:?}");
            let number = MemberNumber::try_from(member.vault.profile().party).expect("a member");
            let answer = operator.request(Inquiry::Member(number)).await.expect("an inquiry");
            let Body::InquiryAnswer(InquiryAnswer::Member(detail)) = answer.body() else { panic!("{answer:?}") };
            let receipts = &member.receipts;
            assert_eq!(Some(detail.balance.get()), receipts.last_balance, "{number}: balance differs from its receipt");
            assert_eq!(detail.purchases as usize, receipts.payments.len(), "{number}: purchases differ");
            assert_eq!(detail.cards, receipts.cards, "{number}: cards differ");
            payments += receipts.payments.len();
        }
        payments
    }
}

async fn register_member(
    center: &ChildCenter,
    identity: &CenterIdentity,
    terminal: &mut RawTerminal,
    directory: &Path,
    index: usize,
) -> FleetMember {
    let party = terminal.apply(Applicant::Member).await;
    let keys = generate_member_keys(&mut OsRng, None);
    let password_b = Password::new(format!("member {index} B"));
    let mut vault = Vault::create(
        &directory.join(format!("member-{index}.key")),
        NewVault {
            profile: Profile { party, name: Text::new(format!("Member {index}")).expect("short") },
            center: identity.clone(),
            keys,
        },
        &Password::new(format!("member {index} A")),
        &password_b,
        VaultConfig::test_only_fast(),
        &mut OsRng,
    )
    .expect("create the key file");
    let key = vault.signing_key(&password_b).expect("password B").signing_key().clone();
    let session = Session::connect(&center.address, identity, SessionConfig::default()).await.expect("connect");
    let registration = denbun_protocol::telegram::registration::Registration {
        activation_code: center.activation_code(party),
        personal: personal_data(),
        store: None,
        verification_key: key.verifying_key(),
        delivery_key: x25519_dalek::PublicKey::from(vault.contents().delivery_public_key),
    };
    let answer = submit(&mut vault, &session, &key, registration).await.expect("register");
    assert_eq!(answer.telegram().code(), Code::REGISTRATION_CERTIFICATE);
    FleetMember { vault, key, session: Some(session), receipts: Receipts::default(), signed: 0 }
}

fn payment(store: StoreNumber) -> Body {
    let line = OrderLine { item_id: 1, quantity: 1, unit_price: Amount::new(ITEM_PRICE_YEN).expect("an amount") };
    PaymentInstruction {
        transaction_number: OsRng.next_u64() | 1,
        store,
        catalog_version: 1,
        lines: List::new(vec![line]).expect("one line"),
        total: Amount::new(ITEM_PRICE_YEN).expect("an amount"),
    }
    .into()
}

fn top_up() -> Body {
    CardRequest { amount: Amount::new(TOP_UP_YEN).expect("an amount"), channel: FundingChannel::CreditCompany }.into()
}
