//! Phases: many terminals in closed loops (send, wait for the verified
//! answer, send again), measured over a window after a warm-up.
//!
//! Every loop is bounded twice: by the end of the window and by a cap on the
//! operations the whole phase may start. An operation counts when it started
//! inside the window and its answer arrived inside it; CPU time, wire bytes,
//! the disk and the center's memory are read at the window's two ends.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use denbun_protocol::header::{Code, PartyId};
use denbun_protocol::telegram::network::{Echo, MailboxAck};
use denbun_protocol::telegram::registration::{Applicant, Application};
use denbun_protocol::telegram::{Body, GuideRequest, GuideTopic};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use rand_core::{OsRng, RngCore};
use tokio::time::Instant;

use crate::report::{self, CpuUse, Latency, PhaseReport, code_label};
use crate::target::Target;
use crate::terminal::{Answered, Line, Terminal, TerminalError};
use crate::workload;

/// A member acknowledges its notices once it holds this many.
const MEMBER_ACK_NOTICES: usize = 16;
/// A store acknowledges its payment notices once it holds this many.
const STORE_ACK_NOTICES: usize = 64;
/// A store stops once the phase is over and no notice came for this long.
const STORE_QUIET: Duration = Duration::from_millis(300);
/// Payments a store remembers for refunds.
const STORE_REMEMBERED_PAYMENTS_MAX: usize = 1_024;
/// How often the progress bar is redrawn.
const PROGRESS_TICK: Duration = Duration::from_millis(200);

/// How long a phase runs and how much it may do.
#[derive(Clone, Debug)]
pub struct PhaseSpec {
    /// Its name in the report.
    pub name: String,
    /// Run but not measured.
    pub warmup: Duration,
    /// Measured.
    pub measure: Duration,
    /// Operations the whole phase may start, warm-up included.
    pub operations_max: u64,
    /// The request codes that count as the phase's operations (empty: all).
    pub operation_codes: Vec<Code>,
    /// Whether to draw a progress bar.
    pub progress: bool,
    /// Open loop: each terminal sends once per this interval, whether or not
    /// earlier answers came back quickly (`None`: closed loop, send on answer).
    pub interval: Option<Duration>,
}

/// What every task of a phase shares.
pub struct Context {
    /// When the phase started.
    phase_start: Instant,
    /// When measuring started, in nanoseconds after `phase_start`: first the
    /// planned time, then the moment the opening snapshot was actually taken
    /// (a busy runtime may wake the controller late, and what happens before
    /// the snapshot must not count).
    window_start_nanos: AtomicU64,
    /// When measuring ends; no operation starts after it.
    pub window_end: Instant,
    issued: AtomicU64,
    operations_max: u64,
    completed: AtomicU64,
    interval: Option<Duration>,
}

/// A day, in nanoseconds: beyond any phase.
const WINDOW_NANOS_MAX: u64 = 86_400_000_000_000;

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Context {
    /// When measuring started.
    pub fn window_start(&self) -> Instant {
        let nanos = self.window_start_nanos.load(Ordering::Acquire);
        // Before the window opens: a day away, after any operation's start.
        self.phase_start + Duration::from_nanos(nanos.min(WINDOW_NANOS_MAX))
    }

    fn open_window(&self, at: Instant) {
        self.window_start_nanos.store(nanos(at.saturating_duration_since(self.phase_start)), Ordering::Release);
    }

    /// Whether another operation may start (and counts it as started).
    pub fn take_ticket(&self) -> bool {
        Instant::now() < self.window_end && self.issued.fetch_add(1, Ordering::Relaxed) < self.operations_max
    }

    /// Whether the phase is over for new operations.
    pub fn is_over(&self) -> bool {
        Instant::now() >= self.window_end || self.issued.load(Ordering::Relaxed) >= self.operations_max
    }
}

