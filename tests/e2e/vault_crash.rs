//! Crash safety of key-file saves (issue 3, "Saving without losing anything").
//!
//! Many short-lived child processes (`vault-save-loop`) each open the same key
//! file and save it in a loop; the test kills each one with SIGKILL after a
//! random delay, then checks that the file opens and holds either the last
//! save the child announced or the one it was in the middle of (every save
//! writes a larger next processing number, the counter). The number also never
//! goes back, so a processing number is never handed out twice.
//!
//! Bounded in count (children, saves per child) and, as a safety net, in time.
//! The random delays come from a seeded generator; the seed is printed so a
//! failure can be replayed with `DENBUN_CRASH_SEED`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use denbun_client::keys::generate_member_keys;
use denbun_client::vault::{NewVault, Vault, VaultConfig};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{Password, Profile};
use denbun_protocol::wire::Text;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};

const SAVES_MIN: u64 = 1_000;
const CHILDREN_MAX: u64 = 3_000;
/// Saves one child makes if it is not killed first.
const SAVES_PER_CHILD_MAX: u32 = 200;
/// Only a safety net for a machine far slower than expected; the test then
/// fails on the save count instead of running for ever.
const TIME_BUDGET: Duration = Duration::from_secs(300);
const PASSWORD_A: &str = "crash test password A";

fn config() -> VaultConfig {
    VaultConfig::test_only_fast()
}

fn create_key_file(path: &Path) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let keys = generate_member_keys(&mut rng, None);
    let new = NewVault {
        profile: Profile {
            party: denbun_protocol::header::PartyId::member(42).expect("a member number"),
            name: Text::new("Crash Test").unwrap(),
        },
        center: CenterIdentity {
            name: Text::new("center").unwrap(),
            address: Text::new("127.0.0.1:7800").unwrap(),
            verification_key: keys.verification_key,
            noise_public_key: keys.delivery_public_key,
        },
        keys,
    };
    Vault::create(path, new, &Password::from(PASSWORD_A), &Password::from("crash test password B"), config(), &mut rng)
        .unwrap();
}

/// The counter in the file: its next processing number.
fn counter_in(path: &Path) -> u64 {
    match Vault::open_with(path, &Password::from(PASSWORD_A), config()) {
        Ok(vault) => vault.next_processing_number(),
        Err(error) => panic!("{} does not open after a kill: {error}", path.display()),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Parses `word N` lines; a last line cut short by the kill is ignored.
fn numbers_after(output: &str, word: &str) -> Vec<u64> {
    output
        .split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .filter_map(|line| line.trim_end().strip_prefix(word)?.strip_prefix(' ')?.parse().ok())
        .collect()
}

#[test]
fn killed_saves_leave_the_old_or_the_new_file() {
    let seed =
        std::env::var("DENBUN_CRASH_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or_else(|| OsRng.next_u64());
    eprintln!("vault crash test: DENBUN_CRASH_SEED={seed}");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    create_key_file(&path);

    let started = Instant::now();
    let mut counter = counter_in(&path);
    let (mut children, mut kills, mut saves) = (0u64, 0u64, 0u64);
    let (mut caught_mid_save, mut leftover_temporaries) = (0u64, 0u64);
    // Kill delays follow the observed save time, so kills land inside saves
    // whether this machine's fsync takes microseconds or milliseconds.
    let mut saving_time = Duration::ZERO;

    while saves < SAVES_MIN && children < CHILDREN_MAX && started.elapsed() < TIME_BUDGET {
        children += 1;
        let mut child = Command::new(env!("CARGO_BIN_EXE_vault-save-loop"))
            .arg(&path)
            .arg(SAVES_PER_CHILD_MAX.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{PASSWORD_A}").unwrap();
        drop(stdin);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        stdout.read_line(&mut ready).unwrap();
        assert_eq!(ready.trim_end(), format!("ready {counter}"), "the child opened the file as last left");

        let save_estimate = saving_time.checked_div(saves.max(1) as u32).unwrap_or_default();
        let window_micros = (save_estimate.as_micros() as u64 * 4).clamp(500, 100_000);
        let delay = Duration::from_micros(rng.next_u64() % window_micros);
        std::thread::sleep(delay);
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        if still_running {
            kills += 1;
        }
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let announced = numbers_after(&rest, "saved");
        let last_announced = announced.last().copied().unwrap_or(counter);

        if with_suffix(&path, ".tmp").exists() {
            leftover_temporaries += 1;
        }
        let found = counter_in(&path);
        assert!(
            found == last_announced || found == last_announced + 1,
            "after kill {children}: the file holds {found}, the child last announced {last_announced} (seed {seed})"
        );
        assert!(!with_suffix(&path, ".tmp").exists(), "opening removes a leftover temporary file");
        if found == last_announced + 1 {
            caught_mid_save += 1;
        }
        // The backup, when there is one, is always a complete earlier version.
        let backup = with_suffix(&path, ".bak");
        if backup.exists() {
            assert!(
                counter_in(&backup) <= found,
                "the backup is an earlier version (or, just before the rename, the same)"
            );
        }

        saves += found - counter;
        saving_time += delay;
        counter = found;
    }

    eprintln!(
        "vault crash test: {children} children, {kills} killed while running, {saves} saves survived, \
         {caught_mid_save} kills between rename and announcement, {leftover_temporaries} leftover temporary files \
         removed, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(saves >= SAVES_MIN, "only {saves} saves in {children} children (seed {seed})");
    assert!(kills * 2 >= children, "most children must be killed mid-run, not finish on their own");
}
