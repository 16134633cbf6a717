//! Money as library calls (issue 5): prepaid cards, catalogs, payments,
//! delivery, shipments, claims, refunds and statements, for the command
//! line, scripts and tests.
//!
//! # Which telegrams wait in the outbox
//!
//! Every telegram that changes something at the center — card request
//! (2000), catalog publication (3000), payment (4000), delivery
//! acknowledgement (5200), shipment (5300), payment claim (6000), refund
//! (7000) — is signed into the outbox and saved *before* it is sent
//! ([`submit`]), so a crash or a dropped line between signing and the
//! answer loses nothing: the next run sends it again with the same
//! processing number and the center answers it once.
//!
//! Requests that change nothing (store list 3100, catalog page 3200,
//! statement 7200, delivery fetch 5100) are signed outside the outbox and
//! simply asked again when an answer is lost. So are delivery upload chunks
//! (5000): the center keeps them under the item, says how many contiguous
//! bytes it holds, and answers a chunk it already holds again, so an upload
//! resumes from the center's count rather than from an outbox entry (and a
//! 16 MiB item does not pass through the key file 513 times).
//!
//! Every call takes the unlocked key file, a session and the signature key,
//! like [`submit`]; none signs on by itself. Notices need a signed-on
//! session ([`notices::collect_notices`]).

pub mod notices;
pub mod transfer;

use denbun_protocol::header::{Code, StoreNumber};
use denbun_protocol::limits::{
    CARRIER_BYTES_MAX, CATALOG_ITEMS_MAX, CATALOG_PAGE_ITEMS_MAX, CATALOG_PARTS_MAX, CATALOG_PUBLISH_ITEMS_MAX,
    CLAIM_ORDERS_MAX, MESSAGE_BYTES_MAX, ORDER_LINES_MAX, SEARCH_TEXT_BYTES_MAX, SHA256_BYTES, TRACKING_BYTES_MAX,
};
use denbun_protocol::telegram::{
    AscendingNumbers, Body, CardAnswer, CardRequest, CatalogItem, CatalogPage, CatalogPageRequest, CatalogPublish,
    CatalogPublishAnswer, DateRange, DeliveryAcknowledgement, DeliveryReceipt, FundingChannel, OrderLine,
    PaymentAnswer, PaymentClaim, PaymentClaimAnswer, PaymentInstruction, Refund, RefundAnswer, Shipment,
    ShipmentAnswer, Statement, StatementRequest, StoreList, StoreListRequest, Telegram, order_total,
};
use denbun_protocol::wire::{Amount, List, Text, group_thousands};
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};

use crate::services::{ServiceError, request_signed};
use crate::session::{Answer, Session, SessionError, SubmitError, submit};
use crate::vault::{UnlockedVault, VaultError};

/// Catalog pages read for one whole catalog (1,000 items at 20 a page).
pub const CATALOG_PAGES_MAX: usize = CATALOG_ITEMS_MAX.div_ceil(CATALOG_PAGE_ITEMS_MAX);
/// Times a whole catalog is read again when the store publishes while it is read.
pub const CATALOG_READS_MAX: usize = 3;
/// Statement pages read for one statement (a busy store's month, and more).
pub const STATEMENT_PAGES_MAX: usize = 1_000;

const _: () = assert!(CATALOG_PAGES_MAX * CATALOG_PAGE_ITEMS_MAX >= CATALOG_ITEMS_MAX);
const _: () = assert!(CATALOG_PARTS_MAX * CATALOG_PUBLISH_ITEMS_MAX >= CATALOG_ITEMS_MAX);

/// Why a money call did not end with the answer it wanted.
#[derive(Debug, thiserror::Error)]
pub enum MoneyError {
    /// A telegram through the outbox was refused, or waits there unanswered.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// A request outside the outbox failed or was refused.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The key file could not be saved.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The center answered with a telegram this call did not expect.
    #[error("The center answered with an unexpected telegram {0}.")]
    Unexpected(Code),
    /// The center's answer does not fit what was asked (another item, sizes
    /// that do not add up): the session cannot be trusted for this call.
    #[error("The center's answer does not fit the request: {0}")]
    Inconsistent(String),
    /// Something on this computer: a file, a size, an order that cannot be built.
    #[error("{0}")]
    Local(String),
}

