//! `denbun-center backup`, `verify-backup` and `restore`, and what `serve
//! --backup-dir` does at start (a module of the binary; the work is in
//! `denbun_center::backup`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use denbun_center::backup::{self, BackupSite, Opening, RestoreOptions};
use denbun_center::storage::Storage;
use denbun_client::vault::IdentityCardFile;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::telegram::Body;
use denbun_protocol::telegram::inquiry::{BackupRequest, MaintenanceAnswer, MaintenanceRequest};
use denbun_protocol::wire::Text;
use ed25519_dalek::SigningKey;

use super::{OperatorArguments, open_center, open_storage, operator_runtime, sign_on_operator};

/// The backup commands.
#[derive(Subcommand)]
pub enum BackupCommand {
    /// Take a backup: a signed snapshot of all center data, to which the
    /// running center then ships its journal.
    ///
    /// With the center running (no --data): through the center, as operator
    /// telegram 9800, into the backup location it was started with (serve
    /// --backup-dir). With the center stopped: --data DIR --to LOCATION,
    /// reading the center passphrase like serve does.
    Backup {
        /// The stopped center's data directory (offline backup).
        #[arg(long, requires = "to")]
        data: Option<PathBuf>,
        /// Offline backup: the backup location to write into (backup-NNNNNN/ inside it).
        #[arg(long, requires = "data")]
        to: Option<PathBuf>,
        /// A label for people, e.g. "before month end".
        #[arg(long, default_value = "operator backup")]
        label: String,
    },
    /// Check a backup: manifest digest and signature, snapshot, the shipped
    /// journal's chain, and the audit (journal chain, signatures, at most
    /// once, ledger sums) of its data restored into a temporary directory.
    ///
    /// BACKUP is a backup directory or a backup location (its newest backup).
    /// With --number N instead, the running center verifies its own backup N.
    VerifyBackup {
        /// The backup (offline verification).
        #[arg(required_unless_present = "number")]
        backup: Option<PathBuf>,
        /// Check signatures against this center.pub (a copy you trust);
        /// without it, against the key the backup names, which finds damage
        /// but not a forgery.
        #[arg(long)]
        trusted_center: Option<PathBuf>,
        /// Ask the running center to verify its backup number N.
        #[arg(long, conflicts_with = "backup")]
        number: Option<u64>,
    },
    /// Rebuild a center from a backup into a new data directory: the
    /// snapshot, then every group of the shipped journal, then the audit.
    /// center.toml, center.pub and center.key come from the backup;
    /// operators keep their own key files (copy them into NEWDIR/operators/).
    Restore {
        /// The backup directory, or a backup location (its newest backup).
        backup: PathBuf,
        /// The new data directory (must not exist, or be empty).
        #[arg(long)]
        data: PathBuf,
        /// Check signatures against this center.pub (a copy you trust).
        #[arg(long)]
        trusted_center: Option<PathBuf>,
        /// Restore what is intact and stop at damage in the shipped journal
        /// (what came after it is then missing); without it, damage fails the restore.
        #[arg(long)]
        stop_at_damage: bool,
    },
}

