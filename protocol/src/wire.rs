//! Canonical binary encoding: the primitives every telegram body, header and
//! key-file record is written with.
//!
//! Rules (docs/protocol.md, "Encoding"):
//! - integers are big-endian and fixed-width;
//! - `bool` is one byte, 0 or 1;
//! - text is a u16 byte length then UTF-8, at most `MAX` bytes;
//! - byte strings are a u16 length then the bytes, at most `MAX`;
//! - lists are a u16 count then the entries, at most `MAX` entries;
//! - `Option<T>` is a tag byte, 0 (absent) or 1 (present, then `T`);
//! - amounts of money are u64 yen within `0..=AMOUNT_YEN_MAX` ([`Yen`]) or
//!   `1..=AMOUNT_YEN_MAX` ([`Amount`]).
//!
//! Because every field has exactly one encoding and the decoder checks each
//! rule (and refuses bytes left over), one value has exactly one encoding:
//! `encode(decode(b)) == b` for every accepted `b`. Decoding never panics and
//! never allocates more than the input could justify.

use bytes::BufMut;

use crate::limits::AMOUNT_YEN_MAX;

/// Why bytes could not be decoded. Carries the field where it happened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}{}", field_suffix(.field))]
pub struct DecodeError {
    /// What went wrong.
    pub kind: DecodeErrorKind,
    /// The innermost named field, when known.
    pub field: Option<&'static str>,
}

fn field_suffix(field: &Option<&'static str>) -> String {
    match field {
        Some(name) => format!(" (field `{name}`)"),
        None => String::new(),
    }
}

/// The kinds of [`DecodeError`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// The input ended before the value did.
    #[error("input ends early: {needed} more bytes needed at offset {offset}")]
    Truncated { offset: usize, needed: usize },
    /// Bytes remain after the last field.
    #[error("{count} bytes left over after the last field")]
    TrailingBytes { count: usize },
    /// A text or byte string longer than its field allows.
    #[error("{length} bytes is over the limit of {max}")]
    TooLong { length: usize, max: usize },
    /// A list with more entries than its field allows.
    #[error("{count} entries is over the limit of {max}")]
    TooMany { count: usize, max: usize },
    /// Text that is not UTF-8.
    #[error("text is not valid UTF-8")]
    InvalidUtf8,
    /// A value outside the field's allowed set (an enum tag, a bool, an amount).
    #[error("value {value} is not allowed here")]
    InvalidValue { value: u64 },
}

impl DecodeError {
    /// An error of `kind` with no field named yet.
    pub fn new(kind: DecodeErrorKind) -> Self {
        Self { kind, field: None }
    }

    /// Names the field, unless an inner field was already named.
    pub fn in_field(mut self, field: &'static str) -> Self {
        if self.field.is_none() {
            self.field = Some(field);
        }
        self
    }

    /// A value outside the allowed set.
    pub fn invalid(value: u64) -> Self {
        Self::new(DecodeErrorKind::InvalidValue { value })
    }
}

/// Appends canonical encodings to a byte vector.
#[derive(Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { bytes: Vec::with_capacity(capacity) }
    }

    /// Appends raw bytes (the caller has written any length in front).
    pub fn put_slice(&mut self, bytes: &[u8]) {
        self.bytes.put_slice(bytes);
    }

    /// Appends one value.
    pub fn put<T: Wire>(&mut self, value: &T) {
        value.encode(self);
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes written.
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes
    }

    /// The bytes written, borrowed.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads canonical encodings from a byte slice.
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// Offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The next byte, left unread (`None` at the end).
    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.offset).copied()
    }

    /// Takes the next `count` bytes, or fails without moving.
    pub fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        if count > self.remaining() {
            return Err(DecodeError::new(DecodeErrorKind::Truncated {
                offset: self.offset,
                needed: count - self.remaining(),
            }));
        }
        let taken = &self.bytes[self.offset..self.offset + count];
        self.offset += count;
        Ok(taken)
    }

    /// Takes exactly `N` bytes as an array.
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    /// Reads one value.
    pub fn get<T: Wire>(&mut self) -> Result<T, DecodeError> {
        T::decode(self)
    }

    /// Fails if any byte is left.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::new(DecodeErrorKind::TrailingBytes { count })),
        }
    }
}

