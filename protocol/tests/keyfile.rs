//! The key-file format from the outside: damage, wrong passwords, moved
//! layers, newer versions, out-of-range parameters, the test vector in
//! docs/keyfile-vector.txt, and round-trip properties.
//!
//! Everything here uses tiny scrypt parameters (log_n 4) through the test-only
//! policy, except where a test is about the standard policy itself.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use denbun_protocol::header::{PartyId, PartyKind};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{
    self, CenterKeyContents, FileKind, HistoryEntry, InnerBinding, KdfParams, KdfPolicy, KeyFileError, LayerKey,
    OutboxEntry, Password, Profile, Secret32, VaultContents, open_center_keys, open_inner, open_vault,
    open_vault_with_key, seal_center_keys, seal_inner, seal_vault,
};
use denbun_protocol::limits::KEYFILE_CHECKSUM_BYTES;
use denbun_protocol::wire::{Blob, Date, List, Text, Yen, decode_exact, encode_to_vec};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

const FAST: KdfParams = KdfParams::new(4, 8, 1);
const FAST_POLICY: KdfPolicy = KdfPolicy::test_only_with_log_n_min(1);

fn center_identity() -> CenterIdentity {
    CenterIdentity {
        name: Text::new("Denbun Test Center").unwrap(),
        address: Text::new("127.0.0.1:7800").unwrap(),
        verification_key: ed25519_dalek::SigningKey::from_bytes(&[0xc0; 32]).verifying_key().to_bytes(),
        noise_public_key: x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([0xc1; 32])).to_bytes(),
    }
}

fn signing_seed(number: u64) -> Secret32 {
    Secret32::new(Sha256::digest(format!("signing seed {number}")).into())
}

fn binding(number: u64) -> InnerBinding {
    InnerBinding {
        party: PartyId::member(number).unwrap(),
        verification_key: ed25519_dalek::SigningKey::from_bytes(signing_seed(number).expose())
            .verifying_key()
            .to_bytes(),
    }
}

/// A member's contents with one history entry and one outbox entry; the
/// inner layer sealed with `password_b`.
fn contents(
    number: u64,
    password_b: &str,
    params: KdfParams,
    policy: KdfPolicy,
    rng: &mut ChaCha20Rng,
) -> VaultContents {
    let binding = binding(number);
    let inner = seal_inner(&signing_seed(number), &binding, &Password::from(password_b), params, policy, rng).unwrap();
    let delivery_secret: [u8; 32] = Sha256::digest(format!("delivery {number}")).into();
    VaultContents {
        profile: Profile {
            party: denbun_protocol::header::PartyId::member(number).expect("a member number"),
            name: Text::new("山田 花子").unwrap(),
        },
        center: center_identity(),
        verification_key: binding.verification_key,
        delivery_public_key: x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(delivery_secret))
            .to_bytes(),
        next_processing_number: 3,
        outbox: List::new(vec![OutboxEntry { processing_number: 2, telegram: Blob::new(vec![0x01; 120]).unwrap() }])
            .unwrap(),
        history: List::new(vec![HistoryEntry {
            date: Date::new(2024, 4, 1).unwrap(),
            store: Text::new("Book Store Kanda").unwrap(),
            goods: Text::new("Dictionary, 2nd edition").unwrap(),
            amount: Yen::new(3_200).unwrap(),
            receipt: Blob::new(vec![0x02; 170]).unwrap(),
        }])
        .unwrap(),
        inner_layer: inner,
        delivery_secret_key: Secret32::new(delivery_secret),
    }
}

struct Sealed {
    contents: VaultContents,
    key_a: LayerKey,
    file: Vec<u8>,
}

fn sealed(number: u64, password_a: &str, password_b: &str) -> Sealed {
    let mut rng = ChaCha20Rng::seed_from_u64(number);
    let contents = contents(number, password_b, FAST, FAST_POLICY, &mut rng);
    let key_a = LayerKey::generate(&Password::from(password_a), FAST, FAST_POLICY, &mut rng).unwrap();
    let file = seal_vault(&contents, &key_a, &mut rng);
    Sealed { contents, key_a, file }
}

