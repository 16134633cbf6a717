//! The center's live figures for the operator console (`9800` live
//! figures): open connections, telegrams per second by class over the last
//! minute, answer latency over the recent answers, refusals over the last
//! hour.
//!
//! They are kept in memory only, in fixed rings (every structure here is
//! bounded), and start from zero when the center restarts: the journal and
//! the day totals are the record; these are the dials. Every function takes
//! the time from its caller, so the rings are tested with a made-up clock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use denbun_protocol::limits::LIVE_SECONDS_MAX;
use denbun_protocol::telegram::{ClassRates, LatencyFigures, TelegramClass};
use denbun_protocol::wire::List;

/// Classes counted (every [`TelegramClass`]).
const CLASSES: usize = TelegramClass::ALL.len();
/// Answer latencies kept for the percentiles: the most recent ones.
pub const LATENCY_SAMPLES_MAX: usize = 4_096;
/// Minutes of refusal counts (one hour).
const MINUTES: usize = 60;
const SECOND_MS: u64 = 1_000;
const MINUTE_MS: u64 = 60_000;

// The ring of seconds is exactly what one answer carries.
const _: () = assert!(LIVE_SECONDS_MAX == 60);
const _: () = assert!(CLASSES <= denbun_protocol::limits::TELEGRAM_CLASSES_MAX);

/// Counts per bucket of a ring indexed by time: a bucket remembers which
/// period it holds, so a stale bucket reads as zero without a sweeper.
#[derive(Clone, Copy)]
struct Bucket<const N: usize> {
    period: u64,
    counts: [u32; N],
}

impl<const N: usize> Default for Bucket<N> {
    fn default() -> Self {
        // Period 0 is 1970: never a period asked about.
        Bucket { period: 0, counts: [0; N] }
    }
}

struct Rings {
    seconds: [Bucket<CLASSES>; LIVE_SECONDS_MAX],
    minutes: [Bucket<1>; MINUTES],
    /// (when, microseconds), oldest overwritten first.
    latencies: Vec<(u64, u32)>,
    latency_next: usize,
}

/// The live figures of one running center.
pub struct Live {
    started_at_ms: u64,
    connections: AtomicU32,
    rings: Mutex<Rings>,
}

/// Holds one connection in the count; dropping it counts it out.
pub struct ConnectionCount<'l>(&'l Live);

impl Drop for ConnectionCount<'_> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The class of a telegram code, by its family.
pub fn class_of(code: u16) -> Option<TelegramClass> {
    Some(match code / 100 {
        10..=12 => TelegramClass::Registration,
        20..=21 => TelegramClass::Card,
        30..=32 => TelegramClass::Catalog,
        40..=41 => TelegramClass::Payment,
        50..=53 => TelegramClass::Delivery,
        60..=72 => TelegramClass::Settlement,
        80..=84 => TelegramClass::Network,
        90..=98 => TelegramClass::Operator,
        99 => TelegramClass::Refused,
        _ => return None,
    })
}

fn class_index(class: TelegramClass) -> usize {
    TelegramClass::ALL.iter().position(|known| *known == class).expect("ALL holds every class")
}

impl Live {
    /// Figures of a center started at `started_at_ms`.
    pub fn new(started_at_ms: u64) -> Live {
        Live {
            started_at_ms,
            connections: AtomicU32::new(0),
            rings: Mutex::new(Rings {
                seconds: [Bucket::default(); LIVE_SECONDS_MAX],
                minutes: [Bucket::default(); MINUTES],
                latencies: Vec::with_capacity(LATENCY_SAMPLES_MAX),
                latency_next: 0,
            }),
        }
    }

