//! Key files on disk: the member's two-layer key file (the "vault"), the
//! center's one-layer key file and its identity card `center.pub`.
//!
//! The byte layout and the cryptography live in `denbun_protocol::keyfile`
//! (no I/O); this module reads and writes files so that a crash never leaves a
//! half-written key file (docs/keyfile.md, "Saving"):
//!
//! 1. a temporary file `NAME.tmp` is created exclusively (`O_EXCL`) with mode
//!    0600, written and fsynced;
//! 2. it is read back and decrypted, and must give the contents just saved;
//! 3. the current file is kept as `NAME.bak` (a hard link: no moment without
//!    a complete `NAME`);
//! 4. the temporary file is renamed over `NAME` and the directory fsynced.
//!
//! While a vault is open, the program holds an exclusive lock on `NAME.lock`,
//! so a second program cannot save the same file at the same time, and a
//! temporary file found on opening is a leftover of a crash and is removed.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand_core::{CryptoRng, OsRng, RngCore};

use denbun_protocol::identity::{CardError, CenterIdentity};
use denbun_protocol::keyfile::{
    CenterKeyContents, FileKind, HistoryEntry, InnerBinding, KdfParams, KdfPolicy, KeyFileError, LayerKey, OutboxEntry,
    Password, Profile, VaultContents, open_center_keys, open_inner, open_vault, open_vault_with_key, seal_center_keys,
    seal_inner, seal_vault,
};
use denbun_protocol::limits::{ADDRESS_BYTES_MAX, IDENTITY_CARD_BYTES_MAX, KEYFILE_BYTES_MAX, NAME_BYTES_MAX};
use denbun_protocol::wire::{Blob, List, Text};

use crate::keys::{CenterKeys, MemberKeys};
use crate::outbox::{self, FIRST_PROCESSING_NUMBER, OutboxError};

/// How new key files are made and which parameters opening accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VaultConfig {
    /// scrypt parameters for new files and new passwords.
    pub params: KdfParams,
    /// What opening accepts.
    pub policy: KdfPolicy,
}

impl VaultConfig {
    /// log_n 17, r 8, p 1; opening accepts log_n 15..=20.
    pub const STANDARD: VaultConfig = VaultConfig { params: KdfParams::DEFAULT, policy: KdfPolicy::STANDARD };

    /// **Tests only.** scrypt log_n 4 (16 KiB, microseconds), so tests can
    /// create and open thousands of files. Real key files never use this.
    pub const fn test_only_fast() -> Self {
        Self { params: KdfParams::new(4, 8, 1), policy: KdfPolicy::test_only_with_log_n_min(1) }
    }
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self::STANDARD
    }
}

/// Why a key file could not be created, opened or saved. Each message says
/// what happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("There is no key file at {}.{}", path.display(), backup_hint(backup.as_deref()))]
    NotFound { path: PathBuf, backup: Option<PathBuf> },
    #[error("A key file already exists at {}; it was left untouched. Choose another file name.", path.display())]
    AlreadyExists { path: PathBuf },
    #[error("The key file {} is open in another Denbun program. Close that program and try again.", path.display())]
    InUse { path: PathBuf },
    #[error("The key file {} is damaged: {detail}.{}", path.display(), backup_hint(backup.as_deref()))]
    Corrupt { path: PathBuf, detail: &'static str, backup: Option<PathBuf> },
    #[error("Wrong password A. The key file is intact; check Caps Lock and the keyboard layout, and try again.")]
    WrongPasswordA,
    #[error(
        "Wrong password B. Your history is still readable with password A, but signing needs the right password B; \
         try again."
    )]
    WrongPasswordB,
    #[error("Wrong passphrase for the center's key file. The file is intact; try again.")]
    WrongPassphrase,
    #[error(
        "The key file {} was written by a newer version of Denbun (format {found}; this version reads format \
         {supported}). Update Denbun to open it; the file was left untouched.",
        path.display()
    )]
    UnsupportedVersion { path: PathBuf, found: u8, supported: u8 },
    #[error(
        "The key file {} asks for key derivation settings outside the safe range (log_n {log_n}, r {r}, p {p}). \
         It was not made by Denbun or was tampered with, so it was not opened.{}",
        path.display(), backup_hint(backup.as_deref())
    )]
    ParametersOutOfRange { path: PathBuf, log_n: u8, r: u32, p: u32, backup: Option<PathBuf> },
    #[error("{} is {found}, not {expected}. Check the file name.", path.display())]
    WrongKind { path: PathBuf, expected: FileKind, found: FileKind },
    #[error(
        "The signing layer in {} belongs to another member or key: it was moved here from another file. \
         Restore the backup (.bak) or register again.",
        path.display()
    )]
    InnerLayerMismatch { path: PathBuf },
    #[error(
        "The signature key in {} does not match its verification key: the file was tampered with. \
         Restore the backup (.bak) or register again.",
        path.display()
    )]
    SeedMismatch { path: PathBuf },
    #[error(
        "Saving {} failed: the new file did not read back correctly (is the disk failing?). \
         The previous version is unchanged.",
        path.display()
    )]
    SaveCheckFailed { path: PathBuf },
    #[error("The center identity card {} cannot be used: {source}", path.display())]
    Card { path: PathBuf, source: CardError },
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("Could not {action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: io::Error },
}

