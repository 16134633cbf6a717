//! The money records: the ledger (accounts, postings), prepaid cards,
//! funding requests, catalogs, orders, deliveries, claims, payout batches and
//! the day totals behind reports.
//!
//! Every record is one [`LedgerRecord`] and knows its own [`LedgerKey`]: a
//! family byte (an upper-case letter, so it never meets the register's
//! lower-case prefixes) followed by big-endian fields, so prefix scans come
//! out in number order and a record's neighbours are its siblings. The key
//! encoding is part of the storage contract, not of sled: another engine can
//! keep the same bytes as its keys. The table of families is in
//! `sled_store.rs`.
//!
//! A stored value is the record's tag byte and fields; the engine checks on
//! reading that the record names the key it was found under, so a misplaced
//! or damaged record is an error, never a wrong balance.

use denbun_protocol::header::{MemberNumber, PartyId, StoreNumber};
use denbun_protocol::limits::{
    CARRIER_BYTES_MAX, CATALOG_PUBLISH_ITEMS_MAX, CLAIM_ORDERS_MAX, DELIVERY_CHUNK_BYTES_MAX, ITEM_TITLE_BYTES_MAX,
    MESSAGE_BYTES_MAX, ORDER_LINES_MAX, PAYOUT_BATCH_CLAIMS_MAX, SHA256_BYTES, TRACKING_BYTES_MAX,
    TRADE_NAME_BYTES_MAX,
};
use denbun_protocol::telegram::{BankAccount, CatalogItem, ExportFormat, FundingChannel, OrderLine};
use denbun_protocol::wire::{
    Amount, Blob, Date, DecodeError, DecodeErrorKind, List, Reader, Text, Wire, Writer, Yen, decode_exact,
    encode_to_vec,
};
use denbun_protocol::{wire_enum, wire_struct};

/// Largest bank transfer file kept for a batch (Zengin or CSV). A batch of
/// `PAYOUT_BATCH_CLAIMS_MAX` transfers is far below it in either format.
pub const EXPORT_FILE_BYTES_MAX: usize = 1024 * 1024;

/// A byte string of at most `MAX` bytes with a u32 length (for files larger
/// than the protocol's u16-counted blobs). The length is checked before
/// anything is allocated.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LongBlob<const MAX: usize>(Vec<u8>);

impl<const MAX: usize> LongBlob<MAX> {
    /// Wraps `bytes`, refusing more than `MAX`.
    pub fn new(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() <= MAX && u32::try_from(MAX).is_ok()).then_some(Self(bytes))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl<const MAX: usize> std::fmt::Debug for LongBlob<MAX> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "LongBlob({} bytes)", self.0.len())
    }
}

impl<const MAX: usize> Wire for LongBlob<MAX> {
    fn encode(&self, writer: &mut Writer) {
        let length = u32::try_from(self.0.len()).expect("checked at construction");
        writer.put(&length);
        writer.put_slice(&self.0);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let length = u32::decode(reader)? as usize;
        if length > MAX {
            return Err(DecodeError::new(DecodeErrorKind::TooLong { length, max: MAX }));
        }
        Ok(Self(reader.take(length)?.to_vec()))
    }
}

wire_enum! {
    /// The kinds of ledger account.
    pub enum AccountClass {
        /// Money that arrived through one funding channel (debit-normal:
        /// its balance is what came in).
        FundingClearing = 1,
        /// A member's stored value: what remains on the member's cards.
        StoredValue = 2,
        /// What the center owes a store.
        StorePayable = 3,
        /// What was transferred to a store's bank account.
        PaidOut = 4,
        /// A member's unused balance refunded to a bank account.
        BalanceRefunded = 5,
    }
}

impl AccountClass {
    /// Whether the balance is debits minus credits (else credits minus debits).
    pub fn is_debit_normal(self) -> bool {
        self == AccountClass::FundingClearing
    }
}

wire_struct! {
    /// One ledger account: a class and the member, store or channel it belongs to.
    #[derive(Copy, Hash, PartialOrd, Ord)]
    pub struct AccountId {
        /// What kind of account.
        pub class: AccountClass,
        /// The channel's byte (clearing), else the member's or store's number.
        pub number: u64,
    }
}

impl AccountId {
    /// The clearing account of a funding channel.
    pub fn clearing(channel: FundingChannel) -> Self {
        AccountId { class: AccountClass::FundingClearing, number: u64::from(channel as u8) }
    }

    /// A member's stored value.
    pub fn stored_value(member: MemberNumber) -> Self {
        AccountId { class: AccountClass::StoredValue, number: member.get() }
    }

    /// A store's payable.
    pub fn payable(store: StoreNumber) -> Self {
        AccountId { class: AccountClass::StorePayable, number: store.get() }
    }

    /// What was paid out to a store.
    pub fn paid_out(store: StoreNumber) -> Self {
        AccountId { class: AccountClass::PaidOut, number: store.get() }
    }

    /// A member's balance refunded to a bank.
    pub fn balance_refunded(member: MemberNumber) -> Self {
        AccountId { class: AccountClass::BalanceRefunded, number: member.get() }
    }

    /// The member or store the account belongs to (the center for clearing).
    pub fn owner(&self) -> PartyId {
        let party = match self.class {
            AccountClass::FundingClearing => None,
            AccountClass::StoredValue | AccountClass::BalanceRefunded => PartyId::member(self.number).ok(),
            AccountClass::StorePayable | AccountClass::PaidOut => PartyId::store(self.number).ok(),
        };
        party.unwrap_or(PartyId::CENTER)
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.class {
            AccountClass::FundingClearing => {
                let channel = u8::try_from(self.number).ok().and_then(FundingChannel::from_byte);
                match channel {
                    Some(channel) => write!(formatter, "funding clearing ({channel:?})"),
                    None => write!(formatter, "funding clearing (channel {})", self.number),
                }
            }
            AccountClass::StoredValue => write!(formatter, "stored value of {}", self.owner()),
            AccountClass::StorePayable => write!(formatter, "payable to {}", self.owner()),
            AccountClass::PaidOut => write!(formatter, "paid out to {}", self.owner()),
            AccountClass::BalanceRefunded => write!(formatter, "balance refunded to {}", self.owner()),
        }
    }
}

wire_struct! {
    /// An account's running totals. Both only grow; the balance is their
    /// difference on the account's normal side.
    pub struct AccountRecord {
        /// The account.
        pub account: AccountId,
        /// Sum of every debit posted.
        pub debits_yen: u64,
        /// Sum of every credit posted.
        pub credits_yen: u64,
    }
}

