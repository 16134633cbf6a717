//! Faults in the middle (issue 8). Terminals pay through their outboxes
//! across a faulty line (tests/support/proxy.rs: connections dropped before
//! a request reaches the center, after it does, after the answer leaves;
//! requests duplicated; frames delayed) to the real center, which ships its
//! journal to a backup location. With the `failpoints` feature the center
//! also fails, or crashes, before and after the storage write, the flush,
//! the shipping to the backup location and the answer.
//!
//! Every combination ends with the same guarantees: every outbox empties,
//! every receipt a terminal holds is what the center has, the audit passes,
//! and the backup location restores a center that agrees with the receipts
//! too.
//!
//! Disk faults too: a data directory on a small tmpfs that fills up (the
//! center refuses with "storage unavailable", then loses nothing), and bits
//! flipped in sled's files (refused at start by sled's checksums) and inside
//! records (found by the audit); the backup center restores either.

use std::path::Path;
use std::time::Duration;

use denbun_tests::ChildCenter;
use denbun_tests::fleet::Fleet;
use denbun_tests::proxy::{FaultPlan, Proxy};

/// How long the load of one run may take at most.
const LOAD_TIME_MAX: Duration = Duration::from_secs(180);
/// How long the outboxes may take to empty once the faults stop.
const DRAIN_TIME_MAX: Duration = Duration::from_secs(120);

/// `verify-backup` on the backup location, asserting it passes.
fn assert_backup_intact(center: &ChildCenter, location: &Path) -> String {
    let output = center.command().arg("verify-backup").arg(location).output().expect("run verify-backup");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "verify-backup:\n{report}{}", String::from_utf8_lossy(&output.stderr));
    report
}

