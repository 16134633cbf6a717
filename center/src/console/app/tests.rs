use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::console::fixtures::{self, NOW_MS, journal_row, running_app};

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn char_key(app: &mut App, character: char) -> Vec<Effect> {
    key(app, KeyCode::Char(character))
}

fn type_text(app: &mut App, text: &str) {
    for character in text.chars() {
        assert!(char_key(app, character).is_empty(), "typing sends nothing");
    }
}

fn clear_field(app: &mut App) {
    update(app, Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    for _ in 0..20 {
        key(app, KeyCode::Backspace);
    }
}

fn fetches(effects: &[Effect]) -> Vec<FetchKind> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Fetch(fetch) => Some(fetch.kind()),
            Effect::Act(_) => None,
        })
        .collect()
}

#[test]
fn the_first_tick_asks_for_the_live_figures_and_nothing_twice() {
    let mut app = App::new(fixtures::operator(), "Test Center", "127.0.0.1:7700");
    assert_eq!(update(&mut app, Event::Tick(NOW_MS)), vec![Effect::Fetch(Fetch::Live)]);
    // Still in flight a second later: not asked again.
    assert!(update(&mut app, Event::Tick(NOW_MS + 1_000)).is_empty());
    // The figures come: the overview asks for today's report, and the journal tail starts near the end.
    let effects = update(&mut app, Event::Loaded(Loaded::Live(Box::new(fixtures::live()))));
    assert_eq!(effects, vec![Effect::Fetch(Fetch::Today(fixtures::today()))]);
    assert!(app.journal.started);
    assert_eq!(app.journal.after, 4_210 - JOURNAL_TAIL_START);
    // Two seconds after the last ask, the live figures are due again, with the refusals for the printer.
    let effects = update(&mut app, Event::Tick(NOW_MS + LIVE_POLL_MS));
    assert_eq!(fetches(&effects), vec![FetchKind::Live, FetchKind::Refusals]);
}

#[test]
fn tabs_switch_with_digits_and_tab_and_read_what_they_show() {
    let mut app = running_app();
    assert_eq!(char_key(&mut app, '3'), vec![Effect::Fetch(Fetch::Funds)]);
    assert_eq!(app.tab, Tab::Funds);
    assert_eq!(fetches(&key(&mut app, KeyCode::Tab)), vec![FetchKind::Letters]);
    assert_eq!(app.tab, Tab::Mail);
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.tab, Tab::Funds);
    assert!(char_key(&mut app, '3').is_empty(), "the same tab again reads nothing");
    let effects = char_key(&mut app, '2');
    assert_eq!(fetches(&effects), vec![FetchKind::Journal]);
    // While the journal is shown, it is polled every two seconds; other lists are not.
    let query = JournalFilter::default().query(app.journal.after);
    update(&mut app, Event::Loaded(Loaded::Journal { query, rows: vec![], more: false }));
    let effects = update(&mut app, Event::Tick(NOW_MS + JOURNAL_POLL_MS));
    assert!(fetches(&effects).contains(&FetchKind::Journal), "{effects:?}");
    assert!(!fetches(&effects).contains(&FetchKind::Funds));
}

