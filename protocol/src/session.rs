//! Noise NK sessions: the handshake and the transport that follows it.
//!
//! Pattern `Noise_NK_25519_ChaChaPoly_BLAKE2s` through `snow`, with the
//! prologue [`PROLOGUE`]. The terminal is the initiator and pins the center's
//! static X25519 public key; the center is the responder and has no idea who
//! the terminal is until a signed telegram says so. Both handshake messages
//! carry an empty payload, so each is one ephemeral key and one tag
//! ([`HANDSHAKE_REQUEST_BYTES`], [`HANDSHAKE_RESPONSE_BYTES`]). After the
//! handshake, every frame is one transport message whose plaintext is one
//! telegram.
//!
//! No I/O, no clock, no randomness of our own: the caller passes the RNG, and
//! the handshake draws exactly one X25519 secret (32 bytes) from it per side.
//! snow wants a `'static` RNG object, which cannot borrow the caller's RNG, so
//! we draw those 32 bytes up front and hand snow an RNG that gives them out
//! once and then fails. snow never reaches the operating system's RNG.
//!
//! States consume `self` (rustls style): a handshake state is gone once it has
//! produced the next one, so it cannot be replayed by mistake.

use std::cell::Cell;
use std::fmt;

use rand_core::{CryptoRng, RngCore};
use snow::params::{CipherChoice, DHChoice, HashChoice, NoiseParams};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use zeroize::Zeroizing;

use crate::limits::{
    FRAME_BYTES_MAX, HANDSHAKE_HASH_BYTES, HANDSHAKE_REQUEST_BYTES, HANDSHAKE_RESPONSE_BYTES, NOISE_PUBLIC_KEY_BYTES,
    NOISE_SECRET_KEY_BYTES, NOISE_TAG_BYTES, TELEGRAM_BYTES_MAX,
};

/// The Noise protocol name. It is hashed into every handshake, so both ends
/// must use exactly these bytes.
pub const NOISE_PATTERN: &str = "Noise_NK_25519_ChaChaPoly_BLAKE2s";

/// The Noise prologue: names the protocol and its version. A peer that speaks
/// another version (or another protocol) derives other keys and fails the
/// handshake instead of misreading our telegrams.
pub const PROLOGUE: &[u8] = b"denbun telegram protocol v1";

// A transport message is the telegram plus one tag, and it must fit a frame.
const _: () = assert!(TELEGRAM_BYTES_MAX + NOISE_TAG_BYTES <= FRAME_BYTES_MAX);
// snow's own message limit is 65,535 bytes.
const _: () = assert!(FRAME_BYTES_MAX <= 65_535);

/// Why a handshake or transport step failed.
///
/// Any error from a handshake step ends that handshake (the state was
/// consumed). Any error from [`Transport::open`] ends the session: the caller
/// closes the connection without answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The first handshake message does not have exactly
    /// [`HANDSHAKE_REQUEST_BYTES`] bytes. Checked before any Diffie-Hellman.
    #[error("handshake request is {message_bytes} bytes, expected {HANDSHAKE_REQUEST_BYTES}")]
    RequestLength {
        /// Size of the message received.
        message_bytes: usize,
    },
    /// The second handshake message does not have exactly
    /// [`HANDSHAKE_RESPONSE_BYTES`] bytes. Checked before any Diffie-Hellman.
    #[error("handshake response is {message_bytes} bytes, expected {HANDSHAKE_RESPONSE_BYTES}")]
    ResponseLength {
        /// Size of the message received.
        message_bytes: usize,
    },
    /// A public key (the peer's ephemeral key, or the pinned center key) is
    /// zero or of low order, so a Diffie-Hellman with it would not depend on
    /// our secret.
    #[error("low-order X25519 public key")]
    LowOrderKey,
    /// A handshake message failed authentication: wrong center key, wrong
    /// prologue, or a modified message.
    #[error("handshake message failed authentication")]
    HandshakeFailed,
    /// [`Transport::seal`] was given more than [`TELEGRAM_BYTES_MAX`] bytes.
    #[error("telegram of {telegram_bytes} bytes exceeds the maximum of {TELEGRAM_BYTES_MAX}")]
    TelegramTooLarge {
        /// Size of the telegram refused.
        telegram_bytes: usize,
    },
    /// A transport message shorter than a tag or longer than a frame.
    #[error("transport message of {message_bytes} bytes is not between {NOISE_TAG_BYTES} and {FRAME_BYTES_MAX}")]
    MessageLength {
        /// Size of the message received.
        message_bytes: usize,
    },
    /// A transport message failed authentication (modified, replayed,
    /// reordered, or from another session).
    #[error("transport message failed authentication")]
    DecryptFailed,
    /// The transport already failed once; it refuses all further work.
    #[error("session closed after an earlier failure")]
    Closed,
    /// snow refused an operation that our own code should never ask wrongly
    /// (for example a nonce counter exhausted after 2^64 messages).
    #[error("the Noise state machine refused an operation")]
    Internal,
}

