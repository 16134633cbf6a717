//! Families 90–98: what operators ask of the center. Every operator telegram
//! is signed by an operator key in the register and journaled like any other.
//!
//! Here: the mail queue (97), funds confirmation for cards waiting for a
//! transfer (90), refunds of unused balance (92), freezing (93) and inquiry
//! (96). Payouts (91) are in `payout.rs` beside the claims they pay, the
//! report (94) in `report.rs`.

use denbun_protocol::header::{Header, MemberNumber, PartyKind, StoreNumber};
use denbun_protocol::limits::{MAIL_LETTERS_MAX, QUERY_ROWS_MAX};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::inquiry::{Letter, LetterPage, MailQueueAnswer, MailQueueRequest};
use denbun_protocol::telegram::{
    AccountState, BalanceRefund, BalanceRefundAnswer, BalanceRefundNotice, BankAccount, CardRow, CardRows,
    FreezeAction, FreezeAnswer, FreezeRequest, FundsAnswer, FundsConfirmed, FundsRejected, FundsRequest, Inquiry,
    InquiryAnswer, MemberDetail, MemberRow, MemberRows, PendingFundsPage, PendingFundsRow, PersonalData,
    RegisteredKeys, StoreDetail, StoreRow, StoreRows, TransactionDetail, TransactionState,
};
use denbun_protocol::wire::{Amount, Date, List, Text, decode_exact};

use super::common::{accept, operator_in_good_standing, page_of, today, yen};
use super::{Decision, FlowContext, card, catalog, payment};
use crate::ledger::{self, Cause, Posting, cards};
use crate::service::tx::Tx;
use crate::storage::ledger_records::{
    AccountId, BalanceRefundRecord, CardRecord, FundingRecord, FundingStatus as FundsStatus, PendingFunding,
    PostingKind, family,
};
use crate::storage::{
    Counter, LedgerKey, LedgerRange, LetterRecord, PartyRecord, PartyStatus, ScanOrder, StorageError,
};

/// `9700`: list letters, or mark one printed.
pub fn mail_queue(tx: &mut Tx<'_>, request: &MailQueueRequest) -> Result<Decision, StorageError> {
    match request {
        MailQueueRequest::List(query) => {
            let mut letters = Vec::new();
            let mut after = query.after_letter;
            let mut more = false;
            // Bounded: each round reads one page; printed letters may be skipped.
            'pages: for _ in 0..1_000 {
                let page = tx.storage().letters(after, MAIL_LETTERS_MAX)?;
                if page.is_empty() {
                    break;
                }
                for record in page {
                    after = record.id;
                    if record.printed_at_ms.is_some() && !query.include_printed {
                        continue;
                    }
                    if letters.len() == MAIL_LETTERS_MAX {
                        more = true;
                        break 'pages;
                    }
                    letters.push(letter(&record));
                }
            }
            let letters = List::new(letters).expect("at most MAIL_LETTERS_MAX letters");
            Ok(Decision::answer(MailQueueAnswer::Letters(LetterPage { letters, more })))
        }
        MailQueueRequest::Printed(letter_number) => {
            let found = match letter_number.checked_sub(1) {
                Some(after) => tx.storage().letters(after, 1)?.into_iter().find(|record| record.id == *letter_number),
                None => None,
            };
            let Some(mut record) = found else {
                return Ok(Decision::reject_with(RejectReason::NotFound, format!("no letter {letter_number}")));
            };
            if record.printed_at_ms.is_none() {
                record.printed_at_ms = Some(tx.now_ms());
                tx.letter(record);
            }
            Ok(Decision::answer(MailQueueAnswer::Printed(*letter_number)))
        }
    }
}

fn letter(record: &LetterRecord) -> Letter {
    Letter {
        letter_number: record.id,
        recipient: record.recipient,
        name: record.name.clone(),
        address: record.address.clone(),
        activation_code: record.activation_code.clone(),
        expires_at_ms: record.expires_at_ms,
        created_at_ms: record.created_at_ms,
        printed: record.printed_at_ms.is_some(),
    }
}