fn backup_hint(backup: Option<&Path>) -> String {
    match backup {
        Some(backup) => format!(
            " The previous version is kept in {}: to use it, copy it over the damaged file (keep a copy of both).",
            backup.display()
        ),
        None => " No backup (.bak) was found next to it.".to_owned(),
    }
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> VaultError + 'a {
    move |source| VaultError::Io { action, path: path.to_owned(), source }
}

/// The file names that belong to one key file.
#[derive(Clone, Debug)]
struct Paths {
    file: PathBuf,
    backup: PathBuf,
    temporary: PathBuf,
    lock: PathBuf,
}

impl Paths {
    fn new(file: &Path) -> Self {
        let with_suffix = |suffix: &str| {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        Self {
            file: file.to_owned(),
            backup: with_suffix(".bak"),
            temporary: with_suffix(".tmp"),
            lock: with_suffix(".lock"),
        }
    }

    fn existing_backup(&self) -> Option<PathBuf> {
        self.backup.exists().then(|| self.backup.clone())
    }

    fn directory(&self) -> &Path {
        match self.file.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }

    /// Turns a format error into a file error that names this file.
    fn error(&self, error: KeyFileError) -> VaultError {
        let path = self.file.clone();
        match error {
            KeyFileError::Corrupt { detail } => VaultError::Corrupt { path, detail, backup: self.existing_backup() },
            KeyFileError::WrongPasswordA => VaultError::WrongPasswordA,
            KeyFileError::WrongPasswordB => VaultError::WrongPasswordB,
            KeyFileError::WrongPassphrase => VaultError::WrongPassphrase,
            KeyFileError::UnsupportedVersion { found, supported } => {
                VaultError::UnsupportedVersion { path, found, supported }
            }
            KeyFileError::ParametersOutOfRange { log_n, r, p } => {
                VaultError::ParametersOutOfRange { path, log_n, r, p, backup: self.existing_backup() }
            }
            KeyFileError::WrongKind { expected, found } => VaultError::WrongKind { path, expected, found },
            KeyFileError::InnerLayerMismatch => VaultError::InnerLayerMismatch { path },
            KeyFileError::SeedMismatch => VaultError::SeedMismatch { path },
        }
    }

    /// Reads the file, refusing (before reading it all) one over `limit` bytes.
    fn read(&self, limit: usize) -> Result<Vec<u8>, VaultError> {
        read_bounded(&self.file, limit).map_err(|error| match error {
            ReadError::Io(source) if source.kind() == io::ErrorKind::NotFound => {
                VaultError::NotFound { path: self.file.clone(), backup: self.existing_backup() }
            }
            ReadError::Io(source) => VaultError::Io { action: "read", path: self.file.clone(), source },
            ReadError::TooLarge => VaultError::Corrupt {
                path: self.file.clone(),
                detail: "it is larger than any key file",
                backup: self.existing_backup(),
            },
        })
    }

    /// Removes a temporary file left by a crash. Only safe under the lock.
    fn remove_stale_temporary(&self, _lock: &FileLock) -> Result<(), VaultError> {
        match std::fs::remove_file(&self.temporary) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(VaultError::Io {
                action: "remove the leftover temporary file",
                path: self.temporary.clone(),
                source: error,
            }),
            _ => Ok(()),
        }
    }

