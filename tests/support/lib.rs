//! End-to-end test support: a real center on 127.0.0.1 and terminals that
//! speak the real protocol to it.
//!
//! [`TestCenter`] runs the center's own server (`denbun_center::server::run`)
//! on a loopback port over a sled database in a temporary directory, and can
//! stop and restart it on the same data. [`RawTerminal`] is a terminal at the
//! protocol level — handshake, frames, signed telegrams — so tests can send
//! exactly the bytes they want, good or bad. [`binary`] finds the workspace's
//! real binaries for tests that run them as child processes.
//!
//! Everything talks to loopback only, and every wait has a deadline.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use denbun_center::audit::{AuditReport, audit};
use denbun_center::config::Config;
use denbun_center::server;
use denbun_center::service::{Center, CommitterThread};
use denbun_center::storage::{
    Counter, LetterRecord, MailboxNotice, PartyRecord, PartyStatus, SledStorage, Storage, Write, WriteBatch,
};
use denbun_client::keys::generate_center_keys;
use denbun_client::line::{FrameReader, LineError, ReadEvent, handshake_as_terminal, write_frame};
use denbun_protocol::header::{Code, PartyId};
use denbun_protocol::identity::CenterIdentity;
use denbun_protocol::keyfile::CenterKeyContents;
use denbun_protocol::session::Transport;
use denbun_protocol::sign::{CenterFingerprint, Signer};
use denbun_protocol::telegram::registration::{
    ActivationCode, Applicant, Application, GuideRequest, GuideTopic, PersonalData, Registration,
};
use denbun_protocol::telegram::{Body, Telegram};
use denbun_protocol::wire::{Blob, Date, Text};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod fleet;
pub mod proxy;

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    denbun_center::service::now_ms()
}

/// A center running in this process on a loopback port.
pub struct TestCenter {
    directory: tempfile::TempDir,
    config: Config,
    keys: CenterKeyContents,
    /// Where terminals connect.
    pub address: SocketAddr,
    running: Option<Running>,
    /// The first operator (registered at start, like `denbun-center init` does).
    pub operator: TestParty,
}

struct Running {
    center: Arc<Center>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<()>,
    committer: CommitterThread,
}

impl TestCenter {
    /// A fresh center with the default configuration.
    pub async fn start() -> TestCenter {
        Self::start_with(|_| {}).await
    }

