//! The operator console against the real center binary: terminals make
//! traffic through the protocol (a bank-transfer top-up, a store, a
//! purchase, a payment claim) while the console's own code path — `update`
//! driven by keys, its operator task signed on with the real operator key
//! file — confirms the transfer, approves the payout, exports the transfer
//! file and marks it executed. Then the ledger is read back through the
//! console's inquiries and report, and the offline audit passes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use denbun_center::console::app::{App, Effect, Event, Loaded, Tab, update};
use denbun_center::console::backend::Backend;
use denbun_center::operator::Operator;
use denbun_protocol::header::{Code, PartyId, StoreNumber};
use denbun_protocol::keyfile::Password;
use denbun_protocol::telegram::Body;
use denbun_protocol::telegram::card::{CardAnswer, CardRequest, FundingChannel};
use denbun_protocol::telegram::registration::Applicant;
use denbun_protocol::wire::Amount;
use denbun_tests::{CHILD_OPERATOR_PASSWORD_A, CHILD_OPERATOR_PASSWORD_B, ChildCenter, TestParty, now_ms};

const PRICE_YEN: u64 = 1_500;
/// Effects carried out per drive at most (every loop is bounded).
const EFFECTS_MAX: usize = 200;

/// The console: its state and its operator task, driven in step.
struct Console {
    app: App,
    backend: Backend,
    /// Every event the operator task reported, for the assertions.
    seen: Vec<Event>,
}

impl Console {
    /// Carries out `effects` and everything they lead to.
    async fn drive(&mut self, effects: Vec<Effect>) {
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        for _ in 0..EFFECTS_MAX {
            let Some(effect) = queue.pop_front() else { return };
            let event = self.backend.event_for(effect).await;
            self.seen.push(event.clone());
            queue.extend(update(&mut self.app, event));
        }
        panic!("the console did not settle within {EFFECTS_MAX} effects");
    }