impl AccountRecord {
    /// A fresh account with nothing posted.
    pub fn empty(account: AccountId) -> Self {
        AccountRecord { account, debits_yen: 0, credits_yen: 0 }
    }

    /// The balance on the normal side; `None` if it would be negative
    /// (which the ledger never lets happen).
    pub fn balance_yen(&self) -> Option<u64> {
        if self.account.class.is_debit_normal() {
            self.debits_yen.checked_sub(self.credits_yen)
        } else {
            self.credits_yen.checked_sub(self.debits_yen)
        }
    }
}

wire_struct! {
    /// Debits and credits summed over every account of one class.
    #[derive(Copy, Default)]
    pub struct ClassTotals {
        /// Sum of debits.
        pub debits_yen: u64,
        /// Sum of credits.
        pub credits_yen: u64,
    }
}

wire_struct! {
    /// The whole ledger in totals by class, kept with every posting so the
    /// reconciliation is one read.
    #[derive(Default)]
    pub struct LedgerTotals {
        /// Funding clearing accounts.
        pub funding_clearing: ClassTotals,
        /// Members' stored value.
        pub stored_value: ClassTotals,
        /// Stores' payables.
        pub store_payable: ClassTotals,
        /// Paid out to stores.
        pub paid_out: ClassTotals,
        /// Unused balance refunded.
        pub balance_refunded: ClassTotals,
        /// Postings made.
        pub postings: u64,
    }
}

impl LedgerTotals {
    /// The totals of one class.
    pub fn class(&self, class: AccountClass) -> &ClassTotals {
        match class {
            AccountClass::FundingClearing => &self.funding_clearing,
            AccountClass::StoredValue => &self.stored_value,
            AccountClass::StorePayable => &self.store_payable,
            AccountClass::PaidOut => &self.paid_out,
            AccountClass::BalanceRefunded => &self.balance_refunded,
        }
    }

    /// The totals of one class, to change.
    pub fn class_mut(&mut self, class: AccountClass) -> &mut ClassTotals {
        match class {
            AccountClass::FundingClearing => &mut self.funding_clearing,
            AccountClass::StoredValue => &mut self.stored_value,
            AccountClass::StorePayable => &mut self.store_payable,
            AccountClass::PaidOut => &mut self.paid_out,
            AccountClass::BalanceRefunded => &mut self.balance_refunded,
        }
    }
}

wire_enum! {
    /// What moved money.
    pub enum PostingKind {
        /// A card was issued: funding clearing → stored value.
        TopUp = 1,
        /// A member paid: stored value → store payable.
        Payment = 2,
        /// A store refunded: store payable → stored value.
        StoreRefund = 3,
        /// A store was paid out: store payable → paid out.
        Payout = 4,
        /// Unused balance went back to a member's bank: stored value → balance refunded.
        BalanceRefund = 5,
    }
}

wire_struct! {
    /// One posting: `amount` debited from one account and credited to another.
    pub struct PostingRecord {
        /// Position in the posting log, from 1.
        pub sequence: u64,
        /// When it was applied.
        pub recorded_at_ms: u64,
        /// The business day it counts for.
        pub day: Date,
        /// What it was.
        pub kind: PostingKind,
        /// The account debited.
        pub debit: AccountId,
        /// The account credited.
        pub credit: AccountId,
        /// How much.
        pub amount: Amount,
        /// Card, transaction, payout or refund number, by kind.
        pub reference: u64,
        /// Who sent the telegram that caused it.
        pub cause_sender: PartyId,
        /// That telegram's processing number (the audit finds it in the journal).
        pub cause_processing_number: u64,
        /// For people: goods, channel or note.
        pub description: Text<ITEM_TITLE_BYTES_MAX>,
    }
}

wire_enum! {
    /// Which side of an account a posting touched.
    pub enum Side {
        /// Debited.
        Debit = 1,
        /// Credited.
        Credit = 2,
    }
}

wire_struct! {
    /// An account's view of one posting, indexed by day for statements.
    pub struct AccountEntry {
        /// The account.
        pub account: AccountId,
        /// The posting's business day.
        pub day: Date,
        /// The posting's sequence.
        pub sequence: u64,
        /// Debit or credit.
        pub side: Side,
        /// How much.
        pub amount: Amount,
        /// The account's balance right after (so a statement's opening balance is one read).
        pub balance_after_yen: u64,
    }
}

wire_struct! {
    /// A prepaid card.
    pub struct CardRecord {
        /// Its number.
        pub card_number: u64,
        /// Whose.
        pub member: MemberNumber,
        /// How it was paid for.
        pub channel: FundingChannel,
        /// What it was worth when issued.
        pub face_value: Amount,
        /// What remains (`<= face_value`).
        pub remaining_yen: u64,
        /// When issued.
        pub issued_at_ms: u64,
        /// The funding request it settles (0: issued at once).
        pub funding_number: u64,
    }
}

wire_struct! {
    /// Index: one of a member's cards (all of them, oldest first).
    pub struct MemberCard {
        /// The member.
        pub member: MemberNumber,
        /// The card.
        pub card_number: u64,
    }
}

wire_struct! {
    /// Index: a member's card with value left (spending draws these, oldest first).
    pub struct LiveCard {
        /// The member.
        pub member: MemberNumber,
        /// The card.
        pub card_number: u64,
    }
}

wire_struct! {
    /// What a payment drew from one card (refunds give it back there), for
    /// a purchase whose draws are [`Draws::Apart`].
    pub struct CardDraw {
        /// The purchase.
        pub transaction_number: u64,
        /// The card.
        pub card_number: u64,
        /// Drawn by the payment.
        pub drawn_yen: u64,
        /// Given back by refunds so far (`<= drawn_yen`).
        pub restored_yen: u64,
    }
}

wire_enum! {
    /// Where a funding request stands.
    pub enum FundingStatus {
        /// Waiting for the money.
        Pending = 1,
        /// The money arrived and the card was issued.
        Confirmed = 2,
        /// Given up by an operator.
        Rejected = 3,
    }
}

