//! Property tests of the ledger: random runs of top-ups, payments, refunds,
//! claims, payouts and balance refunds, sent through the real committer in
//! random groups, against a model of what every balance must be. After
//! every group the ledger's own invariants hold; at the end the audit
//! passes and every balance equals the model's.

use std::collections::BTreeMap;

use denbun_protocol::header::PartyId;
use denbun_protocol::telegram::{
    AscendingNumbers, BalanceRefund, Body, CardAnswer, CardRequest, FundingChannel, FundsConfirmation, FundsRequest,
    ItemKind, PaymentClaim, PayoutApproval, PayoutExecution, PayoutsAnswer, PayoutsRequest, Refund, Telegram,
};
use denbun_protocol::wire::{Amount, Date, Text, decode_exact};
use proptest::prelude::*;

use super::{Reconciliation, cards, debits_equal_credits, totals};
use crate::flows::testing::{Bench, item, rejected};
use crate::storage::ledger_records::AccountId;

const MEMBERS: usize = 3;
const STORES: usize = 2;

#[derive(Clone, Debug)]
enum Operation {
    TopUp { member: usize, amount_yen: u64, by_transfer: bool },
    Pay { member: usize, store: usize, quantity: u16 },
    Refund { purchase: usize, amount_yen: u64 },
    Claim { store: usize },
    PayOut,
    RefundBalance { member: usize },
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        3 => (0..MEMBERS, 1..20_000u64, any::<bool>())
            .prop_map(|(member, amount_yen, by_transfer)| Operation::TopUp { member, amount_yen, by_transfer }),
        5 => (0..MEMBERS, 0..STORES, 1..6u16).prop_map(|(member, store, quantity)| Operation::Pay { member, store, quantity }),
        2 => (0..40usize, 1..3_000u64).prop_map(|(purchase, amount_yen)| Operation::Refund { purchase, amount_yen }),
        1 => (0..STORES).prop_map(|store| Operation::Claim { store }),
        1 => Just(Operation::PayOut),
        1 => (0..MEMBERS).prop_map(|member| Operation::RefundBalance { member }),
    ]
}

/// What every balance must be.
#[derive(Default)]
struct Model {
    stored_value: BTreeMap<PartyId, u64>,
    payable: BTreeMap<PartyId, u64>,
    paid_out: BTreeMap<PartyId, u64>,
    /// Purchases: (store, member, total, refunded, claimed).
    purchases: Vec<(PartyId, PartyId, u64, u64, bool)>,
}

struct Run {
    bench: Bench,
    operator: PartyId,
    members: Vec<PartyId>,
    stores: Vec<PartyId>,
    prices: Vec<u64>,
    model: Model,
    next_transaction: u64,
}

impl Run {
    fn new(prices: Vec<u64>) -> Self {
        let mut bench = Bench::new();
        let operator = bench.operator();
        let members: Vec<PartyId> = (0..MEMBERS).map(|_| bench.member()).collect();
        let stores: Vec<PartyId> = (0..STORES).map(|_| bench.store()).collect();
        for (store, price) in stores.iter().zip(&prices) {
            bench.publish(*store, 1, vec![item(1, "Lesson", *price, ItemKind::Service)]);
        }
        Run { bench, operator, members, stores, prices, model: Model::default(), next_transaction: 1 }
    }

    /// The telegrams of one operation, and what to do with their answers.
    fn telegrams(&mut self, operation: &Operation) -> Vec<(Telegram, Operation)> {
        let bench = &mut self.bench;
        let single = |telegram: Telegram| vec![(telegram, operation.clone())];
        match *operation {
            Operation::TopUp { member, amount_yen, by_transfer } => {
                let channel = if by_transfer { FundingChannel::BankTransfer } else { FundingChannel::CreditCompany };
                single(
                    bench.sign(self.members[member], CardRequest { amount: Amount::new(amount_yen).unwrap(), channel }),
                )
            }
            Operation::Pay { member, store, quantity } => {
                let number = self.next_transaction;
                self.next_transaction += 1;
                let instruction =
                    Bench::instruction(self.stores[store], number, 1, &[(1, quantity, self.prices[store])]);
                single(bench.sign(self.members[member], instruction))
            }
            Operation::Refund { purchase, amount_yen } => {
                // Refused payments keep their place in the model with no store.
                let Some(&(store, ..)) = self.model.purchases.get(purchase).filter(|entry| entry.2 > 0) else {
                    return Vec::new();
                };
                let refund = Refund {
                    transaction_number: purchase as u64 + 1,
                    amount: Amount::new(amount_yen).unwrap(),
                    reason: Text::new("test").unwrap(),
                };
                single(bench.sign(store, refund))
            }
            Operation::Claim { store } => {
                let store = self.stores[store];
                let numbers: Vec<u64> = (0..self.model.purchases.len())
                    .filter(|&index| {
                        let (owner, _, total, refunded, claimed) = self.model.purchases[index];
                        owner == store && !claimed && refunded < total
                    })
                    .map(|index| index as u64 + 1)
                    .take(10)
                    .collect();
                match AscendingNumbers::new(numbers) {
                    Some(transaction_numbers) => single(bench.sign(store, PaymentClaim { transaction_numbers })),
                    None => Vec::new(),
                }
            }
            Operation::PayOut | Operation::RefundBalance { .. } => Vec::new(),
        }
    }

