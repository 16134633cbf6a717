//! Notices and receipts: fetching the mailbox of a signed-on session and
//! keeping every notice in the key file's history *before* acknowledging it
//! (so a crash in between only means the notice comes again), reading the
//! verified receipts back, and what they say about purchases (which are
//! delivered, which a store may claim).

use std::collections::{BTreeMap, BTreeSet};

use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::limits::MAILBOX_BATCH_MAX;
use denbun_protocol::telegram::{Body, DeliveryReadyNotice, DeliveryReceipt, ItemKind, PaymentNotice, Telegram};
use denbun_protocol::wire::group_thousands;

use super::MoneyError;
use crate::services::{notice_entry, verified_receipt};
use crate::session::{Notice, Session};
use crate::vault::UnlockedVault;

/// Mailbox rounds (fetch, store, acknowledge) in one collection: a mailbox
/// holds at most 10,000 notices, 64 a round.
pub const NOTICE_ROUNDS_MAX: usize = 10_000_usize.div_ceil(MAILBOX_BATCH_MAX) + 1;
/// Notices taken in one round: the fetched batch plus what was pushed meanwhile.
pub const NOTICES_PER_ROUND_MAX: usize = 4 * MAILBOX_BATCH_MAX;

/// Fetches every notice waiting for the signed-on party of `session`,
/// keeps each new one in the history (one save each), then acknowledges up
/// to the last one kept. Returns the notices new to the history, in mailbox
/// order. A notice already in the history (delivered again after a crash)
/// is acknowledged without being kept twice.
pub async fn collect_notices(vault: &mut UnlockedVault, session: &Session) -> Result<Vec<Telegram>, MoneyError> {
    let mut new = Vec::new();
    for _ in 0..NOTICE_ROUNDS_MAX {
        let number = vault.allocate_processing_number()?;
        let mut received: Vec<Notice> = Vec::new();
        {
            let fetch = session.fetch_mailbox(MAILBOX_BATCH_MAX as u16, number);
            tokio::pin!(fetch);
            // The fetched notices arrive before the fetch's answer, and the
            // session's queue is bounded: take them while waiting.
            loop {
                if received.len() > NOTICES_PER_ROUND_MAX {
                    return Err(MoneyError::Inconsistent("the center sent more notices than it said".to_owned()));
                }
                tokio::select! {
                    answer = &mut fetch => {
                        answer?;
                        break;
                    }
                    notice = session.next_notice() => received.push(notice?),
                }
            }
        }
        while let Some(notice) = session.try_next_notice() {
            received.push(notice);
        }
        received.sort_by_key(Notice::sequence);
        let Some(highest) = keep(vault, &received, &mut new)? else {
            return Ok(new);
        };
        let number = vault.allocate_processing_number()?;
        let acknowledged = session.acknowledge(highest, number).await?;
        if acknowledged.remaining == 0 {
            return Ok(new);
        }
    }
    Err(MoneyError::Local("More notices keep arriving than one run takes; run it again.".to_owned()))
}

/// Keeps each of `received` not yet in the history; the highest sequence
/// kept (or already there), or `None` when nothing came.
fn keep(vault: &mut UnlockedVault, received: &[Notice], new: &mut Vec<Telegram>) -> Result<Option<u64>, MoneyError> {
    let mut highest = None;
    for notice in received {
        let bytes = notice.telegram().as_bytes();
        let known = vault.history().iter().rev().any(|entry| entry.receipt.as_slice() == bytes);
        if !known {
            let Some(entry) = notice_entry(notice.telegram()) else {
                // Not kept, so not acknowledged: it stays in the mailbox.
                return Err(MoneyError::Local(format!(
                    "Notice {} ({}) cannot be kept in the key file; it stays in your mailbox.",
                    notice.sequence(),
                    notice.telegram().code().name()
                )));
            };
            vault.add_history(entry)?;
            new.push(notice.telegram().clone());
        }
        highest = Some(notice.sequence());
    }
    Ok(highest)
}

