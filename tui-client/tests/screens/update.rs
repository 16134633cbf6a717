//! Unit tests of `update`: the effects a key asks for, the state it leaves.

use crossterm::event::KeyCode;
use denbun_client::catalog_file::DraftKind;
use denbun_client::terminal::app::{
    App, ConfirmAction, Effect, Line, Mode, Outcome, OutcomeResult, Overlay, Screen, Step, Update,
};
use denbun_protocol::telegram::{Body, FundingChannel, PaymentAnswer};
use denbun_protocol::wire::{Amount, Yen};

use crate::fixtures::*;

fn names(effects: &[Effect]) -> Vec<String> {
    effects.iter().map(|effect| format!("{effect:?}")).collect()
}

#[test]
fn q_quits_at_once_when_nothing_is_unsent() {
    let mut app = member_app();
    let effects = press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
    assert_eq!(names(&effects), ["Quit"]);
}

#[test]
fn q_asks_first_when_the_outbox_is_not_empty_and_n_stays() {
    let mut app = member_app();
    feed(&mut app, Update::Account(Box::new(member_account(vec![waiting_payment()]))));
    assert!(press(&mut app, KeyCode::Char('q')).is_empty());
    assert!(matches!(&app.overlay, Some(Overlay::ConfirmQuit { reason }) if reason.contains("outbox")));
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    assert!(!app.quit && app.overlay.is_none());
    press(&mut app, KeyCode::Char('q'));
    assert_eq!(names(&press(&mut app, KeyCode::Char('y'))), ["Quit"]);
    assert!(app.quit);
}

#[test]
fn in_a_field_q_is_a_letter_and_control_c_quits() {
    let mut app = App::new(Mode::Member, profile(), Some(center_view()), true);
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.quit);
    assert!(matches!(&app.screen, Screen::Unlock { password } if password.len() == 1));
    assert_eq!(names(&press_control(&mut app, 'c')), ["Quit"]);
}

#[test]
fn unlocking_hands_password_a_over_and_wipes_the_field() {
    let mut app = App::new(Mode::Member, profile(), Some(center_view()), true);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.message.as_ref().is_some_and(|message| message.error));
    type_text(&mut app, "hunter22");
    let effects = press(&mut app, KeyCode::Enter);
    match effects.as_slice() {
        [Effect::Unlock(password)] => assert_eq!(password.as_bytes(), b"hunter22"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(&app.screen, Screen::Unlock { password } if password.is_empty()));
    assert!(!format!("{effects:?}").contains("hunter22"), "Debug never shows a secret");
    feed(&mut app, Update::Account(Box::new(member_account(Vec::new()))));
    feed(&mut app, Update::Unlocked);
    assert!(matches!(app.screen, Screen::Home { .. }));
}

#[test]
fn an_unfinished_registration_opens_the_wizard_to_send_it_again() {
    let mut app = App::new(Mode::Member, profile(), Some(center_view()), true);
    let mut account = member_account(Vec::new());
    account.certificate = None;
    feed(&mut app, Update::Account(Box::new(account)));
    feed(&mut app, Update::Unlocked);
    let Screen::Register(wizard) = &app.screen else { panic!("{:?}", app.screen) };
    assert!(wizard.resume);
    assert_eq!(wizard.steps, [Step::Letter, Step::Details, Step::PasswordB, Step::Confirm]);
    assert_eq!(wizard.letter.text(0), "M00000001");
}

/// Walks the wizard to the password steps with valid letter and details.
fn at_password_a() -> App {
    let mut app = App::new(Mode::Member, profile(), Some(center_view()), false);
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "M00000001");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "K7Q2-9XPM");
    press(&mut app, KeyCode::Enter);
    for text in ["Hanako Yamada", "1-2-3 Marunouchi, Tokyo", "1990-04-01"] {
        type_text(&mut app, text);
        press(&mut app, KeyCode::Enter);
    }
    app
}

fn step(app: &App) -> Step {
    match &app.screen {
        Screen::Register(wizard) => wizard.current(),
        other => panic!("not in the wizard: {other:?}"),
    }
}

fn error(app: &App) -> String {
    match &app.screen {
        Screen::Register(wizard) => wizard.form().and_then(|form| form.error.clone()).unwrap_or_default(),
        other => panic!("not in the wizard: {other:?}"),
    }
}