/// When a terminal sends next, in the open loop.
pub struct Pace {
    next: Option<Instant>,
    interval: Option<Duration>,
}

impl Pace {
    /// A terminal's schedule, starting at a random point of its first interval
    /// so the terminals do not send in step.
    pub fn new(context: &Context) -> Pace {
        let next = context.interval.map(|interval| {
            let offset = interval.mul_f64(f64::from(OsRng.next_u32()) / f64::from(u32::MAX));
            Instant::now() + offset
        });
        Pace { next, interval: context.interval }
    }

    /// Waits for the next send time and returns it (the open loop's latency
    /// runs from the time the request was due, so a slow center cannot hide
    /// its queue by delaying the sends); `None` in the closed loop.
    pub async fn wait(&mut self) -> Option<Instant> {
        let (next, interval) = (self.next?, self.interval?);
        tokio::time::sleep_until(next).await;
        self.next = Some(next + interval);
        Some(next)
    }
}

/// Counts from the time the request was due, in the open loop.
fn from_due(answered: &mut Answered, due: Option<Instant>) {
    if let Some(due) = due {
        answered.latency = due.elapsed();
    }
}

/// Equal parts the measured window is cut into for [`PhaseReport::operations_per_second_by_tenth`].
pub const TENTHS: usize = 10;

/// One answer in the window: its code, its latency in microseconds, and
/// when it finished, in milliseconds from the window's start.
type Sample = (Code, u64, u32);

/// One task's measurements.
///
/// A task keeps its answered requests' latencies as plain samples; the
/// histograms are built once, from every task's samples, when the phase
/// ends. A histogram per task (two per terminal, 139 KiB each to cover a
/// minute at three significant digits) was first touched page by page
/// while the window ran: with 256 terminals, 71 MiB of fresh memory, whose
/// page faults were 3.7% of the generator's samples in a profile of the
/// payments phase (2026-12-05).
#[derive(Default)]
pub struct Recorder {
    /// In-window answers.
    samples: Vec<Sample>,
    rejects: BTreeMap<String, u64>,
    failures: u64,
    first_failure: Option<String>,
    last_completion: Option<Instant>,
}

impl Recorder {
    /// Records an answered request with code `code`; returns whether it was accepted.
    pub fn answered(&mut self, context: &Context, code: Code, answered: &Answered) -> bool {
        context.completed.fetch_add(1, Ordering::Relaxed);
        let finished = Instant::now();
        let started = finished - answered.latency;
        let reason = answered.reject_reason();
        if started >= context.window_start() && finished <= context.window_end {
            let finished_ms = finished.saturating_duration_since(context.window_start()).as_millis();
            self.samples.push((code, report::micros(answered.latency), u32::try_from(finished_ms).unwrap_or(u32::MAX)));
            if let Some(reason) = reason {
                *self
                    .rejects
                    .entry(format!("{} ({}): {}", code_label(code), reason.code(), reason.message()))
                    .or_default() += 1;
            }
            self.last_completion = Some(self.last_completion.map_or(finished, |last| last.max(finished)));
        }
        reason.is_none()
    }

    /// Records a failed exchange (always, warm-up included: a failure is never noise).
    pub fn failed(&mut self, error: &TerminalError) {
        self.failures += 1;
        if self.first_failure.is_none() {
            self.first_failure = Some(error.to_string());
        }
    }

