//! Family 40 (payment instruction) and 41 (payment notice).
//!
//! The center checks, in order: the member's standing, that the transaction
//! number is new (the same instruction again is answered as the first time,
//! without a second debit), the store, that the catalog version is the
//! store's current one and every price matches it, the limits, and the
//! balance. Then, in the group's one batch: the ledger debits the member and
//! credits the store's payable, the oldest cards are drawn, the purchase is
//! recorded, and the store gets a signed payment notice carrying the
//! member's delivery key. The answer is the member's new balance.
//!
//! One committer applies telegrams one after the other through one view of
//! the ledger, so two instructions spending the same balance at the same
//! time see each other's debit: exactly one succeeds.

use std::collections::BTreeSet;

use denbun_protocol::header::{Header, StoreNumber};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::{ItemKind, PaymentAnswer, PaymentInstruction, PaymentNotice};
use denbun_protocol::wire::Text;
use x25519_dalek::PublicKey as DeliveryKey;

use super::catalog;
use super::common::{accept, member_in_good_standing, refused, today, yen};
use super::{Decision, FlowContext};
use crate::ledger::{self, Cause, Posting, cards};
use crate::service::tx::Tx;
use crate::storage::ledger_records::{AccountId, PostingKind, TransactionRecord};
use crate::storage::{LedgerKey, PartyStatus, StorageError};

/// A purchase as this group sees it.
pub fn transaction(tx: &mut Tx<'_>, transaction_number: u64) -> Result<Option<TransactionRecord>, StorageError> {
    tx.ledger_record(&LedgerKey::transaction(transaction_number))
}

