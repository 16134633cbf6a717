//! The member's signed services: balance and top-up, stores and catalogs,
//! cart and checkout, downloads, statements.

use crossterm::event::{KeyCode, KeyEvent};
use denbun_protocol::header::StoreNumber;
use denbun_protocol::limits::{ORDER_LINES_MAX, SEARCH_TEXT_BYTES_MAX};
use denbun_protocol::telegram::{
    CatalogItem, CatalogPage, DateRange, FundingChannel, ItemKind, OrderLine, StatementRequest, order_total,
};
use denbun_protocol::wire::{Amount, Date};

use super::{
    App, Busy, ConfirmAction, Effect, FormPurpose, FormScreen, Overlay, Screen, StatementScreen, Target, Transfer,
    Update, move_selection, open,
};
use crate::terminal::field::{Field, Form, TextField};
use crate::terminal::model;

/// Most pieces of one item in the cart.
pub const QUANTITY_MAX: u16 = 99;

/// A catalog being browsed.
#[derive(Debug)]
pub struct CatalogScreen {
    /// Whose catalog.
    pub store: StoreNumber,
    /// The store's trade name.
    pub trade_name: String,
    /// The page shown, once it came.
    pub page: Option<CatalogPage>,
    /// The page asked for.
    pub page_number: u16,
    /// The search words.
    pub search: TextField,
    /// Whether keys go to the search field.
    pub searching: bool,
    /// The highlighted item.
    pub selected: usize,
}

/// One item, with the quantity to put in the cart.
#[derive(Debug)]
pub struct ItemScreen {
    /// Whose item.
    pub store: StoreNumber,
    /// The store's trade name.
    pub trade_name: String,
    /// The catalog version of its price.
    pub catalog_version: u32,
    /// The item.
    pub item: CatalogItem,
    /// How many.
    pub quantity: u16,
}

/// The cart: goods of one store, at the prices of one catalog version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cart {
    /// The store.
    pub store: StoreNumber,
    /// Its trade name.
    pub trade_name: String,
    /// The catalog version of the prices.
    pub catalog_version: u32,
    /// The lines.
    pub lines: Vec<CartLine>,
}

/// One line of the cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartLine {
    /// The store's item id.
    pub item_id: u32,
    /// Its title.
    pub title: String,
    /// How many.
    pub quantity: u16,
    /// Price per piece.
    pub unit_price_yen: u64,
    /// What kind of goods.
    pub kind: &'static str,
}

impl Cart {
    /// The order lines.
    pub fn order_lines(&self) -> Vec<OrderLine> {
        self.lines
            .iter()
            .filter_map(|line| {
                Some(OrderLine {
                    item_id: line.item_id,
                    quantity: line.quantity,
                    unit_price: Amount::new(line.unit_price_yen).ok()?,
                })
            })
            .collect()
    }

    /// The total, if the order is valid.
    pub fn total(&self) -> Option<Amount> {
        order_total(&self.order_lines())
    }
}

/// A kind of goods in words.
pub fn kind_word(kind: &ItemKind) -> &'static str {
    match kind {
        ItemKind::MailOrder => "mail order",
        ItemKind::Digital(_) => "digital",
        ItemKind::Service => "service",
    }
}

/// The channels in the order the top-up form lists them.
pub const CHANNELS: [FundingChannel; 4] = [
    FundingChannel::CreditCompany,
    FundingChannel::BankTransfer,
    FundingChannel::PostOfficeTransfer,
    FundingChannel::RegisteredMailCash,
];

/// The top-up form.
pub fn top_up_form() -> Screen {
    Screen::Form(Box::new(FormScreen {
        purpose: FormPurpose::TopUp,
        form: Form::new(vec![
            Field::text("Amount", "yen, e.g. 10000", 16, ""),
            Field::choice(
                "Channel",
                "←/→ to change",
                &["credit company", "bank transfer", "post-office transfer", "cash by registered mail"],
                0,
            ),
        ]),
    }))
}

/// The statement range form (the first of this month to today).
pub fn statement_form_for(today: Option<Date>) -> Screen {
    let (from, to) = match today {
        Some(today) => {
            let (year, month, _) = today.parts();
            (Date::new(year, month, 1).map(|date| date.to_string()).unwrap_or_default(), today.to_string())
        }
        None => (String::new(), String::new()),
    };
    Screen::Form(Box::new(FormScreen {
        purpose: FormPurpose::StatementRange,
        form: Form::new(vec![
            Field::text("From", "YYYY-MM-DD", 10, &from),
            Field::text("To", "YYYY-MM-DD, included", 10, &to),
        ]),
    }))
}

