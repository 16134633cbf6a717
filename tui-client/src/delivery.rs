//! Sealed delivery of digital goods (docs/protocol.md, "Sealed delivery"):
//! the store seals an item to the member's delivery key, the center relays
//! the sealed chunks without being able to read them, and the member opens
//! them with the delivery secret kept under password A.
//!
//! No I/O here: callers read and write files and send telegrams.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use denbun_protocol::keyfile::Secret32;
use denbun_protocol::limits::{DELIVERY_CHUNK_BYTES_MAX, DELIVERY_PLAINTEXT_CHUNK_BYTES, DELIVERY_SEAL_TAG_BYTES};
use denbun_protocol::telegram::{ContentBytes, sealed_size};

/// Domain separation for the sealing key.
const DELIVERY_DOMAIN: &[u8] = b"denbun delivery v1";

/// Why a delivery could not be sealed or opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The other side's key is a low-order point: no secret can be agreed.
    #[error("the delivery key is not usable (a low-order key); ask the center")]
    WeakKey,
    /// A chunk did not open: damaged, cut short, reordered, or not for us.
    #[error("chunk {index} of the delivery did not open (damaged or not sealed to this key file)")]
    ChunkDamaged {
        /// The chunk's index from 0.
        index: u64,
    },
    /// The geometry asked for does not exist (offset past the end, wrong size).
    #[error("the delivery's sizes do not fit together")]
    BadGeometry,
}

/// The key that seals or opens one item of one purchase. Wiped on drop.
pub struct DeliveryKey {
    key: Zeroizing<[u8; 32]>,
    transaction_number: u64,
    item_id: u32,
    sealed_bytes: u64,
}

impl std::fmt::Debug for DeliveryKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DeliveryKey")
            .field("transaction_number", &self.transaction_number)
            .field("item_id", &self.item_id)
            .field("sealed_bytes", &self.sealed_bytes)
            .finish_non_exhaustive()
    }
}

fn derive(
    shared: &[u8; 32],
    ephemeral_public: &[u8; 32],
    member_public: &[u8; 32],
    transaction_number: u64,
    item_id: u32,
) -> Zeroizing<[u8; 32]> {
    let mut hash = Sha256::new();
    hash.update(DELIVERY_DOMAIN);
    hash.update(shared);
    hash.update(ephemeral_public);
    hash.update(member_public);
    hash.update(transaction_number.to_be_bytes());
    hash.update(item_id.to_be_bytes());
    Zeroizing::new(hash.finalize().into())
}

impl DeliveryKey {
    /// The store's side: a fresh ephemeral key for sealing `content_bytes`
    /// of item `item_id` of purchase `transaction_number` to the member's
    /// delivery key. Returns the key and the ephemeral public key that goes
    /// in every upload chunk.
    pub fn for_store(
        member_public: &[u8; 32],
        transaction_number: u64,
        item_id: u32,
        content_bytes: ContentBytes,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(DeliveryKey, [u8; 32]), DeliveryError> {
        let mut secret_bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret_bytes.as_mut_slice());
        let secret = x25519_dalek::StaticSecret::from(*secret_bytes);
        let ephemeral_public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*member_public));
        if !shared.was_contributory() {
            return Err(DeliveryError::WeakKey);
        }
        let key = derive(shared.as_bytes(), &ephemeral_public, member_public, transaction_number, item_id);
        let sealed_bytes = sealed_size(content_bytes);
        Ok((DeliveryKey { key, transaction_number, item_id, sealed_bytes }, ephemeral_public))
    }

    /// The member's side: the key that opens the chunks sealed with
    /// `ephemeral_public`, from the delivery secret in the key file.
    pub fn for_member(
        delivery_secret: &Secret32,
        ephemeral_public: &[u8; 32],
        transaction_number: u64,
        item_id: u32,
        sealed_bytes: u64,
    ) -> Result<DeliveryKey, DeliveryError> {
        let secret = x25519_dalek::StaticSecret::from(*delivery_secret.expose());
        let member_public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*ephemeral_public));
        if !shared.was_contributory() {
            return Err(DeliveryError::WeakKey);
        }
        let key = derive(shared.as_bytes(), ephemeral_public, &member_public, transaction_number, item_id);
        Ok(DeliveryKey { key, transaction_number, item_id, sealed_bytes })
    }

    /// Size of the whole sealed content.
    pub fn sealed_bytes(&self) -> u64 {
        self.sealed_bytes
    }

    /// How many chunks the sealed content has.
    pub fn chunk_count(&self) -> u64 {
        self.sealed_bytes.div_ceil(DELIVERY_CHUNK_BYTES_MAX as u64)
    }

    fn nonce(&self, index: u64) -> [u8; 12] {
        let last = u32::from(index + 1 == self.chunk_count());
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&index.to_be_bytes());
        nonce[8..].copy_from_slice(&last.to_be_bytes());
        nonce
    }

    fn associated_data(&self) -> [u8; 20] {
        let mut data = [0u8; 20];
        data[..8].copy_from_slice(&self.transaction_number.to_be_bytes());
        data[8..12].copy_from_slice(&self.item_id.to_be_bytes());
        data[12..].copy_from_slice(&self.sealed_bytes.to_be_bytes());
        data
    }

    /// The plaintext bytes chunk `index` holds.
    pub fn plaintext_bytes_of(&self, index: u64) -> Result<usize, DeliveryError> {
        let sealed = self.sealed_chunk_bytes(index)?;
        Ok(sealed - DELIVERY_SEAL_TAG_BYTES)
    }

    fn sealed_chunk_bytes(&self, index: u64) -> Result<usize, DeliveryError> {
        let offset = index.checked_mul(DELIVERY_CHUNK_BYTES_MAX as u64).ok_or(DeliveryError::BadGeometry)?;
        if offset >= self.sealed_bytes {
            return Err(DeliveryError::BadGeometry);
        }
        Ok((self.sealed_bytes - offset).min(DELIVERY_CHUNK_BYTES_MAX as u64) as usize)
    }

    /// Seals plaintext chunk `index` (exactly [`DeliveryKey::plaintext_bytes_of`] bytes).
    pub fn seal_chunk(&self, index: u64, plaintext: &[u8]) -> Result<Vec<u8>, DeliveryError> {
        if plaintext.len() != self.plaintext_bytes_of(index)? {
            return Err(DeliveryError::BadGeometry);
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.key.as_slice()));
        let associated = self.associated_data();
        cipher
            .encrypt(Nonce::from_slice(&self.nonce(index)), Payload { msg: plaintext, aad: &associated })
            .map_err(|_| DeliveryError::BadGeometry)
    }

    /// Opens sealed chunk `index`.
    pub fn open_chunk(&self, index: u64, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, DeliveryError> {
        if sealed.len() != self.sealed_chunk_bytes(index)? {
            return Err(DeliveryError::ChunkDamaged { index });
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.key.as_slice()));
        let associated = self.associated_data();
        cipher
            .decrypt(Nonce::from_slice(&self.nonce(index)), Payload { msg: sealed, aad: &associated })
            .map(Zeroizing::new)
            .map_err(|_| DeliveryError::ChunkDamaged { index })
    }
}