/// The center's static X25519 key pair for Noise.
///
/// A separate key from the center's Ed25519 signing key. The secret is wiped
/// when the value is dropped and never shown by `Debug`.
pub struct CenterNoiseKey {
    secret: Zeroizing<[u8; NOISE_SECRET_KEY_BYTES]>,
    public: [u8; NOISE_PUBLIC_KEY_BYTES],
}

impl CenterNoiseKey {
    /// Generates a new key pair from the caller's RNG.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut secret = Zeroizing::new([0_u8; NOISE_SECRET_KEY_BYTES]);
        rng.fill_bytes(&mut *secret);
        Self::from_secret_bytes(&secret)
    }

    /// Rebuilds the key pair from its 32 secret bytes (for example read from
    /// the center's key file). Every 32-byte string is a valid X25519 secret.
    pub fn from_secret_bytes(secret: &[u8; NOISE_SECRET_KEY_BYTES]) -> Self {
        Self { secret: Zeroizing::new(*secret), public: public_key_from_secret(secret) }
    }

    /// The secret bytes, for storing in the center's key file. Do not log,
    /// print or send them anywhere else.
    pub fn secret_bytes(&self) -> &[u8; NOISE_SECRET_KEY_BYTES] {
        &self.secret
    }

    /// The public key that terminals pin.
    pub fn public_key(&self) -> [u8; NOISE_PUBLIC_KEY_BYTES] {
        self.public
    }
}

impl fmt::Debug for CenterNoiseKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CenterNoiseKey")
            .field("public", &HexBytes(&self.public))
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The X25519 public key belonging to `secret` (clamped as RFC 7748 says,
/// exactly as snow does it).
pub fn public_key_from_secret(secret: &[u8; NOISE_SECRET_KEY_BYTES]) -> [u8; NOISE_PUBLIC_KEY_BYTES] {
    let secret = x25519_dalek::StaticSecret::from(*secret);
    x25519_dalek::PublicKey::from(&secret).to_bytes()
}

/// The terminal's side before the handshake: call [`Initiator::start`].
pub struct Initiator {
    center_static_public: [u8; NOISE_PUBLIC_KEY_BYTES],
}

impl Initiator {
    /// Prepares a handshake with the center whose static public key is
    /// pinned as `center_static_public`.
    pub fn new(center_static_public: &[u8; NOISE_PUBLIC_KEY_BYTES]) -> Self {
        Self { center_static_public: *center_static_public }
    }

    /// Writes the first handshake message (`-> e, es`, 48 bytes) with an
    /// ephemeral key drawn from `rng`.
    ///
    /// Fails with [`SessionError::LowOrderKey`] if the pinned center key is
    /// zero or of low order (a corrupt configuration: no real center has one).
    pub fn start(self, rng: &mut (impl RngCore + CryptoRng)) -> Result<(InitiatorAwaiting, Vec<u8>), SessionError> {
        let resolver = SessionResolver::from_rng(rng);
        let mut state = snow::Builder::with_resolver(noise_params(), Box::new(resolver))
            .prologue(PROLOGUE)
            .and_then(|builder| builder.remote_public_key(&self.center_static_public))
            .and_then(|builder| builder.build_initiator())
            .map_err(|_| SessionError::Internal)?;
        let mut request = vec![0_u8; HANDSHAKE_REQUEST_BYTES];
        let written_bytes = state.write_message(&[], &mut request).map_err(map_handshake_error)?;
        if written_bytes != HANDSHAKE_REQUEST_BYTES {
            return Err(SessionError::Internal);
        }
        Ok((InitiatorAwaiting { state }, request))
    }
}

impl fmt::Debug for Initiator {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Initiator")
            .field("center_static_public", &HexBytes(&self.center_static_public))
            .finish()
    }
}

