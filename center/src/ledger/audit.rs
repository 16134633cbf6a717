//! The ledger's part of the audit: replay the posting log from the first
//! posting and check that it agrees with everything derived from it.
//!
//! - postings are numbered 1, 2, 3, … without a gap, up to the counter;
//! - every posting moves money between accounts its kind allows, never
//!   takes a stored value or payable below zero nor a balance shown to
//!   people above `AMOUNT_YEN_MAX`, and each account's statement entry
//!   holds the balance the replay reaches;
//! - every posting was caused by a telegram the journal shows accepted, of
//!   the code that kind of posting comes from;
//! - every account's totals equal the replay, the ledger totals equal the
//!   sums by class, debits equal credits, and funds in = stored value +
//!   store payables + paid out + refunded;
//! - each day's totals and each store's sales by day equal the replay;
//! - each member's cards add up to the stored value, no card holds more
//!   than its face value, and the index of cards with value left is exact;
//! - refunds never exceed a purchase's total, and each store's outstanding
//!   claims are the sum of its claims not yet paid out and within its payable.
//!
//! It reads storage only, page by page.

use std::collections::{BTreeMap, HashMap, HashSet};

use denbun_protocol::header::{Code, MemberNumber, PartyId, StoreNumber};
use denbun_protocol::limits::AMOUNT_YEN_MAX;
use denbun_protocol::wire::Date;

use super::{Reconciliation, add_movement, allowed, debits_equal_credits, is_capped};
use crate::storage::ledger_records::{
    AccountClass, AccountEntry, AccountId, AccountRecord, CardRecord, ClaimRecord, ClaimStatus, CountYen,
    DayStoreSales, DayTotals, Draws, LedgerTotals, LiveCard, MemberCard, MemberPurchases, MemberTransaction,
    PostingKind, PostingRecord, Side, StoreClaims, TransactionRecord, family,
};
use crate::storage::{Counter, LedgerKey, LedgerRange, LedgerType, ScanOrder, Storage, StorageError};

/// Records read per page.
const PAGE_RECORDS: usize = 1_000;
/// Pages one family may take (bounds every loop; a billion records per family).
const PAGES_MAX: usize = 1_000_000;

/// What the ledger checks report into.
pub trait Findings {
    /// Records a problem.
    fn find(&mut self, finding: String);
}

/// Visits every record of `range` in key order.
fn each<T: LedgerType>(
    storage: &dyn Storage,
    range: LedgerRange,
    mut visit: impl FnMut(T) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let mut range = range;
    for _ in 0..PAGES_MAX {
        let page = storage.ledger_scan(&range, ScanOrder::Ascending, PAGE_RECORDS)?;
        let Some(last) = page.last().map(|record| record.key()) else { return Ok(()) };
        for record in page {
            let key = record.key();
            let typed = T::from_record(record).ok_or_else(|| StorageError::Corrupt {
                key: format!("{key:?}"),
                reason: "a record of another kind in its family".to_owned(),
            })?;
            visit(typed)?;
        }
        range = range.resume_after(&last);
    }
    Ok(())
}

/// The request codes a posting of `kind` may come from.
fn causes_of(kind: PostingKind) -> &'static [Code] {
    match kind {
        PostingKind::TopUp => &[Code::CARD_REQUEST, Code::FUNDS_REQUEST],
        PostingKind::Payment => &[Code::PAYMENT_INSTRUCTION],
        PostingKind::StoreRefund => &[Code::REFUND],
        PostingKind::Payout => &[Code::PAYOUTS_REQUEST],
        PostingKind::BalanceRefund => &[Code::BALANCE_REFUND],
    }
}

/// What the replay of the posting log reached.
#[derive(Default)]
struct Replay {
    accounts: HashMap<AccountId, AccountRecord>,
    totals: LedgerTotals,
    days: BTreeMap<Date, DayTotals>,
    sales: BTreeMap<(Date, StoreNumber), CountYen>,
    postings: u64,
}

