//! Test vectors and generated sections of docs/protocol.md.
//!
//! The document holds hex test vectors (fixed keys, processing numbers and
//! times) and sections generated from the code: the code catalog, the body
//! layouts, the reject reasons and the limits. These tests parse the vectors
//! out of the document and check each against the table below (encode ==
//! bytes, decode == value, signature verifies), and check every generated
//! section word for word, so the document cannot drift from the code.
//!
//! To regenerate after a deliberate change:
//! `DENBUN_PRINT_VECTORS=1 cargo test -p denbun-protocol --test vectors print -- --nocapture`
//! prints every generated section, markers included, to paste into the document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use denbun_protocol::header::{Code, Function, Header, MemberNumber, PartyId, StoreNumber};
use denbun_protocol::limits;
use denbun_protocol::reject::{Refused, RejectReason};
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::layout::{Shape, TypeLayout};
use denbun_protocol::telegram::{self, Body, CATALOG, Telegram};
use denbun_protocol::wire::{Amount, Blob, Date, List, Text, Yen};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey as DeliveryKey, StaticSecret};

const DOCUMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");

/// 2025-01-01 00:00:00 UTC.
const T0_MS: u64 = 1_735_689_600_000;
const SESSION_HANDSHAKE_HASH: [u8; 32] = [0x48; 32];

/// The fixed keys, by the name the document uses.
struct Keys {
    center: SigningKey,
    member: SigningKey,
    store: SigningKey,
    operator: SigningKey,
    member_delivery: DeliveryKey,
    store_ephemeral: DeliveryKey,
}

const CENTER_SEED: [u8; 32] = [0x43; 32];
const MEMBER_SEED: [u8; 32] = [0x4d; 32];
const STORE_SEED: [u8; 32] = [0x53; 32];
const OPERATOR_SEED: [u8; 32] = [0x4f; 32];
const MEMBER_DELIVERY_SECRET: [u8; 32] = [0x64; 32];
const STORE_EPHEMERAL_SECRET: [u8; 32] = [0x65; 32];

impl Keys {
    fn new() -> Self {
        Keys {
            center: SigningKey::from_bytes(&CENTER_SEED),
            member: SigningKey::from_bytes(&MEMBER_SEED),
            store: SigningKey::from_bytes(&STORE_SEED),
            operator: SigningKey::from_bytes(&OPERATOR_SEED),
            member_delivery: DeliveryKey::from(&StaticSecret::from(MEMBER_DELIVERY_SECRET)),
            store_ephemeral: DeliveryKey::from(&StaticSecret::from(STORE_EPHEMERAL_SECRET)),
        }
    }

    fn fingerprint(&self) -> CenterFingerprint {
        CenterFingerprint::of(&self.center.verifying_key())
    }

    fn signing_key(&self, name: &str) -> Option<&SigningKey> {
        match name {
            "center" => Some(&self.center),
            "member" => Some(&self.member),
            "store" => Some(&self.store),
            "operator" => Some(&self.operator),
            _ => None,
        }
    }

    fn center(&self) -> Signer<'_> {
        Signer::center(&self.center)
    }

    fn member(&self) -> Signer<'_> {
        Signer::new(member().party(), &self.member, self.fingerprint()).unwrap()
    }

    fn store(&self) -> Signer<'_> {
        Signer::new(store().party(), &self.store, self.fingerprint()).unwrap()
    }

    fn operator(&self) -> Signer<'_> {
        Signer::new(PartyId::operator(1).unwrap(), &self.operator, self.fingerprint()).unwrap()
    }
}

fn member() -> MemberNumber {
    MemberNumber::new(123).unwrap()
}

fn store() -> StoreNumber {
    StoreNumber::new(7).unwrap()
}

fn text<const MAX: usize>(value: &str) -> Text<MAX> {
    Text::new(value).unwrap()
}

fn yen(value: u64) -> Amount {
    Amount::new(value).unwrap()
}

fn date(year: u16, month: u8, day: u8) -> Date {
    Date::new(year, month, day).unwrap()
}

const TRANSACTION: u64 = 0x0123_4567_89ab_cdef;

/// One test vector: a telegram, who signed it, and a sentence for people.
struct Vector {
    name: &'static str,
    note: &'static str,
    signer: &'static str,
    telegram: Telegram,
}

