//! Drawing: `render(&App, &mut Frame)` draws the same screen for the same
//! state and does nothing else.
//!
//! Every screen has the same frame: a title bar, the screen's body, a
//! message line, the keys the screen takes, and the status line (line state,
//! who is signed on, balance, outbox, unread notices).

mod screens;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, Line, Overlay, Screen, Step, Target};
use super::field::{FieldKind, Form};
use super::model;

/// The smallest window the terminal draws in.
pub const WIDTH_MIN: u16 = 60;
/// The smallest window height.
pub const HEIGHT_MIN: u16 = 16;

/// Styles, with or without colour (`NO_COLOR`).
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// The theme for `app`.
    pub fn of(app: &App) -> Self {
        Theme { color: app.color }
    }

    fn paint(self, color: Color) -> Style {
        if self.color { Style::new().fg(color) } else { Style::new() }
    }

    /// Titles.
    pub fn title(self) -> Style {
        self.paint(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// Key names in the key bar.
    pub fn key(self) -> Style {
        self.paint(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// Errors.
    pub fn error(self) -> Style {
        self.paint(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Good news.
    pub fn good(self) -> Style {
        self.paint(Color::Green)
    }

    /// Less important text.
    pub fn dim(self) -> Style {
        if self.color { Style::new().fg(Color::DarkGray) } else { Style::new() }
    }

    /// The highlighted row or field.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Bars (title and status).
    pub fn bar(self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
}

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];
/// Rows a long message may take under the screen.
pub const MESSAGE_ROWS_MAX: usize = 3;

/// The message line's text (long work in progress, else the message).
pub fn message_text(app: &App) -> String {
    if let Some(busy) = &app.busy {
        let progress = match busy.progress {
            Some((done, total)) if total > 0 => format!(" {}%", done.saturating_mul(100) / total),
            _ => String::new(),
        };
        return format!(" {} {}…{progress}", SPINNER[app.spinner % SPINNER.len()], busy.label);
    }
    app.message.as_ref().map_or(String::new(), |message| format!(" {}", message.text))
}

/// Draws the whole terminal.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let theme = Theme::of(app);
    if area.width < WIDTH_MIN || area.height < HEIGHT_MIN {
        let text = format!(
            "This window is {}x{}; Denbun needs at least {WIDTH_MIN}x{HEIGHT_MIN}. Make it larger (q quits).",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let message_rows = message_text(app).chars().count().div_ceil(usize::from(area.width)).clamp(1, MESSAGE_ROWS_MAX);
    let [title, body, message, keys, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(message_rows as u16),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_title(app, frame, title, theme);
    screens::render_body(app, frame, body, theme);
    render_message(app, frame, message, theme);
    render_keys(app, frame, keys, theme);
    render_status(app, frame, status, theme);
    render_overlay(app, frame, body, theme);
}

/// The screen's name in the title bar.
pub fn screen_title(app: &App) -> String {
    match &app.screen {
        Screen::Welcome => "Welcome".to_owned(),
        Screen::Reading { topic, .. } => match topic {
            denbun_protocol::telegram::GuideTopic::Guide => "Guide".to_owned(),
            denbun_protocol::telegram::GuideTopic::MemberAgreement => "Member agreement".to_owned(),
            denbun_protocol::telegram::GuideTopic::StoreAgreement => "Store agreement".to_owned(),
        },
        Screen::Apply(_) => "Application".to_owned(),
        Screen::Applied(_) => "Application accepted".to_owned(),
        Screen::Register(wizard) => {
            format!("Register: step {} of {}", wizard.step + 1, wizard.steps.len())
        }
        Screen::Working(_) => "Registering".to_owned(),
        Screen::Certificate(_) => "Registration certificate".to_owned(),
        Screen::Unlock { .. } => "Unlock".to_owned(),
        Screen::Home { .. } => "Menu".to_owned(),
        Screen::History { .. } => "History".to_owned(),
        Screen::Outbox { .. } => "Outbox".to_owned(),
        Screen::Notices { .. } => "Notices".to_owned(),
        Screen::Balance => "Balance and cards".to_owned(),
        Screen::Form(form) => screens::form_title(&form.purpose).to_owned(),
        Screen::Stores { .. } => "Stores".to_owned(),
        Screen::Catalog(catalog) => format!("Catalog of {}", catalog.trade_name),
        Screen::Item(_) => "Item".to_owned(),
        Screen::Cart { .. } => "Cart".to_owned(),
        Screen::Checkout => "Checkout".to_owned(),
        Screen::Downloads { .. } => "Downloads".to_owned(),
        Screen::Statement(_) => "Statement".to_owned(),
        Screen::Orders { .. } => "Orders".to_owned(),
        Screen::Order { transaction_number, .. } => format!("Order {transaction_number}"),
        Screen::Draft { .. } => "Catalog editor".to_owned(),
        Screen::Claims { .. } => "Payment claims".to_owned(),
        Screen::Payouts { .. } => "Payouts".to_owned(),
        Screen::Result { title, .. } => title.clone(),
    }
}

fn render_title(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let left = format!(" Denbun {} terminal · {}", app.mode.word(), screen_title(app));
    let right = app.center.as_ref().map(|center| format!("{} ", center.name)).unwrap_or_default();
    let width = usize::from(area.width);
    let gap = width.saturating_sub(left.chars().count() + right.chars().count());
    let text = if gap > 0 { format!("{left}{}{right}", " ".repeat(gap)) } else { left };
    frame.render_widget(Paragraph::new(text).style(theme.bar()), area);
}

fn render_message(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let style = match (&app.busy, &app.message) {
        (Some(_), _) => theme.key(),
        (None, Some(message)) if message.error => theme.error(),
        (None, Some(_)) => theme.good(),
        (None, None) => Style::new(),
    };
    frame.render_widget(Paragraph::new(Span::styled(message_text(app), style)).wrap(Wrap { trim: false }), area);
}

/// The keys the screen (or the overlay over it) takes.
pub fn keys(app: &App) -> Vec<(&'static str, &'static str)> {
    match &app.overlay {
        Some(Overlay::Help) => vec![("any key", "close help")],
        Some(Overlay::ConfirmQuit { .. } | Overlay::Confirm { .. }) => vec![("y", "yes"), ("n/Esc", "no")],
        Some(Overlay::PasswordB { .. }) => vec![("Enter", "unlock"), ("Esc", "cancel")],
        None => screen_keys(app),
    }
}

/// The keys the screen takes.
pub fn screen_keys(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut keys: Vec<(&str, &str)> = match &app.screen {
        Screen::Welcome => vec![("Enter", "guide and apply"), ("r", "register with my letter")],
        Screen::Reading { topic, .. } if *topic == denbun_protocol::telegram::GuideTopic::Guide => {
            vec![("↑↓ PgUp PgDn", "scroll"), ("Enter", "agreement"), ("Esc", "back")]
        }
        Screen::Reading { .. } => vec![("↑↓", "scroll"), ("a", "accept and apply"), ("l", "leave")],
        Screen::Apply(_) => vec![("Tab ↑↓", "field"), ("Enter", "next/send"), ("Esc", "back")],
        Screen::Applied(_) => vec![("Enter", "register now")],
        Screen::Register(wizard) if wizard.current() == Step::Confirm => {
            vec![("Enter", "register"), ("Esc", "previous step")]
        }
        Screen::Register(_) => vec![("Tab ↑↓", "field"), ("Enter", "next"), ("Esc", "previous step")],
        Screen::Working(_) => vec![],
        Screen::Certificate(_) => vec![("Enter", "to the menu")],
        Screen::Unlock { .. } => vec![("Enter", "unlock")],
        Screen::Home { .. } => {
            let mut keys = vec![("↑↓ Enter", "open"), ("letter", "shortcut")];
            if !app.signing {
                keys.push(("u", "unlock signing"));
            }
            keys.push(("g", "connect"));
            keys
        }
        Screen::History { detail: true, .. } | Screen::Notices { detail: true, .. } => {
            vec![("Enter/Esc", "close"), ("↑↓", "next")]
        }
        Screen::History { .. } => vec![("↑↓", "move"), ("Enter", "receipt"), ("Esc", "back")],
        Screen::Notices { .. } => vec![("↑↓", "move"), ("Enter", "details"), ("Esc", "back")],
        Screen::Outbox { .. } => vec![("↑↓", "move"), ("s", "send now"), ("Esc", "back")],
        Screen::Balance => vec![("t", "top up"), ("m", "statement"), ("Esc", "back")],
        Screen::Form(_) => vec![("Tab ↑↓", "field"), ("←→", "choice"), ("Enter", "next/send"), ("Esc", "cancel")],
        Screen::Stores { .. } => vec![("↑↓", "move"), ("Enter", "catalog"), ("n/p", "page"), ("Esc", "back")],
        Screen::Catalog(catalog) if catalog.searching => vec![("Enter", "search"), ("Esc", "stop")],
        Screen::Catalog(_) => {
            vec![("Enter", "item"), ("a", "add"), ("/", "search"), ("n/p", "page"), ("c", "cart"), ("Esc", "back")]
        }
        Screen::Item(_) => vec![("+/-", "quantity"), ("a", "add to cart"), ("c", "cart"), ("Esc", "back")],
        Screen::Cart { .. } => {
            vec![("Enter", "checkout"), ("+/-", "quantity"), ("d", "remove"), ("x", "empty"), ("Esc", "back")]
        }
        Screen::Checkout => vec![("y", "sign and pay"), ("n/Esc", "back")],
        Screen::Downloads { .. } => vec![("↑↓", "move"), ("Enter", "download"), ("Esc", "back")],
        Screen::Statement(_) => vec![("↑↓", "scroll"), ("n/p", "page"), ("Esc", "back")],
        Screen::Orders { .. } => vec![("↑↓", "move"), ("Enter", "open"), ("c", "claims"), ("Esc", "back")],
        Screen::Order { .. } => {
            vec![("↑↓", "line"), ("d", "deliver"), ("s", "ship"), ("r", "refund"), ("Esc", "back")]
        }
        Screen::Draft { .. } => vec![
            ("a", "add"),
            ("Enter", "edit"),
            ("d", "remove"),
            ("p", "publish"),
            ("i/x", "import/export"),
            ("Esc", "back"),
        ],
        Screen::Claims { .. } => vec![("Space", "pick"), ("A", "all"), ("Enter", "claim"), ("Esc", "back")],
        Screen::Payouts { .. } => vec![("↑↓", "move"), ("m", "statement"), ("Esc", "back")],
        Screen::Result { .. } => vec![("Enter/Esc", "back")],
    };
    if app.typing() {
        keys.push(("F1", "help"));
        keys.push(("^C", "quit"));
    } else {
        keys.push(("?", "help"));
        keys.push(("q", "quit"));
    }
    keys
}

fn render_keys(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let mut spans = vec![Span::raw(" ")];
    let mut width = 1;
    for (key, what) in keys(app) {
        let entry = key.chars().count() + 1 + what.chars().count() + 2;
        if width + entry > usize::from(area.width) {
            break;
        }
        width += entry;
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    frame.render_widget(Paragraph::new(TextLine::from(spans)), area);
}

/// The status line's text.
pub fn status_text(app: &App) -> String {
    let line = match &app.line {
        Line::Offline => "○ offline".to_owned(),
        Line::Connecting => format!("{} connecting", SPINNER[app.spinner % SPINNER.len()]),
        Line::Connected => "● connected".to_owned(),
        Line::SignedOn => "● signed on".to_owned(),
        Line::Down(_) => "○ down, retrying".to_owned(),
    };
    let Some(account) = &app.account else {
        return format!(" {line} │ not unlocked");
    };
    let balance = match model::balance(&account.records) {
        Some((balance, _)) => model::yen(balance.get()),
        None => "balance unknown".to_owned(),
    };
    let counts = format!("outbox {} │ notices {}", account.outbox.len(), app.unread);
    let money = if app.mode == super::app::Mode::Store { String::new() } else { format!("{balance} │ ") };
    let full = format!(" {line} │ {} {} │ {money}{counts}", account.party, account.name);
    if full.chars().count() <= STATUS_WIDTH {
        return full;
    }
    // Too long for an 80-column line: the number says who without the name.
    format!(" {line} │ {} │ {money}{counts}", account.party)
}

/// The width the status line is written for (the smallest usual terminal).
pub const STATUS_WIDTH: usize = 80;

fn render_status(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    frame.render_widget(Paragraph::new(status_text(app)).style(theme.bar()), area);
}

/// A rectangle of at most `width`x`height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

fn render_overlay(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let Some(overlay) = &app.overlay else { return };
    let (title, lines, height): (&str, Vec<TextLine>, u16) = match overlay {
        Overlay::Help => {
            let mut lines: Vec<TextLine> =
                screens::help_text(app).lines().map(|line| TextLine::from(line.to_owned())).collect();
            lines.push(TextLine::default());
            for (key, what) in screen_keys(app) {
                lines.push(TextLine::from(vec![
                    Span::styled(format!("{key:>14}"), theme.key()),
                    Span::raw(format!("  {what}")),
                ]));
            }
            lines.push(TextLine::default());
            lines.push(TextLine::from(Span::styled(
                "Esc goes back a screen; q (or Ctrl-C in a form) quits, asking first if something is unsent.",
                theme.dim(),
            )));
            ("Help", lines, area.height)
        }
        Overlay::ConfirmQuit { reason } => (
            "Quit?",
            vec![
                TextLine::from(reason.clone()),
                TextLine::default(),
                TextLine::from(vec![
                    Span::styled("y", theme.key()),
                    Span::raw(" quit   "),
                    Span::styled("n", theme.key()),
                    Span::raw(" stay"),
                ]),
            ],
            9,
        ),
        Overlay::Confirm { question, .. } => (
            "Confirm",
            vec![
                TextLine::from(question.clone()),
                TextLine::default(),
                TextLine::from(vec![
                    Span::styled("y", theme.key()),
                    Span::raw(" yes   "),
                    Span::styled("n", theme.key()),
                    Span::raw(" no"),
                ]),
            ],
            8,
        ),
        Overlay::PasswordB { field, error, .. } => {
            let mut lines = vec![
                TextLine::from("Signing needs password B (it opens your signature key for this session)."),
                TextLine::default(),
                TextLine::from(vec![
                    Span::raw("Password B: "),
                    Span::styled(format!("{:<24}", "•".repeat(field.len().min(24))), theme.selected()),
                ]),
            ];
            if let Some(error) = error {
                lines.push(TextLine::default());
                lines.push(TextLine::from(Span::styled(error.clone(), theme.error())));
            }
            ("Password B", lines, 10)
        }
    };
    let width = if matches!(overlay, Overlay::Help) { area.width.saturating_sub(4) } else { 64 };
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::default().borders(Borders::ALL).title(Span::styled(format!(" {title} "), theme.title()));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    if let Overlay::PasswordB { field, .. } = overlay {
        frame.set_cursor_position(Position::new(rect.x + 13 + field.len().min(24) as u16, rect.y + 3));
    }
}

/// Draws a form at `area`; the focused text field gets the cursor.
pub fn render_form(form: &Form, frame: &mut Frame, area: Rect, theme: Theme) {
    let label_width = form.fields.iter().map(|field| field.label.chars().count()).max().unwrap_or(0) + 1;
    let value_width = usize::from(area.width).saturating_sub(label_width + 4).min(48);
    // Two rows a field; a form taller than the area scrolls to keep the
    // focused field (and the error under the fields) in view.
    let error_rows = if form.error.is_some() { 2 } else { 0 };
    let fields_visible = (usize::from(area.height).saturating_sub(error_rows) / 2).max(1);
    let first = (form.focus + 1).saturating_sub(fields_visible);
    let mut lines = Vec::new();
    let mut cursor = None;
    for (index, field) in form.fields.iter().enumerate().skip(first).take(fields_visible) {
        let focused = index == form.focus;
        let (value, column) = match &field.kind {
            FieldKind::Text(text) => {
                let (column, scroll) = text.cursor(value_width);
                let shown: String = text.value().chars().skip(scroll).take(value_width).collect();
                (shown, column)
            }
            FieldKind::Secret(secret) => {
                let count = secret.len().min(value_width);
                ("•".repeat(count), count)
            }
            FieldKind::Choice { options, selected } => (format!("< {} >", options[*selected]), 0),
        };
        let value_style = if focused { theme.selected() } else { Style::new().add_modifier(Modifier::UNDERLINED) };
        lines.push(TextLine::from(vec![
            Span::styled(format!("{:>label_width$} ", field.label), if focused { theme.key() } else { Style::new() }),
            Span::styled(format!("{value:<value_width$}"), value_style),
        ]));
        let hint = match &field.kind {
            FieldKind::Secret(secret) if focused && field.label.starts_with("Password") && !secret.is_empty() => {
                format!("strength: {}", secret.strength().hint())
            }
            _ => field.hint.to_owned(),
        };
        lines.push(TextLine::from(Span::styled(format!("{:label_width$} {hint}", ""), theme.dim())));
        if focused && !matches!(field.kind, FieldKind::Choice { .. }) {
            cursor = Some((label_width as u16 + 1 + column as u16, ((index - first) * 2) as u16));
        }
    }
    if let Some(error) = &form.error {
        lines.push(TextLine::from(Span::styled(error.clone(), theme.error())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    if let Some((x, y)) = cursor
        && y < area.height
    {
        frame.set_cursor_position(Position::new(area.x + x.min(area.width.saturating_sub(1)), area.y + y));
    }
}

/// Whether `target` needs password B in this app's menu.
pub fn signing_marker(app: &App, target: Target) -> bool {
    !app.signing && app.menu().iter().any(|item| item.target == target && item.needs_signing)
}
