//! The money verbs: `topup`, `catalog`, `pay`, `deliver`, `download`,
//! `claim`, `refund`, `statement` and `notices`. Each opens the key file
//! with password A and the signature key with password B, sends whatever
//! still waits in the outbox first (in order: later telegrams may depend on
//! it), then does its one thing through [`crate::money`]. Telegrams that
//! change something go through the outbox, so a crash between signing and
//! the answer loses nothing: `denbun send` sends them again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use denbun_protocol::header::{PartyId, PartyKind, StoreNumber};
use denbun_protocol::limits::CLAIM_ORDERS_MAX;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{
    CardAnswer, CatalogPage, DateRange, EntryKind, FundingChannel, ItemKind, Statement, StoreList, Telegram,
};
use denbun_protocol::wire::{Amount, Date, group_thousands};
use ed25519_dalek::SigningKey;
use tokio::runtime::Runtime;

use super::input::{self, Which};
use super::{CliError, Context};
use crate::money::notices::{self, GoodsKind, Handover};
use crate::money::transfer::{Download, Upload, hex};
use crate::money::{self, MoneyError, Wanted};
use crate::services::explain_rejection;
use crate::session::{Completed, Session, SubmitError, date_of_unix_ms, run_outbox};
use crate::vault::UnlockedVault;

/// Times a transfer connects again after a dropped line before giving up.
pub const RECONNECTS_MAX: u32 = 5;
/// The first wait before connecting again; it doubles each time.
pub const RECONNECT_DELAY_FIRST: Duration = Duration::from_millis(500);
/// How long signing off may take at the end of a verb.
const SIGN_OFF_TIMEOUT: Duration = Duration::from_secs(3);
/// The store's list of purchases already in a claim, in the profile.
pub const CLAIMED_FILE_NAME: &str = "claimed.txt";
/// Largest list of claimed purchases read (20 digits and a line break each).
const CLAIMED_FILE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// How the money for a top-up comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Channel {
    /// The credit company: the card is issued at once.
    Credit,
    /// Bank transfer: issued when the center sees the money.
    Bank,
    /// Post-office transfer: issued when the center sees the money.
    PostOffice,
    /// Cash by registered mail: issued when the center receives it.
    RegisteredMail,
}

impl From<Channel> for FundingChannel {
    fn from(channel: Channel) -> FundingChannel {
        match channel {
            Channel::Credit => FundingChannel::CreditCompany,
            Channel::Bank => FundingChannel::BankTransfer,
            Channel::PostOffice => FundingChannel::PostOfficeTransfer,
            Channel::RegisteredMail => FundingChannel::RegisteredMailCash,
        }
    }
}

/// Reads yen: digits, optionally grouped with commas (`10,000`).
pub fn parse_amount(text: &str) -> Result<Amount, String> {
    let digits = text.trim().replace(',', "");
    let yen: u64 = digits.parse().map_err(|_| format!("`{text}` is not a number of yen, e.g. 10000 or 10,000"))?;
    Amount::new(yen).map_err(|_| format!("`{text}`: an amount is at least 1 yen and at most 1,000,000,000,000 yen"))
}

/// Reads a store number, `S00000001`.
pub fn parse_store(text: &str) -> Result<StoreNumber, String> {
    let party: PartyId = text.trim().parse().map_err(|_| format!("`{text}` is not a store number, e.g. S00000001"))?;
    StoreNumber::try_from(party).map_err(|_| format!("`{text}` is not a store number, e.g. S00000001"))
}

/// Reads a transaction number (never 0).
pub fn parse_transaction(text: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|number| *number != 0)
        .ok_or_else(|| format!("`{text}` is not a transaction number (a number from 1, as printed when paying)"))
}

/// Reads a day, `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text.trim()).ok_or_else(|| format!("`{text}` is not a date written YYYY-MM-DD, e.g. 2025-03-07"))
}

/// `denbun topup`.
#[derive(Debug, Args)]
pub struct TopUpArgs {
    /// Face value of the card in yen.
    #[arg(long, value_name = "YEN", value_parser = parse_amount)]
    pub amount: Amount,
    /// How you pay for it.
    #[arg(long, value_enum)]
    pub channel: Channel,
}

/// `denbun catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Show this store's catalog (without it: the list of stores).
    #[arg(long, value_name = "S00000001", value_parser = parse_store)]
    pub store: Option<StoreNumber>,
    /// Only items with every one of these words in their title or description.
    #[arg(long, value_name = "TEXT", requires = "store")]
    pub search: Option<String>,
    /// Which page, from 1.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub page: u16,
}

/// `denbun pay`.
#[derive(Debug, Args)]
pub struct PayArgs {
    /// The store to pay.
    #[arg(long, value_name = "S00000001", value_parser = parse_store)]
    pub store: StoreNumber,
    /// An item to buy, `ID` or `ID:QUANTITY`; repeat for more items.
    #[arg(long = "item", value_name = "ID[:QTY]", required = true, num_args = 1..)]
    pub items: Vec<Wanted>,
    /// The catalog version you looked at: refused if the store has published another since.
    #[arg(long, value_name = "V")]
    pub catalog_version: Option<u32>,
    /// The purchase's transaction number [default: a random one].
    #[arg(long, value_name = "T", value_parser = parse_transaction)]
    pub transaction_number: Option<u64>,
    /// Pay without asking (asked only when someone is at the keyboard).
    #[arg(long)]
    pub yes: bool,
}

/// `denbun deliver`.
#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// The purchase, as in its payment notice.
    #[arg(long, value_name = "T", value_parser = parse_transaction)]
    pub transaction: u64,
    /// A digital item's file: sealed to the member and uploaded through the center.
    #[arg(long, value_name = "PATH", required_unless_present = "carrier", conflicts_with_all = ["carrier", "tracking"])]
    pub file: Option<PathBuf>,
    /// Which item of the purchase the file is [default: its only digital item].
    #[arg(long, value_name = "ID", requires = "file", conflicts_with_all = ["carrier", "tracking"])]
    pub item: Option<u32>,
    /// Mail order: the carrier the goods were handed to.
    #[arg(long, value_name = "C", requires = "tracking")]
    pub carrier: Option<String>,
    /// Mail order: the tracking number or text.
    #[arg(long, value_name = "X", requires = "carrier")]
    pub tracking: Option<String>,
}

