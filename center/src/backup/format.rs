//! The files of one backup, `LOCATION/backup-NNNNNN/`:
//!
//! | file | what it is |
//! |------|------------|
//! | `snapshot` | every record of the center's storage at one journal entry, in key order |
//! | `manifest` | what the backup holds, with SHA-256 digests, signed by the center |
//! | `journal.log` | the shipped journal: every group committed after the snapshot (`shipping.rs`) |
//! | `center.toml`, `center.pub`, `center.key` | copies of the data directory's files (the key file stays encrypted under the center passphrase) |
//!
//! Snapshot (`snapshot`), all integers big-endian:
//!
//! ```text
//! magic "DENBUNSS" | format version u8 = 1
//! record* = key length u16 (1..=1,024) | key | value length u32 (<= 16 MiB) | value
//!           (keys strictly increasing: one storage has exactly one snapshot)
//! end     = u16 0 | record count u64 | SHA-256 of every byte before it
//! ```
//!
//! Manifest (`manifest`):
//!
//! ```text
//! magic "DENBUNBM" | format version u8 = 1 | BackupManifest (canonical wire encoding) | Ed25519 signature (64)
//! digest    = SHA-256("denbun backup manifest v1\0" | BackupManifest)
//! signature = Ed25519(center signing key, "denbun backup manifest signature v1\0" | digest)
//! ```
//!
//! The digest names the backup (the operator's `backup` answer shows it)
//! and seeds the shipped journal's hash chain. The signed messages start
//! with a lower-case `d`, so they can never be read as a telegram's signed
//! message, which starts with the purpose tag `0x44 0x42`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write as _};
use std::path::{Path, PathBuf};

use denbun_protocol::limits::NAME_BYTES_MAX;
use denbun_protocol::wire::{List, Text, decode_exact, encode_to_vec};
use denbun_protocol::wire_struct;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::BackupError;
use crate::storage::{JournalHead, Storage};

/// The snapshot file of a backup.
pub const SNAPSHOT_FILE: &str = "snapshot";
/// The manifest file of a backup.
pub const MANIFEST_FILE: &str = "manifest";
/// The shipped journal of a backup.
pub const JOURNAL_FILE: &str = "journal.log";
/// Files of the data directory a backup copies, when present.
pub const DATA_FILES: [&str; 3] = ["center.toml", "center.pub", "center.key"];
/// The data directory file whose copy must stay secret.
pub const SECRET_FILE: &str = "center.key";

/// Every file format of a backup is at this version.
pub const FORMAT_VERSION: u8 = 1;
const SNAPSHOT_MAGIC: [u8; 8] = *b"DENBUNSS";
const MANIFEST_MAGIC: [u8; 8] = *b"DENBUNBM";
/// Longest key a snapshot record may have (the storage's keys are a prefix and a few fixed fields).
pub const SNAPSHOT_KEY_BYTES_MAX: usize = 1_024;
/// Largest value a snapshot record may have (the largest record is a journal entry of one telegram).
pub const SNAPSHOT_VALUE_BYTES_MAX: usize = 16 * 1024 * 1024;
const _: () = assert!(SNAPSHOT_KEY_BYTES_MAX <= u16::MAX as usize);
const _: () = assert!(SNAPSHOT_VALUE_BYTES_MAX >= 4 * denbun_protocol::limits::TELEGRAM_BYTES_MAX);
/// Files a manifest may list.
pub const BACKUP_FILES_MAX: usize = 8;
/// Longest file name in a manifest.
pub const FILE_NAME_BYTES_MAX: usize = 64;
/// Largest copied data directory file (center.toml is the largest, about 10 KiB).
pub const DATA_FILE_BYTES_MAX: u64 = 1024 * 1024;
const _: () = assert!(DATA_FILES.len() <= BACKUP_FILES_MAX);

const MANIFEST_DIGEST_DOMAIN: &[u8] = b"denbun backup manifest v1\0";
const MANIFEST_SIGNATURE_DOMAIN: &[u8] = b"denbun backup manifest signature v1\0";

wire_struct! {
    /// A data directory file copied into the backup.
    pub struct BackupFile {
        /// Its name (one of [`DATA_FILES`]).
        pub name: Text<FILE_NAME_BYTES_MAX>,
        /// Its size.
        pub bytes: u64,
        /// SHA-256 of its contents.
        pub sha256: [u8; 32],
    }
}