    fn merge(&mut self, other: Recorder) {
        self.samples.extend(other.samples);
        for (reason, count) in other.rejects {
            *self.rejects.entry(reason).or_default() += count;
        }
        self.failures += other.failures;
        self.first_failure = self.first_failure.take().or(other.first_failure);
        self.last_completion = match (self.last_completion, other.last_completion) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// The latencies of every answer in the window, and of each code's.
    fn histograms(&self) -> (Histogram<u64>, BTreeMap<Code, Histogram<u64>>) {
        let mut all = report::histogram();
        let mut by_code: BTreeMap<Code, Histogram<u64>> = BTreeMap::new();
        for &(code, micros, _) in &self.samples {
            report::record_micros(&mut all, micros);
            report::record_micros(by_code.entry(code).or_insert_with(report::histogram), micros);
        }
        (all, by_code)
    }

    /// The operations counted (`counted`) that finished in each tenth of a
    /// window of `window`, as rates: whether the rate held to the end.
    fn rates_by_tenth(&self, counted: impl Fn(Code) -> bool, window: Duration) -> Vec<f64> {
        let window_ms = window.as_millis().max(1);
        let mut counts = [0u64; TENTHS];
        for &(code, _, finished_ms) in &self.samples {
            if counted(code) {
                // The window ends with its last answer, which would be
                // tenth number ten: it belongs to the last.
                let tenth = (u128::from(finished_ms) * TENTHS as u128 / window_ms).min(TENTHS as u128 - 1) as usize;
                counts[tenth] += 1;
            }
        }
        let tenth_seconds = window.as_secs_f64() / TENTHS as f64;
        counts.iter().map(|&count| count as f64 / tenth_seconds).collect()
    }
}

struct Snapshot {
    at: Instant,
    cpu: crate::target::CpuSnapshot,
    wire: crate::terminal::WireSnapshot,
    disk_bytes: Option<u64>,
}

fn snapshot(target: &Target) -> Snapshot {
    // The wire first, then the time: a request that starts after `at` is
    // sent after the wire was read, so its telegrams fall in the window.
    let wire = target.view.wire.snapshot();
    let at = Instant::now();
    Snapshot { at, cpu: target.cpu(), wire, disk_bytes: target.disk_bytes() }
}

/// Runs `work` once per state, all at once, and measures the window.
/// Returns the states (in order), the report and the per-code counts.
pub async fn run_phase<S, F, Fut>(
    target: &Target,
    spec: &PhaseSpec,
    terminals: usize,
    states: Vec<S>,
    work: F,
) -> (Vec<S>, PhaseReport, BTreeMap<Code, u64>)
where
    S: Send + 'static,
    F: Fn(S, Arc<Context>) -> Fut,
    Fut: Future<Output = (S, Recorder)> + Send + 'static,
{
    let phase_start = Instant::now();
    let context = Arc::new(Context {
        phase_start,
        // Nothing counts until the opening snapshot is taken.
        window_start_nanos: AtomicU64::new(u64::MAX),
        window_end: phase_start + spec.warmup + spec.measure,
        issued: AtomicU64::new(0),
        operations_max: spec.operations_max,
        completed: AtomicU64::new(0),
        interval: spec.interval,
    });
    let progress = spec.progress.then(|| progress_bar(&spec.name, spec.warmup + spec.measure));
    let ticker = progress.clone().map(|bar| {
        let context = context.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROGRESS_TICK).await;
                let elapsed = phase_start.elapsed();
                bar.set_position(elapsed.as_millis() as u64);
                let completed = context.completed.load(Ordering::Relaxed);
                bar.set_message(format!("{completed} answered, {:.0}/s", completed as f64 / elapsed.as_secs_f64()));
            }
        })
    });
    // Without a warm-up the window opens before the first request is sent.
    let opening = spec.warmup.is_zero().then(|| snapshot(target));
    if let Some(opening) = &opening {
        context.open_window(opening.at);
    }
    let handles: Vec<_> = states.into_iter().map(|state| tokio::spawn(work(state, context.clone()))).collect();
    let mut joined = tokio::spawn(async move {
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await.expect("a terminal task panicked"));
        }
        results
    });

    let (start, early) = match opening {
        Some(start) => (start, None),
        None => {
            let early = tokio::select! {
                results = &mut joined => Some(results.expect("joining terminals")),
                () = tokio::time::sleep_until(phase_start + spec.warmup) => None,
            };
            (snapshot(target), early)
        }
    };
    context.open_window(start.at);
    let early = match early {
        Some(results) => Some(results),
        None => tokio::select! {
            results = &mut joined => Some(results.expect("joining terminals")),
            () = tokio::time::sleep_until(context.window_end) => None,
        },
    };
    let end = snapshot(target);
    let resident = target.center_resident_bytes();
    let results = match early {
        Some(results) => results,
        None => joined.await.expect("joining terminals"),
    };
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    let mut recorder = Recorder::default();
    let mut states = Vec::with_capacity(results.len());
    for (state, part) in results {
        states.push(state);
        recorder.merge(part);
    }
    let window_end = recorder.last_completion.map_or(end.at, |last| last.min(end.at).max(start.at));
    let elapsed = window_end.saturating_duration_since(start.at).max(Duration::from_millis(1));
    let (latency, by_code) = recorder.histograms();
    let counts: BTreeMap<Code, u64> = by_code.iter().map(|(code, histogram)| (*code, histogram.len())).collect();
    let counted = |code: Code| spec.operation_codes.is_empty() || spec.operation_codes.contains(&code);
    let operations: u64 = counts.iter().filter(|(code, _)| counted(**code)).map(|(_, count)| count).sum();
    let telegrams = end.wire.telegrams - start.wire.telegrams;
    let cpu = |end: Option<u64>, start: Option<u64>| {
        end.zip(start).map(|(end, start)| CpuUse::of(end.saturating_sub(start), elapsed, operations))
    };
    let report = PhaseReport {
        phase: spec.name.clone(),
        terminals,
        seconds: elapsed.as_secs_f64(),
        operations,
        operations_per_second: operations as f64 / elapsed.as_secs_f64(),
        operations_per_second_by_tenth: recorder.rates_by_tenth(counted, elapsed),
        offered_operations_per_second: spec.interval.map(|interval| terminals as f64 / interval.as_secs_f64()),
        telegrams,
        telegrams_per_second: telegrams as f64 / elapsed.as_secs_f64(),
        wire_bytes_per_telegram: (end.wire.bytes - start.wire.bytes) as f64 / telegrams.max(1) as f64,
        disk_bytes_per_operation: end
            .disk_bytes
            .zip(start.disk_bytes)
            .map(|(end, start)| end.saturating_sub(start) as f64 / operations.max(1) as f64),
        latency: Latency::of(&latency),
        by_code: by_code.iter().map(|(code, histogram)| (code_label(*code), Latency::of(histogram))).collect(),
        rejects: recorder.rejects.clone(),
        failures: recorder.failures,
        first_failure: recorder.first_failure.clone(),
        center_cpu: cpu(end.cpu.center_ms, start.cpu.center_ms),
        committer_cpu: cpu(end.cpu.committer_ms, start.cpu.committer_ms),
        connections_cpu: cpu(end.cpu.connections_ms, start.cpu.connections_ms),
        generator_cpu: CpuUse::of(end.cpu.generator_ms.saturating_sub(start.cpu.generator_ms), elapsed, operations),
        center_resident_bytes: resident,
        bound: None,
        bound_mix: Vec::new(),
    };
    (states, report, counts)
}

