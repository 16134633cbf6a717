//! Families 10 (guide and agreement text), 11 (application) and 12
//! (registration): how a newcomer becomes a member or a store.
//!
//! ```text
//! applicant                         center                     operator
//!   | 1000 guide request (anon) ---->  |
//!   | <---- 1010 guide text            |
//!   | 1100 application (anon) ---->    |-- letter with activation code --> mail queue (9700)
//!   | <---- 1110 application accepted  |          (printed and posted)
//!   | 1200 registration (signed by the new key) ---->
//!   | <---- 1210 registration certificate (signed by the center)
//! ```

use std::fmt;

use ed25519_dalek::VerifyingKey;
use subtle::ConstantTimeEq;
use x25519_dalek::PublicKey as DeliveryKey;
use zeroize::Zeroize;

use crate::header::{PartyId, PartyKind};
use crate::limits::{
    ACCOUNT_HOLDER_BYTES_MAX, ACTIVATION_CODE_BYTES_MAX, ADDRESS_BYTES_MAX, GUIDE_TEXT_BYTES_MAX, MESSAGE_BYTES_MAX,
    NAME_BYTES_MAX, TRADE_NAME_BYTES_MAX,
};
use crate::telegram::EncodedBytesMax;
use crate::wire::{Date, DecodeError, DecodeErrorKind, Reader, Text, Wire, Writer};

body_flags! {
    /// Which text a guide request asks for.
    pub enum GuideTopic {
        /// How Denbun works, fees, contacts.
        Guide = 1,
        /// The agreement a general member accepts.
        MemberAgreement = 2,
        /// The agreement a store member accepts.
        StoreAgreement = 3,
    }
}

body_struct! {
    /// `1000`: asks for the guide or an agreement.
    pub struct GuideRequest {
        /// Which text.
        pub topic: GuideTopic,
    }
}

body_struct! {
    /// `1010`: the text asked for.
    pub struct GuideText {
        /// Which text.
        pub topic: GuideTopic,
        /// Its version; an application names the agreement version it accepts.
        pub version: u32,
        /// The text itself.
        pub text: Text<GUIDE_TEXT_BYTES_MAX>,
    }
}

body_struct! {
    /// Name, address and date of birth of a person (a store's representative).
    pub struct PersonalData {
        /// Full name.
        pub name: Text<NAME_BYTES_MAX>,
        /// Postal address (where the activation letter goes).
        pub address: Text<ADDRESS_BYTES_MAX>,
        /// Date of birth.
        pub date_of_birth: Date,
    }
}

body_enum! {
    /// What an applicant applies to become.
    pub enum Applicant {
        /// A general member (buyer).
        Member = 1,
        /// A store member (seller), with its trade name.
        Store(Text<TRADE_NAME_BYTES_MAX>) = 2,
    }
}

body_struct! {
    /// `1100`: an application. Sent anonymously (unsigned): the applicant has no key yet.
    pub struct Application {
        /// Member or store (with trade name).
        pub applicant: Applicant,
        /// Who applies.
        pub personal: PersonalData,
        /// The version of the agreement (from 1010) the applicant accepted.
        pub agreement_version: u32,
    }
}

body_struct! {
    sample: manual;
    /// `1110`: the application is accepted. The activation code is NOT here:
    /// it goes by post (the mail queue), so holding this answer is not enough
    /// to register.
    pub struct ApplicationAccepted {
        /// The member or store number assigned (the registration's sender).
        pub assigned: PartyId,
        /// When the mailed activation code stops working, unix milliseconds.
        pub activation_code_expires_at_ms: u64,
        /// What happens next, for the applicant to read.
        pub message: Text<MESSAGE_BYTES_MAX>,
    }
}

impl ApplicationAccepted {
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        check_registrant(self.assigned)
    }
}