    /// Counts a connection in until the returned guard is dropped.
    pub fn connection_opened(&self) -> ConnectionCount<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionCount(self)
    }

    /// Open connections.
    pub fn connections(&self) -> u32 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Counts one telegram received (by its code) and whether the center
    /// refused it, at `now_ms`.
    pub fn telegram(&self, code: u16, refused: bool, now_ms: u64) {
        let mut rings = self.rings.lock().expect("live figures lock");
        let second = now_ms / SECOND_MS;
        let bucket = &mut rings.seconds[(second % LIVE_SECONDS_MAX as u64) as usize];
        if bucket.period != second {
            *bucket = Bucket { period: second, counts: [0; CLASSES] };
        }
        let class = if refused { Some(TelegramClass::Refused) } else { class_of(code) };
        if let Some(class) = class {
            let count = &mut bucket.counts[class_index(class)];
            *count = count.saturating_add(1);
        }
        if refused {
            let minute = now_ms / MINUTE_MS;
            let bucket = &mut rings.minutes[(minute % MINUTES as u64) as usize];
            if bucket.period != minute {
                *bucket = Bucket { period: minute, counts: [0] };
            }
            bucket.counts[0] = bucket.counts[0].saturating_add(1);
        }
    }

    /// Records how long one answer took.
    pub fn answered(&self, latency_us: u32, now_ms: u64) {
        let mut rings = self.rings.lock().expect("live figures lock");
        if rings.latencies.len() < LATENCY_SAMPLES_MAX {
            rings.latencies.push((now_ms, latency_us));
        } else {
            let next = rings.latency_next;
            rings.latencies[next] = (now_ms, latency_us);
        }
        rings.latency_next = (rings.latency_next + 1) % LATENCY_SAMPLES_MAX;
    }

    /// When this center started.
    pub fn started_at_ms(&self) -> u64 {
        self.started_at_ms
    }

    /// Per-second counts of every class over the minute before `now_ms`,
    /// oldest first.
    pub fn rates(&self, now_ms: u64) -> Vec<ClassRates> {
        let rings = self.rings.lock().expect("live figures lock");
        let now_second = now_ms / SECOND_MS;
        TelegramClass::ALL
            .iter()
            .enumerate()
            .map(|(index, class)| {
                let per_second = (1..=LIVE_SECONDS_MAX as u64)
                    .rev()
                    .map(|ago| {
                        let Some(second) = now_second.checked_sub(ago) else { return 0 };
                        let bucket = &rings.seconds[(second % LIVE_SECONDS_MAX as u64) as usize];
                        if bucket.period == second {
                            u16::try_from(bucket.counts[index]).unwrap_or(u16::MAX)
                        } else {
                            0
                        }
                    })
                    .collect();
                ClassRates { class: *class, per_second: List::new(per_second).expect("LIVE_SECONDS_MAX counts") }
            })
            .collect()
    }

    /// Refusals over the hour before `now_ms` (this minute included).
    pub fn refused_last_hour(&self, now_ms: u64) -> u64 {
        let rings = self.rings.lock().expect("live figures lock");
        let minute = now_ms / MINUTE_MS;
        rings
            .minutes
            .iter()
            .filter(|bucket| bucket.period + (MINUTES as u64) > minute && bucket.period <= minute)
            .map(|bucket| u64::from(bucket.counts[0]))
            .sum()
    }

    /// Latency percentiles over the answers of the last minute before `now_ms`.
    pub fn latency(&self, now_ms: u64) -> LatencyFigures {
        let rings = self.rings.lock().expect("live figures lock");
        let since = now_ms.saturating_sub(MINUTE_MS);
        let mut recent: Vec<u32> =
            rings.latencies.iter().filter(|(at, _)| *at >= since && *at <= now_ms).map(|(_, us)| *us).collect();
        drop(rings);
        recent.sort_unstable();
        let percentile = |per_mille: usize| -> u32 {
            if recent.is_empty() {
                return 0;
            }
            // Nearest rank: the smallest value with at least that share at or below it.
            let rank = (recent.len() * per_mille).div_ceil(1_000).max(1);
            recent[rank - 1]
        };
        LatencyFigures {
            samples: u32::try_from(recent.len()).unwrap_or(u32::MAX),
            p50_us: percentile(500),
            p90_us: percentile(900),
            p99_us: percentile(990),
            max_us: recent.last().copied().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_750_000_000_000;

    fn rate(live: &Live, class: TelegramClass, now_ms: u64) -> Vec<u16> {
        live.rates(now_ms).into_iter().find(|rates| rates.class == class).unwrap().per_second.into_vec()
    }

    #[test]
    fn telegrams_count_in_their_second_and_class() {
        let live = Live::new(T0);
        live.telegram(4000, false, T0 + 100);
        live.telegram(4000, false, T0 + 900);
        live.telegram(8000, false, T0 + 1_100);
        live.telegram(4000, true, T0 + 1_200);
        let payments = rate(&live, TelegramClass::Payment, T0 + 2_000);
        assert_eq!(payments.len(), LIVE_SECONDS_MAX);
        assert_eq!(&payments[58..], &[2, 0], "two payments in the second before last, the refused one not");
        assert_eq!(&rate(&live, TelegramClass::Network, T0 + 2_000)[58..], &[0, 1]);
        assert_eq!(&rate(&live, TelegramClass::Refused, T0 + 2_000)[58..], &[0, 1]);
        assert_eq!(live.refused_last_hour(T0 + 2_000), 1);
    }

    #[test]
    fn old_seconds_and_minutes_read_as_zero() {
        let live = Live::new(T0);
        live.telegram(2000, true, T0);
        let later = T0 + 61 * SECOND_MS;
        assert!(rate(&live, TelegramClass::Refused, later).iter().all(|count| *count == 0));
        assert_eq!(live.refused_last_hour(later), 1, "still within the hour");
        assert_eq!(live.refused_last_hour(T0 + 61 * MINUTE_MS), 0, "an hour later it is gone");
        // A new telegram in the same ring slot a minute later replaces the old count.
        live.telegram(2000, false, later);
        assert_eq!(rate(&live, TelegramClass::Card, later + SECOND_MS)[59], 1);
    }

    #[test]
    fn latency_percentiles_use_the_last_minute() {
        let live = Live::new(T0);
        live.answered(999_999, T0);
        for us in 1..=100 {
            live.answered(us * 10, T0 + MINUTE_MS + 10);
        }
        let figures = live.latency(T0 + MINUTE_MS + 20);
        assert_eq!(figures.samples, 100, "the old sample is out of the window");
        assert_eq!((figures.p50_us, figures.p90_us, figures.p99_us, figures.max_us), (500, 900, 990, 1_000));
        assert_eq!(live.latency(T0 + 10 * MINUTE_MS).samples, 0);
    }

    #[test]
    fn the_latency_ring_is_bounded() {
        let live = Live::new(T0);
        for index in 0..(LATENCY_SAMPLES_MAX as u32 + 10) {
            live.answered(index, T0);
        }
        let figures = live.latency(T0);
        assert_eq!(figures.samples as usize, LATENCY_SAMPLES_MAX);
        assert_eq!(figures.max_us, LATENCY_SAMPLES_MAX as u32 + 9);
    }

    #[test]
    fn connections_count_in_and_out() {
        let live = Live::new(T0);
        let first = live.connection_opened();
        let second = live.connection_opened();
        assert_eq!(live.connections(), 2);
        drop(first);
        assert_eq!(live.connections(), 1);
        drop(second);
        assert_eq!(live.connections(), 0);
    }

    #[test]
    fn every_family_has_a_class() {
        assert_eq!(class_of(1100), Some(TelegramClass::Registration));
        assert_eq!(class_of(7200), Some(TelegramClass::Settlement));
        assert_eq!(class_of(9800), Some(TelegramClass::Operator));
        assert_eq!(class_of(9910), Some(TelegramClass::Refused));
        assert_eq!(class_of(0), None);
    }
}