/// Runs one backup command.
pub fn run(command: BackupCommand, operator: &OperatorArguments) -> Result<ExitCode, String> {
    match command {
        BackupCommand::Backup { data: Some(data), to: Some(location), label } => {
            offline_backup(&data, &location, &label)
        }
        BackupCommand::Backup { label, .. } => online_backup(&label, operator),
        BackupCommand::VerifyBackup { number: Some(number), .. } => online_verify(number, operator),
        BackupCommand::VerifyBackup { backup, trusted_center, .. } => {
            let backup = backup.ok_or("name the backup to verify, or --number N for the running center's")?;
            let center_key = trusted_key(trusted_center.as_deref())?;
            let report = backup::verify(&backup, center_key).map_err(|error| error.to_string())?;
            println!("{report}");
            Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        BackupCommand::Restore { backup, data, trusted_center, stop_at_damage } => {
            let options = RestoreOptions { center_key: trusted_key(trusted_center.as_deref())?, stop_at_damage };
            let report = backup::restore(&backup, &data, &options).map_err(|error| error.to_string())?;
            println!("{report}");
            if !report.passed() {
                eprintln!(
                    "denbun-center: the restored data in {} is NOT complete or does not pass the audit; \
                     read the findings above before serving it",
                    data.display()
                );
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "Restored into {}. Copy the operators' key files into {}/operators/, then: \
                 denbun-center serve --data {}",
                data.display(),
                data.display(),
                data.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn trusted_key(path: Option<&Path>) -> Result<Option<ed25519_dalek::VerifyingKey>, String> {
    let Some(path) = path else { return Ok(None) };
    let identity = CenterIdentity::read(path).map_err(|error| error.to_string())?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&identity.verification_key)
        .map_err(|_| format!("{} holds an invalid verification key", path.display()))?;
    Ok(Some(key))
}

fn offline_backup(data: &Path, location: &Path, label: &str) -> Result<ExitCode, String> {
    let (_, keys) = open_center(data)?;
    let storage = open_storage(data, "the backup")?;
    let (taken, _) = backup::take_backup(
        location,
        &storage,
        Some(data),
        &keys.signing_key(),
        label,
        denbun_center::service::now_ms(),
    )
    .map_err(|error| error.to_string())?;
    println!(
        "Backup {} written to {}: {} records up to journal entry {}, {} bytes, in {} ms.\n  digest: {}",
        taken.backup_number,
        taken.directory.display(),
        taken.records,
        taken.journal.sequence,
        taken.bytes,
        taken.elapsed_ms,
        hex(&taken.digest)
    );
    Ok(ExitCode::SUCCESS)
}

fn online_backup(label: &str, arguments: &OperatorArguments) -> Result<ExitCode, String> {
    let label = Text::new(label).map_err(|error| format!("--label: {error}"))?;
    operator_runtime()?.block_on(async {
        let mut operator = sign_on_operator(arguments).await?;
        let answer = operator
            .request(MaintenanceRequest::Backup(BackupRequest { label }))
            .await
            .map_err(|error| error.to_string())?;
        let Body::MaintenanceAnswer(MaintenanceAnswer::Backup(result)) = answer.body() else {
            return Err(format!("unexpected answer {}", answer.telegram().code()));
        };
        println!(
            "Backup {} taken by the center: {} bytes, at {} UTC.\n  digest: {}",
            result.backup_number,
            result.bytes,
            denbun_center::mail::format_utc(result.created_at_ms),
            hex(&result.sha256)
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn online_verify(number: u64, arguments: &OperatorArguments) -> Result<ExitCode, String> {
    operator_runtime()?.block_on(async {
        let mut operator = sign_on_operator(arguments).await?;
        let answer =
            operator.request(MaintenanceRequest::VerifyBackup(number)).await.map_err(|error| error.to_string())?;
        let Body::MaintenanceAnswer(MaintenanceAnswer::VerifyBackup(result)) = answer.body() else {
            return Err(format!("unexpected answer {}", answer.telegram().code()));
        };
        for finding in result.findings.iter() {
            println!("FAIL: {finding}");
        }
        if result.intact {
            println!("Backup {number} is intact: signature, digests, shipped journal and audit all hold.");
            Ok(ExitCode::SUCCESS)
        } else {
            println!("Backup {number} is NOT intact.");
            Ok(ExitCode::FAILURE)
        }
    })
}

/// `serve --backup-dir`: opens the backup location before the center serves.
pub fn open_site(
    location: &Path,
    data: &Path,
    signing_key: SigningKey,
    storage: &dyn Storage,
) -> Result<BackupSite, String> {
    let (site, opening) =
        BackupSite::open(location, Some(data.to_owned()), signing_key, storage, denbun_center::service::now_ms())
            .map_err(|error| format!("cannot use the backup location {}: {error}", location.display()))?;
    match opening {
        Opening::Continued { backup_number, groups, dropped_uncommitted_group } => {
            if dropped_uncommitted_group {
                tracing::warn!(
                    backup = backup_number,
                    "the shipped journal held one group the data never committed (a crash between the two); it was dropped"
                );
            }
            tracing::info!(backup = backup_number, groups, location = %location.display(), "shipping the journal");
        }
        Opening::Taken { taken, reason } => tracing::info!(
            backup = taken.backup_number,
            records = taken.records,
            journal_entry = taken.journal.sequence,
            elapsed_ms = taken.elapsed_ms,
            %reason,
            "took a backup at start; shipping the journal to it"
        ),
    }
    Ok(site)
}

/// Failpoints from the FAILPOINTS environment variable (builds with the
/// `failpoints` feature only). A panic anywhere then ends the process at
/// once, as a crash would: a `panic` failpoint is a crash at that point.
#[cfg(feature = "failpoints")]
pub fn failpoints() -> fail::FailScenario<'static> {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("denbun-center: {info}; aborting (failpoints build)");
        std::process::abort();
    }));
    fail::FailScenario::setup()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