/// Restores the backup location into a new data directory, serves it, and
/// asserts that the restored center agrees with every receipt.
async fn assert_restored_center_agrees(center: &mut ChildCenter, location: &Path, fleet: &Fleet, scratch: &Path) {
    let restored = scratch.join("restored");
    let output = center.command().arg("restore").arg(location).arg("--data").arg(&restored).output().unwrap();
    assert!(output.status.success(), "restore: {}", String::from_utf8_lossy(&output.stdout));
    std::fs::create_dir_all(restored.join("operators")).unwrap();
    std::fs::copy(center.data.join("operators/O001.key"), restored.join("operators/O001.key")).unwrap();
    let original = std::mem::replace(&mut center.data, restored);
    let arguments = std::mem::take(&mut center.serve_arguments);
    center.start();
    fleet.assert_center_agrees(center).await;
    center.stop();
    center.assert_audit_passes();
    center.data = original;
    center.serve_arguments = arguments;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_line_loses_nothing_acknowledged() {
    let scratch = tempfile::tempdir().unwrap();
    let location = scratch.path().join("backup-center");
    let mut center = ChildCenter::init(scratch.path().join("center"));
    center.allow_many_terminals_from_one_address();
    center.serve_arguments = vec!["--backup-dir".into(), location.clone().into()];
    center.start();
    let mut fleet = Fleet::register(&center, &scratch.path().join("terminals"), 12).await;
    let proxy = Proxy::start(center.address.parse().unwrap(), FaultPlan::every_fault(8, 6)).await;
    let through = proxy.address.to_string();

    fleet.run(&through, 20, LOAD_TIME_MAX).await;
    proxy.set_faults(false);
    fleet.drain(&through, DRAIN_TIME_MAX).await;
    let payments = fleet.assert_center_agrees(&center).await;

    // Every kind of fault struck (the plan is seeded; a zero would mean the proxy did nothing).
    let counts = &proxy.counts;
    for (fault, counter) in [
        ("dropped before a request", &counts.dropped_before_request),
        ("dropped after a request", &counts.dropped_after_request),
        ("dropped after an answer", &counts.dropped_after_answer),
        ("duplicated", &counts.duplicated),
        ("delayed", &counts.delayed),
    ] {
        assert!(counter.load(std::sync::atomic::Ordering::Relaxed) > 0, "no frame was {fault}: {counts}");
    }
    center.stop();
    center.assert_audit_passes();
    assert_backup_intact(&center, &location);
    assert_restored_center_agrees(&mut center, &location, &fleet, scratch.path()).await;
    println!("faulty line: {payments} payments acknowledged; {counts}");
}

#[cfg(feature = "failpoints")]
mod failpoints {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    use super::*;

    /// Every failpoint of the center (docs/reliability.md), and what striking it does.
    const FAILPOINTS: [&str; 6] = [
        "storage.before_write",
        "storage.before_flush",
        "storage.after_flush",
        "backup.before_ship",
        "committer.before_answer",
        "server.after_answer",
    ];
    /// `return`: the failure is an error (refused group, dropped answers, a cut line): certainly at the
    /// third hit of each life of the center, then in this percentage of hits.
    const RETURN_PERCENT: u32 = 10;
    /// `panic`: the center crashes there (a failpoints build aborts on any panic) at this hit of each
    /// life. A percentage would leave a short run that never crashes (0.97^60 is about 16%).
    const PANIC_AT_HIT: u32 = 5;
    /// A poisoned storage refuses everything until a restart: the supervisor restarts this often.
    const RESTART_EVERY: Duration = Duration::from_millis(1_500);

    /// Whether the center's log shows `text` (the printer, DATA/log/).
    fn log_contains(data: &Path, text: &str) -> bool {
        std::fs::read_dir(data.join("log"))
            .map(|entries| {
                entries.flatten().any(|entry| std::fs::read_to_string(entry.path()).unwrap_or_default().contains(text))
            })
            .unwrap_or(false)
    }

    /// Starts the center, again and again if a failpoint crashes it at once.
    fn start_until_up(center: &mut ChildCenter) -> usize {
        for crashes in 0..100 {
            if center.try_start().is_ok() {
                return crashes;
            }
        }
        panic!("the center did not stay up through 100 starts");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_failpoint_ends_with_the_same_guarantees() {
        let scratch = tempfile::tempdir().unwrap();
        let location = scratch.path().join("backup-center");
        let mut center = ChildCenter::init(scratch.path().join("center"));
        center.allow_many_terminals_from_one_address();
        center.serve_arguments = vec!["--backup-dir".into(), location.clone().into()];
        center.start();
        let mut fleet = Fleet::register(&center, &scratch.path().join("terminals"), 8).await;
        let proxy = Proxy::start(center.address.parse().unwrap(), FaultPlan::every_fault(9, 3)).await;
        let through = proxy.address.to_string();
        let mut summary = Vec::new();

        for failpoint in FAILPOINTS {
            for action in ["return", "panic"] {
                let started = Instant::now();
                center.kill();
                // fail's syntax: `N*off` passes N hits, then the next task takes over.
                let plan = match action {
                    "return" => format!("2*off->1*return->{RETURN_PERCENT}%return"),
                    _ => format!("{}*off->panic", PANIC_AT_HIT - 1),
                };
                center.serve_environment = vec![("FAILPOINTS".into(), format!("{failpoint}={plan}").into())];
                let mut crashes = start_until_up(&mut center);
                proxy.set_faults(true);

                // The load, while a supervisor restarts the center when it dies, and now and then anyway.
                let done = Arc::new(AtomicBool::new(false));
                let supervisor = {
                    let done = done.clone();
                    tokio::task::spawn_blocking(move || {
                        let mut last_start = Instant::now();
                        while !done.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(20));
                            let crashed = center.exited();
                            if crashed || last_start.elapsed() > RESTART_EVERY {
                                if crashed {
                                    crashes += 1;
                                } else {
                                    center.kill();
                                }
                                crashes += start_until_up(&mut center);
                                last_start = Instant::now();
                            }
                        }
                        (center, crashes)
                    })
                };
                fleet.run(&through, 15, LOAD_TIME_MAX).await;
                done.store(true, Ordering::Relaxed);
                let (returned, crashes) = supervisor.await.unwrap();
                center = returned;

                // The failpoints go, the faults stop, and everything settles.
                if center.is_running() {
                    center.kill();
                }
                center.serve_environment.clear();
                center.start();
                proxy.set_faults(false);
                fleet.drain(&through, DRAIN_TIME_MAX).await;
                let payments = fleet.assert_center_agrees(&center).await;
                center.stop();
                center.assert_audit_passes();
                if action == "panic" {
                    assert!(crashes > 0, "{failpoint}={plan} never crashed the center");
                } else {
                    assert!(
                        log_contains(&center.data, &format!("failpoint {failpoint}")),
                        "{failpoint}={plan} never struck"
                    );
                }
                summary.push(format!(
                    "{failpoint}={plan}: {crashes} crashes, {} starts so far, {payments} payments acknowledged so far, {:.1} s",
                    center.starts,
                    started.elapsed().as_secs_f64()
                ));
                center.start();
            }
        }
        center.stop();
        let verification = assert_backup_intact(&center, &location);
        assert_restored_center_agrees(&mut center, &location, &fleet, scratch.path()).await;
        println!("failpoints:\n{}\nline: {}\n{verification}", summary.join("\n"), proxy.counts);
    }
}