/// The terminal's side after sending the first message, waiting for the
/// center's answer: call [`InitiatorAwaiting::finish`].
pub struct InitiatorAwaiting {
    state: snow::HandshakeState,
}

impl InitiatorAwaiting {
    /// Reads the second handshake message (`<- e, ee`, 48 bytes) and returns
    /// the transport. Any error ends the handshake.
    pub fn finish(mut self, response: &[u8]) -> Result<Transport, SessionError> {
        if response.len() != HANDSHAKE_RESPONSE_BYTES {
            return Err(SessionError::ResponseLength { message_bytes: response.len() });
        }
        let payload_bytes = self.state.read_message(response, &mut []).map_err(map_handshake_error)?;
        if payload_bytes != 0 || !self.state.is_handshake_finished() {
            return Err(SessionError::Internal);
        }
        Transport::from_handshake(self.state)
    }
}

impl fmt::Debug for InitiatorAwaiting {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("InitiatorAwaiting").finish_non_exhaustive()
    }
}

/// The center's side of one handshake: call [`Responder::respond`] with the
/// terminal's first message.
pub struct Responder {
    static_secret: Zeroizing<[u8; NOISE_SECRET_KEY_BYTES]>,
}

impl Responder {
    /// Prepares to answer one handshake with the center's static key.
    pub fn new(center_key: &CenterNoiseKey) -> Self {
        Self { static_secret: Zeroizing::new(*center_key.secret_bytes()) }
    }

    /// Reads the first handshake message and writes the second one (48 bytes,
    /// to send back), with an ephemeral key drawn from `rng`.
    ///
    /// A message of the wrong length is refused before any Diffie-Hellman
    /// (as WireGuard drops junk before doing work for it); a low-order
    /// ephemeral key, a wrong prologue or a modified message is refused too.
    pub fn respond(
        self,
        request: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Transport, Vec<u8>), SessionError> {
        if request.len() != HANDSHAKE_REQUEST_BYTES {
            return Err(SessionError::RequestLength { message_bytes: request.len() });
        }
        let resolver = SessionResolver::from_rng(rng);
        let mut state = snow::Builder::with_resolver(noise_params(), Box::new(resolver))
            .prologue(PROLOGUE)
            .and_then(|builder| builder.local_private_key(&*self.static_secret))
            .and_then(|builder| builder.build_responder())
            .map_err(|_| SessionError::Internal)?;
        let payload_bytes = state.read_message(request, &mut []).map_err(map_handshake_error)?;
        if payload_bytes != 0 {
            return Err(SessionError::Internal);
        }
        let mut response = vec![0_u8; HANDSHAKE_RESPONSE_BYTES];
        let written_bytes = state.write_message(&[], &mut response).map_err(map_handshake_error)?;
        if written_bytes != HANDSHAKE_RESPONSE_BYTES || !state.is_handshake_finished() {
            return Err(SessionError::Internal);
        }
        Ok((Transport::from_handshake(state)?, response))
    }
}

impl fmt::Debug for Responder {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Responder").finish_non_exhaustive()
    }
}

/// An established session: seals outgoing telegrams and opens incoming ones.
///
/// Messages must be opened in the order they were sealed (each carries an
/// implicit counter), so a replayed, dropped or reordered message fails.
/// After the first failure of [`Transport::open`] the transport refuses all
/// further work with [`SessionError::Closed`].
pub struct Transport {
    state: snow::TransportState,
    handshake_hash: [u8; HANDSHAKE_HASH_BYTES],
    closed: bool,
}

