//! Key files on disk: creating, opening, saving, backups, leftovers of a crash,
//! each distinct error, the outbox across reopening, the center's key file and
//! its identity card. Small scrypt parameters throughout (test-only config),
//! except one test that checks the standard configuration refuses them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use denbun_client::keys::{SeedPhrase, generate_center_keys, generate_member_keys};
use denbun_client::outbox::OutboxError;
use denbun_client::vault::{CenterKeyFile, IdentityCardFile, NewVault, UnlockedVault, Vault, VaultConfig, VaultError};
use denbun_protocol::identity::{CardError, CenterIdentity};
use denbun_protocol::keyfile::{HistoryEntry, Password, Profile};
use denbun_protocol::wire::{Blob, Date, Text, Yen};
use ed25519_dalek::Verifier;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const FAST: VaultConfig = VaultConfig::test_only_fast();

fn center_identity() -> CenterIdentity {
    let keys = generate_center_keys(&mut ChaCha20Rng::seed_from_u64(100));
    CenterIdentity {
        name: Text::new("Denbun Test Center").unwrap(),
        address: Text::new("127.0.0.1:7800").unwrap(),
        verification_key: keys.verification_key,
        noise_public_key: keys.noise_public_key,
    }
}

fn new_vault(number: u64, seed: u64) -> NewVault {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    NewVault {
        profile: Profile {
            party: denbun_protocol::header::PartyId::member(number).expect("a member number"),
            name: Text::new("Hanako Yamada").unwrap(),
        },
        center: center_identity(),
        keys: generate_member_keys(&mut rng, Some(&SeedPhrase::from("a hand-written signature"))),
    }
}

fn create(path: &Path, number: u64) -> UnlockedVault {
    let mut rng = ChaCha20Rng::seed_from_u64(number);
    Vault::create(path, new_vault(number, number), &"password A".into(), &"password B".into(), FAST, &mut rng).unwrap()
}

fn open(path: &Path, password_a: &str) -> Result<UnlockedVault, VaultError> {
    Vault::open_with(path, &Password::from(password_a), FAST)
}

fn receipt(goods: &str) -> HistoryEntry {
    HistoryEntry {
        date: Date::new(2024, 6, 1).unwrap(),
        store: Text::new("Tea House Uji").unwrap(),
        goods: Text::new(goods).unwrap(),
        amount: Yen::new(1_500).unwrap(),
        receipt: Blob::new(vec![9; 100]).unwrap(),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[test]
fn a_new_key_file_opens_with_a_and_signs_with_b() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    let created = create(&path, 1001);
    let verification_key = created.contents().verification_key;
    drop(created);

    let vault = open(&path, "password A").unwrap();
    assert_eq!(vault.profile().party.number(), 1001);
    assert_eq!(vault.center(), &center_identity());
    assert_eq!(vault.next_processing_number(), 1);
    let guard = vault.signing_key(&Password::from("password B")).unwrap();
    let signature = guard.sign(b"telegram");
    assert_eq!(guard.verification_key().to_bytes(), verification_key);
    assert!(guard.verification_key().verify(b"telegram", &signature).is_ok());
    assert_eq!(format!("{guard:?}"), "SigningKeyGuard(redacted)");
    // Only the owner can read or write it.
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn each_failure_to_open_is_its_own_error() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    drop(create(&path, 1001));

    assert!(matches!(open(&path, "password B"), Err(VaultError::WrongPasswordA)));
    let vault = open(&path, "password A").unwrap();
    assert!(matches!(vault.signing_key(&Password::from("password A")), Err(VaultError::WrongPasswordB)));
    // The same file under the standard policy: its small log_n is out of range.
    drop(vault);
    assert!(matches!(
        Vault::open(&path, &Password::from("password A")),
        Err(VaultError::ParametersOutOfRange { log_n: 4, .. })
    ));
    let missing = directory.path().join("nobody.key");
    assert!(matches!(open(&missing, "password A"), Err(VaultError::NotFound { backup: None, .. })));
    // A center key file is not a member's.
    let center_path = directory.path().join("center.key");
    let keys = generate_center_keys(&mut ChaCha20Rng::seed_from_u64(1));
    CenterKeyFile::create(
        &center_path,
        center_identity().name,
        center_identity().address,
        &keys,
        &"pass".into(),
        FAST,
        &mut ChaCha20Rng::seed_from_u64(2),
    )
    .unwrap();
    assert!(matches!(open(&center_path, "pass"), Err(VaultError::WrongKind { .. })));
}

#[test]
fn a_damaged_file_names_its_backup() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    let mut vault = create(&path, 1001);
    vault.add_history(receipt("green tea")).unwrap();
    drop(vault);
    // The first save had nothing to back up; the second kept the first as .bak.
    let backup = sibling(&path, ".bak");
    assert!(backup.exists());

    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let error = open(&path, "password A").unwrap_err();
    assert!(matches!(&error, VaultError::Corrupt { backup: Some(named), .. } if *named == backup), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("damaged") && message.contains("member.key.bak"), "{message}");

    // The backup opens, with the contents before the last save.
    std::fs::copy(&backup, &path).unwrap();
    let restored = open(&path, "password A").unwrap();
    assert!(restored.history().is_empty());
}

