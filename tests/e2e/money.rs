//! Money end to end (issue 5): members and stores with real key files use
//! the client library (`denbun_client::money`) against the real center on
//! 127.0.0.1; the operator signs on through a raw terminal and acts with
//! signed operator telegrams. State is read through the protocol (operator
//! inquiry 9600, statements 7200, notices), never from storage, and every
//! test ends with the audit.

mod binary;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use denbun_client::keys::generate_member_keys;
use denbun_client::money::notices::{self, GoodsKind};
use denbun_client::money::transfer::{Download, Upload, part_path};
use denbun_client::money::{self, Catalog, MoneyError, Wanted};
use denbun_client::services::request_signed;
use denbun_client::session::{
    Completed, Session, SessionConfig, SessionError, SubmitError, compose, run_outbox, submit,
};
use denbun_client::vault::{NewVault, UnlockedVault, Vault, VaultConfig};
use denbun_protocol::header::{Code, MemberNumber, PartyId, StoreNumber};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{Password, Profile};
use denbun_protocol::limits::{DELIVERY_CHUNK_BYTES_MAX, DELIVERY_PLAINTEXT_CHUNK_BYTES, MAILBOX_BATCH_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::sign::Signer;
use denbun_protocol::telegram::{
    AccountState, AccountType, Applicant, AscendingNumbers, BalanceRefund, BankAccount, BatchSummary, Body, CardAnswer,
    CatalogItem, DateRange, DeliveryFetch, DigitalContent, Digits, EntryKind, ExportChunk, ExportFormat, FreezeAction,
    FreezeAnswer, FreezeRequest, FundingChannel, FundsAnswer, FundsConfirmation, FundsRequest, Inquiry, InquiryAnswer,
    ItemKind, MemberDetail, PageRequest, PayoutApproval, PayoutExecution, PayoutExport, PayoutsAnswer, PayoutsRequest,
    Registration, Report, ReportRequest, SignOn, StoreDetail, StoreRegistration, Telegram, TransactionDetail,
    TransactionState,
};
use denbun_protocol::wire::{Amount, Date, Text};
use denbun_tests::{RawTerminal, TestCenter, TestParty, now_ms, personal_data};
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CHUNK_BYTES: u64 = DELIVERY_CHUNK_BYTES_MAX as u64;
/// The center's business days start at midnight in Japan.
const UTC_OFFSET_HOURS: i8 = 9;

/// A center whose sessions may sit idle for as long as a slow machine needs
/// between steps (the raw operator terminal answers no echo probes).
async fn start_center() -> TestCenter {
    TestCenter::start_with(|config| {
        config.limits.idle_timeout_ms = 600_000;
        config.limits.sign_on_timeout_ms = 600_000;
    })
    .await
}

fn amount(yen: u64) -> Amount {
    Amount::new(yen).unwrap()
}

fn today() -> Date {
    denbun_center::ledger::business_day(now_ms(), UTC_OFFSET_HOURS)
}

fn service(item_id: u32, title: &str, price_yen: u64) -> CatalogItem {
    CatalogItem {
        item_id,
        title: Text::new(title).unwrap(),
        description: Text::new(format!("{title}, described")).unwrap(),
        price: amount(price_yen),
        kind: ItemKind::Service,
    }
}

fn mail_order(item_id: u32, title: &str, price_yen: u64) -> CatalogItem {
    CatalogItem { kind: ItemKind::MailOrder, ..service(item_id, title, price_yen) }
}

fn digital(item_id: u32, title: &str, price_yen: u64, content: &[u8]) -> CatalogItem {
    let kind = ItemKind::Digital(DigitalContent {
        content_bytes: denbun_protocol::telegram::ContentBytes::new(content.len() as u64).unwrap(),
        content_sha256: Sha256::digest(content).into(),
    });
    CatalogItem { kind, ..service(item_id, title, price_yen) }
}

fn random_bytes(length: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; length];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn reason(error: &MoneyError) -> Option<RejectReason> {
    error.rejection().map(|rejection| rejection.reason)
}

/// A member or store terminal: its key file, signature key and a session
/// that is not signed on (business telegrams need none).
struct Account {
    directory: tempfile::TempDir,
    vault: UnlockedVault,
    key: SigningKey,
    session: Session,
    identity: CenterIdentity,
}

impl Account {
    /// Applies, reads the posted code and registers through the outbox.
    async fn register(center: &TestCenter, store: Option<(&str, BankAccount)>) -> Account {
        Account::register_with(center, store, VaultConfig::test_only_fast()).await
    }

    /// The same, with a key file made with `config`.
    async fn register_with(center: &TestCenter, store: Option<(&str, BankAccount)>, config: VaultConfig) -> Account {
        let mut raw = center.connect().await;
        let applicant = match &store {
            Some((trade_name, _)) => Applicant::Store(Text::new(*trade_name).unwrap()),
            None => Applicant::Member,
        };
        let party = raw.apply(applicant).await;
        let code = center.letter_for(party).activation_code;
        let directory = tempfile::tempdir().unwrap();
        let password_b = Password::new("password B".to_owned());
        let mut vault = Vault::create(
            &directory.path().join("denbun.key"),
            NewVault {
                profile: Profile { party, name: Text::new("Test").unwrap() },
                center: center.identity(),
                keys: generate_member_keys(&mut OsRng, None),
            },
            &Password::new("password A".to_owned()),
            &password_b,
            config,
            &mut OsRng,
        )
        .unwrap();
        let key = vault.signing_key(&password_b).unwrap().signing_key().clone();
        let identity = center.identity();
        let session = connect(&identity).await;
        let registration = Registration {
            activation_code: code,
            personal: personal_data(),
            store: store.map(|(trade_name, payout_account)| StoreRegistration {
                trade_name: Text::new(trade_name).unwrap(),
                payout_account,
            }),
            verification_key: key.verifying_key(),
            delivery_key: x25519_dalek::PublicKey::from(vault.contents().delivery_public_key),
        };
        let answer = submit(&mut vault, &session, &key, registration).await.unwrap();
        assert_eq!(answer.telegram().code(), Code::REGISTRATION_CERTIFICATE);
        Account { directory, vault, key, session, identity }
    }

    async fn member(center: &TestCenter) -> Account {
        Account::register(center, None).await
    }

    async fn store(center: &TestCenter, trade_name: &str, account: BankAccount) -> Account {
        Account::register(center, Some((trade_name, account))).await
    }

    /// Closes the key file and the line, leaving the profile directory to
    /// the `denbun` binary (with a copy of the center's card).
    fn into_profile(self) -> tempfile::TempDir {
        use denbun_client::vault::IdentityCardFile;
        self.identity.write(&self.directory.path().join("center.pub")).unwrap();
        self.directory
    }

    fn party(&self) -> PartyId {
        self.vault.profile().party
    }

    fn member_number(&self) -> MemberNumber {
        MemberNumber::try_from(self.party()).unwrap()
    }

    fn store_number(&self) -> StoreNumber {
        StoreNumber::try_from(self.party()).unwrap()
    }

    /// Signs on in a second session, keeps every waiting notice and
    /// acknowledges it; returns the new ones.
    async fn notices(&mut self) -> Vec<Telegram> {
        let session = self.signed_on().await;
        let notices = notices::collect_notices(&mut self.vault, &session).await.unwrap();
        session.ignore_notices().await.unwrap();
        notices
    }

    /// A new session signed on as this party.
    async fn signed_on(&mut self) -> Session {
        let session = connect(&self.identity).await;
        let number = self.vault.allocate_processing_number().unwrap();
        session.sign_on(&self.key, self.party(), number).await.unwrap();
        session
    }

    async fn top_up(&mut self, yen: u64) {
        let answer =
            money::top_up(&mut self.vault, &self.session, &self.key, amount(yen), FundingChannel::CreditCompany)
                .await
                .unwrap();
        assert!(matches!(answer, CardAnswer::Issued(_)), "{answer:?}");
    }

    async fn publish(&mut self, version: u32, items: Vec<CatalogItem>) {
        let answer =
            money::publish(&mut self.vault, &self.session, &self.key, version, items, |_, _| {}).await.unwrap();
        assert!(answer.published, "{answer:?}");
    }

    async fn catalog(&mut self, store: StoreNumber) -> Catalog {
        money::whole_catalog(&mut self.vault, &self.session, &self.key, store).await.unwrap()
    }

    /// Pays for `wanted` at the store's current prices.
    async fn buy(&mut self, store: StoreNumber, wanted: &[(u32, u16)]) -> Result<(u64, u64), MoneyError> {
        let catalog = self.catalog(store).await;
        let wanted: Vec<Wanted> = wanted.iter().map(|&(item_id, quantity)| Wanted { item_id, quantity }).collect();
        let instruction = money::instruction(&catalog, &wanted, money::random_transaction_number()).unwrap();
        let transaction_number = instruction.transaction_number;
        let answer = money::pay(&mut self.vault, &self.session, &self.key, instruction).await?;
        Ok((transaction_number, answer.balance.get()))
    }
}

async fn connect(identity: &CenterIdentity) -> Session {
    Session::connect(identity.address.as_str(), identity, SessionConfig::default()).await.unwrap()
}

/// The same center reached at another address (through a proxy).
fn at(identity: &CenterIdentity, address: SocketAddr) -> CenterIdentity {
    let mut identity = identity.clone();
    identity.address = Text::new(address.to_string()).unwrap();
    identity
}

fn bank_account(bank: &str, branch: &str, account_type: AccountType, number: &str, holder: &str) -> BankAccount {
    BankAccount {
        bank_code: Digits::new(bank).unwrap(),
        branch_code: Digits::new(branch).unwrap(),
        account_type,
        account_number: Digits::new(number).unwrap(),
        holder_name: Text::new(holder).unwrap(),
    }
}

fn yamada_account() -> BankAccount {
    bank_account("0005", "123", AccountType::Ordinary, "7654321", "ﾔﾏﾀﾞ ｼｮｳﾃﾝ")
}

fn kawa_account() -> BankAccount {
    bank_account("0009", "001", AccountType::Current, "0000001", "Kawa Books")
}

/// The first operator, signed on through a raw terminal.
struct Operator {
    party: TestParty,
    terminal: RawTerminal,
    fingerprint: denbun_protocol::sign::CenterFingerprint,
}

impl Operator {
    async fn sign_on(center: &mut TestCenter) -> Operator {
        let mut party = std::mem::replace(&mut center.operator, TestParty::new(PartyId::operator(1).unwrap()));
        let mut terminal = center.connect().await;
        let fingerprint = center.fingerprint();
        let number = party.next_processing_number();
        let sign_on = Signer::new(party.id, &party.signing_key, fingerprint)
            .unwrap()
            .sign_on(
                number,
                now_ms(),
                SignOn { software_version: Text::new("e2e").unwrap() },
                &terminal.handshake_hash(),
            )
            .unwrap();
        assert_eq!(terminal.exchange(&sign_on).await.code(), Code::SIGN_ON_ANSWER);
        Operator { party, terminal, fingerprint }
    }

    async fn ask(&mut self, body: impl Into<Body>) -> Body {
        let request = self.party.request(&self.fingerprint, body);
        let answer = self.terminal.exchange(&request).await;
        assert_ne!(answer.code(), Code::REJECT, "the operator was refused: {answer:?}");
        answer.into_body()
    }

    async fn confirm(&mut self, reference: &str, received_yen: u64) -> denbun_protocol::telegram::FundsConfirmed {
        let confirmation =
            FundsConfirmation { reference: Text::new(reference).unwrap(), amount_received: amount(received_yen) };
        match self.ask(FundsRequest::Confirm(confirmation)).await {
            Body::FundsAnswer(FundsAnswer::Confirmed(confirmed)) => confirmed,
            other => panic!("expected a confirmation, got {other:?}"),
        }
    }

    async fn freeze(&mut self, party: PartyId, action: FreezeAction) -> FreezeAnswer {
        let request = FreezeRequest { party, action, reason: Text::new("e2e inquiry").unwrap() };
        match self.ask(request).await {
            Body::FreezeAnswer(answer) => answer,
            other => panic!("expected a freeze answer, got {other:?}"),
        }
    }

    async fn member(&mut self, member: MemberNumber) -> MemberDetail {
        match self.ask(Inquiry::Member(member)).await {
            Body::InquiryAnswer(InquiryAnswer::Member(detail)) => detail,
            other => panic!("expected a member, got {other:?}"),
        }
    }

    async fn store(&mut self, store: StoreNumber) -> StoreDetail {
        match self.ask(Inquiry::Store(store)).await {
            Body::InquiryAnswer(InquiryAnswer::Store(detail)) => detail,
            other => panic!("expected a store, got {other:?}"),
        }
    }

    async fn transaction(&mut self, transaction_number: u64) -> TransactionDetail {
        match self.ask(Inquiry::Transaction(transaction_number)).await {
            Body::InquiryAnswer(InquiryAnswer::Transaction(detail)) => detail,
            other => panic!("expected a transaction, got {other:?}"),
        }
    }

    async fn payouts(&mut self, request: PayoutsRequest) -> PayoutsAnswer {
        match self.ask(request).await {
            Body::PayoutsAnswer(answer) => answer,
            other => panic!("expected a payouts answer, got {other:?}"),
        }
    }

    async fn export(&mut self, batch_number: u64, format: ExportFormat) -> Vec<u8> {
        let mut file = Vec::new();
        // Bounded: a batch's file is far below 100 pieces.
        for _ in 0..100 {
            let request = PayoutExport { batch_number, format, offset: file.len() as u64 };
            let PayoutsAnswer::Export(ExportChunk { data, file_bytes, offset, .. }) =
                self.payouts(PayoutsRequest::Export(request)).await
            else {
                panic!("expected a piece of the file")
            };
            assert_eq!(offset, file.len() as u64);
            file.extend_from_slice(data.as_slice());
            if file.len() as u64 == file_bytes {
                return file;
            }
        }
        panic!("the export did not end")
    }

    async fn report(&mut self, from: Date, to: Date) -> Report {
        match self.ask(ReportRequest { range: DateRange::new(from, to).unwrap() }).await {
            Body::Report(report) => report,
            other => panic!("expected a report, got {other:?}"),
        }
    }
}

/// A member with a funded card and a registered store selling `items`.
async fn shop(center: &mut TestCenter, items: Vec<CatalogItem>, funds_yen: u64) -> (Operator, Account, Account) {
    let operator = Operator::sign_on(center).await;
    let mut store = Account::store(center, "Yamada Shoten", yamada_account()).await;
    store.publish(1, items).await;
    let mut member = Account::member(center).await;
    if funds_yen > 0 {
        member.top_up(funds_yen).await;
    }
    (operator, store, member)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_funding_channel_issues_a_card_credit_at_once_transfers_when_confirmed() {
    let mut center = start_center().await;
    let mut operator = Operator::sign_on(&mut center).await;
    let mut member = Account::member(&center).await;
    let number = member.member_number();
    let first_day = today();

    let credit =
        money::top_up(&mut member.vault, &member.session, &member.key, amount(10_000), FundingChannel::CreditCompany)
            .await
            .unwrap();
    let CardAnswer::Issued(issued) = credit else { panic!("credit issues at once: {credit:?}") };
    assert_eq!((issued.card.face_value.get(), issued.balance.get()), (10_000, 10_000));

    let mut references = BTreeMap::new();
    for (channel, yen, prefix) in [
        (FundingChannel::BankTransfer, 20_000, "BT-"),
        (FundingChannel::PostOfficeTransfer, 5_000, "PO-"),
        (FundingChannel::RegisteredMailCash, 3_000, "RM-"),
    ] {
        let answer =
            money::top_up(&mut member.vault, &member.session, &member.key, amount(yen), channel).await.unwrap();
        let CardAnswer::Pending(pending) = answer else { panic!("{channel:?} waits for the money: {answer:?}") };
        assert!(pending.reference.starts_with(prefix), "{:?}", pending.reference);
        assert_eq!(pending.amount.get(), yen);
        assert!(pending.instructions.contains(pending.reference.as_str()), "{:?}", pending.instructions);
        references.insert(prefix, pending.reference.as_str().to_owned());
    }
    // Nothing is issued before the money arrives.
    assert_eq!(operator.member(number).await.balance.get(), 10_000);
    let Body::FundsAnswer(FundsAnswer::Pending(pending)) =
        operator.ask(FundsRequest::Pending(PageRequest { page: 0 })).await
    else {
        panic!("expected the pending funds")
    };
    let listed: BTreeSet<String> = pending.rows.iter().map(|row| row.reference.as_str().to_owned()).collect();
    assert_eq!(listed, references.values().cloned().collect());

    // The operator confirms what arrived: the amount received is issued,
    // however the operator types the reference.
    let bank = operator.confirm(&references["BT-"], 20_000).await;
    assert_eq!((bank.member, bank.card.face_value.get()), (number, 20_000));
    let post = operator.confirm(&references["PO-"], 4_500).await;
    assert_eq!(post.card.face_value.get(), 4_500, "a different amount received issues what was received");
    let typed = references["RM-"].to_lowercase().replace('-', " ");
    assert_eq!(operator.confirm(&typed, 3_000).await.card.face_value.get(), 3_000);
    let Body::FundsAnswer(FundsAnswer::Pending(pending)) =
        operator.ask(FundsRequest::Pending(PageRequest { page: 0 })).await
    else {
        panic!("expected the pending funds")
    };
    assert!(pending.rows.is_empty(), "{pending:?}");

    // The member gets a signed issue notice for every card, kept in its history.
    let notices = member.notices().await;
    let issued: Vec<(u64, Option<String>)> = notices
        .iter()
        .filter_map(|notice| match notice.body() {
            Body::CardIssueNotice(card) => {
                Some((card.card.face_value.get(), card.reference.as_ref().map(|text| text.as_str().to_owned())))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        issued,
        [
            (10_000, None),
            (20_000, Some(references["BT-"].clone())),
            (4_500, Some(references["PO-"].clone())),
            (3_000, Some(references["RM-"].clone())),
        ]
    );
    assert!(
        notices.iter().all(|notice| member
            .vault
            .history()
            .iter()
            .any(|entry| entry.receipt.as_slice() == notice.as_bytes()))
    );
    assert!(member.notices().await.is_empty(), "acknowledged notices do not come again");

    let detail = operator.member(number).await;
    assert_eq!((detail.balance.get(), detail.cards), (37_500, 4));
    // The member's signed statement says the same.
    let session = member.signed_on().await;
    session.ignore_notices().await.unwrap();
    let range = DateRange::new(first_day, today()).unwrap();
    let pages = money::statement(&mut member.vault, &session, &member.key, range).await.unwrap();
    let (statement, _) = &pages[0];
    assert_eq!((pages.len(), statement.opening_balance.get(), statement.closing_balance.get()), (1, 0, 37_500));
    let kinds: Vec<(EntryKind, u64)> = statement.lines.iter().map(|line| (line.kind, line.amount.get())).collect();
    assert_eq!(
        kinds,
        [
            (EntryKind::CardIssued, 10_000),
            (EntryKind::CardIssued, 20_000),
            (EntryKind::CardIssued, 4_500),
            (EntryKind::CardIssued, 3_000)
        ]
    );
    center.assert_audit_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digital_purchase_is_sealed_relayed_checked_acknowledged_and_receipted() {
    let mut center = start_center().await;
    let content = random_bytes(DELIVERY_PLAINTEXT_CHUNK_BYTES * 2 + 1_000);
    let items = vec![digital(1, "Tea guide", 1_500, &content), service(2, "Lesson", 500)];
    let (mut operator, mut store, mut member) = shop(&mut center, items, 10_000).await;
    let (transaction, balance) = member.buy(store.store_number(), &[(1, 1)]).await.unwrap();
    assert_eq!(balance, 8_500);

    // The store's payment notice carries the member's registered delivery key.
    store.notices().await;
    let receipts = notices::receipts(&store.vault, store.vault.center());
    let notice = notices::payment_notice(&receipts, transaction).expect("the store's payment notice");
    assert_eq!(notice.member_delivery_key.to_bytes(), member.vault.contents().delivery_public_key);
    let file = store.directory.path().join("tea-guide.pdf");
    std::fs::write(&file, &content).unwrap();
    let wrong = store.directory.path().join("other.pdf");
    std::fs::write(&wrong, random_bytes(content.len())).unwrap();
    let catalog = store.catalog(store.store_number()).await;
    let ItemKind::Digital(promised) = &catalog.item(1).unwrap().kind else { panic!("digital") };
    let refused = Upload::start(&notice, 1, &wrong, Some(promised)).unwrap_err();
    assert!(refused.to_string().contains("not item 1 as the catalog describes it"), "{refused}");

    let mut upload = Upload::start(&notice, 1, &file, Some(promised)).unwrap();
    let mut seen = Vec::new();
    upload.run(&mut store.vault, &store.session, &store.key, |done, total| seen.push((done, total))).await.unwrap();
    assert_eq!(seen.len(), 3, "one answer per chunk: {seen:?}");
    upload.keep_receipt(&mut store.vault).unwrap();

    // The member is told; the center relays sealed chunks it cannot read.
    member.notices().await;
    let receipts = notices::receipts(&member.vault, member.vault.center());
    let ready = notices::ready_notices(&receipts, transaction);
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].content_sha256, <[u8; 32]>::from(Sha256::digest(&content)));
    let fetch = DeliveryFetch { transaction_number: transaction, item_id: 1, offset: 0 };
    let answer = request_signed(&mut member.vault, &member.session, &member.key, fetch.clone()).await.unwrap();
    let Body::DeliveryChunk(sealed) = answer.body() else { panic!("{answer:?}") };
    let sealed = sealed.chunk.as_slice();
    assert_eq!(sealed.len(), DELIVERY_CHUNK_BYTES_MAX);
    assert!(!sealed.windows(32).any(|window| window == &content[..32]), "the relayed chunk is sealed");

    let output = member.directory.path().join("downloads").join("guide.pdf");
    std::fs::create_dir_all(output.parent().unwrap()).unwrap();
    let mut download = Download::open(&ready[0], &output).unwrap();
    download.run(&mut member.vault, &member.session, &member.key, |_, _| {}).await.unwrap();
    let digest = download.finish().unwrap();
    assert_eq!(std::fs::read(&output).unwrap(), content);
    let (receipt, telegram) =
        money::acknowledge(&mut member.vault, &member.session, &member.key, transaction, 1, digest).await.unwrap();
    telegram.verify(&center.verification_key(), &center.fingerprint()).expect("the receipt is signed by the center");
    assert_eq!((receipt.member, receipt.store), (member.member_number(), store.store_number()));
    assert_eq!(receipt.content_sha256, digest);
    assert!(member.vault.history().iter().any(|entry| entry.receipt.as_slice() == telegram.as_bytes()));
    // The same acknowledgement again gets the same receipt; the chunks are gone.
    let (again, _) =
        money::acknowledge(&mut member.vault, &member.session, &member.key, transaction, 1, digest).await.unwrap();
    assert_eq!(again, receipt);
    let gone = request_signed(&mut member.vault, &member.session, &member.key, fetch).await.unwrap_err();
    assert!(
        matches!(&gone, denbun_client::services::ServiceError::Session(error) if error.rejection().is_some_and(|r| r.reason == RejectReason::AlreadyDone)),
        "{gone}"
    );

    // The store learns it was delivered; the purchase counts as delivered.
    let delivered = store.notices().await;
    assert!(delivered.iter().any(|notice| matches!(notice.body(), Body::DeliveredNotice(done) if done.transaction_number == transaction && done.content_sha256 == digest)));
    assert_eq!(operator.transaction(transaction).await.state, TransactionState::Delivered);
    center.assert_audit_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_order_purchase_gets_a_shipment_notice() {
    let mut center = start_center().await;
    let (mut operator, mut store, mut member) =
        shop(&mut center, vec![mail_order(1, "Gyokuro, 100 g", 1_200)], 5_000).await;
    let (transaction, _) = member.buy(store.store_number(), &[(1, 2)]).await.unwrap();
    assert_eq!(operator.transaction(transaction).await.state, TransactionState::Paid);
    let shipped = money::ship(&mut store.vault, &store.session, &store.key, transaction, "Yamato", "1234-5678-9012")
        .await
        .unwrap();
    assert_eq!(shipped.member, member.member_number());
    // The same report again changes nothing.
    let again = money::ship(&mut store.vault, &store.session, &store.key, transaction, "Yamato", "1234-5678-9012")
        .await
        .unwrap();
    assert_eq!(again, shipped);

    let notices = member.notices().await;
    let shipments: Vec<_> = notices
        .iter()
        .filter_map(|notice| match notice.body() {
            Body::ShipmentNotice(shipment) => Some(shipment.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(shipments.len(), 1, "{notices:?}");
    assert_eq!(shipments[0].transaction_number, transaction);
    assert_eq!((shipments[0].carrier.as_str(), shipments[0].tracking.as_str()), ("Yamato", "1234-5678-9012"));
    assert_eq!(shipments[0].store, store.store_number());
    assert_eq!(operator.transaction(transaction).await.state, TransactionState::Delivered);
    center.assert_audit_passes();
}

/// Forwards one connection to `target` and cuts it (both ways) once
/// `to_center_bytes_max` bytes went to the center or `to_terminal_bytes_max`
/// came back: a line that drops halfway.
async fn cutting_proxy(target: SocketAddr, to_center_bytes_max: usize, to_terminal_bytes_max: usize) -> SocketAddr {
    async fn forward(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        bytes_max: usize,
    ) {
        let mut left = bytes_max;
        let mut buffer = vec![0u8; 16 * 1024];
        // Bounded by the budget: every round forwards at least one byte.
        while left > 0 {
            let read = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            let passed = read.min(left);
            if to.write_all(&buffer[..passed]).await.is_err() {
                return;
            }
            left -= passed;
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (terminal, _) = listener.accept().await.unwrap();
        let center = TcpStream::connect(target).await.unwrap();
        let (terminal_read, terminal_write) = terminal.into_split();
        let (center_read, center_write) = center.into_split();
        // When either direction is done, everything is dropped: the line is cut.
        tokio::select! {
            () = forward(terminal_read, center_write, to_center_bytes_max) => {}
            () = forward(center_read, terminal_write, to_terminal_bytes_max) => {}
        }
    });
    address
}

/// Bytes of one full delivery chunk telegram in its frame: prefix, Noise
/// tag, header, body (numbers, key, length and chunk) and signature.
const CHUNK_FRAME_BYTES: usize = 2 + 16 + 41 + (8 + 4 + 32 + 8 + 8 + 2 + DELIVERY_CHUNK_BYTES_MAX) + 64;
/// The handshake message each way, in its frame.
const HANDSHAKE_FRAME_BYTES: usize = 2 + 48;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_downloads_go_on_after_the_line_is_cut_halfway() {
    let mut center = start_center().await;
    let content = random_bytes(DELIVERY_PLAINTEXT_CHUNK_BYTES * 4 + 777);
    let (mut operator, mut store, mut member) =
        shop(&mut center, vec![digital(7, "Picture archive", 2_000, &content)], 10_000).await;
    let (transaction, _) = member.buy(store.store_number(), &[(7, 1)]).await.unwrap();
    store.notices().await;
    let receipts = notices::receipts(&store.vault, store.vault.center());
    let notice = notices::payment_notice(&receipts, transaction).unwrap();
    let file = store.directory.path().join("archive.zip");
    std::fs::write(&file, &content).unwrap();

    // The upload's line is cut in the middle of the third chunk.
    let mut upload = Upload::start(&notice, 7, &file, None).unwrap();
    let proxy = cutting_proxy(center.address, HANDSHAKE_FRAME_BYTES + CHUNK_FRAME_BYTES * 5 / 2, usize::MAX).await;
    let cut_session = connect(&at(&store.identity, proxy)).await;
    let error = upload.run(&mut store.vault, &cut_session, &store.key, |_, _| {}).await.unwrap_err();
    assert!(error.is_line_failure(), "{error}");
    assert_eq!(upload.offset(), 2 * CHUNK_BYTES, "the center confirmed two chunks before the cut");
    assert!(!upload.is_complete());
    // A new line: the upload goes on from what the center holds, with the same sealing.
    let mut sent = Vec::new();
    upload.run(&mut store.vault, &store.session, &store.key, |done, _| sent.push(done)).await.unwrap();
    assert_eq!(sent.first(), Some(&(3 * CHUNK_BYTES)), "it did not start over: {sent:?}");
    assert!(upload.is_complete());

    member.notices().await;
    let receipts = notices::receipts(&member.vault, member.vault.center());
    let ready = notices::ready_notices(&receipts, transaction).remove(0);
    let output = member.directory.path().join("archive.zip");
    // The download's line is cut while the third chunk comes back.
    let mut download = Download::open(&ready, &output).unwrap();
    let proxy = cutting_proxy(center.address, usize::MAX, HANDSHAKE_FRAME_BYTES + CHUNK_FRAME_BYTES * 5 / 2).await;
    let cut_session = connect(&at(&member.identity, proxy)).await;
    let error = download.run(&mut member.vault, &cut_session, &member.key, |_, _| {}).await.unwrap_err();
    assert!(error.is_line_failure(), "{error}");
    assert_eq!(download.offset(), 2 * CHUNK_BYTES);
    drop(download);
    // As after a crash: a new run keeps the two chunks opened in OUTPUT.part.
    assert_eq!(std::fs::metadata(part_path(&output)).unwrap().len(), 2 * DELIVERY_PLAINTEXT_CHUNK_BYTES as u64);
    let mut download = Download::open(&ready, &output).unwrap();
    assert_eq!(download.offset(), 2 * CHUNK_BYTES);
    let mut fetched = Vec::new();
    download.run(&mut member.vault, &member.session, &member.key, |done, _| fetched.push(done)).await.unwrap();
    assert_eq!(fetched.len(), 3, "only the missing chunks are fetched: {fetched:?}");
    let digest = download.finish().unwrap();
    assert_eq!(std::fs::read(&output).unwrap(), content);
    let (receipt, _) =
        money::acknowledge(&mut member.vault, &member.session, &member.key, transaction, 7, digest).await.unwrap();
    assert_eq!(receipt.content_sha256, <[u8; 32]>::from(Sha256::digest(&content)));
    assert_eq!(operator.transaction(transaction).await.state, TransactionState::Delivered);
    center.assert_audit_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_over_the_balance_is_refused_and_changes_nothing() {
    let mut center = start_center().await;
    let (mut operator, mut store, mut member) = shop(&mut center, vec![service(1, "Lesson", 1_500)], 1_000).await;
    let error = member.buy(store.store_number(), &[(1, 1)]).await.unwrap_err();
    assert_eq!(reason(&error), Some(RejectReason::InsufficientBalance), "{error}");
    assert!(matches!(error, MoneyError::Submit(SubmitError::Refused { .. })), "a final refusal: {error}");
    assert!(member.vault.outbox().is_empty(), "a refused payment leaves the outbox");
    let detail = operator.member(member.member_number()).await;
    assert_eq!((detail.balance.get(), detail.purchases), (1_000, 0));
    assert_eq!(operator.store(store.store_number()).await.payable.get(), 0);
    assert!(store.notices().await.is_empty(), "the store is told of nothing");
    center.assert_audit_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_that_do_not_match_the_current_catalog_version_are_refused() {
    let mut center = start_center().await;
    let (mut operator, mut store, mut member) = shop(&mut center, vec![service(1, "Lesson", 1_000)], 5_000).await;
    let store_number = store.store_number();
    let old = member.catalog(store_number).await;
    assert_eq!(old.version, 1);
    let wanted = [Wanted { item_id: 1, quantity: 1 }];
    // The store raises the price in version 2 while the member looks at version 1.
    store.publish(2, vec![service(1, "Lesson", 1_200)]).await;

    let stale = money::instruction(&old, &wanted, money::random_transaction_number()).unwrap();
    let error = money::pay(&mut member.vault, &member.session, &member.key, stale).await.unwrap_err();
    assert_eq!(reason(&error), Some(RejectReason::PriceMismatch), "{error}");
    // Quoting the new version with the old price is refused too.
    let mut quoted = money::instruction(&old, &wanted, money::random_transaction_number()).unwrap();
    quoted.catalog_version = 2;
    let error = money::pay(&mut member.vault, &member.session, &member.key, quoted).await.unwrap_err();
    assert_eq!(reason(&error), Some(RejectReason::PriceMismatch), "{error}");
    assert_eq!(operator.member(member.member_number()).await.balance.get(), 5_000);

    let current = member.catalog(store_number).await;
    assert_eq!(current.version, 2);
    let instruction = money::instruction(&current, &wanted, money::random_transaction_number()).unwrap();
    let paid = money::pay(&mut member.vault, &member.session, &member.key, instruction).await.unwrap();
    assert_eq!((paid.total.get(), paid.balance.get()), (1_200, 3_800));
    center.assert_audit_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_member_is_refused_until_unfrozen() {
    let mut center = start_center().await;
    let (mut operator, store, mut member) = shop(&mut center, vec![service(1, "Lesson", 700)], 2_000).await;
    let frozen = operator.freeze(member.party(), FreezeAction::Freeze).await;
    assert!(frozen.frozen && frozen.changed);
    assert_eq!(operator.member(member.member_number()).await.state, AccountState::Frozen);

    let catalog = Catalog { store: store.store_number(), version: 1, items: vec![service(1, "Lesson", 700)] };
    let instruction = money::instruction(&catalog, &[Wanted { item_id: 1, quantity: 1 }], 4_242).unwrap();
    let error = money::pay(&mut member.vault, &member.session, &member.key, instruction.clone()).await.unwrap_err();
    assert_eq!(reason(&error), Some(RejectReason::Frozen), "{error}");
    // The center keeps its signed refusal as the answer to that telegram, so
    // the terminal does not keep sending it: the outbox is free for later ones.
    assert!(member.vault.outbox().is_empty(), "{:?}", member.vault.outbox());
    let detail = operator.member(member.member_number()).await;
    assert_eq!((detail.balance.get(), detail.purchases), (2_000, 0));

    let unfrozen = operator.freeze(member.party(), FreezeAction::Unfreeze).await;
    assert!(!unfrozen.frozen && unfrozen.changed);
    let paid = money::pay(&mut member.vault, &member.session, &member.key, instruction).await.unwrap();
    assert_eq!((paid.transaction_number, paid.balance.get()), (4_242, 1_300));
    center.assert_audit_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_spending_one_balance_at_once_exactly_one_succeeds() {
    const SESSIONS: usize = 4;
    let mut center = start_center().await;
    let (mut operator, store, mut member) = shop(&mut center, vec![service(1, "Lesson", 700)], 1_000).await;
    let catalog = member.catalog(store.store_number()).await;
    // Each payment is signed into the outbox first, then all go at once, each on its own line.
    let mut telegrams = Vec::new();
    for _ in 0..SESSIONS {
        let instruction =
            money::instruction(&catalog, &[Wanted { item_id: 1, quantity: 1 }], money::random_transaction_number())
                .unwrap();
        telegrams.push(compose(&mut member.vault, &member.key, instruction).unwrap().1);
    }
    let mut lines = tokio::task::JoinSet::new();
    for telegram in telegrams {
        let session = connect(&member.identity).await;
        lines.spawn(async move { session.request(&telegram).await });
    }
    let mut answers = Vec::new();
    while let Some(answer) = lines.join_next().await {
        answers.push(answer.unwrap());
    }
    let paid = answers.iter().filter(|answer| answer.is_ok()).count();
    let refused = answers
        .iter()
        .filter(|answer| matches!(answer, Err(SessionError::Rejected(rejection)) if rejection.reason == RejectReason::InsufficientBalance))
        .count();
    assert_eq!((paid, refused), (1, SESSIONS - 1), "{answers:?}");

    // The outbox settles with the center's original answers.
    let report = run_outbox(&mut member.vault, &member.session).await.unwrap();
    assert!(report.is_complete() && member.vault.outbox().is_empty(), "{report:?}");
    let answered = report.completed.iter().filter(|completed| matches!(completed, Completed::Answered { .. })).count();
    assert_eq!(answered, 1);
    let detail = operator.member(member.member_number()).await;
    assert_eq!((detail.balance.get(), detail.purchases), (300, 1));
    assert_eq!(operator.store(store.store_number()).await.payable.get(), 700);
    center.assert_audit_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_payment_instruction_is_answered_again_and_debits_once() {
    let mut center = start_center().await;
    let (mut operator, mut store, mut member) = shop(&mut center, vec![service(1, "Lesson", 700)], 2_000).await;
    let catalog = member.catalog(store.store_number()).await;
    let instruction =
        money::instruction(&catalog, &[Wanted { item_id: 1, quantity: 1 }], money::random_transaction_number())
            .unwrap();

    // The same telegram (same processing number) twice: the same answer, byte for byte.
    let (_, telegram) = compose(&mut member.vault, &member.key, instruction.clone()).unwrap();
    let first = member.session.request(&telegram).await.unwrap();
    let repeat = member.session.request(&telegram.repeated().unwrap()).await.unwrap();
    assert_eq!(first.telegram().as_bytes(), repeat.telegram().as_bytes());
    let report = run_outbox(&mut member.vault, &member.session).await.unwrap();
    assert!(report.is_complete() && member.vault.outbox().is_empty());
    let Body::PaymentAnswer(paid) = first.body() else { panic!("{first:?}") };
    assert_eq!(paid.balance.get(), 1_300);

    // The same transaction number under another processing number: one debit.
    let again = money::pay(&mut member.vault, &member.session, &member.key, instruction).await.unwrap();
    assert_eq!(&again, paid, "the answer of the first time, balance included");
    let detail = operator.member(member.member_number()).await;
    assert_eq!((detail.balance.get(), detail.purchases), (1_300, 1));
    assert_eq!(operator.store(store.store_number()).await.payable.get(), 700);
    let sales = store.notices().await;
    assert_eq!(sales.iter().filter(|notice| matches!(notice.body(), Body::PaymentNotice(_))).count(), 1);
    center.assert_audit_passes();
}

/// A store's session gets every payment notice once and in order: the
/// first burst from its mailbox at sign-on (more wait than one burst
/// holds), the rest from the mailbox at the next notice, and from then on
/// each one as its group becomes durable, without reading the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_gets_every_payment_notice_once_in_order_from_sign_on_to_live() {
    const WAITING: usize = MAILBOX_BATCH_MAX + 6;
    const LIVE: usize = 3;
    let mut center = start_center().await;
    let (_operator, mut store, mut member) = shop(&mut center, vec![service(1, "Tea", 100)], 20_000).await;
    // The registration session may be signed on too; it must not hold the line.
    store.session.ignore_notices().await.unwrap();
    let store_number = store.store_number();
    let mut paid = Vec::new();
    for _ in 0..WAITING {
        paid.push(member.buy(store_number, &[(1, 1)]).await.unwrap().0);
    }

    let session = store.signed_on().await;
    let mut received = Vec::new();
    // One burst at sign-on, from the mailbox.
    take_payment_notices(&session, MAILBOX_BATCH_MAX, &mut received).await;
    assert_eq!(received, paid[..MAILBOX_BATCH_MAX]);
    // The next payment's notice brings the rest of the mailbox with it.
    paid.push(member.buy(store_number, &[(1, 1)]).await.unwrap().0);
    take_payment_notices(&session, WAITING + 1 - MAILBOX_BATCH_MAX, &mut received).await;
    assert_eq!(received, paid);
    // Caught up: each new notice comes on its own.
    for _ in 0..LIVE {
        paid.push(member.buy(store_number, &[(1, 1)]).await.unwrap().0);
        take_payment_notices(&session, 1, &mut received).await;
        assert_eq!(received, paid);
    }
    center.assert_audit_passes();
}

/// Waits for `count` payment notices on `session` and keeps their
/// transaction numbers.
async fn take_payment_notices(session: &Session, count: usize, received: &mut Vec<u64>) {
    for _ in 0..count {
        let notice = tokio::time::timeout(std::time::Duration::from_secs(20), session.next_notice())
            .await
            .expect("the notice arrives")
            .unwrap();
        let Body::PaymentNotice(payment) = notice.body() else { panic!("{:?}", notice.body()) };
        received.push(payment.transaction_number);
    }
}

async fn refund(
    store: &mut Account,
    transaction: u64,
    yen: u64,
) -> Result<denbun_protocol::telegram::RefundAnswer, MoneyError> {
    money::refund(&mut store.vault, &store.session, &store.key, transaction, amount(yen), "damaged in transit").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_add_up_to_at_most_what_was_paid() {
    let mut center = start_center().await;
    let (mut operator, mut store, mut member) = shop(&mut center, vec![service(1, "Lesson", 1_000)], 3_000).await;
    let (transaction, _) = member.buy(store.store_number(), &[(1, 1)]).await.unwrap();
    let error = refund(&mut store, transaction, 1_500).await.unwrap_err();
    assert_eq!(reason(&error), Some(RejectReason::LimitExceeded), "{error}");
    let first = refund(&mut store, transaction, 400).await.unwrap();
    assert_eq!((first.amount.get(), first.refunded_total.get()), (400, 400));
    let error = refund(&mut store, transaction, 601).await.unwrap_err();
    assert_eq!(reason(&error), Some(RejectReason::LimitExceeded), "{error}");
    let second = refund(&mut store, transaction, 600).await.unwrap();
    assert_eq!(second.refunded_total.get(), 1_000);
    let error = refund(&mut store, transaction, 1).await.unwrap_err();
    assert_eq!(reason(&error), Some(RejectReason::AlreadyDone), "{error}");

    let refunds: Vec<(u64, u64)> = member
        .notices()
        .await
        .iter()
        .filter_map(|notice| match notice.body() {
            Body::RefundNotice(refund) => Some((refund.amount.get(), refund.balance.get())),
            _ => None,
        })
        .collect();
    assert_eq!(refunds, [(400, 2_400), (600, 3_000)]);
    assert_eq!(operator.member(member.member_number()).await.balance.get(), 3_000);
    assert_eq!(operator.store(store.store_number()).await.payable.get(), 0);
    let detail = operator.transaction(transaction).await;
    assert_eq!((detail.refunded.get(), detail.state), (1_000, TransactionState::Refunded));
    center.assert_audit_passes();
}

/// The Zengin single-byte (JIS X 0201) form of half-width katakana and ASCII.
fn jis_x_0201(text: &str) -> Vec<u8> {
    text.chars()
        .map(|character| match character {
            '\u{FF61}'..='\u{FF9F}' => (character as u32 - 0xFF61 + 0xA1) as u8,
            ascii if ascii.is_ascii() => ascii as u8,
            other => panic!("{other} is not in the Zengin set"),
        })
        .collect()
}

fn padded(text: &[u8], width: usize) -> Vec<u8> {
    let mut field = text.to_vec();
    field.resize(width, b' ');
    field
}

fn zero_filled(value: u64, width: usize) -> Vec<u8> {
    format!("{value:0width$}").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_is_claimed_approved_exported_executed_and_notified() {
    let mut center = start_center().await;
    let mut operator = Operator::sign_on(&mut center).await;
    let mut yamada = Account::store(&center, "Yamada Shoten", yamada_account()).await;
    yamada.publish(1, vec![service(1, "Tea ceremony lesson", 12_345)]).await;
    let mut kawa = Account::store(&center, "Kawa Books", kawa_account()).await;
    kawa.publish(1, vec![mail_order(1, "Complete works", 100_000), service(2, "Reading", 500)]).await;
    let mut member = Account::member(&center).await;
    member.top_up(200_000).await;
    let (lesson, _) = member.buy(yamada.store_number(), &[(1, 1)]).await.unwrap();
    let (books, _) = member.buy(kawa.store_number(), &[(1, 1)]).await.unwrap();

    // Each store claims what its receipts show delivered: a service at once,
    // mail order once shipped.
    let mut claims = BTreeMap::new();
    for (store, transaction, yen) in [(&mut yamada, lesson, 12_345), (&mut kawa, books, 100_000)] {
        store.notices().await;
        let kinds: BTreeMap<u32, GoodsKind> = store
            .catalog(store.store_number())
            .await
            .items
            .iter()
            .map(|item| (item.item_id, GoodsKind::from(&item.kind)))
            .collect();
        let receipts = notices::receipts(&store.vault, store.vault.center());
        let claimable = notices::claimable(&receipts, &kinds, &BTreeSet::new());
        if transaction == books {
            assert_eq!(claimable.waiting.len(), 1, "not shipped yet: {claimable:?}");
            money::ship(&mut store.vault, &store.session, &store.key, books, "Sagawa", "S-1").await.unwrap();
            let receipts = notices::receipts(&store.vault, store.vault.center());
            assert_eq!(notices::claimable(&receipts, &kinds, &BTreeSet::new()).ready, [books]);
        } else {
            assert_eq!(claimable.ready, [lesson]);
        }
        let answer = money::claim(&mut store.vault, &store.session, &store.key, &[transaction]).await.unwrap();
        assert_eq!((answer.transactions, answer.amount.get()), (1, yen));
        // The same claim again gets the same answer.
        let again = money::claim(&mut store.vault, &store.session, &store.key, &[transaction]).await.unwrap();
        assert_eq!(again, answer);
        claims.insert(store.store_number(), answer.claim_number);
    }

    let PayoutsAnswer::Pending(pending) = operator.payouts(PayoutsRequest::Pending(PageRequest { page: 0 })).await
    else {
        panic!("expected pending claims")
    };
    assert_eq!(pending.rows.len(), 2);
    let numbers = AscendingNumbers::new(claims.values().copied().collect()).unwrap();
    let day_before = today();
    let PayoutsAnswer::Approved(BatchSummary { batch_number, claims: claim_count, stores, total }) =
        operator.payouts(PayoutsRequest::Approve(PayoutApproval { claim_numbers: numbers })).await
    else {
        panic!("expected a batch")
    };
    assert_eq!((claim_count, stores, total.get()), (2, 2, 112_345));
    // The approval's business day (the test may run across midnight in Japan).
    let approved_on = if today() == day_before {
        day_before
    } else {
        let csv = String::from_utf8(operator.export(batch_number, ExportFormat::Csv).await).unwrap();
        let field = csv.lines().nth(1).unwrap().split(',').nth(10).unwrap().to_owned();
        Date::parse(&field).unwrap()
    };

    // The Zengin file, record by record.
    let zengin = operator.export(batch_number, ExportFormat::Zengin).await;
    assert_eq!(zengin.len(), 5 * 120, "header, two data records, trailer, end; no line breaks");
    let records: Vec<&[u8]> = zengin.chunks(120).collect();
    let (_, month, day) = approved_on.parts();
    let mut header = b"1210".to_vec();
    header.extend(b"1234567890");
    header.extend(padded(b"DENBUN SETTLEMENT CENTER", 40));
    header.extend(format!("{month:02}{day:02}").into_bytes());
    header.extend(b"0001");
    header.extend(padded(b"DENBUN BANK", 15));
    header.extend(b"001");
    header.extend(padded(b"HEAD OFFICE", 15));
    header.extend(b"11234567");
    header.extend(padded(b"", 17));
    assert_eq!(records[0], header.as_slice(), "header:\n{:?}", String::from_utf8_lossy(records[0]));
    let data = |bank: &[u8], branch: &[u8], kind: u8, account: &[u8], holder: &[u8], yen: u64, store: StoreNumber| {
        let mut record = vec![b'2'];
        record.extend(bank);
        record.extend(padded(b"", 15));
        record.extend(branch);
        record.extend(padded(b"", 15 + 4));
        record.push(kind);
        record.extend(account);
        record.extend(padded(holder, 30));
        record.extend(zero_filled(yen, 10));
        record.push(b'0');
        // Customer code 1, the payout number: the center's to choose, checked below.
        record.extend(b"??????????");
        record.extend(zero_filled(store.get(), 10));
        record.extend(b"7 ");
        record.extend(padded(b"", 7));
        record
    };
    let expected = [
        data(b"0005", b"123", b'1', b"7654321", &jis_x_0201("ﾔﾏﾀﾞ ｼﾖｳﾃﾝ"), 12_345, yamada.store_number()),
        data(b"0009", b"001", b'2', b"0000001", b"KAWA BOOKS", 100_000, kawa.store_number()),
    ];
    let mut payout_numbers = BTreeSet::new();
    for record in &records[1..3] {
        assert_eq!(record.len(), 120);
        let store_field = &record[101..111];
        let wanted = expected.iter().find(|wanted| &wanted[101..111] == store_field).expect("a data record per store");
        // Everything but the payout number (customer code 1) as expected.
        assert_eq!(&record[..91], &wanted[..91], "data record:\n{:?}", String::from_utf8_lossy(record));
        assert_eq!(&record[101..], &wanted[101..]);
        let payout_number: u64 = std::str::from_utf8(&record[91..101]).unwrap().parse().unwrap();
        payout_numbers.insert(payout_number);
    }
    assert_eq!(payout_numbers.len(), 2, "one payout number per transfer");
    let mut trailer = b"8000002000000112345".to_vec();
    trailer.extend(padded(b"", 101));
    assert_eq!(records[3], trailer.as_slice());
    assert_eq!(records[4], padded(b"9", 120).as_slice());
    // The same file is in DIR/payouts/, and every export is byte for byte the same.
    let written = center.data_directory().join("payouts").join(format!("batch-{batch_number:06}.zengin"));
    assert_eq!(std::fs::read(&written).unwrap(), zengin);
    let csv = String::from_utf8(operator.export(batch_number, ExportFormat::Csv).await).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "batch,payout_number,store,trade_name,bank_code,branch_code,account_type,account_number,holder_name,amount_yen,transfer_date,claims"
    );
    assert_eq!((lines.len(), lines[3]), (4, ""), "{csv}");
    assert!(
        lines[1..3].iter().any(|line| line.contains(&format!(
            ",{},Kawa Books,0009,001,current,0000001,Kawa Books,100000,{approved_on},{}",
            kawa.store_number(),
            claims[&kawa.store_number()]
        ))),
        "{csv}"
    );

    // Executed: the ledger moves the payables to paid out, and each store is told.
    let PayoutsAnswer::Executed(executed) =
        operator.payouts(PayoutsRequest::Executed(PayoutExecution { batch_number, executed_on: approved_on })).await
    else {
        panic!("expected the executed batch")
    };
    assert_eq!(executed.total.get(), 112_345);
    for (store, yen, transaction) in [(&mut yamada, 12_345, lesson), (&mut kawa, 100_000, books)] {
        let payouts: Vec<_> = store
            .notices()
            .await
            .into_iter()
            .filter_map(|notice| match notice.into_body() {
                Body::PayoutNotice(payout) => Some(payout),
                _ => None,
            })
            .collect();
        assert_eq!(payouts.len(), 1);
        assert_eq!((payouts[0].amount.get(), payouts[0].batch_number), (yen, batch_number));
        assert_eq!(payouts[0].claim_numbers.as_slice(), [claims[&store.store_number()]]);
        assert!(payout_numbers.contains(&payouts[0].payout_number));
        let detail = operator.store(store.store_number()).await;
        assert_eq!((detail.payable.get(), detail.paid_out_yen), (0, yen));
        assert_eq!(operator.transaction(transaction).await.state, TransactionState::PaidOut);
    }
    assert_eq!(operator.export(batch_number, ExportFormat::Zengin).await, zengin);
    center.assert_audit_passes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_days_report_reconciles() {
    let mut center = start_center().await;
    let first_day = today();
    let (mut operator, mut store, mut member) = shop(&mut center, vec![service(1, "Lesson", 30_000)], 50_000).await;
    let answer =
        money::top_up(&mut member.vault, &member.session, &member.key, amount(20_000), FundingChannel::BankTransfer)
            .await
            .unwrap();
    let CardAnswer::Pending(pending) = answer else { panic!("{answer:?}") };
    operator.confirm(pending.reference.as_str(), 20_000).await;
    let (transaction, _) = member.buy(store.store_number(), &[(1, 1)]).await.unwrap();
    money::refund(&mut store.vault, &store.session, &store.key, transaction, amount(5_000), "late").await.unwrap();
    let claim = money::claim(&mut store.vault, &store.session, &store.key, &[transaction]).await.unwrap();
    assert_eq!(claim.amount.get(), 25_000);
    let numbers = AscendingNumbers::new(vec![claim.claim_number]).unwrap();
    let PayoutsAnswer::Approved(batch) =
        operator.payouts(PayoutsRequest::Approve(PayoutApproval { claim_numbers: numbers })).await
    else {
        panic!("expected a batch")
    };
    operator
        .payouts(PayoutsRequest::Executed(PayoutExecution { batch_number: batch.batch_number, executed_on: today() }))
        .await;
    // A second member's unused balance goes back to a bank.
    let mut leaving = Account::member(&center).await;
    leaving.top_up(7_000).await;
    let refund = BalanceRefund {
        member: leaving.member_number(),
        payout_account: kawa_account(),
        close_account: true,
        reason: Text::new("moving abroad").unwrap(),
    };
    let Body::BalanceRefundAnswer(refunded) = operator.ask(refund).await else { panic!("expected a balance refund") };
    assert_eq!((refunded.amount.get(), refunded.closed), (7_000, true));

    let report = operator.report(first_day, today()).await;
    let top_ups = &report.top_ups;
    assert_eq!((top_ups.credit_company.count, top_ups.credit_company.yen), (2, 57_000));
    assert_eq!((top_ups.bank_transfer.count, top_ups.bank_transfer.yen), (1, 20_000));
    assert_eq!((top_ups.post_office_transfer.count, top_ups.registered_mail_cash.count), (0, 0));
    assert_eq!(report.sales_by_store.len(), 1);
    assert_eq!(report.sales_by_store[0].store, store.store_number());
    assert_eq!((report.sales_by_store[0].sales.count, report.sales_by_store[0].sales.yen), (1, 30_000));
    assert_eq!((report.payouts.count, report.payouts.yen), (1, 25_000));
    assert_eq!((report.refunds.count, report.refunds.yen), (1, 5_000));
    let payments: u64 = report.days.iter().map(|day| day.payments.yen).sum();
    assert_eq!(payments, 30_000);
    assert!(report.days.iter().all(|day| day.telegrams_in > 0 && day.telegrams_out > 0));
    // funds in = stored value + store payables + paid out + refunded, over all
    // time and over the days (a fresh center: the same figures).
    let all = &report.all_time;
    assert_eq!(
        (all.funds_in_yen, all.stored_value_yen, all.store_payables_yen, all.paid_out_yen, all.refunded_yen),
        (77_000, 45_000, 0, 25_000, 7_000)
    );
    for reconciliation in [&report.all_time, &report.range_movements] {
        assert_eq!(
            reconciliation.funds_in_yen,
            reconciliation.stored_value_yen
                + reconciliation.store_payables_yen
                + reconciliation.paid_out_yen
                + reconciliation.refunded_yen,
            "{reconciliation:?}"
        );
    }
    assert_eq!(report.range_movements, report.all_time);
    center.assert_audit_passes();
}