impl MoneyError {
    /// Whether the line failed (down, silent, busy) rather than the center
    /// refusing: connecting again and going on may succeed.
    pub fn is_line_failure(&self) -> bool {
        let session = match self {
            MoneyError::Session(error) => error,
            MoneyError::Submit(SubmitError::NotAnswered { source, .. }) => source,
            _ => return false,
        };
        match session {
            SessionError::LineDown(_)
            | SessionError::AnswerTimeout { .. }
            | SessionError::Busy { .. }
            | SessionError::Connect { .. }
            | SessionError::ConnectTimeout { .. } => true,
            SessionError::Rejected(rejection) => rejection.retry_may_succeed(),
            _ => false,
        }
    }

    /// The center's signed reject, if it refused.
    pub fn rejection(&self) -> Option<&crate::session::Rejection> {
        match self {
            MoneyError::Session(error) => error.rejection(),
            MoneyError::Submit(SubmitError::Refused { rejection, .. }) => Some(rejection),
            MoneyError::Submit(SubmitError::NotAnswered { source, .. }) => source.rejection(),
            _ => None,
        }
    }
}

impl From<ServiceError> for MoneyError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Session(error) => MoneyError::Session(error),
            ServiceError::Vault(error) => MoneyError::Vault(error),
            ServiceError::Unexpected(code) => MoneyError::Unexpected(code),
            ServiceError::Build(detail) => MoneyError::Local(format!("Cannot build the telegram: {detail}")),
        }
    }
}

/// Signs `body` into the outbox, sends it, and picks the expected answer.
async fn submit_for<T>(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    body: impl Into<Body>,
    pick: impl FnOnce(Body) -> Option<T>,
) -> Result<(T, Telegram), MoneyError> {
    let answer = submit(vault, session, key, body).await?;
    pick_answer(answer, pick)
}

/// A signed request outside the outbox, and the expected answer.
async fn request_for<T>(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    body: impl Into<Body>,
    pick: impl FnOnce(Body) -> Option<T>,
) -> Result<(T, Telegram), MoneyError> {
    let answer = request_signed(vault, session, key, body).await?;
    pick_answer(answer, pick)
}

fn pick_answer<T>(answer: Answer, pick: impl FnOnce(Body) -> Option<T>) -> Result<(T, Telegram), MoneyError> {
    let telegram = answer.into_telegram();
    let code = telegram.code();
    let picked = pick(telegram.body().clone()).ok_or(MoneyError::Unexpected(code))?;
    Ok((picked, telegram))
}

/// `2000`: asks for a prepaid card of `amount` paid through `channel`.
/// Credit company: issued at once; the transfer channels: pending, with the
/// transfer reference and instructions.
pub async fn top_up(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    amount: Amount,
    channel: FundingChannel,
) -> Result<CardAnswer, MoneyError> {
    let request = CardRequest { amount, channel };
    let (answer, _) = submit_for(vault, session, key, request, |body| match body {
        Body::CardAnswer(answer) => Some(answer),
        _ => None,
    })
    .await?;
    Ok(answer)
}

/// `3100`: page `page` (from 0) of the stores that sell now.
pub async fn store_list(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    page: u16,
) -> Result<StoreList, MoneyError> {
    let (list, _) = request_for(vault, session, key, StoreListRequest { page }, |body| match body {
        Body::StoreList(list) => Some(list),
        _ => None,
    })
    .await?;
    Ok(list)
}

