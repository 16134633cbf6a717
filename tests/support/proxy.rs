//! A faulty line on loopback: a TCP proxy between terminals and the center
//! that reads the u16-length frames going each way and, from a seeded
//! random plan, drops the connection before a request reaches the center,
//! right after it reaches it, or right after the answer leaves it, sends a
//! request twice, or holds frames back for a while.
//!
//! The handshake (each side's first frame) always passes, so every fault
//! lands on a telegram. Everything is bounded: one task pair per
//! connection, frames at most 65,537 bytes, and [`Proxy::set_faults`] turns
//! every fault off so the test can drain its outboxes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How often each fault strikes, in percent of the telegram frames that
/// pass one way (each frame draws once).
#[derive(Clone, Copy, Debug)]
pub struct FaultPlan {
    /// Seed of the plan (each connection draws from its own stream of it).
    pub seed: u64,
    /// Requests dropped with the connection before they reach the center.
    pub drop_before_request_percent: u32,
    /// Connections dropped right after a request reached the center.
    pub drop_after_request_percent: u32,
    /// Connections dropped right after an answer left the center.
    pub drop_after_answer_percent: u32,
    /// Requests sent twice (the second copy fails the Noise nonce check, so
    /// the center ends the session: a replayed frame never acts twice).
    pub duplicate_percent: u32,
    /// Frames held back, either way.
    pub delay_percent: u32,
    /// How long at most a held-back frame waits.
    pub delay_max: Duration,
}

impl FaultPlan {
    /// A plan with every fault at `percent`.
    pub fn every_fault(seed: u64, percent: u32) -> FaultPlan {
        FaultPlan {
            seed,
            drop_before_request_percent: percent,
            drop_after_request_percent: percent,
            drop_after_answer_percent: percent,
            duplicate_percent: percent,
            delay_percent: percent,
            delay_max: Duration::from_millis(30),
        }
    }
}

/// How many times each fault struck.
#[derive(Debug, Default)]
pub struct FaultCounts {
    /// Connections through the proxy.
    pub connections: AtomicU64,
    /// Telegram frames forwarded to the center.
    pub requests: AtomicU64,
    /// Telegram frames forwarded to terminals.
    pub answers: AtomicU64,
    /// See [`FaultPlan`].
    pub dropped_before_request: AtomicU64,
    /// See [`FaultPlan`].
    pub dropped_after_request: AtomicU64,
    /// See [`FaultPlan`].
    pub dropped_after_answer: AtomicU64,
    /// See [`FaultPlan`].
    pub duplicated: AtomicU64,
    /// See [`FaultPlan`].
    pub delayed: AtomicU64,
}

impl std::fmt::Display for FaultCounts {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        write!(
            formatter,
            "{} connections, {} requests and {} answers forwarded; dropped before a request {}, after a request {}, \
             after an answer {}; duplicated {}; delayed {}",
            get(&self.connections),
            get(&self.requests),
            get(&self.answers),
            get(&self.dropped_before_request),
            get(&self.dropped_after_request),
            get(&self.dropped_after_answer),
            get(&self.duplicated),
            get(&self.delayed)
        )
    }
}

/// The proxy, listening on 127.0.0.1.
pub struct Proxy {
    /// Where terminals connect instead of the center.
    pub address: SocketAddr,
    /// What happened so far.
    pub counts: Arc<FaultCounts>,
    faults_on: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `upstream` following `plan`.
    pub async fn start(upstream: SocketAddr, plan: FaultPlan) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("bound address");
        let counts = Arc::new(FaultCounts::default());
        let faults_on = Arc::new(AtomicBool::new(true));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, upstream, plan, counts.clone(), faults_on.clone(), stopped));
        Proxy { address, counts, faults_on, stop, task }
    }

    /// Turns every fault off (frames pass untouched from now on) or on again.
    pub fn set_faults(&self, on: bool) {
        self.faults_on.store(on, Ordering::Relaxed);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    plan: FaultPlan,
    counts: Arc<FaultCounts>,
    faults_on: Arc<AtomicBool>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connection = 0u64;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let Ok((terminal, _)) = accepted else { continue };
        connection += 1;
        counts.connections.fetch_add(1, Ordering::Relaxed);
        let mut rng = ChaCha20Rng::seed_from_u64(plan.seed);
        rng.set_stream(connection);
        let counts = counts.clone();
        let faults_on = faults_on.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            // The center may be down (a crash test): the terminal then sees its line close.
            let Ok(center) = TcpStream::connect(upstream).await else { return };
            let _ = terminal.set_nodelay(true);
            let _ = center.set_nodelay(true);
            let (terminal_read, terminal_write) = terminal.into_split();
            let (center_read, center_write) = center.into_split();
            let (cut, cut_seen) = watch::channel(false);
            let mut second_rng = rng.clone();
            second_rng.set_stream(u64::MAX - connection);
            let to_center = Pump {
                direction: Direction::ToCenter,
                plan,
                rng,
                counts: counts.clone(),
                faults_on: faults_on.clone(),
                cut: cut.clone(),
            };
            let to_terminal = Pump { direction: Direction::ToTerminal, plan, rng: second_rng, counts, faults_on, cut };
            let mut stopped_again = stopped.clone();
            tokio::select! {
                _ = async {
                    tokio::join!(
                        to_center.run(terminal_read, center_write, cut_seen.clone()),
                        to_terminal.run(center_read, terminal_write, cut_seen),
                    )
                } => {}
                _ = stopped_again.changed() => {}
            }
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToCenter,
    ToTerminal,
}

