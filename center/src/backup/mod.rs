//! The backup center: snapshots of the center's data with the journal
//! shipped after them, checked and restored (docs/reliability.md).
//!
//! A backup location (`serve --backup-dir LOCATION`, or `backup --to
//! LOCATION` with the center stopped) holds numbered backups,
//! `LOCATION/backup-NNNNNN/`, each a signed snapshot and its shipped journal
//! (`format.rs`, `shipping.rs`).
//!
//! - **Snapshot.** Every record of storage at one journal entry, taken where
//!   nothing writes: on the committer thread between two groups (the
//!   operator's 9800 Backup telegram), or with the center stopped. It is
//!   written to `backup-NNNNNN.partial/` and renamed into place, so a
//!   backup either exists whole or not at all.
//! - **Shipping.** While the center runs with a backup location, the
//!   committer appends each group's writes to the newest backup's
//!   `journal.log` and fsyncs it *before* it commits the group to the data
//!   directory, and answers only after both. If the commit fails, the
//!   record is cut off again. So a backup plus its shipped journal holds
//!   every acknowledged telegram, and the shipped journal is never behind
//!   the data directory (at most one unanswered group ahead, after a
//!   crash). If the backup location fails, telegrams are refused as
//!   "storage unavailable" rather than acknowledged without a copy.
//! - **Start.** `serve` continues the newest backup's shipped journal when
//!   it ends where the data does (dropping one unanswered group ahead);
//!   otherwise (no backup yet, the data was served without this location,
//!   a commit that failed after the engine took it, a damaged journal) it
//!   takes a new backup first.
//! - **Restore** (`restore.rs`) loads a snapshot and re-applies its shipped
//!   journal through the same storage commit; **verify** does that into a
//!   temporary directory and runs the audit.