/// A value with exactly one binary encoding.
pub trait Wire: Sized {
    /// Appends the canonical encoding.
    fn encode(&self, writer: &mut Writer);
    /// Reads one value, refusing any non-canonical encoding.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Room a new encoding starts with: most records and bodies fit, so they
/// are written without growing the vector five or six times from empty
/// (those reallocations were about 2% of the center's samples under
/// payments). A larger value grows from here as usual.
pub(crate) const ENCODING_CAPACITY: usize = 256;

/// Encodes one value into a new vector.
pub fn encode_to_vec<T: Wire>(value: &T) -> Vec<u8> {
    let mut writer = Writer::with_capacity(ENCODING_CAPACITY);
    value.encode(&mut writer);
    writer.into_vec()
}

/// Decodes one value that must fill `bytes` exactly.
pub fn decode_exact<T: Wire>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut reader = Reader::new(bytes);
    let value = T::decode(&mut reader)?;
    reader.finish()?;
    Ok(value)
}

macro_rules! wire_integer {
    ($($ty:ty),*) => {$(
        impl Wire for $ty {
            fn encode(&self, writer: &mut Writer) {
                writer.put_slice(&self.to_be_bytes());
            }
            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$ty>::from_be_bytes(reader.take_array()?))
            }
        }
    )*};
}
wire_integer!(u8, u16, u32, u64, i64);

impl Wire for bool {
    fn encode(&self, writer: &mut Writer) {
        writer.put_slice(&[u8::from(*self)]);
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(reader)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::invalid(u64::from(other))),
        }
    }
}

impl<const N: usize> Wire for [u8; N] {
    fn encode(&self, writer: &mut Writer) {
        writer.put_slice(self);
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.take_array()
    }
}

impl<T: Wire> Wire for Option<T> {
    fn encode(&self, writer: &mut Writer) {
        match self {
            None => writer.put(&0u8),
            Some(value) => {
                writer.put(&1u8);
                value.encode(writer);
            }
        }
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(reader)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(reader)?)),
            other => Err(DecodeError::invalid(u64::from(other))),
        }
    }
}

/// Reads a u16 length and checks it against `max` before taking the bytes.
fn take_counted<'a>(reader: &mut Reader<'a>, max: usize) -> Result<&'a [u8], DecodeError> {
    let length = usize::from(u16::decode(reader)?);
    if length > max {
        return Err(DecodeError::new(DecodeErrorKind::TooLong { length, max }));
    }
    reader.take(length)
}

fn put_counted(writer: &mut Writer, bytes: &[u8]) {
    // Constructors refuse anything longer, so this is our own invariant.
    let length = u16::try_from(bytes.len()).expect("length checked at construction");
    writer.put(&length);
    writer.put_slice(bytes);
}

/// A value that does not fit its field (too long, too many, out of range).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {actual} is over the limit of {max}")]
pub struct LimitError {
    /// What was too large.
    pub what: &'static str,
    /// Its size or value.
    pub actual: u64,
    /// The limit.
    pub max: u64,
}

/// UTF-8 text of at most `MAX` bytes.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    const FITS_PREFIX: () = assert!(MAX <= u16::MAX as usize);

    /// Wraps `text`, refusing it when longer than `MAX` bytes.
    pub fn new(text: impl Into<String>) -> Result<Self, LimitError> {
        let () = Self::FITS_PREFIX;
        let text = text.into();
        if text.len() > MAX {
            return Err(LimitError { what: "text bytes", actual: text.len() as u64, max: MAX as u64 });
        }
        Ok(Self(text))
    }

    /// `text` cut to at most `MAX` bytes on a character boundary, for
    /// messages and labels where a shortened text beats none.
    pub fn truncated(text: &str) -> Self {
        let () = Self::FITS_PREFIX;
        let mut end = text.len().min(MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Self(text[..end].to_owned())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owned text.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MAX: usize> std::ops::Deref for Text<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> std::fmt::Debug for Text<MAX> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, formatter)
    }
}

impl<const MAX: usize> std::fmt::Display for Text<MAX> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl<const MAX: usize> Wire for Text<MAX> {
    fn encode(&self, writer: &mut Writer) {
        put_counted(writer, self.0.as_bytes());
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let () = Self::FITS_PREFIX;
        let bytes = take_counted(reader, MAX)?;
        let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::new(DecodeErrorKind::InvalidUtf8))?;
        Ok(Self(text.to_owned()))
    }
}

/// A byte string of at most `MAX` bytes.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Blob<const MAX: usize>(Vec<u8>);

