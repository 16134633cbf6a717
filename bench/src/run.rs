//! One run: the bound, then the center, then the phases in order.
//!
//! 1. the bound of every operation, on `threads` threads;
//! 2. the center (started here, seeded, or the running one);
//! 3. `application` and `registration` of N members and S stores through
//!    the protocol (activation codes read from the mail queue by the operator);
//! 4. `sign-on`: connect, handshake, sign on, hang up, over and over;
//! 5. every terminal opens a session and signs on; `funding`: each member
//!    tops up through the credit company, each store publishes its catalog;
//! 6. `echo`, `payments` (members pay stores; stores take the notices and
//!    acknowledge them), `mixed` (payments, top-ups, catalog pages, refunds);
//! 7. idle sessions, when asked: many more members sign on and stay idle
//!    while the echo phase runs again;
//! 8. the center stops and the audit checks everything it journaled.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use denbun_protocol::header::{Code, PartyId};
use denbun_protocol::reject::RejectReason;
use denbun_protocol::telegram::inquiry::{LetterQuery, MailQueueAnswer, MailQueueRequest};
use denbun_protocol::telegram::registration::{ActivationCode, Applicant, Registration};
use denbun_protocol::telegram::{Body, CardAnswer};
use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use tokio::sync::Semaphore;

use crate::bound::{self, Bound, Operation};
use crate::phases::{self, PhaseSpec, Role, Session, Step, Task};
use crate::report::{BoundUse, IdleReport, PhaseReport, RunReport, code_label};
use crate::target::{CenterLimits, Seeds, Target, TargetError};
use crate::terminal::{Line, Terminal, TerminalError};
use crate::workload;

/// The longest a one-shot phase (every terminal once) may take.
const ONE_SHOT_PHASE_MAX: Duration = Duration::from_secs(600);
/// Letter pages the operator reads at most (20 letters each).
const LETTER_PAGES_MAX: usize = 100_000;
/// Sign-ons the sign-on phase may make: each leaves a socket in TIME_WAIT
/// on the terminal's side for a minute, and loopback has about 28,000
/// ephemeral ports.
const SIGN_ON_PHASE_OPERATIONS_MAX: u64 = 20_000;
/// Idle sessions opened at once (the center computes 64 handshakes at a time
/// and drops a newcomer that waits longer than its handshake deadline).
const IDLE_OPENING_CONCURRENT: usize = 128;
/// How long idle sessions are held before the center's memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(2);

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The center could not be started, reached or stopped.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A terminal's exchange failed where the run cannot go on without it.
    #[error("{0}")]
    Terminal(#[from] TerminalError),
    /// A step the rest depends on did not succeed.
    #[error("{0}")]
    Setup(String),
}

/// Where the center is.
#[derive(Clone, Debug)]
pub enum CenterChoice {
    /// Started here as a child process (the default).
    Child,
    /// Started inside this process.
    InProcess,
    /// Already running.
    Running {
        /// Its `center.pub`.
        card: PathBuf,
        /// Where it listens (loopback).
        address: SocketAddr,
        /// An operator's key file.
        operator_key: PathBuf,
        /// Its process, for CPU and memory.
        pid: Option<u32>,
    },
}

