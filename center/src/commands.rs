//! The operator's money commands: funds, payouts, inquiries and the day's
//! report, each one signed operator telegram to the running center, with its
//! answer rendered as text for a person.
//!
//! `denbun-center` parses them (clap) and the console reuses the rendering.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use denbun_protocol::header::{MemberNumber, StoreNumber};
use denbun_protocol::telegram::Body;
use denbun_protocol::telegram::inquiry::{
    AccountState, CardRows, Inquiry, InquiryAnswer, MemberDetail, ReportRequest, Search, StoreDetail,
    TransactionDetail, TransactionState,
};
use denbun_protocol::telegram::operator::{
    ExportFormat, FundsAnswer, FundsConfirmation, FundsRejection, FundsRequest, PageRequest, PayoutApproval,
    PayoutExecution, PayoutExport, PayoutsAnswer, PayoutsRequest, PendingClaimRow, PendingFundsRow,
};
use denbun_protocol::telegram::payout::AscendingNumbers;
use denbun_protocol::telegram::registration::AccountType;
use denbun_protocol::telegram::statement::DateRange;
use denbun_protocol::wire::{Amount, Date, Text, group_thousands};

use crate::mail::format_utc;
use crate::operator::{Operator, OperatorError};

/// Pages an operator command reads at most (every loop is bounded).
const PAGES_MAX: u16 = 1_000;
/// Pieces of a transfer file read at most.
const EXPORT_PIECES_MAX: usize = 10_000;

/// `denbun-center funds …`
#[derive(Debug, Subcommand)]
pub enum FundsCommand {
    /// Top-ups waiting for bank, post-office or registered-mail money.
    Pending,
    /// The money for REFERENCE arrived: issue a card of the amount received.
    Confirm {
        /// The transfer reference the member was given (any case, dashes optional).
        reference: String,
        /// Yen received (a different amount from the request issues what arrived).
        #[arg(long)]
        amount: u64,
    },
    /// Refuse REFERENCE (the money never came, or was returned).
    Reject {
        /// The transfer reference.
        reference: String,
        /// Why, for the record.
        #[arg(long)]
        reason: String,
    },
}

/// File formats of a payout batch.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArgument {
    /// Zengin fixed-length records for the bank.
    Zengin,
    /// CSV for people.
    Csv,
}

/// `denbun-center payouts …`
#[derive(Debug, Subcommand)]
pub enum PayoutsCommand {
    /// Payment claims waiting for approval.
    Pending,
    /// Approve claims into one payout batch (one transfer per store).
    Approve {
        /// Claim numbers; with --all, every pending claim.
        claims: Vec<u64>,
        /// Approve every pending claim.
        #[arg(long, conflicts_with = "claims")]
        all: bool,
    },
    /// Write a batch's transfer file.
    Export {
        /// The batch number.
        batch: u64,
        /// Zengin (for the bank) or CSV.
        #[arg(long, value_enum, default_value = "zengin")]
        format: FormatArgument,
        /// Where to write it (default: batch-NNNNNN.zengin or .csv here).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// The bank executed the batch: move payables to paid out, notify the stores.
    Executed {
        /// The batch number.
        batch: u64,
        /// The day the bank executed it (YYYY-MM-DD).
        #[arg(long)]
        on: String,
    },
}

/// `denbun-center members …` and `stores …`
#[derive(Debug, Subcommand)]
pub enum PartyCommand {
    /// Search by name, trade name or address (every word must match).
    Search {
        /// Words to look for (none: everyone).
        words: Vec<String>,
        /// Page, from 0.
        #[arg(long, default_value_t = 0)]
        page: u16,
    },
    /// One member or store in full.
    Show {
        /// The number, e.g. M00000001 or S00000001.
        number: String,
    },
}

/// `denbun-center transactions …`
#[derive(Debug, Subcommand)]
pub enum TransactionsCommand {
    /// One purchase in full.
    Show {
        /// The transaction number.
        number: u64,
    },
}

/// A command failed: the message says what and what to do.
pub type CommandResult = Result<String, String>;

fn refused(error: OperatorError) -> String {
    error.to_string()
}

fn unexpected(body: &Body) -> String {
    format!("the center answered with telegram {}, which this command does not expect", body.code())
}

/// An account's state in words, as the commands and the console print it.
pub fn account_state_word(state: AccountState) -> &'static str {
    match state {
        AccountState::Applied => "applied",
        AccountState::Active => "active",
        AccountState::Frozen => "FROZEN",
        AccountState::Closed => "closed",
    }
}

