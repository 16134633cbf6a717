//! The store clerk's screens: orders and their fulfilment (delivery,
//! shipment, refund), the catalog draft and its publication, payment claims
//! and payouts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};
use denbun_protocol::limits::{
    CARRIER_BYTES_MAX, ITEM_DESCRIPTION_BYTES_MAX, ITEM_TITLE_BYTES_MAX, MESSAGE_BYTES_MAX, TRACKING_BYTES_MAX,
};
use denbun_protocol::wire::Amount;

use super::member::parse_yen;
use super::{App, Busy, ConfirmAction, Effect, FormPurpose, FormScreen, Overlay, Screen, Target, move_selection, open};
use crate::catalog_file::{DRAFT_FILE_NAME, DraftItem, DraftKind};
use crate::money::notices::{GoodsKind, claimable as claimable_purchases};
use crate::terminal::field::{Field, Form, SecretField};
use crate::terminal::model;

/// The orders a claim may cover: delivered or shipped, not refunded in full,
/// not claimed in this session.
pub fn claimable(app: &App) -> Vec<model::OrderRow> {
    let Some(account) = &app.account else { return Vec::new() };
    // The center's rules, as the library applies them for the CLI: services
    // are delivered when paid, every digital item must be acknowledged, mail
    // order shipped, and a purchase refunded in full is not claimable. The
    // kinds come from the store's catalog draft.
    let receipts: Vec<_> = account.records.iter().filter_map(|record| record.receipt.clone()).collect();
    let kinds: BTreeMap<u32, GoodsKind> = app
        .draft
        .iter()
        .map(|item| {
            let kind = match item.kind {
                DraftKind::MailOrder => GoodsKind::MailOrder,
                DraftKind::Digital => GoodsKind::Digital,
                DraftKind::Service => GoodsKind::Service,
            };
            (item.item_id, kind)
        })
        .collect();
    let ready: BTreeSet<u64> = claimable_purchases(&receipts, &kinds, &app.claimed).ready.into_iter().collect();
    model::orders(&account.records).into_iter().filter(|row| ready.contains(&row.notice.transaction_number)).collect()
}

fn order(app: &App, transaction_number: u64) -> Option<model::OrderRow> {
    let account = app.account.as_ref()?;
    model::orders(&account.records).into_iter().find(|row| row.notice.transaction_number == transaction_number)
}

fn item_form(item: Option<&DraftItem>, next_id: u32) -> Form {
    let kind = item.map_or(0, |item| DraftKind::ALL.iter().position(|kind| *kind == item.kind).unwrap_or(0));
    let file = item.and_then(|item| item.file.as_deref()).map(|path| path.display().to_string()).unwrap_or_default();
    Form::new(vec![
        Field::text(
            "Item id",
            "a number, unique in your catalog",
            10,
            &item.map_or(next_id, |item| item.item_id).to_string(),
        ),
        Field::text("Title", "short", ITEM_TITLE_BYTES_MAX, item.map_or("", |item| &item.title)),
        Field::text("Description", "one line", ITEM_DESCRIPTION_BYTES_MAX, item.map_or("", |item| &item.description)),
        Field::text("Price", "yen", 16, &item.map(|item| item.price_yen.to_string()).unwrap_or_default()),
        Field::choice("Kind", "←/→ to change", &DraftKind::LABELS, kind),
        Field::text("File", "digital items: path of the content", 1_024, &file),
    ])
}

fn needs_signing(app: &mut App) -> bool {
    if app.signing {
        return false;
    }
    app.overlay = Some(Overlay::PasswordB { field: SecretField::default(), then: None, error: None });
    app.info("This signs a telegram: type password B first, then press the key again.");
    true
}

