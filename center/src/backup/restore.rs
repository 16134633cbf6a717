//! Restoring a backup into a new data directory, and verifying one (a
//! restore into a temporary directory followed by the audit).
//!
//! A restore loads the snapshot's records as they were, then applies every
//! group of the shipped journal through [`Storage::commit`] — the writes the
//! running center made, with the answers it kept for idempotency — so the
//! restored center holds exactly what the old one had acknowledged, and a
//! repeated telegram gets the original answer byte for byte.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ed25519_dalek::VerifyingKey;

use super::BackupError;
use super::format::{
    self, BackupManifest, DATA_FILE_BYTES_MAX, JOURNAL_FILE, MANIFEST_FILE, SNAPSHOT_FILE, create_private_directory,
    io, read_file, write_new_file,
};
use super::shipping;
use crate::audit::AuditReport;
use crate::storage::{JournalHead, SledStorage, Storage};

/// Records loaded into storage at a time.
const LOAD_RECORDS_PER_BATCH: usize = 4_096;
/// Letters read at a time when their files are written again.
const LETTERS_PAGE: usize = 1_000;
/// Pages of letters (bounds the loop).
const LETTER_PAGES_MAX: usize = 1_000_000;

/// How a restore goes.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// The center key to check signatures against (from a `center.pub` the
    /// operator trusts). Without it, the key the manifest names is used:
    /// that finds damage, but not a backup forged by someone else.
    pub center_key: Option<VerifyingKey>,
    /// Restore what is intact and stop at damage in the shipped journal
    /// (the center then lacks what came after); without it, damage fails the restore.
    pub stop_at_damage: bool,
}

/// What a restore or a verification found.
#[derive(Debug)]
pub struct RestoreReport {
    /// The backup directory.
    pub backup: PathBuf,
    /// Its manifest.
    pub manifest: BackupManifest,
    /// Whether signatures were checked against a key the caller trusts.
    pub key_pinned: bool,
    /// Records loaded from the snapshot.
    pub snapshot_records: u64,
    /// Groups applied from the shipped journal.
    pub shipped_groups: u64,
    /// Where the restored journal ends.
    pub journal: JournalHead,
    /// Bytes of an unfinished last record left out (a crash while shipping: never answered).
    pub unfinished_tail_bytes: u64,
    /// Damage found in the shipped journal (with `stop_at_damage`).
    pub damage: Option<String>,
    /// The audit of the restored data.
    pub audit: AuditReport,
    /// Data directory files copied from the backup.
    pub files_copied: Vec<String>,
    /// Activation letter files written again (letters not yet printed).
    pub letters_written: u64,
    /// How long it took.
    pub elapsed_ms: u64,
}

impl RestoreReport {
    /// Whether the backup was intact and the restored data passes the audit.
    pub fn passed(&self) -> bool {
        self.damage.is_none() && self.audit.passed()
    }

    /// Every problem, in words.
    pub fn findings(&self) -> Vec<String> {
        let mut findings: Vec<String> = self.damage.iter().cloned().collect();
        findings.extend(self.audit.findings.iter().cloned());
        findings
    }
}