    /// A fresh center whose configuration `adjust` changes first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestCenter {
        let directory = tempfile::tempdir().expect("temporary directory");
        let mut config = Config::default_config();
        config.listen = "127.0.0.1:0".parse().expect("loopback address");
        adjust(&mut config);
        let center_keys = generate_center_keys(&mut OsRng);
        let keys = CenterKeyContents {
            identity: CenterIdentity {
                name: Text::new("Test Center").expect("short"),
                address: Text::new("127.0.0.1:0").expect("short"),
                verification_key: center_keys.verification_key,
                noise_public_key: center_keys.noise_public_key,
            },
            signing_seed: center_keys.signing_seed.clone(),
            noise_secret_key: center_keys.noise_secret_key.clone(),
        };
        let operator = TestParty::new(PartyId::operator(1).expect("operator 1"));
        let mut center = TestCenter {
            directory,
            config,
            keys,
            address: "127.0.0.1:0".parse().expect("loopback address"),
            running: None,
            operator,
        };
        {
            let storage = SledStorage::open(&center.database_path()).expect("open the database");
            let mut batch = WriteBatch::default();
            batch.push(Write::Party(registered_record(&center.operator)));
            storage.commit(&batch).expect("register the operator");
        }
        center.run().await;
        center
    }

    fn database_path(&self) -> PathBuf {
        self.directory.path().join("db")
    }

    /// The data directory (letters are under `mail/`).
    pub fn data_directory(&self) -> &Path {
        self.directory.path()
    }

    async fn run(&mut self) {
        assert!(self.running.is_none(), "the center is already running");
        let storage: Arc<dyn Storage> =
            Arc::new(SledStorage::open(&self.database_path()).expect("reopen the database"));
        let (center, committer) =
            Center::start(self.config.clone(), &self.keys, storage, Some(self.directory.path().to_owned()))
                .expect("start the committer");
        let listener = tokio::net::TcpListener::bind(self.config.listen).await.expect("bind a loopback port");
        self.address = listener.local_addr().expect("bound address");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(server::run(listener, center.clone(), async {
            let _ = stopped.await;
        }));
        self.running = Some(Running { center, shutdown, server, committer });
    }

    /// Stops the center as SIGTERM would: no new connections, in-flight
    /// telegrams finish, the last group is made durable.
    pub async fn stop(&mut self) {
        let running = self.running.take().expect("the center is running");
        let _ = running.shutdown.send(());
        tokio::time::timeout(WAIT, running.server).await.expect("the server stops in time").expect("server task");
        drop(running.center);
        let committer = running.committer;
        tokio::task::spawn_blocking(move || committer.join())
            .await
            .expect("join the committer")
            .expect("the committer made everything durable");
    }

    /// Starts a stopped center again on the same data (on a new port), so a
    /// test can act while it is down first.
    pub async fn start_again(&mut self) {
        self.run().await;
    }

    /// Stops and starts again on the same data (on a new port).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.run().await;
    }

    /// The running center.
    pub fn center(&self) -> &Arc<Center> {
        &self.running.as_ref().expect("the center is running").center
    }

    /// The center's Ed25519 verification key.
    pub fn verification_key(&self) -> VerifyingKey {
        VerifyingKey::from_bytes(&self.keys.identity.verification_key).expect("a valid key")
    }

    /// The fingerprint telegrams for this center name.
    pub fn fingerprint(&self) -> CenterFingerprint {
        CenterFingerprint::of(&self.verification_key())
    }

    /// The identity card a terminal pins, with the current address.
    pub fn identity(&self) -> CenterIdentity {
        let mut identity = self.keys.identity.clone();
        identity.address = Text::new(self.address.to_string()).expect("an address fits");
        identity
    }

    /// Runs the audit over the running center's storage.
    pub fn audit(&self) -> AuditReport {
        audit(self.center().storage().as_ref(), &self.verification_key()).expect("the audit reads storage")
    }

    /// Asserts the audit passes (every end-to-end test ends with this).
    pub fn assert_audit_passes(&self) {
        let report = self.audit();
        assert!(report.passed(), "audit failed:\n{report}");
        assert!(report.journal_entries > 0, "the journal recorded nothing:\n{report}");
    }

    /// A register entry.
    pub fn party(&self, party: PartyId) -> Option<PartyRecord> {
        self.center().storage().party(party).expect("read the register")
    }

    /// The newest letter for `party` in the mail queue (how its activation
    /// code reaches the applicant, out of band).
    pub fn letter_for(&self, party: PartyId) -> LetterRecord {
        let letters = self.center().storage().letters(0, 10_000).expect("read the mail queue");
        letters.into_iter().rev().find(|letter| letter.recipient == party).expect("a letter for the applicant")
    }

    /// Puts a notice signed by this center into `recipient`'s mailbox, as
    /// the center's flows do (for testing store and forward on its own).
    /// Call it while no telegram is in flight: it writes beside the committer.
    pub async fn put_notice(&mut self, recipient: PartyId, body: impl Into<Body>) -> u64 {
        let signing_key = SigningKey::from_bytes(self.keys.signing_seed.expose());
        let body = body.into();
        self.behind_the_committer(move |storage| {
            let sequence = storage.counter(Counter::LastNotice).expect("read the counter") + 1;
            let notice = Signer::center(&signing_key).notice(recipient, sequence, now_ms(), body).expect("a notice");
            let mut batch = WriteBatch::default();
            batch.push(Write::Counter(Counter::LastNotice, sequence));
            batch.push(Write::MailboxPut(MailboxNotice {
                recipient,
                sequence,
                telegram: Blob::new(notice.into_bytes()).expect("a notice fits"),
            }));
            storage.commit(&batch).expect("write the notice");
            sequence
        })
        .await
    }

    /// Changes a register entry directly (to set up a state, e.g. an expired
    /// code); the center restarts around the write.
    pub async fn put_party(&mut self, record: PartyRecord) {
        self.behind_the_committer(move |storage| {
            let mut batch = WriteBatch::default();
            batch.push(Write::Party(record));
            storage.commit(&batch).expect("write the register");
        })
        .await
    }

    /// Writes into the database with the center stopped, then starts it
    /// again (on a new port: connections made before are closed). Only the
    /// committer writes while a center runs — it caches what it has read —
    /// so a test sets up a state this way, as an operator restoring data would.
    async fn behind_the_committer<R>(&mut self, write: impl FnOnce(&SledStorage) -> R) -> R {
        self.stop().await;
        let result = {
            let storage = SledStorage::open(&self.database_path()).expect("open the stopped center's database");
            write(&storage)
        };
        self.run().await;
        result
    }

    /// A terminal connected to this center.
    pub async fn connect(&self) -> RawTerminal {
        RawTerminal::connect(self.address, &self.identity()).await.expect("connect and handshake")
    }

    /// Applies through `terminal` and reads the posted activation code:
    /// a party with fresh keys that has not registered yet, and its code.
    pub async fn applicant(&self, terminal: &mut RawTerminal, applicant: Applicant) -> (TestParty, ActivationCode) {
        let number = terminal.apply(applicant.clone()).await;
        let mut party = TestParty::new(number);
        party.applicant = Some(applicant);
        (party, self.letter_for(number).activation_code)
    }

    /// Applies and registers a member (or a store), returning it.
    pub async fn register(&self, applicant: Applicant) -> TestParty {
        let mut terminal = self.connect().await;
        let (mut party, code) = self.applicant(&mut terminal, applicant).await;
        let answer = party.send_registration(&mut terminal, &self.fingerprint(), code).await;
        assert_eq!(answer.code(), Code::REGISTRATION_CERTIFICATE, "registration answered {answer:?}");
        party
    }
}

