//! The console's state and its one pure transition:
//! [`update`]`(&mut App, Event) -> Vec<Effect>`.
//!
//! `update` never touches the network, files or the clock: keys, clock ticks
//! (with the time in them) and the operator task's reports come in as
//! [`Event`]s; what needs the center goes out as [`Effect`] values. Polling
//! is decided here too, from the ticks, so a test drives the whole console
//! by feeding events and looking at the state and the effects.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use denbun_client::terminal::field::{Field, Form, FormOutcome};
use denbun_protocol::header::{Code, MemberNumber, PartyId, PartyKind, StoreNumber};
use denbun_protocol::limits::{ACCOUNT_HOLDER_BYTES_MAX, MESSAGE_BYTES_MAX, NAME_BYTES_MAX};
use denbun_protocol::telegram::{
    AccountState, AccountType, AuditResult, BackupResult, BackupVerification, BankAccount, BatchSummary, Digits,
    JournalDirection, JournalEntryDetail, JournalQuery, JournalRow, Letter, LiveFigures, MemberRows, PendingClaimRow,
    PendingFundsRow, Report, StoreRows, Telegram,
};
use denbun_protocol::wire::{Date, group_thousands};

/// Journal rows the console keeps (the oldest go first).
pub const JOURNAL_KEPT_MAX: usize = 1_000;
/// Journal entries before the newest that the live tail starts with.
pub const JOURNAL_TAIL_START: u64 = 200;
/// Printer events the console keeps.
pub const PRINTER_KEPT_MAX: usize = 500;
/// Days in the statistics charts (the chosen day and the ones before it).
pub const STATISTICS_DAYS: u8 = 14;

/// How often each read is repeated while it matters, in milliseconds.
pub const LIVE_POLL_MS: u64 = 2_000;
/// Live figures while another tab is shown (the header's line count).
pub const LIVE_BACKGROUND_POLL_MS: u64 = 10_000;
/// Today's report on the overview.
pub const TODAY_POLL_MS: u64 = 15_000;
/// The journal's live tail.
pub const JOURNAL_POLL_MS: u64 = 2_000;
/// Refusals for the printer.
pub const REFUSALS_POLL_MS: u64 = 5_000;
/// The lists of the other tabs while shown.
pub const LIST_POLL_MS: u64 = 15_000;
/// Statistics while shown.
pub const STATISTICS_POLL_MS: u64 = 60_000;

/// The tabs, in key order (1 to 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tab {
    /// Live figures, today's totals, the reconciliation.
    Overview,
    /// The journal's live tail and search.
    Journal,
    /// Top-ups waiting for money.
    Funds,
    /// Activation letters.
    Mail,
    /// Members and stores.
    Parties,
    /// Claims and payout batches.
    Payouts,
    /// Charts and a day's report.
    Statistics,
    /// Errors and events, newest first.
    Printer,
    /// Backups and the audit.
    Backup,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 9] = [
        Tab::Overview,
        Tab::Journal,
        Tab::Funds,
        Tab::Mail,
        Tab::Parties,
        Tab::Payouts,
        Tab::Statistics,
        Tab::Printer,
        Tab::Backup,
    ];

    /// The name on the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Journal => "Journal",
            Tab::Funds => "Funds",
            Tab::Mail => "Mail",
            Tab::Parties => "Members",
            Tab::Payouts => "Payouts",
            Tab::Statistics => "Stats",
            Tab::Printer => "Printer",
            Tab::Backup => "Backup",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|tab| *tab == self).expect("ALL holds every tab")
    }
}

/// The line to the center.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineStatus {
    /// Signed on.
    Up,
    /// Down, with why; the operator task signs on again by itself.
    Down(String),
}

/// How bad a printer event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something the operator did or saw.
    Info,
    /// A refusal, a line drop.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    /// The word shown.
    pub fn word(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// One line of the printer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterEvent {
    /// When, unix milliseconds.
    pub at_ms: u64,
    /// How bad.
    pub level: Level,
    /// `center` (from its journal) or `console` (this console).
    pub source: &'static str,
    /// What happened.
    pub text: String,
}

/// A message under the tab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Whether it reports a problem.
    pub error: bool,
    /// What happened and what to do.
    pub text: String,
}

/// What the console reads from the center.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// Live figures (9800).
    Live,
    /// The report of one business day (9400), for the overview.
    Today(Date),
    /// Journal rows (9500).
    Journal(JournalQuery),
    /// One journal entry in full (9800).
    Entry(u64),
    /// Top-ups waiting (9000).
    Funds,
    /// Letters (9700).
    Letters {
        /// Printed ones too.
        include_printed: bool,
    },
    /// A search of members (9600).
    Members {
        /// Words.
        text: String,
        /// Page from 0.
        page: u16,
    },
    /// A search of stores (9600).
    Stores {
        /// Words.
        text: String,
        /// Page from 0.
        page: u16,
    },
    /// One member with cards (9600).
    Member(MemberNumber),
    /// One store (9600).
    Store(StoreNumber),
    /// Claims waiting (9100).
    Claims,
    /// The charts' range ending on the day, and the day's own report (9400).
    Statistics(Date),
    /// Refusals the center journaled after this entry (9500), for the printer.
    Refusals {
        /// The last refusal seen.
        after: u64,
    },
}

/// Which read, without its arguments: one of each is in flight at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FetchKind {
    /// [`Fetch::Live`].
    Live,
    /// [`Fetch::Today`].
    Today,
    /// [`Fetch::Journal`].
    Journal,
    /// [`Fetch::Entry`].
    Entry,
    /// [`Fetch::Funds`].
    Funds,
    /// [`Fetch::Letters`].
    Letters,
    /// [`Fetch::Members`], [`Fetch::Stores`].
    Search,
    /// [`Fetch::Member`], [`Fetch::Store`].
    Party,
    /// [`Fetch::Claims`].
    Claims,
    /// [`Fetch::Statistics`].
    Statistics,
    /// [`Fetch::Refusals`].
    Refusals,
}

impl Fetch {
    /// Its kind.
    pub fn kind(&self) -> FetchKind {
        match self {
            Fetch::Live => FetchKind::Live,
            Fetch::Today(_) => FetchKind::Today,
            Fetch::Journal(_) => FetchKind::Journal,
            Fetch::Entry(_) => FetchKind::Entry,
            Fetch::Funds => FetchKind::Funds,
            Fetch::Letters { .. } => FetchKind::Letters,
            Fetch::Members { .. } | Fetch::Stores { .. } => FetchKind::Search,
            Fetch::Member(_) | Fetch::Store(_) => FetchKind::Party,
            Fetch::Claims => FetchKind::Claims,
            Fetch::Statistics(_) => FetchKind::Statistics,
            Fetch::Refusals { .. } => FetchKind::Refusals,
        }
    }
}

/// Bank transfer file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Zengin records for the bank.
    Zengin,
    /// CSV for people.
    Csv,
}

/// What the console changes at the center: each is one signed operator
/// telegram through the operator's outbox, journaled with the operator's
/// number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// 9000 confirm: issue the card for what arrived.
    ConfirmFunds {
        /// The transfer reference.
        reference: String,
        /// Yen received.
        amount_yen: u64,
    },
    /// 9000 reject.
    RejectFunds {
        /// The transfer reference.
        reference: String,
        /// Why.
        reason: String,
    },
    /// 9700 printed.
    MarkPrinted(u64),
    /// 9300 freeze or unfreeze.
    Freeze {
        /// Member or store.
        party: PartyId,
        /// Freeze (true) or unfreeze.
        freeze: bool,
        /// Why.
        reason: String,
    },
    /// 9200 refund of the unused balance.
    RefundBalance {
        /// Whose.
        member: MemberNumber,
        /// Where the money goes.
        account: BankAccount,
        /// Close the account afterwards.
        close: bool,
        /// Why.
        reason: String,
    },
    /// 9100 approve claims into a batch.
    Approve(Vec<u64>),
    /// 9100 export a batch's file (written on the console's machine).
    Export {
        /// The batch.
        batch: u64,
        /// Zengin or CSV.
        format: FileFormat,
        /// Where to write it.
        path: String,
    },
    /// 9100 executed.
    Executed {
        /// The batch.
        batch: u64,
        /// When the bank executed it.
        on: Date,
    },
    /// 9800 backup.
    Backup {
        /// A label.
        label: String,
    },
    /// 9800 verify a backup.
    VerifyBackup(u64),
    /// 9800 audit.
    Audit,
}

/// Work for the operator task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Read something.
    Fetch(Fetch),
    /// Change something (always confirmed first when it moves money).
    Act(Action),
}