/// `4000`: a member pays a store.
pub fn pay(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    instruction: &PaymentInstruction,
) -> Result<Decision, StorageError> {
    let (member, member_record) = accept!(member_in_good_standing(tx, header.sender())?);
    let transaction_number = instruction.transaction_number;
    if transaction_number == 0 {
        return Ok(Decision::reject_with(RejectReason::NotPermitted, "transaction number 0 is not allowed"));
    }
    if let Some(earlier) = transaction(tx, transaction_number)? {
        let same = earlier.member == member
            && earlier.store == instruction.store
            && earlier.catalog_version == instruction.catalog_version
            && earlier.lines == instruction.lines
            && earlier.total == instruction.total;
        if same {
            // The same purchase instructed again (another processing number):
            // one debit, and the answer it got the first time.
            return Ok(Decision::answer(PaymentAnswer {
                transaction_number,
                total: earlier.total,
                balance: earlier.balance_after,
            }));
        }
        return Ok(Decision::reject_with(
            RejectReason::AlreadyDone,
            format!("transaction number {transaction_number} is already used for another payment; choose a new one"),
        ));
    }

    let store = instruction.store;
    let store_record = tx.party(store.party())?;
    match store_record.as_ref().map(|record| record.status) {
        Some(PartyStatus::Registered) => {}
        Some(PartyStatus::Frozen) => {
            return Ok(Decision::reject_with(
                RejectReason::UnknownStoreOrItem,
                format!("{store} is not accepting payments now (frozen by the center)"),
            ));
        }
        _ => {
            return Ok(Decision::reject_with(RejectReason::UnknownStoreOrItem, format!("{store} is not a store")));
        }
    }
    let head = catalog::head(tx, store)?;
    if head.current_version == 0 {
        return Ok(Decision::reject_with(
            RejectReason::UnknownStoreOrItem,
            format!("{store} has not published a catalog"),
        ));
    }
    if instruction.catalog_version != head.current_version {
        return Ok(Decision::reject_with(
            RejectReason::PriceMismatch,
            format!(
                "catalog version {} of {store} is not current (it is {}); reload the catalog",
                instruction.catalog_version, head.current_version
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut needs_shipment = false;
    let mut digital_items: u16 = 0;
    let mut description = None;
    for line in instruction.lines.iter() {
        if !seen.insert(line.item_id) {
            return Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                format!("item {} is on two lines; put it on one line with its quantity", line.item_id),
            ));
        }
        let Some(item) = catalog::item(tx, store, head.current_version, line.item_id)? else {
            return Ok(Decision::reject_with(
                RejectReason::UnknownStoreOrItem,
                format!("item {} is not in catalog version {} of {store}", line.item_id, head.current_version),
            ));
        };
        if item.price != line.unit_price {
            return Ok(Decision::reject_with(
                RejectReason::PriceMismatch,
                format!(
                    "item {} costs {} yen in catalog version {}, not {} yen; reload the catalog",
                    line.item_id,
                    item.price.get(),
                    head.current_version,
                    line.unit_price.get()
                ),
            ));
        }
        match item.kind {
            ItemKind::MailOrder => needs_shipment = true,
            ItemKind::Digital(_) => digital_items += 1,
            ItemKind::Service => {}
        }
        description.get_or_insert(item.title);
    }
    let total = instruction.total;
    let money = &context.config.money;
    if total.get() > money.payment_amount_yen_max {
        return Ok(Decision::reject_with(
            RejectReason::LimitExceeded,
            format!("a payment is at most {} yen", money.payment_amount_yen_max),
        ));
    }
    let description = description.map(|title| title.into_string()).unwrap_or_default();
    let posting = Posting {
        kind: PostingKind::Payment,
        debit: AccountId::stored_value(member),
        credit: AccountId::payable(store),
        amount: total,
        reference: transaction_number,
        description: &description,
    };
    let day = today(tx, context);
    if let Err(refusal) = ledger::post(tx, &Cause::of(header), day, &posting)? {
        return Ok(refused(refusal));
    }
    let draws = cards::draw(tx, member, transaction_number, total.get())?;
    let balance = yen(ledger::balance_yen(tx, AccountId::stored_value(member))?);
    let paid_at_ms = tx.now_ms();
    let delivered_at_ms = if !needs_shipment && digital_items == 0 { paid_at_ms } else { 0 };
    tx.ledger_put(TransactionRecord {
        transaction_number,
        member,
        store,
        catalog_version: instruction.catalog_version,
        lines: instruction.lines.clone(),
        total,
        paid_at_ms,
        balance_after: balance,
        refunded_yen: 0,
        needs_shipment,
        digital_items,
        digital_acknowledged: 0,
        shipment: None,
        delivered_at_ms,
        claim_number: 0,
        paid_out: false,
        description: Text::truncated(&description),
        draws,
    });
    ledger::count_purchase(tx, member)?;
    let delivery_key = DeliveryKey::from(member_record.delivery_key.expect("a registered member has a delivery key"));
    tx.notice(
        store.party(),
        PaymentNotice {
            transaction_number,
            member,
            member_delivery_key: delivery_key,
            catalog_version: instruction.catalog_version,
            lines: instruction.lines.clone(),
            total,
            paid_at_ms,
        },
    )?;
    Ok(Decision::answer(PaymentAnswer { transaction_number, total, balance }))
}

/// Whether `store` is the store of the purchase (others are told it does not exist).
pub fn belongs_to_store(transaction: &TransactionRecord, store: StoreNumber) -> bool {
    transaction.store == store
}

#[cfg(test)]
mod flow_tests {
    use denbun_protocol::header::PartyId;
    use denbun_protocol::reject::RejectReason;
    use denbun_protocol::telegram::{Body, FreezeAction, FreezeRequest, ItemKind};

    use crate::flows::testing::{Bench, item, rejected};
    use crate::ledger::cards;

    fn shop(bench: &mut Bench) -> PartyId {
        let store = bench.store();
        bench.publish(
            store,
            1,
            vec![item(1, "Tea", 1_500, ItemKind::MailOrder), item(2, "Lesson", 500, ItemKind::Service)],
        );
        store
    }

    #[test]
    fn a_payment_debits_the_member_credits_the_store_and_notifies_it() {
        let mut bench = Bench::new();
        let store = shop(&mut bench);
        let member = bench.funded_member(10_000);
        let answer = bench.send(member, Bench::instruction(store, 77, 1, &[(1, 2, 1_500), (2, 1, 500)]));
        let Body::PaymentAnswer(paid) = answer.body() else { panic!("{answer:?}") };
        assert_eq!((paid.transaction_number, paid.total.get(), paid.balance.get()), (77, 3_500, 6_500));
        assert_eq!(bench.stored_value(member), 6_500);
        assert_eq!(bench.payable(store), 3_500);
        let notices = bench.mailbox(store);
        assert_eq!(notices.len(), 1);
        let Body::PaymentNotice(notice) = notices[0].body() else { panic!("{:?}", notices[0]) };
        assert_eq!(notice.transaction_number, 77);
        assert_eq!(notice.member, member.try_into().unwrap());
        assert_eq!(notice.member_delivery_key.to_bytes(), [1; 32]);
        assert_eq!(notice.total.get(), 3_500);
        assert_eq!(notice.lines.len(), 2);
        // The same telegram again (same processing number): the same answer, byte for byte.
        let repeat = bench.sign(member, Bench::instruction(store, 78, 1, &[(2, 1, 500)]));
        let first = bench.apply(repeat.clone());
        let second = bench.apply(repeat.repeated().unwrap());
        assert_eq!(first.as_bytes(), second.as_bytes());
        assert_eq!(bench.stored_value(member), 6_000);
        bench.assert_audit_passes();
    }

    #[test]
    fn the_same_transaction_number_debits_once() {
        let mut bench = Bench::new();
        let store = shop(&mut bench);
        let member = bench.funded_member(10_000);
        let other = bench.funded_member(10_000);
        let instruction = Bench::instruction(store, 5, 1, &[(1, 1, 1_500)]);
        let first = bench.send(member, instruction.clone());
        bench.top_up(member, 1_000);
        let again = bench.send(member, instruction.clone());
        assert_eq!(first.body(), again.body(), "the answer of the first time, balance included");
        assert_eq!(bench.stored_value(member), 9_500);
        let changed = Bench::instruction(store, 5, 1, &[(1, 2, 1_500)]);
        assert_eq!(rejected(&bench.send(member, changed)), Some(RejectReason::AlreadyDone));
        assert_eq!(rejected(&bench.send(other, instruction)), Some(RejectReason::AlreadyDone));
        assert_eq!(bench.stored_value(other), 10_000);
        assert_eq!(bench.payable(store), 1_500);
        assert_eq!(bench.mailbox(store).len(), 1);
        bench.assert_audit_passes();
    }

    #[test]
    fn two_payments_spending_one_balance_at_once_one_succeeds() {
        let mut bench = Bench::new();
        let store = shop(&mut bench);
        let member = bench.funded_member(2_000);
        let first = bench.sign(member, Bench::instruction(store, 1, 1, &[(1, 1, 1_500)]));
        let second = bench.sign(member, Bench::instruction(store, 2, 1, &[(1, 1, 1_500)]));
        let same_again = bench.sign(member, Bench::instruction(store, 1, 1, &[(1, 1, 1_500)]));
        let answers = bench.group(vec![first, second, same_again]);
        assert_eq!(rejected(&answers[0]), None);
        assert_eq!(rejected(&answers[1]), Some(RejectReason::InsufficientBalance));
        assert_eq!(answers[2].body(), answers[0].body());
        assert_eq!(bench.stored_value(member), 500);
        assert_eq!(bench.payable(store), 1_500);
        bench.assert_audit_passes();
    }

    #[test]
    fn refusals_change_nothing() {
        let mut bench = Bench::new();
        let store = shop(&mut bench);
        let member = bench.funded_member(1_000);
        let operator = bench.operator();
        let refusals = [
            (Bench::instruction(store, 1, 1, &[(1, 1, 1_500)]), RejectReason::InsufficientBalance),
            (Bench::instruction(store, 2, 1, &[(2, 1, 400)]), RejectReason::PriceMismatch),
            (Bench::instruction(store, 3, 2, &[(2, 1, 500)]), RejectReason::PriceMismatch),
            (Bench::instruction(store, 4, 1, &[(9, 1, 500)]), RejectReason::UnknownStoreOrItem),
            (Bench::instruction(store, 5, 1, &[(2, 1, 500), (2, 1, 500)]), RejectReason::NotPermitted),
            (Bench::instruction(store, 0, 1, &[(2, 1, 500)]), RejectReason::NotPermitted),
        ];
        for (instruction, reason) in refusals {
            assert_eq!(rejected(&bench.send(member, instruction)), Some(reason));
        }
        let mut to_member = Bench::instruction(store, 6, 1, &[(2, 1, 500)]);
        to_member.store = denbun_protocol::header::StoreNumber::new(99).unwrap();
        assert_eq!(rejected(&bench.send(member, to_member)), Some(RejectReason::UnknownStoreOrItem));
        let freeze = |party| FreezeRequest {
            party,
            action: FreezeAction::Freeze,
            reason: denbun_protocol::wire::Text::new("inquiry").unwrap(),
        };
        bench.send(operator, freeze(store));
        assert_eq!(
            rejected(&bench.send(member, Bench::instruction(store, 7, 1, &[(2, 1, 500)]))),
            Some(RejectReason::UnknownStoreOrItem)
        );
        bench.send(operator, freeze(member));
        assert_eq!(
            rejected(&bench.send(member, Bench::instruction(store, 8, 1, &[(2, 1, 500)]))),
            Some(RejectReason::Frozen)
        );
        assert_eq!(bench.stored_value(member), 1_000);
        assert_eq!(bench.payable(store), 0);
        assert!(bench.mailbox(store).is_empty());
        bench.assert_audit_passes();
    }

    #[test]
    fn spending_draws_the_oldest_card_first() {
        let mut bench = Bench::new();
        let store = shop(&mut bench);
        let member = bench.member();
        for amount in [1_000, 2_000, 3_000] {
            bench.top_up(member, amount);
        }
        bench.send(member, Bench::instruction(store, 1, 1, &[(2, 5, 500)]));
        let remaining: Vec<u64> = bench.read(|tx| {
            cards::cards_of(tx, member.try_into().unwrap(), 10).unwrap().iter().map(|card| card.remaining_yen).collect()
        });
        assert_eq!(remaining, [0, 500, 3_000]);
        bench.assert_audit_passes();
    }
}