impl Drop for TestCenter {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.shutdown.send(());
            running.server.abort();
        }
    }
}

fn registered_record(party: &TestParty) -> PartyRecord {
    PartyRecord {
        party: party.id,
        status: PartyStatus::Registered,
        name: Text::new("Test Operator").expect("short"),
        address: Text::new("Test Center").expect("short"),
        date_of_birth: None,
        trade_name: None,
        bank_account: Blob::default(),
        verification_key: Some(party.verification_key().to_bytes()),
        delivery_key: Some(party.delivery_public_key()),
        activation: None,
        applied_at_ms: now_ms(),
        registered_at_ms: now_ms(),
    }
}

/// A member, store or operator with its keys and processing numbers.
pub struct TestParty {
    /// Its number.
    pub id: PartyId,
    /// Its Ed25519 signature key.
    pub signing_key: SigningKey,
    delivery_secret: [u8; 32],
    next_processing_number: u64,
    applicant: Option<Applicant>,
}

impl TestParty {
    /// New keys for `id`.
    pub fn new(id: PartyId) -> TestParty {
        let mut delivery_secret = [0u8; 32];
        OsRng.fill_bytes(&mut delivery_secret);
        TestParty {
            id,
            signing_key: SigningKey::generate(&mut OsRng),
            delivery_secret,
            next_processing_number: 1,
            applicant: None,
        }
    }

    /// Its verification key.
    pub fn verification_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// Its X25519 delivery public key.
    pub fn delivery_public_key(&self) -> [u8; 32] {
        x25519_public(&self.delivery_secret)
    }

