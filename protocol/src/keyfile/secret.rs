//! Secret values: passwords typed by people and 32-byte keys.
//!
//! Neither type prints its contents (`Debug` says only what it is) and both
//! wipe their memory when dropped.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::wire::{DecodeError, Reader, Wire, Writer};

/// A password or passphrase as a person typed it (password A, password B, the
/// center's operator passphrase). Wiped on drop, never printed.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Takes ownership of the typed text, so no unwiped copy is left behind
    /// by this call (the caller's `String` moves in).
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The password's UTF-8 bytes, the input of scrypt.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Password {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Self {
        Self::new(text.to_owned())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Password(redacted)")
    }
}

/// 32 secret bytes: an Ed25519 signing seed, an X25519 secret key or a key
/// derived from a password. Wiped on drop, compared in constant time, never
/// printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret32([u8; 32]);

impl Secret32 {
    /// Wraps `bytes`; the caller wipes its own copy if it keeps one.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The secret bytes. Callers keep the borrow short and copy them only into
    /// types that wipe themselves.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for Secret32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret32 {}

impl std::fmt::Debug for Secret32 {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Secret32(redacted)")
    }
}

impl Wire for Secret32 {
    fn encode(&self, writer: &mut Writer) {
        writer.put_slice(&self.0);
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut bytes: [u8; 32] = reader.take_array()?;
        let secret = Self(bytes);
        bytes.zeroize();
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let password = Password::from("correct horse battery staple");
        assert_eq!(format!("{password:?}"), "Password(redacted)");
        let secret = Secret32::new([0xab; 32]);
        let shown = format!("{secret:?}");
        assert!(!shown.contains("ab") && !shown.contains("171"), "{shown}");
    }

    #[test]
    fn secrets_compare_by_value() {
        assert_eq!(Secret32::new([1; 32]), Secret32::new([1; 32]));
        assert_ne!(Secret32::new([1; 32]), Secret32::new([2; 32]));
    }
}