/// Every vector, built by the same calls a terminal or the center makes.
fn vectors(keys: &Keys) -> Vec<Vector> {
    let mut all = Vec::new();
    let mut add = |name, note, signer, telegram: Telegram| all.push(Vector { name, note, signer, telegram });
    let at = |seconds: u64| T0_MS + seconds * 1_000;
    let personal = || telegram::PersonalData {
        name: text("Yamada Taro"),
        address: text("1-2-3 Chiyoda, Chiyoda-ku, Tokyo"),
        date_of_birth: date(1970, 1, 31),
    };
    let activation_code = || telegram::ActivationCode::new("K7Q2-9XPM").unwrap();
    let pdf = b"%PDF";
    let pdf_sha256: [u8; 32] = Sha256::digest(pdf).into();
    let pdf_bytes = telegram::ContentBytes::new(pdf.len() as u64).unwrap();
    let lines = || {
        List::new(vec![
            telegram::OrderLine { item_id: 1, quantity: 2, unit_price: yen(300) },
            telegram::OrderLine { item_id: 9, quantity: 1, unit_price: yen(50) },
        ])
        .unwrap()
    };
    let manual = telegram::CatalogItem {
        item_id: 9,
        title: text("Manual (PDF)"),
        description: text("User manual, 12 pages"),
        price: yen(50),
        kind: telegram::ItemKind::Digital(telegram::DigitalContent {
            content_bytes: pdf_bytes,
            content_sha256: pdf_sha256,
        }),
    };
    let sealed_bytes = telegram::sealed_size(pdf_bytes);
    // Illustrative ciphertext: the sealing itself has its own vectors with its implementation.
    let sealed_chunk = || Blob::new((0..sealed_bytes as u8).map(|index| 0xc0 ^ index).collect::<Vec<u8>>()).unwrap();

    // Family 10: guide.
    let guide_request = Signer::anonymous()
        .request(1, at(0), telegram::GuideRequest { topic: telegram::GuideTopic::MemberAgreement })
        .unwrap();
    add(
        "guide request",
        "an applicant asks for the member agreement (anonymous, unsigned)",
        "none",
        guide_request.clone(),
    );
    let guide_text = telegram::GuideText {
        topic: telegram::GuideTopic::MemberAgreement,
        version: 3,
        text: text("Members pay only with prepaid cards issued by the center."),
    };
    add(
        "guide text",
        "the center answers with version 3 of the agreement",
        "center",
        keys.center().answer(guide_request.header(), at(1), guide_text).unwrap(),
    );

    // Family 11: application.
    let application =
        telegram::Application { applicant: telegram::Applicant::Member, personal: personal(), agreement_version: 3 };
    let application = Signer::anonymous().request(2, at(10), application).unwrap();
    add("application", "Yamada Taro applies as a general member (anonymous, unsigned)", "none", application.clone());
    let accepted = telegram::ApplicationAccepted {
        assigned: member().party(),
        activation_code_expires_at_ms: at(14 * 86_400),
        message: text("Your activation code will arrive by post."),
    };
    add(
        "application accepted",
        "number M00000123 assigned; the code goes by post",
        "center",
        keys.center().answer(application.header(), at(11), accepted).unwrap(),
    );

    // Family 12: registration.
    let registration = telegram::Registration {
        activation_code: activation_code(),
        personal: personal(),
        store: None,
        verification_key: keys.member.verifying_key(),
        delivery_key: keys.member_delivery,
    };
    let registration = keys.member().request(1, at(100), registration).unwrap();
    add(
        "member registration",
        "M00000123 registers with activation code K7Q2-9XPM, signed by the key it carries",
        "member",
        registration.clone(),
    );
    let store_registration = telegram::Registration {
        activation_code: telegram::ActivationCode::new("R4ZB-77TD").unwrap(),
        personal: telegram::PersonalData {
            name: text("Suzuki Hanako"),
            address: text("4-5-6 Naka-ku, Yokohama"),
            date_of_birth: date(1980, 6, 15),
        },
        store: Some(telegram::StoreRegistration {
            trade_name: text("Suzuki Books"),
            payout_account: telegram::BankAccount {
                bank_code: telegram::Digits::new("0001").unwrap(),
                branch_code: telegram::Digits::new("123").unwrap(),
                account_type: telegram::AccountType::Ordinary,
                account_number: telegram::Digits::new("1234567").unwrap(),
                holder_name: text("SUZUKI HANAKO"),
            },
        }),
        verification_key: keys.store.verifying_key(),
        delivery_key: keys.store_ephemeral,
    };
    add(
        "store registration",
        "S00000007 registers with trade name and payout account",
        "store",
        keys.store().request(1, at(110), store_registration).unwrap(),
    );
    let certificate = telegram::RegistrationCertificate {
        party: member().party(),
        name: text("Yamada Taro"),
        verification_key: keys.member.verifying_key(),
        delivery_key: keys.member_delivery,
        registered_at_ms: at(101),
    };
    add(
        "registration certificate",
        "the center certifies M00000123's keys",
        "center",
        keys.center().answer(registration.header(), at(101), certificate).unwrap(),
    );

    // Families 20 and 21: prepaid cards.
    let card_request = telegram::CardRequest { amount: yen(10_000), channel: telegram::FundingChannel::BankTransfer };
    let card_request = keys.member().request(2, at(200), card_request).unwrap();
    add("card request", "M00000123 asks for a 10,000 yen card paid by bank transfer", "member", card_request.clone());
    let pending = telegram::CardAnswer::Pending(telegram::CardPending {
        reference: text("BT-2025-000017"),
        amount: yen(10_000),
        instructions: text("Transfer 10,000 yen to Denbun Bank 001-1234567 quoting BT-2025-000017."),
    });
    add(
        "card answer pending",
        "the card waits for the transfer",
        "center",
        keys.center().answer(card_request.header(), at(201), pending).unwrap(),
    );
    let card = telegram::IssuedCard { card_number: 1001, face_value: yen(10_000), issued_at_ms: at(3_600) };
    let issue_notice = telegram::CardIssueNotice {
        card: card.clone(),
        channel: telegram::FundingChannel::BankTransfer,
        reference: Some(text("BT-2025-000017")),
        balance: Yen::new(10_000).unwrap(),
    };
    add(
        "card issue notice",
        "card 1001 issued after the operator confirmed the money; mailbox sequence 1",
        "center",
        keys.center().notice(member().party(), 1, at(3_600), issue_notice).unwrap(),
    );

    // Families 30 to 32: catalogs.
    let publish = telegram::CatalogPublish {
        version: 5,
        part_index: 0,
        part_count: 1,
        items: List::new(vec![
            telegram::CatalogItem {
                item_id: 1,
                title: text("Tea cup"),
                description: text("Hand-made, 200 ml"),
                price: yen(300),
                kind: telegram::ItemKind::MailOrder,
            },
            manual.clone(),
        ])
        .unwrap(),
    };
    let publish = keys.store().request(2, at(300), publish).unwrap();
    add("catalog publish", "S00000007 publishes catalog version 5 in one part", "store", publish.clone());
    let published = telegram::CatalogPublishAnswer { version: 5, parts_received: 1, part_count: 1, published: true };
    add(
        "catalog publish answer",
        "version 5 is current",
        "center",
        keys.center().answer(publish.header(), at(301), published).unwrap(),
    );
    let store_list_request = keys.member().request(3, at(400), telegram::StoreListRequest { page: 0 }).unwrap();
    add("store list request", "the first page of stores", "member", store_list_request.clone());
    let store_list = telegram::StoreList {
        page: 0,
        page_count: 1,
        stores: List::new(vec![telegram::StoreSummary {
            store: store(),
            trade_name: text("Suzuki Books"),
            catalog_version: 5,
            item_count: 2,
        }])
        .unwrap(),
    };
    add(
        "store list",
        "one store",
        "center",
        keys.center().answer(store_list_request.header(), at(401), store_list).unwrap(),
    );
    let page_request = telegram::CatalogPageRequest { store: store(), search: text("manual"), page: 0 };
    let page_request = keys.member().request(4, at(410), page_request).unwrap();
    add("catalog page request", "search S00000007's catalog for \"manual\"", "member", page_request.clone());
    let page = telegram::CatalogPage {
        store: store(),
        catalog_version: 5,
        page: 0,
        page_count: 1,
        items: List::new(vec![manual]).unwrap(),
    };
    add(
        "catalog page",
        "one digital item of 4 bytes",
        "center",
        keys.center().answer(page_request.header(), at(411), page).unwrap(),
    );

    // Families 40 and 41: payment.
    let instruction = telegram::PaymentInstruction {
        transaction_number: TRANSACTION,
        store: store(),
        catalog_version: 5,
        lines: lines(),
        total: yen(650),
    };
    let instruction = keys.member().request(41, at(500), instruction).unwrap();
    add(
        "payment instruction",
        "M00000123 pays S00000007 2 x 300 + 1 x 50 = 650 yen at catalog version 5",
        "member",
        instruction.clone(),
    );
    add(
        "payment instruction repeated",
        "the same instruction resent from the outbox: code 4001, same signature",
        "member",
        instruction.repeated().unwrap(),
    );
    let paid =
        telegram::PaymentAnswer { transaction_number: TRANSACTION, total: yen(650), balance: Yen::new(9_350).unwrap() };
    add(
        "payment answer",
        "paid; 9,350 yen left",
        "center",
        keys.center().answer(instruction.header(), at(501), paid).unwrap(),
    );
    let payment_notice = telegram::PaymentNotice {
        transaction_number: TRANSACTION,
        member: member(),
        member_delivery_key: keys.member_delivery,
        catalog_version: 5,
        lines: lines(),
        total: yen(650),
        paid_at_ms: at(501),
    };
    add(
        "payment notice",
        "S00000007 is told it was paid; mailbox sequence 1",
        "center",
        keys.center().notice(store().party(), 1, at(501), payment_notice).unwrap(),
    );

    // Families 50 to 53: delivery.
    let upload = telegram::DeliveryUpload {
        transaction_number: TRANSACTION,
        item_id: 9,
        ephemeral_key: keys.store_ephemeral,
        sealed_bytes,
        offset: 0,
        chunk: sealed_chunk(),
    };
    add(
        "delivery upload",
        "the store uploads the one sealed chunk of item 9 (illustrative ciphertext)",
        "store",
        keys.store().request(3, at(600), upload).unwrap(),
    );
    let ready = telegram::DeliveryReadyNotice {
        transaction_number: TRANSACTION,
        item_id: 9,
        store: store(),
        content_bytes: pdf_bytes,
        content_sha256: pdf_sha256,
        sealed_bytes,
    };
    add(
        "delivery ready notice",
        "item 9 is ready; mailbox sequence 2",
        "center",
        keys.center().notice(member().party(), 2, at(601), ready).unwrap(),
    );
    let fetch = telegram::DeliveryFetch { transaction_number: TRANSACTION, item_id: 9, offset: 0 };
    let fetch = keys.member().request(42, at(700), fetch).unwrap();
    add("delivery fetch", "the member fetches from offset 0", "member", fetch.clone());
    let chunk = telegram::DeliveryChunk {
        transaction_number: TRANSACTION,
        item_id: 9,
        ephemeral_key: keys.store_ephemeral,
        sealed_bytes,
        offset: 0,
        chunk: sealed_chunk(),
    };
    add(
        "delivery chunk",
        "the chunk, relayed unread",
        "center",
        keys.center().answer(fetch.header(), at(701), chunk).unwrap(),
    );
    let acknowledgement =
        telegram::DeliveryAcknowledgement { transaction_number: TRANSACTION, item_id: 9, content_sha256: pdf_sha256 };
    let acknowledgement = keys.member().request(43, at(710), acknowledgement).unwrap();
    add(
        "delivery acknowledgement",
        "the opened content's SHA-256 matches the catalog",
        "member",
        acknowledgement.clone(),
    );
    let receipt = telegram::DeliveryReceipt {
        transaction_number: TRANSACTION,
        item_id: 9,
        member: member(),
        store: store(),
        content_sha256: pdf_sha256,
        acknowledged_at_ms: at(711),
    };
    add(
        "delivery receipt",
        "the center's receipt",
        "center",
        keys.center().answer(acknowledgement.header(), at(711), receipt).unwrap(),
    );
    let shipment = telegram::Shipment {
        transaction_number: TRANSACTION,
        carrier: text("Yamato Transport"),
        tracking: text("1234-5678-9012"),
    };
    add("shipment", "the tea cups are shipped", "store", keys.store().request(4, at(800), shipment).unwrap());
    let shipment_notice = telegram::ShipmentNotice {
        transaction_number: TRANSACTION,
        store: store(),
        carrier: text("Yamato Transport"),
        tracking: text("1234-5678-9012"),
        shipped_at_ms: at(800),
    };
    add(
        "shipment notice",
        "mailbox sequence 3",
        "center",
        keys.center().notice(member().party(), 3, at(801), shipment_notice).unwrap(),
    );

    // Families 60 and 61: payouts.
    let claim =
        telegram::PaymentClaim { transaction_numbers: telegram::AscendingNumbers::new(vec![TRANSACTION]).unwrap() };
    add(
        "payment claim",
        "the store claims the delivered purchase",
        "store",
        keys.store().request(5, at(900), claim).unwrap(),
    );
    let payout = telegram::PayoutNotice {
        payout_number: 1,
        batch_number: 1,
        amount: yen(650),
        executed_on: date(2025, 1, 31),
        claim_numbers: telegram::AscendingNumbers::new(vec![1]).unwrap(),
    };
    add(
        "payout notice",
        "650 yen transferred on 2025-01-31; mailbox sequence 2",
        "center",
        keys.center().notice(store().party(), 2, at(30 * 86_400), payout).unwrap(),
    );

    // Families 70 to 72: refunds and statements.
    let refund = telegram::Refund {
        transaction_number: TRANSACTION,
        amount: yen(50),
        reason: text("Replaced by a newer edition"),
    };
    add("refund", "the store refunds the manual", "store", keys.store().request(6, at(1_000), refund).unwrap());
    let refund_notice = telegram::RefundNotice {
        transaction_number: TRANSACTION,
        store: store(),
        amount: yen(50),
        reason: text("Replaced by a newer edition"),
        balance: Yen::new(9_400).unwrap(),
    };
    add(
        "refund notice",
        "mailbox sequence 4",
        "center",
        keys.center().notice(member().party(), 4, at(1_001), refund_notice).unwrap(),
    );
    let range = telegram::DateRange::new(date(2025, 1, 1), date(2025, 1, 31)).unwrap();
    let statement_request =
        keys.member().request(44, at(1_100), telegram::StatementRequest { range, page: 0 }).unwrap();
    add("statement request", "January 2025", "member", statement_request.clone());
    let statement_line = |kind, reference, counterparty, amount, description: &str| telegram::StatementLine {
        date: date(2025, 1, 1),
        kind,
        reference,
        counterparty,
        amount: yen(amount),
        description: text(description),
    };
    let statement = telegram::Statement {
        range,
        page: 0,
        page_count: 1,
        opening_balance: Yen::ZERO,
        closing_balance: Yen::new(9_400).unwrap(),
        lines: List::new(vec![
            statement_line(
                telegram::EntryKind::CardIssued,
                1001,
                PartyId::CENTER,
                10_000,
                "Prepaid card (bank transfer)",
            ),
            statement_line(telegram::EntryKind::Payment, TRANSACTION, store().party(), 650, "Suzuki Books"),
            statement_line(telegram::EntryKind::Refund, TRANSACTION, store().party(), 50, "Refund: manual"),
        ])
        .unwrap(),
    };
    add(
        "statement",
        "three lines",
        "center",
        keys.center().answer(statement_request.header(), at(1_101), statement).unwrap(),
    );

    // Families 80 to 84: network management and the mailbox.
    let sign_on = telegram::SignOn { software_version: text("denbun 0.1.0") };
    let sign_on = keys.member().sign_on(45, at(2_000), sign_on, &SESSION_HANDSHAKE_HASH).unwrap();
    add("sign-on", "signed over the session's handshake hash (48 repeated)", "member", sign_on.clone());
    let signed_on = telegram::SignOnAnswer { mailbox_count: 2, center_time_ms: at(2_000) };
    add(
        "sign-on answer",
        "two notices wait",
        "center",
        keys.center().answer(sign_on.header(), at(2_000), signed_on).unwrap(),
    );
    let probe = keys.center().request_to(member().party(), 900, at(2_060), telegram::Echo {}).unwrap();
    add("echo", "the center probes an idle session", "center", probe.clone());
    add(
        "echo answer",
        "the terminal answers",
        "member",
        keys.member().answer(probe.header(), at(2_060), telegram::EchoAnswer {}).unwrap(),
    );
    let fetch_mail = keys.member().request(46, at(2_001), telegram::MailboxFetch { max_notices: 16 }).unwrap();
    add("mailbox fetch", "up to 16 notices", "member", fetch_mail.clone());
    add(
        "mailbox fetch answer",
        "sent after the two notices",
        "center",
        keys.center()
            .answer(fetch_mail.header(), at(2_002), telegram::MailboxFetchAnswer { delivered: 2, remaining: 0 })
            .unwrap(),
    );
    let acknowledge_mail = keys.member().request(47, at(2_003), telegram::MailboxAck { up_to_sequence: 4 }).unwrap();
    add("mailbox acknowledgement", "everything up to sequence 4 is stored", "member", acknowledge_mail.clone());
    add(
        "mailbox acknowledgement answer",
        "removed",
        "center",
        keys.center()
            .answer(acknowledge_mail.header(), at(2_004), telegram::MailboxAckAnswer { removed: 4, remaining: 0 })
            .unwrap(),
    );
    add(
        "sign-off",
        "the terminal signs off",
        "member",
        keys.member().request(48, at(2_100), telegram::SignOff {}).unwrap(),
    );

    // Families 90 to 98: operators.
    let confirm = telegram::FundsRequest::Confirm(telegram::FundsConfirmation {
        reference: text("BT-2025-000017"),
        amount_received: yen(10_000),
    });
    let confirm = keys.operator().request(1, at(3_590), confirm).unwrap();
    add("funds confirm", "O001 confirms the transfer arrived", "operator", confirm.clone());
    let confirmed = telegram::FundsAnswer::Confirmed(telegram::FundsConfirmed {
        reference: text("BT-2025-000017"),
        member: member(),
        card,
    });
    add(
        "funds answer",
        "card 1001 issued",
        "center",
        keys.center().answer(confirm.header(), at(3_600), confirmed).unwrap(),
    );
    let approve = telegram::PayoutsRequest::Approve(telegram::PayoutApproval {
        claim_numbers: telegram::AscendingNumbers::new(vec![1]).unwrap(),
    });
    add(
        "payouts approve",
        "claim 1 into a new batch",
        "operator",
        keys.operator().request(2, at(29 * 86_400), approve).unwrap(),
    );
    let balance_refund = telegram::BalanceRefund {
        member: member(),
        payout_account: telegram::BankAccount {
            bank_code: telegram::Digits::new("0005").unwrap(),
            branch_code: telegram::Digits::new("001").unwrap(),
            account_type: telegram::AccountType::Savings,
            account_number: telegram::Digits::new("7654321").unwrap(),
            holder_name: text("YAMADA TARO"),
        },
        close_account: true,
        reason: text("Member moved abroad"),
    };
    add(
        "balance refund",
        "refund the unused balance and close the account",
        "operator",
        keys.operator().request(3, at(40 * 86_400), balance_refund).unwrap(),
    );
    let freeze = telegram::FreezeRequest {
        party: member().party(),
        action: telegram::FreezeAction::Freeze,
        reason: text("Chargeback under investigation"),
    };
    add("freeze", "freeze M00000123", "operator", keys.operator().request(4, at(35 * 86_400), freeze).unwrap());
    let report =
        telegram::ReportRequest { range: telegram::DateRange::new(date(2025, 1, 1), date(2025, 1, 1)).unwrap() };
    add(
        "report request",
        "statistics for one day",
        "operator",
        keys.operator().request(5, at(86_400), report).unwrap(),
    );
    let journal = telegram::JournalQuery {
        sender: Some(member().party()),
        code: Some(4000),
        result: None,
        from_ms: T0_MS,
        to_ms: at(86_400),
        after_entry: 0,
    };
    add(
        "journal query",
        "M00000123's payment instructions on the first day",
        "operator",
        keys.operator().request(6, at(86_401), journal).unwrap(),
    );
    add(
        "inquiry",
        "one purchase in detail",
        "operator",
        keys.operator().request(7, at(86_402), telegram::Inquiry::Transaction(TRANSACTION)).unwrap(),
    );
    let mail_list = telegram::MailQueueRequest::List(telegram::LetterQuery { include_printed: false, after_letter: 0 });
    let mail_list = keys.operator().request(8, at(12), mail_list).unwrap();
    add("mail queue list", "letters not yet printed", "operator", mail_list.clone());
    let letters = telegram::MailQueueAnswer::Letters(telegram::LetterPage {
        letters: List::new(vec![telegram::Letter {
            letter_number: 1,
            recipient: member().party(),
            name: text("Yamada Taro"),
            address: text("1-2-3 Chiyoda, Chiyoda-ku, Tokyo"),
            activation_code: activation_code(),
            expires_at_ms: at(14 * 86_400),
            created_at_ms: at(11),
            printed: false,
        }])
        .unwrap(),
        more: false,
    });
    add(
        "mail queue letters",
        "the activation letter for M00000123",
        "center",
        keys.center().answer(mail_list.header(), at(13), letters).unwrap(),
    );
    let audit = keys.operator().request(9, at(86_500), telegram::MaintenanceRequest::Audit).unwrap();
    add("audit request", "run the audit", "operator", audit.clone());
    let audited = telegram::MaintenanceAnswer::Audit(telegram::AuditResult { passed: true, findings: List::default() });
    add(
        "audit answer",
        "every invariant holds",
        "center",
        keys.center().answer(audit.header(), at(86_510), audited).unwrap(),
    );

    // Family 99: reject.
    let reject = keys
        .center()
        .reject(&Refused::from_header(instruction.header()), RejectReason::InsufficientBalance, None, at(501))
        .unwrap();
    add("reject", "the payment instruction refused for insufficient balance (result 400)", "center", reject);
    all
}

