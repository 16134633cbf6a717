//! The terminal's state and its one pure transition:
//! [`update`]`(&mut App, Event) -> Vec<Effect>`.
//!
//! `update` never touches the network, files, the clock or randomness: keys
//! and the account task's reports come in as [`Event`]s, and everything slow
//! goes out as [`Effect`] values that the account task carries out
//! (`backend.rs`), reporting back with more events. So every screen can be
//! driven in tests by feeding events and looking at the state and effects.

mod first_run;
pub mod member;
pub mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use denbun_protocol::header::{PartyId, StoreNumber};
use denbun_protocol::keyfile::Password;
use denbun_protocol::telegram::{
    ActivationCode, Applicant, ApplicationAccepted, Body, CatalogItem, CatalogPage, DeliveryReadyNotice,
    FundingChannel, GuideText, GuideTopic, OrderLine, PaymentNotice, PersonalData, Statement, StatementRequest,
    StoreList, StoreRegistration,
};
use denbun_protocol::wire::Amount;

pub use first_run::{Step, Wizard};
pub use member::{Cart, CartLine, CatalogScreen, ItemScreen};

use super::field::{Form, SecretField};
use super::model::{AccountView, CertificateView};
use crate::catalog_file::DraftItem;
use crate::keys::SeedPhrase;

/// Member (buyer) or store (seller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A general member.
    Member,
    /// A store's clerk.
    Store,
}

impl Mode {
    /// "member" or "store".
    pub fn word(self) -> &'static str {
        match self {
            Mode::Member => "member",
            Mode::Store => "store",
        }
    }
}

/// The state of the line to the center, as the status line shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// Not connected.
    Offline,
    /// Connecting and signing on.
    Connecting,
    /// Connected without signing on (password A only: the outbox can be sent).
    Connected,
    /// Connected and signed on: notices arrive.
    SignedOn,
    /// The line went down; the terminal tries again by itself.
    Down(String),
}

/// The center as `center.pub` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CenterView {
    /// Its name.
    pub name: String,
    /// Where it listens.
    pub address: String,
    /// The fingerprint to compare with what the center publishes.
    pub fingerprint: String,
}

/// A message under the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Whether it reports a problem.
    pub error: bool,
    /// What to say: what happened and what to do next.
    pub text: String,
}

/// Long work in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    /// What is being done.
    pub label: String,
    /// Done and total units (bytes, parts), when known.
    pub progress: Option<(u64, u64)>,
}

/// A download or upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// Bytes moved so far of the total.
    Moving {
        /// Sealed bytes moved.
        done: u64,
        /// Sealed bytes in all.
        total: u64,
    },
    /// Finished; for a download, where the file was saved.
    Finished {
        /// The saved file (downloads).
        path: Option<PathBuf>,
    },
    /// Stopped, with why and what to do.
    Failed(String),
}

/// The screens. Each holds its own state; [`App::stack`] holds the ones
/// `Esc` goes back to.
#[derive(Debug)]
pub enum Screen {
    /// First run: no key file yet.
    Welcome,
    /// The guide or an agreement being read.
    Reading {
        /// Which text.
        topic: GuideTopic,
        /// The text, once it came.
        text: Option<GuideText>,
        /// Lines scrolled.
        scroll: u16,
    },
    /// The application form.
    Apply(Box<ApplyScreen>),
    /// The application was accepted.
    Applied(Box<Applied>),
    /// The registration wizard.
    Register(Box<Wizard>),
    /// Registration in progress (the wizard comes back if it fails).
    Working(Box<Wizard>),
    /// The registration certificate.
    Certificate(Box<CertificateView>),
    /// Asks for password A.
    Unlock {
        /// Password A, hidden.
        password: SecretField,
    },
    /// The menu.
    Home {
        /// The highlighted entry.
        selected: usize,
    },
    /// The history (receipts), offline.
    History {
        /// The highlighted row (newest first).
        selected: usize,
        /// Whether the receipt's details are open.
        detail: bool,
    },
    /// The outbox, offline.
    Outbox {
        /// The highlighted row.
        selected: usize,
    },
    /// Notices received.
    Notices {
        /// The highlighted row.
        selected: usize,
        /// Whether the notice's details are open.
        detail: bool,
    },
    /// Balance and cards.
    Balance,
    /// A form (top-up, shipment, refund, item, statement range, file paths).
    Form(Box<FormScreen>),
    /// The store list.
    Stores {
        /// The highlighted row.
        selected: usize,
        /// Which page.
        page: u16,
    },
    /// One store's catalog.
    Catalog(Box<CatalogScreen>),
    /// One catalog item.
    Item(Box<ItemScreen>),
    /// The cart.
    Cart {
        /// The highlighted line.
        selected: usize,
    },
    /// Confirm the payment.
    Checkout,
    /// Digital goods to download.
    Downloads {
        /// The highlighted row.
        selected: usize,
    },
    /// A signed statement.
    Statement(Box<StatementScreen>),
    /// Store: orders to fulfil.
    Orders {
        /// The highlighted row.
        selected: usize,
    },
    /// Store: one order.
    Order {
        /// The purchase.
        transaction_number: u64,
        /// The highlighted line.
        selected: usize,
    },
    /// Store: the catalog draft.
    Draft {
        /// The highlighted item.
        selected: usize,
    },
    /// Store: payment claims.
    Claims {
        /// The highlighted row.
        selected: usize,
        /// The orders picked for the claim.
        chosen: BTreeSet<u64>,
    },
    /// Store: payouts.
    Payouts {
        /// The highlighted row.
        selected: usize,
    },
    /// What happened, in a few lines (a top-up's transfer instructions, a receipt).
    Result {
        /// The title.
        title: String,
        /// The lines.
        lines: Vec<String>,
    },
}