wire_struct! {
    /// A card request waiting for a transfer or registered mail.
    pub struct FundingRecord {
        /// Its number (the transfer reference encodes it).
        pub funding_number: u64,
        /// Who asked.
        pub member: MemberNumber,
        /// How the money comes.
        pub channel: FundingChannel,
        /// The amount asked for.
        pub amount: Amount,
        /// When asked.
        pub requested_at_ms: u64,
        /// Where it stands.
        pub status: FundingStatus,
        /// When an operator decided (0 while pending).
        pub decided_at_ms: u64,
        /// The operator who decided (the center while pending).
        pub decided_by: PartyId,
        /// What arrived (0 unless confirmed).
        pub amount_received_yen: u64,
        /// The card issued (0 unless confirmed).
        pub card_number: u64,
        /// The operator's reason for a rejection.
        pub note: Text<MESSAGE_BYTES_MAX>,
    }
}

wire_struct! {
    /// Index: a funding request still pending.
    pub struct PendingFunding {
        /// The request.
        pub funding_number: u64,
    }
}

wire_struct! {
    /// What the credit company granted a member in one month.
    pub struct CreditUsage {
        /// The member.
        pub member: MemberNumber,
        /// The month as `yyyymm`.
        pub month: u32,
        /// Granted so far.
        pub used_yen: u64,
    }
}

wire_struct! {
    /// A store's catalog: the current version and the one being published.
    pub struct CatalogHead {
        /// The store.
        pub store: StoreNumber,
        /// The current version (0: none published).
        pub current_version: u32,
        /// Items in the current version.
        pub item_count: u16,
        /// Parts the current version was published in.
        pub current_part_count: u16,
        /// When the current version was completed.
        pub published_at_ms: u64,
        /// The version whose parts are arriving (0: none).
        pub pending_version: u32,
        /// Its part count.
        pub pending_part_count: u16,
        /// Parts received, in order from 0.
        pub pending_parts_received: u16,
    }
}

wire_struct! {
    /// One part of a catalog version, as published.
    pub struct CatalogPart {
        /// The store.
        pub store: StoreNumber,
        /// The version.
        pub version: u32,
        /// Which part.
        pub part_index: u16,
        /// Its items.
        pub items: List<CatalogItem, CATALOG_PUBLISH_ITEMS_MAX>,
    }
}

wire_struct! {
    /// One item of a completed catalog version (what payments and pages read).
    pub struct CatalogEntry {
        /// The store.
        pub store: StoreNumber,
        /// The version.
        pub version: u32,
        /// The item.
        pub item: CatalogItem,
    }
}

wire_struct! {
    /// A mail-order shipment.
    pub struct ShipmentRecord {
        /// Carrier name.
        pub carrier: Text<CARRIER_BYTES_MAX>,
        /// Tracking text.
        pub tracking: Text<TRACKING_BYTES_MAX>,
        /// When the store reported it.
        pub shipped_at_ms: u64,
    }
}

wire_struct! {
    /// One purchase.
    pub struct TransactionRecord {
        /// The member's transaction number.
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
        /// When paid.
        pub paid_at_ms: u64,
        /// The member's balance right after (a repeated instruction gets this answer again).
        pub balance_after: Yen,
        /// Refunded so far (`<= total`).
        pub refunded_yen: u64,
        /// Whether a line is mail order (needs a shipment).
        pub needs_shipment: bool,
        /// Digital lines (each needs an acknowledged delivery).
        pub digital_items: u16,
        /// Digital lines acknowledged so far.
        pub digital_acknowledged: u16,
        /// The shipment, once reported.
        pub shipment: Option<ShipmentRecord>,
        /// When everything was delivered or shipped (0: not yet).
        pub delivered_at_ms: u64,
        /// The payment claim it is in (0: none).
        pub claim_number: u64,
        /// Whether the claim was paid out.
        pub paid_out: bool,
        /// The first line's title, for statements.
        pub description: Text<ITEM_TITLE_BYTES_MAX>,
        /// What it drew from the member's cards (the last field: see [`Draws`]).
        pub draws: Draws,
    }
}

/// Cards a purchase keeps its draws for, in the purchase itself. Nearly
/// every payment draws from one or two cards; one that draws from more
/// keeps them as [`CardDraw`] records, as every purchase did before.
pub const PURCHASE_DRAWS_MAX: usize = 16;

wire_struct! {
    /// What a payment drew from one card, kept in its purchase.
    pub struct PurchaseDraw {
        /// The card.
        pub card_number: u64,
        /// Drawn by the payment.
        pub drawn_yen: u64,
        /// Given back by refunds so far (`<= drawn_yen`).
        pub restored_yen: u64,
    }
}

/// Where a purchase's card draws are.
///
/// A key written is what sled charges for, so a payment keeps its draws in
/// the purchase it writes anyway rather than one [`CardDraw`] record per
/// card. Encoded as the purchase's last field: tag 1 and the list (kept),
/// or tag 0 (apart). A purchase stored before the draws were kept ends
/// before this field; [`LedgerRecord::decode_stored`] reads it as apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Draws {
    /// In the purchase, oldest card first.
    Kept(List<PurchaseDraw, PURCHASE_DRAWS_MAX>),
    /// As [`CardDraw`] records under the purchase's number.
    Apart,
}

impl Wire for Draws {
    fn encode(&self, writer: &mut Writer) {
        match self {
            Draws::Apart => writer.put(&0u8),
            Draws::Kept(draws) => {
                writer.put(&1u8);
                writer.put(draws);
            }
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(reader)? {
            0 => Ok(Draws::Apart),
            1 => Ok(Draws::Kept(List::decode(reader)?)),
            other => Err(DecodeError::invalid(u64::from(other))),
        }
    }
}

impl LedgerRecord {
    /// Reads a money record stored as a whole database value. A purchase
    /// stored before purchases kept their draws ends where its draws field
    /// would begin, and reads with its draws apart (they are: its
    /// [`CardDraw`] records).
    pub fn decode_stored(bytes: &[u8]) -> Result<Self, DecodeError> {
        let Some((&family::TRANSACTION, fields)) = bytes.split_first() else {
            return decode_exact(bytes);
        };
        let mut reader = Reader::new(fields);
        let mut purchase = TransactionRecord::decode_without_draws(&mut reader)?;
        if reader.remaining() > 0 {
            purchase.draws = Draws::decode(&mut reader).map_err(|error| error.in_field("draws"))?;
        }
        reader.finish()?;
        Ok(LedgerRecord::Transaction(purchase))
    }
}

impl TransactionRecord {
    /// Reads a purchase as builds before [`Draws`] wrote it: every field but
    /// the draws, which are then apart. Only for a record whose end is
    /// known otherwise, since nothing in it says where it ends: a shipped
    /// journal's writes of those builds (`backup/batch.rs`).
    pub fn decode_without_draws(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        fn field<T: Wire>(reader: &mut Reader<'_>, name: &'static str) -> Result<T, DecodeError> {
            T::decode(reader).map_err(|error| error.in_field(name))
        }
        Ok(TransactionRecord {
            transaction_number: field(reader, "transaction_number")?,
            member: field(reader, "member")?,
            store: field(reader, "store")?,
            catalog_version: field(reader, "catalog_version")?,
            lines: field(reader, "lines")?,
            total: field(reader, "total")?,
            paid_at_ms: field(reader, "paid_at_ms")?,
            balance_after: field(reader, "balance_after")?,
            refunded_yen: field(reader, "refunded_yen")?,
            needs_shipment: field(reader, "needs_shipment")?,
            digital_items: field(reader, "digital_items")?,
            digital_acknowledged: field(reader, "digital_acknowledged")?,
            shipment: field(reader, "shipment")?,
            delivered_at_ms: field(reader, "delivered_at_ms")?,
            claim_number: field(reader, "claim_number")?,
            paid_out: field(reader, "paid_out")?,
            description: field(reader, "description")?,
            draws: Draws::Apart,
        })
    }

