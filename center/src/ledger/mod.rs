//! The double-entry ledger, in integer yen.
//!
//! Every movement of money is one [`PostingRecord`]: an amount debited from
//! one account and credited to another, so the sum of all debits always
//! equals the sum of all credits. The accounts (see
//! [`crate::storage::ledger_records::AccountClass`]):
//!
//! | account                       | normal side | holds                                  |
//! |-------------------------------|-------------|----------------------------------------|
//! | funding clearing, per channel | debit       | money that came in through the channel |
//! | stored value, per member      | credit      | what remains on the member's cards     |
//! | payable, per store            | credit      | what the center owes the store         |
//! | paid out, per store           | credit      | what was transferred to the store      |
//! | balance refunded, per member  | credit      | unused balance sent back to a bank     |
//!
//! so that at every moment
//! `funds in = stored value + store payables + paid out + refunded`.
//!
//! The ledger refuses (as a value, never a wrapped number) a posting that
//! would take a stored value or a payable below zero, or a balance shown to
//! people above `AMOUNT_YEN_MAX`. Flows check first and then post; a posting
//! refused after its check, a posting between accounts its kind does not
//! allow, or totals that stop balancing are our own bugs and assert
//! (TigerBeetle style: stop rather than write a wrong ledger).
//!
//! Everything goes through the group's [`Tx`], so each posting lands in the
//! same atomic batch as the telegram's idempotency record and journal entry.

pub mod audit;
pub mod cards;
pub mod export;
pub mod zengin;

use denbun_protocol::header::{Header, MemberNumber, PartyId, StoreNumber};
use denbun_protocol::limits::AMOUNT_YEN_MAX;
use denbun_protocol::telegram::FundingChannel;
use denbun_protocol::wire::{Amount, Date, Text};

use crate::service::tx::Tx;
use crate::storage::ledger_records::{
    AccountClass, AccountEntry, AccountId, AccountRecord, ClassTotals, DayStoreSales, DayTotals, LedgerTotals,
    MemberPurchases, PostingKind, PostingRecord, Side,
};
use crate::storage::{Counter, LedgerKey, StorageError};

/// The telegram that caused a posting: the audit finds it in the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cause {
    /// Who sent it.
    pub sender: PartyId,
    /// Its processing number.
    pub processing_number: u64,
}

impl Cause {
    /// The cause named by a request's header.
    pub fn of(header: &Header) -> Self {
        Cause { sender: header.sender(), processing_number: header.processing_number() }
    }
}

/// A movement to post.
#[derive(Clone, Debug)]
pub struct Posting<'a> {
    /// What it is.
    pub kind: PostingKind,
    /// The account debited.
    pub debit: AccountId,
    /// The account credited.
    pub credit: AccountId,
    /// How much.
    pub amount: Amount,
    /// Card, transaction, payout or refund number.
    pub reference: u64,
    /// For people (cut to the field).
    pub description: &'a str,
}

/// Why the ledger refuses a posting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The debit would take the account below zero.
    Insufficient {
        /// The account.
        account: AccountId,
        /// Its balance now.
        balance_yen: u64,
    },
    /// The credit would take a balance shown to people above `AMOUNT_YEN_MAX`.
    OverLimit {
        /// The account.
        account: AccountId,
        /// Its balance now.
        balance_yen: u64,
    },
}

/// The ledger identity over all time or over a stretch of days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

impl Reconciliation {
    /// The balances of every class, from totals. `None` if a class is
    /// negative (our bug: the ledger never lets it happen).
    pub fn from_totals(totals: &LedgerTotals) -> Option<Self> {
        let credit = |class: &ClassTotals| class.credits_yen.checked_sub(class.debits_yen);
        Some(Reconciliation {
            funds_in_yen: totals.funding_clearing.debits_yen.checked_sub(totals.funding_clearing.credits_yen)?,
            stored_value_yen: credit(&totals.stored_value)?,
            store_payables_yen: credit(&totals.store_payable)?,
            paid_out_yen: credit(&totals.paid_out)?,
            refunded_yen: credit(&totals.balance_refunded)?,
        })
    }