/// The application form and the agreement it accepts.
#[derive(Debug)]
pub struct ApplyScreen {
    /// The fields.
    pub form: Form,
    /// The version of the agreement accepted.
    pub agreement_version: u32,
}

/// An accepted application, kept to fill the registration wizard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The number assigned.
    pub number: PartyId,
    /// The center's message.
    pub message: String,
    /// When the activation code expires (UTC).
    pub expires: String,
    /// The personal data applied with.
    pub name: String,
    /// The address applied with.
    pub address: String,
    /// The date of birth applied with (YYYY-MM-DD).
    pub date_of_birth: String,
    /// A store's trade name.
    pub trade_name: String,
}

/// What a form screen is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormPurpose {
    /// Member: amount and channel of a top-up.
    TopUp,
    /// The days of a statement.
    StatementRange,
    /// Store: add (None) or edit an item of the draft.
    EditItem(Option<usize>),
    /// Store: a mail-order shipment.
    Ship(u64),
    /// Store: a refund of a purchase of this total.
    Refund {
        /// The purchase.
        transaction_number: u64,
        /// What was paid.
        total_yen: u64,
    },
    /// Store: the file to deliver for an item.
    DeliverFile {
        /// The purchase.
        transaction_number: u64,
        /// The item.
        item_id: u32,
    },
    /// Store: import the draft from a CSV file.
    Import,
    /// Store: export the draft to a CSV file.
    Export,
}

/// A form on its own screen.
#[derive(Debug)]
pub struct FormScreen {
    /// What it is for.
    pub purpose: FormPurpose,
    /// The fields.
    pub form: Form,
}

/// A statement being looked at.
#[derive(Debug)]
pub struct StatementScreen {
    /// The signed statement, once it came.
    pub statement: Option<Statement>,
    /// What was asked for.
    pub request: StatementRequest,
    /// Lines scrolled.
    pub scroll: usize,
}

/// Something drawn over the screen.
#[derive(Debug)]
pub enum Overlay {
    /// The screen's keys and what it is for.
    Help,
    /// Quit although something is unsent?
    ConfirmQuit {
        /// What would be left.
        reason: String,
    },
    /// Password B, to sign.
    PasswordB {
        /// Password B, hidden.
        field: SecretField,
        /// Where to go once signing is unlocked.
        then: Option<Target>,
        /// What went wrong the last time.
        error: Option<String>,
    },
    /// A yes/no question.
    Confirm {
        /// The question.
        question: String,
        /// What yes does.
        action: ConfirmAction,
    },
}

/// What a confirmed question does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfirmAction {
    /// Remove draft item `index`.
    RemoveItem(usize),
    /// Publish the draft.
    Publish,
    /// Claim payment for these orders.
    Claim(Vec<u64>),
    /// Empty the cart.
    EmptyCart,
}

/// A place the menu leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The history.
    History,
    /// The outbox.
    Outbox,
    /// Notices.
    Notices,
    /// Balance and cards.
    Balance,
    /// Top up.
    TopUp,
    /// Stores and catalogs.
    Stores,
    /// The cart.
    Cart,
    /// Downloads.
    Downloads,
    /// A statement.
    Statement,
    /// Store: orders.
    Orders,
    /// Store: the catalog draft.
    Draft,
    /// Store: payment claims.
    Claims,
    /// Store: payouts.
    Payouts,
}

/// One entry of the home menu.
#[derive(Clone, Copy, Debug)]
pub struct MenuItem {
    /// The key that opens it.
    pub key: char,
    /// Its name.
    pub label: &'static str,
    /// Whether it signs telegrams (needs password B).
    pub needs_signing: bool,
    /// Where it leads.
    pub target: Target,
}

/// The member's menu.
pub const MEMBER_MENU: &[MenuItem] = &[
    MenuItem { key: 'h', label: "History (offline)", needs_signing: false, target: Target::History },
    MenuItem { key: 'o', label: "Outbox", needs_signing: false, target: Target::Outbox },
    MenuItem { key: 'n', label: "Notices", needs_signing: false, target: Target::Notices },
    MenuItem { key: 'b', label: "Balance and cards", needs_signing: false, target: Target::Balance },
    MenuItem { key: 't', label: "Top up", needs_signing: true, target: Target::TopUp },
    MenuItem { key: 's', label: "Stores and catalogs", needs_signing: true, target: Target::Stores },
    MenuItem { key: 'c', label: "Cart and checkout", needs_signing: true, target: Target::Cart },
    MenuItem { key: 'd', label: "Downloads", needs_signing: true, target: Target::Downloads },
    MenuItem { key: 'm', label: "Statement", needs_signing: true, target: Target::Statement },
];

