//! The key-file layout and its cryptography (docs/keyfile.md). No I/O: the
//! client reads and writes the files, this module turns contents into bytes
//! and back, and the caller passes the randomness.
//!
//! Every key file, member or center, is one *envelope*:
//!
//! ```text
//! offset size field
//!  0      8   magic "DENBUNKF"
//!  8      1   format version = 1
//!  9      1   file kind (1 member or store key file, 2 center key file)
//! 10      1   key derivation (1 = scrypt)
//! 11      1   scrypt log_n
//! 12      4   scrypt r, u32 big-endian
//! 16      4   scrypt p, u32 big-endian
//! 20     32   scrypt salt
//!            (bytes 0..52 are the plain header: the AEAD's associated data)
//! 52     24   XChaCha20-Poly1305 nonce, fresh for every save
//! 76      n   ciphertext of the contents, then its 16-byte tag
//! 76+n+16 32  SHA-256 of every byte before it (not secret)
//! ```
//!
//! The checksum tells damage from a wrong password: a file whose checksum
//! fails is damaged; a file whose checksum holds but whose AEAD fails was
//! opened with the wrong password. The magic, the version byte's place and the
//! trailing checksum are fixed for every format version, present and future,
//! so damage is always reported as damage and an intact newer file as newer.
//!
//! A member's key file holds [`VaultContents`]; inside it, the signature key
//! seed sits in a second, inner layer under password B ([`inner`]). The
//! center's key file holds [`CenterKeyContents`] under one passphrase.

mod center;
pub mod inner;
mod secret;
mod vault;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use center::{CenterKeyContents, open_center_keys, seal_center_keys};
pub use inner::{InnerBinding, open_inner, seal_inner};
pub use secret::{Password, Secret32};
pub use vault::{HistoryEntry, OutboxEntry, Profile, VaultContents, open_vault, open_vault_with_key, seal_vault};

use crate::limits::{
    KEYFILE_BYTES_MAX, KEYFILE_CHECKSUM_BYTES, KEYFILE_LOG_N_DEFAULT, KEYFILE_LOG_N_MAX, KEYFILE_LOG_N_MIN,
    KEYFILE_NONCE_BYTES, KEYFILE_SALT_BYTES, KEYFILE_SCRYPT_P_DEFAULT, KEYFILE_SCRYPT_P_MAX, KEYFILE_SCRYPT_P_MIN,
    KEYFILE_SCRYPT_R_DEFAULT, KEYFILE_SCRYPT_R_MAX, KEYFILE_SCRYPT_R_MIN, KEYFILE_TAG_BYTES,
};

/// The first eight bytes of every key file.
pub const MAGIC: [u8; 8] = *b"DENBUNKF";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Offset of the version byte; fixed for every format version.
const VERSION_OFFSET: usize = MAGIC.len();
/// The plain header: magic, version, kind, KDF, log_n, r, p, salt.
pub const HEADER_BYTES: usize = 8 + 1 + 1 + 1 + 1 + 4 + 4 + KEYFILE_SALT_BYTES;
/// Where the ciphertext starts.
const CIPHERTEXT_OFFSET: usize = HEADER_BYTES + KEYFILE_NONCE_BYTES;
/// The smallest well-formed file: empty contents.
pub const FILE_BYTES_MIN: usize = CIPHERTEXT_OFFSET + KEYFILE_TAG_BYTES + KEYFILE_CHECKSUM_BYTES;

const _: () = assert!(HEADER_BYTES == 52);
const _: () = assert!(FILE_BYTES_MIN < KEYFILE_BYTES_MAX);

crate::wire_enum! {
    /// What a key file holds; a file of one kind never opens as another.
    pub enum FileKind {
        /// A member's or store's two-layer key file.
        MemberVault = 1,
        /// The center's one-layer key file.
        CenterKeys = 2,
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            FileKind::MemberVault => "a member's or store's key file",
            FileKind::CenterKeys => "the center's key file",
        })
    }
}

