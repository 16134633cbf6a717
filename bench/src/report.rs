//! What a run reports: per phase, the rate, the latency distribution, the
//! CPU time of both sides, memory and bytes; printed as a table and written
//! as JSON with the same fields.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use denbun_protocol::header::Code;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::bound::Bound;

/// Latencies are kept in microseconds, from 1 µs to a minute, to three
/// significant digits.
pub const LATENCY_US_MAX: u64 = 60_000_000;
const LATENCY_SIGNIFICANT_DIGITS: u8 = 3;

/// A new latency histogram.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, LATENCY_SIGNIFICANT_DIGITS).expect("valid histogram bounds")
}

/// `latency` in whole microseconds, clamped into the histograms' range.
pub fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).clamp(1, LATENCY_US_MAX)
}

/// Records `micros` (clamped into the histogram's range).
pub fn record_micros(histogram: &mut Histogram<u64>, micros: u64) {
    histogram.record(micros.clamp(1, LATENCY_US_MAX)).expect("clamped into range");
}

/// A latency distribution, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Operations measured.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Latency {
    /// The summary of `histogram`.
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        let ms = |micros: u64| micros as f64 / 1_000.0;
        if histogram.is_empty() {
            return Latency::default();
        }
        Latency {
            count: histogram.len(),
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// CPU time of one side over a phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CpuUse {
    /// CPU seconds (user + system).
    pub seconds: f64,
    /// Cores kept busy on average (seconds of CPU per second of the phase).
    pub cores: f64,
    /// CPU microseconds per operation.
    pub per_operation_us: f64,
}

impl CpuUse {
    /// `cpu_ms` spent over `elapsed` for `operations`.
    pub fn of(cpu_ms: u64, elapsed: Duration, operations: u64) -> CpuUse {
        let seconds = cpu_ms as f64 / 1_000.0;
        CpuUse {
            seconds,
            cores: seconds / elapsed.as_secs_f64().max(1e-9),
            per_operation_us: if operations == 0 { 0.0 } else { seconds * 1e6 / operations as f64 },
        }
    }
}

/// The bound and how close the phase came to it.
#[derive(Clone, Debug, Serialize)]
pub struct BoundUse {
    /// Operations per second the cryptography alone allows.
    pub operations_per_second: f64,
    /// Threads it was measured with.
    pub threads: usize,
    /// The phase's rate over the bound.
    pub ratio: f64,
}

impl BoundUse {
    /// How `rate` compares with `bound`.
    pub fn of(bound: Bound, rate: f64) -> BoundUse {
        BoundUse {
            operations_per_second: bound.operations_per_second,
            threads: bound.threads,
            ratio: rate / bound.operations_per_second,
        }
    }
}

/// Phases measured at least this long print their rate by tenth of the window.
pub const TENTHS_PRINTED_SECONDS_MIN: f64 = 20.0;

/// One phase's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseReport {
    /// `application`, `registration`, `sign-on`, `echo`, `payments`, `mixed`, …
    pub phase: String,
    /// Terminals sending requests.
    pub terminals: usize,
    /// Seconds measured (warm-up excluded).
    pub seconds: f64,
    /// Operations answered in the measured window (a payment, an echo, a
    /// sign-on with its handshake, …), rejects included.
    pub operations: u64,
    /// Operations per second.
    pub operations_per_second: f64,
    /// The window cut into ten equal parts: operations per second in each,
    /// in order. Whether the rate held from the window's start to its end.
    pub operations_per_second_by_tenth: Vec<f64>,
    /// The rate offered in the open loop (`None`: closed loop).
    pub offered_operations_per_second: Option<f64>,
    /// Telegrams on the wire in the window, both directions, notices included.
    pub telegrams: u64,
    /// Telegrams per second.
    pub telegrams_per_second: f64,
    /// Bytes on the wire per telegram (frame prefix, Noise tag and, in the
    /// sign-on phase, the handshake messages included).
    pub wire_bytes_per_telegram: f64,
    /// Growth of the center's data directory per operation (local centers).
    pub disk_bytes_per_operation: Option<f64>,
    /// Latency from signing the request to the verified answer.
    pub latency: Latency,
    /// Latency and count by request code, e.g. `4000 payment instruction`.
    pub by_code: BTreeMap<String, Latency>,
    /// Refusals by reason.
    pub rejects: BTreeMap<String, u64>,
    /// Exchanges that failed on the line (closed, timed out, forged).
    pub failures: u64,
    /// The first failure, in words.
    pub first_failure: Option<String>,
    /// The center's CPU (its process, or its threads when in process).
    pub center_cpu: Option<CpuUse>,
    /// The center's committer thread alone.
    pub committer_cpu: Option<CpuUse>,
    /// The center's runtime threads alone: connection tasks and their
    /// blocking reads (threads that ended during the phase are not counted).
    pub connections_cpu: Option<CpuUse>,
    /// The generator's CPU (the terminals' work).
    pub generator_cpu: CpuUse,
    /// The center's resident memory at the end of the phase.
    pub center_resident_bytes: Option<u64>,
    /// The cryptographic bound of this phase's operations.
    pub bound: Option<BoundUse>,
    /// The operations the bound is made of (kind, count).
    #[serde(skip)]
    pub bound_mix: Vec<(crate::bound::Operation, u64)>,
}