impl<const MAX: usize> Blob<MAX> {
    const FITS_PREFIX: () = assert!(MAX <= u16::MAX as usize);

    /// Wraps `bytes`, refusing more than `MAX`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, LimitError> {
        let () = Self::FITS_PREFIX;
        let bytes = bytes.into();
        if bytes.len() > MAX {
            return Err(LimitError { what: "bytes", actual: bytes.len() as u64, max: MAX as u64 });
        }
        Ok(Self(bytes))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, to change in place (their length, and so the limit, stays).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// The owned bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl<const MAX: usize> std::fmt::Debug for Blob<MAX> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Blobs can be long (delivery chunks) or sealed; show the size only.
        write!(formatter, "Blob({} bytes)", self.0.len())
    }
}

impl<const MAX: usize> Wire for Blob<MAX> {
    fn encode(&self, writer: &mut Writer) {
        put_counted(writer, &self.0);
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let () = Self::FITS_PREFIX;
        Ok(Self(take_counted(reader, MAX)?.to_vec()))
    }
}

/// A list of at most `MAX` entries.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct List<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> Default for List<T, MAX> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T, const MAX: usize> List<T, MAX> {
    const FITS_PREFIX: () = assert!(MAX <= u16::MAX as usize);

    /// Wraps `entries`, refusing more than `MAX`.
    pub fn new(entries: Vec<T>) -> Result<Self, LimitError> {
        let () = Self::FITS_PREFIX;
        if entries.len() > MAX {
            return Err(LimitError { what: "entries", actual: entries.len() as u64, max: MAX as u64 });
        }
        Ok(Self(entries))
    }

    /// The entries.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }

    /// The owned entries.
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: usize> std::ops::Deref for List<T, MAX> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: std::fmt::Debug, const MAX: usize> std::fmt::Debug for List<T, MAX> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_list().entries(&self.0).finish()
    }
}

impl<T: Wire, const MAX: usize> Wire for List<T, MAX> {
    fn encode(&self, writer: &mut Writer) {
        let count = u16::try_from(self.0.len()).expect("count checked at construction");
        writer.put(&count);
        for entry in &self.0 {
            entry.encode(writer);
        }
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let () = Self::FITS_PREFIX;
        let count = usize::from(u16::decode(reader)?);
        if count > MAX {
            return Err(DecodeError::new(DecodeErrorKind::TooMany { count, max: MAX }));
        }
        // Every entry takes at least one byte, so the input bounds the allocation.
        let mut entries = Vec::with_capacity(count.min(reader.remaining()));
        for _ in 0..count {
            entries.push(T::decode(reader)?);
        }
        Ok(Self(entries))
    }
}

/// A sum of money in integer yen, `0..=AMOUNT_YEN_MAX` (balances, totals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Yen(u64);

impl Yen {
    /// Zero yen.
    pub const ZERO: Yen = Yen(0);

    /// `yen`, refusing more than `AMOUNT_YEN_MAX`.
    pub fn new(yen: u64) -> Result<Self, LimitError> {
        if yen > AMOUNT_YEN_MAX {
            return Err(LimitError { what: "yen", actual: yen, max: AMOUNT_YEN_MAX });
        }
        Ok(Self(yen))
    }

    /// The number of yen.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for Yen {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} yen", group_thousands(self.0))
    }
}

impl Wire for Yen {
    fn encode(&self, writer: &mut Writer) {
        writer.put(&self.0);
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let yen = u64::decode(reader)?;
        Yen::new(yen).map_err(|_| DecodeError::invalid(yen))
    }
}

/// An amount of money to move, in integer yen, `1..=AMOUNT_YEN_MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u64);

impl Amount {
    /// `yen`, refusing zero and more than `AMOUNT_YEN_MAX`.
    pub fn new(yen: u64) -> Result<Self, LimitError> {
        if yen == 0 || yen > AMOUNT_YEN_MAX {
            return Err(LimitError { what: "amount yen", actual: yen, max: AMOUNT_YEN_MAX });
        }
        Ok(Self(yen))
    }

    /// The number of yen.
    pub fn get(self) -> u64 {
        self.0
    }

    /// As a (possibly zero) sum.
    pub fn as_yen(self) -> Yen {
        Yen(self.0)
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} yen", group_thousands(self.0))
    }
}