fn progress_bar(name: &str, length: Duration) -> ProgressBar {
    let bar = ProgressBar::new(length.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>13} [{bar:30}] {elapsed:>4} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_owned());
    bar
}

/// A terminal with its signed-on line.
pub struct Session {
    /// The party.
    pub terminal: Terminal,
    /// Its line.
    pub line: Line,
}

/// One terminal and one operation: what a one-shot phase hands each task.
pub struct Step<T> {
    /// The terminal.
    pub terminal: Terminal,
    /// What it does.
    pub task: T,
    /// What came of it.
    pub outcome: Option<Result<Body, String>>,
}

/// Handshake and sign-on, over and over: each operation connects, runs the
/// handshake, signs on and hangs up.
pub async fn sign_on_loop(
    mut terminal: Terminal,
    target: Arc<crate::terminal::CenterView>,
    context: Arc<Context>,
) -> (Terminal, Recorder) {
    let mut recorder = Recorder::default();
    let mut pace = Pace::new(&context);
    loop {
        let due = pace.wait().await;
        if !context.take_ticket() {
            break;
        }
        let started = due.unwrap_or_else(Instant::now);
        let result = async {
            let mut line = Line::connect(&target).await?;
            line.sign_on(&mut terminal).await
        }
        .await;
        match result {
            Ok(mut answered) => {
                answered.latency = started.elapsed();
                recorder.answered(&context, Code::SIGN_ON, &answered);
            }
            Err(error) => {
                recorder.failed(&error);
                break;
            }
        }
    }
    (terminal, recorder)
}

