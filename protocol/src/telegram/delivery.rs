//! Families 50 to 53: delivering what was bought.
//!
//! Digital goods go from the store to the member through the center, sealed
//! to the member's delivery key so the center relays them without being able
//! to read them (store and forward: an offline member fetches them later).
//! Mail-order goods get a shipment record and notice.
//!
//! ```text
//! store                          center                              member
//!   | 5000 upload chunk 0 ---------> |
//!   | <--------- 5010 (received)     |
//!   | 5000 upload chunk n (last) --> |
//!   | <--------- 5010 (complete)     | --> 5140 delivery ready notice
//!   |                                | <-- 5100 delivery fetch (offset)
//!   |                                | --> 5110 delivery chunk      (repeat per chunk;
//!   |                                |                               resume at any offset)
//!   |                                | <-- 5200 delivery acknowledgement (content SHA-256)
//!   |                                | --> 5210 delivery receipt
//!   | <--------- 5240 delivered notice
//!
//!   | 5300 shipment (carrier, tracking) --> |
//!   | <--------- 5310 shipment answer       | --> 5340 shipment notice
//! ```
//!
//! Sealing (docs/protocol.md, "Sealed delivery"): the store draws an
//! ephemeral X25519 key, agrees a secret with the member's delivery key,
//! derives a ChaCha20-Poly1305 key, and seals the content in plaintext chunks
//! of `DELIVERY_PLAINTEXT_CHUNK_BYTES`; each sealed chunk (ciphertext and tag)
//! is exactly `DELIVERY_CHUNK_BYTES_MAX` bytes except the last. Chunk `i`
//! starts at sealed offset `i × DELIVERY_CHUNK_BYTES_MAX`, so every chunk
//! telegram's geometry is checked on decoding.

use x25519_dalek::PublicKey as DeliveryKey;

use crate::header::{MemberNumber, StoreNumber};
use crate::limits::{
    CARRIER_BYTES_MAX, DELIVERY_BYTES_MAX, DELIVERY_CHUNK_BYTES_MAX, DELIVERY_PLAINTEXT_CHUNK_BYTES,
    DELIVERY_SEAL_TAG_BYTES, SHA256_BYTES, TRACKING_BYTES_MAX,
};
use crate::telegram::ContentBytes;
use crate::wire::{Blob, Text};

/// Bytes of the sealed form of `content_bytes` of plaintext: the content
/// plus one tag per plaintext chunk.
pub const fn sealed_size(content_bytes: ContentBytes) -> u64 {
    let chunks = content_bytes.get().div_ceil(DELIVERY_PLAINTEXT_CHUNK_BYTES as u64);
    content_bytes.get() + chunks * DELIVERY_SEAL_TAG_BYTES as u64
}

/// Whether `sealed_bytes` is the sealed size of some allowed content size:
/// every chunk but the last is full, and the last holds at least one
/// plaintext byte and its tag.
fn is_sealed_size(sealed_bytes: u64) -> bool {
    const CHUNK: u64 = DELIVERY_CHUNK_BYTES_MAX as u64;
    const TAG: u64 = DELIVERY_SEAL_TAG_BYTES as u64;
    let largest = match ContentBytes::new(DELIVERY_BYTES_MAX) {
        Some(content) => sealed_size(content),
        None => 0,
    };
    let last_chunk = sealed_bytes % CHUNK;
    sealed_bytes > TAG && sealed_bytes <= largest && (last_chunk == 0 || last_chunk > TAG)
}

/// Checks one chunk's place in a sealed content of `sealed_bytes`.
pub(crate) fn check_chunk(sealed_bytes: u64, offset: u64, chunk_bytes: usize) -> Result<(), &'static str> {
    const CHUNK: u64 = DELIVERY_CHUNK_BYTES_MAX as u64;
    if !is_sealed_size(sealed_bytes) {
        return Err("sealed size is not the sealed size of any allowed content size");
    }
    if !offset.is_multiple_of(CHUNK) || offset >= sealed_bytes {
        return Err("chunk offset must be a multiple of the chunk size within the sealed content");
    }
    if chunk_bytes as u64 != CHUNK.min(sealed_bytes - offset) {
        return Err("every chunk but the last is full; the last holds the rest");
    }
    Ok(())
}

body_struct! {
    sample: manual;
    /// `5000`: one sealed chunk of an item, uploaded by the store.
    pub struct DeliveryUpload {
        /// The purchase.
        pub transaction_number: u64,
        /// The digital item in it.
        pub item_id: u32,
        /// The store's ephemeral X25519 key for this item's sealing.
        pub ephemeral_key: DeliveryKey,
        /// Size of the whole sealed content.
        pub sealed_bytes: u64,
        /// Where this chunk starts in the sealed content.
        pub offset: u64,
        /// Sealed bytes (ciphertext and tag).
        pub chunk: Blob<DELIVERY_CHUNK_BYTES_MAX>,
    }
}

body_struct! {
    /// `5010`: how much of the item the center holds.
    pub struct DeliveryUploadAnswer {
        /// The purchase.
        pub transaction_number: u64,
        /// The item.
        pub item_id: u32,
        /// Contiguous sealed bytes held from offset 0 (resume from here).
        pub received_bytes: u64,
        /// Whether the whole item is held (the member has been notified).
        pub complete: bool,
    }
}

body_struct! {
    sample: manual;
    /// `5100`: a member asks for the sealed chunk at `offset`.
    pub struct DeliveryFetch {
        /// The purchase.
        pub transaction_number: u64,
        /// The item.
        pub item_id: u32,
        /// A multiple of `DELIVERY_CHUNK_BYTES_MAX`.
        pub offset: u64,
    }
}