/// A journal entry read in full, for the detail view.
#[derive(Clone, Debug)]
pub struct EntryView {
    /// The entry (its piece emptied; the bytes are in `telegram`).
    pub detail: JournalEntryDetail,
    /// The telegram decoded, or why it does not decode.
    pub telegram: Result<Telegram, String>,
    /// What the signature check said.
    pub signature: String,
}

/// What a read brought.
#[derive(Clone, Debug)]
pub enum Loaded {
    /// Live figures.
    Live(Box<LiveFigures>),
    /// Today's report.
    Today(Box<Report>),
    /// Journal rows for `query`.
    Journal {
        /// The query they answer.
        query: JournalQuery,
        /// The rows, oldest first.
        rows: Vec<JournalRow>,
        /// More rows match.
        more: bool,
    },
    /// A journal entry.
    Entry(Box<EntryView>),
    /// Top-ups waiting.
    Funds(Vec<PendingFundsRow>),
    /// Letters.
    Letters(Vec<Letter>),
    /// Members found.
    Members(MemberRows),
    /// Stores found.
    Stores(StoreRows),
    /// One member or store in full.
    Party {
        /// Who.
        party: PartyId,
        /// As `members show` / `stores show` print it.
        text: String,
        /// Where the account stands.
        state: AccountState,
    },
    /// Claims waiting.
    Claims(Vec<PendingClaimRow>),
    /// Statistics.
    Statistics {
        /// The range for the charts.
        days: Box<Report>,
        /// The chosen day.
        day: Box<Report>,
    },
    /// Refusals journaled after the last one seen.
    Refusals {
        /// The rows, oldest first.
        rows: Vec<JournalRow>,
        /// More wait.
        more: bool,
    },
}

/// What an action came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done; this says what.
    Done(String),
    /// A payout batch was approved.
    Approved(BatchSummary),
    /// A transfer file was written.
    Exported {
        /// The batch.
        batch: u64,
        /// Where (absolute).
        path: String,
        /// Its size.
        bytes: u64,
    },
    /// A batch was marked executed.
    Executed(BatchSummary),
    /// A backup was taken.
    Backup(BackupResult),
    /// A backup was checked.
    Verified(BackupVerification),
    /// The audit ran.
    Audit(AuditResult),
}

/// What happens to the console.
#[derive(Clone, Debug)]
pub enum Event {
    /// A key.
    Key(KeyEvent),
    /// The clock: unix milliseconds now.
    Tick(u64),
    /// The window changed size (the next drawing adapts).
    Resize,
    /// The line came up or went down.
    Line(LineStatus),
    /// A read came back.
    Loaded(Loaded),
    /// A read failed.
    Failed {
        /// Which.
        fetch: FetchKind,
        /// Why, and what to do.
        message: String,
    },
    /// An action came back.
    Acted {
        /// What was asked, in words.
        what: String,
        /// What it came to, or why it failed.
        result: Result<Outcome, String>,
    },
}

/// Which form is open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormKind {
    /// Amount received for a top-up.
    ConfirmFunds {
        /// The reference.
        reference: String,
        /// Whose.
        member: String,
    },
    /// Reason to reject a top-up.
    RejectFunds {
        /// The reference.
        reference: String,
    },
    /// Reason to freeze or unfreeze.
    Freeze {
        /// Who.
        party: PartyId,
        /// Freeze (true) or unfreeze.
        freeze: bool,
    },
    /// The account and reason for a balance refund.
    RefundBalance {
        /// Whose.
        member: MemberNumber,
    },
    /// Batch, format and path of an export.
    Export,
    /// Batch and date of an execution.
    Executed,
    /// A backup's label.
    Backup,
    /// Which backup to verify.
    VerifyBackup,
    /// The journal's filter.
    JournalFilter,
}

/// A window over the tab.
#[derive(Debug)]
pub enum Modal {
    /// The keys and what each tab does.
    Help,
    /// A form.
    Form {
        /// Which.
        kind: FormKind,
        /// Its fields.
        form: Form,
    },
    /// Asks before an action.
    Confirm {
        /// What will happen, in words.
        question: String,
        /// What is sent on `y`.
        action: Action,
    },
    /// A text to read (a letter, a member, a report).
    Text {
        /// Its title.
        title: String,
        /// The text.
        text: String,
        /// Lines scrolled.
        scroll: u16,
    },
    /// A journal entry in full (the text view of an [`EntryView`]).
    Entry {
        /// The entry number asked for.
        entry: u64,
        /// The text, once it came.
        text: Option<String>,
        /// Lines scrolled.
        scroll: u16,
    },
}

/// The journal tab.
#[derive(Debug, Default)]
pub struct JournalTab {
    /// Rows, oldest first.
    pub rows: VecDeque<JournalRow>,
    /// The last entry asked after.
    pub after: u64,
    /// The filter (sender, code, result, from, to) in force.
    pub filter: JournalFilter,
    /// The highlighted row (index in `rows`).
    pub selected: usize,
    /// Whether the selection follows the newest row.
    pub follow: bool,
    /// Whether this console's own queries are shown.
    pub show_own: bool,
    /// Whether the tail has a starting point yet.
    pub started: bool,
    /// More rows match than came.
    pub more: bool,
}

/// The journal's filter, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// Sender, e.g. M00000001.
    pub sender: Option<PartyId>,
    /// Base code, e.g. 4000.
    pub code: Option<u16>,
    /// Result code, e.g. 0 or 400.
    pub result: Option<u16>,
    /// From, unix milliseconds (0: the start).
    pub from_ms: u64,
    /// Before, unix milliseconds (0: no end).
    pub to_ms: u64,
    /// As typed, for the form and the title.
    pub typed: [String; 5],
}

impl JournalFilter {
    /// Whether anything narrows the journal.
    pub fn is_empty(&self) -> bool {
        self.sender.is_none() && self.code.is_none() && self.result.is_none() && self.from_ms == 0 && self.to_ms == 0
    }

    fn query(&self, after_entry: u64) -> JournalQuery {
        JournalQuery {
            sender: self.sender,
            code: self.code,
            result: self.result,
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            after_entry,
        }
    }

    fn answers(&self, query: &JournalQuery) -> bool {
        query.sender == self.sender
            && query.code == self.code
            && query.result == self.result
            && query.from_ms == self.from_ms
            && query.to_ms == self.to_ms
    }
}

/// Members or stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartyList {
    /// Members.
    Members,
    /// Stores.
    Stores,
}

/// The members and stores tab.
#[derive(Debug)]
pub struct PartiesTab {
    /// Which list.
    pub list: PartyList,
    /// The search words.
    pub search: denbun_client::terminal::field::TextField,
    /// Whether the search field has the keys.
    pub editing: bool,
    /// Members found.
    pub members: Option<MemberRows>,
    /// Stores found.
    pub stores: Option<StoreRows>,
    /// The page asked for.
    pub page: u16,
    /// The highlighted row.
    pub selected: usize,
    /// The member or store shown in full.
    pub detail: Option<(PartyId, String, AccountState)>,
}

/// A payout batch this console approved, exported or executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRow {
    /// The batch.
    pub summary: BatchSummary,
    /// Where its file was written.
    pub exported: Option<String>,
    /// Whether it was marked executed.
    pub executed: bool,
}

/// The payouts tab.
#[derive(Debug, Default)]
pub struct PayoutsTab {
    /// Claims waiting, oldest first.
    pub claims: Option<Vec<PendingClaimRow>>,
    /// The highlighted claim.
    pub selected: usize,
    /// Claims marked for the batch.
    pub marked: BTreeSet<u64>,
    /// Batches of this console session, newest last.
    pub batches: Vec<BatchRow>,
}

/// What the statistics tab charts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chart {
    /// Payments per day.
    Days,
    /// Top-ups by channel.
    Channels,
    /// Sales by store.
    Stores,
}

/// The statistics tab.
#[derive(Debug)]
pub struct StatisticsTab {
    /// The chosen day (the center's business day until changed).
    pub day: Option<Date>,
    /// The range ending on the day.
    pub days: Option<Report>,
    /// The day's own report.
    pub report: Option<Report>,
    /// What the chart shows.
    pub chart: Chart,
    /// Whether the day's report is shown as text (as `denbun-center report`).
    pub text: bool,
    /// Lines of the text scrolled.
    pub scroll: u16,
}

/// A backup known to this console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupRow {
    /// As the center answered.
    pub result: BackupResult,
    /// The last verification, if any.
    pub verified: Option<bool>,
}

/// The backup tab.
#[derive(Debug, Default)]
pub struct BackupTab {
    /// Backups taken from this console.
    pub backups: Vec<BackupRow>,
    /// The center's word on backups when it refused them.
    pub not_offered: Option<String>,
    /// The last audit.
    pub audit: Option<AuditResult>,
    /// The highlighted backup.
    pub selected: usize,
}

