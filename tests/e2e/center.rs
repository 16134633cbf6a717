//! The center over the network (issue 4): sessions, application and
//! registration, idempotency, the journal, limits and bad input. Each test
//! starts a real center on 127.0.0.1 and ends with the audit.

use std::time::Duration;

use denbun_protocol::header::{Code, PartyId, PartyKind};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::sign::Signer;
use denbun_protocol::telegram::Body;
use denbun_protocol::telegram::network::{MailboxFetch, SignOn};
use denbun_protocol::telegram::registration::{ActivationCode, Applicant, GuideTopic};
use denbun_protocol::wire::Text;
use denbun_tests::{RawTerminal, TestCenter, TestParty, now_ms};
use ed25519_dalek::SigningKey;
use rand_core::OsRng;

fn store_applicant() -> Applicant {
    Applicant::Store(Text::new("Yamada Books").unwrap())
}

fn reason(telegram: &denbun_protocol::telegram::Telegram) -> Option<RejectReason> {
    (telegram.code() == Code::REJECT).then(|| telegram.header().reject_reason()).flatten()
}

async fn sign_on(
    terminal: &mut RawTerminal,
    party: &mut TestParty,
    center: &TestCenter,
) -> denbun_protocol::telegram::Telegram {
    let processing_number = party.next_processing_number();
    let telegram = Signer::new(party.id, &party.signing_key, center.fingerprint())
        .unwrap()
        .sign_on(
            processing_number,
            now_ms(),
            SignOn { software_version: Text::new("e2e").unwrap() },
            &terminal.handshake_hash(),
        )
        .unwrap();
    terminal.exchange(&telegram).await
}

#[tokio::test]
async fn a_member_and_a_store_apply_and_register_end_to_end() {
    let center = TestCenter::start().await;
    let mut terminal = center.connect().await;

    let guide = terminal.guide(GuideTopic::Guide).await;
    let Body::GuideText(text) = guide.body() else { panic!("expected the guide, got {guide:?}") };
    assert!(text.text.contains("Denbun"), "{}", text.text.as_str());

    // The application's answer names the number but never the activation code.
    let answer = terminal.apply_answer(Applicant::Member).await;
    let Body::ApplicationAccepted(accepted) = answer.body() else { panic!("not accepted: {answer:?}") };
    let member = accepted.assigned;
    assert_eq!(member.kind(), PartyKind::Member);
    let letter = center.letter_for(member);
    let code = letter.activation_code.expose().to_owned();
    assert!(!format!("{answer:?}").contains(&code), "the answer must not carry the code");
    assert!(!String::from_utf8_lossy(answer.as_bytes()).contains(&code));
    // The letter is also a file to print, under DIR/mail/.
    let letter_file = center.data_directory().join("mail").join(format!("letter-{:06}.txt", letter.id));
    let printed = std::fs::read_to_string(&letter_file).expect("the letter file");
    assert!(printed.contains(&code) && printed.contains(&member.to_string()));

    let mut party = TestParty::new(member);
    let registration = party.registration(letter.activation_code.clone(), Applicant::Member);
    let certificate = terminal.exchange(&party.request(&center.fingerprint(), registration)).await;
    let Body::RegistrationCertificate(certificate) = certificate.body() else { panic!("{certificate:?}") };
    assert_eq!(certificate.party, member);
    assert_eq!(certificate.verification_key, party.verification_key());
    let record = center.party(member).unwrap();
    assert_eq!(record.verification_key, Some(party.verification_key().to_bytes()));
    assert!(record.activation.is_none(), "the activation code is used up");

    // Signed on with the registered key, the member's mailbox opens.
    let answer = sign_on(&mut terminal, &mut party, &center).await;
    let Body::SignOnAnswer(signed_on) = answer.body() else { panic!("sign-on refused: {answer:?}") };
    assert_eq!(signed_on.mailbox_count, 0);

    let store = center.register(store_applicant()).await;
    let record = center.party(store.id).unwrap();
    assert_eq!(store.id.kind(), PartyKind::Store);
    assert_eq!(record.trade_name.as_ref().map(|name| name.as_str()), Some("Yamada Books"));
    assert!(!record.bank_account.as_slice().is_empty(), "the payout account is registered");
    center.assert_audit_passes();
}

