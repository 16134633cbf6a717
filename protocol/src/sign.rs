//! Signing and verifying telegrams.
//!
//! What Ed25519 signs (the *signed message*):
//!
//! ```text
//! 'D' 'B' | base code u16 BE          purpose tag, 4 bytes: a signature for one
//!                                     code can never be read as another's
//! center fingerprint, 32 bytes        SHA-256 of the center's Ed25519
//!                                     verification key: worthless at another center
//! [handshake hash, 32 bytes]          sign-on (8000) only: bound to one session
//! header, 41 bytes, repeat digit 0    so a retransmission keeps its signature
//! body
//! ```
//!
//! Business telegrams are self-authenticating: a terminal may sign them
//! offline and send them later in any session; the center's idempotency on
//! (sender, processing number) stops replays. Only the sign-on is bound to a
//! session. Verification uses `verify_strict` (no malleable or small-order
//! signatures, no weak keys).
//!
//! [`Signer`] is the only way to make a signed [`Telegram`]: it fills in the
//! header from the body and the situation (request, answer, notice, reject),
//! checks the catalog's rules, refuses a body a peer would refuse, and signs.

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::header::{CODE_OFFSET, Code, Function, Header, PartyId, PartyKind};
use crate::limits::{
    CENTER_FINGERPRINT_BYTES, CENTER_FINGERPRINT_SHORT_BYTES, HANDSHAKE_HASH_BYTES, HEADER_BYTES, MESSAGE_BYTES_MAX,
    PURPOSE_TAG_BYTES, SHA256_BYTES, SIGNATURE_BYTES,
};
use crate::reject::{Refused, RejectReason};
use crate::telegram::{Body, Reject, SignOn, Telegram, TelegramError};
use crate::wire::Text;

/// The first two bytes of every purpose tag: `DB`.
pub const PURPOSE_PREFIX: [u8; 2] = *b"DB";

/// Identifies a center: SHA-256 of its Ed25519 verification key. Every
/// signed message names it, so a telegram signed for one center is
/// worthless at another.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CenterFingerprint([u8; CENTER_FINGERPRINT_BYTES]);

impl CenterFingerprint {
    /// The fingerprint of the center whose verification key is `center_key`.
    pub fn of(center_key: &VerifyingKey) -> CenterFingerprint {
        CenterFingerprint(Sha256::digest(center_key.as_bytes()).into())
    }

    /// A fingerprint from its 32 bytes (as stored next to a pinned key).
    pub const fn from_bytes(bytes: [u8; CENTER_FINGERPRINT_BYTES]) -> CenterFingerprint {
        CenterFingerprint(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; CENTER_FINGERPRINT_BYTES] {
        &self.0
    }

    /// A form to read aloud and compare by eye: the first 10 bytes in RFC 4648
    /// base32, four groups of four, e.g. `MFRG-GZDF-MZTW-Q2LK`. (80 bits: enough
    /// to tell centers apart by hand, not a substitute for pinning the key.)
    pub fn short_form(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let bytes = &self.0[..CENTER_FINGERPRINT_SHORT_BYTES];
        let mut characters = Vec::with_capacity(CENTER_FINGERPRINT_SHORT_BYTES * 8 / 5);
        // 10 bytes are 80 bits: exactly 16 groups of 5 bits, no padding.
        for group in bytes.chunks(5) {
            let bits = group.iter().fold(0u64, |bits, &byte| (bits << 8) | u64::from(byte));
            for index in (0..8).rev() {
                characters.push(ALPHABET[((bits >> (index * 5)) & 31) as usize]);
            }
        }
        let text: Vec<String> =
            characters.chunks(4).map(|chunk| chunk.iter().map(|&byte| char::from(byte)).collect()).collect();
        text.join("-")
    }
}

impl fmt::Display for CenterFingerprint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.short_form())
    }
}

impl fmt::Debug for CenterFingerprint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "CenterFingerprint({})", self.short_form())
    }
}

