//! Families 20 (prepaid card request) and 21 (card issue notice): a member
//! tops up stored value through one of four funding channels.
//!
//! ```text
//! member                              center                         operator
//!   | 2000 card request (credit company) --> | asks the credit company
//!   | <-- 2010 card answer: issued (card, balance)   (or 9910 reject 406)
//!
//!   | 2000 card request (bank transfer) ---> |
//!   | <-- 2010 card answer: pending (reference, instructions)
//!   |          ... the money arrives ...     | <-- 9000 funds confirm (reference, amount)
//!   |                                        | --> 9010 funds answer: confirmed
//!   | <-- 2140 card issue notice (pushed if signed on, else in the mailbox)
//! ```

use crate::limits::{MESSAGE_BYTES_MAX, REFERENCE_BYTES_MAX};
use crate::wire::{Amount, Text, Yen};

body_flags! {
    /// How the money for a card reaches the center.
    pub enum FundingChannel {
        /// The center asks a credit company and issues at once when granted.
        CreditCompany = 1,
        /// Bank transfer; issued when an operator confirms the money arrived.
        BankTransfer = 2,
        /// Post-office transfer; issued on an operator's confirmation.
        PostOfficeTransfer = 3,
        /// Cash by registered mail; issued on an operator's confirmation.
        RegisteredMailCash = 4,
    }
}

body_struct! {
    /// `2000`: a member asks for a prepaid card of `amount`.
    pub struct CardRequest {
        /// Face value asked for.
        pub amount: Amount,
        /// How the member pays.
        pub channel: FundingChannel,
    }
}

body_struct! {
    /// A prepaid card the center issued.
    pub struct IssuedCard {
        /// The card number (unique at the center).
        pub card_number: u64,
        /// What the card was worth when issued.
        pub face_value: Amount,
        /// When it was issued, unix milliseconds.
        pub issued_at_ms: u64,
    }
}

body_struct! {
    /// A card issued at once, and the member's balance after it.
    pub struct CardIssued {
        /// The new card.
        pub card: IssuedCard,
        /// The member's balance (all cards) after issuing.
        pub balance: Yen,
    }
}

body_struct! {
    /// A card waiting for the money: quote `reference` with the transfer.
    pub struct CardPending {
        /// The transfer reference the operator matches the money with.
        pub reference: Text<REFERENCE_BYTES_MAX>,
        /// The amount expected.
        pub amount: Amount,
        /// Where and how to send the money, for the member to read.
        pub instructions: Text<MESSAGE_BYTES_MAX>,
    }
}

body_enum! {
    /// `2010`: the answer to a card request.
    pub enum CardAnswer {
        /// Issued at once (credit company).
        Issued(CardIssued) = 1,
        /// Waiting for the transfer or the registered mail.
        Pending(CardPending) = 2,
    }
}

body_struct! {
    /// `2140`: a card was issued (also sent after an immediate issue, so the
    /// mailbox holds every card).
    pub struct CardIssueNotice {
        /// The new card.
        pub card: IssuedCard,
        /// How it was paid for.
        pub channel: FundingChannel,
        /// The transfer reference, for cards that waited for the money.
        pub reference: Option<Text<REFERENCE_BYTES_MAX>>,
        /// The member's balance after issuing.
        pub balance: Yen,
    }
}
