//! The generator against a center in this process for about a second per
//! phase: every phase runs, every request is answered and accepted, and the
//! audit passes over what the center journaled. Counts only — never
//! wall-clock figures, which depend on the machine.

use std::time::Duration;

use denbun_bench::report::PhaseReport;
use denbun_bench::run::{CenterChoice, PhaseName, RunOptions, run};

fn phase<'r>(phases: &'r [PhaseReport], name: &str) -> &'r PhaseReport {
    phases.iter().find(|phase| phase.phase == name).unwrap_or_else(|| panic!("no {name} phase in {phases:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_phase_runs_against_an_in_process_center_and_the_audit_passes() {
    let options = RunOptions {
        terminals: 3,
        stores: 1,
        phases: vec![PhaseName::SignOn, PhaseName::Echo, PhaseName::Payments, PhaseName::Mixed],
        warmup: Duration::from_millis(100),
        measure: Duration::from_millis(700),
        bound_time: Duration::from_millis(20),
        progress: false,
        audit: true,
        idle_sessions: 5,
        filler_members: 50,
        center: CenterChoice::InProcess,
        ..RunOptions::default()
    };
    let report = run(&options).await.expect("the run completes");

    let names: Vec<&str> = report.phases.iter().map(|phase| phase.phase.as_str()).collect();
    assert_eq!(
        names,
        ["application", "registration", "sign-on", "funding", "echo", "payments", "mixed"],
        "skipped: {:?}",
        report.skipped
    );
    for phase in &report.phases {
        assert_eq!(phase.failures, 0, "{}: {:?}", phase.phase, phase.first_failure);
        assert!(phase.rejects.is_empty(), "{}: {:?}", phase.phase, phase.rejects);
        assert!(phase.operations > 0, "{} did nothing", phase.phase);
        assert!(phase.telegrams >= 2 * phase.operations, "{}: a request and its answer each", phase.phase);
    }
    // Three members and one store apply, register and fund once each.
    for name in ["application", "registration", "funding"] {
        assert_eq!(phase(&report.phases, name).operations, 4, "{name}");
    }
    // The payments phase counts payments only; each has its answer and the store's notice.
    let payments = phase(&report.phases, "payments");
    assert_eq!(payments.by_code["4000 payment instruction"].count, payments.operations);
    assert!(payments.telegrams >= 3 * payments.operations);
    assert!(payments.bound.as_ref().is_some_and(|bound| bound.operations_per_second > 0.0));
    // The mixed phase sends every kind.
    let mixed = phase(&report.phases, "mixed");
    for code in ["4000 payment instruction", "3200 catalog page request", "2000 prepaid card request"] {
        assert!(mixed.by_code.contains_key(code), "mixed lacks {code}: {:?}", mixed.by_code.keys());
    }
    let idle = report.idle.as_ref().expect("idle sessions were asked for");
    assert_eq!((idle.sessions, idle.refused), (5, 0));
    let echo = idle.echo_while_held.as_ref().expect("the echo phase ran while they were held");
    assert!(echo.operations > 0 && echo.failures == 0 && echo.rejects.is_empty());

    assert_eq!(report.audit_passed, Some(true), "{:?}", report.audit);
    assert!(report.disk_bytes.is_some_and(|bytes| bytes > 0));
}

/// The real binary, its center as a child process, the JSON report.
#[test]
fn the_binary_runs_with_its_center_as_a_child_process_and_writes_json() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let json = directory.path().join("report.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_denbun-bench"))
        .args(["run", "--terminals", "2", "--stores", "1", "--phases", "echo,payments"])
        .args(["--seconds", "0.5", "--warmup", "0.1", "--bound-ms", "10", "--quiet", "--json"])
        .arg(&json)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run denbun-bench");
    assert!(status.success(), "denbun-bench exited with {status}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report")).expect("valid JSON");
    assert_eq!(report["center"], "child process");
    assert_eq!(report["audit_passed"], true, "{}", report["audit"]);
    let phases: Vec<&str> = report["phases"].as_array().unwrap().iter().map(|p| p["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["application", "registration", "funding", "echo", "payments"]);
    for phase in report["phases"].as_array().unwrap() {
        assert_eq!(phase["failures"], 0, "{phase}");
        assert!(phase["operations"].as_u64().unwrap() > 0, "{phase}");
        // The center has a process of its own: its CPU time and memory are known.
        assert!(phase["center_cpu"].is_object(), "{phase}");
        assert!(phase["committer_cpu"].is_object() && phase["connections_cpu"].is_object(), "{phase}");
        assert!(phase["center_resident_bytes"].as_u64().unwrap() > 0, "{phase}");
    }
}