#[test]
fn the_wizard_checks_each_step_before_the_next() {
    let mut app = App::new(Mode::Member, profile(), Some(center_view()), false);
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "S00000001");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "K7Q2-9XPM");
    press(&mut app, KeyCode::Enter);
    assert_eq!(step(&app), Step::Letter);
    assert!(error(&app).contains("not a member number"), "{}", error(&app));

    let mut app = at_password_a();
    assert_eq!(step(&app), Step::PasswordA);
    for text in ["short", "short"] {
        type_text(&mut app, text);
        press(&mut app, KeyCode::Enter);
    }
    assert_eq!(step(&app), Step::PasswordA);
    assert!(error(&app).contains("at least 8"), "{}", error(&app));
    for text in ["plum blossom", "plum blossoms"] {
        type_text(&mut app, text);
        press(&mut app, KeyCode::Enter);
    }
    assert!(error(&app).contains("differ"), "{}", error(&app));
    let Screen::Register(wizard) = &app.screen else { unreachable!() };
    assert!(wizard.password_a.secret(0).is_some_and(|field| field.is_empty()), "a failed pair is wiped");
    for text in ["plum blossom", "plum blossom"] {
        type_text(&mut app, text);
        press(&mut app, KeyCode::Enter);
    }
    assert_eq!(step(&app), Step::PasswordB);
    for text in ["plum blossom", "plum blossom"] {
        type_text(&mut app, text);
        press(&mut app, KeyCode::Enter);
    }
    assert_eq!(step(&app), Step::PasswordB);
    assert!(error(&app).contains("must differ from password A"), "{}", error(&app));
    press(&mut app, KeyCode::Esc);
    assert_eq!(step(&app), Step::PasswordA, "Esc goes back one step");
}

#[test]
fn registering_takes_every_secret_out_of_the_screen() {
    let mut app = at_password_a();
    for text in ["plum blossom", "plum blossom", "cherry rain 9", "cherry rain 9"] {
        type_text(&mut app, text);
        press(&mut app, KeyCode::Enter);
    }
    type_text(&mut app, "my seal");
    press(&mut app, KeyCode::Enter);
    assert_eq!(step(&app), Step::Confirm);
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::Register(request)] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(request.number, member());
    assert_eq!(request.code.expose(), "K7Q2-9XPM");
    assert_eq!(request.password_a.as_bytes(), b"plum blossom");
    assert_eq!(request.password_b.as_bytes(), b"cherry rain 9");
    assert!(request.seed.is_some());
    assert_eq!(request.personal.name.as_str(), "Hanako Yamada");
    let Screen::Working(wizard) = &app.screen else { panic!("{:?}", app.screen) };
    for form in [&wizard.letter, &wizard.password_a, &wizard.password_b, &wizard.seed] {
        for index in 0..form.fields.len() {
            assert!(form.secret(index).is_none_or(|field| field.is_empty()), "secret left in a field");
        }
    }
    assert!(app.unsent().is_some(), "quitting now asks first");
}

#[test]
fn signed_services_ask_for_password_b_then_open() {
    let mut app = member_app();
    assert!(press(&mut app, KeyCode::Char('s')).is_empty());
    assert!(matches!(app.overlay, Some(Overlay::PasswordB { .. })));
    type_text(&mut app, "cherry rain 9");
    let effects = press(&mut app, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::UnlockSigning(password)] if password.as_bytes() == b"cherry rain 9"));
    assert!(app.overlay.is_none());
    let effects = feed(&mut app, Update::SigningUnlocked);
    assert_eq!(names(&effects), ["ListStores"], "goes on to where it was asked to go");
    assert!(matches!(app.screen, Screen::Stores { .. }));
    assert!(app.signing);
}

#[test]
fn a_wrong_password_b_asks_again() {
    let mut app = member_app();
    press(&mut app, KeyCode::Char('t'));
    type_text(&mut app, "wrong");
    press(&mut app, KeyCode::Enter);
    feed(&mut app, Update::SigningFailed("Wrong password B.".to_owned()));
    assert!(
        matches!(&app.overlay, Some(Overlay::PasswordB { error: Some(error), field, .. }) if error.contains("Wrong") && field.is_empty())
    );
    press(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none() && !app.signing);
}