    /// Whether funds in equal stored value + store payables + paid out + refunded.
    pub fn balances(&self) -> bool {
        let held = [self.stored_value_yen, self.store_payables_yen, self.paid_out_yen, self.refunded_yen]
            .iter()
            .try_fold(0u64, |sum, yen| sum.checked_add(*yen));
        held == Some(self.funds_in_yen)
    }
}

/// Adds `other`'s debits and credits to `sum`, class by class.
pub fn add_totals(sum: &mut LedgerTotals, other: &LedgerTotals) {
    for class in AccountClass::ALL {
        let from = *other.class(*class);
        let into = sum.class_mut(*class);
        into.debits_yen = into.debits_yen.checked_add(from.debits_yen).expect("ledger sums stay far below u64");
        into.credits_yen = into.credits_yen.checked_add(from.credits_yen).expect("ledger sums stay far below u64");
    }
    sum.postings = sum.postings.checked_add(other.postings).expect("posting counts stay far below u64");
}

/// Whether debits equal credits over every class.
pub fn debits_equal_credits(totals: &LedgerTotals) -> bool {
    let mut debits: u128 = 0;
    let mut credits: u128 = 0;
    for class in AccountClass::ALL {
        debits += u128::from(totals.class(*class).debits_yen);
        credits += u128::from(totals.class(*class).credits_yen);
    }
    debits == credits
}

/// An account as this group sees it (empty if nothing was ever posted to it).
pub fn account(tx: &mut Tx<'_>, account: AccountId) -> Result<AccountRecord, StorageError> {
    Ok(tx.ledger_record(&LedgerKey::account(account))?.unwrap_or_else(|| AccountRecord::empty(account)))
}

/// An account's balance on its normal side.
pub fn balance_yen(tx: &mut Tx<'_>, id: AccountId) -> Result<u64, StorageError> {
    let record = account(tx, id)?;
    Ok(record.balance_yen().expect("the ledger never lets a balance go negative"))
}

/// `member`'s purchases counted in place ([`MemberPurchases`]); those
/// made before are each in the member's purchase index (`N`).
pub fn purchases_counted(tx: &mut Tx<'_>, member: MemberNumber) -> Result<u64, StorageError> {
    let counted: Option<MemberPurchases> = tx.ledger_record(&LedgerKey::member_purchases(member))?;
    Ok(counted.map_or(0, |counted| counted.purchases))
}

/// Counts one more purchase of `member`: one record updated in place, not
/// a new key a purchase (sled's cost is per new key; docs/performance.md).
pub fn count_purchase(tx: &mut Tx<'_>, member: MemberNumber) -> Result<(), StorageError> {
    let purchases = purchases_counted(tx, member)?.checked_add(1).expect("purchase counts stay far below u64");
    tx.ledger_put(MemberPurchases { member, purchases });
    Ok(())
}

/// The whole ledger in totals by class.
pub fn totals(tx: &mut Tx<'_>) -> Result<LedgerTotals, StorageError> {
    Ok(tx.ledger_record(&LedgerKey::totals())?.unwrap_or_default())
}

/// The accounts each kind of posting may move money between: a posting
/// elsewhere is our bug.
fn allowed(kind: PostingKind, debit: AccountId, credit: AccountId) -> bool {
    use AccountClass::*;
    match kind {
        PostingKind::TopUp => debit.class == FundingClearing && credit.class == StoredValue,
        PostingKind::Payment => debit.class == StoredValue && credit.class == StorePayable,
        PostingKind::StoreRefund => debit.class == StorePayable && credit.class == StoredValue,
        PostingKind::Payout => debit.class == StorePayable && credit.class == PaidOut && debit.number == credit.number,
        PostingKind::BalanceRefund => {
            debit.class == StoredValue && credit.class == BalanceRefunded && debit.number == credit.number
        }
    }
}

