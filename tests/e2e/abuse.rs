//! Abuse from the network: the center refuses or closes as documented and
//! keeps serving well-behaved terminals. Every loop is bounded in count and
//! time; all traffic stays on 127.0.0.0/8.

use std::time::{Duration, Instant};

use denbun_protocol::header::Code;
use denbun_protocol::session::Initiator;
use denbun_protocol::telegram::registration::GuideTopic;
use denbun_tests::TestCenter;
use rand_core::OsRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// Attackers working at once, connections they may open in all, and how long.
const FLOOD_TASKS: usize = 32;
const FLOOD_ATTEMPTS_MAX: usize = 10_000;
const FLOOD_DURATION: Duration = Duration::from_secs(3);

/// One attacker connection from 127.0.0.2: a genuine first handshake message
/// (so an accepted one costs the center a Diffie-Hellman). Returns whether the
/// center answered it.
async fn flood_once(center: std::net::SocketAddr, noise_key: [u8; 32]) -> std::io::Result<bool> {
    let socket = TcpSocket::new_v4()?;
    socket.bind("127.0.0.2:0".parse().expect("a loopback address"))?;
    let mut stream = socket.connect(center).await?;
    let (_, request) = Initiator::new(&noise_key).start(&mut OsRng).expect("a handshake request");
    let mut frame = (request.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&request);
    stream.write_all(&frame).await?;
    let mut answer = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer)).await {
        Ok(Ok(read)) => Ok(read > 0),
        Ok(Err(_)) | Err(_) => Ok(false),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_flood_from_one_address_is_cut_off_and_others_are_still_served() {
    let center = TestCenter::start().await;
    let address = center.address;
    let noise_key = center.identity().noise_public_key;

    let started = Instant::now();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut attackers = tokio::task::JoinSet::new();
    for _ in 0..FLOOD_TASKS {
        let attempts = attempts.clone();
        attackers.spawn(async move {
            let mut answered = 0usize;
            while started.elapsed() < FLOOD_DURATION
                && attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < FLOOD_ATTEMPTS_MAX
            {
                if flood_once(address, noise_key).await.unwrap_or(false) {
                    answered += 1;
                }
            }
            answered
        });
    }

    // Meanwhile a member on 127.0.0.1 keeps working, on one line and on new ones.
    let mut latencies_ms = Vec::new();
    let mut terminal = center.connect().await;
    for round in 0..40 {
        let asked = Instant::now();
        assert_eq!(terminal.guide(GuideTopic::Guide).await.code(), Code::GUIDE_ANSWER);
        latencies_ms.push(asked.elapsed().as_secs_f64() * 1_000.0);
        if round % 10 == 0 {
            let mut fresh = center.connect().await;
            assert_eq!(fresh.guide(GuideTopic::MemberAgreement).await.code(), Code::GUIDE_ANSWER);
        }
    }

    let mut answered = 0;
    while let Some(result) = attackers.join_next().await {
        answered += result.expect("attacker task");
    }
    let attempted = attempts.load(std::sync::atomic::Ordering::Relaxed).min(FLOOD_ATTEMPTS_MAX);
    latencies_ms.sort_by(f64::total_cmp);
    println!(
        "flood: {attempted} handshakes attempted from 127.0.0.2 in {:.1} s, {answered} answered; \
         the member's answers meanwhile: median {:.2} ms, max {:.2} ms over {} requests",
        started.elapsed().as_secs_f64(),
        latencies_ms[latencies_ms.len() / 2],
        latencies_ms[latencies_ms.len() - 1],
        latencies_ms.len(),
    );
    // The limit, not luck: beyond its burst the address gets no handshakes.
    let limits = &center.center().config().limits;
    assert!(attempted > limits.handshake_burst_per_address as usize * 2, "the flood was too small to test anything");
    assert!(answered < attempted / 2, "{answered} of {attempted} flooding handshakes were answered");
    center.assert_audit_passes();
}

#[tokio::test]
async fn a_connection_that_never_speaks_is_closed_at_the_handshake_deadline() {
    let center = TestCenter::start_with(|config| config.limits.handshake_timeout_ms = 300).await;
    let mut stream = tokio::net::TcpStream::connect(center.address).await.unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the silent connection must be closed: {read:?}");
    // Half a handshake and then silence: closed too.
    let mut stream = tokio::net::TcpStream::connect(center.address).await.unwrap();
    stream.write_all(&[0, 48, 1, 2, 3]).await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the stalled handshake must be closed: {read:?}");
    let mut terminal = center.connect().await;
    assert_eq!(terminal.guide(GuideTopic::Guide).await.code(), Code::GUIDE_ANSWER);
}

/// A telegram built byte by byte (header, body, signature), so it can break
/// any rule: anonymous and to the center unless `sender` says otherwise.
fn raw_telegram(code: u16, sender: (u8, u64), body: &[u8], signature: [u8; 64]) -> Vec<u8> {
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(&code.to_be_bytes());
    bytes.push(sender.0);
    bytes.extend_from_slice(&sender.1.to_be_bytes());
    bytes.push(4); // recipient: the center
    bytes.extend_from_slice(&0u64.to_be_bytes());
    bytes.extend_from_slice(&rand_core::RngCore::next_u64(&mut OsRng).to_be_bytes()); // processing number
    bytes.extend_from_slice(&denbun_tests::now_ms().to_be_bytes());
    bytes.extend_from_slice(&0u16.to_be_bytes()); // result
    bytes.extend_from_slice(&(body.len() as u16).to_be_bytes());
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(&signature);
    bytes
}

/// An application body: member, name, address, date of birth, agreement version.
fn application_body(name: &[u8]) -> Vec<u8> {
    let mut body = vec![1u8];
    body.extend_from_slice(&(name.len() as u16).to_be_bytes());
    body.extend_from_slice(name);
    let address = b"1-2-3 Marunouchi";
    body.extend_from_slice(&(address.len() as u16).to_be_bytes());
    body.extend_from_slice(address);
    body.extend_from_slice(&19_900_401u32.to_be_bytes());
    body.extend_from_slice(&1u32.to_be_bytes());
    body
}

#[tokio::test]
async fn the_protocols_bad_inputs_sent_to_the_running_center_are_refused_with_their_reasons() {
    use denbun_protocol::reject::RejectReason;
    use denbun_protocol::telegram::card::{CardRequest, FundingChannel};
    use denbun_protocol::telegram::registration::Applicant;
    use denbun_protocol::wire::Amount;

    let center = TestCenter::start().await;
    let mut member = center.register(Applicant::Member).await;
    let member_sender = (1u8, member.id.number());
    let some_signature = [7u8; 64];
    // (what, telegram bytes, the reason the center must give)
    let amount_body = |amount: u64| {
        let mut body = amount.to_be_bytes().to_vec();
        body.push(1); // credit company
        raw_telegram(2000, member_sender, &body, some_signature)
    };
    let mut cases: Vec<(&str, Vec<u8>, RejectReason)> = vec![
        ("unknown code", raw_telegram(1234, (0, 0), &[], [0; 64]), RejectReason::UnknownCode),
        ("unsupported version", vec![2, 0, 0], RejectReason::UnsupportedVersion),
        (
            "over-long string",
            raw_telegram(1100, (0, 0), &application_body(&[b'A'; 65]), [0; 64]),
            RejectReason::Malformed,
        ),
        (
            "invalid UTF-8",
            raw_telegram(1100, (0, 0), &application_body(&[0xc3, 0x28]), [0; 64]),
            RejectReason::Malformed,
        ),
        ("amount 0", amount_body(0), RejectReason::Malformed),
        ("amount u64::MAX", amount_body(u64::MAX), RejectReason::Malformed),
    ];
    // A payment instruction with one line more than the maximum.
    let mut lines = Vec::new();
    lines.extend_from_slice(&7u64.to_be_bytes()); // transaction number
    lines.push(2);
    lines.extend_from_slice(&1u64.to_be_bytes()); // store S00000001
    lines.extend_from_slice(&1u32.to_be_bytes()); // catalog version
    let count = denbun_protocol::limits::ORDER_LINES_MAX as u16 + 1;
    lines.extend_from_slice(&count.to_be_bytes());
    for item in 0..count {
        lines.extend_from_slice(&u32::from(item).to_be_bytes());
        lines.extend_from_slice(&1u16.to_be_bytes());
        lines.extend_from_slice(&100u64.to_be_bytes());
    }
    lines.extend_from_slice(&(100 * u64::from(count)).to_be_bytes());
    cases.push((
        "list over its maximum",
        raw_telegram(4000, member_sender, &lines, some_signature),
        RejectReason::Malformed,
    ));
    // A genuine request whose signature's S is replaced by S + L (the group order): refused by verify_strict.
    let genuine = member.request(
        &center.fingerprint(),
        CardRequest { amount: Amount::new(1_000).unwrap(), channel: FundingChannel::CreditCompany },
    );
    let mut malleated = genuine.as_bytes().to_vec();
    let s_offset = malleated.len() - 32;
    let order: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for index in 0..32 {
        let sum = u16::from(malleated[s_offset + index]) + u16::from(order[index]) + carry;
        malleated[s_offset + index] = sum as u8;
        carry = sum >> 8;
    }
    cases.push(("malleated signature (S + L)", malleated, RejectReason::BadSignature));
    let mut foreign = denbun_tests::TestParty::new(member.id);
    cases.push((
        "signature by the wrong key",
        foreign
            .request(
                &center.fingerprint(),
                CardRequest { amount: Amount::new(1_000).unwrap(), channel: FundingChannel::CreditCompany },
            )
            .into_bytes(),
        RejectReason::BadSignature,
    ));

    let mut terminal = center.connect().await;
    for (what, bytes, expected) in cases {
        terminal.send_bytes(&bytes).await;
        let answer = terminal.receive().await;
        assert_eq!(answer.code(), Code::REJECT, "{what}: {answer:?}");
        assert_eq!(answer.header().reject_reason(), Some(expected), "{what}: {answer:?}");
    }
    // The session survived every refusal, and nothing was applied.
    assert_eq!(terminal.guide(GuideTopic::Guide).await.code(), Code::GUIDE_ANSWER);
    center.assert_audit_passes();
}

#[tokio::test]
async fn broken_lines_are_closed_without_an_answer_and_the_center_goes_on() {
    let center = TestCenter::start().await;
    let noise_key = center.identity().noise_public_key;
    let read_closed = |mut stream: tokio::net::TcpStream| async move {
        let mut buffer = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await;
        matches!(read, Ok(Ok(0)) | Ok(Err(_)))
    };
    let (_, genuine_request) = Initiator::new(&noise_key).start(&mut OsRng).unwrap();
    let frame = |payload: &[u8]| {
        let mut bytes = (payload.len() as u16).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        bytes
    };
    let mut low_order = genuine_request.clone();
    low_order[..32].fill(0); // an all-zero ephemeral key
    let mut flipped = genuine_request.clone();
    flipped[40] ^= 0x01; // a bit of the tag
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("length prefix 0", vec![0, 0]),
        ("end of stream in the prefix", vec![0]),
        ("end of stream in the body", vec![0, 48, 1, 2, 3]),
        ("a handshake of the wrong length", frame(&genuine_request[..47])),
        ("a zero ephemeral key", frame(&low_order)),
        ("a flipped bit in the handshake", frame(&flipped)),
    ];
    for (what, bytes) in cases {
        let mut stream = tokio::net::TcpStream::connect(center.address).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        stream.shutdown().await.unwrap();
        assert!(read_closed(stream).await, "{what}: the center must close without answering");
    }
    // A flipped bit in a transport message after a good handshake.
    let mut terminal = center.connect().await;
    let guide = denbun_protocol::sign::Signer::anonymous()
        .request(
            1,
            denbun_tests::now_ms(),
            denbun_protocol::telegram::registration::GuideRequest { topic: GuideTopic::Guide },
        )
        .unwrap();
    terminal.send_flipped(guide.as_bytes(), 10).await;
    assert!(matches!(terminal.try_receive().await, Ok(None) | Err(_)), "a forged frame closes the line");
    let mut terminal = center.connect().await;
    assert_eq!(terminal.guide(GuideTopic::Guide).await.code(), Code::GUIDE_ANSWER);
}