/// `denbun download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The purchase.
    #[arg(long, value_name = "T", value_parser = parse_transaction)]
    pub transaction: u64,
    /// Where to save the item (fetching goes into PATH.part until it is checked).
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// Which digital item of the purchase [default: the only one ready].
    #[arg(long, value_name = "ID")]
    pub item: Option<u32>,
}

/// `denbun claim`.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// A purchase to claim; repeat for more [default: every delivered purchase not claimed yet].
    #[arg(long = "transaction", value_name = "T", value_parser = parse_transaction)]
    pub transactions: Vec<u64>,
}

/// `denbun refund`.
#[derive(Debug, Args)]
pub struct RefundArgs {
    /// The purchase.
    #[arg(long, value_name = "T", value_parser = parse_transaction)]
    pub transaction: u64,
    /// How much to give back now, in yen (refunds of a purchase add up to at most what was paid).
    #[arg(long, value_name = "YEN", value_parser = parse_amount)]
    pub amount: Amount,
    /// Why, for the member to read.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// `denbun statement`.
#[derive(Debug, Args)]
pub struct StatementArgs {
    /// The first day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub from: Date,
    /// The last day (included).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub to: Date,
}

/// The key file, the signature key and a line to the center.
pub(super) struct Signed {
    pub vault: UnlockedVault,
    pub key: SigningKey,
    pub session: Session,
    signed_on: bool,
}

/// Opens the key file (A) and the signature key (B) of a party of `kind`
/// (any member or store when `None`), connects, and sends what waits in
/// the outbox.
pub(super) fn open(context: &Context, runtime: &Runtime, kind: Option<PartyKind>) -> Result<Signed, CliError> {
    let vault = super::account::open_vault(context)?;
    let party = vault.profile().party;
    let wrong = match kind {
        Some(kind) => party.kind() != kind,
        None => !matches!(party.kind(), PartyKind::Member | PartyKind::Store),
    };
    if wrong {
        let who = match kind {
            Some(PartyKind::Member) => "a member (buyer)",
            Some(PartyKind::Store) => "a store",
            _ => "a member or a store",
        };
        return Err(CliError::Usage(format!(
            "This is for {who}, but the key file in {} is {party}'s. Pass --profile DIR with the right key file.",
            context.profile.display()
        )));
    }
    let password_b = input::password(Which::B)?;
    eprintln!("Opening the signature key...");
    let key = vault.signing_key(&password_b)?.signing_key().clone();
    drop(password_b);
    let session = context.connect(runtime, vault.center())?;
    let mut signed = Signed { vault, key, session, signed_on: false };
    signed.send_waiting(runtime)?;
    Ok(signed)
}

impl Signed {
    /// Sends the telegrams still waiting in the outbox, in order; a new one
    /// is signed only once none is stuck.
    fn send_waiting(&mut self, runtime: &Runtime) -> Result<(), CliError> {
        if self.vault.outbox().is_empty() {
            return Ok(());
        }
        eprintln!("Sending {} telegram(s) waiting in the outbox first...", self.vault.outbox().len());
        let report = runtime.block_on(run_outbox(&mut self.vault, &self.session))?;
        for completed in &report.completed {
            match completed {
                Completed::Answered { processing_number, answer } => {
                    eprintln!("  {processing_number}: answered ({}).", answer.body().code().name());
                }
                Completed::Refused { processing_number, rejection } => {
                    eprintln!("  {processing_number}: {rejection} Removed from the outbox.");
                }
            }
        }
        match report.stopped {
            Some(error) => Err(CliError::Failed(format!(
                "{error} {} telegram(s) still wait in the outbox, so nothing new was signed; try again later.",
                report.waiting
            ))),
            None => Ok(()),
        }
    }

    /// Signs on (notices flow only to a signed-on session; statements need it).
    fn sign_on(&mut self, runtime: &Runtime) -> Result<(), CliError> {
        let number = self.vault.allocate_processing_number()?;
        let party = self.vault.profile().party;
        runtime.block_on(self.session.sign_on(&self.key, party, number))?;
        self.signed_on = true;
        Ok(())
    }

    /// Signs on, keeps every waiting notice in the history and acknowledges
    /// them; later notices stay in the mailbox for the next run.
    fn collect(&mut self, runtime: &Runtime) -> Result<Vec<Telegram>, CliError> {
        if !self.signed_on {
            self.sign_on(runtime)?;
        }
        let collected = runtime.block_on(notices::collect_notices(&mut self.vault, &self.session));
        let collected = collected.map_err(|error| failed(error, "fetching your notices"))?;
        runtime.block_on(self.session.ignore_notices())?;
        Ok(collected)
    }

    /// Connects again after a dropped line.
    fn reconnect(&mut self, context: &Context, runtime: &Runtime, attempt: u32) -> Result<(), CliError> {
        let delay = RECONNECT_DELAY_FIRST * 2u32.saturating_pow(attempt.min(6));
        std::thread::sleep(delay);
        self.session = context.connect(runtime, self.vault.center())?;
        self.signed_on = false;
        Ok(())
    }