wire_struct! {
    /// What one backup holds.
    pub struct BackupManifest {
        /// The backup's number in its location (1, 2, 3, …).
        pub backup_number: u64,
        /// The operator's label.
        pub label: Text<NAME_BYTES_MAX>,
        /// When it was taken, unix milliseconds.
        pub created_at_ms: u64,
        /// The center's Ed25519 verification key (what signed this manifest).
        pub center_verification_key: [u8; 32],
        /// The journal's last entry in the snapshot: the shipped journal continues after it.
        pub journal: JournalHead,
        /// Records in the snapshot.
        pub snapshot_records: u64,
        /// Size of the snapshot file.
        pub snapshot_bytes: u64,
        /// SHA-256 of the snapshot file.
        pub snapshot_sha256: [u8; 32],
        /// The copied data directory files.
        pub files: List<BackupFile, BACKUP_FILES_MAX>,
    }
}

impl BackupManifest {
    /// The backup's digest: what the operator is shown and the shipped journal's chain starts from.
    pub fn digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(MANIFEST_DIGEST_DOMAIN);
        hasher.update(encode_to_vec(self));
        hasher.finalize().into()
    }
}

fn manifest_signed_message(digest: &[u8; 32]) -> Vec<u8> {
    [MANIFEST_SIGNATURE_DOMAIN, digest.as_slice()].concat()
}

/// The manifest file's bytes, signed.
pub fn manifest_bytes(manifest: &BackupManifest, signing_key: &SigningKey) -> Vec<u8> {
    let signature = signing_key.sign(&manifest_signed_message(&manifest.digest()));
    let mut bytes = MANIFEST_MAGIC.to_vec();
    bytes.push(FORMAT_VERSION);
    bytes.extend_from_slice(&encode_to_vec(manifest));
    bytes.extend_from_slice(&signature.to_bytes());
    bytes
}

/// Reads a manifest and checks its signature against `center_key`.
pub fn read_manifest(path: &Path, center_key: &VerifyingKey) -> Result<BackupManifest, BackupError> {
    let (manifest, signature) = parse_manifest(path)?;
    if manifest.center_verification_key != center_key.to_bytes() {
        return Err(BackupError::Damaged(format!(
            "{} was signed by another center than the one it is checked against",
            path.display()
        )));
    }
    center_key
        .verify_strict(&manifest_signed_message(&manifest.digest()), &signature)
        .map_err(|_| BackupError::Damaged(format!("{}: the center's signature does not verify", path.display())))?;
    Ok(manifest)
}

/// Reads a manifest without checking its signature (to learn which key to check it with).
pub fn read_manifest_unverified(path: &Path) -> Result<BackupManifest, BackupError> {
    parse_manifest(path).map(|(manifest, _)| manifest)
}

fn parse_manifest(path: &Path) -> Result<(BackupManifest, Signature), BackupError> {
    let bytes = read_file(path, 64 * 1024)?;
    let damaged = |what: &str| BackupError::Damaged(format!("{}: {what}", path.display()));
    let header_bytes = MANIFEST_MAGIC.len() + 1;
    if bytes.len() < header_bytes + 64 || bytes[..MANIFEST_MAGIC.len()] != MANIFEST_MAGIC {
        return Err(damaged("not a backup manifest"));
    }
    if bytes[MANIFEST_MAGIC.len()] != FORMAT_VERSION {
        return Err(damaged(&format!("format version {} is not one this program reads", bytes[8])));
    }
    let (body, signature) = bytes[header_bytes..].split_at(bytes.len() - header_bytes - 64);
    let manifest =
        decode_exact::<BackupManifest>(body).map_err(|error| damaged(&format!("it does not decode: {error}")))?;
    let signature = Signature::from_bytes(&signature.try_into().expect("64 bytes"));
    Ok((manifest, signature))
}

/// Reads a whole file of at most `bytes_max` bytes.
pub fn read_file(path: &Path, bytes_max: u64) -> Result<Vec<u8>, BackupError> {
    let file = File::open(path).map_err(|source| io(path, source))?;
    let length = file.metadata().map_err(|source| io(path, source))?.len();
    if length > bytes_max {
        return Err(BackupError::Damaged(format!("{} is larger than any such file ({length} bytes)", path.display())));
    }
    let mut bytes = Vec::with_capacity(length as usize);
    file.take(bytes_max).read_to_end(&mut bytes).map_err(|source| io(path, source))?;
    Ok(bytes)
}

/// An I/O error on `path`.
pub fn io(path: &Path, source: std::io::Error) -> BackupError {
    BackupError::Io { path: path.to_owned(), source }
}

/// Creates a file only its owner may read (backups hold personal data and the encrypted keys).
pub fn create_private_file(path: &Path) -> Result<File, BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|source| io(path, source))
}

/// Creates a directory only its owner may enter.
pub fn create_private_directory(path: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path).map_err(|source| io(path, source))
}

