//! The anonymous verbs: `guide` and `apply`. They need no key file, only
//! the center's identity card, and send unsigned telegrams.

use clap::{Args, ValueEnum};
use denbun_protocol::header::PartyKind;
use denbun_protocol::limits::{ADDRESS_BYTES_MAX, NAME_BYTES_MAX, TRADE_NAME_BYTES_MAX};
use denbun_protocol::sign::Signer;
use denbun_protocol::telegram::{Applicant, Application, Body, GuideText, GuideTopic, PersonalData};
use denbun_protocol::wire::{Date, Text};
use tokio::runtime::Runtime;

use super::input::{confirm, is_interactive, value_or_prompt};
use super::{CliError, Context, Topic};
use crate::session::{Session, date_of_unix_ms, random_processing_number, unix_time_ms};

/// What an applicant applies to become.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// A general member (buyer).
    Member,
    /// A store (seller).
    Store,
}

/// `denbun apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Member (buyer) or store (seller).
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Your full name (a store: its representative's).
    #[arg(long)]
    pub name: String,
    /// Your postal address: the activation code is posted there.
    #[arg(long)]
    pub address: String,
    /// Your date of birth, YYYY-MM-DD (asked for when missing).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date_of_birth: Option<String>,
    /// The store's trade name (stores only).
    #[arg(long, value_name = "T")]
    pub trade_name: Option<String>,
    /// Accept the current agreement without showing it (read it first with
    /// `denbun guide --topic member|store`).
    #[arg(long)]
    pub accept_agreement: bool,
}

/// `denbun guide`: prints the guide or an agreement.
pub(super) fn guide(context: &Context, runtime: &Runtime, topic: Topic) -> Result<(), CliError> {
    let center = context.center_card()?;
    let session = context.connect(runtime, &center)?;
    let text = runtime.block_on(fetch_text(&session, guide_topic(topic)))?;
    println!("{} (version {})\n", title(text.topic), text.version);
    println!("{}", text.text);
    Ok(())
}

/// `denbun apply`: applies and prints the assigned number.
pub(super) fn apply(context: &Context, runtime: &Runtime, arguments: &ApplyArgs) -> Result<(), CliError> {
    let applicant = match (arguments.kind, &arguments.trade_name) {
        (Kind::Member, None) => Applicant::Member,
        (Kind::Member, Some(_)) => {
            return Err(CliError::Usage("--trade-name is for stores; leave it out for a member.".to_owned()));
        }
        (Kind::Store, Some(trade_name)) => Applicant::Store(text::<TRADE_NAME_BYTES_MAX>(trade_name, "--trade-name")?),
        (Kind::Store, None) => return Err(CliError::Usage("A store applies with --trade-name NAME.".to_owned())),
    };
    let date_of_birth = value_or_prompt(
        arguments.date_of_birth.as_deref(),
        "--date-of-birth YYYY-MM-DD",
        "Date of birth (YYYY-MM-DD): ",
    )?;
    let personal = PersonalData {
        name: text::<NAME_BYTES_MAX>(&arguments.name, "--name")?,
        address: text::<ADDRESS_BYTES_MAX>(&arguments.address, "--address")?,
        date_of_birth: date(&date_of_birth, "--date-of-birth")?,
    };
    if !arguments.accept_agreement && !is_interactive() {
        return Err(CliError::Usage(
            "Applying means accepting the agreement: read it with `denbun guide --topic member` (or store), then \
             apply again with --accept-agreement."
                .to_owned(),
        ));
    }
    let center = context.center_card()?;
    let session = context.connect(runtime, &center)?;
    let topic = match arguments.kind {
        Kind::Member => GuideTopic::MemberAgreement,
        Kind::Store => GuideTopic::StoreAgreement,
    };
    let agreement = runtime.block_on(fetch_text(&session, topic))?;
    if !arguments.accept_agreement {
        println!("{} (version {})\n\n{}\n", title(agreement.topic), agreement.version, agreement.text);
        if !confirm("Do you accept this agreement?")? {
            return Err(CliError::Failed("You did not accept the agreement, so nothing was sent.".to_owned()));
        }
    }
    let application = Application { applicant, personal, agreement_version: agreement.version };
    let telegram = Signer::anonymous()
        .request(random_processing_number(), unix_time_ms(), application)
        .map_err(|error| CliError::Usage(format!("The application cannot be sent: {error}")))?;
    let answer = runtime.block_on(session.request(&telegram))?;
    let Body::ApplicationAccepted(accepted) = answer.body() else {
        return Err(CliError::Failed(format!(
            "The center answered with an unexpected telegram {}.",
            answer.body().code()
        )));
    };
    let what = if accepted.assigned.kind() == PartyKind::Store { "store" } else { "member" };
    println!("Your {what} number is {}.", accepted.assigned);
    println!("{}", accepted.message);
    let expires = date_of_unix_ms(accepted.activation_code_expires_at_ms)
        .map_or_else(|| "its expiry".to_owned(), |date| date.to_string());
    println!(
        "Your activation code comes by post to the address you gave and works until {expires}. When it arrives, \
         run: denbun register --number {} --center FILE (and your details)",
        accepted.assigned
    );
    Ok(())
}

async fn fetch_text(session: &Session, topic: GuideTopic) -> Result<GuideText, CliError> {
    crate::services::fetch_guide(session, topic).await.map_err(|error| CliError::Failed(error.to_string()))
}

fn guide_topic(topic: Topic) -> GuideTopic {
    match topic {
        Topic::Guide => GuideTopic::Guide,
        Topic::Member => GuideTopic::MemberAgreement,
        Topic::Store => GuideTopic::StoreAgreement,
    }
}

fn title(topic: GuideTopic) -> &'static str {
    match topic {
        GuideTopic::Guide => "Guide",
        GuideTopic::MemberAgreement => "Member agreement",
        GuideTopic::StoreAgreement => "Store agreement",
    }
}

/// A text field from the command line, with a clear error when it does not fit.
pub(super) fn text<const MAX: usize>(value: &str, flag: &str) -> Result<Text<MAX>, CliError> {
    let value = value.trim();
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(CliError::Usage(format!("{flag} must not be empty or contain control characters.")));
    }
    Text::new(value).map_err(|_| CliError::Usage(format!("{flag} is longer than {MAX} bytes; shorten it.")))
}

/// A `YYYY-MM-DD` date from the command line.
pub(super) fn date(value: &str, flag: &str) -> Result<Date, CliError> {
    Date::parse(value.trim())
        .ok_or_else(|| CliError::Usage(format!("{flag} must be a date written YYYY-MM-DD, e.g. 1990-04-01.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_with_messages_naming_the_flag() {
        assert_eq!(text::<8>(" Hanako ", "--name").unwrap().as_str(), "Hanako");
        for bad in ["", "  ", "a\nb"] {
            assert!(matches!(text::<8>(bad, "--name"), Err(CliError::Usage(message)) if message.contains("--name")));
        }
        assert!(matches!(text::<4>("toolong", "--name"), Err(CliError::Usage(message)) if message.contains("4 bytes")));
        assert_eq!(date("1990-04-01", "--date-of-birth").unwrap().to_string(), "1990-04-01");
        assert!(date("1990-02-30", "--date-of-birth").is_err());
        assert!(date("01/04/1990", "--date-of-birth").is_err());
    }
}