/// Balances people see as `Yen` (at most `AMOUNT_YEN_MAX`).
fn is_capped(class: AccountClass) -> bool {
    matches!(class, AccountClass::StoredValue | AccountClass::StorePayable)
}

/// Whether `posting` would be accepted now. Reads only.
pub fn check(tx: &mut Tx<'_>, posting: &Posting<'_>) -> Result<Result<(), Refusal>, StorageError> {
    assert!(posting.debit != posting.credit, "a posting moves money between two accounts");
    assert!(
        allowed(posting.kind, posting.debit, posting.credit),
        "a {:?} posting may not move money from {} to {}",
        posting.kind,
        posting.debit,
        posting.credit
    );
    let debit = account(tx, posting.debit)?;
    let credit = account(tx, posting.credit)?;
    let amount = posting.amount.get();
    if !posting.debit.class.is_debit_normal() {
        let balance_yen = debit.balance_yen().expect("the ledger never lets a balance go negative");
        if balance_yen < amount {
            return Ok(Err(Refusal::Insufficient { account: posting.debit, balance_yen }));
        }
    }
    if is_capped(posting.credit.class) {
        let balance_yen = credit.balance_yen().expect("the ledger never lets a balance go negative");
        if balance_yen.checked_add(amount).is_none_or(|after| after > AMOUNT_YEN_MAX) {
            return Ok(Err(Refusal::OverLimit { account: posting.credit, balance_yen }));
        }
    }
    Ok(Ok(()))
}

/// Posts `posting` on business day `day`, caused by `cause`: both accounts,
/// the posting log, each account's statement entry, the totals and the day's
/// totals, all in the group's batch. Nothing is written when it is refused.
pub fn post(
    tx: &mut Tx<'_>,
    cause: &Cause,
    day: Date,
    posting: &Posting<'_>,
) -> Result<Result<PostingRecord, Refusal>, StorageError> {
    if let Err(refusal) = check(tx, posting)? {
        return Ok(Err(refusal));
    }
    let amount = posting.amount.get();
    let mut debit = account(tx, posting.debit)?;
    let mut credit = account(tx, posting.credit)?;
    debit.debits_yen = debit.debits_yen.checked_add(amount).expect("account totals stay far below u64");
    credit.credits_yen = credit.credits_yen.checked_add(amount).expect("account totals stay far below u64");
    let debit_after = debit.balance_yen().expect("checked above");
    let credit_after = credit.balance_yen().expect("a credit only raises a credit-normal balance");
    let sequence = tx.next(Counter::LastPosting)?;
    let record = PostingRecord {
        sequence,
        recorded_at_ms: tx.now_ms(),
        day,
        kind: posting.kind,
        debit: posting.debit,
        credit: posting.credit,
        amount: posting.amount,
        reference: posting.reference,
        cause_sender: cause.sender,
        cause_processing_number: cause.processing_number,
        description: Text::truncated(posting.description),
    };
    tx.ledger_put(debit);
    tx.ledger_put(credit);
    tx.ledger_put(record.clone());
    for (account, side, balance_after_yen) in
        [(posting.debit, Side::Debit, debit_after), (posting.credit, Side::Credit, credit_after)]
    {
        tx.ledger_put(AccountEntry { account, day, sequence, side, amount: posting.amount, balance_after_yen });
    }

    let mut all_time = totals(tx)?;
    add_movement(&mut all_time, posting.debit.class, posting.credit.class, amount);
    // Our invariants, checked after every posting.
    assert!(debits_equal_credits(&all_time), "the ledger's debits and credits differ");
    assert!(
        Reconciliation::from_totals(&all_time).is_some_and(|reconciliation| reconciliation.balances()),
        "funds in no longer equal stored value + payables + paid out + refunded"
    );
    tx.ledger_put(all_time);

    let mut day_totals = tx.ledger_record(&LedgerKey::day_totals(day))?.unwrap_or_else(|| DayTotals::empty(day));
    add_movement(&mut day_totals.movements, posting.debit.class, posting.credit.class, amount);
    match posting.kind {
        PostingKind::TopUp => {
            let channel = u8::try_from(posting.debit.number)
                .ok()
                .and_then(FundingChannel::from_byte)
                .expect("clearing accounts are numbered by channel");
            day_totals.top_ups_mut(channel).add(amount);
        }
        PostingKind::Payment => {
            day_totals.payments.add(amount);
            let store = StoreNumber::new(posting.credit.number).expect("payables are numbered by store");
            let mut sales = tx.ledger_record(&LedgerKey::day_store_sales(day, store))?.unwrap_or(DayStoreSales {
                day,
                store,
                sales: Default::default(),
            });
            sales.sales.add(amount);
            tx.ledger_put(sales);
        }
        PostingKind::StoreRefund => day_totals.store_refunds.add(amount),
        PostingKind::Payout => day_totals.payouts.add(amount),
        PostingKind::BalanceRefund => day_totals.balance_refunds.add(amount),
    }
    tx.ledger_put(day_totals);
    Ok(Ok(record))
}

