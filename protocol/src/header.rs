//! The fixed 41-byte telegram header: who sends what to whom, and when.
//!
//! ```text
//! offset size field
//!  0     1    format version = 1
//!  1     2    telegram code, u16 BE (FF f r: family, function, repeat)
//!  3     1    sender kind  (0 anonymous, 1 member, 2 store, 3 operator, 4 center)
//!  4     8    sender number u64 BE (0 for anonymous and center, else 1..=99,999,999)
//! 12     1    recipient kind
//! 13     8    recipient number
//! 21     8    processing number u64 BE
//! 29     8    sent-at, unix milliseconds u64 BE
//! 37     2    result code u16 BE (0 except on the reject telegram 9910)
//! 39     2    body length u16 BE
//! ```
//!
//! Every rule a header must follow is checked by [`Header::decode`]: version 1,
//! a code from the catalog, the repeat digit only on requests, canonical
//! parties, a sender and recipient the catalog allows for the code, a result
//! code only on rejects, a body length within the limit. A [`Header`] value
//! therefore always satisfies them; only this crate builds one.

use std::fmt;
use std::str::FromStr;

use crate::limits::{BODY_BYTES_MAX, HEADER_BYTES, PARTY_NUMBER_MAX, TELEGRAM_CODE_MAX};
use crate::reject::RejectReason;
use crate::telegram::{CodeRule, TelegramError};
use crate::wire::{DecodeError, Reader, Wire, Writer};

/// The only format version this crate reads and writes.
pub const FORMAT_VERSION: u8 = 1;

crate::wire_enum! {
    /// The kinds of party a telegram can come from or go to.
    pub enum PartyKind {
        /// Someone without a registered key: an applicant reading the guide or applying.
        Anonymous = 0,
        /// A general member (buyer).
        Member = 1,
        /// A store member (seller).
        Store = 2,
        /// A center operator, with an operator key.
        Operator = 3,
        /// The settlement center itself.
        Center = 4,
    }
}

impl PartyKind {
    /// Whether parties of this kind carry a number (members, stores, operators).
    pub const fn is_numbered(self) -> bool {
        matches!(self, PartyKind::Member | PartyKind::Store | PartyKind::Operator)
    }

    /// The lower-case word used in documents and messages.
    pub const fn word(self) -> &'static str {
        match self {
            PartyKind::Anonymous => "anonymous",
            PartyKind::Member => "member",
            PartyKind::Store => "store",
            PartyKind::Operator => "operator",
            PartyKind::Center => "center",
        }
    }
}

impl fmt::Display for PartyKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.word())
    }
}

/// A party id that breaks the canonical rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PartyIdError {
    /// Anonymous and center carry number 0; the others 1..=`PARTY_NUMBER_MAX`.
    #[error("{kind} cannot have number {number}")]
    NumberOutOfRange {
        /// The kind asked for.
        kind: PartyKind,
        /// The number that does not fit it.
        number: u64,
    },
    /// Text that is not `M`/`S`/`O` followed by digits, `CENTER` or `ANONYMOUS`.
    #[error("`{0}` is not a party id (expected e.g. M00000123, S00000007, O001, CENTER)")]
    Unparsable(String),
}

/// A sender or recipient: its kind and number, always canonical.
///
/// Shown as `M00000123` (member), `S00000007` (store), `O001` (operator:
/// at least three digits), `CENTER` and `ANONYMOUS`; [`FromStr`] reads the
/// same forms (and any number of leading zeros).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId {
    kind: PartyKind,
    number: u64,
}

impl PartyId {
    /// The anonymous party (applicants). Its telegrams carry no signature.
    pub const ANONYMOUS: PartyId = PartyId { kind: PartyKind::Anonymous, number: 0 };
    /// The settlement center.
    pub const CENTER: PartyId = PartyId { kind: PartyKind::Center, number: 0 };

    /// A party of `kind` with `number`, refusing any non-canonical pair.
    pub const fn new(kind: PartyKind, number: u64) -> Result<Self, PartyIdError> {
        let valid = if kind.is_numbered() { number >= 1 && number <= PARTY_NUMBER_MAX } else { number == 0 };
        if valid { Ok(PartyId { kind, number }) } else { Err(PartyIdError::NumberOutOfRange { kind, number }) }
    }