/// Echo, over and over.
pub async fn echo_loop(mut session: Session, context: Arc<Context>) -> (Session, Recorder) {
    let mut recorder = Recorder::default();
    let mut pace = Pace::new(&context);
    loop {
        let due = pace.wait().await;
        if !context.take_ticket() {
            break;
        }
        match session.line.ask(&mut session.terminal, Echo {}).await {
            Ok(mut answered) => {
                from_due(&mut answered, due);
                recorder.answered(&context, Code::ECHO, &answered);
            }
            Err(error) => {
                recorder.failed(&error);
                break;
            }
        }
    }
    (session, recorder)
}

/// What a terminal does in the payments and mixed phases.
pub enum Role {
    /// A member paying `store` (and, in the mixed phase, topping up and browsing).
    Member {
        /// The member.
        session: Session,
        /// Whom it pays.
        store: PartyId,
    },
    /// A store receiving payment notices (and, in the mixed phase, refunding).
    Store(Session),
}

impl Role {
    /// The session inside.
    pub fn into_session(self) -> Session {
        match self {
            Role::Member { session, .. } | Role::Store(session) => session,
        }
    }
}

/// What a member does on its `index`-th operation of the mixed phase: seven
/// payments, two catalog pages and one top-up in ten.
fn mixed_step(index: u64) -> Code {
    match index % 10 {
        2 | 7 => Code::CATALOG_PAGE_REQUEST,
        5 => Code::CARD_REQUEST,
        _ => Code::PAYMENT_INSTRUCTION,
    }
}

/// A nonzero random transaction number.
fn transaction_number() -> u64 {
    OsRng.next_u64().max(1)
}

/// The payments phase (`mixed` false) or the mixed phase.
pub async fn payments_loop(role: Role, mixed: bool, context: Arc<Context>) -> (Role, Recorder) {
    match role {
        Role::Member { session, store } => {
            let (session, recorder) = member_loop(session, store, mixed, context).await;
            (Role::Member { session, store }, recorder)
        }
        Role::Store(session) => {
            let (session, recorder) = store_loop(session, mixed, context).await;
            (Role::Store(session), recorder)
        }
    }
}

async fn member_loop(mut session: Session, store: PartyId, mixed: bool, context: Arc<Context>) -> (Session, Recorder) {
    let mut recorder = Recorder::default();
    let mut index = 0u64;
    let mut pace = Pace::new(&context);
    loop {
        let due = pace.wait().await;
        if !context.take_ticket() {
            break;
        }
        let code = if mixed { mixed_step(index) } else { Code::PAYMENT_INSTRUCTION };
        let item_id = (index % u64::from(workload::CATALOG_ITEMS)) as u32 + 1;
        index += 1;
        let body: Body = match code {
            Code::CATALOG_PAGE_REQUEST => workload::catalog_page(store).into(),
            Code::CARD_REQUEST => workload::top_up(workload::TOP_UP_YEN).into(),
            _ => workload::payment(store, transaction_number(), item_id).into(),
        };
        match session.line.ask(&mut session.terminal, body).await {
            Ok(mut answered) => {
                from_due(&mut answered, due);
                recorder.answered(&context, code, &answered);
            }
            Err(error) => {
                recorder.failed(&error);
                return (session, recorder);
            }
        }
        if session.line.notices.len() >= MEMBER_ACK_NOTICES
            && let Err(error) = acknowledge(&mut session, &mut recorder, &context).await
        {
            recorder.failed(&error);
            return (session, recorder);
        }
    }
    (session, recorder)
}