    /// Signs off if signed on (best effort: the line closes either way).
    fn close(mut self, runtime: &Runtime) {
        if self.signed_on
            && let Ok(number) = self.vault.allocate_processing_number()
        {
            // The deadline is made inside the runtime, which owns the timers.
            let session = &self.session;
            let _ = runtime.block_on(async { tokio::time::timeout(SIGN_OFF_TIMEOUT, session.sign_off(number)).await });
        }
    }
}

/// A failed money call in the words of the person at the terminal; `what`
/// names the action ("the payment").
pub(super) fn failed(error: MoneyError, what: &str) -> CliError {
    match &error {
        MoneyError::Submit(SubmitError::Refused { rejection, .. }) => {
            CliError::Failed(explain_rejection(rejection, what))
        }
        MoneyError::Submit(SubmitError::NotAnswered { .. }) => {
            CliError::Failed(format!("{error} `denbun send` sends it again; the center applies it only once."))
        }
        MoneyError::Session(session) => match session.rejection() {
            Some(rejection) => CliError::Failed(explain_rejection(rejection, what)),
            None => CliError::Failed(error.to_string()),
        },
        _ => CliError::Failed(error.to_string()),
    }
}

fn yen(value: u64) -> String {
    format!("{} yen", group_thousands(value))
}

/// `denbun topup`.
pub(super) fn top_up(context: &Context, runtime: &Runtime, arguments: &TopUpArgs) -> Result<(), CliError> {
    let mut signed = open(context, runtime, Some(PartyKind::Member))?;
    let channel = FundingChannel::from(arguments.channel);
    let answer = runtime
        .block_on(money::top_up(&mut signed.vault, &signed.session, &signed.key, arguments.amount, channel))
        .map_err(|error| failed(error, "the top-up"))?;
    print!("{}", card_answer_text(&answer));
    signed.close(runtime);
    Ok(())
}

/// What a card answer says, for people.
pub fn card_answer_text(answer: &CardAnswer) -> String {
    match answer {
        CardAnswer::Issued(issued) => format!(
            "Prepaid card {} issued: {} from the credit company.\nYour balance is now {}.\n",
            issued.card.card_number,
            yen(issued.card.face_value.get()),
            yen(issued.balance.get())
        ),
        CardAnswer::Pending(pending) => format!(
            "Your prepaid card of {} waits for the money.\nTransfer reference: {}\n{}\nThe card is issued when the \
             center confirms that the money arrived; `denbun notices` shows it then.\n",
            yen(pending.amount.get()),
            pending.reference,
            pending.instructions
        ),
    }
}

/// `denbun catalog`.
pub(super) fn catalog(context: &Context, runtime: &Runtime, arguments: &CatalogArgs) -> Result<(), CliError> {
    let mut signed = open(context, runtime, None)?;
    let page = arguments.page - 1;
    let text = match arguments.store {
        None => {
            let list = runtime
                .block_on(money::store_list(&mut signed.vault, &signed.session, &signed.key, page))
                .map_err(|error| failed(error, "the store list"))?;
            store_list_text(&list)
        }
        Some(store) => {
            let search = arguments.search.as_deref().unwrap_or("");
            let catalog = runtime
                .block_on(money::catalog_page(&mut signed.vault, &signed.session, &signed.key, store, search, page))
                .map_err(|error| failed(error, "the catalog"))?;
            catalog_page_text(&catalog, search)
        }
    };
    print!("{text}");
    signed.close(runtime);
    Ok(())
}

/// A page of the store list as a table.
pub fn store_list_text(list: &StoreList) -> String {
    if list.stores.is_empty() {
        return format!("No stores on page {} (there are {} page(s)).\n", list.page + 1, list.page_count);
    }
    let name_width = list.stores.iter().map(|store| store.trade_name.chars().count()).max().unwrap_or(0).max(10);
    let mut text = format!("Stores, page {} of {}:\n", list.page + 1, list.page_count);
    text.push_str(&format!("{:<9}  {:<name_width$}  {:>7}  {:>5}\n", "Store", "Trade name", "Catalog", "Items"));
    for store in list.stores.iter() {
        let version = if store.catalog_version == 0 { "-".to_owned() } else { format!("v{}", store.catalog_version) };
        text.push_str(&format!(
            "{:<9}  {:<name_width$}  {version:>7}  {:>5}\n",
            store.store.to_string(),
            store.trade_name.as_str(),
            store.item_count
        ));
    }
    text.push_str("A store's catalog: denbun catalog --store S00000001\n");
    text
}

/// A kind of goods in words (with a digital item's size).
fn kind_words(kind: &ItemKind) -> String {
    match kind {
        ItemKind::MailOrder => "mail order".to_owned(),
        ItemKind::Digital(content) => format!("digital, {} bytes", group_thousands(content.content_bytes.get())),
        ItemKind::Service => "service".to_owned(),
    }
}

/// A catalog page as a table, each item's description on the line below.
pub fn catalog_page_text(page: &CatalogPage, search: &str) -> String {
    let searched = if search.trim().is_empty() { String::new() } else { format!(", items with \"{}\"", search.trim()) };
    let mut text = format!(
        "{} catalog version {}{searched}, page {} of {}:\n",
        page.store,
        page.catalog_version,
        page.page + 1,
        page.page_count
    );
    if page.items.is_empty() {
        text.push_str("No items here.\n");
        return text;
    }
    let title_width = page.items.iter().map(|item| item.title.chars().count()).max().unwrap_or(0).max(5);
    text.push_str(&format!("{:>6}  {:<title_width$}  {:>15}  Kind\n", "Item", "Title", "Price"));
    for item in page.items.iter() {
        text.push_str(&format!(
            "{:>6}  {:<title_width$}  {:>15}  {}\n",
            item.item_id,
            item.title.as_str(),
            yen(item.price.get()),
            kind_words(&item.kind)
        ));
        let description: String = item.description.split_whitespace().collect::<Vec<_>>().join(" ");
        if !description.is_empty() {
            let shown: String = description.chars().take(100).collect();
            let more = if shown.len() < description.len() { "..." } else { "" };
            text.push_str(&format!("{:>6}  {shown}{more}\n", ""));
        }
    }
    text.push_str(&format!(
        "Pay: denbun pay --store {} --item ID[:QTY] ... --catalog-version {}\n",
        page.store, page.catalog_version
    ));
    text
}

/// `denbun pay`.
pub(super) fn pay(context: &Context, runtime: &Runtime, arguments: &PayArgs) -> Result<(), CliError> {
    let mut signed = open(context, runtime, Some(PartyKind::Member))?;
    let store = arguments.store;
    eprintln!("Reading {store}'s catalog...");
    let catalog = runtime
        .block_on(money::whole_catalog(&mut signed.vault, &signed.session, &signed.key, store))
        .map_err(|error| failed(error, "the catalog"))?;
    if let Some(version) = arguments.catalog_version
        && version != catalog.version
    {
        return Err(CliError::Failed(format!(
            "{store}'s catalog is now version {}, not {version}: prices may have changed. Look again with `denbun \
             catalog --store {store}`, then pay. Nothing was signed.",
            catalog.version
        )));
    }
    let transaction_number = arguments.transaction_number.unwrap_or_else(money::random_transaction_number);
    let instruction = money::instruction(&catalog, &arguments.items, transaction_number)
        .map_err(|detail| CliError::Failed(format!("Cannot pay: {detail}. Nothing was signed.")))?;
    print!("{}", money::order_text(&catalog, &instruction));
    if !arguments.yes && input::is_interactive() && !input::confirm("Sign and send this payment?")? {
        println!("Not paid; nothing was signed.");
        return Ok(());
    }
    let total = instruction.total;
    let answer = runtime
        .block_on(money::pay(&mut signed.vault, &signed.session, &signed.key, instruction))
        .map_err(|error| failed(error, "the payment"))?;
    println!(
        "Paid {} to {store} (transaction {}). Your balance is now {}.",
        yen(total.get()),
        answer.transaction_number,
        yen(answer.balance.get())
    );
    println!("The center's signed answer is kept in your history.");
    signed.close(runtime);
    Ok(())
}

/// Progress of a transfer on stderr: one updating line at a terminal, a line
/// per tenth otherwise.
struct Progress {
    label: String,
    at_terminal: bool,
    shown_tenths: Option<u64>,
}

impl Progress {
    fn new(label: String) -> Progress {
        Progress { label, at_terminal: std::io::stderr().is_terminal(), shown_tenths: None }
    }

