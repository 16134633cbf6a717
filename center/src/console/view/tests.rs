//! Every tab at 80x24 and 120x40, and the windows over them. The console in
//! these is filled with fixed figures (fixtures.rs): fixed times, numbers
//! and addresses, so the one field that changes in real use, the clock in
//! the title bar, is fixed too; a filter masks it anyway, so a fixture that
//! moves it does not churn every snapshot.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::console::app::{App, Event, Tab, update};
use crate::console::fixtures::running_app;

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    terminal
}

/// Replaces every `HH:MM:SS UTC` with `hh:mm:ss UTC`.
fn mask_clock(text: &str) -> String {
    let characters: Vec<char> = text.chars().collect();
    let mut masked = characters.clone();
    let pattern: Vec<char> = "dd:dd:dd UTC".chars().collect();
    for start in 0..characters.len().saturating_sub(pattern.len() - 1) {
        let window = &characters[start..start + pattern.len()];
        let fits = window.iter().zip(&pattern).all(|(character, wanted)| match wanted {
            'd' => character.is_ascii_digit(),
            other => character == other,
        });
        if fits {
            for (offset, character) in "hh:mm:ss".chars().enumerate() {
                masked[start + offset] = character;
            }
        }
    }
    masked.into_iter().collect()
}

fn snapshot(name: &str, app: &App, width: u16, height: u16) {
    let terminal = draw(app, width, height);
    let screen = mask_clock(&terminal.backend().to_string());
    insta::assert_snapshot!(format!("{name}_{width}x{height}"), screen);
}

fn press(app: &mut App, code: KeyCode) {
    update(app, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[test]
fn every_tab_at_80x24_and_120x40() {
    for tab in Tab::ALL {
        let mut app = running_app();
        app.tab = tab;
        let name = format!("tab_{}", tab.title().to_lowercase());
        snapshot(&name, &app, 80, 24);
        snapshot(&name, &app, 120, 40);
    }
}

#[test]
fn windows_over_the_tabs() {
    let mut app = running_app();
    press(&mut app, KeyCode::Char('?'));
    snapshot("help_overview", &app, 80, 24);

    let mut app = running_app();
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('c'));
    snapshot("funds_confirm_form", &app, 80, 24);
    press(&mut app, KeyCode::Enter);
    snapshot("funds_confirm_question", &app, 80, 24);

    let mut app = running_app();
    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::Char('b'));
    snapshot("balance_refund_form", &app, 80, 24);

    let mut app = running_app();
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('f'));
    snapshot("journal_filter_form", &app, 80, 24);

    let mut app = running_app();
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Enter);
    snapshot("mail_letter", &app, 80, 24);

    let mut app = running_app();
    press(&mut app, KeyCode::Char('7'));
    press(&mut app, KeyCode::Char('t'));
    snapshot("statistics_report_text", &app, 80, 24);
    snapshot("statistics_report_text", &app, 120, 40);
}

#[test]
fn an_empty_console_says_it_is_asking() {
    let mut app = App::new(crate::console::fixtures::operator(), "Test Center", "127.0.0.1:7700");
    app.color = false;
    update(&mut app, Event::Tick(crate::console::fixtures::NOW_MS));
    let terminal = draw(&app, 80, 24);
    let text = format!("{}", terminal.backend());
    assert!(text.contains("Asking the center…"), "{text}");
    assert!(text.contains("? help"), "the keys are on screen: {text}");
}

#[test]
fn the_key_bar_never_runs_past_the_width() {
    for tab in Tab::ALL {
        let mut app = running_app();
        app.tab = tab;
        let terminal = draw(&app, 80, 24);
        let last_line: String = (0..80).map(|x| terminal.backend().buffer()[(x, 23)].symbol().to_owned()).collect();
        assert!(last_line.contains(tab_keys(&app)[0].1), "{tab:?}: {last_line}");
    }
}

#[test]
fn the_clock_mask_masks_only_clocks() {
    assert_eq!(mask_clock("at 13:05:00 UTC, 12:00 UTC"), "at hh:mm:ss UTC, 12:00 UTC");
}

#[test]
fn helpers_fit_and_draw() {
    assert_eq!(fit("abcdef", 4), "abc…");
    assert_eq!(fit("abc", 4), "abc");
    assert_eq!(bar(50, 100, 4), "██");
    assert_eq!(bar(0, 0, 4), "");
    assert_eq!(sparkline(&[0, 1, 8], 8), "·▁█");
    assert_eq!(clock(crate::console::fixtures::NOW_MS), "13:05:00");
    assert_eq!(micros(640), "0.6 ms");
    assert_eq!(micros(21_000), "21 ms");
}