/// Runs the ledger checks. `accepted` maps each (sender, processing number)
/// the journal shows applied to the base code of its request when its
/// answer was an acceptance (`None` when it was refused).
pub fn check(
    storage: &dyn Storage,
    accepted: &HashMap<(PartyId, u64), Option<u16>>,
    findings: &mut dyn Findings,
) -> Result<u64, StorageError> {
    let mut replay = Replay::default();
    let mut expected_sequence = 1u64;
    let mut problems: Vec<String> = Vec::new();
    each::<PostingRecord>(storage, LedgerRange::family(family::POSTING), |posting| {
        let sequence = posting.sequence;
        if sequence != expected_sequence {
            problems.push(format!("posting {expected_sequence} is missing (the next is {sequence})"));
        }
        expected_sequence = sequence + 1;
        replay.postings += 1;
        if posting.debit == posting.credit || !allowed(posting.kind, posting.debit, posting.credit) {
            problems.push(format!(
                "posting {sequence} ({:?}) moves money from {} to {}, which its kind does not allow",
                posting.kind, posting.debit, posting.credit
            ));
        }
        match accepted.get(&(posting.cause_sender, posting.cause_processing_number)) {
            Some(Some(code)) if causes_of(posting.kind).iter().any(|cause| cause.number() == *code) => {}
            Some(Some(code)) => problems.push(format!(
                "posting {sequence} ({:?}) names as its cause a telegram {code:04}, which does not move money that way",
                posting.kind
            )),
            Some(None) => problems.push(format!(
                "posting {sequence} names as its cause {} processing number {}, which the center refused",
                posting.cause_sender, posting.cause_processing_number
            )),
            None => problems.push(format!(
                "posting {sequence} names as its cause {} processing number {}, which is not in the journal",
                posting.cause_sender, posting.cause_processing_number
            )),
        }
        let amount = posting.amount.get();
        for (account, side) in [(posting.debit, Side::Debit), (posting.credit, Side::Credit)] {
            let record = replay.accounts.entry(account).or_insert_with(|| AccountRecord::empty(account));
            match side {
                Side::Debit => record.debits_yen = record.debits_yen.saturating_add(amount),
                Side::Credit => record.credits_yen = record.credits_yen.saturating_add(amount),
            }
            match record.balance_yen() {
                None => problems.push(format!("posting {sequence} takes {account} below zero")),
                Some(balance) if is_capped(account.class) && balance > AMOUNT_YEN_MAX => {
                    problems.push(format!("posting {sequence} takes {account} above AMOUNT_YEN_MAX"))
                }
                Some(balance) => {
                    // The account's statement entry holds the balance the replay reaches.
                    let entry = storage
                        .ledger_get(&LedgerKey::account_entry(account, posting.day, sequence))?
                        .and_then(AccountEntry::from_record);
                    match entry {
                        Some(entry) if entry.side == side && entry.balance_after_yen == balance => {}
                        Some(_) => problems.push(format!(
                            "the statement entry of {account} for posting {sequence} does not show the balance {balance}"
                        )),
                        None => problems.push(format!("{account} has no statement entry for posting {sequence}")),
                    }
                }
            }
        }
        add_movement(&mut replay.totals, posting.debit.class, posting.credit.class, amount);
        let day = replay.days.entry(posting.day).or_insert_with(|| DayTotals::empty(posting.day));
        add_movement(&mut day.movements, posting.debit.class, posting.credit.class, amount);
        match posting.kind {
            PostingKind::TopUp => {
                if let Some(channel) = u8::try_from(posting.debit.number)
                    .ok()
                    .and_then(denbun_protocol::telegram::FundingChannel::from_byte)
                {
                    day.top_ups_mut(channel).add(amount);
                }
            }
            PostingKind::Payment => {
                day.payments.add(amount);
                if let Ok(store) = StoreNumber::new(posting.credit.number) {
                    replay.sales.entry((posting.day, store)).or_default().add(amount);
                }
            }
            PostingKind::StoreRefund => day.store_refunds.add(amount),
            PostingKind::Payout => day.payouts.add(amount),
            PostingKind::BalanceRefund => day.balance_refunds.add(amount),
        }
        Ok(())
    })?;
    for problem in problems.drain(..) {
        findings.find(problem);
    }
    let last_sequence = storage.counter(Counter::LastPosting)?;
    if last_sequence != expected_sequence - 1 {
        findings.find(format!(
            "the posting counter says {last_sequence} but the posting log ends at {}",
            expected_sequence - 1
        ));
    }

    // Account totals.
    let mut seen = HashSet::new();
    each::<AccountRecord>(storage, LedgerRange::family(family::ACCOUNT), |stored| {
        seen.insert(stored.account);
        let replayed =
            replay.accounts.get(&stored.account).cloned().unwrap_or_else(|| AccountRecord::empty(stored.account));
        if stored != replayed {
            problems.push(format!(
                "{} holds debits {} and credits {}, the postings add up to {} and {}",
                stored.account, stored.debits_yen, stored.credits_yen, replayed.debits_yen, replayed.credits_yen
            ));
        }
        Ok(())
    })?;
    for account in replay.accounts.keys().filter(|account| !seen.contains(*account)) {
        problems.push(format!("{account} has postings but no account record"));
    }

    // Totals, the double entry and the identity.
    let stored_totals: LedgerTotals = match storage.ledger_get(&LedgerKey::totals())? {
        Some(record) => LedgerTotals::from_record(record).unwrap_or_default(),
        None => LedgerTotals::default(),
    };
    if stored_totals != replay.totals {
        problems.push("the ledger totals by class differ from the sum of the postings".to_owned());
    }
    if !debits_equal_credits(&replay.totals) {
        problems.push("the postings' debits and credits differ".to_owned());
    }
    match Reconciliation::from_totals(&replay.totals) {
        Some(reconciliation) if reconciliation.balances() => {}
        other => problems
            .push(format!("funds in do not equal stored value + store payables + paid out + refunded: {other:?}")),
    }

    // Day totals and sales by store.
    let mut days_seen = HashSet::new();
    each::<DayTotals>(storage, LedgerRange::family(family::DAY_TOTALS), |stored| {
        days_seen.insert(stored.day);
        if replay.days.get(&stored.day) != Some(&stored) {
            problems.push(format!("the totals of {} differ from its postings", stored.day));
        }
        Ok(())
    })?;
    for day in replay.days.keys().filter(|day| !days_seen.contains(*day)) {
        problems.push(format!("{day} has postings but no day totals"));
    }
    let mut sales_seen = 0usize;
    each::<DayStoreSales>(storage, LedgerRange::family(family::DAY_STORE_SALES), |stored| {
        sales_seen += 1;
        if replay.sales.get(&(stored.day, stored.store)) != Some(&stored.sales) {
            problems.push(format!("the sales of {} on {} differ from its payments", stored.store, stored.day));
        }
        Ok(())
    })?;
    if sales_seen != replay.sales.len() {
        problems.push("some store's sales on some day are not recorded".to_owned());
    }

    // Cards against stored value.
    let mut on_cards: HashMap<MemberNumber, u64> = HashMap::new();
    let mut holding: HashSet<(MemberNumber, u64)> = HashSet::new();
    let mut all_cards: HashSet<(MemberNumber, u64)> = HashSet::new();
    each::<CardRecord>(storage, LedgerRange::family(family::CARD), |card| {
        if card.remaining_yen > card.face_value.get() {
            problems.push(format!("card {} holds more than its face value", card.card_number));
        }
        let sum = on_cards.entry(card.member).or_default();
        *sum = sum.saturating_add(card.remaining_yen);
        if card.remaining_yen > 0 {
            holding.insert((card.member, card.card_number));
        }
        all_cards.insert((card.member, card.card_number));
        Ok(())
    })?;
    for (account, record) in &replay.accounts {
        if account.class != AccountClass::StoredValue {
            continue;
        }
        let Ok(member) = MemberNumber::new(account.number) else { continue };
        let balance = record.balance_yen().unwrap_or(0);
        let cards = on_cards.remove(&member).unwrap_or(0);
        if cards != balance {
            problems.push(format!("{member}'s cards hold {cards} yen but the stored value is {balance} yen"));
        }
    }
    for (member, cards) in on_cards.into_iter().filter(|(_, cards)| *cards > 0) {
        problems.push(format!("{member}'s cards hold {cards} yen but the ledger has no stored value for them"));
    }
    let mut live = HashSet::new();
    each::<LiveCard>(storage, LedgerRange::family(family::LIVE_CARD), |entry| {
        live.insert((entry.member, entry.card_number));
        Ok(())
    })?;
    if live != holding {
        problems.push("the index of cards with value left does not match the cards".to_owned());
    }
    let mut indexed = HashSet::new();
    each::<MemberCard>(storage, LedgerRange::family(family::MEMBER_CARD), |entry| {
        indexed.insert((entry.member, entry.card_number));
        Ok(())
    })?;
    if indexed != all_cards {
        problems.push("the index of members' cards does not match the cards".to_owned());
    }

    // Purchases and claims.
    let mut claimed: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut purchases_of: BTreeMap<MemberNumber, u64> = BTreeMap::new();
    each::<TransactionRecord>(storage, LedgerRange::family(family::TRANSACTION), |purchase| {
        *purchases_of.entry(purchase.member).or_default() += 1;
        if purchase.refunded_yen > purchase.total.get() {
            problems.push(format!("purchase {} is refunded beyond its total", purchase.transaction_number));
        }
        if let Draws::Kept(draws) = &purchase.draws {
            let drawn: u64 = draws.iter().map(|draw| draw.drawn_yen).sum();
            let restored: u64 = draws.iter().map(|draw| draw.restored_yen).sum();
            if drawn != purchase.total.get()
                || restored != purchase.refunded_yen
                || draws.iter().any(|draw| draw.restored_yen > draw.drawn_yen)
            {
                problems.push(format!(
                    "purchase {} drew {drawn} yen from its cards and gave {restored} yen back, but its total \
                     is {} yen and {} yen of it was refunded",
                    purchase.transaction_number,
                    purchase.total.get(),
                    purchase.refunded_yen
                ));
            }
        }
        if purchase.claim_number != 0 {
            claimed.entry(purchase.claim_number).or_default().push(purchase.transaction_number);
        }
        Ok(())
    })?;
    // A member's purchases are counted by the index (older purchases) and
    // the count kept in place (newer ones): together, every purchase.
    let mut counted_of: BTreeMap<MemberNumber, u64> = BTreeMap::new();
    each::<MemberTransaction>(storage, LedgerRange::family(family::MEMBER_TRANSACTION), |indexed| {
        *counted_of.entry(indexed.member).or_default() += 1;
        Ok(())
    })?;
    each::<MemberPurchases>(storage, LedgerRange::family(family::MEMBER_PURCHASES), |counted| {
        let sum = counted_of.entry(counted.member).or_default();
        *sum = sum.saturating_add(counted.purchases);
        Ok(())
    })?;
    let mismatch = |member: MemberNumber, counted: u64, made: u64| {
        format!("the purchase count of {member} is {counted}, but the ledger holds {made} of its purchases")
    };
    for (member, counted) in counted_of {
        let made = purchases_of.remove(&member).unwrap_or(0);
        if made != counted {
            problems.push(mismatch(member, counted, made));
        }
    }
    for (member, made) in purchases_of {
        problems.push(mismatch(member, 0, made));
    }
    let mut outstanding: HashMap<StoreNumber, u64> = HashMap::new();
    each::<ClaimRecord>(storage, LedgerRange::family(family::CLAIM), |claim| {
        let mut listed = claimed.remove(&claim.claim_number).unwrap_or_default();
        listed.sort_unstable();
        if listed != claim.transactions.as_slice() {
            problems.push(format!("claim {} and its purchases do not name each other", claim.claim_number));
        }
        if claim.status != ClaimStatus::PaidOut {
            let sum = outstanding.entry(claim.store).or_default();
            *sum = sum.saturating_add(claim.amount.get());
        }
        Ok(())
    })?;
    for claim_number in claimed.keys() {
        problems.push(format!("purchases name claim {claim_number}, which does not exist"));
    }
    each::<StoreClaims>(storage, LedgerRange::family(family::STORE_CLAIMS), |stored| {
        let expected = outstanding.remove(&stored.store).unwrap_or(0);
        if stored.outstanding_yen != expected {
            problems.push(format!(
                "{} has {} yen in outstanding claims recorded, its claims add up to {expected}",
                stored.store, stored.outstanding_yen
            ));
        }
        let payable =
            replay.accounts.get(&AccountId::payable(stored.store)).and_then(AccountRecord::balance_yen).unwrap_or(0);
        if payable < stored.outstanding_yen {
            problems.push(format!(
                "{}'s payable of {payable} yen does not cover its outstanding claims of {} yen",
                stored.store, stored.outstanding_yen
            ));
        }
        Ok(())
    })?;
    for (store, amount) in outstanding.into_iter().filter(|(_, amount)| *amount > 0) {
        problems.push(format!("{store} has {amount} yen in claims but no outstanding record"));
    }
    for problem in problems {
        findings.find(problem);
    }
    Ok(replay.postings)
}