    /// Replaces the file with `bytes` so that a crash at any moment leaves
    /// either the old or the new file complete. `check` is given the bytes read
    /// back from disk before they replace anything. The caller holds the
    /// file's lock, or (for the public card) accepts a last-writer-wins race.
    fn write_atomically(&self, bytes: &[u8], mode: u32, check: impl FnOnce(&[u8]) -> bool) -> Result<(), VaultError> {
        let result = self.write_temporary(bytes, mode, check).and_then(|()| self.replace_with_temporary());
        if result.is_err() {
            // Best effort: the next open removes it anyway.
            let _ = std::fs::remove_file(&self.temporary);
        }
        result
    }

    fn write_temporary(&self, bytes: &[u8], mode: u32, check: impl FnOnce(&[u8]) -> bool) -> Result<(), VaultError> {
        let temporary = &self.temporary;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(temporary)
            .map_err(io_error("create the temporary file", temporary))?;
        file.write_all(bytes).map_err(io_error("write", temporary))?;
        file.sync_all().map_err(io_error("flush to disk", temporary))?;
        drop(file);
        let back = read_bounded(temporary, bytes.len()).map_err(|error| match error {
            ReadError::Io(source) => VaultError::Io { action: "read back", path: temporary.clone(), source },
            ReadError::TooLarge => VaultError::SaveCheckFailed { path: self.file.clone() },
        })?;
        if back != bytes || !check(&back) {
            return Err(VaultError::SaveCheckFailed { path: self.file.clone() });
        }
        Ok(())
    }

    fn replace_with_temporary(&self) -> Result<(), VaultError> {
        if self.file.exists() {
            match std::fs::remove_file(&self.backup) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => {
                    return Err(VaultError::Io {
                        action: "replace the backup",
                        path: self.backup.clone(),
                        source: error,
                    });
                }
                _ => {}
            }
            // A hard link keeps the current file in place while it becomes the
            // backup; a file system without hard links gets a copy instead.
            if std::fs::hard_link(&self.file, &self.backup).is_err() {
                std::fs::copy(&self.file, &self.backup).map_err(io_error("write the backup", &self.backup))?;
            }
        }
        std::fs::rename(&self.temporary, &self.file).map_err(io_error("replace", &self.file))?;
        let directory = self.directory();
        File::open(directory)
            .and_then(|directory| directory.sync_all())
            .map_err(io_error("flush the directory", directory))
    }
}

enum ReadError {
    Io(io::Error),
    TooLarge,
}

fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    let file = File::open(path).map_err(ReadError::Io)?;
    let length = file.metadata().map_err(ReadError::Io)?.len();
    if length > limit as u64 {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(length as usize);
    // The file may grow between the size check and the read: read one byte past the limit to notice.
    file.take(limit as u64 + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() > limit {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// An exclusive advisory lock (`flock`) on `NAME.lock`, released when dropped
/// or when the process dies, however it dies.
#[derive(Debug)]
struct FileLock {
    _file: File,
}

impl FileLock {
    fn acquire(paths: &Paths) -> Result<Self, VaultError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&paths.lock)
            .map_err(io_error("create the lock file", &paths.lock))?;
        if let Err(error) = fs2::FileExt::try_lock_exclusive(&file) {
            if error.raw_os_error() == fs2::lock_contended_error().raw_os_error() {
                return Err(VaultError::InUse { path: paths.file.clone() });
            }
            return Err(VaultError::Io { action: "lock", path: paths.lock.clone(), source: error });
        }
        Ok(Self { _file: file })
    }
}

/// What a new member's key file starts with.
#[derive(Debug)]
pub struct NewVault {
    /// Whose file it is.
    pub profile: Profile,
    /// The center to trust, read from its `center.pub`.
    pub center: CenterIdentity,
    /// Freshly generated keys ([`crate::keys::generate_member_keys`]).
    pub keys: MemberKeys,
}

/// Creates and opens member key files.
pub struct Vault;

impl Vault {
    /// Writes a new key file at `path` (refusing to replace one) and returns
    /// it open. Runs scrypt twice (password A, password B).
    pub fn create(
        path: &Path,
        new: NewVault,
        password_a: &Password,
        password_b: &Password,
        config: VaultConfig,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<UnlockedVault, VaultError> {
        let paths = Paths::new(path);
        let lock = FileLock::acquire(&paths)?;
        if paths.file.exists() {
            return Err(VaultError::AlreadyExists { path: paths.file.clone() });
        }
        paths.remove_stale_temporary(&lock)?;
        let binding = InnerBinding { party: new.profile.party, verification_key: new.keys.verification_key };
        let inner_layer = seal_inner(&new.keys.signing_seed, &binding, password_b, config.params, config.policy, rng)
            .map_err(|error| paths.error(error))?;
        let key_a =
            LayerKey::generate(password_a, config.params, config.policy, rng).map_err(|error| paths.error(error))?;
        let contents = VaultContents {
            profile: new.profile,
            center: new.center,
            verification_key: new.keys.verification_key,
            delivery_public_key: new.keys.delivery_public_key,
            next_processing_number: FIRST_PROCESSING_NUMBER,
            outbox: List::default(),
            history: List::default(),
            inner_layer,
            delivery_secret_key: new.keys.delivery_secret_key,
        };
        let mut vault = UnlockedVault { paths, key_a, contents, config, _lock: lock };
        vault.save()?;
        Ok(vault)
    }

    /// Opens the key file at `path` with password A (one scrypt run): history,
    /// outbox and profile become readable; signing still needs password B.
    pub fn open(path: &Path, password_a: &Password) -> Result<UnlockedVault, VaultError> {
        Self::open_with(path, password_a, VaultConfig::STANDARD)
    }

    /// [`Vault::open`] with another configuration (tests use small scrypt parameters).
    pub fn open_with(path: &Path, password_a: &Password, config: VaultConfig) -> Result<UnlockedVault, VaultError> {
        let paths = Paths::new(path);
        let lock = FileLock::acquire(&paths)?;
        paths.remove_stale_temporary(&lock)?;
        let bytes = paths.read(KEYFILE_BYTES_MAX)?;
        let (key_a, contents) = open_vault(&bytes, password_a, config.policy).map_err(|error| paths.error(error))?;
        Ok(UnlockedVault { paths, key_a, contents, config, _lock: lock })
    }
}

/// A member's key file opened with password A, for one session. Holds key A
/// (so saving needs no scrypt run) and the lock on the file; never holds the
/// signature key.
pub struct UnlockedVault {
    paths: Paths,
    key_a: LayerKey,
    contents: VaultContents,
    config: VaultConfig,
    /// Held, never read: dropping the vault unlocks the file.
    _lock: FileLock,
}

impl std::fmt::Debug for UnlockedVault {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("UnlockedVault")
            .field("path", &self.paths.file)
            .field("profile", &self.contents.profile)
            .finish_non_exhaustive()
    }
}

impl UnlockedVault {
    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.paths.file
    }

    /// Everything password A opened.
    pub fn contents(&self) -> &VaultContents {
        &self.contents
    }

    /// Whose key file this is.
    pub fn profile(&self) -> &Profile {
        &self.contents.profile
    }

    /// The pinned center.
    pub fn center(&self) -> &CenterIdentity {
        &self.contents.center
    }

    /// Past purchases, oldest first.
    pub fn history(&self) -> &[HistoryEntry] {
        self.contents.history.as_slice()
    }

    /// Signed telegrams waiting for an answer, in processing-number order.
    pub fn outbox(&self) -> &[OutboxEntry] {
        outbox::pending(&self.contents)
    }

    /// The processing number the next allocation hands out.
    pub fn next_processing_number(&self) -> u64 {
        self.contents.next_processing_number
    }

    /// Decrypts the signature key with password B (one scrypt run) for as
    /// long as the guard lives; it is wiped when the guard is dropped.
    pub fn signing_key(&self, password_b: &Password) -> Result<SigningKeyGuard, VaultError> {
        let seed = open_inner(&self.contents.inner_layer, &self.binding(), password_b, self.config.policy)
            .map_err(|error| self.paths.error(error))?;
        Ok(SigningKeyGuard { key: ed25519_dalek::SigningKey::from_bytes(seed.expose()) })
    }

    fn binding(&self) -> InnerBinding {
        InnerBinding { party: self.contents.profile.party, verification_key: self.contents.verification_key }
    }

    /// Writes the contents under key A (no scrypt run), atomically, keeping the
    /// previous version as `.bak`.
    pub fn save(&mut self) -> Result<(), VaultError> {
        let bytes = seal_vault(&self.contents, &self.key_a, &mut OsRng);
        let (key_a, contents) = (&self.key_a, &self.contents);
        self.paths.write_atomically(&bytes, 0o600, |back| {
            open_vault_with_key(back, key_a).is_ok_and(|read| read == *contents)
        })
    }

    /// Applies `change` and saves. If either fails, the contents go back to
    /// what they were, except that the next processing number never goes back
    /// (a number handed out may already be inside a signature).
    fn change<T>(&mut self, change: impl FnOnce(&mut VaultContents) -> Result<T, VaultError>) -> Result<T, VaultError> {
        let before = self.contents.clone();
        let result = change(&mut self.contents).and_then(|value| self.save().map(|()| value));
        if result.is_err() {
            let next_processing_number = self.contents.next_processing_number;
            self.contents = before;
            self.contents.next_processing_number = next_processing_number;
        }
        result
    }

    /// Hands out a processing number for a telegram that does not wait in the
    /// outbox (sign-on, echo), saved before it is returned.
    pub fn allocate_processing_number(&mut self) -> Result<u64, VaultError> {
        self.change(|contents| Ok(outbox::allocate_processing_number(contents)?))
    }

    /// Allocates a processing number, lets `compose` build and sign the
    /// telegram carrying it, appends it to the outbox and saves: when this
    /// returns, the telegram may be sent.
    pub fn enqueue(&mut self, compose: impl FnOnce(u64) -> Result<Vec<u8>, VaultError>) -> Result<u64, VaultError> {
        self.change(|contents| outbox::enqueue(contents, compose))
    }

    /// Removes the outbox entry the center has answered, records `history`
    /// (its receipt) and saves. Call only after the answer's signature and
    /// echoed processing number have been verified.
    pub fn complete(
        &mut self,
        processing_number: u64,
        history: Option<HistoryEntry>,
    ) -> Result<OutboxEntry, VaultError> {
        self.change(|contents| Ok(outbox::complete(contents, processing_number, history)?))
    }

    /// Records a history entry that did not come through the outbox, and saves.
    pub fn add_history(&mut self, entry: HistoryEntry) -> Result<(), VaultError> {
        self.change(|contents| Ok(outbox::add_history(contents, entry)?))
    }

    /// Sets a new password A (new salt, one scrypt run) and saves. The `.bak`
    /// keeps the previous version under the old password.
    pub fn change_password_a(&mut self, new_password_a: &Password) -> Result<(), VaultError> {
        let new_key = LayerKey::generate(new_password_a, self.config.params, self.config.policy, &mut OsRng)
            .map_err(|error| self.paths.error(error))?;
        let old_key = std::mem::replace(&mut self.key_a, new_key);
        let result = self.save();
        if result.is_err() {
            self.key_a = old_key;
        }
        result
    }

    /// Sets a new password B (needs the current one; two scrypt runs) and saves.
    pub fn change_password_b(&mut self, password_b: &Password, new_password_b: &Password) -> Result<(), VaultError> {
        let seed = open_inner(&self.contents.inner_layer, &self.binding(), password_b, self.config.policy)
            .map_err(|error| self.paths.error(error))?;
        let inner_layer: Blob<_> =
            seal_inner(&seed, &self.binding(), new_password_b, self.config.params, self.config.policy, &mut OsRng)
                .map_err(|error| self.paths.error(error))?;
        self.change(|contents| {
            contents.inner_layer = inner_layer;
            Ok(())
        })
    }
}

