//! The center under load: one the bench starts over a fresh data directory
//! (as a child process, or inside this process), or one already running.
//!
//! **Child process (the default).** The bench runs itself again as
//! `denbun-bench center --data DIR`: the same library calls as
//! `denbun-center serve` (load `center.toml`, open sled, `Center::start`,
//! `server::run` on a multi-thread runtime), without the key file's scrypt
//! and without logging. The center's keys travel over the child's standard
//! input (never argv, never disk), and closing that input stops the center
//! the way SIGTERM does. The center then has its own process, so its CPU time
//! and resident memory are its own, read from `/proc/PID`. Only the
//! `denbun-bench` program can do this (it runs its own executable); code
//! that links the library and is another program uses the in-process center.
//!
//! **In process** (`--in-process`, and the smoke test): the center runs on
//! a runtime of its own, with threads named `center-rt`, in this process.
//! Its CPU time is the process's minus the generator's threads; its memory
//! cannot be told apart and is not reported.
//!
//! **Running** (`--center center.pub --address`): the bench needs an
//! operator key file to read activation codes from the mail queue; CPU and
//! memory are reported when `--center-pid` names the center's process.
//!
//! Before a local center starts, the bench may write register entries and
//! journal entries straight into its database (filler members for a large
//! ledger, members for idle sessions, a long journal for the start time), as
//! `denbun-center init` writes the first operator. The center is not running
//! then, so the committer is still the only writer of a running center.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use denbun_center::config::{Config, TEMPLATE};
use denbun_center::server;
use denbun_center::service::Center;
use denbun_center::service::tx::{Origin, Tx};
use denbun_center::storage::{Counter, PartyRecord, PartyStatus, SledStorage, Storage, Write, WriteBatch};
use denbun_client::keys::{CenterKeys, generate_center_keys};
use denbun_client::vault::{IdentityCardFile, UnlockedVault, Vault};
use denbun_protocol::header::PartyId;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{CenterKeyContents, Password, Secret32};
use denbun_protocol::sign::Signer;
use denbun_protocol::telegram::network::{Echo, EchoAnswer};
use denbun_protocol::wire::{Blob, Date, Text};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::OsRng;

use crate::measure;
use crate::terminal::{CenterView, Terminal, now_ms};

/// The database directory inside a data directory (as `denbun-center init` makes it).
const DATABASE_DIRECTORY: &str = "db";
/// The configuration file inside a data directory.
const CONFIG_FILE: &str = "center.toml";
/// How long a center may take to start listening (a journal of millions of
/// entries takes sled a while to recover).
const START_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a center may take to stop and make its last group durable.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// What the child prints once it listens.
const READY_PREFIX: &str = "listening ";
/// Register entries written per storage commit while seeding.
const SEED_BATCH_RECORDS: u64 = 10_000;
/// Thread name of the in-process center's runtime.
pub const CENTER_THREAD_NAME: &str = "center-rt";
/// Thread-name prefix of the generator's own threads.
pub const GENERATOR_THREAD_PREFIX: &str = "bench-";

/// Why the center could not be started, reached or stopped.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

fn fail(message: impl std::fmt::Display) -> TargetError {
    TargetError(message.to_string())
}

/// The limits a bench center runs with: the defaults, with the caps that
/// would refuse the bench's own traffic from one loopback address raised.
#[derive(Clone, Debug)]
pub struct CenterLimits {
    /// Connections at once (all from 127.0.0.1).
    pub connections_max: u32,
    /// Telegrams per second one sender may send (one terminal in a closed
    /// loop sends thousands).
    pub telegrams_per_second_per_sender: u32,
    /// Applications per hour from one address (every terminal applies from 127.0.0.1).
    pub applications_per_address_per_hour: u32,
    /// The credit company's monthly line per member (funding and top-ups).
    pub monthly_credit_line_yen: u64,
    /// Telegrams per group commit.
    pub group_commit_telegrams_max: u32,
}