/// A purchase's state in words.
pub fn transaction_state_word(state: TransactionState) -> &'static str {
    match state {
        TransactionState::Paid => "paid",
        TransactionState::Delivered => "delivered",
        TransactionState::Claimed => "claimed",
        TransactionState::PaidOut => "paid out",
        TransactionState::Refunded => "refunded",
    }
}

/// A bank account's type in words.
pub fn account_type_word(account_type: AccountType) -> &'static str {
    match account_type {
        AccountType::Ordinary => "ordinary",
        AccountType::Current => "current",
        AccountType::Savings => "savings",
    }
}

/// An amount for people: `12,345 yen`.
pub fn yen(value: u64) -> String {
    format!("{} yen", group_thousands(value))
}

fn date(text: &str, what: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| format!("{what} `{text}` is not a date YYYY-MM-DD"))
}

/// Runs a funds command.
pub async fn funds(operator: &mut Operator, command: &FundsCommand) -> CommandResult {
    match command {
        FundsCommand::Pending => {
            let mut text = String::new();
            let mut rows = 0usize;
            for page in 0..PAGES_MAX {
                let answer = operator.request(FundsRequest::Pending(PageRequest { page })).await.map_err(refused)?;
                let Body::FundsAnswer(FundsAnswer::Pending(listing)) = answer.body() else {
                    return Err(unexpected(answer.body()));
                };
                for row in listing.rows.iter() {
                    rows += 1;
                    let _ = writeln!(text, "{}", render_pending_funds(row));
                }
                if page + 1 >= listing.page_count {
                    break;
                }
            }
            if rows == 0 {
                text.push_str("No top-up is waiting for money.\n");
            }
            Ok(text)
        }
        FundsCommand::Confirm { reference, amount } => {
            let amount_received =
                Amount::new(*amount).map_err(|_| format!("--amount {amount} is not an amount of yen above 0"))?;
            let reference = Text::new(reference.as_str()).map_err(|_| "the reference is too long".to_owned())?;
            let answer = operator
                .request(FundsRequest::Confirm(FundsConfirmation { reference, amount_received }))
                .await
                .map_err(refused)?;
            match answer.body() {
                Body::FundsAnswer(FundsAnswer::Confirmed(confirmed)) => Ok(format!(
                    "Confirmed {}: card {} of {} issued to {}.\n",
                    confirmed.reference.as_str(),
                    confirmed.card.card_number,
                    yen(confirmed.card.face_value.get()),
                    confirmed.member
                )),
                other => Err(unexpected(other)),
            }
        }
        FundsCommand::Reject { reference, reason } => {
            let reference = Text::new(reference.as_str()).map_err(|_| "the reference is too long".to_owned())?;
            let reason = Text::truncated(reason);
            let answer =
                operator.request(FundsRequest::Reject(FundsRejection { reference, reason })).await.map_err(refused)?;
            match answer.body() {
                Body::FundsAnswer(FundsAnswer::Rejected(rejected)) => {
                    Ok(format!("Rejected {} of {}.\n", rejected.reference.as_str(), rejected.member))
                }
                other => Err(unexpected(other)),
            }
        }
    }
}

async fn pending_claims(operator: &mut Operator) -> Result<Vec<PendingClaimRow>, String> {
    let mut claims = Vec::new();
    for page in 0..PAGES_MAX {
        let answer = operator.request(PayoutsRequest::Pending(PageRequest { page })).await.map_err(refused)?;
        let Body::PayoutsAnswer(PayoutsAnswer::Pending(listing)) = answer.body() else {
            return Err(unexpected(answer.body()));
        };
        claims.extend(listing.rows.iter().cloned());
        if page + 1 >= listing.page_count {
            break;
        }
    }
    Ok(claims)
}