fn check_registrant(party: PartyId) -> Result<(), &'static str> {
    match party.kind() {
        PartyKind::Member | PartyKind::Store => Ok(()),
        _ => Err("only members and stores register"),
    }
}

/// The one-time activation code mailed to an applicant: 1 to 16 printable
/// ASCII characters (no spaces). It is a secret: `Debug` redacts it, it is
/// zeroized on drop, and equality is compared in constant time.
pub struct ActivationCode(String);

impl ActivationCode {
    /// Wraps `code`, refusing an empty, over-long or non-printable one.
    pub fn new(code: &str) -> Option<ActivationCode> {
        Self::is_valid(code.as_bytes()).then(|| ActivationCode(code.to_owned()))
    }

    fn is_valid(bytes: &[u8]) -> bool {
        !bytes.is_empty() && bytes.len() <= ACTIVATION_CODE_BYTES_MAX && bytes.iter().all(u8::is_ascii_graphic)
    }

    /// The code itself, for the one place that needs it (the letter, the
    /// center's comparison). Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Clone for ActivationCode {
    fn clone(&self) -> Self {
        ActivationCode(self.0.clone())
    }
}

impl PartialEq for ActivationCode {
    fn eq(&self, other: &Self) -> bool {
        // The length is not secret (at most 16); the characters are.
        self.0.len() == other.0.len() && bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

impl Eq for ActivationCode {}

impl Drop for ActivationCode {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for ActivationCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ActivationCode(<redacted>)")
    }
}

impl Wire for ActivationCode {
    fn encode(&self, writer: &mut Writer) {
        let length = self.0.len() as u16;
        writer.put(&length);
        writer.put_slice(self.0.as_bytes());
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let length = usize::from(u16::decode(reader)?);
        if length > ACTIVATION_CODE_BYTES_MAX {
            return Err(DecodeError::new(DecodeErrorKind::TooLong { length, max: ACTIVATION_CODE_BYTES_MAX }));
        }
        let bytes = reader.take(length)?;
        if !Self::is_valid(bytes) {
            // Do not echo secret bytes into the error: report the length only.
            return Err(DecodeError::invalid(length as u64));
        }
        // Printable ASCII is valid UTF-8.
        Ok(ActivationCode(String::from_utf8_lossy(bytes).into_owned()))
    }
}

impl EncodedBytesMax for ActivationCode {
    const ENCODED_BYTES_MAX: usize = 2 + ACTIVATION_CODE_BYTES_MAX;
}

/// Exactly `N` ASCII decimal digits (bank codes, account numbers), sent as
/// `N` bytes `'0'..='9'`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digits<const N: usize>([u8; N]);

impl<const N: usize> Digits<N> {
    /// The digits of `text`, which must be exactly `N` of `0`-`9`.
    pub fn new(text: &str) -> Option<Self> {
        let bytes: [u8; N] = text.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_digit).then_some(Digits(bytes))
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Display for Digits<N> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for Digits<N> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "\"{}\"", self.as_str())
    }
}

impl<const N: usize> Wire for Digits<N> {
    fn encode(&self, writer: &mut Writer) {
        writer.put_slice(&self.0);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes: [u8; N] = reader.take_array()?;
        match bytes.iter().find(|byte| !byte.is_ascii_digit()) {
            Some(&bad) => Err(DecodeError::invalid(u64::from(bad))),
            None => Ok(Digits(bytes)),
        }
    }
}

impl<const N: usize> EncodedBytesMax for Digits<N> {
    const ENCODED_BYTES_MAX: usize = N;
}

body_flags! {
    /// Bank account type, with the Zengin codes.
    pub enum AccountType {
        /// 普通 ordinary deposit.
        Ordinary = 1,
        /// 当座 current account.
        Current = 2,
        /// 貯蓄 savings.
        Savings = 4,
    }
}