    /// Applies the model's side of an accepted answer.
    fn accepted(&mut self, operation: &Operation, telegram: &Telegram, answer: &Telegram) {
        if rejected(answer).is_some() {
            if let Operation::Pay { .. } = operation {
                // The model keeps purchase numbers aligned with transaction numbers.
                self.model.purchases.push((PartyId::CENTER, PartyId::CENTER, 0, 0, true));
            }
            return;
        }
        match (operation, answer.body()) {
            (Operation::TopUp { member, .. }, Body::CardAnswer(CardAnswer::Issued(issued))) => {
                *self.model.stored_value.entry(self.members[*member]).or_default() += issued.card.face_value.get();
            }
            (Operation::TopUp { member, .. }, Body::CardAnswer(CardAnswer::Pending(pending))) => {
                // The operator confirms at once, for the amount asked.
                let confirm =
                    FundsConfirmation { reference: pending.reference.clone(), amount_received: pending.amount };
                let answer = self.bench.send(self.operator, FundsRequest::Confirm(confirm));
                if rejected(&answer).is_none() {
                    *self.model.stored_value.entry(self.members[*member]).or_default() += pending.amount.get();
                }
            }
            (Operation::Pay { member, store, .. }, Body::PaymentAnswer(paid)) => {
                let (member, store) = (self.members[*member], self.stores[*store]);
                *self.model.stored_value.entry(member).or_default() -= paid.total.get();
                *self.model.payable.entry(store).or_default() += paid.total.get();
                self.model.purchases.push((store, member, paid.total.get(), 0, false));
            }
            (Operation::Refund { purchase, .. }, Body::RefundAnswer(refunded)) => {
                let entry = &mut self.model.purchases[*purchase];
                entry.3 += refunded.amount.get();
                *self.model.payable.entry(entry.0).or_default() -= refunded.amount.get();
                *self.model.stored_value.entry(entry.1).or_default() += refunded.amount.get();
            }
            (Operation::Claim { .. }, Body::PaymentClaimAnswer(_)) => {
                let Body::PaymentClaim(claim) = telegram.body() else { unreachable!("a claim") };
                for number in claim.transaction_numbers.iter() {
                    self.model.purchases[*number as usize - 1].4 = true;
                }
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }

    fn pay_out(&mut self) {
        let pending =
            self.bench.send(self.operator, PayoutsRequest::Pending(denbun_protocol::telegram::PageRequest { page: 0 }));
        let Body::PayoutsAnswer(PayoutsAnswer::Pending(pending)) = pending.body() else { panic!("{pending:?}") };
        let numbers: Vec<u64> = pending.rows.iter().map(|row| row.claim_number).collect();
        let amounts: Vec<(PartyId, u64)> =
            pending.rows.iter().map(|row| (row.store.party(), row.amount.get())).collect();
        let Some(claim_numbers) = AscendingNumbers::new(numbers) else { return };
        let approved = self.bench.send(self.operator, PayoutsRequest::Approve(PayoutApproval { claim_numbers }));
        let Body::PayoutsAnswer(PayoutsAnswer::Approved(batch)) = approved.body() else { panic!("{approved:?}") };
        let execution =
            PayoutExecution { batch_number: batch.batch_number, executed_on: Date::new(2025, 3, 10).unwrap() };
        assert_eq!(rejected(&self.bench.send(self.operator, PayoutsRequest::Executed(execution))), None);
        for (store, amount) in amounts {
            *self.model.payable.entry(store).or_default() -= amount;
            *self.model.paid_out.entry(store).or_default() += amount;
        }
    }

    fn refund_balance(&mut self, member: usize) {
        let member = self.members[member];
        let store = self.stores[0];
        let account = decode_exact(self.bench.storage.party(store).unwrap().unwrap().bank_account.as_slice()).unwrap();
        let request = BalanceRefund {
            member: member.try_into().unwrap(),
            payout_account: account,
            close_account: false,
            reason: Text::new("test").unwrap(),
        };
        assert_eq!(rejected(&self.bench.send(self.operator, request)), None);
        self.model.stored_value.insert(member, 0);
    }

    /// The ledger's invariants, read through a fresh view.
    fn check_invariants(&self) {
        self.bench.read(|tx| {
            let all = totals(tx).unwrap();
            assert!(debits_equal_credits(&all));
            let reconciliation = Reconciliation::from_totals(&all).expect("no class below zero");
            assert!(reconciliation.balances(), "{reconciliation:?}");
            for member in &self.members {
                let number = (*member).try_into().unwrap();
                let balance = super::balance_yen(tx, AccountId::stored_value(number)).unwrap();
                let on_cards: u64 =
                    cards::cards_of(tx, number, 1_000).unwrap().iter().map(|card| card.remaining_yen).sum();
                assert_eq!(balance, on_cards, "{member}'s cards and stored value");
            }
        });
    }
}

use crate::storage::Storage;

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn random_money_movements_keep_the_ledger_balanced(
        prices in proptest::collection::vec(100..5_000u64, STORES),
        batches in proptest::collection::vec(proptest::collection::vec(operation(), 1..5), 1..25),
    ) {
        let mut run = Run::new(prices);
        for batch in &batches {
            let mut group = Vec::new();
            for operation in batch {
                match operation {
                    Operation::PayOut => run.pay_out(),
                    Operation::RefundBalance { member } => run.refund_balance(*member),
                    _ => group.extend(run.telegrams(operation)),
                }
            }
            let (telegrams, operations): (Vec<Telegram>, Vec<Operation>) = group.into_iter().unzip();
            let sent = telegrams.clone();
            let answers = if telegrams.is_empty() { Vec::new() } else { run.bench.group(telegrams) };
            for ((operation, telegram), answer) in operations.iter().zip(&sent).zip(&answers) {
                run.accepted(operation, telegram, answer);
            }
            run.check_invariants();
        }
        for member in run.members.clone() {
            prop_assert_eq!(run.bench.stored_value(member), run.model.stored_value.get(&member).copied().unwrap_or(0));
        }
        for store in run.stores.clone() {
            prop_assert_eq!(run.bench.payable(store), run.model.payable.get(&store).copied().unwrap_or(0));
            let paid_out = run.bench.balance(AccountId::paid_out(store.try_into().unwrap()));
            prop_assert_eq!(paid_out, run.model.paid_out.get(&store).copied().unwrap_or(0));
        }
        let day = Date::new(2025, 3, 7).unwrap();
        let offset = run.bench.config.money.utc_offset_hours;
        let daily = run.bench.read(|tx| crate::flows::report::build(tx, offset, day, day).unwrap().unwrap());
        prop_assert!(crate::flows::report::reconciles(&daily), "{}", crate::flows::report::render(&daily));
        let report = run.bench.audit();
        prop_assert!(report.passed(), "{}", report);
    }
}

mod overlay {
    use std::collections::BTreeSet;