/// The bytes Ed25519 signs for a telegram (see the module documentation).
fn signed_message(
    header: &[u8; HEADER_BYTES],
    body: &[u8],
    center: &CenterFingerprint,
    handshake_hash: Option<&[u8; HANDSHAKE_HASH_BYTES]>,
) -> Vec<u8> {
    let mut header = *header;
    let code = u16::from_be_bytes([header[CODE_OFFSET], header[CODE_OFFSET + 1]]);
    let base = code - code % 10;
    header[CODE_OFFSET..CODE_OFFSET + 2].copy_from_slice(&base.to_be_bytes());
    let mut message = Vec::with_capacity(
        PURPOSE_TAG_BYTES + CENTER_FINGERPRINT_BYTES + HANDSHAKE_HASH_BYTES + HEADER_BYTES + body.len(),
    );
    message.extend_from_slice(&PURPOSE_PREFIX);
    message.extend_from_slice(&base.to_be_bytes());
    message.extend_from_slice(center.as_bytes());
    if let Some(hash) = handshake_hash {
        message.extend_from_slice(hash);
    }
    message.extend_from_slice(&header);
    message.extend_from_slice(body);
    message
}

/// Bytes 0..32 and 40..64 of a placeholder signature; bytes 32..40 hold its
/// slot. As R, 32 bytes of 0xFF encode y = 2^255 - 1, which is not below p;
/// as S, a last byte of 0xFF makes S at least 2^255, which is not below the
/// group order. Neither is ever part of a signature `verify_strict` accepts.
const PLACEHOLDER_FILL: u8 = 0xFF;
const PLACEHOLDER_SLOT: std::ops::Range<usize> = 32..40;

fn placeholder(slot: u64) -> [u8; SIGNATURE_BYTES] {
    let mut signature = [PLACEHOLDER_FILL; SIGNATURE_BYTES];
    signature[PLACEHOLDER_SLOT].copy_from_slice(&slot.to_le_bytes());
    signature
}

/// The slot named by the placeholder signature of a telegram built with
/// [`Signer::center_later`], or `None` when `telegram` ends in anything else
/// (a real signature, zeros) or is too short to hold a signature.
pub fn placeholder_slot(telegram: &[u8]) -> Option<u64> {
    let start = telegram.len().checked_sub(SIGNATURE_BYTES)?;
    let signature = &telegram[start..];
    let filled = |range: &[u8]| range.iter().all(|&byte| byte == PLACEHOLDER_FILL);
    if !filled(&signature[..PLACEHOLDER_SLOT.start]) || !filled(&signature[PLACEHOLDER_SLOT.end..]) {
        return None;
    }
    let slot: [u8; 8] = signature[PLACEHOLDER_SLOT].try_into().expect("eight bytes");
    Some(u64::from_le_bytes(slot))
}

/// The signature [`Signer::center`] with `key` (whose fingerprint is
/// `center`) would have given `telegram`, a telegram built with
/// [`Signer::center_later`]: its header and body are signed exactly as
/// [`Signer::center`] signs them.
///
/// # Panics
/// When `telegram` is shorter than a header and a signature: it was not
/// built by a [`Signer`].
pub fn sign_later(key: &SigningKey, center: &CenterFingerprint, telegram: &[u8]) -> [u8; SIGNATURE_BYTES] {
    assert!(telegram.len() >= HEADER_BYTES + SIGNATURE_BYTES, "a telegram built by a Signer");
    let header: &[u8; HEADER_BYTES] = telegram[..HEADER_BYTES].try_into().expect("a whole header");
    let body = &telegram[HEADER_BYTES..telegram.len() - SIGNATURE_BYTES];
    key.sign(&signed_message(header, body, center, None)).to_bytes()
}

/// Puts `signature` in place of `telegram`'s last 64 bytes (its placeholder).
///
/// # Panics
/// When `telegram` is shorter than a signature.
pub fn seal_later(telegram: &mut [u8], signature: &[u8; SIGNATURE_BYTES]) {
    let start = telegram.len().checked_sub(SIGNATURE_BYTES).expect("a telegram ends in its signature");
    telegram[start..].copy_from_slice(signature);
}