/// `9000`: pending funds, or the money for a pending card arrived, or not.
pub fn funds(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    request: &FundsRequest,
) -> Result<Decision, StorageError> {
    accept!(operator_in_good_standing(tx, header.sender())?);
    match request {
        FundsRequest::Pending(page) => {
            let range = LedgerRange::family(family::PENDING_FUNDING);
            let (index, page_count) = page_of::<PendingFunding>(tx, &range, page.page, QUERY_ROWS_MAX)?;
            let mut rows = Vec::with_capacity(index.len());
            for entry in index {
                let record = funding(tx, entry.funding_number)?;
                rows.push(PendingFundsRow {
                    reference: canonical_reference(&record),
                    member: record.member,
                    channel: record.channel,
                    amount: record.amount,
                    requested_at_ms: record.requested_at_ms,
                });
            }
            let rows = List::new(rows).expect("at most QUERY_ROWS_MAX");
            Ok(Decision::answer(FundsAnswer::Pending(PendingFundsPage { page: page.page, page_count, rows })))
        }
        FundsRequest::Confirm(confirmation) => {
            let mut record = accept!(pending_by_reference(tx, &confirmation.reference)?);
            let received = confirmation.amount_received;
            match record.status {
                FundsStatus::Pending => {}
                FundsStatus::Confirmed if record.amount_received_yen == received.get() => {
                    // Confirmed before with the same amount (another processing number).
                    let card = tx
                        .ledger_record::<CardRecord>(&LedgerKey::card(record.card_number))?
                        .ok_or_else(|| missing(LedgerKey::card(record.card_number)))?;
                    return Ok(Decision::answer(FundsAnswer::Confirmed(FundsConfirmed {
                        reference: canonical_reference(&record),
                        member: record.member,
                        card: card::issued_card(&card),
                    })));
                }
                FundsStatus::Confirmed => {
                    return Ok(Decision::reject_with(
                        RejectReason::AlreadyDone,
                        format!(
                            "{} was already confirmed with {} yen (card {})",
                            confirmation.reference, record.amount_received_yen, record.card_number
                        ),
                    ));
                }
                FundsStatus::Rejected => {
                    return Ok(Decision::reject_with(
                        RejectReason::AlreadyDone,
                        format!("{} was rejected: {}", confirmation.reference, record.note),
                    ));
                }
            }
            if tx.party(record.member.party())?.is_none_or(|member| member.status == PartyStatus::Closed) {
                return Ok(Decision::reject_with(
                    RejectReason::NotPermitted,
                    format!("{} is closed; reject the request and return the money", record.member),
                ));
            }
            let reference = canonical_reference(&record);
            let description = format!("{} {}", cards::channel_name(record.channel), reference);
            let (issued, _) = accept!(card::issue_and_notify(
                tx,
                context,
                &Cause::of(header),
                record.member,
                record.channel,
                received,
                record.funding_number,
                Some(reference.clone()),
                &description,
            )?);
            record.status = FundsStatus::Confirmed;
            record.decided_at_ms = tx.now_ms();
            record.decided_by = header.sender();
            record.amount_received_yen = received.get();
            record.card_number = issued.card_number;
            tx.ledger_remove(LedgerKey::pending_funding(record.funding_number));
            let member = record.member;
            tx.ledger_put(record);
            Ok(Decision::answer(FundsAnswer::Confirmed(FundsConfirmed {
                reference,
                member,
                card: card::issued_card(&issued),
            })))
        }
        FundsRequest::Reject(rejection) => {
            let mut record = accept!(pending_by_reference(tx, &rejection.reference)?);
            let answer =
                FundsAnswer::Rejected(FundsRejected { reference: canonical_reference(&record), member: record.member });
            match record.status {
                FundsStatus::Pending => {}
                FundsStatus::Rejected => return Ok(Decision::answer(answer)),
                FundsStatus::Confirmed => {
                    return Ok(Decision::reject_with(
                        RejectReason::AlreadyDone,
                        format!("{} was already confirmed (card {})", rejection.reference, record.card_number),
                    ));
                }
            }
            record.status = FundsStatus::Rejected;
            record.decided_at_ms = tx.now_ms();
            record.decided_by = header.sender();
            record.note = rejection.reason.clone();
            tx.ledger_remove(LedgerKey::pending_funding(record.funding_number));
            tx.ledger_put(record);
            Ok(Decision::answer(answer))
        }
    }
}

/// A funding request's reference as the center wrote it (operators may
/// type it in any case, with or without dashes).
fn canonical_reference(record: &FundingRecord) -> Text<{ denbun_protocol::limits::REFERENCE_BYTES_MAX }> {
    Text::new(card::reference(record.channel, record.funding_number)).expect("references are short")
}