/// The signature key, decrypted for the time it takes to sign. Wiped when
/// dropped; never printed.
pub struct SigningKeyGuard {
    key: ed25519_dalek::SigningKey,
}

impl SigningKeyGuard {
    /// Signs `message` (the signed-message bytes built by the protocol crate).
    pub fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        use ed25519_dalek::Signer;
        self.key.sign(message)
    }

    /// The verification key that checks the signatures.
    pub fn verification_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// The key itself, for protocol functions that take one. Keep the borrow short.
    pub fn signing_key(&self) -> &ed25519_dalek::SigningKey {
        &self.key
    }
}

impl std::fmt::Debug for SigningKeyGuard {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SigningKeyGuard(redacted)")
    }
}

/// The center's one-layer key file.
pub struct CenterKeyFile;

impl CenterKeyFile {
    /// Writes a new center key file (refusing to replace one) holding `keys`
    /// and the identity made of `name`, `address` and the public keys.
    /// Returns the contents; write `contents.identity` as `center.pub`.
    pub fn create(
        path: &Path,
        name: Text<NAME_BYTES_MAX>,
        address: Text<ADDRESS_BYTES_MAX>,
        keys: &CenterKeys,
        passphrase: &Password,
        config: VaultConfig,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<CenterKeyContents, VaultError> {
        let paths = Paths::new(path);
        let lock = FileLock::acquire(&paths)?;
        if paths.file.exists() {
            return Err(VaultError::AlreadyExists { path: paths.file.clone() });
        }
        paths.remove_stale_temporary(&lock)?;
        let contents = CenterKeyContents {
            identity: CenterIdentity {
                name,
                address,
                verification_key: keys.verification_key,
                noise_public_key: keys.noise_public_key,
            },
            signing_seed: keys.signing_seed.clone(),
            noise_secret_key: keys.noise_secret_key.clone(),
        };
        let key =
            LayerKey::generate(passphrase, config.params, config.policy, rng).map_err(|error| paths.error(error))?;
        let bytes = seal_center_keys(&contents, &key, rng);
        paths.write_atomically(&bytes, 0o600, |back| {
            open_center_keys_with(back, &key).is_some_and(|read| read == contents)
        })?;
        Ok(contents)
    }

    /// Opens the center's key file with the operator's passphrase.
    pub fn open(path: &Path, passphrase: &Password) -> Result<CenterKeyContents, VaultError> {
        Self::open_with(path, passphrase, VaultConfig::STANDARD)
    }

    /// [`CenterKeyFile::open`] with another configuration (tests).
    pub fn open_with(path: &Path, passphrase: &Password, config: VaultConfig) -> Result<CenterKeyContents, VaultError> {
        let paths = Paths::new(path);
        let bytes = paths.read(KEYFILE_BYTES_MAX)?;
        let (_, contents) = open_center_keys(&bytes, passphrase, config.policy).map_err(|error| paths.error(error))?;
        Ok(contents)
    }
}

fn open_center_keys_with(bytes: &[u8], key: &LayerKey) -> Option<CenterKeyContents> {
    let plaintext = denbun_protocol::keyfile::open_with_key(bytes, FileKind::CenterKeys, key).ok()?;
    let contents = denbun_protocol::wire::decode_exact::<CenterKeyContents>(&plaintext).ok()?;
    contents.check_consistency().ok()?;
    Some(contents)
}

/// Reading and writing the center's identity card `center.pub`.
pub trait IdentityCardFile: Sized {
    /// Reads and checks a card (fingerprint included).
    fn read(path: &Path) -> Result<Self, VaultError>;
    /// Writes the card atomically (readable by everyone: it holds no secret).
    fn write(&self, path: &Path) -> Result<(), VaultError>;
}

impl IdentityCardFile for CenterIdentity {
    fn read(path: &Path) -> Result<Self, VaultError> {
        let paths = Paths::new(path);
        let bytes = read_bounded(path, IDENTITY_CARD_BYTES_MAX).map_err(|error| match error {
            ReadError::Io(source) if source.kind() == io::ErrorKind::NotFound => {
                VaultError::NotFound { path: path.to_owned(), backup: paths.existing_backup() }
            }
            ReadError::Io(source) => VaultError::Io { action: "read", path: path.to_owned(), source },
            ReadError::TooLarge => VaultError::Card {
                path: path.to_owned(),
                source: CardError::TooLarge { bytes: IDENTITY_CARD_BYTES_MAX + 1, max: IDENTITY_CARD_BYTES_MAX },
            },
        })?;
        CenterIdentity::from_card_bytes(&bytes).map_err(|source| VaultError::Card { path: path.to_owned(), source })
    }

    fn write(&self, path: &Path) -> Result<(), VaultError> {
        // No lock file beside a public card: a leftover temporary file is
        // simply replaced.
        let paths = Paths::new(path);
        match std::fs::remove_file(&paths.temporary) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(VaultError::Io { action: "remove", path: paths.temporary.clone(), source: error });
            }
            _ => {}
        }
        let card = self.to_card();
        paths.write_atomically(card.as_bytes(), 0o644, |back| {
            CenterIdentity::from_card_bytes(back).is_ok_and(|read| read == *self)
        })
    }
}