#[tokio::test]
async fn a_wrong_activation_code_is_refused_and_locks_after_the_attempts_allowed() {
    let center = TestCenter::start_with(|config| config.limits.activation_attempts_max = 2).await;
    let mut terminal = center.connect().await;
    let (mut party, right) = center.applicant(&mut terminal, Applicant::Member).await;
    let wrong = ActivationCode::new("WRONG-CODE1").unwrap();
    let fingerprint = center.fingerprint();

    let first = party.send_registration(&mut terminal, &fingerprint, wrong.clone()).await;
    assert_eq!(reason(&first), Some(RejectReason::WrongActivationCode));
    let second = party.send_registration(&mut terminal, &fingerprint, wrong).await;
    assert_eq!(reason(&second), Some(RejectReason::WrongActivationCode));
    // Locked: even the right code no longer works.
    let third = party.send_registration(&mut terminal, &fingerprint, right).await;
    assert_eq!(reason(&third), Some(RejectReason::TooManyAttempts));
    assert!(center.party(party.id).unwrap().verification_key.is_none());
    center.assert_audit_passes();
}

#[tokio::test]
async fn a_used_activation_code_cannot_register_again() {
    let center = TestCenter::start().await;
    let mut terminal = center.connect().await;
    let (mut party, code) = center.applicant(&mut terminal, Applicant::Member).await;
    let answer = party.send_registration(&mut terminal, &center.fingerprint(), code.clone()).await;
    assert_eq!(answer.code(), Code::REGISTRATION_CERTIFICATE);

    // Someone else with the same letter and a key of their own.
    let mut intruder = TestParty::new(party.id);
    intruder.next_processing_number(); // a number of its own, not the one already answered
    let answer = intruder.send_registration(&mut terminal, &center.fingerprint(), code).await;
    assert_eq!(reason(&answer), Some(RejectReason::ActivationCodeUsed));
    assert_eq!(center.party(party.id).unwrap().verification_key, Some(party.verification_key().to_bytes()));
    center.assert_audit_passes();
}

#[tokio::test]
async fn a_registration_signed_by_a_key_other_than_the_one_it_carries_is_refused() {
    let center = TestCenter::start().await;
    let mut terminal = center.connect().await;
    let (party, code) = center.applicant(&mut terminal, Applicant::Member).await;
    let member = party.id;
    let body = party.registration(code, Applicant::Member);
    // Signed by a key that is not the verification key in the body: no proof of possession.
    let other = SigningKey::generate(&mut OsRng);
    let telegram = Signer::new(member, &other, center.fingerprint()).unwrap().request(1, now_ms(), body).unwrap();
    let answer = terminal.exchange(&telegram).await;
    assert_eq!(reason(&answer), Some(RejectReason::BadSignature));
    assert!(center.party(member).unwrap().verification_key.is_none());
    center.assert_audit_passes();
}

#[tokio::test]
async fn a_repeated_registration_gets_the_byte_identical_answer() {
    let center = TestCenter::start().await;
    let mut terminal = center.connect().await;
    let (mut party, code) = center.applicant(&mut terminal, Applicant::Member).await;
    let telegram = party.request(&center.fingerprint(), party.registration(code, Applicant::Member));
    let first = terminal.exchange(&telegram).await;
    assert_eq!(first.code(), Code::REGISTRATION_CERTIFICATE);

    // The same telegram again, in another session, marked as a retransmission.
    let mut other = center.connect().await;
    let repeat = telegram.repeated().expect("requests can be repeated");
    assert!(repeat.code().is_repeat());
    let second = other.exchange(&repeat).await;
    assert_eq!(second.as_bytes(), first.as_bytes(), "a repeat gets the original answer, byte for byte");
    center.assert_audit_passes();
}

#[tokio::test]
async fn the_same_processing_number_with_other_content_is_refused_and_changes_nothing() {
    let center = TestCenter::start().await;
    let mut terminal = center.connect().await;
    let (party, code) = center.applicant(&mut terminal, Applicant::Member).await;
    let member = party.id;
    let signer = Signer::new(member, &party.signing_key, center.fingerprint()).unwrap();
    let registration = party.registration(code, Applicant::Member);
    let first = signer.request(7, now_ms(), registration.clone()).unwrap();
    assert_eq!(terminal.exchange(&first).await.code(), Code::REGISTRATION_CERTIFICATE);
    let before = center.party(member).unwrap();

    let mut changed = registration;
    changed.personal.name = Text::new("Someone Else").unwrap();
    let second = signer.request(7, now_ms(), changed).unwrap();
    let answer = terminal.exchange(&second).await;
    assert_eq!(reason(&answer), Some(RejectReason::DuplicateProcessingNumber));
    assert_eq!(center.party(member).unwrap(), before);
    center.assert_audit_passes();
}