/// Replaces the checksum so a deliberate change passes the damage check.
fn with_fresh_checksum(mut file: Vec<u8>) -> Vec<u8> {
    let body_length = file.len() - KEYFILE_CHECKSUM_BYTES;
    let checksum = Sha256::digest(&file[..body_length]);
    file[body_length..].copy_from_slice(&checksum);
    file
}

fn open_a(file: &[u8], password_a: &str) -> Result<VaultContents, KeyFileError> {
    open_vault(file, &Password::from(password_a), FAST_POLICY).map(|(_, contents)| contents)
}

#[test]
fn the_right_passwords_open_both_layers() {
    let sealed = sealed(1001, "password A", "password B");
    let (key_a, contents) = open_vault(&sealed.file, &Password::from("password A"), FAST_POLICY).unwrap();
    assert_eq!(contents, sealed.contents);
    // Key A kept from opening reads the file again without scrypt.
    assert_eq!(open_vault_with_key(&sealed.file, &key_a).unwrap(), sealed.contents);
    let seed = open_inner(&contents.inner_layer, &binding(1001), &Password::from("password B"), FAST_POLICY).unwrap();
    assert_eq!(seed, signing_seed(1001));
}

#[test]
fn every_save_uses_a_fresh_nonce() {
    let sealed = sealed(1001, "a", "b");
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let again = seal_vault(&sealed.contents, &sealed.key_a, &mut rng);
    assert_eq!(again[..keyfile::HEADER_BYTES], sealed.file[..keyfile::HEADER_BYTES], "same salt, same header");
    assert_ne!(again[keyfile::HEADER_BYTES..keyfile::HEADER_BYTES + 24], sealed.file[keyfile::HEADER_BYTES..][..24]);
    assert_eq!(open_a(&again, "a").unwrap(), sealed.contents);
}

#[test]
fn a_wrong_password_a_is_reported_as_such() {
    let sealed = sealed(1001, "password A", "password B");
    assert_eq!(open_a(&sealed.file, "password a"), Err(KeyFileError::WrongPasswordA));
    assert_eq!(open_a(&sealed.file, ""), Err(KeyFileError::WrongPasswordA));
    assert_eq!(
        open_vault_with_key(&sealed.file, &self::sealed(1002, "other", "b").key_a),
        Err(KeyFileError::WrongPasswordA)
    );
}

#[test]
fn right_password_a_with_wrong_password_b_reads_history_but_cannot_sign() {
    let sealed = sealed(1001, "password A", "password B");
    let contents = open_a(&sealed.file, "password A").unwrap();
    assert_eq!(contents.history.len(), 1);
    assert_eq!(
        open_inner(&contents.inner_layer, &binding(1001), &Password::from("password A"), FAST_POLICY),
        Err(KeyFileError::WrongPasswordB)
    );
}

#[test]
fn truncation_at_every_offset_is_damage() {
    let sealed = sealed(1001, "a", "b");
    for length in 0..sealed.file.len() {
        match open_a(&sealed.file[..length], "a") {
            Err(KeyFileError::Corrupt { .. }) => {}
            other => panic!("truncated to {length} bytes: {other:?}"),
        }
    }
    let mut longer = sealed.file.clone();
    longer.push(0);
    assert!(matches!(open_a(&longer, "a"), Err(KeyFileError::Corrupt { .. })));
}