    use denbun_protocol::header::MemberNumber;
    use proptest::prelude::*;

    use crate::service::tx::Tx;
    use crate::storage::ledger_records::{LiveCard, family};
    use crate::storage::{LedgerKey, LedgerRange, ScanOrder, SledStorage, Storage, Write, WriteBatch};

    fn member() -> MemberNumber {
        MemberNumber::new(1).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// A scan through a group's view returns exactly what committed
        /// state with the group's writes on top holds, in order, limited.
        #[test]
        fn scans_merge_the_groups_writes_with_committed_records(
            committed in proptest::collection::btree_set(0..64u64, 0..40),
            writes in proptest::collection::vec((0..64u64, any::<bool>()), 0..40),
            from in 0..70u64,
            to in 0..70u64,
            limit in 1..50usize,
            descending in any::<bool>(),
        ) {
            let directory = tempfile::tempdir().unwrap();
            let storage = SledStorage::open(directory.path()).unwrap();
            let mut batch = WriteBatch::default();
            for &card_number in &committed {
                batch.push(Write::LedgerPut(LiveCard { member: member(), card_number }.into()));
            }
            storage.commit(&batch).unwrap();
            let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
            let mut tx = Tx::new(&storage, &key, storage.journal_head().unwrap(), 0);
            let mut model: BTreeSet<u64> = committed.clone();
            for (card_number, keep) in writes {
                if keep {
                    tx.ledger_put(LiveCard { member: member(), card_number });
                    model.insert(card_number);
                } else {
                    tx.ledger_remove(LedgerKey::live_card(member(), card_number));
                    model.remove(&card_number);
                }
            }
            let range = LedgerRange::between(LedgerKey::live_card(member(), from), LedgerKey::live_card(member(), to));
            let order = if descending { ScanOrder::Descending } else { ScanOrder::Ascending };
            let found: Vec<u64> = tx
                .ledger_scan_as::<LiveCard>(&range, order, limit)
                .unwrap()
                .into_iter()
                .map(|card| card.card_number)
                .collect();
            let within = model.iter().copied().filter(|number| (from..to).contains(number));
            let expected: Vec<u64> =
                if descending { within.rev().take(limit).collect() } else { within.take(limit).collect() };
            prop_assert_eq!(found, expected);
            let whole = LedgerRange::prefix(LedgerKey::family_with(family::LIVE_CARD, &member()));
            let all = tx.ledger_scan_as::<LiveCard>(&whole, ScanOrder::Ascending, 1_000).unwrap().len();
            prop_assert_eq!(all, model.len());
        }
    }
}
