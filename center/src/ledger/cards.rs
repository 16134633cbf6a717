//! Prepaid cards: the member's stored value, card by card.
//!
//! A member's balance (the stored value account) is always the sum of what
//! remains on the member's cards. Spending draws the oldest card first (card
//! numbers grow with time); a store's refund gives value back to the cards
//! the purchase drew from, newest first; a balance refund empties them all.
//! Cards with value left are indexed apart, so a payment reads only those.

use denbun_protocol::header::MemberNumber;
use denbun_protocol::telegram::FundingChannel;
use denbun_protocol::wire::{Amount, Date, List};

use super::{Cause, Posting, Refusal};
use crate::service::tx::Tx;
use crate::storage::ledger_records::{
    AccountId, CardDraw, CardRecord, Draws, LiveCard, MemberCard, PURCHASE_DRAWS_MAX, PostingKind, PurchaseDraw, family,
};
use crate::storage::{Counter, LedgerKey, LedgerRange, ScanOrder, StorageError};

/// Cards read per scan while drawing or refunding.
const CARDS_PAGE: usize = 64;
/// Scans one draw, refund or drain may take. With a card's value at least 1
/// yen and a balance at most `AMOUNT_YEN_MAX`, it is never reached by a
/// consistent ledger; reaching it is our bug.
const CARD_PAGES_MAX: usize = 1 << 32;

/// The posting that issuing a card of `amount` through `channel` makes.
pub fn top_up_posting(member: MemberNumber, channel: FundingChannel, amount: Amount) -> Posting<'static> {
    Posting {
        kind: PostingKind::TopUp,
        debit: AccountId::clearing(channel),
        credit: AccountId::stored_value(member),
        amount,
        reference: 0,
        description: channel_name(channel),
    }
}

/// The funding channel in words.
pub fn channel_name(channel: FundingChannel) -> &'static str {
    match channel {
        FundingChannel::CreditCompany => "credit company",
        FundingChannel::BankTransfer => "bank transfer",
        FundingChannel::PostOfficeTransfer => "post-office transfer",
        FundingChannel::RegisteredMailCash => "registered-mail cash",
    }
}

/// Issues a card of `amount` to `member`, credits the stored value, and
/// returns the card and the member's balance after. Refused (nothing
/// written) if the balance would go over the ledger's limit.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    tx: &mut Tx<'_>,
    cause: &Cause,
    day: Date,
    member: MemberNumber,
    channel: FundingChannel,
    amount: Amount,
    funding_number: u64,
    description: &str,
) -> Result<Result<(CardRecord, u64), Refusal>, StorageError> {
    let mut posting = top_up_posting(member, channel, amount);
    posting.description = description;
    if let Err(refusal) = super::check(tx, &posting)? {
        return Ok(Err(refusal));
    }
    let card_number = tx.next(Counter::LastCard)?;
    posting.reference = card_number;
    super::post(tx, cause, day, &posting)?.expect("checked just before");
    let card = CardRecord {
        card_number,
        member,
        channel,
        face_value: amount,
        remaining_yen: amount.get(),
        issued_at_ms: tx.now_ms(),
        funding_number,
    };
    tx.ledger_put(card.clone());
    tx.ledger_put(MemberCard { member, card_number });
    tx.ledger_put(LiveCard { member, card_number });
    let balance = super::balance_yen(tx, AccountId::stored_value(member))?;
    Ok(Ok((card, balance)))
}

/// A card that must exist (an index names it).
fn card(tx: &mut Tx<'_>, card_number: u64) -> Result<CardRecord, StorageError> {
    tx.ledger_record(&LedgerKey::card(card_number))?.ok_or_else(|| StorageError::Corrupt {
        key: format!("{:?}", LedgerKey::card(card_number)),
        reason: "an index names this card, which is missing".to_owned(),
    })
}

/// A member's cards with value left, from card number `from` on.
fn live_cards(tx: &mut Tx<'_>, member: MemberNumber, from: u64) -> Result<Vec<LiveCard>, StorageError> {
    let prefix = LedgerKey::family_with(family::LIVE_CARD, &member);
    tx.ledger_scan_prefix_as(&prefix, &LedgerKey::live_card(member, from), CARDS_PAGE)
}

/// Takes `amount_yen` from `member`'s cards, oldest first, for purchase
/// `transaction_number` (after the ledger debited the stored value, whose
/// balance the cards always add up to). Returns the draws for the purchase
/// to keep; past `PURCHASE_DRAWS_MAX` cards they are written apart instead.
pub fn draw(
    tx: &mut Tx<'_>,
    member: MemberNumber,
    transaction_number: u64,
    amount_yen: u64,
) -> Result<Draws, StorageError> {
    let mut draws = Vec::new();
    let mut left = amount_yen;
    let mut from = 0u64;
    for _ in 0..CARD_PAGES_MAX {
        if left == 0 {
            break;
        }
        let page = live_cards(tx, member, from)?;
        assert!(!page.is_empty(), "{member}'s cards hold less than the stored value the ledger shows");
        for live in page {
            from = live.card_number.checked_add(1).expect("card numbers stay far below u64::MAX");
            let mut card = card(tx, live.card_number)?;
            let taken = card.remaining_yen.min(left);
            assert!(taken > 0, "a live card holds value");
            card.remaining_yen -= taken;
            left -= taken;
            if card.remaining_yen == 0 {
                tx.ledger_remove(LedgerKey::live_card(member, card.card_number));
            }
            tx.ledger_put(card);
            draws.push(PurchaseDraw { card_number: live.card_number, drawn_yen: taken, restored_yen: 0 });
            if left == 0 {
                break;
            }
        }
    }
    assert_eq!(left, 0, "drawing from {member}'s cards did not end");
    if draws.len() <= PURCHASE_DRAWS_MAX {
        return Ok(Draws::Kept(List::new(draws).expect("at most PURCHASE_DRAWS_MAX")));
    }
    for draw in draws {
        tx.ledger_put(CardDraw {
            transaction_number,
            card_number: draw.card_number,
            drawn_yen: draw.drawn_yen,
            restored_yen: 0,
        });
    }
    Ok(Draws::Apart)
}

