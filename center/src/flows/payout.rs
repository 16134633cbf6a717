//! Families 60 (payment claim), 61 (payout notice) and the operator's payout
//! commands (9100): stores are paid out to their bank accounts.
//!
//! A store claims delivered (or shipped) purchases; the claim's amount is
//! their totals less refunds, and the store's payable must cover all its
//! claims waiting for payout. An operator approves claims into a batch (one
//! transfer per store, with the store's bank account as it is then),
//! exports the batch as a Zengin file or CSV (kept on first export so every
//! export of a batch is byte-identical, and written to `DIR/payouts/`), and
//! marks it executed once the bank has made the transfers: then the ledger
//! moves each payable to paid out and each store gets a signed payout notice.

use std::collections::BTreeMap;

use denbun_protocol::header::{Header, StoreNumber};
use denbun_protocol::limits::{AMOUNT_YEN_MAX, EXPORT_CHUNK_BYTES_MAX, PAYOUT_BATCH_CLAIMS_MAX, QUERY_ROWS_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{
    AscendingNumbers, BankAccount, BatchSummary, ExportChunk, ExportFormat, PaymentClaim, PaymentClaimAnswer,
    PayoutApproval, PayoutExecution, PayoutExport, PayoutNotice, PayoutsAnswer, PayoutsRequest, PendingClaimRow,
    PendingClaimsPage,
};
use denbun_protocol::wire::{Amount, Blob, List, decode_exact};

use super::catalog::trade_name;
use super::common::{accept, operator_in_good_standing, page_of, store_in_good_standing, today};
use super::payment::transaction;
use super::refund::outstanding_claims_yen;
use super::{Decision, FlowContext};
use crate::ledger::{self, Cause, Posting, export};
use crate::service::tx::Tx;
use crate::storage::ledger_records::{
    AccountId, BatchRecord, BatchTransfer, ClaimRecord, ClaimStatus, EXPORT_FILE_BYTES_MAX, ExportFileRecord, LongBlob,
    PendingClaim, PostingKind, StoreClaims, family,
};
use crate::storage::{Counter, LedgerKey, LedgerRange, PartyStatus, StorageError};

fn claim(tx: &mut Tx<'_>, claim_number: u64) -> Result<Option<ClaimRecord>, StorageError> {
    tx.ledger_record(&LedgerKey::claim(claim_number))
}

fn batch(tx: &mut Tx<'_>, batch_number: u64) -> Result<Option<BatchRecord>, StorageError> {
    tx.ledger_record(&LedgerKey::batch(batch_number))
}

fn set_outstanding(tx: &mut Tx<'_>, store: StoreNumber, outstanding_yen: u64) {
    tx.ledger_put(StoreClaims { store, outstanding_yen });
}

/// `6000`: a store claims payment for delivered purchases.
pub fn claim_payment(tx: &mut Tx<'_>, header: &Header, request: &PaymentClaim) -> Result<Decision, StorageError> {
    let (store, _) = accept!(store_in_good_standing(tx, header.sender())?);
    let numbers = request.transaction_numbers.as_slice();
    let mut purchases = Vec::with_capacity(numbers.len());
    for &number in numbers {
        match transaction(tx, number)? {
            Some(purchase) if purchase.store == store => purchases.push(purchase),
            _ => return Ok(Decision::reject_with(RejectReason::NotFound, format!("no purchase {number} at {store}"))),
        }
    }
    if let Some(claimed) = purchases.iter().find(|purchase| purchase.claim_number != 0) {
        let earlier = claimed.claim_number;
        // The same claim sent again (another processing number): its answer again.
        if let Some(record) = claim(tx, earlier)?
            && record.transactions.as_slice() == numbers
        {
            return Ok(Decision::answer(PaymentClaimAnswer {
                claim_number: record.claim_number,
                transactions: u16::try_from(numbers.len()).expect("at most CLAIM_ORDERS_MAX"),
                amount: record.amount,
            }));
        }
        return Ok(Decision::reject_with(
            RejectReason::AlreadyDone,
            format!("purchase {} is already in claim {earlier}", claimed.transaction_number),
        ));
    }
    let mut amount_yen: u64 = 0;
    for purchase in &purchases {
        let number = purchase.transaction_number;
        if purchase.delivered_at_ms == 0 {
            return Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                format!("purchase {number} is not delivered or shipped yet"),
            ));
        }
        if purchase.net_yen() == 0 {
            return Ok(Decision::reject_with(
                RejectReason::AlreadyDone,
                format!("purchase {number} is refunded in full; nothing to claim"),
            ));
        }
        amount_yen = amount_yen.checked_add(purchase.net_yen()).expect("limited amounts, limited count");
    }
    let Ok(amount) = Amount::new(amount_yen) else {
        return Ok(Decision::reject_with(RejectReason::LimitExceeded, "claim fewer purchases at a time"));
    };
    let payable = ledger::balance_yen(tx, AccountId::payable(store))?;
    let outstanding = outstanding_claims_yen(tx, store)?;
    if payable < outstanding.saturating_add(amount_yen) {
        return Ok(Decision::reject_with(
            RejectReason::InsufficientBalance,
            format!("your payable is {payable} yen and {outstanding} yen of it is already claimed; refunds drew on it"),
        ));
    }
    let claim_number = tx.next(Counter::LastClaim)?;
    for mut purchase in purchases {
        purchase.claim_number = claim_number;
        tx.ledger_put(purchase);
    }
    tx.ledger_put(ClaimRecord {
        claim_number,
        store,
        transactions: List::new(numbers.to_vec()).expect("at most CLAIM_ORDERS_MAX"),
        amount,
        claimed_at_ms: tx.now_ms(),
        status: ClaimStatus::Pending,
        batch_number: 0,
    });
    tx.ledger_put(PendingClaim { claim_number });
    set_outstanding(tx, store, outstanding + amount_yen);
    Ok(Decision::answer(PaymentClaimAnswer {
        claim_number,
        transactions: u16::try_from(numbers.len()).expect("at most CLAIM_ORDERS_MAX"),
        amount,
    }))
}