fn missing(key: LedgerKey) -> StorageError {
    StorageError::Corrupt { key: format!("{key:?}"), reason: "an index names a missing record".to_owned() }
}

fn funding(tx: &mut Tx<'_>, funding_number: u64) -> Result<FundingRecord, StorageError> {
    tx.ledger_record(&LedgerKey::funding(funding_number))?.ok_or_else(|| missing(LedgerKey::funding(funding_number)))
}

/// The funding request a reference names.
fn pending_by_reference(tx: &mut Tx<'_>, reference: &str) -> Result<Result<FundingRecord, Decision>, StorageError> {
    let not_found = || {
        Decision::reject_with(RejectReason::NotFound, format!("no card request has the transfer reference {reference}"))
    };
    let Some((channel, funding_number)) = card::parse_reference(reference) else {
        return Ok(Err(not_found()));
    };
    match tx.ledger_record::<FundingRecord>(&LedgerKey::funding(funding_number))? {
        Some(record) if record.channel == channel => Ok(Ok(record)),
        _ => Ok(Err(not_found())),
    }
}

/// `9200`: refund a member's whole unused balance to a bank account,
/// closing the account if asked.
pub fn balance_refund(
    tx: &mut Tx<'_>,
    context: &FlowContext<'_>,
    header: &Header,
    request: &BalanceRefund,
) -> Result<Decision, StorageError> {
    accept!(operator_in_good_standing(tx, header.sender())?);
    let member = request.member;
    let Some(mut record) = tx.party(member.party())? else {
        return Ok(Decision::reject_with(RejectReason::NotFound, format!("no member {member}")));
    };
    match record.status {
        PartyStatus::Registered | PartyStatus::Frozen => {}
        PartyStatus::Closed => {
            return Ok(Decision::reject_with(RejectReason::AlreadyDone, format!("{member} is already closed")));
        }
        PartyStatus::Applied => {
            return Ok(Decision::reject_with(RejectReason::NotPermitted, format!("{member} has not registered")));
        }
    }
    let refund_number = tx.next(Counter::LastBalanceRefund)?;
    let balance = ledger::balance_yen(tx, AccountId::stored_value(member))?;
    if let Ok(amount) = Amount::new(balance) {
        let posting = Posting {
            kind: PostingKind::BalanceRefund,
            debit: AccountId::stored_value(member),
            credit: AccountId::balance_refunded(member),
            amount,
            reference: refund_number,
            description: "unused balance refunded",
        };
        let day = today(tx, context);
        ledger::post(tx, &Cause::of(header), day, &posting)?.expect("the whole balance is there to refund");
        let drained = cards::drain(tx, member)?;
        assert_eq!(drained, balance, "{member}'s cards hold exactly the stored value");
    }
    let amount = yen(balance);
    tx.ledger_put(BalanceRefundRecord {
        refund_number,
        member,
        amount,
        account: request.payout_account.clone(),
        closed: request.close_account,
        operator: header.sender(),
        refunded_at_ms: tx.now_ms(),
        reason: request.reason.clone(),
    });
    if request.close_account {
        record.status = PartyStatus::Closed;
        tx.put_party(record);
    }
    tx.notice(
        member.party(),
        BalanceRefundNotice {
            refund_number,
            amount,
            payout_account: request.payout_account.clone(),
            closed: request.close_account,
        },
    )?;
    Ok(Decision::answer(BalanceRefundAnswer { member, refund_number, amount, closed: request.close_account }))
}

/// `9300`: freeze or unfreeze a member or a store.
pub fn freeze(tx: &mut Tx<'_>, header: &Header, request: &FreezeRequest) -> Result<Decision, StorageError> {
    accept!(operator_in_good_standing(tx, header.sender())?);
    let party = request.party;
    let Some(mut record) = tx.party(party)? else {
        return Ok(Decision::reject_with(RejectReason::NotFound, format!("no {party} in the register")));
    };
    let frozen_now = match (record.status, request.action) {
        (PartyStatus::Registered, FreezeAction::Freeze) | (PartyStatus::Frozen, FreezeAction::Freeze) => true,
        (PartyStatus::Registered, FreezeAction::Unfreeze) | (PartyStatus::Frozen, FreezeAction::Unfreeze) => false,
        (status, _) => {
            return Ok(Decision::reject_with(
                RejectReason::NotPermitted,
                format!("{party} is {status:?}; only registered accounts are frozen or unfrozen"),
            ));
        }
    };
    let changed = (record.status == PartyStatus::Frozen) != frozen_now;
    if changed {
        record.status = if frozen_now { PartyStatus::Frozen } else { PartyStatus::Registered };
        tx.put_party(record);
    }
    Ok(Decision::answer(FreezeAnswer { party, frozen: frozen_now, changed }))
}