impl Wire for Amount {
    fn encode(&self, writer: &mut Writer) {
        writer.put(&self.0);
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let yen = u64::decode(reader)?;
        Amount::new(yen).map_err(|_| DecodeError::invalid(yen))
    }
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A calendar date, encoded as the u32 `yyyymmdd` (years 1900..=2999).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// A valid calendar date, or `None`.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        if !(1900..=2999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days_in_month = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (1..=days_in_month).contains(&day).then_some(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('-');
        let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
            return None;
        }
        Self::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
    }

    /// The date as `yyyymmdd`.
    pub fn to_number(self) -> u32 {
        u32::from(self.year) * 10_000 + u32::from(self.month) * 100 + u32::from(self.day)
    }

    /// Year, month, day.
    pub fn parts(self) -> (u16, u8, u8) {
        (self.year, self.month, self.day)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Wire for Date {
    fn encode(&self, writer: &mut Writer) {
        writer.put(&self.to_number());
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let number = u32::decode(reader)?;
        let year = u16::try_from(number / 10_000).map_err(|_| DecodeError::invalid(u64::from(number)))?;
        let month = ((number / 100) % 100) as u8;
        let day = (number % 100) as u8;
        Date::new(year, month, day).ok_or_else(|| DecodeError::invalid(u64::from(number)))
    }
}

/// Declares a struct whose encoding is its fields in order.
///
/// ```
/// denbun_protocol::wire_struct! {
///     /// A line of an order.
///     pub struct Line {
///         pub item_id: u32,
///         pub quantity: u16,
///     }
/// }
/// let line = Line { item_id: 7, quantity: 2 };
/// let bytes = denbun_protocol::wire::encode_to_vec(&line);
/// assert_eq!(bytes, [0, 0, 0, 7, 0, 2]);
/// assert_eq!(denbun_protocol::wire::decode_exact::<Line>(&bytes), Ok(line));
/// ```
#[macro_export]
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $type:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $type, )*
        }

        impl $crate::wire::Wire for $name {
            fn encode(&self, writer: &mut $crate::wire::Writer) {
                $( $crate::wire::Wire::encode(&self.$field, writer); )*
            }
            #[allow(unused_variables)]
            fn decode(reader: &mut $crate::wire::Reader<'_>) -> Result<Self, $crate::wire::DecodeError> {
                Ok(Self {
                    $( $field: <$type as $crate::wire::Wire>::decode(reader)
                        .map_err(|error| error.in_field(stringify!($field)))?, )*
                })
            }
        }
    };
}

