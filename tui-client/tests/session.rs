//! Sessions against a minimal fake center built from the line layer and the
//! protocol crate, on 127.0.0.1:0: sign-on, answer matching, notices and
//! their acknowledgement, echo probes, rejects, forged telegrams, line drops,
//! deadlines, and the outbox (an entry stays until its answer, leaves after).
//!
//! Each test scripts the center's side in a spawned task and drives the
//! terminal's side through the public session API; every test is bounded by
//! a deadline so a bug fails it instead of hanging it.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use denbun_client::keys::generate_member_keys;
use denbun_client::session::{
    Completed, DownReason, LineState, Session, SessionConfig, SessionError, SubmitError, run_outbox, submit,
};
use denbun_client::vault::{NewVault, UnlockedVault, Vault, VaultConfig};
use denbun_protocol::header::{Code, PartyId, StoreNumber};
use denbun_protocol::keyfile::Profile;
use denbun_protocol::reject::{Refused, RejectReason};
use denbun_protocol::sign::Signer;
use denbun_protocol::telegram::{
    Body, CardIssueNotice, Echo, FundingChannel, GuideRequest, GuideText, GuideTopic, IssuedCard, MailboxAckAnswer,
    MailboxFetch, MailboxFetchAnswer, OrderLine, PaymentAnswer, PaymentInstruction, SignOffAnswer, Telegram,
};
use denbun_protocol::wire::{Amount, List, Text, Yen};
use ed25519_dalek::SigningKey;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

mod fake_center;

use fake_center::{Center, Peer, listen};

const MEMBER_NUMBER: u64 = 7;
const TEST_DEADLINE: Duration = Duration::from_secs(30);

fn member() -> PartyId {
    PartyId::member(MEMBER_NUMBER).unwrap()
}

fn config() -> SessionConfig {
    SessionConfig { answer_timeout: Duration::from_secs(10), ..SessionConfig::default() }
}

/// Runs `test` within [`TEST_DEADLINE`].
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_DEADLINE, test).await.expect("the test finished within its deadline")
}

fn member_key(seed: u64) -> SigningKey {
    SigningKey::from_bytes(generate_member_keys(&mut ChaCha20Rng::seed_from_u64(seed), None).signing_seed.expose())
}

fn guide_request(key: &SigningKey, center: &Center, processing_number: u64) -> Telegram {
    Signer::new(member(), key, center.fingerprint())
        .unwrap()
        .request(processing_number, 2_000, GuideRequest { topic: GuideTopic::Guide })
        .unwrap()
}

fn guide_text(version: u32) -> GuideText {
    GuideText { topic: GuideTopic::Guide, version, text: Text::new(format!("guide version {version}")).unwrap() }
}

fn card_notice(card_number: u64) -> CardIssueNotice {
    CardIssueNotice {
        card: IssuedCard { card_number, face_value: Amount::new(5_000).unwrap(), issued_at_ms: 3_000 },
        channel: FundingChannel::BankTransfer,
        reference: None,
        balance: Yen::new(5_000).unwrap(),
    }
}