#[tokio::test]
async fn a_sign_on_replayed_from_another_session_is_refused() {
    let center = TestCenter::start().await;
    let mut party = center.register(Applicant::Member).await;
    let mut first = center.connect().await;
    let processing_number = party.next_processing_number();
    let telegram = Signer::new(party.id, &party.signing_key, center.fingerprint())
        .unwrap()
        .sign_on(
            processing_number,
            now_ms(),
            SignOn { software_version: Text::new("e2e").unwrap() },
            &first.handshake_hash(),
        )
        .unwrap();
    let answer = first.exchange(&telegram).await;
    assert_eq!(answer.code(), Code::SIGN_ON_ANSWER);

    // An eavesdropper who recorded it replays it into a session of its own.
    let mut second = center.connect().await;
    let answer = second.exchange(&telegram).await;
    assert_eq!(reason(&answer), Some(RejectReason::BadSignature));
    // And that session stays without a mailbox.
    let fetch = party.request(&center.fingerprint(), MailboxFetch { max_notices: 1 });
    assert_eq!(reason(&second.exchange(&fetch).await), Some(RejectReason::NotSignedOn));
    center.assert_audit_passes();
}

/// The committer builds its own answers with placeholder signatures and
/// signs them before anything is stored or sent. A peer's telegram whose
/// signature bytes have that shape is refused like any bad signature,
/// journaled as it came, and the center goes on.
#[tokio::test]
async fn a_signature_shaped_like_the_centers_placeholder_is_refused_and_the_center_goes_on() {
    let center = TestCenter::start().await;
    let mut party = center.register(Applicant::Member).await;
    let mut terminal = center.connect().await;
    assert_eq!(sign_on(&mut terminal, &mut party, &center).await.code(), Code::SIGN_ON_ANSWER);
    for slot in [0u64, 1, 999] {
        let mut bytes = party.request(&center.fingerprint(), MailboxFetch { max_notices: 1 }).as_bytes().to_vec();
        let end = bytes.len();
        bytes[end - 64..].fill(0xFF);
        bytes[end - 32..end - 24].copy_from_slice(&slot.to_le_bytes());
        terminal.send_bytes(&bytes).await;
        assert_eq!(reason(&terminal.receive().await), Some(RejectReason::BadSignature), "slot {slot}");
    }
    // The same session, and the center, still answer genuine requests.
    let fetch = party.request(&center.fingerprint(), MailboxFetch { max_notices: 1 });
    assert_eq!(terminal.exchange(&fetch).await.code(), Code::MAILBOX_FETCH_ANSWER);
    let guide = center.connect().await.guide(GuideTopic::Guide).await;
    assert_eq!(guide.code(), Code::GUIDE_ANSWER);
    center.assert_audit_passes();
}

#[tokio::test]
async fn malformed_and_oversized_telegrams_get_a_reject_and_garbage_frames_close_the_line() {
    let center = TestCenter::start().await;
    let mut terminal = center.connect().await;
    // A telegram that claims a body longer than the protocol allows.
    let mut oversized = vec![0u8; denbun_protocol::limits::TELEGRAM_BYTES_MAX];
    oversized[0] = 1;
    oversized[1..3].copy_from_slice(&1000u16.to_be_bytes());
    oversized[12] = PartyKind::Center as u8;
    oversized[39..41].copy_from_slice(&u16::MAX.to_be_bytes());
    terminal.send_bytes(&oversized).await;
    let answer = terminal.receive().await;
    assert!(matches!(reason(&answer), Some(RejectReason::TooLarge | RejectReason::Malformed)), "{answer:?}");
    // An unknown format version.
    terminal.send_bytes(&[9, 0, 0]).await;
    assert_eq!(reason(&terminal.receive().await), Some(RejectReason::UnsupportedVersion));
    // The session still works after the rejects.
    let guide = terminal.guide(GuideTopic::Guide).await;
    assert_eq!(guide.code(), Code::GUIDE_ANSWER);

    // A maximal frame of bytes that are not a Noise message: closed, never answered.
    let mut frame = vec![0xff, 0xff];
    frame.extend(std::iter::repeat_n(0x5a, 65_535));
    terminal.send_raw(&frame).await.unwrap();
    assert!(terminal.try_receive().await.map(|telegram| telegram.is_none()).unwrap_or(true));
    center.assert_audit_passes();
}