/// The store's menu.
pub const STORE_MENU: &[MenuItem] = &[
    MenuItem { key: 'r', label: "Orders to fulfil", needs_signing: false, target: Target::Orders },
    MenuItem { key: 'e', label: "Catalog editor", needs_signing: false, target: Target::Draft },
    MenuItem { key: 'c', label: "Payment claims", needs_signing: true, target: Target::Claims },
    MenuItem { key: 'p', label: "Payouts", needs_signing: false, target: Target::Payouts },
    MenuItem { key: 'm', label: "Statement", needs_signing: true, target: Target::Statement },
    MenuItem { key: 'h', label: "History (offline)", needs_signing: false, target: Target::History },
    MenuItem { key: 'o', label: "Outbox", needs_signing: false, target: Target::Outbox },
    MenuItem { key: 'n', label: "Notices", needs_signing: false, target: Target::Notices },
];

/// The whole state of the terminal.
#[derive(Debug)]
pub struct App {
    /// Member or store.
    pub mode: Mode,
    /// The center, from `center.pub` or the key file.
    pub center: Option<CenterView>,
    /// The profile directory (shown on the welcome screen).
    pub profile: PathBuf,
    /// The screen shown.
    pub screen: Screen,
    /// The screens `Esc` goes back to.
    pub stack: Vec<Screen>,
    /// Drawn over the screen.
    pub overlay: Option<Overlay>,
    /// The line to the center.
    pub line: Line,
    /// What password A opened.
    pub account: Option<AccountView>,
    /// Whether password B was given (telegrams can be signed).
    pub signing: bool,
    /// Notices received since they were last looked at.
    pub unread: usize,
    /// The message under the screen.
    pub message: Option<Message>,
    /// Long work in progress.
    pub busy: Option<Busy>,
    /// The spinner's phase (advanced by ticks while busy).
    pub spinner: usize,
    /// Whether to use colours (`NO_COLOR` unset).
    pub color: bool,
    /// What the demo tells (its passwords); `None` outside the demo.
    pub demo_note: Option<String>,
    /// The last accepted application.
    pub application: Option<Applied>,
    /// The store list, once fetched.
    pub stores: Option<StoreList>,
    /// The cart.
    pub cart: Option<Cart>,
    /// Downloads and uploads by (transaction, item).
    pub transfers: BTreeMap<(u64, u32), Transfer>,
    /// Store: the catalog draft.
    pub draft: Vec<DraftItem>,
    /// Store: orders claimed in this session.
    pub claimed: BTreeSet<u64>,
    /// Where to go when signing gets unlocked.
    pub pending_target: Option<Target>,
    /// Today (UTC), for the statement form's default range; set by the runner.
    pub today: Option<denbun_protocol::wire::Date>,
    /// Set when the terminal should end.
    pub quit: bool,
}

impl App {
    /// A terminal in `mode` for `profile`; `key_file_exists` picks the first screen.
    pub fn new(mode: Mode, profile: PathBuf, center: Option<CenterView>, key_file_exists: bool) -> Self {
        App {
            mode,
            center,
            profile,
            screen: if key_file_exists { Screen::Unlock { password: SecretField::default() } } else { Screen::Welcome },
            stack: Vec::new(),
            overlay: None,
            line: Line::Offline,
            account: None,
            signing: false,
            unread: 0,
            message: None,
            busy: None,
            spinner: 0,
            color: true,
            demo_note: None,
            application: None,
            stores: None,
            cart: None,
            transfers: BTreeMap::new(),
            draft: Vec::new(),
            claimed: BTreeSet::new(),
            pending_target: None,
            today: None,
            quit: false,
        }
    }

    /// The menu of this mode.
    pub fn menu(&self) -> &'static [MenuItem] {
        match self.mode {
            Mode::Member => MEMBER_MENU,
            Mode::Store => STORE_MENU,
        }
    }

    /// Whether keys go to a text field (so `q` and `?` are letters there).
    pub fn typing(&self) -> bool {
        if matches!(self.overlay, Some(Overlay::PasswordB { .. })) {
            return true;
        }
        match &self.screen {
            Screen::Apply(_) | Screen::Register(_) | Screen::Unlock { .. } | Screen::Form(_) => true,
            Screen::Catalog(catalog) => catalog.searching,
            _ => false,
        }
    }

    /// Shows an error.
    pub fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message { error: true, text: text.into() });
    }

    /// Shows information.
    pub fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message { error: false, text: text.into() });
    }

    /// Goes to `screen`; `Esc` comes back here.
    pub fn go(&mut self, screen: Screen) {
        let previous = std::mem::replace(&mut self.screen, screen);
        self.stack.push(previous);
    }

    /// Replaces the screen without a way back to it.
    pub fn replace(&mut self, screen: Screen) {
        self.screen = screen;
    }

    /// Goes back one screen (to the menu at the bottom of the stack).
    pub fn back(&mut self) {
        if let Some(previous) = self.stack.pop() {
            self.screen = previous;
        }
    }

    /// Starts over at the menu.
    pub fn home(&mut self) {
        self.stack.clear();
        self.screen = Screen::Home { selected: 0 };
    }

    /// What would be lost or left unsent by quitting now, if anything.
    pub fn unsent(&self) -> Option<String> {
        if let Some(account) = &self.account
            && !account.outbox.is_empty()
        {
            return Some(format!(
                "{} signed telegram(s) wait in the outbox. They stay in your key file and are sent the next time \
                 you connect.",
                account.outbox.len()
            ));
        }
        if self.transfers.values().any(|transfer| matches!(transfer, Transfer::Moving { .. })) {
            return Some("A download or upload is running; it starts again where it stopped next time.".to_owned());
        }
        if self.cart.as_ref().is_some_and(|cart| !cart.lines.is_empty()) {
            return Some("Your cart is not paid; it is forgotten when you quit.".to_owned());
        }
        match &self.screen {
            Screen::Register(_) | Screen::Apply(_) => {
                Some("What you typed in this form is forgotten when you quit.".to_owned())
            }
            Screen::Working(_) => Some("Registration is still running.".to_owned()),
            _ => None,
        }
    }

    /// The number of telegrams in the outbox.
    pub fn outbox_count(&self) -> usize {
        self.account.as_ref().map_or(0, |account| account.outbox.len())
    }
}

