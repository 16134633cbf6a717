//! Body layouts as data, for generating and checking docs/protocol.md
//! (feature `test-support`). The body macros describe every named type;
//! the wire primitives (integers, `Text`, `List`, keys, ...) are described
//! once, by hand, in the document's "Encoding" section.

use ed25519_dalek::VerifyingKey;
use x25519_dalek::PublicKey as DeliveryKey;

use crate::header::{MemberNumber, PartyId, StoreNumber};
use crate::telegram::{ActivationCode, AscendingNumbers, ContentBytes, DateRange, Digits, Reject};
use crate::wire::{Amount, Blob, Date, List, Text, Yen};

/// One named type: a struct (fields in order), an enum with values (tag,
/// then the value), or a one-byte enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeLayout {
    /// The Rust name, e.g. `PaymentInstruction`.
    pub name: &'static str,
    /// Its doc comment, lines joined.
    pub doc: &'static str,
    /// Its fields or variants.
    pub shape: Shape,
}

/// What a named type is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Fields encoded one after the other.
    Struct(Vec<FieldLayout>),
    /// A tag byte, then the variant's value if it has one.
    Enum(Vec<VariantLayout>),
    /// One byte, one of the listed values.
    Flags(Vec<VariantLayout>),
}

/// One field of a struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldLayout {
    /// Field name.
    pub name: &'static str,
    /// Its type as written in the code, e.g. `Text<NAME_BYTES_MAX>`.
    pub type_name: &'static str,
    /// Its doc comment.
    pub doc: &'static str,
}

/// One variant of an enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantLayout {
    /// Variant name.
    pub name: &'static str,
    /// Its byte on the wire.
    pub tag: u8,
    /// The type of the value after the tag, if any.
    pub payload: Option<&'static str>,
    /// Its doc comment.
    pub doc: &'static str,
}

/// A type that can list the named types its encoding is made of.
pub trait Layout {
    /// Appends this type (if named and not yet listed) and then the types it uses.
    fn collect(_types: &mut Vec<TypeLayout>) {}
}

macro_rules! primitive_layout {
    ($($type:ty),* $(,)?) => { $( impl Layout for $type {} )* };
}

primitive_layout!(
    u8,
    u16,
    u32,
    u64,
    bool,
    Yen,
    Amount,
    Date,
    PartyId,
    MemberNumber,
    StoreNumber,
    VerifyingKey,
    DeliveryKey,
    ActivationCode,
    ContentBytes,
    DateRange
);

impl<const N: usize> Layout for [u8; N] {}
impl<const MAX: usize> Layout for Text<MAX> {}
impl<const MAX: usize> Layout for Blob<MAX> {}
impl<const N: usize> Layout for Digits<N> {}
impl<const MAX: usize> Layout for AscendingNumbers<MAX> {}

impl<T: Layout> Layout for Option<T> {
    fn collect(types: &mut Vec<TypeLayout>) {
        T::collect(types);
    }
}

impl<T: Layout, const MAX: usize> Layout for List<T, MAX> {
    fn collect(types: &mut Vec<TypeLayout>) {
        T::collect(types);
    }
}

impl Layout for Reject {
    fn collect(types: &mut Vec<TypeLayout>) {
        if types.iter().any(|known| known.name == "Reject") {
            return;
        }
        types.push(TypeLayout {
            name: "Reject",
            doc: " `9910`: a refusal. The reason is the header's result field, not part of the body.",
            shape: Shape::Struct(vec![
                FieldLayout {
                    name: "refused_code",
                    type_name: "u16",
                    doc: " The refused telegram's code as it arrived (repeat digit included), 0 if unreadable; at most 9999.",
                },
                FieldLayout {
                    name: "message",
                    type_name: "Text<MESSAGE_BYTES_MAX>",
                    doc: " A readable explanation.",
                },
            ]),
        });
    }
}
