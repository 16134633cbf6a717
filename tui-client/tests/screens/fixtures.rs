//! Fixed data for the screen tests: a center key, a member, a store, their
//! receipts signed by that center, at fixed times, so every screen draws
//! the same on every run (nothing volatile to mask).

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use denbun_client::catalog_file::{DraftItem, DraftKind};
use denbun_client::terminal::app::{App, CenterView, Effect, Event, Mode, Update, update};
use denbun_client::terminal::model::{AccountView, CertificateView, OutboxRow, Record};
use denbun_client::terminal::view::render;
use denbun_protocol::header::{Code, MemberNumber, PartyId, StoreNumber};
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::{
    ActivationCode, Body, CardAnswer, CardIssueNotice, CardIssued, CardPending, CardRequest, CatalogItem, CatalogPage,
    ContentBytes, DeliveredNotice, DeliveryReadyNotice, DigitalContent, FundingChannel, IssuedCard, ItemKind,
    OrderLine, PaymentAnswer, PaymentInstruction, PaymentNotice, PayoutNotice, PersonalData, Registration,
    RegistrationCertificate, Shipment, ShipmentAnswer, ShipmentNotice, StoreList, StoreSummary, Telegram, sealed_size,
};
use denbun_protocol::wire::{Amount, Date, List, Text, Yen};
use ed25519_dalek::SigningKey;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The size every screen is tested at.
pub const WIDTH: u16 = 80;
/// The height every screen is tested at.
pub const HEIGHT: u16 = 24;
/// 2025-06-01 00:00 UTC.
pub const JUNE_FIRST_MS: u64 = 1_748_736_000_000;
/// One day.
pub const DAY_MS: u64 = 86_400_000;

pub fn center_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

pub fn member_key() -> SigningKey {
    SigningKey::from_bytes(&[8; 32])
}

pub fn store_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

pub fn fingerprint() -> CenterFingerprint {
    CenterFingerprint::of(&center_key().verifying_key())
}

pub fn member() -> PartyId {
    PartyId::member(1).unwrap()
}

pub fn store() -> PartyId {
    PartyId::store(1).unwrap()
}

pub fn center_view() -> CenterView {
    CenterView {
        name: "Denbun Settlement Center".to_owned(),
        address: "127.0.0.1:7700".to_owned(),
        fingerprint: fingerprint().short_form(),
    }
}

pub fn profile() -> PathBuf {
    PathBuf::from("/home/hanako/.local/share/denbun")
}

pub fn date(day: u64) -> Date {
    denbun_client::session::date_of_unix_ms(JUNE_FIRST_MS + day * DAY_MS).unwrap()
}

fn amount(yen: u64) -> Amount {
    Amount::new(yen).unwrap()
}

/// The center's signed answer to `request` sent by `party`.
pub fn answer(party: PartyId, key: &SigningKey, number: u64, day: u64, request: Body, answer: Body) -> Telegram {
    let center = center_key();
    let sent = JUNE_FIRST_MS + day * DAY_MS;
    let request = Signer::new(party, key, fingerprint()).unwrap().request(number, sent, request).unwrap();
    Signer::center(&center).answer(request.header(), sent + 1_000, answer).unwrap()
}

/// The center's signed notice to `party`.
pub fn notice(party: PartyId, sequence: u64, day: u64, body: Body) -> Telegram {
    let center = center_key();
    Signer::center(&center).notice(party, sequence, JUNE_FIRST_MS + day * DAY_MS + 2_000, body).unwrap()
}

pub fn record(day: u64, party: &str, goods: &str, yen: u64, receipt: Option<Telegram>) -> Record {
    Record {
        date: date(day),
        party: party.to_owned(),
        goods: goods.to_owned(),
        amount: Yen::new(yen).unwrap(),
        receipt,
    }
}