#[cfg(test)]
mod tests {
    use denbun_protocol::header::PartyId;
    use denbun_protocol::telegram::ItemKind;

    use super::*;
    use crate::flows::testing::{Bench, item, rejected};
    use crate::storage::{LedgerRecord, Write, WriteBatch};

    /// A member who paid a store, and the store.
    fn traded() -> (Bench, PartyId, PartyId) {
        let mut bench = Bench::new();
        let store = bench.store();
        bench.publish(store, 1, vec![item(1, "Tea", 300, ItemKind::Service)]);
        let member = bench.funded_member(1_000);
        assert_eq!(rejected(&bench.send(member, Bench::instruction(store, 1, 1, &[(1, 2, 300)]))), None);
        (bench, member, store)
    }

    fn write(bench: &Bench, write: Write) {
        let mut batch = WriteBatch::default();
        batch.push(write);
        bench.storage.commit(&batch).unwrap();
    }

    fn findings(bench: &Bench) -> Vec<String> {
        let report = bench.audit();
        assert!(!report.passed(), "the audit should fail");
        report.findings
    }

    #[test]
    fn a_clean_ledger_replays_to_every_balance() {
        let (bench, _, _) = traded();
        let report = bench.audit();
        assert!(report.passed(), "{report}");
        assert_eq!(report.postings_replayed, 2);
    }