/// Register entries read at a time while searching.
const SEARCH_CHUNK: usize = 500;
/// Register chunks one search may read (bounds the loop).
const SEARCH_CHUNKS_MAX: usize = 100_000;
/// Most index entries counted for a detail (cards, purchases).
const COUNT_MAX: usize = 1_000_000;

fn state(status: PartyStatus) -> AccountState {
    match status {
        PartyStatus::Applied => AccountState::Applied,
        PartyStatus::Registered => AccountState::Active,
        PartyStatus::Frozen => AccountState::Frozen,
        PartyStatus::Closed => AccountState::Closed,
    }
}

fn personal(record: &PartyRecord) -> PersonalData {
    PersonalData {
        name: record.name.clone(),
        address: record.address.clone(),
        // Members and stores give a date of birth when applying.
        date_of_birth: record.date_of_birth.unwrap_or(Date::new(1900, 1, 1).expect("a valid date")),
    }
}

fn keys(record: &PartyRecord) -> Option<RegisteredKeys> {
    Some(RegisteredKeys {
        verification_key: ed25519_dalek::VerifyingKey::from_bytes(&record.verification_key?).ok()?,
        delivery_key: x25519_dalek::PublicKey::from(record.delivery_key?),
        registered_at_ms: record.registered_at_ms,
    })
}

/// Register entries of `kind` whose name, trade name or address holds every
/// word of `text` (case-insensitive), page `page` of `per_page`, and the page count.
fn search_register(
    tx: &mut Tx<'_>,
    kind: PartyKind,
    text: &str,
    page: u16,
    per_page: usize,
) -> Result<(Vec<PartyRecord>, u16), StorageError> {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let first = usize::from(page) * per_page;
    let mut found = Vec::new();
    let mut total = 0usize;
    let mut after = 0u64;
    for _ in 0..SEARCH_CHUNKS_MAX {
        let chunk = tx.storage().parties(kind, after, SEARCH_CHUNK)?;
        let Some(last) = chunk.last() else { break };
        after = last.party.number();
        for record in chunk {
            let record = tx.party(record.party)?.unwrap_or(record);
            let haystack = format!(
                "{} {} {} {}",
                record.party,
                record.name,
                record.trade_name.as_ref().map_or("", |name| name.as_str()),
                record.address
            )
            .to_lowercase();
            if !words.iter().all(|word| haystack.contains(word.as_str())) {
                continue;
            }
            if total >= first && found.len() < per_page {
                found.push(record);
            }
            total += 1;
        }
    }
    Ok((found, u16::try_from(total.div_ceil(per_page).max(1)).unwrap_or(u16::MAX)))
}

fn count(tx: &mut Tx<'_>, range: LedgerRange) -> Result<u32, StorageError> {
    let entries = tx.ledger_scan(&range, ScanOrder::Ascending, COUNT_MAX)?;
    Ok(u32::try_from(entries.len()).unwrap_or(u32::MAX))
}