    /// Member `number`.
    pub const fn member(number: u64) -> Result<Self, PartyIdError> {
        Self::new(PartyKind::Member, number)
    }

    /// Store `number`.
    pub const fn store(number: u64) -> Result<Self, PartyIdError> {
        Self::new(PartyKind::Store, number)
    }

    /// Operator `number`.
    pub const fn operator(number: u64) -> Result<Self, PartyIdError> {
        Self::new(PartyKind::Operator, number)
    }

    /// The kind.
    pub const fn kind(self) -> PartyKind {
        self.kind
    }

    /// The number (0 for anonymous and center).
    pub const fn number(self) -> u64 {
        self.number
    }

    /// Reads kind and number, naming `field` in the error.
    fn decode_named(reader: &mut Reader<'_>, field: &'static str) -> Result<Self, TelegramError> {
        let kind_byte = u8::decode(reader).map_err(|error| TelegramError::from_header(error.in_field(field)))?;
        let number = u64::decode(reader).map_err(|error| TelegramError::from_header(error.in_field(field)))?;
        PartyKind::from_byte(kind_byte)
            .and_then(|kind| PartyId::new(kind, number).ok())
            .ok_or(TelegramError::InvalidParty { field, kind: kind_byte, number })
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PartyKind::Anonymous => formatter.write_str("ANONYMOUS"),
            PartyKind::Center => formatter.write_str("CENTER"),
            PartyKind::Member => write!(formatter, "M{:08}", self.number),
            PartyKind::Store => write!(formatter, "S{:08}", self.number),
            PartyKind::Operator => write!(formatter, "O{:03}", self.number),
        }
    }
}

impl fmt::Debug for PartyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

impl FromStr for PartyId {
    type Err = PartyIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unparsable = || PartyIdError::Unparsable(text.chars().take(32).collect());
        match text {
            "ANONYMOUS" => return Ok(PartyId::ANONYMOUS),
            "CENTER" => return Ok(PartyId::CENTER),
            _ => {}
        }
        let mut characters = text.chars();
        let kind = match characters.next() {
            Some('M') => PartyKind::Member,
            Some('S') => PartyKind::Store,
            Some('O') => PartyKind::Operator,
            _ => return Err(unparsable()),
        };
        let digits = characters.as_str();
        // Twenty digits overflow u64; anything that long is not a party id anyway.
        if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(unparsable());
        }
        let number = digits.parse().map_err(|_| unparsable())?;
        PartyId::new(kind, number)
    }
}

impl Wire for PartyId {
    fn encode(&self, writer: &mut Writer) {
        writer.put(&(self.kind as u8));
        writer.put(&self.number);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let kind_byte = u8::decode(reader)?;
        let kind = PartyKind::from_byte(kind_byte).ok_or_else(|| DecodeError::invalid(u64::from(kind_byte)))?;
        let number = u64::decode(reader)?;
        PartyId::new(kind, number).map_err(|_| DecodeError::invalid(number))
    }
}

/// Declares a number of one party kind, for body fields that must name a
/// member or a store (so a store number can never be passed as a member's).
macro_rules! party_number {
    ($(#[$meta:meta])* $name:ident, $kind:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u64);

        impl $name {
            /// The number, refusing 0 and anything above `PARTY_NUMBER_MAX`.
            pub const fn new(number: u64) -> Result<Self, PartyIdError> {
                if number >= 1 && number <= PARTY_NUMBER_MAX {
                    Ok(Self(number))
                } else {
                    Err(PartyIdError::NumberOutOfRange { kind: PartyKind::$kind, number })
                }
            }

            /// The number.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// As a party id (for headers).
            pub const fn party(self) -> PartyId {
                PartyId { kind: PartyKind::$kind, number: self.0 }
            }
        }

        impl TryFrom<PartyId> for $name {
            type Error = PartyIdError;

            fn try_from(party: PartyId) -> Result<Self, Self::Error> {
                match party.kind {
                    PartyKind::$kind => Ok(Self(party.number)),
                    kind => Err(PartyIdError::NumberOutOfRange { kind, number: party.number }),
                }
            }
        }

        impl From<$name> for PartyId {
            fn from(number: $name) -> PartyId {
                number.party()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.party(), formatter)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.party(), formatter)
            }
        }

        impl Wire for $name {
            fn encode(&self, writer: &mut Writer) {
                writer.put(&self.0);
            }

            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let number = u64::decode(reader)?;
                Self::new(number).map_err(|_| DecodeError::invalid(number))
            }
        }
    };
}