#[tokio::test]
async fn a_terminal_clock_a_day_off_either_way_is_served_and_recorded() {
    use denbun_protocol::sign::Signer;
    use denbun_protocol::telegram::card::{CardAnswer, CardRequest, FundingChannel};
    use denbun_protocol::telegram::registration::Applicant;
    use denbun_protocol::wire::Amount;

    let center = TestCenter::start().await;
    let mut member = center.register(Applicant::Member).await;
    let mut terminal = center.connect().await;
    let day_ms = 86_400_000;
    for skew in [-(day_ms as i64), day_ms as i64] {
        let sent_at_ms = (denbun_tests::now_ms() as i64 + skew) as u64;
        let processing_number = member.next_processing_number();
        let request = Signer::new(member.id, &member.signing_key, center.fingerprint())
            .unwrap()
            .request(
                processing_number,
                sent_at_ms,
                CardRequest { amount: Amount::new(1_000).unwrap(), channel: FundingChannel::CreditCompany },
            )
            .unwrap();
        let answer = terminal.exchange(&request).await;
        // Offline-signed telegrams may be old; the center acts on its own clock
        // and keeps the terminal's time in the journaled telegram as evidence.
        assert!(
            matches!(answer.body(), denbun_protocol::telegram::Body::CardAnswer(CardAnswer::Issued(_))),
            "skew {skew}: {answer:?}"
        );
        let now = denbun_tests::now_ms();
        assert!(answer.header().sent_at_ms().abs_diff(now) < 60_000, "the answer carries the center's time");
    }
    center.assert_audit_passes();
}