/// Phases a run may include.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum PhaseName {
    /// Connect, handshake, sign on, hang up.
    SignOn,
    /// Echo on signed-on sessions.
    Echo,
    /// Payments to stores.
    Payments,
    /// Payments, top-ups, catalog pages, refunds.
    Mixed,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Members sending requests.
    pub terminals: usize,
    /// Stores (0: one per 16 members, at least 1, at most 64).
    pub stores: usize,
    /// Phases to run (registration and funding always run).
    pub phases: Vec<PhaseName>,
    /// Warm-up of each timed phase.
    pub warmup: Duration,
    /// Measured time of each timed phase.
    pub measure: Duration,
    /// Operations a timed phase may start.
    pub operations_max: u64,
    /// Threads for the bound.
    pub threads: usize,
    /// Time to measure each operation's bound.
    pub bound_time: Duration,
    /// Draw progress bars.
    pub progress: bool,
    /// Audit the center's data afterwards (local centers).
    pub audit: bool,
    /// Idle signed-on sessions to hold at the end (0: none).
    pub idle_sessions: usize,
    /// Filler members in the register before the run (local centers).
    pub filler_members: u64,
    /// Journal entries written before the center starts (local centers).
    pub journal_entries: u64,
    /// What each member's first card is worth.
    pub funding_yen: u64,
    /// The bench center's caps.
    pub limits: CenterLimits,
    /// Open loop: operations per second the members offer together in each
    /// timed phase (`None`: closed loop, each sends as soon as it has its answer).
    pub rate: Option<f64>,
    /// Where the center is.
    pub center: CenterChoice,
    /// Keep the data directory here instead of a temporary one.
    pub keep_directory: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            terminals: 16,
            stores: 0,
            phases: vec![PhaseName::SignOn, PhaseName::Echo, PhaseName::Payments, PhaseName::Mixed],
            warmup: Duration::from_secs(2),
            measure: Duration::from_secs(10),
            operations_max: 10_000_000,
            threads: std::thread::available_parallelism().map_or(2, |threads| threads.get()),
            bound_time: Duration::from_millis(700),
            progress: true,
            audit: true,
            idle_sessions: 0,
            filler_members: 0,
            journal_entries: 0,
            funding_yen: 500_000,
            limits: CenterLimits::default(),
            rate: None,
            center: CenterChoice::Child,
            keep_directory: None,
        }
    }
}

impl RunOptions {
    fn store_count(&self) -> usize {
        if self.stores > 0 { self.stores } else { (self.terminals / 16).clamp(1, 64) }
    }

    fn timed(&self, name: &str) -> PhaseSpec {
        PhaseSpec {
            name: name.to_owned(),
            warmup: self.warmup,
            measure: self.measure,
            operations_max: self.operations_max,
            operation_codes: Vec::new(),
            progress: self.progress,
            interval: self
                .rate
                .filter(|rate| *rate > 0.0)
                .map(|rate| Duration::from_secs_f64(self.terminals.max(1) as f64 / rate)),
        }
    }

    fn one_shot(&self, name: &str, operations: usize) -> PhaseSpec {
        PhaseSpec {
            name: name.to_owned(),
            warmup: Duration::ZERO,
            measure: ONE_SHOT_PHASE_MAX,
            operations_max: operations as u64,
            operation_codes: Vec::new(),
            progress: self.progress,
            interval: None,
        }
    }
}

/// Runs everything `options` asks for and reports it.
pub async fn run(options: &RunOptions) -> Result<RunReport, RunError> {
    let store_count = options.store_count();
    let mut report = RunReport {
        terminals: options.terminals,
        stores: store_count,
        filler_members: options.filler_members,
        threads: options.threads,
        seeded_journal_entries: options.journal_entries,
        ..RunReport::default()
    };
    let bounds = measure_bounds(options).await;
    report.bounds_before = labelled(&bounds);

    let idle_keys: Vec<SigningKey> = (0..options.idle_sessions).map(|_| SigningKey::generate(&mut OsRng)).collect();
    let mut target = match &options.center {
        CenterChoice::Running { card, address, operator_key, pid } => {
            report.center = "running".to_owned();
            Target::running(card, *address, operator_key, *pid)?
        }
        choice => {
            let in_process = matches!(choice, CenterChoice::InProcess);
            report.center = if in_process { "in process" } else { "child process" }.to_owned();
            let seeds = Seeds {
                filler_members: options.filler_members,
                signing_members: idle_keys.iter().map(SigningKey::verifying_key).collect(),
                journal_entries: options.journal_entries,
            };
            let limits = CenterLimits {
                connections_max: options
                    .limits
                    .connections_max
                    .max((options.idle_sessions + 2 * options.terminals + 64) as u32),
                ..options.limits.clone()
            };
            tokio::task::block_in_place(|| {
                Target::start_local(&limits, &seeds, in_process, options.keep_directory.as_deref())
            })?
        }
    };
    report.center_start_seconds = target.local.as_ref().map(|local| local.start_time.as_secs_f64());

    let result = run_phases(options, &mut target, &bounds, idle_keys, &mut report).await;
    // Measured again after the load, on the same threads; each ratio is taken
    // against the higher of the two.
    let after = measure_bounds(options).await;
    let higher = higher_bounds(&bounds, &after);
    report.bounds_after = labelled(&after);
    report.bounds = labelled(&higher);
    for phase in report.phases.iter_mut().chain(report.idle.iter_mut().filter_map(|idle| idle.echo_while_held.as_mut()))
    {
        let mix = std::mem::take(&mut phase.bound_mix);
        *phase = with_bound(std::mem::take(phase), mix, &higher);
    }
    report.disk_bytes = target.disk_bytes();
    let audit = tokio::task::block_in_place(|| target.stop(options.audit))?;
    if let Some(audit) = audit {
        report.audit_passed = Some(audit.passed());
        report.audit = Some(audit.to_string());
    }
    result.map(|()| report)
}