/// `9100`: an operator's payout command.
pub fn payouts(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    request: &PayoutsRequest,
) -> Result<Decision, StorageError> {
    accept!(operator_in_good_standing(tx, header.sender())?);
    match request {
        PayoutsRequest::Pending(page) => pending(tx, page.page),
        PayoutsRequest::Approve(approval) => approve(tx, context, header, approval),
        PayoutsRequest::Export(request) => export_file(tx, context, request),
        PayoutsRequest::Executed(execution) => executed(tx, context, header, execution),
    }
}

fn pending(tx: &mut Tx<'_>, page: u16) -> Result<Decision, StorageError> {
    let range = LedgerRange::family(family::PENDING_CLAIM);
    let (index, page_count) = page_of::<PendingClaim>(tx, &range, page, QUERY_ROWS_MAX)?;
    let mut rows = Vec::with_capacity(index.len());
    for entry in index {
        let record = claim(tx, entry.claim_number)?.ok_or_else(|| StorageError::Corrupt {
            key: format!("{:?}", LedgerKey::claim(entry.claim_number)),
            reason: "the pending index names a missing claim".to_owned(),
        })?;
        rows.push(PendingClaimRow {
            claim_number: record.claim_number,
            store: record.store,
            amount: record.amount,
            transactions: u16::try_from(record.transactions.len()).expect("at most CLAIM_ORDERS_MAX"),
            claimed_at_ms: record.claimed_at_ms,
        });
    }
    Ok(Decision::answer(PayoutsAnswer::Pending(PendingClaimsPage {
        page,
        page_count,
        rows: List::new(rows).expect("at most QUERY_ROWS_MAX"),
    })))
}

fn summary(batch: &BatchRecord) -> BatchSummary {
    BatchSummary {
        batch_number: batch.batch_number,
        claims: u16::try_from(batch.claims.len()).expect("at most PAYOUT_BATCH_CLAIMS_MAX"),
        stores: u16::try_from(batch.transfers.len()).expect("at most PAYOUT_BATCH_CLAIMS_MAX"),
        total: batch.total,
    }
}

