//! Every screen of member mode at 80x24.

use crossterm::event::KeyCode;
use denbun_client::terminal::app::{App, Line, Mode, Outcome, OutcomeResult, Transfer, Update};
use denbun_protocol::header::PartyId;
use denbun_protocol::telegram::{
    ApplicationAccepted, Body, CardAnswer, CardPending, CardRequest, DateRange, EntryKind, FundingChannel, GuideText,
    GuideTopic, Statement, StatementLine,
};
use denbun_protocol::wire::{Amount, List, Text, Yen};

use crate::fixtures::*;

fn first_run() -> App {
    App::new(Mode::Member, profile(), Some(center_view()), false)
}

fn guide(topic: GuideTopic, text: &str) -> Update {
    Update::Guide(Box::new(GuideText { topic, version: 3, text: Text::new(text).unwrap() }))
}

const GUIDE: &str = "Welcome to the Denbun settlement center.\nMembers buy from stores with a virtual prepaid card \
                     issued by the center.\nStores sell goods, and the center pays them out to their bank \
                     accounts.\nApply first; your activation code arrives by post.";
const AGREEMENT: &str = "Member agreement: your prepaid balance is held by the center.\nEvery payment you sign is \
                         final once the center has answered it.\nKeep password B secret: with it, anyone holding \
                         your key file can pay.";

#[test]
fn welcome() {
    snapshot!("member_welcome", first_run());
    let mut no_card = App::new(Mode::Member, profile(), None, false);
    press(&mut no_card, KeyCode::Enter);
    snapshot!("member_welcome_without_card", no_card);
}

#[test]
fn guide_and_agreement() {
    let mut app = first_run();
    press(&mut app, KeyCode::Enter);
    snapshot!("member_guide_loading", app);
    feed(&mut app, guide(GuideTopic::Guide, GUIDE));
    snapshot!("member_guide", app);
    press(&mut app, KeyCode::Enter);
    feed(&mut app, guide(GuideTopic::MemberAgreement, AGREEMENT));
    snapshot!("member_agreement", app);
}

fn applying() -> App {
    let mut app = first_run();
    press(&mut app, KeyCode::Enter);
    feed(&mut app, guide(GuideTopic::Guide, GUIDE));
    press(&mut app, KeyCode::Enter);
    feed(&mut app, guide(GuideTopic::MemberAgreement, AGREEMENT));
    press(&mut app, KeyCode::Char('a'));
    app
}

#[test]
fn application() {
    let mut app = applying();
    type_text(&mut app, "Hanako Yamada");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "1-2-3 Marunouchi, Chiyoda-ku, Tokyo");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "1990-02-30");
    press(&mut app, KeyCode::Enter);
    snapshot!("member_apply_error", app);
    press_control(&mut app, 'u');
    type_text(&mut app, "1990-04-01");
    press(&mut app, KeyCode::Enter);
    feed(
        &mut app,
        Update::Applied(Box::new(ApplicationAccepted {
            assigned: member(),
            activation_code_expires_at_ms: JUNE_FIRST_MS + 30 * DAY_MS,
            message: Text::new(
                "Your number is M00000001. Your activation code comes by post to the address you gave; register \
                 with it before it expires.",
            )
            .unwrap(),
        })),
    );
    snapshot!("member_applied", app);
}

/// The wizard after the application, at its first step.
fn wizard() -> App {
    let mut app = applying();
    type_text(&mut app, "Hanako Yamada");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "1-2-3 Marunouchi, Chiyoda-ku, Tokyo");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "1990-04-01");
    press(&mut app, KeyCode::Enter);
    feed(
        &mut app,
        Update::Applied(Box::new(ApplicationAccepted {
            assigned: member(),
            activation_code_expires_at_ms: JUNE_FIRST_MS + 30 * DAY_MS,
            message: Text::new("Your number is M00000001.").unwrap(),
        })),
    );
    press(&mut app, KeyCode::Enter);
    app
}

#[test]
fn registration_wizard() {
    let mut app = wizard();
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "K7Q2-9XPM");
    snapshot!("member_register_letter", app);
    press(&mut app, KeyCode::Enter);
    snapshot!("member_register_details", app);
    for _ in 0..3 {
        press(&mut app, KeyCode::Enter);
    }
    type_text(&mut app, "plum blossom");
    snapshot!("member_register_password_a", app);
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "plum blossom");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "plum blossom");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "plum blossom");
    snapshot!("member_register_password_b_same_as_a", app);
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "cherry rain 9");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "cherry rain 9");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "Kamo river at dawn, 1212");
    snapshot!("member_register_seed", app);
    press(&mut app, KeyCode::Enter);
    snapshot!("member_register_confirm", app);
    press(&mut app, KeyCode::Enter);
    feed(
        &mut app,
        Update::Progress {
            label: "Deriving the keys of passwords A and B and writing the key file".to_owned(),
            progress: Some((2, 4)),
        },
    );
    snapshot!("member_registering", app);
    feed(&mut app, Update::Account(Box::new(member_account(Vec::new()))));
    feed(&mut app, Update::Registered(Box::new(member_account(Vec::new()).certificate.unwrap())));
    snapshot!("member_certificate", app);
}

