//! The shipped journal, `backup-NNNNNN/journal.log`: every group the
//! committer made durable after the backup's snapshot, in order, appended
//! and fsynced *before* the group is committed to the data directory and
//! answered. So every acknowledged telegram is in the snapshot or here, and
//! the log is never behind the data; after a crash it may hold one group
//! more (shipped, never committed, never answered), which the next start
//! drops.
//!
//! ```text
//! header  = magic "DENBUNJL" | format version u8 = 1 | backup number u64 | backup digest (32)
//! record* = body length u32 | body | chain hash (32) | Ed25519 signature (64)
//! body    = journal head before the group (sequence u64, hash 32)
//!         | journal head after the group  (sequence u64, hash 32)
//!         | the group's writes (`batch.rs`)
//! chain hash n = SHA-256("denbun shipped journal v1\0" | chain hash n-1 | body n),
//!                chain hash 0 = the backup digest
//! signature n  = Ed25519(center signing key, "denbun shipped journal signature v1\0" | chain hash n)
//! ```
//!
//! A gap, a reordering or a changed byte breaks the chain; a record from
//! another backup or center breaks it too. Only the last record may be
//! unfinished (an append cut short by a crash: never answered); an invalid
//! record with anything after it is damage.

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use denbun_protocol::wire::{DecodeError, Reader, Wire, Writer};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::BackupError;
use super::format::{BackupManifest, FORMAT_VERSION, create_private_file, io};
use crate::storage::{JournalHead, Write, WriteBatch};

const MAGIC: [u8; 8] = *b"DENBUNJL";
/// Bytes of the header.
pub const HEADER_BYTES: u64 = 8 + 1 + 8 + 32;
/// Bytes after each record's body.
const TRAILER_BYTES: u64 = 32 + 64;
/// Largest body: a group of 4,096 telegrams, each journaled in and out with
/// its answer kept for idempotency, is under 1 GiB.
pub const RECORD_BODY_BYTES_MAX: u64 = 1 << 30;
const CHAIN_DOMAIN: &[u8] = b"denbun shipped journal v1\0";
const SIGNATURE_DOMAIN: &[u8] = b"denbun shipped journal signature v1\0";

/// One committed group as shipped.
#[derive(Debug)]
pub struct ShippedGroup {
    /// The journal's head before the group.
    pub journal_before: JournalHead,
    /// The journal's head after it.
    pub journal_after: JournalHead,
    /// Its writes.
    pub batch: WriteBatch,
}

fn encode_group(before: &JournalHead, after: &JournalHead, batch: &WriteBatch) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.put(before);
    writer.put(after);
    super::batch::encode(batch, &mut writer);
    writer.into_vec()
}

fn decode_group(body: &[u8]) -> Result<ShippedGroup, DecodeError> {
    let mut reader = Reader::new(body);
    let journal_before = JournalHead::decode(&mut reader)?;
    let journal_after = JournalHead::decode(&mut reader)?;
    let batch = super::batch::decode(&mut reader)?;
    reader.finish()?;
    Ok(ShippedGroup { journal_before, journal_after, batch })
}

fn chain_next(previous: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(CHAIN_DOMAIN);
    hasher.update(previous);
    hasher.update(body);
    hasher.finalize().into()
}

fn signed_message(chain: &[u8; 32]) -> Vec<u8> {
    [SIGNATURE_DOMAIN, chain.as_slice()].concat()
}

/// Checks that a group's journal entries continue its `journal_before`
/// one by one, chained, and end at its `journal_after`: what storage will
/// insist on when the group is applied again.
pub fn check_group(group: &ShippedGroup) -> Result<(), String> {
    let mut head = group.journal_before.clone();
    for write in &group.batch.writes {
        let Write::Journal(entry) = write else { continue };
        if entry.sequence != head.sequence + 1 || entry.previous_hash != head.hash {
            return Err(format!("journal entry {} does not follow entry {}", entry.sequence, head.sequence));
        }
        head = JournalHead { sequence: entry.sequence, hash: entry.hash() };
    }
    if head != group.journal_after {
        return Err(format!(
            "the group's entries end at entry {} but it says {}",
            head.sequence, group.journal_after.sequence
        ));
    }
    Ok(())
}

/// Where a scan of a shipped journal ended.
#[derive(Clone, Debug)]
pub struct ScanEnd {
    /// Complete, verified records.
    pub records: u64,
    /// Bytes of the header and those records.
    pub good_bytes: u64,
    /// The chain hash after them.
    pub chain: [u8; 32],
    /// The journal's head after them (the snapshot's when there are none).
    pub head: JournalHead,
    /// The last record: where it starts and the state before it.
    pub last: Option<Undo>,
    /// Bytes after the last good record: an append cut short by a crash.
    pub unfinished_tail_bytes: u64,
}

