//! Helper for the crash test (tests/e2e/vault_crash.rs): opens a key file and
//! saves it in a loop until killed, announcing each completed save.
//!
//! Usage: `vault-save-loop KEY_FILE SAVES_MAX`, password A on standard input
//! (never on the command line). Prints `ready N` once open, where N is the
//! next processing number in the file, then `saved N` after each save, where N
//! is the next processing number that save made durable. Uses the test-only
//! small scrypt parameters.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use denbun_client::vault::{Vault, VaultConfig};
use denbun_protocol::keyfile::Password;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().collect();
    let [_, path, saves_max] = arguments.as_slice() else {
        eprintln!("usage: vault-save-loop KEY_FILE SAVES_MAX (password A on standard input)");
        return ExitCode::from(2);
    };
    let Ok(saves_max) = saves_max.parse::<u32>() else {
        eprintln!("SAVES_MAX must be a number");
        return ExitCode::from(2);
    };
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        eprintln!("could not read password A from standard input");
        return ExitCode::from(2);
    }
    let password_a = Password::new(line.trim_end_matches('\n').to_owned());
    line.clear();

    // The parent reads the file (taking its lock) between children, and while
    // it holds the lock another thread of the test process may fork: the
    // forked child shares the lock until it execs. So "in use" can be true for
    // a moment; wait it out, briefly and boundedly.
    let path = PathBuf::from(path);
    let mut attempts_left = 200u32;
    let mut vault = loop {
        match Vault::open_with(&path, &password_a, VaultConfig::test_only_fast()) {
            Ok(vault) => break vault,
            Err(denbun_client::vault::VaultError::InUse { .. }) if attempts_left > 0 => {
                attempts_left -= 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    // Each line is flushed before the next save starts, so the parent knows
    // every save that completed before the kill (and at most one more).
    let announce = |stdout: &mut std::io::StdoutLock<'_>, text: String| {
        writeln!(stdout, "{text}").and_then(|()| stdout.flush()).is_ok()
    };
    if !announce(&mut stdout, format!("ready {}", vault.next_processing_number())) {
        return ExitCode::FAILURE;
    }
    for _ in 0..saves_max {
        if let Err(error) = vault.allocate_processing_number() {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
        if !announce(&mut stdout, format!("saved {}", vault.next_processing_number())) {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
