//! `denbun register`: make the keys and the key file, sign the registration
//! (claim 1) and send it through the outbox, then show the certificate.
//!
//! Run again after a failure, it goes on from where it stopped: a key file
//! that exists but holds no certificate yet keeps its keys; a registration
//! still waiting in its outbox is sent again; a refused one (wrong code) is
//! signed anew with the code given this time.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use denbun_protocol::header::{PartyId, PartyKind};
use denbun_protocol::keyfile::Profile;
use denbun_protocol::limits::{ACCOUNT_HOLDER_BYTES_MAX, ADDRESS_BYTES_MAX, NAME_BYTES_MAX, TRADE_NAME_BYTES_MAX};
use denbun_protocol::telegram::{
    AccountType, BankAccount, Body, Digits, PersonalData, Registration, RegistrationCertificate, StoreRegistration,
};
use denbun_protocol::wire::Text;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::OsRng;
use tokio::runtime::Runtime;
use x25519_dalek::PublicKey as DeliveryKey;

use super::apply::{date, text};
use super::input::{self, Which, value_or_prompt};
use super::{CliError, Context, keep_card_copy};
use crate::keys::generate_member_keys_from_os;
use crate::services::certificate_in_history;
use crate::session::{Completed, SubmitError, date_of_unix_ms, run_outbox, submit};
use crate::vault::{NewVault, UnlockedVault, Vault, VaultConfig};

/// A bank account's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AccountKind {
    /// 普通 ordinary deposit.
    Ordinary,
    /// 当座 current account.
    Current,
    /// 貯蓄 savings.
    Savings,
}

/// `denbun register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Your number from the application, e.g. M00000123 or S00000007.
    #[arg(long, value_name = "N")]
    pub number: PartyId,
    /// A file holding the activation code from your letter (asked for when missing).
    #[arg(long, value_name = "FILE")]
    pub activation_code_file: Option<PathBuf>,
    /// Your full name (a store: its representative's).
    #[arg(long)]
    pub name: Option<String>,
    /// Your postal address, as in the application.
    #[arg(long)]
    pub address: Option<String>,
    /// Your date of birth, YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date_of_birth: Option<String>,
    /// Store: the trade name shown to members.
    #[arg(long, value_name = "T")]
    pub trade_name: Option<String>,
    /// Store: the payout bank's code (4 digits).
    #[arg(long, value_name = "DIGITS")]
    pub bank_code: Option<String>,
    /// Store: the payout branch's code (3 digits).
    #[arg(long, value_name = "DIGITS")]
    pub branch_code: Option<String>,
    /// Store: the payout account's type.
    #[arg(long, value_enum)]
    pub account_type: Option<AccountKind>,
    /// Store: the payout account's number (7 digits).
    #[arg(long, value_name = "DIGITS")]
    pub account_number: Option<String>,
    /// Store: the account holder's name as the bank writes it.
    #[arg(long, value_name = "NAME")]
    pub account_holder: Option<String>,
    /// A file holding a seed phrase to mix into the key's randomness (optional).
    #[arg(long, value_name = "FILE")]
    pub seed_phrase_file: Option<PathBuf>,
}

