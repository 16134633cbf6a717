//! Telegrams end to end: every code round-trips, accepted input is canonical,
//! arbitrary bytes never panic, and each kind of bad input is refused with
//! its own error (one test each).

use denbun_protocol::header::{Code, Function, Header, PartyId, PartyKind, StoreNumber};
use denbun_protocol::limits::{
    AMOUNT_YEN_MAX, HANDSHAKE_HASH_BYTES, HEADER_BYTES, ORDER_LINES_MAX, SIGNATURE_BYTES, SOFTWARE_VERSION_BYTES_MAX,
    TELEGRAM_BYTES_MAX,
};
use denbun_protocol::reject::{Refused, RejectReason};
use denbun_protocol::sign::{
    BuildError, CenterFingerprint, Signer, VerifyError, placeholder_slot, seal_later, sign_later,
};
use denbun_protocol::telegram::sample::Sample;
use denbun_protocol::telegram::{
    ActivationCode, Applicant, Application, Body, CATALOG, CardRequest, Echo, EchoAnswer, FundingChannel, GuideRequest,
    GuideTopic, OrderLine, PaymentAnswer, PaymentInstruction, PersonalData, Registration, SignOff, SignOn, Telegram,
    TelegramError, order_total,
};
use denbun_protocol::wire::{Amount, Date, DecodeErrorKind, List, Text, Yen};
use ed25519_dalek::{SigningKey, VerifyingKey};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const SENT_AT_MS: u64 = 1_735_689_600_000;
const HANDSHAKE_HASH: [u8; HANDSHAKE_HASH_BYTES] = [0x48; HANDSHAKE_HASH_BYTES];
const OTHER_HANDSHAKE_HASH: [u8; HANDSHAKE_HASH_BYTES] = [0x49; HANDSHAKE_HASH_BYTES];

/// Fixed keys: the center, and one key per kind of terminal.
struct Keys {
    center: SigningKey,
    member: SigningKey,
    store: SigningKey,
    operator: SigningKey,
    /// Build the center's telegrams with `Signer::center_later(slot)` instead.
    center_later: Option<u64>,
}

impl Keys {
    fn new() -> Self {
        Keys {
            center: SigningKey::from_bytes(&[0x43; 32]),
            member: SigningKey::from_bytes(&[0x4d; 32]),
            store: SigningKey::from_bytes(&[0x53; 32]),
            operator: SigningKey::from_bytes(&[0x4f; 32]),
            center_later: None,
        }
    }

    fn fingerprint(&self) -> CenterFingerprint {
        CenterFingerprint::of(&self.center.verifying_key())
    }

    fn key_of(&self, kind: PartyKind) -> Option<&SigningKey> {
        match kind {
            PartyKind::Anonymous => None,
            PartyKind::Member => Some(&self.member),
            PartyKind::Store => Some(&self.store),
            PartyKind::Operator => Some(&self.operator),
            PartyKind::Center => Some(&self.center),
        }
    }

    fn signer(&self, party: PartyId) -> Signer<'_> {
        match party.kind() {
            PartyKind::Anonymous => Signer::anonymous(),
            PartyKind::Center => match self.center_later {
                Some(slot) => Signer::center_later(slot),
                None => Signer::center(&self.center),
            },
            kind => Signer::new(party, self.key_of(kind).expect("numbered kinds have keys"), self.fingerprint())
                .expect("not anonymous"),
        }
    }

    fn member(&self) -> Signer<'_> {
        self.signer(PartyId::member(123).unwrap())
    }

    fn center(&self) -> Signer<'_> {
        Signer::center(&self.center)
    }
}

fn party_of(kind: PartyKind, rng: &mut dyn RngCore) -> PartyId {
    let number = if kind.is_numbered() { 1 + rng.next_u64() % 99_999_999 } else { 0 };
    PartyId::new(kind, number).expect("number fits the kind")
}

/// A permitted (sender, recipient) pair for `code`, drawn at random.
fn parties_for(code: Code, rng: &mut dyn RngCore) -> (PartyId, PartyId) {
    let rule = code.rule();
    let pairs: Vec<(PartyKind, PartyKind)> = rule
        .senders
        .iter()
        .flat_map(|sender| rule.recipients.iter().map(move |recipient| (*sender, *recipient)))
        .filter(|(sender, recipient)| rule.permits(*sender, *recipient))
        .collect();
    let (sender, recipient) = pairs[(rng.next_u64() % pairs.len() as u64) as usize];
    (party_of(sender, rng), party_of(recipient, rng))
}

