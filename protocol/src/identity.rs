//! The center's public identity: what every terminal pins, and its plain-text
//! card `center.pub`.
//!
//! The card is a small text file the operator hands out with the client (like
//! an SSH known_hosts entry). It names the center, says where to connect, and
//! carries both public keys: the Ed25519 verification key that checks the
//! center's signed answers and notices, and the X25519 static key that the
//! Noise NK handshake pins. Its last line is a short fingerprint to read aloud
//! over the telephone, so a member can check the card before trusting it.
//!
//! ```text
//! # Denbun center identity card. Compare the fingerprint with the one the operator reads out.
//! denbun-center-identity 1
//! name: Denbun Demo Center
//! address: 127.0.0.1:7800
//! verification-key: 3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c
//! noise-key: 8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a
//! fingerprint: MFRG-GZDF-MZTW-Q2LK
//! ```
//!
//! Reading is strict: the fields in this order, each once, keys in lowercase
//! hexadecimal; lines starting with `#` and empty lines are skipped. The
//! fingerprint must match the verification key. This module does no I/O: the
//! client reads and writes the file.

use sha2::{Digest, Sha256};

use crate::limits::{ADDRESS_BYTES_MAX, IDENTITY_CARD_BYTES_MAX, NAME_BYTES_MAX};
use crate::sign::CenterFingerprint;
use crate::wire::Text;

/// The first line of every card, with the card format's version.
pub const CARD_FIRST_LINE: &str = "denbun-center-identity 1";

crate::wire_struct! {
    /// The center's public identity, as pinned in every member's key file.
    pub struct CenterIdentity {
        /// The center's name shown to people.
        pub name: Text<NAME_BYTES_MAX>,
        /// Where terminals connect, `host:port`.
        pub address: Text<ADDRESS_BYTES_MAX>,
        /// Ed25519 verification key of the center's signature key.
        pub verification_key: [u8; 32],
        /// X25519 static public key of the center's Noise NK handshake.
        pub noise_public_key: [u8; 32],
    }
}

impl CenterIdentity {
    /// SHA-256 of the verification key: the center fingerprint that every
    /// signed telegram covers.
    pub fn fingerprint(&self) -> CenterFingerprint {
        CenterFingerprint::from_bytes(Sha256::digest(self.verification_key).into())
    }

    /// The fingerprint to read aloud, as everywhere else in Denbun
    /// ([`CenterFingerprint::short_form`]): `MFRG-GZDF-MZTW-Q2LK`.
    pub fn short_fingerprint(&self) -> String {
        self.fingerprint().short_form()
    }

    /// The card's text, ending with a newline.
    pub fn to_card(&self) -> String {
        format!(
            "# Denbun center identity card. Compare the fingerprint with the one the operator reads out.\n\
             {CARD_FIRST_LINE}\n\
             name: {}\n\
             address: {}\n\
             verification-key: {}\n\
             noise-key: {}\n\
             fingerprint: {}\n",
            self.name,
            self.address,
            hex_lower(&self.verification_key),
            hex_lower(&self.noise_public_key),
            self.short_fingerprint(),
        )
    }

    /// Reads a card from the bytes of a file (which must be UTF-8 text).
    pub fn from_card_bytes(bytes: &[u8]) -> Result<Self, CardError> {
        if bytes.len() > IDENTITY_CARD_BYTES_MAX {
            return Err(CardError::TooLarge { bytes: bytes.len(), max: IDENTITY_CARD_BYTES_MAX });
        }
        Self::from_card(std::str::from_utf8(bytes).map_err(|_| CardError::NotText)?)
    }

    /// Reads a card, refusing anything that is not exactly a card.
    pub fn from_card(text: &str) -> Result<Self, CardError> {
        if text.len() > IDENTITY_CARD_BYTES_MAX {
            return Err(CardError::TooLarge { bytes: text.len(), max: IDENTITY_CARD_BYTES_MAX });
        }
        // Significant lines with their 1-based line numbers, comments and blanks skipped.
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(index, line)| (index + 1, line.trim_end_matches('\r')))
            .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'));