    fn show(&mut self, done: u64, total: u64) {
        let tenths = done.saturating_mul(10) / total.max(1);
        let percent = done.saturating_mul(100) / total.max(1);
        let line =
            format!("{}: {} of {} bytes ({percent}%)", self.label, group_thousands(done), group_thousands(total));
        let mut stderr = std::io::stderr();
        if self.at_terminal {
            let _ = write!(stderr, "\r{line}");
            if done >= total {
                let _ = writeln!(stderr);
            }
        } else if self.shown_tenths != Some(tenths) {
            let _ = writeln!(stderr, "{line}");
        }
        self.shown_tenths = Some(tenths);
        let _ = stderr.flush();
    }
}

/// The store's current catalog's kinds by item id (its own catalog).
fn own_catalog(signed: &mut Signed, runtime: &Runtime) -> Result<money::Catalog, CliError> {
    let store = StoreNumber::try_from(signed.vault.profile().party)
        .map_err(|_| CliError::Failed("This key file is not a store's.".to_owned()))?;
    runtime
        .block_on(money::whole_catalog(&mut signed.vault, &signed.session, &signed.key, store))
        .map_err(|error| failed(error, "your catalog"))
}

/// `denbun deliver`.
pub(super) fn deliver(context: &Context, runtime: &Runtime, arguments: &DeliverArgs) -> Result<(), CliError> {
    let mut signed = open(context, runtime, Some(PartyKind::Store))?;
    let transaction = arguments.transaction;
    signed.collect(runtime)?;
    let receipts = notices::receipts(&signed.vault, signed.vault.center());
    let Some(notice) = notices::payment_notice(&receipts, transaction) else {
        return Err(CliError::Failed(format!(
            "There is no payment notice for transaction {transaction} in your key file. Check the number: `denbun \
             notices` shows new sales, and `denbun history` the ones kept."
        )));
    };
    let (Some(carrier), Some(tracking)) = (&arguments.carrier, &arguments.tracking) else {
        let Some(file) = &arguments.file else {
            return Err(CliError::Usage("Give --file PATH, or --carrier C and --tracking X.".to_owned()));
        };
        return deliver_file(context, runtime, signed, &notice, arguments.item, file, &receipts);
    };
    let answer = runtime
        .block_on(money::ship(&mut signed.vault, &signed.session, &signed.key, transaction, carrier, tracking))
        .map_err(|error| failed(error, "the shipment"))?;
    println!(
        "The shipment of transaction {transaction} ({carrier}, {tracking}) is recorded; {} gets a shipment notice.",
        answer.member
    );
    signed.close(runtime);
    Ok(())
}

fn deliver_file(
    context: &Context,
    runtime: &Runtime,
    mut signed: Signed,
    notice: &denbun_protocol::telegram::PaymentNotice,
    item: Option<u32>,
    file: &Path,
    receipts: &[Telegram],
) -> Result<(), CliError> {
    let transaction = notice.transaction_number;
    let catalog = own_catalog(&mut signed, runtime)?;
    let item_ids: Vec<u32> = notice.lines.iter().map(|line| line.item_id).collect();
    let item_id = match item {
        Some(item_id) if item_ids.contains(&item_id) => item_id,
        Some(item_id) => {
            return Err(CliError::Failed(format!(
                "Purchase {transaction} has no item {item_id}; its items are {item_ids:?}."
            )));
        }
        None => {
            let digital: Vec<u32> = item_ids
                .iter()
                .copied()
                .filter(|id| catalog.item(*id).is_some_and(|item| matches!(item.kind, ItemKind::Digital(_))))
                .collect();
            match (item_ids.as_slice(), digital.as_slice()) {
                ([only], _) | (_, [only]) => *only,
                _ => {
                    return Err(CliError::Usage(format!(
                        "Purchase {transaction} has items {item_ids:?}: name the one this file is with --item ID."
                    )));
                }
            }
        }
    };
    match notices::item_handed_over(receipts, transaction, item_id) {
        Handover::Acknowledged => {
            println!(
                "{} already acknowledged item {item_id} of transaction {transaction}; nothing to do.",
                notice.member
            );
            signed.close(runtime);
            return Ok(());
        }
        Handover::Uploaded => {
            println!(
                "Item {item_id} of transaction {transaction} is already with the center and {} was told; nothing to \
                 do.",
                notice.member
            );
            signed.close(runtime);
            return Ok(());
        }
        Handover::None => {}
    }
    // The catalog's promise for this item, when the purchase is of the current version.
    let expected =
        catalog.item(item_id).filter(|_| catalog.version == notice.catalog_version).and_then(|item| match &item.kind {
            ItemKind::Digital(content) => Some(content.clone()),
            _ => None,
        });
    let mut upload =
        Upload::start(notice, item_id, file, expected.as_ref()).map_err(|error| failed(error, "the upload"))?;
    let mut progress = Progress::new(format!("Sealing and uploading item {item_id}"));
    for attempt in 0..=RECONNECTS_MAX {
        let result = runtime.block_on(
            upload.run(&mut signed.vault, &signed.session, &signed.key, |done, total| progress.show(done, total)),
        );
        match result {
            Ok(_) => break,
            Err(error) if error.is_line_failure() && attempt < RECONNECTS_MAX => {
                eprintln!("\nThe line dropped ({error}); connecting again to go on from what the center holds...");
                signed.reconnect(context, runtime, attempt)?;
            }
            Err(error) => {
                return Err(failed(error, "the upload"));
            }
        }
    }
    if !upload.is_complete() {
        return Err(CliError::Failed("The upload did not complete; run `denbun deliver` again.".to_owned()));
    }
    upload.keep_receipt(&mut signed.vault).map_err(|error| failed(error, "keeping the receipt"))?;
    println!(
        "Item {item_id} of transaction {transaction} is with the center ({} sealed bytes); {} is told it is ready.",
        group_thousands(upload.sealed_bytes()),
        notice.member
    );
    signed.close(runtime);
    Ok(())
}

/// `denbun download`.
pub(super) fn download(context: &Context, runtime: &Runtime, arguments: &DownloadArgs) -> Result<(), CliError> {
    let mut signed = open(context, runtime, Some(PartyKind::Member))?;
    let transaction = arguments.transaction;
    signed.collect(runtime)?;
    let receipts = notices::receipts(&signed.vault, signed.vault.center());
    let ready = notices::ready_notices(&receipts, transaction);
    let ready = match (arguments.item, ready.as_slice()) {
        (_, []) => {
            return Err(CliError::Failed(format!(
                "Nothing of transaction {transaction} is ready to download yet. The center sends a notice when the \
                 store has delivered it; try again later."
            )));
        }
        (Some(item_id), found) => found.iter().find(|ready| ready.item_id == item_id).cloned().ok_or_else(|| {
            CliError::Failed(format!("Item {item_id} of transaction {transaction} is not ready to download."))
        })?,
        (None, [only]) => only.clone(),
        (None, found) => {
            let items: Vec<u32> = found.iter().map(|ready| ready.item_id).collect();
            return Err(CliError::Usage(format!(
                "Transaction {transaction} has several items ready ({items:?}): name one with --item ID."
            )));
        }
    };
    let item_id = ready.item_id;
    let mut download = Download::open(&ready, &arguments.output).map_err(|error| failed(error, "the download"))?;
    let acknowledged_before = notices::delivery_receipt(&receipts, transaction, item_id);
    if acknowledged_before.is_some() && !download.is_complete() {
        return Err(CliError::Failed(format!(
            "You acknowledged item {item_id} of transaction {transaction} already, so the center no longer holds \
             it; `denbun history` shows the delivery receipt."
        )));
    }
    let mut progress = Progress::new(format!("Fetching and opening item {item_id}"));
    for attempt in 0..=RECONNECTS_MAX {
        let result = runtime.block_on(
            download.run(&mut signed.vault, &signed.session, &signed.key, |done, total| progress.show(done, total)),
        );
        match result {
            Ok(()) => break,
            Err(error) if error.is_line_failure() && attempt < RECONNECTS_MAX => {
                eprintln!("\nThe line dropped ({error}); connecting again to go on from the chunks already here...");
                signed.reconnect(context, runtime, attempt)?;
            }
            Err(error) => return Err(failed(error, "the download")),
        }
    }
    if !download.is_complete() {
        return Err(CliError::Failed(format!(
            "The download did not complete; run the same command again to go on from {}.",
            crate::money::transfer::part_path(&arguments.output).display()
        )));
    }
    let digest = download.finish().map_err(|error| failed(error, "the download"))?;
    let (receipt, telegram) = runtime
        .block_on(money::acknowledge(&mut signed.vault, &signed.session, &signed.key, transaction, item_id, digest))
        .map_err(|error| failed(error, "the acknowledgement"))?;
    println!("Saved to {}; its size and SHA-256 match the catalog.", arguments.output.display());
    print!("{}", receipt_text(&receipt, &telegram));
    signed.close(runtime);
    Ok(())
}

/// The center's delivery receipt, for people.
pub fn receipt_text(receipt: &denbun_protocol::telegram::DeliveryReceipt, telegram: &Telegram) -> String {
    let when = date_of_unix_ms(receipt.acknowledged_at_ms).map_or_else(|| "?".to_owned(), |date| date.to_string());
    format!(
        "Delivery receipt, signed by the center and kept in your history:\n  transaction {}, item {}, member {}, \
         store {}\n  SHA-256 {}\n  acknowledged on {when} (UTC)\n  signature {}\n",
        receipt.transaction_number,
        receipt.item_id,
        receipt.member,
        receipt.store,
        hex(&receipt.content_sha256),
        hex(telegram.signature())
    )
}

/// `denbun claim`.
pub(super) fn claim(context: &Context, runtime: &Runtime, arguments: &ClaimArgs) -> Result<(), CliError> {
    let mut signed = open(context, runtime, Some(PartyKind::Store))?;
    let claimed_file = context.profile.join(CLAIMED_FILE_NAME);
    let mut claimed = read_claimed(&claimed_file)?;
    let explicit = !arguments.transactions.is_empty();
    let wanted: Vec<u64> = if explicit {
        arguments.transactions.clone()
    } else {
        signed.collect(runtime)?;
        let receipts = notices::receipts(&signed.vault, signed.vault.center());
        let catalog = own_catalog(&mut signed, runtime)?;
        let kinds: BTreeMap<u32, GoodsKind> =
            catalog.items.iter().map(|item| (item.item_id, GoodsKind::from(&item.kind))).collect();
        let found = notices::claimable(&receipts, &kinds, &claimed);
        for (number, why) in &found.waiting {
            println!("Not yet: transaction {number}: {why}.");
        }
        found.ready
    };
    if wanted.is_empty() {
        println!("Nothing to claim: no delivered purchase waits for a claim.");
        signed.close(runtime);
        return Ok(());
    }
    let mut outcome = ClaimOutcome::default();
    for group in wanted.chunks(CLAIM_ORDERS_MAX) {
        let result = runtime.block_on(money::claim(&mut signed.vault, &signed.session, &signed.key, group));
        match result {
            Ok(answer) => outcome.claimed(&claimed_file, &mut claimed, group, &answer)?,
            // One purchase claimed already (by another terminal) or not
            // claimable holds up no other: claim them one by one.
            Err(error)
                if !explicit
                    && error.rejection().is_some_and(|rejection| rejection_is_per_purchase(rejection.reason)) =>
            {
                for &number in group {
                    match runtime.block_on(money::claim(&mut signed.vault, &signed.session, &signed.key, &[number])) {
                        Ok(answer) => outcome.claimed(&claimed_file, &mut claimed, &[number], &answer)?,
                        Err(error) => {
                            if error.rejection().is_some_and(|rejection| rejection.reason == RejectReason::AlreadyDone)
                            {
                                record_claimed(&claimed_file, &mut claimed, &[number])?;
                            }
                            outcome.refused.push(format!("transaction {number}: {}", failed(error, "the claim")));
                        }
                    }
                }
            }
            Err(error) => return Err(failed(error, "the claim")),
        }
    }
    print!("{}", outcome.text());
    signed.close(runtime);
    if outcome.claims.is_empty() {
        return Err(CliError::Failed("Nothing was claimed; see above.".to_owned()));
    }
    Ok(())
}

/// Refusals that concern one purchase of a claim, not the store.
fn rejection_is_per_purchase(reason: RejectReason) -> bool {
    matches!(reason, RejectReason::AlreadyDone | RejectReason::NotPermitted | RejectReason::NotFound)
}

#[derive(Default)]
struct ClaimOutcome {
    claims: Vec<(u64, u16, Amount)>,
    refused: Vec<String>,
}

impl ClaimOutcome {
    fn claimed(
        &mut self,
        file: &Path,
        claimed: &mut BTreeSet<u64>,
        numbers: &[u64],
        answer: &denbun_protocol::telegram::PaymentClaimAnswer,
    ) -> Result<(), CliError> {
        record_claimed(file, claimed, numbers)?;
        self.claims.push((answer.claim_number, answer.transactions, answer.amount));
        Ok(())
    }