#[test]
fn confirming_a_top_up_asks_for_the_amount_then_asks_before_sending() {
    let mut app = running_app();
    char_key(&mut app, '3');
    update(&mut app, Event::Loaded(Loaded::Funds(fixtures::funds())));
    key(&mut app, KeyCode::Down);
    assert_eq!(app.funds_selected, 1);
    key(&mut app, KeyCode::Up);
    assert!(char_key(&mut app, 'c').is_empty());
    let Some(Modal::Form { kind: FormKind::ConfirmFunds { reference, .. }, form }) = &app.modal else {
        panic!("{:?}", app.modal)
    };
    assert_eq!(reference, "BT-2026-000017");
    assert_eq!(form.text(0), "5000", "the amount asked for, to change if less arrived");
    clear_field(&mut app);
    type_text(&mut app, "4,000");
    assert!(key(&mut app, KeyCode::Enter).is_empty(), "the form does not send");
    let Some(Modal::Confirm { question, action }) = &app.modal else { panic!("{:?}", app.modal) };
    assert!(question.contains("4,000 yen") && question.contains("M00000001"), "{question}");
    assert_eq!(action, &Action::ConfirmFunds { reference: "BT-2026-000017".to_owned(), amount_yen: 4_000 });
    // No: nothing is sent.
    assert!(char_key(&mut app, 'n').is_empty());
    assert!(app.modal.is_none());
    assert_eq!(app.acting, None);
    // Again, and yes.
    char_key(&mut app, 'c');
    key(&mut app, KeyCode::Enter);
    let effects = char_key(&mut app, 'y');
    assert_eq!(
        effects,
        vec![Effect::Act(Action::ConfirmFunds { reference: "BT-2026-000017".to_owned(), amount_yen: 5_000 })]
    );
    assert!(app.acting.is_some());
    // The answer: the message says so, the printer keeps it, the list is read again.
    let effects = update(
        &mut app,
        Event::Acted { what: "confirm".to_owned(), result: Ok(Outcome::Done("Confirmed BT-2026-000017.".to_owned())) },
    );
    assert_eq!(fetches(&effects), vec![FetchKind::Funds]);
    assert_eq!(app.acting, None);
    assert_eq!(app.printer[0].text, "Confirmed BT-2026-000017.");
}

#[test]
fn a_bad_amount_or_an_empty_reason_stays_in_the_form() {
    let mut app = running_app();
    char_key(&mut app, '3');
    char_key(&mut app, 'c');
    clear_field(&mut app);
    type_text(&mut app, "lots");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    let Some(Modal::Form { form, .. }) = &app.modal else { panic!("{:?}", app.modal) };
    assert!(form.error.as_deref().is_some_and(|error| error.contains("whole number")), "{:?}", form.error);
    key(&mut app, KeyCode::Esc);
    assert!(app.modal.is_none());
    char_key(&mut app, 'x');
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(&app.modal, Some(Modal::Form { form, .. }) if form.error.is_some()));
    type_text(&mut app, "never arrived");
    key(&mut app, KeyCode::Enter);
    let effects = char_key(&mut app, 'y');
    assert_eq!(
        effects,
        vec![Effect::Act(Action::RejectFunds {
            reference: "BT-2026-000017".to_owned(),
            reason: "never arrived".to_owned()
        })]
    );
}

#[test]
fn one_action_at_a_time_and_no_quitting_while_one_is_out() {
    let mut app = running_app();
    char_key(&mut app, '4');
    char_key(&mut app, 'p');
    assert_eq!(char_key(&mut app, 'y'), vec![Effect::Act(Action::MarkPrinted(3))]);
    key(&mut app, KeyCode::Down);
    char_key(&mut app, 'p');
    assert!(char_key(&mut app, 'y').is_empty(), "the first is still out");
    assert!(app.message.as_ref().is_some_and(|message| message.error));
    char_key(&mut app, 'q');
    assert!(!app.quit, "quitting waits for the center's answer");
    update(&mut app, Event::Acted { what: "mark".to_owned(), result: Err("the line went down".to_owned()) });
    assert!(app.printer[0].text.contains("the line went down"));
    assert_eq!(app.printer[0].level, Level::Error);
    char_key(&mut app, 'q');
    assert!(app.quit);
}

