//! Families 94 to 98: what operators look at. Statistics and the day's
//! reconciliation, the journal, inquiry over members, stores, cards and
//! transactions, the mail queue of activation letters, audit and backup.
//!
//! ```text
//! operator                                       center
//!   | 9400 report request (date range) ----------> |
//!   | <-- 9410 report (top-ups, sales, days, reconciliation)
//!   | 9500 journal query (filters, cursor) ------> |
//!   | <-- 9510 journal page (rows, more)
//!   | 9600 inquiry (search members / member / ... / transaction) -->
//!   | <-- 9610 inquiry answer (same variant)
//!   | 9700 mail queue: list / printed -----------> |
//!   | <-- 9710 letters / printed
//!   | 9800 audit / backup / verify backup -------> |
//!   | <-- 9810 audit findings / backup / verified
//!   | 9800 live figures / journal entry ---------> |   (the console)
//!   | <-- 9810 live figures / journal entry
//! ```

use ed25519_dalek::VerifyingKey;
use x25519_dalek::PublicKey as DeliveryKey;

use crate::header::{MemberNumber, PartyId, StoreNumber};
use crate::limits::{
    ADDRESS_BYTES_MAX, AUDIT_FINDINGS_MAX, JOURNAL_PIECE_BYTES_MAX, JOURNAL_ROWS_MAX, LIVE_SECONDS_MAX,
    MAIL_LETTERS_MAX, MESSAGE_BYTES_MAX, NAME_BYTES_MAX, ORDER_LINES_MAX, QUERY_ROWS_MAX, REPORT_DAYS_MAX,
    REPORT_STORES_MAX, SEARCH_TEXT_BYTES_MAX, SHA256_BYTES, TELEGRAM_CLASSES_MAX, TRADE_NAME_BYTES_MAX,
};
use crate::telegram::{ActivationCode, BankAccount, DateRange, FundingChannel, OrderLine, PersonalData};
use crate::wire::{Amount, Blob, Date, List, Text, Yen};

body_struct! {
    /// `9400`: statistics and reconciliation over `range` (at most
    /// `REPORT_DAYS_MAX` days; the center refuses longer ranges with reason 403).
    pub struct ReportRequest {
        /// The days covered.
        pub range: DateRange,
    }
}

body_struct! {
    /// A count and a sum of yen (sums over many amounts can exceed one amount's limit).
    pub struct Total {
        /// How many.
        pub count: u64,
        /// Sum in yen.
        pub yen: u64,
    }
}

body_struct! {
    /// Top-ups by funding channel.
    pub struct TopUps {
        /// Credit company.
        pub credit_company: Total,
        /// Bank transfer.
        pub bank_transfer: Total,
        /// Post-office transfer.
        pub post_office_transfer: Total,
        /// Cash by registered mail.
        pub registered_mail_cash: Total,
    }
}

body_struct! {
    /// One store's sales.
    pub struct StoreSales {
        /// The store.
        pub store: StoreNumber,
        /// Its payments received.
        pub sales: Total,
    }
}

body_struct! {
    /// One day's volumes.
    pub struct DayVolume {
        /// The day.
        pub date: Date,
        /// Telegrams received.
        pub telegrams_in: u64,
        /// Telegrams sent.
        pub telegrams_out: u64,
        /// Payments applied.
        pub payments: Total,
    }
}

body_struct! {
    /// The ledger identity: funds in = stored value + store payables + paid out + refunded.
    pub struct Reconciliation {
        /// Everything that came in through the funding channels.
        pub funds_in_yen: u64,
        /// What members hold on their cards.
        pub stored_value_yen: u64,
        /// What the center owes stores.
        pub store_payables_yen: u64,
        /// What was paid out to stores.
        pub paid_out_yen: u64,
        /// Unused balance refunded to members' banks.
        pub refunded_yen: u64,
    }
}

