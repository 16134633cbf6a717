//! The `denbun` binary against a fake center on 127.0.0.1: what it prints,
//! what it stores, and its exit codes (0 done, 1 refused or failed, 2 usage).
//! Passwords come from files named by the environment, as in scripts; stdin
//! is not a terminal, so nothing is ever prompted for.

mod fake_center;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use denbun_client::keys::generate_member_keys;
use denbun_client::vault::{IdentityCardFile, NewVault, UnlockedVault, Vault, VaultConfig};
use denbun_protocol::header::{Code, PartyId, StoreNumber};
use denbun_protocol::keyfile::{HistoryEntry, KdfParams, KdfPolicy, Profile};
use denbun_protocol::reject::{Refused, RejectReason};
use denbun_protocol::sign::Signer;
use denbun_protocol::telegram::{
    ApplicationAccepted, Body, GuideText, GuideTopic, OrderLine, PaymentAnswer, PaymentInstruction,
    RegistrationCertificate, SignOffAnswer,
};
use denbun_protocol::wire::{Amount, Blob, Date, List, Text, Yen};
use ed25519_dalek::SigningKey;
use fake_center::{Center, Peer, listen};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const TEST_DEADLINE: Duration = Duration::from_secs(120);
/// The smallest scrypt parameters the binary accepts (it opens key files
/// with the standard policy), so these tests stay fast.
const SMALLEST_STANDARD: VaultConfig = VaultConfig { params: KdfParams::new(15, 8, 1), policy: KdfPolicy::STANDARD };

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// A profile directory with password files, and a way to run `denbun` there.
struct Terminal {
    directory: tempfile::TempDir,
}

impl Terminal {
    fn new() -> Self {
        let terminal = Terminal { directory: tempfile::tempdir().unwrap() };
        std::fs::create_dir(terminal.profile()).unwrap();
        terminal.write("password-a", "correct horse\n");
        terminal.write("password-b", "battery staple\n");
        terminal
    }

    fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }

    fn profile(&self) -> PathBuf {
        self.path("profile")
    }

    fn key_file(&self) -> PathBuf {
        self.profile().join("denbun.key")
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Runs `denbun --profile PROFILE arguments...` with the password files.
    async fn run(&self, arguments: &[&str]) -> Output {
        self.run_with_password_a(arguments, &self.path("password-a")).await
    }

    async fn run_with_password_a(&self, arguments: &[&str], password_a: &Path) -> Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_denbun"));
        command
            .arg("--profile")
            .arg(self.profile())
            .args(arguments)
            .env_clear()
            .env("DENBUN_PASSWORD_A_FILE", password_a)
            .env("DENBUN_PASSWORD_B_FILE", self.path("password-b"))
            .stdin(Stdio::null());
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
        Output {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// A key file as registration would leave it, with small scrypt parameters.
    fn create_vault(&self, center: &Center, number: u64) -> (UnlockedVault, SigningKey) {
        let mut rng = ChaCha20Rng::seed_from_u64(number);
        let keys = generate_member_keys(&mut rng, None);
        let key = SigningKey::from_bytes(keys.signing_seed.expose());
        let new = NewVault {
            profile: Profile {
                party: denbun_protocol::header::PartyId::member(number).expect("a member number"),
                name: Text::new("Hanako Yamada").unwrap(),
            },
            center: center.identity.clone(),
            keys,
        };
        let vault = Vault::create(
            &self.key_file(),
            new,
            &"correct horse".into(),
            &"battery staple".into(),
            SMALLEST_STANDARD,
            &mut rng,
        )
        .unwrap();
        (vault, key)
    }
}

async fn bounded<T>(test: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(TEST_DEADLINE, test).await.expect("the test finished within its deadline")
}

fn history_entry(goods: &str, amount_yen: u64) -> HistoryEntry {
    HistoryEntry {
        date: Date::new(2024, 6, 1).unwrap(),
        store: Text::new("Tea House Uji").unwrap(),
        goods: Text::new(goods).unwrap(),
        amount: Yen::new(amount_yen).unwrap(),
        receipt: Blob::new(vec![0; 8]).unwrap(),
    }
}

#[tokio::test]
async fn wrong_usage_exits_with_2() {
    bounded(async {
        let terminal = Terminal::new();
        for arguments in [
            &[][..],
            &["apply", "--kind", "member"][..],
            &["register", "--number", "123"][..],
            &["history", "--password", "x"][..],
            &["apply", "--kind", "member", "--name", "N", "--address", "A", "--date-of-birth", "1990-04-01"][..],
        ] {
            let output = terminal.run(arguments).await;
            assert_eq!(output.code, 2, "{arguments:?}: {output:?}");
        }
        let output = terminal
            .run(&["apply", "--kind", "member", "--name", "N", "--address", "A", "--date-of-birth", "1990-04-01"])
            .await;
        assert!(output.stderr.contains("--accept-agreement"), "{output:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_opens_with_password_a_alone_and_errors_say_what_to_do() {
    bounded(async {
        let terminal = Terminal::new();
        let output = terminal.run(&["history"]).await;
        assert_eq!(output.code, 1, "{output:?}");
        assert!(output.stderr.contains("There is no key file") && output.stderr.contains("register"), "{output:?}");

        let (mut vault, _) = terminal.create_vault(&Center::new(1), 7);
        vault.add_history(history_entry("Gyokuro 100 g", 1_500)).unwrap();
        vault.add_history(history_entry("Sencha 200 g", 1_234_567)).unwrap();
        drop(vault);

        let output = terminal.run(&["history"]).await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains("24/06/01  Tea House Uji  Gyokuro 100 g"), "{output:?}");
        assert!(output.stdout.contains("1,234,567 yen"), "{output:?}");

        let wrong = terminal.write("wrong-password", "wrong horse\n");
        let output = terminal.run_with_password_a(&["history"], &wrong).await;
        assert_eq!(output.code, 1, "{output:?}");
        assert!(output.stderr.contains("Wrong password A"), "{output:?}");

        let mut bytes = std::fs::read(terminal.key_file()).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(terminal.key_file(), bytes).unwrap();
        let output = terminal.run(&["history"]).await;
        assert_eq!(output.code, 1, "{output:?}");
        assert!(output.stderr.contains("damaged") && output.stderr.contains(".bak"), "{output:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guide_and_apply_talk_to_the_center_anonymously() {
    bounded(async {
        let terminal = Terminal::new();
        let (listener, address) = listen().await;
        let center = Center::new(2).at(&address);
        let card = terminal.path("center.pub");
        center.identity.write(&card).unwrap();
        let center_task = tokio::spawn(async move {
            let mut peer = Peer::accept(&listener, &center).await;
            let request = peer.receive().await;
            assert_eq!(request.sender(), PartyId::ANONYMOUS);
            let Body::GuideRequest(asked) = request.body() else { panic!("{request:?}") };
            assert_eq!(asked.topic, GuideTopic::Guide);
            let text =
                GuideText { topic: GuideTopic::Guide, version: 1, text: Text::new("Welcome to Denbun.").unwrap() };
            peer.send(&center.signer().answer(request.header(), 1, text).unwrap()).await;

            let mut peer = Peer::accept(&listener, &center).await;
            let request = peer.receive().await;
            let agreement =
                GuideText { topic: GuideTopic::MemberAgreement, version: 3, text: Text::new("Agreement.").unwrap() };
            peer.send(&center.signer().answer(request.header(), 1, agreement).unwrap()).await;
            let application = peer.receive().await;
            let Body::Application(body) = application.body() else { panic!("{application:?}") };
            assert_eq!(body.agreement_version, 3, "the version of the agreement accepted");
            assert_eq!(body.personal.name.as_str(), "Hanako Yamada");
            assert_eq!(body.personal.date_of_birth, Date::new(1990, 4, 1).unwrap());
            let accepted = ApplicationAccepted {
                assigned: PartyId::member(123).unwrap(),
                activation_code_expires_at_ms: 1_717_200_000_000,
                message: Text::new("Thank you for applying.").unwrap(),
            };
            peer.send(&center.signer().answer(application.header(), 1, accepted).unwrap()).await;
        });

        let card = card.to_str().unwrap();
        let output = terminal.run(&["--center", card, "guide"]).await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains("Guide (version 1)") && output.stdout.contains("Welcome to Denbun."));

        let output = terminal
            .run(&[
                "--center",
                card,
                "apply",
                "--kind",
                "member",
                "--name",
                "Hanako Yamada",
                "--address",
                "1-2-3 Uji, Kyoto",
                "--date-of-birth",
                "1990-04-01",
                "--accept-agreement",
            ])
            .await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains("Your member number is M00000123."), "{output:?}");
        assert!(output.stdout.contains("comes by post") && output.stdout.contains("2024-06-01"), "{output:?}");
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_refused_then_registered_keeps_its_keys_and_history_shows_the_certificate() {
    bounded(async {
        let terminal = Terminal::new();
        let (listener, address) = listen().await;
        let center = Center::new(3).at(&address);
        let card = terminal.path("center.pub");
        center.identity.write(&card).unwrap();
        let center_task = tokio::spawn(async move {
            // First attempt: a wrong activation code.
            let mut peer = Peer::accept(&listener, &center).await;
            let first = peer.receive().await;
            let Body::Registration(registration) = first.body() else { panic!("{first:?}") };
            first.verify(&registration.verification_key, &center.fingerprint()).expect("proof of possession");
            assert_eq!(registration.activation_code.expose(), "WRONG-CODE");
            let first_key = registration.verification_key;
            let message = Some("wrong activation code; 4 attempts left");
            let reject = center.signer().reject(
                &Refused::from_header(first.header()),
                RejectReason::WrongActivationCode,
                message,
                1,
            );
            peer.send(&reject.unwrap()).await;

            // Second attempt: the same keys, the right code, a new processing number.
            let mut peer = Peer::accept(&listener, &center).await;
            let second = peer.receive().await;
            let Body::Registration(registration) = second.body() else { panic!("{second:?}") };
            second.verify(&registration.verification_key, &center.fingerprint()).unwrap();
            assert_eq!(registration.activation_code.expose(), "RIGHT-CODE");
            assert_eq!(registration.verification_key, first_key, "the key file's keys are kept");
            assert!(second.header().processing_number() > first.header().processing_number());
            let certificate = RegistrationCertificate {
                party: second.sender(),
                name: registration.personal.name.clone(),
                verification_key: registration.verification_key,
                delivery_key: registration.delivery_key,
                registered_at_ms: 1_717_200_000_000,
            };
            peer.send(&center.signer().answer(second.header(), 1_717_200_000_000, certificate).unwrap()).await;
        });

        let card = card.to_str().unwrap();
        let personal = ["--name", "Hanako Yamada", "--address", "1-2-3 Uji, Kyoto", "--date-of-birth", "1990-04-01"];
        let register = |code_file: PathBuf| {
            let mut arguments = vec!["--center".to_owned(), card.to_owned(), "register".to_owned()];
            arguments.extend(["--number", "M00000123", "--activation-code-file"].map(str::to_owned));
            arguments.push(code_file.to_str().unwrap().to_owned());
            arguments.extend(personal.map(str::to_owned));
            arguments
        };
        let wrong = register(terminal.write("wrong-code", "WRONG-CODE\n"));
        let output = terminal.run(&wrong.iter().map(String::as_str).collect::<Vec<_>>()).await;
        assert_eq!(output.code, 1, "{output:?}");
        assert!(output.stderr.contains("wrong activation code; 4 attempts left"), "{output:?}");
        assert!(output.stderr.contains("run `denbun register` again"), "{output:?}");
        assert!(terminal.key_file().exists(), "the key file and its keys stay");
        assert!(terminal.profile().join("center.pub").exists(), "a copy of the card is kept in the profile");

        let right = register(terminal.write("right-code", "RIGHT-CODE\n"));
        let output = terminal.run(&right.iter().map(String::as_str).collect::<Vec<_>>()).await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains("Registered: M00000123 (Hanako Yamada)"), "{output:?}");
        assert!(!output.stderr.contains("WARNING"), "the certificate names our keys: {output:?}");
        center_task.await.unwrap();

        // The center is gone: these work offline.
        let output = terminal.run(&right.iter().map(String::as_str).collect::<Vec<_>>()).await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains("Already registered"), "{output:?}");
        let output = terminal.run(&["history"]).await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains("24/06/01  center  registration certificate"), "{output:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_lists_and_send_sends_with_password_a_only() {
    bounded(async {
        let terminal = Terminal::new();
        let (listener, address) = listen().await;
        let center = Center::new(4).at(&address);
        let (mut vault, key) = terminal.create_vault(&center, 7);
        let fingerprint = center.fingerprint();
        let processing_number = vault
            .enqueue(|number| {
                let payment = PaymentInstruction {
                    transaction_number: 42,
                    store: StoreNumber::new(9).unwrap(),
                    catalog_version: 1,
                    lines: List::new(vec![OrderLine {
                        item_id: 1,
                        quantity: 1,
                        unit_price: Amount::new(800).unwrap(),
                    }])
                    .unwrap(),
                    total: Amount::new(800).unwrap(),
                };
                let signer = Signer::new(PartyId::member(7).unwrap(), &key, fingerprint).unwrap();
                Ok(signer.request(number, 1_717_200_000_000, payment).unwrap().into_bytes())
            })
            .unwrap();
        drop(vault);
        let center_task = tokio::spawn(async move {
            let mut peer = Peer::accept(&listener, &center).await;
            let request = peer.receive().await;
            assert_eq!(request.code().number(), Code::PAYMENT_INSTRUCTION.number() + 1, "sent as a repeat");
            let answer = PaymentAnswer {
                transaction_number: 42,
                total: Amount::new(800).unwrap(),
                balance: Yen::new(200).unwrap(),
            };
            peer.send(&center.signer().answer(request.header(), 1_717_200_000_000, answer).unwrap()).await;
        });

        let output = terminal.run(&["outbox"]).await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains("4000  payment instruction"), "{output:?}");

        // Only password A: the B file is gone.
        std::fs::remove_file(terminal.path("password-b")).unwrap();
        let output = terminal.run(&["send"]).await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains(&format!("{processing_number}: answered")), "{output:?}");
        center_task.await.unwrap();

        let vault = Vault::open_with(&terminal.key_file(), &"correct horse".into(), SMALLEST_STANDARD).unwrap();
        assert!(vault.outbox().is_empty());
        assert_eq!(vault.history().len(), 1);
        drop(vault);
        let output = terminal.run(&["send"]).await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains("nothing to send"), "{output:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_on_shows_the_mailbox_count_and_signs_off() {
    bounded(async {
        let terminal = Terminal::new();
        let (listener, address) = listen().await;
        let center = Center::new(5).at(&address);
        let (vault, key) = terminal.create_vault(&center, 7);
        drop(vault);
        let center_task = tokio::spawn(async move {
            let mut peer = Peer::accept(&listener, &center).await;
            peer.answer_sign_on(&center, &key, 2).await;
            let sign_off = peer.receive().await;
            assert_eq!(sign_off.code(), Code::SIGN_OFF);
            peer.send(&center.signer().answer(sign_off.header(), 1, SignOffAnswer {}).unwrap()).await;
        });
        let output = terminal.run(&["sign-on"]).await;
        assert_eq!(output.code, 0, "{output:?}");
        assert!(output.stdout.contains("Signed on as M00000007"), "{output:?}");
        assert!(output.stdout.contains("2 notice(s) wait"), "{output:?}");
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_center_that_is_not_there_is_a_failure_that_says_what_to_do() {
    bounded(async {
        let terminal = Terminal::new();
        let (listener, address) = listen().await;
        drop(listener);
        let center = Center::new(6).at(&address);
        let card = terminal.path("center.pub");
        center.identity.write(&card).unwrap();
        let output = terminal.run(&["--center", card.to_str().unwrap(), "guide"]).await;
        assert_eq!(output.code, 1, "{output:?}");
        assert!(output.stderr.contains("Could not connect to the center"), "{output:?}");
        assert!(output.stderr.contains("is running"), "{output:?}");
    })
    .await;
}