/// Makes a directory's entries (a rename, a new file) durable.
pub fn sync_directory(path: &Path) -> Result<(), BackupError> {
    File::open(path).and_then(|directory| directory.sync_all()).map_err(|source| io(path, source))
}

/// Writes `bytes` to a new private file and makes it durable.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut file = create_private_file(path)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|source| io(path, source))
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What [`write_snapshot`] wrote.
#[derive(Clone, Debug)]
pub struct SnapshotSummary {
    /// Records written.
    pub records: u64,
    /// Size of the file.
    pub bytes: u64,
    /// SHA-256 of the file.
    pub sha256: [u8; 32],
    /// The journal's last entry in it.
    pub journal: JournalHead,
}

/// Writes every record of `storage` to a new file at `path` and makes it
/// durable. The caller guarantees nothing writes meanwhile (the committer
/// thread, or a stopped center), so the snapshot is one consistent state.
pub fn write_snapshot(storage: &dyn Storage, path: &Path) -> Result<SnapshotSummary, BackupError> {
    let journal = storage.journal_head()?;
    let file = create_private_file(path)?;
    let mut out = Hashing { inner: BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new(), bytes: 0 };
    let mut records = 0u64;
    let mut failure: Option<BackupError> = None;
    out.write_all(&SNAPSHOT_MAGIC)
        .and_then(|()| out.write_all(&[FORMAT_VERSION]))
        .map_err(|source| io(path, source))?;
    storage.for_each_raw(&mut |key, value| {
        if key.is_empty() || key.len() > SNAPSHOT_KEY_BYTES_MAX || value.len() > SNAPSHOT_VALUE_BYTES_MAX {
            failure = Some(BackupError::Refused(format!(
                "a stored record ({} key bytes, {} value bytes) is outside what a snapshot holds",
                key.len(),
                value.len()
            )));
            return false;
        }
        let written = out
            .write_all(&(key.len() as u16).to_be_bytes())
            .and_then(|()| out.write_all(key))
            .and_then(|()| out.write_all(&(value.len() as u32).to_be_bytes()))
            .and_then(|()| out.write_all(value));
        match written {
            Ok(()) => {
                records += 1;
                true
            }
            Err(source) => {
                failure = Some(io(path, source));
                false
            }
        }
    })?;
    if let Some(error) = failure {
        return Err(error);
    }
    out.write_all(&0u16.to_be_bytes())
        .and_then(|()| out.write_all(&records.to_be_bytes()))
        .map_err(|source| io(path, source))?;
    let inner_digest: [u8; 32] = out.hasher.clone().finalize().into();
    out.write_all(&inner_digest).map_err(|source| io(path, source))?;
    let Hashing { inner, hasher, bytes } = out;
    let file = inner.into_inner().map_err(|error| io(path, error.into_error()))?;
    file.sync_all().map_err(|source| io(path, source))?;
    Ok(SnapshotSummary { records, bytes, sha256: hasher.finalize().into(), journal })
}