body_struct! {
    /// `9410`: the report.
    pub struct Report {
        /// The days covered.
        pub range: DateRange,
        /// Top-ups by channel over the range.
        pub top_ups: TopUps,
        /// Sales by store over the range, largest first.
        pub sales_by_store: List<StoreSales, REPORT_STORES_MAX>,
        /// Volumes per day.
        pub days: List<DayVolume, REPORT_DAYS_MAX>,
        /// Payouts executed over the range.
        pub payouts: Total,
        /// Store refunds over the range.
        pub refunds: Total,
        /// Reconciliation over all time, as of the end of the range.
        pub all_time: Reconciliation,
        /// Reconciliation of the range's movements alone.
        pub range_movements: Reconciliation,
    }
}

body_struct! {
    /// `9500`: search the journal. Absent filters match everything.
    pub struct JournalQuery {
        /// Only telegrams from this party.
        pub sender: Option<PartyId>,
        /// Only this code (base code, repeat digit clear).
        pub code: Option<u16>,
        /// Only this result code (0: accepted telegrams and answers).
        pub result: Option<u16>,
        /// Recorded at or after, unix milliseconds.
        pub from_ms: u64,
        /// Recorded before, unix milliseconds.
        pub to_ms: u64,
        /// Entries after this journal entry number (0: from the start).
        pub after_entry: u64,
    }
}

body_flags! {
    /// Whether the center received or sent a journaled telegram.
    pub enum JournalDirection {
        /// Received.
        In = 1,
        /// Sent.
        Out = 2,
    }
}

body_struct! {
    /// One journal entry, summarised (the full telegram stays at the center).
    pub struct JournalRow {
        /// The entry's number in the hash chain.
        pub entry: u64,
        /// When the center recorded it, unix milliseconds.
        pub recorded_at_ms: u64,
        /// In or out.
        pub direction: JournalDirection,
        /// Telegram code as sent (repeat digit included).
        pub code: u16,
        /// Sender.
        pub sender: PartyId,
        /// Recipient.
        pub recipient: PartyId,
        /// Processing number.
        pub processing_number: u64,
        /// Result code.
        pub result: u16,
        /// SHA-256 of the telegram's bytes.
        pub telegram_sha256: [u8; SHA256_BYTES],
        /// Size of the telegram.
        pub telegram_bytes: u32,
    }
}

body_struct! {
    /// `9510`: a page of journal entries, oldest first.
    pub struct JournalPage {
        /// The entries.
        pub rows: List<JournalRow, JOURNAL_ROWS_MAX>,
        /// Whether more entries match (ask again after the last entry).
        pub more: bool,
    }
}

body_struct! {
    /// Search text and page.
    pub struct Search {
        /// Words to look for in names, trade names and addresses (empty: all).
        pub text: Text<SEARCH_TEXT_BYTES_MAX>,
        /// Page number, from 0.
        pub page: u16,
    }
}

body_enum! {
    /// `9600`: an operator's inquiry.
    pub enum Inquiry {
        /// Search members.
        SearchMembers(Search) = 1,
        /// One member in detail.
        Member(MemberNumber) = 2,
        /// Search stores.
        SearchStores(Search) = 3,
        /// One store in detail.
        Store(StoreNumber) = 4,
        /// A member's cards.
        Cards(MemberNumber) = 5,
        /// One purchase in detail.
        Transaction(u64) = 6,
    }
}

body_flags! {
    /// Where an account stands.
    pub enum AccountState {
        /// Applied; activation letter sent; not registered yet.
        Applied = 1,
        /// Registered and in good standing.
        Active = 2,
        /// Frozen by an operator.
        Frozen = 3,
        /// Closed (unused balance refunded).
        Closed = 4,
    }
}

body_struct! {
    /// A member in a search result.
    pub struct MemberRow {
        /// The member.
        pub member: MemberNumber,
        /// Name.
        pub name: Text<NAME_BYTES_MAX>,
        /// State.
        pub state: AccountState,
        /// Balance.
        pub balance: Yen,
    }
}

body_struct! {
    /// A page of members.
    pub struct MemberRows {
        /// This page, from 0.
        pub page: u16,
        /// How many pages.
        pub page_count: u16,
        /// The members.
        pub rows: List<MemberRow, QUERY_ROWS_MAX>,
    }
}

