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
        Some(file) => file,
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