/// The whole console.
#[derive(Debug)]
pub struct App {
    /// Who is signed on.
    pub operator: PartyId,
    /// The center's name.
    pub center_name: String,
    /// Where it listens.
    pub center_address: String,
    /// Unix milliseconds, from the last tick.
    pub now_ms: u64,
    /// The tab shown.
    pub tab: Tab,
    /// The line.
    pub line: LineStatus,
    /// A window over the tab.
    pub modal: Option<Modal>,
    /// The message line.
    pub message: Option<Message>,
    /// Whether colours are used.
    pub color: bool,
    /// Set when the operator quits.
    pub quit: bool,
    /// Live figures.
    pub live: Option<LiveFigures>,
    /// When they came (unix ms).
    pub live_at_ms: u64,
    /// Today's report.
    pub today: Option<Report>,
    /// The journal.
    pub journal: JournalTab,
    /// Top-ups waiting.
    pub funds: Option<Vec<PendingFundsRow>>,
    /// The highlighted top-up.
    pub funds_selected: usize,
    /// Letters.
    pub letters: Option<Vec<Letter>>,
    /// The highlighted letter.
    pub letters_selected: usize,
    /// Printed letters shown too.
    pub letters_all: bool,
    /// Members and stores.
    pub parties: PartiesTab,
    /// Payouts.
    pub payouts: PayoutsTab,
    /// Statistics.
    pub statistics: StatisticsTab,
    /// The printer, newest first.
    pub printer: VecDeque<PrinterEvent>,
    /// The printer's first line shown.
    pub printer_scroll: usize,
    /// Only warnings and errors.
    pub printer_problems_only: bool,
    /// The last refusal seen in the journal.
    pub refusals_after: u64,
    /// Backups.
    pub backup: BackupTab,
    /// An action in flight, in words.
    pub acting: Option<String>,
    in_flight: BTreeSet<FetchKind>,
    last_poll: BTreeMap<FetchKind, u64>,
}

impl App {
    /// A console for `operator` at the center named `center_name` at `center_address`.
    pub fn new(operator: PartyId, center_name: &str, center_address: &str) -> App {
        App {
            operator,
            center_name: center_name.to_owned(),
            center_address: center_address.to_owned(),
            now_ms: 0,
            tab: Tab::Overview,
            line: LineStatus::Up,
            modal: None,
            message: None,
            color: true,
            quit: false,
            live: None,
            live_at_ms: 0,
            today: None,
            journal: JournalTab { follow: true, ..JournalTab::default() },
            funds: None,
            funds_selected: 0,
            letters: None,
            letters_selected: 0,
            letters_all: false,
            parties: PartiesTab {
                list: PartyList::Members,
                search: denbun_client::terminal::field::TextField::new(64),
                editing: false,
                members: None,
                stores: None,
                page: 0,
                selected: 0,
                detail: None,
            },
            payouts: PayoutsTab::default(),
            statistics: StatisticsTab {
                day: None,
                days: None,
                report: None,
                chart: Chart::Days,
                text: false,
                scroll: 0,
            },
            printer: VecDeque::new(),
            printer_scroll: 0,
            printer_problems_only: false,
            refusals_after: 0,
            backup: BackupTab::default(),
            acting: None,
            in_flight: BTreeSet::new(),
            last_poll: BTreeMap::new(),
        }
    }

    /// Notes the sign-on in the printer.
    pub fn signed_on(&mut self, fingerprint: &str) {
        let text = format!(
            "{} signed on to {} at {} (center key {fingerprint})",
            self.operator, self.center_name, self.center_address
        );
        self.print(Level::Info, "console", text);
    }

    /// An effect could not be handed to the operator task: it is not under way.
    pub fn not_sent(&mut self, effect: &Effect) {
        match effect {
            Effect::Fetch(fetch) => {
                self.in_flight.remove(&fetch.kind());
            }
            Effect::Act(_) => self.acting = None,
        }
        self.error("The console is still busy with earlier work; try again in a moment.");
    }

    /// Whether a read of `kind` is under way.
    pub fn loading(&self, kind: FetchKind) -> bool {
        self.in_flight.contains(&kind)
    }

    /// Reports a problem on the message line and in the printer.
    pub fn error(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.print(Level::Error, "console", text.clone());
        self.message = Some(Message { error: true, text });
    }

    fn say(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.print(Level::Info, "console", text.clone());
        self.message = Some(Message { error: false, text });
    }

    fn print(&mut self, level: Level, source: &'static str, text: String) {
        self.printer.push_front(PrinterEvent { at_ms: self.now_ms, level, source, text });
        self.printer.truncate(PRINTER_KEPT_MAX);
    }

    /// Journal rows shown (own queries hidden unless asked for), with their index in `rows`.
    pub fn journal_visible(&self) -> Vec<usize> {
        (0..self.journal.rows.len()).filter(|index| self.journal_shows(&self.journal.rows[*index])).collect()
    }

    fn journal_shows(&self, row: &JournalRow) -> bool {
        self.journal.show_own || !is_own_query(row, self.operator)
    }

    /// The highlighted journal row.
    pub fn journal_row(&self) -> Option<&JournalRow> {
        let visible = self.journal_visible();
        visible.get(self.journal.selected.min(visible.len().saturating_sub(1))).map(|index| &self.journal.rows[*index])
    }

    /// Printer events shown.
    pub fn printer_visible(&self) -> Vec<&PrinterEvent> {
        self.printer.iter().filter(|event| !self.printer_problems_only || event.level > Level::Info).collect()
    }

    fn fetch(&mut self, fetch: Fetch) -> Option<Effect> {
        let kind = fetch.kind();
        if !self.in_flight.insert(kind) {
            return None;
        }
        self.last_poll.insert(kind, self.now_ms);
        Some(Effect::Fetch(fetch))
    }

    fn due(&self, kind: FetchKind, interval_ms: u64) -> bool {
        !self.in_flight.contains(&kind)
            && self.last_poll.get(&kind).is_none_or(|last| self.now_ms.saturating_sub(*last) >= interval_ms)
    }

    /// The member search or store search as it stands.
    fn search_fetch(&self) -> Fetch {
        let text = self.parties.search.value().trim().to_owned();
        match self.parties.list {
            PartyList::Members => Fetch::Members { text, page: self.parties.page },
            PartyList::Stores => Fetch::Stores { text, page: self.parties.page },
        }
    }

    /// What the shown tab reads when it is opened or refreshed.
    fn tab_fetches(&self) -> Vec<Fetch> {
        match self.tab {
            Tab::Overview => {
                let mut fetches = vec![Fetch::Live];
                if let Some(live) = &self.live {
                    fetches.push(Fetch::Today(live.business_day));
                }
                fetches
            }
            Tab::Journal => self.journal_fetch().into_iter().collect(),
            Tab::Funds => vec![Fetch::Funds],
            Tab::Mail => vec![Fetch::Letters { include_printed: self.letters_all }],
            Tab::Parties => vec![self.search_fetch()],
            Tab::Payouts => vec![Fetch::Claims],
            Tab::Statistics => self.statistics_day().map(Fetch::Statistics).into_iter().collect(),
            Tab::Printer => vec![Fetch::Refusals { after: self.refusals_after }],
            Tab::Backup => Vec::new(),
        }
    }

    fn statistics_day(&self) -> Option<Date> {
        self.statistics.day.or_else(|| self.live.as_ref().map(|live| live.business_day))
    }

    fn journal_fetch(&self) -> Option<Fetch> {
        if !self.journal.started {
            return None;
        }
        Some(Fetch::Journal(self.journal.filter.query(self.journal.after)))
    }

    /// The reads due at this tick.
    fn polls(&mut self) -> Vec<Effect> {
        let mut fetches = Vec::new();
        let live_interval = if self.tab == Tab::Overview { LIVE_POLL_MS } else { LIVE_BACKGROUND_POLL_MS };
        if self.due(FetchKind::Live, live_interval) {
            fetches.push(Fetch::Live);
        }
        if self.tab == Tab::Overview
            && let Some(live) = &self.live
            && self.due(FetchKind::Today, TODAY_POLL_MS)
        {
            fetches.push(Fetch::Today(live.business_day));
        }
        if self.due(FetchKind::Refusals, REFUSALS_POLL_MS) && self.live.is_some() {
            fetches.push(Fetch::Refusals { after: self.refusals_after });
        }
        let list = match self.tab {
            Tab::Journal if self.due(FetchKind::Journal, JOURNAL_POLL_MS) => self.journal_fetch(),
            Tab::Funds if self.due(FetchKind::Funds, LIST_POLL_MS) => Some(Fetch::Funds),
            Tab::Mail if self.due(FetchKind::Letters, LIST_POLL_MS) => {
                Some(Fetch::Letters { include_printed: self.letters_all })
            }
            Tab::Parties if self.due(FetchKind::Search, LIST_POLL_MS) => Some(self.search_fetch()),
            Tab::Payouts if self.due(FetchKind::Claims, LIST_POLL_MS) => Some(Fetch::Claims),
            Tab::Statistics if self.due(FetchKind::Statistics, STATISTICS_POLL_MS) => {
                self.statistics_day().map(Fetch::Statistics)
            }
            _ => None,
        };
        fetches.extend(list);
        fetches.into_iter().filter_map(|fetch| self.fetch(fetch)).collect()
    }