/// Declares a field-less enum encoded as one byte.
///
/// ```
/// denbun_protocol::wire_enum! {
///     /// Which way.
///     pub enum Way { Up = 1, Down = 2 }
/// }
/// assert_eq!(denbun_protocol::wire::encode_to_vec(&Way::Down), [2]);
/// assert!(denbun_protocol::wire::decode_exact::<Way>(&[3]).is_err());
/// ```
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$variant_meta:meta])* $variant:ident = $value:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $( $(#[$variant_meta])* $variant = $value, )* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The value for its wire byte.
            pub fn from_byte(byte: u8) -> Option<Self> {
                match byte {
                    $( $value => Some($name::$variant), )*
                    _ => None,
                }
            }
        }

        impl $crate::wire::Wire for $name {
            fn encode(&self, writer: &mut $crate::wire::Writer) {
                $crate::wire::Wire::encode(&(*self as u8), writer);
            }
            fn decode(reader: &mut $crate::wire::Reader<'_>) -> Result<Self, $crate::wire::DecodeError> {
                let byte = <u8 as $crate::wire::Wire>::decode(reader)?;
                $name::from_byte(byte).ok_or_else(|| $crate::wire::DecodeError::invalid(u64::from(byte)))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers_are_big_endian() {
        assert_eq!(encode_to_vec(&0x0102_0304u32), [1, 2, 3, 4]);
        assert_eq!(decode_exact::<u16>(&[0x12, 0x34]), Ok(0x1234));
    }

    #[test]
    fn bool_other_than_zero_or_one_is_refused() {
        assert_eq!(decode_exact::<bool>(&[1]), Ok(true));
        assert_eq!(decode_exact::<bool>(&[2]).unwrap_err().kind, DecodeErrorKind::InvalidValue { value: 2 });
    }

    #[test]
    fn trailing_bytes_are_refused() {
        assert_eq!(decode_exact::<u8>(&[1, 2]).unwrap_err().kind, DecodeErrorKind::TrailingBytes { count: 1 });
    }

    #[test]
    fn over_long_text_is_refused_before_reading_it() {
        let mut bytes = vec![0, 5];
        bytes.extend_from_slice(b"hello");
        assert_eq!(decode_exact::<Text<5>>(&bytes).map(Text::into_string), Ok("hello".to_owned()));
        assert_eq!(decode_exact::<Text<4>>(&bytes).unwrap_err().kind, DecodeErrorKind::TooLong { length: 5, max: 4 });
        // A huge claimed length with no bytes behind it is "too long", not an allocation.
        assert_eq!(
            decode_exact::<Text<4>>(&[0xff, 0xff]).unwrap_err().kind,
            DecodeErrorKind::TooLong { length: 65_535, max: 4 }
        );
        assert!(Text::<4>::new("hello").is_err());
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(Text::<4>::truncated("abcdef").as_str(), "abcd");
        // "é" is two bytes: cutting inside it drops it whole.
        assert_eq!(Text::<4>::truncated("abcé").as_str(), "abc");
        assert_eq!(Text::<8>::truncated("short").as_str(), "short");
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert_eq!(decode_exact::<Text<8>>(&[0, 2, 0xc3, 0x28]).unwrap_err().kind, DecodeErrorKind::InvalidUtf8);
    }

    #[test]
    fn list_over_its_maximum_is_refused() {
        assert_eq!(
            decode_exact::<List<u8, 2>>(&[0, 3, 1, 2, 3]).unwrap_err().kind,
            DecodeErrorKind::TooMany { count: 3, max: 2 }
        );
        assert!(List::<u8, 2>::new(vec![1, 2, 3]).is_err());
    }

    #[test]
    fn amounts_refuse_zero_and_overflowing_values() {
        assert!(decode_exact::<Amount>(&0u64.to_be_bytes()).is_err());
        assert!(decode_exact::<Amount>(&u64::MAX.to_be_bytes()).is_err());
        assert!(decode_exact::<Yen>(&u64::MAX.to_be_bytes()).is_err());
        assert_eq!(decode_exact::<Yen>(&0u64.to_be_bytes()), Ok(Yen::ZERO));
        assert_eq!(decode_exact::<Amount>(&AMOUNT_YEN_MAX.to_be_bytes()).map(Amount::get), Ok(AMOUNT_YEN_MAX));
    }

    #[test]
    fn dates_are_checked_against_the_calendar() {
        assert_eq!(Date::new(2024, 2, 29).map(Date::to_number), Some(20240229));
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(decode_exact::<Date>(&20231301u32.to_be_bytes()).is_err());
        assert_eq!(Date::parse("1970-01-31"), Date::new(1970, 1, 31));
        assert!(Date::parse("1970-1-31").is_none());
    }

    #[test]
    fn option_tag_other_than_zero_or_one_is_refused() {
        assert_eq!(decode_exact::<Option<u8>>(&[0]), Ok(None));
        assert_eq!(decode_exact::<Option<u8>>(&[1, 9]), Ok(Some(9)));
        assert!(decode_exact::<Option<u8>>(&[2, 9]).is_err());
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }

    wire_struct! {
        /// A sample of every primitive, for the round-trip property.
        pub struct Sample {
            pub flag: bool,
            pub number: u64,
            pub name: Text<8>,
            pub bytes: Blob<4>,
            pub list: List<u16, 3>,
            pub maybe: Option<Amount>,
        }
    }

    proptest! {
        #[test]
        fn decode_of_encode_is_identity(
            flag: bool, number: u64, name in "[a-zé]{0,4}", bytes in proptest::collection::vec(any::<u8>(), 0..=4),
            list in proptest::collection::vec(any::<u16>(), 0..=3), maybe in proptest::option::of(1..=AMOUNT_YEN_MAX),
        ) {
            let sample = Sample {
                flag, number, name: Text::new(name).unwrap(), bytes: Blob::new(bytes).unwrap(),
                list: List::new(list).unwrap(), maybe: maybe.map(|yen| Amount::new(yen).unwrap()),
            };
            let encoded = encode_to_vec(&sample);
            prop_assert_eq!(decode_exact::<Sample>(&encoded), Ok(sample));
        }

        #[test]
        fn accepted_input_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            // Arbitrary bytes never panic; whatever is accepted re-encodes to the same bytes.
            if let Ok(sample) = decode_exact::<Sample>(&bytes) {
                prop_assert_eq!(encode_to_vec(&sample), bytes);
            }
        }
    }
}