#[test]
fn every_bit_flip_is_damage() {
    let sealed = sealed(1001, "a", "b");
    for offset in 0..sealed.file.len() {
        for bit in 0..8 {
            let mut flipped = sealed.file.clone();
            flipped[offset] ^= 1 << bit;
            match open_a(&flipped, "a") {
                Err(KeyFileError::Corrupt { .. }) => {}
                other => panic!("bit {bit} of byte {offset}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_deliberate_change_with_a_fixed_checksum_is_never_accepted() {
    // Whoever recomputes the checksum gets past the damage check, but the AEAD
    // (whose associated data is the header) refuses every changed byte.
    let sealed = sealed(1001, "a", "b");
    for offset in 0..sealed.file.len() - KEYFILE_CHECKSUM_BYTES {
        let mut changed = sealed.file.clone();
        changed[offset] ^= 0x01;
        let result = open_a(&with_fresh_checksum(changed), "a");
        assert!(result.is_err(), "byte {offset} changed and still accepted");
    }
}

#[test]
fn parameters_out_of_range_are_refused_before_scrypt_runs() {
    let sealed = sealed(1001, "a", "b");
    // log_n 40 would ask scrypt for a terabyte: only a check before it passes this test.
    for (log_n, r, p) in [(40u8, 8u32, 1u32), (14, 8, 1), (21, 8, 1), (17, 9, 1), (17, 0, 1), (17, 8, 5), (17, 8, 0)] {
        let mut changed = sealed.file.clone();
        changed[11] = log_n;
        changed[12..16].copy_from_slice(&r.to_be_bytes());
        changed[16..20].copy_from_slice(&p.to_be_bytes());
        let result = open_vault(&with_fresh_checksum(changed), &Password::from("a"), KdfPolicy::STANDARD);
        assert_eq!(result.map(|_| ()), Err(KeyFileError::ParametersOutOfRange { log_n, r, p }));
    }
    // The test file itself (log_n 4) opens only under the lowered test policy.
    assert_eq!(
        open_vault(&sealed.file, &Password::from("a"), KdfPolicy::STANDARD).map(|_| ()),
        Err(KeyFileError::ParametersOutOfRange { log_n: 4, r: 8, p: 1 })
    );
}

#[test]
fn a_newer_format_version_is_reported_as_such() {
    let sealed = sealed(1001, "a", "b");
    let mut newer = sealed.file.clone();
    newer[8] = 2;
    assert_eq!(
        open_a(&with_fresh_checksum(newer), "a"),
        Err(KeyFileError::UnsupportedVersion { found: 2, supported: 1 })
    );
    // A newer version may have a different layout: even a tiny one says "newer", not "damaged".
    let mut tiny = b"DENBUNKF\x07".to_vec();
    tiny.extend_from_slice(&[0; KEYFILE_CHECKSUM_BYTES]);
    assert_eq!(
        open_a(&with_fresh_checksum(tiny), "a"),
        Err(KeyFileError::UnsupportedVersion { found: 7, supported: 1 })
    );
    // The same for the inner layer.
    let contents = open_a(&sealed.file, "a").unwrap();
    let mut inner = contents.inner_layer.as_slice().to_vec();
    inner[0] = 2;
    assert_eq!(
        open_inner(&Blob::new(inner).unwrap(), &binding(1001), &Password::from("b"), FAST_POLICY),
        Err(KeyFileError::UnsupportedVersion { found: 2, supported: 1 })
    );
}

#[test]
fn an_inner_layer_moved_into_another_file_does_not_open() {
    let first = sealed(1001, "a", "b");
    let second = sealed(1002, "a", "b");
    // Moved as is: the binding names another member.
    assert_eq!(
        open_inner(&second.contents.inner_layer, &binding(1001), &Password::from("b"), FAST_POLICY),
        Err(KeyFileError::InnerLayerMismatch)
    );
    // Moved with its binding rewritten to fit: the AEAD's associated data no longer matches.
    let mut forged = second.contents.inner_layer.as_slice().to_vec();
    forged[43..75].copy_from_slice(&first.contents.inner_layer.as_slice()[43..75]);
    assert_eq!(
        open_inner(&Blob::new(forged).unwrap(), &binding(1001), &Password::from("b"), FAST_POLICY),
        Err(KeyFileError::WrongPasswordB)
    );
    // And a whole swapped file still opens its own layer only.
    let mut swapped = first.contents.clone();
    swapped.inner_layer = second.contents.inner_layer.clone();
    let file = seal_vault(&swapped, &first.key_a, &mut ChaCha20Rng::seed_from_u64(5));
    let reopened = open_a(&file, "a").unwrap();
    let owner = InnerBinding { party: reopened.profile.party, verification_key: reopened.verification_key };
    assert_eq!(
        open_inner(&reopened.inner_layer, &owner, &Password::from("b"), FAST_POLICY),
        Err(KeyFileError::InnerLayerMismatch)
    );
}

/// Builds an inner layer by hand (as docs/keyfile.md describes it) around an
/// arbitrary 32-byte seed, which `seal_inner` would refuse.
fn handmade_inner_layer(seed: [u8; 32], binding: &InnerBinding, password_b: &str) -> Blob<256> {
    let salt = [7u8; 32];
    let mut key_bytes = [0u8; 32];
    scrypt::scrypt(password_b.as_bytes(), &salt, &scrypt::Params::new(4, 8, 1, 32).unwrap(), &mut key_bytes).unwrap();
    let mut layer = vec![1, 1, 4, 0, 0, 0, 8, 0, 0, 0, 1];
    layer.extend_from_slice(&salt);
    let mut binding_hash = Sha256::new();
    binding_hash.update(b"denbun inner layer binding v1\0");
    binding_hash.update([binding.party.kind() as u8]);
    binding_hash.update(binding.party.number().to_be_bytes());
    binding_hash.update(binding.verification_key);
    layer.extend_from_slice(&binding_hash.finalize());
    let nonce = [9u8; 24];
    layer.extend_from_slice(&nonce);
    let ciphertext = XChaCha20Poly1305::new((&key_bytes).into())
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: &seed, aad: &layer })
        .unwrap();
    layer.extend_from_slice(&ciphertext);
    Blob::new(layer).unwrap()
}

#[test]
fn the_handmade_inner_layer_matches_the_documented_layout() {
    let binding = binding(1001);
    let layer = handmade_inner_layer(*signing_seed(1001).expose(), &binding, "b");
    assert_eq!(open_inner(&layer, &binding, &Password::from("b"), FAST_POLICY), Ok(signing_seed(1001)));
}

#[test]
fn a_seed_that_does_not_derive_the_verification_key_is_refused() {
    let binding = binding(1001);
    let layer = handmade_inner_layer(*signing_seed(4242).expose(), &binding, "b");
    assert_eq!(open_inner(&layer, &binding, &Password::from("b"), FAST_POLICY), Err(KeyFileError::SeedMismatch));
    // The writer refuses to create such a layer in the first place.
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    assert_eq!(
        seal_inner(&signing_seed(4242), &binding, &Password::from("b"), FAST, FAST_POLICY, &mut rng),
        Err(KeyFileError::SeedMismatch)
    );
}

fn center_contents() -> CenterKeyContents {
    CenterKeyContents {
        identity: center_identity(),
        signing_seed: Secret32::new([0xc0; 32]),
        noise_secret_key: Secret32::new([0xc1; 32]),
    }
}

#[test]
fn the_center_key_file_opens_with_its_passphrase_only() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let key = LayerKey::generate(&Password::from("operator passphrase"), FAST, FAST_POLICY, &mut rng).unwrap();
    let file = seal_center_keys(&center_contents(), &key, &mut rng);
    let (_, opened) = open_center_keys(&file, &Password::from("operator passphrase"), FAST_POLICY).unwrap();
    assert_eq!(opened, center_contents());
    assert_eq!(opened.signing_key().verifying_key().to_bytes(), center_identity().verification_key);
    assert_eq!(
        open_center_keys(&file, &Password::from("guess"), FAST_POLICY).map(|_| ()),
        Err(KeyFileError::WrongPassphrase)
    );
    // Neither kind of file opens as the other.
    assert_eq!(
        open_a(&file, "operator passphrase"),
        Err(KeyFileError::WrongKind { expected: FileKind::MemberVault, found: FileKind::CenterKeys })
    );
    // Secret keys that do not match the identity are refused on opening.
    let mut mismatched = center_contents();
    mismatched.noise_secret_key = Secret32::new([0xc2; 32]);
    let forged = keyfile::seal(FileKind::CenterKeys, &key, &encode_to_vec(&mismatched), &mut rng);
    assert_eq!(
        open_center_keys(&forged, &Password::from("operator passphrase"), FAST_POLICY).map(|_| ()),
        Err(KeyFileError::SeedMismatch)
    );
}

#[test]
fn no_secret_reaches_debug_output() {
    let sealed = sealed(1001, "password A", "password B");
    let shown = format!("{:?} {:?} {:?}", sealed.contents, sealed.key_a, center_contents());
    for secret in [sealed.contents.delivery_secret_key.expose(), &[0xc0; 32], &[0xc1; 32]] {
        let as_list = format!("{:?}", secret.as_slice());
        assert!(!shown.contains(&as_list[1..as_list.len() - 1]), "a secret appears in {shown}");
    }
    assert!(shown.contains("redacted"));
}

#[test]
fn contents_that_would_not_read_back_are_refused_on_writing_and_reading() {
    let sealed = sealed(1001, "a", "b");
    let mut out_of_order = sealed.contents.clone();
    out_of_order.next_processing_number = 2;
    assert_eq!(out_of_order.check_consistency(), Err("its outbox holds a processing number not yet allocated"));
    let forged = keyfile::seal(
        FileKind::MemberVault,
        &sealed.key_a,
        &encode_to_vec(&out_of_order),
        &mut ChaCha20Rng::seed_from_u64(1),
    );
    assert!(matches!(open_a(&forged, "a"), Err(KeyFileError::Corrupt { .. })));
    let mut wrong_pair = sealed.contents.clone();
    wrong_pair.delivery_public_key[0] ^= 1;
    assert_eq!(wrong_pair.check_consistency(), Err("its delivery key pair does not match"));
}

// ---------------------------------------------------------------------------
// The test vector.

const VECTOR_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/keyfile-vector.txt");
const VECTOR_PARAMS: KdfParams = KdfParams::new(10, 8, 1);
const VECTOR_POLICY: KdfPolicy = KdfPolicy::test_only_with_log_n_min(10);

fn hex_lines(bytes: &[u8]) -> String {
    bytes.chunks(32).map(|line| format!("{}\n", hex::encode(line))).collect()
}

/// The vector's text, generated from fixed inputs and a seeded generator.
fn generate_vector() -> String {
    let mut rng = ChaCha20Rng::seed_from_u64(2024);
    let contents = contents(1001, "password B", VECTOR_PARAMS, VECTOR_POLICY, &mut rng);
    let key_a = LayerKey::generate(&Password::from("password A"), VECTOR_PARAMS, VECTOR_POLICY, &mut rng).unwrap();
    let member_file = seal_vault(&contents, &key_a, &mut rng);
    let center_key =
        LayerKey::generate(&Password::from("operator passphrase"), VECTOR_PARAMS, VECTOR_POLICY, &mut rng).unwrap();
    let center_file = seal_center_keys(&center_contents(), &center_key, &mut rng);
    format!(
        "# Denbun key file test vectors, format version 1 (see docs/keyfile.md).\n\
         # scrypt log_n 10 is below what readers accept (15..=20): only the test that\n\
         # checks this file lowers the minimum. Hexadecimal, 32 bytes a line.\n\
         # Checked by protocol/tests/keyfile.rs (vector_file_matches_and_opens).\n\
         \n\
         member-password-a: password A\n\
         member-password-b: password B\n\
         member-signature-seed:\n{}\
         member-contents (the outer plaintext):\n{}\
         member-file:\n{}\
         \n\
         center-passphrase: operator passphrase\n\
         center-contents (the plaintext):\n{}\
         center-file:\n{}",
        hex_lines(signing_seed(1001).expose()),
        hex_lines(&contents.encode_secret()),
        hex_lines(&member_file),
        hex_lines(&encode_to_vec(&center_contents())),
        hex_lines(&center_file),
    )
}

/// The hexadecimal block that follows the line starting with `label`.
fn vector_block(vector: &str, label: &str) -> Vec<u8> {
    let hex: String = vector
        .lines()
        .skip_while(|line| !line.starts_with(label))
        .skip(1)
        .take_while(|line| !line.is_empty() && line.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .collect();
    assert!(!hex.is_empty(), "no `{label}` block in the vector");
    hex::decode(hex).unwrap()
}

#[test]
fn vector_file_matches_and_opens() {
    let generated = generate_vector();
    if std::env::var_os("DENBUN_WRITE_VECTOR").is_some() {
        std::fs::write(VECTOR_PATH, &generated).unwrap();
    }
    let vector = std::fs::read_to_string(VECTOR_PATH).unwrap();
    assert_eq!(
        vector, generated,
        "the writer no longer produces docs/keyfile-vector.txt (DENBUN_WRITE_VECTOR=1 rewrites it)"
    );

    // Read the file as a reader would, from the bytes written in the vector.
    let member_file = vector_block(&vector, "member-file:");
    let (_, contents) = open_vault(&member_file, &Password::from("password A"), VECTOR_POLICY).unwrap();
    assert_eq!(contents.encode_secret().as_slice(), vector_block(&vector, "member-contents").as_slice());
    assert_eq!(contents.profile.party.number(), 1001);
    assert_eq!(contents.history[0].amount, Yen::new(3_200).unwrap());
    let seed = open_inner(&contents.inner_layer, &binding(1001), &Password::from("password B"), VECTOR_POLICY).unwrap();
    assert_eq!(seed.expose().as_slice(), vector_block(&vector, "member-signature-seed:").as_slice());
    // The standard policy refuses the vector's small log_n.
    assert_eq!(
        open_vault(&member_file, &Password::from("password A"), KdfPolicy::STANDARD).map(|_| ()),
        Err(KeyFileError::ParametersOutOfRange { log_n: 10, r: 8, p: 1 })
    );

    let center_file = vector_block(&vector, "center-file:");
    let (_, center) = open_center_keys(&center_file, &Password::from("operator passphrase"), VECTOR_POLICY).unwrap();
    assert_eq!(encode_to_vec(&center), vector_block(&vector, "center-contents"));
}

// ---------------------------------------------------------------------------
// Properties.

fn text<const MAX: usize>() -> impl Strategy<Value = Text<MAX>> {
    "[a-zA-Z0-9 ぁ-ん]{0,12}".prop_map(|text| Text::new(text).unwrap())
}

fn history_entry() -> impl Strategy<Value = HistoryEntry> {
    (
        1900u16..=2999,
        1u8..=12,
        1u8..=28,
        text(),
        text(),
        0u64..=1_000_000_000,
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(year, month, day, store, goods, yen, receipt)| HistoryEntry {
            date: Date::new(year, month, day).unwrap(),
            store,
            goods,
            amount: Yen::new(yen).unwrap(),
            receipt: Blob::new(receipt).unwrap(),
        })
}

prop_compose! {
    fn vault_contents()(
        kind in prop_oneof![Just(PartyKind::Member), Just(PartyKind::Store), Just(PartyKind::Operator)],
        number in 1u64..=denbun_protocol::limits::PARTY_NUMBER_MAX,
        name in text(),
        verification_key: [u8; 32],
        delivery_secret: [u8; 32],
        numbers in proptest::collection::btree_set(0u64..1_000, 0..5),
        telegram_bytes in 0usize..300,
        history in proptest::collection::vec(history_entry(), 0..5),
        inner in proptest::collection::vec(any::<u8>(), 0..=256),
        headroom in 1u64..100,
    ) -> VaultContents {
        let outbox: Vec<OutboxEntry> = numbers.iter().map(|&processing_number| OutboxEntry {
            processing_number,
            telegram: Blob::new(vec![processing_number as u8; telegram_bytes]).unwrap(),
        }).collect();
        VaultContents {
            profile: Profile { party: PartyId::new(kind, number).unwrap(), name },
            center: center_identity(),
            verification_key,
            delivery_public_key: x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(delivery_secret)).to_bytes(),
            next_processing_number: numbers.last().copied().unwrap_or(0) + headroom,
            outbox: List::new(outbox).unwrap(),
            history: List::new(history).unwrap(),
            inner_layer: Blob::new(inner).unwrap(),
            delivery_secret_key: Secret32::new(delivery_secret),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn contents_encoding_round_trips(contents in vault_contents()) {
        let encoded = contents.encode_secret();
        prop_assert_eq!(decode_exact::<VaultContents>(&encoded), Ok(contents));
    }

    #[test]
    fn sealed_contents_open_to_the_same_contents(contents in vault_contents(), seed: u64) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let key = LayerKey::generate(&Password::from("a"), FAST, FAST_POLICY, &mut rng).unwrap();
        let file = seal_vault(&contents, &key, &mut rng);
        prop_assert_eq!(open_vault_with_key(&file, &key), Ok(contents.clone()));
        prop_assert_eq!(open_a(&file, "a"), Ok(contents));
    }

    #[test]
    fn arbitrary_bytes_never_open(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(open_a(&bytes, "a").is_err());
    }

}
