//! `denbun-bench`: load a Denbun center on loopback and report how fast it
//! settles, against the machine's own cryptographic bound.
//!
//! ```text
//! denbun-bench run --terminals 256             # a fresh center, every phase
//! denbun-bench run --terminals 16 --json out.json
//! denbun-bench table --update docs/performance.md
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use denbun_bench::run::{CenterChoice, PhaseName, RunOptions, run};
use denbun_bench::table::{TableOptions, machine_state, markdown, run_table, splice};
use denbun_bench::target::GENERATOR_THREAD_PREFIX;

#[derive(Parser)]
#[command(name = "denbun-bench", version, about = "Load generator for a Denbun center (loopback only)")]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a center (or use a running one), register terminals and run the phases.
    Run(Box<RunArguments>),
    /// Run every row of the scaling table; print it, or write it into a file between its markers.
    Table {
        /// The Markdown file whose generated table to replace (docs/performance.md).
        #[arg(long)]
        update: Option<PathBuf>,
        /// Small sizes and short phases, to try the command.
        #[arg(long)]
        quick: bool,
        /// No progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// (internal) Serve a data directory as the bench's child process; keys arrive on standard input.
    #[command(hide = true)]
    Center {
        /// The data directory the parent prepared.
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Args)]
struct RunArguments {
    /// Members sending requests, each with its own keys and session.
    #[arg(long, default_value_t = 16)]
    terminals: usize,
    /// Stores receiving the payments (0: one per 16 terminals, 1 to 64).
    #[arg(long, default_value_t = 0)]
    stores: usize,
    /// Phases to run, in this order (registration and funding always run).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PhaseName::SignOn, PhaseName::Echo, PhaseName::Payments, PhaseName::Mixed])]
    phases: Vec<PhaseName>,
    /// Measured seconds of each timed phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Warm-up seconds before each timed phase (not measured).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Operations each timed phase may start at most.
    #[arg(long, default_value_t = 10_000_000)]
    operations_max: u64,
    /// Threads for the bound (default: the machine's parallelism).
    #[arg(long)]
    threads: Option<usize>,
    /// Milliseconds to measure each operation's bound.
    #[arg(long, default_value_t = 700)]
    bound_ms: u64,
    /// Open loop: operations per second offered by all members together in
    /// each timed phase, whatever the answers' latency (default: closed loop,
    /// each member sends as soon as it has its answer).
    #[arg(long)]
    rate: Option<f64>,
    /// Hold this many idle signed-on sessions at the end, while the echo phase runs again.
    #[arg(long, default_value_t = 0)]
    idle_sessions: usize,
    /// Members written into the register before the center starts (a large ledger).
    #[arg(long, default_value_t = 0)]
    ledger_members: u64,
    /// Journal entries written before the center starts (its start time).
    #[arg(long, default_value_t = 0)]
    journal_entries: u64,
    /// Each member's first card, in yen.
    #[arg(long, default_value_t = 500_000)]
    funding_yen: u64,
    /// Telegrams per group commit of the bench's center.
    #[arg(long, default_value_t = 256)]
    group_commit: u32,
    /// Run the center inside this process instead of as a child process
    /// (its memory is then not reported).
    #[arg(long)]
    in_process: bool,
    /// Keep the center's data directory here instead of a temporary one.
    #[arg(long)]
    keep_data: Option<PathBuf>,
    /// A running center's identity card (with --address and --operator-key).
    #[arg(long, requires_all = ["address", "operator_key"])]
    center: Option<PathBuf>,
    /// Where the running center listens (loopback only).
    #[arg(long)]
    address: Option<SocketAddr>,
    /// An operator key file of the running center (reads activation codes;
    /// passwords from DENBUN_PASSWORD_A_FILE and DENBUN_PASSWORD_B_FILE).
    #[arg(long)]
    operator_key: Option<PathBuf>,
    /// The running center's process id, for its CPU time and memory.
    #[arg(long)]
    center_pid: Option<u32>,
    /// Write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    /// Skip the audit of the center's data after the run.
    #[arg(long)]
    no_audit: bool,
}