        match lines.next() {
            Some((_, line)) if line == CARD_FIRST_LINE => {}
            Some((number, line)) if line.starts_with("denbun-center-identity ") => {
                return Err(CardError::UnsupportedVersion { line: number, found: line.to_owned() });
            }
            Some((number, _)) => return Err(CardError::NotACard { line: number }),
            None => return Err(CardError::NotACard { line: 1 }),
        }

        let mut field = |name: &'static str| -> Result<(usize, &str), CardError> {
            let (number, line) = lines.next().ok_or(CardError::MissingField { field: name })?;
            let value = line
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(": "))
                .ok_or(CardError::ExpectedField { line: number, field: name })?;
            Ok((number, value))
        };

        let (name_line, name) = field("name")?;
        let name = card_text::<NAME_BYTES_MAX>(name_line, "name", name)?;
        let (address_line, address) = field("address")?;
        let address = card_text::<ADDRESS_BYTES_MAX>(address_line, "address", address)?;
        let (key_line, key) = field("verification-key")?;
        let verification_key = parse_hex32(key_line, "verification-key", key)?;
        if ed25519_dalek::VerifyingKey::from_bytes(&verification_key).is_err() {
            return Err(CardError::InvalidKey { line: key_line, field: "verification-key" });
        }
        let (noise_line, noise) = field("noise-key")?;
        let noise_public_key = parse_hex32(noise_line, "noise-key", noise)?;
        if noise_public_key == [0; 32] {
            return Err(CardError::InvalidKey { line: noise_line, field: "noise-key" });
        }
        let (fingerprint_line, fingerprint) = field("fingerprint")?;
        let identity = Self { name, address, verification_key, noise_public_key };
        if fingerprint != identity.short_fingerprint() {
            return Err(CardError::FingerprintMismatch {
                line: fingerprint_line,
                written: fingerprint.to_owned(),
                computed: identity.short_fingerprint(),
            });
        }
        if let Some((number, _)) = lines.next() {
            return Err(CardError::UnexpectedLine { line: number });
        }
        Ok(identity)
    }
}

fn card_text<const MAX: usize>(line: usize, field: &'static str, value: &str) -> Result<Text<MAX>, CardError> {
    if value.is_empty() || value.trim() != value || value.chars().any(char::is_control) {
        return Err(CardError::InvalidText { line, field });
    }
    Text::new(value).map_err(|_| CardError::TooLong { line, field, max: MAX })
}