#[test]
fn payouts_are_marked_approved_exported_and_executed() {
    let mut app = running_app();
    app.payouts.batches.clear();
    char_key(&mut app, '6');
    char_key(&mut app, ' ');
    key(&mut app, KeyCode::Down);
    char_key(&mut app, ' ');
    assert_eq!(app.payouts.marked, BTreeSet::from([11, 14]));
    key(&mut app, KeyCode::Enter);
    let Some(Modal::Confirm { question, action }) = &app.modal else { panic!("{:?}", app.modal) };
    assert!(question.contains("15,000 yen to 1 store"), "{question}");
    assert_eq!(action, &Action::Approve(vec![11, 14]));
    assert_eq!(char_key(&mut app, 'y'), vec![Effect::Act(Action::Approve(vec![11, 14]))]);
    let summary = BatchSummary {
        batch_number: 8,
        claims: 2,
        stores: 1,
        total: denbun_protocol::wire::Amount::new(15_000).unwrap(),
    };
    update(&mut app, Event::Acted { what: "approve".to_owned(), result: Ok(Outcome::Approved(summary.clone())) });
    assert!(app.payouts.marked.is_empty());
    assert_eq!(app.payouts.batches[0].summary, summary);
    // Export: the batch just approved is proposed; writing a file asks nothing.
    char_key(&mut app, 'e');
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Act(Action::Export {
            batch: 8,
            format: FileFormat::Zengin,
            path: "batch-000008.zengin".to_owned()
        })]
    );
    update(
        &mut app,
        Event::Acted {
            what: "export".to_owned(),
            result: Ok(Outcome::Exported { batch: 8, path: "/tmp/batch-000008.zengin".to_owned(), bytes: 480 }),
        },
    );
    assert_eq!(app.payouts.batches[0].exported.as_deref(), Some("/tmp/batch-000008.zengin"));
    assert!(app.message.as_ref().unwrap().text.contains("/tmp/batch-000008.zengin"));
    // Executed: batch and today proposed, and it asks first.
    char_key(&mut app, 'x');
    key(&mut app, KeyCode::Enter);
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    let Some(Modal::Confirm { action, .. }) = &app.modal else { panic!("{:?}", app.modal) };
    assert_eq!(action, &Action::Executed { batch: 8, on: fixtures::today() });
}

#[test]
fn approving_with_nothing_marked_takes_the_highlighted_claim() {
    let mut app = running_app();
    char_key(&mut app, '6');
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Enter);
    assert!(matches!(&app.modal, Some(Modal::Confirm { action: Action::Approve(claims), .. }) if claims == &vec![14]));
}

#[test]
fn own_polls_are_hidden_from_the_tail_until_asked_for() {
    let mut app = running_app();
    char_key(&mut app, '2');
    let shown = app.journal_visible().len();
    assert_eq!(
        shown,
        fixtures::journal_rows().len() - 15,
        "own 9800/9810 rows are dropped; the reject to a member is not"
    );
    assert_eq!(app.journal.rows.len(), shown, "hidden rows are not kept");
    assert!(app.journal.follow);
    assert_eq!(app.journal_row().unwrap().entry, 4_217);
    // o shows them: the tail is read again with them.
    let effects = char_key(&mut app, 'o');
    assert_eq!(fetches(&effects), vec![FetchKind::Journal]);
    assert!(app.journal.rows.is_empty());
    let query = app.journal.filter.query(app.journal.after);
    update(&mut app, Event::Loaded(Loaded::Journal { query, rows: fixtures::journal_rows(), more: false }));
    let all = app.journal.rows.len();
    assert_eq!(app.journal_visible().len(), all);
    // Moving up stops following; new rows then keep the selection.
    key(&mut app, KeyCode::Up);
    assert!(!app.journal.follow);
    let before = app.journal_row().unwrap().entry;
    let query = app.journal.filter.query(app.journal.after);
    let rows = vec![journal_row(4_300, 4000, PartyId::member(1).unwrap(), PartyId::CENTER, 0)];
    update(&mut app, Event::Loaded(Loaded::Journal { query, rows, more: false }));
    assert_eq!(app.journal_row().unwrap().entry, before);
    assert_eq!(app.journal.after, 4_300);
}

