//! The body of each screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use denbun_protocol::telegram::{Body, CardAnswer, EntryKind, GuideTopic, ItemKind, Telegram};

use super::{Theme, render_form, signing_marker};
use crate::terminal::app::member::{Cart, kind_word};
use crate::terminal::app::store::claimable;
use crate::terminal::app::{App, FormPurpose, Line, Mode, Screen, Step, Transfer};
use crate::terminal::model::{self, Record, short_date, yen};

fn block(title: impl Into<String>, theme: Theme) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(Span::styled(format!(" {} ", title.into()), theme.title()))
}

fn paragraph(lines: Vec<TextLine<'static>>, title: impl Into<String>, theme: Theme) -> Paragraph<'static> {
    Paragraph::new(lines).block(block(title, theme)).wrap(Wrap { trim: false })
}

/// What a table shows.
struct TableSpec<'a> {
    title: String,
    header: Vec<&'static str>,
    widths: Vec<Constraint>,
    rows: Vec<Vec<String>>,
    selected: Option<usize>,
    empty: &'a str,
}

/// A table of rows with the highlighted row kept in view.
fn table(frame: &mut Frame, area: Rect, spec: TableSpec<'_>, theme: Theme) {
    let TableSpec { title, header, widths, rows, selected, empty } = spec;
    if rows.is_empty() {
        frame.render_widget(
            paragraph(vec![TextLine::from(Span::styled(empty.to_owned(), theme.dim()))], title, theme),
            area,
        );
        return;
    }
    let visible = usize::from(area.height.saturating_sub(3)).max(1);
    let first = selected.map_or(0, |selected| selected.saturating_sub(visible - 1));
    // The columns as the table lays them out (inside the borders, one space
    // apart), so that a cell too long for its column is cut with an ellipsis
    // rather than silently: a cut number must not pass for a whole one.
    let columns = Layout::horizontal(widths.clone()).flex(Flex::Start).spacing(1).split(Rect::new(
        0,
        0,
        area.width.saturating_sub(2),
        1,
    ));
    let rows: Vec<Row> =
        rows.into_iter()
            .enumerate()
            .skip(first)
            .take(visible)
            .map(|(index, cells)| {
                let cells = cells.into_iter().enumerate().map(|(column, text)| {
                    Cell::from(fit(text, columns.get(column).map_or(u16::MAX, |rect| rect.width)))
                });
                let row = Row::new(cells.collect::<Vec<_>>());
                if Some(index) == selected { row.style(theme.selected()) } else { row }
            })
            .collect();
    let header =
        Row::new(header.into_iter().map(|name| Cell::from(Span::styled(name, theme.title()))).collect::<Vec<_>>());
    frame.render_widget(Table::new(rows, widths).header(header).block(block(title, theme)).column_spacing(1), area);
}

/// `text` cut to `width` columns, its last one an ellipsis when it was cut.
fn fit(text: String, width: u16) -> String {
    let width = usize::from(width);
    if text.width() <= width {
        return text;
    }
    let mut cut = String::new();
    let mut used = 0;
    for character in text.chars() {
        let columns = character.width().unwrap_or(0);
        if used + columns + 1 > width {
            break;
        }
        cut.push(character);
        used += columns;
    }
    if width > 0 {
        cut.push('…');
    }
    cut
}

/// The title of a form screen.
pub fn form_title(purpose: &FormPurpose) -> &'static str {
    match purpose {
        FormPurpose::TopUp => "Top up",
        FormPurpose::StatementRange => "Statement: which days",
        FormPurpose::EditItem(None) => "New item",
        FormPurpose::EditItem(Some(_)) => "Edit item",
        FormPurpose::Ship(_) => "Shipment",
        FormPurpose::Refund { .. } => "Refund",
        FormPurpose::DeliverFile { .. } => "Deliver: which file",
        FormPurpose::Import => "Import CSV",
        FormPurpose::Export => "Export CSV",
    }
}

/// What the screen is for, for the help overlay.
pub fn help_text(app: &App) -> &'static str {
    match &app.screen {
        Screen::Welcome => {
            "This terminal has no key file yet. Check the center's fingerprint against the one the center \
             publishes, then read the guide and the agreement and apply. The center posts you a letter with an \
             activation code; with it you register (r) and this terminal makes your keys and key file."
        }
        Screen::Reading { .. } => "The center's text. Read it to the end; accepting the agreement lets you apply.",
        Screen::Apply(_) => {
            "Your application: the center assigns your number at once and posts the activation code to the \
             address you give. Nothing secret is asked here."
        }
        Screen::Applied(_) => "Keep your number. When the letter arrives, register with it (Enter, or r later).",
        Screen::Register(_) => {
            "Registration makes your keys on this computer. Password A opens your key file and history; \
             password B is needed to sign (pay, top up). Choose two different passwords and remember both: \
             nobody can recover them. The seed phrase is optional extra randomness, never the only source."
        }
        Screen::Working(_) => "The key file is being derived and written, then the signed registration is sent.",
        Screen::Certificate(_) => "The center's signed certificate of your registration. It is kept in your history.",
        Screen::Unlock { .. } => {
            "Password A opens your key file: history and outbox work offline. Signed services ask for password B \
             when you first use them."
        }
        Screen::Home { .. } => {
            "The menu. Entries marked (B) sign telegrams and ask for password B the first time. g connects now; \
             the terminal also reconnects by itself when the line drops."
        }
        Screen::History { .. } => {
            "Every signed answer and notice you received, newest first. Status is where a purchase stands, or \
             whether the receipt's signature verified. Works offline with password A."
        }
        Screen::Outbox { .. } => {
            "Signed telegrams waiting for the center's answer. They are kept in your key file and sent at the next \
             connection with the same processing number, so the center applies each once."
        }
        Screen::Notices { .. } => "Notices from the center: cards issued, goods shipped or ready, refunds, payouts.",
        Screen::Balance => {
            "Your balance as your latest signed receipt tells it, your cards, and top-ups waiting for a transfer."
        }
        Screen::Form(form) => match form.purpose {
            FormPurpose::TopUp => {
                "A credit company top-up is issued at once when the credit is granted. Transfers and cash by \
                 registered mail give you a reference; the card is issued when the money arrives."
            }
            FormPurpose::StatementRange => "The center signs a statement of your account over these days.",
            FormPurpose::EditItem(_) => {
                "An item of your catalog draft. Digital items need the file that members download; the terminal \
                 computes its size and SHA-256 when you publish."
            }
            FormPurpose::Ship(_) => "The member gets a shipment notice with the carrier and tracking.",
            FormPurpose::Refund { .. } => "The amount goes back to the member's balance; never more than was paid.",
            FormPurpose::DeliverFile { .. } => {
                "The file is sealed to the member's key and uploaded through the center."
            }
            FormPurpose::Import | FormPurpose::Export => {
                "CSV columns: item_id,title,description,price_yen,kind,file (kind: mail-order, digital, service)."
            }
        },
        Screen::Stores { .. } => "The stores of this center. Open one to browse its catalog.",
        Screen::Catalog(_) => "The store's current catalog; prices are those of the version shown. / searches.",
        Screen::Item(_) => "One item. Add it to the cart; the cart holds goods of one store.",
        Screen::Cart { .. } => "Your cart. Checkout signs one payment instruction for the whole cart.",
        Screen::Checkout => {
            "Paying signs a payment instruction with password B and puts it in the outbox before sending: if \
             the line is down it waits there and is sent when the line is back."
        }
        Screen::Downloads { .. } => {
            "Digital goods ready for you. Downloading opens them with your key, checks size and SHA-256 against \
             the catalog, saves the file in your profile and sends the signed acknowledgement."
        }
        Screen::Statement(_) => "A statement of your account signed by the center.",
        Screen::Orders { .. } => "Orders the center paid you for. Open one to deliver, ship or refund it.",
        Screen::Order { .. } => {
            "d seals a digital item to the member and uploads it; s reports a mail-order shipment; r refunds \
             part or all of the order."
        }
        Screen::Draft { .. } => {
            "Your catalog draft (catalog.csv in your profile). Publishing makes it the next catalog version."
        }
        Screen::Claims { .. } => "Delivered or shipped orders you can claim payment for. The center pays out later.",
        Screen::Payouts { .. } => "Payouts to your bank account, from the center's signed notices.",
        Screen::Result { .. } => "What the center answered.",
    }
}