party_number! {
    /// A member number, 1..=99,999,999; encoded as u64 BE; shown `M00000123`.
    MemberNumber, Member
}
party_number! {
    /// A store number, 1..=99,999,999; encoded as u64 BE; shown `S00000007`.
    StoreNumber, Store
}

/// The middle digit of a code: what role the telegram plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// `xx00`: asks the other side for something; it gets exactly one answer.
    Request,
    /// `xx10`: the answer to a request; echoes the request's processing number.
    Answer,
    /// `xx40`: sent unasked by the center; carries a mailbox sequence number.
    Notice,
}

impl Function {
    /// The digit in the code.
    pub const fn digit(self) -> u16 {
        match self {
            Function::Request => 0,
            Function::Answer => 1,
            Function::Notice => 4,
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Function::Request => "request",
            Function::Answer => "answer",
            Function::Notice => "notice",
        })
    }
}

/// A telegram code from the catalog: four decimal digits `FF f r`.
///
/// `FF` is the family, `f` the [`Function`], `r` the repeat digit (1 marks a
/// retransmission, and only requests may carry it). Only codes in the
/// catalog can be built, so a `Code` is always known. Shown with four digits:
/// `4000`, `4001`, `0810` would be `0810` (no such code exists today).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(u16);

impl Code {
    /// A code the catalog declares (used by the catalog's constants).
    pub(crate) const fn catalog(number: u16) -> Code {
        Code(number)
    }

    /// The code for a number read from the wire, refusing unknown codes and a
    /// repeat digit on anything but a request.
    pub fn from_number(number: u16) -> Result<Code, TelegramError> {
        if number > TELEGRAM_CODE_MAX {
            return Err(TelegramError::UnknownCode { code: number });
        }
        let base = Code(number - number % 10);
        let repeat_digit = number % 10;
        let rule = CodeRule::find(base).ok_or(TelegramError::UnknownCode { code: number })?;
        match (repeat_digit, rule.function) {
            (0, _) => Ok(base),
            (1, Function::Request) => Ok(Code(number)),
            (1, _) => Err(TelegramError::RepeatOnNonRequest { code: number }),
            _ => Err(TelegramError::UnknownCode { code: number }),
        }
    }

    /// The four-digit number as sent on the wire.
    pub const fn number(self) -> u16 {
        self.0
    }

    /// The family: the first two digits.
    pub const fn family(self) -> u8 {
        (self.0 / 100) as u8
    }

    /// Whether the repeat digit is set (a retransmitted request).
    pub const fn is_repeat(self) -> bool {
        self.0 % 10 == 1
    }

    /// The code with its repeat digit cleared: what signatures and tables use.
    pub const fn base(self) -> Code {
        Code(self.0 - self.0 % 10)
    }

    /// The same request marked as a retransmission; `None` for answers and notices.
    pub fn repeated(self) -> Option<Code> {
        (self.function() == Function::Request).then_some(Code(self.base().0 + 1))
    }

    /// The catalog entry for this code.
    pub fn rule(self) -> &'static CodeRule {
        // Every Code value comes from the catalog, so the lookup cannot fail.
        CodeRule::find(self.base()).expect("every Code is in the catalog")
    }

    /// Request, answer or notice.
    pub fn function(self) -> Function {
        self.rule().function
    }

    /// The telegram's name, e.g. "payment instruction".
    pub fn name(self) -> &'static str {
        self.rule().name
    }
}

impl fmt::Display for Code {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:04}", self.0)
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:04}", self.0)
    }
}

/// The decoded header of a telegram. Every value satisfies the rules listed
/// in the module documentation; only this crate constructs one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    code: Code,
    sender: PartyId,
    recipient: PartyId,
    processing_number: u64,
    sent_at_ms: u64,
    result: u16,
    body_length: u16,
}