/// The only key derivation of format version 1.
pub(crate) const KDF_SCRYPT: u8 = 1;

/// scrypt cost parameters: memory and time grow with `2^log_n * r`, time with `p`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KdfParams {
    log_n: u8,
    r: u32,
    p: u32,
}

impl KdfParams {
    /// What new key files use: log_n 17, r 8, p 1 (128 MiB per layer).
    pub const DEFAULT: KdfParams =
        KdfParams { log_n: KEYFILE_LOG_N_DEFAULT, r: KEYFILE_SCRYPT_R_DEFAULT, p: KEYFILE_SCRYPT_P_DEFAULT };

    /// Any parameters; a [`KdfPolicy`] decides before use whether they are acceptable.
    pub const fn new(log_n: u8, r: u32, p: u32) -> Self {
        Self { log_n, r, p }
    }

    /// log2 of scrypt's N.
    pub fn log_n(self) -> u8 {
        self.log_n
    }

    /// scrypt's block size r.
    pub fn r(self) -> u32 {
        self.r
    }

    /// scrypt's parallelism p.
    pub fn p(self) -> u32 {
        self.p
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which scrypt parameters a reader accepts, checked before scrypt runs so a
/// hostile file cannot make it allocate gigabytes or run for minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfPolicy {
    log_n_min: u8,
}

impl KdfPolicy {
    /// log_n 15..=20, r 1..=8, p 1..=4: what every real key file must meet.
    pub const STANDARD: KdfPolicy = KdfPolicy { log_n_min: KEYFILE_LOG_N_MIN };

    /// **Tests only.** Accepts log_n down to `log_n_min` so the test vector and
    /// tests that save thousands of times run in milliseconds. Nothing that
    /// opens a member's real key file may use this.
    pub const fn test_only_with_log_n_min(log_n_min: u8) -> Self {
        Self { log_n_min }
    }

    /// Whether `params` are within this policy and valid for scrypt.
    pub fn check(self, params: KdfParams) -> Result<(), KeyFileError> {
        let out_of_range = KeyFileError::ParametersOutOfRange { log_n: params.log_n, r: params.r, p: params.p };
        let within = (self.log_n_min..=KEYFILE_LOG_N_MAX).contains(&params.log_n)
            && (KEYFILE_SCRYPT_R_MIN..=KEYFILE_SCRYPT_R_MAX).contains(&params.r)
            && (KEYFILE_SCRYPT_P_MIN..=KEYFILE_SCRYPT_P_MAX).contains(&params.p);
        if !within || scrypt_params(params).is_none() {
            return Err(out_of_range);
        }
        Ok(())
    }
}

impl Default for KdfPolicy {
    fn default() -> Self {
        Self::STANDARD
    }
}

fn scrypt_params(params: KdfParams) -> Option<scrypt::Params> {
    scrypt::Params::new(params.log_n, params.r, params.p, 32).ok()
}

/// A 32-byte key derived from a password, with the salt and parameters it was
/// derived with. Kept for a session so saving needs no new scrypt run. Wiped on
/// drop, never printed.
#[derive(Clone)]
pub struct LayerKey {
    key: Secret32,
    params: KdfParams,
    salt: [u8; KEYFILE_SALT_BYTES],
}

impl LayerKey {
    /// Runs scrypt (the slow part: about a second at the defaults).
    pub fn derive(
        password: &Password,
        params: KdfParams,
        salt: [u8; KEYFILE_SALT_BYTES],
        policy: KdfPolicy,
    ) -> Result<Self, KeyFileError> {
        policy.check(params)?;
        let scrypt_params = scrypt_params(params).ok_or(KeyFileError::ParametersOutOfRange {
            log_n: params.log_n,
            r: params.r,
            p: params.p,
        })?;
        let mut key = Zeroizing::new([0u8; 32]);
        scrypt::scrypt(password.as_bytes(), &salt, &scrypt_params, key.as_mut_slice())
            .expect("a 32-byte output is valid for scrypt");
        Ok(Self { key: Secret32::new(*key), params, salt })
    }

