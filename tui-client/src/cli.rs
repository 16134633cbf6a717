//! The headless `denbun` command line, for scripts and for people without
//! the full-screen terminal.
//!
//! Every verb finds the member's files under `--profile DIR` (the key file is
//! `DIR/denbun.key`), and the center's identity card under `--center FILE`
//! where there is no key file yet (default `DIR/center.pub`). Passwords are
//! asked for at a hidden prompt, or read from the files named by
//! `DENBUN_PASSWORD_A_FILE` and `DENBUN_PASSWORD_B_FILE`; never from the
//! command line, where other users could read them.
//!
//! Exit codes: 0 done, 1 refused or failed (the message says what happened
//! and what to do next), 2 wrong usage.

mod account;
mod apply;
mod input;
pub mod money;
mod register;
pub mod store;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use denbun_protocol::identity::CenterIdentity;
use tokio::runtime::Runtime;

use crate::session::{Session, SessionConfig, SessionError, SubmitError};
use crate::vault::{IdentityCardFile, VaultError};

/// The key file's name inside the profile directory.
pub const KEY_FILE_NAME: &str = "denbun.key";
/// The center's identity card's name inside the profile directory.
pub const CARD_FILE_NAME: &str = "center.pub";
/// Names the file holding password A (for scripts; never pass it in argv).
pub const PASSWORD_A_FILE_ENV: &str = "DENBUN_PASSWORD_A_FILE";
/// Names the file holding password B.
pub const PASSWORD_B_FILE_ENV: &str = "DENBUN_PASSWORD_B_FILE";

/// Denbun terminal: apply, register, top up, buy, deliver and get paid, and read your history.
#[derive(Debug, Parser)]
#[command(name = "denbun", version)]
#[command(after_help = "Passwords are asked for at a hidden prompt, or read from the files named by the \
    environment variables DENBUN_PASSWORD_A_FILE and DENBUN_PASSWORD_B_FILE (never from the command line).\n\
    Exit codes: 0 done, 1 refused or failed, 2 wrong usage.")]
pub struct Cli {
    /// Directory holding your key file (denbun.key) [default: $XDG_DATA_HOME/denbun, or ~/.local/share/denbun].
    #[arg(long, global = true, value_name = "DIR", env = "DENBUN_PROFILE")]
    pub profile: Option<PathBuf>,
    /// The center's identity card, used where there is no key file yet [default: DIR/center.pub].
    #[arg(long, global = true, value_name = "FILE")]
    pub center: Option<PathBuf>,
    /// Connect to this address instead of the one on the center's card.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub center_address: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub verb: Verb,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Read the center's guide or an agreement (no key file needed).
    Guide {
        /// Which text.
        #[arg(long, value_enum, default_value_t = Topic::Guide)]
        topic: Topic,
    },
    /// Apply as a member or a store (no key file needed). Your number is shown
    /// at once; the activation code comes by post.
    Apply(apply::ApplyArgs),
    /// Register with the number and the activation code from your letter:
    /// makes your keys and key file, and sends the signed registration.
    Register(register::RegisterArgs),
    /// Show your purchase history (password A only, offline).
    History,
    /// Sign on to check the connection and see how many notices wait.
    SignOn,
    /// List the telegrams waiting in the outbox (password A only, offline).
    Outbox,
    /// Send the telegrams waiting in the outbox (password A only).
    Send,
    /// Top up your prepaid card (member): by credit at once, or by transfer or
    /// registered mail when the money arrives.
    Topup(money::TopUpArgs),
    /// List the stores, or page and search a store's catalog.
    Catalog(money::CatalogArgs),
    /// Pay a store for items at its current catalog's prices (member).
    Pay(money::PayArgs),
    /// Deliver a purchase (store): upload a digital item sealed to the member,
    /// or report a mail-order shipment.
    Deliver(money::DeliverArgs),
    /// Fetch a digital item, check it against the catalog and acknowledge it (member).
    Download(money::DownloadArgs),
    /// Claim payment for delivered purchases (store).
    Claim(money::ClaimArgs),
    /// Give back part or all of a purchase to the member (store).
    Refund(money::RefundArgs),
    /// Your signed statement over a range of days.
    Statement(money::StatementArgs),
    /// Fetch your notices, keep them in your history and acknowledge them.
    Notices,
    /// Open the full-screen terminal as a member (buyer).
    Member,
    /// Open the full-screen terminal as a store clerk (seller), or work on the
    /// store's catalog draft headless (`denbun store catalog import|export|publish`).
    Store(store::StoreArgs),
    /// Start a demo center on this machine with a member and two stores, and
    /// open the member terminal against it.
    Demo(crate::demo::DemoArgs),
}