/// The history's receipts whose signature verifies with `center`'s key, oldest first.
pub fn receipts(vault: &UnlockedVault, center: &CenterIdentity) -> Vec<Telegram> {
    vault.history().iter().filter_map(|entry| verified_receipt(center, entry.receipt.as_slice())).collect()
}

/// The center's payment notice for `transaction_number` (a store's receipt).
pub fn payment_notice(receipts: &[Telegram], transaction_number: u64) -> Option<PaymentNotice> {
    receipts.iter().find_map(|receipt| match receipt.body() {
        Body::PaymentNotice(notice) if notice.transaction_number == transaction_number => Some(notice.clone()),
        _ => None,
    })
}

/// The ready notices of `transaction_number`'s items (a member's receipts), one per item.
pub fn ready_notices(receipts: &[Telegram], transaction_number: u64) -> Vec<DeliveryReadyNotice> {
    let mut notices: Vec<DeliveryReadyNotice> = Vec::new();
    for receipt in receipts {
        if let Body::DeliveryReadyNotice(ready) = receipt.body()
            && ready.transaction_number == transaction_number
            && !notices.iter().any(|known| known.item_id == ready.item_id)
        {
            notices.push(ready.clone());
        }
    }
    notices
}

/// The member's delivery receipt for an item, if it acknowledged it.
pub fn delivery_receipt(receipts: &[Telegram], transaction_number: u64, item_id: u32) -> Option<DeliveryReceipt> {
    receipts.iter().find_map(|receipt| match receipt.body() {
        Body::DeliveryReceipt(found) if (found.transaction_number, found.item_id) == (transaction_number, item_id) => {
            Some(found.clone())
        }
        _ => None,
    })
}

/// Whether the store's history shows item `item_id` of a purchase
/// acknowledged by the member (5240) or its upload complete (5010).
pub fn item_handed_over(receipts: &[Telegram], transaction_number: u64, item_id: u32) -> Handover {
    let mut state = Handover::None;
    for receipt in receipts {
        match receipt.body() {
            Body::DeliveredNotice(delivered)
                if (delivered.transaction_number, delivered.item_id) == (transaction_number, item_id) =>
            {
                return Handover::Acknowledged;
            }
            Body::DeliveryUploadAnswer(upload)
                if (upload.transaction_number, upload.item_id) == (transaction_number, item_id) && upload.complete =>
            {
                state = Handover::Uploaded;
            }
            _ => {}
        }
    }
    state
}

/// How far a digital item went from the store's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handover {
    /// Nothing in the history.
    None,
    /// The center holds it whole; the member has not acknowledged it yet.
    Uploaded,
    /// The member acknowledged it.
    Acknowledged,
}

/// The kind of goods, without a digital item's size and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoodsKind {
    /// Shipped by post or carrier.
    MailOrder,
    /// Sealed and delivered through the center.
    Digital,
    /// Delivered by being paid.
    Service,
}

impl From<&ItemKind> for GoodsKind {
    fn from(kind: &ItemKind) -> GoodsKind {
        match kind {
            ItemKind::MailOrder => GoodsKind::MailOrder,
            ItemKind::Digital(_) => GoodsKind::Digital,
            ItemKind::Service => GoodsKind::Service,
        }
    }
}

/// What a store's receipts say it may claim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claimable {
    /// Delivered or shipped, not refunded in full, not claimed: claim these.
    pub ready: Vec<u64>,
    /// Purchases not ready, each with the reason in words.
    pub waiting: Vec<(u64, String)>,
}