    fn text(&self) -> String {
        let mut text = String::new();
        for (claim_number, transactions, amount) in &self.claims {
            text.push_str(&format!(
                "Claim {claim_number}: {transactions} purchase(s), {}. It waits for an operator's approval; a payout \
                 notice comes when the bank transfer is made.\n",
                yen(amount.get())
            ));
        }
        for refusal in &self.refused {
            text.push_str(&format!("Not claimed: {refusal}\n"));
        }
        text
    }
}

/// The purchases this terminal knows are in a claim.
fn read_claimed(path: &Path) -> Result<BTreeSet<u64>, CliError> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(error) => return Err(CliError::Failed(format!("Cannot read {}: {error}", path.display()))),
    };
    let mut text = String::new();
    file.take(CLAIMED_FILE_BYTES_MAX)
        .read_to_string(&mut text)
        .map_err(|error| CliError::Failed(format!("Cannot read {}: {error}", path.display())))?;
    Ok(text.lines().filter_map(|line| line.trim().parse().ok()).collect())
}

/// Adds `numbers` to the list of claimed purchases (appended and synced).
fn record_claimed(path: &Path, claimed: &mut BTreeSet<u64>, numbers: &[u64]) -> Result<(), CliError> {
    let new: Vec<u64> = numbers.iter().copied().filter(|number| claimed.insert(*number)).collect();
    if new.is_empty() {
        return Ok(());
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| CliError::Failed(format!("Cannot write {}: {error}", path.display())))?;
    let lines: String = new.iter().map(|number| format!("{number}\n")).collect();
    file.write_all(lines.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| CliError::Failed(format!("Cannot write {}: {error}", path.display())))
}

