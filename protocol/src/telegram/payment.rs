//! Families 40 (payment instruction) and 41 (payment notice): a member pays a
//! store from the prepaid balance.
//!
//! ```text
//! member                                   center                           store
//!   | 4000 payment instruction (txn, lines, v5, total) --> |
//!   |                 verify signature, standing, prices of v5, balance
//!   |                 debit member, credit store payable (one durable step)
//!   | <-- 4010 payment answer (new balance)                |
//!   |                                                      | --> 4140 payment notice
//! ```
//!
//! The transaction number is chosen by the member's terminal (random, not 0)
//! and identifies the purchase in every later telegram (delivery, shipment,
//! refund, claim). The same instruction sent twice debits once.

use x25519_dalek::PublicKey as DeliveryKey;

use crate::header::{MemberNumber, StoreNumber};
use crate::limits::{AMOUNT_YEN_MAX, ORDER_LINES_MAX};
use crate::wire::{Amount, List, Yen};

body_struct! {
    /// One line of an order.
    pub struct OrderLine {
        /// The store's item id.
        pub item_id: u32,
        /// How many, at least 1.
        pub quantity: u16,
        /// The price per piece in the quoted catalog version.
        pub unit_price: Amount,
    }
}

/// The rules every order follows: at least one line, every quantity at least
/// 1, and `total` equal to the sum of quantity × unit price (no overflow).
pub(crate) fn check_order(lines: &[OrderLine], total: Amount) -> Result<(), &'static str> {
    if lines.is_empty() {
        return Err("an order needs at least one line");
    }
    let mut sum: u64 = 0;
    for line in lines {
        if line.quantity == 0 {
            return Err("quantities start at 1");
        }
        sum = line
            .unit_price
            .get()
            .checked_mul(u64::from(line.quantity))
            .and_then(|line_total| sum.checked_add(line_total))
            .filter(|sum| *sum <= AMOUNT_YEN_MAX)
            .ok_or("the order total is over AMOUNT_YEN_MAX")?;
    }
    if sum != total.get() { Err("total is not the sum of quantity times unit price") } else { Ok(()) }
}

/// The total of `lines`, for building an order (`None` if it would be 0 or over the limit).
pub fn order_total(lines: &[OrderLine]) -> Option<Amount> {
    lines
        .iter()
        .try_fold(0u64, |sum, line| line.unit_price.get().checked_mul(u64::from(line.quantity))?.checked_add(sum))
        .and_then(|sum| Amount::new(sum).ok())
}

body_struct! {
    sample: manual;
    /// `4000`: pay `store` for `lines` at the prices of `catalog_version`.
    pub struct PaymentInstruction {
        /// Chosen by the member's terminal; identifies the purchase.
        pub transaction_number: u64,
        /// Who is paid.
        pub store: StoreNumber,
        /// The catalog version the prices come from.
        pub catalog_version: u32,
        /// What is bought.
        pub lines: List<OrderLine, ORDER_LINES_MAX>,
        /// Sum of quantity × unit price over the lines.
        pub total: Amount,
    }
}

body_struct! {
    /// `4010`: paid; the member's new balance.
    pub struct PaymentAnswer {
        /// The purchase.
        pub transaction_number: u64,
        /// What was debited.
        pub total: Amount,
        /// The balance after the debit.
        pub balance: Yen,
    }
}

body_struct! {
    sample: manual;
    /// `4140`: a store was paid. Carries the member's delivery key so the
    /// store can seal digital goods to it (the center vouches for the key by
    /// signing this notice).
    pub struct PaymentNotice {
        /// The purchase.
        pub transaction_number: u64,
        /// Who paid.
        pub member: MemberNumber,
        /// The member's registered X25519 delivery key.
        pub member_delivery_key: DeliveryKey,
        /// The catalog version of the prices.
        pub catalog_version: u32,
        /// What was bought.
        pub lines: List<OrderLine, ORDER_LINES_MAX>,
        /// What the store is credited.
        pub total: Amount,
        /// When the center applied the payment, unix milliseconds.
        pub paid_at_ms: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: u16, unit_price: u64) -> OrderLine {
        OrderLine { item_id: 1, quantity, unit_price: Amount::new(unit_price).unwrap() }
    }

    #[test]
    fn order_rules() {
        let total = |yen| Amount::new(yen).unwrap();
        assert_eq!(check_order(&[line(2, 300), line(1, 50)], total(650)), Ok(()));
        assert!(check_order(&[line(2, 300)], total(300)).is_err());
        assert!(check_order(&[], total(1)).is_err());
        assert!(check_order(&[line(0, 300)], total(300)).is_err());
        assert!(check_order(&[line(u16::MAX, AMOUNT_YEN_MAX)], total(AMOUNT_YEN_MAX)).is_err());
        assert_eq!(order_total(&[line(2, 300), line(1, 50)]), Some(total(650)));
        assert_eq!(order_total(&[]), None);
    }
}