/// Which of the store's purchases (its payment notices) may be claimed: a
/// purchase is delivered when every digital item was acknowledged by the
/// member, its mail-order goods were shipped, and services count as
/// delivered when paid (docs/delivery.md). `kinds` gives each item id's kind
/// (from the store's catalog); `claimed` are purchases already in a claim.
pub fn claimable(receipts: &[Telegram], kinds: &BTreeMap<u32, GoodsKind>, claimed: &BTreeSet<u64>) -> Claimable {
    let mut shipped = BTreeSet::new();
    let mut refunded: BTreeMap<u64, u64> = BTreeMap::new();
    let mut acknowledged = BTreeSet::new();
    for receipt in receipts {
        match receipt.body() {
            Body::ShipmentAnswer(answer) => {
                shipped.insert(answer.transaction_number);
            }
            Body::RefundAnswer(answer) => {
                let total = refunded.entry(answer.transaction_number).or_default();
                *total = (*total).max(answer.refunded_total.get());
            }
            Body::DeliveredNotice(delivered) => {
                acknowledged.insert((delivered.transaction_number, delivered.item_id));
            }
            _ => {}
        }
    }
    let mut result = Claimable::default();
    let mut seen = BTreeSet::new();
    for receipt in receipts {
        let Body::PaymentNotice(notice) = receipt.body() else { continue };
        let number = notice.transaction_number;
        if !seen.insert(number) || claimed.contains(&number) {
            continue;
        }
        if refunded.get(&number).is_some_and(|refunded_yen| *refunded_yen >= notice.total.get()) {
            continue;
        }
        let mut missing = Vec::new();
        for line in notice.lines.iter() {
            match kinds.get(&line.item_id) {
                None => missing.push(format!("item {} is not in your catalog, so its kind is unknown", line.item_id)),
                Some(GoodsKind::Service) => {}
                Some(GoodsKind::MailOrder) if shipped.contains(&number) => {}
                Some(GoodsKind::MailOrder) => missing.push(format!("item {} is not shipped", line.item_id)),
                Some(GoodsKind::Digital) if acknowledged.contains(&(number, line.item_id)) => {}
                Some(GoodsKind::Digital) => {
                    missing.push(format!("item {} is not acknowledged by the member", line.item_id))
                }
            }
        }
        if missing.is_empty() {
            result.ready.push(number);
        } else {
            result.waiting.push((number, missing.join("; ")));
        }
    }
    result
}

/// A notice in one line, for people.
pub fn describe(notice: &Telegram) -> String {
    let yen = |value: u64| format!("{} yen", group_thousands(value));
    match notice.body() {
        Body::CardIssueNotice(issued) => {
            let reference = issued.reference.as_ref().map(|reference| format!(", reference {reference}"));
            format!(
                "Prepaid card {} issued: {} ({}{}). Balance: {}.",
                issued.card.card_number,
                yen(issued.card.face_value.get()),
                channel_words(issued.channel),
                reference.unwrap_or_default(),
                yen(issued.balance.get())
            )
        }
        Body::PaymentNotice(paid) => format!(
            "Sale: {} paid {} for transaction {} ({} line{}, catalog version {}).",
            paid.member,
            yen(paid.total.get()),
            paid.transaction_number,
            paid.lines.len(),
            if paid.lines.len() == 1 { "" } else { "s" },
            paid.catalog_version
        ),
        Body::DeliveryReadyNotice(ready) => format!(
            "Ready to download: item {} of transaction {} from {} ({} bytes). `denbun download --transaction {} \
             --output FILE` fetches it.",
            ready.item_id,
            ready.transaction_number,
            ready.store,
            group_thousands(ready.content_bytes.get()),
            ready.transaction_number
        ),
        Body::DeliveredNotice(delivered) => format!(
            "Delivered: {} acknowledged item {} of transaction {}.",
            delivered.member, delivered.item_id, delivered.transaction_number
        ),
        Body::ShipmentNotice(shipped) => format!(
            "Shipped: transaction {} by {}, carrier {}, tracking {}.",
            shipped.transaction_number, shipped.store, shipped.carrier, shipped.tracking
        ),
        Body::PayoutNotice(payout) => format!(
            "Payout {} of {} executed on {} (batch {}), settling claim{} {}.",
            payout.payout_number,
            yen(payout.amount.get()),
            payout.executed_on,
            payout.batch_number,
            if payout.claim_numbers.len() == 1 { "" } else { "s" },
            payout.claim_numbers.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ),
        Body::RefundNotice(refund) => format!(
            "Refund: {} of transaction {} from {} ({}). Balance: {}.",
            yen(refund.amount.get()),
            refund.transaction_number,
            refund.store,
            refund.reason,
            yen(refund.balance.get())
        ),
        Body::BalanceRefundNotice(refund) => format!(
            "Your unused balance of {} was refunded to your bank (refund {}){}.",
            yen(refund.amount.get()),
            refund.refund_number,
            if refund.closed { "; your account is closed" } else { "" }
        ),
        other => format!("Notice {} ({}).", other.code(), other.code().name()),
    }
}

