//! Every screen of store mode at 80x24.

use crossterm::event::KeyCode;
use denbun_client::terminal::app::{App, Mode, Transfer, Update};
use denbun_protocol::telegram::{GuideText, GuideTopic};
use denbun_protocol::wire::Text;

use crate::fixtures::*;

#[test]
fn unlock_names_what_a_store_signs() {
    let mut app = App::new(Mode::Store, profile(), Some(center_view()), true);
    type_text(&mut app, "secret");
    snapshot!("store_unlock", app);
}

#[test]
fn first_run_and_registration() {
    let mut app = App::new(Mode::Store, profile(), Some(center_view()), false);
    snapshot!("store_welcome", app);
    press(&mut app, KeyCode::Enter);
    feed(
        &mut app,
        Update::Guide(Box::new(GuideText {
            topic: GuideTopic::Guide,
            version: 3,
            text: Text::new("Welcome to the Denbun settlement center.").unwrap(),
        })),
    );
    press(&mut app, KeyCode::Enter);
    feed(
        &mut app,
        Update::Guide(Box::new(GuideText {
            topic: GuideTopic::StoreAgreement,
            version: 2,
            text: Text::new("Store agreement: the center pays you out for delivered orders, less refunds.").unwrap(),
        })),
    );
    press(&mut app, KeyCode::Char('a'));
    type_text(&mut app, "Kenji Tsuji");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "12 Uji-Renge, Uji, Kyoto");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "1975-09-12");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "Tea House Uji");
    snapshot!("store_apply", app);

    let mut wizard = App::new(Mode::Store, profile(), Some(center_view()), false);
    press(&mut wizard, KeyCode::Char('r'));
    type_text(&mut wizard, "S00000001");
    press(&mut wizard, KeyCode::Tab);
    type_text(&mut wizard, "K7Q2-9XPM");
    press(&mut wizard, KeyCode::Enter);
    for text in ["Kenji Tsuji", "12 Uji-Renge, Uji, Kyoto", "1975-09-12", "Tea House Uji", "0005", "12"] {
        type_text(&mut wizard, text);
        press(&mut wizard, KeyCode::Tab);
    }
    press(&mut wizard, KeyCode::Right);
    press(&mut wizard, KeyCode::Tab);
    type_text(&mut wizard, "1234567");
    press(&mut wizard, KeyCode::Tab);
    type_text(&mut wizard, "TSUJI KENJI");
    press(&mut wizard, KeyCode::Enter);
    snapshot!("store_register_bank_account_error", wizard);
}

#[test]
fn menu_orders_and_an_order() {
    let mut app = store_app();
    snapshot!("store_home", app);
    press(&mut app, KeyCode::Char('r'));
    snapshot!("store_orders", app);
    press(&mut app, KeyCode::Enter);
    snapshot!("store_order_mail_order", app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    feed(&mut app, Update::Transfer { key: (PAID_DIGITAL, 2), state: Transfer::Finished { path: None } });
    snapshot!("store_order_digital", app);
}

#[test]
fn shipment_and_refund_forms() {
    let mut app = store_app();
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('s'));
    type_text(&mut app, "Yamato Transport");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "1234-5678-9012");
    snapshot!("store_ship", app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('r'));
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "The tin arrived dented");
    snapshot!("store_refund", app);
}

#[test]
fn catalog_editor() {
    let mut app = store_app();
    press(&mut app, KeyCode::Char('e'));
    snapshot!("store_draft", app);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    snapshot!("store_item_edit", app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('x'));
    snapshot!("store_export", app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('d'));
    snapshot!("store_remove_confirm", app);
    press(&mut app, KeyCode::Char('n'));
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('p'));
    snapshot!("store_publish_confirm", app);
}

#[test]
fn claims_payouts_history() {
    let mut app = store_app();
    signed_on(&mut app);
    press(&mut app, KeyCode::Char('c'));
    press(&mut app, KeyCode::Char(' '));
    snapshot!("store_claims", app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('p'));
    snapshot!("store_payouts", app);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('h'));
    snapshot!("store_history", app);
}
