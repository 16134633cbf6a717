//! The telegram catalog: every telegram code, its body, who may send it, and
//! the [`Telegram`] that puts header, body and signature together.
//!
//! One module per family (mini-redis style): each declares its body types
//! with `body_struct!` / `body_enum!`, which give them their canonical
//! encoding ([`crate::wire::Wire`]) and a compile-time bound on their encoded
//! size. This module only dispatches: the `catalog!` table below is the single
//! source of the code numbers, the [`Body`] enum, the sender/recipient rules
//! ([`CodeRule`]) and the proof that every body fits in one telegram.
//!
//! Decoding ([`Telegram::decode`]) is: header (every header rule, including
//! who may send the code to whom), then the body by code (exactly
//! `body_length` bytes, canonical, plus the cross-field rules of the few
//! bodies that have them), then exactly 64 signature bytes, all zero if and
//! only if the sender is anonymous, and nothing left over. Every failure is a
//! [`TelegramError`] that names its [`RejectReason`]. Verifying the signature
//! is a separate step ([`Telegram::verify`]) because it needs the sender's key.

use std::fmt;

use ed25519_dalek::VerifyingKey;
use x25519_dalek::PublicKey as DeliveryKey;

use crate::header::{Code, Function, Header, MemberNumber, PartyId, PartyKind, StoreNumber};
use crate::limits::{BODY_BYTES_MAX, HEADER_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, TELEGRAM_BYTES_MAX};
use crate::reject::RejectReason;
use crate::wire::{Amount, Blob, Date, DecodeError, List, Reader, Text, Wire, Writer, Yen};

/// The largest encoding of a value, known at compile time, so the catalog can
/// prove that every body fits in one telegram (`BODY_BYTES_MAX`).
pub(crate) trait EncodedBytesMax {
    /// Upper bound on the bytes [`Wire::encode`] writes.
    const ENCODED_BYTES_MAX: usize;
}

/// `max` for constant contexts.
pub(crate) const fn max_of(values: &[usize]) -> usize {
    let mut largest = 0;
    let mut index = 0;
    while index < values.len() {
        if values[index] > largest {
            largest = values[index];
        }
        index += 1;
    }
    largest
}

macro_rules! encoded_bytes_max {
    ($($type:ty => $bytes:expr),* $(,)?) => {
        $( impl EncodedBytesMax for $type { const ENCODED_BYTES_MAX: usize = $bytes; } )*
    };
}

encoded_bytes_max! {
    u8 => 1, u16 => 2, u32 => 4, u64 => 8, bool => 1,
    Yen => 8, Amount => 8, Date => 4, PartyId => 9, MemberNumber => 8, StoreNumber => 8,
    VerifyingKey => PUBLIC_KEY_BYTES, DeliveryKey => PUBLIC_KEY_BYTES,
}

impl<const N: usize> EncodedBytesMax for [u8; N] {
    const ENCODED_BYTES_MAX: usize = N;
}

impl<T: EncodedBytesMax> EncodedBytesMax for Option<T> {
    const ENCODED_BYTES_MAX: usize = 1 + T::ENCODED_BYTES_MAX;
}

impl<const MAX: usize> EncodedBytesMax for Text<MAX> {
    const ENCODED_BYTES_MAX: usize = 2 + MAX;
}

impl<const MAX: usize> EncodedBytesMax for Blob<MAX> {
    const ENCODED_BYTES_MAX: usize = 2 + MAX;
}

impl<T: EncodedBytesMax, const MAX: usize> EncodedBytesMax for List<T, MAX> {
    const ENCODED_BYTES_MAX: usize = 2 + MAX * T::ENCODED_BYTES_MAX;
}

/// Ed25519 verification keys travel as their 32-byte compressed form. Weak
/// (small-order) keys are refused: no honest terminal has one, and
/// `verify_strict` would refuse every signature under it anyway.
impl Wire for VerifyingKey {
    fn encode(&self, writer: &mut Writer) {
        writer.put_slice(self.as_bytes());
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes: [u8; PUBLIC_KEY_BYTES] = reader.take_array()?;
        match VerifyingKey::from_bytes(&bytes) {
            Ok(key) if !key.is_weak() => Ok(key),
            _ => Err(DecodeError::invalid(u64::from(bytes[0]))),
        }
    }
}

/// X25519 delivery keys travel as their 32 bytes (every value is a key).
impl Wire for DeliveryKey {
    fn encode(&self, writer: &mut Writer) {
        writer.put_slice(self.as_bytes());
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DeliveryKey::from(reader.take_array::<PUBLIC_KEY_BYTES>()?))
    }
}