/// SHA-256 and size of a file, read in pieces.
pub fn hash_file(path: &Path) -> Result<([u8; 32], u64), BackupError> {
    let mut file = BufReader::with_capacity(1 << 20, File::open(path).map_err(|source| io(path, source))?);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    // Bounded by the file's length: each turn consumes at least one byte or ends.
    loop {
        let read = file.read(&mut buffer).map_err(|source| io(path, source))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok((hasher.finalize().into(), bytes))
}

/// Reads a snapshot whose SHA-256 and size must be `expected`, handing each
/// record to `visit` in order. Returns the number of records.
pub fn read_snapshot(
    path: &Path,
    expected_sha256: &[u8; 32],
    expected_bytes: u64,
    visit: &mut dyn FnMut(Vec<u8>, Vec<u8>) -> Result<(), BackupError>,
) -> Result<u64, BackupError> {
    let damaged = |what: String| BackupError::Damaged(format!("{}: {what}", path.display()));
    // The whole file is checked against the signed manifest before any record is used.
    let (sha256, bytes) = hash_file(path)?;
    if bytes != expected_bytes || &sha256 != expected_sha256 {
        return Err(damaged(format!(
            "its SHA-256 or size ({bytes} bytes) differs from the manifest's ({expected_bytes} bytes)"
        )));
    }
    let file = File::open(path).map_err(|source| io(path, source))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut read_exact = |count: usize, hasher: &mut Sha256| -> Result<Vec<u8>, BackupError> {
        let mut buffer = vec![0u8; count];
        input.read_exact(&mut buffer).map_err(|_| damaged("it ends in the middle of a record".to_owned()))?;
        hasher.update(&buffer);
        Ok(buffer)
    };
    let header = read_exact(SNAPSHOT_MAGIC.len() + 1, &mut hasher)?;
    if header[..SNAPSHOT_MAGIC.len()] != SNAPSHOT_MAGIC || header[SNAPSHOT_MAGIC.len()] != FORMAT_VERSION {
        return Err(damaged("not a snapshot of format version 1".to_owned()));
    }
    let mut previous_key: Option<Vec<u8>> = None;
    // Bounded by the file's size: every record takes at least seven bytes.
    for records in 0..=expected_bytes / 7 {
        let key_length = u16::from_be_bytes(read_exact(2, &mut hasher)?.try_into().expect("2 bytes")) as usize;
        if key_length == 0 {
            let count = u64::from_be_bytes(read_exact(8, &mut hasher)?.try_into().expect("8 bytes"));
            let inner_digest: [u8; 32] = hasher.clone().finalize().into();
            let stored = read_exact(32, &mut hasher)?;
            if count != records || stored != inner_digest {
                return Err(damaged("its end does not match its records".to_owned()));
            }
            return Ok(records);
        }
        if key_length > SNAPSHOT_KEY_BYTES_MAX {
            return Err(damaged(format!("a key of {key_length} bytes")));
        }
        let key = read_exact(key_length, &mut hasher)?;
        let value_length = u32::from_be_bytes(read_exact(4, &mut hasher)?.try_into().expect("4 bytes")) as usize;
        if value_length > SNAPSHOT_VALUE_BYTES_MAX || value_length as u64 > expected_bytes {
            return Err(damaged(format!("a value of {value_length} bytes")));
        }
        let value = read_exact(value_length, &mut hasher)?;
        if previous_key.as_ref().is_some_and(|previous| previous >= &key) {
            return Err(damaged("its keys are not in increasing order".to_owned()));
        }
        previous_key = Some(key.clone());
        visit(key, value)?;
    }
    Err(damaged("it has no end".to_owned()))
}

/// The directory of backup `number` in `location`.
pub fn backup_directory(location: &Path, number: u64) -> PathBuf {
    location.join(format!("backup-{number:06}"))
}

/// Removes what backups that did not finish (a crash while writing one) left behind: never a backup.
pub fn remove_partial_backups(location: &Path) -> Result<(), BackupError> {
    for entry in std::fs::read_dir(location).map_err(|source| io(location, source))? {
        let entry = entry.map_err(|source| io(location, source))?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|name| name.starts_with("backup-") && name.ends_with(".partial")) {
            std::fs::remove_dir_all(entry.path()).map_err(|source| io(&entry.path(), source))?;
        }
    }
    Ok(())
}

/// The highest backup number used in `location`, complete or not (0 when none).
pub fn highest_number(location: &Path) -> Result<u64, BackupError> {
    let entries = match std::fs::read_dir(location) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(io(location, source)),
    };
    let mut highest = 0;
    for entry in entries {
        let name = entry.map_err(|source| io(location, source))?.file_name();
        let number = name
            .to_str()
            .and_then(|name| name.strip_prefix("backup-"))
            .map(|rest| rest.strip_suffix(".partial").unwrap_or(rest))
            .and_then(|digits| digits.parse::<u64>().ok());
        highest = highest.max(number.unwrap_or(0));
    }
    Ok(highest)
}

/// The complete backups in `location` (those with a manifest), by number.
pub fn list_backups(location: &Path) -> Result<Vec<(u64, PathBuf)>, BackupError> {
    let mut backups = Vec::new();
    let entries = match std::fs::read_dir(location) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(backups),
        Err(source) => return Err(io(location, source)),
    };
    for entry in entries {
        let entry = entry.map_err(|source| io(location, source))?;
        let name = entry.file_name();
        let Some(number) = name.to_str().and_then(|name| name.strip_prefix("backup-")).and_then(|n| n.parse().ok())
        else {
            continue;
        };
        if entry.path().join(MANIFEST_FILE).is_file() {
            backups.push((number, entry.path()));
        }
    }
    backups.sort();
    Ok(backups)
}

/// A backup directory named by the operator: the directory itself when it
/// holds a manifest, else the newest backup in it (a backup location).
pub fn resolve(directory: &Path) -> Result<PathBuf, BackupError> {
    if directory.join(MANIFEST_FILE).is_file() {
        return Ok(directory.to_owned());
    }
    match list_backups(directory)?.pop() {
        Some((_, path)) => Ok(path),
        None => Err(BackupError::Refused(format!(
            "{} is neither a backup (no manifest) nor a backup location holding one",
            directory.display()
        ))),
    }
}