/// The state of a log before one record.
#[derive(Clone, Debug)]
pub struct Undo {
    /// Bytes before the record.
    pub length: u64,
    /// The chain hash before it.
    pub chain: [u8; 32],
    /// The journal's head before it.
    pub head: JournalHead,
}

/// Reads the shipped journal of the backup `manifest` describes, checking
/// its header, chain, signatures and journal continuity, and hands every
/// group to `visit` in order. A damaged log is an error naming the record;
/// an unfinished last record is reported in [`ScanEnd`].
pub fn scan(
    path: &Path,
    center_key: &VerifyingKey,
    manifest: &BackupManifest,
    visit: &mut dyn FnMut(&ShippedGroup) -> Result<(), BackupError>,
) -> Result<ScanEnd, BackupError> {
    let damaged = |what: String| BackupError::Damaged(format!("{}: {what}", path.display()));
    let file = File::open(path).map_err(|source| io(path, source))?;
    let file_bytes = file.metadata().map_err(|source| io(path, source))?.len();
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut read = |buffer: &mut [u8]| input.read_exact(buffer).map_err(|source| io(path, source));
    if file_bytes < HEADER_BYTES {
        return Err(damaged("it is shorter than its header".to_owned()));
    }
    let mut header = [0u8; HEADER_BYTES as usize];
    read(&mut header)?;
    let digest = manifest.digest();
    if header[..8] != MAGIC || header[8] != FORMAT_VERSION {
        return Err(damaged("not a shipped journal of format version 1".to_owned()));
    }
    if header[9..17] != manifest.backup_number.to_be_bytes() || header[17..] != digest {
        return Err(damaged(format!("it belongs to another backup than number {}", manifest.backup_number)));
    }
    let mut end = ScanEnd {
        records: 0,
        good_bytes: HEADER_BYTES,
        chain: digest,
        head: manifest.journal.clone(),
        last: None,
        unfinished_tail_bytes: 0,
    };
    // Bounded by the file's size: every record takes more than 100 bytes.
    for _ in 0..=file_bytes / (4 + TRAILER_BYTES) {
        let remaining = file_bytes - end.good_bytes;
        if remaining == 0 {
            return Ok(end);
        }
        let unfinished = |mut end: ScanEnd| {
            end.unfinished_tail_bytes = remaining;
            Ok(end)
        };
        if remaining < 4 {
            return unfinished(end);
        }
        let mut length_bytes = [0u8; 4];
        read(&mut length_bytes)?;
        let body_bytes = u64::from(u32::from_be_bytes(length_bytes));
        let record_bytes = 4 + body_bytes + TRAILER_BYTES;
        if record_bytes > remaining {
            return unfinished(end);
        }
        if body_bytes > RECORD_BODY_BYTES_MAX {
            return Err(damaged(format!("record {} claims {body_bytes} bytes", end.records + 1)));
        }
        let mut body = vec![0u8; body_bytes as usize];
        read(&mut body)?;
        let mut chain = [0u8; 32];
        read(&mut chain)?;
        let mut signature = [0u8; 64];
        read(&mut signature)?;
        let is_last = record_bytes == remaining;
        let expected_chain = chain_next(&end.chain, &body);
        let signature = Signature::from_bytes(&signature);
        if chain != expected_chain || center_key.verify_strict(&signed_message(&chain), &signature).is_err() {
            if is_last {
                return unfinished(end);
            }
            return Err(damaged(format!(
                "record {} (after journal entry {}) does not verify and records follow it: \
                 a record is missing, changed or out of order",
                end.records + 1,
                end.head.sequence
            )));
        }
        let group = decode_group(&body)
            .map_err(|error| damaged(format!("record {} does not decode: {error}", end.records + 1)))?;
        if group.journal_before != end.head {
            return Err(damaged(format!(
                "record {} continues journal entry {} but the journal is at entry {}: a gap",
                end.records + 1,
                group.journal_before.sequence,
                end.head.sequence
            )));
        }
        check_group(&group).map_err(|problem| damaged(format!("record {}: {problem}", end.records + 1)))?;
        visit(&group)?;
        end.last = Some(Undo { length: end.good_bytes, chain: end.chain, head: end.head.clone() });
        end.records += 1;
        end.good_bytes += record_bytes;
        end.chain = chain;
        end.head = group.journal_after;
    }
    Err(damaged("it has more records than its size allows".to_owned()))
}

/// The shipped journal being appended to.
pub struct ShippedLog {
    path: PathBuf,
    file: File,
    backup_number: u64,
    /// Bytes of the header and complete records.
    length: u64,
    chain: [u8; 32],
    head: JournalHead,
    /// The state before the last append, to take it back when the commit fails.
    undo: Option<Undo>,
    /// Bytes past `length` may exist (a failed append or undo): cut before the next append.
    dirty: bool,
    records: u64,
}

