//! Arbitrary bytes into every path that opens a key file or a `center.pub`:
//! the envelope (`keyfile::open`, `open_with_key`), a member's contents
//! (`open_vault_with_key`), the center's contents (`open_center_keys`), the
//! signing layer under password B (`open_inner`) and the identity card
//! (`CenterIdentity::from_card_bytes`). None may panic, and what opens must be
//! what was sealed.
//!
//! Random bytes almost never pass the envelope's SHA-256 checksum or its
//! AEAD, so the first byte picks a mode that gets the input further in:
//!
//! | first byte % 5 | the rest is …                                          |
//! |----------------|--------------------------------------------------------|
//! | 0              | a whole file, as it is                                 |
//! | 1              | a file without its checksum: the target appends it     |
//! | 2              | plaintext contents: sealed with a known key, then opened as a member's and as the center's |
//! | 3              | a signing layer (password B), and a `center.pub` card   |
//! | 4              | (offset, byte) pairs XORed into a valid signing layer   |
//!
//! scrypt runs only at a tiny cost (log_n at most [`LOG_N_FUZZ_MAX`]) so the
//! fuzzer spends its time in the decoders; parameters above that are what
//! the policy's own range check is for, and the proptests cover it.

#![no_main]

use std::sync::OnceLock;

use denbun_protocol::header::PartyId;
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{
    self, FileKind, InnerBinding, KdfParams, KdfPolicy, LayerKey, Password, Secret32, open_center_keys, open_inner,
    open_vault_with_key, seal_inner,
};
use denbun_protocol::limits::KEYFILE_INNER_BYTES_MAX;
use denbun_protocol::wire::Blob;
use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

/// scrypt settings that cost microseconds.
const FAST: KdfParams = KdfParams::new(4, 1, 1);
/// Files asking for more than this are not opened with a password here.
const LOG_N_FUZZ_MAX: u8 = 6;
/// The policy that admits [`FAST`].
const POLICY: KdfPolicy = KdfPolicy::test_only_with_log_n_min(1);
/// Offset of log_n in the envelope and in the signing layer.
const ENVELOPE_LOG_N_OFFSET: usize = 11;
const INNER_LOG_N_OFFSET: usize = 2;

struct Fixture {
    password: Password,
    key: LayerKey,
    binding: InnerBinding,
    inner: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let password = Password::from("fuzz");
        let key = LayerKey::derive(&password, FAST, [7; 32], POLICY).expect("FAST is within POLICY");
        let signing_key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let binding = InnerBinding {
            party: PartyId::member(1).expect("member 1"),
            verification_key: signing_key.verifying_key().to_bytes(),
        };
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let inner = seal_inner(&Secret32::new([9; 32]), &binding, &password, FAST, POLICY, &mut rng)
            .expect("a seed that derives its binding seals")
            .into_vec();
        Fixture { password, key, binding, inner }
    })
}

/// Opens `bytes` as every kind of file, with the known key and (when cheap) the password.
fn open_file(bytes: &[u8]) {
    let fixture = fixture();
    let _ = keyfile::open_with_key(bytes, FileKind::MemberVault, &fixture.key);
    let _ = keyfile::open_with_key(bytes, FileKind::CenterKeys, &fixture.key);
    let _ = open_vault_with_key(bytes, &fixture.key);
    if bytes.get(ENVELOPE_LOG_N_OFFSET).is_some_and(|log_n| *log_n <= LOG_N_FUZZ_MAX) {
        let _ = keyfile::open(bytes, FileKind::MemberVault, &fixture.password, POLICY);
        let _ = open_center_keys(bytes, &fixture.password, POLICY);
    }
}

fn open_layer(bytes: &[u8]) {
    let fixture = fixture();
    let Ok(layer) = Blob::<KEYFILE_INNER_BYTES_MAX>::new(bytes.to_vec()) else { return };
    if bytes.get(INNER_LOG_N_OFFSET).is_some_and(|log_n| *log_n > LOG_N_FUZZ_MAX) {
        return;
    }
    if let Ok(seed) = open_inner(&layer, &fixture.binding, &fixture.password, POLICY) {
        // Only the layer the fixture sealed can open: the AEAD and the seed check say so.
        assert_eq!(seed.expose(), &[9; 32]);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else { return };
    let fixture = fixture();
    match mode % 5 {
        0 => open_file(rest),
        1 => {
            let mut file = rest.to_vec();
            let checksum = Sha256::digest(&file);
            file.extend_from_slice(&checksum);
            open_file(&file);
        }
        2 => {
            let mut rng = ChaCha20Rng::seed_from_u64(2);
            for kind in [FileKind::MemberVault, FileKind::CenterKeys] {
                let file = keyfile::seal(kind, &fixture.key, rest, &mut rng);
                let plaintext = keyfile::open_with_key(&file, kind, &fixture.key).expect("what is sealed opens");
                assert_eq!(plaintext.as_slice(), rest);
                open_file(&file);
            }
        }
        3 => {
            open_layer(rest);
            let _ = CenterIdentity::from_card_bytes(rest);
        }
        _ => {
            let mut layer = fixture.inner.clone();
            for pair in rest.chunks_exact(2) {
                let offset = usize::from(pair[0]) % layer.len();
                layer[offset] ^= pair[1];
            }
            open_layer(&layer);
        }
    }
});