/// `3200`: page `page` (from 0) of `store`'s current catalog, items matching
/// every word of `search` (empty: all).
pub async fn catalog_page(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    store: StoreNumber,
    search: &str,
    page: u16,
) -> Result<CatalogPage, MoneyError> {
    let search = Text::<SEARCH_TEXT_BYTES_MAX>::new(search.trim())
        .map_err(|_| MoneyError::Local(format!("Search for at most {SEARCH_TEXT_BYTES_MAX} bytes of text.")))?;
    let request = CatalogPageRequest { store, search, page };
    let (catalog, _) = request_for(vault, session, key, request, |body| match body {
        Body::CatalogPage(page) => Some(page),
        _ => None,
    })
    .await?;
    if catalog.store != store || catalog.page != page {
        return Err(MoneyError::Inconsistent(format!("asked for page {page} of {store}'s catalog")));
    }
    Ok(catalog)
}

/// A store's whole current catalog, read page by page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    /// Whose.
    pub store: StoreNumber,
    /// The version every item comes from (0: nothing published).
    pub version: u32,
    /// Every item, as the center lists them.
    pub items: Vec<CatalogItem>,
}

impl Catalog {
    /// The item with id `item_id`.
    pub fn item(&self, item_id: u32) -> Option<&CatalogItem> {
        self.items.iter().find(|item| item.item_id == item_id)
    }
}

/// Reads every page of `store`'s current catalog. A publication while it is
/// read (pages of two versions) starts the reading over, a few times at most.
pub async fn whole_catalog(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    store: StoreNumber,
) -> Result<Catalog, MoneyError> {
    for _ in 0..CATALOG_READS_MAX {
        let first = catalog_page(vault, session, key, store, "", 0).await?;
        let version = first.catalog_version;
        let page_count = usize::from(first.page_count).min(CATALOG_PAGES_MAX);
        let mut items = first.items.into_vec();
        let mut same_version = true;
        for page in 1..page_count {
            let next = catalog_page(vault, session, key, store, "", page as u16).await?;
            if next.catalog_version != version {
                same_version = false;
                break;
            }
            items.extend(next.items.into_vec());
        }
        if same_version {
            return Ok(Catalog { store, version, items });
        }
    }
    Err(MoneyError::Local(format!(
        "{store} published new catalog versions while its catalog was read; try again in a moment."
    )))
}

/// One item to buy: its id and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The store's item id.
    pub item_id: u32,
    /// How many, at least 1.
    pub quantity: u16,
}

impl std::str::FromStr for Wanted {
    type Err = String;

    /// `ID` or `ID:QUANTITY`, e.g. `12` or `12:3`.
    fn from_str(text: &str) -> Result<Wanted, String> {
        let (id, quantity) = match text.split_once(':') {
            Some((id, quantity)) => (id, Some(quantity)),
            None => (text, None),
        };
        let item_id = id
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: the item id must be a number (write ID or ID:QUANTITY, e.g. 12:3)"))?;
        let quantity =
            match quantity {
                None => 1,
                Some(quantity) => quantity.trim().parse().ok().filter(|quantity| *quantity >= 1).ok_or_else(|| {
                    format!("`{text}`: the quantity must be a number from 1 to {} (e.g. 12:3)", u16::MAX)
                })?,
            };
        Ok(Wanted { item_id, quantity })
    }
}

/// The payment instruction for `wanted` at the prices of `catalog`: one line
/// per item (the same item asked twice is one line with the quantities
/// added), in the order first asked. The message names what is wrong.
pub fn instruction(
    catalog: &Catalog,
    wanted: &[Wanted],
    transaction_number: u64,
) -> Result<PaymentInstruction, String> {
    if transaction_number == 0 {
        return Err("transaction number 0 is not allowed; choose another".to_owned());
    }
    if catalog.version == 0 {
        return Err(format!("{} has not published a catalog yet", catalog.store));
    }
    let mut lines: Vec<OrderLine> = Vec::new();
    for want in wanted {
        let item = catalog.item(want.item_id).ok_or_else(|| {
            format!("item {} is not in {}'s catalog (version {})", want.item_id, catalog.store, catalog.version)
        })?;
        match lines.iter_mut().find(|line| line.item_id == want.item_id) {
            Some(line) => {
                line.quantity = line
                    .quantity
                    .checked_add(want.quantity)
                    .ok_or_else(|| format!("item {}: more than {} pieces", want.item_id, u16::MAX))?;
            }
            None => lines.push(OrderLine { item_id: item.item_id, quantity: want.quantity, unit_price: item.price }),
        }
    }
    if lines.is_empty() {
        return Err("name at least one item to buy".to_owned());
    }
    if lines.len() > ORDER_LINES_MAX {
        return Err(format!("an order has at most {ORDER_LINES_MAX} different items; pay in several orders"));
    }
    let total = order_total(&lines).ok_or("the total is larger than one payment may be")?;
    Ok(PaymentInstruction {
        transaction_number,
        store: catalog.store,
        catalog_version: catalog.version,
        lines: List::new(lines).expect("at most ORDER_LINES_MAX lines, checked above"),
        total,
    })
}