    fn refresh(&mut self) -> Vec<Effect> {
        self.tab_fetches().into_iter().filter_map(|fetch| self.fetch(fetch)).collect()
    }

    fn switch(&mut self, tab: Tab) -> Vec<Effect> {
        if self.tab == tab {
            return Vec::new();
        }
        self.tab = tab;
        self.parties.editing = false;
        self.refresh()
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        if let Some(acting) = &self.acting {
            let text = format!("Still waiting for the center on: {acting}. Try again when it has answered.");
            self.error(text);
            return Vec::new();
        }
        self.acting = Some(describe(&action));
        self.message = Some(Message { error: false, text: format!("Sending: {}…", describe(&action)) });
        vec![Effect::Act(action)]
    }
}

/// Whether `row` is one of `operator`'s own read-only queries (or the
/// answer to one): the console's polls, hidden from the tail by default.
pub fn is_own_query(row: &JournalRow, operator: PartyId) -> bool {
    let family = row.code / 100;
    (row.sender == operator || row.recipient == operator) && matches!(family, 94 | 95 | 96 | 98)
}

/// An action in words, for the confirmation, the message line and the printer.
pub fn describe(action: &Action) -> String {
    match action {
        Action::ConfirmFunds { reference, amount_yen } => {
            format!("confirm {reference}: issue a card of {} yen", group_thousands(*amount_yen))
        }
        Action::RejectFunds { reference, reason } => format!("reject {reference} ({reason})"),
        Action::MarkPrinted(letter) => format!("mark letter {letter} printed"),
        Action::Freeze { party, freeze: true, reason } => format!("freeze {party} ({reason})"),
        Action::Freeze { party, freeze: false, reason } => format!("unfreeze {party} ({reason})"),
        Action::RefundBalance { member, close, .. } => format!(
            "refund the unused balance of {member} to its bank account{}",
            if *close { " and close the account" } else { "" }
        ),
        Action::Approve(claims) => {
            format!("approve {} claim{} into a payout batch", claims.len(), plural(claims.len()))
        }
        Action::Export { batch, format, path } => {
            format!(
                "export batch {batch} as {} to {path}",
                if *format == FileFormat::Zengin { "Zengin" } else { "CSV" }
            )
        }
        Action::Executed { batch, on } => format!("mark batch {batch} executed on {on}"),
        Action::Backup { label } => format!("take a backup \"{label}\""),
        Action::VerifyBackup(number) => format!("verify backup {number}"),
        Action::Audit => "run the audit".to_owned(),
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The day `days` before or after `date`.
pub fn shift_day(date: Date, days: i64) -> Option<Date> {
    let (year, month, day) = date.parts();
    let date = time::Date::from_calendar_date(i32::from(year), time::Month::try_from(month).ok()?, day).ok()?;
    let shifted = date.checked_add(time::Duration::days(days))?;
    Date::new(u16::try_from(shifted.year()).ok()?, u8::from(shifted.month()), shifted.day())
}

/// Unix milliseconds for `YYYY-MM-DD` or `YYYY-MM-DD HH:MM` (UTC).
pub fn parse_time_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let (day, clock) = match text.split_once(' ') {
        Some((day, clock)) => (day, Some(clock.trim())),
        None => (text, None),
    };
    let date = Date::parse(day)?;
    let (year, month, day_of_month) = date.parts();
    let date =
        time::Date::from_calendar_date(i32::from(year), time::Month::try_from(month).ok()?, day_of_month).ok()?;
    let (hour, minute) = match clock {
        Some(clock) => {
            let (hour, minute) = clock.split_once(':')?;
            (hour.parse::<u8>().ok()?, minute.parse::<u8>().ok()?)
        }
        None => (0, 0),
    };
    let time = time::Time::from_hms(hour, minute, 0).ok()?;
    let seconds = time::PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp();
    u64::try_from(seconds).ok()?.checked_mul(1_000)
}

fn key_is(key: &KeyEvent, code: KeyCode) -> bool {
    key.code == code && !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

/// The one transition.
pub fn update(app: &mut App, event: Event) -> Vec<Effect> {
    match event {
        Event::Tick(now_ms) => {
            app.now_ms = now_ms;
            if app.line == LineStatus::Up { app.polls() } else { Vec::new() }
        }
        Event::Resize => Vec::new(),
        Event::Line(status) => {
            if status != app.line {
                match &status {
                    LineStatus::Up => app.say("The line to the center is back; signed on again."),
                    LineStatus::Down(why) => {
                        let text = format!("The line to the center is down ({why}); signing on again by itself.");
                        app.print(Level::Warn, "console", text.clone());
                        app.message = Some(Message { error: true, text });
                    }
                }
                app.line = status;
                // Reads in flight died with the line: ask again when it is back.
                app.in_flight.clear();
                app.last_poll.clear();
            }
            Vec::new()
        }
        Event::Loaded(loaded) => loaded_event(app, loaded),
        Event::Failed { fetch, message } => {
            app.in_flight.remove(&fetch);
            if fetch == FetchKind::Entry
                && let Some(Modal::Entry { text, .. }) = &mut app.modal
            {
                *text = Some(format!("Cannot read this entry: {message}"));
            }
            app.error(message);
            Vec::new()
        }
        Event::Acted { what, result } => acted(app, what, result),
        Event::Key(key) if key.kind == KeyEventKind::Release => Vec::new(),
        Event::Key(key) => key_event(app, key),
    }
}

fn loaded_event(app: &mut App, loaded: Loaded) -> Vec<Effect> {
    let kind = match &loaded {
        Loaded::Live(_) => FetchKind::Live,
        Loaded::Today(_) => FetchKind::Today,
        Loaded::Journal { .. } => FetchKind::Journal,
        Loaded::Entry(_) => FetchKind::Entry,
        Loaded::Funds(_) => FetchKind::Funds,
        Loaded::Letters(_) => FetchKind::Letters,
        Loaded::Members(_) | Loaded::Stores(_) => FetchKind::Search,
        Loaded::Party { .. } => FetchKind::Party,
        Loaded::Claims(_) => FetchKind::Claims,
        Loaded::Statistics { .. } => FetchKind::Statistics,
        Loaded::Refusals { .. } => FetchKind::Refusals,
    };
    app.in_flight.remove(&kind);
    let mut effects = Vec::new();
    match loaded {
        Loaded::Live(live) => {
            if !app.journal.started && app.journal.filter.is_empty() {
                app.journal.after = live.journal_entries.saturating_sub(JOURNAL_TAIL_START);
                app.journal.started = true;
            }
            if app.refusals_after == 0 {
                // The printer starts with the refusals of the last stretch of journal.
                app.refusals_after = live.journal_entries.saturating_sub(JOURNAL_TAIL_START * 10);
            }
            let first = app.live.is_none();
            app.live_at_ms = app.now_ms;
            app.live = Some(*live);
            if first {
                // What waited for the business day and the journal's length.
                let fetches = app.tab_fetches().into_iter().filter(|fetch| *fetch != Fetch::Live);
                effects.extend(fetches.collect::<Vec<_>>().into_iter().filter_map(|fetch| app.fetch(fetch)));
            }
        }
        Loaded::Today(report) => app.today = Some(*report),
        Loaded::Journal { query, rows, more } => {
            // An answer to a filter no longer in force is dropped.
            if !app.journal.filter.answers(&query) || query.after_entry != app.journal.after {
                return effects;
            }
            if let Some(last) = rows.last() {
                app.journal.after = last.entry;
            }
            // The console's own polls are not kept unless shown: every poll
            // adds two, and they would push real traffic out of the tail.
            let operator = app.operator;
            let show_own = app.journal.show_own;
            app.journal.rows.extend(rows.into_iter().filter(|row| show_own || !is_own_query(row, operator)));
            let excess = app.journal.rows.len().saturating_sub(JOURNAL_KEPT_MAX);
            app.journal.rows.drain(..excess);
            app.journal.more = more;
            let visible = app.journal_visible().len();
            if app.journal.follow {
                app.journal.selected = visible.saturating_sub(1);
            } else {
                app.journal.selected = app.journal.selected.saturating_sub(excess).min(visible.saturating_sub(1));
            }
            if more && app.tab == Tab::Journal {
                // Catch up at once rather than a page per poll.
                effects.extend(app.journal_fetch().and_then(|fetch| app.fetch(fetch)));
            }
        }
        Loaded::Entry(view) => {
            if let Some(Modal::Entry { entry, text, .. }) = &mut app.modal
                && *entry == view.detail.entry
            {
                *text = Some(entry_text(&view, app.operator));
            }
        }
        Loaded::Funds(rows) => {
            app.funds_selected = app.funds_selected.min(rows.len().saturating_sub(1));
            app.funds = Some(rows);
        }
        Loaded::Letters(letters) => {
            app.letters_selected = app.letters_selected.min(letters.len().saturating_sub(1));
            app.letters = Some(letters);
        }
        Loaded::Members(rows) => {
            app.parties.selected = app.parties.selected.min(rows.rows.len().saturating_sub(1));
            app.parties.members = Some(rows);
        }
        Loaded::Stores(rows) => {
            app.parties.selected = app.parties.selected.min(rows.rows.len().saturating_sub(1));
            app.parties.stores = Some(rows);
        }
        Loaded::Party { party, text, state } => app.parties.detail = Some((party, text, state)),
        Loaded::Claims(claims) => {
            let waiting: BTreeSet<u64> = claims.iter().map(|claim| claim.claim_number).collect();
            app.payouts.marked.retain(|claim| waiting.contains(claim));
            app.payouts.selected = app.payouts.selected.min(claims.len().saturating_sub(1));
            app.payouts.claims = Some(claims);
        }
        Loaded::Statistics { days, day } => {
            if app.statistics.day.is_none() {
                app.statistics.day = Some(day.range.to());
            }
            app.statistics.days = Some(*days);
            app.statistics.report = Some(*day);
        }
        Loaded::Refusals { rows, more } => {
            for row in &rows {
                app.refusals_after = app.refusals_after.max(row.entry);
                let reason = denbun_protocol::reject::RejectReason::from_code(row.result)
                    .map_or_else(|| format!("reason {}", row.result), |reason| reason.message().to_owned());
                let level = if row.result >= 500 { Level::Error } else { Level::Warn };
                let text = format!(
                    "refused {} from {} (processing number {}): {} [{}]",
                    code_name(row.code),
                    row.recipient,
                    row.processing_number,
                    reason,
                    row.result
                );
                app.printer.push_front(PrinterEvent { at_ms: row.recorded_at_ms, level, source: "center", text });
            }
            app.printer.truncate(PRINTER_KEPT_MAX);
            if more {
                effects.extend(app.fetch(Fetch::Refusals { after: app.refusals_after }));
            }
        }
    }
    effects
}

fn acted(app: &mut App, what: String, result: Result<Outcome, String>) -> Vec<Effect> {
    app.acting = None;
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(message) => {
            if what.starts_with("take a backup") || what.starts_with("verify backup") {
                app.backup.not_offered = Some(message.clone());
            }
            app.error(format!("Could not {what}: {message}"));
            return app.refresh();
        }
    };
    match outcome {
        Outcome::Done(text) => app.say(text),
        Outcome::Approved(summary) => {
            app.say(format!(
                "Approved batch {}: {} claim{}, {} transfer{}, {} yen. Export it with e.",
                summary.batch_number,
                summary.claims,
                plural(usize::from(summary.claims)),
                summary.stores,
                plural(usize::from(summary.stores)),
                group_thousands(summary.total.get())
            ));
            app.payouts.marked.clear();
            app.payouts.batches.push(BatchRow { summary, exported: None, executed: false });
        }
        Outcome::Exported { batch, path, bytes } => {
            app.say(format!("Wrote batch {batch}'s transfer file: {path} ({} bytes).", group_thousands(bytes)));
            match app.payouts.batches.iter_mut().find(|row| row.summary.batch_number == batch) {
                Some(row) => row.exported = Some(path),
                None => app.payouts.batches.push(BatchRow {
                    summary: BatchSummary {
                        batch_number: batch,
                        claims: 0,
                        stores: 0,
                        total: denbun_protocol::wire::Amount::new(1).expect("1 yen"),
                    },
                    exported: Some(path),
                    executed: false,
                }),
            }
        }
        Outcome::Executed(summary) => {
            app.say(format!(
                "Batch {} executed: {} yen paid out to {} store{}; they are notified.",
                summary.batch_number,
                group_thousands(summary.total.get()),
                summary.stores,
                plural(usize::from(summary.stores))
            ));
            match app.payouts.batches.iter_mut().find(|row| row.summary.batch_number == summary.batch_number) {
                Some(row) => {
                    row.executed = true;
                    row.summary = summary;
                }
                None => app.payouts.batches.push(BatchRow { summary, exported: None, executed: true }),
            }
        }
        Outcome::Backup(result) => {
            app.backup.not_offered = None;
            app.say(format!("Backup {} taken ({} bytes).", result.backup_number, group_thousands(result.bytes)));
            app.backup.backups.push(BackupRow { result, verified: None });
        }
        Outcome::Verified(verification) => {
            app.backup.not_offered = None;
            let text = if verification.intact {
                format!("Backup {} is intact.", verification.backup_number)
            } else {
                let findings: Vec<&str> = verification.findings.iter().map(|finding| finding.as_str()).collect();
                format!("Backup {} is NOT intact: {}", verification.backup_number, findings.join("; "))
            };
            if verification.intact {
                app.say(text)
            } else {
                app.error(text)
            }
            if let Some(row) =
                app.backup.backups.iter_mut().find(|row| row.result.backup_number == verification.backup_number)
            {
                row.verified = Some(verification.intact);
            }
        }
        Outcome::Audit(result) => {
            if result.passed {
                app.say("The audit passed: journal chain, signatures and ledger all hold.");
            } else {
                app.error(format!("The audit found {} problem(s); see the Backup tab.", result.findings.len()));
            }
            app.backup.audit = Some(result);
        }
    }
    app.refresh()
}

fn key_event(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        app.quit = true;
        return Vec::new();
    }
    if app.modal.is_some() {
        return modal_key(app, key);
    }
    if app.tab == Tab::Parties && app.parties.editing {
        return search_key(app, key);
    }
    match key.code {
        KeyCode::Char('q') if key_is(&key, KeyCode::Char('q')) => {
            match &app.acting {
                Some(acting) => {
                    let text = format!("Waiting for the center on: {acting}. Quit again when it has answered.");
                    app.error(text);
                }
                None => app.quit = true,
            }
            Vec::new()
        }
        KeyCode::Char('?') => {
            app.modal = Some(Modal::Help);
            Vec::new()
        }
        KeyCode::Char(digit @ '1'..='9') => app.switch(Tab::ALL[(digit as usize) - ('1' as usize)]),
        KeyCode::Tab => app.switch(Tab::ALL[(app.tab.index() + 1) % Tab::ALL.len()]),
        KeyCode::BackTab => app.switch(Tab::ALL[(app.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]),
        KeyCode::Char('r') if key_is(&key, KeyCode::Char('r')) => {
            app.last_poll.clear();
            app.refresh()
        }
        _ => tab_key(app, key),
    }
}

fn move_selection(selected: &mut usize, count: usize, key: &KeyEvent) -> bool {
    let last = count.saturating_sub(1);
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => *selected = selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => *selected = (*selected + 1).min(last),
        KeyCode::PageUp => *selected = selected.saturating_sub(10),
        KeyCode::PageDown => *selected = (*selected + 10).min(last),
        KeyCode::Home | KeyCode::Char('g') => *selected = 0,
        KeyCode::End | KeyCode::Char('G') => *selected = last,
        _ => return false,
    }
    true
}