/// What happens to the terminal.
#[derive(Debug)]
pub enum Event {
    /// A key.
    Key(KeyEvent),
    /// The window changed size (redraw).
    Resize,
    /// Time passes (spinners).
    Tick,
    /// A report from the account task.
    Backend(Update),
}

/// A report from the account task.
#[derive(Debug)]
pub enum Update {
    /// The line changed.
    Line(Line),
    /// Long work progresses.
    Progress {
        /// What is being done.
        label: String,
        /// Units done and in all, when known.
        progress: Option<(u64, u64)>,
    },
    /// Long work ended.
    Done,
    /// Something failed: what happened and what to do next.
    Failed(String),
    /// Information for the person at the terminal.
    Info(String),
    /// The guide or an agreement.
    Guide(Box<GuideText>),
    /// The application was accepted.
    Applied(Box<ApplicationAccepted>),
    /// What password A opened, after any change.
    Account(Box<AccountView>),
    /// Password A was right.
    Unlocked,
    /// Password A was wrong or the key file cannot be opened.
    UnlockFailed(String),
    /// Password B was right: the terminal can sign.
    SigningUnlocked,
    /// Password B was wrong.
    SigningFailed(String),
    /// The registration certificate arrived.
    Registered(Box<CertificateView>),
    /// The registration was refused or not answered; the key file is kept.
    RegistrationFailed(String),
    /// A page of the store list.
    Stores(Box<StoreList>),
    /// A page of a catalog.
    Catalog(Box<CatalogPage>),
    /// A statement.
    Statement(Box<Statement>),
    /// What became of a signed telegram.
    Outcome(Box<Outcome>),
    /// New notices were stored.
    Notices(usize),
    /// A download or upload moved.
    Transfer {
        /// Transaction and item.
        key: (u64, u32),
        /// Where it stands.
        state: Transfer,
    },
    /// The store's catalog draft.
    Draft(Vec<DraftItem>),
}

/// What became of one signed telegram.
#[derive(Debug)]
pub struct Outcome {
    /// What was sent.
    pub request: Body,
    /// How it ended.
    pub result: OutcomeResult,
}

/// How a signed telegram ended.
#[derive(Debug)]
pub enum OutcomeResult {
    /// The center answered (the answer is in the history).
    Answered(Box<Body>),
    /// The center refused it for good; the message says why and what to do.
    Refused(String),
    /// It waits in the outbox (line down, no answer yet).
    Waiting(String),
}

