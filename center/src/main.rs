//! `denbun-center`: set up, run and check a Denbun settlement center.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use denbun_center::config::{Config, TEMPLATE};
use denbun_center::operator::Operator;
use denbun_center::service::Center;
use denbun_center::storage::LetterRecord;
use denbun_center::storage::{Counter, PartyRecord, PartyStatus, SledStorage, Storage, Write, WriteBatch};
use denbun_center::{audit, commands, mail, server};
use denbun_client::keys::{generate_center_keys, generate_member_keys_from_os};
use denbun_client::vault::{CenterKeyFile, IdentityCardFile, NewVault, Vault, VaultConfig};
use denbun_protocol::header::PartyId;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{Password, Profile};
use denbun_protocol::telegram::Body;
use denbun_protocol::telegram::inquiry::{LetterQuery, MailQueueAnswer, MailQueueRequest};
use denbun_protocol::wire::{Blob, Text};
use rand_core::OsRng;

mod backup_cli;

/// File names inside the data directory.
const CONFIG_FILE: &str = "center.toml";
const KEY_FILE: &str = "center.key";
const IDENTITY_FILE: &str = "center.pub";
const DATABASE_DIRECTORY: &str = "db";
const LOG_DIRECTORY: &str = "log";
const OPERATOR_DIRECTORY: &str = "operators";

