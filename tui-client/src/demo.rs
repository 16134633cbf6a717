//! `denbun demo`: a whole Denbun on one machine, in one command.
//!
//! The client does not link the center (the crate graph is protocol ←
//! client ← center), so the demo runs the `denbun-center` program built
//! beside `denbun` as a child process, in a fresh data directory, with its
//! passphrase and passwords in files (never in argv). It waits until the
//! center listens, then makes the demo data through the client library,
//! exactly as terminals would: a member and two stores apply, read their
//! activation letters from the center's mail queue, make their key files
//! and register; the stores publish catalogs (a digital item and a
//! mail-order item each) and the member tops up, as far as the center offers
//! those telegrams. Then the member terminal opens. When it quits, the
//! center gets SIGTERM and stops cleanly. A demo kept with `--data DIR` is
//! reopened by the same command: its center starts again on a new port, and
//! the terminals find it through `center.pub`.

use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use denbun_protocol::header::PartyId;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{Password, Profile};
use denbun_protocol::telegram::{
    Applicant, Body, CardAnswer, CardRequest, CatalogPublish, FundingChannel, GuideTopic, PersonalData, Registration,
    StoreRegistration,
};
use denbun_protocol::wire::{Amount, Date, List, Text};
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use tokio::runtime::Runtime;

use crate::catalog_file::{self, DRAFT_FILE_NAME, DraftItem, DraftKind};
use crate::cli::{CARD_FILE_NAME, KEY_FILE_NAME};
use crate::keys::generate_member_keys_from_os;
use crate::services::{self, explain_rejection};
use crate::session::{Session, SessionConfig, SubmitError, submit};
use crate::terminal::app::Mode;
use crate::terminal::backend::catalog_items;
use crate::terminal::{TerminalOptions, run as run_terminal};
use crate::vault::{IdentityCardFile, NewVault, UnlockedVault, Vault, VaultConfig};

/// The center program's name.
pub const CENTER_PROGRAM: &str = "denbun-center";
/// How long the center may take to start listening.
pub const CENTER_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the center may take to stop after SIGTERM before it is killed.
pub const CENTER_STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an activation letter may take to appear in the mail queue.
pub const LETTER_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the demo looks again while it waits.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long a reopened demo waits for an answer at its card's old address
/// before it takes the center to be stopped (loopback answers at once).
pub const RUNNING_CENTER_PROBE: Duration = Duration::from_millis(500);
/// The demo member's opening top-up.
pub const TOP_UP_YEN: u64 = 10_000;

/// `denbun demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo in DIR instead of a temporary directory that is removed
    /// when the demo ends. A DIR that holds a demo kept this way is reopened:
    /// its center starts again on a new free port and its member terminal
    /// opens.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Do not wait for Enter before opening the member terminal.
    #[arg(long)]
    pub no_wait: bool,
}

/// The `denbun-center` beside this program, else on `PATH`.
pub fn find_center_program() -> Result<PathBuf, String> {
    let beside =
        std::env::current_exe().ok().and_then(|exe| exe.parent().map(|directory| directory.join(CENTER_PROGRAM)));
    if let Some(path) = beside.as_ref().filter(|path| path.is_file()) {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|directory| directory.join(CENTER_PROGRAM))
        .find(|path| path.is_file())
    {
        return Ok(path);
    }
    let where_ = beside.map_or_else(|| "next to denbun".to_owned(), |path| path.display().to_string());
    Err(format!(
        "The demo runs the center program {CENTER_PROGRAM}, which is not at {where_} nor on PATH. Build both \
         programs with `cargo build --release`, then run `./target/release/denbun demo`."
    ))
}

/// A password for the demo: readable, random, shown on screen.
fn demo_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    OsRng.fill_bytes(&mut bytes);
    let letters: String = bytes.iter().map(|byte| ALPHABET[usize::from(*byte) % ALPHABET.len()] as char).collect();
    format!("{}-{}", &letters[..5], &letters[5..])
}

/// Writes a secret file readable only by this user.
fn write_secret(path: &Path, secret: &str) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(secret.as_bytes()))
        .map_err(|error| format!("Cannot write {}: {error}", path.display()))
}

fn make_directory(path: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|error| format!("Cannot create {}: {error}", path.display()))
}

/// The running center; stopped with SIGTERM when dropped.
struct CenterProcess {
    child: Child,
    log: PathBuf,
}