    /// What the store is still owed for it.
    pub fn net_yen(&self) -> u64 {
        self.total.get().checked_sub(self.refunded_yen).expect("refunds never exceed the total")
    }
}

wire_struct! {
    /// Index: one of a member's purchases. Older builds wrote one for every
    /// purchase; newer ones count purchases in [`MemberPurchases`] instead,
    /// and those written stay as they are.
    pub struct MemberTransaction {
        /// The member.
        pub member: MemberNumber,
        /// The purchase.
        pub transaction_number: u64,
    }
}

wire_struct! {
    /// How many purchases a member has made since purchases stopped being
    /// indexed one key each (`N`): their count is this plus the member's
    /// [`MemberTransaction`] entries. Updated in place, one key per member.
    pub struct MemberPurchases {
        /// The member.
        pub member: MemberNumber,
        /// Purchases counted here.
        pub purchases: u64,
    }
}

wire_struct! {
    /// The sealed content of one digital item of a purchase, as the center holds it.
    pub struct DeliveryRecord {
        /// The purchase.
        pub transaction_number: u64,
        /// The item.
        pub item_id: u32,
        /// Who receives.
        pub member: MemberNumber,
        /// Who delivers.
        pub store: StoreNumber,
        /// Plaintext size (from the catalog).
        pub content_bytes: u64,
        /// Plaintext SHA-256 (from the catalog).
        pub content_sha256: [u8; SHA256_BYTES],
        /// Sealed size.
        pub sealed_bytes: u64,
        /// The store's ephemeral X25519 key for this sealing.
        pub ephemeral_key: [u8; 32],
        /// Contiguous sealed bytes held from offset 0.
        pub received_bytes: u64,
        /// When the last chunk arrived (0: still uploading).
        pub ready_at_ms: u64,
        /// When the member acknowledged it (0: not yet).
        pub acknowledged_at_ms: u64,
    }
}

wire_struct! {
    /// One sealed chunk the center holds for relaying.
    pub struct DeliveryChunkRecord {
        /// The purchase.
        pub transaction_number: u64,
        /// The item.
        pub item_id: u32,
        /// Chunk index (offset / `DELIVERY_CHUNK_BYTES_MAX`).
        pub chunk_index: u32,
        /// The sealed bytes.
        pub bytes: Blob<DELIVERY_CHUNK_BYTES_MAX>,
    }
}

wire_enum! {
    /// Where a payment claim stands.
    pub enum ClaimStatus {
        /// Waiting for an operator.
        Pending = 1,
        /// In an approved payout batch.
        Approved = 2,
        /// The batch was executed.
        PaidOut = 3,
    }
}

wire_struct! {
    /// A store's payment claim.
    pub struct ClaimRecord {
        /// Its number.
        pub claim_number: u64,
        /// Whose.
        pub store: StoreNumber,
        /// The purchases claimed, ascending.
        pub transactions: List<u64, CLAIM_ORDERS_MAX>,
        /// What it pays (their totals less refunds, at claim time).
        pub amount: Amount,
        /// When claimed.
        pub claimed_at_ms: u64,
        /// Where it stands.
        pub status: ClaimStatus,
        /// The batch it is in (0: none yet).
        pub batch_number: u64,
    }
}

wire_struct! {
    /// Index: a claim waiting for approval.
    pub struct PendingClaim {
        /// The claim.
        pub claim_number: u64,
    }
}

wire_struct! {
    /// A store's claims not yet paid out: the payable must always cover them.
    pub struct StoreClaims {
        /// The store.
        pub store: StoreNumber,
        /// Sum of its pending and approved claims.
        pub outstanding_yen: u64,
    }
}

wire_struct! {
    /// One transfer of a payout batch (one per store).
    pub struct BatchTransfer {
        /// The store.
        pub store: StoreNumber,
        /// The center's number for this payout.
        pub payout_number: u64,
        /// What is transferred.
        pub amount: Amount,
        /// The store's trade name at approval.
        pub trade_name: Text<TRADE_NAME_BYTES_MAX>,
        /// The store's bank account at approval.
        pub account: BankAccount,
        /// The claims it settles, ascending.
        pub claims: List<u64, PAYOUT_BATCH_CLAIMS_MAX>,
    }
}

wire_struct! {
    /// A payout batch.
    pub struct BatchRecord {
        /// Its number.
        pub batch_number: u64,
        /// The claims in it, ascending.
        pub claims: List<u64, PAYOUT_BATCH_CLAIMS_MAX>,
        /// One transfer per store, by store number.
        pub transfers: List<BatchTransfer, PAYOUT_BATCH_CLAIMS_MAX>,
        /// Sum of the transfers.
        pub total: Amount,
        /// When approved.
        pub approved_at_ms: u64,
        /// The business day of approval (the transfer date in the Zengin file).
        pub approved_on: Date,
        /// The operator who approved.
        pub approved_by: PartyId,
        /// The day the bank executed it, once marked.
        pub executed_on: Option<Date>,
        /// When it was marked executed (0: not yet).
        pub executed_at_ms: u64,
    }
}

wire_struct! {
    /// A batch's bank transfer file, kept as exported the first time so every
    /// later export is byte-identical.
    pub struct ExportFileRecord {
        /// The batch.
        pub batch_number: u64,
        /// Zengin or CSV.
        pub format: ExportFormat,
        /// The file.
        pub bytes: LongBlob<EXPORT_FILE_BYTES_MAX>,
    }
}

wire_struct! {
    /// An operator's refund of a member's unused balance.
    pub struct BalanceRefundRecord {
        /// Its number.
        pub refund_number: u64,
        /// Whose balance.
        pub member: MemberNumber,
        /// What was refunded.
        pub amount: Yen,
        /// Where it goes.
        pub account: BankAccount,
        /// Whether the account was closed.
        pub closed: bool,
        /// The operator.
        pub operator: PartyId,
        /// When.
        pub refunded_at_ms: u64,
        /// Why.
        pub reason: Text<MESSAGE_BYTES_MAX>,
    }
}

wire_struct! {
    /// A count and a sum.
    #[derive(Copy, Default)]
    pub struct CountYen {
        /// How many.
        pub count: u64,
        /// Sum in yen.
        pub yen: u64,
    }
}

impl CountYen {
    /// Adds one movement of `yen`.
    pub fn add(&mut self, yen: u64) {
        self.count = self.count.checked_add(1).expect("counts stay far below u64");
        self.yen = self.yen.checked_add(yen).expect("sums of limited amounts stay far below u64");
    }
}

wire_struct! {
    /// One business day's movements.
    pub struct DayTotals {
        /// The day.
        pub day: Date,
        /// Debits and credits by class over the day.
        pub movements: LedgerTotals,
        /// Top-ups by credit company.
        pub top_ups_credit_company: CountYen,
        /// Top-ups by bank transfer.
        pub top_ups_bank_transfer: CountYen,
        /// Top-ups by post-office transfer.
        pub top_ups_post_office_transfer: CountYen,
        /// Top-ups by registered-mail cash.
        pub top_ups_registered_mail_cash: CountYen,
        /// Payments.
        pub payments: CountYen,
        /// Store refunds.
        pub store_refunds: CountYen,
        /// Payouts executed.
        pub payouts: CountYen,
        /// Unused balance refunded.
        pub balance_refunds: CountYen,
    }
}

impl DayTotals {
    /// A day with nothing in it.
    pub fn empty(day: Date) -> Self {
        DayTotals {
            day,
            movements: LedgerTotals::default(),
            top_ups_credit_company: CountYen::default(),
            top_ups_bank_transfer: CountYen::default(),
            top_ups_post_office_transfer: CountYen::default(),
            top_ups_registered_mail_cash: CountYen::default(),
            payments: CountYen::default(),
            store_refunds: CountYen::default(),
            payouts: CountYen::default(),
            balance_refunds: CountYen::default(),
        }
    }