body_struct! {
    /// The keys an account registered.
    pub struct RegisteredKeys {
        /// Ed25519 verification key.
        pub verification_key: VerifyingKey,
        /// X25519 delivery key.
        pub delivery_key: DeliveryKey,
        /// When, unix milliseconds.
        pub registered_at_ms: u64,
    }
}

body_struct! {
    /// One member in detail.
    pub struct MemberDetail {
        /// The member.
        pub member: MemberNumber,
        /// Personal data.
        pub personal: PersonalData,
        /// State.
        pub state: AccountState,
        /// Balance.
        pub balance: Yen,
        /// Cards issued.
        pub cards: u32,
        /// Purchases made.
        pub purchases: u32,
        /// Keys, once registered.
        pub keys: Option<RegisteredKeys>,
    }
}

body_struct! {
    /// A store in a search result.
    pub struct StoreRow {
        /// The store.
        pub store: StoreNumber,
        /// Trade name.
        pub trade_name: Text<TRADE_NAME_BYTES_MAX>,
        /// State.
        pub state: AccountState,
        /// What the center owes it now.
        pub payable: Yen,
    }
}

body_struct! {
    /// A page of stores.
    pub struct StoreRows {
        /// This page, from 0.
        pub page: u16,
        /// How many pages.
        pub page_count: u16,
        /// The stores.
        pub rows: List<StoreRow, QUERY_ROWS_MAX>,
    }
}

body_struct! {
    /// One store in detail.
    pub struct StoreDetail {
        /// The store.
        pub store: StoreNumber,
        /// Trade name.
        pub trade_name: Text<TRADE_NAME_BYTES_MAX>,
        /// The representative's personal data.
        pub personal: PersonalData,
        /// State.
        pub state: AccountState,
        /// What the center owes it now.
        pub payable: Yen,
        /// Paid out so far, in yen.
        pub paid_out_yen: u64,
        /// Current catalog version (0: none).
        pub catalog_version: u32,
        /// Where payouts go, once registered.
        pub payout_account: Option<BankAccount>,
        /// Keys, once registered.
        pub keys: Option<RegisteredKeys>,
    }
}

body_struct! {
    /// One prepaid card.
    pub struct CardRow {
        /// The card number.
        pub card_number: u64,
        /// Value when issued.
        pub face_value: Amount,
        /// Value left.
        pub remaining: Yen,
        /// How it was paid for.
        pub channel: FundingChannel,
        /// When issued, unix milliseconds.
        pub issued_at_ms: u64,
    }
}

body_struct! {
    /// A member's cards.
    pub struct CardRows {
        /// The member.
        pub member: MemberNumber,
        /// The cards, oldest first (spending draws the oldest first).
        pub rows: List<CardRow, QUERY_ROWS_MAX>,
    }
}

body_flags! {
    /// Where a purchase stands.
    pub enum TransactionState {
        /// Paid, not yet delivered or shipped.
        Paid = 1,
        /// Delivered (acknowledged) or shipped.
        Delivered = 2,
        /// In a store's payment claim.
        Claimed = 3,
        /// Paid out to the store.
        PaidOut = 4,
        /// Refunded in full.
        Refunded = 5,
    }
}

body_struct! {
    /// One purchase in detail.
    pub struct TransactionDetail {
        /// The purchase.
        pub transaction_number: u64,
        /// Who paid.
        pub member: MemberNumber,
        /// Who was paid.
        pub store: StoreNumber,
        /// The catalog version of the prices.
        pub catalog_version: u32,
        /// What was bought.
        pub lines: List<OrderLine, ORDER_LINES_MAX>,
        /// What was paid.
        pub total: Amount,
        /// Refunded so far.
        pub refunded: Yen,
        /// Where it stands.
        pub state: TransactionState,
        /// When paid, unix milliseconds.
        pub paid_at_ms: u64,
    }
}

body_enum! {
    /// `9610`: the answer to an inquiry (same variant as the inquiry).
    pub enum InquiryAnswer {
        /// Matching members.
        Members(MemberRows) = 1,
        /// One member.
        Member(MemberDetail) = 2,
        /// Matching stores.
        Stores(StoreRows) = 3,
        /// One store.
        Store(StoreDetail) = 4,
        /// A member's cards.
        Cards(CardRows) = 5,
        /// One purchase.
        Transaction(TransactionDetail) = 6,
    }
}