/// Builds a random telegram of `code` the way a real sender would: requests
/// with `request_to`/`sign_on`, answers by answering a request, notices with
/// `notice`, rejects with `reject`. Samples again (boundedly) when a sampled
/// body does not fit the sender (a registration's store details).
fn sample_telegram(keys: &Keys, code: Code, rng: &mut dyn RngCore) -> Telegram {
    for _attempt in 0..32 {
        if let Ok(telegram) = try_sample_telegram(keys, code, rng) {
            return telegram;
        }
    }
    panic!("no valid sample for {code} in 32 attempts: the sampler is broken");
}

fn try_sample_telegram(keys: &Keys, code: Code, rng: &mut dyn RngCore) -> Result<Telegram, BuildError> {
    let (sender, recipient) = parties_for(code, rng);
    let processing_number = u64::sample(rng);
    let sent_at_ms = u64::sample(rng);
    let body = Body::sample(code, rng);
    let signer = keys.signer(sender);
    match code.function() {
        Function::Request if code == Code::SIGN_ON => {
            let Body::SignOn(sign_on) = body else { unreachable!("sampled for {code}") };
            signer.sign_on(processing_number, sent_at_ms, sign_on, &HANDSHAKE_HASH)
        }
        Function::Request => signer.request_to(recipient, processing_number, sent_at_ms, body),
        Function::Notice => signer.notice(recipient, processing_number, sent_at_ms, body),
        Function::Answer if code == Code::REJECT => {
            let Body::Reject(reject) = body else { unreachable!("sampled for {code}") };
            let request_code = CATALOG[(rng.next_u64() % CATALOG.len() as u64) as usize].code;
            let request = try_sample_telegram(keys, request_code, rng)?;
            let refused = Refused::from_header(request.header());
            signer.reject(&refused, reject.reason, Some(reject.message.as_str()), sent_at_ms)
        }
        Function::Answer => {
            let request_code = Code::from_number(code.number() - 10).expect("every answer has a request");
            let request_body = Body::sample(request_code, rng);
            // The request goes the other way: from this answer's recipient to its sender.
            let request = if request_code == Code::SIGN_ON {
                let Body::SignOn(sign_on) = request_body else { unreachable!() };
                keys.signer(recipient).sign_on(processing_number, sent_at_ms, sign_on, &HANDSHAKE_HASH)?
            } else {
                keys.signer(recipient).request_to(sender, processing_number, sent_at_ms, request_body)?
            };
            signer.answer(request.header(), sent_at_ms, body)
        }
    }
}

fn verifying_key(keys: &Keys, telegram: &Telegram) -> Option<VerifyingKey> {
    keys.key_of(telegram.sender().kind()).map(SigningKey::verifying_key)
}

/// Checks the signature the way the center does.
fn check_signature(keys: &Keys, telegram: &Telegram) -> Result<(), VerifyError> {
    let Some(key) = verifying_key(keys, telegram) else {
        return Err(VerifyError::Anonymous);
    };
    if telegram.code().base() == Code::SIGN_ON {
        telegram.verify_sign_on(&key, &keys.fingerprint(), &HANDSHAKE_HASH)
    } else {
        telegram.verify(&key, &keys.fingerprint())
    }
}