    /// Takes the next processing number.
    pub fn next_processing_number(&mut self) -> u64 {
        let number = self.next_processing_number;
        self.next_processing_number += 1;
        number
    }

    /// A signed request with the next processing number.
    pub fn request(&mut self, center: &CenterFingerprint, body: impl Into<Body>) -> Telegram {
        let processing_number = self.next_processing_number();
        Signer::new(self.id, &self.signing_key, *center)
            .expect("a numbered party signs")
            .request(processing_number, now_ms(), body)
            .expect("a valid request")
    }

    /// Signs a registration with `code` (and this party's own keys), sends it
    /// and returns the center's answer.
    pub async fn send_registration(
        &mut self,
        terminal: &mut RawTerminal,
        center: &CenterFingerprint,
        code: ActivationCode,
    ) -> Telegram {
        let applicant = self.applicant.clone().unwrap_or_else(|| match self.id.kind() {
            denbun_protocol::header::PartyKind::Store => Applicant::Store(Text::new("Test Store").expect("short")),
            _ => Applicant::Member,
        });
        let registration = self.registration(code, applicant);
        terminal.exchange(&self.request(center, registration)).await
    }

    /// The registration body for this party with `code`.
    pub fn registration(&self, code: ActivationCode, applicant: Applicant) -> Registration {
        let store = match applicant {
            Applicant::Member => None,
            Applicant::Store(trade_name) => Some(sample_store_registration(trade_name)),
        };
        Registration {
            activation_code: code,
            personal: personal_data(),
            store,
            verification_key: self.verification_key(),
            delivery_key: x25519_dalek::PublicKey::from(self.delivery_public_key()),
        }
    }
}

fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*secret)).to_bytes()
}

/// Personal data used by the tests.
pub fn personal_data() -> PersonalData {
    PersonalData {
        name: Text::new("Hanako Yamada").expect("short"),
        address: Text::new("1-2-3 Marunouchi, Chiyoda-ku, Tokyo").expect("short"),
        date_of_birth: Date::new(1990, 4, 1).expect("a date"),
    }
}

fn sample_store_registration(
    trade_name: Text<{ denbun_protocol::limits::TRADE_NAME_BYTES_MAX }>,
) -> denbun_protocol::telegram::registration::StoreRegistration {
    use denbun_protocol::telegram::registration::{AccountType, BankAccount, Digits, StoreRegistration};
    StoreRegistration {
        trade_name,
        payout_account: BankAccount {
            bank_code: Digits::new("0001").expect("digits"),
            branch_code: Digits::new("123").expect("digits"),
            account_type: AccountType::Ordinary,
            account_number: Digits::new("1234567").expect("digits"),
            holder_name: Text::new("YAMADA SHOTEN").expect("short"),
        },
    }
}

/// A terminal at the protocol level.
pub struct RawTerminal {
    reader: FrameReader<TcpStream>,
    transport: Transport,
    center_key: VerifyingKey,
    fingerprint: CenterFingerprint,
}