/// Byte offsets of the header fields (see the module documentation).
pub(crate) const CODE_OFFSET: usize = 1;
pub(crate) const SENDER_OFFSET: usize = CODE_OFFSET + 2;
pub(crate) const RECIPIENT_OFFSET: usize = SENDER_OFFSET + 9;
pub(crate) const PROCESSING_NUMBER_OFFSET: usize = RECIPIENT_OFFSET + 9;
const SENT_AT_OFFSET: usize = PROCESSING_NUMBER_OFFSET + 8;
const RESULT_OFFSET: usize = SENT_AT_OFFSET + 8;
const BODY_LENGTH_OFFSET: usize = RESULT_OFFSET + 2;
const _: () = assert!(BODY_LENGTH_OFFSET + 2 == HEADER_BYTES);
const _: () = assert!(RECIPIENT_OFFSET == 12 && PROCESSING_NUMBER_OFFSET == 21 && RESULT_OFFSET == 37);

impl Header {
    /// Assembles a header the builders have already checked.
    pub(crate) fn assemble(
        code: Code,
        sender: PartyId,
        recipient: PartyId,
        processing_number: u64,
        sent_at_ms: u64,
        result: u16,
        body_length: usize,
    ) -> Header {
        assert!(body_length <= BODY_BYTES_MAX, "body length checked by the catalog's size bound");
        Header { code, sender, recipient, processing_number, sent_at_ms, result, body_length: body_length as u16 }
    }