fn registration(party: PartyId, key: &SigningKey, trade: Option<&str>) -> (Body, Body) {
    let personal = PersonalData {
        name: Text::new("Hanako Yamada").unwrap(),
        address: Text::new("1-2-3 Marunouchi, Tokyo").unwrap(),
        date_of_birth: Date::new(1990, 4, 1).unwrap(),
    };
    let delivery_key = x25519_dalek::PublicKey::from([3; 32]);
    let request = Registration {
        activation_code: ActivationCode::new("K7Q2-9XPM").unwrap(),
        personal,
        store: trade.map(|trade| denbun_protocol::telegram::StoreRegistration {
            trade_name: Text::new(trade).unwrap(),
            payout_account: denbun_protocol::telegram::BankAccount {
                bank_code: denbun_protocol::telegram::Digits::new("0005").unwrap(),
                branch_code: denbun_protocol::telegram::Digits::new("123").unwrap(),
                account_type: denbun_protocol::telegram::AccountType::Ordinary,
                account_number: denbun_protocol::telegram::Digits::new("1234567").unwrap(),
                holder_name: Text::new("TSUJI KENJI").unwrap(),
            },
        }),
        verification_key: key.verifying_key(),
        delivery_key,
    };
    let certificate = RegistrationCertificate {
        party,
        name: Text::new(trade.unwrap_or("Hanako Yamada")).unwrap(),
        verification_key: key.verifying_key(),
        delivery_key,
        registered_at_ms: JUNE_FIRST_MS,
    };
    (request.into(), certificate.into())
}

pub const PAID_DIGITAL: u64 = 4_242;
pub const PAID_MAIL_ORDER: u64 = 4_343;

pub fn tea_guide() -> DeliveryReadyNotice {
    let content_bytes = ContentBytes::new(3_480).unwrap();
    DeliveryReadyNotice {
        transaction_number: PAID_DIGITAL,
        item_id: 2,
        store: StoreNumber::new(1).unwrap(),
        content_bytes,
        content_sha256: [0xb5; 32],
        sealed_bytes: sealed_size(content_bytes),
    }
}

fn card(number: u64, yen: u64) -> IssuedCard {
    IssuedCard { card_number: number, face_value: amount(yen), issued_at_ms: JUNE_FIRST_MS }
}

/// The member's receipts, oldest first.
pub fn member_records() -> Vec<Record> {
    let key = member_key();
    let party = member();
    let (request, certificate) = registration(party, &key, None);
    let card_request = CardRequest { amount: amount(10_000), channel: FundingChannel::CreditCompany };
    let issued = CardAnswer::Issued(CardIssued { card: card(1, 10_000), balance: Yen::new(10_000).unwrap() });
    let pending = CardAnswer::Pending(CardPending {
        reference: Text::new("BT-00000001-8").unwrap(),
        amount: amount(5_000),
        instructions: Text::new("Transfer 5,000 yen to Denbun Bank (0001), ordinary 1234567, quoting BT-00000001-8.")
            .unwrap(),
    });
    let pay = |number: u64, yen: u64| PaymentInstruction {
        transaction_number: number,
        store: StoreNumber::new(1).unwrap(),
        catalog_version: 1,
        lines: List::new(vec![OrderLine { item_id: 2, quantity: 1, unit_price: amount(yen) }]).unwrap(),
        total: amount(yen),
    };
    let paid = |number: u64, yen: u64, balance: u64| PaymentAnswer {
        transaction_number: number,
        total: amount(yen),
        balance: Yen::new(balance).unwrap(),
    };
    vec![
        record(0, "center", "registration certificate", 0, Some(answer(party, &key, 1, 0, request, certificate))),
        record(
            0,
            "center",
            "prepaid card 1",
            10_000,
            Some(answer(party, &key, 2, 0, card_request.clone().into(), issued.into())),
        ),
        record(
            0,
            "center",
            "prepaid card 1",
            10_000,
            Some(notice(
                party,
                1,
                0,
                CardIssueNotice {
                    card: card(1, 10_000),
                    channel: FundingChannel::CreditCompany,
                    reference: None,
                    balance: Yen::new(10_000).unwrap(),
                }
                .into(),
            )),
        ),
        record(
            1,
            "center",
            "prepaid card answer",
            0,
            Some(answer(party, &key, 3, 1, card_request.into(), pending.into())),
        ),
        record(
            2,
            "S00000001",
            "1 line, transaction 4242",
            500,
            Some(answer(party, &key, 4, 2, pay(PAID_DIGITAL, 500).into(), paid(PAID_DIGITAL, 500, 9_500).into())),
        ),
        record(
            2,
            "S00000001",
            "ready to download: item 2 of transaction 4242",
            0,
            Some(notice(party, 2, 2, tea_guide().into())),
        ),
        record(
            3,
            "S00000001",
            "1 line, transaction 4343",
            1_800,
            Some(answer(
                party,
                &key,
                5,
                3,
                pay(PAID_MAIL_ORDER, 1_800).into(),
                paid(PAID_MAIL_ORDER, 1_800, 7_700).into(),
            )),
        ),
        record(
            4,
            "S00000001",
            "shipped by Yamato Transport: 1234-5678-9012",
            0,
            Some(notice(
                party,
                3,
                4,
                ShipmentNotice {
                    transaction_number: PAID_MAIL_ORDER,
                    store: StoreNumber::new(1).unwrap(),
                    carrier: Text::new("Yamato Transport").unwrap(),
                    tracking: Text::new("1234-5678-9012").unwrap(),
                    shipped_at_ms: JUNE_FIRST_MS + 4 * DAY_MS,
                }
                .into(),
            )),
        ),
    ]
}