/// Draws the body of the screen.
pub fn render_body(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    match &app.screen {
        Screen::Welcome => welcome(app, frame, area, theme),
        Screen::Reading { topic, text, scroll } => {
            let title = match (topic, text) {
                (GuideTopic::Guide, Some(text)) => format!("Guide, version {}", text.version),
                (_, Some(text)) => format!("Agreement, version {}", text.version),
                (_, None) => "Connecting".to_owned(),
            };
            let body = match text {
                Some(text) => text.text.to_string(),
                None => "Fetching the text from the center…".to_owned(),
            };
            let mut lines: Vec<TextLine> = body.lines().map(|line| TextLine::from(line.to_owned())).collect();
            if text.is_some() && *topic != GuideTopic::Guide {
                lines.push(TextLine::default());
                lines.push(TextLine::from(Span::styled(
                    "Press a to accept this agreement and apply, l to leave without applying.",
                    theme.key(),
                )));
            }
            frame.render_widget(paragraph(lines, title, theme).scroll((*scroll, 0)), area);
        }
        Screen::Apply(apply) => {
            let inner = framed(frame, area, "Apply", theme);
            let [intro, form] = Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(inner);
            frame.render_widget(
                Paragraph::new(format!(
                    "You accept agreement version {}. Your number is assigned at once; the activation code is \
                     posted to your address.",
                    apply.agreement_version
                ))
                .wrap(Wrap { trim: false }),
                intro,
            );
            render_form(&apply.form, frame, form, theme);
        }
        Screen::Applied(applied) => {
            let lines = vec![
                TextLine::from(vec![
                    Span::raw("Your number:  "),
                    Span::styled(applied.number.to_string(), theme.title()),
                ]),
                TextLine::default(),
                TextLine::from(applied.message.clone()),
                TextLine::default(),
                TextLine::from(format!(
                    "The activation code comes by post and works until {} (UTC). When the letter arrives, \
                     register with your number and the code.",
                    applied.expires
                )),
                TextLine::default(),
                TextLine::from(Span::styled("Press Enter to register now if you have the letter.", theme.key())),
            ];
            frame.render_widget(paragraph(lines, "Application accepted", theme), area);
        }
        Screen::Register(wizard) => register(app, wizard, frame, area, theme),
        Screen::Working(wizard) => {
            let inner = framed(frame, area, format!("Registering {}", wizard.letter.text(0)), theme);
            let label = app.busy.as_ref().map_or("Finishing".to_owned(), |busy| busy.label.clone());
            let [text, gauge] = Layout::vertical([Constraint::Length(4), Constraint::Length(1)]).areas(inner);
            frame.render_widget(
                Paragraph::new(vec![
                    TextLine::from(format!("{label}…")),
                    TextLine::default(),
                    TextLine::from(Span::styled(
                        "Deriving each password's key takes about a second on purpose: it makes guessing slow.",
                        theme.dim(),
                    )),
                ])
                .wrap(Wrap { trim: false }),
                text,
            );
            if let Some((done, total)) = app.busy.as_ref().and_then(|busy| busy.progress) {
                let steps: String = (1..=total).map(|step| if step <= done { "■ " } else { "□ " }).collect();
                frame.render_widget(Paragraph::new(format!("{steps} step {done} of {total}")), gauge);
            }
        }
        Screen::Certificate(certificate) => {
            let center =
                app.center.as_ref().map_or(String::new(), |center| format!("{} ({})", center.name, center.fingerprint));
            let mut lines = vec![
                TextLine::from(vec![
                    Span::raw("Registered:        "),
                    Span::styled(certificate.party.to_string(), theme.title()),
                ]),
                TextLine::from(format!("Name:              {}", certificate.name)),
                TextLine::from(format!("Registered on:     {} (UTC)", certificate.registered_on)),
                TextLine::from(format!("Verification key:  {}…", certificate.verification_key)),
                TextLine::from(format!("Center:            {center}")),
                TextLine::default(),
            ];
            if certificate.matches_key_file {
                lines.push(TextLine::from(Span::styled(
                    "The center signed this certificate for the keys in your key file.",
                    theme.good(),
                )));
            } else {
                lines.push(TextLine::from(Span::styled(
                    "WARNING: the certificate does not name the keys in your key file. Do not use this \
                     registration; contact the center.",
                    theme.error(),
                )));
            }
            lines.push(TextLine::default());
            lines.push(TextLine::from(
                "Password A opens your history; signing needs password B as well. Keep a copy of your key file \
                 (denbun.key in your profile) somewhere safe.",
            ));
            frame.render_widget(paragraph(lines, "Registration certificate", theme), area);
        }
        Screen::Unlock { password } => {
            let key_file = app.profile.join(crate::cli::KEY_FILE_NAME);
            let mut lines = vec![
                TextLine::from(format!("Key file: {}", key_file.display())),
                TextLine::default(),
                TextLine::from(vec![
                    Span::raw("Password A: "),
                    Span::styled(format!("{:<24}", "•".repeat(password.len().min(24))), theme.selected()),
                ]),
                TextLine::default(),
                TextLine::from(Span::styled(
                    match app.mode {
                        Mode::Member => {
                            "Password A opens your history and outbox, offline. Signed services (paying, topping \
                             up) ask for password B when you first use them."
                        }
                        Mode::Store => {
                            "Password A opens your history and outbox, offline. Signed services (claims, \
                             statements, publishing a catalog, shipping, refunds) ask for password B when you \
                             first use them."
                        }
                    },
                    theme.dim(),
                )),
            ];
            if let Some(note) = &app.demo_note {
                lines.push(TextLine::default());
                lines.push(TextLine::from(Span::styled(note.clone(), theme.key())));
            }
            frame.render_widget(paragraph(lines, "Unlock your key file", theme), area);
            frame.set_cursor_position(Position::new(area.x + 13 + password.len().min(24) as u16, area.y + 3));
        }
        Screen::Home { selected } => home(app, *selected, frame, area, theme),
        Screen::History { selected, detail } => history(app, *selected, *detail, frame, area, theme),
        Screen::Outbox { selected } => {
            let rows = app.account.as_ref().map(|account| account.outbox.clone()).unwrap_or_default();
            let rows = rows
                .iter()
                .map(|row| {
                    vec![
                        row.processing_number.to_string(),
                        row.code.map_or("????".to_owned(), |code| code.to_string()),
                        row.what.clone(),
                        row.signed_on.map_or("?".to_owned(), short_date),
                    ]
                })
                .collect();
            let title = match app.line {
                Line::Connected | Line::SignedOn => "Outbox (the line is up: s sends now)".to_owned(),
                _ => "Outbox (sent when the line is up)".to_owned(),
            };
            table(
                frame,
                area,
                TableSpec {
                    title,
                    header: vec!["Number", "Code", "Telegram", "Signed"],
                    widths: vec![
                        Constraint::Length(8),
                        Constraint::Length(4),
                        Constraint::Fill(1),
                        Constraint::Length(8),
                    ],
                    rows,
                    selected: Some(*selected),
                    empty: "The outbox is empty: every signed telegram has its answer.",
                },
                theme,
            );
        }
        Screen::Notices { selected, detail } => notices(app, *selected, *detail, frame, area, theme),
        Screen::Balance => balance(app, frame, area, theme),
        Screen::Form(form) => {
            let inner = framed(frame, area, form_title(&form.purpose), theme);
            let intro = match &form.purpose {
                FormPurpose::TopUp => {
                    "Ask for a prepaid card. Enter on the last field signs the request with password B and sends it."
                        .to_owned()
                }
                FormPurpose::StatementRange => "The days the statement covers.".to_owned(),
                FormPurpose::EditItem(_) => "Saved to your draft; publish (p) to make it visible.".to_owned(),
                FormPurpose::Ship(number) => format!("Shipment of transaction {number}."),
                FormPurpose::Refund { transaction_number, total_yen } => {
                    format!("Refund of transaction {transaction_number}; it paid {}.", yen(*total_yen))
                }
                FormPurpose::DeliverFile { transaction_number, item_id } => {
                    format!("The file for item {item_id} of transaction {transaction_number}.")
                }
                FormPurpose::Import => "Replaces the draft with the file's items.".to_owned(),
                FormPurpose::Export => "Writes the draft as CSV.".to_owned(),
            };
            let [intro_area, form_area] = Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(inner);
            frame.render_widget(Paragraph::new(intro).wrap(Wrap { trim: false }), intro_area);
            render_form(&form.form, frame, form_area, theme);
        }
        Screen::Stores { selected, page } => {
            let (rows, page_count) = match &app.stores {
                Some(list) => (
                    list.stores
                        .iter()
                        .map(|store| {
                            vec![
                                store.store.to_string(),
                                store.trade_name.to_string(),
                                store.item_count.to_string(),
                                if store.catalog_version == 0 {
                                    "none".to_owned()
                                } else {
                                    store.catalog_version.to_string()
                                },
                            ]
                        })
                        .collect(),
                    list.page_count.max(1),
                ),
                None => (Vec::new(), 1),
            };
            let empty = if app.stores.is_some() { "No stores yet." } else { "Fetching the store list…" };
            table(
                frame,
                area,
                TableSpec {
                    title: format!("Stores, page {} of {page_count}", page + 1),
                    header: vec!["Store", "Trade name", "Items", "Version"],
                    widths: vec![
                        Constraint::Length(9),
                        Constraint::Fill(1),
                        Constraint::Length(5),
                        Constraint::Length(7),
                    ],
                    rows,
                    selected: Some(*selected),
                    empty,
                },
                theme,
            );
        }
        Screen::Catalog(catalog) => {
            let [search, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
            let search_text = catalog.search.value();
            let line = if catalog.searching {
                TextLine::from(vec![
                    Span::styled(" Search: ", theme.key()),
                    Span::styled(format!("{search_text:<40}"), theme.selected()),
                ])
            } else if search_text.is_empty() {
                TextLine::from(Span::styled(" All items (/ to search)", theme.dim()))
            } else {
                TextLine::from(format!(" Items matching \"{search_text}\" (/ to change)"))
            };
            frame.render_widget(Paragraph::new(line), search);
            if catalog.searching {
                let (column, _) = catalog.search.cursor(40);
                frame.set_cursor_position(Position::new(search.x + 9 + column as u16, search.y));
            }
            let (rows, page_count, version) = match &catalog.page {
                Some(page) => (
                    page.items
                        .iter()
                        .map(|item| {
                            vec![
                                item.item_id.to_string(),
                                item.title.to_string(),
                                kind_word(&item.kind).to_owned(),
                                yen(item.price.get()),
                            ]
                        })
                        .collect(),
                    page.page_count.max(1),
                    page.catalog_version,
                ),
                None => (Vec::new(), 1, 0),
            };
            let empty = if catalog.page.is_some() { "No items match." } else { "Fetching the catalog…" };
            table(
                frame,
                list,
                TableSpec {
                    title: format!(
                        "{}: version {version}, page {} of {page_count}",
                        catalog.trade_name,
                        catalog.page_number + 1
                    ),
                    header: vec!["Id", "Title", "Kind", "Price"],
                    widths: vec![
                        Constraint::Length(6),
                        Constraint::Fill(1),
                        Constraint::Length(10),
                        Constraint::Length(14),
                    ],
                    rows,
                    selected: Some(catalog.selected),
                    empty,
                },
                theme,
            );
        }
        Screen::Item(item) => {
            let mut lines = vec![
                TextLine::from(Span::styled(item.item.title.to_string(), theme.title())),
                TextLine::default(),
                TextLine::from(format!("Price:     {}", yen(item.item.price.get()))),
                TextLine::from(format!("Kind:      {}", kind_word(&item.item.kind))),
            ];
            if let ItemKind::Digital(content) = &item.item.kind {
                lines.push(TextLine::from(format!("Size:      {}", model::size(content.content_bytes.get()))));
                lines.push(TextLine::from(format!("SHA-256:   {}…", hex_prefix(&content.content_sha256, 16))));
            }
            lines.push(TextLine::from(format!(
                "Store:     {} ({}), catalog version {}",
                item.trade_name, item.store, item.catalog_version
            )));
            lines.push(TextLine::default());
            lines.push(TextLine::from(item.item.description.to_string()));
            lines.push(TextLine::default());
            lines.push(TextLine::from(vec![
                Span::raw("Quantity:  "),
                Span::styled(format!(" {} ", item.quantity), theme.selected()),
                Span::raw(format!(
                    "   subtotal {}",
                    yen(item.item.price.get().saturating_mul(u64::from(item.quantity)))
                )),
            ]));
            frame.render_widget(paragraph(lines, format!("Item {}", item.item.item_id), theme), area);
        }
        Screen::Cart { selected } => cart(app.cart.as_ref(), *selected, frame, area, theme),
        Screen::Checkout => checkout(app, frame, area, theme),
        Screen::Downloads { selected } => downloads(app, *selected, frame, area, theme),
        Screen::Statement(screen) => statement(screen, frame, area, theme),
        Screen::Orders { selected } => orders(app, *selected, frame, area, theme),
        Screen::Order { transaction_number, selected } => {
            order(app, *transaction_number, *selected, frame, area, theme)
        }
        Screen::Draft { selected } => {
            let rows = app
                .draft
                .iter()
                .map(|item| {
                    vec![
                        item.item_id.to_string(),
                        item.title.clone(),
                        item.kind.label().to_owned(),
                        item.price_text(),
                        item.file
                            .as_deref()
                            .and_then(|path| path.file_name())
                            .map(|name| name.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            table(
                frame,
                area,
                TableSpec {
                    title: format!("Catalog draft ({} items)", app.draft.len()),
                    header: vec!["Id", "Title", "Kind", "Price", "File"],
                    widths: vec![
                        Constraint::Length(5),
                        Constraint::Fill(1),
                        Constraint::Length(10),
                        Constraint::Length(13),
                        Constraint::Length(16),
                    ],
                    rows,
                    selected: Some(*selected),
                    empty: "The draft is empty: a adds an item, i imports a CSV file.",
                },
                theme,
            );
        }
        Screen::Claims { selected, chosen } => {
            let rows = claimable(app)
                .iter()
                .map(|row| {
                    let number = row.notice.transaction_number;
                    vec![
                        if chosen.contains(&number) { "[x]".to_owned() } else { "[ ]".to_owned() },
                        number.to_string(),
                        row.notice.member.to_string(),
                        yen(row.notice.total.get()),
                        row.state.word().to_owned(),
                    ]
                })
                .collect();
            table(
                frame,
                area,
                TableSpec {
                    title: format!("Orders you can claim ({} picked)", chosen.len()),
                    header: vec!["", "Transaction", "Member", "Total", "State"],
                    widths: vec![
                        Constraint::Length(3),
                        Constraint::Length(20),
                        Constraint::Length(9),
                        Constraint::Length(14),
                        Constraint::Fill(1),
                    ],
                    rows,
                    selected: Some(*selected),
                    empty: "No orders to claim: orders can be claimed once delivered or shipped.",
                },
                theme,
            );
        }
        Screen::Payouts { selected } => {
            let rows = app
                .account
                .as_ref()
                .map(|account| model::payouts(&account.records))
                .unwrap_or_default()
                .iter()
                .map(|payout| {
                    vec![
                        short_date(payout.executed_on),
                        payout.payout_number.to_string(),
                        payout.batch_number.to_string(),
                        yen(payout.amount.get()),
                        payout.claim_numbers.len().to_string(),
                    ]
                })
                .collect();
            table(
                frame,
                area,
                TableSpec {
                    title: "Payouts to your bank account".to_owned(),
                    header: vec!["Executed", "Payout", "Batch", "Amount", "Claims"],
                    widths: vec![
                        Constraint::Length(8),
                        Constraint::Length(8),
                        Constraint::Length(8),
                        Constraint::Length(16),
                        Constraint::Fill(1),
                    ],
                    rows,
                    selected: Some(*selected),
                    empty: "No payouts yet. Claim payment for delivered orders; the center pays out after approval.",
                },
                theme,
            );
        }
        Screen::Result { title, lines } => {
            let lines = lines.iter().map(|line| TextLine::from(line.clone())).collect();
            frame.render_widget(paragraph(lines, title.clone(), theme), area);
        }
    }
}

fn framed(frame: &mut Frame, area: Rect, title: impl Into<String>, theme: Theme) -> Rect {
    let block = block(title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

fn hex_prefix(bytes: &[u8], count: usize) -> String {
    bytes.iter().take(count / 2).map(|byte| format!("{byte:02x}")).collect()
}

fn welcome(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let mut lines = vec![
        TextLine::from(Span::styled(format!("Welcome to Denbun, {} terminal", app.mode.word()), theme.title())),
        TextLine::default(),
        TextLine::from(format!("There is no key file in {} yet.", app.profile.display())),
        TextLine::default(),
    ];
    match &app.center {
        Some(center) => {
            lines.push(TextLine::from("The center on your card (center.pub):"));
            lines.push(TextLine::from(format!("  Name         {}", center.name)));
            lines.push(TextLine::from(format!("  Address      {}", center.address)));
            lines.push(TextLine::from(vec![
                Span::raw("  Fingerprint  "),
                Span::styled(center.fingerprint.clone(), theme.key()),
            ]));
            lines.push(TextLine::from(Span::styled(
                "Compare the fingerprint with the one the center publishes before you go on.",
                theme.dim(),
            )));
        }
        None => lines.push(TextLine::from(Span::styled(
            "There is no center card: start again with --center FILE (the center.pub you were given).",
            theme.error(),
        ))),
    }
    lines.push(TextLine::default());
    let what = match app.mode {
        Mode::Member => "member agreement",
        Mode::Store => "store agreement",
    };
    lines.push(TextLine::from(vec![
        Span::styled("  Enter  ", theme.key()),
        Span::raw(format!("read the guide and the {what}, then apply")),
    ]));
    lines.push(TextLine::from(vec![
        Span::styled("  r      ", theme.key()),
        Span::raw("I have my letter with the activation code: register"),
    ]));
    frame.render_widget(paragraph(lines, "First run", theme), area);
}

fn register(app: &App, wizard: &crate::terminal::app::Wizard, frame: &mut Frame, area: Rect, theme: Theme) {
    let step = wizard.current();
    let inner = framed(frame, area, format!("{} ({} of {})", step.title(), wizard.step + 1, wizard.steps.len()), theme);
    let intro = match step {
        Step::Letter if wizard.resume => {
            "Your key file exists; the registration is sent again with it. Type the code from your letter."
        }
        Step::Letter => "Type your number and the activation code from the letter the center posted you.",
        Step::Details => "As in your application.",
        Step::PasswordA => "Password A opens your key file and your history, offline. At least 8 characters.",
        Step::PasswordB if wizard.resume => "Password B opens your signature key.",
        Step::PasswordB => "Password B is needed to sign (pay, top up). It must differ from password A.",
        Step::Seed => {
            "Optional: type any phrase (like a signature) to mix into the key's randomness, or press Enter \
             alone: the key is then made from the computer's random generator only."
        }
        Step::Confirm => "Check what you typed. Nothing has been written or sent yet.",
    };
    let [intro_area, body] = Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(intro).wrap(Wrap { trim: false }), intro_area);
    match wizard.form() {
        Some(form) => {
            let [form_area, warning] = Layout::vertical([Constraint::Min(1), Constraint::Length(4)]).areas(body);
            render_form(form, frame, form_area, theme);
            let same = step == Step::PasswordB
                && !wizard.resume
                && matches!((wizard.password_a.secret(0), wizard.password_b.secret(0)), (Some(a), Some(b)) if !b.is_empty() && a.same_as(b));
            let text = match (&wizard.error, same) {
                (Some(error), _) => Some(error.clone()),
                (None, true) => Some("Password B is the same as password A: choose another one.".to_owned()),
                _ => None,
            };
            if let Some(text) = text {
                frame.render_widget(
                    Paragraph::new(Span::styled(text, theme.error())).wrap(Wrap { trim: false }),
                    warning,
                );
            }
        }
        None => {
            let number = wizard.letter.text(0).to_owned();
            let mut lines = vec![TextLine::from(format!("Number:         {number}"))];
            match wizard.details() {
                Ok((personal, store)) => {
                    lines.push(TextLine::from(format!("Name:           {}", personal.name)));
                    lines.push(TextLine::from(format!("Address:        {}", personal.address)));
                    lines.push(TextLine::from(format!("Date of birth:  {}", personal.date_of_birth)));
                    if let Some(store) = store {
                        lines.push(TextLine::from(format!("Trade name:     {}", store.trade_name)));
                        let account = &store.payout_account;
                        lines.push(TextLine::from(format!(
                            "Payout account: {}-{} {} {}",
                            account.bank_code.as_str(),
                            account.branch_code.as_str(),
                            account.account_number.as_str(),
                            account.holder_name
                        )));
                    }
                }
                Err((_, error)) => lines.push(TextLine::from(Span::styled(error, theme.error()))),
            }
            if !wizard.resume {
                let seed = wizard.seed.secret(0).is_some_and(|seed| !seed.is_empty());
                lines.push(TextLine::from(format!(
                    "Key:            new, from the random generator{}",
                    if seed { " and your seed phrase" } else { "" }
                )));
                lines.push(TextLine::from(format!(
                    "Key file:       {}",
                    app.profile.join(crate::cli::KEY_FILE_NAME).display()
                )));
            }
            lines.push(TextLine::default());
            let enter = if wizard.resume {
                "Enter sends the registration again, signed with the key in your key file."
            } else {
                "Enter makes the key file and sends the registration signed with your new key."
            };
            lines.push(TextLine::from(Span::styled(enter, theme.key())));
            if let Some(error) = &wizard.error {
                lines.push(TextLine::default());
                lines.push(TextLine::from(Span::styled(error.clone(), theme.error())));
            }
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
        }
    }
}

fn home(app: &App, selected: usize, frame: &mut Frame, area: Rect, theme: Theme) {
    let [menu_area, summary_area] = Layout::horizontal([Constraint::Length(34), Constraint::Min(20)]).areas(area);
    let lines: Vec<TextLine> = app
        .menu()
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let marker = if signing_marker(app, item.target) { " (B)" } else { "" };
            let text = format!(" {}  {}{marker}", item.key, item.label);
            let style = if index == selected { theme.selected() } else { Style::new() };
            TextLine::from(Span::styled(format!("{text:<32}"), style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block("Menu", theme)), menu_area);
    let mut summary = Vec::new();
    if let Some(account) = &app.account {
        summary.push(TextLine::from(Span::styled(format!("{} {}", account.party, account.name), theme.title())));
        summary.push(TextLine::default());
        if app.mode == Mode::Member {
            match model::balance(&account.records) {
                Some((balance, date)) => {
                    summary.push(TextLine::from(format!("Balance   {}", yen(balance.get()))));
                    summary.push(TextLine::from(Span::styled(
                        format!("          as of {}", short_date(date)),
                        theme.dim(),
                    )));
                }
                None => summary.push(TextLine::from("Balance   no card yet: top up (t)")),
            }
            if let Some(cart) = &app.cart {
                summary.push(TextLine::from(format!("Cart      {} item(s) of {}", cart.lines.len(), cart.trade_name)));
            }
        } else {
            let orders = model::orders(&account.records);
            let open = orders.iter().filter(|row| row.state == model::PurchaseState::Paid).count();
            summary.push(TextLine::from(format!("Orders    {} ({open} to fulfil)", orders.len())));
            summary.push(TextLine::from(format!("Draft     {} item(s)", app.draft.len())));
        }
        summary.push(TextLine::from(format!("Outbox    {} waiting", account.outbox.len())));
        summary.push(TextLine::from(format!("Notices   {} new", app.unread)));
        summary.push(TextLine::default());
        let line = match &app.line {
            Line::Offline if app.signing => "Offline. g connects.".to_owned(),
            Line::Offline => {
                "Offline: history and outbox work with password A. Entries marked (B) ask for password B.".to_owned()
            }
            Line::Connecting => "Connecting…".to_owned(),
            Line::Connected => "Connected (not signed on): the outbox is sent.".to_owned(),
            Line::SignedOn => "Signed on: notices arrive as they come.".to_owned(),
            Line::Down(why) => format!("The line is down ({why}). The terminal tries again; g tries now."),
        };
        summary.push(TextLine::from(Span::styled(line, theme.dim())));
    }
    frame.render_widget(paragraph(summary, "Account", theme), summary_area);
}

fn history(app: &App, selected: usize, detail: bool, frame: &mut Frame, area: Rect, theme: Theme) {
    let records: &[Record] = app.account.as_ref().map_or(&[], |account| &account.records);
    let newest_first: Vec<&Record> = records.iter().rev().collect();
    if detail && let Some(record) = newest_first.get(selected) {
        frame.render_widget(paragraph(record_lines(record, theme), "Receipt", theme), area);
        return;
    }
    let rows = newest_first
        .iter()
        .map(|record| {
            vec![
                short_date(record.date),
                party_name(app, &record.party),
                record.goods.clone(),
                amount(record),
                model::receipt_status(records, record).to_owned(),
            ]
        })
        .collect();
    table(
        frame,
        area,
        TableSpec {
            title: format!("History ({} entries, newest first)", records.len()),
            header: vec!["Date", "Store", "Goods", "Amount", "Status"],
            widths: vec![
                Constraint::Length(8),
                Constraint::Length(13),
                Constraint::Fill(1),
                Constraint::Length(11),
                Constraint::Length(12),
            ],
            rows,
            selected: Some(selected),
            empty: "No history yet: your receipts appear here.",
        },
        theme,
    );
}

/// A store's trade name when the store list is known, else what the history says.
fn party_name(app: &App, party: &str) -> String {
    app.stores
        .as_ref()
        .and_then(|list| list.stores.iter().find(|summary| summary.store.to_string() == party))
        .map_or_else(|| party.to_owned(), |summary| summary.trade_name.to_string())
}

/// A record's amount, blank when it moved no money.
fn amount(record: &Record) -> String {
    if record.amount.get() == 0 { String::new() } else { yen(record.amount.get()) }
}

fn record_lines(record: &Record, theme: Theme) -> Vec<TextLine<'static>> {
    let mut lines = vec![
        TextLine::from(format!("Date:      {}", record.date)),
        TextLine::from(format!("Party:     {}", record.party)),
        TextLine::from(format!("What:      {}", record.goods)),
    ];
    if record.amount.get() > 0 {
        lines.push(TextLine::from(format!("Amount:    {}", yen(record.amount.get()))));
    }
    match &record.receipt {
        Some(telegram) => {
            lines.push(TextLine::from(format!(
                "Telegram:  {} {} (processing number {})",
                telegram.code(),
                telegram.code().name(),
                telegram.header().processing_number()
            )));
            lines.push(TextLine::from(Span::styled("Signature: verified with the center's key", theme.good())));
            lines.push(TextLine::default());
            lines.extend(body_lines(telegram).into_iter().map(TextLine::from));
        }
        None => lines.push(TextLine::from(Span::styled(
            "Signature: NOT VERIFIED: this receipt does not carry a valid signature of your center.",
            theme.error(),
        ))),
    }
    lines
}

/// A receipt's content in a few lines.
pub fn body_lines(telegram: &Telegram) -> Vec<String> {
    match telegram.body() {
        Body::RegistrationCertificate(certificate) => vec![
            format!("Registered {} ({})", certificate.party, certificate.name),
            format!("on {} (UTC)", crate::terminal::app::date_of_unix_ms_text(certificate.registered_at_ms)),
        ],
        Body::CardAnswer(CardAnswer::Issued(issued)) => vec![
            format!("Card {} issued: {}", issued.card.card_number, yen(issued.card.face_value.get())),
            format!("Balance after: {}", yen(issued.balance.get())),
        ],
        Body::CardAnswer(CardAnswer::Pending(pending)) => vec![
            format!("Waiting for {} with reference {}", yen(pending.amount.get()), pending.reference),
            pending.instructions.to_string(),
        ],
        Body::CardIssueNotice(notice) => vec![
            format!("Card {} issued: {}", notice.card.card_number, yen(notice.card.face_value.get())),
            format!("Channel: {}", model::channel_name(notice.channel)),
            format!("Balance after: {}", yen(notice.balance.get())),
        ],
        Body::PaymentAnswer(paid) => vec![
            format!("Transaction {} paid: {}", paid.transaction_number, yen(paid.total.get())),
            format!("Balance after: {}", yen(paid.balance.get())),
        ],
        Body::PaymentNotice(paid) => {
            let mut lines = vec![
                format!("Transaction {} from {}: {}", paid.transaction_number, paid.member, yen(paid.total.get())),
                format!("Catalog version {}", paid.catalog_version),
            ];
            lines.extend(
                paid.lines.iter().map(|line| {
                    format!("  item {} × {} at {}", line.item_id, line.quantity, yen(line.unit_price.get()))
                }),
            );
            lines
        }
        Body::DeliveryReadyNotice(ready) => vec![
            format!("Item {} of transaction {} is ready to download", ready.item_id, ready.transaction_number),
            format!("From {}, {}", ready.store, model::size(ready.content_bytes.get())),
        ],
        Body::DeliveryReceipt(receipt) => vec![
            format!("Item {} of transaction {} delivered", receipt.item_id, receipt.transaction_number),
            format!("SHA-256 {}…", hex_prefix(&receipt.content_sha256, 16)),
        ],
        Body::ShipmentNotice(shipped) => vec![
            format!("Transaction {} shipped by {}", shipped.transaction_number, shipped.store),
            format!("Carrier {}, tracking {}", shipped.carrier, shipped.tracking),
        ],
        Body::RefundNotice(refund) => vec![
            format!(
                "Refund of {} on transaction {} by {}",
                yen(refund.amount.get()),
                refund.transaction_number,
                refund.store
            ),
            format!("Reason: {}", refund.reason),
            format!("Balance after: {}", yen(refund.balance.get())),
        ],
        Body::PayoutNotice(payout) => vec![
            format!("Payout {} (batch {}): {}", payout.payout_number, payout.batch_number, yen(payout.amount.get())),
            format!("Executed on {}", payout.executed_on),
        ],
        other => vec![format!("{other:?}")],
    }
}

fn notices(app: &App, selected: usize, detail: bool, frame: &mut Frame, area: Rect, theme: Theme) {
    let records: &[Record] = app.account.as_ref().map_or(&[], |account| &account.records);
    let indices = model::notices(records);
    if detail && let Some(record) = indices.get(selected).map(|&index| &records[index]) {
        frame.render_widget(paragraph(record_lines(record, theme), "Notice", theme), area);
        return;
    }
    let rows = indices
        .iter()
        .map(|&index| {
            let record = &records[index];
            vec![short_date(record.date), party_name(app, &record.party), record.goods.clone(), amount(record)]
        })
        .collect();
    table(
        frame,
        area,
        TableSpec {
            title: "Notices from the center, newest first".to_owned(),
            header: vec!["Date", "From", "What", "Amount"],
            widths: vec![Constraint::Length(8), Constraint::Length(13), Constraint::Fill(1), Constraint::Length(11)],
            rows,
            selected: Some(selected),
            empty: "No notices yet.",
        },
        theme,
    );
}

fn balance(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let records: &[Record] = app.account.as_ref().map_or(&[], |account| &account.records);
    let [top, cards_area, pending_area] =
        Layout::vertical([Constraint::Length(4), Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
    let headline = match model::balance(records) {
        Some((balance, date)) => vec![
            TextLine::from(vec![Span::raw("Balance: "), Span::styled(yen(balance.get()), theme.title())]),
            TextLine::from(Span::styled(
                format!("as your latest signed receipt tells it ({})", short_date(date)),
                theme.dim(),
            )),
        ],
        None => vec![TextLine::from("No balance yet: top up (t) to get your first prepaid card.")],
    };
    frame.render_widget(paragraph(headline, "Balance", theme), top);
    let cards = model::cards(records)
        .iter()
        .map(|card| {
            vec![
                card.card_number.to_string(),
                short_date(card.issued_on),
                card.channel.map_or("".to_owned(), |channel| model::channel_name(channel).to_owned()),
                yen(card.face_value_yen),
            ]
        })
        .collect();
    table(
        frame,
        cards_area,
        TableSpec {
            title: "Cards".to_owned(),
            header: vec!["Card", "Issued", "Channel", "Face value"],
            widths: vec![Constraint::Length(12), Constraint::Length(8), Constraint::Fill(1), Constraint::Length(14)],
            rows: cards,
            selected: None,
            empty: "No cards yet.",
        },
        theme,
    );
    // Each with its transfer instructions whole, wrapped: the member copies
    // the bank, the account and the reference from them.
    let pending = model::pending_top_ups(records);
    let lines: Vec<TextLine<'static>> = if pending.is_empty() {
        vec![TextLine::from(Span::styled("None waiting.", theme.dim()))]
    } else {
        pending
            .iter()
            .flat_map(|pending| {
                [
                    TextLine::from(Span::styled(
                        format!(
                            "Asked {}, reference {}, {}",
                            short_date(pending.asked_on),
                            pending.reference,
                            yen(pending.amount_yen)
                        ),
                        theme.title(),
                    )),
                    TextLine::from(pending.instructions.to_string()),
                ]
            })
            .collect()
    };
    frame.render_widget(paragraph(lines, "Top-ups waiting for your transfer", theme), pending_area);
}

fn cart(cart: Option<&Cart>, selected: usize, frame: &mut Frame, area: Rect, theme: Theme) {
    let Some(cart) = cart else {
        frame.render_widget(
            paragraph(vec![TextLine::from("The cart is empty. Open a store (s) and add goods (a).")], "Cart", theme),
            area,
        );
        return;
    };
    let [list, total] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let rows = cart
        .lines
        .iter()
        .map(|line| {
            vec![
                line.title.clone(),
                line.kind.to_owned(),
                line.quantity.to_string(),
                yen(line.unit_price_yen),
                yen(line.unit_price_yen.saturating_mul(u64::from(line.quantity))),
            ]
        })
        .collect();
    table(
        frame,
        list,
        TableSpec {
            title: format!("Cart: {} ({}), catalog version {}", cart.trade_name, cart.store, cart.catalog_version),
            header: vec!["Goods", "Kind", "Qty", "Price", "Subtotal"],
            widths: vec![
                Constraint::Fill(1),
                Constraint::Length(10),
                Constraint::Length(3),
                Constraint::Length(12),
                Constraint::Length(13),
            ],
            rows,
            selected: Some(selected),
            empty: "The cart is empty.",
        },
        theme,
    );
    let total_text = cart.total().map_or("over the limit".to_owned(), |total| yen(total.get()));
    frame.render_widget(Paragraph::new(Span::styled(format!(" Total {total_text}"), theme.title())), total);
}

fn checkout(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let Some(cart) = &app.cart else {
        frame.render_widget(paragraph(vec![TextLine::from("The cart is empty.")], "Checkout", theme), area);
        return;
    };
    let total = cart.total().map_or(0, |total| total.get());
    let mut lines = vec![
        TextLine::from(format!("Pay {} to {} ({})", yen(total), cart.trade_name, cart.store)),
        TextLine::default(),
    ];
    for line in &cart.lines {
        lines.push(TextLine::from(format!("  {} × {}  {}", line.quantity, line.title, yen(line.unit_price_yen))));
    }
    lines.push(TextLine::default());
    if let Some(account) = &app.account {
        match model::balance(&account.records) {
            Some((balance, _)) if balance.get() < total => lines.push(TextLine::from(Span::styled(
                format!(
                    "Your last known balance is {}: the center will refuse this payment. Top up first.",
                    yen(balance.get())
                ),
                theme.error(),
            ))),
            Some((balance, _)) => lines.push(TextLine::from(format!(
                "Balance now {}, after paying {}.",
                yen(balance.get()),
                yen(balance.get() - total)
            ))),
            None => lines.push(TextLine::from("Your balance is not known yet.")),
        }
    }
    let line_note = match app.line {
        Line::SignedOn | Line::Connected => "The line is up: the payment is sent at once.",
        _ => "The line is down: the signed payment waits in the outbox and is sent when the line is back.",
    };
    lines.push(TextLine::from(Span::styled(line_note, theme.dim())));
    lines.push(TextLine::default());
    lines.push(TextLine::from(vec![
        Span::styled("y", theme.key()),
        Span::raw(" signs the payment instruction with password B and sends it; "),
        Span::styled("n", theme.key()),
        Span::raw(" goes back."),
    ]));
    frame.render_widget(paragraph(lines, "Checkout", theme), area);
}

fn downloads(app: &App, selected: usize, frame: &mut Frame, area: Rect, theme: Theme) {
    let rows = app.account.as_ref().map(|account| model::downloads(&account.records)).unwrap_or_default();
    let rows = rows
        .iter()
        .map(|row| {
            let key = (row.ready.transaction_number, row.ready.item_id);
            let state = match (app.transfers.get(&key), row.delivered) {
                (_, true) => "delivered".to_owned(),
                (Some(Transfer::Moving { done, total }), _) => {
                    format!("{}%", done.saturating_mul(100) / (*total).max(1))
                }
                (Some(Transfer::Finished { .. }), _) => "saved".to_owned(),
                (Some(Transfer::Failed(_)), _) => "failed: retry".to_owned(),
                (None, false) => "ready".to_owned(),
            };
            vec![
                short_date(row.ready_on),
                row.ready.transaction_number.to_string(),
                row.ready.item_id.to_string(),
                row.ready.store.to_string(),
                model::size(row.ready.content_bytes.get()),
                state,
            ]
        })
        .collect();
    table(
        frame,
        area,
        TableSpec {
            title: format!("Downloads (saved in {})", app.profile.join("downloads").display()),
            header: vec!["Ready", "Transaction", "Item", "From", "Size", "State"],
            widths: vec![
                Constraint::Length(8),
                Constraint::Length(20),
                Constraint::Length(5),
                Constraint::Length(9),
                Constraint::Length(10),
                Constraint::Fill(1),
            ],
            rows,
            selected: Some(selected),
            empty: "Nothing to download: digital goods appear here when the store delivers them.",
        },
        theme,
    );
}

fn statement(screen: &crate::terminal::app::StatementScreen, frame: &mut Frame, area: Rect, theme: Theme) {
    let range = screen.request.range;
    let Some(statement) = &screen.statement else {
        frame.render_widget(
            paragraph(
                vec![TextLine::from("Asking the center for the signed statement…")],
                format!("Statement {} to {}", range.from(), range.to()),
                theme,
            ),
            area,
        );
        return;
    };
    let [head, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    frame.render_widget(
        Paragraph::new(format!(
            " Opening {}   closing {}   page {} of {}",
            yen(statement.opening_balance.get()),
            yen(statement.closing_balance.get()),
            statement.page + 1,
            statement.page_count.max(1)
        )),
        head,
    );
    let rows = statement
        .lines
        .iter()
        .map(|line| {
            let kind = match line.kind {
                EntryKind::CardIssued => "card",
                EntryKind::Payment => "payment",
                EntryKind::Sale => "sale",
                EntryKind::Refund => "refund",
                EntryKind::Payout => "payout",
                EntryKind::BalanceRefund => "bal. refund",
            };
            vec![
                short_date(line.date),
                kind.to_owned(),
                line.counterparty.to_string(),
                yen(line.amount.get()),
                line.description.to_string(),
            ]
        })
        .collect();
    table(
        frame,
        list,
        TableSpec {
            title: format!("Statement {} to {}", range.from(), range.to()),
            header: vec!["Date", "Kind", "With", "Amount", "Description"],
            widths: vec![
                Constraint::Length(8),
                Constraint::Length(11),
                Constraint::Length(9),
                Constraint::Length(13),
                Constraint::Fill(1),
            ],
            rows,
            selected: Some(screen.scroll),
            empty: "No entries over these days.",
        },
        theme,
    );
}

fn orders(app: &App, selected: usize, frame: &mut Frame, area: Rect, theme: Theme) {
    let rows = app
        .account
        .as_ref()
        .map(|account| model::orders(&account.records))
        .unwrap_or_default()
        .iter()
        .map(|row| {
            vec![
                short_date(row.paid_on),
                row.notice.transaction_number.to_string(),
                row.notice.member.to_string(),
                row.lines().len().to_string(),
                yen(row.notice.total.get()),
                row.state.word().to_owned(),
            ]
        })
        .collect();
    table(
        frame,
        area,
        TableSpec {
            title: "Orders paid to you, newest first".to_owned(),
            header: vec!["Paid", "Transaction", "Member", "Lines", "Total", "State"],
            widths: vec![
                Constraint::Length(8),
                Constraint::Length(20),
                Constraint::Length(9),
                Constraint::Length(5),
                Constraint::Length(13),
                Constraint::Fill(1),
            ],
            rows,
            selected: Some(selected),
            empty: "No orders yet: payment notices appear here when members pay you.",
        },
        theme,
    );
}

fn order(app: &App, transaction_number: u64, selected: usize, frame: &mut Frame, area: Rect, theme: Theme) {
    let Some(row) = app.account.as_ref().and_then(|account| {
        model::orders(&account.records).into_iter().find(|row| row.notice.transaction_number == transaction_number)
    }) else {
        return;
    };
    let [head, list] = Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
    frame.render_widget(
        Paragraph::new(vec![
            TextLine::from(format!(
                " Paid {} by {} on {}: {}",
                yen(row.notice.total.get()),
                row.notice.member,
                short_date(row.paid_on),
                row.state.word()
            )),
            TextLine::from(Span::styled(
                format!(
                    " Catalog version {}. Claimed: {}",
                    row.notice.catalog_version,
                    if app.claimed.contains(&transaction_number) { "yes" } else { "no" }
                ),
                theme.dim(),
            )),
        ]),
        head,
    );
    let rows = row
        .lines()
        .iter()
        .map(|line| {
            let draft = app.draft.iter().find(|item| item.item_id == line.item_id);
            vec![
                line.item_id.to_string(),
                draft.map_or("(not in your draft)".to_owned(), |item| item.title.clone()),
                draft.map_or("".to_owned(), |item| item.kind.label().to_owned()),
                line.quantity.to_string(),
                yen(line.unit_price.get()),
                match app.transfers.get(&(transaction_number, line.item_id)) {
                    Some(Transfer::Moving { done, total }) => {
                        format!("{}%", done.saturating_mul(100) / (*total).max(1))
                    }
                    Some(Transfer::Finished { .. }) => "uploaded".to_owned(),
                    Some(Transfer::Failed(_)) => "failed".to_owned(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    table(
        frame,
        list,
        TableSpec {
            title: "Lines".to_owned(),
            header: vec!["Item", "Title", "Kind", "Qty", "Price", "Upload"],
            widths: vec![
                Constraint::Length(5),
                Constraint::Fill(1),
                Constraint::Length(10),
                Constraint::Length(3),
                Constraint::Length(12),
                Constraint::Length(8),
            ],
            rows,
            selected: Some(selected),
            empty: "No lines.",
        },
        theme,
    );
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn a_cell_that_fits_is_kept_and_one_that_does_not_ends_in_an_ellipsis() {
        assert_eq!(fit("transaction 42".to_owned(), 14), "transaction 42");
        assert_eq!(fit("transaction 4242".to_owned(), 14), "transaction 4…");
        assert_eq!(fit("abc".to_owned(), 0), "");
        assert_eq!(fit("abc".to_owned(), 1), "…");
    }

    #[test]
    fn wide_characters_count_two_columns() {
        // 宇治茶 is six columns wide: four columns hold one character and the ellipsis.
        assert_eq!(fit("宇治茶".to_owned(), 6), "宇治茶");
        assert_eq!(fit("宇治茶".to_owned(), 4), "宇…");
        assert_eq!(fit("宇治茶".to_owned(), 5), "宇治…");
    }
}
