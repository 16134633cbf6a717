//! Family 94: statistics and the reconciliation for a range of business
//! days (at most `REPORT_DAYS_MAX`): top-ups by channel, sales by store,
//! telegrams and payments per day, payouts and refunds, and the ledger
//! identity `funds in = stored value + store payables + paid out + refunded`
//! over all time (as of the range's last day) and over the range.
//!
//! The range's reconciliation is written as opening + in = closing + out,
//! since the protocol's fields are unsigned and stored value or payables can
//! fall over a day: its `funds_in_yen` is the stored value and payables at
//! the start of the range plus the funds that came in during it; its stored
//! value and payables are those at the end; its paid out and refunded are
//! what left during the range.
//!
//! Everything comes from the day totals the ledger keeps with every posting
//! and the telegram counts the storage keeps with every journal entry, so a
//! report reads a few records per day, never the journal or the postings.

use std::collections::BTreeMap;

use denbun_protocol::header::{Header, StoreNumber};
use denbun_protocol::limits::{REPORT_DAYS_MAX, REPORT_STORES_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{
    DayVolume, Reconciliation as ReconciliationBody, Report, ReportRequest, StoreSales, TopUps, Total,
};
use denbun_protocol::wire::{Date, List};

use super::common::{accept, operator_in_good_standing};
use super::{Decision, FlowContext};
use crate::ledger::{self, Reconciliation, add_totals, day_start_ms, next_day};
use crate::service::tx::Tx;
use crate::storage::ledger_records::{CountYen, DayStoreSales, DayTotals, LedgerTotals, family};
use crate::storage::records::HOUR_MS;
use crate::storage::{LedgerKey, LedgerRange, ScanOrder, StorageError};

/// Day totals read at a time when adding up all time.
const DAYS_CHUNK: usize = 1_000;
/// Chunks of days (bounds the loop: 27,000 years of business days).
const DAYS_CHUNKS_MAX: usize = 10_000;
/// Stores read per day for sales (bounds the loop).
const STORES_PER_DAY_MAX: usize = 1_000_000;

fn total(count_yen: CountYen) -> Total {
    Total { count: count_yen.count, yen: count_yen.yen }
}

fn add(sum: &mut CountYen, other: CountYen) {
    sum.count = sum.count.saturating_add(other.count);
    sum.yen = sum.yen.saturating_add(other.yen);
}

fn body(reconciliation: Reconciliation) -> ReconciliationBody {
    ReconciliationBody {
        funds_in_yen: reconciliation.funds_in_yen,
        stored_value_yen: reconciliation.stored_value_yen,
        store_payables_yen: reconciliation.store_payables_yen,
        paid_out_yen: reconciliation.paid_out_yen,
        refunded_yen: reconciliation.refunded_yen,
    }
}

/// The ledger's movements over every day before `before` (all days if none).
pub fn movements_before(tx: &mut Tx<'_>, before: Option<Date>) -> Result<LedgerTotals, StorageError> {
    let mut sum = LedgerTotals::default();
    let mut range = match before {
        Some(day) => LedgerRange::between(LedgerKey::prefix_of(family::DAY_TOTALS, &[]), LedgerKey::day_totals(day)),
        None => LedgerRange::family(family::DAY_TOTALS),
    };
    for _ in 0..DAYS_CHUNKS_MAX {
        let chunk: Vec<DayTotals> = tx.ledger_scan_as(&range, ScanOrder::Ascending, DAYS_CHUNK)?;
        let Some(last) = chunk.last().map(DayTotals::key) else { break };
        for day in &chunk {
            add_totals(&mut sum, &day.movements);
        }
        range = range.resume_after(&last);
    }
    Ok(sum)
}

/// Telegrams journaled in and out on business day `day`.
fn telegrams_on(tx: &Tx<'_>, day: Date, utc_offset_hours: i8) -> Result<(u64, u64), StorageError> {
    let start_ms = day_start_ms(day, utc_offset_hours).max(0);
    let first_hour = u64::try_from(start_ms).expect("clamped at 0") / HOUR_MS;
    let hours = tx.storage().telegram_hours(first_hour, 24)?;
    Ok(hours.iter().fold((0, 0), |(telegrams_in, telegrams_out), hour| {
        (telegrams_in + hour.telegrams_in, telegrams_out + hour.telegrams_out)
    }))
}

/// Why a report cannot be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportRefusal {
    /// More than `REPORT_DAYS_MAX` days asked for.
    TooManyDays,
    /// The day totals up to the range do not add up to a ledger that never
    /// went below zero (only a clock set back across midnight could do it;
    /// the audit says more).
    DaysDoNotAddUp,
}