/// `denbun refund`.
pub(super) fn refund(context: &Context, runtime: &Runtime, arguments: &RefundArgs) -> Result<(), CliError> {
    let mut signed = open(context, runtime, Some(PartyKind::Store))?;
    let answer = runtime
        .block_on(money::refund(
            &mut signed.vault,
            &signed.session,
            &signed.key,
            arguments.transaction,
            arguments.amount,
            &arguments.reason,
        ))
        .map_err(|error| failed(error, "the refund"))?;
    println!(
        "Refunded {} of transaction {} ({} refunded in all). The member gets a refund notice.",
        yen(answer.amount.get()),
        answer.transaction_number,
        yen(answer.refunded_total.get())
    );
    signed.close(runtime);
    Ok(())
}

/// `denbun statement`.
pub(super) fn statement(context: &Context, runtime: &Runtime, arguments: &StatementArgs) -> Result<(), CliError> {
    let range = DateRange::new(arguments.from, arguments.to)
        .ok_or_else(|| CliError::Usage("--from must not be after --to.".to_owned()))?;
    let mut signed = open(context, runtime, None)?;
    signed.sign_on(runtime)?;
    // Notices stay in the mailbox for `denbun notices`.
    runtime.block_on(signed.session.ignore_notices())?;
    let pages = runtime
        .block_on(money::statement(&mut signed.vault, &signed.session, &signed.key, range))
        .map_err(|error| failed(error, "the statement"))?;
    let party = signed.vault.profile().party;
    let pages: Vec<Statement> = pages.into_iter().map(|(page, _)| page).collect();
    print!("{}", statement_text(party, &pages));
    signed.close(runtime);
    Ok(())
}