fn hex_bytes(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Header fields separated by spaces: version, code, sender kind and number,
/// recipient kind and number, processing number, sent-at, result, body length.
fn header_fields(header: &[u8]) -> String {
    const WIDTHS: [usize; 10] = [1, 2, 1, 8, 1, 8, 8, 8, 2, 2];
    let mut offset = 0;
    let mut fields = Vec::new();
    for width in WIDTHS {
        fields.push(hex_bytes(&header[offset..offset + width]));
        offset += width;
    }
    assert_eq!(offset, limits::HEADER_BYTES);
    fields.join(" ")
}

/// Hex in rows of 32 bytes, continuation rows indented.
fn hex_rows(bytes: &[u8]) -> String {
    let rows: Vec<String> = bytes.chunks(32).map(hex_bytes).collect();
    rows.join("\n  ")
}

fn render_keys(keys: &Keys) -> String {
    let mut out = String::from("```denbun-keys\n");
    for (name, seed) in
        [("center", CENTER_SEED), ("member", MEMBER_SEED), ("store", STORE_SEED), ("operator", OPERATOR_SEED)]
    {
        let key = keys.signing_key(name).expect("named key").verifying_key();
        writeln!(out, "{name}-seed: {}", hex_bytes(&seed)).unwrap();
        writeln!(out, "{name}-verification-key: {}", hex_bytes(key.as_bytes())).unwrap();
    }
    writeln!(out, "center-fingerprint: {}", hex_bytes(keys.fingerprint().as_bytes())).unwrap();
    writeln!(out, "center-fingerprint-short: {}", keys.fingerprint().short_form()).unwrap();
    writeln!(out, "member-delivery-secret: {}", hex_bytes(&MEMBER_DELIVERY_SECRET)).unwrap();
    writeln!(out, "member-delivery-key: {}", hex_bytes(keys.member_delivery.as_bytes())).unwrap();
    writeln!(out, "store-ephemeral-secret: {}", hex_bytes(&STORE_EPHEMERAL_SECRET)).unwrap();
    writeln!(out, "store-ephemeral-key: {}", hex_bytes(keys.store_ephemeral.as_bytes())).unwrap();
    writeln!(out, "session-handshake-hash: {}", hex_bytes(&SESSION_HANDSHAKE_HASH)).unwrap();
    out.push_str("```\n");
    out
}

fn render_vector(vector: &Vector) -> String {
    let bytes = vector.telegram.as_bytes();
    let header = Header::decode(bytes).expect("own telegram");
    let body_end = limits::HEADER_BYTES + header.body_length();
    let mut out = String::from("```denbun-vector\n");
    writeln!(out, "name: {}", vector.name).unwrap();
    writeln!(out, "note: {}", vector.note).unwrap();
    writeln!(out, "code: {} {}", header.code(), header.code().name()).unwrap();
    writeln!(out, "sender: {}", header.sender()).unwrap();
    writeln!(out, "recipient: {}", header.recipient()).unwrap();
    writeln!(out, "signer: {}", vector.signer).unwrap();
    if header.code().base() == Code::SIGN_ON {
        writeln!(out, "handshake-hash: session-handshake-hash").unwrap();
    }
    writeln!(out, "header: {}", header_fields(&bytes[..limits::HEADER_BYTES])).unwrap();
    writeln!(out, "body: {}", hex_rows(&bytes[limits::HEADER_BYTES..body_end])).unwrap();
    writeln!(out, "signature: {}", hex_rows(&bytes[body_end..])).unwrap();
    out.push_str("```\n");
    out
}

fn render_vectors(keys: &Keys) -> String {
    let mut out = render_keys(keys);
    for vector in vectors(keys) {
        out.push('\n');
        out.push_str(&render_vector(&vector));
    }
    out
}

fn kinds(kinds: &[denbun_protocol::header::PartyKind]) -> String {
    kinds.iter().map(|kind| kind.word()).collect::<Vec<_>>().join(", ")
}

fn render_code_table() -> String {
    let (bodies, _) = Body::layouts();
    let body_of: BTreeMap<u16, &str> = bodies.iter().map(|(code, name)| (code.number(), *name)).collect();
    let mut out = String::from(
        "| code | telegram | function | body | sent by | sent to | sign-on first |\n| --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for rule in CATALOG {
        let body = body_of[&rule.code.number()];
        writeln!(
            out,
            "| {} | {} | {} | [`{body}`](#{}) | {} | {} | {} |",
            rule.code,
            rule.name,
            rule.function,
            body.to_lowercase(),
            kinds(rule.senders),
            kinds(rule.recipients),
            if rule.needs_sign_on() { "yes" } else { "" }
        )
        .unwrap();
    }
    out
}

fn render_reject_table() -> String {
    let mut out = String::from("| result | reason | default message |\n| --- | --- | --- |\n");
    for reason in RejectReason::ALL {
        writeln!(out, "| {} | `{reason:?}` | {} |", reason.code(), reason.message()).unwrap();
    }
    out
}

/// The limits the layouts name, with their values.
fn limits_used() -> Vec<(&'static str, u64, &'static str)> {
    use denbun_protocol::limits::*;
    vec![
        ("TELEGRAM_BYTES_MAX", TELEGRAM_BYTES_MAX as u64, "largest telegram (plaintext of one transport message)"),
        ("BODY_BYTES_MAX", BODY_BYTES_MAX as u64, "largest body"),
        ("AMOUNT_YEN_MAX", AMOUNT_YEN_MAX, "largest amount or balance in yen"),
        ("PARTY_NUMBER_MAX", PARTY_NUMBER_MAX, "largest member, store or operator number"),
        ("ACCOUNT_HOLDER_BYTES_MAX", ACCOUNT_HOLDER_BYTES_MAX as u64, "bank account holder name"),
        ("ACTIVATION_CODE_BYTES_MAX", ACTIVATION_CODE_BYTES_MAX as u64, "activation code"),
        ("ADDRESS_BYTES_MAX", ADDRESS_BYTES_MAX as u64, "postal address"),
        ("AUDIT_FINDINGS_MAX", AUDIT_FINDINGS_MAX as u64, "findings in one audit answer"),
        ("CARRIER_BYTES_MAX", CARRIER_BYTES_MAX as u64, "carrier name"),
        ("CATALOG_ITEMS_MAX", CATALOG_ITEMS_MAX as u64, "items in one catalog version"),
        ("CATALOG_PAGE_ITEMS_MAX", CATALOG_PAGE_ITEMS_MAX as u64, "items on one catalog page"),
        ("CATALOG_PARTS_MAX", CATALOG_PARTS_MAX as u64, "parts of one catalog version"),
        ("CATALOG_PUBLISH_ITEMS_MAX", CATALOG_PUBLISH_ITEMS_MAX as u64, "items in one catalog publish part"),
        ("CLAIM_ORDERS_MAX", CLAIM_ORDERS_MAX as u64, "purchases in one payment claim"),
        ("DELIVERY_BYTES_MAX", DELIVERY_BYTES_MAX, "largest digital item (plaintext)"),
        ("DELIVERY_CHUNK_BYTES_MAX", DELIVERY_CHUNK_BYTES_MAX as u64, "sealed bytes in one delivery chunk"),
        ("DELIVERY_PLAINTEXT_CHUNK_BYTES", DELIVERY_PLAINTEXT_CHUNK_BYTES as u64, "plaintext bytes per sealed chunk"),
        ("EXPORT_CHUNK_BYTES_MAX", EXPORT_CHUNK_BYTES_MAX as u64, "transfer file bytes in one export answer"),
        ("GUIDE_TEXT_BYTES_MAX", GUIDE_TEXT_BYTES_MAX as u64, "guide or agreement text"),
        ("ITEM_DESCRIPTION_BYTES_MAX", ITEM_DESCRIPTION_BYTES_MAX as u64, "item description"),
        ("ITEM_TITLE_BYTES_MAX", ITEM_TITLE_BYTES_MAX as u64, "item title, statement line description"),
        ("JOURNAL_PIECE_BYTES_MAX", JOURNAL_PIECE_BYTES_MAX as u64, "telegram bytes in one journal entry answer"),
        ("JOURNAL_ROWS_MAX", JOURNAL_ROWS_MAX as u64, "rows in one journal page"),
        ("LIVE_SECONDS_MAX", LIVE_SECONDS_MAX as u64, "seconds of per-second counts in the live figures"),
        ("MAILBOX_BATCH_MAX", MAILBOX_BATCH_MAX as u64, "notices per mailbox fetch"),
        ("MAIL_LETTERS_MAX", MAIL_LETTERS_MAX as u64, "letters in one mail queue answer"),
        ("MESSAGE_BYTES_MAX", MESSAGE_BYTES_MAX as u64, "messages, reasons, instructions"),
        ("NAME_BYTES_MAX", NAME_BYTES_MAX as u64, "person's name, labels"),
        ("ORDER_LINES_MAX", ORDER_LINES_MAX as u64, "lines in one order"),
        (
            "PAYOUT_BATCH_CLAIMS_MAX",
            PAYOUT_BATCH_CLAIMS_MAX as u64,
            "claims approved by one telegram; claims in one payout",
        ),
        ("QUERY_ROWS_MAX", QUERY_ROWS_MAX as u64, "rows in one operator listing"),
        ("REFERENCE_BYTES_MAX", REFERENCE_BYTES_MAX as u64, "transfer reference"),
        ("REPORT_DAYS_MAX", REPORT_DAYS_MAX as u64, "days in one report"),
        ("REPORT_STORES_MAX", REPORT_STORES_MAX as u64, "stores in one report"),
        ("SEARCH_TEXT_BYTES_MAX", SEARCH_TEXT_BYTES_MAX as u64, "search text"),
        ("SHA256_BYTES", SHA256_BYTES as u64, "SHA-256 digest"),
        ("SOFTWARE_VERSION_BYTES_MAX", SOFTWARE_VERSION_BYTES_MAX as u64, "terminal software version"),
        ("STATEMENT_LINES_MAX", STATEMENT_LINES_MAX as u64, "lines on one statement page"),
        ("STORE_LIST_MAX", STORE_LIST_MAX as u64, "stores on one store list page"),
        ("TELEGRAM_CLASSES_MAX", TELEGRAM_CLASSES_MAX as u64, "telegram classes in the live figures"),
        ("TRACKING_BYTES_MAX", TRACKING_BYTES_MAX as u64, "tracking text"),
        ("TRADE_NAME_BYTES_MAX", TRADE_NAME_BYTES_MAX as u64, "store trade name"),
    ]
}

fn render_limits() -> String {
    let mut out = String::from("| limit | value | what |\n| --- | --- | --- |\n");
    for (name, value, what) in limits_used() {
        writeln!(out, "| `{name}` | {} | {what} |", denbun_protocol::wire::group_thousands(value)).unwrap();
    }
    out
}

fn cell(text: &str) -> String {
    text.trim().replace('|', "\\|")
}

fn render_type(layout: &TypeLayout) -> String {
    let mut out = format!("#### {}\n\n{}\n\n", layout.name, cell(layout.doc));
    match &layout.shape {
        Shape::Struct(fields) if fields.is_empty() => out.push_str("No bytes: the body is empty.\n"),
        Shape::Struct(fields) => {
            out.push_str("| field | type | meaning |\n| --- | --- | --- |\n");
            for field in fields {
                writeln!(out, "| {} | `{}` | {} |", field.name, field.type_name, cell(field.doc)).unwrap();
            }
        }
        Shape::Enum(variants) => {
            out.push_str("A tag byte, then the variant's value (none if the value column is empty).\n\n");
            out.push_str("| tag | variant | value | meaning |\n| --- | --- | --- | --- |\n");
            for variant in variants {
                let payload = variant.payload.map(|payload| format!("`{payload}`")).unwrap_or_default();
                writeln!(out, "| {} | {} | {payload} | {} |", variant.tag, variant.name, cell(variant.doc)).unwrap();
            }
        }
        Shape::Flags(variants) => {
            out.push_str("One byte, one of:\n\n| byte | name | meaning |\n| --- | --- | --- |\n");
            for variant in variants {
                writeln!(out, "| {} | {} | {} |", variant.tag, variant.name, cell(variant.doc)).unwrap();
            }
        }
    }
    out
}

fn render_layouts() -> String {
    let (_, types) = Body::layouts();
    let rendered: Vec<String> = types.iter().map(render_type).collect();
    rendered.join("\n")
}

/// Every generated section: (marker name, content).
fn generated_sections(keys: &Keys) -> Vec<(&'static str, String)> {
    vec![
        ("codes", render_code_table()),
        ("layouts", render_layouts()),
        ("reject reasons", render_reject_table()),
        ("limits", render_limits()),
        ("vectors", render_vectors(keys)),
    ]
}

fn document() -> String {
    std::fs::read_to_string(DOCUMENT).unwrap_or_else(|error| panic!("cannot read {DOCUMENT}: {error}"))
}

/// The text between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->`.
fn section<'a>(document: &'a str, name: &str) -> Option<&'a str> {
    let begin = format!("<!-- generated: {name} -->\n");
    let end = format!("<!-- end generated: {name} -->");
    let start = document.find(&begin)? + begin.len();
    let stop = start + document[start..].find(&end)?;
    Some(document[start..stop].trim_matches('\n'))
}