#[test]
fn a_newer_format_is_reported_and_left_alone() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    drop(create(&path, 1001));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8] = 9;
    let body = bytes.len() - 32;
    let checksum: [u8; 32] =
        sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), &bytes[..body])).into();
    bytes[body..].copy_from_slice(&checksum);
    std::fs::write(&path, &bytes).unwrap();
    let error = open(&path, "password A").unwrap_err();
    assert!(matches!(error, VaultError::UnsupportedVersion { found: 9, supported: 1, .. }), "{error:?}");
    assert!(error.to_string().contains("newer version of Denbun"));
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "untouched");
}

#[test]
fn saving_keeps_the_previous_version_and_removes_a_leftover_temporary_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    drop(create(&path, 1001));
    // A crash during a save leaves NAME.tmp behind; opening removes it.
    let temporary = sibling(&path, ".tmp");
    std::fs::write(&temporary, b"half a key file").unwrap();
    let mut vault = open(&path, "password A").unwrap();
    assert!(!temporary.exists());

    vault.add_history(receipt("first")).unwrap();
    vault.add_history(receipt("second")).unwrap();
    assert!(!temporary.exists());
    drop(vault);
    assert_eq!(open(&path, "password A").unwrap().history().len(), 2);
    let backup = open(&sibling(&path, ".bak"), "password A").unwrap();
    assert_eq!(backup.history().len(), 1, "the backup is the version before the last save");
}

#[test]
fn a_key_file_cannot_be_opened_twice_or_created_over() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    let vault = create(&path, 1001);
    assert!(matches!(open(&path, "password A"), Err(VaultError::InUse { .. })));
    drop(vault);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let again = Vault::create(&path, new_vault(1002, 2), &"a".into(), &"b".into(), FAST, &mut rng);
    assert!(matches!(again, Err(VaultError::AlreadyExists { .. })));
    assert_eq!(open(&path, "password A").unwrap().profile().party.number(), 1001, "the first file is untouched");
}

#[test]
fn the_outbox_survives_reopening_and_numbers_are_never_reused() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    let mut vault = create(&path, 1001);
    let sign_on = vault.allocate_processing_number().unwrap();
    let guard = vault.signing_key(&Password::from("password B")).unwrap();
    let payment = vault
        .enqueue(|number| {
            let mut telegram = number.to_be_bytes().to_vec();
            telegram.extend_from_slice(&guard.sign(&number.to_be_bytes()).to_bytes());
            Ok(telegram)
        })
        .unwrap();
    drop(guard);
    let refund = vault.enqueue(|number| Ok(vec![number as u8])).unwrap();
    assert_eq!((sign_on, payment, refund), (1, 2, 3));
    // A "crash": the vault is dropped without any further save.
    drop(vault);

    let mut vault = open(&path, "password A").unwrap();
    let waiting: Vec<u64> = vault.outbox().iter().map(|entry| entry.processing_number).collect();
    assert_eq!(waiting, [2, 3]);
    assert_eq!(vault.outbox()[0].telegram.as_slice()[..8], 2u64.to_be_bytes());
    vault.complete(payment, Some(receipt("matcha"))).unwrap();
    assert!(matches!(vault.complete(payment, None), Err(VaultError::Outbox(OutboxError::NotFound { number: 2 }))));
    drop(vault);

    let mut vault = open(&path, "password A").unwrap();
    assert_eq!(vault.outbox().len(), 1);
    assert_eq!(vault.history()[0].goods.as_str(), "matcha");
    assert_eq!(vault.allocate_processing_number().unwrap(), 4);
}