impl DeliveryFetch {
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if self.offset.is_multiple_of(DELIVERY_CHUNK_BYTES_MAX as u64) {
            Ok(())
        } else {
            Err("fetch offset must be a multiple of the chunk size")
        }
    }
}

body_struct! {
    sample: manual;
    /// `5110`: one sealed chunk for the member (same fields as the upload).
    pub struct DeliveryChunk {
        /// The purchase.
        pub transaction_number: u64,
        /// The item.
        pub item_id: u32,
        /// The store's ephemeral X25519 key for this item's sealing.
        pub ephemeral_key: DeliveryKey,
        /// Size of the whole sealed content.
        pub sealed_bytes: u64,
        /// Where this chunk starts.
        pub offset: u64,
        /// Sealed bytes (ciphertext and tag).
        pub chunk: Blob<DELIVERY_CHUNK_BYTES_MAX>,
    }
}

body_struct! {
    sample: manual;
    /// `5140`: an item is ready to fetch.
    pub struct DeliveryReadyNotice {
        /// The purchase.
        pub transaction_number: u64,
        /// The item.
        pub item_id: u32,
        /// Who delivers.
        pub store: StoreNumber,
        /// Plaintext size (from the catalog).
        pub content_bytes: ContentBytes,
        /// Plaintext SHA-256 (from the catalog) to check after opening.
        pub content_sha256: [u8; SHA256_BYTES],
        /// Sealed size: `sealed_size(content_bytes)`.
        pub sealed_bytes: u64,
    }
}

impl DeliveryReadyNotice {
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if self.sealed_bytes == sealed_size(self.content_bytes) {
            Ok(())
        } else {
            Err("sealed size does not match the content size")
        }
    }
}

body_struct! {
    /// `5200`: the member opened the item and its SHA-256 is this.
    pub struct DeliveryAcknowledgement {
        /// The purchase.
        pub transaction_number: u64,
        /// The item.
        pub item_id: u32,
        /// SHA-256 of the opened plaintext.
        pub content_sha256: [u8; SHA256_BYTES],
    }
}

body_struct! {
    /// `5210`: the center's signed receipt binding the order to the content.
    pub struct DeliveryReceipt {
        /// The purchase.
        pub transaction_number: u64,
        /// The item.
        pub item_id: u32,
        /// Who received.
        pub member: MemberNumber,
        /// Who delivered.
        pub store: StoreNumber,
        /// SHA-256 the member acknowledged.
        pub content_sha256: [u8; SHA256_BYTES],
        /// When the center recorded the acknowledgement, unix milliseconds.
        pub acknowledged_at_ms: u64,
    }
}

body_struct! {
    /// `5240`: the store learns the member acknowledged delivery (the same
    /// facts as the receipt).
    pub struct DeliveredNotice {
        /// The purchase.
        pub transaction_number: u64,
        /// The item.
        pub item_id: u32,
        /// Who received.
        pub member: MemberNumber,
        /// Who delivered.
        pub store: StoreNumber,
        /// SHA-256 the member acknowledged.
        pub content_sha256: [u8; SHA256_BYTES],
        /// When the center recorded the acknowledgement, unix milliseconds.
        pub acknowledged_at_ms: u64,
    }
}

body_struct! {
    /// `5300`: a store shipped a mail-order purchase.
    pub struct Shipment {
        /// The purchase.
        pub transaction_number: u64,
        /// Carrier name.
        pub carrier: Text<CARRIER_BYTES_MAX>,
        /// Tracking number or text.
        pub tracking: Text<TRACKING_BYTES_MAX>,
    }
}

body_struct! {
    /// `5310`: the shipment is recorded; the member will be told.
    pub struct ShipmentAnswer {
        /// The purchase.
        pub transaction_number: u64,
        /// The member who will get the shipment notice.
        pub member: MemberNumber,
    }
}

body_struct! {
    /// `5340`: the member's goods were shipped.
    pub struct ShipmentNotice {
        /// The purchase.
        pub transaction_number: u64,
        /// Who shipped.
        pub store: StoreNumber,
        /// Carrier name.
        pub carrier: Text<CARRIER_BYTES_MAX>,
        /// Tracking number or text.
        pub tracking: Text<TRACKING_BYTES_MAX>,
        /// When the store reported the shipment, unix milliseconds.
        pub shipped_at_ms: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK: u64 = DELIVERY_CHUNK_BYTES_MAX as u64;
    const PLAIN: u64 = DELIVERY_PLAINTEXT_CHUNK_BYTES as u64;

    #[test]
    fn sealed_sizes_add_one_tag_per_chunk() {
        let sealed = |bytes| sealed_size(ContentBytes::new(bytes).unwrap());
        assert_eq!(sealed(1), 17);
        assert_eq!(sealed(PLAIN), CHUNK);
        assert_eq!(sealed(PLAIN + 1), CHUNK + 17);
        for bytes in [1, 2, PLAIN - 1, PLAIN, PLAIN + 1, 3 * PLAIN, DELIVERY_BYTES_MAX] {
            assert!(is_sealed_size(sealed(bytes)), "{bytes}");
        }
        assert!(!is_sealed_size(16));
        assert!(!is_sealed_size(CHUNK + 16));
        assert!(!is_sealed_size(sealed(DELIVERY_BYTES_MAX) + 1));
    }

    #[test]
    fn chunk_geometry() {
        let total = CHUNK + 100;
        assert_eq!(check_chunk(total, 0, DELIVERY_CHUNK_BYTES_MAX), Ok(()));
        assert_eq!(check_chunk(total, CHUNK, 100), Ok(()));
        assert!(check_chunk(total, CHUNK, 99).is_err());
        assert!(check_chunk(total, 0, 100).is_err());
        assert!(check_chunk(total, 1, 100).is_err());
        assert!(check_chunk(total, 2 * CHUNK, 0).is_err());
    }
}