/// Runs a payouts command.
pub async fn payouts(operator: &mut Operator, command: &PayoutsCommand) -> CommandResult {
    match command {
        PayoutsCommand::Pending => {
            let claims = pending_claims(operator).await?;
            if claims.is_empty() {
                return Ok("No payment claim is waiting.\n".to_owned());
            }
            let mut text = String::new();
            let mut total = 0u64;
            for claim in &claims {
                total += claim.amount.get();
                let _ = writeln!(text, "{}", render_claim(claim));
            }
            let _ = writeln!(text, "{} claims, {} in all.", claims.len(), yen(total));
            Ok(text)
        }
        PayoutsCommand::Approve { claims, all } => {
            let numbers = if *all {
                pending_claims(operator).await?.iter().map(|claim| claim.claim_number).collect()
            } else {
                claims.clone()
            };
            if numbers.is_empty() {
                return Err("no claims to approve: name them, or use --all".to_owned());
            }
            let claim_numbers = AscendingNumbers::new(numbers)
                .ok_or_else(|| "too many claims for one batch, or a claim named twice".to_owned())?;
            let answer =
                operator.request(PayoutsRequest::Approve(PayoutApproval { claim_numbers })).await.map_err(refused)?;
            match answer.body() {
                Body::PayoutsAnswer(PayoutsAnswer::Approved(batch)) => Ok(format!(
                    "Approved batch {}: {} claims, {} transfers, {}.\nExport it with: denbun-center payouts export {}\n",
                    batch.batch_number,
                    batch.claims,
                    batch.stores,
                    yen(batch.total.get()),
                    batch.batch_number
                )),
                other => Err(unexpected(other)),
            }
        }
        PayoutsCommand::Export { batch, format, output } => {
            let (format, extension) = match format {
                FormatArgument::Zengin => (ExportFormat::Zengin, "zengin"),
                FormatArgument::Csv => (ExportFormat::Csv, "csv"),
            };
            let mut file = Vec::new();
            for _ in 0..EXPORT_PIECES_MAX {
                let request = PayoutExport { batch_number: *batch, format, offset: file.len() as u64 };
                let answer = operator.request(PayoutsRequest::Export(request)).await.map_err(refused)?;
                let Body::PayoutsAnswer(PayoutsAnswer::Export(piece)) = answer.body() else {
                    return Err(unexpected(answer.body()));
                };
                if piece.offset != file.len() as u64
                    || piece.data.as_slice().is_empty() && (file.len() as u64) < piece.file_bytes
                {
                    return Err("the center sent a piece of the file out of order; run the export again".to_owned());
                }
                file.extend_from_slice(piece.data.as_slice());
                if file.len() as u64 >= piece.file_bytes {
                    break;
                }
            }
            let path = output.clone().unwrap_or_else(|| PathBuf::from(format!("batch-{batch:06}.{extension}")));
            std::fs::write(&path, &file).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
            Ok(format!("Wrote {} ({} bytes).\n", path.display(), file.len()))
        }
        PayoutsCommand::Executed { batch, on } => {
            let executed_on = date(on, "--on")?;
            let answer = operator
                .request(PayoutsRequest::Executed(PayoutExecution { batch_number: *batch, executed_on }))
                .await
                .map_err(refused)?;
            match answer.body() {
                Body::PayoutsAnswer(PayoutsAnswer::Executed(summary)) => Ok(format!(
                    "Batch {} executed on {executed_on}: {} paid out to {} stores; they are notified.\n",
                    summary.batch_number,
                    yen(summary.total.get()),
                    summary.stores
                )),
                other => Err(unexpected(other)),
            }
        }
    }
}