/// A small tmpfs mounted for one test (needs root); unmounted on drop.
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    /// Mounts `bytes` of tmpfs at `path`, or `None` where this process may not mount.
    fn mount(path: &Path, bytes: u64) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(path)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk { path: path.to_owned() })
    }

    /// Fills every byte left with a file, and returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write as _;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        // Bounded by the disk's size: each turn writes a chunk or the loop ends.
        for chunk in [1 << 20, 4096, 1] {
            let block = vec![0u8; chunk];
            while file.write_all(&block).is_ok() {}
        }
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_telegrams_and_loses_nothing_acknowledged() {
    use denbun_protocol::header::Code;
    use denbun_protocol::reject::RejectReason;
    use denbun_protocol::telegram::card::{CardRequest, FundingChannel};
    use denbun_protocol::telegram::registration::Applicant;
    use denbun_protocol::wire::Amount;
    use denbun_tests::TestParty;

    let scratch = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&scratch.path().join("disk"), 64 << 20) else {
        // The same refusal through an I/O error is covered by the failpoint suite
        // (storage.before_write, storage.before_flush: `return`).
        println!("full disk: not run (mounting a tmpfs needs root); see faults::failpoints");
        return;
    };
    let mut center = ChildCenter::init(disk.path.join("center"));
    center.allow_many_terminals_from_one_address();
    center.start();
    let mut fleet = Fleet::register(&center, &scratch.path().join("terminals"), 4).await;
    let address = center.address.clone();
    fleet.run(&address, 10, LOAD_TIME_MAX).await;
    fleet.drain(&address, DRAIN_TIME_MAX).await;
    let acknowledged_before = fleet.assert_center_agrees(&center).await;

    // A member at the protocol level, to read the refusal's reason.
    let fingerprint = center.identity().fingerprint();
    let mut terminal = center.connect().await;
    let number = terminal.apply(Applicant::Member).await;
    let mut member = TestParty::new(number);
    let answer = member.send_registration(&mut terminal, &fingerprint, center.activation_code(number)).await;
    assert_eq!(answer.code(), Code::REGISTRATION_CERTIFICATE, "{answer:?}");
    let top_up = || CardRequest { amount: Amount::new(1_000).unwrap(), channel: FundingChannel::CreditCompany };

    // The disk fills up. What still fits in the engine's buffers may be
    // acknowledged; then every business telegram is refused, "storage unavailable".
    let filler = disk.fill();
    let mut accepted = 0u64;
    let mut refused = None;
    for _ in 0..200 {
        let request = member.request(&fingerprint, top_up());
        let answer = terminal.exchange(&request).await;
        match answer.header().reject_reason() {
            None => accepted += 1,
            Some(reason) => {
                refused = Some((request, reason));
                break;
            }
        }
    }
    let (refused_request, reason) = refused.expect("a full disk refused nothing in 200 telegrams");
    assert_eq!(reason, RejectReason::StorageUnavailable);
    // The center stays up and keeps refusing rather than acknowledging.
    let again = terminal.exchange(&member.request(&fingerprint, top_up())).await;
    assert_eq!(again.header().reject_reason(), Some(RejectReason::StorageUnavailable));
    // The fleet's telegrams wait in the outboxes meanwhile.
    fleet.run(&address, 3, Duration::from_secs(10)).await;
    assert!(fleet.members.iter().any(|member| !member.outbox_is_empty()), "a full disk acknowledged everything");
    drop(terminal);

    // The operator frees space and restarts the center: nothing acknowledged is lost.
    center.kill();
    std::fs::remove_file(filler).unwrap();
    center.start();
    fleet.drain(&address, DRAIN_TIME_MAX).await;
    let acknowledged = fleet.assert_center_agrees(&center).await;
    assert!(acknowledged >= acknowledged_before);
    let mut terminal = center.connect().await;
    let answer = terminal.exchange(&refused_request).await;
    assert_eq!(answer.code(), Code::CARD_ANSWER, "the refused telegram goes through unchanged: {answer:?}");
    drop(terminal);
    center.stop();
    center.assert_audit_passes();
    println!(
        "full disk: {acknowledged_before} payments acknowledged before, {accepted} top-ups accepted while it filled, \
         then refused ({reason:?}); {acknowledged} payments after the restart, audit passed"
    );
}

