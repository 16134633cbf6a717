//! Families 70 and 71: a store refunds a purchase, fully or in part.
//!
//! Refunds of one purchase add up to at most what was paid. The value comes
//! out of the store's payable — which must still cover the store's claims
//! waiting for payout, so every approved payout can always be made — and
//! goes back onto the cards the purchase drew from. Each refund telegram is
//! applied once (its processing number); a second refund telegram is a
//! second refund. The member gets a signed refund notice.

use denbun_protocol::header::Header;
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{Refund, RefundAnswer, RefundNotice};
use denbun_protocol::wire::Amount;

use super::common::{accept, refused, store_in_good_standing, today, yen};
use super::payment::transaction;
use super::{Decision, FlowContext};
use crate::ledger::{self, Cause, Posting, cards};
use crate::service::tx::Tx;
use crate::storage::ledger_records::{AccountId, PostingKind, StoreClaims};
use crate::storage::{LedgerKey, PartyStatus, StorageError};

/// What a store's claims waiting for payout add up to.
pub fn outstanding_claims_yen(
    tx: &mut Tx<'_>,
    store: denbun_protocol::header::StoreNumber,
) -> Result<u64, StorageError> {
    Ok(tx.ledger_record::<StoreClaims>(&LedgerKey::store_claims(store))?.map_or(0, |claims| claims.outstanding_yen))
}

/// `7000`: a store's refund.
pub fn refund(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    refund: &Refund,
) -> Result<Decision, StorageError> {
    let (store, _) = accept!(store_in_good_standing(tx, header.sender())?);
    let number = refund.transaction_number;
    let mut purchase = match transaction(tx, number)? {
        Some(purchase) if purchase.store == store => purchase,
        _ => return Ok(Decision::reject_with(RejectReason::NotFound, format!("no purchase {number} at {store}"))),
    };
    let member = purchase.member;
    if tx.party(member.party())?.is_some_and(|record| record.status == PartyStatus::Closed) {
        return Ok(Decision::reject_with(
            RejectReason::NotPermitted,
            format!("{member}'s account is closed; settle the refund with the center"),
        ));
    }
    let paid = purchase.total.get();
    let already = purchase.refunded_yen;
    if already == paid {
        return Ok(Decision::reject_with(RejectReason::AlreadyDone, format!("purchase {number} is refunded in full")));
    }
    let amount = refund.amount.get();
    if amount > paid - already {
        return Ok(Decision::reject_with(
            RejectReason::LimitExceeded,
            format!(
                "a refund may not exceed what was paid: {paid} yen paid, {already} yen refunded, at most {} yen more",
                paid - already
            ),
        ));
    }
    let payable = ledger::balance_yen(tx, AccountId::payable(store))?;
    let claimed = outstanding_claims_yen(tx, store)?;
    if payable < claimed.saturating_add(amount) {
        return Ok(Decision::reject_with(
            RejectReason::InsufficientBalance,
            format!(
                "your payable is {payable} yen, of which {claimed} yen is claimed for payout; a refund of {amount} \
                 yen cannot be drawn from it now"
            ),
        ));
    }
    let posting = Posting {
        kind: PostingKind::StoreRefund,
        debit: AccountId::payable(store),
        credit: AccountId::stored_value(member),
        amount: refund.amount,
        reference: number,
        description: purchase.description.as_str(),
    };
    let day = today(tx, context);
    if let Err(refusal) = ledger::post(tx, &Cause::of(header), day, &posting)? {
        return Ok(refused(refusal));
    }
    cards::restore(tx, member, number, amount)?;
    purchase.refunded_yen = already + amount;
    let refunded_total = Amount::new(purchase.refunded_yen).expect("at most the total, which is an Amount");
    tx.ledger_put(purchase);
    let balance = yen(ledger::balance_yen(tx, AccountId::stored_value(member))?);
    tx.notice(
        member.party(),
        RefundNotice {
            transaction_number: number,
            store,
            amount: refund.amount,
            reason: refund.reason.clone(),
            balance,
        },
    )?;
    Ok(Decision::answer(RefundAnswer { transaction_number: number, amount: refund.amount, refunded_total }))
}
