//! What the screens show, derived from the key file's history.
//!
//! The history holds every signed answer and notice the terminal received
//! (its receipts), oldest first. Balance, cards, pending top-ups, downloads,
//! orders and their states are all computed from those receipts, so what the
//! screens say is always backed by a telegram the center signed. A receipt
//! whose signature does not verify is listed as such and counts for nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use denbun_protocol::header::{Code, PartyId};
use denbun_protocol::telegram::{
    Body, CardAnswer, DeliveryReadyNotice, FundingChannel, OrderLine, PaymentNotice, PayoutNotice, Telegram,
};
use denbun_protocol::wire::{Date, Yen, group_thousands};

/// One history entry as the screens use it.
#[derive(Clone, Debug)]
pub struct Record {
    /// The day (UTC) of the receipt.
    pub date: Date,
    /// The store, member or "center" it concerns.
    pub party: String,
    /// What it was.
    pub goods: String,
    /// How much it moved.
    pub amount: Yen,
    /// The receipt, when its signature verified with the center's key.
    pub receipt: Option<Telegram>,
}

impl Record {
    /// The verified receipt's body.
    pub fn body(&self) -> Option<&Body> {
        self.receipt.as_ref().map(Telegram::body)
    }

    /// The receipt's code.
    pub fn code(&self) -> Option<Code> {
        self.receipt.as_ref().map(Telegram::code)
    }

    /// Whether the receipt is a notice (xx40) rather than an answer.
    pub fn is_notice(&self) -> bool {
        self.code().is_some_and(|code| code.number() % 100 / 10 == 4)
    }
}

/// One telegram waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    /// Its processing number.
    pub processing_number: u64,
    /// Its code, if it could be read.
    pub code: Option<Code>,
    /// What it is, for people.
    pub what: String,
    /// When it was signed (UTC day), if readable.
    pub signed_on: Option<Date>,
}

/// The registration certificate, as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateView {
    /// The registered number.
    pub party: PartyId,
    /// The registered name.
    pub name: String,
    /// When (UTC day).
    pub registered_on: String,
    /// The verification key's first bytes in hex, to compare.
    pub verification_key: String,
    /// Whether the certificate names the keys of this key file.
    pub matches_key_file: bool,
}

/// Everything password A opened, as the screens need it.
#[derive(Clone, Debug)]
pub struct AccountView {
    /// Whose key file.
    pub party: PartyId,
    /// Their name (a store: its trade name).
    pub name: String,
    /// Where the key file is.
    pub key_file: PathBuf,
    /// The history, oldest first.
    pub records: Vec<Record>,
    /// The outbox, oldest first.
    pub outbox: Vec<OutboxRow>,
    /// The registration certificate, once registered.
    pub certificate: Option<CertificateView>,
}

/// The last balance a signed receipt told, and the day it told it.
pub fn balance(records: &[Record]) -> Option<(Yen, Date)> {
    records.iter().rev().find_map(|record| {
        let balance = match record.body()? {
            Body::CardAnswer(CardAnswer::Issued(issued)) => issued.balance,
            Body::CardIssueNotice(notice) => notice.balance,
            Body::PaymentAnswer(paid) => paid.balance,
            Body::RefundNotice(refund) => refund.balance,
            _ => return None,
        };
        Some((balance, record.date))
    })
}

/// A prepaid card the center issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardRow {
    /// Its number.
    pub card_number: u64,
    /// Its face value in yen.
    pub face_value_yen: u64,
    /// The day it was issued.
    pub issued_on: Date,
    /// How it was paid for, when the notice said.
    pub channel: Option<FundingChannel>,
}

/// The member's cards, oldest first, each once (an immediate issue has both
/// an answer and a notice).
pub fn cards(records: &[Record]) -> Vec<CardRow> {
    let mut cards: BTreeMap<u64, CardRow> = BTreeMap::new();
    for record in records {
        let (card, channel) = match record.body() {
            Some(Body::CardAnswer(CardAnswer::Issued(issued))) => (&issued.card, None),
            Some(Body::CardIssueNotice(notice)) => (&notice.card, Some(notice.channel)),
            _ => continue,
        };
        let row = cards.entry(card.card_number).or_insert(CardRow {
            card_number: card.card_number,
            face_value_yen: card.face_value.get(),
            issued_on: record.date,
            channel,
        });
        row.channel = row.channel.or(channel);
    }
    cards.into_values().collect()
}