fn approve(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    approval: &PayoutApproval,
) -> Result<Decision, StorageError> {
    let numbers = approval.claim_numbers.as_slice();
    let mut claims = Vec::with_capacity(numbers.len());
    for &number in numbers {
        match claim(tx, number)? {
            Some(record) => claims.push(record),
            None => return Ok(Decision::reject_with(RejectReason::NotFound, format!("no claim {number}"))),
        }
    }
    if let Some(done) = claims.iter().find(|record| record.status != ClaimStatus::Pending) {
        if let Some(earlier) = batch(tx, done.batch_number)?
            && earlier.claims.as_slice() == numbers
        {
            return Ok(Decision::answer(PayoutsAnswer::Approved(summary(&earlier))));
        }
        return Ok(Decision::reject_with(
            RejectReason::AlreadyDone,
            format!("claim {} is already in batch {}", done.claim_number, done.batch_number),
        ));
    }
    let mut by_store: BTreeMap<StoreNumber, (u64, Vec<u64>)> = BTreeMap::new();
    for record in &claims {
        let entry = by_store.entry(record.store).or_default();
        entry.0 = entry.0.checked_add(record.amount.get()).expect("limited amounts, limited count");
        entry.1.push(record.claim_number);
    }
    let total_yen: u64 = by_store.values().map(|(amount, _)| *amount).sum();
    if total_yen > AMOUNT_YEN_MAX {
        return Ok(Decision::reject_with(RejectReason::LimitExceeded, "approve fewer claims in one batch"));
    }
    let mut accounts = Vec::with_capacity(by_store.len());
    for &store in by_store.keys() {
        let Some(record) = tx.party(store.party())? else {
            return Ok(Decision::reject_with(RejectReason::NotFound, format!("{store} is not in the register")));
        };
        if record.status == PartyStatus::Frozen {
            return Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                format!("{store} is frozen; unfreeze it or leave its claims out of the batch"),
            ));
        }
        let Ok(account) = decode_exact::<BankAccount>(record.bank_account.as_slice()) else {
            return Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                format!("{store} has no payout account in the register"),
            ));
        };
        accounts.push((trade_name(&record), account));
    }
    let batch_number = tx.next(Counter::LastBatch)?;
    let mut transfers = Vec::with_capacity(by_store.len());
    for ((store, (amount_yen, store_claims)), (trade_name, account)) in by_store.into_iter().zip(accounts) {
        transfers.push(BatchTransfer {
            store,
            payout_number: tx.next(Counter::LastPayout)?,
            amount: Amount::new(amount_yen).expect("a sum of claims, each at least 1 yen, under the total's limit"),
            trade_name,
            account,
            claims: List::new(store_claims).expect("at most PAYOUT_BATCH_CLAIMS_MAX"),
        });
    }
    for mut record in claims {
        record.status = ClaimStatus::Approved;
        record.batch_number = batch_number;
        tx.ledger_remove(LedgerKey::pending_claim(record.claim_number));
        tx.ledger_put(record);
    }
    let batch = BatchRecord {
        batch_number,
        claims: List::new(numbers.to_vec()).expect("at most PAYOUT_BATCH_CLAIMS_MAX"),
        transfers: List::new(transfers).expect("one per store, at most one per claim"),
        total: Amount::new(total_yen).expect("checked against AMOUNT_YEN_MAX, and at least one claim"),
        approved_at_ms: tx.now_ms(),
        approved_on: today(tx, context),
        approved_by: header.sender(),
        executed_on: None,
        executed_at_ms: 0,
    };
    let answer = summary(&batch);
    tx.ledger_put(batch);
    Ok(Decision::answer(PayoutsAnswer::Approved(answer)))
}

fn export_file(tx: &mut Tx<'_>, context: &FlowContext<'_>, request: &PayoutExport) -> Result<Decision, StorageError> {
    let Some(batch) = batch(tx, request.batch_number)? else {
        return Ok(Decision::reject_with(RejectReason::NotFound, format!("no batch {}", request.batch_number)));
    };
    let key = LedgerKey::export_file(batch.batch_number, request.format);
    let file = match tx.ledger_record::<ExportFileRecord>(&key)? {
        Some(file) => {
            // Kept again from the start, so the committer writes the file to
            // DIR/payouts/ again (in case it was lost or never written).
            if request.offset == 0 {
                tx.ledger_put(file.clone());
            }
            file
        }
        None => {
            let bytes = match request.format {
                ExportFormat::Zengin => match export::zengin_file(&context.config.payouts, &batch) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        return Ok(Decision::reject_with(
                            RejectReason::NotPermitted,
                            format!("batch {} cannot be written as a Zengin file: {error}", batch.batch_number),
                        ));
                    }
                },
                ExportFormat::Csv => export::csv_file(&batch),
            };
            let file = ExportFileRecord {
                batch_number: batch.batch_number,
                format: request.format,
                bytes: LongBlob::new(bytes).expect("a batch's file is far below EXPORT_FILE_BYTES_MAX"),
            };
            // Kept, so every later export is the same file; the committer
            // also writes it to DIR/payouts/.
            tx.ledger_put(file.clone());
            file
        }
    };
    let bytes = file.bytes.as_slice();
    let file_bytes = bytes.len() as u64;
    if request.offset >= file_bytes {
        return Ok(Decision::reject_with(
            RejectReason::NotFound,
            format!("the file is {file_bytes} bytes; offset {} is past its end", request.offset),
        ));
    }
    let start = usize::try_from(request.offset).expect("below the file's size");
    let end = (start + EXPORT_CHUNK_BYTES_MAX).min(bytes.len());
    Ok(Decision::answer(PayoutsAnswer::Export(ExportChunk {
        batch_number: batch.batch_number,
        format: request.format,
        offset: request.offset,
        file_bytes,
        data: Blob::new(bytes[start..end].to_vec()).expect("at most EXPORT_CHUNK_BYTES_MAX"),
    })))
}