impl Transport {
    fn from_handshake(state: snow::HandshakeState) -> Result<Self, SessionError> {
        let handshake_hash =
            <[u8; HANDSHAKE_HASH_BYTES]>::try_from(state.get_handshake_hash()).map_err(|_| SessionError::Internal)?;
        let state = state.into_transport_mode().map_err(|_| SessionError::Internal)?;
        Ok(Self { state, handshake_hash, closed: false })
    }

    /// The Noise handshake hash: equal at both ends of one session, different
    /// for every session. The sign-on telegram signs it, which binds the
    /// sign-on to this session.
    pub fn handshake_hash(&self) -> [u8; HANDSHAKE_HASH_BYTES] {
        self.handshake_hash
    }

    /// Encrypts one telegram into one transport message (the payload of one
    /// frame), [`NOISE_TAG_BYTES`] longer than the telegram.
    ///
    /// Refuses a telegram over [`TELEGRAM_BYTES_MAX`] without changing the
    /// session.
    pub fn seal(&mut self, telegram: &[u8]) -> Result<Vec<u8>, SessionError> {
        if self.closed {
            return Err(SessionError::Closed);
        }
        if telegram.len() > TELEGRAM_BYTES_MAX {
            return Err(SessionError::TelegramTooLarge { telegram_bytes: telegram.len() });
        }
        let mut message = vec![0_u8; telegram.len() + NOISE_TAG_BYTES];
        match self.state.write_message(telegram, &mut message) {
            Ok(written_bytes) if written_bytes == message.len() => Ok(message),
            _ => {
                self.closed = true;
                Err(SessionError::Internal)
            }
        }
    }

