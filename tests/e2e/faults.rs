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
    /// `return`: the failure is an error (refused group, dropped answers, a cut line), in percent of hits.
    const RETURN_PERCENT: u32 = 10;
    /// `panic`: the center crashes there (a failpoints build aborts on any panic), in percent of hits.
    const PANIC_PERCENT: u32 = 3;
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
            for (action, percent) in [("return", RETURN_PERCENT), ("panic", PANIC_PERCENT)] {
                let started = Instant::now();
                center.kill();
                center.serve_environment =
                    vec![("FAILPOINTS".into(), format!("{failpoint}={percent}%{action}").into())];
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
                    assert!(crashes > 0, "{failpoint}={percent}%panic never crashed the center");
                } else {
                    assert!(
                        log_contains(&center.data, &format!("failpoint {failpoint}")),
                        "{failpoint}={percent}%return never struck"
                    );
                }
                summary.push(format!(
                    "{failpoint}={percent}%{action}: {crashes} crashes, {} starts so far, {payments} payments acknowledged so far, {:.1} s",
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