#[test]
fn a_failed_composition_or_save_leaves_the_contents_as_they_were() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    let mut vault = create(&path, 1001);
    let failed = vault.enqueue(|_| Err(VaultError::WrongPasswordB));
    assert!(matches!(failed, Err(VaultError::WrongPasswordB)));
    assert!(vault.outbox().is_empty());
    assert_eq!(vault.next_processing_number(), 2, "the number handed to compose stays used");

    // A directory where the temporary file should go makes saving fail
    // (whatever the permissions; the tests may run as root).
    std::fs::create_dir(sibling(&path, ".tmp")).unwrap();
    let error = vault.add_history(receipt("never saved")).unwrap_err();
    assert!(matches!(error, VaultError::Io { action: "create the temporary file", .. }), "{error:?}");
    assert!(vault.history().is_empty());
    std::fs::remove_dir(sibling(&path, ".tmp")).unwrap();
    vault.add_history(receipt("saved")).unwrap();
    drop(vault);
    assert_eq!(open(&path, "password A").unwrap().history().len(), 1);
}

#[test]
fn passwords_can_be_changed() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    let mut vault = create(&path, 1001);
    vault.change_password_a(&Password::from("new A")).unwrap();
    assert!(matches!(vault.change_password_b(&"wrong".into(), &"new B".into()), Err(VaultError::WrongPasswordB)));
    vault.change_password_b(&"password B".into(), &"new B".into()).unwrap();
    drop(vault);
    assert!(matches!(open(&path, "password A"), Err(VaultError::WrongPasswordA)));
    let vault = open(&path, "new A").unwrap();
    assert!(matches!(vault.signing_key(&"password B".into()), Err(VaultError::WrongPasswordB)));
    assert!(vault.signing_key(&"new B".into()).is_ok());
}

#[test]
fn the_center_key_file_and_its_card() {
    let directory = tempfile::tempdir().unwrap();
    let key_path = directory.path().join("center.key");
    let card_path = directory.path().join("center.pub");
    let keys = generate_center_keys(&mut ChaCha20Rng::seed_from_u64(5));
    let (name, address) = (center_identity().name, center_identity().address);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let contents =
        CenterKeyFile::create(&key_path, name.clone(), address.clone(), &keys, &"operator".into(), FAST, &mut rng)
            .unwrap();
    assert_eq!(contents.identity.verification_key, keys.verification_key, "the identity carries the new keys");
    assert_eq!((&contents.identity.name, &contents.identity.address), (&name, &address));
    assert!(matches!(
        CenterKeyFile::create(&key_path, name, address, &keys, &"operator".into(), FAST, &mut rng),
        Err(VaultError::AlreadyExists { .. })
    ));
    contents.identity.write(&card_path).unwrap();

    let opened = CenterKeyFile::open_with(&key_path, &"operator".into(), FAST).unwrap();
    assert_eq!(opened, contents);
    assert!(matches!(CenterKeyFile::open_with(&key_path, &"guess".into(), FAST), Err(VaultError::WrongPassphrase)));
    let card = CenterIdentity::read(&card_path).unwrap();
    assert_eq!(card, contents.identity);
    assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);

    // A card whose keys were changed no longer matches its fingerprint.
    let text = std::fs::read_to_string(&card_path).unwrap();
    let other = generate_center_keys(&mut ChaCha20Rng::seed_from_u64(7)).verification_key;
    let hex = |bytes: &[u8; 32]| bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>();
    std::fs::write(&card_path, text.replace(&hex(&keys.verification_key), &hex(&other))).unwrap();
    let error = CenterIdentity::read(&card_path).unwrap_err();
    assert!(matches!(&error, VaultError::Card { source: CardError::FingerprintMismatch { .. }, .. }), "{error:?}");
    assert!(error.to_string().contains("do not use it"), "{error}");
}

#[test]
fn error_messages_name_no_secret() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("member.key");
    let vault = create(&path, 1001);
    let shown = format!("{vault:?} {:?}", vault.signing_key(&"wrong".into()).unwrap_err());
    assert!(!shown.contains("password"), "{shown}");
    assert!(shown.contains("UnlockedVault"), "{shown}");
}
