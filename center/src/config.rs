//! The center's configuration file (`DIR/center.toml`).
//!
//! `denbun-center init` writes [`TEMPLATE`], where every key is present with
//! its default and a comment. Unknown keys are an error (a typo must not
//! silently fall back to a default), and every limit is checked on load.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use denbun_protocol::header::{PartyId, PartyKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Bytes of a transfer channel's instructions before `{amount}` and
/// `{reference}` are filled in (the answer field holds 256).
pub const INSTRUCTIONS_BYTES_MAX: usize = 200;

/// The file `init` writes: every key, its default and what it means.
pub const TEMPLATE: &str = r#"# Denbun center configuration. Every key is shown with its default.
# Changes take effect at the next `denbun-center serve`.

# Address and port the center listens on. Terminals connect here.
listen = "127.0.0.1:7700"

[limits]
# Open connections at once, over all terminals. Further connections are
# answered with a "busy" reject and closed.
connections_max = 1024
# Open connections at once from one IP address.
connections_per_address_max = 64
# Handshakes being computed at once (bounds the CPU spent on newcomers).
handshakes_concurrent_max = 64
# Handshakes one IP address may start per second, and the burst above that
# rate. Beyond it a connection is closed before any Diffie-Hellman, so a flood
# from one address cannot take the CPU from everyone else.
handshakes_per_second_per_address = 20
handshake_burst_per_address = 50
# The Noise handshake must finish within this time.
handshake_timeout_ms = 5000
# Once a frame's first byte has arrived, the whole frame must arrive within
# this time (a trickling sender is cut off).
frame_timeout_ms = 10000
# After this long with no telegram, the center sends an echo probe.
idle_timeout_ms = 60000
# A terminal that does not answer the echo probe within this time is closed.
echo_answer_timeout_ms = 20000
# A session that has not signed on is closed after this long without a
# telegram (applicants and outbox senders need no sign-on, but must keep talking).
sign_on_timeout_ms = 30000
# Telegrams per second one sender may send (token bucket refill rate).
telegrams_per_second_per_sender = 200
# Burst above that rate one sender may send.
telegram_burst_per_sender = 400
# Applications (unsigned) accepted per IP address per hour.
applications_per_address_per_hour = 20
# How long an activation code stays valid.
activation_code_ttl_hours = 720
# Wrong activation codes allowed before an application is locked.
activation_attempts_max = 5
# Telegrams applied together in one storage write (one fsync covers every
# group applied while the previous fsync ran).
group_commit_telegrams_max = 256

[texts]
# Shown to newcomers before they apply.
guide = """Welcome to the Denbun settlement center.
Members buy from stores with a virtual prepaid card issued by the center.
Stores sell goods, and the center pays them out to their bank accounts.
Apply first; your activation code arrives by post."""
# The agreement a general member accepts when applying.
member_agreement = """Member agreement: your prepaid balance is held by the center.
Every payment you sign is final once the center has answered it.
Keep password B secret: with it, anyone holding your key file can pay."""
# The agreement a store accepts when applying.
store_agreement = """Store agreement: the center pays out delivered orders to your bank
account after an operator approves the payout batch. Refunds are drawn
from your payable balance."""

[money]
# Reports, statements and payout files count business days from midnight at
# this offset from UTC, in whole hours (9: Japan Standard Time).
utc_offset_hours = 9
# Largest prepaid card one request may ask for, in yen.
card_amount_yen_max = 500000
# Largest balance a member may hold; a card that would go above it is refused.
balance_yen_max = 1000000
# Largest single payment, in yen.
payment_amount_yen_max = 1000000
# Items in one store's catalog (at most 1000).
catalog_items_max = 1000
# Largest digital item, in bytes before sealing (at most 16 MiB). The center
# stores and relays the sealed chunks until the member acknowledges them.
delivery_bytes_max = 16777216
# What a member is told to do for each transfer channel ({amount} and
# {reference} are filled in). The card is issued when an operator confirms
# that the money arrived.
bank_transfer_instructions = "Transfer {amount} to DENBUN SETTLEMENT CENTER, Denbun Bank (0001) Head Office (001), ordinary 1234567, putting {reference} before your name."
post_office_transfer_instructions = "Send {amount} by post-office transfer to account 00100-1-234567, DENBUN SETTLEMENT CENTER, writing {reference} in the message field."
registered_mail_instructions = "Send {amount} in cash by registered mail to the Denbun Settlement Center with a note reading {reference}."