/// Why a telegram could not be built. These are the caller's mistakes (a
/// body sent the wrong way, a reject sent by a terminal), never a peer's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// An anonymous party has no key; use [`Signer::anonymous`].
    #[error("an anonymous party cannot sign; use Signer::anonymous")]
    AnonymousCannotSign,
    /// The body is not of the function the builder makes (e.g. an answer body
    /// passed to `request`).
    #[error("telegram {code} is not a {expected}")]
    WrongFunction {
        /// The body's code.
        code: Code,
        /// What the builder makes.
        expected: Function,
    },
    /// A sign-on must be built with [`Signer::sign_on`], which binds the session.
    #[error("a sign-on needs the session's handshake hash; use Signer::sign_on")]
    SignOnNeedsHandshakeHash,
    /// The answer's code is not the request's code plus 10.
    #[error("telegram {answer} does not answer telegram {request}")]
    AnswerDoesNotMatch {
        /// The request's code.
        request: Code,
        /// The answer's code.
        answer: Code,
    },
    /// Answering a request that was addressed to someone else.
    #[error("the request is addressed to {recipient}, not to {signer}")]
    NotAddressedToSigner {
        /// Whom the request was for.
        recipient: PartyId,
        /// Who tried to answer.
        signer: PartyId,
    },
    /// The catalog forbids the sender/recipient pair, or the body breaks a
    /// rule a peer would refuse it for.
    #[error(transparent)]
    Invalid(#[from] TelegramError),
}

/// Why a signature was not accepted. All map to [`RejectReason::BadSignature`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The sender is anonymous: there is no signature to verify.
    #[error("anonymous telegrams carry no signature")]
    Anonymous,
    /// A sign-on can only be verified against the session's handshake hash.
    #[error("a sign-on is verified with verify_sign_on and the session's handshake hash")]
    HandshakeHashRequired,
    /// `verify_sign_on` on a telegram that is not a sign-on.
    #[error("telegram {code} is not a sign-on")]
    NotASignOn {
        /// The telegram's code.
        code: Code,
    },
    /// The signature does not verify under this key, center and code.
    #[error("the signature does not verify")]
    Invalid,
}

impl VerifyError {
    /// The reason the center gives when it refuses such a telegram.
    pub fn reject_reason(&self) -> RejectReason {
        RejectReason::BadSignature
    }
}

impl Telegram {
    /// Checks the signature of any telegram but a sign-on against the
    /// sender's verification key (for a registration: the key in its body).
    pub fn verify(&self, sender_key: &VerifyingKey, center: &CenterFingerprint) -> Result<(), VerifyError> {
        if self.code().base() == Code::SIGN_ON {
            return Err(VerifyError::HandshakeHashRequired);
        }
        self.verify_with(sender_key, center, None)
    }

    /// Checks a sign-on's signature, which must cover this session's
    /// handshake hash (so a sign-on recorded in one session fails in another).
    pub fn verify_sign_on(
        &self,
        sender_key: &VerifyingKey,
        center: &CenterFingerprint,
        handshake_hash: &[u8; HANDSHAKE_HASH_BYTES],
    ) -> Result<(), VerifyError> {
        if self.code().base() != Code::SIGN_ON {
            return Err(VerifyError::NotASignOn { code: self.code() });
        }
        self.verify_with(sender_key, center, Some(handshake_hash))
    }

    fn verify_with(
        &self,
        sender_key: &VerifyingKey,
        center: &CenterFingerprint,
        handshake_hash: Option<&[u8; HANDSHAKE_HASH_BYTES]>,
    ) -> Result<(), VerifyError> {
        if self.sender().kind() == PartyKind::Anonymous {
            return Err(VerifyError::Anonymous);
        }
        let message = signed_message(&self.header.encode(), self.body_bytes(), center, handshake_hash);
        let signature = Signature::from_bytes(&self.signature);
        sender_key.verify_strict(&message, &signature).map_err(|_| VerifyError::Invalid)
    }

    /// SHA-256 of the signed message, without the handshake hash for a
    /// sign-on. Two telegrams have the same digest exactly when they carry
    /// the same header (repeat digit aside) and body: the center's
    /// idempotency compares it to tell a retransmission (same digest) from a
    /// different telegram reusing a processing number.
    pub fn content_digest(&self, center: &CenterFingerprint) -> [u8; SHA256_BYTES] {
        Sha256::digest(signed_message(&self.header.encode(), self.body_bytes(), center, None)).into()
    }
}