impl RawTerminal {
    /// Connects to `address` and runs the handshake pinned to `identity`.
    pub async fn connect(address: SocketAddr, identity: &CenterIdentity) -> Result<RawTerminal, LineError> {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(address))
            .await
            .map_err(|_| LineError::HandshakeTimeout(WAIT))??;
        let mut reader = FrameReader::new(stream, WAIT);
        let transport = handshake_as_terminal(&mut reader, &identity.noise_public_key, &mut OsRng, WAIT).await?;
        let center_key = VerifyingKey::from_bytes(&identity.verification_key).expect("a valid key");
        Ok(RawTerminal { reader, transport, center_key, fingerprint: identity.fingerprint() })
    }

    /// This session's handshake hash.
    pub fn handshake_hash(&self) -> [u8; 32] {
        self.transport.handshake_hash()
    }

    /// Sends telegram bytes (any bytes) in one frame.
    pub async fn send_bytes(&mut self, telegram: &[u8]) {
        let sealed = self.transport.seal(telegram).expect("seal");
        write_frame(self.reader.get_mut(), &sealed).await.expect("write a frame");
    }

    /// Sends `telegram` in one frame with one bit of its ciphertext flipped at `byte`.
    pub async fn send_flipped(&mut self, telegram: &[u8], byte: usize) {
        let mut sealed = self.transport.seal(telegram).expect("seal");
        sealed[byte] ^= 0x01;
        write_frame(self.reader.get_mut(), &sealed).await.expect("write a frame");
    }

    /// Writes raw bytes to the socket, outside any frame or encryption.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.reader.get_mut().write_all(bytes).await
    }

    /// Sends a telegram.
    pub async fn send(&mut self, telegram: &Telegram) {
        self.send_bytes(telegram.as_bytes()).await;
    }

    /// The next telegram from the center, checked against its signature.
    pub async fn receive(&mut self) -> Telegram {
        match self.try_receive().await {
            Ok(Some(telegram)) => telegram,
            Ok(None) => panic!("the center closed the connection"),
            Err(error) => panic!("receiving failed: {error}"),
        }
    }

    /// The next telegram, `None` when the center closed the connection.
    pub async fn try_receive(&mut self) -> Result<Option<Telegram>, LineError> {
        let deadline = tokio::time::Instant::now() + WAIT;
        match self.reader.next(Some(deadline)).await? {
            ReadEvent::Frame(payload) => {
                let bytes = self.transport.open(&payload)?;
                let telegram = Telegram::decode(&bytes).expect("the center sends well-formed telegrams");
                telegram.verify(&self.center_key, &self.fingerprint).expect("the center signs what it sends");
                Ok(Some(telegram))
            }
            ReadEvent::Closed => Ok(None),
            ReadEvent::Idle => panic!("the center did not answer within {WAIT:?}"),
        }
    }

    /// Sends a telegram and returns the center's answer to it.
    pub async fn exchange(&mut self, telegram: &Telegram) -> Telegram {
        self.send(telegram).await;
        let answer = self.receive().await;
        assert_eq!(
            answer.header().processing_number(),
            telegram.header().processing_number(),
            "the answer echoes the processing number"
        );
        answer
    }

    /// Asks for the guide text (anonymously).
    pub async fn guide(&mut self, topic: GuideTopic) -> Telegram {
        let request = Signer::anonymous()
            .request(OsRng.next_u64(), now_ms(), GuideRequest { topic })
            .expect("a valid guide request");
        self.exchange(&request).await
    }

    /// Applies (reading the agreement first, as a newcomer does); returns the number assigned.
    pub async fn apply(&mut self, applicant: Applicant) -> PartyId {
        let answer = self.apply_answer(applicant).await;
        match answer.body() {
            Body::ApplicationAccepted(accepted) => accepted.assigned,
            other => panic!("the application was not accepted: {other:?} ({:?})", answer.header().reject_reason()),
        }
    }

    /// Applies and returns the center's answer, whatever it is.
    pub async fn apply_answer(&mut self, applicant: Applicant) -> Telegram {
        let topic = match applicant {
            Applicant::Member => GuideTopic::MemberAgreement,
            Applicant::Store(_) => GuideTopic::StoreAgreement,
        };
        let agreement = self.guide(topic).await;
        let Body::GuideText(text) = agreement.body() else { panic!("expected the agreement, got {agreement:?}") };
        let application = Application { applicant, personal: personal_data(), agreement_version: text.version };
        let request =
            Signer::anonymous().request(OsRng.next_u64(), now_ms(), application).expect("a valid application");
        self.exchange(&request).await
    }
}