/// Declares a body struct: [`crate::wire_struct!`] plus its size bound and,
/// with the `test-support` feature, a random well-formed value ([`sample`])
/// and its layout for docs/protocol.md ([`layout`]). Attributes are doc
/// comments only (they become the layout's descriptions). Start with
/// `sample: manual;` when the struct has rules between its fields and writes
/// its own `Sample`.
macro_rules! body_struct {
    (sample: manual; $($rest:tt)*) => { body_struct!(@define manual; $($rest)*); };
    (@define $mode:ident;
        $(#[doc = $doc:literal])*
        pub struct $name:ident {
            $( $(#[doc = $field_doc:literal])* pub $field:ident : $type:ty ),* $(,)?
        }
    ) => {
        $crate::wire_struct! {
            $(#[doc = $doc])*
            pub struct $name {
                $( $(#[doc = $field_doc])* pub $field : $type ),*
            }
        }

        impl $crate::telegram::EncodedBytesMax for $name {
            const ENCODED_BYTES_MAX: usize =
                0 $( + <$type as $crate::telegram::EncodedBytesMax>::ENCODED_BYTES_MAX )*;
        }

        #[cfg(feature = "test-support")]
        impl $crate::telegram::layout::Layout for $name {
            fn collect(types: &mut Vec<$crate::telegram::layout::TypeLayout>) {
                use $crate::telegram::layout::{FieldLayout, Layout, Shape, TypeLayout};
                if types.iter().any(|known| known.name == stringify!($name)) {
                    return;
                }
                types.push(TypeLayout {
                    name: stringify!($name),
                    doc: concat!($($doc),*),
                    shape: Shape::Struct(vec![ $( FieldLayout {
                        name: stringify!($field),
                        type_name: stringify!($type),
                        doc: concat!($($field_doc),*),
                    } ),* ]),
                });
                $( <$type as Layout>::collect(types); )*
            }
        }

        body_struct!(@sample $mode $name { $( $field : $type ),* });
    };
    (@sample manual $($rest:tt)*) => {};
    (@sample auto $name:ident { $( $field:ident : $type:ty ),* }) => {
        #[cfg(feature = "test-support")]
        impl $crate::telegram::sample::Sample for $name {
            #[allow(unused_variables)]
            fn sample(rng: &mut dyn rand_core::RngCore) -> Self {
                Self { $( $field: <$type as $crate::telegram::sample::Sample>::sample(rng), )* }
            }
        }
    };
    // An empty body: no bytes at all.
    ($(#[doc = $doc:literal])* pub struct $name:ident {}) => {
        $(#[doc = $doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name {}

        impl $crate::wire::Wire for $name {
            fn encode(&self, _writer: &mut $crate::wire::Writer) {}

            fn decode(_reader: &mut $crate::wire::Reader<'_>) -> Result<Self, $crate::wire::DecodeError> {
                Ok(Self {})
            }
        }

        impl $crate::telegram::EncodedBytesMax for $name {
            const ENCODED_BYTES_MAX: usize = 0;
        }

        #[cfg(feature = "test-support")]
        impl $crate::telegram::layout::Layout for $name {
            fn collect(types: &mut Vec<$crate::telegram::layout::TypeLayout>) {
                use $crate::telegram::layout::{Shape, TypeLayout};
                if !types.iter().any(|known| known.name == stringify!($name)) {
                    types.push(TypeLayout { name: stringify!($name), doc: concat!($($doc),*), shape: Shape::Struct(vec![]) });
                }
            }
        }

        #[cfg(feature = "test-support")]
        impl $crate::telegram::sample::Sample for $name {
            fn sample(_rng: &mut dyn rand_core::RngCore) -> Self {
                Self {}
            }
        }
    };
    ($($rest:tt)*) => { body_struct!(@define auto; $($rest)*); };
}

/// Declares an enum whose variants carry at most one value each, encoded as
/// a tag byte then the value. Unknown tags are refused.
macro_rules! body_enum {
    (
        $(#[doc = $doc:literal])*
        pub enum $name:ident {
            $( $(#[doc = $variant_doc:literal])* $variant:ident $( ( $payload:ty ) )? = $tag:literal ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $( $(#[doc = $variant_doc])* $variant $( ($payload) )?, )*
        }

        impl $crate::wire::Wire for $name {
            fn encode(&self, writer: &mut $crate::wire::Writer) {
                match self {
                    $( body_enum!(@pattern $name $variant value $( $payload )?) => {
                        writer.put(&($tag as u8));
                        body_enum!(@encode writer value $( $payload )?);
                    } )*
                }
            }

            fn decode(reader: &mut $crate::wire::Reader<'_>) -> Result<Self, $crate::wire::DecodeError> {
                let tag = <u8 as $crate::wire::Wire>::decode(reader)?;
                match tag {
                    $( $tag => Ok(body_enum!(@decode reader $name $variant $( $payload )?)), )*
                    other => Err($crate::wire::DecodeError::invalid(u64::from(other))),
                }
            }
        }

        impl $crate::telegram::EncodedBytesMax for $name {
            const ENCODED_BYTES_MAX: usize =
                1 + $crate::telegram::max_of(&[ $( body_enum!(@size $( $payload )?) ),* ]);
        }

        #[cfg(feature = "test-support")]
        impl $crate::telegram::layout::Layout for $name {
            fn collect(types: &mut Vec<$crate::telegram::layout::TypeLayout>) {
                use $crate::telegram::layout::{Layout, Shape, TypeLayout, VariantLayout};
                if types.iter().any(|known| known.name == stringify!($name)) {
                    return;
                }
                types.push(TypeLayout {
                    name: stringify!($name),
                    doc: concat!($($doc),*),
                    shape: Shape::Enum(vec![ $( VariantLayout {
                        name: stringify!($variant),
                        tag: $tag,
                        payload: body_enum!(@payload_name $( $payload )?),
                        doc: concat!($($variant_doc),*),
                    } ),* ]),
                });
                $( $( <$payload as Layout>::collect(types); )? )*
            }
        }

        #[cfg(feature = "test-support")]
        impl $crate::telegram::sample::Sample for $name {
            fn sample(rng: &mut dyn rand_core::RngCore) -> Self {
                const TAGS: &[u8] = &[ $( $tag ),* ];
                let tag = TAGS[$crate::telegram::sample::below(rng, TAGS.len() as u64) as usize];
                match tag {
                    $( $tag => body_enum!(@sample rng $name $variant $( $payload )?), )*
                    _ => unreachable!("tag drawn from TAGS"),
                }
            }
        }
    };
    (@pattern $name:ident $variant:ident $value:ident $payload:ty) => { $name::$variant($value) };
    (@pattern $name:ident $variant:ident $value:ident) => { $name::$variant };
    (@encode $writer:ident $value:ident $payload:ty) => { $crate::wire::Wire::encode($value, $writer) };
    (@encode $writer:ident $value:ident) => {};
    (@decode $reader:ident $name:ident $variant:ident $payload:ty) => {
        $name::$variant(<$payload as $crate::wire::Wire>::decode($reader)?)
    };
    (@decode $reader:ident $name:ident $variant:ident) => { $name::$variant };
    (@size $payload:ty) => { <$payload as $crate::telegram::EncodedBytesMax>::ENCODED_BYTES_MAX };
    (@size) => { 0 };
    (@payload_name $payload:ty) => { Some(stringify!($payload)) };
    (@payload_name) => { None };
    (@sample $rng:ident $name:ident $variant:ident $payload:ty) => {
        $name::$variant(<$payload as $crate::telegram::sample::Sample>::sample($rng))
    };
    (@sample $rng:ident $name:ident $variant:ident) => { $name::$variant };
}

/// Declares a field-less enum ([`crate::wire_enum!`]) usable in bodies.
macro_rules! body_flags {
    (
        $(#[doc = $doc:literal])*
        pub enum $name:ident { $( $(#[doc = $variant_doc:literal])* $variant:ident = $value:literal ),* $(,)? }
    ) => {
        $crate::wire_enum! {
            $(#[doc = $doc])*
            pub enum $name { $( $(#[doc = $variant_doc])* $variant = $value ),* }
        }

        impl $crate::telegram::EncodedBytesMax for $name {
            const ENCODED_BYTES_MAX: usize = 1;
        }

        #[cfg(feature = "test-support")]
        impl $crate::telegram::layout::Layout for $name {
            fn collect(types: &mut Vec<$crate::telegram::layout::TypeLayout>) {
                use $crate::telegram::layout::{Shape, TypeLayout, VariantLayout};
                if types.iter().any(|known| known.name == stringify!($name)) {
                    return;
                }
                types.push(TypeLayout {
                    name: stringify!($name),
                    doc: concat!($($doc),*),
                    shape: Shape::Flags(vec![ $( VariantLayout {
                        name: stringify!($variant),
                        tag: $value,
                        payload: None,
                        doc: concat!($($variant_doc),*),
                    } ),* ]),
                });
            }
        }

        #[cfg(feature = "test-support")]
        impl $crate::telegram::sample::Sample for $name {
            fn sample(rng: &mut dyn rand_core::RngCore) -> Self {
                $name::ALL[$crate::telegram::sample::below(rng, $name::ALL.len() as u64) as usize]
            }
        }
    };
}

pub mod card;
pub mod catalog;
pub mod delivery;
pub mod inquiry;
#[cfg(feature = "test-support")]
pub mod layout;
pub mod network;
pub mod operator;
pub mod payment;
pub mod payout;
pub mod refund;
pub mod registration;
pub mod reject;
#[cfg(feature = "test-support")]
pub mod sample;
pub mod statement;

pub use card::*;
pub use catalog::*;
pub use delivery::*;
pub use inquiry::*;
pub use network::*;
pub use operator::*;
pub use payment::*;
pub use payout::*;
pub use refund::*;
pub use registration::*;
pub use reject::Reject;
pub use statement::*;

/// Why bytes are not a valid telegram. Each maps to the [`RejectReason`] the
/// center answers with ([`TelegramError::reject_reason`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TelegramError {
    /// The input ends before the header, body or signature does.
    #[error("telegram ends early: {needed} more bytes needed")]
    Truncated {
        /// How many more bytes the telegram needs (at least).
        needed: usize,
    },
    /// More bytes than the header's body length and the signature account for.
    #[error("{count} bytes left over after the signature")]
    TrailingBytes {
        /// Bytes after the signature.
        count: usize,
    },
    /// Larger than a telegram may be, or a body length over `BODY_BYTES_MAX`.
    #[error("{bytes} bytes is over the limit of {max}")]
    TooLarge {
        /// The size found.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The format version is not [`crate::header::FORMAT_VERSION`].
    #[error("unsupported format version {version}")]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// The code is not in the catalog.
    #[error("unknown telegram code {code:04}")]
    UnknownCode {
        /// The code found.
        code: u16,
    },
    /// A repeat digit on an answer or notice (only requests are retransmitted).
    #[error("telegram code {code:04} marks a repeat, but only requests can be repeated")]
    RepeatOnNonRequest {
        /// The code found.
        code: u16,
    },
    /// A header field that cannot be read (kept for completeness; the length
    /// check before it means it does not happen in practice).
    #[error("header: {0}")]
    Header(DecodeError),
    /// A sender or recipient that is not a canonical party id.
    #[error("invalid {field}: kind {kind}, number {number}")]
    InvalidParty {
        /// `sender` or `recipient`.
        field: &'static str,
        /// The kind byte found.
        kind: u8,
        /// The number found.
        number: u64,
    },
    /// A result code other than 0 on a telegram that is not a reject, or an
    /// unknown reason on a reject.
    #[error("result code {result} is not allowed on telegram {code}")]
    InvalidResult {
        /// The telegram code.
        code: Code,
        /// The result code found.
        result: u16,
    },
    /// The catalog does not allow this sender to send this code to this recipient.
    #[error("a {sender} may not send telegram {code} to a {recipient}")]
    NotPermitted {
        /// The telegram code.
        code: Code,
        /// The sender's kind.
        sender: PartyKind,
        /// The recipient's kind.
        recipient: PartyKind,
    },
    /// The body does not decode as the layout of its code.
    #[error("body of telegram {code}: {error}")]
    Body {
        /// The telegram code.
        code: Code,
        /// What went wrong, and in which field.
        error: DecodeError,
    },
    /// The body decodes but breaks a rule between its fields.
    #[error("body of telegram {code}: {rule}")]
    InvalidBody {
        /// The telegram code.
        code: Code,
        /// The rule broken, in words.
        rule: &'static str,
    },
    /// A signed sender with an all-zero signature.
    #[error("the telegram is not signed")]
    Unsigned,
    /// An anonymous sender with a non-zero signature.
    #[error("an anonymous telegram must carry 64 zero bytes as its signature")]
    AnonymousWithSignature,
}

impl TelegramError {
    pub(crate) fn from_header(error: DecodeError) -> Self {
        TelegramError::Header(error)
    }

    /// The reason the center gives when it refuses such a telegram.
    pub fn reject_reason(&self) -> RejectReason {
        match self {
            TelegramError::TooLarge { .. } => RejectReason::TooLarge,
            TelegramError::UnsupportedVersion { .. } => RejectReason::UnsupportedVersion,
            TelegramError::UnknownCode { .. } => RejectReason::UnknownCode,
            TelegramError::NotPermitted { .. } => RejectReason::NotPermitted,
            TelegramError::Unsigned | TelegramError::AnonymousWithSignature => RejectReason::BadSignature,
            TelegramError::Truncated { .. }
            | TelegramError::TrailingBytes { .. }
            | TelegramError::RepeatOnNonRequest { .. }
            | TelegramError::Header(_)
            | TelegramError::InvalidParty { .. }
            | TelegramError::InvalidResult { .. }
            | TelegramError::Body { .. }
            | TelegramError::InvalidBody { .. } => RejectReason::Malformed,
        }
    }
}

/// Which way a telegram travels. Denbun is a star: every telegram has the
/// center at exactly one end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From a terminal (member, store, operator, applicant) to the center.
    ToCenter,
    /// From the center to a terminal.
    FromCenter,
    /// Either way (echo).
    Both,
}

/// One row of the catalog: a code, its name, and who may send it to whom.
#[derive(Debug)]
pub struct CodeRule {
    /// The code (repeat digit clear).
    pub code: Code,
    /// Its name in documents and logs, e.g. "payment instruction".
    pub name: &'static str,
    /// Request, answer or notice.
    pub function: Function,
    /// The kinds of party that may send it.
    pub senders: &'static [PartyKind],
    /// The kinds of party it may be sent to.
    pub recipients: &'static [PartyKind],
}

impl CodeRule {
    /// The rule for a base code, if the catalog has it.
    pub(crate) fn find(base: Code) -> Option<&'static CodeRule> {
        CATALOG.binary_search_by_key(&base.number(), |rule| rule.code.number()).ok().map(|index| &CATALOG[index])
    }

    /// Which way telegrams of this code travel.
    pub fn direction(&self) -> Direction {
        let from_center = self.senders.contains(&PartyKind::Center);
        let to_center = self.recipients.contains(&PartyKind::Center);
        match (from_center, to_center) {
            (true, true) => Direction::Both,
            (true, false) => Direction::FromCenter,
            _ => Direction::ToCenter,
        }
    }

    /// Whether the center accepts this request only in a session signed on
    /// (8000) as its sender: the mailbox (8300, 8400), the sign-off, the
    /// statement (private data that no key-file history holds), and every
    /// operator telegram (90–98).
    ///
    /// Every other request is self-authenticating and may travel in any
    /// session: a terminal holding only password A can send the outbox it
    /// signed earlier (claim 3). A replay of such a telegram changes nothing
    /// (idempotency) and returns the original answer, which only a holder of
    /// the signed telegram can provoke: the key file's owner, whose history
    /// already holds that answer under password A.
    pub fn needs_sign_on(&self) -> bool {
        self.function == Function::Request
            && (matches!(self.code, Code::MAILBOX_FETCH | Code::MAILBOX_ACK | Code::SIGN_OFF | Code::STATEMENT_REQUEST)
                || self.code.family() >= 90)
    }

    /// Whether `sender` may send this code to `recipient`: both kinds listed,
    /// and the center at exactly one end.
    pub fn permits(&self, sender: PartyKind, recipient: PartyKind) -> bool {
        self.senders.contains(&sender)
            && self.recipients.contains(&recipient)
            && ((sender == PartyKind::Center) != (recipient == PartyKind::Center))
    }

    pub(crate) fn check_parties(&self, code: Code, sender: PartyId, recipient: PartyId) -> Result<(), TelegramError> {
        if self.permits(sender.kind(), recipient.kind()) {
            Ok(())
        } else {
            Err(TelegramError::NotPermitted { code, sender: sender.kind(), recipient: recipient.kind() })
        }
    }
}

/// How a body is written and read. Every body is plain [`Wire`] except the
/// reject, whose reason travels in the header's result field.
pub(crate) trait BodyCodec: Sized {
    fn encode_body(&self, writer: &mut Writer);
    fn decode_body(header: &Header, reader: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

impl<T: Wire> BodyCodec for T {
    fn encode_body(&self, writer: &mut Writer) {
        self.encode(writer);
    }

    fn decode_body(_header: &Header, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        T::decode(reader)
    }
}

const fn function_of(number: u16) -> Function {
    match (number / 10) % 10 {
        0 => Function::Request,
        1 => Function::Answer,
        4 => Function::Notice,
        _ => panic!("a catalog code's third digit is 0, 1 or 4"),
    }
}

macro_rules! catalog {
    ($(
        $(#[$meta:meta])*
        $number:literal $constant:ident $variant:ident($body:ty), $name:literal,
        [$($sender:ident),+] => [$($recipient:ident),+];
    )*) => {
        impl Code {
            $(
                #[doc = concat!("`", stringify!($number), "` ", $name, ".")]
                pub const $constant: Code = Code::catalog($number);
            )*
        }

        /// The body of a telegram: one variant per telegram code.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Body {
            $( $(#[$meta])* $variant($body), )*
        }

        $(
            impl From<$body> for Body {
                fn from(body: $body) -> Body {
                    Body::$variant(body)
                }
            }

            // Every body fits in one telegram, whatever its fields hold.
            const _: () = assert!(<$body as EncodedBytesMax>::ENCODED_BYTES_MAX <= BODY_BYTES_MAX);
            const _: () = assert!($number % 10 == 0 && $number <= crate::limits::TELEGRAM_CODE_MAX);
        )*

        /// Every telegram code with who may send it to whom, in code order.
        pub static CATALOG: &[CodeRule] = &[
            $( CodeRule {
                code: Code::$constant,
                name: $name,
                function: function_of($number),
                senders: &[$(PartyKind::$sender),+],
                recipients: &[$(PartyKind::$recipient),+],
            }, )*
        ];

        impl Body {
            /// The telegram code of this body (repeat digit clear).
            pub fn code(&self) -> Code {
                match self {
                    $( Body::$variant(_) => Code::$constant, )*
                }
            }

            fn encode_into(&self, writer: &mut Writer) {
                match self {
                    $( Body::$variant(body) => BodyCodec::encode_body(body, writer), )*
                }
            }

            fn decode_fields(header: &Header, reader: &mut Reader<'_>) -> Result<Body, DecodeError> {
                Ok(match header.code().base().number() {
                    $( $number => Body::$variant(<$body as BodyCodec>::decode_body(header, reader)?), )*
                    // Header::decode only lets catalog codes through.
                    other => return Err(DecodeError::invalid(u64::from(other))),
                })
            }

            /// Each code with its body type's name, and every named type the
            /// bodies use, in order of first use (docs/protocol.md is generated
            /// from this).
            #[cfg(feature = "test-support")]
            pub fn layouts() -> (Vec<(Code, &'static str)>, Vec<layout::TypeLayout>) {
                let mut bodies = Vec::new();
                let mut types = Vec::new();
                $(
                    bodies.push((Code::$constant, stringify!($body)));
                    <$body as layout::Layout>::collect(&mut types);
                )*
                (bodies, types)
            }

            /// A random well-formed body for `code` (tests and fuzzing only).
            #[cfg(feature = "test-support")]
            pub fn sample(code: Code, rng: &mut dyn rand_core::RngCore) -> Body {
                match code.base().number() {
                    $( $number => Body::$variant(<$body as sample::Sample>::sample(rng)), )*
                    _ => unreachable!("every Code is in the catalog"),
                }
            }
        }
    };
}

catalog! {
    /// Asks for the guide or an agreement text.
    1000 GUIDE_REQUEST GuideRequest(GuideRequest), "guide request",
        [Anonymous, Member, Store, Operator] => [Center];
    /// The guide or agreement text.
    1010 GUIDE_ANSWER GuideText(GuideText), "guide text",
        [Center] => [Anonymous, Member, Store, Operator];
    /// An applicant applies as a member or a store (unsigned).
    1100 APPLICATION Application(Application), "application",
        [Anonymous] => [Center];
    /// The number assigned; the activation code goes by post.
    1110 APPLICATION_ANSWER ApplicationAccepted(ApplicationAccepted), "application accepted",
        [Center] => [Anonymous];
    /// Registration with activation code, personal data and keys (claim 1).
    1200 REGISTRATION Registration(Registration), "registration",
        [Member, Store] => [Center];
    /// The signed registration certificate.
    1210 REGISTRATION_CERTIFICATE RegistrationCertificate(RegistrationCertificate), "registration certificate",
        [Center] => [Member, Store];
    /// A member asks for a prepaid card.
    2000 CARD_REQUEST CardRequest(CardRequest), "prepaid card request",
        [Member] => [Center];
    /// Card issued, or pending until the money arrives.
    2010 CARD_ANSWER CardAnswer(CardAnswer), "prepaid card answer",
        [Center] => [Member];
    /// A card was issued (after an operator confirmed the funds, or at once).
    2140 CARD_ISSUE_NOTICE CardIssueNotice(CardIssueNotice), "card issue notice",
        [Center] => [Member];
    /// A store publishes (part of) a new catalog version.
    3000 CATALOG_PUBLISH CatalogPublish(CatalogPublish), "catalog publish",
        [Store] => [Center];
    /// Parts received; published once all are in.
    3010 CATALOG_PUBLISH_ANSWER CatalogPublishAnswer(CatalogPublishAnswer), "catalog publish answer",
        [Center] => [Store];
    /// Asks for a page of the store list.
    3100 STORE_LIST_REQUEST StoreListRequest(StoreListRequest), "store list request",
        [Member, Store, Operator] => [Center];
    /// A page of the store list.
    3110 STORE_LIST StoreList(StoreList), "store list",
        [Center] => [Member, Store, Operator];
    /// Asks for a page of a store's catalog, optionally searched.
    3200 CATALOG_PAGE_REQUEST CatalogPageRequest(CatalogPageRequest), "catalog page request",
        [Member, Store, Operator] => [Center];
    /// A page of a store's catalog.
    3210 CATALOG_PAGE CatalogPage(CatalogPage), "catalog page",
        [Center] => [Member, Store, Operator];
    /// A member pays a store.
    4000 PAYMENT_INSTRUCTION PaymentInstruction(PaymentInstruction), "payment instruction",
        [Member] => [Center];
    /// Paid: the member's new balance.
    4010 PAYMENT_ANSWER PaymentAnswer(PaymentAnswer), "payment answer",
        [Center] => [Member];
    /// A store is told it was paid.
    4140 PAYMENT_NOTICE PaymentNotice(PaymentNotice), "payment notice",
        [Center] => [Store];
    /// A store uploads one sealed chunk of digital goods.
    5000 DELIVERY_UPLOAD DeliveryUpload(DeliveryUpload), "delivery upload chunk",
        [Store] => [Center];
    /// How much of the upload the center holds.
    5010 DELIVERY_UPLOAD_ANSWER DeliveryUploadAnswer(DeliveryUploadAnswer), "delivery upload answer",
        [Center] => [Store];
    /// A member fetches one sealed chunk.
    5100 DELIVERY_FETCH DeliveryFetch(DeliveryFetch), "delivery fetch",
        [Member] => [Center];
    /// One sealed chunk for the member.
    5110 DELIVERY_CHUNK DeliveryChunk(DeliveryChunk), "delivery chunk",
        [Center] => [Member];
    /// Digital goods are ready to fetch.
    5140 DELIVERY_READY_NOTICE DeliveryReadyNotice(DeliveryReadyNotice), "delivery ready notice",
        [Center] => [Member];
    /// The member confirms the content hash.
    5200 DELIVERY_ACKNOWLEDGEMENT DeliveryAcknowledgement(DeliveryAcknowledgement), "delivery acknowledgement",
        [Member] => [Center];
    /// The signed delivery receipt.
    5210 DELIVERY_RECEIPT DeliveryReceipt(DeliveryReceipt), "delivery receipt",
        [Center] => [Member];
    /// The store learns the member acknowledged delivery.
    5240 DELIVERED_NOTICE DeliveredNotice(DeliveredNotice), "delivered notice",
        [Center] => [Store];
    /// A store reports a mail-order shipment.
    5300 SHIPMENT Shipment(Shipment), "shipment",
        [Store] => [Center];
    /// The shipment is recorded.
    5310 SHIPMENT_ANSWER ShipmentAnswer(ShipmentAnswer), "shipment answer",
        [Center] => [Store];
    /// The member is told the goods were shipped.
    5340 SHIPMENT_NOTICE ShipmentNotice(ShipmentNotice), "shipment notice",
        [Center] => [Member];
    /// A store claims payment for delivered orders.
    6000 PAYMENT_CLAIM PaymentClaim(PaymentClaim), "payment claim",
        [Store] => [Center];
    /// The claim is recorded and waits for an operator.
    6010 PAYMENT_CLAIM_ANSWER PaymentClaimAnswer(PaymentClaimAnswer), "payment claim answer",
        [Center] => [Store];
    /// The store was paid out to its bank account.
    6140 PAYOUT_NOTICE PayoutNotice(PayoutNotice), "payout notice",
        [Center] => [Store];
    /// A store refunds (part of) an order.
    7000 REFUND Refund(Refund), "refund",
        [Store] => [Center];
    /// The refund is applied.
    7010 REFUND_ANSWER RefundAnswer(RefundAnswer), "refund answer",
        [Center] => [Store];
    /// The member is told of a refund.
    7140 REFUND_NOTICE RefundNotice(RefundNotice), "refund notice",
        [Center] => [Member];
    /// Asks for a statement over a date range.
    7200 STATEMENT_REQUEST StatementRequest(StatementRequest), "statement request",
        [Member, Store] => [Center];
    /// The signed statement.
    7210 STATEMENT Statement(Statement), "statement",
        [Center] => [Member, Store];
    /// Signs on to this session (signature binds the handshake hash).
    8000 SIGN_ON SignOn(SignOn), "sign-on",
        [Member, Store, Operator] => [Center];
    /// Signed on.
    8010 SIGN_ON_ANSWER SignOnAnswer(SignOnAnswer), "sign-on answer",
        [Center] => [Member, Store, Operator];
    /// Are you there? (either way)
    8100 ECHO Echo(Echo), "echo",
        [Anonymous, Member, Store, Operator, Center] => [Anonymous, Member, Store, Operator, Center];
    /// Here.
    8110 ECHO_ANSWER EchoAnswer(EchoAnswer), "echo answer",
        [Anonymous, Member, Store, Operator, Center] => [Anonymous, Member, Store, Operator, Center];
    /// Ends the signed-on state; the session closes after the answer.
    8200 SIGN_OFF SignOff(SignOff), "sign-off",
        [Member, Store, Operator] => [Center];
    /// Signed off.
    8210 SIGN_OFF_ANSWER SignOffAnswer(SignOffAnswer), "sign-off answer",
        [Center] => [Member, Store, Operator];
    /// Asks for waiting notices.
    8300 MAILBOX_FETCH MailboxFetch(MailboxFetch), "mailbox fetch",
        [Member, Store, Operator] => [Center];
    /// Sent after the notices it delivered.
    8310 MAILBOX_FETCH_ANSWER MailboxFetchAnswer(MailboxFetchAnswer), "mailbox fetch answer",
        [Center] => [Member, Store, Operator];
    /// Acknowledges notices up to a sequence number.
    8400 MAILBOX_ACK MailboxAck(MailboxAck), "mailbox acknowledgement",
        [Member, Store, Operator] => [Center];
    /// Acknowledged notices removed.
    8410 MAILBOX_ACK_ANSWER MailboxAckAnswer(MailboxAckAnswer), "mailbox acknowledgement answer",
        [Center] => [Member, Store, Operator];
    /// Operator: pending funds, confirm or reject incoming funds.
    9000 FUNDS_REQUEST FundsRequest(FundsRequest), "operator funds request",
        [Operator] => [Center];
    /// Answer to an operator funds request.
    9010 FUNDS_ANSWER FundsAnswer(FundsAnswer), "operator funds answer",
        [Center] => [Operator];
    /// Operator: pending claims, approve, export, executed.
    9100 PAYOUTS_REQUEST PayoutsRequest(PayoutsRequest), "operator payouts request",
        [Operator] => [Center];
    /// Answer to an operator payouts request.
    9110 PAYOUTS_ANSWER PayoutsAnswer(PayoutsAnswer), "operator payouts answer",
        [Center] => [Operator];
    /// Operator: refund a member's unused balance to a bank account.
    9200 BALANCE_REFUND BalanceRefund(BalanceRefund), "operator balance refund",
        [Operator] => [Center];
    /// The unused balance was refunded.
    9210 BALANCE_REFUND_ANSWER BalanceRefundAnswer(BalanceRefundAnswer), "operator balance refund answer",
        [Center] => [Operator];
    /// The member is told the unused balance was refunded.
    9240 BALANCE_REFUND_NOTICE BalanceRefundNotice(BalanceRefundNotice), "balance refund notice",
        [Center] => [Member];
    /// Operator: freeze or unfreeze a member or store.
    9300 FREEZE FreezeRequest(FreezeRequest), "operator freeze",
        [Operator] => [Center];
    /// The account's state after the freeze request.
    9310 FREEZE_ANSWER FreezeAnswer(FreezeAnswer), "operator freeze answer",
        [Center] => [Operator];
    /// Operator: statistics and reconciliation over a date range.
    9400 REPORT_REQUEST ReportRequest(ReportRequest), "operator report request",
        [Operator] => [Center];
    /// The report.
    9410 REPORT Report(Report), "operator report",
        [Center] => [Operator];
    /// Operator: search the journal.
    9500 JOURNAL_QUERY JournalQuery(JournalQuery), "operator journal query",
        [Operator] => [Center];
    /// A page of journal entries.
    9510 JOURNAL_PAGE JournalPage(JournalPage), "operator journal page",
        [Center] => [Operator];
    /// Operator: inquiry over members, stores, cards, transactions.
    9600 INQUIRY Inquiry(Inquiry), "operator inquiry",
        [Operator] => [Center];
    /// The inquiry's answer.
    9610 INQUIRY_ANSWER InquiryAnswer(InquiryAnswer), "operator inquiry answer",
        [Center] => [Operator];
    /// Operator: list activation letters, mark one printed.
    9700 MAIL_QUEUE_REQUEST MailQueueRequest(MailQueueRequest), "operator mail queue request",
        [Operator] => [Center];
    /// The mail queue's answer.
    9710 MAIL_QUEUE_ANSWER MailQueueAnswer(MailQueueAnswer), "operator mail queue answer",
        [Center] => [Operator];
    /// Operator: run the audit, take or verify a backup.
    9800 MAINTENANCE_REQUEST MaintenanceRequest(MaintenanceRequest), "operator audit and backup request",
        [Operator] => [Center];
    /// The audit or backup result.
    9810 MAINTENANCE_ANSWER MaintenanceAnswer(MaintenanceAnswer), "operator audit and backup answer",
        [Center] => [Operator];
    /// The center refuses a telegram; the header's result is the reason.
    9910 REJECT Reject(Reject), "reject",
        [Center] => [Anonymous, Member, Store, Operator];
}

impl Body {
    /// The rules between fields (and between body and header) that the
    /// field-by-field decoding cannot see.
    fn check(&self, header: &Header) -> Result<(), &'static str> {
        match self {
            Body::ApplicationAccepted(body) => body.check(),
            Body::Registration(body) => body.check(header.sender()),
            Body::RegistrationCertificate(body) => body.check(),
            Body::CatalogPublish(body) => body.check(),
            Body::PaymentInstruction(body) => payment::check_order(&body.lines, body.total),
            Body::PaymentNotice(body) => payment::check_order(&body.lines, body.total),
            Body::DeliveryUpload(body) => {
                delivery::check_chunk(body.sealed_bytes, body.offset, body.chunk.as_slice().len())
            }
            Body::DeliveryChunk(body) => {
                delivery::check_chunk(body.sealed_bytes, body.offset, body.chunk.as_slice().len())
            }
            Body::DeliveryFetch(body) => body.check(),
            Body::DeliveryReadyNotice(body) => body.check(),
            Body::MailboxFetch(body) => body.check(),
            Body::FreezeRequest(body) => body.check(),
            Body::Reject(body) => body.check(),
            _ => Ok(()),
        }
    }

    /// Reads the body of `header`'s code from exactly `bytes` and checks it.
    pub(crate) fn decode(header: &Header, bytes: &[u8]) -> Result<Body, TelegramError> {
        let code = header.code().base();
        let mut reader = Reader::new(bytes);
        let body = Body::decode_fields(header, &mut reader).map_err(|error| TelegramError::Body { code, error })?;
        reader.finish().map_err(|error| TelegramError::Body { code, error })?;
        body.check(header).map_err(|rule| TelegramError::InvalidBody { code, rule })?;
        Ok(body)
    }

    /// The canonical body bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(crate::wire::ENCODING_CAPACITY);
        self.encode_into(&mut writer);
        writer.into_vec()
    }

    /// The reject reason when this is a reject body (it goes in the header).
    pub(crate) fn result_code(&self) -> u16 {
        match self {
            Body::Reject(reject) => reject.reason.code(),
            _ => 0,
        }
    }
}

/// A whole telegram: header, body and signature, with its canonical bytes.
///
/// Obtained from [`Telegram::decode`] (bytes from a peer) or from a
/// [`crate::sign::Signer`] (which checks the body and signs it). Either way
/// the value is well-formed; whether the signature is genuine is for
/// [`Telegram::verify`] to say.
#[derive(Clone, PartialEq, Eq)]
pub struct Telegram {
    pub(crate) header: Header,
    pub(crate) body: Body,
    pub(crate) signature: [u8; SIGNATURE_BYTES],
    pub(crate) bytes: Vec<u8>,
}

impl Telegram {
    /// Decodes one telegram (the plaintext of one Noise transport message),
    /// checking every rule except the signature itself.
    pub fn decode(bytes: &[u8]) -> Result<Telegram, TelegramError> {
        if bytes.len() > TELEGRAM_BYTES_MAX {
            return Err(TelegramError::TooLarge { bytes: bytes.len(), max: TELEGRAM_BYTES_MAX });
        }
        let header = Header::decode(bytes)?;
        let body_end = HEADER_BYTES + header.body_length();
        let expected = body_end + SIGNATURE_BYTES;
        if bytes.len() < expected {
            return Err(TelegramError::Truncated { needed: expected - bytes.len() });
        }
        if bytes.len() > expected {
            return Err(TelegramError::TrailingBytes { count: bytes.len() - expected });
        }
        let body = Body::decode(&header, &bytes[HEADER_BYTES..body_end])?;
        let mut signature = [0u8; SIGNATURE_BYTES];
        signature.copy_from_slice(&bytes[body_end..]);
        let unsigned = signature.iter().all(|&byte| byte == 0);
        match (header.sender().kind() == PartyKind::Anonymous, unsigned) {
            (true, false) => return Err(TelegramError::AnonymousWithSignature),
            (false, true) => return Err(TelegramError::Unsigned),
            _ => {}
        }
        Ok(Telegram { header, body, signature, bytes: bytes.to_vec() })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The body, owned.
    pub fn into_body(self) -> Body {
        self.body
    }

    /// The telegram code (with the repeat digit on a retransmission).
    pub fn code(&self) -> Code {
        self.header.code()
    }

    /// The sender named in the header.
    pub fn sender(&self) -> PartyId {
        self.header.sender()
    }

    /// The 64 signature bytes (all zero for an anonymous sender).
    pub fn signature(&self) -> &[u8; SIGNATURE_BYTES] {
        &self.signature
    }

    /// The canonical bytes: what goes on the wire and into the journal.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The canonical bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The same request marked as a retransmission (repeat digit 1). The
    /// signature stays valid: it does not cover the repeat digit, so a
    /// terminal can resend from its outbox without the signature key.
    /// `None` for answers and notices, which are never retransmitted.
    pub fn repeated(&self) -> Option<Telegram> {
        let header = self.header.repeated()?;
        let mut bytes = self.bytes.clone();
        bytes[..HEADER_BYTES].copy_from_slice(&header.encode());
        Some(Telegram { header, body: self.body.clone(), signature: self.signature, bytes })
    }

    /// The body bytes within [`Telegram::as_bytes`].
    pub(crate) fn body_bytes(&self) -> &[u8] {
        &self.bytes[HEADER_BYTES..HEADER_BYTES + self.header.body_length()]
    }
}

impl fmt::Debug for Telegram {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The raw bytes are left out: they would repeat the body, including
        // fields whose own Debug redacts them (activation codes).
        formatter
            .debug_struct("Telegram")
            .field("header", &self.header)
            .field("body", &self.body)
            .field("signed", &self.signature.iter().any(|&byte| byte != 0))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_and_every_code_finds_its_rule() {
        assert!(CATALOG.windows(2).all(|pair| pair[0].code.number() < pair[1].code.number()));
        for rule in CATALOG {
            assert_eq!(CodeRule::find(rule.code).map(|found| found.code), Some(rule.code));
            assert_eq!(Code::from_number(rule.code.number()), Ok(rule.code));
        }
    }

    #[test]
    fn every_answer_has_its_request_in_the_same_family() {
        for rule in CATALOG.iter().filter(|rule| rule.function == Function::Answer && rule.code != Code::REJECT) {
            let request = Code::from_number(rule.code.number() - 10).expect("request of an answer");
            assert_eq!(request.function(), Function::Request, "{}", rule.code);
        }
    }

    #[test]
    fn every_code_has_at_least_one_permitted_pair() {
        for rule in CATALOG {
            let pairs = rule
                .senders
                .iter()
                .flat_map(|sender| rule.recipients.iter().map(move |recipient| (*sender, *recipient)))
                .filter(|(sender, recipient)| rule.permits(*sender, *recipient))
                .count();
            assert!(pairs > 0, "{} has no permitted sender and recipient", rule.code);
        }
    }
}