async fn inquiry(operator: &mut Operator, inquiry: Inquiry) -> Result<InquiryAnswer, String> {
    let answer = operator.request(inquiry).await.map_err(refused)?;
    match answer.into_telegram().into_body() {
        Body::InquiryAnswer(answer) => Ok(answer),
        other => Err(unexpected(&other)),
    }
}

fn search(words: &[String], page: u16) -> Result<Search, String> {
    Ok(Search { text: Text::new(words.join(" ")).map_err(|_| "the search words are too long".to_owned())?, page })
}

/// Runs a members command.
pub async fn members(operator: &mut Operator, command: &PartyCommand) -> CommandResult {
    match command {
        PartyCommand::Search { words, page } => {
            match inquiry(operator, Inquiry::SearchMembers(search(words, *page)?)).await? {
                InquiryAnswer::Members(rows) => {
                    let mut text = String::new();
                    for row in rows.rows.iter() {
                        let _ = writeln!(
                            text,
                            "{}  {:<32} {:<10} {:>14}",
                            row.member,
                            row.name.as_str(),
                            account_state_word(row.state),
                            yen(row.balance.get())
                        );
                    }
                    let _ = writeln!(text, "page {} of {}", rows.page + 1, rows.page_count.max(1));
                    Ok(text)
                }
                other => Err(format!("unexpected answer {other:?}")),
            }
        }
        PartyCommand::Show { number } => {
            let member: MemberNumber = number
                .parse::<denbun_protocol::header::PartyId>()
                .ok()
                .and_then(|party| MemberNumber::try_from(party).ok())
                .ok_or_else(|| format!("`{number}` is not a member number such as M00000001"))?;
            let detail = match inquiry(operator, Inquiry::Member(member)).await? {
                InquiryAnswer::Member(detail) => detail,
                other => return Err(format!("unexpected answer {other:?}")),
            };
            let mut text = render_member(&detail);
            if let InquiryAnswer::Cards(cards) = inquiry(operator, Inquiry::Cards(member)).await? {
                text.push_str(&render_cards(&cards));
            }
            Ok(text)
        }
    }
}

/// One top-up waiting for money, on one line.
pub fn render_pending_funds(row: &PendingFundsRow) -> String {
    format!(
        "{:<16} {}  {:<22} {:>14}  asked {}",
        row.reference.as_str(),
        row.member,
        crate::ledger::cards::channel_name(row.channel),
        yen(row.amount.get()),
        format_utc(row.requested_at_ms)
    )
}

/// One payment claim waiting for approval, on one line: 75 columns, so
/// that the console's mark before it still leaves the time whole at 80.
pub fn render_claim(claim: &PendingClaimRow) -> String {
    format!(
        "claim {:>6} {} {:>13} {:>3} {:<9} claimed {}",
        claim.claim_number,
        claim.store,
        yen(claim.amount.get()),
        claim.transactions,
        if claim.transactions == 1 { "purchase" } else { "purchases" },
        format_utc(claim.claimed_at_ms)
    )
}

/// A member's cards, one line each.
pub fn render_cards(cards: &CardRows) -> String {
    let mut text = String::new();
    for card in cards.rows.iter() {
        let _ = writeln!(
            text,
            "  card {:>8}  face {:>12}  left {:>12}  {}, issued {}",
            card.card_number,
            yen(card.face_value.get()),
            yen(card.remaining.get()),
            crate::ledger::cards::channel_name(card.channel),
            format_utc(card.issued_at_ms)
        );
    }
    text
}

/// One member in full, as `members show` prints it.
pub fn render_member(detail: &MemberDetail) -> String {
    format!(
        "{}  {}\n  address   {}\n  born      {}\n  state     {}\n  balance   {}\n  cards     {}\n  purchases {}\n  key       {}\n",
        detail.member,
        detail.personal.name.as_str(),
        detail.personal.address.as_str(),
        detail.personal.date_of_birth,
        account_state_word(detail.state),
        yen(detail.balance.get()),
        detail.cards,
        detail.purchases,
        if detail.keys.is_some() { "registered" } else { "not registered" },
    )
}