/// The order as people read it, one line per item and the total.
pub fn order_text(catalog: &Catalog, instruction: &PaymentInstruction) -> String {
    let mut text = format!(
        "Order from {} (catalog version {}), transaction {}:\n",
        instruction.store, instruction.catalog_version, instruction.transaction_number
    );
    for line in instruction.lines.iter() {
        let title = catalog.item(line.item_id).map_or("?", |item| item.title.as_str());
        let line_yen = line.unit_price.get() * u64::from(line.quantity);
        text.push_str(&format!(
            "  {} x {title} (item {}) at {} yen = {} yen\n",
            line.quantity,
            line.item_id,
            group_thousands(line.unit_price.get()),
            group_thousands(line_yen)
        ));
    }
    text.push_str(&format!("Total: {} yen\n", group_thousands(instruction.total.get())));
    text
}

/// A fresh transaction number (random, never 0): the member's terminal
/// chooses it, and it names the purchase in every later telegram.
pub fn random_transaction_number() -> u64 {
    OsRng.next_u64().max(1)
}

/// `4000`: pays. The same instruction sent again (a crash, a repeat) is
/// answered as the first time, with one debit.
pub async fn pay(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    instruction: PaymentInstruction,
) -> Result<PaymentAnswer, MoneyError> {
    let transaction_number = instruction.transaction_number;
    let (answer, _) = submit_for(vault, session, key, instruction, |body| match body {
        Body::PaymentAnswer(answer) => Some(answer),
        _ => None,
    })
    .await?;
    if answer.transaction_number != transaction_number {
        return Err(MoneyError::Inconsistent(format!("the answer is for transaction {}", answer.transaction_number)));
    }
    Ok(answer)
}

/// `5200`: acknowledges item `item_id` of `transaction_number` whose opened
/// content has SHA-256 `content_sha256`; the answer is the center's signed
/// delivery receipt (kept in the history), returned with its telegram.
pub async fn acknowledge(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    transaction_number: u64,
    item_id: u32,
    content_sha256: [u8; SHA256_BYTES],
) -> Result<(DeliveryReceipt, Telegram), MoneyError> {
    let acknowledgement = DeliveryAcknowledgement { transaction_number, item_id, content_sha256 };
    let (receipt, telegram) = submit_for(vault, session, key, acknowledgement, |body| match body {
        Body::DeliveryReceipt(receipt) => Some(receipt),
        _ => None,
    })
    .await?;
    if (receipt.transaction_number, receipt.item_id, receipt.content_sha256)
        != (transaction_number, item_id, content_sha256)
    {
        return Err(MoneyError::Inconsistent("the receipt names another item or content".to_owned()));
    }
    Ok((receipt, telegram))
}

/// `5300`: a store reports that mail-order goods of a purchase were shipped.
pub async fn ship(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    transaction_number: u64,
    carrier: &str,
    tracking: &str,
) -> Result<ShipmentAnswer, MoneyError> {
    let carrier = Text::<CARRIER_BYTES_MAX>::new(carrier.trim())
        .map_err(|_| MoneyError::Local(format!("The carrier is at most {CARRIER_BYTES_MAX} bytes.")))?;
    let tracking = Text::<TRACKING_BYTES_MAX>::new(tracking.trim())
        .map_err(|_| MoneyError::Local(format!("The tracking text is at most {TRACKING_BYTES_MAX} bytes.")))?;
    if carrier.is_empty() || tracking.is_empty() {
        return Err(MoneyError::Local("Name the carrier and the tracking number.".to_owned()));
    }
    let (answer, _) =
        submit_for(vault, session, key, Shipment { transaction_number, carrier, tracking }, |body| match body {
            Body::ShipmentAnswer(answer) => Some(answer),
            _ => None,
        })
        .await?;
    Ok(answer)
}