#[test]
fn generated_sections_match_the_code() {
    let keys = Keys::new();
    let document = document();
    for (name, expected) in generated_sections(&keys) {
        let found =
            section(&document, name).unwrap_or_else(|| panic!("docs/protocol.md has no generated section `{name}`"));
        if found != expected.trim_matches('\n') {
            let first_difference = found
                .lines()
                .zip(expected.lines())
                .position(|(found, expected)| found != expected)
                .unwrap_or(found.lines().count().min(expected.lines().count()));
            panic!(
                "docs/protocol.md section `{name}` is out of date (first difference at line {}); regenerate with \
                 DENBUN_PRINT_VECTORS=1 cargo test -p denbun-protocol --test vectors print -- --nocapture",
                first_difference + 1
            );
        }
    }
}

#[test]
fn print_generated_sections_when_asked() {
    let keys = Keys::new();
    let sections = generated_sections(&keys);
    // Whatever is printed must parse back into the same vectors.
    let parsed = parse_vectors(&sections.iter().find(|(name, _)| *name == "vectors").unwrap().1);
    assert_eq!(parsed.len(), vectors(&keys).len());
    if std::env::var_os("DENBUN_PRINT_VECTORS").is_some() {
        for (name, content) in sections {
            println!("<!-- generated: {name} -->\n{}\n<!-- end generated: {name} -->\n", content.trim_matches('\n'));
        }
    }
}

