//! The inner layer: the Ed25519 signature key seed under password B.
//!
//! It travels inside the outer layer as an opaque byte string of fixed size:
//!
//! ```text
//! offset size field
//!  0      1   inner layer version = 1
//!  1      1   key derivation (1 = scrypt)
//!  2      1   scrypt log_n
//!  3      4   scrypt r, u32 big-endian
//!  7      4   scrypt p, u32 big-endian
//! 11     32   scrypt salt (its own, not the outer layer's)
//! 43     32   binding: SHA-256 of the owner's kind, number and verification key
//! 75     24   XChaCha20-Poly1305 nonce
//!            (bytes 0..99 are the AEAD's associated data)
//! 99     48   ciphertext of the 32-byte seed, then its tag
//! ```
//!
//! The binding in the associated data ties the layer to one member and one
//! verification key: moved into another member's file it no longer decrypts.
//! The reader compares the binding first, so a moved layer is reported as
//! such (without a scrypt run) rather than as a wrong password.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{KDF_SCRYPT, KdfParams, KdfPolicy, KeyFileError, LayerKey, Password, Secret32};
use crate::header::PartyId;
use crate::limits::{KEYFILE_INNER_BYTES_MAX, KEYFILE_NONCE_BYTES, KEYFILE_SALT_BYTES, KEYFILE_TAG_BYTES};
use crate::wire::Blob;

/// The inner layer's own format version.
pub const INNER_VERSION: u8 = 1;
/// Bytes of the associated data: everything before the ciphertext.
const ASSOCIATED_BYTES: usize = 1 + 1 + 1 + 4 + 4 + KEYFILE_SALT_BYTES + 32 + KEYFILE_NONCE_BYTES;
/// Bytes of the whole inner layer.
pub const INNER_BYTES: usize = ASSOCIATED_BYTES + 32 + KEYFILE_TAG_BYTES;

const _: () = assert!(ASSOCIATED_BYTES == 99 && INNER_BYTES == 147);
const _: () = assert!(INNER_BYTES <= KEYFILE_INNER_BYTES_MAX);

/// Domain separation for the binding hash.
const BINDING_DOMAIN: &[u8] = b"denbun inner layer binding v1\0";

/// Whose signature key an inner layer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InnerBinding {
    /// The member, store or operator.
    pub party: PartyId,
    /// The verification key the seed must derive.
    pub verification_key: [u8; 32],
}

impl InnerBinding {
    fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(BINDING_DOMAIN);
        hash.update([self.party.kind() as u8]);
        hash.update(self.party.number().to_be_bytes());
        hash.update(self.verification_key);
        hash.finalize().into()
    }
}

/// Encrypts the signature key `seed` under password B (one scrypt run with a
/// fresh salt). Fails if `params` are outside `policy`, or if the seed does not
/// derive the binding's verification key (a bug in the caller).
pub fn seal_inner(
    seed: &Secret32,
    binding: &InnerBinding,
    password_b: &Password,
    params: KdfParams,
    policy: KdfPolicy,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Blob<KEYFILE_INNER_BYTES_MAX>, KeyFileError> {
    check_seed(seed, binding)?;
    let key = LayerKey::generate(password_b, params, policy, rng)?;
    let mut layer = Vec::with_capacity(INNER_BYTES);
    layer.push(INNER_VERSION);
    layer.push(KDF_SCRYPT);
    layer.push(params.log_n());
    layer.extend_from_slice(&params.r().to_be_bytes());
    layer.extend_from_slice(&params.p().to_be_bytes());
    layer.extend_from_slice(key.salt());
    layer.extend_from_slice(&binding.digest());
    let mut nonce = [0u8; KEYFILE_NONCE_BYTES];
    rng.fill_bytes(&mut nonce);
    layer.extend_from_slice(&nonce);
    let ciphertext = cipher(&key)
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: seed.expose(), aad: &layer })
        .expect("a 32-byte message always encrypts");
    layer.extend_from_slice(&ciphertext);
    assert_eq!(layer.len(), INNER_BYTES);
    Ok(Blob::new(layer).expect("INNER_BYTES fits KEYFILE_INNER_BYTES_MAX"))
}

/// Decrypts the signature key seed with password B (one scrypt run), and
/// checks that it derives the binding's verification key.
pub fn open_inner(
    layer: &Blob<KEYFILE_INNER_BYTES_MAX>,
    binding: &InnerBinding,
    password_b: &Password,
    policy: KdfPolicy,
) -> Result<Secret32, KeyFileError> {
    let bytes = layer.as_slice();
    // The outer layer is authenticated, so a malformed inner layer is a file
    // made by something other than Denbun: report it as damage.
    if bytes.is_empty() {
        return Err(KeyFileError::Corrupt { detail: "its signing layer is empty" });
    }
    if bytes[0] != INNER_VERSION {
        return Err(KeyFileError::UnsupportedVersion { found: bytes[0], supported: INNER_VERSION });
    }
    if bytes.len() != INNER_BYTES {
        return Err(KeyFileError::Corrupt { detail: "its signing layer has the wrong size" });
    }
    if bytes[1] != KDF_SCRYPT {
        return Err(KeyFileError::Corrupt { detail: "its signing layer's key derivation is unknown" });
    }
    let params = KdfParams::new(
        bytes[2],
        u32::from_be_bytes(bytes[3..7].try_into().expect("4 bytes")),
        u32::from_be_bytes(bytes[7..11].try_into().expect("4 bytes")),
    );
    let salt: [u8; KEYFILE_SALT_BYTES] = bytes[11..43].try_into().expect("32 bytes");
    if bytes[43..75] != binding.digest() {
        return Err(KeyFileError::InnerLayerMismatch);
    }
    let key = LayerKey::derive(password_b, params, salt, policy)?;
    let (associated, ciphertext) = bytes.split_at(ASSOCIATED_BYTES);
    let nonce = &associated[75..];
    let plaintext = Zeroizing::new(
        cipher(&key)
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: associated })
            .map_err(|_| KeyFileError::WrongPasswordB)?,
    );
    let mut seed_bytes: [u8; 32] = plaintext
        .as_slice()
        .try_into()
        .map_err(|_| KeyFileError::Corrupt { detail: "its signature key has the wrong size" })?;
    let seed = Secret32::new(seed_bytes);
    zeroize::Zeroize::zeroize(&mut seed_bytes);
    check_seed(&seed, binding)?;
    Ok(seed)
}

fn cipher(key: &LayerKey) -> XChaCha20Poly1305 {
    key.cipher()
}

/// Whether `seed` derives the binding's verification key.
fn check_seed(seed: &Secret32, binding: &InnerBinding) -> Result<(), KeyFileError> {
    let signing_key = ed25519_dalek::SigningKey::from_bytes(seed.expose());
    if signing_key.verifying_key().to_bytes() != binding.verification_key {
        return Err(KeyFileError::SeedMismatch);
    }
    Ok(())
}