/// `6000`: a store claims payment for delivered purchases (1 to 200).
pub async fn claim(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    transaction_numbers: &[u64],
) -> Result<PaymentClaimAnswer, MoneyError> {
    let numbers = AscendingNumbers::<CLAIM_ORDERS_MAX>::new(transaction_numbers.to_vec()).ok_or_else(|| {
        MoneyError::Local(format!("A claim covers 1 to {CLAIM_ORDERS_MAX} purchases; claim in several goes."))
    })?;
    let (answer, _) =
        submit_for(vault, session, key, PaymentClaim { transaction_numbers: numbers }, |body| match body {
            Body::PaymentClaimAnswer(answer) => Some(answer),
            _ => None,
        })
        .await?;
    Ok(answer)
}

/// `7000`: a store returns `amount` of a purchase to the member (refunds of
/// one purchase add up to at most what was paid).
pub async fn refund(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    transaction_number: u64,
    amount: Amount,
    reason: &str,
) -> Result<RefundAnswer, MoneyError> {
    let reason = Text::<MESSAGE_BYTES_MAX>::new(reason.trim())
        .map_err(|_| MoneyError::Local(format!("The reason is at most {MESSAGE_BYTES_MAX} bytes.")))?;
    let (answer, _) =
        submit_for(vault, session, key, Refund { transaction_number, amount, reason }, |body| match body {
            Body::RefundAnswer(answer) => Some(answer),
            _ => None,
        })
        .await?;
    Ok(answer)
}

/// `7200`: every page of the signed statement over `range` (the session must
/// be signed on: a statement is private). Each page is a signed telegram.
pub async fn statement(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    range: DateRange,
) -> Result<Vec<(Statement, Telegram)>, MoneyError> {
    let mut pages = Vec::new();
    for page in 0..STATEMENT_PAGES_MAX {
        let page = u16::try_from(page).expect("STATEMENT_PAGES_MAX fits u16");
        let (statement, telegram) =
            request_for(vault, session, key, StatementRequest { range, page }, |body| match body {
                Body::Statement(statement) => Some(statement),
                _ => None,
            })
            .await?;
        if statement.page != page || statement.range != range {
            return Err(MoneyError::Inconsistent(format!("asked for page {page} of the statement")));
        }
        let page_count = statement.page_count;
        pages.push((statement, telegram));
        if page + 1 >= page_count {
            return Ok(pages);
        }
    }
    Err(MoneyError::Local(format!(
        "The statement has more than {STATEMENT_PAGES_MAX} pages; ask for fewer days at a time."
    )))
}