async fn measure_bounds(options: &RunOptions) -> Vec<(Operation, Bound)> {
    let threads = options.threads;
    let time = options.bound_time;
    let progress = options.progress.then(|| {
        let bar = indicatif::ProgressBar::new(Operation::ALL.len() as u64);
        bar.set_prefix("bound");
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix:>13} [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar
    });
    let mut bounds = Vec::new();
    for operation in Operation::ALL {
        if let Some(bar) = &progress {
            bar.set_message(code_label(operation.code()));
        }
        let bound = tokio::task::block_in_place(|| bound::measure(operation, threads, time));
        bounds.push((operation, bound));
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    bounds
}

fn mix_of(counts: &BTreeMap<Code, u64>) -> Vec<(Operation, u64)> {
    counts.iter().filter_map(|(code, count)| Operation::of_code(*code).map(|operation| (operation, *count))).collect()
}

/// Sets the phase's bound from its mix of operations.
fn with_bound(mut phase: PhaseReport, mix: Vec<(Operation, u64)>, bounds: &[(Operation, Bound)]) -> PhaseReport {
    phase.bound = bound::of_mix(&mix, bounds).map(|bound| BoundUse::of(bound, phase.operations_per_second));
    phase.bound_mix = mix;
    phase
}

/// The higher of two measurements of each operation's bound: a neighbour
/// that was busy while one of them ran must not flatter the ratios.
fn higher_bounds(before: &[(Operation, Bound)], after: &[(Operation, Bound)]) -> Vec<(Operation, Bound)> {
    before
        .iter()
        .map(|(operation, first)| {
            let second = after.iter().find(|(other, _)| other == operation).map(|(_, bound)| *bound);
            let higher = match second {
                Some(second) if second.operations_per_second > first.operations_per_second => second,
                _ => *first,
            };
            (*operation, higher)
        })
        .collect()
}

fn labelled(bounds: &[(Operation, Bound)]) -> BTreeMap<String, Bound> {
    bounds.iter().map(|(operation, bound)| (code_label(operation.code()), *bound)).collect()
}

async fn run_phases(
    options: &RunOptions,
    target: &mut Target,
    bounds: &[(Operation, Bound)],
    idle_keys: Vec<SigningKey>,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let view = target.view.clone();
    let store_count = report.stores;
    // Application and registration through the protocol.
    let applicants: Vec<Applicant> = (0..options.terminals)
        .map(|_| Applicant::Member)
        .chain((0..store_count).map(workload::store_applicant))
        .collect();
    let steps: Vec<(Step<Task>, Option<Line>)> = applicants
        .iter()
        .map(|applicant| {
            (Step { terminal: Terminal::generate(), task: Task::Apply(applicant.clone()), outcome: None }, None)
        })
        .collect();
    let (steps, phase, _) = one_shot_phase(options, target, "application", steps).await;
    report.phases.push(phase);
    let mut terminals = Vec::with_capacity(steps.len());
    for ((mut step, _), applicant) in steps.into_iter().zip(&applicants) {
        match step.outcome.take() {
            Some(Ok(Body::ApplicationAccepted(accepted))) => {
                step.terminal.party = accepted.assigned;
                terminals.push((step.terminal, applicant.clone()));
            }
            other => return Err(RunError::Setup(format!("an application was not accepted: {other:?}"))),
        }
    }

    let codes = activation_codes(target).await?;
    let steps: Vec<(Step<Task>, Option<Line>)> = terminals
        .into_iter()
        .map(|(terminal, applicant)| {
            let registration = Registration {
                activation_code: codes.get(&terminal.party).cloned().unwrap_or_else(|| {
                    ActivationCode::new("missing").expect("a well-formed placeholder the center will refuse")
                }),
                personal: workload::personal_data(),
                store: workload::store_registration(&applicant),
                verification_key: terminal.verification_key(),
                delivery_key: x25519_dalek::PublicKey::from(terminal.delivery_public_key()),
            };
            (Step { terminal, task: Task::Register(Box::new(registration)), outcome: None }, None)
        })
        .collect();
    let (steps, phase, _) = one_shot_phase(options, target, "registration", steps).await;
    report.phases.push(phase);
    let mut terminals = Vec::with_capacity(steps.len());
    for (step, _line) in steps {
        match &step.outcome {
            Some(Ok(Body::RegistrationCertificate(_))) => terminals.push(step.terminal),
            other => return Err(RunError::Setup(format!("a registration was not accepted: {other:?}"))),
        }
    }
    let stores_terminals = terminals.split_off(options.terminals);
    let members_terminals = terminals;

    // Handshake and sign-on, over and over.
    let members_terminals = if options.phases.contains(&PhaseName::SignOn) {
        let mut spec = options.timed("sign-on");
        spec.operations_max = spec.operations_max.min(SIGN_ON_PHASE_OPERATIONS_MAX);
        let (terminals, phase, _) =
            phases::run_phase(target, &spec, members_terminals.len(), members_terminals, |terminal, context| {
                phases::sign_on_loop(terminal, view.clone(), context)
            })
            .await;
        report.phases.push(with_bound(phase, vec![(Operation::SignOn, 1)], bounds));
        terminals
    } else {
        members_terminals
    };

    // Sessions for the rest of the run.
    let members = open_sessions(options, target, members_terminals, "sessions").await?;
    let stores = open_sessions(options, target, stores_terminals, "sessions").await?;

    // Funding: a card for each member, a catalog for each store.
    let steps: Vec<(Step<Task>, Option<Line>)> = members
        .into_iter()
        .map(|session| (workload::top_up(options.funding_yen).into(), session))
        .chain(stores.into_iter().map(|session| (workload::catalog_publish().into(), session)))
        .map(|(body, session): (Body, Session)| {
            (Step { terminal: session.terminal, task: Task::Send(Box::new(body)), outcome: None }, Some(session.line))
        })
        .collect();
    let (steps, phase, counts) = one_shot_phase(options, target, "funding", steps).await;
    let funding_refusals: Vec<String> = phase.rejects.keys().cloned().collect();
    report.phases.push(with_bound(phase, mix_of(&counts), bounds));
    let mut sessions = Vec::with_capacity(steps.len());
    let mut money_offered = true;
    for (step, line) in steps {
        let line = line.ok_or_else(|| RunError::Setup("a funding step lost its line".to_owned()))?;
        match &step.outcome {
            Some(Ok(Body::CardAnswer(CardAnswer::Issued(_)))) | Some(Ok(Body::CatalogPublishAnswer(_))) => {}
            Some(Ok(other)) => return Err(RunError::Setup(format!("funding answered {other:?}"))),
            Some(Err(_)) | None => money_offered = false,
        }
        sessions.push(Session { terminal: step.terminal, line });
    }
    let stores = sessions.split_off(options.terminals);
    let members = sessions;

    let members = if options.phases.contains(&PhaseName::Echo) {
        let (members, phase, _) =
            phases::run_phase(target, &options.timed("echo"), members.len(), members, phases::echo_loop).await;
        report.phases.push(with_bound(phase, vec![(Operation::Echo, 1)], bounds));
        members
    } else {
        members
    };

    let (members, stores) = if !money_offered {
        report.skipped.push(format!(
            "payments and mixed: they need every member funded and every catalog published, and the center refused ({})",
            funding_refusals.join("; ")
        ));
        (members, stores)
    } else {
        let mut members = members;
        let mut stores = stores;
        for (name, mixed) in [("payments", false), ("mixed", true)] {
            let wanted = if mixed { PhaseName::Mixed } else { PhaseName::Payments };
            if !options.phases.contains(&wanted) {
                continue;
            }
            let store_ids: Vec<PartyId> = stores.iter().map(|session: &Session| session.terminal.party).collect();
            let roles: Vec<Role> = members
                .into_iter()
                .enumerate()
                .map(|(index, session)| Role::Member { session, store: store_ids[index % store_ids.len()] })
                .chain(stores.into_iter().map(Role::Store))
                .collect();
            let mut spec = options.timed(name);
            if !mixed {
                spec.operation_codes = vec![Code::PAYMENT_INSTRUCTION];
            }
            let (roles, phase, counts) =
                phases::run_phase(target, &spec, options.terminals, roles, move |role, context| {
                    phases::payments_loop(role, mixed, context)
                })
                .await;
            let mix = if mixed { mix_of(&counts) } else { vec![(Operation::Payment, 1)] };
            report.phases.push(with_bound(phase, mix, bounds));
            let mut sessions: Vec<Session> = roles.into_iter().map(Role::into_session).collect();
            stores = sessions.split_off(options.terminals);
            members = sessions;
        }
        (members, stores)
    };

    if !idle_keys.is_empty() {
        report.idle = Some(hold_idle_sessions(options, target, idle_keys, members, bounds).await?);
    } else {
        drop(members);
    }
    drop(stores);
    Ok(())
}

/// Runs one step per terminal, at most [`IDLE_OPENING_CONCURRENT`] at once.
async fn one_shot_phase(
    options: &RunOptions,
    target: &Target,
    name: &str,
    steps: Vec<(Step<Task>, Option<Line>)>,
) -> (Vec<(Step<Task>, Option<Line>)>, PhaseReport, BTreeMap<Code, u64>) {
    let view = target.view.clone();
    let gate = Arc::new(Semaphore::new(IDLE_OPENING_CONCURRENT));
    let spec = options.one_shot(name, steps.len());
    phases::run_phase(target, &spec, steps.len(), steps, |(step, line), context| {
        let view = view.clone();
        let gate = gate.clone();
        async move {
            let _permit = gate.acquire_owned().await.expect("the gate stays open");
            phases::one_shot(step, line, view, context).await
        }
    })
    .await
}

/// Connects and signs on every terminal, keeping the lines.
async fn open_sessions(
    options: &RunOptions,
    target: &Target,
    terminals: Vec<Terminal>,
    name: &str,
) -> Result<Vec<Session>, RunError> {
    let steps: Vec<(Step<Task>, Option<Line>)> =
        terminals.into_iter().map(|terminal| (Step { terminal, task: Task::SignOn, outcome: None }, None)).collect();
    let (steps, _, _) = one_shot_phase(options, target, name, steps).await;
    let mut sessions = Vec::with_capacity(steps.len());
    for (step, line) in steps {
        match (&step.outcome, line) {
            (Some(Ok(Body::SignOnAnswer(_))), Some(line)) => sessions.push(Session { terminal: step.terminal, line }),
            (outcome, _) => {
                return Err(RunError::Setup(format!("{} could not sign on: {outcome:?}", step.terminal.party)));
            }
        }
    }
    Ok(sessions)
}

/// Opens `idle_keys.len()` signed-on sessions of the seeded members and
/// holds them while the echo phase runs again on `members`.
async fn hold_idle_sessions(
    options: &RunOptions,
    target: &Target,
    idle_keys: Vec<SigningKey>,
    members: Vec<Session>,
    bounds: &[(Operation, Bound)],
) -> Result<IdleReport, RunError> {
    let resident_before_bytes = target.center_resident_bytes().unwrap_or(0);
    let first = target.first_signing_member;
    let mut terminals = Vec::with_capacity(idle_keys.len());
    for (index, key) in idle_keys.into_iter().enumerate() {
        let party = PartyId::member(first + index as u64).map_err(|error| RunError::Setup(error.to_string()))?;
        terminals.push(Terminal::with_key(party, key, 1));
    }
    let wanted = terminals.len() as u64;
    let steps: Vec<(Step<Task>, Option<Line>)> =
        terminals.into_iter().map(|terminal| (Step { terminal, task: Task::SignOn, outcome: None }, None)).collect();
    let (steps, _, _) = one_shot_phase(options, target, "idle sign-on", steps).await;
    let held: Vec<Line> = steps
        .into_iter()
        .filter(|(step, _)| matches!(step.outcome, Some(Ok(Body::SignOnAnswer(_)))))
        .filter_map(|(_, line)| line)
        .collect();
    let sessions = held.len() as u64;
    tokio::time::sleep(IDLE_SETTLE).await;
    let resident_held_bytes = target.center_resident_bytes().unwrap_or(0);
    let (members, phase, _) =
        phases::run_phase(target, &options.timed("echo (idle held)"), members.len(), members, phases::echo_loop).await;
    drop(members);
    drop(held);
    Ok(IdleReport {
        sessions,
        refused: wanted - sessions,
        resident_before_bytes,
        resident_held_bytes,
        per_session_bytes: resident_held_bytes.saturating_sub(resident_before_bytes) as f64 / sessions.max(1) as f64,
        echo_while_held: Some(with_bound(phase, vec![(Operation::Echo, 1)], bounds)),
    })
}

/// Reads every letter of the mail queue as the operator: the activation
/// code of each applicant.
async fn activation_codes(target: &mut Target) -> Result<HashMap<PartyId, ActivationCode>, RunError> {
    let view = target.view.clone();
    let operator = &mut target.operator;
    let mut line = Line::connect(&view).await?;
    next_operator_number(operator)?;
    let answered = line.sign_on(&mut operator.terminal).await?;
    if let Some(reason) = answered.reject_reason() {
        return Err(RunError::Setup(format!("the operator could not sign on: {}", reason.message())));
    }
    let mut codes = HashMap::new();
    let mut after_letter = 0;
    for _ in 0..LETTER_PAGES_MAX {
        next_operator_number(operator)?;
        let query = MailQueueRequest::List(LetterQuery { include_printed: true, after_letter });
        let answered = line.ask(&mut operator.terminal, query).await?;
        let Body::MailQueueAnswer(MailQueueAnswer::Letters(page)) = answered.answer.body() else {
            let reason = answered.reject_reason().map_or("an unexpected answer", RejectReason::message);
            return Err(RunError::Setup(format!("the mail queue could not be read: {reason}")));
        };
        for letter in page.letters.iter() {
            codes.insert(letter.recipient, letter.activation_code.clone());
            after_letter = after_letter.max(letter.letter_number);
        }
        if !page.more {
            break;
        }
    }
    Ok(codes)
}

/// A running center's operator takes its numbers from its key file.
fn next_operator_number(operator: &mut crate::target::OperatorAccess) -> Result<(), RunError> {
    if let Some(vault) = operator.vault.as_mut() {
        let number = vault.allocate_processing_number().map_err(|error| RunError::Setup(error.to_string()))?;
        operator.terminal.set_next_processing_number(number);
    }
    Ok(())
}