/// What the terminal asks the account task to do.
pub enum Effect {
    /// Fetch the guide or an agreement (anonymously).
    FetchGuide(GuideTopic),
    /// Apply.
    Apply {
        /// Member or store.
        applicant: Applicant,
        /// Who applies.
        personal: PersonalData,
        /// The agreement accepted.
        agreement_version: u32,
    },
    /// Make the keys and key file, and register.
    Register(Box<RegisterRequest>),
    /// Send the registration again (keys kept from before).
    ResendRegistration(Box<ResendRequest>),
    /// Open the key file with password A.
    Unlock(Password),
    /// Open the signature key with password B, connect and sign on.
    UnlockSigning(Password),
    /// Connect (and sign on if signing is unlocked), then send the outbox.
    Connect,
    /// Top up.
    TopUp {
        /// How much.
        amount: Amount,
        /// How the money comes.
        channel: FundingChannel,
    },
    /// Fetch a page of the store list.
    ListStores(u16),
    /// Fetch a page of a catalog.
    OpenCatalog {
        /// Whose.
        store: StoreNumber,
        /// Words to look for.
        search: String,
        /// Which page.
        page: u16,
    },
    /// Pay a store.
    Pay {
        /// Who.
        store: StoreNumber,
        /// The catalog version of the prices.
        catalog_version: u32,
        /// What.
        lines: Vec<OrderLine>,
    },
    /// Ask for a statement.
    Statement(StatementRequest),
    /// Download and open a digital item, then acknowledge it.
    Download(Box<DeliveryReadyNotice>),
    /// Store: seal and upload a digital item.
    Deliver {
        /// The center's payment notice (it carries the member's delivery key).
        notice: Box<PaymentNotice>,
        /// The item.
        item_id: u32,
        /// The item's content.
        file: PathBuf,
    },
    /// Store: report a shipment.
    Ship {
        /// The purchase.
        transaction_number: u64,
        /// Carrier.
        carrier: String,
        /// Tracking number or text.
        tracking: String,
    },
    /// Store: refund (part of) a purchase.
    Refund {
        /// The purchase.
        transaction_number: u64,
        /// How much.
        amount: Amount,
        /// Why.
        reason: String,
    },
    /// Store: claim payment for orders.
    Claim(Vec<u64>),
    /// Store: publish the draft as the next catalog version.
    Publish(Vec<DraftItem>),
    /// Store: save the draft.
    SaveDraft(Vec<DraftItem>),
    /// Store: read a draft from a CSV file.
    ImportDraft(PathBuf),
    /// Store: write the draft to a CSV file.
    ExportDraft(PathBuf, Vec<DraftItem>),
    /// Sign off and end.
    Quit,
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach Debug: name the effect, not its contents.
        let name = match self {
            Effect::FetchGuide(_) => "FetchGuide",
            Effect::Apply { .. } => "Apply",
            Effect::Register(_) => "Register",
            Effect::ResendRegistration(_) => "ResendRegistration",
            Effect::Unlock(_) => "Unlock",
            Effect::UnlockSigning(_) => "UnlockSigning",
            Effect::Connect => "Connect",
            Effect::TopUp { .. } => "TopUp",
            Effect::ListStores(_) => "ListStores",
            Effect::OpenCatalog { .. } => "OpenCatalog",
            Effect::Pay { .. } => "Pay",
            Effect::Statement(_) => "Statement",
            Effect::Download(_) => "Download",
            Effect::Deliver { .. } => "Deliver",
            Effect::Ship { .. } => "Ship",
            Effect::Refund { .. } => "Refund",
            Effect::Claim(_) => "Claim",
            Effect::Publish(_) => "Publish",
            Effect::SaveDraft(_) => "SaveDraft",
            Effect::ImportDraft(_) => "ImportDraft",
            Effect::ExportDraft(..) => "ExportDraft",
            Effect::Quit => "Quit",
        };
        formatter.write_str(name)
    }
}

/// What a new registration needs.
pub struct RegisterRequest {
    /// The number from the application.
    pub number: PartyId,
    /// The activation code from the letter.
    pub code: ActivationCode,
    /// Personal data.
    pub personal: PersonalData,
    /// A store's trade name and payout account.
    pub store: Option<StoreRegistration>,
    /// The new password A.
    pub password_a: Password,
    /// The new password B.
    pub password_b: Password,
    /// The optional seed phrase.
    pub seed: Option<SeedPhrase>,
}

/// What sending a registration again needs.
pub struct ResendRequest {
    /// The activation code from the letter.
    pub code: ActivationCode,
    /// Personal data.
    pub personal: PersonalData,
    /// A store's trade name and payout account.
    pub store: Option<StoreRegistration>,
    /// Password B, unless signing is unlocked already.
    pub password_b: Option<Password>,
}

/// The one transition of the terminal.
pub fn update(app: &mut App, event: Event) -> Vec<Effect> {
    match event {
        Event::Tick => {
            if app.busy.is_some() || app.line == Line::Connecting {
                app.spinner = app.spinner.wrapping_add(1);
            }
            Vec::new()
        }
        Event::Resize => Vec::new(),
        Event::Backend(update) => on_update(app, update),
        Event::Key(key) if key.kind == KeyEventKind::Release => Vec::new(),
        Event::Key(key) => on_key(app, key),
    }
}

fn is_control(key: &KeyEvent, character: char) -> bool {
    key.code == KeyCode::Char(character) && key.modifiers.contains(KeyModifiers::CONTROL)
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if is_control(&key, 'c') {
        return request_quit(app);
    }
    if let Some(overlay) = app.overlay.take() {
        return overlay_key(app, overlay, key);
    }
    app.message = None;
    if key.code == KeyCode::F(1) || (!app.typing() && key.code == KeyCode::Char('?')) {
        app.overlay = Some(Overlay::Help);
        return Vec::new();
    }
    if !app.typing() && key.code == KeyCode::Char('q') {
        return request_quit(app);
    }
    screen_key(app, key)
}

/// Quits, or asks first when something is unsent.
pub fn request_quit(app: &mut App) -> Vec<Effect> {
    match app.unsent() {
        Some(reason) if !matches!(app.overlay, Some(Overlay::ConfirmQuit { .. })) => {
            app.overlay = Some(Overlay::ConfirmQuit { reason });
            Vec::new()
        }
        _ => {
            app.quit = true;
            vec![Effect::Quit]
        }
    }
}