/// Which text `guide` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Topic {
    /// How Denbun works.
    Guide,
    /// The member agreement.
    Member,
    /// The store agreement.
    Store,
}

/// Why a verb did not succeed, with the exit code it means.
#[derive(Debug)]
pub enum CliError {
    /// The command line was wrong (exit 2).
    Usage(String),
    /// Refused or failed (exit 1).
    Failed(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::from(1),
        }
    }

    /// The message for the person at the terminal.
    pub fn message(&self) -> &str {
        match self {
            CliError::Usage(message) | CliError::Failed(message) => message,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.message())
    }
}

impl From<VaultError> for CliError {
    fn from(error: VaultError) -> Self {
        CliError::Failed(error.to_string())
    }
}

impl From<SessionError> for CliError {
    fn from(error: SessionError) -> Self {
        CliError::Failed(error.to_string())
    }
}

impl From<SubmitError> for CliError {
    fn from(error: SubmitError) -> Self {
        CliError::Failed(error.to_string())
    }
}

/// Parses the command line and runs the verb; returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("denbun: cannot start: {error}");
            return ExitCode::from(1);
        }
    };
    match run(cli, &runtime) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("denbun: {error}");
            error.exit_code()
        }
    }
}

/// Runs one verb. Slow local work (scrypt, saving) happens outside the
/// runtime; only the network parts run inside it.
pub fn run(cli: Cli, runtime: &Runtime) -> Result<(), CliError> {
    let context = Context::new(&cli)?;
    match cli.verb {
        Verb::Guide { topic } => apply::guide(&context, runtime, topic),
        Verb::Apply(arguments) => apply::apply(&context, runtime, &arguments),
        Verb::Register(arguments) => register::register(&context, runtime, &arguments),
        Verb::History => account::history(&context),
        Verb::SignOn => account::sign_on(&context, runtime),
        Verb::Outbox => account::outbox(&context),
        Verb::Send => account::send(&context, runtime),
        Verb::Topup(arguments) => money::top_up(&context, runtime, &arguments),
        Verb::Catalog(arguments) => money::catalog(&context, runtime, &arguments),
        Verb::Pay(arguments) => money::pay(&context, runtime, &arguments),
        Verb::Deliver(arguments) => money::deliver(&context, runtime, &arguments),
        Verb::Download(arguments) => money::download(&context, runtime, &arguments),
        Verb::Claim(arguments) => money::claim(&context, runtime, &arguments),
        Verb::Refund(arguments) => money::refund(&context, runtime, &arguments),
        Verb::Statement(arguments) => money::statement(&context, runtime, &arguments),
        Verb::Notices => money::show_notices(&context, runtime),
        Verb::Member => open_terminal(context, runtime, crate::terminal::app::Mode::Member),
        Verb::Store(store::StoreArgs { action: Some(action) }) => store::run(&context, runtime, &action),
        Verb::Store(store::StoreArgs { action: None }) => {
            open_terminal(context, runtime, crate::terminal::app::Mode::Store)
        }
        Verb::Demo(arguments) => crate::demo::run(&arguments, runtime).map_err(CliError::Failed),
    }
}

fn open_terminal(context: Context, runtime: &Runtime, mode: crate::terminal::app::Mode) -> Result<(), CliError> {
    let options = crate::terminal::TerminalOptions {
        mode,
        profile: context.profile,
        card: context.center_card,
        address: context.center_address,
        demo_note: None,
    };
    crate::terminal::run(options, runtime).map_err(CliError::Failed)
}

/// Where this run's files are and how to reach the center.
pub(crate) struct Context {
    profile: PathBuf,
    center_card: Option<PathBuf>,
    center_address: Option<String>,
}

impl Context {
    fn new(cli: &Cli) -> Result<Self, CliError> {
        let profile = match &cli.profile {
            Some(profile) => profile.clone(),
            None => default_profile(|name| std::env::var_os(name)).ok_or_else(|| {
                CliError::Usage(
                    "Cannot tell where your files are: neither XDG_DATA_HOME nor HOME is set. Pass --profile DIR."
                        .to_owned(),
                )
            })?,
        };
        Ok(Self { profile, center_card: cli.center.clone(), center_address: cli.center_address.clone() })
    }