/// `9600`: an operator's inquiry over members, stores, cards and purchases.
pub fn inquiry(tx: &mut Tx<'_>, header: &Header, inquiry: &Inquiry) -> Result<Decision, StorageError> {
    accept!(operator_in_good_standing(tx, header.sender())?);
    let answer = match inquiry {
        Inquiry::SearchMembers(search) => {
            let (records, page_count) =
                search_register(tx, PartyKind::Member, &search.text, search.page, QUERY_ROWS_MAX)?;
            let mut rows = Vec::with_capacity(records.len());
            for record in records {
                let member = MemberNumber::try_from(record.party).expect("searched by kind");
                rows.push(MemberRow {
                    member,
                    name: record.name.clone(),
                    state: state(record.status),
                    balance: yen(ledger::balance_yen(tx, AccountId::stored_value(member))?),
                });
            }
            InquiryAnswer::Members(MemberRows {
                page: search.page,
                page_count,
                rows: List::new(rows).expect("at most QUERY_ROWS_MAX"),
            })
        }
        Inquiry::Member(member) => {
            let Some(record) = tx.party(member.party())? else {
                return Ok(Decision::reject_with(RejectReason::NotFound, format!("no member {member}")));
            };
            let cards = count(tx, LedgerRange::prefix(LedgerKey::family_with(family::MEMBER_CARD, member)))?;
            let indexed = count(tx, LedgerRange::prefix(LedgerKey::family_with(family::MEMBER_TRANSACTION, member)))?;
            let counted = u32::try_from(ledger::purchases_counted(tx, *member)?).unwrap_or(u32::MAX);
            let purchases = indexed.saturating_add(counted);
            InquiryAnswer::Member(MemberDetail {
                member: *member,
                personal: personal(&record),
                state: state(record.status),
                balance: yen(ledger::balance_yen(tx, AccountId::stored_value(*member))?),
                cards,
                purchases,
                keys: keys(&record),
            })
        }
        Inquiry::SearchStores(search) => {
            let (records, page_count) =
                search_register(tx, PartyKind::Store, &search.text, search.page, QUERY_ROWS_MAX)?;
            let mut rows = Vec::with_capacity(records.len());
            for record in records {
                let store = StoreNumber::try_from(record.party).expect("searched by kind");
                rows.push(StoreRow {
                    store,
                    trade_name: catalog::trade_name(&record),
                    state: state(record.status),
                    payable: yen(ledger::balance_yen(tx, AccountId::payable(store))?),
                });
            }
            InquiryAnswer::Stores(StoreRows {
                page: search.page,
                page_count,
                rows: List::new(rows).expect("at most QUERY_ROWS_MAX"),
            })
        }
        Inquiry::Store(store) => {
            let Some(record) = tx.party(store.party())? else {
                return Ok(Decision::reject_with(RejectReason::NotFound, format!("no store {store}")));
            };
            InquiryAnswer::Store(StoreDetail {
                store: *store,
                trade_name: catalog::trade_name(&record),
                personal: personal(&record),
                state: state(record.status),
                payable: yen(ledger::balance_yen(tx, AccountId::payable(*store))?),
                paid_out_yen: ledger::balance_yen(tx, AccountId::paid_out(*store))?,
                catalog_version: catalog::head(tx, *store)?.current_version,
                payout_account: decode_exact::<BankAccount>(record.bank_account.as_slice()).ok(),
                keys: keys(&record),
            })
        }
        Inquiry::Cards(member) => {
            if tx.party(member.party())?.is_none() {
                return Ok(Decision::reject_with(RejectReason::NotFound, format!("no member {member}")));
            }
            let rows = cards::cards_of(tx, *member, QUERY_ROWS_MAX)?
                .into_iter()
                .map(|card| CardRow {
                    card_number: card.card_number,
                    face_value: card.face_value,
                    remaining: yen(card.remaining_yen),
                    channel: card.channel,
                    issued_at_ms: card.issued_at_ms,
                })
                .collect();
            InquiryAnswer::Cards(CardRows { member: *member, rows: List::new(rows).expect("at most QUERY_ROWS_MAX") })
        }
        Inquiry::Transaction(number) => {
            let Some(purchase) = payment::transaction(tx, *number)? else {
                return Ok(Decision::reject_with(RejectReason::NotFound, format!("no purchase {number}")));
            };
            let state = if purchase.net_yen() == 0 {
                TransactionState::Refunded
            } else if purchase.paid_out {
                TransactionState::PaidOut
            } else if purchase.claim_number != 0 {
                TransactionState::Claimed
            } else if purchase.delivered_at_ms != 0 {
                TransactionState::Delivered
            } else {
                TransactionState::Paid
            };
            InquiryAnswer::Transaction(TransactionDetail {
                transaction_number: purchase.transaction_number,
                member: purchase.member,
                store: purchase.store,
                catalog_version: purchase.catalog_version,
                lines: purchase.lines.clone(),
                total: purchase.total,
                refunded: yen(purchase.refunded_yen),
                state,
                paid_at_ms: purchase.paid_at_ms,
            })
        }
    };
    Ok(Decision::answer(answer))
}

#[cfg(test)]
mod money_tests {
    use denbun_protocol::header::PartyId;
    use denbun_protocol::telegram::{Body, ItemKind, Search};

    use super::*;
    use crate::flows::testing::{Bench, item, rejected};
    use crate::storage::Storage;

    fn inquire(bench: &mut Bench, operator: PartyId, inquiry: Inquiry) -> InquiryAnswer {
        let answer = bench.send(operator, inquiry);
        match answer.body() {
            Body::InquiryAnswer(answer) => answer.clone(),
            other => panic!("expected an inquiry answer, got {other:?}"),
        }
    }