/// Builds telegrams for one party: fills the header, checks the catalog's
/// rules and the body, and signs (or, for an anonymous party, appends the
/// 64 zero bytes). Ed25519 signing is deterministic: no randomness needed.
pub struct Signer<'key> {
    party: PartyId,
    seal: Seal<'key>,
}

/// How [`Signer`] fills a telegram's 64 signature bytes.
#[derive(Clone, Copy)]
enum Seal<'key> {
    /// 64 zero bytes: an applicant without a key.
    Zeros,
    /// Signed at once with the key, for the center of the fingerprint.
    Now(&'key SigningKey, CenterFingerprint),
    /// A placeholder naming a slot, signed afterwards with [`sign_later`].
    Later(u64),
}

impl fmt::Debug for Signer<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key itself stays out of Debug.
        formatter
            .debug_struct("Signer")
            .field("party", &self.party)
            .field(
                "center",
                &match self.seal {
                    Seal::Now(_, center) => Some(center),
                    Seal::Zeros | Seal::Later(_) => None,
                },
            )
            .finish()
    }
}

impl<'key> Signer<'key> {
    /// A member, store or operator signing with its key, for `center`.
    pub fn new(party: PartyId, key: &'key SigningKey, center: CenterFingerprint) -> Result<Self, BuildError> {
        match party.kind() {
            PartyKind::Anonymous => Err(BuildError::AnonymousCannotSign),
            _ => Ok(Signer { party, seal: Seal::Now(key, center) }),
        }
    }

    /// The center signing with its own key (its fingerprint follows from it).
    pub fn center(key: &'key SigningKey) -> Self {
        Signer { party: PartyId::CENTER, seal: Seal::Now(key, CenterFingerprint::of(&key.verifying_key())) }
    }