pub fn member_account(outbox: Vec<OutboxRow>) -> AccountView {
    AccountView {
        party: member(),
        name: "Hanako Yamada".to_owned(),
        key_file: profile().join("denbun.key"),
        records: member_records(),
        outbox,
        certificate: Some(CertificateView {
            party: member(),
            name: "Hanako Yamada".to_owned(),
            registered_on: "2025-06-01".to_owned(),
            verification_key: "e7a1b1f0c8a3d2a9".to_owned(),
            matches_key_file: true,
        }),
    }
}

pub fn waiting_payment() -> OutboxRow {
    OutboxRow {
        processing_number: 16,
        code: Some(Code::PAYMENT_INSTRUCTION),
        what: "Payment of 1,200 yen to S00000002".to_owned(),
        signed_on: Some(date(5)),
    }
}

fn payment_notice(number: u64, item_id: u32, yen: u64, day: u64) -> PaymentNotice {
    PaymentNotice {
        transaction_number: number,
        member: MemberNumber::new(1).unwrap(),
        member_delivery_key: x25519_dalek::PublicKey::from([3; 32]),
        catalog_version: 1,
        lines: List::new(vec![OrderLine { item_id, quantity: 1, unit_price: amount(yen) }]).unwrap(),
        total: amount(yen),
        paid_at_ms: JUNE_FIRST_MS + day * DAY_MS,
    }
}

/// The store's receipts, oldest first.
pub fn store_records() -> Vec<Record> {
    let key = store_key();
    let party = store();
    let (request, certificate) = registration(party, &key, Some("Tea House Uji"));
    let shipment = Shipment {
        transaction_number: PAID_MAIL_ORDER,
        carrier: Text::new("Yamato Transport").unwrap(),
        tracking: Text::new("1234-5678-9012").unwrap(),
    };
    let shipped = ShipmentAnswer { transaction_number: PAID_MAIL_ORDER, member: MemberNumber::new(1).unwrap() };
    vec![
        record(0, "center", "registration certificate", 0, Some(answer(party, &key, 1, 0, request, certificate))),
        record(
            2,
            "M00000001",
            "sale, transaction 4242",
            500,
            Some(notice(party, 1, 2, payment_notice(PAID_DIGITAL, 2, 500, 2).into())),
        ),
        record(
            3,
            "M00000001",
            "sale, transaction 4343",
            1_800,
            Some(notice(party, 2, 3, payment_notice(PAID_MAIL_ORDER, 1, 1_800, 3).into())),
        ),
        record(
            3,
            "M00000001",
            "delivered: item 2 of transaction 4242",
            0,
            Some(notice(
                party,
                3,
                3,
                DeliveredNotice {
                    transaction_number: PAID_DIGITAL,
                    item_id: 2,
                    member: MemberNumber::new(1).unwrap(),
                    store: StoreNumber::new(1).unwrap(),
                    content_sha256: [0xb5; 32],
                    acknowledged_at_ms: JUNE_FIRST_MS + 3 * DAY_MS,
                }
                .into(),
            )),
        ),
        record(4, "center", "shipment answer", 0, Some(answer(party, &key, 2, 4, shipment.into(), shipped.into()))),
        record(
            9,
            "center",
            "payout 1",
            1_500,
            Some(notice(
                party,
                4,
                9,
                PayoutNotice {
                    payout_number: 1,
                    batch_number: 1,
                    amount: amount(1_500),
                    executed_on: date(9),
                    claim_numbers: denbun_protocol::telegram::AscendingNumbers::new(vec![1]).unwrap(),
                }
                .into(),
            )),
        ),
        record(5, "center", "altered receipt", 0, None),
    ]
}