/// Acknowledges every notice the session holds.
async fn acknowledge(session: &mut Session, recorder: &mut Recorder, context: &Context) -> Result<(), TerminalError> {
    let Some(up_to_sequence) = session.line.notices.iter().map(|notice| notice.sequence).max() else { return Ok(()) };
    session.line.notices.clear();
    let answered = session.line.ask(&mut session.terminal, MailboxAck { up_to_sequence }).await?;
    recorder.answered(context, Code::MAILBOX_ACK, &answered);
    Ok(())
}

async fn store_loop(mut session: Session, mixed: bool, context: Arc<Context>) -> (Session, Recorder) {
    let mut recorder = Recorder::default();
    let mut refunds: VecDeque<u64> = VecDeque::new();
    let mut payments_since_refund = 0u64;
    // Notices at the front of the held list that were looked at already.
    let mut processed = 0usize;
    let hard_end = context.window_end + crate::terminal::WAIT;
    loop {
        let now = Instant::now();
        if now >= hard_end {
            break;
        }
        let received = match session.line.poll(&session.terminal, now + STORE_QUIET).await {
            Ok(received) => received,
            Err(error) => {
                recorder.failed(&error);
                break;
            }
        };
        if !received && context.is_over() {
            break;
        }
        for notice in &session.line.notices[processed..] {
            if let Body::PaymentNotice(paid) = notice.telegram.body() {
                payments_since_refund += 1;
                if payments_since_refund >= workload::REFUND_EVERY_PAYMENTS
                    && refunds.len() < STORE_REMEMBERED_PAYMENTS_MAX
                {
                    payments_since_refund = 0;
                    refunds.push_back(paid.transaction_number);
                }
            }
        }
        processed = session.line.notices.len();
        if mixed
            && !context.is_over()
            && let Some(transaction) = refunds.pop_front()
        {
            match session.line.ask(&mut session.terminal, workload::refund(transaction)).await {
                Ok(answered) => {
                    recorder.answered(&context, Code::REFUND, &answered);
                }
                Err(error) => {
                    recorder.failed(&error);
                    break;
                }
            }
        }
        if session.line.notices.len() >= STORE_ACK_NOTICES {
            if let Err(error) = acknowledge(&mut session, &mut recorder, &context).await {
                recorder.failed(&error);
                break;
            }
            processed = 0;
        }
    }
    (session, recorder)
}

/// What a one-shot step sends.
pub enum Task {
    /// Read the agreement and apply.
    Apply(Applicant),
    /// Register with the activation code.
    Register(Box<denbun_protocol::telegram::registration::Registration>),
    /// Sign on and keep the line.
    SignOn,
    /// Send this body on the held line.
    Send(Box<Body>),
}

