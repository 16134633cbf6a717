//! Reject reasons: the numeric result code of a reject telegram (9910) and
//! the readable message that goes with it.
//!
//! The numbers are part of the wire format and never change meaning; new
//! reasons get new numbers. They are grouped by hundreds: 1xx the telegram
//! itself, 2xx who sent it, 3xx the center's state, 4xx the business rules.
//! docs/protocol.md lists them (a test checks the list against this file).

use std::fmt;

use crate::header::{CODE_OFFSET, FORMAT_VERSION, Header, PROCESSING_NUMBER_OFFSET, PartyId, PartyKind, SENDER_OFFSET};
use crate::limits::TELEGRAM_CODE_MAX;

macro_rules! reasons {
    ($( $(#[$meta:meta])* $variant:ident = $code:literal, $message:literal; )*) => {
        /// Why the center refused a telegram.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RejectReason {
            $( $(#[$meta])* $variant, )*
        }

        impl RejectReason {
            /// Every reason, in numeric order.
            pub const ALL: &'static [RejectReason] = &[ $( RejectReason::$variant, )* ];

            /// The stable number sent as the result code.
            pub const fn code(self) -> u16 {
                match self {
                    $( RejectReason::$variant => $code, )*
                }
            }

            /// The reason for a result code, `None` for 0 and unknown numbers.
            pub const fn from_code(code: u16) -> Option<RejectReason> {
                match code {
                    $( $code => Some(RejectReason::$variant), )*
                    _ => None,
                }
            }

            /// A readable default message (a reject may carry a more specific one).
            pub const fn message(self) -> &'static str {
                match self {
                    $( RejectReason::$variant => $message, )*
                }
            }
        }
    };
}

reasons! {
    /// The telegram breaks an encoding rule (truncated, trailing bytes, bad field).
    Malformed = 100, "the telegram is malformed";
    /// The frame or telegram is larger than the protocol allows.
    TooLarge = 101, "the telegram is too large";
    /// The telegram code is not in the catalog.
    UnknownCode = 102, "unknown telegram code";
    /// The format version is not 1.
    UnsupportedVersion = 103, "unsupported format version";
    /// The sender's kind may not send this telegram (e.g. a member publishing a catalog).
    NotPermitted = 104, "this sender may not send this telegram";
    /// The signature does not verify, or is missing, or is present on an anonymous telegram.
    BadSignature = 200, "the signature does not verify";
    /// No registered verification key for the sender.
    UnknownSender = 201, "unknown sender";
    /// The telegram needs a signed-on session (mailbox, private queries).
    NotSignedOn = 202, "sign on first";
    /// The sender's account is frozen by an operator.
    Frozen = 203, "the account is frozen; contact the center";
    /// The activation code does not match the one mailed for this number.
    WrongActivationCode = 210, "wrong activation code";
    /// The activation code has already been used.
    ActivationCodeUsed = 211, "the activation code has already been used";
    /// The activation code has expired; apply again.
    ActivationCodeExpired = 212, "the activation code has expired; apply again";
    /// Too many wrong activation codes; the application is locked.
    TooManyAttempts = 213, "too many attempts; the application is locked";
    /// The processing number was already used for a telegram with different content.
    DuplicateProcessingNumber = 300, "processing number already used for a different telegram";
    /// The sender sends faster than the center allows.
    RateLimited = 301, "too many telegrams; slow down and retry";
    /// The center is at capacity; retry later.
    Busy = 302, "the center is busy; retry later";
    /// The center cannot write durably (e.g. disk full); nothing was applied.
    StorageUnavailable = 303, "the center cannot store telegrams now; nothing was applied, retry later";
    /// An unexpected error at the center; nothing was applied.
    InternalError = 304, "internal error at the center; nothing was applied";
    /// The member's balance does not cover the payment.
    InsufficientBalance = 400, "insufficient balance";
    /// Prices or the catalog version do not match the store's catalog.
    PriceMismatch = 401, "prices do not match the catalog version; reload the catalog";
    /// No such store, or no such item in the store's catalog.
    UnknownStoreOrItem = 402, "unknown store or item";
    /// An amount or count is over a configured limit.
    LimitExceeded = 403, "over the allowed limit";
    /// The thing asked about does not exist (transaction, card, reference, batch).
    NotFound = 404, "not found";
    /// The action was already done (order already refunded in full, payout already executed).
    AlreadyDone = 405, "already done";
    /// The credit company declined the card request.
    CreditDeclined = 406, "the credit company declined the request";
}

impl fmt::Display for RejectReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} ({})", self.message(), self.code())
    }
}