    /// The key file's path.
    fn key_file(&self) -> PathBuf {
        self.profile.join(KEY_FILE_NAME)
    }

    /// The key file's path, with a clear error if there is none yet.
    fn existing_key_file(&self) -> Result<PathBuf, CliError> {
        let path = self.key_file();
        if path.exists() {
            Ok(path)
        } else {
            Err(CliError::Failed(format!(
                "There is no key file at {}. Register first (`denbun register`), or pass --profile DIR with the \
                 directory that holds your denbun.key.",
                path.display()
            )))
        }
    }

    /// The center's card path: `--center`, else the profile's copy.
    fn card_path(&self) -> PathBuf {
        self.center_card.clone().unwrap_or_else(|| self.profile.join(CARD_FILE_NAME))
    }

    /// Reads the center's identity card.
    fn center_card(&self) -> Result<CenterIdentity, CliError> {
        let path = self.card_path();
        if !path.exists() {
            return Err(CliError::Usage(format!(
                "There is no center identity card at {}. Pass --center FILE with the center.pub you were given.",
                path.display()
            )));
        }
        Ok(CenterIdentity::read(&path)?)
    }

    /// Connects to `center` (or to `--center-address`).
    fn connect(&self, runtime: &Runtime, center: &CenterIdentity) -> Result<Session, CliError> {
        let address = self.center_address.clone().unwrap_or_else(|| center.address.as_str().to_owned());
        Ok(runtime.block_on(Session::connect(&address, center, SessionConfig::default()))?)
    }
}

/// `$XDG_DATA_HOME/denbun`, or `$HOME/.local/share/denbun` (the XDG default).
/// A relative `XDG_DATA_HOME` is ignored, as the XDG specification says.
pub fn default_profile(variable: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    if let Some(data_home) = variable("XDG_DATA_HOME").map(PathBuf::from).filter(|path| path.is_absolute()) {
        return Some(data_home.join("denbun"));
    }
    let home = variable("HOME").map(PathBuf::from).filter(|path| !path.as_os_str().is_empty())?;
    Some(home.join(".local").join("share").join("denbun"))
}

/// Writes a copy of the center's card into the profile, unless one is there.
fn keep_card_copy(profile: &Path, center: &CenterIdentity) {
    let path = profile.join(CARD_FILE_NAME);
    if !path.exists()
        && let Err(error) = center.write(&path)
    {
        // Only a convenience for later anonymous verbs: say so and go on.
        eprintln!("note: could not keep a copy of the center's card in {}: {error}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_profile_defaults_follow_xdg() {
        let environment = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| value.into())
        };
        assert_eq!(
            default_profile(environment(&[("XDG_DATA_HOME", "/data"), ("HOME", "/home/hanako")])),
            Some(PathBuf::from("/data/denbun"))
        );
        assert_eq!(
            default_profile(environment(&[("XDG_DATA_HOME", "relative"), ("HOME", "/home/hanako")])),
            Some(PathBuf::from("/home/hanako/.local/share/denbun"))
        );
        assert_eq!(default_profile(environment(&[])), None);
    }

    #[test]
    fn verbs_and_global_options_parse() {
        let cli = Cli::try_parse_from(["denbun", "history", "--profile", "/p"]).unwrap();
        assert!(matches!(cli.verb, Verb::History));
        assert_eq!(cli.profile, Some(PathBuf::from("/p")));
        let cli = Cli::try_parse_from(["denbun", "--center", "c.pub", "guide", "--topic", "store"]).unwrap();
        assert!(matches!(cli.verb, Verb::Guide { topic: Topic::Store }));
        assert_eq!(cli.center, Some(PathBuf::from("c.pub")));
    }

    #[test]
    fn there_is_no_way_to_pass_a_password_or_code_in_argv() {
        for flag in ["--password", "--password-a", "--password-b", "--activation-code"] {
            let error = Cli::try_parse_from(["denbun", "register", flag, "secret"]).unwrap_err();
            assert_eq!(error.kind(), clap::error::ErrorKind::UnknownArgument, "{flag} must not exist");
            assert_eq!(error.exit_code(), 2);
        }
    }

    #[test]
    fn errors_map_to_exit_codes() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), ExitCode::from(2));
        assert_eq!(CliError::Failed("x".into()).exit_code(), ExitCode::from(1));
        let error = CliError::from(VaultError::WrongPasswordA);
        assert!(error.message().contains("Wrong password A"), "{error}");
    }
}
