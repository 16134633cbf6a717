//! The load generator against the real center: `denbun-bench` (the real
//! binary) registers members and stores through the protocol against
//! `denbun-center serve` (the real binary) on 127.0.0.1, funds them, and
//! runs the payment and mixed phases at an offered rate, with every answer
//! verified against the center's pinned key. The center's default caps stay
//! in force (the rate is far below them). Afterwards every request was
//! answered and accepted, the center stops cleanly, and the offline audit
//! passes over what the pipelined committer journaled: the journal's hash
//! chain, every signature, each processing number applied at most once, and
//! the ledger replayed against every balance.
//!
//! Counts only, never times: the rates depend on the machine.

use denbun_tests::ChildCenter;

/// Terminals of the run; the operations are bounded by `--seconds` and `--operations-max`.
const TERMINALS: &str = "4";

#[test]
fn the_load_generator_settles_payments_against_the_real_center_and_the_audit_passes() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut center = ChildCenter::init(directory.path().join("center"));
    center.start();
    let report_path = directory.path().join("report.json");
    let output = center
        .command_of("denbun-bench")
        .arg("run")
        .arg("--center")
        .arg(center.data.join("center.pub"))
        .args(["--address", &center.address])
        .arg("--operator-key")
        .arg(center.data.join("operators/O001.key"))
        .args(["--terminals", TERMINALS, "--phases", "payments,mixed", "--rate", "40"])
        .args(["--seconds", "1.5", "--warmup", "0.3", "--operations-max", "400", "--bound-ms", "50"])
        // The default monthly credit line of a member is 300,000 yen.
        .args(["--funding-yen", "100000", "--quiet"])
        .arg("--json")
        .arg(&report_path)
        .output()
        .expect("run denbun-bench");
    assert!(
        output.status.success(),
        "denbun-bench failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).expect("the JSON report")).expect("JSON");
    let phases = report["phases"].as_array().expect("phases");
    let phase = |name: &str| {
        phases.iter().find(|phase| phase["phase"] == name).unwrap_or_else(|| panic!("no {name} phase: {report}"))
    };
    for name in ["application", "registration", "funding", "payments", "mixed"] {
        let phase = phase(name);
        assert_eq!(phase["failures"], 0, "{name}: {}", phase["first_failure"]);
        assert_eq!(phase["rejects"], serde_json::json!({}), "{name} was refused");
        assert!(phase["operations"].as_u64().unwrap() > 0, "{name} did nothing");
    }
    // Four members and one store apply, register and fund once each.
    for name in ["application", "registration", "funding"] {
        assert_eq!(phase(name)["operations"], 5, "{name}");
    }
    let payments = phase("payments");
    let paid = payments["by_code"]["4000 payment instruction"]["count"].as_u64().expect("payments were made");
    assert!(paid > 0);
    // A payment is its instruction, its answer and the store's notice.
    assert!(payments["telegrams"].as_u64().unwrap() >= 3 * paid);
    // The rate by tenth of the window accounts for every payment counted,
    // each in one tenth.
    let tenths = payments["operations_per_second_by_tenth"].as_array().expect("rates by tenth");
    assert_eq!(tenths.len(), 10, "{payments}");
    let tenth_seconds = payments["seconds"].as_f64().unwrap() / 10.0;
    let counted: f64 = tenths.iter().map(|rate| rate.as_f64().unwrap() * tenth_seconds).sum();
    assert_eq!(counted.round() as u64, payments["operations"].as_u64().unwrap(), "{payments}");
    let mixed = phase("mixed");
    for code in ["4000 payment instruction", "3200 catalog page request", "2000 prepaid card request"] {
        assert!(mixed["by_code"].get(code).is_some(), "the mixed phase sent no {code}: {mixed}");
    }

    center.stop();
    let audit = center.assert_audit_passes();
    assert!(audit.contains("audit passed"), "{audit}");
}