#[test]
fn a_refused_registration_comes_back_to_the_letter() {
    let mut app = wizard();
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "K7Q2-9XPN");
    press(&mut app, KeyCode::Enter);
    for _ in 0..3 {
        press(&mut app, KeyCode::Enter);
    }
    for password in ["plum blossom", "plum blossom", "cherry rain 9", "cherry rain 9"] {
        type_text(&mut app, password);
        press(&mut app, KeyCode::Enter);
    }
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let mut account = member_account(Vec::new());
    account.certificate = None;
    account.records.clear();
    feed(&mut app, Update::Account(Box::new(account)));
    feed(
        &mut app,
        Update::RegistrationFailed(
            "The center refused your registration: wrong activation code; 4 attempts left (210). Check the code in \
             your letter (letters and digits) and try again. Your key file and keys are kept."
                .to_owned(),
        ),
    );
    snapshot!("member_register_refused", app);
}

#[test]
fn unlock() {
    let mut app = App::new(Mode::Member, profile(), Some(center_view()), true);
    type_text(&mut app, "secret");
    snapshot!("member_unlock", app);
    press(&mut app, KeyCode::Enter);
    feed(
        &mut app,
        Update::UnlockFailed(
            "Wrong password A. The key file is intact; check Caps Lock and the keyboard layout, and try again."
                .to_owned(),
        ),
    );
    snapshot!("member_unlock_wrong_password", app);
    let mut demo = App::new(Mode::Member, profile(), Some(center_view()), true);
    demo.demo_note = Some("Demo: password A is dk9j4-7nahk, password B is 8f5jm-de6zu.".to_owned());
    snapshot!("member_unlock_demo", demo);
}

#[test]
fn menu() {
    let mut app = member_app();
    snapshot!("member_home_offline", app);
    signed_on(&mut app);
    feed(&mut app, Update::Notices(1));
    snapshot!("member_home_signed_on", app);
    press(&mut app, KeyCode::Char('?'));
    snapshot!("member_help", app);
}

#[test]
fn history_and_receipts() {
    let mut app = member_app();
    press(&mut app, KeyCode::Char('h'));
    snapshot!("member_history", app);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    snapshot!("member_history_receipt", app);
}

#[test]
fn outbox_and_notices() {
    let mut app = member_app();
    feed(&mut app, Update::Account(Box::new(member_account(vec![waiting_payment()]))));
    feed(&mut app, Update::Line(Line::Down("cannot reach the center".to_owned())));
    press(&mut app, KeyCode::Char('o'));
    snapshot!("member_outbox", app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('n'));
    snapshot!("member_notices", app);
    press(&mut app, KeyCode::Enter);
    snapshot!("member_notice_detail", app);
}

#[test]
fn quitting_with_an_unsent_payment_asks_first() {
    let mut app = member_app();
    feed(&mut app, Update::Account(Box::new(member_account(vec![waiting_payment()]))));
    press(&mut app, KeyCode::Char('q'));
    snapshot!("member_quit_confirm", app);
}

#[test]
fn password_b() {
    let mut app = member_app();
    press(&mut app, KeyCode::Char('t'));
    type_text(&mut app, "secret");
    snapshot!("member_password_b", app);
    press(&mut app, KeyCode::Enter);
    feed(
        &mut app,
        Update::SigningFailed(
            "Wrong password B. Your history is still readable with password A, but signing needs the right \
             password B; try again."
                .to_owned(),
        ),
    );
    snapshot!("member_password_b_wrong", app);
}

#[test]
fn balance_and_top_up() {
    let mut app = member_app();
    press(&mut app, KeyCode::Char('b'));
    snapshot!("member_balance", app);
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('t'));
    type_text(&mut app, "5,000");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Right);
    snapshot!("member_top_up", app);
    press(&mut app, KeyCode::Enter);
    feed(
        &mut app,
        Update::Outcome(Box::new(Outcome {
            request: CardRequest { amount: Amount::new(5_000).unwrap(), channel: FundingChannel::BankTransfer }.into(),
            result: OutcomeResult::Answered(Box::new(Body::CardAnswer(CardAnswer::Pending(CardPending {
                reference: Text::new("BT-00000001-8").unwrap(),
                amount: Amount::new(5_000).unwrap(),
                instructions: Text::new(
                    "Transfer 5,000 yen to Denbun Bank (0001), ordinary 1234567, quoting BT-00000001-8.",
                )
                .unwrap(),
            })))),
        })),
    );
    snapshot!("member_top_up_pending", app);
}