body_struct! {
    /// Which letters to list.
    pub struct LetterQuery {
        /// Include letters already printed.
        pub include_printed: bool,
        /// Letters after this letter number (0: from the start).
        pub after_letter: u64,
    }
}

body_enum! {
    /// `9700`: an operator's mail queue command.
    pub enum MailQueueRequest {
        /// List letters.
        List(LetterQuery) = 1,
        /// Mark a letter printed (and posted).
        Printed(u64) = 2,
    }
}

body_struct! {
    /// An activation letter to print and post. Holds the activation code:
    /// the operator's console prints it and nothing else shows it.
    pub struct Letter {
        /// The letter's number.
        pub letter_number: u64,
        /// The member or store it activates.
        pub recipient: PartyId,
        /// Addressee.
        pub name: Text<NAME_BYTES_MAX>,
        /// Postal address.
        pub address: Text<ADDRESS_BYTES_MAX>,
        /// The one-time code (redacted in Debug).
        pub activation_code: ActivationCode,
        /// When the code stops working, unix milliseconds.
        pub expires_at_ms: u64,
        /// When the letter was written, unix milliseconds.
        pub created_at_ms: u64,
        /// Whether it was marked printed.
        pub printed: bool,
    }
}

body_struct! {
    /// A page of letters.
    pub struct LetterPage {
        /// The letters, oldest first.
        pub letters: List<Letter, MAIL_LETTERS_MAX>,
        /// Whether more letters match.
        pub more: bool,
    }
}

body_enum! {
    /// `9710`: the mail queue's answer (same variant as the request).
    pub enum MailQueueAnswer {
        /// Letters.
        Letters(LetterPage) = 1,
        /// The letter is marked printed.
        Printed(u64) = 2,
    }
}

body_struct! {
    /// A backup to take, with a label for people.
    pub struct BackupRequest {
        /// Label, e.g. "before month end".
        pub label: Text<NAME_BYTES_MAX>,
    }
}

body_struct! {
    /// One journal entry in full, from `offset` in its telegram.
    pub struct JournalEntryRequest {
        /// The entry's number in the hash chain.
        pub entry: u64,
        /// Byte offset in the telegram (a large telegram comes in pieces).
        pub offset: u32,
    }
}

body_enum! {
    /// `9800`: run the audit, take or verify a backup, or read what the
    /// operator console shows live. Tags 16 and up are the console's reads,
    /// so backups can grow below them.
    pub enum MaintenanceRequest {
        /// Check every invariant (journal chain, signatures, ledger sums).
        Audit = 1,
        /// Copy a consistent snapshot and the journal to the backup location.
        Backup(BackupRequest) = 2,
        /// Check a backup against its recorded digest.
        VerifyBackup(u64) = 3,
        /// The center's live figures: connections, telegrams per second by
        /// class, answer latency, refusals in the last hour.
        LiveFigures = 16,
        /// One journal entry in full, with its place in the hash chain.
        JournalEntry(JournalEntryRequest) = 17,
    }
}

body_struct! {
    /// The audit's result.
    pub struct AuditResult {
        /// Whether every invariant holds.
        pub passed: bool,
        /// What is wrong, in words (empty when passed).
        pub findings: List<Text<MESSAGE_BYTES_MAX>, AUDIT_FINDINGS_MAX>,
    }
}

body_struct! {
    /// A backup that was taken.
    pub struct BackupResult {
        /// The backup's number.
        pub backup_number: u64,
        /// Its size.
        pub bytes: u64,
        /// SHA-256 over the backup's contents.
        pub sha256: [u8; SHA256_BYTES],
        /// When, unix milliseconds.
        pub created_at_ms: u64,
    }
}

body_struct! {
    /// A backup that was checked.
    pub struct BackupVerification {
        /// The backup's number.
        pub backup_number: u64,
        /// Whether it is intact.
        pub intact: bool,
        /// What is wrong, in words.
        pub findings: List<Text<MESSAGE_BYTES_MAX>, AUDIT_FINDINGS_MAX>,
    }
}

