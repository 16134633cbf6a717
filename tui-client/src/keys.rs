//! Key generation for members, stores and the center.
//!
//! The signature key seed comes from the operating system's random generator.
//! A member may type a "seed" phrase as well (the patent's hand-written
//! signature, paragraph [0021]): it is hashed together with the random bytes,
//! so it adds entropy but never replaces the generator. Two members typing the
//! same phrase still get unrelated keys.

use rand_core::{CryptoRng, OsRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use denbun_protocol::keyfile::Secret32;

/// Domain separation for the seed hash, so the hash is used for nothing else.
const SEED_DOMAIN: &[u8] = b"denbun signature key seed v1\0";

/// A phrase a member types to add to the key's randomness. Wiped on drop,
/// never printed.
pub struct SeedPhrase(Zeroizing<String>);

impl SeedPhrase {
    /// Takes ownership of the typed text.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }
}

impl From<&str> for SeedPhrase {
    fn from(text: &str) -> Self {
        Self::new(text.to_owned())
    }
}

impl std::fmt::Debug for SeedPhrase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SeedPhrase(redacted)")
    }
}

/// The signature key seed: SHA-256 over a domain tag, 32 random bytes and the
/// phrase (length first, so no two inputs run together).
pub fn mix_seed(random: &[u8; 32], phrase: Option<&SeedPhrase>) -> Secret32 {
    let mut hash = Sha256::new();
    hash.update(SEED_DOMAIN);
    hash.update(random);
    let phrase_bytes = phrase.map_or(&[][..], |phrase| phrase.0.as_bytes());
    hash.update((phrase_bytes.len() as u64).to_be_bytes());
    hash.update(phrase_bytes);
    let mut seed: [u8; 32] = hash.finalize().into();
    let secret = Secret32::new(seed);
    seed.zeroize();
    secret
}

/// A member's (or store's) new keys: the signature key and the delivery key pair.
pub struct MemberKeys {
    /// Ed25519 signature key seed; goes under password B.
    pub signing_seed: Secret32,
    /// Ed25519 verification key; registered at the center.
    pub verification_key: [u8; 32],
    /// X25519 secret key that opens sealed deliveries; goes under password A.
    pub delivery_secret_key: Secret32,
    /// X25519 public key stores seal deliveries to.
    pub delivery_public_key: [u8; 32],
}

impl std::fmt::Debug for MemberKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("MemberKeys")
            .field("verification_key", &self.verification_key)
            .field("delivery_public_key", &self.delivery_public_key)
            .finish_non_exhaustive()
    }
}

fn random_secret(rng: &mut (impl RngCore + CryptoRng)) -> Secret32 {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(bytes.as_mut_slice());
    Secret32::new(*bytes)
}

fn verification_key_of(seed: &Secret32) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed.expose()).verifying_key().to_bytes()
}

fn x25519_public_of(secret: &Secret32) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*secret.expose())).to_bytes()
}

/// New keys from `rng` (the OS generator in real use; seeded in tests),
/// the phrase mixed into the signature key.
pub fn generate_member_keys(rng: &mut (impl RngCore + CryptoRng), phrase: Option<&SeedPhrase>) -> MemberKeys {
    let random = random_secret(rng);
    let signing_seed = mix_seed(random.expose(), phrase);
    let delivery_secret_key = random_secret(rng);
    MemberKeys {
        verification_key: verification_key_of(&signing_seed),
        delivery_public_key: x25519_public_of(&delivery_secret_key),
        signing_seed,
        delivery_secret_key,
    }
}

/// New keys from the operating system's random generator.
pub fn generate_member_keys_from_os(phrase: Option<&SeedPhrase>) -> MemberKeys {
    generate_member_keys(&mut OsRng, phrase)
}

/// The center's new keys: the signature key of its answers and notices, and
/// the static key of its Noise handshake.
pub struct CenterKeys {
    /// Ed25519 signature key seed.
    pub signing_seed: Secret32,
    /// Ed25519 verification key, published on `center.pub`.
    pub verification_key: [u8; 32],
    /// X25519 static secret key of the Noise NK handshake.
    pub noise_secret_key: Secret32,
    /// X25519 static public key, published on `center.pub`.
    pub noise_public_key: [u8; 32],
}

impl std::fmt::Debug for CenterKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CenterKeys")
            .field("verification_key", &self.verification_key)
            .field("noise_public_key", &self.noise_public_key)
            .finish_non_exhaustive()
    }
}

/// New center keys from `rng`.
pub fn generate_center_keys(rng: &mut (impl RngCore + CryptoRng)) -> CenterKeys {
    let random = random_secret(rng);
    let signing_seed = mix_seed(random.expose(), None);
    let noise_secret_key = random_secret(rng);
    CenterKeys {
        verification_key: verification_key_of(&signing_seed),
        noise_public_key: x25519_public_of(&noise_secret_key),
        signing_seed,
        noise_secret_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn the_phrase_adds_to_the_random_bytes_and_never_replaces_them() {
        let phrase = SeedPhrase::from("my signature");
        let with_phrase = mix_seed(&[1; 32], Some(&phrase));
        assert_ne!(with_phrase, mix_seed(&[1; 32], None), "the phrase changes the key");
        assert_ne!(with_phrase, mix_seed(&[2; 32], Some(&phrase)), "the same phrase with other randomness differs");
        assert_eq!(with_phrase, mix_seed(&[1; 32], Some(&SeedPhrase::from("my signature"))), "deterministic");
        // An empty phrase adds nothing, exactly like no phrase.
        assert_eq!(mix_seed(&[0; 32], Some(&SeedPhrase::from(""))), mix_seed(&[0; 32], None));
    }

    #[test]
    fn generated_keys_are_consistent_pairs() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let keys = generate_member_keys(&mut rng, Some(&SeedPhrase::from("phrase")));
        assert_eq!(keys.verification_key, verification_key_of(&keys.signing_seed));
        assert_eq!(keys.delivery_public_key, x25519_public_of(&keys.delivery_secret_key));
        let other = generate_member_keys(&mut rng, Some(&SeedPhrase::from("phrase")));
        assert_ne!(keys.verification_key, other.verification_key, "same phrase, fresh randomness, other key");
        let center = generate_center_keys(&mut rng);
        assert_eq!(center.noise_public_key, x25519_public_of(&center.noise_secret_key));
        let from_os = generate_member_keys_from_os(None);
        assert_ne!(from_os.verification_key, keys.verification_key);
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let keys = generate_member_keys(&mut rng, None);
        let shown = format!("{keys:?} {:?} {:?}", SeedPhrase::from("hunter2"), generate_center_keys(&mut rng));
        assert!(!shown.contains("hunter2") && !shown.contains("signing_seed") && !shown.contains("secret"), "{shown}");
    }
}