/// `3000`: publishes `items` as catalog version `version` (the current one
/// plus 1), in parts of at most 50 items, each through the outbox;
/// `progress(part, parts)` is called before each part. Returns the last
/// part's answer, which says whether the version is now current.
pub async fn publish(
    vault: &mut UnlockedVault,
    session: &Session,
    key: &SigningKey,
    version: u32,
    items: Vec<CatalogItem>,
    mut progress: impl FnMut(usize, usize),
) -> Result<CatalogPublishAnswer, MoneyError> {
    if items.len() > CATALOG_ITEMS_MAX {
        return Err(MoneyError::Local(format!("A catalog holds at most {CATALOG_ITEMS_MAX} items.")));
    }
    let mut parts: Vec<Vec<CatalogItem>> = items.chunks(CATALOG_PUBLISH_ITEMS_MAX).map(<[_]>::to_vec).collect();
    if parts.is_empty() {
        // An empty catalog is one empty part: the store stops selling.
        parts.push(Vec::new());
    }
    let part_count = u16::try_from(parts.len()).expect("at most CATALOG_PARTS_MAX parts");
    let mut last = None;
    for (index, items) in parts.into_iter().enumerate() {
        progress(index, usize::from(part_count));
        let part = CatalogPublish {
            version,
            part_index: u16::try_from(index).expect("below part_count"),
            part_count,
            items: List::new(items).expect("chunks of CATALOG_PUBLISH_ITEMS_MAX"),
        };
        let (answer, _) = submit_for(vault, session, key, part, |body| match body {
            Body::CatalogPublishAnswer(answer) => Some(answer),
            _ => None,
        })
        .await?;
        if answer.version != version {
            return Err(MoneyError::Inconsistent(format!("the answer is for catalog version {}", answer.version)));
        }
        last = Some(answer);
    }
    progress(usize::from(part_count), usize::from(part_count));
    Ok(last.expect("at least one part"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use denbun_protocol::telegram::ItemKind;

    fn catalog() -> Catalog {
        let item = |item_id: u32, price: u64| CatalogItem {
            item_id,
            title: Text::new(format!("Item {item_id}")).unwrap(),
            description: Text::default(),
            price: Amount::new(price).unwrap(),
            kind: ItemKind::Service,
        };
        Catalog { store: StoreNumber::new(1).unwrap(), version: 3, items: vec![item(1, 1_200), item(7, 50)] }
    }

    #[test]
    fn wanted_items_read_id_and_quantity() {
        assert_eq!("12".parse(), Ok(Wanted { item_id: 12, quantity: 1 }));
        assert_eq!("12:3".parse(), Ok(Wanted { item_id: 12, quantity: 3 }));
        for bad in ["", "x", "12:", "12:0", "12:x", ":3", "12:70000", "-1"] {
            let error = bad.parse::<Wanted>().unwrap_err();
            assert!(error.contains("ID:QUANTITY") || error.contains("quantity"), "{bad}: {error}");
        }
    }

    #[test]
    fn an_instruction_takes_the_catalogs_prices_and_adds_repeated_items() {
        let catalog = catalog();
        let wanted = [
            Wanted { item_id: 7, quantity: 2 },
            Wanted { item_id: 1, quantity: 1 },
            Wanted { item_id: 7, quantity: 1 },
        ];
        let instruction = instruction(&catalog, &wanted, 99).unwrap();
        assert_eq!(instruction.catalog_version, 3);
        assert_eq!(instruction.total.get(), 3 * 50 + 1_200);
        let lines: Vec<(u32, u16, u64)> =
            instruction.lines.iter().map(|line| (line.item_id, line.quantity, line.unit_price.get())).collect();
        assert_eq!(lines, [(7, 3, 50), (1, 1, 1_200)]);
        let text = order_text(&catalog, &instruction);
        assert!(text.contains("3 x Item 7 (item 7) at 50 yen = 150 yen"), "{text}");
        assert!(text.ends_with("Total: 1,350 yen\n"), "{text}");
    }

    #[test]
    fn instructions_that_cannot_be_paid_say_why() {
        let catalog = catalog();
        let one = [Wanted { item_id: 1, quantity: 1 }];
        assert!(instruction(&catalog, &[Wanted { item_id: 5, quantity: 1 }], 1).unwrap_err().contains("item 5"));
        assert!(instruction(&catalog, &[], 1).unwrap_err().contains("at least one"));
        assert!(instruction(&catalog, &one, 0).unwrap_err().contains("0"));
        let empty = Catalog { version: 0, items: Vec::new(), ..catalog.clone() };
        assert!(instruction(&empty, &one, 1).unwrap_err().contains("not published"));
        let many = [Wanted { item_id: 1, quantity: u16::MAX }, Wanted { item_id: 1, quantity: 1 }];
        assert!(instruction(&catalog, &many, 1).unwrap_err().contains("pieces"));
    }

    #[test]
    fn transaction_numbers_are_never_zero() {
        for _ in 0..100 {
            assert_ne!(random_transaction_number(), 0);
        }
    }
}
