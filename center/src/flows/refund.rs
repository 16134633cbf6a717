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
    cards::restore(tx, member, number, amount, &mut purchase.draws)?;
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

#[cfg(test)]
mod flow_tests {
    use denbun_protocol::header::PartyId;
    use denbun_protocol::reject::RejectReason;
    use denbun_protocol::telegram::{
        AscendingNumbers, BalanceRefund, Body, ItemKind, PaymentClaim, Refund, RefundAnswer,
    };
    use denbun_protocol::wire::{Amount, List, Text, decode_exact};

    use crate::flows::testing::{Bench, item, rejected};
    use crate::ledger::cards;
    use crate::storage::ledger_records::{CardDraw, Draws, PURCHASE_DRAWS_MAX, TransactionRecord, family};
    use crate::storage::records::encode;
    use crate::storage::{LedgerKey, LedgerRange, LedgerRecord, ScanOrder, Storage, Write, WriteBatch};

    fn refund(transaction_number: u64, amount_yen: u64) -> Refund {
        Refund {
            transaction_number,
            amount: Amount::new(amount_yen).unwrap(),
            reason: Text::new("out of stock").unwrap(),
        }
    }

    fn answer(answer: &denbun_protocol::telegram::Telegram) -> RefundAnswer {
        match answer.body() {
            Body::RefundAnswer(answer) => answer.clone(),
            other => panic!("expected a refund answer, got {other:?}"),
        }
    }

    fn sale(bench: &mut Bench) -> (PartyId, PartyId) {
        let store = bench.store();
        bench.publish(store, 1, vec![item(1, "Lesson", 1_000, ItemKind::Service)]);
        let member = bench.member();
        bench.top_up(member, 600);
        bench.top_up(member, 3_000);
        assert_eq!(rejected(&bench.send(member, Bench::instruction(store, 42, 1, &[(1, 2, 1_000)]))), None);
        (store, member)
    }

    #[test]
    fn refunds_add_up_to_at_most_what_was_paid_and_go_back_to_the_cards() {
        let mut bench = Bench::new();
        let (store, member) = sale(&mut bench);
        assert_eq!(bench.stored_value(member), 1_600);
        let first = bench.sign(store, refund(42, 500));
        let refunded = answer(&bench.apply(first.clone()));
        assert_eq!((refunded.amount.get(), refunded.refunded_total.get()), (500, 500));
        // The same telegram again is the same refund, not a second one.
        assert_eq!(bench.apply(first.repeated().unwrap()).body(), &Body::RefundAnswer(refunded));
        assert_eq!(bench.stored_value(member), 2_100);
        let too_much = bench.send(store, refund(42, 1_501));
        assert_eq!(rejected(&too_much), Some(RejectReason::LimitExceeded));
        assert_eq!(answer(&bench.send(store, refund(42, 1_500))).refunded_total.get(), 2_000);
        assert_eq!(rejected(&bench.send(store, refund(42, 1))), Some(RejectReason::AlreadyDone));
        assert_eq!(bench.stored_value(member), 3_600);
        assert_eq!(bench.payable(store), 0);
        // Both cards are whole again: the refunds went back where the payment drew.
        let remaining: Vec<u64> = bench.read(|tx| {
            cards::cards_of(tx, member.try_into().unwrap(), 10).unwrap().iter().map(|card| card.remaining_yen).collect()
        });
        assert_eq!(remaining, [600, 3_000]);
        let notices: Vec<(u64, u64)> = bench
            .mailbox(member)
            .iter()
            .filter_map(|notice| match notice.body() {
                Body::RefundNotice(notice) => Some((notice.amount.get(), notice.balance.get())),
                _ => None,
            })
            .collect();
        assert_eq!(notices, [(500, 2_100), (1_500, 3_600)]);
        bench.assert_audit_passes();
    }

    #[test]
    fn a_refund_never_draws_on_what_claims_hold_nor_reaches_a_closed_account() {
        let mut bench = Bench::new();
        let (store, member) = sale(&mut bench);
        let other_store = bench.store();
        assert_eq!(rejected(&bench.send(other_store, refund(42, 1))), Some(RejectReason::NotFound));
        let claim = PaymentClaim { transaction_numbers: AscendingNumbers::new(vec![42]).unwrap() };
        assert_eq!(rejected(&bench.send(store, claim)), None);
        let refused = bench.send(store, refund(42, 500));
        assert_eq!(rejected(&refused), Some(RejectReason::InsufficientBalance));
        assert_eq!(bench.payable(store), 2_000);

        // Another sale refunded after the member's account was closed.
        bench.top_up(member, 1_000);
        assert_eq!(rejected(&bench.send(member, Bench::instruction(store, 43, 1, &[(1, 1, 1_000)]))), None);
        let operator = bench.operator();
        let account = decode_exact(bench.storage.party(store).unwrap().unwrap().bank_account.as_slice()).unwrap();
        let close = BalanceRefund {
            member: member.try_into().unwrap(),
            payout_account: account,
            close_account: true,
            reason: Text::new("moving abroad").unwrap(),
        };
        assert_eq!(rejected(&bench.send(operator, close)), None);
        assert_eq!(rejected(&bench.send(store, refund(43, 100))), Some(RejectReason::NotPermitted));
        bench.assert_audit_passes();
    }

    /// The purchase `number` as stored.
    fn purchase(bench: &Bench, number: u64) -> TransactionRecord {
        bench.read(|tx| crate::flows::payment::transaction(tx, number).unwrap().expect("the purchase"))
    }

    /// A purchase's draws as (card, drawn, restored), when it keeps them.
    fn kept(purchase: &TransactionRecord) -> Vec<(u64, u64, u64)> {
        let Draws::Kept(draws) = &purchase.draws else { panic!("draws kept apart: {purchase:?}") };
        draws.iter().map(|draw| (draw.card_number, draw.drawn_yen, draw.restored_yen)).collect()
    }