/// Registers, or goes on with a registration that did not finish.
pub(super) fn register(context: &Context, runtime: &Runtime, arguments: &RegisterArgs) -> Result<(), CliError> {
    let party = arguments.number;
    match party.kind() {
        PartyKind::Member | PartyKind::Store => {}
        _ => {
            return Err(CliError::Usage(format!(
                "{party} is not a member or store number; give the number from your application, e.g. M00000123."
            )));
        }
    };
    let path = context.key_file();
    if path.exists() {
        return continue_registration(context, runtime, arguments, &path, party);
    }
    // Everything that can be wrong on the command line is checked before
    // the slow key derivation and before any file is written.
    let center = context.center_card()?;
    let details = Details::gather(arguments, party)?;
    let activation_code = input::activation_code(arguments.activation_code_file.as_deref())?;
    let password_a = input::new_password(Which::A)?;
    let password_b = input::new_password(Which::B)?;
    if password_a.as_bytes() == password_b.as_bytes() {
        return Err(CliError::Usage(
            "Password A and password B must differ: A alone opens your history, and signing must need more than \
             that. Nothing was created."
                .to_owned(),
        ));
    }
    let phrase = input::seed_phrase(arguments.seed_phrase_file.as_deref())?;
    create_profile_directory(&context.profile)?;

    eprintln!("Making your keys and key file (two slow key derivations; a few seconds)...");
    let keys = generate_member_keys_from_os(phrase.as_ref());
    let signing_key = SigningKey::from_bytes(keys.signing_seed.expose());
    let registration = Registration {
        activation_code,
        personal: details.personal,
        store: details.store,
        verification_key: signing_key.verifying_key(),
        delivery_key: DeliveryKey::from(keys.delivery_public_key),
    };
    let profile = Profile { party, name: details.profile_name };
    let new = NewVault { profile, center: center.clone(), keys };
    let mut vault = Vault::create(&path, new, &password_a, &password_b, VaultConfig::STANDARD, &mut OsRng)?;
    eprintln!("Key file written: {}", path.display());
    keep_card_copy(&context.profile, &center);
    send_registration(context, runtime, &mut vault, &signing_key, registration)
}

fn continue_registration(
    context: &Context,
    runtime: &Runtime,
    arguments: &RegisterArgs,
    path: &Path,
    party: PartyId,
) -> Result<(), CliError> {
    eprintln!("A key file exists at {}: going on with its registration.", path.display());
    let password_a = input::password(Which::A)?;
    eprintln!("Opening the key file...");
    let mut vault = Vault::open(path, &password_a)?;
    let owner = vault.profile().party;
    if owner != party {
        return Err(CliError::Failed(format!(
            "The key file at {} belongs to {owner}, not {party}. Use another --profile DIR for another registration.",
            path.display()
        )));
    }
    if let Some(certificate) = certificate_in_history(&vault, owner) {
        println!("Already registered; nothing was sent.");
        print_certificate(&vault, &certificate);
        return Ok(());
    }
    if !vault.outbox().is_empty() {
        eprintln!("Sending the registration that waits in the outbox...");
        let session = context.connect(runtime, vault.center())?;
        let report = runtime.block_on(run_outbox(&mut vault, &session))?;
        if let Some(certificate) = certificate_in_history(&vault, owner) {
            print_certificate(&vault, &certificate);
            return Ok(());
        }
        if let Some(error) = report.stopped {
            return Err(CliError::Failed(format!("{error} Run `denbun register` again later.")));
        }
        for completed in &report.completed {
            if let Completed::Refused { rejection, .. } = completed {
                eprintln!("{rejection} It was removed from the outbox.");
            }
        }
    }
    let details = Details::gather(arguments, party)?;
    let activation_code = input::activation_code(arguments.activation_code_file.as_deref())?;
    let password_b = input::password(Which::B)?;
    eprintln!("Opening the signature key...");
    let guard = vault.signing_key(&password_b)?;
    let signing_key = guard.signing_key().clone();
    drop(guard);
    let contents = vault.contents();
    let registration = Registration {
        activation_code,
        personal: details.personal,
        store: details.store,
        verification_key: VerifyingKey::from_bytes(&contents.verification_key)
            .map_err(|_| CliError::Failed("The key file's verification key is damaged.".to_owned()))?,
        delivery_key: DeliveryKey::from(contents.delivery_public_key),
    };
    send_registration(context, runtime, &mut vault, &signing_key, registration)
}

fn send_registration(
    context: &Context,
    runtime: &Runtime,
    vault: &mut UnlockedVault,
    signing_key: &SigningKey,
    registration: Registration,
) -> Result<(), CliError> {
    let session = context.connect(runtime, vault.center())?;
    eprintln!("Sending the signed registration...");
    match runtime.block_on(submit(vault, &session, signing_key, registration)) {
        Ok(answer) => match answer.body() {
            Body::RegistrationCertificate(certificate) => {
                print_certificate(vault, certificate);
                Ok(())
            }
            other => {
                Err(CliError::Failed(format!("The center answered with an unexpected telegram {}.", other.code())))
            }
        },
        Err(error @ SubmitError::NotAnswered { .. }) => {
            Err(CliError::Failed(format!("{error} Run `denbun register` (or `denbun send`) again to send it.")))
        }
        Err(error @ SubmitError::Refused { .. }) => Err(CliError::Failed(format!(
            "{error} Your key file and keys are kept: run `denbun register` again with the right details."
        ))),
        Err(error) => Err(error.into()),
    }
}

