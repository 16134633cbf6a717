//! The real `denbun-center` binary: init, serve, a registration over the
//! network, a clean stop on SIGTERM, and the offline audit.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use denbun_client::vault::IdentityCardFile;
use denbun_protocol::header::Code;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::sign::CenterFingerprint;
use denbun_protocol::telegram::registration::{ActivationCode, Applicant};
use denbun_tests::{RawTerminal, TestParty, binary};

/// Secrets go to the binaries through files named in the environment, never argv.
fn secret_files(directory: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let mut files = Vec::new();
    for (variable, secret) in [
        ("DENBUN_CENTER_PASSPHRASE_FILE", "center passphrase for tests"),
        ("DENBUN_PASSWORD_A_FILE", "operator password A"),
        ("DENBUN_PASSWORD_B_FILE", "operator password B"),
    ] {
        let path = directory.join(variable.to_lowercase());
        std::fs::write(&path, secret).unwrap();
        files.push((variable, path));
    }
    files
}

fn center_command(secrets: &[(&str, std::path::PathBuf)]) -> Command {
    let mut command = Command::new(binary("denbun-center"));
    command.stdin(Stdio::null());
    for (variable, path) in secrets {
        command.env(variable, path);
    }
    command
}

/// Waits until `serve` has rewritten center.pub with the port it bound.
fn wait_for_address(identity_path: &Path, child: &mut Child) -> CenterIdentity {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(identity) = CenterIdentity::read(identity_path)
            && !identity.address.ends_with(":0")
        {
            return identity;
        }
        assert!(child.try_wait().unwrap().is_none(), "denbun-center serve exited early");
        assert!(Instant::now() < deadline, "the center did not start listening in time");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn init_serve_register_stop_and_audit_with_the_real_binary() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("center");
    let secrets = secret_files(scratch.path());

    let init = center_command(&secrets)
        .args(["init", "--data"])
        .arg(&data)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(init.status.success(), "init failed: {}", String::from_utf8_lossy(&init.stderr));
    for file in ["center.toml", "center.key", "center.pub", "operators/O001.key"] {
        assert!(data.join(file).exists(), "init did not write {file}");
    }
    // Running init again must not overwrite a center.
    let again = center_command(&secrets).args(["init", "--data"]).arg(&data).output().unwrap();
    assert!(!again.status.success());

    let mut serve = center_command(&secrets)
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let identity = wait_for_address(&data.join("center.pub"), &mut serve);
    let address = identity.address.parse().unwrap();

    let mut terminal = RawTerminal::connect(address, &identity).await.unwrap();
    let member = terminal.apply(Applicant::Member).await;
    // The activation code reaches the applicant by post. The operator lists the
    // letters (no codes shown), prints one, and marks it printed.
    let operator = |arguments: &[&str]| {
        let output = center_command(&secrets).current_dir(&data).arg("mail").args(arguments).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "mail {arguments:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        stdout
    };
    let listed = operator(&["list"]);
    assert!(listed.contains(&member.to_string()) && listed.contains("to print"), "{listed}");
    let letter_number = listed.split_whitespace().next().unwrap().to_owned();
    let text = operator(&["show", &letter_number]);
    let code = text.lines().find_map(|line| line.strip_prefix("Activation code: ")).unwrap().to_owned();
    assert!(!listed.contains(&code), "the list must not show codes");
    // The same letter was written as a file for the printer.
    let file = std::fs::read_dir(data.join("mail")).unwrap().next().unwrap().unwrap().path();
    assert!(std::fs::read_to_string(file).unwrap().contains(&code));
    assert!(operator(&["printed", &letter_number]).contains("marked printed"));
    assert!(operator(&["list"]).contains("No letters waiting"));
    let code = code.as_str();
    let mut party = TestParty::new(member);
    let fingerprint = CenterFingerprint::from_bytes(*identity.fingerprint().as_bytes());
    let registration =
        party.request(&fingerprint, party.registration(ActivationCode::new(code).unwrap(), Applicant::Member));
    let certificate = terminal.exchange(&registration).await;
    assert_eq!(certificate.code(), Code::REGISTRATION_CERTIFICATE);

    // While it runs, the data directory belongs to the server: audit says so.
    let busy = center_command(&secrets).args(["audit", "--data"]).arg(&data).output().unwrap();
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("stop it first"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );

    // SIGTERM: a clean stop.
    // SAFETY-free: `kill` through the command line keeps this crate free of unsafe code.
    let status = Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = serve.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the center did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(serve.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(exit.success(), "serve exited with {exit}: {log}");
    assert!(log.contains("stopped"), "{log}");

    let audit = center_command(&secrets).args(["audit", "--data"]).arg(&data).output().unwrap();
    let report = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.status.success(), "audit failed: {report}{}", String::from_utf8_lossy(&audit.stderr));
    assert!(report.contains("audit passed"), "{report}");
    assert!(!log.contains(code), "the activation code must never reach the log");
}

/// A SIGTERM that arrives as soon as the port accepts connections stops the
/// center cleanly: it watches its signals before it listens, so a supervisor
/// (or a test) that stops it right after start never kills it with the
/// default action.
#[test]
fn a_sigterm_right_after_the_port_opens_stops_the_center_cleanly() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let center = denbun_tests::ChildCenter::init(directory.path().join("center"));
    // Bounded: five starts, each waited for at most a minute.
    for start in 1..=5 {
        let mut child = center
            .command()
            .args(["serve", "--data"])
            .arg(&center.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env("DENBUN_LOG", "warn")
            .spawn()
            .expect("start denbun-center serve");
        let deadline = Instant::now() + Duration::from_secs(60);
        // No sleep between attempts: the SIGTERM follows the port's opening as
        // closely as a test can make it.
        while std::net::TcpStream::connect(&center.address).is_err() {
            assert!(child.try_wait().expect("poll the child").is_none(), "serve exited on start {start}");
            assert!(Instant::now() < deadline, "the center did not listen within a minute");
        }
        let signalled = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("run kill");
        assert!(signalled.success());
        let exit = child.wait().expect("reap the center");
        assert!(exit.success(), "start {start}: SIGTERM right after listening ended serve with {exit}");
    }
    center.assert_audit_passes();
}