/// A top-up that waits for the money to arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingTopUp {
    /// The transfer reference to quote.
    pub reference: String,
    /// The amount expected.
    pub amount_yen: u64,
    /// Where and how to send the money.
    pub instructions: String,
    /// The day it was asked for.
    pub asked_on: Date,
}

/// Top-ups answered "pending" whose card has not been issued yet.
pub fn pending_top_ups(records: &[Record]) -> Vec<PendingTopUp> {
    let issued: Vec<&str> = records
        .iter()
        .filter_map(|record| match record.body()? {
            Body::CardIssueNotice(notice) => notice.reference.as_ref().map(|reference| reference.as_str()),
            _ => None,
        })
        .collect();
    records
        .iter()
        .filter_map(|record| match record.body()? {
            Body::CardAnswer(CardAnswer::Pending(pending)) if !issued.contains(&pending.reference.as_str()) => {
                Some(PendingTopUp {
                    reference: pending.reference.to_string(),
                    amount_yen: pending.amount.get(),
                    instructions: pending.instructions.to_string(),
                    asked_on: record.date,
                })
            }
            _ => None,
        })
        .collect()
}

/// Where a purchase stands, from the member's receipts (or the store's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PurchaseState {
    /// Paid; nothing more yet.
    Paid,
    /// A digital item is ready to download (member) or uploaded (store).
    Ready,
    /// Mail-order goods were shipped.
    Shipped,
    /// The member acknowledged a digital item.
    Delivered,
    /// Part of it was refunded.
    PartlyRefunded,
    /// Refunded in full.
    Refunded,
}

impl PurchaseState {
    /// The word shown in tables.
    pub fn word(self) -> &'static str {
        match self {
            PurchaseState::Paid => "paid",
            PurchaseState::Ready => "ready",
            PurchaseState::Shipped => "shipped",
            PurchaseState::Delivered => "delivered",
            PurchaseState::PartlyRefunded => "part refund",
            PurchaseState::Refunded => "refunded",
        }
    }
}

/// The state of purchase `transaction_number` of `total_yen` after every receipt.
pub fn purchase_state(records: &[Record], transaction_number: u64, total_yen: u64) -> PurchaseState {
    let mut state = PurchaseState::Paid;
    let mut refunded_yen: u64 = 0;
    for record in records {
        let next = match record.body() {
            Some(Body::DeliveryReadyNotice(ready)) if ready.transaction_number == transaction_number => {
                PurchaseState::Ready
            }
            Some(Body::DeliveryUploadAnswer(upload))
                if upload.transaction_number == transaction_number && upload.complete =>
            {
                PurchaseState::Ready
            }
            Some(Body::ShipmentNotice(shipped)) if shipped.transaction_number == transaction_number => {
                PurchaseState::Shipped
            }
            Some(Body::ShipmentAnswer(shipped)) if shipped.transaction_number == transaction_number => {
                PurchaseState::Shipped
            }
            Some(Body::DeliveryReceipt(receipt)) if receipt.transaction_number == transaction_number => {
                PurchaseState::Delivered
            }
            Some(Body::DeliveredNotice(delivered)) if delivered.transaction_number == transaction_number => {
                PurchaseState::Delivered
            }
            Some(Body::RefundNotice(refund)) if refund.transaction_number == transaction_number => {
                refunded_yen = refunded_yen.saturating_add(refund.amount.get());
                refund_state(refunded_yen, total_yen)
            }
            Some(Body::RefundAnswer(refund)) if refund.transaction_number == transaction_number => {
                refunded_yen = refund.refunded_total.get();
                refund_state(refunded_yen, total_yen)
            }
            _ => continue,
        };
        state = state.max(next);
    }
    state
}

fn refund_state(refunded_yen: u64, total_yen: u64) -> PurchaseState {
    if refunded_yen >= total_yen { PurchaseState::Refunded } else { PurchaseState::PartlyRefunded }
}

/// A digital item the member can download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadRow {
    /// The center's notice that it is ready.
    pub ready: DeliveryReadyNotice,
    /// The day the notice came.
    pub ready_on: Date,
    /// Whether the member acknowledged it (a delivery receipt exists).
    pub delivered: bool,
}