/// One store in full, as `stores show` prints it.
pub fn render_store(detail: &StoreDetail) -> String {
    format!(
        "{}  {}\n  clerk     {}\n  address   {}\n  state     {}\n  payable   {}\n  paid out  {}\n  catalog   version {}\n  account   {}\n",
        detail.store,
        detail.trade_name.as_str(),
        detail.personal.name.as_str(),
        detail.personal.address.as_str(),
        account_state_word(detail.state),
        yen(detail.payable.get()),
        yen(detail.paid_out_yen),
        detail.catalog_version,
        match &detail.payout_account {
            Some(account) => format!(
                "bank {} branch {} {} {} ({})",
                account.bank_code,
                account.branch_code,
                account_type_word(account.account_type),
                account.account_number,
                account.holder_name.as_str()
            ),
            None => "none".to_owned(),
        },
    )
}

/// One purchase in full, as `transactions show` prints it.
pub fn render_transaction(detail: &TransactionDetail) -> String {
    let mut text = format!(
        "transaction {}  {} paid {} to {} (catalog version {})\n  state     {}\n  refunded  {}\n",
        detail.transaction_number,
        detail.member,
        yen(detail.total.get()),
        detail.store,
        detail.catalog_version,
        transaction_state_word(detail.state),
        yen(detail.refunded.get()),
    );
    for line in detail.lines.iter() {
        let _ = writeln!(text, "  item {:>6} × {:<4} at {}", line.item_id, line.quantity, yen(line.unit_price.get()));
    }
    text
}

/// Runs a stores command.
pub async fn stores(operator: &mut Operator, command: &PartyCommand) -> CommandResult {
    match command {
        PartyCommand::Search { words, page } => {
            match inquiry(operator, Inquiry::SearchStores(search(words, *page)?)).await? {
                InquiryAnswer::Stores(rows) => {
                    let mut text = String::new();
                    for row in rows.rows.iter() {
                        let _ = writeln!(
                            text,
                            "{}  {:<32} {:<10} payable {:>14}",
                            row.store,
                            row.trade_name.as_str(),
                            account_state_word(row.state),
                            yen(row.payable.get())
                        );
                    }
                    let _ = writeln!(text, "page {} of {}", rows.page + 1, rows.page_count.max(1));
                    Ok(text)
                }
                other => Err(format!("unexpected answer {other:?}")),
            }
        }
        PartyCommand::Show { number } => {
            let store: StoreNumber = number
                .parse::<denbun_protocol::header::PartyId>()
                .ok()
                .and_then(|party| StoreNumber::try_from(party).ok())
                .ok_or_else(|| format!("`{number}` is not a store number such as S00000001"))?;
            match inquiry(operator, Inquiry::Store(store)).await? {
                InquiryAnswer::Store(detail) => Ok(render_store(&detail)),
                other => Err(format!("unexpected answer {other:?}")),
            }
        }
    }
}

/// Runs a transactions command.
pub async fn transactions(operator: &mut Operator, command: &TransactionsCommand) -> CommandResult {
    let TransactionsCommand::Show { number } = command;
    match inquiry(operator, Inquiry::Transaction(*number)).await? {
        InquiryAnswer::Transaction(detail) => Ok(render_transaction(&detail)),
        other => Err(format!("unexpected answer {other:?}")),
    }
}

/// The report for `day` (through `to`, when given), as the center renders it.
pub async fn report(operator: &mut Operator, day: &str, to: Option<&str>) -> Result<(String, bool), String> {
    let from = date(day, "--day")?;
    let to = match to {
        Some(to) => date(to, "--to")?,
        None => from,
    };
    let range = DateRange::new(from, to).ok_or_else(|| "--to is before --day".to_owned())?;
    let answer = operator.request(ReportRequest { range }).await.map_err(refused)?;
    match answer.body() {
        Body::Report(report) => Ok((crate::flows::report::render(report), crate::flows::report::reconciles(report))),
        other => Err(unexpected(other)),
    }
}