fn tab_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match app.tab {
        Tab::Overview => Vec::new(),
        Tab::Journal => journal_key(app, key),
        Tab::Funds => funds_key(app, key),
        Tab::Mail => mail_key(app, key),
        Tab::Parties => parties_key(app, key),
        Tab::Payouts => payouts_key(app, key),
        Tab::Statistics => statistics_key(app, key),
        Tab::Printer => {
            let count = app.printer_visible().len();
            if key.code == KeyCode::Char('e') {
                app.printer_problems_only = !app.printer_problems_only;
                app.printer_scroll = 0;
            } else {
                move_selection(&mut app.printer_scroll, count, &key);
            }
            Vec::new()
        }
        Tab::Backup => backup_key(app, key),
    }
}

fn journal_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let count = app.journal_visible().len();
    if move_selection(&mut app.journal.selected, count, &key) {
        app.journal.follow = app.journal.selected + 1 >= count;
        return Vec::new();
    }
    match key.code {
        KeyCode::Enter => {
            let Some(row) = app.journal_row() else { return Vec::new() };
            let entry = row.entry;
            app.modal = Some(Modal::Entry { entry, text: None, scroll: 0 });
            app.in_flight.remove(&FetchKind::Entry);
            app.fetch(Fetch::Entry(entry)).into_iter().collect()
        }
        KeyCode::Char('f') => {
            let typed = &app.journal.filter.typed;
            let form = Form::new(vec![
                Field::text("Sender", "M00000001, S00000001, O001 or empty", 16, &typed[0]),
                Field::text("Code", "four digits, e.g. 4000 (answers: 4010), or empty", 4, &typed[1]),
                Field::text("Result", "0 accepted, or a reject reason such as 400", 5, &typed[2]),
                Field::text("From", "YYYY-MM-DD [HH:MM] UTC, or empty", 16, &typed[3]),
                Field::text("Until", "YYYY-MM-DD [HH:MM] UTC, or empty", 16, &typed[4]),
            ]);
            app.modal = Some(Modal::Form { kind: FormKind::JournalFilter, form });
            Vec::new()
        }
        KeyCode::Char('x') if !app.journal.filter.is_empty() => {
            app.journal.filter = JournalFilter::default();
            restart_journal(app)
        }
        KeyCode::Char('o') => {
            // Own polls are not kept while hidden: read the tail again.
            app.journal.show_own = !app.journal.show_own;
            restart_journal(app)
        }
        _ => Vec::new(),
    }
}