    fn search(text: &str) -> Search {
        Search { text: Text::new(text).unwrap(), page: 0 }
    }

    #[test]
    fn operators_find_members_stores_cards_and_purchases() {
        let mut bench = Bench::new();
        let operator = bench.operator();
        let store = bench.store();
        bench.publish(store, 1, vec![item(1, "Tea", 700, ItemKind::Service)]);
        let member = bench.funded_member(1_000);
        let other = bench.member();
        bench.top_up(member, 2_000);
        assert_eq!(rejected(&bench.send(member, Bench::instruction(store, 5, 1, &[(1, 2, 700)]))), None);
        let member_number: MemberNumber = member.try_into().unwrap();

        let InquiryAnswer::Members(found) = inquire(&mut bench, operator, Inquiry::SearchMembers(search(""))) else {
            panic!("members")
        };
        assert_eq!(found.rows.len(), 2);
        assert_eq!((found.rows[0].balance.get(), found.rows[1].balance.get()), (1_600, 0));
        let InquiryAnswer::Members(found) = inquire(&mut bench, operator, Inquiry::SearchMembers(search("m00000002")))
        else {
            panic!("members")
        };
        assert_eq!(found.rows.iter().map(|row| row.member.party()).collect::<Vec<_>>(), [other]);
        let InquiryAnswer::Member(detail) = inquire(&mut bench, operator, Inquiry::Member(member_number)) else {
            panic!("member")
        };
        assert_eq!((detail.cards, detail.purchases, detail.balance.get()), (2, 1, 1_600));
        assert_eq!(detail.state, AccountState::Active);
        assert!(detail.keys.is_some());
        let InquiryAnswer::Cards(cards) = inquire(&mut bench, operator, Inquiry::Cards(member_number)) else {
            panic!("cards")
        };
        let remaining: Vec<u64> = cards.rows.iter().map(|row| row.remaining.get()).collect();
        assert_eq!(remaining, [0, 1_600]);
        let InquiryAnswer::Stores(stores) = inquire(&mut bench, operator, Inquiry::SearchStores(search("shop"))) else {
            panic!("stores")
        };
        assert_eq!((stores.rows.len(), stores.rows[0].payable.get()), (1, 1_400));
        let InquiryAnswer::Store(detail) = inquire(&mut bench, operator, Inquiry::Store(store.try_into().unwrap()))
        else {
            panic!("store")
        };
        assert_eq!((detail.catalog_version, detail.payable.get(), detail.paid_out_yen), (1, 1_400, 0));
        assert_eq!(detail.payout_account.map(|account| account.bank_code.to_string()), Some("0005".to_owned()));
        let InquiryAnswer::Transaction(purchase) = inquire(&mut bench, operator, Inquiry::Transaction(5)) else {
            panic!("transaction")
        };
        assert_eq!((purchase.total.get(), purchase.state), (1_400, TransactionState::Delivered));
        assert_eq!(rejected(&bench.send(operator, Inquiry::Transaction(6))), Some(RejectReason::NotFound));
        assert_eq!(
            rejected(&bench.send(operator, Inquiry::Member(MemberNumber::new(50).unwrap()))),
            Some(RejectReason::NotFound)
        );
    }

    #[test]
    fn purchases_indexed_by_an_older_build_count_with_those_counted_in_place() {
        use crate::storage::ledger_records::MemberTransaction;
        use crate::storage::{Write, WriteBatch};

        let mut bench = Bench::new();
        let operator = bench.operator();
        let store = bench.store();
        bench.publish(store, 1, vec![item(1, "Tea", 100, ItemKind::Service)]);
        let member = bench.funded_member(1_000);
        let member_number: MemberNumber = member.try_into().unwrap();
        assert_eq!(rejected(&bench.send(member, Bench::instruction(store, 5, 1, &[(1, 1, 100)]))), None);
        // What an older build left: the purchase in the index, no count.
        let mut batch = WriteBatch::default();
        batch.push(Write::LedgerRemove(LedgerKey::member_purchases(member_number)));
        batch.push(Write::LedgerPut(MemberTransaction { member: member_number, transaction_number: 5 }.into()));
        bench.storage.commit(&batch).unwrap();
        bench.assert_audit_passes();

        assert_eq!(rejected(&bench.send(member, Bench::instruction(store, 6, 1, &[(1, 1, 100)]))), None);
        let indexed = bench.read(|tx| {
            tx.ledger_scan(
                &LedgerRange::prefix(LedgerKey::family_with(family::MEMBER_TRANSACTION, &member_number)),
                ScanOrder::Ascending,
                10,
            )
            .unwrap()
            .len()
        });
        assert_eq!(indexed, 1, "a new purchase adds no index entry");
        assert_eq!(bench.read(|tx| ledger::purchases_counted(tx, member_number).unwrap()), 1);
        let InquiryAnswer::Member(detail) = inquire(&mut bench, operator, Inquiry::Member(member_number)) else {
            panic!("member")
        };
        assert_eq!(detail.purchases, 2);
        bench.assert_audit_passes();
    }