/// A statement's pages as one table with signed amounts.
pub fn statement_text(party: PartyId, pages: &[Statement]) -> String {
    let Some(first) = pages.first() else { return "The center sent no statement.\n".to_owned() };
    let account = if party.kind() == PartyKind::Store { "payable" } else { "balance" };
    let mut text = format!(
        "Statement of {party}, {} to {}\nOpening {account}: {}\n",
        first.range.from(),
        first.range.to(),
        yen(first.opening_balance.get())
    );
    let lines: Vec<_> = pages.iter().flat_map(|page| page.lines.iter()).collect();
    if lines.is_empty() {
        text.push_str("No entries in these days.\n");
    } else {
        text.push_str(&format!(
            "{:<10}  {:<14}  {:>20}  {:<9}  {:>16}  Description\n",
            "Date", "Kind", "Reference", "With", "Amount"
        ));
    }
    for line in lines {
        let (word, credit) = match line.kind {
            EntryKind::CardIssued => ("card issued", true),
            EntryKind::Payment => ("payment", false),
            EntryKind::Sale => ("sale", true),
            EntryKind::Refund => ("refund", party.kind() == PartyKind::Member),
            EntryKind::Payout => ("payout", false),
            EntryKind::BalanceRefund => ("balance refund", false),
        };
        let amount = format!("{}{}", if credit { "+" } else { "-" }, yen(line.amount.get()));
        text.push_str(&format!(
            "{:<10}  {word:<14}  {:>20}  {:<9}  {amount:>16}  {}\n",
            line.date.to_string(),
            line.reference,
            line.counterparty.to_string(),
            line.description.as_str()
        ));
    }
    let last = pages.last().expect("not empty");
    text.push_str(&format!("Closing {account}: {}\n", yen(last.closing_balance.get())));
    text
}