pub fn store_account() -> AccountView {
    AccountView {
        party: store(),
        name: "Tea House Uji".to_owned(),
        key_file: profile().join("denbun.key"),
        records: store_records(),
        outbox: Vec::new(),
        certificate: Some(CertificateView {
            party: store(),
            name: "Tea House Uji".to_owned(),
            registered_on: "2025-06-01".to_owned(),
            verification_key: "a1b2c3d4e5f60718".to_owned(),
            matches_key_file: true,
        }),
    }
}

pub fn draft() -> Vec<DraftItem> {
    let item = |item_id, title: &str, price_yen, kind, file: Option<&str>| DraftItem {
        item_id,
        title: title.to_owned(),
        description: "From our tea fields in Uji.".to_owned(),
        price_yen,
        kind,
        file: file.map(PathBuf::from),
    };
    vec![
        item(1, "Gyokuro, 100 g", 1_800, DraftKind::MailOrder, None),
        item(2, "Guide to Uji tea (text)", 500, DraftKind::Digital, Some("/srv/tea/uji-tea-guide.txt")),
        item(3, "Sencha, 200 g", 1_200, DraftKind::MailOrder, None),
        item(4, "Tea lesson (online)", 5_000, DraftKind::Service, None),
    ]
}

pub fn store_list() -> StoreList {
    let summary = |number, name: &str, items| StoreSummary {
        store: StoreNumber::new(number).unwrap(),
        trade_name: Text::new(name).unwrap(),
        catalog_version: 1,
        item_count: items,
    };
    StoreList {
        page: 0,
        page_count: 1,
        stores: List::new(vec![summary(1, "Tea House Uji", 4), summary(2, "Kanda Books", 2)]).unwrap(),
    }
}

pub fn catalog_page() -> CatalogPage {
    let item = |item_id, title: &str, yen, kind| CatalogItem {
        item_id,
        title: Text::new(title).unwrap(),
        description: Text::new("Shaded first-flush green tea from Uji, in a tin.").unwrap(),
        price: amount(yen),
        kind,
    };
    let digital = ItemKind::Digital(DigitalContent {
        content_bytes: ContentBytes::new(3_480).unwrap(),
        content_sha256: [0xb5; 32],
    });
    CatalogPage {
        store: StoreNumber::new(1).unwrap(),
        catalog_version: 1,
        page: 0,
        page_count: 1,
        items: List::new(vec![
            item(1, "Gyokuro, 100 g", 1_800, ItemKind::MailOrder),
            item(2, "Guide to Uji tea (text)", 500, digital),
            item(3, "Sencha, 200 g", 1_200, ItemKind::MailOrder),
            item(4, "Tea lesson (online)", 5_000, ItemKind::Service),
        ])
        .unwrap(),
    }
}

/// A member terminal, unlocked with password A, offline.
pub fn member_app() -> App {
    let mut app = App::new(Mode::Member, profile(), Some(center_view()), true);
    app.today = Some(date(5));
    feed(&mut app, Update::Account(Box::new(member_account(Vec::new()))));
    feed(&mut app, Update::Unlocked);
    app
}

/// A store terminal, unlocked with password A, offline.
pub fn store_app() -> App {
    let mut app = App::new(Mode::Store, profile(), Some(center_view()), true);
    app.today = Some(date(5));
    feed(&mut app, Update::Account(Box::new(store_account())));
    feed(&mut app, Update::Draft(draft()));
    feed(&mut app, Update::Unlocked);
    app
}

/// Signed on with password B.
pub fn signed_on(app: &mut App) {
    feed(app, Update::SigningUnlocked);
    feed(app, Update::Line(denbun_client::terminal::app::Line::SignedOn));
}

pub fn feed(app: &mut App, update_: Update) -> Vec<Effect> {
    update(app, Event::Backend(update_))
}

pub fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn press_control(app: &mut App, character: char) -> Vec<Effect> {
    update(app, Event::Key(KeyEvent::new(KeyCode::Char(character), KeyModifiers::CONTROL)))
}

pub fn type_text(app: &mut App, text: &str) {
    for character in text.chars() {
        press(app, KeyCode::Char(character));
    }
}

/// The screen as text, one line per row, trailing spaces removed.
pub fn screen(app: &App) -> String {
    screen_at(app, WIDTH, HEIGHT)
}

pub fn screen_at(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..height {
        let mut line = String::new();
        for x in 0..width {
            line.push_str(buffer[(x, y)].symbol());
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}
