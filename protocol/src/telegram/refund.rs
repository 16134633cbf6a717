//! Families 70 (refund by a store) and 71 (refund notice to the member).
//!
//! ```text
//! store                               center                           member
//!   | 7000 refund (txn, amount, reason) --> | never more than paid, in total
//!   | <------ 7010 refund answer            | --> 7140 refund notice (new balance)
//! ```
//!
//! A refund may be partial; several refunds of one purchase add up, never
//! beyond what was paid. Each refund is idempotent on its processing number.

use crate::header::StoreNumber;
use crate::limits::MESSAGE_BYTES_MAX;
use crate::wire::{Amount, Text, Yen};

body_struct! {
    /// `7000`: a store returns `amount` of a purchase to the member.
    pub struct Refund {
        /// The purchase.
        pub transaction_number: u64,
        /// What to return now.
        pub amount: Amount,
        /// Why, for the member to read.
        pub reason: Text<MESSAGE_BYTES_MAX>,
    }
}

body_struct! {
    /// `7010`: the refund is applied.
    pub struct RefundAnswer {
        /// The purchase.
        pub transaction_number: u64,
        /// What was returned now.
        pub amount: Amount,
        /// Everything returned for this purchase so far.
        pub refunded_total: Amount,
    }
}

body_struct! {
    /// `7140`: the member got value back.
    pub struct RefundNotice {
        /// The purchase.
        pub transaction_number: u64,
        /// Who refunded.
        pub store: StoreNumber,
        /// What was returned.
        pub amount: Amount,
        /// Why.
        pub reason: Text<MESSAGE_BYTES_MAX>,
        /// The member's balance after the refund.
        pub balance: Yen,
    }
}