fn restart_journal(app: &mut App) -> Vec<Effect> {
    app.journal.rows.clear();
    app.journal.selected = 0;
    app.journal.follow = true;
    app.journal.more = false;
    // A filter searches the whole journal; the bare tail starts near the end.
    app.journal.after = if app.journal.filter.is_empty() {
        app.live.as_ref().map_or(0, |live| live.journal_entries.saturating_sub(JOURNAL_TAIL_START))
    } else {
        0
    };
    app.journal.started = true;
    app.in_flight.remove(&FetchKind::Journal);
    app.journal_fetch().and_then(|fetch| app.fetch(fetch)).into_iter().collect()
}

fn funds_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let rows = app.funds.as_deref().unwrap_or_default();
    if move_selection(&mut app.funds_selected, rows.len(), &key) {
        return Vec::new();
    }
    let Some(row) = rows.get(app.funds_selected) else { return Vec::new() };
    let reference = row.reference.as_str().to_owned();
    match key.code {
        KeyCode::Char('c') | KeyCode::Enter => {
            let form = Form::new(vec![Field::text(
                "Yen received",
                "what actually arrived (the card is issued for this)",
                14,
                &row.amount.get().to_string(),
            )]);
            let kind = FormKind::ConfirmFunds { reference, member: row.member.to_string() };
            app.modal = Some(Modal::Form { kind, form });
        }
        KeyCode::Char('x') => {
            let form = Form::new(vec![Field::text("Reason", "for the journal and the member", MESSAGE_BYTES_MAX, "")]);
            app.modal = Some(Modal::Form { kind: FormKind::RejectFunds { reference }, form });
        }
        _ => {}
    }
    Vec::new()
}

fn mail_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let letters = app.letters.as_deref().unwrap_or_default();
    if move_selection(&mut app.letters_selected, letters.len(), &key) {
        return Vec::new();
    }
    match key.code {
        KeyCode::Char('a') => {
            app.letters_all = !app.letters_all;
            app.in_flight.remove(&FetchKind::Letters);
            return app.fetch(Fetch::Letters { include_printed: app.letters_all }).into_iter().collect();
        }
        KeyCode::Enter => {
            if let Some(letter) = letters.get(app.letters_selected) {
                let text = crate::mail::letter_text(&letter_record(letter));
                app.modal = Some(Modal::Text { title: format!("Letter {}", letter.letter_number), text, scroll: 0 });
            }
        }
        KeyCode::Char('p') => {
            if let Some(letter) = letters.get(app.letters_selected) {
                if letter.printed {
                    app.error(format!("Letter {} is already marked printed.", letter.letter_number));
                } else {
                    let question = format!(
                        "Mark letter {} to {} ({}) printed and posted? It leaves the queue.",
                        letter.letter_number,
                        letter.name.as_str(),
                        letter.recipient
                    );
                    app.modal = Some(Modal::Confirm { question, action: Action::MarkPrinted(letter.letter_number) });
                }
            }
        }
        _ => {}
    }
    Vec::new()
}

/// A letter from the wire as the printed letter needs it.
pub fn letter_record(letter: &Letter) -> crate::storage::LetterRecord {
    crate::storage::LetterRecord {
        id: letter.letter_number,
        recipient: letter.recipient,
        name: letter.name.clone(),
        address: letter.address.clone(),
        activation_code: letter.activation_code.clone(),
        expires_at_ms: letter.expires_at_ms,
        created_at_ms: letter.created_at_ms,
        printed_at_ms: letter.printed.then_some(0),
    }
}

/// The parties of the list shown: (number, name, state, money).
pub fn party_rows(app: &App) -> Vec<(PartyId, String, AccountState, u64)> {
    match app.parties.list {
        PartyList::Members => app
            .parties
            .members
            .iter()
            .flat_map(|rows| rows.rows.iter())
            .map(|row| (PartyId::from(row.member), row.name.as_str().to_owned(), row.state, row.balance.get()))
            .collect(),
        PartyList::Stores => app
            .parties
            .stores
            .iter()
            .flat_map(|rows| rows.rows.iter())
            .map(|row| (PartyId::from(row.store), row.trade_name.as_str().to_owned(), row.state, row.payable.get()))
            .collect(),
    }
}

fn parties_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let rows = party_rows(app);
    if move_selection(&mut app.parties.selected, rows.len(), &key) {
        app.parties.detail = None;
        return Vec::new();
    }
    let selected = rows.get(app.parties.selected).cloned();
    let detail_party = app.parties.detail.as_ref().map(|(party, _, state)| (*party, *state));
    let chosen = detail_party.or(selected.as_ref().map(|(party, _, state, _)| (*party, *state)));
    match key.code {
        KeyCode::Char('/') => {
            app.parties.editing = true;
            Vec::new()
        }
        KeyCode::Char('m') | KeyCode::Char('s') => {
            let list = if key.code == KeyCode::Char('m') { PartyList::Members } else { PartyList::Stores };
            if list != app.parties.list {
                app.parties.list = list;
                app.parties.page = 0;
                app.parties.selected = 0;
                app.parties.detail = None;
                app.in_flight.remove(&FetchKind::Search);
                return app.fetch(app.search_fetch()).into_iter().collect();
            }
            Vec::new()
        }
        KeyCode::Char(']') | KeyCode::Char('[') => {
            let page_count = match app.parties.list {
                PartyList::Members => app.parties.members.as_ref().map_or(1, |rows| rows.page_count),
                PartyList::Stores => app.parties.stores.as_ref().map_or(1, |rows| rows.page_count),
            };
            let page = if key.code == KeyCode::Char(']') {
                (app.parties.page + 1).min(page_count.saturating_sub(1))
            } else {
                app.parties.page.saturating_sub(1)
            };
            if page != app.parties.page {
                app.parties.page = page;
                app.parties.selected = 0;
                app.in_flight.remove(&FetchKind::Search);
                return app.fetch(app.search_fetch()).into_iter().collect();
            }
            Vec::new()
        }
        KeyCode::Enter => {
            let Some((party, ..)) = selected else { return Vec::new() };
            let fetch = match party.kind() {
                PartyKind::Member => MemberNumber::try_from(party).ok().map(Fetch::Member),
                _ => StoreNumber::try_from(party).ok().map(Fetch::Store),
            };
            app.in_flight.remove(&FetchKind::Party);
            fetch.and_then(|fetch| app.fetch(fetch)).into_iter().collect()
        }
        KeyCode::Esc => {
            app.parties.detail = None;
            Vec::new()
        }
        KeyCode::Char('f') => {
            let Some((party, state)) = chosen else { return Vec::new() };
            let freeze = state != AccountState::Frozen;
            let label = if freeze { "Reason to freeze" } else { "Reason to unfreeze" };
            let form = Form::new(vec![Field::text(label, "for the journal", MESSAGE_BYTES_MAX, "")]);
            app.modal = Some(Modal::Form { kind: FormKind::Freeze { party, freeze }, form });
            Vec::new()
        }
        KeyCode::Char('b') => {
            let Some((party, _)) = chosen else { return Vec::new() };
            let Ok(member) = MemberNumber::try_from(party) else {
                app.error("Only a member's unused balance is refunded; choose a member (m).");
                return Vec::new();
            };
            let form = Form::new(vec![
                Field::text("Bank code", "4 digits", 4, ""),
                Field::text("Branch code", "3 digits", 3, ""),
                Field::choice("Account type", "←/→", &["ordinary", "current", "savings"], 0),
                Field::text("Account number", "7 digits", 7, ""),
                Field::text("Holder", "as the bank spells it", ACCOUNT_HOLDER_BYTES_MAX, ""),
                Field::choice("Close account", "←/→", &["no", "yes"], 0),
                Field::text("Reason", "for the journal", MESSAGE_BYTES_MAX, ""),
            ]);
            app.modal = Some(Modal::Form { kind: FormKind::RefundBalance { member }, form });
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn search_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Enter => {
            app.parties.editing = false;
            app.parties.page = 0;
            app.parties.selected = 0;
            app.parties.detail = None;
            app.in_flight.remove(&FetchKind::Search);
            app.fetch(app.search_fetch()).into_iter().collect()
        }
        KeyCode::Esc => {
            app.parties.editing = false;
            Vec::new()
        }
        _ => {
            app.parties.search.handle(key);
            Vec::new()
        }
    }
}