/// Gives `amount_yen` back to the cards purchase `transaction_number` drew
/// from, newest card first (after the ledger credited the stored value):
/// in `draws` when the purchase keeps them (the caller writes the purchase
/// back), else in its [`CardDraw`] records.
pub fn restore(
    tx: &mut Tx<'_>,
    member: MemberNumber,
    transaction_number: u64,
    amount_yen: u64,
    draws: &mut Draws,
) -> Result<(), StorageError> {
    let Draws::Kept(kept) = draws else {
        return restore_apart(tx, member, transaction_number, amount_yen);
    };
    let mut entries = kept.to_vec();
    let mut left = amount_yen;
    for draw in entries.iter_mut().rev() {
        if left == 0 {
            break;
        }
        let given = give_back(tx, member, draw.card_number, draw.drawn_yen - draw.restored_yen, left)?;
        draw.restored_yen += given;
        left -= given;
    }
    assert_eq!(left, 0, "purchase {transaction_number} drew less than is being refunded");
    *kept = List::new(entries).expect("as many draws as before");
    Ok(())
}

/// Gives up to `left` yen back to card `card_number`, of the `open` yen a
/// purchase drew from it and has not had back; returns how much.
fn give_back(
    tx: &mut Tx<'_>,
    member: MemberNumber,
    card_number: u64,
    open: u64,
    left: u64,
) -> Result<u64, StorageError> {
    let given = open.min(left);
    if given == 0 {
        return Ok(0);
    }
    let mut card = card(tx, card_number)?;
    assert_eq!(card.member, member, "a purchase draws only from its member's cards");
    let was_empty = card.remaining_yen == 0;
    card.remaining_yen = card.remaining_yen.checked_add(given).expect("bounded by the face value");
    assert!(card.remaining_yen <= card.face_value.get(), "a card never holds more than its face value");
    if was_empty {
        tx.ledger_put(LiveCard { member, card_number });
    }
    tx.ledger_put(card);
    Ok(given)
}

/// [`restore`] for a purchase whose draws are [`CardDraw`] records.
fn restore_apart(
    tx: &mut Tx<'_>,
    member: MemberNumber,
    transaction_number: u64,
    amount_yen: u64,
) -> Result<(), StorageError> {
    let prefix = LedgerKey::family_with(family::CARD_DRAW, &transaction_number);
    // The newest draw first; `seen` excludes the draws already looked at.
    let mut seen: Option<LedgerKey> = None;
    let mut left = amount_yen;
    for _ in 0..CARD_PAGES_MAX {
        if left == 0 {
            return Ok(());
        }
        let range = match &seen {
            None => LedgerRange::prefix(prefix.clone()),
            Some(oldest_seen) => LedgerRange::between(prefix.clone(), oldest_seen.clone()),
        };
        let page: Vec<CardDraw> = tx.ledger_scan_as(&range, ScanOrder::Descending, CARDS_PAGE)?;
        assert!(!page.is_empty(), "purchase {transaction_number} drew less than is being refunded");
        for mut draw in page {
            seen = Some(LedgerKey::card_draw(transaction_number, draw.card_number));
            let given = give_back(tx, member, draw.card_number, draw.drawn_yen - draw.restored_yen, left)?;
            if given == 0 {
                continue;
            }
            draw.restored_yen += given;
            left -= given;
            tx.ledger_put(draw);
            if left == 0 {
                return Ok(());
            }
        }
    }
    panic!("refunding purchase {transaction_number} to its cards did not end");
}

/// Empties every card of `member` (a balance refund), returning the sum taken.
pub fn drain(tx: &mut Tx<'_>, member: MemberNumber) -> Result<u64, StorageError> {
    let mut total: u64 = 0;
    for _ in 0..CARD_PAGES_MAX {
        let page = live_cards(tx, member, 0)?;
        if page.is_empty() {
            return Ok(total);
        }
        for live in page {
            let mut card = card(tx, live.card_number)?;
            total = total.checked_add(card.remaining_yen).expect("bounded by the balance");
            card.remaining_yen = 0;
            tx.ledger_put(card);
            tx.ledger_remove(LedgerKey::live_card(member, live.card_number));
        }
    }
    panic!("emptying {member}'s cards did not end");
}

/// A member's cards, oldest first, at most `limit`.
pub fn cards_of(tx: &mut Tx<'_>, member: MemberNumber, limit: usize) -> Result<Vec<CardRecord>, StorageError> {
    let range = LedgerRange::prefix(LedgerKey::family_with(family::MEMBER_CARD, &member));
    let index: Vec<MemberCard> = tx.ledger_scan_as(&range, ScanOrder::Ascending, limit)?;
    index.into_iter().map(|entry| card(tx, entry.card_number)).collect()
}