    /// The top-ups of one channel.
    pub fn top_ups_mut(&mut self, channel: FundingChannel) -> &mut CountYen {
        match channel {
            FundingChannel::CreditCompany => &mut self.top_ups_credit_company,
            FundingChannel::BankTransfer => &mut self.top_ups_bank_transfer,
            FundingChannel::PostOfficeTransfer => &mut self.top_ups_post_office_transfer,
            FundingChannel::RegisteredMailCash => &mut self.top_ups_registered_mail_cash,
        }
    }
}

wire_struct! {
    /// One store's sales on one business day.
    pub struct DayStoreSales {
        /// The day.
        pub day: Date,
        /// The store.
        pub store: StoreNumber,
        /// Its payments received.
        pub sales: CountYen,
    }
}

/// The key of a [`LedgerRecord`]: a family byte and big-endian fields.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LedgerKey(Vec<u8>);

impl std::fmt::Debug for LedgerKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.split_first() {
            Some((family, rest)) => {
                write!(formatter, "{}/", char::from(*family))?;
                rest.iter().try_for_each(|byte| write!(formatter, "{byte:02x}"))
            }
            None => formatter.write_str("(empty)"),
        }
    }
}

/// Builds keys: the family byte, then each field's canonical (big-endian) encoding.
macro_rules! key {
    ($family:expr $(, $field:expr)* $(,)?) => {{
        let mut writer = Writer::with_capacity(32);
        writer.put(&$family);
        $( writer.put(&$field); )*
        LedgerKey(writer.into_vec())
    }};
}

/// Family bytes (see the key table in `sled_store.rs`).
pub mod family {
    /// [`super::AccountRecord`] by account.
    pub const ACCOUNT: u8 = b'A';
    /// The single [`super::LedgerTotals`].
    pub const TOTALS: u8 = b'T';
    /// [`super::PostingRecord`] by sequence.
    pub const POSTING: u8 = b'P';
    /// [`super::AccountEntry`] by account, day, sequence.
    pub const ACCOUNT_ENTRY: u8 = b'Q';
    /// [`super::CardRecord`] by card number.
    pub const CARD: u8 = b'C';
    /// [`super::MemberCard`] by member, card.
    pub const MEMBER_CARD: u8 = b'K';
    /// [`super::LiveCard`] by member, card.
    pub const LIVE_CARD: u8 = b'L';
    /// [`super::CardDraw`] by transaction, card.
    pub const CARD_DRAW: u8 = b'X';
    /// [`super::FundingRecord`] by funding number.
    pub const FUNDING: u8 = b'F';
    /// [`super::PendingFunding`] by funding number.
    pub const PENDING_FUNDING: u8 = b'G';
    /// [`super::CreditUsage`] by member, month.
    pub const CREDIT_USAGE: u8 = b'U';
    /// [`super::CatalogHead`] by store.
    pub const CATALOG_HEAD: u8 = b'H';
    /// [`super::CatalogPart`] by store, version, part.
    pub const CATALOG_PART: u8 = b'I';
    /// [`super::CatalogEntry`] by store, version, item.
    pub const CATALOG_ENTRY: u8 = b'J';
    /// [`super::TransactionRecord`] by transaction number.
    pub const TRANSACTION: u8 = b'O';
    /// [`super::MemberTransaction`] by member, transaction.
    pub const MEMBER_TRANSACTION: u8 = b'N';
    /// [`super::MemberPurchases`] by member. Every upper-case letter was
    /// taken; the lower-case one beside its index is free in the store.
    pub const MEMBER_PURCHASES: u8 = b'n';
    /// [`super::DeliveryRecord`] by transaction, item.
    pub const DELIVERY: u8 = b'D';
    /// [`super::DeliveryChunkRecord`] by transaction, item, chunk.
    pub const DELIVERY_CHUNK: u8 = b'E';
    /// [`super::ClaimRecord`] by claim number.
    pub const CLAIM: u8 = b'R';
    /// [`super::PendingClaim`] by claim number.
    pub const PENDING_CLAIM: u8 = b'S';
    /// [`super::StoreClaims`] by store.
    pub const STORE_CLAIMS: u8 = b'M';
    /// [`super::BatchRecord`] by batch number.
    pub const BATCH: u8 = b'B';
    /// [`super::ExportFileRecord`] by batch, format.
    pub const EXPORT_FILE: u8 = b'W';
    /// [`super::BalanceRefundRecord`] by refund number.
    pub const BALANCE_REFUND: u8 = b'V';
    /// [`super::DayTotals`] by day.
    pub const DAY_TOTALS: u8 = b'Y';
    /// [`super::DayStoreSales`] by day, store.
    pub const DAY_STORE_SALES: u8 = b'Z';
}

