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