impl Default for CenterLimits {
    fn default() -> Self {
        CenterLimits {
            connections_max: 16_000,
            telegrams_per_second_per_sender: 100_000,
            applications_per_address_per_hour: 10_000,
            monthly_credit_line_yen: 1_000_000_000,
            group_commit_telegrams_max: 256,
        }
    }
}

impl CenterLimits {
    /// `center.toml` text: the template with these values.
    pub fn config_text(&self) -> String {
        let replacements: [(&str, String); 10] = [
            ("listen", "\"127.0.0.1:0\"".to_owned()),
            ("connections_max", self.connections_max.to_string()),
            ("connections_per_address_max", self.connections_max.to_string()),
            ("telegrams_per_second_per_sender", self.telegrams_per_second_per_sender.to_string()),
            ("telegram_burst_per_sender", (2 * self.telegrams_per_second_per_sender).to_string()),
            ("applications_per_address_per_hour", self.applications_per_address_per_hour.to_string()),
            // Every bench terminal connects from 127.0.0.1.
            ("handshakes_per_second_per_address", self.telegrams_per_second_per_sender.to_string()),
            ("handshake_burst_per_address", (2 * self.telegrams_per_second_per_sender).to_string()),
            ("default_monthly_line_yen", self.monthly_credit_line_yen.to_string()),
            ("group_commit_telegrams_max", self.group_commit_telegrams_max.to_string()),
        ];
        TEMPLATE
            .lines()
            .map(|line| {
                let replaced = replacements.iter().find_map(|(key, value)| {
                    line.strip_prefix(key).filter(|rest| rest.starts_with(" = ")).map(|_| format!("{key} = {value}"))
                });
                replaced.unwrap_or_else(|| line.to_owned())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// What to write into a fresh database before the center starts.
#[derive(Default)]
pub struct Seeds {
    /// Members that never send: a register of this many extra entries.
    pub filler_members: u64,
    /// Keys of members the bench will sign on without registering them
    /// through the protocol (numbered after the fillers, in this order).
    pub signing_members: Vec<VerifyingKey>,
    /// Journal entries (echo requests and their answers) to write.
    pub journal_entries: u64,
}

/// How the bench reaches the center's operator (for the mail queue).
pub struct OperatorAccess {
    /// The operator as a terminal.
    pub terminal: Terminal,
    /// The key file of a running center's operator: processing numbers come
    /// from it, so they never repeat one an earlier run used.
    pub vault: Option<UnlockedVault>,
}

/// Where a local center runs.
enum Running {
    Child {
        child: Child,
        stdin: Option<ChildStdin>,
    },
    InProcess {
        thread: std::thread::JoinHandle<Result<(), TargetError>>,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
    },
}

/// A center the bench started over its own data directory.
pub struct LocalCenter {
    directory: PathBuf,
    _temporary: Option<tempfile::TempDir>,
    keys: CenterKeys,
    running: Option<Running>,
    /// From starting the center to its listening socket.
    pub start_time: Duration,
}

/// The center under load.
pub struct Target {
    /// The center as terminals pin it.
    pub view: Arc<CenterView>,
    /// The operator.
    pub operator: OperatorAccess,
    /// The local center, when the bench started it.
    pub local: Option<LocalCenter>,
    /// The center's process, when known and not this one.
    pub center_pid: Option<u32>,
    /// The first member number of [`Seeds::signing_members`].
    pub first_signing_member: u64,
}

/// CPU time split between the center and the generator at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSnapshot {
    /// The center's process (or its threads, in process); `None` when unknown.
    pub center_ms: Option<u64>,
    /// The center's committer thread.
    pub committer_ms: Option<u64>,
    /// The center's runtime threads (connections).
    pub connections_ms: Option<u64>,
    /// The generator.
    pub generator_ms: u64,
}

impl Target {
    /// Starts a center over a fresh temporary data directory, seeded with `seeds`.
    pub fn start_local(
        limits: &CenterLimits,
        seeds: &Seeds,
        in_process: bool,
        keep_directory: Option<&Path>,
    ) -> Result<Target, TargetError> {
        let (temporary, directory) = match keep_directory {
            Some(directory) => {
                std::fs::create_dir_all(directory)
                    .map_err(|error| fail(format!("{}: {error}", directory.display())))?;
                (None, directory.to_owned())
            }
            None => {
                let temporary = tempfile::Builder::new()
                    .prefix("denbun-bench-")
                    .tempdir()
                    .map_err(|error| fail(format!("temporary directory: {error}")))?;
                let path = temporary.path().to_owned();
                (Some(temporary), path)
            }
        };
        let keys = generate_center_keys(&mut OsRng);
        let operator_key = SigningKey::generate(&mut OsRng);
        let operator = PartyId::operator(1).expect("operator 1");
        std::fs::write(directory.join(CONFIG_FILE), limits.config_text())
            .map_err(|error| fail(format!("writing center.toml: {error}")))?;
        Config::load(&directory.join(CONFIG_FILE)).map_err(fail)?;
        let first_signing_member = seed(&directory, &keys, operator, &operator_key.verifying_key(), seeds)?;
        let mut local =
            LocalCenter { directory, _temporary: temporary, keys, running: None, start_time: Duration::ZERO };
        let address = local.start(in_process)?;
        let identity = local.identity(address);
        let view = Arc::new(CenterView::new(&identity, address).map_err(fail)?);
        let center_pid = match &local.running {
            Some(Running::Child { child, .. }) => Some(child.id()),
            _ => None,
        };
        Ok(Target {
            view,
            operator: OperatorAccess { terminal: Terminal::with_key(operator, operator_key, 1), vault: None },
            local: Some(local),
            center_pid,
            first_signing_member,
        })
    }

    /// A running center: `card` is its `center.pub`, `operator_key` an
    /// operator's key file whose passwords are in the files named by
    /// `DENBUN_PASSWORD_A_FILE` and `DENBUN_PASSWORD_B_FILE`.
    pub fn running(
        card: &Path,
        address: SocketAddr,
        operator_key: &Path,
        center_pid: Option<u32>,
    ) -> Result<Target, TargetError> {
        if !address.ip().is_loopback() {
            return Err(fail(format!("{address} is not a loopback address: the bench loads 127.0.0.1 only")));
        }
        let identity = CenterIdentity::read(card).map_err(fail)?;
        let view = Arc::new(CenterView::new(&identity, address).map_err(fail)?);
        let password_a = password_from_file("DENBUN_PASSWORD_A_FILE")?;
        let password_b = password_from_file("DENBUN_PASSWORD_B_FILE")?;
        let vault = Vault::open(operator_key, &password_a).map_err(fail)?;
        let party = vault.profile().party;
        let key = vault.signing_key(&password_b).map_err(fail)?.signing_key().clone();
        Ok(Target {
            view,
            operator: OperatorAccess { terminal: Terminal::with_key(party, key, 1), vault: Some(vault) },
            local: None,
            center_pid,
            first_signing_member: 0,
        })
    }

    /// The center's and the generator's CPU time now.
    pub fn cpu(&self) -> CpuSnapshot {
        let own = std::process::id();
        let own_total = measure::process_cpu_ms(own).unwrap_or(0);
        match self.center_pid {
            Some(pid) => {
                let threads = measure::thread_cpu_ms(pid).ok();
                CpuSnapshot {
                    center_ms: measure::process_cpu_ms(pid).ok(),
                    committer_ms: threads.as_ref().map(committer_ms),
                    connections_ms: threads.as_ref().map(connections_ms),
                    generator_ms: own_total,
                }
            }
            None if self.local.is_some() => {
                // In process: the generator's threads are named, the rest is the center's.
                let threads = measure::thread_cpu_ms(own).unwrap_or_default();
                let generator: u64 = threads
                    .iter()
                    .filter(|(name, _)| name.starts_with(GENERATOR_THREAD_PREFIX))
                    .map(|(_, cpu)| *cpu)
                    .sum();
                CpuSnapshot {
                    center_ms: Some(own_total.saturating_sub(generator)),
                    committer_ms: Some(committer_ms(&threads)),
                    connections_ms: Some(connections_ms(&threads)),
                    generator_ms: generator,
                }
            }
            None => CpuSnapshot { center_ms: None, committer_ms: None, connections_ms: None, generator_ms: own_total },
        }
    }

    /// The center's resident memory, when it has a process of its own.
    pub fn center_resident_bytes(&self) -> Option<u64> {
        self.center_pid.and_then(|pid| measure::resident_bytes(pid).ok())
    }

    /// What the center's database occupies, for a local center.
    pub fn disk_bytes(&self) -> Option<u64> {
        let local = self.local.as_ref()?;
        measure::directory_bytes(&local.directory.join(DATABASE_DIRECTORY)).ok()
    }

    /// Stops a local center (its last group made durable), runs the audit
    /// over its data when `audit` is set, and returns the report.
    pub fn stop(&mut self, audit: bool) -> Result<Option<denbun_center::audit::AuditReport>, TargetError> {
        let Some(local) = self.local.as_mut() else { return Ok(None) };
        local.stop()?;
        if !audit {
            return Ok(None);
        }
        let storage = SledStorage::open(&local.directory.join(DATABASE_DIRECTORY)).map_err(fail)?;
        let center_key = VerifyingKey::from_bytes(&local.keys.verification_key).map_err(fail)?;
        denbun_center::audit::audit(&storage, &center_key).map(Some).map_err(fail)
    }

    /// Stops a local center and starts it again on the same data; returns
    /// how long it took to listen again.
    pub fn restart(&mut self) -> Result<Duration, TargetError> {
        let Some(local) = self.local.as_mut() else { return Err(fail("only a local center can be restarted")) };
        let in_process = matches!(local.running, Some(Running::InProcess { .. }));
        local.stop()?;
        let address = local.start(in_process)?;
        let identity = local.identity(address);
        self.view = Arc::new(CenterView::new(&identity, address).map_err(fail)?);
        self.center_pid = match &local.running {
            Some(Running::Child { child, .. }) => Some(child.id()),
            _ => None,
        };
        Ok(local.start_time)
    }
}

/// The center runtime's threads: the connection tasks (decrypt, decode,
/// verify, encrypt) and the blocking reads they start. Living threads only.
fn connections_ms(threads: &BTreeMap<String, u64>) -> u64 {
    threads.get(CENTER_THREAD_NAME).copied().unwrap_or(0)
}

fn committer_ms(threads: &BTreeMap<String, u64>) -> u64 {
    threads.get("committer").copied().unwrap_or(0)
}

fn password_from_file(variable: &str) -> Result<Password, TargetError> {
    let path = std::env::var_os(variable)
        .ok_or_else(|| fail(format!("{variable} must name the file holding the operator's password")))?;
    let text = std::fs::read_to_string(&path).map_err(|error| fail(format!("{variable}: {error}")))?;
    Ok(Password::new(text.strip_suffix('\n').unwrap_or(&text).to_owned()))
}

impl LocalCenter {
    fn identity(&self, address: SocketAddr) -> CenterIdentity {
        identity_of(&self.keys, address)
    }

    fn start(&mut self, in_process: bool) -> Result<SocketAddr, TargetError> {
        assert!(self.running.is_none(), "the center is already running");
        let started = Instant::now();
        let secrets = key_bytes(&self.keys);
        let (address, running) = if in_process {
            let (ready_sender, ready) = mpsc::channel();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let directory = self.directory.clone();
            let contents = key_contents(&secrets);
            let thread = std::thread::Builder::new()
                .name(format!("{CENTER_THREAD_NAME}-main"))
                .spawn(move || {
                    serve(
                        &directory,
                        &contents,
                        move |address| {
                            let _ = ready_sender.send(address);
                        },
                        async {
                            let _ = stopped.await;
                        },
                    )
                })
                .map_err(fail)?;
            let address = match ready.recv_timeout(START_TIMEOUT) {
                Ok(address) => address,
                // The center thread ended before listening (it dropped the
                // sender on its way out, so join it even if it has not quite
                // finished yet): say why.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let why = match thread.join() {
                        Ok(Err(error)) => error.to_string(),
                        Ok(Ok(())) => "it stopped at once".to_owned(),
                        Err(_) => "it panicked".to_owned(),
                    };
                    return Err(fail(format!("the in-process center did not start: {why}")));
                }
                Err(_) => return Err(fail("the in-process center did not start in time")),
            };
            (address, Running::InProcess { thread, stop: Some(stop) })
        } else {
            let executable = std::env::current_exe().map_err(fail)?;
            let mut child = Command::new(executable)
                .arg("center")
                .arg("--data")
                .arg(&self.directory)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|error| fail(format!("cannot start the center process: {error}")))?;
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin.write_all(secrets.as_slice()).and_then(|()| stdin.flush()).map_err(fail)?;
            let stdout = child.stdout.take().expect("piped stdout");
            let (ready_sender, ready) = mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = std::io::BufReader::new(stdout).read_line(&mut line);
                let _ = ready_sender.send(line);
            });
            let line = ready.recv_timeout(START_TIMEOUT).map_err(|_| fail("the center process did not start"))?;
            let address = line
                .trim()
                .strip_prefix(READY_PREFIX)
                .and_then(|address| address.parse().ok())
                .ok_or_else(|| fail(format!("the center process did not start (it said {line:?})")))?;
            (address, Running::Child { child, stdin: Some(stdin) })
        };
        self.start_time = started.elapsed();
        self.running = Some(running);
        Ok(address)
    }

    fn stop(&mut self) -> Result<(), TargetError> {
        match self.running.take() {
            None => Ok(()),
            Some(Running::InProcess { thread, mut stop }) => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                thread.join().map_err(|_| fail("the in-process center panicked"))?
            }
            Some(Running::Child { mut child, mut stdin }) => {
                drop(stdin.take());
                let deadline = Instant::now() + STOP_TIMEOUT;
                loop {
                    if let Some(status) = child.try_wait().map_err(fail)? {
                        return if status.success() {
                            Ok(())
                        } else {
                            Err(fail(format!("the center process exited with {status}")))
                        };
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        return Err(fail("the center process did not stop in time and was killed"));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

impl Drop for LocalCenter {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn identity_of(keys: &CenterKeys, address: SocketAddr) -> CenterIdentity {
    CenterIdentity {
        name: Text::new("Denbun Bench Center").expect("short"),
        address: Text::new(address.to_string()).expect("an address fits"),
        verification_key: keys.verification_key,
        noise_public_key: keys.noise_public_key,
    }
}

/// The center's two secret keys as the child reads them from its input.
fn key_bytes(keys: &CenterKeys) -> zeroize::Zeroizing<[u8; 64]> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 64]);
    bytes[..32].copy_from_slice(keys.signing_seed.expose());
    bytes[32..].copy_from_slice(keys.noise_secret_key.expose());
    bytes
}

/// A center's key contents from its two secret keys (the Ed25519 signing
/// seed, then the X25519 Noise secret), with an identity whose address is a
/// placeholder: what the child center and the benchmarks start a center with.
pub fn key_contents(secrets: &[u8; 64]) -> CenterKeyContents {
    let mut signing = [0u8; 32];
    signing.copy_from_slice(&secrets[..32]);
    let mut noise = [0u8; 32];
    noise.copy_from_slice(&secrets[32..]);
    let signing_seed = Secret32::new(signing);
    let noise_secret_key = Secret32::new(noise);
    let verification_key = SigningKey::from_bytes(signing_seed.expose()).verifying_key().to_bytes();
    let noise_public_key = denbun_protocol::session::public_key_from_secret(noise_secret_key.expose());
    let placeholder = "127.0.0.1:0".parse().expect("an address");
    let keys = CenterKeys { signing_seed, verification_key, noise_secret_key, noise_public_key };
    CenterKeyContents {
        identity: identity_of(&keys, placeholder),
        signing_seed: keys.signing_seed,
        noise_secret_key: keys.noise_secret_key,
    }
}

/// The child's side: reads the keys from standard input, serves the data
/// directory, prints where it listens, and stops when its input closes.
pub fn run_child(directory: &Path) -> Result<(), TargetError> {
    let mut secrets = zeroize::Zeroizing::new([0u8; 64]);
    std::io::stdin().read_exact(secrets.as_mut_slice()).map_err(|error| fail(format!("reading the keys: {error}")))?;
    let contents = key_contents(&secrets);
    drop(secrets);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        // Closing our input is the signal to stop.
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
        let _ = stop.send(());
    });
    serve(
        directory,
        &contents,
        |address| {
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "{READY_PREFIX}{address}");
            let _ = stdout.flush();
        },
        async {
            let _ = stopped.await;
        },
    )
}