body_flags! {
    /// What kind of telegram, for the live counts (by the request's family).
    pub enum TelegramClass {
        /// Sign-on, echo, sign-off, mailbox (80–84).
        Network = 1,
        /// Guide, application, registration (10–12).
        Registration = 2,
        /// Prepaid cards (20–21).
        Card = 3,
        /// Catalogs and store lists (30–32).
        Catalog = 4,
        /// Payments (40–41).
        Payment = 5,
        /// Delivery and shipment (50–53).
        Delivery = 6,
        /// Claims, payouts, refunds and statements (60–72).
        Settlement = 7,
        /// Operators (90–98).
        Operator = 8,
        /// Anything the center refused (answered with a reject).
        Refused = 9,
    }
}

body_struct! {
    /// Telegrams of one class received per second, oldest second first.
    pub struct ClassRates {
        /// The class.
        pub class: TelegramClass,
        /// One count per second, the last being the second before `now_ms`.
        pub per_second: List<u16, LIVE_SECONDS_MAX>,
    }
}

body_struct! {
    /// How long the center took to answer, over the recent answers
    /// (verified telegram handed to the committer until its durable answer).
    pub struct LatencyFigures {
        /// Answers measured.
        pub samples: u32,
        /// Median, microseconds.
        pub p50_us: u32,
        /// 90th percentile, microseconds.
        pub p90_us: u32,
        /// 99th percentile, microseconds.
        pub p99_us: u32,
        /// Slowest, microseconds.
        pub max_us: u32,
    }
}

body_struct! {
    /// The center's figures right now (kept in memory; they start again
    /// from zero when the center restarts).
    pub struct LiveFigures {
        /// The center's clock, unix milliseconds.
        pub now_ms: u64,
        /// When this center process started, unix milliseconds.
        pub started_at_ms: u64,
        /// The center's business day now (reports use it).
        pub business_day: Date,
        /// Open connections that finished their handshake.
        pub connections: u32,
        /// Signed-on sessions.
        pub signed_on_sessions: u32,
        /// Telegrams received per second by class, over the last minute.
        pub classes: List<ClassRates, TELEGRAM_CLASSES_MAX>,
        /// Answer latency.
        pub latency: LatencyFigures,
        /// Telegrams refused in the last hour.
        pub refused_last_hour: u64,
        /// Entries in the journal.
        pub journal_entries: u64,
    }
}

body_struct! {
    /// One journal entry in full: where it sits in the hash chain, and (a
    /// piece of) the telegram exactly as it travelled.
    pub struct JournalEntryDetail {
        /// The entry's number in the hash chain.
        pub entry: u64,
        /// Entries in the journal now.
        pub journal_entries: u64,
        /// Hash of the previous entry (zero for the first).
        pub previous_hash: [u8; SHA256_BYTES],
        /// This entry's own link in the chain.
        pub entry_hash: [u8; SHA256_BYTES],
        /// When the center recorded it, unix milliseconds.
        pub recorded_at_ms: u64,
        /// In or out.
        pub direction: JournalDirection,
        /// The session it travelled in (0: none).
        pub session: u64,
        /// Peer address, as text.
        pub peer: Text<MESSAGE_BYTES_MAX>,
        /// Whether the telegram decoded.
        pub decoded: bool,
        /// In: the center verified its signature and acted on it. Out: signed by the center.
        pub verified: bool,
        /// Out: the entry this answers (0 for notices and probes).
        pub in_reply_to: u64,
        /// Size of the whole telegram.
        pub telegram_bytes: u32,
        /// Where this piece starts.
        pub offset: u32,
        /// The telegram's bytes from `offset`.
        pub piece: Blob<JOURNAL_PIECE_BYTES_MAX>,
    }
}

body_enum! {
    /// `9810`: the answer to a maintenance request (same variant).
    pub enum MaintenanceAnswer {
        /// The audit ran.
        Audit(AuditResult) = 1,
        /// The backup was taken.
        Backup(BackupResult) = 2,
        /// The backup was checked.
        VerifyBackup(BackupVerification) = 3,
        /// The live figures.
        LiveFigures(LiveFigures) = 16,
        /// The journal entry.
        JournalEntry(JournalEntryDetail) = 17,
    }
}