/// A funding channel in words.
pub fn channel_words(channel: denbun_protocol::telegram::FundingChannel) -> &'static str {
    use denbun_protocol::telegram::FundingChannel;
    match channel {
        FundingChannel::CreditCompany => "credit company",
        FundingChannel::BankTransfer => "bank transfer",
        FundingChannel::PostOfficeTransfer => "post-office transfer",
        FundingChannel::RegisteredMailCash => "cash by registered mail",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use denbun_protocol::header::{MemberNumber, PartyId, StoreNumber};
    use denbun_protocol::sign::Signer;
    use denbun_protocol::telegram::{DeliveredNotice, OrderLine, RefundAnswer, ShipmentAnswer, ShipmentNotice};
    use denbun_protocol::wire::{Amount, List, Text};
    use ed25519_dalek::SigningKey;

    const STORE: u64 = 3;
    const MEMBER: u64 = 9;

    fn center() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn notice(body: impl Into<Body>) -> Telegram {
        let body = body.into();
        let recipient = match body {
            Body::ShipmentNotice(_) => PartyId::member(MEMBER).unwrap(),
            _ => PartyId::store(STORE).unwrap(),
        };
        Signer::center(&center()).notice(recipient, 1, 1_700_000_000_000, body).unwrap()
    }

    fn answer(body: impl Into<Body>) -> Telegram {
        // An answer to a store's request, as the outbox keeps it.
        let store_key = SigningKey::from_bytes(&[8; 32]);
        let fingerprint = denbun_protocol::sign::CenterFingerprint::of(&center().verifying_key());
        let body = body.into();
        let request_body: Body = match &body {
            Body::ShipmentAnswer(answer) => denbun_protocol::telegram::Shipment {
                transaction_number: answer.transaction_number,
                carrier: Text::new("Post").unwrap(),
                tracking: Text::new("1").unwrap(),
            }
            .into(),
            Body::RefundAnswer(answer) => denbun_protocol::telegram::Refund {
                transaction_number: answer.transaction_number,
                amount: answer.amount,
                reason: Text::default(),
            }
            .into(),
            other => panic!("no request for {other:?}"),
        };
        let request = Signer::new(PartyId::store(STORE).unwrap(), &store_key, fingerprint)
            .unwrap()
            .request(5, 1_700_000_000_000, request_body)
            .unwrap();
        Signer::center(&center()).answer(request.header(), 1_700_000_000_000, body).unwrap()
    }

    fn paid(transaction_number: u64, items: &[u32], total_yen: u64) -> Telegram {
        let lines = items
            .iter()
            .map(|&item_id| OrderLine { item_id, quantity: 1, unit_price: Amount::new(total_yen).unwrap() })
            .collect();
        notice(PaymentNotice {
            transaction_number,
            member: MemberNumber::new(MEMBER).unwrap(),
            member_delivery_key: x25519_dalek::PublicKey::from([9; 32]),
            catalog_version: 1,
            lines: List::new(lines).unwrap(),
            total: Amount::new(total_yen * items.len() as u64).unwrap(),
            paid_at_ms: 1,
        })
    }

    fn delivered(transaction_number: u64, item_id: u32) -> Telegram {
        notice(DeliveredNotice {
            transaction_number,
            item_id,
            member: MemberNumber::new(MEMBER).unwrap(),
            store: StoreNumber::new(STORE).unwrap(),
            content_sha256: [1; 32],
            acknowledged_at_ms: 2,
        })
    }

    #[test]
    fn only_delivered_purchases_not_refunded_in_full_and_not_claimed_may_be_claimed() {
        // Items: 1 service, 2 mail order, 3 digital, 4 digital.
        let kinds = BTreeMap::from([
            (1, GoodsKind::Service),
            (2, GoodsKind::MailOrder),
            (3, GoodsKind::Digital),
            (4, GoodsKind::Digital),
        ]);
        let receipts = vec![
            paid(10, &[1], 100),    // service only: delivered when paid
            paid(11, &[2], 100),    // mail order, shipped below
            paid(12, &[2, 1], 100), // mail order, not shipped
            paid(13, &[3, 4], 100), // two digital items, one acknowledged
            paid(14, &[3], 100),    // digital, acknowledged
            paid(15, &[1], 100),    // refunded in full
            paid(16, &[1], 100),    // claimed before
            paid(17, &[9], 100),    // an item no longer in the catalog
            paid(18, &[1], 100),    // refunded in part: still claimable
            answer(ShipmentAnswer { transaction_number: 11, member: MemberNumber::new(MEMBER).unwrap() }),
            delivered(13, 3),
            delivered(14, 3),
            answer(RefundAnswer {
                transaction_number: 15,
                amount: Amount::new(100).unwrap(),
                refunded_total: Amount::new(100).unwrap(),
            }),
            answer(RefundAnswer {
                transaction_number: 18,
                amount: Amount::new(40).unwrap(),
                refunded_total: Amount::new(40).unwrap(),
            }),
            paid(10, &[1], 100), // delivered again after a crash: counted once
        ];
        let claimable = claimable(&receipts, &kinds, &BTreeSet::from([16]));
        assert_eq!(claimable.ready, [10, 11, 14, 18]);
        let waiting: Vec<u64> = claimable.waiting.iter().map(|(number, _)| *number).collect();
        assert_eq!(waiting, [12, 13, 17]);
        assert!(claimable.waiting[0].1.contains("item 2 is not shipped"), "{:?}", claimable.waiting);
        assert!(claimable.waiting[1].1.contains("item 4 is not acknowledged"), "{:?}", claimable.waiting);
        assert!(claimable.waiting[2].1.contains("kind is unknown"), "{:?}", claimable.waiting);
    }

    #[test]
    fn receipts_are_found_by_purchase_and_item() {
        let receipts = vec![paid(10, &[3], 500), delivered(10, 3)];
        assert_eq!(payment_notice(&receipts, 10).map(|notice| notice.total.get()), Some(500));
        assert!(payment_notice(&receipts, 11).is_none());
        assert_eq!(item_handed_over(&receipts, 10, 3), Handover::Acknowledged);
        assert_eq!(item_handed_over(&receipts, 10, 4), Handover::None);
        assert!(ready_notices(&receipts, 10).is_empty());
    }

    #[test]
    fn notices_read_as_sentences() {
        let shipped = notice(ShipmentNotice {
            transaction_number: 77,
            store: StoreNumber::new(STORE).unwrap(),
            carrier: Text::new("Yamato").unwrap(),
            tracking: Text::new("1234-5678").unwrap(),
            shipped_at_ms: 1,
        });
        assert_eq!(describe(&shipped), "Shipped: transaction 77 by S00000003, carrier Yamato, tracking 1234-5678.");
        let sale = describe(&paid(5, &[1, 2], 1_000));
        assert_eq!(sale, "Sale: M00000009 paid 2,000 yen for transaction 5 (2 lines, catalog version 1).");
    }
}