/// Parses a yen amount typed by a person ("10,000", "10000").
pub fn parse_yen(text: &str) -> Option<u64> {
    let digits: String = text.trim().trim_end_matches("yen").trim().chars().filter(|c| *c != ',').collect();
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A member form was submitted.
pub(super) fn submit_form(app: &mut App, purpose: FormPurpose) -> Vec<Effect> {
    let Screen::Form(screen) = &mut app.screen else { return Vec::new() };
    let form = &mut screen.form;
    match purpose {
        FormPurpose::TopUp => {
            let Some(amount) = parse_yen(form.text(0)).and_then(|yen| Amount::new(yen).ok()) else {
                form.fail(0, "Type the amount in yen, e.g. 10000.");
                return Vec::new();
            };
            let channel = CHANNELS[form.choice(1)];
            app.back();
            app.busy = Some(Busy {
                label: format!("Signing and sending the top-up of {}", model::yen(amount.get())),
                progress: None,
            });
            vec![Effect::TopUp { amount, channel }]
        }
        FormPurpose::StatementRange => {
            let (Some(from), Some(to)) = (Date::parse(form.text(0)), Date::parse(form.text(1))) else {
                form.fail(0, "Write both days as YYYY-MM-DD.");
                return Vec::new();
            };
            let Some(range) = DateRange::new(from, to) else {
                form.fail(1, "The last day must not be before the first.");
                return Vec::new();
            };
            let request = StatementRequest { range, page: 0 };
            app.replace(Screen::Statement(Box::new(StatementScreen {
                statement: None,
                request: request.clone(),
                scroll: 0,
            })));
            app.busy = Some(Busy { label: "Asking for the signed statement".to_owned(), progress: None });
            vec![Effect::Statement(request)]
        }
        _ => Vec::new(),
    }
}

fn add_to_cart(app: &mut App, store: StoreNumber, trade_name: &str, version: u32, item: &CatalogItem, quantity: u16) {
    if let Some(cart) = &app.cart
        && cart.store != store
    {
        let message = format!(
            "Your cart holds goods of {}: check out or empty it (Cart, x) before buying from another store.",
            cart.trade_name
        );
        app.error(message);
        return;
    }
    let cart = app.cart.get_or_insert_with(|| Cart {
        store,
        trade_name: trade_name.to_owned(),
        catalog_version: version,
        lines: Vec::new(),
    });
    if cart.catalog_version != version {
        // The catalog changed: the prices in the cart are out of date.
        cart.catalog_version = version;
        cart.lines.clear();
        app.info("The store published a new catalog, so the cart was emptied; add the goods again.");
    }
    let Some(cart) = app.cart.as_mut() else { return };
    if let Some(line) = cart.lines.iter_mut().find(|line| line.item_id == item.item_id) {
        line.quantity = line.quantity.saturating_add(quantity).min(QUANTITY_MAX);
    } else if cart.lines.len() >= ORDER_LINES_MAX {
        app.error(format!("An order holds at most {ORDER_LINES_MAX} different goods."));
        return;
    } else {
        cart.lines.push(CartLine {
            item_id: item.item_id,
            title: item.title.to_string(),
            quantity,
            unit_price_yen: item.price.get(),
            kind: kind_word(&item.kind),
        });
    }
    app.info(format!("Added {quantity} × {} to the cart (c opens it).", item.title));
}

/// Keys on the member's screens.
pub(super) fn key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match &mut app.screen {
        Screen::Balance => match key.code {
            KeyCode::Esc => app.back(),
            KeyCode::Char('t') => return open(app, Target::TopUp),
            KeyCode::Char('m') => return open(app, Target::Statement),
            _ => {}
        },
        Screen::Stores { selected, page } => {
            let stores = app.stores.as_ref().map_or(0, |list| list.stores.len());
            let page_count = app.stores.as_ref().map_or(1, |list| list.page_count.max(1));
            match key.code {
                KeyCode::Esc => app.back(),
                KeyCode::Char('n') | KeyCode::Right if *page + 1 < page_count => {
                    *page += 1;
                    *selected = 0;
                    return vec![Effect::ListStores(*page)];
                }
                KeyCode::Char('p') | KeyCode::Left if *page > 0 => {
                    *page -= 1;
                    *selected = 0;
                    return vec![Effect::ListStores(*page)];
                }
                KeyCode::Char('r') => return vec![Effect::ListStores(*page)],
                KeyCode::Enter => {
                    let Some(summary) = app.stores.as_ref().and_then(|list| list.stores.as_slice().get(*selected))
                    else {
                        return Vec::new();
                    };
                    let store = summary.store;
                    let trade_name = summary.trade_name.to_string();
                    app.go(Screen::Catalog(Box::new(CatalogScreen {
                        store,
                        trade_name,
                        page: None,
                        page_number: 0,
                        search: TextField::new(SEARCH_TEXT_BYTES_MAX),
                        searching: false,
                        selected: 0,
                    })));
                    app.busy = Some(Busy { label: "Fetching the catalog".to_owned(), progress: None });
                    return vec![Effect::OpenCatalog { store, search: String::new(), page: 0 }];
                }
                _ => {
                    move_selection(selected, stores, &key);
                }
            }
        }
        Screen::Catalog(_) => return catalog_key(app, key),
        Screen::Item(item) => match key.code {
            KeyCode::Esc => app.back(),
            KeyCode::Char('+') | KeyCode::Up => item.quantity = (item.quantity + 1).min(QUANTITY_MAX),
            KeyCode::Char('-') | KeyCode::Down => item.quantity = item.quantity.saturating_sub(1).max(1),
            KeyCode::Char('a') | KeyCode::Enter => {
                let (store, trade_name, version, catalog_item, quantity) =
                    (item.store, item.trade_name.clone(), item.catalog_version, item.item.clone(), item.quantity);
                add_to_cart(app, store, &trade_name, version, &catalog_item, quantity);
            }
            KeyCode::Char('c') => return open(app, Target::Cart),
            _ => {}
        },
        Screen::Cart { selected } => {
            let count = app.cart.as_ref().map_or(0, |cart| cart.lines.len());
            match key.code {
                KeyCode::Esc => app.back(),
                KeyCode::Char('+') => {
                    if let Some(line) = app.cart.as_mut().and_then(|cart| cart.lines.get_mut(*selected)) {
                        line.quantity = (line.quantity + 1).min(QUANTITY_MAX);
                    }
                }
                KeyCode::Char('-') => {
                    if let Some(line) = app.cart.as_mut().and_then(|cart| cart.lines.get_mut(*selected)) {
                        line.quantity = line.quantity.saturating_sub(1).max(1);
                    }
                }
                KeyCode::Char('d') | KeyCode::Delete if count > 0 => {
                    if let Some(cart) = app.cart.as_mut() {
                        cart.lines.remove((*selected).min(count - 1));
                        *selected = (*selected).min(cart.lines.len().saturating_sub(1));
                        if cart.lines.is_empty() {
                            app.cart = None;
                        }
                    }
                }
                KeyCode::Char('x') if count > 0 => {
                    app.overlay = Some(Overlay::Confirm {
                        question: "Empty the cart?".to_owned(),
                        action: ConfirmAction::EmptyCart,
                    });
                }
                KeyCode::Enter if count > 0 => {
                    if app.cart.as_ref().and_then(Cart::total).is_none() {
                        app.error("The total is over the limit of one payment; remove some goods.");
                    } else {
                        app.go(Screen::Checkout);
                    }
                }
                KeyCode::Char('s') => return open(app, Target::Stores),
                _ => {
                    move_selection(selected, count, &key);
                }
            }
        }
        Screen::Checkout => match key.code {
            KeyCode::Esc | KeyCode::Char('n') => app.back(),
            KeyCode::Char('y') => {
                let Some(cart) = app.cart.take() else {
                    app.back();
                    return Vec::new();
                };
                let lines = cart.order_lines();
                app.home();
                app.busy = Some(Busy { label: format!("Signing the payment to {}", cart.trade_name), progress: None });
                return vec![Effect::Pay { store: cart.store, catalog_version: cart.catalog_version, lines }];
            }
            _ => {}
        },
        Screen::Downloads { selected } => {
            let rows = app.account.as_ref().map(|account| model::downloads(&account.records)).unwrap_or_default();
            match key.code {
                KeyCode::Esc => app.back(),
                KeyCode::Enter => {
                    let Some(row) = rows.get(*selected) else { return Vec::new() };
                    let key = (row.ready.transaction_number, row.ready.item_id);
                    if matches!(app.transfers.get(&key), Some(Transfer::Moving { .. })) {
                        app.info("That download is running.");
                        return Vec::new();
                    }
                    app.transfers.insert(key, Transfer::Moving { done: 0, total: row.ready.sealed_bytes });
                    return vec![Effect::Download(Box::new(row.ready.clone()))];
                }
                _ => {
                    move_selection(selected, rows.len(), &key);
                }
            }
        }
        Screen::Statement(statement) => {
            let page_count = statement.statement.as_ref().map_or(1, |statement| statement.page_count.max(1));
            let lines = statement.statement.as_ref().map_or(0, |statement| statement.lines.len());
            match key.code {
                KeyCode::Esc => app.back(),
                KeyCode::Up => statement.scroll = statement.scroll.saturating_sub(1),
                KeyCode::Down => statement.scroll = (statement.scroll + 1).min(lines.saturating_sub(1)),
                KeyCode::Char('n') | KeyCode::Right if statement.request.page + 1 < page_count => {
                    statement.request.page += 1;
                    statement.scroll = 0;
                    return vec![Effect::Statement(statement.request.clone())];
                }
                KeyCode::Char('p') | KeyCode::Left if statement.request.page > 0 => {
                    statement.request.page -= 1;
                    statement.scroll = 0;
                    return vec![Effect::Statement(statement.request.clone())];
                }
                _ => {}
            }
        }
        _ => {}
    }
    Vec::new()
}