#[tokio::test]
async fn garbage_instead_of_a_handshake_is_closed_and_others_are_still_served() {
    let center = TestCenter::start().await;
    for garbage in [&b"GET / HTTP/1.1\r\n\r\n"[..], &[0, 48][..], &[0u8; 50][..]] {
        let mut stream = tokio::net::TcpStream::connect(center.address).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(garbage).await.unwrap();
        let mut buffer = [0u8; 64];
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await.expect("closed in time");
        assert!(matches!(read, Ok(0) | Err(_)), "garbage must get no answer: {read:?}");
    }
    let mut terminal = center.connect().await;
    assert_eq!(terminal.guide(GuideTopic::Guide).await.code(), Code::GUIDE_ANSWER);
    center.assert_audit_passes();
}

#[tokio::test]
async fn a_trickling_sender_is_cut_off() {
    let center = TestCenter::start_with(|config| config.limits.frame_timeout_ms = 300).await;
    let mut terminal = center.connect().await;
    // The prefix of a 100-byte frame, then one byte, then nothing.
    terminal.send_raw(&[0, 100, 1]).await.unwrap();
    let closed = terminal.try_receive().await;
    assert!(matches!(closed, Ok(None) | Err(_)), "the center must close the trickling line");
    let mut terminal = center.connect().await;
    assert_eq!(terminal.guide(GuideTopic::Guide).await.code(), Code::GUIDE_ANSWER);
    center.assert_audit_passes();
}

#[tokio::test]
async fn connections_over_the_cap_get_a_busy_reject() {
    let center = TestCenter::start_with(|config| {
        config.limits.connections_max = 2;
        config.limits.connections_per_address_max = 2;
    })
    .await;
    let mut first = center.connect().await;
    let _second = center.connect().await;
    let mut third = center.connect().await;
    let answer = third.receive().await;
    assert_eq!(reason(&answer), Some(RejectReason::Busy));
    assert!(matches!(third.try_receive().await, Ok(None) | Err(_)), "then the line closes");
    // The connections within the cap are served.
    assert_eq!(first.guide(GuideTopic::Guide).await.code(), Code::GUIDE_ANSWER);
    center.assert_audit_passes();
}

#[tokio::test]
async fn applications_are_limited_per_address() {
    let center = TestCenter::start_with(|config| config.limits.applications_per_address_per_hour = 2).await;
    let mut terminal = center.connect().await;
    terminal.apply(Applicant::Member).await;
    terminal.apply(Applicant::Member).await;
    let answer = terminal.apply_answer(Applicant::Member).await;
    assert_eq!(reason(&answer), Some(RejectReason::RateLimited));
    center.assert_audit_passes();
}

#[tokio::test]
async fn idle_signed_on_sessions_are_probed_and_closed_when_silent() {
    let center = TestCenter::start_with(|config| {
        config.limits.idle_timeout_ms = 1_000;
        config.limits.echo_answer_timeout_ms = 500;
    })
    .await;
    let mut party = center.register(Applicant::Member).await;
    let mut terminal = center.connect().await;
    assert_eq!(sign_on(&mut terminal, &mut party, &center).await.code(), Code::SIGN_ON_ANSWER);

    // The center probes; the terminal answers, signed; the session lives on.
    let probe = terminal.receive().await;
    assert_eq!(probe.code(), Code::ECHO);
    let answer = Signer::new(party.id, &party.signing_key, center.fingerprint())
        .unwrap()
        .answer(probe.header(), now_ms(), denbun_protocol::telegram::network::EchoAnswer {})
        .unwrap();
    terminal.send(&answer).await;
    let second_probe = terminal.receive().await;
    assert_eq!(second_probe.code(), Code::ECHO, "still open, probed again after the next idle period");
    // Silent now: the center closes the line.
    assert!(matches!(terminal.try_receive().await, Ok(None) | Err(_)));
    center.assert_audit_passes();
}

#[tokio::test]
async fn a_session_that_never_signs_on_is_closed() {
    let center = TestCenter::start_with(|config| config.limits.sign_on_timeout_ms = 300).await;
    let mut terminal = center.connect().await;
    assert!(matches!(terminal.try_receive().await, Ok(None) | Err(_)));
    let _ = PartyId::ANONYMOUS;
}