/// The path of a workspace binary, built first if needed (`cargo build`
/// is a no-op when it is up to date).
///
/// With the `failpoints` feature, `denbun-center` is built with its
/// failpoints and copied to `denbun-center-failpoints`: other builds in the
/// same target directory put the ordinary binary back at `denbun-center`.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let executable = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/
    let profile_directory = executable.parent().and_then(Path::parent).expect("target/<profile>").to_owned();
    let build = || {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command.args([
            "build",
            "--quiet",
            "-p",
            "denbun-center",
            "-p",
            "denbun-client",
            "-p",
            "denbun-bench",
            "--bins",
        ]);
        if cfg!(feature = "failpoints") {
            // The child centers of tests/e2e/faults.rs read FAILPOINTS.
            command.args(["--features", "denbun-center/failpoints"]);
        }
        command.current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_directory.file_name().is_some_and(|name| name == "release") {
            command.arg("--release");
        }
        let status = command.status().expect("run cargo build");
        assert!(status.success(), "building the binaries failed");
    };
    let failpoints_center = BUILT.get_or_init(|| {
        let copy = profile_directory.join("denbun-center-failpoints");
        if !cfg!(feature = "failpoints") {
            build();
            return copy;
        }
        // A failpoints build refuses a malformed FAILPOINTS (it aborts); the ordinary one ignores it.
        for _ in 0..5 {
            build();
            std::fs::copy(profile_directory.join("denbun-center"), &copy).expect("copy the failpoints build");
            let status = std::process::Command::new(&copy)
                .arg("--version")
                .env("FAILPOINTS", "probe=not-an-action(")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("run the copied center");
            if !status.success() {
                return copy;
            }
        }
        panic!("another build kept replacing the failpoints build of denbun-center");
    });
    let path = match name {
        "denbun-center" if cfg!(feature = "failpoints") => failpoints_center.clone(),
        _ => profile_directory.join(name),
    };
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// The passwords every [`ChildCenter`] uses, in files named by the environment.
pub const CHILD_OPERATOR_PASSWORD_A: &str = "operator A";
/// See [`CHILD_OPERATOR_PASSWORD_A`].
pub const CHILD_OPERATOR_PASSWORD_B: &str = "operator B";

