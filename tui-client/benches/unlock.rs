//! How long unlocking a key file takes at the default scrypt parameters
//! (log_n 17, r 8, p 1): password A alone (open: one scrypt run, decrypt,
//! decode) and A then B (open, then decrypt the signature key: two scrypt
//! runs). The figure is recorded in docs/keyfile.md.
//!
//! Run: `cargo bench -p denbun-client --bench unlock`.

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use std::time::Duration;

use denbun_client::keys::generate_member_keys;
use denbun_client::vault::{NewVault, Vault, VaultConfig};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::{Password, Profile};
use denbun_protocol::wire::Text;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn unlock(criterion: &mut Criterion) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("member.key");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let keys = generate_member_keys(&mut rng, None);
    let new = NewVault {
        profile: Profile {
            party: denbun_protocol::header::PartyId::member(1001).expect("a member number"),
            name: Text::new("Bench Member").expect("short"),
        },
        center: CenterIdentity {
            name: Text::new("center").expect("short"),
            address: Text::new("127.0.0.1:7800").expect("short"),
            verification_key: keys.verification_key,
            noise_public_key: keys.delivery_public_key,
        },
        keys,
    };
    let (password_a, password_b) = (Password::from("password A"), Password::from("password B"));
    drop(Vault::create(&path, new, &password_a, &password_b, VaultConfig::STANDARD, &mut rng).expect("created"));

    let mut group = criterion.benchmark_group("unlock at log_n 17, r 8, p 1");
    // Each run takes about a second: a few flat samples are enough.
    group.sampling_mode(SamplingMode::Flat).sample_size(10).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("password A (history readable)", |bench| {
        bench.iter(|| Vault::open(&path, &password_a).expect("opens"));
    });
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("password A then B (ready to sign)", |bench| {
        bench.iter(|| {
            let vault = Vault::open(&path, &password_a).expect("opens");
            vault.signing_key(&password_b).expect("decrypts").verification_key()
        });
    });
    group.finish();
}

criterion_group!(benches, unlock);
criterion_main!(benches);