/// Every file of `from` copied into `to`.
fn copy_directory(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_directory(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn raw_records(storage: &dyn denbun_center::storage::Storage) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut records = Vec::new();
    storage
        .for_each_raw(&mut |key, value| {
            records.push((key.to_vec(), value.to_vec()));
            true
        })
        .unwrap();
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_bit_is_refused_at_start_or_found_by_the_audit() {
    use denbun_center::storage::{LedgerKey, SledStorage, Storage};
    use denbun_protocol::header::MemberNumber;

    let scratch = tempfile::tempdir().unwrap();
    let location = scratch.path().join("backup-center");
    let mut center = ChildCenter::init(scratch.path().join("center"));
    center.allow_many_terminals_from_one_address();
    center.serve_arguments = vec!["--backup-dir".into(), location.clone().into()];
    center.start();
    let mut fleet = Fleet::register(&center, &scratch.path().join("terminals"), 4).await;
    let address = center.address.clone();
    fleet.run(&address, 10, LOAD_TIME_MAX).await;
    fleet.drain(&address, DRAIN_TIME_MAX).await;
    center.stop();
    let center_key = ed25519_dalek::VerifyingKey::from_bytes(&center.identity().verification_key).unwrap();
    let pristine = {
        let storage = SledStorage::open(&center.data.join("db")).unwrap();
        raw_records(&storage)
    };

    // Bits flipped in sled's own files: sled's checksums refuse the database
    // at start, or the flip fell where nothing lives and the data is intact.
    let mut refused_at_start = 0;
    let mut harmless = 0;
    let mut probes = Vec::new();
    for file in ["db", "conf"] {
        let length = std::fs::metadata(center.data.join("db").join(file)).unwrap().len();
        let count = if file == "db" { 24 } else { 4 };
        probes.extend((0..count).map(|step| (file, (length * step / count + step * 7) % length, step % 8)));
    }
    for (index, (file, offset, bit)) in probes.iter().enumerate() {
        let copy = scratch.path().join(format!("flipped-{index}"));
        copy_directory(&center.data, &copy);
        let path = copy.join("db").join(file);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[*offset as usize] ^= 1 << bit;
        std::fs::write(&path, bytes).unwrap();
        let audit = center.command().args(["audit", "--data"]).arg(&copy).output().unwrap();
        if audit.status.success() {
            let storage = SledStorage::open(&copy.join("db")).unwrap();
            assert!(raw_records(&storage) == pristine, "{file} bit {bit} at {offset}: the audit passed changed data");
            harmless += 1;
        } else {
            refused_at_start += 1;
            // The same open refuses `serve`: the center does not start on it.
            if refused_at_start == 1 {
                let original = std::mem::replace(&mut center.data, copy.clone());
                assert!(center.try_start().is_err(), "the center started on a database sled calls corrupt");
                center.data = original;
            }
        }
        std::fs::remove_dir_all(&copy).unwrap();
    }
    assert!(refused_at_start > 0, "no flip in sled's files was noticed");

    // Bits flipped inside records, through the Storage API (as if sled's
    // checksum had missed it): the audit finds every one.
    let storage_member = MemberNumber::try_from(fleet.members[0].party()).unwrap();
    // The journal is kept in pages of consecutive entries (storage/pages.rs): take the middle page.
    let journal_keys: Vec<&Vec<u8>> = pristine.iter().map(|(key, _)| key).filter(|key| key[0] == b'j').collect();
    let journal_key = journal_keys[journal_keys.len() / 2].clone();
    let account_key =
        LedgerKey::account(denbun_center::storage::ledger_records::AccountId::stored_value(storage_member))
            .as_bytes()
            .to_vec();
    let mut register_key = vec![b'p'];
    register_key.extend_from_slice(&denbun_protocol::wire::encode_to_vec(&fleet.members[0].party()));
    let value_of = |key: &[u8]| pristine.iter().find(|(stored, _)| stored == key).expect("the record").1.clone();
    let register_value = value_of(&register_key);
    let record: denbun_center::storage::PartyRecord = denbun_protocol::wire::decode_exact(&register_value).unwrap();
    let verification_key = record.verification_key.unwrap();
    let key_offset = register_value.windows(32).position(|window| window == verification_key).unwrap();
    let mut flips = 0;
    for (what, key, offsets) in [
        (
            "a page of journal entries",
            journal_key.clone(),
            // Every 7th byte of a short page; about 64 bytes spread over a long one.
            (0..value_of(&journal_key).len()).step_by((value_of(&journal_key).len() / 64).max(7)).collect::<Vec<_>>(),
        ),
        ("a ledger account", account_key.clone(), (0..value_of(&account_key).len()).collect()),
        (
            "a register entry's verification key",
            register_key.clone(),
            (key_offset..key_offset + 32).step_by(3).collect(),
        ),
    ] {
        let original = value_of(&key);
        for offset in offsets {
            let copy = scratch.path().join("record-flip");
            copy_directory(&center.data, &copy);
            let storage = SledStorage::open(&copy.join("db")).unwrap();
            let mut flipped = original.clone();
            flipped[offset] ^= 1 << (offset % 8);
            storage.load_raw(&[(key.clone(), flipped)]).unwrap();
            let found = match denbun_center::audit::audit(&storage, &center_key) {
                Ok(report) => !report.passed(),
                Err(_) => true,
            };
            assert!(found, "{what}: a bit flipped at byte {offset} passed the audit");
            flips += 1;
            drop(storage);
            std::fs::remove_dir_all(&copy).unwrap();
        }
    }

    // The remedy: the backup center restores a center that agrees with every receipt.
    std::fs::remove_dir_all(center.data.join("db")).unwrap();
    assert_restored_center_agrees(&mut center, &location, &fleet, scratch.path()).await;
    println!(
        "bit flips: in sled's files {refused_at_start} refused at start, {harmless} harmless (unused bytes, data \
         intact); inside records {flips} flips, all found by the audit"
    );
}