impl CenterProcess {
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SIGTERM lets the center finish in-flight telegrams and flush; the
        // `kill` utility sends it (this crate forbids unsafe code).
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        let deadline = Instant::now() + CENTER_STOP_TIMEOUT;
        while sent && Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(12)..].join("\n")
    }
}

impl Drop for CenterProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One demo party: who, where its files are, its passwords.
struct DemoParty {
    label: &'static str,
    applicant: Applicant,
    personal: PersonalData,
    store: Option<StoreRegistration>,
    profile: PathBuf,
    password_a: String,
    password_b: String,
    number: Option<PartyId>,
}

fn personal(name: &str, address: &str, date_of_birth: (u16, u8, u8)) -> PersonalData {
    PersonalData {
        name: Text::new(name).expect("a short demo name"),
        address: Text::new(address).expect("a short demo address"),
        date_of_birth: Date::new(date_of_birth.0, date_of_birth.1, date_of_birth.2).expect("a demo date"),
    }
}

fn store_registration(trade_name: &str, holder: &str, account_number: &str) -> StoreRegistration {
    use denbun_protocol::telegram::{AccountType, BankAccount, Digits};
    StoreRegistration {
        trade_name: Text::new(trade_name).expect("a short trade name"),
        payout_account: BankAccount {
            bank_code: Digits::new("0005").expect("digits"),
            branch_code: Digits::new("123").expect("digits"),
            account_type: AccountType::Ordinary,
            account_number: Digits::new(account_number).expect("digits"),
            holder_name: Text::new(holder).expect("a short holder"),
        },
    }
}

