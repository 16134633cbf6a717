//! Families 60 (payment claim) and 61 (payout notice): stores get paid out.
//!
//! ```text
//! store                               center                          operator
//!   | 6000 payment claim (txns) ------> |
//!   | <------ 6010 claim answer         |
//!   |                                   | <-- 9100 payouts: pending / approve (claims)
//!   |                                   | --> 9110 approved (batch)
//!   |                                   | <-- 9100 payouts: export (batch, Zengin/CSV)
//!   |                                   | --> 9110 export chunk(s)
//!   |                                   |       ... bank transfer executed ...
//!   |                                   | <-- 9100 payouts: executed (batch, date)
//!   | <------ 6140 payout notice        | --> 9110 executed
//! ```

use std::fmt;

use crate::limits::{CLAIM_ORDERS_MAX, PAYOUT_BATCH_CLAIMS_MAX};
use crate::telegram::EncodedBytesMax;
use crate::wire::{Amount, Date, DecodeError, Reader, Wire, Writer};

/// A non-empty list of at most `MAX` numbers in strictly increasing order
/// (so no number is listed twice and the list has one encoding per set).
/// Encoded like a list: u16 count, then u64 BE each.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AscendingNumbers<const MAX: usize>(Vec<u64>);

impl<const MAX: usize> AscendingNumbers<MAX> {
    /// The set of `numbers` (any order, duplicates merged); `None` when empty
    /// or more than `MAX` distinct numbers.
    pub fn new(mut numbers: Vec<u64>) -> Option<Self> {
        numbers.sort_unstable();
        numbers.dedup();
        (!numbers.is_empty() && numbers.len() <= MAX).then_some(AscendingNumbers(numbers))
    }

    /// The numbers, ascending.
    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }
}

impl<const MAX: usize> std::ops::Deref for AscendingNumbers<MAX> {
    type Target = [u64];

    fn deref(&self) -> &[u64] {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for AscendingNumbers<MAX> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_list().entries(&self.0).finish()
    }
}

impl<const MAX: usize> Wire for AscendingNumbers<MAX> {
    fn encode(&self, writer: &mut Writer) {
        let count = u16::try_from(self.0.len()).expect("count checked at construction");
        writer.put(&count);
        for number in &self.0 {
            writer.put(number);
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let count = usize::from(u16::decode(reader)?);
        if count == 0 || count > MAX {
            return Err(DecodeError::invalid(count as u64));
        }
        // Eight bytes per entry: the input bounds the allocation.
        let mut numbers = Vec::with_capacity(count.min(reader.remaining() / 8));
        for _ in 0..count {
            let number = u64::decode(reader)?;
            if numbers.last().is_some_and(|&previous| previous >= number) {
                return Err(DecodeError::invalid(number));
            }
            numbers.push(number);
        }
        Ok(AscendingNumbers(numbers))
    }
}

impl<const MAX: usize> EncodedBytesMax for AscendingNumbers<MAX> {
    const ENCODED_BYTES_MAX: usize = 2 + 8 * MAX;
}

body_struct! {
    /// `6000`: a store claims payment for delivered orders.
    pub struct PaymentClaim {
        /// The purchases claimed (each delivered or shipped, not yet claimed).
        pub transaction_numbers: AscendingNumbers<CLAIM_ORDERS_MAX>,
    }
}

body_struct! {
    /// `6010`: the claim is recorded and waits for an operator's approval.
    pub struct PaymentClaimAnswer {
        /// The center's number for the claim.
        pub claim_number: u64,
        /// Purchases in the claim.
        pub transactions: u16,
        /// What will be paid out (after refunds).
        pub amount: Amount,
    }
}

body_struct! {
    /// `6140`: the store was paid out to its bank account.
    pub struct PayoutNotice {
        /// The center's number for this payout.
        pub payout_number: u64,
        /// The batch it was part of.
        pub batch_number: u64,
        /// What was transferred.
        pub amount: Amount,
        /// The day the bank transfer was executed.
        pub executed_on: Date,
        /// The claims it settles.
        pub claim_numbers: AscendingNumbers<PAYOUT_BATCH_CLAIMS_MAX>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{decode_exact, encode_to_vec};

    #[test]
    fn ascending_numbers_are_a_set_with_one_encoding() {
        let numbers = AscendingNumbers::<4>::new(vec![9, 3, 3, 5]).unwrap();
        assert_eq!(numbers.as_slice(), [3, 5, 9]);
        assert_eq!(decode_exact::<AscendingNumbers<4>>(&encode_to_vec(&numbers)), Ok(numbers));
        assert!(AscendingNumbers::<4>::new(vec![]).is_none());
        assert!(AscendingNumbers::<2>::new(vec![1, 2, 3]).is_none());
        let descending = [0, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 3];
        assert!(decode_exact::<AscendingNumbers<4>>(&descending).is_err());
        let repeated = [0, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 5];
        assert!(decode_exact::<AscendingNumbers<4>>(&repeated).is_err());
        assert!(decode_exact::<AscendingNumbers<4>>(&[0, 0]).is_err());
    }
}