fn payouts_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let claims = app.payouts.claims.clone().unwrap_or_default();
    if move_selection(&mut app.payouts.selected, claims.len(), &key) {
        return Vec::new();
    }
    match key.code {
        KeyCode::Char(' ') => {
            if let Some(claim) = claims.get(app.payouts.selected) {
                if !app.payouts.marked.remove(&claim.claim_number) {
                    app.payouts.marked.insert(claim.claim_number);
                }
                app.payouts.selected = (app.payouts.selected + 1).min(claims.len().saturating_sub(1));
            }
        }
        KeyCode::Char('a') => {
            if app.payouts.marked.len() == claims.len() {
                app.payouts.marked.clear();
            } else {
                app.payouts.marked = claims.iter().map(|claim| claim.claim_number).collect();
            }
        }
        KeyCode::Enter => {
            let chosen: Vec<&PendingClaimRow> = if app.payouts.marked.is_empty() {
                claims.get(app.payouts.selected).into_iter().collect()
            } else {
                claims.iter().filter(|claim| app.payouts.marked.contains(&claim.claim_number)).collect()
            };
            if chosen.is_empty() {
                app.error("No claim is waiting to be approved.");
                return Vec::new();
            }
            let total: u64 = chosen.iter().map(|claim| claim.amount.get()).sum();
            let stores: BTreeSet<StoreNumber> = chosen.iter().map(|claim| claim.store).collect();
            let numbers: Vec<u64> = chosen.iter().map(|claim| claim.claim_number).collect();
            let question = format!(
                "Approve {} claim{} ({}) into one payout batch: {} yen to {} store{}? The stores' payables will be paid out when the batch is executed.",
                numbers.len(),
                plural(numbers.len()),
                numbers.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
                group_thousands(total),
                stores.len(),
                plural(stores.len())
            );
            app.modal = Some(Modal::Confirm { question, action: Action::Approve(numbers) });
        }
        KeyCode::Char('e') => {
            let batch = app.payouts.batches.last().map(|row| row.summary.batch_number.to_string()).unwrap_or_default();
            let form = Form::new(vec![
                Field::text("Batch", "the batch number", 12, &batch),
                Field::choice("Format", "←/→", &["zengin", "csv"], 0),
                Field::text("File", "empty: batch-NNNNNN.zengin (or .csv) here", 256, ""),
            ]);
            app.modal = Some(Modal::Form { kind: FormKind::Export, form });
        }
        KeyCode::Char('x') => {
            let batch = app
                .payouts
                .batches
                .iter()
                .rev()
                .find(|row| !row.executed)
                .map(|row| row.summary.batch_number.to_string())
                .unwrap_or_default();
            let today = app.live.as_ref().map(|live| live.business_day.to_string()).unwrap_or_default();
            let form = Form::new(vec![
                Field::text("Batch", "the batch number", 12, &batch),
                Field::text("Executed on", "YYYY-MM-DD, the day the bank executed it", 10, &today),
            ]);
            app.modal = Some(Modal::Form { kind: FormKind::Executed, form });
        }
        _ => {}
    }
    Vec::new()
}

fn statistics_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Some(day) = app.statistics_day() else { return Vec::new() };
    let shift = match key.code {
        KeyCode::Left | KeyCode::Char('h') => -1,
        KeyCode::Right | KeyCode::Char('l') => 1,
        KeyCode::Char('d') => {
            app.statistics.chart = Chart::Days;
            return Vec::new();
        }
        KeyCode::Char('c') => {
            app.statistics.chart = Chart::Channels;
            return Vec::new();
        }
        KeyCode::Char('s') => {
            app.statistics.chart = Chart::Stores;
            return Vec::new();
        }
        KeyCode::Char('t') => {
            app.statistics.text = !app.statistics.text;
            app.statistics.scroll = 0;
            return Vec::new();
        }
        KeyCode::Up => {
            app.statistics.scroll = app.statistics.scroll.saturating_sub(1);
            return Vec::new();
        }
        KeyCode::Down => {
            app.statistics.scroll = app.statistics.scroll.saturating_add(1);
            return Vec::new();
        }
        _ => return Vec::new(),
    };
    let Some(next) = shift_day(day, shift) else { return Vec::new() };
    if let Some(live) = &app.live
        && next > live.business_day
    {
        app.error("There are no figures after today yet.");
        return Vec::new();
    }
    app.statistics.day = Some(next);
    app.in_flight.remove(&FetchKind::Statistics);
    app.fetch(Fetch::Statistics(next)).into_iter().collect()
}

fn backup_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if move_selection(&mut app.backup.selected, app.backup.backups.len(), &key) {
        return Vec::new();
    }
    match key.code {
        KeyCode::Char('b') => {
            let form = Form::new(vec![Field::text("Label", "e.g. before month end", NAME_BYTES_MAX, "")]);
            app.modal = Some(Modal::Form { kind: FormKind::Backup, form });
        }
        KeyCode::Char('v') => {
            let number = app
                .backup
                .backups
                .get(app.backup.selected)
                .map(|row| row.result.backup_number.to_string())
                .unwrap_or_default();
            let form = Form::new(vec![Field::text("Backup", "the backup's number", 12, &number)]);
            app.modal = Some(Modal::Form { kind: FormKind::VerifyBackup, form });
        }
        KeyCode::Char('a') => {
            let question =
                "Run the audit now? The center re-checks its whole journal and ledger; it may take a while.".to_owned();
            app.modal = Some(Modal::Confirm { question, action: Action::Audit });
        }
        _ => {}
    }
    Vec::new()
}

fn modal_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Some(modal) = app.modal.take() else { return Vec::new() };
    match modal {
        Modal::Help | Modal::Text { .. } | Modal::Entry { .. }
            if matches!(key.code, KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter) =>
        {
            Vec::new()
        }
        Modal::Text { title, text, scroll } => {
            let scroll = scrolled(scroll, &key);
            app.modal = Some(Modal::Text { title, text, scroll });
            Vec::new()
        }
        Modal::Entry { entry, text, scroll } => {
            let scroll = scrolled(scroll, &key);
            app.modal = Some(Modal::Entry { entry, text, scroll });
            Vec::new()
        }
        Modal::Help => {
            app.modal = Some(Modal::Help);
            Vec::new()
        }
        Modal::Confirm { question, action } => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => app.act(action),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                app.message = Some(Message { error: false, text: "Nothing was sent.".to_owned() });
                Vec::new()
            }
            _ => {
                app.modal = Some(Modal::Confirm { question, action });
                Vec::new()
            }
        },
        Modal::Form { kind, mut form } => match form.handle(key) {
            FormOutcome::Editing => {
                app.modal = Some(Modal::Form { kind, form });
                Vec::new()
            }
            FormOutcome::Cancel => Vec::new(),
            FormOutcome::Submit => submit_form(app, kind, form),
        },
    }
}

fn scrolled(scroll: u16, key: &KeyEvent) -> u16 {
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
        KeyCode::PageUp => scroll.saturating_sub(10),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
        KeyCode::Home => 0,
        _ => scroll,
    }
}