fn overlay_key(app: &mut App, overlay: Overlay, key: KeyEvent) -> Vec<Effect> {
    match overlay {
        Overlay::Help => Vec::new(),
        Overlay::ConfirmQuit { reason } => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => {
                app.quit = true;
                vec![Effect::Quit]
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Vec::new(),
            _ => {
                app.overlay = Some(Overlay::ConfirmQuit { reason });
                Vec::new()
            }
        },
        Overlay::Confirm { question, action } => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => confirmed(app, action),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Vec::new(),
            _ => {
                app.overlay = Some(Overlay::Confirm { question, action });
                Vec::new()
            }
        },
        Overlay::PasswordB { mut field, then, error } => match key.code {
            KeyCode::Esc => {
                field.clear();
                Vec::new()
            }
            KeyCode::Enter if field.is_empty() => {
                app.overlay =
                    Some(Overlay::PasswordB { field, then, error: Some("Type password B first.".to_owned()) });
                Vec::new()
            }
            KeyCode::Enter => {
                app.pending_target = then;
                app.busy =
                    Some(Busy { label: "Opening the signature key (about a second)".to_owned(), progress: None });
                vec![Effect::UnlockSigning(field.take())]
            }
            _ => {
                field.handle(key);
                app.overlay = Some(Overlay::PasswordB { field, then, error });
                Vec::new()
            }
        },
    }
}

fn confirmed(app: &mut App, action: ConfirmAction) -> Vec<Effect> {
    match action {
        ConfirmAction::RemoveItem(index) => store::remove_item(app, index),
        ConfirmAction::Publish => store::publish(app),
        ConfirmAction::Claim(transactions) => store::claim(app, transactions),
        ConfirmAction::EmptyCart => {
            app.cart = None;
            app.info("The cart is empty.");
            Vec::new()
        }
    }
}

fn screen_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match &app.screen {
        Screen::Welcome
        | Screen::Reading { .. }
        | Screen::Apply(_)
        | Screen::Applied(_)
        | Screen::Register(_)
        | Screen::Working(_)
        | Screen::Certificate(_)
        | Screen::Unlock { .. } => first_run::key(app, key),
        Screen::Home { .. } => home_key(app, key),
        Screen::History { .. } | Screen::Outbox { .. } | Screen::Notices { .. } | Screen::Result { .. } => {
            account_key(app, key)
        }
        Screen::Form(_) => form_key(app, key),
        Screen::Balance
        | Screen::Stores { .. }
        | Screen::Catalog(_)
        | Screen::Item(_)
        | Screen::Cart { .. }
        | Screen::Checkout
        | Screen::Downloads { .. }
        | Screen::Statement(_) => member::key(app, key),
        Screen::Orders { .. }
        | Screen::Order { .. }
        | Screen::Draft { .. }
        | Screen::Claims { .. }
        | Screen::Payouts { .. } => store::key(app, key),
    }
}

/// Moves a selection with ↑/↓/PgUp/PgDn/Home/End over `count` rows.
pub fn move_selection(selected: &mut usize, count: usize, key: &KeyEvent) -> bool {
    let last = count.saturating_sub(1);
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => *selected = selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => *selected = (*selected + 1).min(last),
        KeyCode::PageUp => *selected = selected.saturating_sub(10),
        KeyCode::PageDown => *selected = (*selected + 10).min(last),
        KeyCode::Home => *selected = 0,
        KeyCode::End => *selected = last,
        _ => return false,
    }
    true
}

fn home_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let menu = app.menu();
    let Screen::Home { selected } = &mut app.screen else { return Vec::new() };
    if move_selection(selected, menu.len(), &key) {
        return Vec::new();
    }
    let chosen = match key.code {
        KeyCode::Enter => menu.get(*selected).copied(),
        KeyCode::Char(character) => menu.iter().find(|item| item.key == character).copied(),
        _ => None,
    };
    if let Some(item) = chosen {
        return open(app, item.target);
    }
    match key.code {
        KeyCode::Char('u') if !app.signing => {
            app.overlay = Some(Overlay::PasswordB { field: SecretField::default(), then: None, error: None });
            Vec::new()
        }
        KeyCode::Char('g') => connect(app),
        _ => Vec::new(),
    }
}

/// Connects (again) now.
pub fn connect(app: &mut App) -> Vec<Effect> {
    if matches!(app.line, Line::Connecting) {
        return Vec::new();
    }
    app.line = Line::Connecting;
    vec![Effect::Connect]
}

fn needs_signing(app: &App, target: Target) -> bool {
    app.menu().iter().any(|item| item.target == target && item.needs_signing)
}

