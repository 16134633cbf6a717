//! Families 30 (catalog publish), 31 (store list) and 32 (catalog page and
//! search): stores publish what they sell; members browse.
//!
//! ```text
//! store                               center                          member
//!   | 3000 catalog publish v5 part 0/2 --> |
//!   | <-- 3010 answer (1 of 2 received)    |
//!   | 3000 catalog publish v5 part 1/2 --> |
//!   | <-- 3010 answer (published)          |
//!   |                                      | <-- 3100 store list request (page)
//!   |                                      | --> 3110 store list
//!   |                                      | <-- 3200 catalog page request (store, search, page)
//!   |                                      | --> 3210 catalog page (version 5, items)
//! ```
//!
//! A catalog version is published in parts because a whole catalog
//! (`CATALOG_ITEMS_MAX` items) does not fit in one telegram. The store names
//! the new version (the current one plus 1); the version becomes current when
//! all its parts are in. Payment instructions name the version their prices
//! come from.

use std::fmt;

use crate::header::StoreNumber;
use crate::limits::{
    CATALOG_PAGE_ITEMS_MAX, CATALOG_PARTS_MAX, CATALOG_PUBLISH_ITEMS_MAX, DELIVERY_BYTES_MAX,
    ITEM_DESCRIPTION_BYTES_MAX, ITEM_TITLE_BYTES_MAX, SEARCH_TEXT_BYTES_MAX, SHA256_BYTES, STORE_LIST_MAX,
    TRADE_NAME_BYTES_MAX,
};
use crate::telegram::EncodedBytesMax;
use crate::wire::{Amount, DecodeError, List, Reader, Text, Wire, Writer};

/// The size of a digital item's content in bytes, `1..=DELIVERY_BYTES_MAX`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentBytes(u64);

impl ContentBytes {
    /// `bytes`, refusing 0 and more than `DELIVERY_BYTES_MAX`.
    pub const fn new(bytes: u64) -> Option<ContentBytes> {
        if bytes >= 1 && bytes <= DELIVERY_BYTES_MAX { Some(ContentBytes(bytes)) } else { None }
    }

    /// The number of bytes.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for ContentBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} bytes", self.0)
    }
}

impl Wire for ContentBytes {
    fn encode(&self, writer: &mut Writer) {
        writer.put(&self.0);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes = u64::decode(reader)?;
        ContentBytes::new(bytes).ok_or_else(|| DecodeError::invalid(bytes))
    }
}

impl EncodedBytesMax for ContentBytes {
    const ENCODED_BYTES_MAX: usize = 8;
}

body_struct! {
    /// What a digital item delivers: its size and SHA-256, which the member's
    /// terminal checks after opening the sealed delivery.
    pub struct DigitalContent {
        /// Plaintext size in bytes.
        pub content_bytes: ContentBytes,
        /// SHA-256 of the plaintext.
        pub content_sha256: [u8; SHA256_BYTES],
    }
}

body_enum! {
    /// The three kinds of goods.
    pub enum ItemKind {
        /// Delivered later by post or carrier; gets a shipment notice.
        MailOrder = 1,
        /// Document, software or picture, delivered sealed through the center.
        Digital(DigitalContent) = 2,
        /// A real-time service.
        Service = 3,
    }
}

body_struct! {
    /// One catalog item.
    pub struct CatalogItem {
        /// The store's id for the item (unique within the store).
        pub item_id: u32,
        /// Short title.
        pub title: Text<ITEM_TITLE_BYTES_MAX>,
        /// Longer description.
        pub description: Text<ITEM_DESCRIPTION_BYTES_MAX>,
        /// Price in yen.
        pub price: Amount,
        /// Mail order, digital or service.
        pub kind: ItemKind,
    }
}

body_struct! {
    sample: manual;
    /// `3000`: part `part_index` of `part_count` of catalog `version`.
    pub struct CatalogPublish {
        /// The new version: the store's current version plus 1.
        pub version: u32,
        /// Which part this is, `0..part_count`.
        pub part_index: u16,
        /// How many parts the version has, `1..=CATALOG_PARTS_MAX`.
        pub part_count: u16,
        /// The items in this part.
        pub items: List<CatalogItem, CATALOG_PUBLISH_ITEMS_MAX>,
    }
}

impl CatalogPublish {
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if self.version == 0 {
            return Err("catalog versions start at 1");
        }
        if self.part_count == 0 || usize::from(self.part_count) > CATALOG_PARTS_MAX {
            return Err("part count must be 1..=CATALOG_PARTS_MAX");
        }
        if self.part_index >= self.part_count {
            return Err("part index must be below the part count");
        }
        Ok(())
    }
}

body_struct! {
    /// `3010`: the center holds `parts_received` of the version's parts.
    pub struct CatalogPublishAnswer {
        /// The version being published.
        pub version: u32,
        /// Parts received so far.
        pub parts_received: u16,
        /// Parts the version has.
        pub part_count: u16,
        /// Whether the version is now the store's current catalog.
        pub published: bool,
    }
}

body_struct! {
    /// `3100`: asks for page `page` (from 0) of the store list.
    pub struct StoreListRequest {
        /// Page number, from 0.
        pub page: u16,
    }
}

body_struct! {
    /// One store in the store list.
    pub struct StoreSummary {
        /// The store.
        pub store: StoreNumber,
        /// Its trade name.
        pub trade_name: Text<TRADE_NAME_BYTES_MAX>,
        /// Its current catalog version (0: nothing published yet).
        pub catalog_version: u32,
        /// Items in that version.
        pub item_count: u16,
    }
}

body_struct! {
    /// `3110`: a page of the store list.
    pub struct StoreList {
        /// This page, from 0.
        pub page: u16,
        /// How many pages there are.
        pub page_count: u16,
        /// The stores on this page.
        pub stores: List<StoreSummary, STORE_LIST_MAX>,
    }
}

body_struct! {
    /// `3200`: asks for a page of a store's current catalog, filtered by
    /// `search` (empty: everything).
    pub struct CatalogPageRequest {
        /// Whose catalog.
        pub store: StoreNumber,
        /// Words to look for in titles and descriptions.
        pub search: Text<SEARCH_TEXT_BYTES_MAX>,
        /// Page number, from 0.
        pub page: u16,
    }
}

body_struct! {
    /// `3210`: a page of a store's catalog.
    pub struct CatalogPage {
        /// Whose catalog.
        pub store: StoreNumber,
        /// The version the items come from (quote it when paying).
        pub catalog_version: u32,
        /// This page, from 0.
        pub page: u16,
        /// How many pages match.
        pub page_count: u16,
        /// The items on this page.
        pub items: List<CatalogItem, CATALOG_PAGE_ITEMS_MAX>,
    }
}