/// Serves `directory` as `denbun-center serve` does, until `shutdown`.
fn serve(
    directory: &Path,
    keys: &CenterKeyContents,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), TargetError> {
    let config = Config::load(&directory.join(CONFIG_FILE)).map_err(fail)?;
    let listen = config.listen;
    let storage: Arc<dyn Storage> = Arc::new(SledStorage::open(&directory.join(DATABASE_DIRECTORY)).map_err(fail)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(CENTER_THREAD_NAME)
        .max_blocking_threads(server::BLOCKING_THREADS_MAX)
        .build()
        .map_err(fail)?;
    let (center, committer) = Center::start(config, keys, storage, Some(directory.to_owned())).map_err(fail)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(fail)?;
        ready(listener.local_addr().map_err(fail)?);
        server::run(listener, center, shutdown).await;
        Ok::<(), TargetError>(())
    })?;
    drop(runtime);
    committer.join().map_err(|error| fail(format!("the last group could not be made durable: {error}")))
}

/// Writes the operator, the seeded members and journal entries into a
/// fresh database; returns the number of the first signing member.
fn seed(
    directory: &Path,
    keys: &CenterKeys,
    operator: PartyId,
    operator_key: &VerifyingKey,
    seeds: &Seeds,
) -> Result<u64, TargetError> {
    let storage = SledStorage::open(&directory.join(DATABASE_DIRECTORY)).map_err(fail)?;
    let now = now_ms();
    let record = |party: PartyId, key: &VerifyingKey, name: &str| PartyRecord {
        party,
        status: PartyStatus::Registered,
        name: Text::truncated(name),
        address: Text::truncated("1-2-3 Marunouchi, Chiyoda-ku, Tokyo"),
        date_of_birth: if party.kind() == denbun_protocol::header::PartyKind::Member {
            Date::new(1990, 4, 1)
        } else {
            None
        },
        trade_name: None,
        bank_account: Blob::default(),
        verification_key: Some(key.to_bytes()),
        delivery_key: Some([9; 32]),
        activation: None,
        applied_at_ms: now,
        registered_at_ms: now,
    };
    let mut batch = WriteBatch::default();
    batch.push(Write::Party(record(operator, operator_key, "Bench Operator")));
    storage.commit(&batch).map_err(fail)?;

    // Fillers share one key: a lookup costs the same whichever key it finds.
    let filler_key = SigningKey::generate(&mut OsRng).verifying_key();
    let journal_key = SigningKey::generate(&mut OsRng);
    let journal_member = u64::from(seeds.journal_entries > 0);
    let members = seeds.filler_members + seeds.signing_members.len() as u64 + journal_member;
    let mut number = 0u64;
    while number < members {
        let mut batch = WriteBatch::default();
        for _ in 0..SEED_BATCH_RECORDS.min(members - number) {
            number += 1;
            let party = PartyId::member(number).map_err(fail)?;
            let index = number - 1;
            let key = if index < seeds.filler_members {
                filler_key
            } else if let Some(key) = seeds.signing_members.get((index - seeds.filler_members) as usize) {
                *key
            } else {
                journal_key.verifying_key()
            };
            batch.push(Write::Party(record(party, &key, "Bench Member")));
        }
        batch.push(Write::Counter(Counter::LastMember, number));
        storage.commit(&batch).map_err(fail)?;
    }
    if seeds.journal_entries > 0 {
        let member = PartyId::member(members).map_err(fail)?;
        seed_journal(&storage, keys, member, &journal_key, seeds.journal_entries)?;
    }
    Ok(seeds.filler_members + 1)
}