fn add_movement(totals: &mut LedgerTotals, debit: AccountClass, credit: AccountClass, amount: u64) {
    let debited = totals.class_mut(debit);
    debited.debits_yen = debited.debits_yen.checked_add(amount).expect("ledger sums stay far below u64");
    let credited = totals.class_mut(credit);
    credited.credits_yen = credited.credits_yen.checked_add(amount).expect("ledger sums stay far below u64");
    totals.postings = totals.postings.checked_add(1).expect("posting counts stay far below u64");
}

/// Milliseconds in a day.
const DAY_MS: i128 = 86_400_000;
/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i128 = 2_440_588;

/// The business day `at_ms` falls on, with days starting at midnight
/// `utc_offset_hours` from UTC.
pub fn business_day(at_ms: u64, utc_offset_hours: i8) -> Date {
    let shifted = i128::from(at_ms) + i128::from(utc_offset_hours) * 3_600_000;
    let julian = UNIX_EPOCH_JULIAN_DAY + shifted.div_euclid(DAY_MS);
    let date = i32::try_from(julian).ok().and_then(|julian| time::Date::from_julian_day(julian).ok());
    date.and_then(|date| Date::new(u16::try_from(date.year()).ok()?, u8::from(date.month()), date.day()))
        .expect("the center's clock lies between 1970 and 2999")
}

/// When business day `day` starts, in unix milliseconds (may be before 1970
/// for the first day with a positive offset).
pub fn day_start_ms(day: Date, utc_offset_hours: i8) -> i128 {
    let (year, month, day_of_month) = day.parts();
    let julian = time::Month::try_from(month)
        .ok()
        .and_then(|month| time::Date::from_calendar_date(i32::from(year), month, day_of_month).ok())
        .map(|date| i128::from(date.to_julian_day()))
        .expect("a protocol Date is a valid calendar date");
    (julian - UNIX_EPOCH_JULIAN_DAY) * DAY_MS - i128::from(utc_offset_hours) * 3_600_000
}

/// The day after `day` (`None` after 2999-12-31).
pub fn next_day(day: Date) -> Option<Date> {
    let (year, month, day_of_month) = day.parts();
    let date = time::Date::from_calendar_date(i32::from(year), time::Month::try_from(month).ok()?, day_of_month)
        .ok()?
        .next_day()?;
    Date::new(u16::try_from(date.year()).ok()?, u8::from(date.month()), date.day())
}

/// The month of `day` as `yyyymm`.
pub fn month_of(day: Date) -> u32 {
    day.to_number() / 100
}

#[cfg(test)]
mod tests;