impl std::fmt::Display for RestoreReport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let manifest = &self.manifest;
        writeln!(formatter, "backup:          {} (number {})", self.backup.display(), manifest.backup_number)?;
        writeln!(formatter, "label:           {}", manifest.label)?;
        writeln!(formatter, "taken:           {} UTC", crate::mail::format_utc(manifest.created_at_ms))?;
        writeln!(formatter, "digest:          {}", hex(&manifest.digest()))?;
        writeln!(
            formatter,
            "signatures:      verified against {}",
            if self.key_pinned {
                "the center key you gave"
            } else {
                "the key the backup names (give --trusted-center to pin the key you trust)"
            }
        )?;
        writeln!(
            formatter,
            "snapshot:        {} records, {} bytes, journal entry {}",
            self.snapshot_records, manifest.snapshot_bytes, manifest.journal.sequence
        )?;
        writeln!(
            formatter,
            "shipped journal: {} groups applied, journal now ends at entry {}",
            self.shipped_groups, self.journal.sequence
        )?;
        if self.unfinished_tail_bytes > 0 {
            writeln!(
                formatter,
                "note:            an unfinished last record ({} bytes) was left out: an append cut short \
                 by a crash, never answered",
                self.unfinished_tail_bytes
            )?;
        }
        if let Some(damage) = &self.damage {
            writeln!(formatter, "DAMAGE:          {damage}")?;
        }
        if !self.files_copied.is_empty() {
            writeln!(formatter, "files copied:    {}", self.files_copied.join(", "))?;
        }
        if self.letters_written > 0 {
            writeln!(formatter, "letters written: {} (not yet printed)", self.letters_written)?;
        }
        writeln!(formatter, "took:            {} ms", self.elapsed_ms)?;
        writeln!(formatter, "{}", self.audit)?;
        write!(formatter, "{}", if self.passed() { "backup intact" } else { "backup NOT intact" })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Restores the backup `backup` (a backup directory, or a backup location:
/// its newest backup) into the new data directory `data`, which must not
/// exist or be empty. On an error, what was written to `data` is removed.
pub fn restore(backup: &Path, data: &Path, options: &RestoreOptions) -> Result<RestoreReport, BackupError> {
    let existed = data.exists();
    if existed {
        let mut entries = std::fs::read_dir(data).map_err(|source| io(data, source))?;
        if entries.next().is_some() {
            return Err(BackupError::Refused(format!(
                "{} is not empty; restore into a new directory, never over a center's data",
                data.display()
            )));
        }
    }
    let result = restore_into(backup, data, options, true);
    if result.is_err() {
        if existed {
            // Empty it again, keeping the directory the operator made.
            if let Ok(entries) = std::fs::read_dir(data) {
                for entry in entries.flatten() {
                    let _ = std::fs::remove_dir_all(entry.path()).or_else(|_| std::fs::remove_file(entry.path()));
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(data);
        }
    }
    result
}

/// Checks a backup: manifest signature and digests, the snapshot, the
/// shipped journal's chain, and the audit (journal chain, signatures, at
/// most once, ledger sums) of the data restored into a temporary directory.
pub fn verify(backup: &Path, center_key: Option<VerifyingKey>) -> Result<RestoreReport, BackupError> {
    let scratch = tempfile::Builder::new()
        .prefix("denbun-verify-backup-")
        .tempdir()
        .map_err(|source| io(&std::env::temp_dir(), source))?;
    let options = RestoreOptions { center_key, stop_at_damage: true };
    restore_into(backup, &scratch.path().join("data"), &options, false)
}

fn restore_into(
    backup: &Path,
    data: &Path,
    options: &RestoreOptions,
    whole_center: bool,
) -> Result<RestoreReport, BackupError> {
    let started = Instant::now();
    let backup = format::resolve(backup)?;
    let unverified = format::read_manifest_unverified(&backup.join(MANIFEST_FILE))?;
    let center_key = match options.center_key {
        Some(key) => key,
        None => VerifyingKey::from_bytes(&unverified.center_verification_key)
            .map_err(|_| BackupError::Damaged("the manifest names an invalid center key".to_owned()))?,
    };
    let manifest = format::read_manifest(&backup.join(MANIFEST_FILE), &center_key)?;
    for file in manifest.files.iter() {
        let path = backup.join(file.name.as_str());
        let (sha256, bytes) = format::hash_file(&path)?;
        if sha256 != file.sha256 || bytes != file.bytes {
            return Err(BackupError::Damaged(format!("{} differs from the manifest's digest", path.display())));
        }
    }

    create_private_directory(data)?;
    let mut files_copied = Vec::new();
    if whole_center {
        for file in manifest.files.iter() {
            let bytes = read_file(&backup.join(file.name.as_str()), DATA_FILE_BYTES_MAX)?;
            write_new_file(&data.join(file.name.as_str()), &bytes)?;
            files_copied.push(file.name.as_str().to_owned());
        }
        for directory in ["log", "mail", "operators", "payouts"] {
            create_private_directory(&data.join(directory))?;
        }
    }
    let storage = SledStorage::open(&data.join("db"))?;
    let mut pending: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(LOAD_RECORDS_PER_BATCH);
    let snapshot_records = format::read_snapshot(
        &backup.join(SNAPSHOT_FILE),
        &manifest.snapshot_sha256,
        manifest.snapshot_bytes,
        &mut |key, value| {
            pending.push((key, value));
            if pending.len() == LOAD_RECORDS_PER_BATCH {
                storage.load_raw(&pending)?;
                pending.clear();
            }
            Ok(())
        },
    )?;
    storage.load_raw(&pending)?;
    if snapshot_records != manifest.snapshot_records || storage.journal_head()? != manifest.journal {
        return Err(BackupError::Damaged("the snapshot does not hold what its manifest says".to_owned()));
    }

    let mut shipped_groups = 0u64;
    let mut unfinished_tail_bytes = 0;
    let mut damage = None;
    let scanned = shipping::scan(&backup.join(JOURNAL_FILE), &center_key, &manifest, &mut |group| {
        storage.commit(&group.batch)?;
        shipped_groups += 1;
        Ok(())
    });
    match scanned {
        Ok(end) => unfinished_tail_bytes = end.unfinished_tail_bytes,
        Err(BackupError::Damaged(problem)) if options.stop_at_damage => {
            damage = Some(format!("{problem}; restored only up to journal entry {}", storage.journal_head()?.sequence))
        }
        Err(error) => return Err(error),
    }
    let journal = storage.journal_head()?;
    let audit = crate::audit::audit(&storage, &center_key)?;
    let letters_written = if whole_center { write_letters(&storage, &data.join("mail"))? } else { 0 };
    Ok(RestoreReport {
        backup,
        key_pinned: options.center_key.is_some(),
        manifest,
        snapshot_records,
        shipped_groups,
        journal,
        unfinished_tail_bytes,
        damage,
        audit,
        files_copied,
        letters_written,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// Writes the files of letters not yet printed again (`DIR/mail/` is a
/// printing convenience; the mail queue in storage is the record).
fn write_letters(storage: &dyn Storage, directory: &Path) -> Result<u64, BackupError> {
    let mut written = 0;
    let mut after = 0;
    for _ in 0..LETTER_PAGES_MAX {
        let letters = storage.letters(after, LETTERS_PAGE)?;
        let Some(last) = letters.last() else { break };
        after = last.id;
        for letter in letters.iter().filter(|letter| letter.printed_at_ms.is_none()) {
            let path = directory.join(format!("letter-{:06}.txt", letter.id));
            write_new_file(&path, crate::mail::letter_text(letter).as_bytes())?;
            written += 1;
        }
    }
    Ok(written)
}