#[tokio::test]
async fn everything_is_still_there_after_restarts_between_steps() {
    let mut center = TestCenter::start().await;
    let member = center.connect().await.apply(Applicant::Member).await;
    center.restart().await;

    let code = center.letter_for(member).activation_code;
    let mut party = TestParty::new(member);
    let registration = party.request(&center.fingerprint(), party.registration(code, Applicant::Member));
    let certificate = center.connect().await.exchange(&registration).await;
    assert_eq!(certificate.code(), Code::REGISTRATION_CERTIFICATE);
    center.restart().await;

    // The answer survived the restart: a repeat gets it byte for byte.
    let repeat = center.connect().await.exchange(&registration.repeated().unwrap()).await;
    assert_eq!(repeat.as_bytes(), certificate.as_bytes());
    let mut terminal = center.connect().await;
    assert_eq!(sign_on(&mut terminal, &mut party, &center).await.code(), Code::SIGN_ON_ANSWER);
    center.assert_audit_passes();
}

#[tokio::test]
async fn operators_query_the_journal_and_run_the_audit_through_signed_telegrams() {
    use denbun_protocol::telegram::inquiry::{JournalQuery, MaintenanceAnswer, MaintenanceRequest};

    let mut center = TestCenter::start().await;
    let member = center.register(Applicant::Member).await;
    let mut terminal = center.connect().await;
    // A refusal, so there is something to filter by result.
    let mut stranger = TestParty::new(PartyId::member(999).unwrap());
    let refused = terminal.exchange(&stranger.request(&center.fingerprint(), MailboxFetch { max_notices: 1 })).await;
    assert_eq!(reason(&refused), Some(RejectReason::UnknownSender));

    // Not signed on: operator telegrams are refused.
    let query = |sender, code, result| JournalQuery { sender, code, result, from_ms: 0, to_ms: 0, after_entry: 0 };
    let fingerprint = center.fingerprint();
    let operator = &mut center.operator;
    let early = terminal.exchange(&operator.request(&fingerprint, query(None, None, None))).await;
    assert_eq!(reason(&early), Some(RejectReason::NotSignedOn));

    let processing_number = operator.next_processing_number();
    let sign_on = Signer::new(operator.id, &operator.signing_key, fingerprint)
        .unwrap()
        .sign_on(
            processing_number,
            now_ms(),
            SignOn { software_version: Text::new("e2e").unwrap() },
            &terminal.handshake_hash(),
        )
        .unwrap();
    assert_eq!(terminal.exchange(&sign_on).await.code(), Code::SIGN_ON_ANSWER);

    let page = |answer: denbun_protocol::telegram::Telegram| match answer.into_body() {
        Body::JournalPage(page) => page,
        other => panic!("expected a journal page, got {other:?}"),
    };
    let by_member = page(terminal.exchange(&operator.request(&fingerprint, query(Some(member.id), None, None))).await);
    assert!(by_member.rows.iter().all(|row| row.sender == member.id));
    assert!(by_member.rows.iter().any(|row| row.code == Code::REGISTRATION.number()));
    let registrations = page(
        terminal.exchange(&operator.request(&fingerprint, query(None, Some(Code::REGISTRATION.number()), None))).await,
    );
    assert_eq!(registrations.rows.len(), 1, "{registrations:?}");
    let rejects = RejectReason::UnknownSender.code();
    let refusals = page(terminal.exchange(&operator.request(&fingerprint, query(None, None, Some(rejects)))).await);
    assert_eq!(refusals.rows.len(), 1);
    assert_eq!(refusals.rows[0].recipient, stranger.id);
    // Paging: after the last entry there is nothing more of these.
    let mut after = query(None, Some(Code::REGISTRATION.number()), None);
    after.after_entry = registrations.rows[0].entry;
    assert!(page(terminal.exchange(&operator.request(&fingerprint, after)).await).rows.is_empty());

    let audit = terminal.exchange(&operator.request(&fingerprint, MaintenanceRequest::Audit)).await;
    match audit.body() {
        Body::MaintenanceAnswer(MaintenanceAnswer::Audit(result)) => assert!(result.passed, "{result:?}"),
        other => panic!("expected the audit's result, got {other:?}"),
    }
    center.restart().await;
    center.assert_audit_passes();
}