/// The report's content, for the operator telegram and offline use.
pub fn build(
    tx: &mut Tx<'_>,
    utc_offset_hours: i8,
    from: Date,
    to: Date,
) -> Result<Result<Report, ReportRefusal>, StorageError> {
    let mut days = Vec::new();
    let mut day = Some(from);
    while let Some(current) = day.filter(|current| *current <= to) {
        if days.len() == REPORT_DAYS_MAX {
            return Ok(Err(ReportRefusal::TooManyDays));
        }
        days.push(current);
        day = next_day(current);
    }
    let mut top_ups = [CountYen::default(); 4];
    let mut payouts = CountYen::default();
    let mut refunds = CountYen::default();
    let mut range_movements = LedgerTotals::default();
    let mut sales: BTreeMap<StoreNumber, CountYen> = BTreeMap::new();
    let mut volumes = Vec::with_capacity(days.len());
    for &day in &days {
        let totals = tx.ledger_record(&LedgerKey::day_totals(day))?.unwrap_or_else(|| DayTotals::empty(day));
        for (sum, day_total) in top_ups.iter_mut().zip([
            totals.top_ups_credit_company,
            totals.top_ups_bank_transfer,
            totals.top_ups_post_office_transfer,
            totals.top_ups_registered_mail_cash,
        ]) {
            add(sum, day_total);
        }
        add(&mut payouts, totals.payouts);
        add(&mut refunds, totals.store_refunds);
        add_totals(&mut range_movements, &totals.movements);
        let range = LedgerRange::prefix(LedgerKey::family_with(family::DAY_STORE_SALES, &day));
        let store_sales: Vec<DayStoreSales> = tx.ledger_scan_as(&range, ScanOrder::Ascending, STORES_PER_DAY_MAX)?;
        for entry in store_sales {
            add(sales.entry(entry.store).or_default(), entry.sales);
        }
        let (telegrams_in, telegrams_out) = telegrams_on(tx, day, utc_offset_hours)?;
        volumes.push(DayVolume { date: day, telegrams_in, telegrams_out, payments: total(totals.payments) });
    }
    let mut by_store: Vec<(StoreNumber, CountYen)> = sales.into_iter().collect();
    by_store.sort_by(|left, right| right.1.yen.cmp(&left.1.yen).then(left.0.cmp(&right.0)));
    let sales_by_store: Vec<StoreSales> = by_store
        .into_iter()
        .take(REPORT_STORES_MAX)
        .map(|(store, sales)| StoreSales { store, sales: total(sales) })
        .collect();

    let opening_movements = movements_before(tx, Some(from))?;
    let mut closing_movements = opening_movements.clone();
    add_totals(&mut closing_movements, &range_movements);
    // Over the range alone stored value and payables may fall; what came in
    // and what left (paid out, refunded) never do.
    let moved = &range_movements;
    let (Some(opening), Some(closing), Some(moved_in), Some(paid_out), Some(refunded)) = (
        Reconciliation::from_totals(&opening_movements),
        Reconciliation::from_totals(&closing_movements),
        moved.funding_clearing.debits_yen.checked_sub(moved.funding_clearing.credits_yen),
        moved.paid_out.credits_yen.checked_sub(moved.paid_out.debits_yen),
        moved.balance_refunded.credits_yen.checked_sub(moved.balance_refunded.debits_yen),
    ) else {
        return Ok(Err(ReportRefusal::DaysDoNotAddUp));
    };
    let range_reconciliation = Reconciliation {
        funds_in_yen: opening.stored_value_yen + opening.store_payables_yen + moved_in,
        stored_value_yen: closing.stored_value_yen,
        store_payables_yen: closing.store_payables_yen,
        paid_out_yen: paid_out,
        refunded_yen: refunded,
    };
    Ok(Ok(Report {
        range: denbun_protocol::telegram::DateRange::new(from, to).expect("from <= to"),
        top_ups: TopUps {
            credit_company: total(top_ups[0]),
            bank_transfer: total(top_ups[1]),
            post_office_transfer: total(top_ups[2]),
            registered_mail_cash: total(top_ups[3]),
        },
        sales_by_store: List::new(sales_by_store).expect("at most REPORT_STORES_MAX"),
        days: List::new(volumes).expect("at most REPORT_DAYS_MAX"),
        payouts: total(payouts),
        refunds: total(refunds),
        all_time: body(closing),
        range_movements: body(range_reconciliation),
    }))
}

/// `9400`: the report for an operator.
pub fn report(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    request: &ReportRequest,
) -> Result<Decision, StorageError> {
    accept!(operator_in_good_standing(tx, header.sender())?);
    let offset = context.config.money.utc_offset_hours;
    match build(tx, offset, request.range.from(), request.range.to())? {
        Ok(report) => Ok(Decision::answer(report)),
        Err(ReportRefusal::TooManyDays) => Ok(Decision::reject_with(
            RejectReason::LimitExceeded,
            format!("a report covers at most {REPORT_DAYS_MAX} days"),
        )),
        Err(ReportRefusal::DaysDoNotAddUp) => {
            Ok(Decision::reject_with(RejectReason::InternalError, "the day totals do not add up; run the audit"))
        }
    }
}