    /// The card draw records stored under purchase `number`, as (card, drawn, restored).
    fn apart(bench: &Bench, number: u64) -> Vec<(u64, u64, u64)> {
        let range = LedgerRange::prefix(LedgerKey::family_with(family::CARD_DRAW, &number));
        bench
            .storage
            .ledger_scan(&range, ScanOrder::Ascending, 100)
            .unwrap()
            .into_iter()
            .map(|record| match record {
                LedgerRecord::CardDraw(draw) => (draw.card_number, draw.drawn_yen, draw.restored_yen),
                other => panic!("not a card draw: {other:?}"),
            })
            .collect()
    }

    /// The member's cards as (number, remaining).
    fn cards(bench: &Bench, member: PartyId) -> Vec<(u64, u64)> {
        bench.read(|tx| {
            let member = member.try_into().unwrap();
            cards::cards_of(tx, member, 100)
                .unwrap()
                .iter()
                .map(|card| (card.card_number, card.remaining_yen))
                .collect()
        })
    }

    #[test]
    fn a_purchase_keeps_its_draws_and_one_from_many_cards_writes_them_apart() {
        let mut bench = Bench::new();
        let (store, member) = sale(&mut bench);
        let [(first, _), (second, _)] = cards(&bench, member)[..] else { panic!("two cards") };
        assert_eq!(kept(&purchase(&bench, 42)), [(first, 600, 0), (second, 1_400, 0)]);
        assert_eq!(apart(&bench, 42), []);
        answer(&bench.send(store, refund(42, 1_500)));
        assert_eq!(kept(&purchase(&bench, 42)), [(first, 600, 100), (second, 1_400, 1_400)], "the newest card first");
        assert_eq!(cards(&bench, member), [(first, 100), (second, 3_000)]);

        // One payment drawing from more cards than a purchase keeps.
        let kiosk = bench.store();
        bench.publish(kiosk, 1, vec![item(1, "Sticker", 100, ItemKind::Service)]);
        let many = bench.member();
        let card_count = PURCHASE_DRAWS_MAX + 1;
        for _ in 0..card_count {
            bench.top_up(many, 100);
        }
        let quantity = u16::try_from(card_count).unwrap();
        assert_eq!(rejected(&bench.send(many, Bench::instruction(kiosk, 77, 1, &[(1, quantity, 100)]))), None);
        assert_eq!(purchase(&bench, 77).draws, Draws::Apart);
        let numbers: Vec<u64> = cards(&bench, many).iter().map(|(number, _)| *number).collect();
        assert_eq!(apart(&bench, 77), numbers.iter().map(|&number| (number, 100, 0)).collect::<Vec<_>>());
        answer(&bench.send(kiosk, refund(77, 250)));
        let restored: Vec<u64> = apart(&bench, 77).iter().map(|(_, _, restored)| *restored).collect();
        let mut expected = vec![0; card_count - 3];
        expected.extend([50, 100, 100]);
        assert_eq!(restored, expected);
        let left: Vec<u64> = cards(&bench, many).iter().map(|(_, remaining)| *remaining).collect();
        assert_eq!(left, expected);
        bench.assert_audit_passes();
    }

    #[test]
    fn a_purchase_stored_before_draws_were_kept_refunds_through_its_draw_records() {
        let mut bench = Bench::new();
        let (store, member) = sale(&mut bench);
        // Rewrite purchase 42 as earlier versions stored it: no draws field,
        // and a card draw record per card.
        let mut old = purchase(&bench, 42);
        let mut batch = WriteBatch::default();
        for (card_number, drawn_yen, restored_yen) in kept(&old) {
            batch.push(Write::LedgerPut(
                CardDraw { transaction_number: 42, card_number, drawn_yen, restored_yen }.into(),
            ));
        }
        bench.storage.apply(&batch).unwrap();
        old.draws = Draws::Apart;
        let key = LedgerKey::transaction(42);
        let mut bytes = encode(&LedgerRecord::from(old.clone()));
        assert_eq!(bytes.pop(), Some(0), "the draws field ends the record");
        bench.storage.load_raw(&[(key.as_bytes().to_vec(), bytes)]).unwrap();
        assert_eq!(purchase(&bench, 42), old);

        answer(&bench.send(store, refund(42, 1_500)));
        let [(first, _), (second, _)] = cards(&bench, member)[..] else { panic!("two cards") };
        assert_eq!(apart(&bench, 42), [(first, 600, 100), (second, 1_400, 1_400)]);
        assert_eq!(cards(&bench, member), [(first, 100), (second, 3_000)]);
        assert_eq!(purchase(&bench, 42).draws, Draws::Apart);
        bench.assert_audit_passes();
    }

    #[test]
    fn the_audit_finds_kept_draws_that_do_not_add_up() {
        let mut bench = Bench::new();
        let (store, _) = sale(&mut bench);
        answer(&bench.send(store, refund(42, 500)));
        let mut damaged = purchase(&bench, 42);
        let Draws::Kept(draws) = &damaged.draws else { panic!("kept") };
        let mut draws = draws.to_vec();
        draws[0].restored_yen += 1;
        damaged.draws = Draws::Kept(List::new(draws).unwrap());
        bench.storage.apply(&WriteBatch { writes: vec![Write::LedgerPut(damaged.into())] }).unwrap();
        let report = bench.audit();
        assert_eq!(report.findings_total, 1, "{:?}", report.findings);
        assert!(
            report.findings[0]
                == "purchase 42 drew 2000 yen from its cards and gave 501 yen back, but its total is 2000 yen and \
                    500 yen of it was refunded",
            "{:?}",
            report.findings
        );
    }
}