impl LedgerKey {
    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A key again from the bytes of one made here ([`LedgerKey::as_bytes`]),
    /// as a group's overlay keeps them.
    pub(crate) fn from_written(bytes: Vec<u8>) -> Self {
        LedgerKey(bytes)
    }

    /// An account.
    pub fn account(account: AccountId) -> Self {
        key!(family::ACCOUNT, account)
    }
    /// The ledger totals.
    pub fn totals() -> Self {
        key!(family::TOTALS)
    }
    /// A posting.
    pub fn posting(sequence: u64) -> Self {
        key!(family::POSTING, sequence)
    }
    /// An account's entry for a posting.
    pub fn account_entry(account: AccountId, day: Date, sequence: u64) -> Self {
        key!(family::ACCOUNT_ENTRY, account, day, sequence)
    }
    /// A card.
    pub fn card(card_number: u64) -> Self {
        key!(family::CARD, card_number)
    }
    /// A member's card in the index of all cards.
    pub fn member_card(member: MemberNumber, card_number: u64) -> Self {
        key!(family::MEMBER_CARD, member, card_number)
    }
    /// A member's card in the index of cards with value left.
    pub fn live_card(member: MemberNumber, card_number: u64) -> Self {
        key!(family::LIVE_CARD, member, card_number)
    }
    /// What a purchase drew from a card.
    pub fn card_draw(transaction_number: u64, card_number: u64) -> Self {
        key!(family::CARD_DRAW, transaction_number, card_number)
    }
    /// A funding request.
    pub fn funding(funding_number: u64) -> Self {
        key!(family::FUNDING, funding_number)
    }
    /// A pending funding request.
    pub fn pending_funding(funding_number: u64) -> Self {
        key!(family::PENDING_FUNDING, funding_number)
    }
    /// A member's credit usage in a month (`yyyymm`).
    pub fn credit_usage(member: MemberNumber, month: u32) -> Self {
        key!(family::CREDIT_USAGE, member, month)
    }
    /// A store's catalog head.
    pub fn catalog_head(store: StoreNumber) -> Self {
        key!(family::CATALOG_HEAD, store)
    }
    /// A part of a catalog version.
    pub fn catalog_part(store: StoreNumber, version: u32, part_index: u16) -> Self {
        key!(family::CATALOG_PART, store, version, part_index)
    }
    /// An item of a catalog version.
    pub fn catalog_entry(store: StoreNumber, version: u32, item_id: u32) -> Self {
        key!(family::CATALOG_ENTRY, store, version, item_id)
    }
    /// A purchase.
    pub fn transaction(transaction_number: u64) -> Self {
        key!(family::TRANSACTION, transaction_number)
    }
    /// A member's purchase in the member's index.
    pub fn member_transaction(member: MemberNumber, transaction_number: u64) -> Self {
        key!(family::MEMBER_TRANSACTION, member, transaction_number)
    }
    /// A member's purchase count.
    pub fn member_purchases(member: MemberNumber) -> Self {
        key!(family::MEMBER_PURCHASES, member)
    }
    /// A digital item's delivery.
    pub fn delivery(transaction_number: u64, item_id: u32) -> Self {
        key!(family::DELIVERY, transaction_number, item_id)
    }
    /// A sealed chunk.
    pub fn delivery_chunk(transaction_number: u64, item_id: u32, chunk_index: u32) -> Self {
        key!(family::DELIVERY_CHUNK, transaction_number, item_id, chunk_index)
    }
    /// A payment claim.
    pub fn claim(claim_number: u64) -> Self {
        key!(family::CLAIM, claim_number)
    }
    /// A pending claim.
    pub fn pending_claim(claim_number: u64) -> Self {
        key!(family::PENDING_CLAIM, claim_number)
    }
    /// A store's outstanding claims.
    pub fn store_claims(store: StoreNumber) -> Self {
        key!(family::STORE_CLAIMS, store)
    }
    /// A payout batch.
    pub fn batch(batch_number: u64) -> Self {
        key!(family::BATCH, batch_number)
    }
    /// A batch's transfer file.
    pub fn export_file(batch_number: u64, format: ExportFormat) -> Self {
        key!(family::EXPORT_FILE, batch_number, format)
    }
    /// A balance refund.
    pub fn balance_refund(refund_number: u64) -> Self {
        key!(family::BALANCE_REFUND, refund_number)
    }
    /// A day's totals.
    pub fn day_totals(day: Date) -> Self {
        key!(family::DAY_TOTALS, day)
    }
    /// A store's sales on a day.
    pub fn day_store_sales(day: Date, store: StoreNumber) -> Self {
        key!(family::DAY_STORE_SALES, day, store)
    }
}

/// A half-open range of keys `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRange {
    /// The first key included.
    pub start: Vec<u8>,
    /// The first key excluded.
    pub end: Vec<u8>,
}

impl LedgerRange {
    /// Every key that starts with `prefix`'s bytes.
    pub fn prefix(prefix: LedgerKey) -> Self {
        let start = prefix.0;
        LedgerRange { end: successor(&start), start }
    }

    /// Every key of one family.
    pub fn family(family_byte: u8) -> Self {
        Self::prefix(key!(family_byte))
    }

    /// Keys from `start` (included) to `end` (excluded).
    pub fn between(start: LedgerKey, end: LedgerKey) -> Self {
        LedgerRange { start: start.0, end: end.0 }
    }