impl RunArguments {
    fn options(&self) -> RunOptions {
        let defaults = RunOptions::default();
        let center = match (&self.center, self.address, &self.operator_key) {
            (Some(card), Some(address), Some(operator_key)) => CenterChoice::Running {
                card: card.clone(),
                address,
                operator_key: operator_key.clone(),
                pid: self.center_pid,
            },
            _ if self.in_process => CenterChoice::InProcess,
            _ => CenterChoice::Child,
        };
        RunOptions {
            terminals: self.terminals.max(1),
            stores: self.stores,
            phases: self.phases.clone(),
            warmup: Duration::from_secs_f64(self.warmup.max(0.0)),
            measure: Duration::from_secs_f64(self.seconds.max(0.1)),
            operations_max: self.operations_max,
            threads: self.threads.unwrap_or(defaults.threads).max(1),
            bound_time: Duration::from_millis(self.bound_ms.max(10)),
            progress: !self.quiet,
            audit: !self.no_audit,
            idle_sessions: self.idle_sessions,
            filler_members: self.ledger_members,
            journal_entries: self.journal_entries,
            funding_yen: self.funding_yen,
            limits: denbun_bench::target::CenterLimits {
                group_commit_telegrams_max: self.group_commit,
                ..defaults.limits
            },
            rate: self.rate,
            center,
            keep_directory: self.keep_data.clone(),
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(format!("{GENERATOR_THREAD_PREFIX}load"))
        .build()
}

/// sled copies a tree node on every insert, and glibc's malloc and free
/// took about a quarter of the committer's profile. Against the build
/// before the flusher and the caches, those changes alone gave -1% to +11%
/// payments per second in alternating runs, and with mimalloc too +9% to
/// +30% (docs/performance-history.md).
/// The bench links the center in process too, and its own terminals
/// allocate per telegram like any terminal would.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (`mimalloc.h`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse, as `denbun-center` does (its
/// `keep_freed_memory` says why): the bench's own center, `denbun-bench
/// center`, is this binary, and it must run as the real one does.
fn keep_freed_memory() {
    // SAFETY: as in denbun-center: mimalloc's option table, set at any
    // time; the index is checked against the library's major version.
    unsafe {
        if libmimalloc_sys::mi_version() / 10_000 == 3 {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    let arguments = Arguments::parse();
    let result = match arguments.command {
        Command::Center { data } => {
            denbun_bench::target::run_child(&data).map(|()| ExitCode::SUCCESS).map_err(|error| error.to_string())
        }
        Command::Run(arguments) => run_command(&arguments),
        Command::Table { update, quick, quiet } => table_command(update, quick, quiet),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("denbun-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_command(arguments: &RunArguments) -> Result<ExitCode, String> {
    let options = arguments.options();
    let report =
        runtime().map_err(|error| error.to_string())?.block_on(run(&options)).map_err(|error| error.to_string())?;
    println!("{report}");
    if let Some(path) = &arguments.json {
        let json = serde_json::to_string_pretty(&report).map_err(|error| error.to_string())?;
        std::fs::write(path, json + "\n").map_err(|error| format!("{}: {error}", path.display()))?;
    }
    let failed = report.audit_passed == Some(false) || report.phases.iter().any(|phase| phase.failures > 0);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn table_command(update: Option<PathBuf>, quick: bool, quiet: bool) -> Result<ExitCode, String> {
    let mut options = if quick { TableOptions::quick() } else { TableOptions::full() };
    options.progress = !quiet;
    let machine = machine_state();
    let runs = runtime()
        .map_err(|error| error.to_string())?
        .block_on(run_table(&options))
        .map_err(|error| error.to_string())?;
    let command = if quick { "denbun-bench table --quick" } else { "denbun-bench table" };
    let generated = markdown(&runs, &machine, command);
    match update {
        None => print!("{generated}"),
        Some(path) => {
            let document = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
            let updated =
                splice(&document, &generated).ok_or_else(|| format!("{} has no table markers", path.display()))?;
            std::fs::write(&path, updated).map_err(|error| format!("{}: {error}", path.display()))?;
            print!("{generated}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