[credit]
# The credit company asked for cards paid by credit. The center ships with a
# simulated one: it grants each member a monthly credit line and declines a
# request that would go over it.
company = "Denbun Credit (simulated)"
# Credit granted to each member per calendar month, in yen, unless listed below.
default_monthly_line_yen = 300000

# Members with their own monthly line (0: every request is declined), e.g.
# M00000002 = 0
[credit.lines]

[payouts]
# The center's own account the transfers are paid from: the header record
# of the Zengin transfer file (docs/payouts.md). Names are written in the
# Zengin character set: A-Z, 0-9, half-width katakana, space and ( ) - . , /
requester_code = "1234567890"
requester_name = "DENBUN SETTLEMENT CENTER"
bank_code = "0001"
bank_name = "DENBUN BANK"
branch_code = "001"
branch_name = "HEAD OFFICE"
# ordinary or current
account_type = "ordinary"
account_number = "1234567"
"#;

/// The parsed configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Every cap and deadline.
    pub limits: Limits,
    /// Guide and agreements.
    pub texts: Texts,
    /// Cards, payments, catalogs and deliveries (defaults when absent, so a
    /// configuration written before them still loads).
    #[serde(default)]
    pub money: Money,
    /// The credit company.
    #[serde(default)]
    pub credit: Credit,
    /// The center's account for payout files.
    #[serde(default)]
    pub payouts: Payouts,
}

/// Money limits and texts (see [`TEMPLATE`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub utc_offset_hours: i8,
    pub card_amount_yen_max: u64,
    pub balance_yen_max: u64,
    pub payment_amount_yen_max: u64,
    pub catalog_items_max: u32,
    pub delivery_bytes_max: u64,
    pub bank_transfer_instructions: String,
    pub post_office_transfer_instructions: String,
    pub registered_mail_instructions: String,
}

impl Default for Money {
    fn default() -> Self {
        Config::default_config().money
    }
}

/// The simulated credit company (see [`TEMPLATE`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credit {
    pub company: String,
    pub default_monthly_line_yen: u64,
    /// Monthly lines by member id (`M00000002`); checked on load.
    #[serde(default)]
    pub lines: BTreeMap<String, u64>,
}

impl Default for Credit {
    fn default() -> Self {
        Config::default_config().credit
    }
}

impl Credit {
    /// The monthly credit line of `member`.
    pub fn line_yen(&self, member: PartyId) -> u64 {
        self.lines
            .iter()
            .find(|(key, _)| key.parse::<PartyId>().ok() == Some(member))
            .map_or(self.default_monthly_line_yen, |(_, line)| *line)
    }
}

/// The center's account in payout files (see [`TEMPLATE`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payouts {
    pub requester_code: String,
    pub requester_name: String,
    pub bank_code: String,
    pub bank_name: String,
    pub branch_code: String,
    pub branch_name: String,
    pub account_type: String,
    pub account_number: String,
}

impl Default for Payouts {
    fn default() -> Self {
        Config::default_config().payouts
    }
}

/// Caps and deadlines (see [`TEMPLATE`] for their meaning).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub connections_max: u32,
    pub connections_per_address_max: u32,
    pub handshakes_concurrent_max: u32,
    pub handshakes_per_second_per_address: u32,
    pub handshake_burst_per_address: u32,
    pub handshake_timeout_ms: u64,
    pub frame_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub echo_answer_timeout_ms: u64,
    pub sign_on_timeout_ms: u64,
    pub telegrams_per_second_per_sender: u32,
    pub telegram_burst_per_sender: u32,
    pub applications_per_address_per_hour: u32,
    pub activation_code_ttl_hours: u32,
    pub activation_attempts_max: u8,
    pub group_commit_telegrams_max: u32,
}