#[derive(Parser)]
#[command(name = "denbun-center", version, about = "The Denbun settlement center")]
struct Arguments {
    #[command(subcommand)]
    command: Command,
    /// How operator commands reach the running center.
    #[command(flatten)]
    operator: OperatorArguments,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory: keys, config, the first operator, center.pub.
    ///
    /// The center's passphrase is read from the file named by
    /// DENBUN_CENTER_PASSPHRASE_FILE, or asked for. The first operator's
    /// passwords A and B come from DENBUN_PASSWORD_A_FILE and
    /// DENBUN_PASSWORD_B_FILE, or are asked for.
    Init {
        /// The data directory to create.
        #[arg(long)]
        data: PathBuf,
        /// The center's name, shown to members.
        #[arg(long, default_value = "Denbun Settlement Center")]
        name: String,
        /// Where terminals connect (host:port), written into center.pub and center.toml.
        #[arg(long, default_value = "127.0.0.1:7700")]
        listen: String,
    },
    /// Run the center in the foreground until SIGINT or SIGTERM.
    Serve {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        /// Listen here instead of center.toml's address (port 0: any free port).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// The backup location: every committed group is shipped there before
        /// it is answered, after a backup taken at start if needed
        /// (docs/reliability.md).
        #[arg(long)]
        backup_dir: Option<PathBuf>,
    },
    /// Check the data offline; exits non-zero naming what is wrong. The center must be stopped.
    Audit {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// The mail queue of activation letters, through the running center.
    ///
    /// Signs on as an operator; passwords A and B of the operator key file come
    /// from DENBUN_PASSWORD_A_FILE and DENBUN_PASSWORD_B_FILE, or are asked for.
    Mail {
        #[command(subcommand)]
        action: MailAction,
    },
    /// The operator console: a live dashboard over the running center.
    ///
    /// Signs on as an operator; passwords A and B of the operator key file
    /// come from DENBUN_PASSWORD_A_FILE and DENBUN_PASSWORD_B_FILE, or are
    /// asked for before the screen opens.
    Console {
        /// Where transfer files exported from the Payouts tab are written.
        #[arg(long, default_value = ".")]
        exports: PathBuf,
    },
    #[command(flatten)]
    Money(MoneyCommand),
    #[command(flatten)]
    Backups(backup_cli::BackupCommand),
}

/// The operator's money commands, each through the running center.
#[derive(Subcommand)]
enum MoneyCommand {
    /// Top-ups waiting for money: pending, confirm, reject.
    #[command(subcommand)]
    Funds(commands::FundsCommand),
    /// Payment claims and payout batches: pending, approve, export, executed.
    #[command(subcommand)]
    Payouts(commands::PayoutsCommand),
    /// Members: search, show (with cards).
    #[command(subcommand)]
    Members(commands::PartyCommand),
    /// Stores: search, show.
    #[command(subcommand)]
    Stores(commands::PartyCommand),
    /// Purchases: show one.
    #[command(subcommand)]
    Transactions(commands::TransactionsCommand),
    /// A day's totals and the reconciliation (exits 1 when it does not reconcile).
    Report {
        /// The day, YYYY-MM-DD (business days in the center's time zone).
        #[arg(long)]
        day: String,
        /// Last day of a range, YYYY-MM-DD.
        #[arg(long)]
        to: Option<String>,
    },
}

/// How an operator command reaches the running center.
#[derive(clap::Args)]
struct OperatorArguments {
    /// Operator commands: the center's identity card.
    #[arg(long, global = true, default_value = "center.pub")]
    center: PathBuf,
    /// Operator commands: the operator's key file.
    #[arg(long, global = true, default_value = "operators/O001.key")]
    operator_key: PathBuf,
}

#[derive(Subcommand)]
enum MailAction {
    /// List letters waiting to be printed (with --all, printed ones too). Codes are not shown.
    List {
        /// Include letters already printed.
        #[arg(long)]
        all: bool,
    },
    /// Show one letter as it is printed, activation code included.
    Show {
        /// The letter's number.
        letter: u64,
    },
    /// Mark a letter printed and posted.
    Printed {
        /// The letter's number.
        letter: u64,
    },
}

/// sled copies a tree node on every insert, and glibc's malloc and free
/// took about a quarter of the committer's profile. Against the build
/// before the flusher and the caches, those changes alone gave -1% to +11%
/// payments per second in alternating runs, and with mimalloc too +9% to
/// +30% (docs/performance-history.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (`mimalloc.h`),
/// which libmimalloc-sys 0.1 does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory the process frees for its own reuse, instead of giving
/// it back to the system a second after (mimalloc 3's default purge delay).
///
/// The committer allocates and frees large blocks at every group (sled's
/// batch map, its log buffers, the group's writes). Given back, each purge
/// was an `madvise` whose TLB flush interrupts the other core, and the
/// memory came back as fresh pages. Counted over 3 s of the bench's
/// payments phase (`perf stat -p CENTER`): 470 `madvise` calls, 1,215 TLB
/// flushes and 4,674 page faults as before; 0, 0 and 66 with purging off.
/// In five alternating pairs of the bench (256 terminals) it settled more
/// payments a second in every pair, 4.7–7.5% more in four of them (the
/// fifth pair's other run was disturbed; docs/performance-history.md). What is
/// left of the page faults is memory that grows (sled's cache). The cost:
/// the resident memory stays at its high mark instead of shrinking after a
/// burst (about 60 MB more in those runs).
fn keep_freed_memory() {
    // SAFETY: two calls into mimalloc's option table, which it documents as
    // safe to set at any time; the option's index is checked against the
    // library's major version, the one whose enum it is taken from.
    unsafe {
        if libmimalloc_sys::mi_version() / 10_000 == 3 {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    #[cfg(feature = "failpoints")]
    let _failpoints = backup_cli::failpoints();
    let arguments = Arguments::parse();
    let result = match arguments.command {
        Command::Init { data, name, listen } => init(&data, &name, &listen),
        Command::Serve { data, listen, backup_dir } => serve(&data, listen, backup_dir.as_deref()),
        Command::Audit { data } => run_audit(&data),
        Command::Mail { action } => mail(action, &arguments.operator),
        Command::Money(command) => money(command, &arguments.operator),
        Command::Console { exports } => console(&arguments.operator, &exports),
        Command::Backups(command) => backup_cli::run(command, &arguments.operator),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("denbun-center: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Reads a secret from the file an environment variable names, or asks for it.
fn secret(variable: &str, prompt: &str, confirm: bool) -> Result<Password, String> {
    if let Some(path) = std::env::var_os(variable) {
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {} (named by {variable}): {error}", Path::new(&path).display()))?;
        let text = text.strip_suffix('\n').unwrap_or(&text).to_owned();
        if text.is_empty() {
            return Err(format!("the file named by {variable} is empty"));
        }
        return Ok(Password::new(text));
    }
    let first =
        rpassword::prompt_password(prompt).map_err(|error| format!("cannot read from the terminal: {error}"))?;
    if first.is_empty() {
        return Err("an empty passphrase is not allowed".to_owned());
    }
    if confirm {
        let second = rpassword::prompt_password("Type it again: ")
            .map_err(|error| format!("cannot read from the terminal: {error}"))?;
        if first != second {
            return Err("the two entries differ; nothing was created".to_owned());
        }
    }
    Ok(Password::new(first))
}

fn init(data: &Path, name: &str, listen: &str) -> Result<ExitCode, String> {
    if data.join(CONFIG_FILE).exists() || data.join(KEY_FILE).exists() {
        return Err(format!("{} already holds a center; nothing was changed", data.display()));
    }
    let listen_address: std::net::SocketAddr =
        listen.parse().map_err(|_| format!("--listen {listen} is not host:port (e.g. 127.0.0.1:7700)"))?;
    let passphrase = secret("DENBUN_CENTER_PASSPHRASE_FILE", "New passphrase for the center's key file: ", true)?;
    let operator_a = secret("DENBUN_PASSWORD_A_FILE", "Operator O001, new password A: ", true)?;
    let operator_b = secret("DENBUN_PASSWORD_B_FILE", "Operator O001, new password B: ", true)?;
    for directory in [data.to_owned(), data.join(LOG_DIRECTORY), data.join(OPERATOR_DIRECTORY), data.join("mail")] {
        std::fs::create_dir_all(&directory)
            .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    }
    let name_text = Text::new(name).map_err(|error| format!("--name: {error}"))?;
    let address_text = Text::new(listen).map_err(|error| format!("--listen: {error}"))?;
    eprintln!("Deriving the key file's encryption key (scrypt, about a second)…");
    let keys = generate_center_keys(&mut OsRng);
    let contents = CenterKeyFile::create(
        &data.join(KEY_FILE),
        name_text,
        address_text,
        &keys,
        &passphrase,
        VaultConfig::STANDARD,
        &mut OsRng,
    )
    .map_err(|error| error.to_string())?;
    contents.identity.write(&data.join(IDENTITY_FILE)).map_err(|error| error.to_string())?;
    let config = TEMPLATE.replace("listen = \"127.0.0.1:7700\"", &format!("listen = \"{listen_address}\""));
    std::fs::write(data.join(CONFIG_FILE), config)
        .map_err(|error| format!("cannot write {}: {error}", data.join(CONFIG_FILE).display()))?;

    let operator = PartyId::operator(1).expect("operator 1 is a valid number");
    let operator_keys = generate_member_keys_from_os(None);
    let operator_record = PartyRecord {
        party: operator,
        status: PartyStatus::Registered,
        name: Text::new("Operator 1").expect("short"),
        address: Text::new(listen).map_err(|error| error.to_string())?,
        date_of_birth: None,
        trade_name: None,
        bank_account: Blob::default(),
        verification_key: Some(operator_keys.verification_key),
        delivery_key: Some(operator_keys.delivery_public_key),
        activation: None,
        applied_at_ms: denbun_center::service::now_ms(),
        registered_at_ms: denbun_center::service::now_ms(),
    };
    let operator_path = data.join(OPERATOR_DIRECTORY).join("O001.key");
    eprintln!("Writing the operator key file (scrypt twice)…");
    Vault::create(
        &operator_path,
        NewVault {
            profile: Profile { party: operator, name: operator_record.name.clone() },
            center: contents.identity.clone(),
            keys: operator_keys,
        },
        &operator_a,
        &operator_b,
        VaultConfig::STANDARD,
        &mut OsRng,
    )
    .map_err(|error| error.to_string())?;
    let storage = SledStorage::open(&data.join(DATABASE_DIRECTORY)).map_err(|error| error.to_string())?;
    let mut batch = WriteBatch::default();
    batch.push(Write::Party(operator_record));
    batch.push(Write::Counter(Counter::LastMember, 0));
    storage.commit(&batch).map_err(|error| error.to_string())?;
    println!("Created the center in {}.", data.display());
    println!("  config:        {}", data.join(CONFIG_FILE).display());
    println!("  identity card: {} (give it to terminals)", data.join(IDENTITY_FILE).display());
    println!("  operator key:  {} (operator O001)", operator_path.display());
    println!("  fingerprint:   {} (read it to members who check their card)", contents.identity.short_fingerprint());
    println!("Start it with: denbun-center serve --data {}", data.display());
    Ok(ExitCode::SUCCESS)
}

fn open_center(data: &Path) -> Result<(Config, denbun_protocol::keyfile::CenterKeyContents), String> {
    let config = Config::load(&data.join(CONFIG_FILE)).map_err(|error| error.to_string())?;
    let passphrase = secret("DENBUN_CENTER_PASSPHRASE_FILE", "Passphrase of the center's key file: ", false)?;
    let keys = CenterKeyFile::open(&data.join(KEY_FILE), &passphrase).map_err(|error| error.to_string())?;
    Ok((config, keys))
}

fn open_storage(data: &Path, purpose: &str) -> Result<SledStorage, String> {
    SledStorage::open(&data.join(DATABASE_DIRECTORY)).map_err(|error| {
        format!(
            "cannot open the center's database for {purpose}: {error}. \
             If the center is running, stop it first (only one process may hold the data directory)."
        )
    })
}

fn serve(data: &Path, listen: Option<std::net::SocketAddr>, backup_dir: Option<&Path>) -> Result<ExitCode, String> {
    let (mut config, keys) = open_center(data)?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    let _log_guard = init_logging(&data.join(LOG_DIRECTORY));
    let storage: Arc<dyn Storage> = Arc::new(open_storage(data, "serving")?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(denbun_center::server::BLOCKING_THREADS_MAX)
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    let listen_address = config.listen;
    let backup = match backup_dir {
        Some(location) => Some(backup_cli::open_site(location, data, keys.signing_key(), storage.as_ref())?),
        None => None,
    };
    let (center, committer) = Center::start_with_backup(config, &keys, storage, Some(data.to_owned()), backup)
        .map_err(|error| format!("cannot start the committer: {error}"))?;
    runtime.block_on(async move {
        // Watch the signals before listening: a SIGTERM that arrives once
        // terminals (or a supervisor polling the port) can connect must stop
        // the center cleanly, not kill it with the default action.
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(listen_address)
            .await
            .map_err(|error| format!("cannot listen on {listen_address}: {error}"))?;
        let bound = listener.local_addr().map_err(|error| error.to_string())?;
        // Terminals and tests find the center where center.pub says.
        let mut identity: CenterIdentity = keys.identity.clone();
        identity.address = Text::new(bound.to_string()).map_err(|error| error.to_string())?;
        identity.write(&data.join(IDENTITY_FILE)).map_err(|error| error.to_string())?;
        tracing::info!(address = %bound, fingerprint = %identity.short_fingerprint(), "center listening");
        eprintln!("denbun-center: listening on {bound}");
        server::run(listener, center, shutdown).await;
        Ok::<(), String>(())
    })?;
    committer.join().map_err(|error| format!("the last group could not be made durable: {error}"))?;
    tracing::info!("center stopped; every answered telegram is durable");
    eprintln!("denbun-center: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Registers SIGINT and SIGTERM at once (tokio installs a handler when the
/// stream is made, not when it is first polled) and returns the future that
/// completes on the first of them.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).map_err(|error| format!("cannot watch SIGTERM: {error}"))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|error| format!("cannot watch SIGINT: {error}"))?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

/// Logs to stderr and to a daily-rotated file in the data directory (the printer).
fn init_logging(directory: &Path) -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let appender = tracing_appender::rolling::daily(directory, "center.log");
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("DENBUN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(file_writer))
        .init();
    guard
}

fn run_audit(data: &Path) -> Result<ExitCode, String> {
    let identity = CenterIdentity::read(&data.join(IDENTITY_FILE)).map_err(|error| error.to_string())?;
    let center_key = ed25519_dalek::VerifyingKey::from_bytes(&identity.verification_key)
        .map_err(|_| "center.pub holds an invalid verification key".to_owned())?;
    let storage = open_storage(data, "the audit")?;
    let report = audit::audit(&storage, &center_key).map_err(|error| format!("the audit could not read: {error}"))?;
    println!("{report}");
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn operator_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))
}

async fn sign_on_operator(arguments: &OperatorArguments) -> Result<Operator, String> {
    let password_a = secret("DENBUN_PASSWORD_A_FILE", "Operator password A: ", false)?;
    let password_b = secret("DENBUN_PASSWORD_B_FILE", "Operator password B: ", false)?;
    Operator::sign_on(&arguments.center, &arguments.operator_key, &password_a, &password_b)
        .await
        .map_err(|error| error.to_string())
}

fn mail(action: MailAction, arguments: &OperatorArguments) -> Result<ExitCode, String> {
    operator_runtime()?.block_on(async {
        let mut operator = sign_on_operator(arguments).await?;
        let request = match &action {
            MailAction::List { all } => MailQueueRequest::List(LetterQuery { include_printed: *all, after_letter: 0 }),
            MailAction::Show { letter } => {
                MailQueueRequest::List(LetterQuery { include_printed: true, after_letter: letter.saturating_sub(1) })
            }
            MailAction::Printed { letter } => MailQueueRequest::Printed(*letter),
        };
        let answer = operator.request(request).await.map_err(|error| error.to_string())?;
        let Body::MailQueueAnswer(answer) = answer.body() else {
            return Err(format!("unexpected answer {}", answer.telegram().code()));
        };
        match (action, answer) {
            (MailAction::List { .. }, MailQueueAnswer::Letters(page)) => {
                if page.letters.is_empty() {
                    println!("No letters waiting.");
                }
                for letter in page.letters.iter() {
                    println!(
                        "{:>6}  {}  {:<24}  written {}  {}",
                        letter.letter_number,
                        letter.recipient,
                        letter.name.as_str(),
                        mail::format_utc(letter.created_at_ms),
                        if letter.printed { "printed" } else { "to print" }
                    );
                }
                if page.more {
                    println!("(more letters wait; print and mark these first)");
                }
            }
            (MailAction::Show { letter: number }, MailQueueAnswer::Letters(page)) => {
                let Some(letter) = page.letters.iter().find(|letter| letter.letter_number == number) else {
                    return Err(format!("there is no letter {number}"));
                };
                let record = LetterRecord {
                    id: letter.letter_number,
                    recipient: letter.recipient,
                    name: letter.name.clone(),
                    address: letter.address.clone(),
                    activation_code: letter.activation_code.clone(),
                    expires_at_ms: letter.expires_at_ms,
                    created_at_ms: letter.created_at_ms,
                    printed_at_ms: letter.printed.then_some(0),
                };
                print!("{}", mail::letter_text(&record));
            }
            (MailAction::Printed { letter }, MailQueueAnswer::Printed(_)) => {
                println!("Letter {letter} is marked printed.");
            }
            (_, other) => return Err(format!("unexpected answer {other:?}")),
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn console(arguments: &OperatorArguments, exports: &Path) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    eprintln!("Signing on to the center…");
    let operator = runtime.block_on(sign_on_operator(arguments))?;
    denbun_center::console::run(operator, exports.to_owned(), &runtime)?;
    Ok(ExitCode::SUCCESS)
}

fn money(command: MoneyCommand, arguments: &OperatorArguments) -> Result<ExitCode, String> {
    operator_runtime()?.block_on(async {
        let mut operator = sign_on_operator(arguments).await?;
        let (text, success) = match &command {
            MoneyCommand::Funds(command) => (commands::funds(&mut operator, command).await?, true),
            MoneyCommand::Payouts(command) => (commands::payouts(&mut operator, command).await?, true),
            MoneyCommand::Members(command) => (commands::members(&mut operator, command).await?, true),
            MoneyCommand::Stores(command) => (commands::stores(&mut operator, command).await?, true),
            MoneyCommand::Transactions(command) => (commands::transactions(&mut operator, command).await?, true),
            MoneyCommand::Report { day, to } => commands::report(&mut operator, day, to.as_deref()).await?,
        };
        print!("{text}");
        Ok(if success { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}