#[test]
fn a_journal_filter_is_checked_and_restarts_the_search_from_the_start() {
    let mut app = running_app();
    char_key(&mut app, '2');
    char_key(&mut app, 'f');
    type_text(&mut app, "nobody");
    for _ in 0..4 {
        key(&mut app, KeyCode::Enter);
    }
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    let Some(Modal::Form { form, .. }) = &app.modal else { panic!("{:?}", app.modal) };
    assert_eq!(form.focus, 0, "the bad field gets the focus");
    clear_field(&mut app);
    type_text(&mut app, "m00000001");
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "4010");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "2026-11-24 09:00");
    key(&mut app, KeyCode::Enter);
    let effects = key(&mut app, KeyCode::Enter);
    let expected = JournalQuery {
        sender: Some(PartyId::member(1).unwrap()),
        code: Some(4010),
        result: None,
        from_ms: NOW_MS - 4 * 3_600_000 - 5 * 60_000,
        to_ms: 0,
        after_entry: 0,
    };
    assert_eq!(effects, vec![Effect::Fetch(Fetch::Journal(expected.clone()))]);
    assert!(app.journal.rows.is_empty());
    // A late answer to the old tail is dropped; the filter's answer is kept.
    let stale = JournalFilter::default().query(4_010);
    let rows = vec![journal_row(4_250, 4000, PartyId::member(2).unwrap(), PartyId::CENTER, 0)];
    update(&mut app, Event::Loaded(Loaded::Journal { query: stale, rows, more: false }));
    assert!(app.journal.rows.is_empty());
    let rows = vec![journal_row(4_181, 4010, PartyId::CENTER, PartyId::member(1).unwrap(), 0)];
    update(&mut app, Event::Loaded(Loaded::Journal { query: expected, rows, more: true }));
    assert_eq!(app.journal.rows.len(), 1);
    // More match: the next page is asked for at once.
    assert_eq!(app.journal.after, 4_181);
    char_key(&mut app, 'x');
    assert!(app.journal.filter.is_empty());
    assert_eq!(app.journal.after, 4_210 - JOURNAL_TAIL_START, "the bare tail starts near the end again");
}

#[test]
fn the_entry_view_opens_at_once_and_fills_when_the_entry_comes() {
    let mut app = running_app();
    char_key(&mut app, '2');
    let entry = app.journal_row().unwrap().entry;
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::Fetch(Fetch::Entry(entry))]);
    assert!(matches!(app.modal, Some(Modal::Entry { text: None, .. })));
    update(&mut app, Event::Failed { fetch: FetchKind::Entry, message: "not found".to_owned() });
    assert!(matches!(&app.modal, Some(Modal::Entry { text: Some(text), .. }) if text.contains("not found")));
    key(&mut app, KeyCode::Esc);
    assert!(app.modal.is_none());
}

#[test]
fn refusals_reach_the_printer_newest_first_with_levels() {
    let app = running_app();
    let center: Vec<&PrinterEvent> = app.printer.iter().filter(|event| event.source == "center").collect();
    assert_eq!(center.len(), 2);
    assert_eq!(center[0].level, Level::Error, "reason 501 is the center's own trouble");
    assert!(center[0].text.contains("ANONYMOUS"), "{}", center[0].text);
    assert_eq!(center[1].level, Level::Warn);
    assert_eq!(app.refusals_after, 4_207);
    let mut app = app;
    char_key(&mut app, '8');
    char_key(&mut app, 'e');
    assert!(app.printer_visible().iter().all(|event| event.level > Level::Info));
}

#[test]
fn a_dropped_line_stops_the_polls_until_it_is_back() {
    let mut app = running_app();
    update(&mut app, Event::Line(LineStatus::Down("connection reset".to_owned())));
    assert!(update(&mut app, Event::Tick(NOW_MS + 60_000)).is_empty());
    assert!(app.message.as_ref().unwrap().error);
    update(&mut app, Event::Line(LineStatus::Up));
    let effects = update(&mut app, Event::Tick(NOW_MS + 61_000));
    assert!(fetches(&effects).contains(&FetchKind::Live), "{effects:?}");
}