/// Journal entries written per commit while seeding.
const SEED_JOURNAL_BATCH_ENTRIES: u64 = 2_000;

/// Writes `entries` journal entries: echo requests from `member` and the
/// center's signed answers, chained as the committer chains them.
fn seed_journal(
    storage: &SledStorage,
    keys: &CenterKeys,
    member: PartyId,
    member_key: &SigningKey,
    entries: u64,
) -> Result<(), TargetError> {
    let center_key = SigningKey::from_bytes(keys.signing_seed.expose());
    let fingerprint = denbun_protocol::sign::CenterFingerprint::of(&center_key.verifying_key());
    let member_signer = Signer::new(member, member_key, fingerprint).map_err(fail)?;
    let center_signer = Signer::center(&center_key);
    let origin = Origin { session: 1, handshake_hash: [0; 32], peer: "127.0.0.1:1".to_owned() };
    let mut head = storage.journal_head().map_err(fail)?;
    let mut written = 0u64;
    let mut processing_number = 0u64;
    while written < entries {
        let pairs = (SEED_JOURNAL_BATCH_ENTRIES.min(entries - written)).div_ceil(2);
        // Signing is the slow part: two threads sign, then one chains.
        let numbers: Vec<u64> = (processing_number + 1..=processing_number + pairs).collect();
        processing_number += pairs;
        let signed: Vec<(Vec<u8>, Vec<u8>)> = std::thread::scope(|scope| {
            let halves: Vec<_> = numbers
                .chunks(numbers.len().div_ceil(2).max(1))
                .map(|chunk| {
                    let member_signer = &member_signer;
                    let center_signer = &center_signer;
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|number| {
                                let request = member_signer.request(*number, now_ms(), Echo {}).expect("an echo");
                                let answer = center_signer
                                    .answer(request.header(), now_ms(), EchoAnswer {})
                                    .expect("an echo answer");
                                (request.into_bytes(), answer.into_bytes())
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            halves.into_iter().flat_map(|half| half.join().expect("a signing thread")).collect()
        });
        let mut tx = Tx::new(storage, &center_key, head.clone(), now_ms());
        for (request, answer) in &signed {
            if written >= entries {
                break;
            }
            let sequence = tx.journal_in(&origin, request, true);
            written += 1;
            if written < entries {
                tx.journal_out(&origin, answer, sequence);
                written += 1;
            }
        }
        let (batch, new_head) = tx.finish();
        storage.commit(&batch).map_err(fail)?;
        head = new_head;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_configuration_is_the_template_with_its_caps_raised_and_loads() {
        let limits = CenterLimits { connections_max: 12_345, ..CenterLimits::default() };
        let config = Config::parse(&limits.config_text(), "bench").unwrap();
        assert_eq!(config.limits.connections_max, 12_345);
        assert_eq!(config.limits.connections_per_address_max, 12_345);
        assert_eq!(config.limits.telegrams_per_second_per_sender, 100_000);
        assert!(config.listen.ip().is_loopback());
        assert_eq!(config.listen.port(), 0);
        // Keys that only start like a replaced key keep their own value.
        assert_eq!(config.limits.handshakes_concurrent_max, Config::default_config().limits.handshakes_concurrent_max);
    }

    #[test]
    fn the_secret_keys_survive_the_trip_to_the_child() {
        let keys = generate_center_keys(&mut OsRng);
        let contents = key_contents(&key_bytes(&keys));
        contents.check_consistency().unwrap();
        assert_eq!(contents.identity.verification_key, keys.verification_key);
        assert_eq!(contents.identity.noise_public_key, keys.noise_public_key);
    }
}