fn executed(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    execution: &PayoutExecution,
) -> Result<Decision, StorageError> {
    let Some(mut batch) = batch(tx, execution.batch_number)? else {
        return Ok(Decision::reject_with(RejectReason::NotFound, format!("no batch {}", execution.batch_number)));
    };
    match batch.executed_on {
        Some(day) if day == execution.executed_on => {
            return Ok(Decision::answer(PayoutsAnswer::Executed(summary(&batch))));
        }
        Some(day) => {
            return Ok(Decision::reject_with(
                RejectReason::AlreadyDone,
                format!("batch {} was marked executed on {day}", batch.batch_number),
            ));
        }
        None => {}
    }
    let cause = Cause::of(header);
    let day = today(tx, context);
    for transfer in batch.transfers.iter() {
        let store = transfer.store;
        let description = format!("payout batch {}", batch.batch_number);
        let posting = Posting {
            kind: PostingKind::Payout,
            debit: AccountId::payable(store),
            credit: AccountId::paid_out(store),
            amount: transfer.amount,
            reference: transfer.payout_number,
            description: &description,
        };
        // Claims are approved only while the payable covers them, and
        // refunds never draw on what claims hold: a refusal is our bug.
        ledger::post(tx, &cause, day, &posting)?
            .unwrap_or_else(|refusal| panic!("the payable of {store} does not cover its approved claims: {refusal:?}"));
        let outstanding = outstanding_claims_yen(tx, store)?
            .checked_sub(transfer.amount.get())
            .expect("an approved claim is outstanding until executed");
        set_outstanding(tx, store, outstanding);
        for &claim_number in transfer.claims.iter() {
            let mut record = claim(tx, claim_number)?.ok_or_else(|| StorageError::Corrupt {
                key: format!("{:?}", LedgerKey::claim(claim_number)),
                reason: "a batch names a missing claim".to_owned(),
            })?;
            for &number in record.transactions.iter() {
                if let Some(mut purchase) = transaction(tx, number)? {
                    purchase.paid_out = true;
                    tx.ledger_put(purchase);
                }
            }
            record.status = ClaimStatus::PaidOut;
            tx.ledger_put(record);
        }
        let claim_numbers = AscendingNumbers::<PAYOUT_BATCH_CLAIMS_MAX>::new(transfer.claims.to_vec())
            .expect("a transfer settles at least one claim");
        tx.notice(
            store.party(),
            PayoutNotice {
                payout_number: transfer.payout_number,
                batch_number: batch.batch_number,
                amount: transfer.amount,
                executed_on: execution.executed_on,
                claim_numbers,
            },
        )?;
    }
    batch.executed_on = Some(execution.executed_on);
    batch.executed_at_ms = tx.now_ms();
    let answer = summary(&batch);
    tx.ledger_put(batch);
    Ok(Decision::answer(PayoutsAnswer::Executed(answer)))
}

const _: () = assert!(EXPORT_FILE_BYTES_MAX >= (PAYOUT_BATCH_CLAIMS_MAX + 3) * crate::ledger::zengin::RECORD_BYTES);

#[cfg(test)]
mod flow_tests {
    use denbun_protocol::header::PartyId;
    use denbun_protocol::reject::RejectReason;
    use denbun_protocol::telegram::{
        Body, FreezeAction, FreezeRequest, Inquiry, InquiryAnswer, ItemKind, PageRequest, PaymentClaim, Refund,
        Telegram, TransactionState,
    };
    use denbun_protocol::wire::{Date, Text};

