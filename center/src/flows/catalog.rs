//! Families 30 to 32: stores publish catalogs; members list stores and page
//! and search their catalogs.
//!
//! Each publication is a new version (the current one plus 1), sent in parts
//! `0..part_count` in order; it becomes current when its last part is in.
//! Every version stays stored: a purchase is checked and delivered against
//! the version its prices came from. A part sent again with the same items
//! is answered again; part 0 with other items starts the version over.

use std::collections::BTreeSet;

use denbun_protocol::header::{Header, PartyKind, StoreNumber};
use denbun_protocol::limits::{CATALOG_ITEMS_MAX, CATALOG_PAGE_ITEMS_MAX, STORE_LIST_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{
    CatalogItem, CatalogPage, CatalogPageRequest, CatalogPublish, CatalogPublishAnswer, ItemKind, StoreList,
    StoreListRequest, StoreSummary,
};
use denbun_protocol::wire::{List, Text};

use super::common::{accept, store_in_good_standing};
use super::{Decision, FlowContext};
use crate::service::tx::Tx;
use crate::storage::ledger_records::{CatalogEntry, CatalogHead, CatalogPart, family};
use crate::storage::{LedgerKey, LedgerRange, PartyRecord, PartyStatus, ScanOrder, StorageError};

/// Stores read from the register at a time while listing.
const STORES_SCAN_CHUNK: usize = 200;
/// Register pages one store list may read (bounds the loop; 10 million stores).
const STORES_SCAN_PAGES_MAX: usize = 50_000;

/// A store's catalog head (version 0 when nothing is published).
pub fn head(tx: &mut Tx<'_>, store: StoreNumber) -> Result<CatalogHead, StorageError> {
    Ok(tx.ledger_record(&LedgerKey::catalog_head(store))?.unwrap_or(CatalogHead {
        store,
        current_version: 0,
        item_count: 0,
        current_part_count: 0,
        published_at_ms: 0,
        pending_version: 0,
        pending_part_count: 0,
        pending_parts_received: 0,
    }))
}

/// An item of a completed catalog version.
pub fn item(
    tx: &mut Tx<'_>,
    store: StoreNumber,
    version: u32,
    item_id: u32,
) -> Result<Option<CatalogItem>, StorageError> {
    Ok(tx.ledger_record::<CatalogEntry>(&LedgerKey::catalog_entry(store, version, item_id))?.map(|entry| entry.item))
}

fn part(
    tx: &mut Tx<'_>,
    store: StoreNumber,
    version: u32,
    part_index: u16,
) -> Result<Option<CatalogPart>, StorageError> {
    tx.ledger_record(&LedgerKey::catalog_part(store, version, part_index))
}

/// `3000`: one part of a new catalog version.
pub fn publish(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    publish: &CatalogPublish,
) -> Result<Decision, StorageError> {
    let (store, _) = accept!(store_in_good_standing(tx, header.sender())?);
    let mut head = head(tx, store)?;
    let version = publish.version;
    let status = |parts_received: u16, published: bool| {
        Decision::answer(CatalogPublishAnswer { version, parts_received, part_count: publish.part_count, published })
    };
    let same_part = |stored: Option<CatalogPart>| stored.is_some_and(|stored| stored.items == publish.items);

    if version <= head.current_version {
        if version == head.current_version
            && publish.part_count == head.current_part_count
            && same_part(part(tx, store, version, publish.part_index)?)
        {
            return Ok(status(publish.part_count, true));
        }
        return Ok(Decision::reject_with(
            RejectReason::AlreadyDone,
            format!("catalog version {version} is already published; the next version is {}", head.current_version + 1),
        ));
    }
    if version != head.current_version + 1 {
        return Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            format!("the next catalog version is {}, not {version}", head.current_version + 1),
        ));
    }
    let continuing = head.pending_version == version && head.pending_part_count == publish.part_count;
    let mut received = if continuing { head.pending_parts_received } else { 0 };
    if publish.part_index < received {
        if same_part(part(tx, store, version, publish.part_index)?) {
            return Ok(status(received, false));
        }
        if publish.part_index != 0 {
            return Ok(Decision::reject_with(
                RejectReason::AlreadyDone,
                format!(
                    "part {} of version {version} was already received with other items; send part {received} \
                     next, or start the version again from part 0",
                    publish.part_index
                ),
            ));
        }
        // Part 0 with other items: the store starts the version over.
        received = 0;
    }
    if publish.part_index != received {
        return Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            format!("send part {received} of catalog version {version} next"),
        ));
    }

    // The items of the earlier parts, to keep item ids unique in the version.
    let mut item_ids = BTreeSet::new();
    for index in 0..publish.part_index {
        let earlier = part(tx, store, version, index)?.ok_or_else(|| StorageError::Corrupt {
            key: format!("{:?}", LedgerKey::catalog_part(store, version, index)),
            reason: "a received catalog part is missing".to_owned(),
        })?;
        item_ids.extend(earlier.items.iter().map(|item| item.item_id));
    }
    let money = &context.config.money;
    for item in publish.items.iter() {
        if !item_ids.insert(item.item_id) {
            return Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                format!("item {} appears twice in catalog version {version}", item.item_id),
            ));
        }
        if item.title.trim().is_empty() {
            return Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                format!("item {} has no title", item.item_id),
            ));
        }
        if let ItemKind::Digital(content) = &item.kind
            && content.content_bytes.get() > money.delivery_bytes_max
        {
            return Ok(Decision::reject_with(
                RejectReason::LimitExceeded,
                format!(
                    "item {} is {} bytes; digital goods are at most {} bytes here",
                    item.item_id,
                    content.content_bytes.get(),
                    money.delivery_bytes_max
                ),
            ));
        }
    }
    let items_max = (money.catalog_items_max as usize).min(CATALOG_ITEMS_MAX);
    if item_ids.len() > items_max {
        return Ok(Decision::reject_with(
            RejectReason::LimitExceeded,
            format!("a catalog holds at most {items_max} items"),
        ));
    }

    tx.ledger_put(CatalogPart { store, version, part_index: publish.part_index, items: publish.items.clone() });
    received = publish.part_index + 1;
    if received < publish.part_count {
        head.pending_version = version;
        head.pending_part_count = publish.part_count;
        head.pending_parts_received = received;
        tx.ledger_put(head);
        return Ok(status(received, false));
    }
    // The last part: the version becomes current, item by item.
    let mut item_count: u16 = 0;
    for index in 0..publish.part_count {
        let part = part(tx, store, version, index)?.ok_or_else(|| StorageError::Corrupt {
            key: format!("{:?}", LedgerKey::catalog_part(store, version, index)),
            reason: "a received catalog part is missing".to_owned(),
        })?;
        for item in part.items.into_vec() {
            item_count += 1;
            tx.ledger_put(CatalogEntry { store, version, item });
        }
    }
    head.current_version = version;
    head.item_count = item_count;
    head.current_part_count = publish.part_count;
    head.published_at_ms = tx.now_ms();
    head.pending_version = 0;
    head.pending_part_count = 0;
    head.pending_parts_received = 0;
    tx.ledger_put(head);
    Ok(status(publish.part_count, true))
}

