//! The center's key file: the same envelope with one layer (the operator's
//! passphrase), holding the center's identity and both of its secret keys.

use rand_core::{CryptoRng, RngCore};

use super::{FileKind, KdfPolicy, KeyFileError, LayerKey, Password, Secret32};
use crate::identity::CenterIdentity;
use crate::wire::{Writer, decode_exact};

crate::wire_struct! {
    /// Everything the operator's passphrase opens.
    pub struct CenterKeyContents {
        /// The public identity, from which `center.pub` is written.
        pub identity: CenterIdentity,
        /// Seed of the Ed25519 key that signs every answer and notice.
        pub signing_seed: Secret32,
        /// X25519 static secret key of the Noise NK handshake.
        pub noise_secret_key: Secret32,
    }
}

impl CenterKeyContents {
    /// Whether both secret keys derive the public keys of the identity.
    pub fn check_consistency(&self) -> Result<(), KeyFileError> {
        let signing_key = ed25519_dalek::SigningKey::from_bytes(self.signing_seed.expose());
        let noise_public =
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*self.noise_secret_key.expose()));
        if signing_key.verifying_key().to_bytes() != self.identity.verification_key
            || noise_public.to_bytes() != self.identity.noise_public_key
        {
            return Err(KeyFileError::SeedMismatch);
        }
        Ok(())
    }

    /// The Ed25519 signing key (wipes itself on drop).
    pub fn signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(self.signing_seed.expose())
    }
}

/// Encrypts the center's keys under the passphrase key into a complete key file.
///
/// Panics if the secret keys do not match the identity (a bug in the caller).
pub fn seal_center_keys(contents: &CenterKeyContents, key: &LayerKey, rng: &mut (impl RngCore + CryptoRng)) -> Vec<u8> {
    if contents.check_consistency().is_err() {
        panic!("refusing to write a center key file whose secret keys do not match its identity");
    }
    // Secrets are encoded last, so buffer growth leaves no copy of them behind.
    let mut writer = Writer::new();
    writer.put(contents);
    let plaintext = zeroize::Zeroizing::new(writer.into_vec());
    super::seal(FileKind::CenterKeys, key, &plaintext, rng)
}

/// Opens the center's key file with the operator's passphrase.
pub fn open_center_keys(
    bytes: &[u8],
    passphrase: &Password,
    policy: KdfPolicy,
) -> Result<(LayerKey, CenterKeyContents), KeyFileError> {
    let (key, plaintext) = super::open(bytes, FileKind::CenterKeys, passphrase, policy)?;
    let contents = decode_exact::<CenterKeyContents>(&plaintext)
        .map_err(|_| KeyFileError::Corrupt { detail: "its contents do not decode" })?;
    contents.check_consistency()?;
    Ok((key, contents))
}
