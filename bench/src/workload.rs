//! The telegrams the bench sends, built the same way for the load and for
//! the cryptographic bound, so both sign, seal and verify the same bytes.

use denbun_protocol::header::{PartyId, StoreNumber};
use denbun_protocol::limits::CATALOG_PAGE_ITEMS_MAX;
use denbun_protocol::telegram::registration::{
    AccountType, Applicant, BankAccount, Digits, PersonalData, StoreRegistration,
};
use denbun_protocol::telegram::{
    CardRequest, CatalogItem, CatalogPageRequest, CatalogPublish, FundingChannel, ItemKind, OrderLine,
    PaymentInstruction, Refund,
};
use denbun_protocol::wire::{Amount, Date, List, Text};

/// Items in every bench store's catalog (one page holds them all).
pub const CATALOG_ITEMS: u32 = 8;
const _: () = assert!(CATALOG_ITEMS as usize <= CATALOG_PAGE_ITEMS_MAX);
/// What one item costs: one yen, so a funded member can pay for a long run.
pub const ITEM_PRICE_YEN: u64 = 1;
/// A store refunds one payment in this many during the mixed phase.
pub const REFUND_EVERY_PAYMENTS: u64 = 10;
/// A member's top-up in the mixed phase.
pub const TOP_UP_YEN: u64 = 100;

/// Personal data of every bench member and store.
pub fn personal_data() -> PersonalData {
    PersonalData {
        name: Text::new("Hanako Yamada").expect("short"),
        address: Text::new("1-2-3 Marunouchi, Chiyoda-ku, Tokyo").expect("short"),
        date_of_birth: Date::new(1990, 4, 1).expect("a date"),
    }
}

/// What a store applies as.
pub fn store_applicant(index: usize) -> Applicant {
    Applicant::Store(Text::truncated(&format!("Bench Shop {index}")))
}

/// A store's registration details.
pub fn store_registration(applicant: &Applicant) -> Option<StoreRegistration> {
    let Applicant::Store(trade_name) = applicant else { return None };
    Some(StoreRegistration {
        trade_name: trade_name.clone(),
        payout_account: BankAccount {
            bank_code: Digits::new("0001").expect("digits"),
            branch_code: Digits::new("123").expect("digits"),
            account_type: AccountType::Ordinary,
            account_number: Digits::new("1234567").expect("digits"),
            holder_name: Text::new("BENCH SHOTEN").expect("short"),
        },
    })
}

/// The items of every bench store's catalog: services, so a payment needs
/// no delivery or shipment afterwards.
pub fn catalog_items() -> Vec<CatalogItem> {
    (1..=CATALOG_ITEMS)
        .map(|item_id| CatalogItem {
            item_id,
            title: Text::truncated(&format!("Consultation, {item_id} minutes")),
            description: Text::truncated("A short remote consultation, answered by a clerk of the bench store."),
            price: Amount::new(ITEM_PRICE_YEN).expect("in range"),
            kind: ItemKind::Service,
        })
        .collect()
}

/// Version 1 of a bench store's catalog, in one part.
pub fn catalog_publish() -> CatalogPublish {
    CatalogPublish { version: 1, part_index: 0, part_count: 1, items: List::new(catalog_items()).expect("fits") }
}

/// A payment of one item of `store`'s catalog version 1.
pub fn payment(store: PartyId, transaction_number: u64, item_id: u32) -> PaymentInstruction {
    let lines = vec![OrderLine { item_id, quantity: 1, unit_price: Amount::new(ITEM_PRICE_YEN).expect("in range") }];
    PaymentInstruction {
        transaction_number,
        store: StoreNumber::new(store.number()).expect("a store number"),
        catalog_version: 1,
        lines: List::new(lines).expect("one line"),
        total: Amount::new(ITEM_PRICE_YEN).expect("in range"),
    }
}

/// A top-up through the credit company (issued at once).
pub fn top_up(amount_yen: u64) -> CardRequest {
    CardRequest { amount: Amount::new(amount_yen).expect("in range"), channel: FundingChannel::CreditCompany }
}

/// The first page of `store`'s catalog.
pub fn catalog_page(store: PartyId) -> CatalogPageRequest {
    CatalogPageRequest {
        store: StoreNumber::new(store.number()).expect("a store number"),
        search: Text::default(),
        page: 0,
    }
}

/// A store returns one yen of a purchase.
pub fn refund(transaction_number: u64) -> Refund {
    Refund {
        transaction_number,
        amount: Amount::new(ITEM_PRICE_YEN).expect("in range"),
        reason: Text::truncated("returned by the bench"),
    }
}