/// Names a request code for reports: `4000 payment instruction`.
pub fn code_label(code: Code) -> String {
    format!("{} {}", code, code.name())
}

/// Held idle sessions and what they cost the center.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IdleReport {
    /// Sessions signed on and held.
    pub sessions: u64,
    /// Sessions that could not be opened or signed on.
    pub refused: u64,
    /// The center's resident memory before they connected.
    pub resident_before_bytes: u64,
    /// The center's resident memory while they are held.
    pub resident_held_bytes: u64,
    /// The difference per session.
    pub per_session_bytes: f64,
    /// The echo phase run while they were held.
    pub echo_while_held: Option<PhaseReport>,
}

/// A whole run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunReport {
    /// Terminals (members) sending.
    pub terminals: usize,
    /// Stores receiving payments.
    pub stores: usize,
    /// Filler members in the register before the run.
    pub filler_members: u64,
    /// Threads the bound used (the machine's parallelism).
    pub threads: usize,
    /// Where the center ran: `child process`, `in process` or `running`.
    pub center: String,
    /// Seconds from starting the center to its listening socket.
    pub center_start_seconds: Option<f64>,
    /// Journal entries the center had at start (seeded).
    pub seeded_journal_entries: u64,
    /// The bound of each operation, by request code: the higher of the
    /// measurements before and after the load, which the ratios use.
    pub bounds: BTreeMap<String, Bound>,
    /// The bound measured before the load.
    pub bounds_before: BTreeMap<String, Bound>,
    /// The bound measured again after the load.
    pub bounds_after: BTreeMap<String, Bound>,
    /// The phases in order.
    pub phases: Vec<PhaseReport>,
    /// Idle sessions, when asked for.
    pub idle: Option<IdleReport>,
    /// Why phases were skipped (e.g. the center does not offer payments yet).
    pub skipped: Vec<String>,
    /// The center's database at the end, in bytes.
    pub disk_bytes: Option<u64>,
    /// Whether the audit passed over the center's data after the run.
    pub audit_passed: Option<bool>,
    /// The audit's summary.
    pub audit: Option<String>,
}

impl PhaseReport {
    /// One line of the printed table.
    pub fn table_line(&self) -> String {
        let optional =
            |value: Option<f64>, scale: f64| value.map_or("-".to_owned(), |value| format!("{:.0}", value * scale));
        let rejects: u64 = self.rejects.values().sum();
        format!(
            "{:<13} {:>6} {:>9.0} {:>9.0} {:>7.2} {:>7.2} {:>7.2} {:>7} {:>7} {:>7} {:>6} {:>7} {:>6} {:>5}",
            self.phase,
            self.terminals,
            self.operations_per_second,
            self.telegrams_per_second,
            self.latency.p50_ms,
            self.latency.p99_ms,
            self.latency.p999_ms,
            optional(self.center_cpu.as_ref().map(|cpu| cpu.per_operation_us), 1.0),
            format!("{:.0}", self.generator_cpu.per_operation_us),
            optional(self.center_resident_bytes.map(|bytes| bytes as f64), 1.0 / 1_048_576.0),
            format!("{:.0}", self.wire_bytes_per_telegram),
            optional(self.disk_bytes_per_operation, 1.0),
            self.bound.as_ref().map_or("-".to_owned(), |bound| format!("{:.2}", bound.ratio)),
            rejects + self.failures,
        )
    }