fn assert_round_trip(keys: &Keys, telegram: &Telegram) {
    let decoded = Telegram::decode(telegram.as_bytes()).unwrap_or_else(|error| panic!("{}: {error}", telegram.code()));
    assert_eq!(&decoded, telegram);
    assert_eq!(decoded.as_bytes(), telegram.as_bytes());
    assert_eq!(decoded.header().body_length() + HEADER_BYTES + SIGNATURE_BYTES, telegram.as_bytes().len());
    assert!(telegram.as_bytes().len() <= TELEGRAM_BYTES_MAX);
    match telegram.sender().kind() {
        PartyKind::Anonymous => {
            assert_eq!(telegram.signature(), &[0u8; SIGNATURE_BYTES]);
            assert_eq!(check_signature(keys, telegram), Err(VerifyError::Anonymous));
        }
        _ => assert_eq!(check_signature(keys, telegram), Ok(()), "{}", telegram.code()),
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

#[test]
fn every_code_round_trips_and_verifies() {
    let keys = Keys::new();
    for rule in CATALOG {
        for seed in 0..16 {
            let telegram = sample_telegram(&keys, rule.code, &mut rng(seed));
            assert_eq!(telegram.code(), rule.code);
            assert_round_trip(&keys, &telegram);
        }
    }
}

/// The committer builds a group's answers and notices with placeholders and
/// signs them together afterwards: what it sends must be, byte for byte,
/// what signing at once gives, and a placeholder must never verify.
#[test]
fn a_center_telegram_signed_later_is_the_one_signed_at_once() {
    let keys = Keys::new();
    let mut checked = 0;
    for rule in CATALOG {
        for seed in 0..8 {
            let signed = sample_telegram(&keys, rule.code, &mut rng(seed));
            if signed.sender().kind() != PartyKind::Center {
                continue;
            }
            let slot = seed * 1_000_003 + u64::from(rule.code.number());
            let later = Keys { center_later: Some(slot), ..Keys::new() };
            let placeholder = sample_telegram(&later, rule.code, &mut rng(seed));
            assert_eq!(placeholder.header(), signed.header(), "{}", rule.code);
            assert_eq!(placeholder_slot(placeholder.as_bytes()), Some(slot), "{}", rule.code);
            assert_eq!(placeholder_slot(signed.as_bytes()), None, "{}", rule.code);
            assert!(check_signature(&keys, &placeholder).is_err(), "a placeholder verified for {}", rule.code);
            let decoded = Telegram::decode(placeholder.as_bytes()).expect("a placeholder telegram decodes");
            assert_eq!(decoded.body(), signed.body());
            let mut bytes = placeholder.as_bytes().to_vec();
            let signature = sign_later(&keys.center, &keys.fingerprint(), &bytes);
            seal_later(&mut bytes, &signature);
            assert_eq!(bytes, signed.as_bytes(), "{}", rule.code);
            checked += 1;
        }
    }
    assert!(checked >= 8 * 10, "only {checked} center telegrams sampled");
}

#[test]
fn a_placeholder_is_found_only_where_a_signer_put_one() {
    assert_eq!(placeholder_slot(&[]), None);
    assert_eq!(placeholder_slot(&[0xFF; SIGNATURE_BYTES - 1]), None);
    assert_eq!(placeholder_slot(&[0xFF; SIGNATURE_BYTES]), Some(u64::MAX));
    let mut almost = [0xFF; SIGNATURE_BYTES];
    almost[SIGNATURE_BYTES - 1] = 0x0F;
    assert_eq!(placeholder_slot(&almost), None, "a canonical S is a real signature's");
    almost = [0xFF; SIGNATURE_BYTES];
    almost[0] = 0xEC;
    assert_eq!(placeholder_slot(&almost), None, "a canonical R is a real signature's");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decode_of_encode_is_identity(code_index in 0..CATALOG.len(), seed: u64) {
        let keys = Keys::new();
        let telegram = sample_telegram(&keys, CATALOG[code_index].code, &mut rng(seed));
        assert_round_trip(&keys, &telegram);
    }

    #[test]
    fn accepted_input_is_canonical(
        code_index in 0..CATALOG.len(),
        seed: u64,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        // Valid telegrams with a few bytes changed (and perhaps cut short):
        // whatever still decodes must be exactly its own canonical encoding.
        let keys = Keys::new();
        let mut bytes = sample_telegram(&keys, CATALOG[code_index].code, &mut rng(seed)).into_bytes();
        for (position, value) in edits {
            let index = position % bytes.len();
            bytes[index] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        if let Ok(telegram) = Telegram::decode(&bytes) {
            prop_assert_eq!(telegram.as_bytes(), &bytes[..]);
            prop_assert_eq!(Telegram::decode(telegram.as_bytes()), Ok(telegram.clone()));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2_048)) {
        if let Ok(telegram) = Telegram::decode(&bytes) {
            prop_assert_eq!(telegram.as_bytes(), &bytes[..]);
        }
        let _ = Header::decode(&bytes);
        let refused = Refused::from_bytes(&bytes);
        prop_assert!(refused.code() <= 9_999);
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_header_never_panic(
        code_index in 0..CATALOG.len(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        // A valid header makes the decoder reach every body layout.
        let keys = Keys::new();
        let telegram = sample_telegram(&keys, CATALOG[code_index].code, &mut rng(code_index as u64));
        let bytes = with_body(&telegram, &body);
        if let Ok(decoded) = Telegram::decode(&bytes) {
            prop_assert_eq!(decoded.as_bytes(), &bytes[..]);
        }
    }
}

/// `telegram`'s header (with the body length adjusted) and signature around `body`.
fn with_body(telegram: &Telegram, body: &[u8]) -> Vec<u8> {
    let mut bytes = telegram.as_bytes()[..HEADER_BYTES].to_vec();
    bytes[HEADER_BYTES - 2..].copy_from_slice(&(body.len() as u16).to_be_bytes());
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(telegram.signature());
    bytes
}

fn body_error(bytes: &[u8]) -> DecodeErrorKind {
    match Telegram::decode(bytes) {
        Err(TelegramError::Body { error, .. }) => error.kind,
        other => panic!("expected a body error, got {other:?}"),
    }
}

fn payment(keys: &Keys) -> Telegram {
    let lines = vec![
        OrderLine { item_id: 1, quantity: 2, unit_price: Amount::new(300).unwrap() },
        OrderLine { item_id: 9, quantity: 1, unit_price: Amount::new(50).unwrap() },
    ];
    let total = order_total(&lines).unwrap();
    let body = PaymentInstruction {
        transaction_number: 0x0123_4567_89ab_cdef,
        store: StoreNumber::new(7).unwrap(),
        catalog_version: 5,
        lines: List::new(lines).unwrap(),
        total,
    };
    keys.member().request(41, SENT_AT_MS, body).unwrap()
}

fn echo(keys: &Keys) -> Telegram {
    keys.member().request(42, SENT_AT_MS, Echo {}).unwrap()
}

fn application() -> Telegram {
    let body = Application {
        applicant: Applicant::Member,
        personal: PersonalData {
            name: Text::new("Yamada Taro").unwrap(),
            address: Text::new("1-2-3 Chiyoda, Tokyo").unwrap(),
            date_of_birth: Date::new(1970, 1, 31).unwrap(),
        },
        agreement_version: 1,
    };
    Signer::anonymous().request(1, SENT_AT_MS, body).unwrap()
}

#[test]
fn unknown_code_is_refused() {
    let keys = Keys::new();
    let mut bytes = echo(&keys).into_bytes();
    for code in [4500u16, 8120, 10_000, u16::MAX] {
        bytes[1..3].copy_from_slice(&code.to_be_bytes());
        let error = Telegram::decode(&bytes).unwrap_err();
        assert_eq!(error, TelegramError::UnknownCode { code });
        assert_eq!(error.reject_reason(), RejectReason::UnknownCode);
    }
}

#[test]
fn unknown_version_is_refused() {
    let keys = Keys::new();
    for version in [0u8, 2, 255] {
        let mut bytes = echo(&keys).into_bytes();
        bytes[0] = version;
        let error = Telegram::decode(&bytes).unwrap_err();
        assert_eq!(error, TelegramError::UnsupportedVersion { version });
        assert_eq!(error.reject_reason(), RejectReason::UnsupportedVersion);
    }
    // The version is read first, so even a one-byte input says so.
    assert_eq!(Telegram::decode(&[2]), Err(TelegramError::UnsupportedVersion { version: 2 }));
}

#[test]
fn over_long_string_is_refused() {
    let keys = Keys::new();
    let sign_on = SignOn { software_version: Text::new("denbun 0.1.0").unwrap() };
    let telegram = keys.member().sign_on(1, SENT_AT_MS, sign_on, &HANDSHAKE_HASH).unwrap();
    let length = SOFTWARE_VERSION_BYTES_MAX + 1;
    let mut body = (length as u16).to_be_bytes().to_vec();
    body.extend(std::iter::repeat_n(b'a', length));
    assert_eq!(
        body_error(&with_body(&telegram, &body)),
        DecodeErrorKind::TooLong { length, max: SOFTWARE_VERSION_BYTES_MAX }
    );
    assert!(Text::<SOFTWARE_VERSION_BYTES_MAX>::new("a".repeat(length)).is_err());
}

#[test]
fn invalid_utf8_is_refused() {
    let keys = Keys::new();
    let sign_on = SignOn { software_version: Text::new("ok").unwrap() };
    let telegram = keys.member().sign_on(1, SENT_AT_MS, sign_on, &HANDSHAKE_HASH).unwrap();
    assert_eq!(body_error(&with_body(&telegram, &[0, 2, 0xc3, 0x28])), DecodeErrorKind::InvalidUtf8);
}

#[test]
fn amount_zero_and_u64_max_are_refused() {
    let keys = Keys::new();
    let request = CardRequest { amount: Amount::new(10_000).unwrap(), channel: FundingChannel::BankTransfer };
    let telegram = keys.member().request(3, SENT_AT_MS, request).unwrap();
    for yen in [0u64, AMOUNT_YEN_MAX + 1, u64::MAX] {
        let mut body = yen.to_be_bytes().to_vec();
        body.push(FundingChannel::BankTransfer as u8);
        assert_eq!(body_error(&with_body(&telegram, &body)), DecodeErrorKind::InvalidValue { value: yen });
        assert!(Amount::new(yen).is_err());
    }
    let mut body = AMOUNT_YEN_MAX.to_be_bytes().to_vec();
    body.push(FundingChannel::BankTransfer as u8);
    assert!(Telegram::decode(&with_body(&telegram, &body)).is_ok());
}

#[test]
fn list_over_its_maximum_is_refused() {
    let keys = Keys::new();
    let telegram = payment(&keys);
    // transaction number, store, catalog version, then the line count.
    let mut body = telegram.as_bytes()[HEADER_BYTES..HEADER_BYTES + 20].to_vec();
    body.extend_from_slice(&(ORDER_LINES_MAX as u16 + 1).to_be_bytes());
    body.extend(std::iter::repeat_n(0u8, 14 * (ORDER_LINES_MAX + 1) + 8));
    assert_eq!(body_error(&with_body(&telegram, &body)), DecodeErrorKind::TooMany { count: 33, max: ORDER_LINES_MAX });
    let lines = vec![OrderLine { item_id: 1, quantity: 1, unit_price: Amount::new(1).unwrap() }; ORDER_LINES_MAX + 1];
    assert!(List::<OrderLine, ORDER_LINES_MAX>::new(lines).is_err());
}

#[test]
fn payment_total_must_be_the_sum_of_its_lines() {
    let keys = Keys::new();
    let Body::PaymentInstruction(mut body) = payment(&keys).into_body() else { unreachable!() };
    body.total = Amount::new(body.total.get() + 1).unwrap();
    let built = keys.member().request(41, SENT_AT_MS, body);
    assert!(matches!(built, Err(BuildError::Invalid(TelegramError::InvalidBody { .. }))), "{built:?}");
}

#[test]
fn non_zero_signature_on_an_anonymous_telegram_is_refused() {
    let mut bytes = application().into_bytes();
    let last = bytes.len() - 1;
    bytes[last] = 1;
    let error = Telegram::decode(&bytes).unwrap_err();
    assert_eq!(error, TelegramError::AnonymousWithSignature);
    assert_eq!(error.reject_reason(), RejectReason::BadSignature);
}

#[test]
fn zero_signature_on_a_signed_telegram_is_refused() {
    let keys = Keys::new();
    let mut bytes = echo(&keys).into_bytes();
    let length = bytes.len();
    bytes[length - SIGNATURE_BYTES..].fill(0);
    assert_eq!(Telegram::decode(&bytes), Err(TelegramError::Unsigned));
}

#[test]
fn signature_by_the_wrong_key_is_refused() {
    let keys = Keys::new();
    let impostor = SigningKey::from_bytes(&[0x66; 32]);
    let telegram = Signer::new(PartyId::member(123).unwrap(), &impostor, keys.fingerprint())
        .unwrap()
        .request(41, SENT_AT_MS, Echo {})
        .unwrap();
    let decoded = Telegram::decode(telegram.as_bytes()).unwrap();
    assert_eq!(decoded.verify(&keys.member.verifying_key(), &keys.fingerprint()), Err(VerifyError::Invalid));
    assert_eq!(decoded.verify(&impostor.verifying_key(), &keys.fingerprint()), Ok(()));
}

#[test]
fn malleated_signature_is_refused() {
    // S + L (the group order) verifies under a lax check; verify_strict refuses it.
    const GROUP_ORDER: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let keys = Keys::new();
    let telegram = payment(&keys);
    let mut bytes = telegram.as_bytes().to_vec();
    let s_start = bytes.len() - 32;
    let mut carry = 0u16;
    for (index, order_byte) in GROUP_ORDER.iter().enumerate() {
        let sum = u16::from(bytes[s_start + index]) + u16::from(*order_byte) + carry;
        bytes[s_start + index] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S < L < 2^253, so S + L fits in 32 bytes");
    assert_ne!(&bytes, telegram.as_bytes());
    let malleated = Telegram::decode(&bytes).unwrap();
    assert_eq!(malleated.verify(&keys.member.verifying_key(), &keys.fingerprint()), Err(VerifyError::Invalid));
}

#[test]
fn signature_for_one_code_presented_under_another_is_refused() {
    // Echo (8100) and sign-off (8200) both have empty bodies and may both go
    // from a member to the center: only the purpose tag tells them apart.
    let keys = Keys::new();
    let mut bytes = echo(&keys).into_bytes();
    bytes[1..3].copy_from_slice(&Code::SIGN_OFF.number().to_be_bytes());
    let relabelled = Telegram::decode(&bytes).unwrap();
    assert_eq!(relabelled.body(), &Body::SignOff(SignOff {}));
    assert_eq!(relabelled.verify(&keys.member.verifying_key(), &keys.fingerprint()), Err(VerifyError::Invalid));
}

#[test]
fn telegram_signed_for_another_center_is_refused() {
    let keys = Keys::new();
    let telegram = payment(&keys);
    let other_center = CenterFingerprint::of(&SigningKey::from_bytes(&[0x44; 32]).verifying_key());
    assert_eq!(telegram.verify(&keys.member.verifying_key(), &other_center), Err(VerifyError::Invalid));
    assert_eq!(telegram.verify(&keys.member.verifying_key(), &keys.fingerprint()), Ok(()));
}

#[test]
fn sign_on_replayed_into_another_session_is_refused() {
    let keys = Keys::new();
    let sign_on = SignOn { software_version: Text::new("denbun 0.1.0").unwrap() };
    let telegram = keys.member().sign_on(7, SENT_AT_MS, sign_on, &HANDSHAKE_HASH).unwrap();
    let replayed = Telegram::decode(telegram.as_bytes()).unwrap();
    let key = keys.member.verifying_key();
    assert_eq!(replayed.verify_sign_on(&key, &keys.fingerprint(), &HANDSHAKE_HASH), Ok(()));
    assert_eq!(replayed.verify_sign_on(&key, &keys.fingerprint(), &OTHER_HANDSHAKE_HASH), Err(VerifyError::Invalid));
    // Verifying a sign-on without a session is a mistake the API refuses.
    assert_eq!(replayed.verify(&key, &keys.fingerprint()), Err(VerifyError::HandshakeHashRequired));
    assert_eq!(
        echo(&keys).verify_sign_on(&key, &keys.fingerprint(), &HANDSHAKE_HASH),
        Err(VerifyError::NotASignOn { code: Code::ECHO })
    );
}

#[test]
fn retransmission_flag_keeps_the_signature_valid() {
    let keys = Keys::new();
    let original = payment(&keys);
    let repeated = original.repeated().expect("a request can be repeated");
    assert_eq!(repeated.code().number(), 4001);
    assert!(repeated.code().is_repeat());
    let decoded = Telegram::decode(repeated.as_bytes()).unwrap();
    assert_eq!(decoded, repeated);
    assert_eq!(decoded.verify(&keys.member.verifying_key(), &keys.fingerprint()), Ok(()));
    // Same content digest: the center recognises the retransmission.
    assert_eq!(decoded.content_digest(&keys.fingerprint()), original.content_digest(&keys.fingerprint()));
    let differing: Vec<usize> = (0..original.as_bytes().len())
        .filter(|&index| original.as_bytes()[index] != repeated.as_bytes()[index])
        .collect();
    assert_eq!(differing, [2], "only the code's last byte differs");
    // A different telegram with the same processing number has another digest.
    let other = keys.member().request(41, SENT_AT_MS, Echo {}).unwrap();
    assert_ne!(other.content_digest(&keys.fingerprint()), original.content_digest(&keys.fingerprint()));
}

#[test]
fn answers_and_notices_cannot_be_repeated() {
    let keys = Keys::new();
    let request = payment(&keys);
    let answer = keys
        .center()
        .answer(
            request.header(),
            SENT_AT_MS,
            PaymentAnswer { transaction_number: 1, total: Amount::new(650).unwrap(), balance: Yen::new(350).unwrap() },
        )
        .unwrap();
    assert!(answer.repeated().is_none());
    let mut bytes = answer.into_bytes();
    bytes[1..3].copy_from_slice(&4011u16.to_be_bytes());
    assert_eq!(Telegram::decode(&bytes), Err(TelegramError::RepeatOnNonRequest { code: 4011 }));
}

#[test]
fn truncated_and_trailing_bytes_are_refused() {
    let keys = Keys::new();
    let bytes = payment(&keys).into_bytes();
    for length in [0, 1, HEADER_BYTES - 1, HEADER_BYTES, bytes.len() - SIGNATURE_BYTES, bytes.len() - 1] {
        let error = Telegram::decode(&bytes[..length]).unwrap_err();
        assert!(matches!(error, TelegramError::Truncated { .. }), "{length}: {error:?}");
        assert_eq!(error.reject_reason(), RejectReason::Malformed);
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(Telegram::decode(&longer), Err(TelegramError::TrailingBytes { count: 1 }));
    let huge = vec![1u8; TELEGRAM_BYTES_MAX + 1];
    assert!(matches!(Telegram::decode(&huge), Err(TelegramError::TooLarge { .. })));
}

#[test]
fn sender_not_allowed_by_the_catalog_is_refused() {
    // A store claiming to send a payment instruction (a member's telegram).
    let keys = Keys::new();
    let mut bytes = payment(&keys).into_bytes();
    bytes[3] = PartyKind::Store as u8;
    let error = Telegram::decode(&bytes).unwrap_err();
    assert_eq!(
        error,
        TelegramError::NotPermitted {
            code: Code::PAYMENT_INSTRUCTION,
            sender: PartyKind::Store,
            recipient: PartyKind::Center
        }
    );
    assert_eq!(error.reject_reason(), RejectReason::NotPermitted);
    // And a member may not address a telegram to another member.
    let mut bytes = payment(&keys).into_bytes();
    bytes[12] = PartyKind::Member as u8;
    bytes[20] = 1;
    assert!(matches!(Telegram::decode(&bytes), Err(TelegramError::NotPermitted { .. })));
}

#[test]
fn non_canonical_parties_are_refused() {
    let keys = Keys::new();
    // Member number 0.
    let mut bytes = payment(&keys).into_bytes();
    bytes[4..12].fill(0);
    assert!(matches!(Telegram::decode(&bytes), Err(TelegramError::InvalidParty { field: "sender", .. })));
    // The center with a number.
    let mut bytes = payment(&keys).into_bytes();
    bytes[20] = 1;
    assert!(matches!(Telegram::decode(&bytes), Err(TelegramError::InvalidParty { field: "recipient", .. })));
    // Kind 5 does not exist.
    let mut bytes = payment(&keys).into_bytes();
    bytes[3] = 5;
    assert!(matches!(Telegram::decode(&bytes), Err(TelegramError::InvalidParty { field: "sender", kind: 5, .. })));
}

#[test]
fn result_code_only_on_rejects() {
    let keys = Keys::new();
    let mut bytes = payment(&keys).into_bytes();
    bytes[37..39].copy_from_slice(&400u16.to_be_bytes());
    assert_eq!(
        Telegram::decode(&bytes),
        Err(TelegramError::InvalidResult { code: Code::PAYMENT_INSTRUCTION, result: 400 })
    );

    let reject = keys
        .center()
        .reject(&Refused::from_header(payment(&keys).header()), RejectReason::InsufficientBalance, None, SENT_AT_MS)
        .unwrap();
    assert_eq!(reject.header().result(), 400);
    assert_eq!(reject.header().reject_reason(), Some(RejectReason::InsufficientBalance));
    let mut bytes = reject.into_bytes();
    for result in [0u16, 999] {
        bytes[37..39].copy_from_slice(&result.to_be_bytes());
        assert_eq!(Telegram::decode(&bytes), Err(TelegramError::InvalidResult { code: Code::REJECT, result }));
    }
}

#[test]
fn reject_answers_the_refused_telegram() {
    let keys = Keys::new();
    let request = payment(&keys);
    let refused = Refused::from_bytes(request.as_bytes());
    assert_eq!(refused, Refused::from_header(request.header()));
    let reject = keys.center().reject(&refused, RejectReason::InsufficientBalance, None, SENT_AT_MS + 5).unwrap();
    let decoded = Telegram::decode(reject.as_bytes()).unwrap();
    assert_eq!(decoded.header().recipient(), request.sender());
    assert_eq!(decoded.header().processing_number(), request.header().processing_number());
    let Body::Reject(body) = decoded.body() else { panic!("not a reject") };
    assert_eq!(body.reason, RejectReason::InsufficientBalance);
    assert_eq!(body.refused_code, 4000);
    assert_eq!(body.message.as_str(), "insufficient balance");
    assert_eq!(decoded.verify(&keys.center.verifying_key(), &keys.fingerprint()), Ok(()));

    // Garbage is answered as well as it can be: code 0, anonymous.
    let garbage = Refused::from_bytes(&[1, 0xff, 0xff, 9]);
    assert_eq!((garbage.code(), garbage.sender(), garbage.processing_number()), (0, PartyId::ANONYMOUS, 0));
    let reject = keys.center().reject(&garbage, RejectReason::Malformed, None, SENT_AT_MS).unwrap();
    assert_eq!(reject.header().recipient(), PartyId::ANONYMOUS);
    // Only the center rejects.
    assert!(matches!(
        keys.member().reject(&garbage, RejectReason::Malformed, None, SENT_AT_MS),
        Err(BuildError::Invalid(TelegramError::NotPermitted { .. }))
    ));
    // A long message is cut on a character boundary.
    let long = "電".repeat(200);
    let reject = keys.center().reject(&refused, RejectReason::InternalError, Some(&long), SENT_AT_MS).unwrap();
    let Body::Reject(body) = reject.body() else { panic!("not a reject") };
    assert_eq!(body.message.len(), 255);
}

#[test]
fn builders_refuse_misuse() {
    let keys = Keys::new();
    let member = keys.member();
    let answer_body = PaymentAnswer { transaction_number: 1, total: Amount::new(1).unwrap(), balance: Yen::ZERO };
    assert!(matches!(
        member.request(1, SENT_AT_MS, answer_body.clone()),
        Err(BuildError::WrongFunction { expected: Function::Request, .. })
    ));
    assert_eq!(
        member.request(1, SENT_AT_MS, SignOn { software_version: Text::new("x").unwrap() }).unwrap_err(),
        BuildError::SignOnNeedsHandshakeHash
    );
    assert_eq!(
        Signer::new(PartyId::ANONYMOUS, &keys.member, keys.fingerprint()).unwrap_err(),
        BuildError::AnonymousCannotSign
    );
    let request = echo(&keys);
    assert!(matches!(
        keys.center().answer(request.header(), SENT_AT_MS, answer_body),
        Err(BuildError::AnswerDoesNotMatch { .. })
    ));
    assert!(matches!(
        keys.signer(PartyId::store(7).unwrap()).answer(request.header(), SENT_AT_MS, EchoAnswer {}),
        Err(BuildError::NotAddressedToSigner { .. })
    ));
    // A member may not publish a catalog.
    let guide = GuideRequest { topic: GuideTopic::Guide };
    assert!(member.request(1, SENT_AT_MS, guide).is_ok());
    assert!(matches!(
        member.notice(PartyId::CENTER, 1, SENT_AT_MS, Echo {}),
        Err(BuildError::WrongFunction { expected: Function::Notice, .. })
    ));
}

#[test]
fn registration_store_details_must_match_the_sender() {
    let keys = Keys::new();
    let mut rng = rng(7);
    let mut registration = Registration::sample(&mut rng);
    registration.store = None;
    let store = keys.signer(PartyId::store(7).unwrap());
    assert!(matches!(
        store.request(1, SENT_AT_MS, registration.clone()),
        Err(BuildError::Invalid(TelegramError::InvalidBody { code: Code::REGISTRATION, .. }))
    ));
    assert!(keys.member().request(1, SENT_AT_MS, registration).is_ok());
}

#[test]
fn debug_never_shows_the_activation_code() {
    let keys = Keys::new();
    let mut rng = rng(11);
    let mut registration = Registration::sample(&mut rng);
    registration.store = None;
    registration.activation_code = ActivationCode::new("SECRET-42").unwrap();
    let telegram = keys.member().request(1, SENT_AT_MS, registration).unwrap();
    let shown = format!("{telegram:?} {:?}", Telegram::decode(telegram.as_bytes()).unwrap());
    assert!(!shown.contains("SECRET-42"), "{shown}");
    assert!(shown.contains("redacted"));
}