fn print_certificate(vault: &UnlockedVault, certificate: &RegistrationCertificate) {
    let contents = vault.contents();
    let registered_on = date_of_unix_ms(certificate.registered_at_ms)
        .map_or_else(|| "an unknown date".to_owned(), |date| date.to_string());
    println!(
        "Registered: {} ({}) at {}, center fingerprint {}.",
        certificate.party,
        certificate.name,
        vault.center().name,
        vault.center().short_fingerprint()
    );
    println!(
        "Registered on {registered_on} (UTC). Verification key: {}.",
        hex(certificate.verification_key.as_bytes())
    );
    println!(
        "Key file: {}. Password A opens your history; signing needs password B as well. Keep a copy of the key \
         file somewhere safe.",
        vault.path().display()
    );
    let matches = certificate.verification_key.as_bytes() == &contents.verification_key
        && certificate.delivery_key.as_bytes() == &contents.delivery_public_key
        && vault.profile().party == certificate.party;
    if !matches {
        eprintln!(
            "WARNING: the center's certificate does not name the keys in your key file. Do not use this \
             registration; contact the center."
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn create_profile_directory(directory: &Path) -> Result<(), CliError> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(directory).map_err(|error| {
        CliError::Failed(format!("Cannot create the profile directory {}: {error}", directory.display()))
    })
}

/// The personal data (and a store's details) of a registration.
struct Details {
    personal: PersonalData,
    store: Option<StoreRegistration>,
    profile_name: Text<NAME_BYTES_MAX>,
}

impl Details {
    fn gather(arguments: &RegisterArgs, party: PartyId) -> Result<Self, CliError> {
        let is_store = party.kind() == PartyKind::Store;
        let store_flags = [
            ("--trade-name", arguments.trade_name.is_some()),
            ("--bank-code", arguments.bank_code.is_some()),
            ("--branch-code", arguments.branch_code.is_some()),
            ("--account-type", arguments.account_type.is_some()),
            ("--account-number", arguments.account_number.is_some()),
            ("--account-holder", arguments.account_holder.is_some()),
        ];
        if let Some((flag, _)) = store_flags.iter().find(|(_, given)| *given).filter(|_| !is_store) {
            return Err(CliError::Usage(format!("{flag} is for stores; {party} is a member number.")));
        }
        let name = value_or_prompt(arguments.name.as_deref(), "--name", "Full name: ")?;
        let address = value_or_prompt(arguments.address.as_deref(), "--address", "Postal address: ")?;
        let date_of_birth =
            value_or_prompt(arguments.date_of_birth.as_deref(), "--date-of-birth", "Date of birth (YYYY-MM-DD): ")?;
        let personal = PersonalData {
            name: text::<NAME_BYTES_MAX>(&name, "--name")?,
            address: text::<ADDRESS_BYTES_MAX>(&address, "--address")?,
            date_of_birth: date(&date_of_birth, "--date-of-birth")?,
        };
        if !is_store {
            return Ok(Details { profile_name: personal.name.clone(), personal, store: None });
        }
        let trade_name = value_or_prompt(arguments.trade_name.as_deref(), "--trade-name", "Trade name: ")?;
        let trade_name = text::<TRADE_NAME_BYTES_MAX>(&trade_name, "--trade-name")?;
        let bank_code = value_or_prompt(arguments.bank_code.as_deref(), "--bank-code", "Bank code (4 digits): ")?;
        let branch_code =
            value_or_prompt(arguments.branch_code.as_deref(), "--branch-code", "Branch code (3 digits): ")?;
        let account_type = match arguments.account_type {
            Some(kind) => kind,
            None => {
                let answer = value_or_prompt(None, "--account-type", "Account type (ordinary, current, savings): ")?;
                AccountKind::from_str(&answer, true)
                    .map_err(|_| CliError::Usage("The account type is ordinary, current or savings.".to_owned()))?
            }
        };
        let account_number =
            value_or_prompt(arguments.account_number.as_deref(), "--account-number", "Account number (7 digits): ")?;
        let holder = value_or_prompt(arguments.account_holder.as_deref(), "--account-holder", "Account holder: ")?;
        let payout_account = BankAccount {
            bank_code: digits::<4>(&bank_code, "--bank-code")?,
            branch_code: digits::<3>(&branch_code, "--branch-code")?,
            account_type: match account_type {
                AccountKind::Ordinary => AccountType::Ordinary,
                AccountKind::Current => AccountType::Current,
                AccountKind::Savings => AccountType::Savings,
            },
            account_number: digits::<7>(&account_number, "--account-number")?,
            holder_name: text::<ACCOUNT_HOLDER_BYTES_MAX>(&holder, "--account-holder")?,
        };
        let profile_name = text::<NAME_BYTES_MAX>(trade_name.as_str(), "--trade-name")?;
        Ok(Details { personal, store: Some(StoreRegistration { trade_name, payout_account }), profile_name })
    }
}

fn digits<const N: usize>(value: &str, flag: &str) -> Result<Digits<N>, CliError> {
    Digits::new(value.trim()).ok_or_else(|| CliError::Usage(format!("{flag} must be exactly {N} digits 0-9.")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(arguments: &[&str]) -> RegisterArgs {
        let mut line = vec!["denbun", "register"];
        line.extend_from_slice(arguments);
        match super::super::Cli::try_parse_from(line).unwrap().verb {
            super::super::Verb::Register(arguments) => arguments,
            other => panic!("{other:?}"),
        }
    }

    const PERSON: [&str; 6] =
        ["--name", "Hanako Yamada", "--address", "1-2-3 Uji, Kyoto", "--date-of-birth", "1990-04-01"];

    #[test]
    fn a_member_registers_with_personal_data_only() {
        let mut line = vec!["--number", "M00000123"];
        line.extend_from_slice(&PERSON);
        let arguments = parse(&line);
        let details = Details::gather(&arguments, arguments.number).unwrap();
        assert!(details.store.is_none());
        assert_eq!(details.profile_name.as_str(), "Hanako Yamada");
        line.extend_from_slice(&["--trade-name", "Tea"]);
        let arguments = parse(&line);
        assert!(
            matches!(Details::gather(&arguments, arguments.number), Err(CliError::Usage(message)) if message.contains("--trade-name"))
        );
    }

    #[test]
    fn a_store_registers_its_payout_account() {
        let mut line = vec!["--number", "S00000007"];
        line.extend_from_slice(&PERSON);
        line.extend_from_slice(&[
            "--trade-name",
            "Tea House Uji",
            "--bank-code",
            "0001",
            "--branch-code",
            "123",
            "--account-type",
            "savings",
            "--account-number",
            "1234567",
            "--account-holder",
            "ｳｼﾞ ﾁｬﾔ",
        ]);
        let arguments = parse(&line);
        let details = Details::gather(&arguments, arguments.number).unwrap();
        let store = details.store.expect("store details");
        assert_eq!(store.payout_account.account_type, AccountType::Savings);
        assert_eq!(store.payout_account.bank_code.as_str(), "0001");
        assert_eq!(details.profile_name.as_str(), "Tea House Uji");

        let bad = line.iter().map(|word| if *word == "1234567" { "123456" } else { word }).collect::<Vec<_>>();
        let arguments = parse(&bad);
        assert!(
            matches!(Details::gather(&arguments, arguments.number), Err(CliError::Usage(message)) if message.contains("--account-number"))
        );
    }

    #[test]
    fn the_number_must_be_a_party_id() {
        let error = super::super::Cli::try_parse_from(["denbun", "register", "--number", "123"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
    }
}