/// One vector block as read from the document: its fields, continuation
/// lines joined.
type Block = BTreeMap<String, String>;

fn parse_blocks(text: &str, fence: &str) -> Vec<Block> {
    let opening = format!("```{fence}");
    let mut blocks = Vec::new();
    let mut current: Option<(Block, Option<String>)> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_end() == opening => current = Some((Block::new(), None)),
            None => {}
            Some((block, _)) if line.trim_end() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some((block, last_key)) => {
                if let Some(continuation) = line.strip_prefix("  ") {
                    let key = last_key.as_ref().expect("a continuation line follows a field");
                    let value = block.get_mut(key).expect("field exists");
                    value.push(' ');
                    value.push_str(continuation.trim());
                } else {
                    let (key, value) = line.split_once(':').unwrap_or_else(|| panic!("not a field: {line}"));
                    let previous = block.insert(key.trim().to_owned(), value.trim().to_owned());
                    assert!(previous.is_none(), "field `{key}` twice in one block");
                    *last_key = Some(key.trim().to_owned());
                }
            }
        }
    }
    assert!(current.is_none(), "unterminated ```{fence} block");
    blocks
}

fn parse_vectors(text: &str) -> Vec<Block> {
    parse_blocks(text, "denbun-vector")
}

fn unhex(field: &str) -> Vec<u8> {
    let digits: String = field.split_whitespace().collect();
    hex::decode(&digits).unwrap_or_else(|error| panic!("bad hex `{field}`: {error}"))
}