/// Texts shown to newcomers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    pub guide: String,
    pub member_agreement: String,
    pub store_agreement: String,
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// The file is not valid TOML or has unknown or missing keys.
    #[error("{path} is not a valid configuration: {message}")]
    Parse { path: String, message: String },
    /// A value is outside its allowed range.
    #[error("{path}: `{key}` must be {expected}")]
    Range { path: String, key: &'static str, expected: &'static str },
}

impl Config {
    /// The defaults (the template, parsed).
    pub fn default_config() -> Self {
        Self::parse(TEMPLATE, "(built-in defaults)").expect("the template is a valid configuration")
    }

    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks configuration text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|error| ConfigError::Parse { path: origin.to_owned(), message: error.to_string() })?;
        config.check(origin)?;
        Ok(config)
    }

    fn check(&self, origin: &str) -> Result<(), ConfigError> {
        let limits = &self.limits;
        let range = |ok: bool, key: &'static str, expected: &'static str| {
            if ok { Ok(()) } else { Err(ConfigError::Range { path: origin.to_owned(), key, expected }) }
        };
        range((1..=100_000).contains(&limits.connections_max), "limits.connections_max", "1..=100000")?;
        range(
            (1..=limits.connections_max).contains(&limits.connections_per_address_max),
            "limits.connections_per_address_max",
            "between 1 and connections_max",
        )?;
        range((1..=4_096).contains(&limits.handshakes_concurrent_max), "limits.handshakes_concurrent_max", "1..=4096")?;
        range(
            (1..=100_000).contains(&limits.handshakes_per_second_per_address),
            "limits.handshakes_per_second_per_address",
            "1..=100000",
        )?;
        range(
            (limits.handshakes_per_second_per_address..=1_000_000).contains(&limits.handshake_burst_per_address),
            "limits.handshake_burst_per_address",
            "at least handshakes_per_second_per_address",
        )?;
        range((100..=60_000).contains(&limits.handshake_timeout_ms), "limits.handshake_timeout_ms", "100..=60000")?;
        range((100..=120_000).contains(&limits.frame_timeout_ms), "limits.frame_timeout_ms", "100..=120000")?;
        range((1_000..=3_600_000).contains(&limits.idle_timeout_ms), "limits.idle_timeout_ms", "1000..=3600000")?;
        range(
            (100..=600_000).contains(&limits.echo_answer_timeout_ms),
            "limits.echo_answer_timeout_ms",
            "100..=600000",
        )?;
        range((100..=600_000).contains(&limits.sign_on_timeout_ms), "limits.sign_on_timeout_ms", "100..=600000")?;
        range(
            (1..=100_000).contains(&limits.telegrams_per_second_per_sender),
            "limits.telegrams_per_second_per_sender",
            "1..=100000",
        )?;
        range(
            (limits.telegrams_per_second_per_sender..=1_000_000).contains(&limits.telegram_burst_per_sender),
            "limits.telegram_burst_per_sender",
            "at least telegrams_per_second_per_sender",
        )?;
        range(
            (1..=10_000).contains(&limits.applications_per_address_per_hour),
            "limits.applications_per_address_per_hour",
            "1..=10000",
        )?;
        range((1..=8_760).contains(&limits.activation_code_ttl_hours), "limits.activation_code_ttl_hours", "1..=8760")?;
        range((1..=20).contains(&limits.activation_attempts_max), "limits.activation_attempts_max", "1..=20")?;
        range(
            (1..=4_096).contains(&limits.group_commit_telegrams_max),
            "limits.group_commit_telegrams_max",
            "1..=4096",
        )?;
        let text_max = denbun_protocol::limits::GUIDE_TEXT_BYTES_MAX;
        for (key, text) in [
            ("texts.guide", &self.texts.guide),
            ("texts.member_agreement", &self.texts.member_agreement),
            ("texts.store_agreement", &self.texts.store_agreement),
        ] {
            range(text.len() <= text_max, key, "at most 16 KiB of UTF-8")?;
        }
        self.check_money(origin)
    }

    fn check_money(&self, origin: &str) -> Result<(), ConfigError> {
        use denbun_protocol::limits::{AMOUNT_YEN_MAX, CATALOG_ITEMS_MAX, DELIVERY_BYTES_MAX};
        let range = |ok: bool, key: &'static str, expected: &'static str| {
            if ok { Ok(()) } else { Err(ConfigError::Range { path: origin.to_owned(), key, expected }) }
        };
        let money = &self.money;
        range((-12..=14).contains(&money.utc_offset_hours), "money.utc_offset_hours", "-12..=14")?;
        range(
            (1..=AMOUNT_YEN_MAX).contains(&money.card_amount_yen_max),
            "money.card_amount_yen_max",
            "1..=1000000000000",
        )?;
        range(
            (money.card_amount_yen_max..=AMOUNT_YEN_MAX).contains(&money.balance_yen_max),
            "money.balance_yen_max",
            "at least card_amount_yen_max and at most 1000000000000",
        )?;
        range(
            (1..=AMOUNT_YEN_MAX).contains(&money.payment_amount_yen_max),
            "money.payment_amount_yen_max",
            "1..=1000000000000",
        )?;
        range(
            (1..=CATALOG_ITEMS_MAX as u32).contains(&money.catalog_items_max),
            "money.catalog_items_max",
            "1..=1000",
        )?;
        range(
            (1..=DELIVERY_BYTES_MAX).contains(&money.delivery_bytes_max),
            "money.delivery_bytes_max",
            "1..=16777216",
        )?;
        for (key, text) in [
            ("money.bank_transfer_instructions", &money.bank_transfer_instructions),
            ("money.post_office_transfer_instructions", &money.post_office_transfer_instructions),
            ("money.registered_mail_instructions", &money.registered_mail_instructions),
        ] {
            range(text.len() <= INSTRUCTIONS_BYTES_MAX, key, "at most 200 bytes of UTF-8")?;
        }
        range(!self.credit.company.is_empty() && self.credit.company.len() <= 64, "credit.company", "1 to 64 bytes")?;
        range(
            self.credit.default_monthly_line_yen <= AMOUNT_YEN_MAX,
            "credit.default_monthly_line_yen",
            "at most 1000000000000",
        )?;
        for (member, line) in &self.credit.lines {
            let is_member = member.parse::<PartyId>().is_ok_and(|party| party.kind() == PartyKind::Member);
            range(is_member, "credit.lines", "keyed by member ids such as M00000002")?;
            range(*line <= AMOUNT_YEN_MAX, "credit.lines", "lines of at most 1000000000000 yen")?;
        }
        let payouts = &self.payouts;
        let digits = |text: &str, count: usize| text.len() == count && text.bytes().all(|byte| byte.is_ascii_digit());
        let zengin =
            |text: &str, count: usize| crate::ledger::zengin::zengin_text(text).is_ok_and(|bytes| bytes.len() <= count);
        range(digits(&payouts.requester_code, 10), "payouts.requester_code", "10 digits")?;
        range(
            zengin(&payouts.requester_name, 40),
            "payouts.requester_name",
            "at most 40 characters of the Zengin character set",
        )?;
        range(digits(&payouts.bank_code, 4), "payouts.bank_code", "4 digits")?;
        range(
            zengin(&payouts.bank_name, 15),
            "payouts.bank_name",
            "at most 15 characters of the Zengin character set",
        )?;
        range(digits(&payouts.branch_code, 3), "payouts.branch_code", "3 digits")?;
        range(
            zengin(&payouts.branch_name, 15),
            "payouts.branch_name",
            "at most 15 characters of the Zengin character set",
        )?;
        range(
            matches!(payouts.account_type.as_str(), "ordinary" | "current"),
            "payouts.account_type",
            "ordinary or current",
        )?;
        range(digits(&payouts.account_number, 7), "payouts.account_number", "7 digits")?;
        Ok(())
    }
}