    use super::*;
    use crate::flows::testing::{Bench, item, rejected};
    use crate::ledger::zengin::{RECORD_BYTES, zengin_text};

    struct Shops {
        bench: Bench,
        operator: PartyId,
        stores: [PartyId; 2],
    }

    /// Two stores selling a service (delivered when paid) and a mail-order
    /// item; one member buys from both.
    fn shops() -> Shops {
        let mut bench = Bench::new();
        let operator = bench.operator();
        let stores = [bench.store(), bench.store()];
        for store in stores {
            bench.publish(
                store,
                1,
                vec![item(1, "Lesson", 1_000, ItemKind::Service), item(2, "Kit", 300, ItemKind::MailOrder)],
            );
        }
        let member = bench.funded_member(100_000);
        for (number, store, quantity) in [(1, stores[0], 2), (2, stores[0], 3), (3, stores[1], 7), (4, stores[0], 1)] {
            let answer = bench.send(member, Bench::instruction(store, number, 1, &[(1, quantity, 1_000)]));
            assert_eq!(rejected(&answer), None);
        }
        assert_eq!(rejected(&bench.send(member, Bench::instruction(stores[1], 5, 1, &[(2, 1, 300)]))), None);
        Shops { bench, operator, stores }
    }

    fn claim(numbers: &[u64]) -> PaymentClaim {
        PaymentClaim { transaction_numbers: AscendingNumbers::new(numbers.to_vec()).unwrap() }
    }

    fn claimed(answer: &Telegram) -> PaymentClaimAnswer {
        match answer.body() {
            Body::PaymentClaimAnswer(answer) => answer.clone(),
            other => panic!("expected a claim answer, got {other:?}"),
        }
    }

    fn payouts(answer: &Telegram) -> PayoutsAnswer {
        match answer.body() {
            Body::PayoutsAnswer(answer) => answer.clone(),
            other => panic!("expected a payouts answer, got {other:?}"),
        }
    }

    fn approve(numbers: &[u64]) -> PayoutsRequest {
        PayoutsRequest::Approve(PayoutApproval { claim_numbers: AscendingNumbers::new(numbers.to_vec()).unwrap() })
    }

    fn export(batch_number: u64, format: ExportFormat, offset: u64) -> PayoutsRequest {
        PayoutsRequest::Export(PayoutExport { batch_number, format, offset })
    }

    fn field(record: &[u8], start: usize, end: usize) -> &str {
        std::str::from_utf8(&record[start..end]).unwrap()
    }