    /// Keys from `start` (included) to the end of `prefix`.
    pub fn from_within(start: LedgerKey, prefix: LedgerKey) -> Self {
        LedgerRange { start: start.0, end: successor(&prefix.0) }
    }

    /// Keys of `prefix` followed by a big-endian u64 in `after+1..` (paging by number).
    pub fn after(prefix: LedgerKey, after: u64) -> Self {
        let end = successor(&prefix.0);
        match after.checked_add(1) {
            Some(first) => {
                let mut start = prefix.0;
                start.extend_from_slice(&first.to_be_bytes());
                LedgerRange { start, end }
            }
            None => LedgerRange { start: end.clone(), end },
        }
    }

    /// The rest of the range after `key` (paging through a long scan).
    pub fn resume_after(&self, key: &LedgerKey) -> Self {
        let mut start = key.0.clone();
        start.push(0);
        LedgerRange { start, end: self.end.clone() }
    }

    /// Whether `key` is in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && key < self.end.as_slice()
    }
}

/// Prefixes for scans: a family byte and leading fields.
impl LedgerKey {
    /// Keys of one family with leading fields, as a prefix (e.g. a member's live cards).
    pub fn prefix_of(family: u8, fields: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(1 + fields.len());
        bytes.push(family);
        bytes.extend_from_slice(fields);
        LedgerKey(bytes)
    }

    /// Encodes `value` after a family byte (prefix helper for typed fields).
    pub fn family_with<T: Wire>(family: u8, value: &T) -> Self {
        Self::prefix_of(family, &encode_to_vec(value))
    }
}

/// The smallest byte string greater than every string starting with `prefix`.
fn successor(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    // Only an all-0xFF prefix has no successor; no family byte is 0xFF.
    vec![u8::MAX; prefix.len() + 1]
}

/// Which way a scan goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanOrder {
    /// Smallest key first.
    Ascending,
    /// Largest key first.
    Descending,
}