/// The report as text for an operator's screen or printer.
pub fn render(report: &Report) -> String {
    use denbun_protocol::wire::group_thousands as yen;
    let mut text = String::new();
    let (from, to) = (report.range.from(), report.range.to());
    if from == to {
        text.push_str(&format!("Report for {from}\n"));
    } else {
        text.push_str(&format!("Report for {from} to {to}\n"));
    }
    let line = |label: &str, total: &Total| format!("  {label:<24} {:>8} {:>18} yen\n", total.count, yen(total.yen));
    text.push_str("\nTop-ups by channel\n");
    text.push_str(&line("credit company", &report.top_ups.credit_company));
    text.push_str(&line("bank transfer", &report.top_ups.bank_transfer));
    text.push_str(&line("post-office transfer", &report.top_ups.post_office_transfer));
    text.push_str(&line("registered-mail cash", &report.top_ups.registered_mail_cash));
    text.push_str("\nSales by store\n");
    if report.sales_by_store.is_empty() {
        text.push_str("  (none)\n");
    }
    for sales in report.sales_by_store.iter() {
        text.push_str(&line(&sales.store.to_string(), &sales.sales));
    }
    text.push('\n');
    text.push_str(&line("payouts executed", &report.payouts));
    text.push_str(&line("store refunds", &report.refunds));
    text.push_str("\nDay          telegrams in  telegrams out  payments\n");
    for day in report.days.iter() {
        text.push_str(&format!(
            "  {}  {:>12}  {:>13}  {:>8} {:>18} yen\n",
            day.date,
            day.telegrams_in,
            day.telegrams_out,
            day.payments.count,
            yen(day.payments.yen)
        ));
    }
    let reconciliation = |title: &str, funds_in: &str, body: &ReconciliationBody| {
        let holds = reconciles_body(body);
        format!(
            "\n{title}: {}\n  {funds_in:<40} {:>18} yen\n  {:<40} {:>18} yen\n  {:<40} {:>18} yen\n  {:<40} {:>18} yen\n  {:<40} {:>18} yen\n",
            if holds { "reconciles" } else { "DOES NOT RECONCILE" },
            yen(body.funds_in_yen),
            "= stored value",
            yen(body.stored_value_yen),
            "+ store payables",
            yen(body.store_payables_yen),
            "+ paid out",
            yen(body.paid_out_yen),
            "+ refunded",
            yen(body.refunded_yen),
        )
    };
    text.push_str(&reconciliation(&format!("All time, as of the end of {to}"), "funds in", &report.all_time));
    text.push_str(&reconciliation("These days", "opening balances + funds in", &report.range_movements));
    text
}

fn reconciles_body(body: &ReconciliationBody) -> bool {
    ledger::Reconciliation {
        funds_in_yen: body.funds_in_yen,
        stored_value_yen: body.stored_value_yen,
        store_payables_yen: body.store_payables_yen,
        paid_out_yen: body.paid_out_yen,
        refunded_yen: body.refunded_yen,
    }
    .balances()
}

/// Whether a report's reconciliations hold (both must, always).
pub fn reconciles(report: &Report) -> bool {
    reconciles_body(&report.all_time) && reconciles_body(&report.range_movements)
}

#[cfg(test)]
mod flow_tests {
    use denbun_protocol::header::PartyId;
    use denbun_protocol::telegram::{
        AscendingNumbers, Body, CardAnswer, CardRequest, DateRange, FundingChannel, FundsConfirmation, FundsRequest,
        ItemKind, PaymentClaim, PayoutApproval, PayoutExecution, PayoutsRequest, Refund,
    };
    use denbun_protocol::wire::{Amount, Text};

    use super::*;
    use crate::flows::testing::{Bench, DAY_MS, item, rejected};

    fn report_of(bench: &mut Bench, operator: PartyId, from: Date, to: Date) -> Report {
        let answer = bench.send(operator, ReportRequest { range: DateRange::new(from, to).unwrap() });
        match answer.body() {
            Body::Report(report) => report.clone(),
            other => panic!("expected a report, got {other:?}"),
        }
    }

    fn day(day_of_month: u8) -> Date {
        Date::new(2025, 3, day_of_month).unwrap()
    }