#[tokio::test]
async fn answers_are_matched_notices_delivered_echo_answered_and_acknowledged() {
    bounded(async {
        let center = Center::new(1);
        let key = member_key(2);
        let (listener, address) = listen().await;
        let member_public = key.verifying_key();
        let center_task = {
            let key = key.clone();
            tokio::spawn(async move {
                let mut peer = Peer::accept(&listener, &center).await;
                peer.answer_sign_on(&center, &key, 1).await;
                // A notice pushed after sign-on, then an echo probe.
                peer.send(&center.signer().notice(member(), 17, 3_000, card_notice(41)).unwrap()).await;
                let probe = center.signer().request_to(member(), 900, 3_100, Echo {}).unwrap();
                peer.send(&probe).await;
                // The echo answer and the terminal's two requests, in whatever order they come.
                let mut received = Vec::new();
                for _ in 0..3 {
                    received.push(peer.receive().await);
                }
                let position = received.iter().position(|telegram| telegram.code() == Code::ECHO_ANSWER);
                let echo_answer = received.remove(position.expect("the probe was answered"));
                assert_eq!(echo_answer.header().processing_number(), 900, "the answer echoes the probe's number");
                echo_answer.verify(&member_public, &center.fingerprint()).expect("signed by the signed-on member");
                // Two requests in flight, answered in the opposite order.
                let [first, second] = <[Telegram; 2]>::try_from(received).unwrap();
                for request in [&second, &first] {
                    let version = request.header().processing_number() as u32;
                    let answer = center.signer().answer(request.header(), 4_000, guide_text(version)).unwrap();
                    peer.send(&answer).await;
                }
                // The acknowledgement, signed by the member.
                let ack = peer.receive().await;
                ack.verify(&member_public, &center.fingerprint()).unwrap();
                assert!(matches!(ack.body(), Body::MailboxAck(ack) if ack.up_to_sequence == 17), "{ack:?}");
                let answer =
                    center.signer().answer(ack.header(), 5_000, MailboxAckAnswer { removed: 1, remaining: 0 }).unwrap();
                peer.send(&answer).await;
                // Sign-off ends the session.
                let sign_off = peer.receive().await;
                assert_eq!(sign_off.code(), Code::SIGN_OFF);
                peer.send(&center.signer().answer(sign_off.header(), 6_000, SignOffAnswer {}).unwrap()).await;
                peer
            })
        };

        let session = Session::connect(&address, &Center::new(1).identity, config()).await.unwrap();
        let signed_on = session.sign_on(&key, member(), 1).await.unwrap();
        assert_eq!(signed_on.mailbox_count, 1);

        let notice = session.next_notice().await.unwrap();
        assert_eq!((notice.sequence(), notice.telegram().code()), (17, Code::CARD_ISSUE_NOTICE));
        assert!(matches!(notice.body(), Body::CardIssueNotice(body) if body.card.card_number == 41));

        let center_for_requests = Center::new(1);
        let (first, second) =
            (guide_request(&key, &center_for_requests, 2), guide_request(&key, &center_for_requests, 3));
        let (first, second) = tokio::join!(session.request(&first), session.request(&second));
        for (answer, processing_number) in [(first.unwrap(), 2), (second.unwrap(), 3)] {
            assert_eq!(answer.processing_number(), processing_number);
            assert!(
                matches!(answer.body(), Body::GuideText(text) if text.version == processing_number as u32),
                "each request gets its own answer: {answer:?}"
            );
        }

        assert!(matches!(
            session.acknowledge(18, 4).await,
            Err(SessionError::NotDelivered { up_to_sequence: 18, delivered_up_to: Some(17) })
        ));
        let acknowledged = session.acknowledge(17, 5).await.unwrap();
        assert_eq!((acknowledged.removed, acknowledged.remaining), (1, 0));

        session.sign_off(6).await.unwrap();
        assert_eq!(session.closed().await, DownReason::SignedOff);
        assert!(matches!(
            session.request(&guide_request(&key, &center_for_requests, 7)).await,
            Err(SessionError::LineDown(DownReason::SignedOff))
        ));
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_forged_answer_ends_the_session_and_is_never_returned() {
    bounded(async {
        let center = Center::new(3);
        let forger = Center::new(4);
        let key = member_key(5);
        let (listener, address) = listen().await;
        let identity = center.identity.clone();
        let request = guide_request(&key, &center, 10);
        let center_task = tokio::spawn(async move {
            let mut peer = Peer::accept(&listener, &center).await;
            let request = peer.receive().await;
            // Right shape, right number, wrong key.
            let forged = forger.signer().answer(request.header(), 1_000, guide_text(1)).unwrap();
            peer.send(&forged).await;
            // Keep the connection open: the terminal must end it.
            let _ = peer.reader.next(None).await;
        });

        let session = Session::connect(&address, &identity, config()).await.unwrap();
        let error = session.request(&request).await.unwrap_err();
        assert!(
            matches!(&error, SessionError::LineDown(DownReason::BadSignature { code }) if *code == Code::GUIDE_ANSWER),
            "{error}"
        );
        assert_eq!(session.line_state(), LineState::Down(DownReason::BadSignature { code: Code::GUIDE_ANSWER }));
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_forged_notice_is_not_delivered() {
    bounded(async {
        let center = Center::new(6);
        let forger_key = SigningKey::from_bytes(&[9; 32]);
        let key = member_key(7);
        let (listener, address) = listen().await;
        let identity = center.identity.clone();
        let center_task = {
            let key = key.clone();
            tokio::spawn(async move {
                let mut peer = Peer::accept(&listener, &center).await;
                peer.answer_sign_on(&center, &key, 0).await;
                // Signed by another key, but naming the real center's fingerprint.
                let forged = Signer::new(PartyId::CENTER, &forger_key, center.fingerprint())
                    .unwrap()
                    .notice(member(), 1, 2_000, card_notice(1))
                    .unwrap();
                peer.send(&forged).await;
                let _ = peer.reader.next(None).await;
            })
        };

        let session = Session::connect(&address, &identity, config()).await.unwrap();
        session.sign_on(&key, member(), 1).await.unwrap();
        let error = session.next_notice().await.unwrap_err();
        assert!(matches!(error, SessionError::LineDown(DownReason::BadSignature { .. })), "{error}");
        assert!(session.try_next_notice().is_none());
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_reject_becomes_a_typed_error_and_the_session_goes_on() {
    bounded(async {
        let center = Center::new(8);
        let key = member_key(9);
        let (listener, address) = listen().await;
        let identity = center.identity.clone();
        let first = guide_request(&key, &center, 20);
        let second = guide_request(&key, &center, 21);
        let center_task = tokio::spawn(async move {
            let mut peer = Peer::accept(&listener, &center).await;
            let request = peer.receive().await;
            let reject = center
                .signer()
                .reject(
                    &Refused::from_header(request.header()),
                    RejectReason::UnknownSender,
                    Some("no member 7"),
                    1_000,
                )
                .unwrap();
            peer.send(&reject).await;
            let request = peer.receive().await;
            peer.send(&center.signer().answer(request.header(), 1_000, guide_text(2)).unwrap()).await;
        });

        let session = Session::connect(&address, &identity, config()).await.unwrap();
        let error = session.request(&first).await.unwrap_err();
        let rejection = error.rejection().expect("a reject");
        assert_eq!(rejection.reason, RejectReason::UnknownSender);
        assert_eq!((rejection.refused_code, rejection.message.as_str()), (1000, "no member 7"));
        assert!(!rejection.retry_may_succeed());
        assert!(error.to_string().contains("no member 7"), "{error}");
        assert_eq!(rejection.telegram.code(), Code::REJECT, "the signed reject is kept as evidence");
        let answer = session.request(&second).await.unwrap();
        assert_eq!(answer.processing_number(), 21);
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_dropped_line_fails_waiting_requests_and_later_ones() {
    bounded(async {
        let center = Center::new(10);
        let key = member_key(11);
        let (listener, address) = listen().await;
        let identity = center.identity.clone();
        let request = guide_request(&key, &center, 30);
        let later = guide_request(&key, &center, 31);
        let center_task = tokio::spawn(async move {
            let mut peer = Peer::accept(&listener, &center).await;
            // Before sign-on an echo probe goes to the anonymous terminal.
            let probe = center.signer().request_to(PartyId::ANONYMOUS, 5, 1_000, Echo {}).unwrap();
            peer.send(&probe).await;
            // The terminal sends its request whenever it likes: the two may come in either order.
            let (one, two) = (peer.receive().await, peer.receive().await);
            let (echo_answer, request) = if one.code() == Code::ECHO_ANSWER { (one, two) } else { (two, one) };
            assert_eq!((echo_answer.code(), echo_answer.sender()), (Code::ECHO_ANSWER, PartyId::ANONYMOUS));
            assert_eq!(echo_answer.header().processing_number(), 5);
            assert_eq!(request.header().processing_number(), 30);
            drop(peer);
        });

        let session = Session::connect(&address, &identity, config()).await.unwrap();
        let error = session.request(&request).await.unwrap_err();
        assert!(matches!(error, SessionError::LineDown(DownReason::ClosedByCenter)), "{error}");
        assert!(error.to_string().contains("line to the center is down"), "{error}");
        let error = session.request(&later).await.unwrap_err();
        assert!(matches!(error, SessionError::LineDown(DownReason::ClosedByCenter)), "{error}");
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_unanswered_request_times_out_and_the_line_stays_up() {
    bounded(async {
        let center = Center::new(12);
        let key = member_key(13);
        let (listener, address) = listen().await;
        let identity = center.identity.clone();
        let request = guide_request(&key, &center, 40);
        let later = guide_request(&key, &center, 41);
        let center_task = tokio::spawn(async move {
            let mut peer = Peer::accept(&listener, &center).await;
            let _ignored = peer.receive().await;
            // The second request is answered: the late first one never is.
            let answered = peer.receive().await;
            peer.send(&center.signer().answer(answered.header(), 1_000, guide_text(1)).unwrap()).await;
        });

        // Long enough for a loopback answer on a loaded machine, short enough for a test.
        let config = SessionConfig { answer_timeout: Duration::from_secs(1), ..SessionConfig::default() };
        let session = Session::connect(&address, &identity, config).await.unwrap();
        let error = session.request(&request).await.unwrap_err();
        assert!(
            matches!(error, SessionError::AnswerTimeout { code, processing_number: 40, .. } if code == Code::GUIDE_REQUEST),
            "{error}"
        );
        assert_eq!(session.line_state(), LineState::Up);
        assert_eq!(session.request(&later).await.map(|answer| answer.processing_number()).ok(), Some(41));
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_silent_center_is_a_dead_line() {
    bounded(async {
        let center = Center::new(16);
        let (listener, address) = listen().await;
        let identity = center.identity.clone();
        let (done_sender, done_receiver) = tokio::sync::oneshot::channel::<()>();
        let center_task = tokio::spawn(async move {
            let _peer = Peer::accept(&listener, &center).await;
            // Say nothing until the terminal has given up.
            let _ = done_receiver.await;
        });

        let config = SessionConfig { silence_timeout: Duration::from_millis(300), ..SessionConfig::default() };
        let session = Session::connect(&address, &identity, config).await.unwrap();
        assert_eq!(session.closed().await, DownReason::Silent(Duration::from_millis(300)));
        let error = session.next_notice().await.unwrap_err();
        assert!(error.to_string().contains("nothing was heard from the center"), "{error}");
        done_sender.send(()).unwrap();
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_answer_of_the_wrong_code_ends_the_session() {
    bounded(async {
        let center = Center::new(14);
        let key = member_key(15);
        let (listener, address) = listen().await;
        let identity = center.identity.clone();
        let request = guide_request(&key, &center, 50);
        let center_task = tokio::spawn(async move {
            let mut peer = Peer::accept(&listener, &center).await;
            let _request = peer.receive().await;
            // A correctly signed answer with the right number but another code.
            let other_request = Signer::new(member(), &member_key(15), center.fingerprint())
                .unwrap()
                .request(50, 1_000, MailboxFetch { max_notices: 1 })
                .unwrap();
            let wrong = center.signer().answer(
                other_request.header(),
                1_000,
                MailboxFetchAnswer { delivered: 0, remaining: 0 },
            );
            peer.send(&wrong.unwrap()).await;
            let _ = peer.reader.next(None).await;
        });

        let session = Session::connect(&address, &identity, config()).await.unwrap();
        let error = session.request(&request).await.unwrap_err();
        assert!(matches!(error, SessionError::LineDown(DownReason::Protocol(_))), "{error}");
        center_task.await.unwrap();
    })
    .await;
}

// ---------------------------------------------------------------------------
// The outbox.

const FAST: VaultConfig = VaultConfig::test_only_fast();

fn create_vault(path: &Path, center: &Center) -> (UnlockedVault, SigningKey) {
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let keys = generate_member_keys(&mut rng, None);
    let key = SigningKey::from_bytes(keys.signing_seed.expose());
    let new = NewVault {
        profile: Profile {
            party: denbun_protocol::header::PartyId::member(MEMBER_NUMBER).expect("a member number"),
            name: Text::new("Hanako").unwrap(),
        },
        center: center.identity.clone(),
        keys,
    };
    let vault = Vault::create(path, new, &"password A".into(), &"password B".into(), FAST, &mut rng).unwrap();
    (vault, key)
}

fn payment() -> PaymentInstruction {
    let lines = vec![OrderLine { item_id: 3, quantity: 2, unit_price: Amount::new(600).unwrap() }];
    PaymentInstruction {
        transaction_number: 555,
        store: StoreNumber::new(9).unwrap(),
        catalog_version: 1,
        lines: List::new(lines).unwrap(),
        total: Amount::new(1_200).unwrap(),
    }
}

fn paid(request: &Telegram, center: &Center) -> Telegram {
    let answer = PaymentAnswer {
        transaction_number: 555,
        total: Amount::new(1_200).unwrap(),
        balance: Yen::new(3_800).unwrap(),
    };
    // 2024-06-01 00:00:00 UTC.
    center.signer().answer(request.header(), 1_717_200_000_000, answer).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_entry_stays_until_its_answer_and_leaves_after_it() {
    bounded(async {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("denbun.key");
        let center = Center::new(20);
        let identity = center.identity.clone();
        let (listener, address) = listen().await;
        let member_public = {
            let (vault, key) = create_vault(&path, &center);
            drop(vault);
            key.verifying_key()
        };
        let center_task = tokio::spawn(async move {
            // First connection: the payment arrives, then the line drops.
            let mut peer = Peer::accept(&listener, &center).await;
            let first = peer.receive().await;
            assert_eq!(first.code(), Code::PAYMENT_INSTRUCTION, "a first transmission carries no repeat digit");
            first.verify(&member_public, &center.fingerprint()).unwrap();
            drop(peer);
            // Second connection: the outbox sends it again, marked as a repeat.
            let mut peer = Peer::accept(&listener, &center).await;
            let again = peer.receive().await;
            assert_eq!(again.code().number(), Code::PAYMENT_INSTRUCTION.number() + 1, "marked as a repeat");
            assert_eq!(again.header().processing_number(), first.header().processing_number());
            again.verify(&member_public, &center.fingerprint()).expect("the repeat digit is outside the signature");
            assert_eq!(again.content_digest(&center.fingerprint()), first.content_digest(&center.fingerprint()));
            let answer = paid(&again, &center);
            peer.send(&answer).await;
            answer
        });

        let mut vault = Vault::open_with(&path, &"password A".into(), FAST).unwrap();
        let key = vault.signing_key(&"password B".into()).unwrap().signing_key().clone();
        let session = Session::connect(&address, &identity, config()).await.unwrap();
        let error = submit(&mut vault, &session, &key, payment()).await.unwrap_err();
        let SubmitError::NotAnswered { processing_number, source } = error else { panic!("{error}") };
        assert!(matches!(source, SessionError::LineDown(DownReason::ClosedByCenter)), "{source}");
        assert_eq!(vault.outbox().len(), 1);
        assert_eq!(vault.outbox()[0].processing_number, processing_number);
        drop(vault);

        // Nothing was lost on disk, and the processing number is never reused.
        let mut vault = Vault::open_with(&path, &"password A".into(), FAST).unwrap();
        assert_eq!(vault.outbox().len(), 1, "the entry waits in the key file");
        assert!(vault.next_processing_number() > processing_number);
        assert!(vault.history().is_empty());

        // Password A alone is enough to send it again.
        let session = Session::connect(&address, &identity, config()).await.unwrap();
        let report = run_outbox(&mut vault, &session).await.unwrap();
        assert!(report.is_complete(), "{report:?}");
        assert!(matches!(
            report.completed.as_slice(),
            [Completed::Answered { processing_number: number, .. }] if *number == processing_number
        ));
        let answer = center_task.await.unwrap();
        drop(vault);

        let vault = Vault::open_with(&path, &"password A".into(), FAST).unwrap();
        assert!(vault.outbox().is_empty(), "the answered entry left the outbox");
        let [entry] = vault.history() else { panic!("one history entry: {:?}", vault.history().len()) };
        assert_eq!(entry.receipt.as_slice(), answer.as_bytes(), "the signed answer is the receipt");
        assert_eq!((entry.store.as_str(), entry.amount.get()), ("S00000009", 1_200));
        assert_eq!(entry.date.to_string(), "2024-06-01");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_remove_an_entry_only_when_retrying_cannot_help() {
    bounded(async {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("denbun.key");
        let center = Center::new(21);
        let identity = center.identity.clone();
        let (listener, address) = listen().await;
        let (mut vault, key) = create_vault(&path, &center);
        let center_task = tokio::spawn(async move {
            let mut peer = Peer::accept(&listener, &center).await;
            // Busy: the entry must stay.
            let request = peer.receive().await;
            let busy = center.signer().reject(&Refused::from_header(request.header()), RejectReason::Busy, None, 1);
            peer.send(&busy.unwrap()).await;
            // Insufficient balance: the entry leaves.
            let request = peer.receive().await;
            let refused = Refused::from_header(request.header());
            let reject = center.signer().reject(&refused, RejectReason::InsufficientBalance, None, 1).unwrap();
            peer.send(&reject).await;
        });

        let session = Session::connect(&address, &identity, config()).await.unwrap();
        let error = submit(&mut vault, &session, &member_key(99), payment()).await.unwrap_err();
        assert!(matches!(error, SubmitError::WrongKey), "{error}");
        assert!(vault.outbox().is_empty(), "nothing was signed or stored");
        let error = submit(&mut vault, &session, &key, payment()).await.unwrap_err();
        let SubmitError::NotAnswered { source, .. } = &error else { panic!("{error}") };
        assert_eq!(source.rejection().map(|rejection| rejection.reason), Some(RejectReason::Busy));
        assert_eq!(vault.outbox().len(), 1, "a busy center leaves the entry waiting");

        let report = run_outbox(&mut vault, &session).await.unwrap();
        assert!(report.is_complete(), "{report:?}");
        assert!(matches!(
            report.completed.as_slice(),
            [Completed::Refused { rejection, .. }] if rejection.reason == RejectReason::InsufficientBalance
        ));
        assert!(vault.outbox().is_empty());
        assert!(vault.history().is_empty(), "a refusal is not a purchase");
        center_task.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn the_outbox_refuses_a_session_with_another_center() {
    bounded(async {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("denbun.key");
        let center = Center::new(22);
        let other = Center::new(23);
        let (mut vault, key) = create_vault(&path, &center);
        let identity = other.identity.clone();
        let (listener, address) = listen().await;
        let center_task = tokio::spawn(async move { Peer::accept(&listener, &other).await });
        let session = Session::connect(&address, &identity, config()).await.unwrap();
        let error = submit(&mut vault, &session, &key, payment()).await.unwrap_err();
        assert!(matches!(error, SubmitError::WrongCenter { .. }), "{error}");
        assert!(vault.outbox().is_empty(), "nothing was signed or stored");
        center_task.await.unwrap();
    })
    .await;
}