    #[test]
    fn a_changed_balance_is_found() {
        let (bench, member, _) = traded();
        let account = AccountId::stored_value(member.try_into().unwrap());
        let mut record = bench.read(|tx| super::super::account(tx, account).unwrap());
        record.credits_yen += 1_000;
        write(&bench, Write::LedgerPut(record.into()));
        let findings = findings(&bench);
        assert!(findings.iter().any(|finding| finding.contains("stored value of M00000001 holds")), "{findings:?}");
    }

    #[test]
    fn a_card_that_disagrees_with_the_stored_value_is_found() {
        let (bench, member, _) = traded();
        let mut card: CardRecord = bench.read(|tx| tx.ledger_record(&LedgerKey::card(1)).unwrap().unwrap());
        card.remaining_yen += 1;
        write(&bench, Write::LedgerPut(card.into()));
        let findings = findings(&bench);
        assert!(
            findings.iter().any(|finding| finding.contains(&format!("{member}'s cards hold 401 yen"))),
            "{findings:?}"
        );
    }

    #[test]
    fn a_purchase_count_that_disagrees_with_the_purchases_is_found() {
        let (bench, member, _) = traded();
        let number: MemberNumber = member.try_into().unwrap();
        let counted: MemberPurchases =
            bench.read(|tx| tx.ledger_record(&LedgerKey::member_purchases(number)).unwrap().unwrap());
        assert_eq!(counted.purchases, 1);
        // An index entry from an older build counts too: now one too many.
        write(&bench, Write::LedgerPut(MemberTransaction { member: number, transaction_number: 7 }.into()));
        let findings = findings(&bench);
        assert_eq!(findings, [format!("the purchase count of {member} is 2, but the ledger holds 1 of its purchases")]);
    }