fn catalog_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Screen::Catalog(catalog) = &mut app.screen else { return Vec::new() };
    if catalog.searching {
        match key.code {
            KeyCode::Enter => {
                catalog.searching = false;
                catalog.page_number = 0;
                catalog.selected = 0;
                let (store, search) = (catalog.store, catalog.search.value().trim().to_owned());
                app.busy = Some(Busy { label: "Searching the catalog".to_owned(), progress: None });
                return vec![Effect::OpenCatalog { store, search, page: 0 }];
            }
            KeyCode::Esc => catalog.searching = false,
            _ => {
                catalog.search.handle(key);
            }
        }
        return Vec::new();
    }
    let items = catalog.page.as_ref().map_or(0, |page| page.items.len());
    let page_count = catalog.page.as_ref().map_or(1, |page| page.page_count.max(1));
    let reload = |catalog: &CatalogScreen| Effect::OpenCatalog {
        store: catalog.store,
        search: catalog.search.value().trim().to_owned(),
        page: catalog.page_number,
    };
    match key.code {
        KeyCode::Esc => app.back(),
        KeyCode::Char('/') => catalog.searching = true,
        KeyCode::Char('n') | KeyCode::Right if catalog.page_number + 1 < page_count => {
            catalog.page_number += 1;
            catalog.selected = 0;
            return vec![reload(catalog)];
        }
        KeyCode::Char('p') | KeyCode::Left if catalog.page_number > 0 => {
            catalog.page_number -= 1;
            catalog.selected = 0;
            return vec![reload(catalog)];
        }
        KeyCode::Char('r') => return vec![reload(catalog)],
        KeyCode::Char('c') => return open(app, Target::Cart),
        KeyCode::Enter | KeyCode::Char('a') => {
            let Some(page) = &catalog.page else { return Vec::new() };
            let Some(item) = page.items.as_slice().get(catalog.selected).cloned() else { return Vec::new() };
            let (store, trade_name, version) = (catalog.store, catalog.trade_name.clone(), page.catalog_version);
            if key.code == KeyCode::Char('a') {
                add_to_cart(app, store, &trade_name, version, &item, 1);
            } else {
                app.go(Screen::Item(Box::new(ItemScreen {
                    store,
                    trade_name,
                    catalog_version: version,
                    item,
                    quantity: 1,
                })));
            }
        }
        _ => {
            move_selection(&mut catalog.selected, items, &key);
        }
    }
    Vec::new()
}

/// Reports for the member's screens.
pub(super) fn on_update(app: &mut App, update: Update) -> Vec<Effect> {
    app.busy = None;
    match update {
        Update::Stores(list) => {
            if let Screen::Stores { selected, .. } = &mut app.screen {
                *selected = (*selected).min(list.stores.len().saturating_sub(1));
            }
            app.stores = Some(*list);
        }
        Update::Catalog(page) => {
            if let Screen::Catalog(catalog) = &mut app.screen
                && catalog.store == page.store
            {
                catalog.selected = catalog.selected.min(page.items.len().saturating_sub(1));
                catalog.page = Some(*page);
            }
        }
        Update::Statement(statement) => {
            if let Screen::Statement(screen) = &mut app.screen {
                screen.statement = Some(*statement);
            }
        }
        _ => {}
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_as_people_type_them() {
        assert_eq!(parse_yen("10000"), Some(10_000));
        assert_eq!(parse_yen(" 10,000 yen"), Some(10_000));
        assert_eq!(parse_yen("ten"), None);
        assert_eq!(parse_yen(""), None);
        assert_eq!(parse_yen("-5"), None);
    }
}