/// What a reject answers: the refused telegram's code, sender and
/// processing number, as far as they could be read.
///
/// The reject goes back to the claimed sender over the same session, echoing
/// the processing number so the terminal can match it to its request (and
/// drop it from its outbox when the reason says retrying is pointless).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    code: u16,
    sender: PartyId,
    processing_number: u64,
}

impl Refused {
    /// Reads what it can from the start of a telegram that did not decode:
    /// the code if it is four digits, the sender if it is a canonical party
    /// other than the center (a peer claiming to be the center is answered as
    /// anonymous), the processing number. Anything unreadable becomes 0 or
    /// anonymous; with a version other than 1 nothing is read, since the
    /// layout is unknown.
    pub fn from_bytes(bytes: &[u8]) -> Refused {
        let mut refused = Refused { code: 0, sender: PartyId::ANONYMOUS, processing_number: 0 };
        if bytes.first() != Some(&FORMAT_VERSION) {
            return refused;
        }
        let field = |start: usize, length: usize| bytes.get(start..start + length);
        let number_at =
            |start: usize| field(start, 8).map(|raw| u64::from_be_bytes(raw.try_into().unwrap_or_default()));
        if let Some(raw) = field(CODE_OFFSET, 2) {
            let code = u16::from_be_bytes([raw[0], raw[1]]);
            refused.code = if code <= TELEGRAM_CODE_MAX { code } else { 0 };
        }
        if let (Some(kind), Some(number)) = (field(SENDER_OFFSET, 1), number_at(SENDER_OFFSET + 1)) {
            refused.sender = PartyKind::from_byte(kind[0])
                .filter(|kind| *kind != PartyKind::Center)
                .and_then(|kind| PartyId::new(kind, number).ok())
                .unwrap_or(PartyId::ANONYMOUS);
        }
        if let Some(number) = number_at(PROCESSING_NUMBER_OFFSET) {
            refused.processing_number = number;
        }
        refused
    }

    /// What a well-formed header says (for refusals after decoding: bad
    /// signature, unknown sender, business rules).
    pub fn from_header(header: &Header) -> Refused {
        let sender = match header.sender().kind() {
            PartyKind::Center => PartyId::ANONYMOUS,
            _ => header.sender(),
        };
        Refused { code: header.code().number(), sender, processing_number: header.processing_number() }
    }

    /// The refused code as it arrived (0 if unreadable).
    pub fn code(&self) -> u16 {
        self.code
    }

    /// Who the reject goes to.
    pub fn sender(&self) -> PartyId {
        self.sender
    }

    /// The processing number the reject echoes.
    pub fn processing_number(&self) -> u64 {
        self.processing_number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_nonzero_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for reason in RejectReason::ALL {
            assert_ne!(reason.code(), 0, "0 means success");
            assert!(seen.insert(reason.code()), "duplicate code {}", reason.code());
            assert_eq!(RejectReason::from_code(reason.code()), Some(*reason));
            assert!(!reason.message().is_empty());
        }
        assert_eq!(RejectReason::from_code(0), None);
        assert_eq!(RejectReason::from_code(999), None);
    }

    #[test]
    fn all_is_in_numeric_order() {
        assert!(RejectReason::ALL.windows(2).all(|pair| pair[0].code() < pair[1].code()));
    }
}