    /// Reads and checks the header at the start of `bytes` (anything after the
    /// first `HEADER_BYTES` is ignored). Used by [`crate::telegram::Telegram::decode`];
    /// the center also calls it to address a reject when the body is bad.
    pub fn decode(bytes: &[u8]) -> Result<Header, TelegramError> {
        // The version comes first so a later format can change everything after it.
        let Some(&version) = bytes.first() else {
            return Err(TelegramError::Truncated { needed: HEADER_BYTES });
        };
        if version != FORMAT_VERSION {
            return Err(TelegramError::UnsupportedVersion { version });
        }
        if bytes.len() < HEADER_BYTES {
            return Err(TelegramError::Truncated { needed: HEADER_BYTES - bytes.len() });
        }
        let mut reader = Reader::new(&bytes[1..HEADER_BYTES]);
        let read_u16 = |reader: &mut Reader<'_>, field| {
            u16::decode(reader).map_err(|error: DecodeError| TelegramError::from_header(error.in_field(field)))
        };
        let read_u64 = |reader: &mut Reader<'_>, field| {
            u64::decode(reader).map_err(|error: DecodeError| TelegramError::from_header(error.in_field(field)))
        };
        let code = Code::from_number(read_u16(&mut reader, "code")?)?;
        let sender = PartyId::decode_named(&mut reader, "sender")?;
        let recipient = PartyId::decode_named(&mut reader, "recipient")?;
        let processing_number = read_u64(&mut reader, "processing number")?;
        let sent_at_ms = read_u64(&mut reader, "sent at")?;
        let result = read_u16(&mut reader, "result")?;
        let body_length = read_u16(&mut reader, "body length")?;
        debug_assert_eq!(reader.remaining(), 0);

        code.rule().check_parties(code, sender, recipient)?;
        let result_allowed =
            if code.base() == Code::REJECT { RejectReason::from_code(result).is_some() } else { result == 0 };
        if !result_allowed {
            return Err(TelegramError::InvalidResult { code, result });
        }
        if usize::from(body_length) > BODY_BYTES_MAX {
            return Err(TelegramError::TooLarge { bytes: usize::from(body_length), max: BODY_BYTES_MAX });
        }
        Ok(Header { code, sender, recipient, processing_number, sent_at_ms, result, body_length })
    }

    /// The 41 header bytes.
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut writer = Writer::with_capacity(HEADER_BYTES);
        writer.put(&FORMAT_VERSION);
        writer.put(&self.code.number());
        writer.put(&self.sender);
        writer.put(&self.recipient);
        writer.put(&self.processing_number);
        writer.put(&self.sent_at_ms);
        writer.put(&self.result);
        writer.put(&self.body_length);
        let mut bytes = [0u8; HEADER_BYTES];
        bytes.copy_from_slice(writer.as_slice());
        bytes
    }

    /// The telegram code (with the repeat digit if the request is a retransmission).
    pub fn code(&self) -> Code {
        self.code
    }

    /// Who sent the telegram (as claimed; the signature proves it).
    pub fn sender(&self) -> PartyId {
        self.sender
    }

    /// Who the telegram is for.
    pub fn recipient(&self) -> PartyId {
        self.recipient
    }

    /// Requests: the sender's own number. Answers: the request's, echoed.
    /// Notices: the recipient's mailbox sequence number.
    pub fn processing_number(&self) -> u64 {
        self.processing_number
    }

    /// When the sender composed the telegram, unix milliseconds (its own clock).
    pub fn sent_at_ms(&self) -> u64 {
        self.sent_at_ms
    }

    /// The raw result code: 0, or the reject reason on a reject telegram.
    pub fn result(&self) -> u16 {
        self.result
    }

    /// The reject reason, on a reject telegram.
    pub fn reject_reason(&self) -> Option<RejectReason> {
        RejectReason::from_code(self.result)
    }

    /// Bytes of body that follow the header.
    pub fn body_length(&self) -> usize {
        usize::from(self.body_length)
    }

    /// The same header marked as a retransmission (`None` unless a request).
    pub(crate) fn repeated(&self) -> Option<Header> {
        Some(Header { code: self.code.repeated()?, ..*self })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_ids_display_and_parse_canonically() {
        let cases = [
            (PartyId::member(123).unwrap(), "M00000123"),
            (PartyId::store(7).unwrap(), "S00000007"),
            (PartyId::operator(1).unwrap(), "O001"),
            (PartyId::operator(1234).unwrap(), "O1234"),
            (PartyId::CENTER, "CENTER"),
            (PartyId::ANONYMOUS, "ANONYMOUS"),
        ];
        for (party, text) in cases {
            assert_eq!(party.to_string(), text);
            assert_eq!(text.parse::<PartyId>(), Ok(party));
        }
        assert_eq!("M123".parse::<PartyId>(), PartyId::member(123));
        for bad in ["", "M", "M0", "X1", "M-1", "M1x", "center", "M100000000", "M99999999999999999999"] {
            assert!(bad.parse::<PartyId>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn numbered_parties_need_a_number_and_the_others_none() {
        assert!(PartyId::member(0).is_err());
        assert!(PartyId::store(PARTY_NUMBER_MAX + 1).is_err());
        assert!(PartyId::new(PartyKind::Center, 1).is_err());
        assert!(PartyId::new(PartyKind::Anonymous, 5).is_err());
        assert_eq!(PartyId::store(PARTY_NUMBER_MAX).map(PartyId::number), Ok(PARTY_NUMBER_MAX));
        assert!(StoreNumber::try_from(PartyId::member(3).unwrap()).is_err());
        assert_eq!(StoreNumber::new(3).map(StoreNumber::party), PartyId::store(3));
    }

    #[test]
    fn codes_split_into_family_function_and_repeat() {
        let code = Code::from_number(4001).unwrap();
        assert_eq!(code.family(), 40);
        assert_eq!(code.function(), Function::Request);
        assert!(code.is_repeat());
        assert_eq!(code.base(), Code::PAYMENT_INSTRUCTION);
        assert_eq!(code.to_string(), "4001");
        assert_eq!(Code::PAYMENT_INSTRUCTION.to_string(), "4000");
        assert_eq!(Code::PAYMENT_INSTRUCTION.repeated(), Some(code));
        assert_eq!(Code::PAYMENT_ANSWER.repeated(), None);
        assert_eq!(Code::from_number(4011), Err(TelegramError::RepeatOnNonRequest { code: 4011 }));
        assert_eq!(Code::from_number(4002), Err(TelegramError::UnknownCode { code: 4002 }));
        assert_eq!(Code::from_number(4500), Err(TelegramError::UnknownCode { code: 4500 }));
        assert_eq!(Code::from_number(u16::MAX), Err(TelegramError::UnknownCode { code: u16::MAX }));
    }
}