    /// Decrypts one transport message (the payload of one frame) into one
    /// telegram.
    ///
    /// Any error means the peer is broken or hostile: the caller closes the
    /// connection without answering, and this transport refuses further work.
    pub fn open(&mut self, frame_payload: &[u8]) -> Result<Vec<u8>, SessionError> {
        if self.closed {
            return Err(SessionError::Closed);
        }
        // Checked before allocating: the buffer size follows from the length.
        if frame_payload.len() < NOISE_TAG_BYTES || frame_payload.len() > FRAME_BYTES_MAX {
            self.closed = true;
            return Err(SessionError::MessageLength { message_bytes: frame_payload.len() });
        }
        let mut telegram = vec![0_u8; frame_payload.len() - NOISE_TAG_BYTES];
        match self.state.read_message(frame_payload, &mut telegram) {
            Ok(read_bytes) if read_bytes == telegram.len() => Ok(telegram),
            Ok(_) => {
                self.closed = true;
                Err(SessionError::Internal)
            }
            Err(snow::Error::Decrypt) => {
                self.closed = true;
                Err(SessionError::DecryptFailed)
            }
            Err(_) => {
                self.closed = true;
                Err(SessionError::Internal)
            }
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Transport")
            .field("handshake_hash", &HexBytes(&self.handshake_hash))
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

fn noise_params() -> NoiseParams {
    // A constant string that snow's own tests parse: failing here is a bug in
    // this file, not bad input.
    NOISE_PATTERN.parse().expect("NOISE_PATTERN is a valid Noise protocol name")
}

fn map_handshake_error(error: snow::Error) -> SessionError {
    match error {
        // Our Dh refuses non-contributory results (see ContributoryX25519).
        snow::Error::Dh => SessionError::LowOrderKey,
        snow::Error::Decrypt => SessionError::HandshakeFailed,
        _ => SessionError::Internal,
    }
}

/// snow's primitives, except that randomness comes from the caller and X25519
/// refuses low-order keys.
struct SessionResolver {
    /// The one X25519 secret this handshake side needs, drawn from the
    /// caller's RNG; taken (once) by `resolve_rng`.
    entropy: Cell<Option<Zeroizing<[u8; NOISE_SECRET_KEY_BYTES]>>>,
}

impl SessionResolver {
    fn from_rng(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut entropy = Zeroizing::new([0_u8; NOISE_SECRET_KEY_BYTES]);
        rng.fill_bytes(&mut *entropy);
        Self { entropy: Cell::new(Some(entropy)) }
    }
}

impl CryptoResolver for SessionResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(CallerEntropy { entropy: self.entropy.take() }))
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        match choice {
            DHChoice::Curve25519 => Some(Box::new(ContributoryX25519::default())),
            _ => None,
        }
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

/// Hands out the caller's 32 bytes once, then fails: NK needs one ephemeral
/// key per side, and if snow ever asked for more we want an error, not a
/// silent fallback to some other source.
struct CallerEntropy {
    entropy: Option<Zeroizing<[u8; NOISE_SECRET_KEY_BYTES]>>,
}

impl Random for CallerEntropy {
    fn try_fill_bytes(&mut self, destination: &mut [u8]) -> Result<(), snow::Error> {
        match self.entropy.take() {
            Some(entropy) if destination.len() == entropy.len() => {
                destination.copy_from_slice(&*entropy);
                Ok(())
            }
            _ => Err(snow::Error::Rng),
        }
    }
}

/// X25519 through x25519-dalek (the same arithmetic snow's default uses),
/// with two differences: the secret is wiped on drop, and a Diffie-Hellman
/// whose result is all zero fails.
///
/// Why refuse low-order keys: the result of X25519 with a point of order 1, 2,
/// 4 or 8 (on the curve or its twist) is all zero whatever our secret is. A
/// terminal that sends such an ephemeral key makes `es` and `ee` constants, so
/// the session keys depend on public values only: anyone on the path could
/// read what the center then sends, and the handshake hash that the sign-on
/// signs would no longer be bound to the center's key. Noise allows skipping
/// the check for X25519, but we want every session key to depend on both
/// sides' secrets (contributory behaviour), and refusing costs nothing: we
/// test the DH output we compute anyway.
///
/// Why the zero output test is exact: x25519 clamps every scalar to a multiple
/// of 8 in [2^254, 2^255). A multiple of 8 kills any point whose order divides
/// 8 (curve) or 4 (twist). It cannot kill any other point, because the large
/// prime orders ℓ ≈ 2^252 (curve) and ℓ' ≈ 2^253 (twist) are odd, so a scalar
/// divisible by both 8 and ℓ (or ℓ') is at least 8ℓ > 2^255. Hence the result
/// is zero exactly when the public key is of low order, in any of its
/// encodings (including non-canonical ones and the ignored top bit).
struct ContributoryX25519 {
    secret: Zeroizing<[u8; NOISE_SECRET_KEY_BYTES]>,
    public: [u8; NOISE_PUBLIC_KEY_BYTES],
}

impl Default for ContributoryX25519 {
    fn default() -> Self {
        // snow calls `set` or `generate` before it uses a key, so this
        // placeholder is never used. It is not even a valid pair: deriving
        // the public key here would cost a scalar multiplication per key slot
        // per handshake, for nothing.
        Self { secret: Zeroizing::new([0_u8; NOISE_SECRET_KEY_BYTES]), public: [0_u8; NOISE_PUBLIC_KEY_BYTES] }
    }
}

impl Dh for ContributoryX25519 {
    fn name(&self) -> &'static str {
        "25519"
    }

    fn pub_len(&self) -> usize {
        NOISE_PUBLIC_KEY_BYTES
    }

    fn priv_len(&self) -> usize {
        NOISE_SECRET_KEY_BYTES
    }

    fn set(&mut self, secret: &[u8]) {
        // Only this file passes secrets to snow, always as 32-byte arrays.
        let secret: &[u8; NOISE_SECRET_KEY_BYTES] = secret.try_into().expect("X25519 secrets are 32 bytes");
        *self.secret = *secret;
        self.public = public_key_from_secret(secret);
    }

    fn generate(&mut self, rng: &mut dyn Random) -> Result<(), snow::Error> {
        let mut secret = Zeroizing::new([0_u8; NOISE_SECRET_KEY_BYTES]);
        rng.try_fill_bytes(&mut *secret)?;
        self.set(&*secret);
        Ok(())
    }

    fn pubkey(&self) -> &[u8] {
        &self.public
    }

    fn privkey(&self) -> &[u8] {
        &*self.secret
    }

    fn dh(&self, their_public: &[u8], output: &mut [u8]) -> Result<(), snow::Error> {
        // snow passes its whole key buffer (longer than 32 bytes for other
        // curves); the key is the first 32 bytes.
        let their_public = their_public.first_chunk::<NOISE_PUBLIC_KEY_BYTES>().ok_or(snow::Error::Dh)?;
        let output = output.get_mut(..NOISE_PUBLIC_KEY_BYTES).ok_or(snow::Error::Dh)?;
        let secret = x25519_dalek::StaticSecret::from(*self.secret);
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*their_public));
        if !shared.was_contributory() {
            return Err(snow::Error::Dh);
        }
        output.copy_from_slice(shared.as_bytes());
        Ok(())
    }
}