fn digits<const N: usize>(form: &mut Form, index: usize, what: &str) -> Option<Digits<N>> {
    let parsed = Digits::<N>::new(form.text(index));
    if parsed.is_none() {
        form.fail(index, format!("{what} is {N} digits."));
    }
    parsed
}

fn submit_form(app: &mut App, kind: FormKind, mut form: Form) -> Vec<Effect> {
    let confirm = |app: &mut App, action: Action, question: String| {
        app.modal = Some(Modal::Confirm { question, action });
        Vec::new()
    };
    match kind {
        FormKind::ConfirmFunds { ref reference, ref member } => {
            let amount_yen = match form.text(0).replace(',', "").parse::<u64>() {
                Ok(amount) if denbun_protocol::wire::Amount::new(amount).is_ok() => amount,
                _ => {
                    form.fail(0, "Type the yen that arrived, a whole number above 0.");
                    app.modal = Some(Modal::Form { kind, form });
                    return Vec::new();
                }
            };
            let question = format!(
                "The money for {reference} arrived: issue {member} a prepaid card of {} yen? This credits the member's balance.",
                group_thousands(amount_yen)
            );
            confirm(app, Action::ConfirmFunds { reference: reference.clone(), amount_yen }, question)
        }
        FormKind::RejectFunds { ref reference } => {
            let reason = form.text(0).to_owned();
            if reason.is_empty() {
                form.fail(0, "Say why, for the record.");
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            }
            let question = format!("Reject top-up {reference} ({reason})? No card will be issued for it.");
            confirm(app, Action::RejectFunds { reference: reference.clone(), reason }, question)
        }
        FormKind::Freeze { party, freeze } => {
            let reason = form.text(0).to_owned();
            if reason.is_empty() {
                form.fail(0, "Say why, for the record.");
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            }
            let question = if freeze {
                format!("Freeze {party} ({reason})? Its business telegrams are refused until it is unfrozen.")
            } else {
                format!("Unfreeze {party} ({reason})? Its business telegrams are accepted again.")
            };
            confirm(app, Action::Freeze { party, freeze, reason }, question)
        }
        FormKind::RefundBalance { member } => {
            let Some(bank_code) = digits::<4>(&mut form, 0, "The bank code") else {
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            };
            let Some(branch_code) = digits::<3>(&mut form, 1, "The branch code") else {
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            };
            let Some(account_number) = digits::<7>(&mut form, 3, "The account number") else {
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            };
            let holder = form.text(4).to_owned();
            let reason = form.text(6).to_owned();
            if holder.is_empty() || reason.is_empty() {
                form.fail(if holder.is_empty() { 4 } else { 6 }, "This cannot be empty.");
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            }
            let account_type = match form.choice(2) {
                0 => AccountType::Ordinary,
                1 => AccountType::Current,
                _ => AccountType::Savings,
            };
            let account = BankAccount {
                bank_code,
                branch_code,
                account_type,
                account_number,
                holder_name: denbun_protocol::wire::Text::truncated(&holder),
            };
            let close = form.choice(5) == 1;
            let question = format!(
                "Refund the whole unused balance of {member} to bank {} branch {} account {} ({holder}){}? The money leaves the member's cards.",
                form.text(0),
                form.text(1),
                form.text(3),
                if close { " and close the account" } else { "" }
            );
            confirm(app, Action::RefundBalance { member, account, close, reason }, question)
        }
        FormKind::Export => {
            let Ok(batch) = form.text(0).parse::<u64>() else {
                form.fail(0, "Type the batch number.");
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            };
            let format = if form.choice(1) == 0 { FileFormat::Zengin } else { FileFormat::Csv };
            let extension = if format == FileFormat::Zengin { "zengin" } else { "csv" };
            let path = match form.text(2) {
                "" => format!("batch-{batch:06}.{extension}"),
                path => path.to_owned(),
            };
            // Writing a file moves no money: no confirmation.
            app.act(Action::Export { batch, format, path })
        }
        FormKind::Executed => {
            let Ok(batch) = form.text(0).parse::<u64>() else {
                form.fail(0, "Type the batch number.");
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            };
            let Some(on) = Date::parse(form.text(1)) else {
                form.fail(1, "Type the day as YYYY-MM-DD.");
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            };
            let question = format!(
                "The bank executed batch {batch} on {on}: move its payables to paid out and notify the stores? This cannot be undone."
            );
            confirm(app, Action::Executed { batch, on }, question)
        }
        FormKind::Backup => {
            let label = form.text(0).to_owned();
            let question = format!("Take a backup now (\"{label}\")?");
            confirm(app, Action::Backup { label }, question)
        }
        FormKind::VerifyBackup => {
            let Ok(number) = form.text(0).parse::<u64>() else {
                form.fail(0, "Type the backup's number.");
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            };
            app.act(Action::VerifyBackup(number))
        }
        FormKind::JournalFilter => {
            let mut filter = JournalFilter::default();
            let typed: [String; 5] = std::array::from_fn(|index| form.text(index).to_owned());
            if !typed[0].is_empty() {
                match typed[0].to_uppercase().parse::<PartyId>() {
                    Ok(party) => filter.sender = Some(party),
                    Err(_) => form.fail(0, "A party is M00000001, S00000001 or O001."),
                }
            }
            if !typed[1].is_empty() {
                match typed[1].parse::<u16>().ok().filter(|code| Code::from_number(*code).is_ok()) {
                    Some(code) => filter.code = Some(code - code % 10),
                    None => form.fail(1, "Not a telegram code (four digits, e.g. 4000)."),
                }
            }
            if !typed[2].is_empty() {
                match typed[2].parse::<u16>() {
                    Ok(result) => filter.result = Some(result),
                    Err(_) => form.fail(2, "A result is a number, e.g. 0 or 400."),
                }
            }
            for (index, target) in [(3, &mut filter.from_ms), (4, &mut filter.to_ms)] {
                if !typed[index].is_empty() {
                    match parse_time_ms(&typed[index]) {
                        Some(ms) => *target = ms,
                        None => form.fail(index, "A time is YYYY-MM-DD or YYYY-MM-DD HH:MM (UTC)."),
                    }
                }
            }
            if form.error.is_some() {
                app.modal = Some(Modal::Form { kind, form });
                return Vec::new();
            }
            filter.typed = typed;
            app.journal.filter = filter;
            restart_journal(app)
        }
    }
}

/// A code with its name, e.g. `4000 payment instruction`.
pub fn code_name(code: u16) -> String {
    match Code::from_number(code) {
        Ok(known) => format!("{code:04} {}", known.name()),
        Err(_) => format!("{code:04}"),
    }
}

/// The text of a journal entry's detail view.
pub fn entry_text(view: &EntryView, operator: PartyId) -> String {
    use std::fmt::Write as _;
    let detail = &view.detail;
    let hex = |bytes: &[u8]| bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>();
    let mut text = String::new();
    let _ = writeln!(text, "Entry {} of {} in the journal's hash chain", detail.entry, detail.journal_entries);
    let _ = writeln!(text, "  previous link  {}", hex(&detail.previous_hash));
    let _ = writeln!(text, "  this link      {}", hex(&detail.entry_hash));
    let _ = writeln!(
        text,
        "  recorded       {} UTC, {}",
        crate::mail::format_utc(detail.recorded_at_ms),
        match detail.direction {
            JournalDirection::In => "received",
            JournalDirection::Out => "sent",
        }
    );
    if detail.in_reply_to != 0 {
        let _ = writeln!(text, "  answers entry  {}", detail.in_reply_to);
    }
    let _ = writeln!(text, "  session        {} from {}", detail.session, detail.peer.as_str());
    let _ = writeln!(text, "  size           {} bytes", detail.telegram_bytes);
    let _ = writeln!(text, "Signature: {}", view.signature);
    match &view.telegram {
        Ok(telegram) => {
            let header = telegram.header();
            let _ = writeln!(text, "Telegram {}", code_name(header.code().number()));
            let by = if header.sender() == operator { " (this operator)" } else { "" };
            let _ = writeln!(text, "  sender         {}{by}", header.sender());
            let _ = writeln!(text, "  recipient      {}", header.recipient());
            let _ = writeln!(text, "  processing no. {}", header.processing_number());
            let _ = writeln!(text, "  sent at        {} UTC", crate::mail::format_utc(header.sent_at_ms()));
            let _ = writeln!(text, "  result         {}", header.result());
            let _ = writeln!(text, "Body:");
            for line in format!("{:#?}", telegram.body()).lines() {
                let _ = writeln!(text, "  {line}");
            }
        }
        Err(why) => {
            let _ = writeln!(text, "The telegram does not decode: {why}");
        }
    }
    text
}

#[cfg(test)]
mod tests;