#[test]
fn a_refused_top_up_says_what_to_do() {
    let mut app = member_app();
    signed_on(&mut app);
    feed(
        &mut app,
        Update::Outcome(Box::new(Outcome {
            request: CardRequest { amount: Amount::new(5_000).unwrap(), channel: FundingChannel::CreditCompany }.into(),
            result: OutcomeResult::Refused(
                "The center refused the top-up of 5,000 yen: the credit company declined the request (406). Choose \
                 another funding channel, or ask your credit company."
                    .to_owned(),
            ),
        })),
    );
    snapshot!("member_top_up_refused", app);
}

#[test]
fn stores_catalog_item_cart_checkout() {
    let mut app = member_app();
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('s'));
    snapshot!("member_stores_loading", app);
    feed(&mut app, Update::Stores(Box::new(store_list())));
    snapshot!("member_stores", app);
    press(&mut app, KeyCode::Enter);
    feed(&mut app, Update::Catalog(Box::new(catalog_page())));
    press(&mut app, KeyCode::Down);
    snapshot!("member_catalog", app);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "tea");
    snapshot!("member_catalog_search", app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('+'));
    snapshot!("member_item", app);
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Char('c'));
    snapshot!("member_cart", app);
    press(&mut app, KeyCode::Enter);
    snapshot!("member_checkout", app);
    feed(&mut app, Update::Line(Line::Down("cannot reach the center".to_owned())));
    snapshot!("member_checkout_offline", app);
    press(&mut app, KeyCode::Char('y'));
    feed(&mut app, Update::Account(Box::new(member_account(vec![waiting_payment()]))));
    feed(&mut app, Update::Done);
    feed(
        &mut app,
        Update::Outcome(Box::new(Outcome {
            request: denbun_protocol::telegram::PaymentInstruction {
                transaction_number: 5_151,
                store: denbun_protocol::header::StoreNumber::new(1).unwrap(),
                catalog_version: 1,
                lines: List::new(vec![denbun_protocol::telegram::OrderLine {
                    item_id: 2,
                    quantity: 2,
                    unit_price: Amount::new(500).unwrap(),
                }])
                .unwrap(),
                total: Amount::new(1_000).unwrap(),
            }
            .into(),
            result: OutcomeResult::Waiting("the line is down".to_owned()),
        })),
    );
    snapshot!("member_payment_waiting", app);
}

#[test]
fn downloads() {
    let mut app = member_app();
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('d'));
    snapshot!("member_downloads", app);
    press(&mut app, KeyCode::Enter);
    feed(&mut app, Update::Transfer { key: (PAID_DIGITAL, 2), state: Transfer::Moving { done: 1_600, total: 3_496 } });
    snapshot!("member_download_running", app);
}

#[test]
fn statement() {
    let mut app = member_app();
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('m'));
    snapshot!("member_statement_range", app);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let line = |day, kind, reference, yen, description: &str| StatementLine {
        date: date(day),
        kind,
        reference,
        counterparty: if kind == EntryKind::CardIssued { PartyId::CENTER } else { store() },
        amount: Amount::new(yen).unwrap(),
        description: Text::new(description).unwrap(),
    };
    feed(
        &mut app,
        Update::Statement(Box::new(Statement {
            range: DateRange::new(date(0), date(5)).unwrap(),
            page: 0,
            page_count: 1,
            opening_balance: Yen::ZERO,
            closing_balance: Yen::new(7_700).unwrap(),
            lines: List::new(vec![
                line(0, EntryKind::CardIssued, 1, 10_000, "credit company"),
                line(2, EntryKind::Payment, PAID_DIGITAL, 500, "Guide to Uji tea (text)"),
                line(3, EntryKind::Payment, PAID_MAIL_ORDER, 1_800, "Gyokuro, 100 g"),
            ])
            .unwrap(),
        })),
    );
    snapshot!("member_statement", app);
}

#[test]
fn small_windows_say_so() {
    let app = member_app();
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("small_window", screen_at(&app, 50, 12));
    });
    let wide = screen_at(&app, 120, 30);
    assert!(wide.contains("History (offline)") && wide.contains("Hanako Yamada"), "{wide}");
}