/// Keys on the store's screens.
pub(super) fn key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let records_orders = app.account.as_ref().map(|account| model::orders(&account.records)).unwrap_or_default();
    let claimable_rows = if matches!(app.screen, Screen::Claims { .. }) { claimable(app) } else { Vec::new() };
    match &mut app.screen {
        Screen::Orders { selected } => match key.code {
            KeyCode::Esc => app.back(),
            KeyCode::Enter => {
                if let Some(row) = records_orders.get(*selected) {
                    let transaction_number = row.notice.transaction_number;
                    app.go(Screen::Order { transaction_number, selected: 0 });
                }
            }
            KeyCode::Char('c') => return open(app, Target::Claims),
            _ => {
                move_selection(selected, records_orders.len(), &key);
            }
        },
        Screen::Order { transaction_number, .. } => {
            let transaction_number = *transaction_number;
            let Some(row) = order(app, transaction_number) else {
                app.back();
                return Vec::new();
            };
            let Screen::Order { selected, .. } = &mut app.screen else { return Vec::new() };
            let line = row.lines().get(*selected).cloned();
            match key.code {
                KeyCode::Esc => app.back(),
                KeyCode::Char('d') => {
                    let Some(line) = line else { return Vec::new() };
                    if needs_signing(app) {
                        return Vec::new();
                    }
                    let draft = app.draft.iter().find(|item| item.item_id == line.item_id);
                    match draft {
                        Some(DraftItem { kind: DraftKind::Digital, file: Some(file), .. }) => {
                            let file = file.clone();
                            app.busy = Some(Busy { label: "Sealing and uploading".to_owned(), progress: None });
                            return vec![Effect::Deliver {
                                notice: Box::new(row.notice.clone()),
                                item_id: line.item_id,
                                file,
                            }];
                        }
                        Some(item) if item.kind != DraftKind::Digital => {
                            app.error(format!(
                                "Item {} is {}, not digital: report its shipment (s) instead.",
                                line.item_id,
                                item.kind.label()
                            ));
                        }
                        _ => app.go(Screen::Form(Box::new(FormScreen {
                            purpose: FormPurpose::DeliverFile { transaction_number, item_id: line.item_id },
                            form: Form::new(vec![Field::text("File", "path of the item's content", 1_024, "")]),
                        }))),
                    }
                }
                KeyCode::Char('s') => {
                    if needs_signing(app) {
                        return Vec::new();
                    }
                    app.go(Screen::Form(Box::new(FormScreen {
                        purpose: FormPurpose::Ship(transaction_number),
                        form: Form::new(vec![
                            Field::text("Carrier", "e.g. Yamato Transport", CARRIER_BYTES_MAX, ""),
                            Field::text("Tracking", "number or text", TRACKING_BYTES_MAX, ""),
                        ]),
                    })));
                }
                KeyCode::Char('r') => {
                    if needs_signing(app) {
                        return Vec::new();
                    }
                    let total_yen = row.notice.total.get();
                    app.go(Screen::Form(Box::new(FormScreen {
                        purpose: FormPurpose::Refund { transaction_number, total_yen },
                        form: Form::new(vec![
                            Field::text("Amount", "yen, at most what was paid", 16, &total_yen.to_string()),
                            Field::text("Reason", "the member reads it", MESSAGE_BYTES_MAX, ""),
                        ]),
                    })));
                }
                _ => {
                    move_selection(selected, row.lines().len(), &key);
                }
            }
        }
        Screen::Draft { selected } => {
            let count = app.draft.len();
            let index = *selected;
            match key.code {
                KeyCode::Esc => app.back(),
                KeyCode::Char('a') => {
                    let next_id = app.draft.iter().map(|item| item.item_id).max().unwrap_or(0).saturating_add(1);
                    app.go(Screen::Form(Box::new(FormScreen {
                        purpose: FormPurpose::EditItem(None),
                        form: item_form(None, next_id),
                    })));
                }
                KeyCode::Enter | KeyCode::Char('e') if index < count => {
                    let form = item_form(app.draft.get(index), 0);
                    app.go(Screen::Form(Box::new(FormScreen { purpose: FormPurpose::EditItem(Some(index)), form })));
                }
                KeyCode::Char('d') | KeyCode::Delete if index < count => {
                    app.overlay = Some(Overlay::Confirm {
                        question: format!(
                            "Remove item {} \"{}\" from the draft?",
                            app.draft[index].item_id, app.draft[index].title
                        ),
                        action: ConfirmAction::RemoveItem(index),
                    });
                }
                KeyCode::Char('p') if count > 0 => {
                    if needs_signing(app) {
                        return Vec::new();
                    }
                    app.overlay = Some(Overlay::Confirm {
                        question: format!("Publish these {count} items as your new catalog version?"),
                        action: ConfirmAction::Publish,
                    });
                }
                KeyCode::Char('i') => app.go(Screen::Form(Box::new(FormScreen {
                    purpose: FormPurpose::Import,
                    form: Form::new(vec![Field::text("CSV file", "path to read", 1_024, "")]),
                }))),
                KeyCode::Char('x') => {
                    let default = app.profile.join("catalog-export.csv").display().to_string();
                    app.go(Screen::Form(Box::new(FormScreen {
                        purpose: FormPurpose::Export,
                        form: Form::new(vec![Field::text("CSV file", "path to write", 1_024, &default)]),
                    })));
                }
                _ => {
                    move_selection(selected, count, &key);
                }
            }
        }
        Screen::Claims { selected, chosen } => {
            let rows = claimable_rows;
            match key.code {
                KeyCode::Esc => app.back(),
                KeyCode::Char(' ') => {
                    if let Some(row) = rows.get(*selected) {
                        let number = row.notice.transaction_number;
                        if !chosen.remove(&number) {
                            chosen.insert(number);
                        }
                    }
                }
                KeyCode::Char('A') => {
                    *chosen = rows.iter().map(|row| row.notice.transaction_number).collect::<BTreeSet<_>>();
                }
                KeyCode::Enter => {
                    let picked: Vec<u64> = if chosen.is_empty() {
                        rows.get(*selected).map(|row| row.notice.transaction_number).into_iter().collect()
                    } else {
                        chosen.iter().copied().collect()
                    };
                    if picked.is_empty() {
                        return Vec::new();
                    }
                    let total: u64 = rows
                        .iter()
                        .filter(|row| picked.contains(&row.notice.transaction_number))
                        .map(|row| row.notice.total.get())
                        .sum();
                    app.overlay = Some(Overlay::Confirm {
                        question: format!("Claim payment for {} order(s), {}?", picked.len(), model::yen(total)),
                        action: ConfirmAction::Claim(picked),
                    });
                }
                _ => {
                    move_selection(selected, rows.len(), &key);
                }
            }
        }
        Screen::Payouts { selected } => {
            let count = app.account.as_ref().map_or(0, |account| model::payouts(&account.records).len());
            match key.code {
                KeyCode::Esc => app.back(),
                KeyCode::Char('m') => return open(app, Target::Statement),
                _ => {
                    move_selection(selected, count, &key);
                }
            }
        }
        _ => {}
    }
    Vec::new()
}