/// Digital items ready or delivered, newest first, each once.
pub fn downloads(records: &[Record]) -> Vec<DownloadRow> {
    let mut rows: Vec<DownloadRow> = Vec::new();
    for record in records {
        match record.body() {
            Some(Body::DeliveryReadyNotice(ready)) => {
                let key = (ready.transaction_number, ready.item_id);
                if !rows.iter().any(|row| (row.ready.transaction_number, row.ready.item_id) == key) {
                    rows.push(DownloadRow { ready: ready.clone(), ready_on: record.date, delivered: false });
                }
            }
            Some(Body::DeliveryReceipt(receipt)) => {
                let key = (receipt.transaction_number, receipt.item_id);
                for row in rows.iter_mut().filter(|row| (row.ready.transaction_number, row.ready.item_id) == key) {
                    row.delivered = true;
                }
            }
            _ => {}
        }
    }
    rows.reverse();
    rows
}

/// A purchase the member made, from its payment answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurchaseRow {
    /// The purchase.
    pub transaction_number: u64,
    /// The store paid, as the history names it.
    pub store: String,
    /// What was paid.
    pub total_yen: u64,
    /// The day.
    pub paid_on: Date,
    /// Where it stands.
    pub state: PurchaseState,
}

/// The member's purchases, newest first.
pub fn purchases(records: &[Record]) -> Vec<PurchaseRow> {
    let mut rows: Vec<PurchaseRow> = records
        .iter()
        .filter_map(|record| match record.body()? {
            Body::PaymentAnswer(paid) => Some(PurchaseRow {
                transaction_number: paid.transaction_number,
                store: record.party.clone(),
                total_yen: paid.total.get(),
                paid_on: record.date,
                state: purchase_state(records, paid.transaction_number, paid.total.get()),
            }),
            _ => None,
        })
        .collect();
    rows.reverse();
    rows
}

/// An order a store was paid for, from its payment notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRow {
    /// The center's signed payment notice.
    pub notice: PaymentNotice,
    /// The day it came.
    pub paid_on: Date,
    /// Where it stands.
    pub state: PurchaseState,
}

impl OrderRow {
    /// The order's lines.
    pub fn lines(&self) -> &[OrderLine] {
        self.notice.lines.as_slice()
    }
}

/// The store's orders, newest first, each once.
pub fn orders(records: &[Record]) -> Vec<OrderRow> {
    let mut rows: Vec<OrderRow> = Vec::new();
    for record in records {
        if let Some(Body::PaymentNotice(notice)) = record.body()
            && !rows.iter().any(|row| row.notice.transaction_number == notice.transaction_number)
        {
            rows.push(OrderRow {
                notice: notice.clone(),
                paid_on: record.date,
                state: purchase_state(records, notice.transaction_number, notice.total.get()),
            });
        }
    }
    rows.reverse();
    rows
}

/// The store's payouts, newest first.
pub fn payouts(records: &[Record]) -> Vec<PayoutNotice> {
    let mut rows: Vec<PayoutNotice> = records
        .iter()
        .filter_map(|record| match record.body()? {
            Body::PayoutNotice(payout) => Some(payout.clone()),
            _ => None,
        })
        .collect();
    rows.reverse();
    rows
}

/// Indices of the records that are notices, newest first.
pub fn notices(records: &[Record]) -> Vec<usize> {
    (0..records.len()).rev().filter(|&index| records[index].is_notice()).collect()
}

/// The status column of the history: a purchase's state, or whether the
/// receipt verified.
pub fn receipt_status(records: &[Record], record: &Record) -> &'static str {
    match record.body() {
        None => "NOT VERIFIED",
        Some(Body::PaymentAnswer(paid)) => purchase_state(records, paid.transaction_number, paid.total.get()).word(),
        Some(_) => "signed",
    }
}

/// `1,234 yen`.
pub fn yen(amount: u64) -> String {
    format!("{} yen", group_thousands(amount))
}

/// `yy/mm/dd`, as the history shows dates.
pub fn short_date(date: Date) -> String {
    let (year, month, day) = date.parts();
    format!("{:02}/{:02}/{:02}", year % 100, month, day)
}

/// A funding channel in words.
pub fn channel_name(channel: FundingChannel) -> &'static str {
    match channel {
        FundingChannel::CreditCompany => "credit company",
        FundingChannel::BankTransfer => "bank transfer",
        FundingChannel::PostOfficeTransfer => "post-office transfer",
        FundingChannel::RegisteredMailCash => "cash by registered mail",
    }
}

/// A size in bytes as people read it.
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1_024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}
