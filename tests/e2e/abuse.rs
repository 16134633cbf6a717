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