/// A store form was submitted.
pub(super) fn submit_form(app: &mut App, purpose: FormPurpose) -> Vec<Effect> {
    let Screen::Form(screen) = &mut app.screen else { return Vec::new() };
    let form = &mut screen.form;
    match purpose {
        FormPurpose::EditItem(index) => {
            let Ok(item_id) = form.text(0).parse::<u32>() else {
                form.fail(0, "The item id is a whole number, e.g. 7.");
                return Vec::new();
            };
            let Some(price_yen) = parse_yen(form.text(3)) else {
                form.fail(3, "Type the price in yen, e.g. 1200.");
                return Vec::new();
            };
            let item = DraftItem {
                item_id,
                title: form.text(1).to_owned(),
                description: form.text(2).to_owned(),
                price_yen,
                kind: DraftKind::ALL[form.choice(4)],
                file: (!form.text(5).is_empty()).then(|| PathBuf::from(form.text(5))),
            };
            if let Err(error) = item.check() {
                let field = if error.contains("title") {
                    1
                } else if error.contains("description") {
                    2
                } else if error.contains("price") {
                    3
                } else {
                    5
                };
                form.fail(field, error);
                return Vec::new();
            }
            if app.draft.iter().enumerate().any(|(at, known)| known.item_id == item_id && Some(at) != index) {
                form.fail(0, format!("Item id {item_id} is taken; choose another."));
                return Vec::new();
            }
            match index {
                Some(index) if index < app.draft.len() => app.draft[index] = item,
                _ => app.draft.push(item),
            }
            app.back();
            app.info(format!("Draft saved in {}; publish it (p) when ready.", DRAFT_FILE_NAME));
            vec![Effect::SaveDraft(app.draft.clone())]
        }
        FormPurpose::Ship(transaction_number) => {
            let (carrier, tracking) = (form.text(0).to_owned(), form.text(1).to_owned());
            if carrier.is_empty() {
                form.fail(0, "Name the carrier.");
                return Vec::new();
            }
            if tracking.is_empty() {
                form.fail(1, "Type the tracking number (or how the member can follow the parcel).");
                return Vec::new();
            }
            app.back();
            app.busy = Some(Busy { label: "Signing the shipment notice".to_owned(), progress: None });
            vec![Effect::Ship { transaction_number, carrier, tracking }]
        }
        FormPurpose::Refund { transaction_number, total_yen } => {
            let Some(amount) =
                parse_yen(form.text(0)).filter(|yen| *yen <= total_yen).and_then(|yen| Amount::new(yen).ok())
            else {
                form.fail(0, format!("Type an amount from 1 to {}.", model::yen(total_yen)));
                return Vec::new();
            };
            let reason = form.text(1).to_owned();
            if reason.is_empty() {
                form.fail(1, "Say why, in a few words: the member reads it.");
                return Vec::new();
            }
            app.back();
            app.busy = Some(Busy { label: "Signing the refund".to_owned(), progress: None });
            vec![Effect::Refund { transaction_number, amount, reason }]
        }
        FormPurpose::DeliverFile { transaction_number, item_id } => {
            let path = PathBuf::from(form.text(0));
            if form.text(0).is_empty() {
                form.fail(0, "Type the path of the file to deliver.");
                return Vec::new();
            }
            let Some(row) = order(app, transaction_number) else {
                app.back();
                return Vec::new();
            };
            app.back();
            app.busy = Some(Busy { label: "Sealing and uploading".to_owned(), progress: None });
            vec![Effect::Deliver { notice: Box::new(row.notice), item_id, file: path }]
        }
        FormPurpose::Import => {
            if form.text(0).is_empty() {
                form.fail(0, "Type the path of the CSV file.");
                return Vec::new();
            }
            let path = PathBuf::from(form.text(0));
            app.back();
            vec![Effect::ImportDraft(path)]
        }
        FormPurpose::Export => {
            if form.text(0).is_empty() {
                form.fail(0, "Type the path of the CSV file to write.");
                return Vec::new();
            }
            let path = PathBuf::from(form.text(0));
            app.back();
            vec![Effect::ExportDraft(path, app.draft.clone())]
        }
        FormPurpose::TopUp | FormPurpose::StatementRange => Vec::new(),
    }
}