impl ShippedLog {
    /// Creates the log of a new backup: its header, durable. The caller
    /// makes the directory entry durable (the backup is renamed into place).
    pub fn create(path: &Path, manifest: &BackupManifest) -> Result<ShippedLog, BackupError> {
        let file = create_private_file(path)?;
        let digest = manifest.digest();
        let mut header = MAGIC.to_vec();
        header.push(FORMAT_VERSION);
        header.extend_from_slice(&manifest.backup_number.to_be_bytes());
        header.extend_from_slice(&digest);
        file.write_all_at(&header, 0).and_then(|()| file.sync_all()).map_err(|source| io(path, source))?;
        Ok(ShippedLog {
            path: path.to_owned(),
            file,
            backup_number: manifest.backup_number,
            length: HEADER_BYTES,
            chain: digest,
            head: manifest.journal.clone(),
            undo: None,
            dirty: false,
            records: 0,
        })
    }

    /// Opens a scanned log to append after its last good record; an
    /// unfinished tail is cut off. With `drop_last`, the last record goes
    /// too (shipped, but the data directory never committed it).
    pub fn reopen(path: &Path, backup_number: u64, end: &ScanEnd, drop_last: bool) -> Result<ShippedLog, BackupError> {
        let file = std::fs::OpenOptions::new().write(true).open(path).map_err(|source| io(path, source))?;
        let (length, chain, head, records) = match (&end.last, drop_last) {
            (Some(last), true) => (last.length, last.chain, last.head.clone(), end.records - 1),
            _ => (end.good_bytes, end.chain, end.head.clone(), end.records),
        };
        file.set_len(length).and_then(|()| file.sync_all()).map_err(|source| io(path, source))?;
        Ok(ShippedLog {
            path: path.to_owned(),
            file,
            backup_number,
            length,
            chain,
            head,
            undo: None,
            dirty: false,
            records,
        })
    }

    /// The backup this log belongs to.
    pub fn backup_number(&self) -> u64 {
        self.backup_number
    }

    /// Groups in the log.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The journal's head after the last shipped group.
    pub fn head(&self) -> &JournalHead {
        &self.head
    }

    /// Appends one group and makes it durable.
    pub fn append(
        &mut self,
        before: &JournalHead,
        after: &JournalHead,
        batch: &WriteBatch,
        signing_key: &SigningKey,
    ) -> Result<(), BackupError> {
        // Our own invariant: the committer ships every group it commits, in order.
        assert_eq!(before, &self.head, "a shipped group must continue the shipped journal");
        if self.dirty {
            self.file
                .set_len(self.length)
                .and_then(|()| self.file.sync_data())
                .map_err(|source| io(&self.path, source))?;
            self.dirty = false;
        }
        let body = encode_group(before, after, batch);
        let body_bytes = u32::try_from(body.len()).ok().filter(|bytes| u64::from(*bytes) <= RECORD_BODY_BYTES_MAX);
        let Some(body_bytes) = body_bytes else {
            return Err(BackupError::Refused(format!("a group of {} bytes is too large to ship", body.len())));
        };
        let chain = chain_next(&self.chain, &body);
        let signature = signing_key.sign(&signed_message(&chain));
        let mut record = Vec::with_capacity(body.len() + 4 + TRAILER_BYTES as usize);
        record.extend_from_slice(&body_bytes.to_be_bytes());
        record.extend_from_slice(&body);
        record.extend_from_slice(&chain);
        record.extend_from_slice(&signature.to_bytes());
        fail::fail_point!("backup.before_ship", |_| Err(BackupError::Refused("failpoint backup.before_ship".into())));
        self.dirty = true;
        self.file
            .write_all_at(&record, self.length)
            .and_then(|()| self.file.sync_data())
            .map_err(|source| io(&self.path, source))?;
        self.dirty = false;
        self.undo = Some(Undo { length: self.length, chain: self.chain, head: self.head.clone() });
        self.length += record.len() as u64;
        self.chain = chain;
        self.head = after.clone();
        self.records += 1;
        Ok(())
    }

    /// Takes back the last append (its commit failed, so it was never
    /// answered). If the file cannot be cut now, it is cut before the next append.
    pub fn undo_last(&mut self) -> Result<(), BackupError> {
        let Some(undo) = self.undo.take() else { return Ok(()) };
        self.length = undo.length;
        self.chain = undo.chain;
        self.head = undo.head;
        self.records -= 1;
        self.dirty = true;
        self.file.set_len(self.length).and_then(|()| self.file.sync_data()).map_err(|source| io(&self.path, source))?;
        self.dirty = false;
        Ok(())
    }
}