/// Reads the activation code for `party` from the center's mail directory.
fn activation_code(mail: &Path, party: PartyId) -> Result<denbun_protocol::telegram::ActivationCode, String> {
    let needle = format!("Your number is {party}.");
    let deadline = Instant::now() + LETTER_TIMEOUT;
    loop {
        if let Ok(entries) = std::fs::read_dir(mail) {
            for entry in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
                if !text.contains(&needle) {
                    continue;
                }
                if let Some(code) = text
                    .lines()
                    .find_map(|line| line.trim().strip_prefix("Activation code:"))
                    .and_then(|code| denbun_protocol::telegram::ActivationCode::new(code.trim()))
                {
                    return Ok(code);
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("The center wrote no activation letter for {party} into {}.", mail.display()));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Applies, reads the letter, makes the key file and registers.
async fn register(
    party: &mut DemoParty,
    center: &CenterIdentity,
    mail: &Path,
) -> Result<(UnlockedVault, SigningKey), String> {
    let address = center.address.to_string();
    let session =
        Session::connect(&address, center, SessionConfig::default()).await.map_err(|error| error.to_string())?;
    let topic = match party.applicant {
        Applicant::Member => GuideTopic::MemberAgreement,
        Applicant::Store(_) => GuideTopic::StoreAgreement,
    };
    let agreement = services::fetch_guide(&session, topic).await.map_err(|error| error.to_string())?;
    let accepted = services::apply(&session, party.applicant.clone(), party.personal.clone(), agreement.version)
        .await
        .map_err(|error| error.to_string())?;
    let number = accepted.assigned;
    party.number = Some(number);
    let code = activation_code(mail, number)?;
    make_directory(&party.profile)?;
    let keys = generate_member_keys_from_os(None);
    let signing_key = SigningKey::from_bytes(keys.signing_seed.expose());
    let delivery_key = x25519_dalek::PublicKey::from(keys.delivery_public_key);
    let name = match &party.store {
        Some(store) => Text::new(store.trade_name.as_str()).map_err(|error| error.to_string())?,
        None => party.personal.name.clone(),
    };
    let path = party.profile.join(KEY_FILE_NAME);
    let new = NewVault { profile: Profile { party: number, name }, center: center.clone(), keys };
    let (password_a, password_b) =
        (Password::from(party.password_a.as_str()), Password::from(party.password_b.as_str()));
    let mut vault = tokio::task::spawn_blocking(move || {
        Vault::create(&path, new, &password_a, &password_b, VaultConfig::STANDARD, &mut OsRng)
    })
    .await
    .map_err(|error| error.to_string())?
    .map_err(|error| error.to_string())?;
    center.write(&party.profile.join(CARD_FILE_NAME)).map_err(|error| error.to_string())?;
    let registration = Registration {
        activation_code: code,
        personal: party.personal.clone(),
        store: party.store.clone(),
        verification_key: signing_key.verifying_key(),
        delivery_key,
    };
    match submit(&mut vault, &session, &signing_key, registration).await {
        Ok(answer) if matches!(answer.body(), Body::RegistrationCertificate(_)) => Ok((vault, signing_key)),
        Ok(answer) => Err(format!("The center answered the registration with {}.", answer.body().code())),
        Err(error) => Err(error.to_string()),
    }
}

/// Sends one signed business telegram; says in a line how it went.
async fn business(
    vault: &mut UnlockedVault,
    key: &SigningKey,
    center: &CenterIdentity,
    body: Body,
    what: &str,
) -> (bool, String) {
    let session = match Session::connect(center.address.as_str(), center, SessionConfig::default()).await {
        Ok(session) => session,
        Err(error) => return (false, error.to_string()),
    };
    match submit(vault, &session, key, body).await {
        Ok(answer) => (
            true,
            match answer.body() {
                Body::CardAnswer(CardAnswer::Issued(issued)) => {
                    format!("card {} issued, balance {}", issued.card.card_number, issued.balance)
                }
                Body::CardAnswer(CardAnswer::Pending(pending)) => {
                    format!("waiting for the money (reference {})", pending.reference)
                }
                Body::CatalogPublishAnswer(answer) if answer.published => {
                    format!("version {} published", answer.version)
                }
                other => format!("answered {}", other.code().name()),
            },
        ),
        Err(SubmitError::Refused { rejection, .. }) => (false, explain_rejection(&rejection, what)),
        Err(error) => (false, error.to_string()),
    }
}

/// One demo item: title, description, price in yen, kind.
type DemoItem = (&'static str, &'static str, u64, DraftKind);

fn demo_catalog(goods: &Path, store_index: usize) -> Result<Vec<DraftItem>, String> {
    make_directory(goods)?;
    let (digital_name, digital_text, items): (&str, String, Vec<DemoItem>) = if store_index == 0 {
        (
            "uji-tea-guide.txt",
            "A short guide to the teas of Uji.\n\nGyokuro is shaded for three weeks before picking...\n".repeat(40),
            vec![
                ("Gyokuro, 100 g", "Shaded first-flush green tea from Uji, in a tin.", 1_800, DraftKind::MailOrder),
                (
                    "Guide to Uji tea (text)",
                    "How to brew gyokuro, sencha and matcha; 8 pages.",
                    500,
                    DraftKind::Digital,
                ),
                ("Sencha, 200 g", "Everyday green tea, deep-steamed.", 1_200, DraftKind::MailOrder),
                ("Tea lesson (online)", "One hour with our tea master, by video call.", 5_000, DraftKind::Service),
            ],
        )
    } else {
        (
            "hojoki-notes.txt",
            "Notes on the Hojoki of Kamo no Chomei.\n\nThe flowing river never stops...\n".repeat(60),
            vec![
                ("Hojoki (paperback)", "Kamo no Chomei's essay of 1212, new translation.", 900, DraftKind::MailOrder),
                ("Notes on the Hojoki (e-text)", "A reader's companion, plain text.", 300, DraftKind::Digital),
            ],
        )
    };
    let file = goods.join(digital_name);
    std::fs::write(&file, digital_text).map_err(|error| format!("Cannot write {}: {error}", file.display()))?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(index, (title, description, price_yen, kind))| DraftItem {
            item_id: index as u32 + 1,
            title: title.to_owned(),
            description: description.to_owned(),
            price_yen,
            kind,
            file: (kind == DraftKind::Digital).then(|| file.clone()),
        })
        .collect())
}

fn wait_for_center(center: &mut CenterProcess, card: &Path) -> Result<CenterIdentity, String> {
    let deadline = Instant::now() + CENTER_START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = center.child.try_wait() {
            return Err(format!("The center stopped at once ({status}). Its log says:\n{}", center.log_tail()));
        }
        if let Ok(identity) = CenterIdentity::read(card) {
            let address = identity.address.to_string();
            if !address.ends_with(":0") && std::net::TcpStream::connect(&address).is_ok() {
                return Ok(identity);
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "The center did not start listening within {CENTER_START_TIMEOUT:?}. Its log says:\n{}",
                center.log_tail()
            ));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

fn step(text: &str) {
    println!("  {text}");
    let _ = std::io::stdout().flush();
}

/// A program's path as the person can type it: relative to the current
/// directory when it is below it (`./target/release/denbun`).
fn shown_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|directory| path.strip_prefix(directory).ok().map(|relative| format!("./{}", relative.display())))
        .unwrap_or_else(|| path.display().to_string())
}