struct Pump {
    direction: Direction,
    plan: FaultPlan,
    rng: ChaCha20Rng,
    counts: Arc<FaultCounts>,
    faults_on: Arc<AtomicBool>,
    /// Set by whichever direction drops the connection; both then stop.
    cut: watch::Sender<bool>,
}

enum Action {
    Forward,
    DropBefore,
    DropAfter,
    Duplicate,
}

impl Pump {
    fn strikes(&mut self, percent: u32) -> bool {
        percent > 0 && self.rng.next_u32() % 100 < percent
    }

    fn choose(&mut self) -> Action {
        if !self.faults_on.load(Ordering::Relaxed) {
            return Action::Forward;
        }
        let plan = self.plan;
        let direction = self.direction;
        match direction {
            Direction::ToCenter if self.strikes(plan.drop_before_request_percent) => Action::DropBefore,
            Direction::ToCenter if self.strikes(plan.drop_after_request_percent) => Action::DropAfter,
            Direction::ToCenter if self.strikes(plan.duplicate_percent) => Action::Duplicate,
            Direction::ToTerminal if self.strikes(plan.drop_after_answer_percent) => Action::DropAfter,
            _ => Action::Forward,
        }
    }

    async fn run(mut self, mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut cut_seen: watch::Receiver<bool>) {
        let mut frames = 0u64;
        loop {
            let frame = tokio::select! {
                frame = read_frame(&mut from) => frame,
                _ = cut_seen.changed() => return,
            };
            let Some(frame) = frame else {
                // One side closed: close the other too.
                let _ = self.cut.send(true);
                return;
            };
            frames += 1;
            // The first frame each way is the handshake: it always passes.
            let action = if frames == 1 { Action::Forward } else { self.choose() };
            if frames > 1 && self.faults_on.load(Ordering::Relaxed) && self.strikes(self.plan.delay_percent) {
                self.counts.delayed.fetch_add(1, Ordering::Relaxed);
                let delay_ms = self.rng.next_u64() % (self.plan.delay_max.as_millis() as u64 + 1);
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            let counted = match (&action, self.direction) {
                (Action::DropBefore, _) => &self.counts.dropped_before_request,
                (Action::DropAfter, Direction::ToCenter) => &self.counts.dropped_after_request,
                (Action::DropAfter, Direction::ToTerminal) => &self.counts.dropped_after_answer,
                (Action::Duplicate, _) => &self.counts.duplicated,
                (Action::Forward, Direction::ToCenter) => &self.counts.requests,
                (Action::Forward, Direction::ToTerminal) => &self.counts.answers,
            };
            if frames > 1 {
                counted.fetch_add(1, Ordering::Relaxed);
            }
            let copies = match action {
                Action::DropBefore => 0,
                Action::Duplicate => 2,
                Action::Forward | Action::DropAfter => 1,
            };
            for _ in 0..copies {
                if to.write_all(&frame).await.is_err() {
                    let _ = self.cut.send(true);
                    return;
                }
            }
            if matches!(action, Action::DropBefore | Action::DropAfter) {
                let _ = to.flush().await;
                let _ = self.cut.send(true);
                return;
            }
        }
    }
}

/// One whole frame, length prefix included; `None` when the line closes.
async fn read_frame(from: &mut OwnedReadHalf) -> Option<Vec<u8>> {
    let mut prefix = [0u8; 2];
    from.read_exact(&mut prefix).await.ok()?;
    let length = usize::from(u16::from_be_bytes(prefix));
    let mut frame = vec![0u8; 2 + length];
    frame[..2].copy_from_slice(&prefix);
    from.read_exact(&mut frame[2..]).await.ok()?;
    Some(frame)
}