    /// A key with a fresh random salt, for a new file or a new password.
    pub fn generate(
        password: &Password,
        params: KdfParams,
        policy: KdfPolicy,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self, KeyFileError> {
        let mut salt = [0u8; KEYFILE_SALT_BYTES];
        rng.fill_bytes(&mut salt);
        Self::derive(password, params, salt, policy)
    }

    /// The parameters the key was derived with.
    pub fn params(&self) -> KdfParams {
        self.params
    }

    /// The salt the key was derived with.
    pub fn salt(&self) -> &[u8; KEYFILE_SALT_BYTES] {
        &self.salt
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.expose().into())
    }
}

impl std::fmt::Debug for LayerKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("LayerKey").field("params", &self.params).finish_non_exhaustive()
    }
}

/// Why a key file (or its inner layer) did not open. Each is a different
/// situation with a different remedy; the messages say which.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The bytes are not an intact key file: truncated, bit-flipped, or not a
    /// key file at all. The previous version (`.bak`) may still be good.
    #[error("the key file is damaged ({detail}); the backup copy (.bak) next to it holds the previous version")]
    Corrupt { detail: &'static str },
    /// The file is intact but password A does not open it.
    #[error("wrong password A: the key file is intact, but this password does not open it")]
    WrongPasswordA,
    /// The signing layer is intact but password B does not open it.
    #[error("wrong password B: your history is readable, but signing needs the right password B")]
    WrongPasswordB,
    /// The center's key file is intact but the passphrase does not open it.
    #[error("wrong passphrase: the center's key file is intact, but this passphrase does not open it")]
    WrongPassphrase,
    /// An intact file written by a newer version of Denbun.
    #[error("the key file uses format version {found}, newer than this program reads ({supported}); update Denbun")]
    UnsupportedVersion { found: u8, supported: u8 },
    /// scrypt parameters outside what is accepted (refused before running scrypt).
    #[error(
        "the key file asks for key derivation settings outside the accepted range \
         (log_n {log_n}, r {r}, p {p}; accepted: log_n {}..={}, r {}..={}, p {}..={}): \
         it was not made by Denbun, or was tampered with",
        KEYFILE_LOG_N_MIN,
        KEYFILE_LOG_N_MAX,
        KEYFILE_SCRYPT_R_MIN,
        KEYFILE_SCRYPT_R_MAX,
        KEYFILE_SCRYPT_P_MIN,
        KEYFILE_SCRYPT_P_MAX
    )]
    ParametersOutOfRange { log_n: u8, r: u32, p: u32 },
    /// A file of another kind (a center key file opened as a member's).
    #[error("this is {found}, not {expected}")]
    WrongKind { expected: FileKind, found: FileKind },
    /// The signing layer belongs to another key file (other member or key).
    #[error("the signing layer in this key file belongs to another member or key; it was moved here from another file")]
    InnerLayerMismatch,
    /// The decrypted seed does not derive the stored verification key.
    #[error(
        "the signature key in the key file does not match its verification key; \
         the file was tampered with: restore the backup (.bak) or register again"
    )]
    SeedMismatch,
}

/// The fields of an envelope that passed its structural checks.
struct Envelope<'a> {
    header: &'a [u8],
    params: KdfParams,
    salt: [u8; KEYFILE_SALT_BYTES],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