#[test]
fn members_and_stores_are_searched_shown_frozen_and_refunded() {
    let mut app = running_app();
    assert_eq!(fetches(&char_key(&mut app, '5')), vec![FetchKind::Search]);
    update(&mut app, Event::Failed { fetch: FetchKind::Search, message: "busy".to_owned() });
    char_key(&mut app, '/');
    type_text(&mut app, "suzuki");
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::Fetch(Fetch::Members { text: "suzuki".to_owned(), page: 0 })]);
    update(&mut app, Event::Loaded(Loaded::Members(fixtures::members())));
    key(&mut app, KeyCode::End);
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::Fetch(Fetch::Member(fixtures::member(3)))]);
    // Member 3 is frozen: f offers to unfreeze.
    char_key(&mut app, 'f');
    assert!(matches!(&app.modal, Some(Modal::Form { kind: FormKind::Freeze { freeze: false, .. }, .. })));
    type_text(&mut app, "cleared");
    key(&mut app, KeyCode::Enter);
    let Some(Modal::Confirm { action, .. }) = &app.modal else { panic!("{:?}", app.modal) };
    assert_eq!(
        action,
        &Action::Freeze { party: PartyId::member(3).unwrap(), freeze: false, reason: "cleared".to_owned() }
    );
    char_key(&mut app, 'n');
    // A balance refund checks the account's digits.
    char_key(&mut app, 'b');
    type_text(&mut app, "12");
    for _ in 0..6 {
        key(&mut app, KeyCode::Enter);
    }
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(&app.modal, Some(Modal::Form { form, .. }) if form.focus == 0 && form.error.is_some()));
    // Stores have no balance to refund.
    key(&mut app, KeyCode::Esc);
    assert_eq!(fetches(&char_key(&mut app, 's')), vec![FetchKind::Search]);
    update(&mut app, Event::Loaded(Loaded::Stores(fixtures::stores())));
    char_key(&mut app, 'b');
    assert!(app.modal.is_none());
    assert!(app.message.as_ref().unwrap().text.contains("Only a member"));
}

#[test]
fn statistics_move_by_day_but_not_past_today() {
    let mut app = running_app();
    char_key(&mut app, '7');
    assert_eq!(app.statistics.day, Some(fixtures::today()));
    assert!(key(&mut app, KeyCode::Right).is_empty());
    assert!(app.message.as_ref().unwrap().error);
    let yesterday = shift_day(fixtures::today(), -1).unwrap();
    assert_eq!(key(&mut app, KeyCode::Left), vec![Effect::Fetch(Fetch::Statistics(yesterday))]);
    char_key(&mut app, 'c');
    assert_eq!(app.statistics.chart, Chart::Channels);
    char_key(&mut app, 't');
    assert!(app.statistics.text);
}

#[test]
fn backups_the_center_does_not_offer_say_so() {
    let mut app = running_app();
    char_key(&mut app, '9');
    char_key(&mut app, 'b');
    type_text(&mut app, "month end");
    key(&mut app, KeyCode::Enter);
    assert_eq!(char_key(&mut app, 'y'), vec![Effect::Act(Action::Backup { label: "month end".to_owned() })]);
    update(
        &mut app,
        Event::Acted {
            what: "take a backup \"month end\"".to_owned(),
            result: Err("backups are not offered by this center yet".to_owned()),
        },
    );
    assert_eq!(app.backup.not_offered.as_deref(), Some("backups are not offered by this center yet"));
}

#[test]
fn times_and_days_parse_as_utc() {
    assert_eq!(parse_time_ms("2026-11-24 13:05"), Some(NOW_MS));
    assert_eq!(parse_time_ms("1970-01-02"), Some(86_400_000));
    assert_eq!(parse_time_ms("2026-11-24 25:00"), None);
    assert_eq!(parse_time_ms("yesterday"), None);
    assert_eq!(shift_day(Date::new(2024, 3, 1).unwrap(), -1), Date::new(2024, 2, 29));
}

#[test]
fn own_queries_are_only_the_read_only_families() {
    let me = fixtures::operator();
    assert!(is_own_query(&journal_row(1, 9500, me, PartyId::CENTER, 0), me));
    assert!(is_own_query(&journal_row(2, 9810, PartyId::CENTER, me, 0), me));
    assert!(!is_own_query(&journal_row(3, 9000, me, PartyId::CENTER, 0), me), "funds are shown");
    let other = PartyId::operator(2).unwrap();
    assert!(!is_own_query(&journal_row(4, 9500, other, PartyId::CENTER, 0), me), "other operators are shown");
}