/// Runs the demo.
pub fn run(arguments: &DemoArgs, runtime: &Runtime) -> Result<(), String> {
    let center_program = find_center_program()?;
    let temporary;
    let root = match &arguments.data {
        Some(directory) => {
            if directory.join("center").exists() {
                return reopen(arguments, directory, &center_program, runtime);
            }
            make_directory(directory)?;
            directory.clone()
        }
        None => {
            temporary = tempfile::Builder::new()
                .prefix("denbun-demo-")
                .tempdir()
                .map_err(|error| format!("Cannot make a temporary directory: {error}"))?;
            temporary.path().to_owned()
        }
    };
    println!("Denbun demo in {}", root.display());
    let secrets = root.join("secrets");
    make_directory(&secrets)?;
    let secret_file = |name: &str, value: &str| -> Result<PathBuf, String> {
        let path = secrets.join(name);
        write_secret(&path, value)?;
        Ok(path)
    };
    let passphrase = secret_file("center-passphrase", &demo_password())?;
    let operator_a = secret_file("operator-password-a", &demo_password())?;
    let operator_b = secret_file("operator-password-b", &demo_password())?;
    let data = root.join("center");
    step("Creating the center (keys, config, operator O001)…");
    let init = Command::new(&center_program)
        .args(["init", "--name", "Denbun Demo Center", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("DENBUN_CENTER_PASSPHRASE_FILE", &passphrase)
        .env("DENBUN_PASSWORD_A_FILE", &operator_a)
        .env("DENBUN_PASSWORD_B_FILE", &operator_b)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("Cannot run {}: {error}", center_program.display()))?;
    if !init.status.success() {
        return Err(format!("`{CENTER_PROGRAM} init` failed:\n{}", String::from_utf8_lossy(&init.stderr)));
    }
    step("Starting the center on a free loopback port…");
    let (center_process, center) = start_center(&center_program, &data, &passphrase, &root.join("center.log"))?;
    let card = data.join(CARD_FILE_NAME);
    step(&format!("The center listens on {} (fingerprint {}).", center.address, center.short_fingerprint()));

    let mut parties = vec![
        DemoParty {
            label: "member",
            applicant: Applicant::Member,
            personal: personal("Hanako Yamada", "1-2-3 Marunouchi, Chiyoda-ku, Tokyo", (1990, 4, 1)),
            store: None,
            profile: root.join("member"),
            password_a: demo_password(),
            password_b: demo_password(),
            number: None,
        },
        DemoParty {
            label: "store",
            applicant: Applicant::Store(Text::new("Tea House Uji").expect("short")),
            personal: personal("Kenji Tsuji", "12 Uji-Renge, Uji, Kyoto", (1975, 9, 12)),
            store: Some(store_registration("Tea House Uji", "TSUJI KENJI", "1234567")),
            profile: root.join("tea-house"),
            password_a: demo_password(),
            password_b: demo_password(),
            number: None,
        },
        DemoParty {
            label: "store",
            applicant: Applicant::Store(Text::new("Kanda Books").expect("short")),
            personal: personal("Akiko Mori", "2-5 Kanda-Jimbocho, Chiyoda-ku, Tokyo", (1982, 1, 30)),
            store: Some(store_registration("Kanda Books", "MORI AKIKO", "7654321")),
            profile: root.join("kanda-books"),
            password_a: demo_password(),
            password_b: demo_password(),
            number: None,
        },
    ];
    for (index, party) in parties.iter().enumerate() {
        let name = if index == 0 {
            "member-password"
        } else if index == 1 {
            "tea-house-password"
        } else {
            "kanda-books-password"
        };
        secret_file(&format!("{name}-a"), &party.password_a)?;
        secret_file(&format!("{name}-b"), &party.password_b)?;
    }
    let mail = data.join("mail");
    let mut notes = Vec::new();
    let mut opened = Vec::new();
    for party in &mut parties {
        let who = party.store.as_ref().map_or(party.personal.name.to_string(), |store| store.trade_name.to_string());
        step(&format!("Registering the {} {who} (application, letter, key file)…", party.label));
        let registered = runtime.block_on(register(party, &center, &mail))?;
        opened.push(registered);
    }
    for (index, party) in parties.iter().enumerate().skip(1) {
        let goods = party.profile.join("goods");
        let draft = demo_catalog(&goods, index - 1)?;
        catalog_file::write(&party.profile.join(DRAFT_FILE_NAME), &draft)?;
        let items = catalog_items(&draft)?;
        let body = CatalogPublish {
            version: 1,
            part_index: 0,
            part_count: 1,
            items: List::new(items).map_err(|error| error.to_string())?,
        };
        let (vault, key) = &mut opened[index];
        let trade_name = party.store.as_ref().map_or(String::new(), |store| store.trade_name.to_string());
        step(&format!("Publishing the catalog of {trade_name}…"));
        let (_, note) = runtime.block_on(business(vault, key, &center, body.into(), "the catalog"));
        notes.push(format!("catalog of {trade_name}: {note}"));
    }
    {
        step(&format!("Topping up the member's card by {TOP_UP_YEN} yen (credit company)…"));
        let (vault, key) = &mut opened[0];
        let body = CardRequest {
            amount: Amount::new(TOP_UP_YEN).expect("a valid amount"),
            channel: FundingChannel::CreditCompany,
        };
        let (_, note) = runtime.block_on(business(vault, key, &center, body.into(), "the top-up"));
        notes.push(format!("member's card: {note}"));
    }
    // The terminals open the key files themselves: release the locks.
    drop(opened);

    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let member = &parties[0];
    let mut banner = format!(
        "\nDenbun demo: {} at {}\n  fingerprint {}\n\n  {:<22} {:<10} {:<12} {}\n",
        center.name,
        center.address,
        center.short_fingerprint(),
        "who",
        "number",
        "password A",
        "password B"
    );
    for party in &parties {
        let who = party.store.as_ref().map_or(party.personal.name.to_string(), |store| store.trade_name.to_string());
        banner.push_str(&format!(
            "  {:<22} {:<10} {:<12} {}\n",
            format!("{} {who}", party.label),
            party.number.map_or("?".to_owned(), |number| number.to_string()),
            party.password_a,
            party.password_b
        ));
    }
    banner.push('\n');
    for note in &notes {
        banner.push_str(&format!("  {note}\n"));
    }
    let keep = if arguments.data.is_some() {
        format!(
            "The demo stays in {} after you quit; `{} demo --data {}` reopens it.",
            root.display(),
            shown_path(&exe),
            root.display()
        )
    } else {
        "Quitting the member terminal stops the center and removes the demo's directory.".to_owned()
    };
    let exe = shown_path(&exe);
    // The operator's commands find center.pub and operators/O001.key in the
    // center's directory by default.
    banner.push_str(&format!(
        "\nFrom another shell, while the member terminal is open:\n\n  The store terminals:\n{}\n  \
         The operator's tools (transfers to confirm, payouts, the mail queue):\n    cd {}\n    \
         export DENBUN_PASSWORD_A_FILE={}\n    export DENBUN_PASSWORD_B_FILE={}\n    \
         {center} funds pending\n    {center} payouts pending\n    {center} mail list --all\n\n  \
         The center's log: {}\n",
        store_commands(&exe, &[&parties[1].profile, &parties[2].profile], &card),
        data.display(),
        operator_a.display(),
        operator_b.display(),
        root.join("center.log").display(),
        center = center_program.display(),
    ));
    banner.push_str(&format!("\n{keep}\n"));
    let _ = std::fs::write(root.join("README.txt"), &banner);
    println!("{banner}");
    let ended = if arguments.data.is_some() {
        keep
    } else {
        "The demo center stopped and its directory was removed.".to_owned()
    };
    member_terminal(
        arguments,
        &member.profile,
        &card,
        (&member.password_a, &member.password_b),
        center_process,
        &ended,
        runtime,
    )
}

/// Waits for Enter (unless told not to, or not at a terminal), runs the
/// member terminal, then stops the center and prints `ended`.
fn member_terminal(
    arguments: &DemoArgs,
    profile: &Path,
    card: &Path,
    (password_a, password_b): (&str, &str),
    mut center_process: CenterProcess,
    ended: &str,
    runtime: &Runtime,
) -> Result<(), String> {
    if !arguments.no_wait && std::io::stdin().is_terminal() {
        print!("Press Enter to open the member terminal… ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        let _ = std::io::Read::take(std::io::stdin().lock(), 1_024).read_line(&mut line);
    }
    let options = TerminalOptions {
        mode: Mode::Member,
        profile: profile.to_owned(),
        card: Some(card.to_owned()),
        address: None,
        demo_note: Some(format!("Demo: password A is {password_a}, password B is {password_b}.")),
    };
    let result = run_terminal(options, runtime);
    println!("Stopping the demo center…");
    center_process.stop();
    drop(center_process);
    println!("{ended}");
    result
}

/// Reopens a demo kept with `--data`: starts its center again (on a new
/// free port, which it writes into `center.pub`) and opens its member
/// terminal, which, like the store terminals below, finds the center
/// through `center.pub` rather than the address its key file was made with.
fn reopen(arguments: &DemoArgs, root: &Path, center_program: &Path, runtime: &Runtime) -> Result<(), String> {
    let secrets = root.join("secrets");
    let not_a_demo = |name: &str, error: &dyn std::fmt::Display| {
        format!(
            "{} holds a center but not the demo's {name} ({error}), so it is not a demo `denbun demo` kept; \
             choose another directory.",
            root.display()
        )
    };
    let secret = |name: &str| {
        std::fs::read_to_string(secrets.join(name))
            .map(|text| text.trim().to_owned())
            .map_err(|error| not_a_demo(name, &error))
    };
    // The center reads its passphrase itself: here it is only looked for.
    let passphrase = secrets.join("center-passphrase");
    std::fs::metadata(&passphrase).map_err(|error| not_a_demo("center-passphrase", &error))?;
    let (password_a, password_b) = (secret("member-password-a")?, secret("member-password-b")?);
    let data = root.join("center");
    let card = data.join(CARD_FILE_NAME);
    // A demo still running keeps its center and its card: this one must not
    // take either from it.
    if let Ok(identity) = CenterIdentity::read(&card)
        && let Ok(address) = identity.address.as_str().parse::<std::net::SocketAddr>()
        && std::net::TcpStream::connect_timeout(&address, RUNNING_CENTER_PROBE).is_ok()
    {
        return Err(format!(
            "The demo in {} is running already: its center answers at {address}. Open its terminals as {} says.",
            root.display(),
            root.join("README.txt").display()
        ));
    }
    println!("Reopening the Denbun demo in {}", root.display());
    // It names the port of the last run; the center writes it anew once it listens.
    match std::fs::remove_file(&card) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("Cannot replace {}: {error}", card.display())),
    }
    step("Starting its center on a free loopback port…");
    let (center_process, center) = start_center(center_program, &data, &passphrase, &root.join("center.log"))?;
    step(&format!("The center listens on {} (fingerprint {}).", center.address, center.short_fingerprint()));
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    println!(
        "\nDenbun demo: {} at {}\n  the member's password A is {password_a}, password B {password_b}\n  \
         every password is in {}\n\n\
         From another shell, while the member terminal is open:\n\n  The store terminals:\n{}\n  \
         {} says the rest.\n",
        center.name,
        center.address,
        secrets.display(),
        store_commands(&shown_path(&exe), &[&root.join("tea-house"), &root.join("kanda-books")], &card),
        root.join("README.txt").display(),
    );
    let ended = format!("The demo stays in {}.", root.display());
    member_terminal(arguments, &root.join("member"), &card, (&password_a, &password_b), center_process, &ended, runtime)
}

