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

#[cfg(test)]
mod flow_tests {
    use denbun_protocol::telegram::{Body, DateRange, ItemKind, Refund, Statement};
    use denbun_protocol::wire::{Amount, Text};

    use super::*;
    use crate::flows::testing::{Bench, DAY_MS, item, rejected};

    fn statement_of(bench: &mut Bench, party: PartyId, from: Date, to: Date, page: u16) -> Statement {
        let answer = bench.send(party, StatementRequest { range: DateRange::new(from, to).unwrap(), page });
        match answer.body() {
            Body::Statement(statement) => statement.clone(),
            other => panic!("expected a statement, got {other:?}"),
        }
    }

    fn day(day_of_month: u8) -> Date {
        Date::new(2025, 3, day_of_month).unwrap()
    }

    #[test]
    fn statements_show_the_days_asked_with_opening_and_closing_balances() {
        let mut bench = Bench::new();
        let store = bench.store();
        bench.publish(store, 1, vec![item(1, "Green tea", 400, ItemKind::Service)]);
        let member = bench.funded_member(2_000);
        bench.advance(DAY_MS);
        assert_eq!(rejected(&bench.send(member, Bench::instruction(store, 8, 1, &[(1, 3, 400)]))), None);
        bench.advance(DAY_MS);
        let refund = Refund {
            transaction_number: 8,
            amount: Amount::new(400).unwrap(),
            reason: Text::new("one was cold").unwrap(),
        };
        assert_eq!(rejected(&bench.send(store, refund)), None);

        let statement = statement_of(&mut bench, member, day(8), day(9), 0);
        assert_eq!((statement.opening_balance.get(), statement.closing_balance.get()), (2_000, 1_200));
        assert_eq!(statement.page_count, 1);
        let lines: Vec<(Date, EntryKind, u64, PartyId, u64, &str)> = statement
            .lines
            .iter()
            .map(|line| {
                (line.date, line.kind, line.reference, line.counterparty, line.amount.get(), line.description.as_str())
            })
            .collect();
        assert_eq!(
            lines,
            [
                (day(8), EntryKind::Payment, 8, store, 1_200, "Green tea"),
                (day(9), EntryKind::Refund, 8, store, 400, "Green tea"),
            ]
        );
        let all = statement_of(&mut bench, member, day(1), day(31), 0);
        assert_eq!((all.opening_balance.get(), all.lines.len()), (0, 3));
        assert_eq!(all.lines[0].kind, EntryKind::CardIssued);
        assert_eq!(all.lines[0].counterparty, PartyId::CENTER);
        let store_view = statement_of(&mut bench, store, day(7), day(9), 0);
        let kinds: Vec<EntryKind> = store_view.lines.iter().map(|line| line.kind).collect();
        assert_eq!(kinds, [EntryKind::Sale, EntryKind::Refund]);
        assert_eq!(store_view.lines[0].counterparty, member);
        assert_eq!(store_view.closing_balance.get(), 800);
        let before = statement_of(&mut bench, member, day(1), day(6), 0);
        assert_eq!((before.opening_balance.get(), before.closing_balance.get(), before.lines.len()), (0, 0, 0));
        bench.assert_audit_passes();
    }

    #[test]
    fn long_statements_come_in_pages() {
        let mut bench = Bench::new();
        let store = bench.store();
        bench.publish(store, 1, vec![item(1, "Stamp", 1, ItemKind::Service)]);
        let member = bench.funded_member(1_000);
        let telegrams: Vec<_> =
            (1..=150).map(|number| bench.sign(member, Bench::instruction(store, number, 1, &[(1, 1, 1)]))).collect();
        assert!(bench.group(telegrams).iter().all(|answer| rejected(answer).is_none()));
        let first = statement_of(&mut bench, member, day(7), day(7), 0);
        let second = statement_of(&mut bench, member, day(7), day(7), 1);
        assert_eq!((first.page_count, first.lines.len(), second.lines.len()), (2, 100, 51));
        assert_eq!(second.lines.last().unwrap().reference, 150);
        assert_eq!((first.opening_balance.get(), first.closing_balance.get()), (0, 850));
    }
}
