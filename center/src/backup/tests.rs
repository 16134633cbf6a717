//! Backups over real sled storage with synthetic groups: what is restored
//! equals what was committed, record for record, and every kind of damage
//! is found.

use std::path::Path;

use denbun_protocol::header::PartyId;
use denbun_protocol::wire::{Blob, Text};
use ed25519_dalek::SigningKey;

use super::format::{JOURNAL_FILE, MANIFEST_FILE, SNAPSHOT_FILE, backup_directory};
use super::*;
use crate::storage::{Counter, JournalDirection, JournalEntry, JournalSummary, SledStorage, Write, WriteBatch};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// A group of `entries` journal entries after `head` (unverified, so the
/// audit does not ask for real telegrams), with an idempotency record and a
/// counter, as the committer would write.
fn group(head: &JournalHead, entries: u64, tag: u8) -> (WriteBatch, JournalHead) {
    let member = PartyId::member(u64::from(tag) + 1).unwrap();
    let mut batch = WriteBatch::default();
    let mut head = head.clone();
    for _ in 0..entries {
        let entry = JournalEntry {
            sequence: head.sequence + 1,
            previous_hash: head.hash,
            recorded_at_ms: 1_000 + head.sequence,
            direction: JournalDirection::In,
            session: 1,
            handshake_hash: [0; 32],
            peer: Text::new("127.0.0.1:9").unwrap(),
            summary: JournalSummary {
                sender: member,
                recipient: PartyId::CENTER,
                code: 8100,
                result: 0,
                processing_number: head.sequence + 1,
            },
            decoded: false,
            verified: false,
            in_reply_to: 0,
            telegram: Blob::new(vec![tag; 40]).unwrap(),
        };
        head = JournalHead { sequence: entry.sequence, hash: entry.hash() };
        batch.push(Write::Journal(entry));
    }
    batch.push(Write::Counter(Counter::LastCard, head.sequence));
    batch.push(Write::MailboxPut(crate::storage::MailboxNotice {
        recipient: member,
        sequence: head.sequence,
        telegram: Blob::new(vec![tag; 8]).unwrap(),
    }));
    (batch, head)
}

fn commit_group(storage: &SledStorage, entries: u64, tag: u8) -> (WriteBatch, JournalHead, JournalHead) {
    let before = storage.journal_head().unwrap();
    let (batch, after) = group(&before, entries, tag);
    storage.commit(&batch).unwrap();
    (batch, before, after)
}

/// Every stored key and value.
type Records = Vec<(Vec<u8>, Vec<u8>)>;

fn raw_records(storage: &dyn Storage) -> Records {
    let mut records = Vec::new();
    storage
        .for_each_raw(&mut |key, value| {
            records.push((key.to_vec(), value.to_vec()));
            true
        })
        .unwrap();
    records
}

/// A center's storage with a backup in `location` and `shipped` groups
/// shipped and committed after it, as the committer does.
fn center_with_backup(directory: &Path, location: &Path, shipped: u8) -> (SledStorage, BackupSite) {
    let storage = SledStorage::open(&directory.join("db")).unwrap();
    commit_group(&storage, 3, 1);
    let (site, opening) = BackupSite::open(location, None, key(), &storage, 5).unwrap();
    assert!(matches!(opening, Opening::Taken { .. }), "{opening:?}");
    for tag in 0..shipped {
        let before = storage.journal_head().unwrap();
        let (batch, after) = group(&before, 2, tag + 10);
        site.ship(&before, &after, &batch).unwrap();
        storage.commit(&batch).unwrap();
    }
    let before = storage.journal_head().unwrap();
    let (batch, after) = group(&before, 1, 99);
    site.ship(&before, &after, &batch).unwrap();
    storage.commit(&batch).unwrap();
    (storage, site)
}

fn restored_records(location: &Path, into: &Path) -> (RestoreReport, Records) {
    let options = RestoreOptions { center_key: Some(key().verifying_key()), stop_at_damage: false };
    let report = restore(location, into, &options).unwrap();
    let storage = SledStorage::open(&into.join("db")).unwrap();
    (report, raw_records(&storage))
}