macro_rules! ledger_records {
    ($( $(#[doc = $doc:literal])* $variant:ident($record:ident) = $family:path, |$this:ident| $key:expr; )*) => {
        /// Every money record, tagged by its family byte.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum LedgerRecord {
            $( $(#[doc = $doc])* $variant($record), )*
        }

        impl LedgerRecord {
            /// Every family byte, one a record type.
            pub const FAMILIES: &'static [u8] = &[$( $family ),*];

            /// The record's key.
            pub fn key(&self) -> LedgerKey {
                match self {
                    $( LedgerRecord::$variant(record) => record.key(), )*
                }
            }
        }

        impl Wire for LedgerRecord {
            fn encode(&self, writer: &mut Writer) {
                match self {
                    $( LedgerRecord::$variant(record) => {
                        writer.put(&$family);
                        record.encode(writer);
                    } )*
                }
            }

            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let tag = u8::decode(reader)?;
                match tag {
                    $( $family => Ok(LedgerRecord::$variant($record::decode(reader)?)), )*
                    other => Err(DecodeError::invalid(u64::from(other))),
                }
            }
        }

        $(
            impl $record {
                /// This record's key.
                pub fn key(&self) -> LedgerKey {
                    let $this = self;
                    $key
                }
            }

            impl From<$record> for LedgerRecord {
                fn from(record: $record) -> LedgerRecord {
                    LedgerRecord::$variant(record)
                }
            }

            impl LedgerType for $record {
                const FAMILY: u8 = $family;

                fn from_record(record: LedgerRecord) -> Option<Self> {
                    match record {
                        LedgerRecord::$variant(record) => Some(record),
                        _ => None,
                    }
                }
            }
        )*
    };
}

/// A record type of one family.
pub trait LedgerType: Into<LedgerRecord> + Sized {
    /// Its family byte.
    const FAMILY: u8;

    /// The record, if it is of this type.
    fn from_record(record: LedgerRecord) -> Option<Self>;
}

ledger_records! {
    /// An account.
    Account(AccountRecord) = family::ACCOUNT, |record| LedgerKey::account(record.account);
    /// The ledger totals.
    Totals(LedgerTotals) = family::TOTALS, |_record| LedgerKey::totals();
    /// A posting.
    Posting(PostingRecord) = family::POSTING, |record| LedgerKey::posting(record.sequence);
    /// An account's entry for a posting.
    AccountEntry(AccountEntry) = family::ACCOUNT_ENTRY,
        |record| LedgerKey::account_entry(record.account, record.day, record.sequence);
    /// A card.
    Card(CardRecord) = family::CARD, |record| LedgerKey::card(record.card_number);
    /// Index of a member's cards.
    MemberCard(MemberCard) = family::MEMBER_CARD, |record| LedgerKey::member_card(record.member, record.card_number);
    /// Index of a member's cards with value left.
    LiveCard(LiveCard) = family::LIVE_CARD, |record| LedgerKey::live_card(record.member, record.card_number);
    /// What a purchase drew from a card.
    CardDraw(CardDraw) = family::CARD_DRAW,
        |record| LedgerKey::card_draw(record.transaction_number, record.card_number);
    /// A funding request.
    Funding(FundingRecord) = family::FUNDING, |record| LedgerKey::funding(record.funding_number);
    /// Index of pending funding requests.
    PendingFunding(PendingFunding) = family::PENDING_FUNDING, |record| LedgerKey::pending_funding(record.funding_number);
    /// Credit granted in a month.
    CreditUsage(CreditUsage) = family::CREDIT_USAGE, |record| LedgerKey::credit_usage(record.member, record.month);
    /// A store's catalog head.
    CatalogHead(CatalogHead) = family::CATALOG_HEAD, |record| LedgerKey::catalog_head(record.store);
    /// A catalog part as published.
    CatalogPart(CatalogPart) = family::CATALOG_PART,
        |record| LedgerKey::catalog_part(record.store, record.version, record.part_index);
    /// A catalog item of a completed version.
    CatalogEntry(CatalogEntry) = family::CATALOG_ENTRY,
        |record| LedgerKey::catalog_entry(record.store, record.version, record.item.item_id);
    /// A purchase.
    Transaction(TransactionRecord) = family::TRANSACTION, |record| LedgerKey::transaction(record.transaction_number);
    /// Index of a member's purchases.
    MemberTransaction(MemberTransaction) = family::MEMBER_TRANSACTION,
        |record| LedgerKey::member_transaction(record.member, record.transaction_number);
    /// A member's purchase count.
    MemberPurchases(MemberPurchases) = family::MEMBER_PURCHASES, |record| LedgerKey::member_purchases(record.member);
    /// A digital delivery.
    Delivery(DeliveryRecord) = family::DELIVERY, |record| LedgerKey::delivery(record.transaction_number, record.item_id);
    /// A sealed chunk.
    DeliveryChunk(DeliveryChunkRecord) = family::DELIVERY_CHUNK,
        |record| LedgerKey::delivery_chunk(record.transaction_number, record.item_id, record.chunk_index);
    /// A payment claim.
    Claim(ClaimRecord) = family::CLAIM, |record| LedgerKey::claim(record.claim_number);
    /// Index of pending claims.
    PendingClaim(PendingClaim) = family::PENDING_CLAIM, |record| LedgerKey::pending_claim(record.claim_number);
    /// A store's outstanding claims.
    StoreClaims(StoreClaims) = family::STORE_CLAIMS, |record| LedgerKey::store_claims(record.store);
    /// A payout batch.
    Batch(BatchRecord) = family::BATCH, |record| LedgerKey::batch(record.batch_number);
    /// A batch's transfer file.
    ExportFile(ExportFileRecord) = family::EXPORT_FILE, |record| LedgerKey::export_file(record.batch_number, record.format);
    /// A balance refund.
    BalanceRefund(BalanceRefundRecord) = family::BALANCE_REFUND, |record| LedgerKey::balance_refund(record.refund_number);
    /// A day's totals.
    DayTotals(DayTotals) = family::DAY_TOTALS, |record| LedgerKey::day_totals(record.day);
    /// A store's sales on a day.
    DayStoreSales(DayStoreSales) = family::DAY_STORE_SALES, |record| LedgerKey::day_store_sales(record.day, record.store);
}

#[cfg(test)]
mod tests {
    use super::*;
    use denbun_protocol::wire::decode_exact;

    fn member(number: u64) -> MemberNumber {
        MemberNumber::new(number).unwrap()
    }

    #[test]
    fn draws_are_kept_or_apart_and_nothing_else() {
        let kept =
            Draws::Kept(List::new(vec![PurchaseDraw { card_number: 7, drawn_yen: 500, restored_yen: 20 }]).unwrap());
        for draws in [kept, Draws::Apart] {
            assert_eq!(decode_exact::<Draws>(&encode_to_vec(&draws)).unwrap(), draws);
        }
        // The field is never optional inside a record (a stream could lose it unseen).
        assert!(decode_exact::<Draws>(&[]).is_err());
        assert!(decode_exact::<Draws>(&[2]).is_err());
        assert!(decode_exact::<Draws>(&[0, 0]).is_err());
        let too_many = vec![PurchaseDraw { card_number: 1, drawn_yen: 1, restored_yen: 0 }; PURCHASE_DRAWS_MAX + 1];
        let mut bytes = vec![1];
        bytes.extend(encode_to_vec(&u16::try_from(too_many.len()).unwrap()));
        for draw in &too_many {
            bytes.extend(encode_to_vec(draw));
        }
        assert!(decode_exact::<Draws>(&bytes).is_err());
    }

    #[test]
    fn keys_sort_by_their_numbers() {
        assert!(LedgerKey::live_card(member(1), 255) < LedgerKey::live_card(member(1), 256));
        assert!(LedgerKey::live_card(member(1), u64::MAX) < LedgerKey::live_card(member(2), 0));
        let day = |d| Date::new(2025, 1, d).unwrap();
        let account = AccountId::stored_value(member(3));
        assert!(LedgerKey::account_entry(account, day(1), 9) < LedgerKey::account_entry(account, day(2), 1));
    }

    #[test]
    fn a_prefix_range_holds_exactly_its_family_members() {
        let range = LedgerRange::prefix(LedgerKey::family_with(family::LIVE_CARD, &member(7)));
        assert!(range.contains(LedgerKey::live_card(member(7), 0).as_bytes()));
        assert!(range.contains(LedgerKey::live_card(member(7), u64::MAX).as_bytes()));
        assert!(!range.contains(LedgerKey::live_card(member(8), 0).as_bytes()));
        assert!(!range.contains(LedgerKey::live_card(member(6), u64::MAX).as_bytes()));
        let after = LedgerRange::after(LedgerKey::prefix_of(family::POSTING, &[]), 5);
        assert!(!after.contains(LedgerKey::posting(5).as_bytes()));
        assert!(after.contains(LedgerKey::posting(6).as_bytes()));
        assert_eq!(successor(&[1, 0xff]), [2]);
    }

    #[test]
    fn records_round_trip_and_name_their_keys() {
        let record = LedgerRecord::from(CardRecord {
            card_number: 12,
            member: member(4),
            channel: FundingChannel::BankTransfer,
            face_value: Amount::new(5_000).unwrap(),
            remaining_yen: 4_000,
            issued_at_ms: 1,
            funding_number: 3,
        });
        let bytes = encode_to_vec(&record);
        assert_eq!(bytes[0], family::CARD);
        assert_eq!(decode_exact::<LedgerRecord>(&bytes).unwrap(), record);
        assert_eq!(record.key(), LedgerKey::card(12));
        assert!(decode_exact::<LedgerRecord>(b"?").is_err());
    }

    #[test]
    fn balances_are_on_the_normal_side_and_never_negative() {
        let mut account = AccountRecord::empty(AccountId::stored_value(member(1)));
        account.credits_yen = 10;
        account.debits_yen = 4;
        assert_eq!(account.balance_yen(), Some(6));
        account.debits_yen = 11;
        assert_eq!(account.balance_yen(), None);
        let mut clearing = AccountRecord::empty(AccountId::clearing(FundingChannel::CreditCompany));
        clearing.debits_yen = 10;
        assert_eq!(clearing.balance_yen(), Some(10));
    }

    #[test]
    fn a_long_blob_checks_its_length_before_allocating() {
        let blob = LongBlob::<8>::new(vec![1, 2, 3]).unwrap();
        let bytes = encode_to_vec(&blob);
        assert_eq!(bytes, [0, 0, 0, 3, 1, 2, 3]);
        assert_eq!(decode_exact::<LongBlob<8>>(&bytes).unwrap(), blob);
        assert!(decode_exact::<LongBlob<8>>(&[0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(LongBlob::<2>::new(vec![0; 3]).is_none());
    }
}