/// Why a `center.pub` card could not be read. Every message names the line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("the center identity card is {bytes} bytes; a card is at most {max} bytes, so this is not a card")]
    TooLarge { bytes: usize, max: usize },
    #[error("the center identity card is not text (UTF-8), so it is not a card")]
    NotText,
    #[error("line {line}: this is not a Denbun center identity card (it must start with `{CARD_FIRST_LINE}`)")]
    NotACard { line: usize },
    #[error("line {line}: `{found}` is a newer card format than this version of Denbun reads; update Denbun")]
    UnsupportedVersion { line: usize, found: String },
    #[error("the card ends before its `{field}:` line")]
    MissingField { field: &'static str },
    #[error("line {line}: expected `{field}: ...` here")]
    ExpectedField { line: usize, field: &'static str },
    #[error("line {line}: `{field}` must not be empty, start or end with spaces, or contain control characters")]
    InvalidText { line: usize, field: &'static str },
    #[error("line {line}: `{field}` is longer than {max} bytes")]
    TooLong { line: usize, field: &'static str, max: usize },
    #[error("line {line}: `{field}` must be 64 lowercase hexadecimal digits")]
    InvalidHex { line: usize, field: &'static str },
    #[error("line {line}: `{field}` is not a usable public key")]
    InvalidKey { line: usize, field: &'static str },
    #[error(
        "line {line}: the fingerprint `{written}` does not match the keys on this card (they give `{computed}`); \
         the card was changed or mistyped: do not use it, ask the center for a new one"
    )]
    FingerprintMismatch { line: usize, written: String, computed: String },
    #[error("line {line}: unexpected text after the fingerprint")]
    UnexpectedLine { line: usize },
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    text
}

fn parse_hex32(line: usize, field: &'static str, text: &str) -> Result<[u8; 32], CardError> {
    let invalid = || CardError::InvalidHex { line, field };
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return Err(invalid());
    }
    // Lowercase only, so one key has exactly one spelling on a card.
    let value = |digit: u8| match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    };
    let mut key = [0u8; 32];
    for (index, pair) in digits.chunks_exact(2).enumerate() {
        key[index] = (value(pair[0]).ok_or_else(invalid)? << 4) | value(pair[1]).ok_or_else(invalid)?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> CenterIdentity {
        let signing_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        CenterIdentity {
            name: Text::new("Denbun Demo Center").unwrap(),
            address: Text::new("127.0.0.1:7800").unwrap(),
            verification_key: signing_key.verifying_key().to_bytes(),
            noise_public_key: x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([9; 32])).to_bytes(),
        }
    }

    #[test]
    fn card_round_trips() {
        let identity = identity();
        let card = identity.to_card();
        assert_eq!(CenterIdentity::from_card(&card), Ok(identity.clone()));
        let fingerprint = identity.short_fingerprint();
        assert_eq!(fingerprint.len(), 19, "{fingerprint}");
        assert_eq!(fingerprint.matches('-').count(), 3, "{fingerprint}");
        assert!(card.ends_with(&format!("fingerprint: {fingerprint}\n")));
    }

    #[test]
    fn the_fingerprint_is_the_one_signed_telegrams_cover() {
        let identity = identity();
        let key = ed25519_dalek::VerifyingKey::from_bytes(&identity.verification_key).unwrap();
        assert_eq!(identity.fingerprint(), CenterFingerprint::of(&key));
        assert_eq!(identity.short_fingerprint(), CenterFingerprint::of(&key).short_form());
    }

    #[test]
    fn damaged_cards_are_refused_with_the_line() {
        let card = identity().to_card();
        let cases: Vec<(String, CardError)> = vec![
            (String::new(), CardError::NotACard { line: 1 }),
            (
                card.replace("identity 1", "identity 2"),
                CardError::UnsupportedVersion { line: 2, found: "denbun-center-identity 2".into() },
            ),
            (card.replace("name: ", "nom: "), CardError::ExpectedField { line: 3, field: "name" }),
            (
                card.replace("address: 127.0.0.1:7800", "address:  127.0.0.1:7800"),
                CardError::InvalidText { line: 4, field: "address" },
            ),
            (
                card.replace("verification-key: ", "verification-key: X"),
                CardError::InvalidHex { line: 5, field: "verification-key" },
            ),
            (card.lines().take(6).collect::<Vec<_>>().join("\n"), CardError::MissingField { field: "fingerprint" }),
            (format!("{card}extra\n"), CardError::UnexpectedLine { line: 8 }),
        ];
        for (text, expected) in cases {
            assert_eq!(CenterIdentity::from_card(&text), Err(expected), "{text}");
        }
    }

    #[test]
    fn a_changed_key_no_longer_matches_the_fingerprint() {
        let identity = identity();
        let card = identity.to_card();
        // The verification key is what the fingerprint covers: another key no longer matches it.
        let other = ed25519_dalek::SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes();
        let swapped = card.replace(&hex_lower(&identity.verification_key), &hex_lower(&other));
        assert!(matches!(CenterIdentity::from_card(&swapped), Err(CardError::FingerprintMismatch { line: 7, .. })));
        // Upper-case hexadecimal is a second spelling of the same key: refused.
        let hex = hex_lower(&identity.noise_public_key);
        let upper = card.replace(&hex, &hex.to_uppercase());
        assert_ne!(upper, card, "the test key has letters in its hexadecimal form");
        assert!(matches!(CenterIdentity::from_card(&upper), Err(CardError::InvalidHex { line: 6, .. })));
    }

    #[test]
    fn cards_that_are_not_text_or_too_large_are_refused() {
        assert_eq!(CenterIdentity::from_card_bytes(&[0xff, 0xfe]), Err(CardError::NotText));
        let huge = vec![b'#'; IDENTITY_CARD_BYTES_MAX + 1];
        assert_eq!(
            CenterIdentity::from_card_bytes(&huge),
            Err(CardError::TooLarge { bytes: huge.len(), max: IDENTITY_CARD_BYTES_MAX })
        );
        assert_eq!(CenterIdentity::from_card_bytes(identity().to_card().as_bytes()), Ok(identity()));
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let card = identity().to_card().replace("name:", "\n# a note\nname:");
        assert_eq!(CenterIdentity::from_card(&card), Ok(identity()));
    }
}