impl Limits {
    /// The handshake deadline.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }
    /// The per-frame deadline.
    pub fn frame_timeout(&self) -> Duration {
        Duration::from_millis(self.frame_timeout_ms)
    }
    /// Idle time before an echo probe.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
    /// Time allowed to answer an echo probe.
    pub fn echo_answer_timeout(&self) -> Duration {
        Duration::from_millis(self.echo_answer_timeout_ms)
    }
    /// Time allowed between handshake and sign-on.
    pub fn sign_on_timeout(&self) -> Duration {
        Duration::from_millis(self.sign_on_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_to_the_defaults() {
        let config = Config::default_config();
        assert_eq!(config.listen.port(), 7700);
        assert_eq!(config.limits.handshake_timeout(), Duration::from_secs(5));
        assert_eq!(config.limits.frame_timeout(), Duration::from_secs(10));
        assert_eq!(config.limits.idle_timeout(), Duration::from_secs(60));
        assert!(config.texts.guide.starts_with("Welcome"));
    }

    #[test]
    fn the_money_sections_have_their_defaults_and_a_file_without_them_still_loads() {
        let config = Config::default_config();
        assert_eq!(config.money.utc_offset_hours, 9);
        assert_eq!(config.money.delivery_bytes_max, 16 * 1024 * 1024);
        assert_eq!(config.credit.line_yen(PartyId::member(1).unwrap()), 300_000);
        let start = TEMPLATE.find("[money]").unwrap();
        let older = &TEMPLATE[..start];
        let config = Config::parse(older, "older").unwrap();
        assert_eq!(config.money.catalog_items_max, 1_000);
        assert_eq!(config.payouts.bank_code, "0001");
    }

    #[test]
    fn credit_lines_are_per_member_and_checked() {
        let text = TEMPLATE.replace("[credit.lines]\n", "[credit.lines]\nM00000002 = 0\nM00000003 = 900000\n");
        let config = Config::parse(&text, "test").unwrap();
        assert_eq!(config.credit.line_yen(PartyId::member(2).unwrap()), 0);
        assert_eq!(config.credit.line_yen(PartyId::member(3).unwrap()), 900_000);
        assert_eq!(config.credit.line_yen(PartyId::member(4).unwrap()), 300_000);
        let text = TEMPLATE.replace("[credit.lines]\n", "[credit.lines]\nS00000002 = 0\n");
        assert!(matches!(Config::parse(&text, "test"), Err(ConfigError::Range { key: "credit.lines", .. })));
        let text = TEMPLATE.replace("requester_name = \"DENBUN SETTLEMENT CENTER\"", "requester_name = \"電文\"");
        assert!(matches!(Config::parse(&text, "test"), Err(ConfigError::Range { key: "payouts.requester_name", .. })));
    }

    #[test]
    fn an_unknown_key_is_an_error_not_a_default() {
        let text = TEMPLATE.replace("connections_max = 1024", "connection_max = 1024");
        assert!(matches!(Config::parse(&text, "test"), Err(ConfigError::Parse { .. })));
    }

    #[test]
    fn a_value_out_of_range_names_its_key() {
        let text = TEMPLATE.replace("activation_attempts_max = 5", "activation_attempts_max = 0");
        match Config::parse(&text, "test") {
            Err(ConfigError::Range { key, .. }) => assert_eq!(key, "limits.activation_attempts_max"),
            other => panic!("expected a range error, got {other:?}"),
        }
    }
}