/// The commands that open the store terminals: each finds the center
/// through `card`, so they still work once the demo is reopened on another
/// port.
fn store_commands(exe: &str, profiles: &[&Path], card: &Path) -> String {
    profiles
        .iter()
        .map(|profile| {
            format!("    {exe} store \\\n      --profile {} \\\n      --center {}\n", profile.display(), card.display())
        })
        .collect()
}

/// Starts `denbun-center serve` over `data`, its output appended to `log`,
/// and waits until it listens.
fn start_center(
    program: &Path,
    data: &Path,
    passphrase: &Path,
    log: &Path,
) -> Result<(CenterProcess, CenterIdentity), String> {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|error| format!("Cannot write {}: {error}", log.display()))?;
    let log_copy = log_file.try_clone().map_err(|error| error.to_string())?;
    let child = Command::new(program)
        .arg("serve")
        .arg("--data")
        .arg(data)
        .env("DENBUN_CENTER_PASSPHRASE_FILE", passphrase)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_copy)
        .spawn()
        .map_err(|error| format!("Cannot start {}: {error}", program.display()))?;
    let mut center_process = CenterProcess { child, log: log.to_owned() };
    let center = wait_for_center(&mut center_process, &data.join(CARD_FILE_NAME))?;
    Ok((center_process, center))
}