    #[test]
    fn claims_are_approved_exported_and_executed_into_payouts() {
        let Shops { mut bench, operator, stores } = shops();
        let first = claimed(&bench.send(stores[0], claim(&[1, 2])));
        assert_eq!((first.transactions, first.amount.get()), (2, 5_000));
        let second = claimed(&bench.send(stores[1], claim(&[3])));
        let third = claimed(&bench.send(stores[0], claim(&[4])));
        let PayoutsAnswer::Pending(pending) =
            payouts(&bench.send(operator, PayoutsRequest::Pending(PageRequest { page: 0 })))
        else {
            panic!("expected the pending claims")
        };
        let listed: Vec<u64> = pending.rows.iter().map(|row| row.claim_number).collect();
        assert_eq!(listed, [first.claim_number, second.claim_number, third.claim_number]);

        let numbers = [first.claim_number, second.claim_number, third.claim_number];
        let PayoutsAnswer::Approved(batch) = payouts(&bench.send(operator, approve(&numbers))) else {
            panic!("expected an approved batch")
        };
        assert_eq!((batch.claims, batch.stores, batch.total.get()), (3, 2, 13_000));
        let PayoutsAnswer::Pending(pending) =
            payouts(&bench.send(operator, PayoutsRequest::Pending(PageRequest { page: 0 })))
        else {
            panic!("expected the pending claims")
        };
        assert!(pending.rows.is_empty());
        // Approving the same claims again answers the same batch.
        assert_eq!(payouts(&bench.send(operator, approve(&numbers))), PayoutsAnswer::Approved(batch.clone()));
        assert_eq!(rejected(&bench.send(operator, approve(&[first.claim_number]))), Some(RejectReason::AlreadyDone));

        // The Zengin file, record by record.
        let PayoutsAnswer::Export(zengin) =
            payouts(&bench.send(operator, export(batch.batch_number, ExportFormat::Zengin, 0)))
        else {
            panic!("expected an export")
        };
        let file = zengin.data.as_slice().to_vec();
        assert_eq!(zengin.file_bytes, file.len() as u64);
        assert_eq!(file.len(), 5 * RECORD_BYTES);
        let records: Vec<&[u8]> = file.chunks(RECORD_BYTES).collect();
        let payouts_config = &bench.config.payouts;
        assert_eq!(field(records[0], 0, 4), "1210");
        assert_eq!(field(records[0], 4, 14), payouts_config.requester_code);
        assert_eq!(field(records[0], 14, 54).trim_end(), payouts_config.requester_name);
        assert_eq!(field(records[0], 54, 58), "0307", "the approval's business day");
        assert_eq!(field(records[0], 58, 62), payouts_config.bank_code);
        assert_eq!(field(records[0], 95, 103), format!("1{}", payouts_config.account_number));
        for (record, (store, amount)) in records[1..3].iter().zip([(1u64, 6_000u64), (2, 7_000)]) {
            assert_eq!(field(record, 0, 1), "2");
            assert_eq!(field(record, 1, 5), "0005");
            assert_eq!(field(record, 20, 23), "123");
            assert_eq!(field(record, 42, 50), format!("1{store:07}"));
            let mut holder = zengin_text(&format!("ﾃｽﾄ ｼｮｳﾃﾝ {store}")).unwrap();
            holder.resize(30, b' ');
            assert_eq!(&record[50..80], holder.as_slice());
            assert_eq!(field(record, 80, 90), format!("{amount:010}"));
            assert_eq!(field(record, 101, 111), format!("{store:010}"));
            assert_eq!(field(record, 111, 112), "7");
        }
        assert_eq!(field(records[3], 0, 19), "8000002000000013000");
        assert_eq!(field(records[3], 19, 120).trim(), "");
        assert_eq!(field(records[4], 0, 1), "9");
        let written = std::fs::read(bench.payout_directory().join("batch-000001.zengin")).unwrap();
        assert_eq!(written, file, "the committer wrote the same file to DIR/payouts/");
        let PayoutsAnswer::Export(again) =
            payouts(&bench.send(operator, export(batch.batch_number, ExportFormat::Zengin, 0)))
        else {
            panic!("expected an export")
        };
        assert_eq!(again.data.as_slice(), file.as_slice(), "every export of a batch is the same file");
        let PayoutsAnswer::Export(tail) =
            payouts(&bench.send(operator, export(batch.batch_number, ExportFormat::Zengin, 360)))
        else {
            panic!("expected an export")
        };
        assert_eq!(tail.data.as_slice(), &file[360..]);
        assert_eq!(
            rejected(&bench.send(operator, export(batch.batch_number, ExportFormat::Zengin, 600))),
            Some(RejectReason::NotFound)
        );

        let PayoutsAnswer::Export(csv) =
            payouts(&bench.send(operator, export(batch.batch_number, ExportFormat::Csv, 0)))
        else {
            panic!("expected an export")
        };
        let csv = String::from_utf8(csv.data.as_slice().to_vec()).unwrap();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert!(lines[0].starts_with("batch,payout_number,store,"));
        assert!(
            lines[1].starts_with("1,1,S00000001,Shop 1,0005,123,ordinary,0000001,ﾃｽﾄ ｼｮｳﾃﾝ 1,6000,2025-03-07,1 3"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("1,2,S00000002,Shop 2,0005,123,ordinary,0000002,ﾃｽﾄ ｼｮｳﾃﾝ 2,7000,2025-03-07,2"),
            "{}",
            lines[2]
        );
        assert_eq!(lines[3], "");

        assert_eq!(bench.payable(stores[0]), 6_000);
        let executed_on = Date::new(2025, 3, 10).unwrap();
        let execution = PayoutsRequest::Executed(PayoutExecution { batch_number: batch.batch_number, executed_on });
        assert_eq!(payouts(&bench.send(operator, execution.clone())), PayoutsAnswer::Executed(batch.clone()));
        assert_eq!(bench.payable(stores[0]), 0);
        assert_eq!(bench.payable(stores[1]), 300, "the unclaimed mail-order sale stays payable");
        assert_eq!(bench.balance(AccountId::paid_out(stores[0].try_into().unwrap())), 6_000);
        let notices: Vec<PayoutNotice> = bench
            .mailbox(stores[0])
            .iter()
            .filter_map(|notice| match notice.body() {
                Body::PayoutNotice(notice) => Some(notice.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(notices.len(), 1);
        assert_eq!((notices[0].amount.get(), notices[0].executed_on), (6_000, executed_on));
        assert_eq!(notices[0].claim_numbers.as_slice(), [first.claim_number, third.claim_number]);
        // Executed again: the same answer and no second payout.
        assert_eq!(payouts(&bench.send(operator, execution)), PayoutsAnswer::Executed(batch.clone()));
        let later = PayoutsRequest::Executed(PayoutExecution {
            batch_number: batch.batch_number,
            executed_on: Date::new(2025, 3, 11).unwrap(),
        });
        assert_eq!(rejected(&bench.send(operator, later)), Some(RejectReason::AlreadyDone));
        assert_eq!(bench.balance(AccountId::paid_out(stores[0].try_into().unwrap())), 6_000);
        let detail = bench.send(operator, Inquiry::Transaction(2));
        let Body::InquiryAnswer(InquiryAnswer::Transaction(detail)) = detail.body() else { panic!("{detail:?}") };
        assert_eq!(detail.state, TransactionState::PaidOut);
        bench.assert_audit_passes();
    }

    #[test]
    fn claims_and_approvals_are_checked() {
        let Shops { mut bench, operator, stores } = shops();
        assert_eq!(rejected(&bench.send(stores[1], claim(&[5]))), Some(RejectReason::NotPermitted), "not shipped yet");
        assert_eq!(rejected(&bench.send(stores[1], claim(&[1]))), Some(RejectReason::NotFound), "another store's");
        assert_eq!(rejected(&bench.send(stores[0], claim(&[99]))), Some(RejectReason::NotFound));
        let first = claimed(&bench.send(stores[0], claim(&[1, 2])));
        assert_eq!(claimed(&bench.send(stores[0], claim(&[1, 2]))), first, "the same claim again");
        assert_eq!(rejected(&bench.send(stores[0], claim(&[2, 4]))), Some(RejectReason::AlreadyDone));
        let refund =
            Refund { transaction_number: 4, amount: Amount::new(1_000).unwrap(), reason: Text::new("sorry").unwrap() };
        assert_eq!(rejected(&bench.send(stores[0], refund)), None);
        assert_eq!(rejected(&bench.send(stores[0], claim(&[4]))), Some(RejectReason::AlreadyDone), "refunded in full");
        assert_eq!(rejected(&bench.send(operator, approve(&[first.claim_number, 77]))), Some(RejectReason::NotFound));
        let freeze =
            FreezeRequest { party: stores[0], action: FreezeAction::Freeze, reason: Text::new("audit").unwrap() };
        bench.send(operator, freeze);
        assert_eq!(rejected(&bench.send(operator, approve(&[first.claim_number]))), Some(RejectReason::NotPermitted));
        assert_eq!(rejected(&bench.send(stores[0], claim(&[1]))), Some(RejectReason::Frozen));
        bench.assert_audit_passes();
    }

    #[test]
    fn a_holder_name_outside_the_zengin_set_stops_only_the_zengin_export() {
        let Shops { mut bench, operator, stores } = shops();
        let mut record = bench.storage.party(stores[0]).unwrap().unwrap();
        let mut account: BankAccount = decode_exact(record.bank_account.as_slice()).unwrap();
        account.holder_name = Text::new("山田商店").unwrap();
        record.bank_account = Blob::new(denbun_protocol::wire::encode_to_vec(&account)).unwrap();
        let mut batch = crate::storage::WriteBatch::default();
        batch.push(crate::storage::Write::Party(record));
        bench.storage.commit(&batch).unwrap();
        let claim_number = claimed(&bench.send(stores[0], claim(&[1]))).claim_number;
        let PayoutsAnswer::Approved(approved) = payouts(&bench.send(operator, approve(&[claim_number]))) else {
            panic!("expected an approved batch")
        };
        let refused = bench.send(operator, export(approved.batch_number, ExportFormat::Zengin, 0));
        assert_eq!(rejected(&refused), Some(RejectReason::NotPermitted));
        assert!(crate::flows::testing::reject_message(&refused).contains('山'));
        let csv = bench.send(operator, export(approved.batch_number, ExportFormat::Csv, 0));
        assert_eq!(rejected(&csv), None);
    }

    use crate::storage::Storage;
}