/// Removes draft item `index` (confirmed).
pub(super) fn remove_item(app: &mut App, index: usize) -> Vec<Effect> {
    if index >= app.draft.len() {
        return Vec::new();
    }
    let removed = app.draft.remove(index);
    if let Screen::Draft { selected } = &mut app.screen {
        *selected = (*selected).min(app.draft.len().saturating_sub(1));
    }
    app.info(format!("Item {} removed from the draft.", removed.item_id));
    vec![Effect::SaveDraft(app.draft.clone())]
}

/// Publishes the draft (confirmed).
pub(super) fn publish(app: &mut App) -> Vec<Effect> {
    if let Some(error) = app.draft.iter().find_map(|item| item.check().err()) {
        app.error(format!("{error}. Fix it before publishing."));
        return Vec::new();
    }
    app.busy = Some(Busy { label: "Publishing the catalog".to_owned(), progress: None });
    vec![Effect::Publish(app.draft.clone())]
}

/// Claims payment (confirmed).
pub(super) fn claim(app: &mut App, transactions: Vec<u64>) -> Vec<Effect> {
    app.claimed.extend(transactions.iter().copied());
    if let Screen::Claims { chosen, selected } = &mut app.screen {
        chosen.clear();
        *selected = 0;
    }
    app.busy = Some(Busy { label: "Signing the payment claim".to_owned(), progress: None });
    vec![Effect::Claim(transactions)]
}