/// The name a store is listed under.
pub fn trade_name(record: &PartyRecord) -> Text<{ denbun_protocol::limits::TRADE_NAME_BYTES_MAX }> {
    match &record.trade_name {
        Some(trade_name) => trade_name.clone(),
        None => Text::truncated(record.name.as_str()),
    }
}

/// Stores that sell now: registered, not frozen or closed.
fn selling(record: &PartyRecord) -> bool {
    record.status == PartyStatus::Registered
}

/// `3100`: a page of the store list (stores that sell now, by number).
/// Reads the register's stores to count them: the community is small.
pub fn store_list(tx: &mut Tx<'_>, request: &StoreListRequest) -> Result<Decision, StorageError> {
    let first = usize::from(request.page) * STORE_LIST_MAX;
    let mut listed = Vec::new();
    let mut total = 0usize;
    let mut after = 0u64;
    for _ in 0..STORES_SCAN_PAGES_MAX {
        let chunk = tx.storage().parties(PartyKind::Store, after, STORES_SCAN_CHUNK)?;
        let Some(last) = chunk.last() else { break };
        after = last.party.number();
        for record in chunk {
            // The group's own writes (a freeze earlier in it) come first.
            let record = tx.party(record.party)?.unwrap_or(record);
            if !selling(&record) {
                continue;
            }
            if total >= first && listed.len() < STORE_LIST_MAX {
                listed.push(record);
            }
            total += 1;
        }
    }
    let mut stores = Vec::with_capacity(listed.len());
    for record in listed {
        let store = StoreNumber::try_from(record.party).expect("listed by kind");
        let head = head(tx, store)?;
        stores.push(StoreSummary {
            store,
            trade_name: trade_name(&record),
            catalog_version: head.current_version,
            item_count: head.item_count,
        });
    }
    Ok(Decision::answer(StoreList {
        page: request.page,
        page_count: u16::try_from(total.div_ceil(STORE_LIST_MAX).max(1)).unwrap_or(u16::MAX),
        stores: List::new(stores).expect("at most STORE_LIST_MAX"),
    }))
}

/// Whether `item` holds every word of `words` (lower case) in its title or description.
fn matches(item: &CatalogItem, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let title = item.title.to_lowercase();
    let description = item.description.to_lowercase();
    words.iter().all(|word| title.contains(word.as_str()) || description.contains(word.as_str()))
}

/// `3200`: a page of a store's current catalog, searched.
pub fn page(tx: &mut Tx<'_>, request: &CatalogPageRequest) -> Result<Decision, StorageError> {
    let store = request.store;
    match tx.party(store.party())? {
        Some(record) if selling(&record) => {}
        _ => {
            return Ok(Decision::reject_with(
                RejectReason::UnknownStoreOrItem,
                format!("{store} does not sell through the center now"),
            ));
        }
    }
    let head = head(tx, store)?;
    let words: Vec<String> = request.search.split_whitespace().map(str::to_lowercase).collect();
    let range = LedgerRange::prefix(LedgerKey::prefix_of(
        family::CATALOG_ENTRY,
        &[store.get().to_be_bytes().as_slice(), head.current_version.to_be_bytes().as_slice()].concat(),
    ));
    let entries: Vec<CatalogEntry> = if head.current_version == 0 {
        Vec::new()
    } else {
        tx.ledger_scan_as(&range, ScanOrder::Ascending, CATALOG_ITEMS_MAX)?
    };
    let found: Vec<CatalogItem> =
        entries.into_iter().map(|entry| entry.item).filter(|item| matches(item, &words)).collect();
    let items: Vec<CatalogItem> = found
        .iter()
        .skip(usize::from(request.page) * CATALOG_PAGE_ITEMS_MAX)
        .take(CATALOG_PAGE_ITEMS_MAX)
        .cloned()
        .collect();
    Ok(Decision::answer(CatalogPage {
        store,
        catalog_version: head.current_version,
        page: request.page,
        page_count: u16::try_from(found.len().div_ceil(CATALOG_PAGE_ITEMS_MAX).max(1)).unwrap_or(u16::MAX),
        items: List::new(items).expect("at most CATALOG_PAGE_ITEMS_MAX"),
    }))
}