fn field<'a>(block: &'a Block, key: &str) -> &'a str {
    block.get(key).unwrap_or_else(|| panic!("vector {:?} lacks `{key}`", block.get("name")))
}

#[test]
fn document_keys_derive_from_their_seeds() {
    let keys = Keys::new();
    let blocks = parse_blocks(&document(), "denbun-keys");
    assert_eq!(blocks.len(), 1, "exactly one ```denbun-keys block");
    let block = &blocks[0];
    for name in ["center", "member", "store", "operator"] {
        let seed: [u8; 32] = unhex(field(block, &format!("{name}-seed"))).try_into().expect("32-byte seed");
        let key = SigningKey::from_bytes(&seed).verifying_key();
        assert_eq!(unhex(field(block, &format!("{name}-verification-key"))), key.as_bytes());
        assert_eq!(&key, &keys.signing_key(name).unwrap().verifying_key());
    }
    let center_key: [u8; 32] = unhex(field(block, "center-verification-key")).try_into().unwrap();
    let fingerprint: [u8; 32] = Sha256::digest(center_key).into();
    assert_eq!(unhex(field(block, "center-fingerprint")), fingerprint);
    assert_eq!(field(block, "center-fingerprint-short"), CenterFingerprint::from_bytes(fingerprint).short_form());
    for (secret, public) in
        [("member-delivery-secret", "member-delivery-key"), ("store-ephemeral-secret", "store-ephemeral-key")]
    {
        let secret: [u8; 32] = unhex(field(block, secret)).try_into().unwrap();
        assert_eq!(unhex(field(block, public)), DeliveryKey::from(&StaticSecret::from(secret)).as_bytes());
    }
}