/// Formats public bytes as lowercase hex in `Debug` output.
struct HexBytes<'a>(&'a [u8]);

impl fmt::Debug for HexBytes<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(formatter, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn caller_entropy_gives_its_bytes_once() {
        let mut entropy = CallerEntropy { entropy: Some(Zeroizing::new([7; NOISE_SECRET_KEY_BYTES])) };
        let mut first = [0_u8; NOISE_SECRET_KEY_BYTES];
        assert!(entropy.try_fill_bytes(&mut first).is_ok());
        assert_eq!(first, [7; NOISE_SECRET_KEY_BYTES]);
        let mut second = [0_u8; NOISE_SECRET_KEY_BYTES];
        assert_eq!(entropy.try_fill_bytes(&mut second), Err(snow::Error::Rng));
    }

    #[test]
    fn caller_entropy_refuses_a_request_of_another_size() {
        let mut entropy = CallerEntropy { entropy: Some(Zeroizing::new([7; NOISE_SECRET_KEY_BYTES])) };
        let mut short = [0_u8; 16];
        assert_eq!(entropy.try_fill_bytes(&mut short), Err(snow::Error::Rng));
    }

    #[test]
    fn resolver_hands_out_entropy_only_to_the_first_rng() {
        let resolver = SessionResolver::from_rng(&mut ChaCha20Rng::seed_from_u64(1));
        let mut first = resolver.resolve_rng().unwrap();
        let mut second = resolver.resolve_rng().unwrap();
        let mut buffer = [0_u8; NOISE_SECRET_KEY_BYTES];
        assert!(first.try_fill_bytes(&mut buffer).is_ok());
        assert_eq!(second.try_fill_bytes(&mut buffer), Err(snow::Error::Rng));
    }

    #[test]
    fn contributory_dh_matches_x25519_and_refuses_zero() {
        let mut alice = ContributoryX25519::default();
        alice.set(&[1; NOISE_SECRET_KEY_BYTES]);
        let mut bob = ContributoryX25519::default();
        bob.set(&[2; NOISE_SECRET_KEY_BYTES]);
        let mut alice_shared = [0_u8; 56];
        let mut bob_shared = [0_u8; 56];
        alice.dh(bob.pubkey(), &mut alice_shared).unwrap();
        bob.dh(alice.pubkey(), &mut bob_shared).unwrap();
        assert_eq!(alice_shared, bob_shared);
        assert_ne!(alice_shared[..32], [0; 32]);
        assert_eq!(alice.dh(&[0; NOISE_PUBLIC_KEY_BYTES], &mut alice_shared), Err(snow::Error::Dh));
        assert_eq!(alice.dh(&[0; 8], &mut alice_shared), Err(snow::Error::Dh));
    }

    #[test]
    fn debug_of_the_center_key_hides_the_secret() {
        let key = CenterNoiseKey::from_secret_bytes(&[0xab; NOISE_SECRET_KEY_BYTES]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("abababab"), "{shown}");
        assert!(!shown.contains("171, 171"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn transport_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Transport>();
        assert_send::<InitiatorAwaiting>();
        assert_send::<Responder>();
        assert_send::<CenterNoiseKey>();
    }
}
