//! The real `denbun` command line against a real center on loopback: apply,
//! register with the posted activation code, read the offline history, sign
//! on. Passwords travel in files named by environment variables only.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use denbun_client::vault::IdentityCardFile;
use denbun_protocol::header::PartyId;
use denbun_tests::{TestCenter, binary};

/// The `denbun` binary with one profile, one center card and password files.
struct Terminal {
    profile: PathBuf,
    center_card: PathBuf,
    password_a: PathBuf,
    password_b: Option<PathBuf>,
}

impl Terminal {
    /// Runs one verb; the child blocks, so it runs off the runtime's workers.
    fn run(&self, arguments: &[&str]) -> Output {
        let mut command = Command::new(binary("denbun"));
        command
            .stdin(Stdio::null())
            .arg("--profile")
            .arg(&self.profile)
            .arg("--center")
            .arg(&self.center_card)
            .args(arguments)
            .env("DENBUN_PASSWORD_A_FILE", &self.password_a)
            .env_remove("DENBUN_PASSWORD_B_FILE");
        if let Some(password_b) = &self.password_b {
            command.env("DENBUN_PASSWORD_B_FILE", password_b);
        }
        tokio::task::block_in_place(|| command.output().expect("run denbun"))
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_register_history_and_sign_on_with_the_real_denbun_binary() {
    let center = TestCenter::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let center_card = scratch.path().join("center.pub");
    center.identity().write(&center_card).unwrap();
    let password_a = scratch.path().join("a");
    let password_b = scratch.path().join("b");
    std::fs::write(&password_a, "correct horse battery A").unwrap();
    std::fs::write(&password_b, "correct horse battery B").unwrap();
    let profile = scratch.path().join("profile");
    let terminal = Terminal {
        profile: profile.clone(),
        center_card,
        password_a: password_a.clone(),
        password_b: Some(password_b.clone()),
    };

    let applied = terminal.run(&[
        "apply",
        "--kind",
        "member",
        "--name",
        "Hanako Yamada",
        "--address",
        "1-2-3 Marunouchi, Tokyo",
        "--date-of-birth",
        "1990-04-01",
        "--accept-agreement",
    ]);
    assert!(applied.status.success(), "apply: {}", text(&applied));
    let number: PartyId = text(&applied)
        .split_whitespace()
        .find_map(|word| word.trim_matches(|c: char| !c.is_ascii_alphanumeric()).parse().ok())
        .expect("apply prints the number assigned");
    let code = center.letter_for(number).activation_code.expose().to_owned();
    assert!(!text(&applied).contains(&code), "the code must come by post, not in the answer");

    // The code comes by post; the member keeps it in a file to type it once.
    let code_file = scratch.path().join("code");
    std::fs::write(&code_file, &code).unwrap();
    let registered = terminal.run(&[
        "register",
        "--number",
        &number.to_string(),
        "--activation-code-file",
        code_file.to_str().unwrap(),
        "--name",
        "Hanako Yamada",
        "--address",
        "1-2-3 Marunouchi, Tokyo",
        "--date-of-birth",
        "1990-04-01",
    ]);
    assert!(registered.status.success(), "register: {}", text(&registered));
    assert!(profile.join("denbun.key").exists());
    let record = center.party(number).unwrap();
    assert!(record.verification_key.is_some(), "the center registered the key");
    for secret in ["correct horse battery A", "correct horse battery B", code.as_str()] {
        assert!(!text(&registered).contains(secret), "register printed a secret");
    }

    // Offline, password A only: history and outbox open without password B.
    let offline = Terminal { password_b: None, ..terminal };
    let history = offline.run(&["history"]);
    assert!(history.status.success(), "history: {}", text(&history));
    let outbox = offline.run(&["outbox"]);
    assert!(outbox.status.success(), "outbox: {}", text(&outbox));
    let wrong = Terminal { password_a: password_b.clone(), ..offline };
    let refused = wrong.run(&["history"]);
    assert!(!refused.status.success(), "a wrong password A must not open the history");

    let signed_on = Terminal { password_a, password_b: Some(password_b), ..wrong }.run(&["sign-on"]);
    assert!(signed_on.status.success(), "sign-on: {}", text(&signed_on));
    center.assert_audit_passes();
}