/// Opens a place of the menu, asking for password B first where it signs.
pub fn open(app: &mut App, target: Target) -> Vec<Effect> {
    if needs_signing(app, target) && !app.signing {
        app.overlay = Some(Overlay::PasswordB { field: SecretField::default(), then: Some(target), error: None });
        return Vec::new();
    }
    match target {
        Target::History => app.go(Screen::History { selected: 0, detail: false }),
        Target::Outbox => app.go(Screen::Outbox { selected: 0 }),
        Target::Notices => {
            app.unread = 0;
            app.go(Screen::Notices { selected: 0, detail: false });
        }
        Target::Balance => app.go(Screen::Balance),
        Target::TopUp => app.go(member::top_up_form()),
        Target::Stores => {
            app.go(Screen::Stores { selected: 0, page: 0 });
            app.busy = Some(Busy { label: "Fetching the store list".to_owned(), progress: None });
            return vec![Effect::ListStores(0)];
        }
        Target::Cart => app.go(Screen::Cart { selected: 0 }),
        Target::Downloads => app.go(Screen::Downloads { selected: 0 }),
        Target::Statement => app.go(member::statement_form_for(app.today)),
        Target::Orders => app.go(Screen::Orders { selected: 0 }),
        Target::Draft => app.go(Screen::Draft { selected: 0 }),
        Target::Claims => app.go(Screen::Claims { selected: 0, chosen: BTreeSet::new() }),
        Target::Payouts => app.go(Screen::Payouts { selected: 0 }),
    }
    Vec::new()
}

/// What a key on a list screen asks for.
enum ListAction {
    Stay,
    Back,
    Connect,
}

fn list_with_detail(selected: &mut usize, detail: &mut bool, count: usize, key: &KeyEvent) -> ListAction {
    match key.code {
        KeyCode::Esc if *detail => *detail = false,
        KeyCode::Esc => return ListAction::Back,
        KeyCode::Enter if count > 0 => *detail = !*detail,
        _ => {
            move_selection(selected, count, key);
        }
    }
    ListAction::Stay
}

fn account_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let records = app.account.as_ref().map_or(0, |account| account.records.len());
    let outbox = app.outbox_count();
    let notices = app.account.as_ref().map_or(0, |account| super::model::notices(&account.records).len());
    let action = match &mut app.screen {
        Screen::History { selected, detail } => list_with_detail(selected, detail, records, &key),
        Screen::Notices { selected, detail } => list_with_detail(selected, detail, notices, &key),
        Screen::Outbox { selected } => match key.code {
            KeyCode::Esc => ListAction::Back,
            KeyCode::Char('s') | KeyCode::Char('g') => ListAction::Connect,
            _ => {
                move_selection(selected, outbox, &key);
                ListAction::Stay
            }
        },
        Screen::Result { .. } if matches!(key.code, KeyCode::Esc | KeyCode::Enter) => ListAction::Back,
        _ => ListAction::Stay,
    };
    match action {
        ListAction::Stay => Vec::new(),
        ListAction::Back => {
            app.back();
            Vec::new()
        }
        ListAction::Connect => connect(app),
    }
}

fn form_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Screen::Form(screen) = &mut app.screen else { return Vec::new() };
    match screen.form.handle(key) {
        super::field::FormOutcome::Editing => Vec::new(),
        super::field::FormOutcome::Cancel => {
            screen.form.wipe();
            app.back();
            Vec::new()
        }
        super::field::FormOutcome::Submit => {
            let purpose = screen.purpose.clone();
            match purpose {
                FormPurpose::TopUp | FormPurpose::StatementRange => member::submit_form(app, purpose),
                _ => store::submit_form(app, purpose),
            }
        }
    }
}

fn on_update(app: &mut App, update: Update) -> Vec<Effect> {
    match update {
        Update::Line(line) => {
            if line == Line::SignedOn && app.line != Line::SignedOn {
                app.signing = true;
            }
            app.line = line;
        }
        Update::Progress { label, progress } => app.busy = Some(Busy { label, progress }),
        Update::Done => app.busy = None,
        Update::Failed(text) => {
            app.busy = None;
            app.error(text);
        }
        Update::Info(text) => app.info(text),
        Update::Account(view) => {
            if view.party.kind() == denbun_protocol::header::PartyKind::Store {
                app.mode = Mode::Store;
            } else if view.party.kind() == denbun_protocol::header::PartyKind::Member {
                app.mode = Mode::Member;
            }
            app.account = Some(*view);
        }
        Update::SigningUnlocked => {
            app.busy = None;
            app.signing = true;
            if let Some(target) = app.pending_target.take() {
                return open(app, target);
            }
        }
        Update::SigningFailed(text) => {
            app.busy = None;
            let then = app.pending_target.take();
            app.overlay = Some(Overlay::PasswordB { field: SecretField::default(), then, error: Some(text) });
        }
        Update::Guide(_)
        | Update::Applied(_)
        | Update::Unlocked
        | Update::UnlockFailed(_)
        | Update::Registered(_)
        | Update::RegistrationFailed(_) => return first_run::on_update(app, update),
        Update::Stores(_) | Update::Catalog(_) | Update::Statement(_) => return member::on_update(app, update),
        Update::Outcome(outcome) => outcome_message(app, *outcome),
        Update::Notices(count) => {
            app.unread += count;
            // The status line counts them; a message that is showing (an
            // answer just received) matters more than this one.
            if app.message.is_none() {
                app.info(format!("{count} new notice(s) arrived; Notices on the menu lists them."));
            }
        }
        Update::Transfer { key, state } => {
            match &state {
                Transfer::Finished { path: Some(path) } => {
                    app.info(format!("Download complete and checked; saved to {}.", path.display()));
                }
                Transfer::Finished { path: None } => {
                    app.info(format!("Upload of item {} of transaction {} complete.", key.1, key.0));
                }
                Transfer::Failed(text) => app.error(text.clone()),
                Transfer::Moving { .. } => {}
            }
            app.transfers.insert(key, state);
        }
        Update::Draft(items) => app.draft = items,
    }
    Vec::new()
}