    /// The rate in each tenth of the window, in words, with the last
    /// tenth's rate against the first's (and against the bound, if any).
    pub fn tenths_line(&self) -> String {
        let rates: Vec<String> = self.operations_per_second_by_tenth.iter().map(|rate| format!("{rate:.0}")).collect();
        let mut line = format!(
            "{}: ops/s by tenth of the window ({:.1} s each): {}",
            self.phase,
            self.seconds / self.operations_per_second_by_tenth.len().max(1) as f64,
            rates.join(" ")
        );
        if let (Some(first), Some(last)) =
            (self.operations_per_second_by_tenth.first(), self.operations_per_second_by_tenth.last())
            && *first > 0.0
        {
            let _ = write!(line, "; the last tenth {:.2} of the first", last / first);
            if let Some(bound) = &self.bound {
                let _ = write!(
                    line,
                    " (ratio to the bound {:.2} then {:.2})",
                    first / bound.operations_per_second,
                    last / bound.operations_per_second
                );
            }
        }
        line
    }

    /// The table's header line.
    pub fn table_header() -> String {
        format!(
            "{:<13} {:>6} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7} {:>6} {:>5}",
            "phase",
            "terms",
            "ops/s",
            "tgm/s",
            "p50 ms",
            "p99 ms",
            "p99.9",
            "ctr µs",
            "gen µs",
            "ctr MiB",
            "B/tgm",
            "disk B",
            "bound",
            "errs"
        )
    }
}

impl std::fmt::Display for RunReport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            formatter,
            "{} terminals, {} stores, {} filler members; center {}; bound on {} threads",
            self.terminals, self.stores, self.filler_members, self.center, self.threads
        )?;
        if let Some(seconds) = self.center_start_seconds {
            writeln!(
                formatter,
                "center started in {:.3} s ({} journal entries seeded)",
                seconds, self.seeded_journal_entries
            )?;
        }
        for (code, bound) in &self.bounds {
            let measured = |bounds: &BTreeMap<String, Bound>| {
                bounds.get(code).map_or("-".to_owned(), |bound| format!("{:.0}", bound.operations_per_second))
            };
            writeln!(
                formatter,
                "bound {code:<32} {:>9.0} /s  (before {}, after {})",
                bound.operations_per_second,
                measured(&self.bounds_before),
                measured(&self.bounds_after)
            )?;
        }
        writeln!(formatter, "{}", PhaseReport::table_header())?;
        for phase in &self.phases {
            writeln!(formatter, "{}", phase.table_line())?;
        }
        for phase in &self.phases {
            for (reason, count) in &phase.rejects {
                writeln!(formatter, "  {}: {count} refused: {reason}", phase.phase)?;
            }
            if let Some(failure) = &phase.first_failure {
                writeln!(formatter, "  {}: {} failed, first: {failure}", phase.phase, phase.failures)?;
            }
        }
        // Short windows' tenths are mostly noise; a long one shows whether the rate held.
        for phase in &self.phases {
            if phase.seconds >= TENTHS_PRINTED_SECONDS_MIN && phase.operations > 0 {
                writeln!(formatter, "  {}", phase.tenths_line())?;
            }
        }
        if let Some(idle) = &self.idle {
            writeln!(
                formatter,
                "idle: {} sessions held ({} refused); center {:.1} MiB -> {:.1} MiB, {:.1} KiB per session",
                idle.sessions,
                idle.refused,
                idle.resident_before_bytes as f64 / 1_048_576.0,
                idle.resident_held_bytes as f64 / 1_048_576.0,
                idle.per_session_bytes / 1_024.0
            )?;
            if let Some(echo) = &idle.echo_while_held {
                writeln!(formatter, "{}  (while idle sessions are held)", echo.table_line())?;
            }
        }
        for skipped in &self.skipped {
            writeln!(formatter, "skipped: {skipped}")?;
        }
        if let Some(bytes) = self.disk_bytes {
            writeln!(formatter, "database: {:.1} MiB", bytes as f64 / 1_048_576.0)?;
        }
        if let Some(audit) = &self.audit {
            writeln!(formatter, "{audit}")?;
        }
        Ok(())
    }
}