#[tokio::test]
async fn an_expired_activation_code_is_refused() {
    let mut center = TestCenter::start().await;
    let mut terminal = center.connect().await;
    let (mut party, code) = center.applicant(&mut terminal, Applicant::Member).await;
    let mut record = center.party(party.id).unwrap();
    let mut activation = record.activation.clone().unwrap();
    activation.expires_at_ms = now_ms() - 1;
    record.activation = Some(activation);
    center.put_party(record).await;
    let mut terminal = center.connect().await;

    let answer = party.send_registration(&mut terminal, &center.fingerprint(), code).await;
    assert_eq!(reason(&answer), Some(RejectReason::ActivationCodeExpired));
    assert!(center.party(party.id).unwrap().verification_key.is_none());
    center.assert_audit_passes();
}

#[tokio::test]
async fn notices_wait_in_the_mailbox_arrive_in_order_after_sign_on_and_leave_when_acknowledged() {
    use denbun_protocol::telegram::card::{CardIssueNotice, FundingChannel, IssuedCard};
    use denbun_protocol::telegram::network::MailboxAck;
    use denbun_protocol::wire::{Amount, Yen};

    let mut center = TestCenter::start().await;
    let mut party = center.register(Applicant::Member).await;
    let notice = |card_number: u64| CardIssueNotice {
        card: IssuedCard { card_number, face_value: Amount::new(1_000).unwrap(), issued_at_ms: now_ms() },
        channel: FundingChannel::BankTransfer,
        reference: None,
        balance: Yen::new(1_000 * card_number).unwrap(),
    };
    // Two notices while the member is offline.
    let first = center.put_notice(party.id, notice(1)).await;
    let second = center.put_notice(party.id, notice(2)).await;
    assert!(first < second);

    let mut terminal = center.connect().await;
    let answer = sign_on(&mut terminal, &mut party, &center).await;
    let Body::SignOnAnswer(signed_on) = answer.body() else { panic!("{answer:?}") };
    assert_eq!(signed_on.mailbox_count, 2);
    // Delivered in order, each signed by the center (RawTerminal verifies it).
    let delivered: Vec<u64> = [terminal.receive().await, terminal.receive().await]
        .iter()
        .map(|notice| {
            assert_eq!(notice.code(), Code::CARD_ISSUE_NOTICE);
            notice.header().processing_number()
        })
        .collect();
    assert_eq!(delivered, [first, second]);

    // Acknowledging the first removes it; the second stays until acknowledged.
    let ack = terminal.exchange(&party.request(&center.fingerprint(), MailboxAck { up_to_sequence: first })).await;
    let Body::MailboxAckAnswer(ack) = ack.body() else { panic!("{ack:?}") };
    assert_eq!((ack.removed, ack.remaining), (1, 1));

    // At the next sign-on only the unacknowledged notice comes again.
    let mut again = center.connect().await;
    let answer = sign_on(&mut again, &mut party, &center).await;
    let Body::SignOnAnswer(signed_on) = answer.body() else { panic!("{answer:?}") };
    assert_eq!(signed_on.mailbox_count, 1);
    assert_eq!(again.receive().await.header().processing_number(), second);
    // A fetch sends it again before its answer.
    again.send(&party.request(&center.fingerprint(), MailboxFetch { max_notices: 8 })).await;
    assert_eq!(again.receive().await.header().processing_number(), second);
    let fetched = again.receive().await;
    let Body::MailboxFetchAnswer(fetched) = fetched.body() else { panic!("{fetched:?}") };
    assert_eq!((fetched.delivered, fetched.remaining), (1, 0));
    // A fetch sends no more than it asks for, and its answer says so (the
    // third notice is written with the center stopped, so sign on again).
    let third = center.put_notice(party.id, notice(3)).await;
    let mut again = center.connect().await;
    let answer = sign_on(&mut again, &mut party, &center).await;
    let Body::SignOnAnswer(signed_on) = answer.body() else { panic!("{answer:?}") };
    assert_eq!(signed_on.mailbox_count, 2);
    assert_eq!(again.receive().await.header().processing_number(), second);
    assert_eq!(again.receive().await.header().processing_number(), third);
    again.send(&party.request(&center.fingerprint(), MailboxFetch { max_notices: 1 })).await;
    assert_eq!(again.receive().await.header().processing_number(), second);
    let fetched = again.receive().await;
    let Body::MailboxFetchAnswer(fetched) = fetched.body() else { panic!("expected the answer, not {fetched:?}") };
    assert_eq!((fetched.delivered, fetched.remaining), (1, 1));
    assert!(third > second);
    center.assert_audit_passes();
}