/// The plaintext chunk size every chunk but the last holds.
pub const PLAINTEXT_CHUNK_BYTES: usize = DELIVERY_PLAINTEXT_CHUNK_BYTES;

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn member_keys(seed: u8) -> (Secret32, [u8; 32]) {
        let secret = [seed; 32];
        let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(secret)).to_bytes();
        (Secret32::new(secret), public)
    }

    #[test]
    fn what_the_store_seals_the_member_opens_chunk_by_chunk() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let (secret, public) = member_keys(9);
        let content: Vec<u8> = (0..(PLAINTEXT_CHUNK_BYTES * 2 + 5)).map(|index| index as u8).collect();
        let size = ContentBytes::new(content.len() as u64).unwrap();
        let (store_key, ephemeral) = DeliveryKey::for_store(&public, 42, 3, size, &mut rng).unwrap();
        assert_eq!(store_key.chunk_count(), 3);
        let member_key = DeliveryKey::for_member(&secret, &ephemeral, 42, 3, store_key.sealed_bytes()).unwrap();
        let mut opened = Vec::new();
        for (index, plain) in content.chunks(PLAINTEXT_CHUNK_BYTES).enumerate() {
            let sealed = store_key.seal_chunk(index as u64, plain).unwrap();
            assert_eq!(sealed.len(), plain.len() + DELIVERY_SEAL_TAG_BYTES);
            opened.extend_from_slice(&member_key.open_chunk(index as u64, &sealed).unwrap());
        }
        assert_eq!(opened, content);
    }

    #[test]
    fn chunks_out_of_place_or_for_another_purchase_do_not_open() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let (secret, public) = member_keys(10);
        let size = ContentBytes::new((PLAINTEXT_CHUNK_BYTES + 10) as u64).unwrap();
        let (store_key, ephemeral) = DeliveryKey::for_store(&public, 1, 1, size, &mut rng).unwrap();
        let first = store_key.seal_chunk(0, &vec![1; PLAINTEXT_CHUNK_BYTES]).unwrap();
        let last = store_key.seal_chunk(1, &[2; 10]).unwrap();
        let member_key = DeliveryKey::for_member(&secret, &ephemeral, 1, 1, store_key.sealed_bytes()).unwrap();
        assert_eq!(member_key.open_chunk(1, &first), Err(DeliveryError::ChunkDamaged { index: 1 }));
        let other_purchase = DeliveryKey::for_member(&secret, &ephemeral, 2, 1, store_key.sealed_bytes()).unwrap();
        assert!(other_purchase.open_chunk(1, &last).is_err());
        let (other_secret, _) = member_keys(11);
        let other_member = DeliveryKey::for_member(&other_secret, &ephemeral, 1, 1, store_key.sealed_bytes()).unwrap();
        assert!(other_member.open_chunk(1, &last).is_err());
        assert_eq!(store_key.seal_chunk(2, &[0]), Err(DeliveryError::BadGeometry));
        assert_eq!(store_key.seal_chunk(1, &[0; 9]), Err(DeliveryError::BadGeometry));
        let shown = format!("{member_key:?}");
        assert!(!shown.contains("key:"), "{shown}");
    }

    #[test]
    fn a_low_order_member_key_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let size = ContentBytes::new(1).unwrap();
        assert_eq!(DeliveryKey::for_store(&[0; 32], 1, 1, size, &mut rng).unwrap_err(), DeliveryError::WeakKey);
    }
}