/// Checks size, magic, checksum, version, kind and KDF, in that order: every
/// check before the checksum is one no damaged file can pass by accident into
/// a wrong diagnosis, and the version is read only from a file known intact.
fn parse_envelope(bytes: &[u8], kind: FileKind) -> Result<Envelope<'_>, KeyFileError> {
    let corrupt = |detail| Err(KeyFileError::Corrupt { detail });
    if bytes.len() < MAGIC.len() + 1 + KEYFILE_CHECKSUM_BYTES {
        return corrupt("it is too short to be a key file");
    }
    if bytes.len() > KEYFILE_BYTES_MAX {
        return corrupt("it is larger than any key file");
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return corrupt("it does not start like a Denbun key file");
    }
    let (body, checksum) = bytes.split_at(bytes.len() - KEYFILE_CHECKSUM_BYTES);
    if Sha256::digest(body).as_slice() != checksum {
        return corrupt("its checksum does not match its contents");
    }
    match bytes[VERSION_OFFSET] {
        FORMAT_VERSION => {}
        0 => return corrupt("its format version is zero"),
        found => return Err(KeyFileError::UnsupportedVersion { found, supported: FORMAT_VERSION }),
    }
    if bytes.len() < FILE_BYTES_MIN {
        return corrupt("it is too short to be a key file");
    }
    let found = FileKind::from_byte(bytes[9]).ok_or(KeyFileError::Corrupt { detail: "its file kind is unknown" })?;
    if found != kind {
        return Err(KeyFileError::WrongKind { expected: kind, found });
    }
    if bytes[10] != KDF_SCRYPT {
        return corrupt("its key derivation is unknown");
    }
    let params = KdfParams {
        log_n: bytes[11],
        r: u32::from_be_bytes(bytes[12..16].try_into().expect("4 bytes")),
        p: u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes")),
    };
    let salt = bytes[20..HEADER_BYTES].try_into().expect("32 bytes");
    Ok(Envelope {
        header: &bytes[..HEADER_BYTES],
        params,
        salt,
        nonce: &bytes[HEADER_BYTES..CIPHERTEXT_OFFSET],
        ciphertext: &body[CIPHERTEXT_OFFSET..],
    })
}

fn header_bytes(kind: FileKind, key: &LayerKey) -> [u8; HEADER_BYTES] {
    let mut header = [0u8; HEADER_BYTES];
    header[..8].copy_from_slice(&MAGIC);
    header[8] = FORMAT_VERSION;
    header[9] = kind as u8;
    header[10] = KDF_SCRYPT;
    header[11] = key.params.log_n;
    header[12..16].copy_from_slice(&key.params.r.to_be_bytes());
    header[16..20].copy_from_slice(&key.params.p.to_be_bytes());
    header[20..].copy_from_slice(&key.salt);
    header
}

/// Encrypts `plaintext` into a complete key file of `kind` with a fresh nonce.
pub fn seal(kind: FileKind, key: &LayerKey, plaintext: &[u8], rng: &mut (impl RngCore + CryptoRng)) -> Vec<u8> {
    let header = header_bytes(kind, key);
    let mut nonce = [0u8; KEYFILE_NONCE_BYTES];
    rng.fill_bytes(&mut nonce);
    let ciphertext = key
        .cipher()
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: &header })
        .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
    let mut file = Vec::with_capacity(CIPHERTEXT_OFFSET + ciphertext.len() + KEYFILE_CHECKSUM_BYTES);
    file.extend_from_slice(&header);
    file.extend_from_slice(&nonce);
    file.extend_from_slice(&ciphertext);
    let checksum = Sha256::digest(&file);
    file.extend_from_slice(&checksum);
    // Our own invariant: whatever we write, we can read.
    assert!(file.len() <= KEYFILE_BYTES_MAX, "key file contents over KEYFILE_BYTES_MAX");
    file
}

fn wrong_password(kind: FileKind) -> KeyFileError {
    match kind {
        FileKind::MemberVault => KeyFileError::WrongPasswordA,
        FileKind::CenterKeys => KeyFileError::WrongPassphrase,
    }
}

fn decrypt(envelope: &Envelope<'_>, kind: FileKind, key: &LayerKey) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    key.cipher()
        .decrypt(XNonce::from_slice(envelope.nonce), Payload { msg: envelope.ciphertext, aad: envelope.header })
        .map(Zeroizing::new)
        .map_err(|_| wrong_password(kind))
}