    #[test]
    fn freezing_is_idempotent_and_only_for_registered_accounts() {
        let mut bench = Bench::new();
        let operator = bench.operator();
        let member = bench.member();
        let request = |action| FreezeRequest { party: member, action, reason: Text::new("check").unwrap() };
        let answer = |telegram: &denbun_protocol::telegram::Telegram| match telegram.body() {
            Body::FreezeAnswer(answer) => (answer.frozen, answer.changed),
            other => panic!("expected a freeze answer, got {other:?}"),
        };
        assert_eq!(answer(&bench.send(operator, request(FreezeAction::Freeze))), (true, true));
        assert_eq!(answer(&bench.send(operator, request(FreezeAction::Freeze))), (true, false));
        assert_eq!(bench.storage.party(member).unwrap().unwrap().status, PartyStatus::Frozen);
        assert_eq!(answer(&bench.send(operator, request(FreezeAction::Unfreeze))), (false, true));
        assert_eq!(answer(&bench.send(operator, request(FreezeAction::Unfreeze))), (false, false));
        let unknown = FreezeRequest { party: PartyId::store(9).unwrap(), ..request(FreezeAction::Freeze) };
        assert_eq!(rejected(&bench.send(operator, unknown)), Some(RejectReason::NotFound));
    }

    #[test]
    fn a_balance_refund_empties_the_cards_and_may_close_the_account() {
        let mut bench = Bench::new();
        let operator = bench.operator();
        let member = bench.funded_member(3_000);
        bench.top_up(member, 500);
        let account = BankAccount {
            bank_code: denbun_protocol::telegram::Digits::new("0009").unwrap(),
            branch_code: denbun_protocol::telegram::Digits::new("001").unwrap(),
            account_type: denbun_protocol::telegram::AccountType::Savings,
            account_number: denbun_protocol::telegram::Digits::new("7777777").unwrap(),
            holder_name: Text::new("ﾔﾏﾀﾞ ﾊﾅｺ").unwrap(),
        };
        let request = |close_account| BalanceRefund {
            member: member.try_into().unwrap(),
            payout_account: account.clone(),
            close_account,
            reason: Text::new("asked by the member").unwrap(),
        };
        let answer = bench.send(operator, request(false));
        let Body::BalanceRefundAnswer(refunded) = answer.body() else { panic!("{answer:?}") };
        assert_eq!((refunded.amount.get(), refunded.closed), (3_500, false));
        assert_eq!(bench.stored_value(member), 0);
        assert_eq!(bench.balance(AccountId::balance_refunded(member.try_into().unwrap())), 3_500);
        let notice = bench.mailbox(member).into_iter().find_map(|notice| match notice.body() {
            Body::BalanceRefundNotice(notice) => Some(notice.clone()),
            _ => None,
        });
        assert_eq!(notice.map(|notice| (notice.amount.get(), notice.payout_account)), Some((3_500, account.clone())));
        // Nothing left: a refund of 0 yen, and the account is closed.
        let answer = bench.send(operator, request(true));
        let Body::BalanceRefundAnswer(closed) = answer.body() else { panic!("{answer:?}") };
        assert_eq!((closed.amount.get(), closed.closed), (0, true));
        assert_eq!(rejected(&bench.send(operator, request(true))), Some(RejectReason::AlreadyDone));
        let card = denbun_protocol::telegram::CardRequest {
            amount: Amount::new(100).unwrap(),
            channel: denbun_protocol::telegram::FundingChannel::CreditCompany,
        };
        assert_eq!(rejected(&bench.send(member, card)), Some(RejectReason::NotPermitted));
        bench.assert_audit_passes();
    }
}