/// A one-shot step: one operation per terminal (apply, register, sign on
/// and stay, fund), on a line of its own or the one it holds.
pub async fn one_shot(
    mut step: Step<Task>,
    line: Option<Line>,
    target: Arc<crate::terminal::CenterView>,
    context: Arc<Context>,
) -> ((Step<Task>, Option<Line>), Recorder) {
    let mut recorder = Recorder::default();
    if !context.take_ticket() {
        return ((step, line), recorder);
    }
    let started = Instant::now();
    let mut held = line;
    let result: Result<(Code, Answered), TerminalError> = async {
        let mut line = match held.take() {
            Some(line) => line,
            None => Line::connect(&target).await?,
        };
        let (code, mut answered) = match &step.task {
            Task::Apply(applicant) => {
                let topic = match applicant {
                    Applicant::Member => GuideTopic::MemberAgreement,
                    Applicant::Store(_) => GuideTopic::StoreAgreement,
                };
                let guide = line.ask(&mut step.terminal, GuideRequest { topic }).await?;
                let version = match guide.answer.body() {
                    Body::GuideText(text) => text.version,
                    _ => return Ok((Code::GUIDE_REQUEST, guide)),
                };
                let application = Application {
                    applicant: applicant.clone(),
                    personal: workload::personal_data(),
                    agreement_version: version,
                };
                (Code::APPLICATION, line.ask(&mut step.terminal, application).await?)
            }
            Task::Register(registration) => {
                (Code::REGISTRATION, line.ask(&mut step.terminal, (**registration).clone()).await?)
            }
            Task::SignOn => (Code::SIGN_ON, line.sign_on(&mut step.terminal).await?),
            Task::Send(body) => ((**body).code(), line.ask(&mut step.terminal, (**body).clone()).await?),
        };
        answered.latency = started.elapsed();
        held = Some(line);
        Ok((code, answered))
    }
    .await;
    match result {
        Ok((code, answered)) => {
            let accepted = recorder.answered(&context, code, &answered);
            step.outcome = Some(if accepted {
                Ok(answered.answer.into_body())
            } else {
                Err(format!("{:?}", answered.answer.body()))
            });
        }
        Err(error) => {
            recorder.failed(&error);
            step.outcome = Some(Err(error.to_string()));
        }
    }
    ((step, held), recorder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(samples: &[(Code, u64)]) -> Recorder {
        Recorder { samples: samples.iter().map(|&(code, micros)| (code, micros, 0)).collect(), ..Recorder::default() }
    }

    #[test]
    fn the_rate_by_tenth_counts_each_operation_once_in_the_tenth_it_finished() {
        let samples = [
            (Code::ECHO, 1, 0),
            (Code::ECHO, 1, 999),
            (Code::ECHO, 1, 1_000),
            (Code::SIGN_ON, 1, 1_500),
            (Code::ECHO, 1, 9_999),
            // Finished at the window's end exactly: the last tenth.
            (Code::ECHO, 1, 10_000),
        ];
        let phase = Recorder { samples: samples.to_vec(), ..Recorder::default() };
        let rates = phase.rates_by_tenth(|code| code == Code::ECHO, Duration::from_secs(10));
        assert_eq!(rates, vec![2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]);
        let every_code = phase.rates_by_tenth(|_| true, Duration::from_secs(10));
        assert_eq!(every_code[1], 2.0);
        // Half-second tenths of a five-second window: rates double.
        let short = phase.rates_by_tenth(|code| code == Code::ECHO, Duration::from_secs(5));
        assert_eq!(short[..3], [2.0, 2.0, 2.0]);
        assert_eq!(short[9], 4.0);
    }

    #[test]
    fn the_histograms_hold_every_tasks_samples_by_code() {
        let mut phase = Recorder::default();
        phase.merge(recorder(&[(Code::ECHO, 100), (Code::SIGN_ON, 2_000)]));
        phase.merge(recorder(&[(Code::ECHO, 300), (Code::ECHO, 0), (Code::SIGN_ON, u64::MAX)]));
        let (all, by_code) = phase.histograms();
        assert_eq!(all.len(), 5);
        assert_eq!(by_code.len(), 2);
        let echo = &by_code[&Code::ECHO];
        assert_eq!((echo.len(), echo.min(), echo.max()), (3, 1, echo.highest_equivalent(300)));
        let sign_on = &by_code[&Code::SIGN_ON];
        assert_eq!(sign_on.len(), 2);
        assert_eq!(sign_on.max(), sign_on.highest_equivalent(report::LATENCY_US_MAX));
    }
}