#[test]
fn document_vectors_encode_decode_and_verify() {
    let keys = Keys::new();
    let document = document();
    let key_block = &parse_blocks(&document, "denbun-keys")[0];
    let handshake_hash: [u8; 32] = unhex(field(key_block, "session-handshake-hash")).try_into().unwrap();
    let fingerprint = CenterFingerprint::from_bytes(unhex(field(key_block, "center-fingerprint")).try_into().unwrap());
    let blocks = parse_vectors(&document);
    let expected = vectors(&keys);
    assert_eq!(
        blocks.iter().map(|block| field(block, "name")).collect::<Vec<_>>(),
        expected.iter().map(|vector| vector.name).collect::<Vec<_>>(),
        "the document's vectors are the table's, in order"
    );
    for (block, vector) in blocks.iter().zip(&expected) {
        let name = vector.name;
        let header = unhex(field(block, "header"));
        let body = unhex(field(block, "body"));
        let signature = unhex(field(block, "signature"));
        assert_eq!(header.len(), limits::HEADER_BYTES, "{name}");
        assert_eq!(signature.len(), limits::SIGNATURE_BYTES, "{name}");
        let bytes = [header, body, signature].concat();

        // encode == bytes
        assert_eq!(
            hex::encode(vector.telegram.as_bytes()),
            hex::encode(&bytes),
            "{name}: encoding differs from the document"
        );
        // decode == value
        let decoded = Telegram::decode(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(decoded, vector.telegram, "{name}");
        assert_eq!(field(block, "code"), format!("{} {}", decoded.code(), decoded.code().name()), "{name}");
        assert_eq!(field(block, "sender"), decoded.sender().to_string(), "{name}");
        assert_eq!(field(block, "recipient"), decoded.header().recipient().to_string(), "{name}");
        assert_eq!(field(block, "note"), vector.note, "{name}");
        // the signature verifies under the named key (and no other center)
        match keys.signing_key(field(block, "signer")) {
            None => {
                assert_eq!(field(block, "signer"), "none", "{name}");
                assert_eq!(decoded.signature(), &[0u8; limits::SIGNATURE_BYTES], "{name}");
            }
            Some(signing_key) => {
                let key = signing_key.verifying_key();
                let verified = if decoded.code().base() == Code::SIGN_ON {
                    assert_eq!(field(block, "handshake-hash"), "session-handshake-hash", "{name}");
                    decoded.verify_sign_on(&key, &fingerprint, &handshake_hash)
                } else {
                    decoded.verify(&key, &fingerprint)
                };
                assert_eq!(verified, Ok(()), "{name}");
                let elsewhere = CenterFingerprint::from_bytes([0; 32]);
                assert!(
                    decoded.verify(&key, &elsewhere).is_err()
                        && decoded.verify_sign_on(&key, &elsewhere, &handshake_hash).is_err()
                );
            }
        }
    }
}

#[test]
fn vectors_cover_every_family_and_function() {
    let keys = Keys::new();
    let vectors = vectors(&keys);
    let families: std::collections::BTreeSet<u8> = CATALOG.iter().map(|rule| rule.code.family()).collect();
    for family in families {
        assert!(
            vectors.iter().any(|vector| vector.telegram.code().family() == family),
            "no vector for family {family}"
        );
    }
    for function in [Function::Request, Function::Answer, Function::Notice] {
        assert!(vectors.iter().any(|vector| vector.telegram.code().function() == function));
    }
    assert!(vectors.iter().any(|vector| vector.telegram.code().is_repeat()));
}

#[test]
fn every_limit_a_layout_names_is_in_the_limits_table() {
    let (_, types) = Body::layouts();
    let listed: Vec<&str> = limits_used().iter().map(|(name, _, _)| *name).collect();
    for layout in &types {
        let type_names: Vec<&str> = match &layout.shape {
            Shape::Struct(fields) => fields.iter().map(|field| field.type_name).collect(),
            Shape::Enum(variants) | Shape::Flags(variants) => {
                variants.iter().filter_map(|variant| variant.payload).collect()
            }
        };
        for type_name in type_names {
            for word in type_name.split(|character: char| !(character.is_ascii_alphanumeric() || character == '_')) {
                let is_constant = word.len() > 1
                    && word.chars().all(|character| {
                        character.is_ascii_uppercase() || character == '_' || character.is_ascii_digit()
                    })
                    && word.contains('_');
                assert!(
                    !is_constant || listed.contains(&word),
                    "{word} (in {}) is missing from the limits table",
                    layout.name
                );
            }
        }
    }
}

#[test]
fn code_table_names_every_body_type_described() {
    let (bodies, types) = Body::layouts();
    for (code, body) in bodies {
        assert!(types.iter().any(|layout| layout.name == body), "{code}: {body} has no layout");
    }
}