    async fn key(&mut self, code: KeyCode) {
        let effects = update(&mut self.app, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        self.drive(effects).await;
    }

    async fn keys(&mut self, text: &str) {
        for character in text.chars() {
            self.key(KeyCode::Char(character)).await;
        }
    }

    async fn tick(&mut self) {
        let effects = update(&mut self.app, Event::Tick(now_ms()));
        self.drive(effects).await;
    }

    /// The text of the last action's outcome.
    fn last_acted(&self) -> String {
        self.seen
            .iter()
            .rev()
            .find_map(|event| match event {
                Event::Acted { result, .. } => Some(format!("{result:?}")),
                _ => None,
            })
            .expect("an action was carried out")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_confirms_a_transfer_and_pays_a_store_out() {
    let scratch = tempfile::tempdir().unwrap();
    let mut center = ChildCenter::init(scratch.path().join("center"));
    center.start();
    let fingerprint = center.identity().fingerprint();

    // A member asks for a card paid by bank transfer: pending, with a reference.
    let mut member_line = center.connect().await;
    let member_id = member_line.apply(Applicant::Member).await;
    let mut member = TestParty::new(member_id);
    let certificate = member.send_registration(&mut member_line, &fingerprint, center.activation_code(member_id)).await;
    assert_eq!(certificate.code(), Code::REGISTRATION_CERTIFICATE);
    let request = CardRequest { amount: Amount::new(5_000).unwrap(), channel: FundingChannel::BankTransfer };
    let answer = member_line.exchange(&member.request(&fingerprint, request)).await;
    let Body::CardAnswer(CardAnswer::Pending(pending)) = answer.body() else { panic!("{answer:?}") };
    let reference = pending.reference.as_str().to_owned();

    // The console signs on with the real operator key file.
    let operator = Operator::sign_on(
        &center.data.join("center.pub"),
        &center.data.join("operators/O001.key"),
        &Password::new(CHILD_OPERATOR_PASSWORD_A.to_owned()),
        &Password::new(CHILD_OPERATOR_PASSWORD_B.to_owned()),
    )
    .await
    .expect("the operator signs on");
    let (events, _unused) = tokio::sync::mpsc::channel(1);
    let mut app = App::new(operator.party(), "Test", &center.address);
    app.now_ms = now_ms();
    let exports = scratch.path().join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    let mut console = Console { app, backend: Backend::new(operator, events, exports.clone()), seen: Vec::new() };
    console.tick().await;
    let live = console.app.live.clone().expect("the live figures came");
    assert!(live.signed_on_sessions >= 1 && live.connections >= 2, "{live:?}");

    // Funds: the transfer is listed; 4,000 yen arrived instead of 5,000.
    console.key(KeyCode::Char('3')).await;
    let funds = console.app.funds.clone().expect("the funds tab loaded");
    assert_eq!(funds.len(), 1);
    assert_eq!(funds[0].reference.as_str(), reference);
    console.key(KeyCode::Char('c')).await;
    for _ in 0..8 {
        console.key(KeyCode::Backspace).await;
    }
    console.keys("4000").await;
    console.key(KeyCode::Enter).await;
    assert!(console.seen.iter().all(|event| !matches!(event, Event::Acted { .. })), "nothing is sent before yes");
    console.key(KeyCode::Char('y')).await;
    let confirmed = console.last_acted();
    assert!(confirmed.contains("4,000 yen") && confirmed.contains(&member_id.to_string()), "{confirmed}");
    assert_eq!(console.app.funds.as_ref().map(Vec::len), Some(0), "the list was read again after the action");

    // A store with a service; the member buys it; the store claims the purchase.
    let transaction_number = 7_700_001;
    let store_id = center.service_sold_and_claimed(&mut member, &mut member_line, PRICE_YEN, transaction_number).await;

    // Payouts: mark every claim, approve (asked first), export, mark executed.
    console.key(KeyCode::Char('6')).await;
    let claims = console.app.payouts.claims.clone().expect("the payouts tab loaded");
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].store, StoreNumber::try_from(store_id).unwrap());
    console.key(KeyCode::Char('a')).await;
    console.key(KeyCode::Enter).await;
    console.key(KeyCode::Char('y')).await;
    let batch = console.app.payouts.batches.last().expect("a batch was approved").summary.clone();
    assert_eq!(batch.total.get(), PRICE_YEN);
    console.key(KeyCode::Char('e')).await;
    for _ in 0..3 {
        console.key(KeyCode::Enter).await;
    }
    let exported = console.app.payouts.batches.last().unwrap().exported.clone().expect("the file was written");
    let bytes = std::fs::read(&exported).expect("the path shown is the file");
    assert_eq!(bytes.len(), 4 * 120, "a Zengin file: header, one transfer, trailer, end");
    assert!(exported.starts_with(&std::fs::canonicalize(&exports).unwrap().display().to_string()), "{exported}");
    console.key(KeyCode::Char('x')).await;
    console.key(KeyCode::Enter).await;
    console.key(KeyCode::Enter).await;
    console.key(KeyCode::Char('y')).await;
    assert!(console.app.payouts.batches.last().unwrap().executed, "{}", console.last_acted());

    // The ledger, read back through the console: the store was paid out, the member holds the rest.
    console.key(KeyCode::Char('5')).await;
    console.key(KeyCode::Char('s')).await;
    let stores = console.app.parties.stores.clone().expect("the stores loaded");
    assert_eq!(stores.rows.len(), 1);
    assert_eq!(stores.rows[0].payable.get(), 0);
    console.key(KeyCode::Enter).await;
    let (_, store_text, _) = console.app.parties.detail.clone().expect("the store in full");
    assert!(store_text.contains("paid out  1,500 yen"), "{store_text}");
    console.key(KeyCode::Char('m')).await;
    let members = console.app.parties.members.clone().expect("the members loaded");
    let row = members.rows.iter().find(|row| PartyId::from(row.member) == member_id).expect("the member is listed");
    assert_eq!(row.balance.get(), 4_000 - PRICE_YEN);

    // Today's report reconciles, with the transfer and the payout in it.
    console.key(KeyCode::Char('1')).await;
    let today = console.app.today.clone().expect("today's report");
    assert!(denbun_center::flows::report::reconciles(&today));
    assert_eq!((today.top_ups.bank_transfer.count, today.top_ups.bank_transfer.yen), (1, 4_000));
    assert_eq!((today.payouts.count, today.payouts.yen), (1, PRICE_YEN));

    // The journal names the operator for each change: filter on O001 and 9100.
    console.key(KeyCode::Char('2')).await;
    console.key(KeyCode::Char('f')).await;
    console.keys("O001").await;
    console.key(KeyCode::Enter).await;
    console.keys("9100").await;
    for _ in 0..4 {
        console.key(KeyCode::Enter).await;
    }
    let rows: Vec<_> = console.app.journal.rows.iter().cloned().collect();
    assert!(rows.iter().all(|row| row.sender == console.app.operator && row.code / 100 == 91), "{rows:?}");
    assert!(rows.len() >= 3, "approve, export and executed at least: {rows:?}");
    // The detail of one of them, its signature checked again by the console.
    console.key(KeyCode::Enter).await;
    let detail = console
        .seen
        .iter()
        .rev()
        .find_map(|event| match event {
            Event::Loaded(Loaded::Entry(view)) => Some(view.clone()),
            _ => None,
        })
        .expect("the entry came");
    assert!(detail.signature.starts_with("valid"), "{}", detail.signature);
    assert_eq!(detail.telegram.as_ref().unwrap().sender(), console.app.operator);
    assert_ne!(detail.detail.previous_hash, [0; 32], "an entry after the first links to the one before");
    console.key(KeyCode::Esc).await;
    assert_eq!(console.app.tab, Tab::Journal);
    let failures: Vec<_> = console.seen.iter().filter(|event| matches!(event, Event::Failed { .. })).collect();
    assert!(failures.is_empty(), "{failures:?}");

    drop(console);
    center.stop();
    center.assert_audit_passes();
}
