//! Families 90 to 93: operators move money on the center's behalf (confirm
//! incoming funds, approve and execute payouts, refund unused balance) and
//! freeze accounts. Every one is a signed operator telegram, journaled like
//! any other: the console changes the ledger only through these.
//!
//! ```text
//! operator                                  center                       member/store
//!   | 9000 funds: pending (page) ------------> |
//!   | <-- 9010 pending funds (references)      |
//!   | 9000 funds: confirm (reference, amount) ->| issues the card
//!   | <-- 9010 confirmed (card)                 | --> 2140 card issue notice
//!   | 9000 funds: reject (reference, reason) -->|
//!   | <-- 9010 rejected                         |
//!   | 9100 payouts: pending / approve / export / executed (see payout.rs)
//!   | 9200 balance refund (member, account) --> |
//!   | <-- 9210 balance refund answer            | --> 9240 balance refund notice
//!   | 9300 freeze / unfreeze (party, reason) -->|
//!   | <-- 9310 freeze answer                    |
//! ```

use crate::header::{MemberNumber, PartyId, PartyKind, StoreNumber};
use crate::limits::{
    EXPORT_CHUNK_BYTES_MAX, MESSAGE_BYTES_MAX, PAYOUT_BATCH_CLAIMS_MAX, QUERY_ROWS_MAX, REFERENCE_BYTES_MAX,
};
use crate::telegram::{AscendingNumbers, BankAccount, FundingChannel, IssuedCard};
use crate::wire::{Amount, Blob, Date, List, Text, Yen};

body_struct! {
    /// Which page of a listing, from 0.
    pub struct PageRequest {
        /// Page number, from 0.
        pub page: u16,
    }
}

body_struct! {
    /// The money for a pending card arrived.
    pub struct FundsConfirmation {
        /// The transfer reference from the card answer.
        pub reference: Text<REFERENCE_BYTES_MAX>,
        /// What actually arrived (the card is issued for this amount).
        pub amount_received: Amount,
    }
}

body_struct! {
    /// A pending card will not be issued.
    pub struct FundsRejection {
        /// The transfer reference.
        pub reference: Text<REFERENCE_BYTES_MAX>,
        /// Why, recorded in the journal.
        pub reason: Text<MESSAGE_BYTES_MAX>,
    }
}

body_enum! {
    /// `9000`: an operator's funds command.
    pub enum FundsRequest {
        /// List card requests waiting for money.
        Pending(PageRequest) = 1,
        /// The money arrived: issue the card.
        Confirm(FundsConfirmation) = 2,
        /// Give up on a pending card request.
        Reject(FundsRejection) = 3,
    }
}

body_struct! {
    /// A card request waiting for its money.
    pub struct PendingFundsRow {
        /// Its transfer reference.
        pub reference: Text<REFERENCE_BYTES_MAX>,
        /// Who asked.
        pub member: MemberNumber,
        /// How the money comes.
        pub channel: FundingChannel,
        /// The amount asked for.
        pub amount: Amount,
        /// When, unix milliseconds.
        pub requested_at_ms: u64,
    }
}

body_struct! {
    /// A page of pending card requests.
    pub struct PendingFundsPage {
        /// This page, from 0.
        pub page: u16,
        /// How many pages.
        pub page_count: u16,
        /// The requests on this page, oldest first.
        pub rows: List<PendingFundsRow, QUERY_ROWS_MAX>,
    }
}

body_struct! {
    /// A card issued on an operator's confirmation.
    pub struct FundsConfirmed {
        /// The transfer reference.
        pub reference: Text<REFERENCE_BYTES_MAX>,
        /// Whose card.
        pub member: MemberNumber,
        /// The card issued.
        pub card: IssuedCard,
    }
}

body_struct! {
    /// A pending card request given up.
    pub struct FundsRejected {
        /// The transfer reference.
        pub reference: Text<REFERENCE_BYTES_MAX>,
        /// Whose request.
        pub member: MemberNumber,
    }
}

body_enum! {
    /// `9010`: the answer to a funds command (same variant as the request).
    pub enum FundsAnswer {
        /// Pending card requests.
        Pending(PendingFundsPage) = 1,
        /// The card was issued.
        Confirmed(FundsConfirmed) = 2,
        /// The request was given up.
        Rejected(FundsRejected) = 3,
    }
}

body_flags! {
    /// Bank transfer file formats.
    pub enum ExportFormat {
        /// Zengin fixed-length 120-byte records (docs/payouts.md).
        Zengin = 1,
        /// Comma-separated values, one payout per line.
        Csv = 2,
    }
}

body_struct! {
    /// Approve claims into a new payout batch.
    pub struct PayoutApproval {
        /// The claim numbers to pay.
        pub claim_numbers: AscendingNumbers<PAYOUT_BATCH_CLAIMS_MAX>,
    }
}

body_struct! {
    /// Export a batch as a bank transfer file, from `offset`.
    pub struct PayoutExport {
        /// The batch.
        pub batch_number: u64,
        /// Zengin or CSV.
        pub format: ExportFormat,
        /// Byte offset in the file (files larger than one answer come in pieces).
        pub offset: u64,
    }
}