pub mod batch;
pub mod format;
pub mod restore;
pub mod shipping;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use denbun_protocol::limits::{AUDIT_FINDINGS_MAX, MESSAGE_BYTES_MAX, NAME_BYTES_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::inquiry::{BackupResult, BackupVerification, MaintenanceAnswer, MaintenanceRequest};
use denbun_protocol::wire::{List, Text};
use ed25519_dalek::SigningKey;

use crate::flows::Decision;
use crate::service::tx::Tx;
use crate::storage::{JournalHead, Storage, StorageError, WriteBatch};
use format::{
    BackupFile, BackupManifest, DATA_FILE_BYTES_MAX, DATA_FILES, JOURNAL_FILE, MANIFEST_FILE, SNAPSHOT_FILE,
    backup_directory, create_private_directory, io, list_backups, manifest_bytes, read_file, sync_directory,
    write_new_file,
};
pub use restore::{RestoreOptions, RestoreReport, restore, verify};
use shipping::ShippedLog;

/// Why a backup, a restore or shipping failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A backup file is not what its manifest, chain or signature says.
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    /// The center's data could not be read or written.
    #[error("the center's data: {0}")]
    Storage(#[from] StorageError),
    /// The request cannot be carried out as asked.
    #[error("{0}")]
    Refused(String),
}

/// A backup that was taken.
#[derive(Clone, Debug)]
pub struct BackupTaken {
    /// Its number in the location.
    pub backup_number: u64,
    /// Its directory.
    pub directory: PathBuf,
    /// Bytes of its files.
    pub bytes: u64,
    /// The manifest's digest.
    pub digest: [u8; 32],
    /// The journal entry the snapshot ends at.
    pub journal: JournalHead,
    /// Records in the snapshot.
    pub records: u64,
    /// When, unix milliseconds.
    pub created_at_ms: u64,
    /// How long writing it took.
    pub elapsed_ms: u64,
}

/// Takes a backup of `storage` into `location` as the next numbered backup,
/// with the data directory files found in `data_directory`. Nothing may
/// write to `storage` meanwhile. Returns the backup and its (empty) shipped
/// journal, open for appending.
pub fn take_backup(
    location: &Path,
    storage: &dyn Storage,
    data_directory: Option<&Path>,
    signing_key: &SigningKey,
    label: &str,
    now_ms: u64,
) -> Result<(BackupTaken, ShippedLog), BackupError> {
    let started = Instant::now();
    create_private_directory(location)?;
    format::remove_partial_backups(location)?;
    // After every number ever used, complete or damaged: a name is never reused.
    let backup_number = format::highest_number(location)? + 1;
    let directory = backup_directory(location, backup_number);
    let partial = directory.with_extension("partial");
    create_private_directory(&partial)?;
    let snapshot = format::write_snapshot(storage, &partial.join(SNAPSHOT_FILE))?;
    let mut files = Vec::new();
    let mut bytes = snapshot.bytes;
    if let Some(data_directory) = data_directory {
        for name in DATA_FILES {
            let source = data_directory.join(name);
            if !source.is_file() {
                continue;
            }
            let contents = read_file(&source, DATA_FILE_BYTES_MAX)?;
            write_new_file(&partial.join(name), &contents)?;
            bytes += contents.len() as u64;
            files.push(BackupFile {
                name: Text::new(name).expect("the data file names are short"),
                bytes: contents.len() as u64,
                sha256: <sha2::Sha256 as sha2::Digest>::digest(&contents).into(),
            });
        }
    }
    let manifest = BackupManifest {
        backup_number,
        label: Text::<NAME_BYTES_MAX>::truncated(label),
        created_at_ms: now_ms,
        center_verification_key: signing_key.verifying_key().to_bytes(),
        journal: snapshot.journal.clone(),
        snapshot_records: snapshot.records,
        snapshot_bytes: snapshot.bytes,
        snapshot_sha256: snapshot.sha256,
        files: List::new(files).expect("at most DATA_FILES.len() files"),
    };
    let manifest_file = manifest_bytes(&manifest, signing_key);
    bytes += manifest_file.len() as u64;
    write_new_file(&partial.join(MANIFEST_FILE), &manifest_file)?;
    ShippedLog::create(&partial.join(JOURNAL_FILE), &manifest)?;
    sync_directory(&partial)?;
    std::fs::rename(&partial, &directory).map_err(|source| io(&directory, source))?;
    sync_directory(location)?;
    let log = ShippedLog::reopen(
        &directory.join(JOURNAL_FILE),
        backup_number,
        &shipping::ScanEnd {
            records: 0,
            good_bytes: shipping::HEADER_BYTES,
            chain: manifest.digest(),
            head: manifest.journal.clone(),
            last: None,
            unfinished_tail_bytes: 0,
        },
        false,
    )?;
    let taken = BackupTaken {
        backup_number,
        directory,
        bytes: bytes + shipping::HEADER_BYTES,
        digest: manifest.digest(),
        journal: manifest.journal,
        records: snapshot.records,
        created_at_ms: now_ms,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    Ok((taken, log))
}

/// How [`BackupSite::open`] found the backup location.
#[derive(Debug)]
pub enum Opening {
    /// The newest backup's shipped journal ends where the data does; shipping continues there.
    Continued {
        /// That backup.
        backup_number: u64,
        /// Groups already in its shipped journal.
        groups: u64,
        /// Whether one shipped group that never committed was dropped.
        dropped_uncommitted_group: bool,
    },
    /// A new backup was taken first.
    Taken {
        /// The backup.
        taken: BackupTaken,
        /// Why.
        reason: String,
    },
}

/// The backup location of a running center: where backups are taken and
/// each committed group is shipped. Owned by the committer thread.
pub struct BackupSite {
    location: PathBuf,
    data_directory: Option<PathBuf>,
    signing_key: SigningKey,
    log: Mutex<ShippedLog>,
}

impl BackupSite {
    /// Opens `location` for a center whose data is `storage` (not yet
    /// serving): continues the newest backup's shipped journal if it ends
    /// where the data does, else takes a new backup first.
    pub fn open(
        location: &Path,
        data_directory: Option<PathBuf>,
        signing_key: SigningKey,
        storage: &dyn Storage,
        now_ms: u64,
    ) -> Result<(BackupSite, Opening), BackupError> {
        create_private_directory(location)?;
        let head = storage.journal_head()?;
        let center_key = signing_key.verifying_key();
        let reason = match list_backups(location)?.pop() {
            None => "the backup location holds no backup yet".to_owned(),
            Some((number, directory)) => {
                let manifest_path = directory.join(MANIFEST_FILE);
                // A location of another center is refused here, not written to.
                if let Ok(named) = format::read_manifest_unverified(&manifest_path)
                    && named.center_verification_key != center_key.to_bytes()
                {
                    return Err(BackupError::Refused(format!(
                        "{} holds backups of another center (backup {number} is signed by another key)",
                        location.display()
                    )));
                }
                let path = directory.join(JOURNAL_FILE);
                let scanned = format::read_manifest(&manifest_path, &center_key).and_then(|manifest| {
                    shipping::scan(&path, &center_key, &manifest, &mut |_| Ok(())).map(|end| (manifest, end))
                });
                match scanned {
                    Err(error) => format!("backup {number} cannot be continued ({error})"),
                    Ok((_, end)) => {
                        let ahead_by_one = end.head != head && end.last.as_ref().is_some_and(|last| last.head == head);
                        if end.head == head || ahead_by_one {
                            let log = ShippedLog::reopen(&path, number, &end, ahead_by_one)?;
                            let opening = Opening::Continued {
                                backup_number: number,
                                groups: log.records(),
                                dropped_uncommitted_group: ahead_by_one,
                            };
                            let site = BackupSite {
                                location: location.to_owned(),
                                data_directory,
                                signing_key,
                                log: Mutex::new(log),
                            };
                            return Ok((site, opening));
                        }
                        format!(
                            "backup {number}'s shipped journal ends at journal entry {} but the data ends at entry {}",
                            end.head.sequence, head.sequence
                        )
                    }
                }
            }
        };
        let (taken, log) =
            take_backup(location, storage, data_directory.as_deref(), &signing_key, "taken at start", now_ms)?;
        let site = BackupSite { location: location.to_owned(), data_directory, signing_key, log: Mutex::new(log) };
        Ok((site, Opening::Taken { taken, reason }))
    }

    /// The backup location.
    pub fn location(&self) -> &Path {
        &self.location
    }

    fn log(&self) -> std::sync::MutexGuard<'_, ShippedLog> {
        // Only the committer thread uses the log; a poisoned lock means it
        // panicked mid-append, and the next start scans the file anyway.
        self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ships a group before it is committed: appended and durable on return.
    pub fn ship(&self, before: &JournalHead, after: &JournalHead, batch: &WriteBatch) -> Result<(), BackupError> {
        self.log().append(before, after, batch, &self.signing_key)
    }

    /// Takes back the group just shipped: its commit failed.
    pub fn unship(&self) {
        if let Err(error) = self.log().undo_last() {
            tracing::error!(%error, "could not cut the uncommitted group off the shipped journal; retrying before the next group");
        }
    }

    /// Takes a backup of committed `storage` now (on the committer thread,
    /// between groups' commits) and ships from then on to its journal.
    pub fn take(&self, storage: &dyn Storage, label: &str, now_ms: u64) -> Result<BackupTaken, BackupError> {
        let mut log = self.log();
        let (taken, new_log) =
            take_backup(&self.location, storage, self.data_directory.as_deref(), &self.signing_key, label, now_ms)?;
        *log = new_log;
        Ok(taken)
    }

    /// The operator's 9800 Backup and VerifyBackup.
    pub fn maintenance(&self, tx: &mut Tx<'_>, request: &MaintenanceRequest) -> Result<Decision, StorageError> {
        match request {
            MaintenanceRequest::Backup(request) => {
                // The snapshot is of committed storage: the state before this
                // group, whose own writes then ship to the new backup's journal.
                match self.take(tx.storage(), request.label.as_str(), tx.now_ms()) {
                    Ok(taken) => {
                        tracing::info!(
                            backup = taken.backup_number,
                            journal_entry = taken.journal.sequence,
                            records = taken.records,
                            bytes = taken.bytes,
                            elapsed_ms = taken.elapsed_ms,
                            "backup taken"
                        );
                        Ok(Decision::answer(MaintenanceAnswer::Backup(BackupResult {
                            backup_number: taken.backup_number,
                            bytes: taken.bytes,
                            sha256: taken.digest,
                            created_at_ms: taken.created_at_ms,
                        })))
                    }
                    Err(BackupError::Storage(error)) => Err(error),
                    Err(error) => {
                        tracing::error!(%error, "the backup could not be taken");
                        Ok(Decision::reject_with(
                            RejectReason::StorageUnavailable,
                            format!("the backup could not be written: {error}"),
                        ))
                    }
                }
            }
            MaintenanceRequest::VerifyBackup(number) => {
                let directory = backup_directory(&self.location, *number);
                if !directory.join(MANIFEST_FILE).is_file() {
                    return Ok(Decision::reject_with(RejectReason::NotFound, format!("there is no backup {number}")));
                }
                // Any failure here is the backup's (or the scratch directory's), never the center's data.
                let findings = match verify(&directory, Some(self.signing_key.verifying_key())) {
                    Ok(report) => report.findings(),
                    Err(error) => vec![error.to_string()],
                };
                let intact = findings.is_empty();
                let findings = findings
                    .iter()
                    .take(AUDIT_FINDINGS_MAX)
                    .map(|finding| Text::<MESSAGE_BYTES_MAX>::truncated(finding))
                    .collect();
                Ok(Decision::answer(MaintenanceAnswer::VerifyBackup(BackupVerification {
                    backup_number: *number,
                    intact,
                    findings: List::new(findings).expect("at most AUDIT_FINDINGS_MAX findings"),
                })))
            }
            // The rest are not the backup location's business.
            other => crate::flows::maintenance::maintenance(tx, other),
        }
    }
}