/// `denbun notices`.
pub(super) fn show_notices(context: &Context, runtime: &Runtime) -> Result<(), CliError> {
    let mut signed = open(context, runtime, None)?;
    let new = signed.collect(runtime)?;
    if new.is_empty() {
        println!("No new notices.");
    }
    for notice in &new {
        let date =
            date_of_unix_ms(notice.header().sent_at_ms()).map_or_else(|| "?".to_owned(), |date| date.to_string());
        println!("{date}  {}", notices::describe(notice));
    }
    if !new.is_empty() {
        println!("{} new notice(s) kept in your history and acknowledged.", new.len());
    }
    signed.close(runtime);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Verb};
    use clap::Parser;
    use denbun_protocol::telegram::{
        CardIssued, CardPending, CatalogItem, DigitalContent, IssuedCard, StatementLine, StoreSummary,
    };
    use denbun_protocol::wire::{List, Text, Yen};

    fn parse(arguments: &[&str]) -> Result<Verb, clap::Error> {
        let mut all = vec!["denbun"];
        all.extend_from_slice(arguments);
        Cli::try_parse_from(all).map(|cli| cli.verb)
    }

    #[test]
    fn money_verbs_parse() {
        let Verb::Topup(topup) = parse(&["topup", "--amount", "10,000", "--channel", "post-office"]).unwrap() else {
            panic!("topup")
        };
        assert_eq!((topup.amount.get(), topup.channel), (10_000, Channel::PostOffice));
        let Verb::Pay(pay) =
            parse(&["pay", "--store", "S00000001", "--item", "3:2", "--item", "4", "--catalog-version", "2"]).unwrap()
        else {
            panic!("pay")
        };
        assert_eq!(pay.store, StoreNumber::new(1).unwrap());
        assert_eq!(pay.items, [Wanted { item_id: 3, quantity: 2 }, Wanted { item_id: 4, quantity: 1 }]);
        assert_eq!((pay.catalog_version, pay.transaction_number, pay.yes), (Some(2), None, false));
        let Verb::Pay(pay) =
            parse(&["pay", "--store", "S1", "--item", "1", "2", "--transaction-number", "77"]).unwrap()
        else {
            panic!("pay")
        };
        assert_eq!(pay.items.len(), 2);
        assert_eq!(pay.transaction_number, Some(77));
        let Verb::Catalog(catalog) = parse(&["catalog"]).unwrap() else { panic!("catalog") };
        assert_eq!((catalog.store, catalog.page), (None, 1));
        let Verb::Deliver(deliver) = parse(&["deliver", "--transaction", "5", "--file", "a.pdf"]).unwrap() else {
            panic!("deliver")
        };
        assert_eq!((deliver.transaction, deliver.file.as_deref()), (5, Some(Path::new("a.pdf"))));
        let Verb::Deliver(shipped) =
            parse(&["deliver", "--transaction", "5", "--carrier", "Yamato", "--tracking", "12-34"]).unwrap()
        else {
            panic!("deliver")
        };
        assert_eq!(shipped.carrier.as_deref(), Some("Yamato"));
        let Verb::Claim(claim) = parse(&["claim", "--transaction", "5", "--transaction", "6"]).unwrap() else {
            panic!("claim")
        };
        assert_eq!(claim.transactions, [5, 6]);
        let Verb::Statement(statement) = parse(&["statement", "--from", "2025-03-01", "--to", "2025-03-31"]).unwrap()
        else {
            panic!("statement")
        };
        assert_eq!(statement.to, Date::new(2025, 3, 31).unwrap());
        assert!(matches!(parse(&["notices"]).unwrap(), Verb::Notices));
    }

    #[test]
    fn wrong_money_arguments_are_usage_errors() {
        let wrong: &[&[&str]] = &[
            &["topup", "--amount", "0", "--channel", "credit"],
            &["topup", "--amount", "ten", "--channel", "credit"],
            &["topup", "--amount", "100", "--channel", "cheque"],
            &["catalog", "--search", "tea"],
            &["catalog", "--page", "0"],
            &["pay", "--store", "M00000001", "--item", "1"],
            &["pay", "--store", "S00000001"],
            &["pay", "--store", "S00000001", "--item", "1:0"],
            &["pay", "--store", "S00000001", "--item", "1", "--transaction-number", "0"],
            &["deliver", "--transaction", "5"],
            &["deliver", "--transaction", "5", "--file", "a", "--carrier", "c", "--tracking", "t"],
            &["deliver", "--transaction", "5", "--carrier", "c"],
            &["deliver", "--transaction", "5", "--item", "2", "--carrier", "c", "--tracking", "t"],
            &["download", "--transaction", "5"],
            &["refund", "--transaction", "5", "--amount", "100"],
            &["statement", "--from", "2025-02-30", "--to", "2025-03-01"],
        ];
        for arguments in wrong {
            match parse(arguments) {
                Ok(_) => panic!("{arguments:?} must be refused"),
                Err(error) => assert_eq!(error.exit_code(), 2, "{arguments:?}: {error}"),
            }
        }
    }

    #[test]
    fn card_answers_say_what_happened_and_what_comes_next() {
        let issued = CardAnswer::Issued(CardIssued {
            card: IssuedCard { card_number: 12, face_value: Amount::new(10_000).unwrap(), issued_at_ms: 0 },
            balance: Yen::new(12_500).unwrap(),
        });
        assert_eq!(
            card_answer_text(&issued),
            "Prepaid card 12 issued: 10,000 yen from the credit company.\nYour balance is now 12,500 yen.\n"
        );
        let pending = CardAnswer::Pending(CardPending {
            reference: Text::new("BT-00000003-4").unwrap(),
            amount: Amount::new(5_000).unwrap(),
            instructions: Text::new("Transfer 5000 yen to the center.").unwrap(),
        });
        let text = card_answer_text(&pending);
        assert!(text.starts_with("Your prepaid card of 5,000 yen waits for the money.\n"), "{text}");
        assert!(text.contains("Transfer reference: BT-00000003-4\nTransfer 5000 yen to the center.\n"), "{text}");
        assert!(text.contains("`denbun notices`"), "{text}");
    }

    #[test]
    fn stores_and_catalog_pages_are_tables() {
        let list = StoreList {
            page: 0,
            page_count: 1,
            stores: List::new(vec![StoreSummary {
                store: StoreNumber::new(7).unwrap(),
                trade_name: Text::new("Kawa Books").unwrap(),
                catalog_version: 3,
                item_count: 12,
            }])
            .unwrap(),
        };
        let text = store_list_text(&list);
        assert!(text.contains("S00000007  Kawa Books       v3     12\n"), "{text}");
        let page = CatalogPage {
            store: StoreNumber::new(7).unwrap(),
            catalog_version: 3,
            page: 0,
            page_count: 2,
            items: List::new(vec![CatalogItem {
                item_id: 4,
                title: Text::new("Tea guide").unwrap(),
                description: Text::new("All about\ngyokuro").unwrap(),
                price: Amount::new(1_500).unwrap(),
                kind: ItemKind::Digital(DigitalContent {
                    content_bytes: denbun_protocol::telegram::ContentBytes::new(81_920).unwrap(),
                    content_sha256: [0; 32],
                }),
            }])
            .unwrap(),
        };
        let text = catalog_page_text(&page, "tea");
        assert!(text.starts_with("S00000007 catalog version 3, items with \"tea\", page 1 of 2:\n"), "{text}");
        assert!(text.contains("     4  Tea guide        1,500 yen  digital, 81,920 bytes\n"), "{text}");
        assert!(text.contains("        All about gyokuro\n"), "{text}");
        assert!(text.contains("--catalog-version 3"), "{text}");
    }

    #[test]
    fn statements_sign_amounts_by_the_accounts_side() {
        let day = Date::new(2025, 3, 7).unwrap();
        let line = |kind, amount: u64| StatementLine {
            date: day,
            kind,
            reference: 42,
            counterparty: PartyId::store(1).unwrap(),
            amount: Amount::new(amount).unwrap(),
            description: Text::new("Tea").unwrap(),
        };
        let page = Statement {
            range: DateRange::new(day, day).unwrap(),
            page: 0,
            page_count: 1,
            opening_balance: Yen::new(0).unwrap(),
            closing_balance: Yen::new(8_900).unwrap(),
            lines: List::new(vec![
                line(EntryKind::CardIssued, 10_000),
                line(EntryKind::Payment, 1_500),
                line(EntryKind::Refund, 400),
            ])
            .unwrap(),
        };
        let member = statement_text(PartyId::member(2).unwrap(), std::slice::from_ref(&page));
        assert!(
            member.contains("+10,000 yen") && member.contains("-1,500 yen") && member.contains("+400 yen"),
            "{member}"
        );
        assert!(member.starts_with("Statement of M00000002, 2025-03-07 to 2025-03-07\nOpening balance: 0 yen\n"));
        assert!(member.ends_with("Closing balance: 8,900 yen\n"), "{member}");
        let store = statement_text(PartyId::store(1).unwrap(), &[page]);
        assert!(store.contains("-400 yen") && store.contains("Opening payable"), "{store}");
    }

    #[test]
    fn claimed_purchases_are_remembered_across_runs() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(CLAIMED_FILE_NAME);
        assert!(read_claimed(&path).unwrap().is_empty());
        let mut claimed = BTreeSet::new();
        record_claimed(&path, &mut claimed, &[5, 6]).unwrap();
        record_claimed(&path, &mut claimed, &[6, 7]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "5\n6\n7\n", "each once");
        assert_eq!(read_claimed(&path).unwrap(), BTreeSet::from([5, 6, 7]));
    }
}