body_struct! {
    /// A Japanese bank account for payouts (the Zengin transfer file's fields).
    pub struct BankAccount {
        /// Bank code, 4 digits.
        pub bank_code: Digits<4>,
        /// Branch code, 3 digits.
        pub branch_code: Digits<3>,
        /// Ordinary, current or savings.
        pub account_type: AccountType,
        /// Account number, 7 digits.
        pub account_number: Digits<7>,
        /// Account holder's name as the bank spells it.
        pub holder_name: Text<ACCOUNT_HOLDER_BYTES_MAX>,
    }
}

body_struct! {
    /// What a store registers in addition to a member's data.
    pub struct StoreRegistration {
        /// The store's trade name, as shown to members.
        pub trade_name: Text<TRADE_NAME_BYTES_MAX>,
        /// Where payouts go.
        pub payout_account: BankAccount,
    }
}

body_struct! {
    /// `1200`: registration (the patent's claim 1). Signed with the signature
    /// key whose verification key it carries (proof of possession): the
    /// center verifies it with `verification_key` from this very body.
    pub struct Registration {
        /// The code from the activation letter.
        pub activation_code: ActivationCode,
        /// The registrant's personal data.
        pub personal: PersonalData,
        /// Present if and only if the sender is a store.
        pub store: Option<StoreRegistration>,
        /// Ed25519 verification key for every later telegram.
        pub verification_key: VerifyingKey,
        /// X25519 key that digital goods are sealed to.
        pub delivery_key: DeliveryKey,
    }
}

impl Registration {
    pub(crate) fn check(&self, sender: PartyId) -> Result<(), &'static str> {
        match (sender.kind(), self.store.is_some()) {
            (PartyKind::Store, true) | (PartyKind::Member, false) => Ok(()),
            (PartyKind::Store, false) => Err("a store's registration needs trade name and payout account"),
            _ => Err("only a store's registration carries store details"),
        }
    }
}

body_struct! {
    sample: manual;
    /// `1210`: the center's signed statement that a number holds these keys.
    pub struct RegistrationCertificate {
        /// The member or store.
        pub party: PartyId,
        /// Registered name (the trade name for a store).
        pub name: Text<NAME_BYTES_MAX>,
        /// The registered verification key.
        pub verification_key: VerifyingKey,
        /// The registered delivery key.
        pub delivery_key: DeliveryKey,
        /// When the registration took effect, unix milliseconds.
        pub registered_at_ms: u64,
    }
}

impl RegistrationCertificate {
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        check_registrant(self.party)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{decode_exact, encode_to_vec};

    #[test]
    fn activation_code_debug_is_redacted() {
        let code = ActivationCode::new("K7Q2-9XPM").unwrap();
        let shown = format!("{code:?}");
        assert!(!shown.contains("K7Q2"), "{shown}");
        assert_eq!(code.expose(), "K7Q2-9XPM");
    }

    #[test]
    fn activation_code_refuses_empty_long_and_unprintable() {
        assert!(ActivationCode::new("").is_none());
        assert!(ActivationCode::new("A B").is_none());
        assert!(ActivationCode::new(&"A".repeat(ACTIVATION_CODE_BYTES_MAX + 1)).is_none());
        assert!(decode_exact::<ActivationCode>(&[0, 2, b'A', 0x07]).is_err());
        assert!(decode_exact::<ActivationCode>(&[0, 0]).is_err());
        let code = ActivationCode::new("AB12").unwrap();
        assert_eq!(decode_exact::<ActivationCode>(&encode_to_vec(&code)), Ok(code));
    }

    #[test]
    fn digits_are_exactly_n_ascii_digits() {
        assert_eq!(Digits::<4>::new("0001").map(|digits| digits.to_string()), Some("0001".to_owned()));
        assert!(Digits::<4>::new("001").is_none());
        assert!(Digits::<4>::new("00a1").is_none());
        assert!(Digits::<4>::new("０００１").is_none());
        assert!(decode_exact::<Digits<3>>(b"12x").is_err());
    }
}