fn outcome_message(app: &mut App, outcome: Outcome) {
    use super::model::{channel_name, yen};
    use denbun_protocol::telegram::CardAnswer;
    app.busy = None;
    let what = describe_request(&outcome.request);
    match outcome.result {
        OutcomeResult::Refused(text) => app.error(text),
        OutcomeResult::Waiting(text) if text == LINE_DOWN => {
            app.info(format!("{what}: signed and kept in the outbox; it is sent when the line is back."));
        }
        OutcomeResult::Waiting(text) => {
            app.info(format!("{what}: signed and kept in the outbox; it is sent again at the next connection. {text}"));
        }
        OutcomeResult::Answered(body) => match (&outcome.request, *body) {
            (_, Body::CardAnswer(CardAnswer::Issued(issued))) => app.info(format!(
                "Card {} issued: {}. Your balance is {}.",
                issued.card.card_number,
                yen(issued.card.face_value.get()),
                yen(issued.balance.get())
            )),
            (Body::CardRequest(request), Body::CardAnswer(CardAnswer::Pending(pending))) => {
                app.go(Screen::Result {
                    title: "Top-up waits for your transfer".to_owned(),
                    lines: vec![
                        format!("Amount:     {}", yen(pending.amount.get())),
                        format!("Channel:    {}", channel_name(request.channel)),
                        format!("Reference:  {}", pending.reference),
                        String::new(),
                        pending.instructions.to_string(),
                        String::new(),
                        "Quote the reference with your payment. The card is issued when the center confirms the \
                         money arrived; you get a notice then. Balance and cards (b) lists it as pending."
                            .to_owned(),
                    ],
                });
            }
            (_, Body::PaymentAnswer(paid)) => app.info(format!(
                "Paid {} (transaction {}). Your balance is {}.",
                yen(paid.total.get()),
                paid.transaction_number,
                yen(paid.balance.get())
            )),
            (_, Body::CatalogPublishAnswer(answer)) if answer.published => {
                app.info(format!("Catalog version {} is published.", answer.version));
            }
            (_, Body::CatalogPublishAnswer(answer)) => app.info(format!(
                "Catalog version {}: {} of {} parts received.",
                answer.version, answer.parts_received, answer.part_count
            )),
            (_, Body::ShipmentAnswer(answer)) => app.info(format!(
                "Shipment of transaction {} recorded; {} gets a notice.",
                answer.transaction_number, answer.member
            )),
            (_, Body::RefundAnswer(answer)) => app.info(format!(
                "Refunded {} of transaction {} ({} in all).",
                yen(answer.amount.get()),
                answer.transaction_number,
                yen(answer.refunded_total.get())
            )),
            (_, Body::PaymentClaimAnswer(answer)) => app.info(format!(
                "Claim {} recorded: {} order(s), {}. It waits for the center's approval.",
                answer.claim_number,
                answer.transactions,
                yen(answer.amount.get())
            )),
            (_, Body::DeliveryReceipt(receipt)) => app.info(format!(
                "Delivery receipt for item {} of transaction {} is in your history.",
                receipt.item_id, receipt.transaction_number
            )),
            (_, body) => app.info(format!("{what}: answered ({}).", body.code().name())),
        },
    }
}

/// Why a telegram waits when it was composed with the line down.
pub const LINE_DOWN: &str = "the line is down";

/// A signed request in a few words.
pub fn describe_request(body: &Body) -> String {
    use super::model::yen;
    match body {
        Body::CardRequest(request) => format!("Top-up of {}", yen(request.amount.get())),
        Body::PaymentInstruction(payment) => format!("Payment of {} to {}", yen(payment.total.get()), payment.store),
        Body::CatalogPublish(publish) => {
            format!("Catalog version {} part {} of {}", publish.version, publish.part_index + 1, publish.part_count)
        }
        Body::Shipment(shipment) => format!("Shipment of transaction {}", shipment.transaction_number),
        Body::Refund(refund) => {
            format!("Refund of {} on transaction {}", yen(refund.amount.get()), refund.transaction_number)
        }
        Body::PaymentClaim(claim) => format!("Payment claim for {} order(s)", claim.transaction_numbers.len()),
        Body::DeliveryAcknowledgement(ack) => {
            format!("Acknowledgement of item {} of transaction {}", ack.item_id, ack.transaction_number)
        }
        Body::Registration(_) => "Registration".to_owned(),
        other => other.code().name().to_owned(),
    }
}

/// The catalog item of a page, for the item screen.
pub fn item_of(page: &CatalogPage, index: usize) -> Option<&CatalogItem> {
    page.items.as_slice().get(index)
}

/// The UTC day of a unix time in milliseconds, `YYYY-MM-DD`.
pub fn date_of_unix_ms_text(unix_ms: u64) -> String {
    crate::session::date_of_unix_ms(unix_ms).map_or_else(|| "an unknown date".to_owned(), |date| date.to_string())
}