    #[test]
    fn a_missing_or_forged_posting_is_found() {
        let (bench, member, store) = traded();
        write(&bench, Write::LedgerRemove(LedgerKey::posting(1)));
        let findings_after_removal = findings(&bench);
        assert!(findings_after_removal.iter().any(|finding| finding.contains("posting 1 is missing")));

        let (bench, _, _) = traded();
        let forged = PostingRecord {
            sequence: 3,
            recorded_at_ms: 0,
            day: Date::new(2025, 3, 7).unwrap(),
            kind: PostingKind::Payment,
            debit: AccountId::stored_value(member.try_into().unwrap()),
            credit: AccountId::payable(store.try_into().unwrap()),
            amount: denbun_protocol::wire::Amount::new(100).unwrap(),
            reference: 99,
            cause_sender: member,
            cause_processing_number: 999,
            description: Default::default(),
        };
        let mut batch = WriteBatch::default();
        batch.push(Write::LedgerPut(LedgerRecord::from(forged)));
        batch.push(Write::Counter(Counter::LastPosting, 3));
        bench.storage.commit(&batch).unwrap();
        let findings = findings(&bench);
        assert!(findings.iter().any(|finding| finding.contains("which is not in the journal")), "{findings:?}");
        assert!(findings.iter().any(|finding| finding.contains("holds debits")), "{findings:?}");
        assert!(findings.iter().any(|finding| finding.contains("no statement entry for posting 3")), "{findings:?}");
    }
}