/// Opens a key file of `kind` with `password`: derives the key (after checking
/// the parameters against `policy`) and decrypts. Returns the key for later
/// saves and the plaintext contents.
pub fn open(
    bytes: &[u8],
    kind: FileKind,
    password: &Password,
    policy: KdfPolicy,
) -> Result<(LayerKey, Zeroizing<Vec<u8>>), KeyFileError> {
    let envelope = parse_envelope(bytes, kind)?;
    let key = LayerKey::derive(password, envelope.params, envelope.salt, policy)?;
    let plaintext = decrypt(&envelope, kind, &key)?;
    Ok((key, plaintext))
}

/// Opens a key file with a key already derived (no scrypt run): how a save is
/// read back and checked. A file with another salt or other parameters is
/// reported as the wrong password, which for a read-back means a failed save.
pub fn open_with_key(bytes: &[u8], kind: FileKind, key: &LayerKey) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let envelope = parse_envelope(bytes, kind)?;
    if envelope.params != key.params || envelope.salt != key.salt {
        return Err(wrong_password(kind));
    }
    decrypt(&envelope, kind, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const FAST: KdfParams = KdfParams::new(4, 8, 1);
    const FAST_POLICY: KdfPolicy = KdfPolicy::test_only_with_log_n_min(1);

    fn key(password: &str) -> LayerKey {
        LayerKey::derive(&Password::from(password), FAST, [3; 32], FAST_POLICY).unwrap()
    }

    #[test]
    fn envelope_round_trips_and_has_the_documented_layout() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let file = seal(FileKind::MemberVault, &key("a"), b"hello", &mut rng);
        assert_eq!(file.len(), FILE_BYTES_MIN + 5);
        assert_eq!(&file[..8], b"DENBUNKF");
        assert_eq!(file[8..12], [1, 1, 1, 4]);
        assert_eq!(file[12..20], [0, 0, 0, 8, 0, 0, 0, 1]);
        assert_eq!(file[20..52], [3; 32]);
        let (_, plaintext) = open(&file, FileKind::MemberVault, &Password::from("a"), FAST_POLICY).unwrap();
        assert_eq!(plaintext.as_slice(), b"hello");
    }

    #[test]
    fn a_wrong_password_is_told_apart_from_damage() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let file = seal(FileKind::CenterKeys, &key("a"), b"hello", &mut rng);
        let wrong = open(&file, FileKind::CenterKeys, &Password::from("b"), FAST_POLICY).unwrap_err();
        assert_eq!(wrong, KeyFileError::WrongPassphrase);
        let mut damaged = file.clone();
        damaged[60] ^= 1;
        assert!(matches!(
            open(&damaged, FileKind::CenterKeys, &Password::from("a"), FAST_POLICY),
            Err(KeyFileError::Corrupt { .. })
        ));
        assert_eq!(
            open(&file, FileKind::MemberVault, &Password::from("a"), FAST_POLICY).unwrap_err(),
            KeyFileError::WrongKind { expected: FileKind::MemberVault, found: FileKind::CenterKeys }
        );
    }

    #[test]
    fn parameters_are_checked_before_scrypt_runs() {
        // log_n 63 would take forever; the policy refuses it at once.
        let params = KdfParams::new(63, 8, 1);
        assert_eq!(
            LayerKey::derive(&Password::from("a"), params, [0; 32], KdfPolicy::STANDARD).unwrap_err(),
            KeyFileError::ParametersOutOfRange { log_n: 63, r: 8, p: 1 }
        );
        assert!(KdfPolicy::STANDARD.check(KdfParams::DEFAULT).is_ok());
        for (log_n, r, p) in [(14, 8, 1), (21, 8, 1), (17, 0, 1), (17, 9, 1), (17, 8, 0), (17, 8, 5), (16, 1, 1)] {
            assert!(KdfPolicy::STANDARD.check(KdfParams::new(log_n, r, p)).is_err(), "{log_n} {r} {p}");
        }
    }

    #[test]
    fn layer_key_debug_hides_the_key() {
        let shown = format!("{:?}", key("a"));
        assert!(shown.starts_with("LayerKey { params:"), "{shown}");
        assert!(!shown.contains("key:") && !shown.contains("salt"), "{shown}");
    }
}
