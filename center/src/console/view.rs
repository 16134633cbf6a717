//! Drawing: `render(&App, &mut Frame)` draws the same screen for the same
//! state and does nothing else.
//!
//! Every tab has the same frame: the title bar (who, which center, the
//! line, the time), the tab bar, the tab, the message line, and the keys the
//! tab takes. Tables are plain lines cut to the width, so 80 columns show
//! the essentials and wider windows show more.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::ledger::cards::channel_name;
use denbun_client::terminal::field::{FieldKind, Form};
use denbun_protocol::telegram::{AccountState, FundingChannel, JournalDirection, Report, TelegramClass};
use denbun_protocol::wire::group_thousands;

use super::app::{
    App, Chart, FetchKind, Level, LineStatus, Modal, PartyList, Tab, code_name, is_own_query, party_rows,
};

/// Columns from which wide tables add their extra columns.
pub const WIDE_COLUMNS: u16 = 100;

/// Styles, with or without colour (`NO_COLOR`).
#[derive(Clone, Copy)]
struct Theme {
    color: bool,
}

impl Theme {
    fn paint(self, color: Color) -> Style {
        if self.color { Style::new().fg(color) } else { Style::new() }
    }
    fn title(self) -> Style {
        self.paint(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    fn key(self) -> Style {
        self.paint(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    fn error(self) -> Style {
        self.paint(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn warn(self) -> Style {
        self.paint(Color::Yellow)
    }
    fn good(self) -> Style {
        self.paint(Color::Green)
    }
    fn dim(self) -> Style {
        self.paint(Color::DarkGray)
    }
    fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    fn bar(self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
}

/// `HH:MM:SS` (UTC) of unix milliseconds.
pub fn clock(unix_ms: u64) -> String {
    let seconds = unix_ms / 1_000;
    format!("{:02}:{:02}:{:02}", seconds / 3_600 % 24, seconds / 60 % 60, seconds % 60)
}

/// A duration in microseconds for people.
pub fn micros(us: u32) -> String {
    if us >= 10_000 { format!("{} ms", us / 1_000) } else { format!("{}.{} ms", us / 1_000, us % 1_000 / 100) }
}

/// `text` cut to `width` characters (with … when cut).
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A bar of `value` out of `max` in `width` cells.
pub fn bar(value: u64, max: u64, width: usize) -> String {
    if max == 0 || width == 0 {
        return String::new();
    }
    let eighths = (u128::from(value) * (width as u128) * 8 / u128::from(max)) as usize;
    let mut text = "█".repeat(eighths / 8);
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    text.push_str(PARTS[eighths % 8]);
    text
}

/// A one-line sparkline of `values`, scaled to `max`.
pub fn sparkline(values: &[u16], max: u16) -> String {
    const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|value| {
            if *value == 0 || max == 0 {
                '·'
            } else {
                LEVELS[(usize::from(*value) * 8).div_ceil(usize::from(max)).clamp(1, 8)]
            }
        })
        .collect()
}

/// The keys the tab takes, for the key bar and the help.
pub fn tab_keys(app: &App) -> Vec<(&'static str, &'static str)> {
    match app.tab {
        Tab::Overview => vec![("r", "refresh")],
        Tab::Journal => vec![
            ("↑↓", "select"),
            ("Enter", "detail"),
            ("f", "filter"),
            ("x", "clear filter"),
            ("o", "own queries"),
            ("End", "follow"),
        ],
        Tab::Funds => vec![("↑↓", "select"), ("c", "confirm received"), ("x", "reject"), ("r", "refresh")],
        Tab::Mail => vec![("↑↓", "select"), ("Enter", "view"), ("p", "mark printed"), ("a", "printed too")],
        Tab::Parties => vec![
            ("m/s", "members/stores"),
            ("/", "search"),
            ("Enter", "show"),
            ("f", "freeze/unfreeze"),
            ("b", "refund balance"),
            ("[ ]", "page"),
        ],
        Tab::Payouts => {
            vec![("Space", "mark"), ("a", "all"), ("Enter", "approve"), ("e", "export file"), ("x", "executed")]
        }
        Tab::Statistics => vec![("←→", "day"), ("d/c/s", "by day/channel/store"), ("t", "report text")],
        Tab::Printer => vec![("↑↓", "scroll"), ("e", "problems only")],
        Tab::Backup => vec![("b", "back up now"), ("v", "verify"), ("a", "audit"), ("↑↓", "select")],
    }
}

/// What each tab is for, for the help.
pub fn tab_help(tab: Tab) -> &'static str {
    match tab {
        Tab::Overview => {
            "Overview: connections and signed-on sessions, telegrams per second by class over the last minute, \
             answer latency, refusals in the last hour, today's totals and the reconciliation. Refreshes every 2 s."
        }
        Tab::Journal => {
            "Journal: every telegram in and out, newest at the bottom, following new entries (End follows again). \
             This console's own polls are hidden unless o shows them. Enter shows an entry in full: the decoded \
             telegram, its signature checked again here, and its links in the hash chain."
        }
        Tab::Funds => {
            "Funds: bank, post-office and registered-mail top-ups waiting for their money. Confirm with the amount \
             that actually arrived (the card is issued for it), or reject with a reason. Both ask first."
        }
        Tab::Mail => {
            "Mail: activation letters to print and post. Enter shows the letter as printed (with its code); \
             p marks it printed once it is in the post."
        }
        Tab::Parties => {
            "Members and stores: / searches names and addresses, Enter shows one in full. f freezes or unfreezes, \
             b refunds a member's unused balance to a bank account. Both ask first."
        }
        Tab::Payouts => {
            "Payouts: claims from stores. Mark them (Space, a for all) and approve them into one batch (Enter), \
             export its transfer file for the bank (e; the path is shown), and when the bank has executed it, \
             mark it executed (x): the stores are paid out and notified."
        }
        Tab::Statistics => {
            "Statistics: the last 14 days up to the chosen day (←→): payments by day, top-ups by channel, sales by \
             store. t shows the chosen day's report as denbun-center report prints it."
        }
        Tab::Printer => {
            "Printer: errors and events, newest first. Center lines are the refusals the center journaled (from the \
             journal); console lines are what this console did and saw. The center's own log file stays on its \
             machine (DIR/log/center.log.*)."
        }
        Tab::Backup => {
            "Backup: take a backup now, verify one, run the audit. A center that does not offer backups yet says so."
        }
    }
}

/// Draws the console.
pub fn render(app: &App, frame: &mut Frame) {
    let theme = Theme { color: app.color };
    let area = frame.area();
    let [title, tabs, body, message, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_title(app, frame, title, theme);
    render_tabs(app, frame, tabs, theme);
    match app.tab {
        Tab::Overview => render_overview(app, frame, body, theme),
        Tab::Journal => render_journal(app, frame, body, theme),
        Tab::Funds => render_funds(app, frame, body, theme),
        Tab::Mail => render_mail(app, frame, body, theme),
        Tab::Parties => render_parties(app, frame, body, theme),
        Tab::Payouts => render_payouts(app, frame, body, theme),
        Tab::Statistics => render_statistics(app, frame, body, theme),
        Tab::Printer => render_printer(app, frame, body, theme),
        Tab::Backup => render_backup(app, frame, body, theme),
    }
    render_message(app, frame, message, theme);
    render_keys(app, frame, keys, theme);
    render_modal(app, frame, body, theme);
}

fn render_title(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let line = match &app.line {
        LineStatus::Up => "line up".to_owned(),
        LineStatus::Down(_) => "LINE DOWN".to_owned(),
    };
    let acting = if app.acting.is_some() { " │ sending…" } else { "" };
    let mut text = format!(
        " Denbun console │ {} │ {} {} │ {line}{acting} │ {} UTC",
        app.operator,
        app.center_name,
        app.center_address,
        clock(app.now_ms)
    );
    if text.chars().count() > usize::from(area.width) {
        // Narrow: the address goes first, the clock and the line stay.
        text = format!(
            " Denbun console │ {} │ {} │ {line}{acting} │ {} UTC",
            app.operator,
            app.center_name,
            clock(app.now_ms)
        );
    }
    frame.render_widget(Paragraph::new(fit(&text, usize::from(area.width))).style(theme.bar()), area);
}

fn render_tabs(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let wide = area.width >= WIDE_COLUMNS;
    let mut spans = Vec::new();
    for (index, tab) in Tab::ALL.iter().enumerate() {
        let label = if wide { format!(" {} {} ", index + 1, tab.title()) } else { format!("{} ", tab.title()) };
        let style = if *tab == app.tab { theme.selected().add_modifier(Modifier::BOLD) } else { Style::new() };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(if wide { " " } else { "" }));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_message(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let Some(message) = &app.message else { return };
    let style = if message.error { theme.error() } else { theme.good() };
    frame.render_widget(Paragraph::new(fit(&message.text, usize::from(area.width))).style(style), area);
}

fn render_keys(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let mut spans = Vec::new();
    let mut keys = tab_keys(app);
    if app.modal.is_some() {
        keys = match &app.modal {
            Some(Modal::Confirm { .. }) => vec![("y", "yes, send it"), ("n", "no")],
            Some(Modal::Form { .. }) => {
                vec![("Tab", "next field"), ("Enter", "on the last: submit"), ("Esc", "cancel")]
            }
            _ => vec![("↑↓", "scroll"), ("Esc", "close")],
        };
    } else if app.tab == Tab::Parties && app.parties.editing {
        keys = vec![("Enter", "search"), ("Esc", "stop typing")];
    } else {
        keys.extend([("1-9", "tabs"), ("?", "help"), ("q", "quit")]);
    }
    let mut used = 0usize;
    for (key, what) in keys {
        let width = key.chars().count() + what.chars().count() + 3;
        if used + width > usize::from(area.width) {
            break;
        }
        used += width;
        spans.push(Span::styled(format!(" {key}"), theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn waiting(app: &App, kind: FetchKind) -> Line<'static> {
    Line::from(if app.loading(kind) { "Asking the center…" } else { "Nothing yet." })
}

/// The first row to show so that `selected` is in a window of `height` rows.
fn window(selected: usize, count: usize, height: usize) -> usize {
    if count <= height { 0 } else { (selected + 1).saturating_sub(height).min(count - height) }
}

fn boxed(title: String, theme: Theme) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(Span::styled(format!(" {title} "), theme.title()))
}

fn class_name(class: TelegramClass) -> &'static str {
    match class {
        TelegramClass::Network => "network",
        TelegramClass::Registration => "registration",
        TelegramClass::Card => "cards",
        TelegramClass::Catalog => "catalogs",
        TelegramClass::Payment => "payments",
        TelegramClass::Delivery => "delivery",
        TelegramClass::Settlement => "settlement",
        TelegramClass::Operator => "operators",
        TelegramClass::Refused => "refused",
    }
}

/// The reconciliation line of a report: whether it holds, and the identity
/// with its figures (`short`: the figures alone, for narrow boxes).
pub fn reconciliation_line(report: &Report, short: bool) -> (bool, String) {
    let all = &report.all_time;
    let holds = crate::flows::report::reconciles(report);
    let text = if short {
        format!(
            "{} = {} + {} + {} + {}",
            group_thousands(all.funds_in_yen),
            group_thousands(all.stored_value_yen),
            group_thousands(all.store_payables_yen),
            group_thousands(all.paid_out_yen),
            group_thousands(all.refunded_yen)
        )
    } else {
        format!(
            "funds in {} = stored {} + payables {} + paid out {} + refunded {}",
            group_thousands(all.funds_in_yen),
            group_thousands(all.stored_value_yen),
            group_thousands(all.store_payables_yen),
            group_thousands(all.paid_out_yen),
            group_thousands(all.refunded_yen)
        )
    };
    (holds, text)
}

fn render_overview(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let [top, rates] = Layout::vertical([Constraint::Length(10), Constraint::Min(1)]).areas(area);
    let [left, right] = Layout::horizontal([Constraint::Percentage(46), Constraint::Percentage(54)]).areas(top);
    let center_lines = match &app.live {
        None => vec![waiting(app, FetchKind::Live)],
        Some(live) => {
            let latency = &live.latency;
            let up_minutes = live.now_ms.saturating_sub(live.started_at_ms) / 60_000;
            vec![
                Line::from(format!("connections      {:>6}", live.connections)),
                Line::from(format!("signed on        {:>6}", live.signed_on_sessions)),
                Line::from(format!("latency p50 {:>8}  p90 {:>8}", micros(latency.p50_us), micros(latency.p90_us))),
                Line::from(format!("        p99 {:>8}  max {:>8}", micros(latency.p99_us), micros(latency.max_us))),
                Line::from(vec![
                    Span::raw("refused, last hour "),
                    Span::styled(
                        format!("{:>4}", live.refused_last_hour),
                        if live.refused_last_hour > 0 { theme.warn() } else { Style::new() },
                    ),
                ]),
                Line::from(format!("journal entries {:>10}", group_thousands(live.journal_entries))),
                Line::from(format!("up {}h {:02}m, day {}", up_minutes / 60, up_minutes % 60, live.business_day)),
                Line::from(Span::styled(format!("as of {} UTC", clock(live.now_ms)), theme.dim())),
            ]
        }
    };
    frame.render_widget(Paragraph::new(center_lines).block(boxed("Center".to_owned(), theme)), left);
    let today_lines = match &app.today {
        None => vec![waiting(app, FetchKind::Today)],
        Some(report) => {
            let width = usize::from(right.width.saturating_sub(2));
            let row = |label: &str, count: u64, yen: u64| {
                let amount = format!("{} yen", group_thousands(yen));
                Line::from(format!(
                    "{label:<14}{count:>5} {amount:>width$}",
                    width = width.saturating_sub(20).max(amount.len())
                ))
            };
            let top_ups = &report.top_ups;
            let sales = report
                .sales_by_store
                .iter()
                .fold((0, 0), |(count, yen), store| (count + store.sales.count, yen + store.sales.yen));
            let (holds, text) = reconciliation_line(report, width < 70);
            vec![
                row("credit", top_ups.credit_company.count, top_ups.credit_company.yen),
                row("bank", top_ups.bank_transfer.count, top_ups.bank_transfer.yen),
                row("post office", top_ups.post_office_transfer.count, top_ups.post_office_transfer.yen),
                row("registered", top_ups.registered_mail_cash.count, top_ups.registered_mail_cash.yen),
                row("sales", sales.0, sales.1),
                row("payouts", report.payouts.count, report.payouts.yen),
                row("refunds", report.refunds.count, report.refunds.yen),
                Line::from(vec![
                    if holds {
                        Span::styled("balanced ", theme.good())
                    } else {
                        Span::styled("NOT BALANCED ", theme.error())
                    },
                    Span::raw(fit(&text, width.saturating_sub(13))),
                ]),
            ]
        }
    };
    let today_title = match &app.today {
        Some(report) => format!("Today {}", report.range.from()),
        None => "Today".to_owned(),
    };
    frame.render_widget(Paragraph::new(today_lines).block(boxed(today_title, theme)), right);

    let mut lines = vec![Line::from(Span::styled("Telegrams per second, last minute (· none)", theme.title()))];
    match &app.live {
        None => lines.push(waiting(app, FetchKind::Live)),
        Some(live) => {
            let label_width = 13;
            let tail_width = 9;
            let spark_width = usize::from(rates.width).saturating_sub(label_width + tail_width).max(1);
            for class in live.classes.iter() {
                let values = class.per_second.as_slice();
                let shown = &values[values.len().saturating_sub(spark_width)..];
                let max = shown.iter().copied().max().unwrap_or(0);
                let last = values.last().copied().unwrap_or(0);
                let style = if class.class == TelegramClass::Refused && max > 0 { theme.warn() } else { theme.good() };
                lines.push(Line::from(vec![
                    Span::raw(format!("{:<label_width$}", class_name(class.class))),
                    Span::styled(sparkline(shown, max), style),
                    Span::raw(format!(" {last:>3}/s")),
                ]));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), rates);
}

fn render_journal(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let wide = area.width >= WIDE_COLUMNS;
    let visible = app.journal_visible();
    let hidden = app.journal.rows.len() - visible.len();
    let filter = &app.journal.filter;
    let mut title = if filter.is_empty() {
        "Live tail".to_owned()
    } else {
        let names = ["sender", "code", "result", "from", "until"];
        let parts: Vec<String> = filter
            .typed
            .iter()
            .zip(names)
            .filter(|(typed, _)| !typed.is_empty())
            .map(|(typed, name)| format!("{name} {typed}"))
            .collect();
        format!("Filter: {}", parts.join(", "))
    };
    title.push_str(&format!(" │ {} rows", visible.len()));
    if hidden > 0 || !app.journal.show_own {
        title.push_str(", own queries hidden (o)");
    }
    if app.journal.follow {
        title.push_str(" │ following");
    }
    let mut lines = vec![Line::from(Span::styled(fit(&title, usize::from(area.width)), theme.title()))];
    let header = if wide {
        "   entry time     dir code name                           sender    → recipient   proc. no. result"
    } else {
        "   entry time     dir code name                 sender    → recipient  result"
    };
    lines.push(Line::from(Span::styled(fit(header, usize::from(area.width)), theme.dim())));
    let height = usize::from(area.height).saturating_sub(2);
    if visible.is_empty() {
        lines.push(waiting(app, FetchKind::Journal));
    }
    let selected = app.journal.selected.min(visible.len().saturating_sub(1));
    let first = window(selected, visible.len(), height);
    for (position, index) in visible.iter().enumerate().skip(first).take(height) {
        let row = &app.journal.rows[*index];
        let name = code_name(row.code);
        let name = name.get(5..).unwrap_or("");
        let direction = match row.direction {
            JournalDirection::In => "in ",
            JournalDirection::Out => "out",
        };
        let result = if row.result == 0 { "ok".to_owned() } else { row.result.to_string() };
        let text = if wide {
            format!(
                "{:>8} {} {direction} {:04} {:<30} {:<9} → {:<9} {:>11} {result}",
                row.entry,
                clock(row.recorded_at_ms),
                row.code,
                fit(name, 30),
                row.sender.to_string(),
                row.recipient.to_string(),
                row.processing_number,
            )
        } else {
            format!(
                "{:>8} {} {direction} {:04} {:<20} {:<9} → {:<9} {result}",
                row.entry,
                clock(row.recorded_at_ms),
                row.code,
                fit(name, 20),
                row.sender.to_string(),
                row.recipient.to_string(),
            )
        };
        let mut style = if row.result != 0 { theme.warn() } else { Style::new() };
        if is_own_query(row, app.operator) {
            style = theme.dim();
        }
        if position == selected {
            style = theme.selected();
        }
        lines.push(Line::from(Span::styled(fit(&text, usize::from(area.width)), style)));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_funds(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let mut lines = vec![Line::from(Span::styled("Top-ups waiting for their money, oldest first", theme.title()))];
    match &app.funds {
        None => lines.push(waiting(app, FetchKind::Funds)),
        Some(rows) if rows.is_empty() => lines.push(Line::from("No top-up is waiting for money.")),
        Some(rows) => {
            // 78 columns in all, so the time is whole at 80.
            let header =
                format!("{:<16} {:<9}  {:<20} {:>11}  {}", "reference", "member", "channel", "yen", "asked (UTC)");
            lines.push(Line::from(Span::styled(fit(&header, usize::from(area.width)), theme.dim())));
            let height = usize::from(area.height).saturating_sub(3);
            let first = window(app.funds_selected, rows.len(), height);
            for (index, row) in rows.iter().enumerate().skip(first).take(height) {
                let text = format!(
                    "{:<16} {}  {:<20} {:>11}  {}",
                    row.reference.as_str(),
                    row.member,
                    channel_name(row.channel),
                    group_thousands(row.amount.get()),
                    crate::mail::format_utc(row.requested_at_ms)
                );
                let style = if index == app.funds_selected { theme.selected() } else { Style::new() };
                lines.push(Line::from(Span::styled(fit(&text, usize::from(area.width)), style)));
            }
            let total: u64 = rows.iter().map(|row| row.amount.get()).sum();
            lines.push(Line::from(Span::styled(
                format!("{} waiting, {} yen asked for", rows.len(), group_thousands(total)),
                theme.dim(),
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_mail(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let title = if app.letters_all { "Letters, printed ones too" } else { "Letters waiting to be printed and posted" };
    let mut lines = vec![Line::from(Span::styled(title, theme.title()))];
    match &app.letters {
        None => lines.push(waiting(app, FetchKind::Letters)),
        Some(letters) if letters.is_empty() => lines.push(Line::from("No letters waiting.")),
        Some(letters) => {
            let height = usize::from(area.height).saturating_sub(1);
            let first = window(app.letters_selected, letters.len(), height);
            for (index, letter) in letters.iter().enumerate().skip(first).take(height) {
                let text = format!(
                    "{:>6}  {}  {:<24}  written {}  {}",
                    letter.letter_number,
                    letter.recipient,
                    fit(letter.name.as_str(), 24),
                    crate::mail::format_utc(letter.created_at_ms),
                    if letter.printed { "printed" } else { "to print" }
                );
                let style = if index == app.letters_selected { theme.selected() } else { Style::new() };
                lines.push(Line::from(Span::styled(fit(&text, usize::from(area.width)), style)));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_parties(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let parties = &app.parties;
    let (noun, money) = match parties.list {
        PartyList::Members => ("Members", "balance"),
        PartyList::Stores => ("Stores", "payable"),
    };
    let search_style = if parties.editing { theme.selected() } else { Style::new().add_modifier(Modifier::UNDERLINED) };
    let (page, page_count) = match parties.list {
        PartyList::Members => parties.members.as_ref().map_or((0, 0), |rows| (rows.page, rows.page_count)),
        PartyList::Stores => parties.stores.as_ref().map_or((0, 0), |rows| (rows.page, rows.page_count)),
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{noun} "), theme.title()),
        Span::raw("search: "),
        Span::styled(format!("{:<24}", fit(parties.search.value(), 24)), search_style),
        Span::styled(format!("  page {} of {}", page + 1, page_count.max(1)), theme.dim()),
    ])];
    let rows = party_rows(app);
    let (list_area, detail_area) = match &parties.detail {
        Some(_) if area.width >= WIDE_COLUMNS => {
            let [list, detail] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
            (list, Some(detail))
        }
        Some(_) => {
            let [list, detail] = Layout::vertical([Constraint::Length(7), Constraint::Min(1)]).areas(area);
            (list, Some(detail))
        }
        None => (area, None),
    };
    if rows.is_empty() {
        lines.push(if app.loading(FetchKind::Search) {
            waiting(app, FetchKind::Search)
        } else {
            Line::from("No one matches.")
        });
    }
    let height = usize::from(list_area.height).saturating_sub(1);
    let first = window(parties.selected, rows.len(), height);
    for (index, (party, name, state, yen)) in rows.iter().enumerate().skip(first).take(height) {
        let text = format!(
            "{party}  {:<26} {:<8} {money} {:>12}",
            fit(name, 26),
            crate::commands::account_state_word(*state),
            group_thousands(*yen)
        );
        let mut style = if *state == AccountState::Frozen { theme.warn() } else { Style::new() };
        if index == parties.selected {
            style = theme.selected();
        }
        lines.push(Line::from(Span::styled(fit(&text, usize::from(list_area.width)), style)));
    }
    frame.render_widget(Paragraph::new(lines), list_area);
    if let (Some(detail_area), Some((party, text, _))) = (detail_area, &parties.detail) {
        let block = boxed(format!("{party} (Esc closes)"), theme);
        frame.render_widget(Paragraph::new(text.clone()).block(block).wrap(Wrap { trim: false }), detail_area);
    }
    if parties.editing {
        let x = area.x + u16::try_from(noun.len() + 1 + 8).unwrap_or(0);
        let (column, _) = parties.search.cursor(24);
        frame.set_cursor_position(Position::new(x + column as u16, area.y));
    }
}

fn render_payouts(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let payouts = &app.payouts;
    let batch_rows = payouts.batches.len().min(5) as u16;
    let [claims_area, batches_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(batch_rows + 2)]).areas(area);
    let mut lines = vec![Line::from(Span::styled("Payment claims waiting for approval", theme.title()))];
    match &payouts.claims {
        None => lines.push(waiting(app, FetchKind::Claims)),
        Some(claims) if claims.is_empty() => lines.push(Line::from("No payment claim is waiting.")),
        Some(claims) => {
            let height = usize::from(claims_area.height).saturating_sub(2);
            let first = window(payouts.selected, claims.len(), height);
            for (index, claim) in claims.iter().enumerate().skip(first).take(height) {
                let mark = if payouts.marked.contains(&claim.claim_number) { "[x]" } else { "[ ]" };
                let text = format!("{mark} {}", crate::commands::render_claim(claim));
                let style = if index == payouts.selected { theme.selected() } else { Style::new() };
                lines.push(Line::from(Span::styled(fit(&text, usize::from(area.width)), style)));
            }
            let marked: Vec<_> = claims.iter().filter(|claim| payouts.marked.contains(&claim.claim_number)).collect();
            let total: u64 = marked.iter().map(|claim| claim.amount.get()).sum();
            lines.push(Line::from(Span::styled(
                format!(
                    "{} waiting; {} marked, {} yen. Enter approves the marked, else the highlighted.",
                    claims.len(),
                    marked.len(),
                    group_thousands(total)
                ),
                theme.dim(),
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines), claims_area);
    let mut batch_lines = Vec::new();
    if payouts.batches.is_empty() {
        batch_lines.push(Line::from(Span::styled("No batch approved from this console yet.", theme.dim())));
    }
    for row in payouts.batches.iter().rev().take(5) {
        let state = if row.executed { "executed" } else { "approved" };
        let file = row.exported.as_deref().map_or("not exported".to_owned(), |path| format!("file {path}"));
        let text = format!(
            "batch {:>6}  {:>12} yen  {} store(s)  {state}  {file}",
            row.summary.batch_number,
            group_thousands(row.summary.total.get()),
            row.summary.stores
        );
        batch_lines.push(Line::from(fit(&text, usize::from(area.width.saturating_sub(2)))));
    }
    frame.render_widget(Paragraph::new(batch_lines).block(boxed("Batches".to_owned(), theme)), batches_area);
}

fn render_statistics(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let statistics = &app.statistics;
    let day = statistics.day.or_else(|| app.live.as_ref().map(|live| live.business_day));
    let Some(day) = day else {
        frame.render_widget(Paragraph::new(waiting(app, FetchKind::Live)), area);
        return;
    };
    if statistics.text {
        let text = match &statistics.report {
            Some(report) => crate::flows::report::render(report),
            None => "Asking the center…".to_owned(),
        };
        let block = boxed(format!("Report for {day} (as denbun-center report prints it)"), theme);
        frame.render_widget(Paragraph::new(text).block(block).scroll((statistics.scroll, 0)), area);
        return;
    }
    let (title, rows): (String, Vec<(String, u64, u64)>) = match (&statistics.days, statistics.chart) {
        (None, _) => {
            frame.render_widget(Paragraph::new(waiting(app, FetchKind::Statistics)), area);
            return;
        }
        (Some(report), Chart::Days) => (
            format!("Payments by day, {} to {}", report.range.from(), report.range.to()),
            report
                .days
                .iter()
                .map(|volume| (volume.date.to_string(), volume.payments.yen, volume.payments.count))
                .collect(),
        ),
        (Some(report), Chart::Channels) => {
            let top_ups = &report.top_ups;
            (
                format!("Top-ups by channel, {} to {}", report.range.from(), report.range.to()),
                vec![
                    (
                        channel_name(FundingChannel::CreditCompany).to_owned(),
                        top_ups.credit_company.yen,
                        top_ups.credit_company.count,
                    ),
                    (
                        channel_name(FundingChannel::BankTransfer).to_owned(),
                        top_ups.bank_transfer.yen,
                        top_ups.bank_transfer.count,
                    ),
                    (
                        channel_name(FundingChannel::PostOfficeTransfer).to_owned(),
                        top_ups.post_office_transfer.yen,
                        top_ups.post_office_transfer.count,
                    ),
                    (
                        channel_name(FundingChannel::RegisteredMailCash).to_owned(),
                        top_ups.registered_mail_cash.yen,
                        top_ups.registered_mail_cash.count,
                    ),
                ],
            )
        }
        (Some(report), Chart::Stores) => (
            format!("Sales by store, {} to {}", report.range.from(), report.range.to()),
            report
                .sales_by_store
                .iter()
                .map(|sales| (sales.store.to_string(), sales.sales.yen, sales.sales.count))
                .collect(),
        ),
    };
    let mut lines = vec![Line::from(Span::styled(title, theme.title()))];
    if rows.is_empty() {
        lines.push(Line::from("Nothing in these days."));
    }
    let max = rows.iter().map(|(_, yen, _)| *yen).max().unwrap_or(0);
    let label_width = rows.iter().map(|(label, ..)| label.chars().count()).max().unwrap_or(0);
    let figures_width = 26;
    let bar_width = usize::from(area.width).saturating_sub(label_width + figures_width + 2);
    let height = usize::from(area.height).saturating_sub(4);
    for (label, yen, count) in rows.iter().rev().take(height).rev() {
        lines.push(Line::from(vec![
            Span::raw(format!("{label:<label_width$} ")),
            Span::styled(format!("{:<bar_width$}", bar(*yen, max, bar_width)), theme.good()),
            Span::raw(format!(" {:>14} yen {count:>5}", group_thousands(*yen))),
        ]));
    }
    if let Some(report) = &statistics.report {
        let (holds, text) = reconciliation_line(report, area.width < WIDE_COLUMNS);
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::raw(format!("{day}: ")),
            if holds { Span::styled("balanced ", theme.good()) } else { Span::styled("NOT BALANCED ", theme.error()) },
            Span::raw(fit(&text, usize::from(area.width).saturating_sub(23))),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_printer(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let events = app.printer_visible();
    let title =
        if app.printer_problems_only { "Printer: warnings and errors, newest first" } else { "Printer: newest first" };
    let mut lines = vec![Line::from(Span::styled(title, theme.title()))];
    if events.is_empty() {
        lines.push(Line::from("Nothing printed yet."));
    }
    let height = usize::from(area.height).saturating_sub(1);
    let first = app.printer_scroll.min(events.len().saturating_sub(height));
    for event in events.iter().skip(first).take(height) {
        let style = match event.level {
            Level::Info => Style::new(),
            Level::Warn => theme.warn(),
            Level::Error => theme.error(),
        };
        let text = format!("{} {:<5} {:<7} {}", clock(event.at_ms), event.level.word(), event.source, event.text);
        lines.push(Line::from(Span::styled(fit(&text, usize::from(area.width)), style)));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_backup(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let backup = &app.backup;
    let mut lines = vec![Line::from(Span::styled("Backups", theme.title()))];
    if let Some(why) = &backup.not_offered {
        lines.push(Line::from(Span::styled(
            fit(&format!("The center says: {why}"), usize::from(area.width)),
            theme.warn(),
        )));
    }
    if backup.backups.is_empty() {
        lines.push(Line::from("No backup taken from this console yet. b takes one; v verifies one by number."));
    }
    for (index, row) in backup.backups.iter().enumerate() {
        let digest: String = row.result.sha256.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
        let verified = match row.verified {
            None => "not verified",
            Some(true) => "intact",
            Some(false) => "DAMAGED",
        };
        let text = format!(
            "backup {:>5}  {}  {:>14} bytes  sha256 {digest}…  {verified}",
            row.result.backup_number,
            crate::mail::format_utc(row.result.created_at_ms),
            group_thousands(row.result.bytes)
        );
        let style = if index == backup.selected { theme.selected() } else { Style::new() };
        lines.push(Line::from(Span::styled(fit(&text, usize::from(area.width)), style)));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled("Audit", theme.title())));
    match &backup.audit {
        None => lines.push(Line::from("Not run from this console. a runs it on the center.")),
        Some(audit) if audit.passed => lines.push(Line::from(Span::styled(
            "Passed: the journal chain, every signature and the ledger hold.",
            theme.good(),
        ))),
        Some(audit) => {
            lines.push(Line::from(Span::styled("FAILED:", theme.error())));
            for finding in audit.findings.iter() {
                lines.push(Line::from(fit(&format!("  {}", finding.as_str()), usize::from(area.width))));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

fn render_modal(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let Some(modal) = &app.modal else { return };
    match modal {
        Modal::Help => {
            let mut lines = Vec::new();
            lines.push(Line::from(tab_help(app.tab)));
            lines.push(Line::default());
            for (key, what) in tab_keys(app) {
                lines.push(Line::from(vec![
                    Span::styled(format!("{key:>8}"), theme.key()),
                    Span::raw(format!("  {what}")),
                ]));
            }
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                "1-9 or Tab switch tabs · r refreshes · ? help · q quits · Esc closes a window. Anything that moves \
                 money asks first; every change is a signed telegram journaled with your operator number.",
                theme.dim(),
            )));
            let rect = centered(area, area.width.saturating_sub(4), area.height);
            frame.render_widget(Clear, rect);
            let block = boxed(format!("Help: {}", app.tab.title()), theme);
            frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
        }
        Modal::Confirm { question, .. } => {
            let lines = vec![
                Line::from(question.clone()),
                Line::default(),
                Line::from(vec![
                    Span::styled("y", theme.key()),
                    Span::raw(" yes, send it   "),
                    Span::styled("n", theme.key()),
                    Span::raw(" no"),
                ]),
            ];
            let rect = centered(area, 64, 9);
            frame.render_widget(Clear, rect);
            frame.render_widget(
                Paragraph::new(lines).block(boxed("Confirm".to_owned(), theme)).wrap(Wrap { trim: false }),
                rect,
            );
        }
        Modal::Form { form, .. } => {
            let height = u16::try_from(form.fields.len() * 2 + 3).unwrap_or(u16::MAX);
            let rect = centered(area, 72, height);
            frame.render_widget(Clear, rect);
            let block = boxed(form_title(app).to_owned(), theme);
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            render_form(form, frame, inner, theme);
        }
        Modal::Text { title, text, scroll } => {
            let rect = centered(area, area.width.saturating_sub(2), area.height);
            frame.render_widget(Clear, rect);
            let paragraph = Paragraph::new(text.clone()).block(boxed(title.clone(), theme)).wrap(Wrap { trim: false });
            frame.render_widget(paragraph.scroll((*scroll, 0)), rect);
        }
        Modal::Entry { entry, text, scroll } => {
            let rect = centered(area, area.width.saturating_sub(2), area.height);
            frame.render_widget(Clear, rect);
            let text = text.clone().unwrap_or_else(|| "Asking the center for the entry…".to_owned());
            let block = boxed(format!("Journal entry {entry}"), theme);
            frame
                .render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: false }).scroll((*scroll, 0)), rect);
        }
    }
}

fn form_title(app: &App) -> &'static str {
    use super::app::FormKind;
    let Some(Modal::Form { kind, .. }) = &app.modal else { return "" };
    match kind {
        FormKind::ConfirmFunds { .. } => "Confirm a top-up",
        FormKind::RejectFunds { .. } => "Reject a top-up",
        FormKind::Freeze { freeze: true, .. } => "Freeze",
        FormKind::Freeze { freeze: false, .. } => "Unfreeze",
        FormKind::RefundBalance { .. } => "Refund the unused balance",
        FormKind::Export => "Export a transfer file",
        FormKind::Executed => "The bank executed a batch",
        FormKind::Backup => "Back up now",
        FormKind::VerifyBackup => "Verify a backup",
        FormKind::JournalFilter => "Filter the journal",
    }
}

fn render_form(form: &Form, frame: &mut Frame, area: Rect, theme: Theme) {
    let label_width = form.fields.iter().map(|field| field.label.chars().count()).max().unwrap_or(0) + 1;
    let value_width = usize::from(area.width).saturating_sub(label_width + 2).min(40);
    let mut lines = Vec::new();
    let mut cursor = None;
    for (index, field) in form.fields.iter().enumerate() {
        let focused = index == form.focus;
        let (value, column) = match &field.kind {
            FieldKind::Text(text) => {
                let (column, scroll) = text.cursor(value_width);
                (text.value().chars().skip(scroll).take(value_width).collect::<String>(), column)
            }
            FieldKind::Secret(secret) => ("•".repeat(secret.len().min(value_width)), secret.len().min(value_width)),
            FieldKind::Choice { options, selected } => (format!("< {} >", options[*selected]), 0),
        };
        let value_style = if focused { theme.selected() } else { Style::new().add_modifier(Modifier::UNDERLINED) };
        lines.push(Line::from(vec![
            Span::styled(format!("{:>label_width$} ", field.label), if focused { theme.key() } else { Style::new() }),
            Span::styled(format!("{value:<value_width$}"), value_style),
        ]));
        lines.push(Line::from(Span::styled(format!("{:label_width$} {}", "", field.hint), theme.dim())));
        if focused && !matches!(field.kind, FieldKind::Choice { .. }) {
            cursor = Some((label_width as u16 + 1 + column as u16, (index * 2) as u16));
        }
    }
    if let Some(error) = &form.error {
        lines.push(Line::from(Span::styled(error.clone(), theme.error())));
    }
    frame.render_widget(Paragraph::new(lines), area);
    if let Some((x, y)) = cursor
        && y < area.height
    {
        frame.set_cursor_position(Position::new(area.x + x.min(area.width.saturating_sub(1)), area.y + y));
    }
}

#[cfg(test)]
mod tests;
