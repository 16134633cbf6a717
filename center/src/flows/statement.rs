//! Family 72: a member's or store's signed statement over a range of
//! business days: the member's stored value, or the store's payable, entry
//! by entry, with the balance before the first day and after the last.
//!
//! Every posting keeps the balance right after it in the account's entry,
//! so opening and closing balances are one read each, however long the
//! account's history.

use denbun_protocol::header::{Header, PartyId, PartyKind};
use denbun_protocol::limits::STATEMENT_LINES_MAX;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{EntryKind, Statement, StatementLine, StatementRequest};
use denbun_protocol::wire::{Date, List};

use super::Decision;
use super::common::{page_of, yen};
use crate::ledger::next_day;
use crate::service::tx::Tx;
use crate::storage::ledger_records::{AccountEntry, AccountId, PostingKind, PostingRecord, Side, family};
use crate::storage::{LedgerKey, LedgerRange, PartyStatus, ScanOrder, StorageError};

/// The account a party's statement shows.
fn statement_account(party: PartyId) -> Option<AccountId> {
    match party.kind() {
        PartyKind::Member => Some(AccountId::stored_value(party.try_into().ok()?)),
        PartyKind::Store => Some(AccountId::payable(party.try_into().ok()?)),
        _ => None,
    }
}

/// The account's balance after its last entry before day `before` (0 if none).
fn balance_before(tx: &mut Tx<'_>, account: AccountId, before: Option<Date>) -> Result<u64, StorageError> {
    let prefix = LedgerKey::family_with(family::ACCOUNT_ENTRY, &account);
    let range = match before {
        Some(day) => LedgerRange::between(prefix, LedgerKey::account_entry(account, day, 0)),
        None => LedgerRange::prefix(prefix),
    };
    let last: Vec<AccountEntry> = tx.ledger_scan_as(&range, ScanOrder::Descending, 1)?;
    Ok(last.first().map_or(0, |entry| entry.balance_after_yen))
}

/// What one posting looks like on the statement of the account it touched.
fn line(entry: &AccountEntry, posting: &PostingRecord) -> StatementLine {
    let other = if entry.side == Side::Debit { posting.credit } else { posting.debit };
    let (kind, counterparty) = match posting.kind {
        PostingKind::TopUp => (EntryKind::CardIssued, PartyId::CENTER),
        PostingKind::Payment if entry.side == Side::Debit => (EntryKind::Payment, other.owner()),
        PostingKind::Payment => (EntryKind::Sale, other.owner()),
        PostingKind::StoreRefund => (EntryKind::Refund, other.owner()),
        PostingKind::Payout => (EntryKind::Payout, PartyId::CENTER),
        PostingKind::BalanceRefund => (EntryKind::BalanceRefund, PartyId::CENTER),
    };
    StatementLine {
        date: entry.day,
        kind,
        reference: posting.reference,
        counterparty,
        amount: entry.amount,
        description: posting.description.clone(),
    }
}

/// `7200`: the sender's statement.
pub fn statement(tx: &mut Tx<'_>, header: &Header, request: &StatementRequest) -> Result<Decision, StorageError> {
    let party = header.sender();
    let Some(account) = statement_account(party) else {
        return Ok(Decision::reject(RejectReason::NotPermitted));
    };
    // A frozen or closed account may still read its own record.
    match tx.party(party)? {
        Some(record) if record.status != PartyStatus::Applied => {}
        _ => return Ok(Decision::reject(RejectReason::UnknownSender)),
    }
    let from = request.range.from();
    let after_last = next_day(request.range.to());
    let prefix = LedgerKey::family_with(family::ACCOUNT_ENTRY, &account);
    let range = match after_last {
        Some(day) => {
            LedgerRange::between(LedgerKey::account_entry(account, from, 0), LedgerKey::account_entry(account, day, 0))
        }
        None => LedgerRange::from_within(LedgerKey::account_entry(account, from, 0), prefix),
    };
    let (entries, page_count) = page_of::<AccountEntry>(tx, &range, request.page, STATEMENT_LINES_MAX)?;
    let mut lines = Vec::with_capacity(entries.len());
    for entry in &entries {
        let posting: PostingRecord =
            tx.ledger_record(&LedgerKey::posting(entry.sequence))?.ok_or_else(|| StorageError::Corrupt {
                key: format!("{:?}", LedgerKey::posting(entry.sequence)),
                reason: "an account entry names a missing posting".to_owned(),
            })?;
        lines.push(line(entry, &posting));
    }
    let opening = balance_before(tx, account, Some(from))?;
    let closing = balance_before(tx, account, after_last)?;
    Ok(Decision::answer(Statement {
        range: request.range,
        page: request.page,
        page_count,
        opening_balance: yen(opening),
        closing_balance: yen(closing),
        lines: List::new(lines).expect("at most STATEMENT_LINES_MAX"),
    }))
}