#[test]
fn top_up_checks_the_amount_and_names_the_channel() {
    let mut app = member_app();
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('t'));
    type_text(&mut app, "ten");
    press(&mut app, KeyCode::Tab);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let Screen::Form(form) = &app.screen else { panic!() };
    assert!(form.form.error.as_deref().is_some_and(|error| error.contains("amount")));
    press(&mut app, KeyCode::Up);
    press_control(&mut app, 'u');
    type_text(&mut app, "10,000");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Left);
    let effects = press(&mut app, KeyCode::Enter);
    match effects.as_slice() {
        [Effect::TopUp { amount, channel }] => {
            assert_eq!(amount.get(), 10_000);
            assert_eq!(*channel, FundingChannel::RegisteredMailCash);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(app.screen, Screen::Home { .. }));
    assert!(app.busy.is_some());
}

#[test]
fn the_cart_holds_one_store_and_checkout_pays_its_lines() {
    let mut app = member_app();
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('s'));
    feed(&mut app, Update::Stores(Box::new(store_list())));
    press(&mut app, KeyCode::Enter);
    feed(&mut app, Update::Catalog(Box::new(catalog_page())));
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('a'));
    let cart = app.cart.clone().unwrap();
    assert_eq!(cart.lines.len(), 2);
    assert_eq!(cart.lines[0].quantity, 2, "the same item twice is one line of 2");
    assert_eq!(cart.total().map(Amount::get), Some(2 * 1_800 + 500));

    // Another store's goods are refused while the cart holds these.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let mut other = catalog_page();
    other.store = denbun_protocol::header::StoreNumber::new(2).unwrap();
    feed(&mut app, Update::Catalog(Box::new(other)));
    press(&mut app, KeyCode::Char('a'));
    assert!(app.message.as_ref().is_some_and(|message| message.error && message.text.contains("Tea House Uji")));
    assert_eq!(app.cart.as_ref().unwrap().lines.len(), 2);

    press(&mut app, KeyCode::Char('c'));
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen, Screen::Checkout));
    let effects = press(&mut app, KeyCode::Char('y'));
    match effects.as_slice() {
        [Effect::Pay { store, catalog_version, lines }] => {
            assert_eq!(store.get(), 1);
            assert_eq!(*catalog_version, 1);
            assert_eq!(lines.iter().map(|line| (line.item_id, line.quantity)).collect::<Vec<_>>(), [(1, 2), (2, 1)]);
        }
        other => panic!("{other:?}"),
    }
    assert!(app.cart.is_none(), "the cart went into the outbox");
    assert!(matches!(app.screen, Screen::Home { .. }));
}

#[test]
fn outcomes_become_messages_and_a_waiting_payment_says_so() {
    let mut app = member_app();
    let payment: Body = denbun_protocol::telegram::PaymentInstruction {
        transaction_number: 9,
        store: denbun_protocol::header::StoreNumber::new(1).unwrap(),
        catalog_version: 1,
        lines: denbun_protocol::wire::List::new(vec![denbun_protocol::telegram::OrderLine {
            item_id: 1,
            quantity: 1,
            unit_price: Amount::new(1_800).unwrap(),
        }])
        .unwrap(),
        total: Amount::new(1_800).unwrap(),
    }
    .into();
    feed(
        &mut app,
        Update::Outcome(Box::new(Outcome {
            request: payment.clone(),
            result: OutcomeResult::Waiting("the line is down".to_owned()),
        })),
    );
    let message = app.message.clone().unwrap();
    assert!(!message.error && message.text.contains("outbox"), "{message:?}");
    let answer =
        PaymentAnswer { transaction_number: 9, total: Amount::new(1_800).unwrap(), balance: Yen::new(5_900).unwrap() };
    feed(
        &mut app,
        Update::Outcome(Box::new(Outcome {
            request: payment,
            result: OutcomeResult::Answered(Box::new(answer.into())),
        })),
    );
    let message = app.message.clone().unwrap();
    assert!(message.text.contains("5,900 yen") && message.text.contains("transaction 9"), "{message:?}");
}

#[test]
fn notices_count_until_looked_at() {
    let mut app = member_app();
    feed(&mut app, Update::Notices(2));
    feed(&mut app, Update::Notices(1));
    assert_eq!(app.unread, 3);
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.unread, 0);
    assert!(matches!(app.screen, Screen::Notices { .. }));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.screen, Screen::Home { .. }), "Esc goes back");
}

#[test]
fn the_line_state_reaches_the_status_line() {
    let mut app = member_app();
    feed(&mut app, Update::Line(Line::Down("cannot reach the center".to_owned())));
    assert!(denbun_client::terminal::view::status_text(&app).contains("down, retrying"));
    assert_eq!(names(&press(&mut app, KeyCode::Char('g'))), ["Connect"]);
    assert_eq!(app.line, Line::Connecting);
    assert!(press(&mut app, KeyCode::Char('g')).is_empty(), "one attempt at a time");
    feed(&mut app, Update::Line(Line::SignedOn));
    let status = denbun_client::terminal::view::status_text(&app);
    assert!(status.contains("signed on") && status.contains("7,700 yen"), "{status}");
}

