//! Family 72: statements. A member or store asks for a signed statement of
//! its account over a date range (the member's offline history is built
//! from these and from the answers it keeps).
//!
//! ```text
//! member or store                      center
//!   | 7200 statement request (range, page) --> |
//!   | <------ 7210 statement (lines)           |
//! ```

use std::fmt;

use crate::header::PartyId;
use crate::limits::{ITEM_TITLE_BYTES_MAX, STATEMENT_LINES_MAX};
use crate::telegram::EncodedBytesMax;
use crate::wire::{Amount, Date, DecodeError, List, Reader, Text, Wire, Writer, Yen};

/// An inclusive range of days, `from <= to`. Encoded as two dates.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    from: Date,
    to: Date,
}

impl DateRange {
    /// The days `from..=to`; `None` if `from` is after `to`.
    pub fn new(from: Date, to: Date) -> Option<DateRange> {
        (from <= to).then_some(DateRange { from, to })
    }

    /// The first day.
    pub fn from(&self) -> Date {
        self.from
    }

    /// The last day (included).
    pub fn to(&self) -> Date {
        self.to
    }
}

impl fmt::Debug for DateRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}..={}", self.from, self.to)
    }
}

impl Wire for DateRange {
    fn encode(&self, writer: &mut Writer) {
        writer.put(&self.from);
        writer.put(&self.to);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let from = Date::decode(reader)?;
        let to = Date::decode(reader)?;
        DateRange::new(from, to).ok_or_else(|| DecodeError::invalid(u64::from(to.to_number())))
    }
}

impl EncodedBytesMax for DateRange {
    const ENCODED_BYTES_MAX: usize = 8;
}

body_struct! {
    /// `7200`: asks for page `page` of the statement over `range`.
    pub struct StatementRequest {
        /// The days covered.
        pub range: DateRange,
        /// Page number, from 0.
        pub page: u16,
    }
}

body_flags! {
    /// What a statement line records.
    pub enum EntryKind {
        /// A prepaid card was issued (member: credit).
        CardIssued = 1,
        /// The member paid a store (member: debit).
        Payment = 2,
        /// A store was paid by a member (store: credit to payable).
        Sale = 3,
        /// A refund (member: credit; store: debit).
        Refund = 4,
        /// A payout to the store's bank account (store: debit of payable).
        Payout = 5,
        /// The center refunded unused balance to the member's bank (member: debit).
        BalanceRefund = 6,
    }
}

body_struct! {
    /// One line of a statement.
    pub struct StatementLine {
        /// The day it happened.
        pub date: Date,
        /// What it was.
        pub kind: EntryKind,
        /// Transaction, card, payout or refund number, by kind.
        pub reference: u64,
        /// The other side (store, member, or the center).
        pub counterparty: PartyId,
        /// How much.
        pub amount: Amount,
        /// Goods or note, for people to read.
        pub description: Text<ITEM_TITLE_BYTES_MAX>,
    }
}

body_struct! {
    /// `7210`: a page of the statement, signed by the center.
    pub struct Statement {
        /// The days covered.
        pub range: DateRange,
        /// This page, from 0.
        pub page: u16,
        /// How many pages.
        pub page_count: u16,
        /// Balance (member) or payable (store) before the first day.
        pub opening_balance: Yen,
        /// Balance or payable after the last day.
        pub closing_balance: Yen,
        /// The lines on this page, oldest first.
        pub lines: List<StatementLine, STATEMENT_LINES_MAX>,
    }
}