#[test]
fn a_backup_and_its_shipped_journal_restore_every_record() {
    let scratch = tempfile::tempdir().unwrap();
    let location = scratch.path().join("location");
    let (storage, _site) = center_with_backup(&scratch.path().join("center"), &location, 4);
    let (report, records) = restored_records(&location, &scratch.path().join("restored"));
    assert!(report.passed(), "{report}");
    assert_eq!(report.shipped_groups, 5);
    assert_eq!(report.journal, storage.journal_head().unwrap());
    assert_eq!(records, raw_records(&storage), "the restored storage differs from the original");
}

#[test]
fn a_restore_never_writes_over_a_directory_with_something_in_it() {
    let scratch = tempfile::tempdir().unwrap();
    let location = scratch.path().join("location");
    let _center = center_with_backup(&scratch.path().join("center"), &location, 1);
    let occupied = scratch.path().join("occupied");
    std::fs::create_dir_all(&occupied).unwrap();
    std::fs::write(occupied.join("precious"), b"keep me").unwrap();
    let error = restore(&location, &occupied, &RestoreOptions::default()).unwrap_err();
    assert!(matches!(error, BackupError::Refused(_)), "{error}");
    assert_eq!(std::fs::read(occupied.join("precious")).unwrap(), b"keep me");
}

#[test]
fn a_backup_taken_between_groups_restores_the_state_at_that_point_and_after() {
    let scratch = tempfile::tempdir().unwrap();
    let location = scratch.path().join("location");
    let (storage, site) = center_with_backup(&scratch.path().join("center"), &location, 2);
    let taken = site.take(&storage, "second", 6).unwrap();
    assert_eq!(taken.backup_number, 2);
    assert_eq!(taken.journal, storage.journal_head().unwrap());
    let before = storage.journal_head().unwrap();
    let (batch, after) = group(&before, 2, 50);
    site.ship(&before, &after, &batch).unwrap();
    storage.commit(&batch).unwrap();
    // The location's newest backup is the second one, with one group shipped to it.
    let (report, records) = restored_records(&location, &scratch.path().join("restored"));
    assert_eq!(report.manifest.backup_number, 2);
    assert_eq!(report.shipped_groups, 1);
    assert_eq!(records, raw_records(&storage));
    // The first backup still restores to the state at the second one.
    let options = RestoreOptions { center_key: Some(key().verifying_key()), stop_at_damage: false };
    let first = restore(&backup_directory(&location, 1), &scratch.path().join("first"), &options).unwrap();
    assert_eq!(first.journal, taken.journal);
}

#[test]
fn a_failed_commit_takes_its_shipped_group_back() {
    let scratch = tempfile::tempdir().unwrap();
    let location = scratch.path().join("location");
    let (storage, site) = center_with_backup(&scratch.path().join("center"), &location, 1);
    let before = storage.journal_head().unwrap();
    let (refused, refused_after) = group(&before, 2, 60);
    site.ship(&before, &refused_after, &refused).unwrap();
    site.unship();
    let (batch, after) = group(&before, 1, 61);
    site.ship(&before, &after, &batch).unwrap();
    storage.commit(&batch).unwrap();
    let (report, records) = restored_records(&location, &scratch.path().join("restored"));
    assert!(report.passed(), "{report}");
    assert_eq!(records, raw_records(&storage));
}

#[test]
fn start_continues_the_shipped_journal_or_takes_a_new_backup() {
    let scratch = tempfile::tempdir().unwrap();
    let location = scratch.path().join("location");
    let (storage, site) = center_with_backup(&scratch.path().join("center"), &location, 1);
    drop(site);
    let (site, opening) = BackupSite::open(&location, None, key(), &storage, 7).unwrap();
    assert!(matches!(opening, Opening::Continued { backup_number: 1, groups: 2, dropped_uncommitted_group: false }));

    // A crash after shipping, before the commit: the group is dropped at the next start.
    let before = storage.journal_head().unwrap();
    let (batch, after) = group(&before, 1, 70);
    site.ship(&before, &after, &batch).unwrap();
    drop(site);
    let (site, opening) = BackupSite::open(&location, None, key(), &storage, 8).unwrap();
    assert!(matches!(opening, Opening::Continued { dropped_uncommitted_group: true, groups: 2, .. }), "{opening:?}");

    // Data committed without shipping (served without the location): a new backup first.
    drop(site);
    commit_group(&storage, 1, 71);
    let (site, opening) = BackupSite::open(&location, None, key(), &storage, 9).unwrap();
    let Opening::Taken { taken, reason } = opening else { panic!("{opening:?}") };
    assert_eq!(taken.backup_number, 2);
    assert!(reason.contains("ends at journal entry"), "{reason}");

    // A damaged newest backup is not continued: a new one is taken, under a number never used.
    drop(site);
    std::fs::create_dir_all(backup_directory(&location, 3)).unwrap();
    std::fs::create_dir_all(location.join("backup-000004.partial")).unwrap();
    let manifest = backup_directory(&location, 2).join(MANIFEST_FILE);
    let mut bytes = std::fs::read(&manifest).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&manifest, bytes).unwrap();
    let (_site, opening) = BackupSite::open(&location, None, key(), &storage, 10).unwrap();
    let Opening::Taken { taken, reason } = opening else { panic!("{opening:?}") };
    assert_eq!(taken.backup_number, 4, "{reason}");
    assert!(reason.contains("signature"), "{reason}");
    assert!(!location.join("backup-000004.partial").exists());

    // Another center's location is refused, not written to.
    let stranger = SigningKey::from_bytes(&[8; 32]);
    assert!(BackupSite::open(&location, None, stranger, &storage, 10).is_err());
}