#[test]
fn the_store_draft_is_edited_and_saved() {
    let mut app = store_app();
    press(&mut app, KeyCode::Char('e'));
    press(&mut app, KeyCode::Char('a'));
    let Screen::Form(form) = &app.screen else { panic!() };
    assert_eq!(form.form.text(0), "5", "the next free id");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "Matcha, 40 g");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "Stone-ground.");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "2,400");
    let effects = {
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Enter)
    };
    assert_eq!(names(&effects), ["SaveDraft"]);
    assert_eq!(app.draft.len(), 5);
    assert_eq!((app.draft[4].item_id, app.draft[4].price_yen, app.draft[4].kind), (5, 2_400, DraftKind::MailOrder));

    // An id that is taken is refused.
    press(&mut app, KeyCode::Char('a'));
    press_control(&mut app, 'u');
    type_text(&mut app, "1");
    for text in ["Dup", "", "100"] {
        press(&mut app, KeyCode::Tab);
        type_text(&mut app, text);
    }
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let Screen::Form(form) = &app.screen else { panic!() };
    assert!(form.form.error.as_deref().is_some_and(|error| error.contains("taken")));
    press(&mut app, KeyCode::Esc);

    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Char('d'));
    assert!(matches!(&app.overlay, Some(Overlay::Confirm { action: ConfirmAction::RemoveItem(4), .. })));
    assert_eq!(names(&press(&mut app, KeyCode::Char('y'))), ["SaveDraft"]);
    assert_eq!(app.draft.len(), 4);
}

#[test]
fn publishing_and_claiming_need_password_b_and_a_yes() {
    let mut app = store_app();
    press(&mut app, KeyCode::Char('e'));
    press(&mut app, KeyCode::Char('p'));
    assert!(matches!(app.overlay, Some(Overlay::PasswordB { .. })), "publishing signs");
    press(&mut app, KeyCode::Esc);
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('p'));
    assert!(matches!(&app.overlay, Some(Overlay::Confirm { action: ConfirmAction::Publish, .. })));
    let effects = press(&mut app, KeyCode::Char('y'));
    assert!(matches!(effects.as_slice(), [Effect::Publish(items)] if items.len() == 4));

    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('c'));
    press(&mut app, KeyCode::Char('A'));
    press(&mut app, KeyCode::Enter);
    assert!(
        matches!(&app.overlay, Some(Overlay::Confirm { action: ConfirmAction::Claim(numbers), .. }) if numbers == &[PAID_DIGITAL, PAID_MAIL_ORDER])
    );
    let effects = press(&mut app, KeyCode::Char('y'));
    assert!(matches!(effects.as_slice(), [Effect::Claim(numbers)] if numbers == &[PAID_DIGITAL, PAID_MAIL_ORDER]));
    assert!(denbun_client::terminal::app::store::claimable(&app).is_empty(), "claimed orders leave the list");
}

#[test]
fn a_store_refund_is_bounded_by_what_was_paid() {
    let mut app = store_app();
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('r'));
    press_control(&mut app, 'u');
    type_text(&mut app, "2000");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "dented");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    press(&mut app, KeyCode::Up);
    press_control(&mut app, 'u');
    type_text(&mut app, "300");
    press(&mut app, KeyCode::Tab);
    let effects = press(&mut app, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Refund { transaction_number, amount, reason }]
        if *transaction_number == PAID_MAIL_ORDER && amount.get() == 300 && reason == "dented"));
}

#[test]
fn digital_delivery_uses_the_drafts_file() {
    let mut app = store_app();
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let effects = press(&mut app, KeyCode::Char('d'));
    match effects.as_slice() {
        [Effect::Deliver { notice, item_id, file }] => {
            assert_eq!((notice.transaction_number, *item_id), (PAID_DIGITAL, 2));
            assert_eq!(file, std::path::Path::new("/srv/tea/uji-tea-guide.txt"));
        }
        other => panic!("{other:?}"),
    }
    // A mail-order line is shipped, not delivered.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    assert!(press(&mut app, KeyCode::Char('d')).is_empty());
    assert!(app.message.as_ref().is_some_and(|message| message.text.contains("shipment")));
}