    /// The center, leaving the signature for later: the telegram carries a
    /// placeholder naming `slot` (see [`placeholder_slot`]) until
    /// [`sign_later`] computes the signature [`Signer::center`] would have
    /// given it and [`seal_later`] puts it in. The committer builds its
    /// answers and notices this way and has them signed on other threads
    /// while it applies the rest of the group. A placeholder is never a valid
    /// signature: both its halves are non-canonical, which `verify_strict`
    /// refuses.
    pub fn center_later(slot: u64) -> Signer<'static> {
        Signer { party: PartyId::CENTER, seal: Seal::Later(slot) }
    }

    /// An applicant without a key: telegrams get 64 zero bytes as signature.
    pub fn anonymous() -> Signer<'static> {
        Signer { party: PartyId::ANONYMOUS, seal: Seal::Zeros }
    }

    /// Who signs.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// A request to the center with the sender's own processing number
    /// (persist it before sending; reuse it, with [`Telegram::repeated`], to
    /// retransmit).
    pub fn request(
        &self,
        processing_number: u64,
        sent_at_ms: u64,
        body: impl Into<Body>,
    ) -> Result<Telegram, BuildError> {
        self.request_to(PartyId::CENTER, processing_number, sent_at_ms, body)
    }

    /// A request to `recipient`: only the center's echo probe goes anywhere
    /// but the center.
    pub fn request_to(
        &self,
        recipient: PartyId,
        processing_number: u64,
        sent_at_ms: u64,
        body: impl Into<Body>,
    ) -> Result<Telegram, BuildError> {
        let body = body.into();
        if body.code() == Code::SIGN_ON {
            return Err(BuildError::SignOnNeedsHandshakeHash);
        }
        self.build(recipient, processing_number, sent_at_ms, body, Function::Request, None)
    }

    /// A sign-on for the session whose Noise handshake hash is `handshake_hash`.
    pub fn sign_on(
        &self,
        processing_number: u64,
        sent_at_ms: u64,
        body: SignOn,
        handshake_hash: &[u8; HANDSHAKE_HASH_BYTES],
    ) -> Result<Telegram, BuildError> {
        self.build(PartyId::CENTER, processing_number, sent_at_ms, body.into(), Function::Request, Some(handshake_hash))
    }

    /// The answer to `request`: its code plus 10, addressed to its sender,
    /// echoing its processing number.
    pub fn answer(&self, request: &Header, sent_at_ms: u64, body: impl Into<Body>) -> Result<Telegram, BuildError> {
        let body = body.into();
        let request_code = request.code().base();
        if request_code.function() != Function::Request {
            return Err(BuildError::WrongFunction { code: request_code, expected: Function::Request });
        }
        if body.code().number() != request_code.number() + 10 {
            return Err(BuildError::AnswerDoesNotMatch { request: request_code, answer: body.code() });
        }
        if request.recipient() != self.party {
            return Err(BuildError::NotAddressedToSigner { recipient: request.recipient(), signer: self.party });
        }
        self.build(request.sender(), request.processing_number(), sent_at_ms, body, Function::Answer, None)
    }

    /// A notice (the center's): `mailbox_sequence` is the recipient's mailbox
    /// sequence number, which the terminal acknowledges with 8400.
    pub fn notice(
        &self,
        recipient: PartyId,
        mailbox_sequence: u64,
        sent_at_ms: u64,
        body: impl Into<Body>,
    ) -> Result<Telegram, BuildError> {
        self.build(recipient, mailbox_sequence, sent_at_ms, body.into(), Function::Notice, None)
    }

    /// A reject (the center's) of `refused` for `reason`, with `message` or
    /// the reason's default message (cut to `MESSAGE_BYTES_MAX` bytes on a
    /// character boundary).
    pub fn reject(
        &self,
        refused: &Refused,
        reason: RejectReason,
        message: Option<&str>,
        sent_at_ms: u64,
    ) -> Result<Telegram, BuildError> {
        let message = Text::<MESSAGE_BYTES_MAX>::truncated(message.unwrap_or(reason.message()));
        let body = Reject { reason, refused_code: refused.code(), message };
        self.build(refused.sender(), refused.processing_number(), sent_at_ms, body.into(), Function::Answer, None)
    }

    fn build(
        &self,
        recipient: PartyId,
        processing_number: u64,
        sent_at_ms: u64,
        body: Body,
        expected: Function,
        handshake_hash: Option<&[u8; HANDSHAKE_HASH_BYTES]>,
    ) -> Result<Telegram, BuildError> {
        let code = body.code();
        if code.function() != expected {
            return Err(BuildError::WrongFunction { code, expected });
        }
        code.rule().check_parties(code, self.party, recipient)?;
        let body_bytes = body.encode();
        let header = Header::assemble(
            code,
            self.party,
            recipient,
            processing_number,
            sent_at_ms,
            body.result_code(),
            body_bytes.len(),
        );
        // Never sign what a peer would refuse: the body must decode back to
        // itself and pass the same checks a receiver applies.
        let decoded = Body::decode(&header, &body_bytes)?;
        assert_eq!(decoded, body, "body encoding is not canonical for {code}");
        let header_bytes = header.encode();
        let signature = match self.seal {
            Seal::Zeros => [0u8; SIGNATURE_BYTES],
            Seal::Now(key, center) => {
                key.sign(&signed_message(&header_bytes, &body_bytes, &center, handshake_hash)).to_bytes()
            }
            Seal::Later(slot) => placeholder(slot),
        };
        let mut bytes = Vec::with_capacity(HEADER_BYTES + body_bytes.len() + SIGNATURE_BYTES);
        bytes.extend_from_slice(&header_bytes);
        bytes.extend_from_slice(&body_bytes);
        bytes.extend_from_slice(&signature);
        Ok(Telegram { header, body, signature, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_is_base32_of_the_first_ten_bytes() {
        // RFC 4648 test vector: "foobar" is MZXW6YTBOI; pad with zeros to 10 bytes.
        let mut bytes = [0u8; 32];
        bytes[..6].copy_from_slice(b"foobar");
        assert_eq!(CenterFingerprint::from_bytes(bytes).short_form(), "MZXW-6YTB-OIAA-AAAA");
        assert_eq!(CenterFingerprint::from_bytes([0xff; 32]).short_form(), "7777-7777-7777-7777");
    }

    #[test]
    fn messages_are_cut_on_character_boundaries() {
        assert_eq!(Text::<4>::truncated("電文").as_str(), "電");
        assert_eq!(Text::<6>::truncated("電文").as_str(), "電文");
        assert_eq!(Text::<0>::truncated("ab").as_str(), "");
    }
}