fn flip(path: &Path, offset_from_end: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    let index = bytes.len() - 1 - offset_from_end as usize;
    bytes[index] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn damage_anywhere_in_a_backup_is_found() {
    let scratch = tempfile::tempdir().unwrap();
    let location = scratch.path().join("location");
    let (_storage, _site) = center_with_backup(&scratch.path().join("center"), &location, 3);
    let backup = backup_directory(&location, 1);
    let pinned = Some(key().verifying_key());
    assert!(verify(&location, pinned).unwrap().passed());
    let pristine = scratch.path().join("pristine");
    std::fs::create_dir_all(&pristine).unwrap();
    for file in [SNAPSHOT_FILE, MANIFEST_FILE, JOURNAL_FILE] {
        std::fs::copy(backup.join(file), pristine.join(file)).unwrap();
    }
    let reset = || {
        for file in [SNAPSHOT_FILE, MANIFEST_FILE, JOURNAL_FILE] {
            std::fs::copy(pristine.join(file), backup.join(file)).unwrap();
        }
    };

    // A flipped bit in the snapshot or the manifest: refused outright.
    flip(&backup.join(SNAPSHOT_FILE), 100);
    assert!(matches!(verify(&location, pinned), Err(BackupError::Damaged(_))));
    reset();
    flip(&backup.join(MANIFEST_FILE), 70);
    assert!(matches!(verify(&location, pinned), Err(BackupError::Damaged(_))));
    reset();
    // Checked against another center's key: refused.
    let stranger = Some(SigningKey::from_bytes(&[8; 32]).verifying_key());
    assert!(matches!(verify(&location, stranger), Err(BackupError::Damaged(_))));

    // A flipped bit in a shipped record with records after it: damage, named.
    let journal = backup.join(JOURNAL_FILE);
    let length = std::fs::metadata(&journal).unwrap().len();
    flip(&journal, length / 2);
    let report = verify(&location, pinned).unwrap();
    assert!(!report.passed() && report.damage.is_some(), "{report}");
    reset();
    // A record cut out of the middle: a gap.
    let bytes = std::fs::read(&journal).unwrap();
    let first_record_bytes = 4 + u32::from_be_bytes(bytes[49..53].try_into().unwrap()) as usize + 96;
    let mut cut = bytes[..49].to_vec();
    cut.extend_from_slice(&bytes[49 + first_record_bytes..]);
    std::fs::write(&journal, cut).unwrap();
    let report = verify(&location, pinned).unwrap();
    assert!(report.damage.is_some(), "{report}");
    reset();
    // Without --stop-at-damage a restore refuses damage and leaves nothing behind.
    flip(&journal, length / 2);
    let target = scratch.path().join("target");
    let options = RestoreOptions { center_key: pinned, stop_at_damage: false };
    assert!(restore(&location, &target, &options).is_err());
    assert!(!target.exists());
    reset();

    // An unfinished last record (a crash while shipping, never answered) is left out, not damage.
    let shortened = bytes.len() - 10;
    std::fs::write(&journal, &bytes[..shortened]).unwrap();
    let report = verify(&location, pinned).unwrap();
    assert!(report.passed(), "{report}");
    assert!(report.unfinished_tail_bytes > 0);
    assert_eq!(report.shipped_groups, 3);
}