    #[test]
    fn a_day_reconciles_and_counts_what_happened() {
        let mut bench = Bench::new();
        let operator = bench.operator();
        let stores = [bench.store(), bench.store()];
        for store in stores {
            bench.publish(store, 1, vec![item(1, "Lesson", 1_000, ItemKind::Service)]);
        }
        // 7 March: two cards, three payments, a refund.
        let member = bench.funded_member(10_000);
        let pending = bench
            .send(member, CardRequest { amount: Amount::new(5_000).unwrap(), channel: FundingChannel::BankTransfer });
        let Body::CardAnswer(CardAnswer::Pending(pending)) = pending.body() else { panic!("{pending:?}") };
        let confirm = FundsConfirmation { reference: pending.reference.clone(), amount_received: pending.amount };
        assert_eq!(rejected(&bench.send(operator, FundsRequest::Confirm(confirm))), None);
        for (number, store, quantity) in [(1, stores[0], 2), (2, stores[1], 5), (3, stores[0], 1)] {
            assert_eq!(
                rejected(&bench.send(member, Bench::instruction(store, number, 1, &[(1, quantity, 1_000)]))),
                None
            );
        }
        let refund =
            Refund { transaction_number: 2, amount: Amount::new(1_000).unwrap(), reason: Text::new("late").unwrap() };
        assert_eq!(rejected(&bench.send(stores[1], refund)), None);
        // 8 March: a payout.
        bench.advance(DAY_MS);
        let claim = PaymentClaim { transaction_numbers: AscendingNumbers::new(vec![1, 3]).unwrap() };
        let Body::PaymentClaimAnswer(claim) = bench.send(stores[0], claim).body().clone() else { panic!() };
        let approval = PayoutApproval { claim_numbers: AscendingNumbers::new(vec![claim.claim_number]).unwrap() };
        assert_eq!(rejected(&bench.send(operator, PayoutsRequest::Approve(approval))), None);
        let execution = PayoutExecution { batch_number: 1, executed_on: day(8) };
        assert_eq!(rejected(&bench.send(operator, PayoutsRequest::Executed(execution))), None);

        let first = report_of(&mut bench, operator, day(7), day(7));
        assert_eq!((first.top_ups.credit_company.count, first.top_ups.credit_company.yen), (1, 10_000));
        assert_eq!((first.top_ups.bank_transfer.count, first.top_ups.bank_transfer.yen), (1, 5_000));
        assert_eq!(first.top_ups.post_office_transfer.count, 0);
        let sales: Vec<(PartyId, u64, u64)> = first
            .sales_by_store
            .iter()
            .map(|sales| (sales.store.party(), sales.sales.count, sales.sales.yen))
            .collect();
        assert_eq!(sales, [(stores[1], 1, 5_000), (stores[0], 2, 3_000)], "largest first");
        assert_eq!((first.refunds.count, first.refunds.yen), (1, 1_000));
        assert_eq!(first.payouts.count, 0);
        assert_eq!(first.days.len(), 1);
        assert_eq!((first.days[0].payments.count, first.days[0].payments.yen), (3, 8_000));
        assert!(first.days[0].telegrams_in >= 8, "{:?}", first.days[0]);
        assert!(first.days[0].telegrams_out > first.days[0].telegrams_in, "answers and notices: {:?}", first.days[0]);
        assert_eq!(first.all_time.funds_in_yen, 15_000);
        assert_eq!((first.all_time.stored_value_yen, first.all_time.store_payables_yen), (8_000, 7_000));
        assert!(reconciles(&first));

        let second = report_of(&mut bench, operator, day(8), day(8));
        assert_eq!((second.payouts.count, second.payouts.yen), (1, 3_000));
        assert_eq!(second.all_time.paid_out_yen, 3_000);
        assert_eq!(second.all_time.store_payables_yen, 4_000);
        assert_eq!(second.range_movements.funds_in_yen, 15_000, "opening balances, nothing new in");
        assert_eq!(second.range_movements.paid_out_yen, 3_000);
        assert!(reconciles(&second));
        let text = render(&second);
        assert!(text.starts_with("Report for 2025-03-08\n"), "{text}");
        assert!(text.contains("payouts executed                1              3,000 yen"), "{text}");
        assert!(text.contains("All time, as of the end of 2025-03-08: reconciles"), "{text}");
        assert!(text.contains("These days: reconciles"), "{text}");
        assert!(!text.contains("DOES NOT"), "{text}");
        let mut broken = second.clone();
        broken.all_time.paid_out_yen += 1;
        assert!(!reconciles(&broken));
        assert!(render(&broken).contains("DOES NOT RECONCILE"));
        let both = report_of(&mut bench, operator, day(7), day(8));
        assert_eq!(both.days.len(), 2);
        assert_eq!(both.range_movements.funds_in_yen, 15_000);
        assert!(reconciles(&both));
        let too_long = bench
            .send(operator, ReportRequest { range: DateRange::new(day(1), Date::new(2025, 4, 1).unwrap()).unwrap() });
        assert_eq!(rejected(&too_long), Some(denbun_protocol::reject::RejectReason::LimitExceeded));
        bench.assert_audit_passes();
    }
}
