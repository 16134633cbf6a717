//! A member's (or store's) key file contents: what password A opens.

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::{FileKind, KdfPolicy, KeyFileError, LayerKey, Password, Secret32};
use crate::header::{PartyId, PartyKind};
use crate::identity::CenterIdentity;
use crate::limits::{
    ITEM_TITLE_BYTES_MAX, KEYFILE_HISTORY_ENTRIES_MAX, KEYFILE_INNER_BYTES_MAX, KEYFILE_OUTBOX_ENTRIES_MAX,
    KEYFILE_RECEIPT_BYTES_MAX, NAME_BYTES_MAX, TELEGRAM_BYTES_MAX, TRADE_NAME_BYTES_MAX,
};
use crate::wire::{Blob, Date, List, Text, Writer, Yen, decode_exact};

crate::wire_struct! {
    /// Whose key file this is.
    pub struct Profile {
        /// The member, store or operator number the center assigned (encoded
        /// as the header encodes a party: kind byte, then number).
        pub party: PartyId,
        /// The owner's name as registered.
        pub name: Text<NAME_BYTES_MAX>,
    }
}

crate::wire_struct! {
    /// One past purchase (or other settled business), readable offline with
    /// password A alone.
    pub struct HistoryEntry {
        /// The day it happened.
        pub date: Date,
        /// The store's trade name (or "center" for business with the center).
        pub store: Text<TRADE_NAME_BYTES_MAX>,
        /// What was bought, as one line.
        pub goods: Text<ITEM_TITLE_BYTES_MAX>,
        /// How much it cost.
        pub amount: Yen,
        /// The center's signed answer, kept as evidence: the raw telegram bytes.
        pub receipt: Blob<KEYFILE_RECEIPT_BYTES_MAX>,
    }
}

crate::wire_struct! {
    /// A signed telegram waiting for the center's answer (claim 3).
    pub struct OutboxEntry {
        /// The telegram's processing number, the center's idempotency key.
        pub processing_number: u64,
        /// The complete signed telegram, sent again unchanged after a crash
        /// (with the repeat digit set, which the signature does not cover).
        pub telegram: Blob<TELEGRAM_BYTES_MAX>,
    }
}

crate::wire_struct! {
    /// Everything password A opens.
    pub struct VaultContents {
        /// Whose key file this is.
        pub profile: Profile,
        /// The center this terminal trusts (pinned at registration).
        pub center: CenterIdentity,
        /// The Ed25519 verification key registered at the center.
        pub verification_key: [u8; 32],
        /// The X25519 public key stores seal digital goods to.
        pub delivery_public_key: [u8; 32],
        /// The next processing number to use; never goes down, so no number is
        /// used twice, even across crashes.
        pub next_processing_number: u64,
        /// Signed telegrams not yet answered, in processing-number order.
        pub outbox: List<OutboxEntry, KEYFILE_OUTBOX_ENTRIES_MAX>,
        /// Past purchases, oldest first.
        pub history: List<HistoryEntry, KEYFILE_HISTORY_ENTRIES_MAX>,
        /// The inner layer (password B) holding the signature key seed; opaque here.
        pub inner_layer: Blob<KEYFILE_INNER_BYTES_MAX>,
        /// The X25519 secret key that opens sealed deliveries. Last on purpose:
        /// when the encoding buffer grows, the copies it leaves behind hold
        /// only what came before, never this secret.
        pub delivery_secret_key: Secret32,
    }
}

impl VaultContents {
    /// Checks what the encoding alone cannot: the delivery key pair matches,
    /// outbox numbers rise and are all below the next processing number.
    pub fn check_consistency(&self) -> Result<(), &'static str> {
        if !matches!(self.profile.party.kind(), PartyKind::Member | PartyKind::Store | PartyKind::Operator) {
            return Err("it belongs to neither a member, a store nor an operator");
        }
        let public =
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*self.delivery_secret_key.expose()));
        if public.to_bytes() != self.delivery_public_key {
            return Err("its delivery key pair does not match");
        }
        let mut previous: Option<u64> = None;
        for entry in self.outbox.iter() {
            if previous.is_some_and(|previous| entry.processing_number <= previous) {
                return Err("its outbox is out of order");
            }
            if entry.processing_number >= self.next_processing_number {
                return Err("its outbox holds a processing number not yet allocated");
            }
            previous = Some(entry.processing_number);
        }
        Ok(())
    }

    /// The canonical encoding, in a buffer that is wiped on drop.
    pub fn encode_secret(&self) -> Zeroizing<Vec<u8>> {
        let mut writer = Writer::new();
        writer.put(self);
        Zeroizing::new(writer.into_vec())
    }

    fn decode_checked(plaintext: &[u8]) -> Result<Self, KeyFileError> {
        let contents = decode_exact::<Self>(plaintext)
            .map_err(|_| KeyFileError::Corrupt { detail: "its contents do not decode" })?;
        contents.check_consistency().map_err(|detail| KeyFileError::Corrupt { detail })?;
        Ok(contents)
    }
}

/// Encrypts a member's contents under key A into a complete key file.
///
/// Panics if `contents` are inconsistent: that is a bug in the caller, and
/// writing such a file would make it unreadable.
pub fn seal_vault(contents: &VaultContents, key_a: &LayerKey, rng: &mut (impl RngCore + CryptoRng)) -> Vec<u8> {
    if let Err(problem) = contents.check_consistency() {
        panic!("refusing to write inconsistent key file contents: {problem}");
    }
    super::seal(FileKind::MemberVault, key_a, &contents.encode_secret(), rng)
}

/// Opens a member's key file with password A (one scrypt run). Returns key A,
/// to keep for later saves, and the contents.
pub fn open_vault(
    bytes: &[u8],
    password_a: &Password,
    policy: KdfPolicy,
) -> Result<(LayerKey, VaultContents), KeyFileError> {
    let (key, plaintext) = super::open(bytes, FileKind::MemberVault, password_a, policy)?;
    Ok((key, VaultContents::decode_checked(&plaintext)?))
}

/// Opens a member's key file with key A already derived (no scrypt run).
pub fn open_vault_with_key(bytes: &[u8], key_a: &LayerKey) -> Result<VaultContents, KeyFileError> {
    let plaintext = super::open_with_key(bytes, FileKind::MemberVault, key_a)?;
    VaultContents::decode_checked(&plaintext)
}
