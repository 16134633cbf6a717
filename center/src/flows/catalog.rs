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

use super::common::{accept, member_in_good_standing, store_in_good_standing};
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

/// Members and stores browse while in good standing (a frozen account's
/// business telegrams are refused); operators always may.
fn may_browse(tx: &mut Tx<'_>, header: &Header) -> Result<Result<(), Decision>, StorageError> {
    let sender = header.sender();
    match sender.kind() {
        PartyKind::Member => Ok(member_in_good_standing(tx, sender)?.map(|_| ())),
        PartyKind::Store => Ok(store_in_good_standing(tx, sender)?.map(|_| ())),
        _ => Ok(Ok(())),
    }
}

/// Stores that sell now: registered, not frozen or closed.
fn selling(record: &PartyRecord) -> bool {
    record.status == PartyStatus::Registered
}

/// `3100`: a page of the store list (stores that sell now, by number).
/// Reads the register's stores to count them: the community is small.
pub fn store_list(tx: &mut Tx<'_>, header: &Header, request: &StoreListRequest) -> Result<Decision, StorageError> {
    accept!(may_browse(tx, header)?);
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
pub fn page(tx: &mut Tx<'_>, header: &Header, request: &CatalogPageRequest) -> Result<Decision, StorageError> {
    accept!(may_browse(tx, header)?);
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

#[cfg(test)]
mod flow_tests {
    use denbun_protocol::telegram::{Body, DigitalContent};

    use super::*;
    use crate::flows::testing::{Bench, item, rejected};

    fn part(version: u32, part_index: u16, part_count: u16, items: Vec<CatalogItem>) -> CatalogPublish {
        CatalogPublish { version, part_index, part_count, items: List::new(items).unwrap() }
    }

    fn published(answer: &denbun_protocol::telegram::Telegram) -> CatalogPublishAnswer {
        match answer.body() {
            Body::CatalogPublishAnswer(answer) => answer.clone(),
            other => panic!("expected a publish answer, got {other:?}"),
        }
    }

    fn page_of(
        bench: &mut Bench,
        from: denbun_protocol::header::PartyId,
        store: StoreNumber,
        search: &str,
        page: u16,
    ) -> CatalogPage {
        let answer = bench.send(from, CatalogPageRequest { store, search: Text::new(search).unwrap(), page });
        match answer.body() {
            Body::CatalogPage(page) => page.clone(),
            other => panic!("expected a catalog page, got {other:?}"),
        }
    }

    #[test]
    fn a_version_in_parts_becomes_current_with_its_last_part() {
        let mut bench = Bench::new();
        let store = bench.store();
        let member = bench.member();
        let number: StoreNumber = store.try_into().unwrap();
        let items = |from: u32| {
            (from..from + 25)
                .map(|id| item(id, &format!("Book {id}"), 1_000 + u64::from(id), ItemKind::MailOrder))
                .collect::<Vec<_>>()
        };
        let first = published(&bench.send(store, part(1, 0, 2, items(1))));
        assert_eq!((first.parts_received, first.published), (1, false));
        assert_eq!(page_of(&mut bench, member, number, "", 0).catalog_version, 0);
        // The same part again is answered again; a part out of order is refused.
        assert_eq!(published(&bench.send(store, part(1, 0, 2, items(1)))).parts_received, 1);
        assert_eq!(rejected(&bench.send(store, part(1, 2, 3, items(26)))), Some(RejectReason::NotPermitted));
        let second = published(&bench.send(store, part(1, 1, 2, items(26))));
        assert_eq!((second.parts_received, second.published), (2, true));

        let page = page_of(&mut bench, member, number, "", 0);
        assert_eq!((page.catalog_version, page.page_count, page.items.len()), (1, 3, 20));
        assert_eq!(page.items[0].item_id, 1);
        assert_eq!(page_of(&mut bench, member, number, "", 2).items.len(), 10);
        let found = page_of(&mut bench, member, number, "book 4", 0);
        let ids: Vec<u32> = found.items.iter().map(|item| item.item_id).collect();
        // Every word must appear; "4" is in "Book 14" too.
        assert_eq!(ids, [4, 14, 24, 34, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
        assert!(page_of(&mut bench, member, number, "bOOk 17 FINE", 0).items.iter().all(|item| item.item_id == 17));

        let list = bench.send(member, StoreListRequest { page: 0 });
        let Body::StoreList(list) = list.body() else { panic!("{list:?}") };
        assert_eq!(list.stores.len(), 1);
        assert_eq!((list.stores[0].catalog_version, list.stores[0].item_count), (1, 50));
        assert_eq!(list.stores[0].trade_name.as_str(), "Shop 1");
        bench.assert_audit_passes();
    }

    #[test]
    fn versions_follow_each_other_and_items_are_checked() {
        let mut config = crate::config::Config::default_config();
        config.money.catalog_items_max = 3;
        config.money.delivery_bytes_max = 1_000;
        let mut bench = Bench::with_config(config);
        let store = bench.store();
        let book = item(1, "Book", 500, ItemKind::MailOrder);
        assert_eq!(rejected(&bench.send(store, part(2, 0, 1, vec![book.clone()]))), Some(RejectReason::NotPermitted));
        let twice = vec![book.clone(), item(1, "Other", 10, ItemKind::Service)];
        assert_eq!(rejected(&bench.send(store, part(1, 0, 1, twice))), Some(RejectReason::NotPermitted));
        let untitled = vec![item(2, " ", 10, ItemKind::Service)];
        assert_eq!(rejected(&bench.send(store, part(1, 0, 1, untitled))), Some(RejectReason::NotPermitted));
        let large = ItemKind::Digital(DigitalContent {
            content_bytes: denbun_protocol::telegram::ContentBytes::new(1_001).unwrap(),
            content_sha256: [1; 32],
        });
        assert_eq!(
            rejected(&bench.send(store, part(1, 0, 1, vec![item(3, "Movie", 10, large)]))),
            Some(RejectReason::LimitExceeded)
        );
        let four = (1..=4).map(|id| item(id, "Thing", 10, ItemKind::Service)).collect();
        assert_eq!(rejected(&bench.send(store, part(1, 0, 1, four))), Some(RejectReason::LimitExceeded));
        assert!(published(&bench.publish(store, 1, vec![book.clone()])).published);
        // Version 1 again is answered as published; any other content is refused.
        assert!(published(&bench.publish(store, 1, vec![book.clone()])).published);
        assert_eq!(
            rejected(&bench.publish(store, 1, vec![item(9, "New", 1, ItemKind::Service)])),
            Some(RejectReason::AlreadyDone)
        );
        assert!(published(&bench.publish(store, 2, vec![])).published);
        let member = bench.member();
        let page = page_of(&mut bench, member, store.try_into().unwrap(), "", 0);
        assert_eq!((page.catalog_version, page.items.len(), page.page_count), (2, 0, 1));
        bench.assert_audit_passes();
    }

    #[test]
    fn a_frozen_member_cannot_browse_and_a_frozen_store_is_not_listed() {
        use denbun_protocol::telegram::{FreezeAction, FreezeRequest};
        let mut bench = Bench::new();
        let operator = bench.operator();
        let stores = [bench.store(), bench.store()];
        let member = bench.member();
        let freeze = |party| FreezeRequest { party, action: FreezeAction::Freeze, reason: Text::new("check").unwrap() };
        bench.send(operator, freeze(stores[0]));
        let list = bench.send(member, StoreListRequest { page: 0 });
        let Body::StoreList(list) = list.body() else { panic!("{list:?}") };
        assert_eq!(list.stores.iter().map(|summary| summary.store.party()).collect::<Vec<_>>(), [stores[1]]);
        let frozen_store =
            CatalogPageRequest { store: stores[0].try_into().unwrap(), search: Text::default(), page: 0 };
        assert_eq!(rejected(&bench.send(member, frozen_store)), Some(RejectReason::UnknownStoreOrItem));
        bench.send(operator, freeze(member));
        assert_eq!(rejected(&bench.send(member, StoreListRequest { page: 0 })), Some(RejectReason::Frozen));
        assert_eq!(rejected(&bench.send(operator, StoreListRequest { page: 0 })), None);
    }

    #[test]
    fn part_zero_with_other_items_starts_the_version_over() {
        let mut bench = Bench::new();
        let store = bench.store();
        let member = bench.member();
        let old = vec![item(1, "Old", 100, ItemKind::Service)];
        let new = vec![item(2, "New", 200, ItemKind::Service)];
        bench.send(store, part(1, 0, 2, old));
        assert_eq!(published(&bench.send(store, part(1, 0, 2, new))).parts_received, 1);
        assert!(published(&bench.send(store, part(1, 1, 2, vec![item(3, "Third", 300, ItemKind::Service)]))).published);
        let page = page_of(&mut bench, member, store.try_into().unwrap(), "", 0);
        let ids: Vec<u32> = page.items.iter().map(|item| item.item_id).collect();
        assert_eq!(ids, [2, 3]);
    }

    #[test]
    fn parts_of_one_version_in_one_group_see_each_other() {
        let mut bench = Bench::new();
        let store = bench.store();
        let member = bench.member();
        let first = bench.sign(store, part(1, 0, 2, vec![item(1, "A", 100, ItemKind::Service)]));
        let second = bench.sign(store, part(1, 1, 2, vec![item(1, "A again", 100, ItemKind::Service)]));
        let third = bench.sign(store, part(1, 1, 2, vec![item(2, "B", 100, ItemKind::Service)]));
        let answers = bench.group(vec![first, second, third]);
        assert_eq!(rejected(&answers[0]), None);
        assert_eq!(rejected(&answers[1]), Some(RejectReason::NotPermitted));
        assert!(published(&answers[2]).published);
        assert_eq!(page_of(&mut bench, member, store.try_into().unwrap(), "", 0).items.len(), 2);
    }
}