/// The real `denbun-center` binary as a child process: `init` once, then
/// `serve` on a fixed loopback port that survives restarts (so terminals find
/// it again after a kill). Secrets reach it through files named in the
/// environment, never argv.
pub struct ChildCenter {
    /// The data directory.
    pub data: PathBuf,
    /// `127.0.0.1:PORT`.
    pub address: String,
    secrets: tempfile::TempDir,
    child: Option<std::process::Child>,
    /// How many times `serve` was started.
    pub starts: usize,
    /// More arguments for `serve` (e.g. `--backup-dir DIR`).
    pub serve_arguments: Vec<std::ffi::OsString>,
    /// More environment for `serve` (e.g. `FAILPOINTS` in a failpoints build).
    pub serve_environment: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

impl ChildCenter {
    /// Runs `denbun-center init --data DATA` on a free loopback port.
    pub fn init(data: PathBuf) -> ChildCenter {
        let secrets = tempfile::tempdir().expect("temporary directory");
        for (name, text) in [
            ("passphrase", "child center passphrase"),
            ("a", CHILD_OPERATOR_PASSWORD_A),
            ("b", CHILD_OPERATOR_PASSWORD_B),
        ] {
            std::fs::write(secrets.path().join(name), text).expect("write a secret file");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let center = ChildCenter {
            data,
            address: format!("127.0.0.1:{port}"),
            secrets,
            child: None,
            starts: 0,
            serve_arguments: Vec::new(),
            serve_environment: Vec::new(),
        };
        let output = center
            .command()
            .args(["init", "--data"])
            .arg(&center.data)
            .args(["--listen", &center.address])
            .output()
            .expect("run denbun-center init");
        assert!(output.status.success(), "init: {}", String::from_utf8_lossy(&output.stderr));
        center
    }

    /// `denbun-center` with the secret files in its environment and no standard input.
    pub fn command(&self) -> std::process::Command {
        self.command_of("denbun-center")
    }

    /// One of the workspace's programs (`denbun-center`, `denbun-bench`)
    /// with the secret files in its environment and no standard input.
    pub fn command_of(&self, program: &str) -> std::process::Command {
        let mut command = std::process::Command::new(binary(program));
        command
            .stdin(std::process::Stdio::null())
            .env("DENBUN_CENTER_PASSPHRASE_FILE", self.secrets.path().join("passphrase"))
            .env("DENBUN_PASSWORD_A_FILE", self.secrets.path().join("a"))
            .env("DENBUN_PASSWORD_B_FILE", self.secrets.path().join("b"));
        command
    }

    /// Runs an operator command (`mail`, `funds`, `payouts`, …) against the running center.
    pub fn operator(&self, arguments: &[&str]) -> std::process::Output {
        self.command()
            .arg("--center")
            .arg(self.data.join("center.pub"))
            .arg("--operator-key")
            .arg(self.data.join("operators/O001.key"))
            .args(arguments)
            .output()
            .expect("run an operator command")
    }

    /// Every terminal of a test comes from 127.0.0.1: sets the per-address
    /// limits for one busy address, as an operator would for a test bench.
    pub fn allow_many_terminals_from_one_address(&self) {
        let path = self.data.join("center.toml");
        let config = std::fs::read_to_string(&path)
            .expect("read center.toml")
            .replace("applications_per_address_per_hour = 20", "applications_per_address_per_hour = 10000")
            .replace("handshakes_per_second_per_address = 20", "handshakes_per_second_per_address = 10000")
            .replace("handshake_burst_per_address = 50", "handshake_burst_per_address = 10000")
            .replace("connections_per_address_max = 64", "connections_per_address_max = 1024");
        std::fs::write(&path, config).expect("write center.toml");
    }

    /// Starts `serve` and waits until it accepts connections.
    pub fn start(&mut self) {
        if let Err(status) = self.try_start() {
            panic!("the center exited on start {} with {status}: it could not open its data", self.starts + 1);
        }
    }

    /// Starts `serve` and waits until it accepts connections, or returns how
    /// it ended if it exits first (a failpoint may crash it at once: a
    /// terminal can get in before this waits for the port).
    pub fn try_start(&mut self) -> Result<(), std::process::ExitStatus> {
        assert!(self.child.is_none(), "already running");
        let mut child = self
            .command()
            .args(["serve", "--data"])
            .arg(&self.data)
            .args(&self.serve_arguments)
            .envs(self.serve_environment.iter().map(|(name, value)| (name, value)))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .env("DENBUN_LOG", "warn")
            .spawn()
            .expect("start denbun-center serve");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(&self.address).is_err() {
            if let Some(status) = child.try_wait().expect("poll the child") {
                return Err(status);
            }
            assert!(std::time::Instant::now() < deadline, "the center did not start listening within a minute");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.starts += 1;
        self.child = Some(child);
        Ok(())
    }

    /// Whether `serve` is running (started, and not killed, stopped or found dead).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Whether `serve` ended by itself (a crash, e.g. a failpoint); the dead
    /// process is reaped, so [`ChildCenter::start`] may be called again.
    pub fn exited(&mut self) -> bool {
        let ended = match self.child.as_mut() {
            Some(child) => child.try_wait().expect("poll the child").is_some(),
            None => false,
        };
        if ended {
            self.child = None;
        }
        ended
    }

    /// SIGKILL, and wait for it to die.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap the child");
    }

    /// SIGTERM, and wait for a clean stop (asserting it exits 0).
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let status =
            std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("run kill");
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let exit = loop {
            if let Some(exit) = child.try_wait().expect("poll the child") {
                break exit;
            }
            assert!(std::time::Instant::now() < deadline, "the center did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(exit.success(), "serve exited with {exit}");
    }

    /// Runs `denbun-center audit` (the center must be stopped) and asserts it passes.
    pub fn assert_audit_passes(&self) -> String {
        let output = self.command().args(["audit", "--data"]).arg(&self.data).output().expect("run the audit");
        let report = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "the audit failed:\n{report}{}", String::from_utf8_lossy(&output.stderr));
        report
    }

    /// The identity card `center.pub`.
    pub fn identity(&self) -> CenterIdentity {
        use denbun_client::vault::IdentityCardFile;
        CenterIdentity::read(&self.data.join("center.pub")).expect("read center.pub")
    }

    /// A terminal connected to the running child center.
    pub async fn connect(&self) -> RawTerminal {
        RawTerminal::connect(self.address.parse().expect("an address"), &self.identity()).await.expect("connect")
    }

    /// Registers a store selling one service at `price_yen`; `member` (signed
    /// requests through `member_line`) buys it as `transaction_number` and the
    /// store claims it: a purchase ready for a payout. Returns the store's number.
    pub async fn service_sold_and_claimed(
        &self,
        member: &mut TestParty,
        member_line: &mut RawTerminal,
        price_yen: u64,
        transaction_number: u64,
    ) -> PartyId {
        use denbun_protocol::header::StoreNumber;
        use denbun_protocol::telegram::catalog::{CatalogItem, CatalogPublish, ItemKind};
        use denbun_protocol::telegram::payment::{OrderLine, PaymentInstruction};
        use denbun_protocol::telegram::payout::{AscendingNumbers, PaymentClaim};
        use denbun_protocol::wire::{Amount, List};

        let fingerprint = self.identity().fingerprint();
        let mut store_line = self.connect().await;
        let store_id = store_line.apply(Applicant::Store(Text::new("Kanda Lessons").expect("short"))).await;
        let mut store = TestParty::new(store_id);
        let certificate = store.send_registration(&mut store_line, &fingerprint, self.activation_code(store_id)).await;
        assert_eq!(certificate.code(), Code::REGISTRATION_CERTIFICATE);
        let price = Amount::new(price_yen).expect("a price");
        let item = CatalogItem {
            item_id: 7,
            title: Text::new("Calligraphy lesson").expect("short"),
            description: Text::new("One hour, online").expect("short"),
            price,
            kind: ItemKind::Service,
        };
        let items = List::new(vec![item]).expect("one item");
        let publish = CatalogPublish { version: 1, part_index: 0, part_count: 1, items };
        let published = store_line.exchange(&store.request(&fingerprint, publish)).await;
        assert_eq!(published.code(), Code::CATALOG_PUBLISH_ANSWER, "{published:?}");
        let payment = PaymentInstruction {
            transaction_number,
            store: StoreNumber::try_from(store_id).expect("a store"),
            catalog_version: 1,
            lines: List::new(vec![OrderLine { item_id: 7, quantity: 1, unit_price: price }]).expect("one line"),
            total: price,
        };
        let paid = member_line.exchange(&member.request(&fingerprint, payment)).await;
        assert_eq!(paid.code(), Code::PAYMENT_ANSWER, "{paid:?}");
        let numbers = AscendingNumbers::new(vec![transaction_number]).expect("one number");
        let claimed =
            store_line.exchange(&store.request(&fingerprint, PaymentClaim { transaction_numbers: numbers })).await;
        assert_eq!(claimed.code(), Code::PAYMENT_CLAIM_ANSWER, "{claimed:?}");
        store_id
    }

    /// The activation code posted to `party` (its letter under DATA/mail/).
    pub fn activation_code(&self, party: PartyId) -> ActivationCode {
        let wanted = format!("Your number is {party}.");
        for entry in std::fs::read_dir(self.data.join("mail")).expect("the mail directory") {
            let text = std::fs::read_to_string(entry.expect("an entry").path()).expect("a letter");
            if text.contains(&wanted) {
                let code = text.lines().find_map(|line| line.strip_prefix("Activation code: ")).expect("a code line");
                return ActivationCode::new(code).expect("a valid code");
            }
        }
        panic!("no letter for {party}");
    }
}

impl Drop for ChildCenter {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