body_struct! {
    /// The bank executed the batch's transfers.
    pub struct PayoutExecution {
        /// The batch.
        pub batch_number: u64,
        /// The day the bank executed it.
        pub executed_on: Date,
    }
}

body_enum! {
    /// `9100`: an operator's payout command.
    pub enum PayoutsRequest {
        /// List claims waiting for approval.
        Pending(PageRequest) = 1,
        /// Approve claims into a batch.
        Approve(PayoutApproval) = 2,
        /// Export a batch's transfer file.
        Export(PayoutExport) = 3,
        /// Mark a batch executed: stores get payout notices.
        Executed(PayoutExecution) = 4,
    }
}

body_struct! {
    /// A claim waiting for approval.
    pub struct PendingClaimRow {
        /// The claim.
        pub claim_number: u64,
        /// Whose.
        pub store: StoreNumber,
        /// What it pays.
        pub amount: Amount,
        /// Purchases in it.
        pub transactions: u16,
        /// When the store claimed, unix milliseconds.
        pub claimed_at_ms: u64,
    }
}

body_struct! {
    /// A page of claims waiting for approval.
    pub struct PendingClaimsPage {
        /// This page, from 0.
        pub page: u16,
        /// How many pages.
        pub page_count: u16,
        /// The claims, oldest first.
        pub rows: List<PendingClaimRow, QUERY_ROWS_MAX>,
    }
}

body_struct! {
    /// A payout batch in totals.
    pub struct BatchSummary {
        /// The batch.
        pub batch_number: u64,
        /// Claims in it.
        pub claims: u16,
        /// Stores paid (one transfer each).
        pub stores: u16,
        /// Sum of the transfers.
        pub total: Amount,
    }
}

body_struct! {
    /// A piece of a batch's transfer file.
    pub struct ExportChunk {
        /// The batch.
        pub batch_number: u64,
        /// Zengin or CSV.
        pub format: ExportFormat,
        /// Where this piece starts in the file.
        pub offset: u64,
        /// Size of the whole file.
        pub file_bytes: u64,
        /// The bytes from `offset`.
        pub data: Blob<EXPORT_CHUNK_BYTES_MAX>,
    }
}

body_enum! {
    /// `9110`: the answer to a payout command (same variant as the request).
    pub enum PayoutsAnswer {
        /// Claims waiting for approval.
        Pending(PendingClaimsPage) = 1,
        /// The new batch.
        Approved(BatchSummary) = 2,
        /// A piece of the transfer file.
        Export(ExportChunk) = 3,
        /// The batch is executed; stores were notified.
        Executed(BatchSummary) = 4,
    }
}

body_struct! {
    /// `9200`: refund a member's unused balance to a bank account.
    pub struct BalanceRefund {
        /// Whose balance.
        pub member: MemberNumber,
        /// Where the money goes.
        pub payout_account: BankAccount,
        /// Whether the member's account is closed afterwards.
        pub close_account: bool,
        /// Why, recorded in the journal.
        pub reason: Text<MESSAGE_BYTES_MAX>,
    }
}

body_struct! {
    /// `9210`: the unused balance was refunded.
    pub struct BalanceRefundAnswer {
        /// Whose balance.
        pub member: MemberNumber,
        /// The center's number for the refund.
        pub refund_number: u64,
        /// What was refunded (the whole remaining balance; may be 0).
        pub amount: Yen,
        /// Whether the account is now closed.
        pub closed: bool,
    }
}

body_struct! {
    /// `9240`: the member is told the unused balance was refunded.
    pub struct BalanceRefundNotice {
        /// The center's number for the refund.
        pub refund_number: u64,
        /// What was refunded.
        pub amount: Yen,
        /// Where it went.
        pub payout_account: BankAccount,
        /// Whether the account is now closed.
        pub closed: bool,
    }
}

body_flags! {
    /// Freeze or unfreeze.
    pub enum FreezeAction {
        /// Reject the party's business telegrams from now on.
        Freeze = 1,
        /// Accept them again.
        Unfreeze = 2,
    }
}

body_struct! {
    sample: manual;
    /// `9300`: freeze or unfreeze a member or a store.
    pub struct FreezeRequest {
        /// The member or store.
        pub party: PartyId,
        /// Freeze or unfreeze.
        pub action: FreezeAction,
        /// Why, recorded in the journal.
        pub reason: Text<MESSAGE_BYTES_MAX>,
    }
}

impl FreezeRequest {
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        match self.party.kind() {
            PartyKind::Member | PartyKind::Store => Ok(()),
            _ => Err("only members and stores can be frozen"),
        }
    }
}

body_struct! {
    /// `9310`: the account's state after the request.
    pub struct FreezeAnswer {
        /// The member or store.
        pub party: PartyId,
        /// Whether it is frozen now.
        pub frozen: bool,
        /// Whether this request changed anything (false: it already was).
        pub changed: bool,
    }
}
