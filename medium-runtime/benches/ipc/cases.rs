//! The eight cases of the issue. Each runs on both sides in the same process run, with
//! repetitions interleaved (baseline, ours, baseline, ours …) so that machine noise hits both
//! alike, and reports the median over repetitions.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::ours::OursSide;
use crate::raw::RawSide;
use crate::report::{Better, CaseResult, Goal};
use crate::side::{BenchResult, Side};
use crate::stats::{median, per_second, percentile_us};
use crate::wire::{BULK_LEN, Bodies, STUDENT_ID, Student, StudentAdded, student};

/// Case names, in the order the issue fixes for the output.
pub const CASES: [&str; 8] = [
    "call_latency_us",
    "pipelined_1conn",
    "pipelined_8conn",
    "event_fanout_32",
    "bulk_1mib",
    "connect",
    "idle_rss_kib",
    "per_conn_kib",
];

/// How much work each case does.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub reps: usize,
    /// Repetitions of the fan-out case, the longest by far.
    pub fanout_reps: usize,
    pub latency_calls: usize,
    /// Calls per connection in the pipelined cases.
    pub pipelined_calls: usize,
    pub fanout_events: usize,
    pub bulk_round_trips: usize,
    pub connects: usize,
    pub idle_conns: usize,
}

/// Calls in flight per connection in the pipelined cases.
const WINDOW: usize = 64;
/// Connections of the second pipelined case.
const CONNS: usize = 8;
/// Subscribers in the fan-out case.
const FANOUT_APPS: usize = 32;
/// Time for a daemon's memory to settle before reading it.
const SETTLE: Duration = Duration::from_millis(300);

impl Scale {
    /// What `cargo bench` runs: each case takes about a second or two per side.
    pub fn full() -> Scale {
        Scale {
            reps: 5,
            fanout_reps: 3,
            latency_calls: 5_000,
            pipelined_calls: 20_000,
            fanout_events: 100_000,
            bulk_round_trips: 200,
            connects: 1_000,
            idle_conns: 1_000,
        }
    }

    /// A smoke run (`cargo test --benches`): every code path once, figures meaningless.
    pub fn quick() -> Scale {
        Scale {
            reps: 1,
            fanout_reps: 1,
            latency_calls: 100,
            pipelined_calls: 200,
            fanout_events: 200,
            bulk_round_trips: 3,
            connects: 10,
            idle_conns: 10,
        }
    }
}

/// Both sides of the comparison.
#[derive(Debug)]
pub struct Bench {
    pub raw: RawSide,
    pub ours: OursSide,
    pub scale: Scale,
}

/// Runs `baseline` then `ours`, `reps` times.
async fn interleave<T>(
    reps: usize,
    mut baseline: impl AsyncFnMut() -> BenchResult<T>,
    mut ours: impl AsyncFnMut() -> BenchResult<T>,
) -> BenchResult<(Vec<T>, Vec<T>)> {
    let (mut b, mut o) = (Vec::with_capacity(reps), Vec::with_capacity(reps));
    for _ in 0..reps {
        b.push(baseline().await?);
        o.push(ours().await?);
    }
    Ok((b, o))
}

impl Bench {
    /// Runs the case called `name`; the memory cases come as a pair (see [`Bench::memory`]).
    pub async fn run(&self, name: &'static str) -> BenchResult<CaseResult> {
        let s = self.scale;
        match name {
            "call_latency_us" => self.call_latency().await,
            "pipelined_1conn" => self.pipelined(name, 1).await,
            "pipelined_8conn" => self.pipelined(name, CONNS).await,
            "event_fanout_32" => self.fan_out().await,
            "bulk_1mib" => {
                let (b, o) = interleave(
                    s.reps,
                    async || self.raw.bulk(s.bulk_round_trips).await,
                    async || self.ours.bulk(s.bulk_round_trips).await,
                )
                .await?;
                // One round trip moves 1 MiB each way; counted once.
                let rate = |d: &Duration| {
                    per_second(s.bulk_round_trips, *d) * BULK_LEN as f64 / (1 << 20) as f64
                };
                Ok(throughput(
                    name,
                    "MiB/s",
                    &b,
                    &o,
                    rate,
                    Goal::RatioAtLeast(0.8),
                ))
            }
            "connect" => {
                let (b, o) = interleave(
                    s.reps,
                    async || self.raw.connect(s.connects).await,
                    async || self.ours.connect(s.connects).await,
                )
                .await?;
                let rate = |d: &Duration| per_second(s.connects, *d);
                Ok(throughput(name, "connects/s", &b, &o, rate, Goal::None))
            }
            _ => Err(format!("no case `{name}`").into()),
        }
    }

    async fn call_latency(&self) -> BenchResult<CaseResult> {
        let n = self.scale.latency_calls;
        // Warm both paths (allocator, page faults, branch predictors) before measuring.
        self.raw.sequential(n / 10).await?;
        self.ours.sequential(n / 10).await?;
        let (b, o) = interleave(
            self.scale.reps,
            async || self.raw.sequential(n).await,
            async || self.ours.sequential(n).await,
        )
        .await?;
        let med = |reps: &[Vec<Duration>]| {
            median(
                &reps
                    .iter()
                    .map(|r| percentile_us(r, 50.0))
                    .collect::<Vec<_>>(),
            )
        };
        let p99 = |reps: &[Vec<Duration>]| percentile_us(&reps.concat(), 99.0);
        let rate = |reps: &[Vec<Duration>]| {
            median(
                &reps
                    .iter()
                    .map(|r| per_second(r.len(), r.iter().sum()))
                    .collect::<Vec<_>>(),
            )
        };
        Ok(CaseResult {
            case: "call_latency_us",
            unit: "us",
            ours: med(&o),
            baseline: Some(med(&b)),
            better: Better::Lower,
            goal: Goal::RatioAtMost(1.3),
            notes: vec![
                format!("p99 {:.1} us, baseline {:.1} us", p99(&o), p99(&b)),
                format!("round trips/s {:.0}, baseline {:.0}", rate(&o), rate(&b)),
            ],
        })
    }

    async fn pipelined(&self, name: &'static str, conns: usize) -> BenchResult<CaseResult> {
        let calls = self.scale.pipelined_calls;
        let (b, o) = interleave(
            self.scale.reps,
            async || self.raw.pipelined(conns, WINDOW, calls).await,
            async || self.ours.pipelined(conns, WINDOW, calls).await,
        )
        .await?;
        let rate = |d: &Duration| per_second(conns * calls, *d);
        let mut result = throughput(name, "calls/s", &b, &o, rate, Goal::RatioAtLeast(0.6));
        result.notes.push(format!(
            "{WINDOW} in flight per connection; the serde work of one call alone costs {:.0} ns here, the byte-only baseline does none",
            call_serde_ns()
        ));
        Ok(result)
    }

    async fn fan_out(&self) -> BenchResult<CaseResult> {
        let events = self.scale.fanout_events;
        let (b, o) = interleave(
            self.scale.fanout_reps,
            async || self.raw.fan_out(FANOUT_APPS, events).await,
            async || self.ours.fan_out(FANOUT_APPS, events).await,
        )
        .await?;
        for round in b.iter().chain(&o) {
            if round.reached != FANOUT_APPS {
                return Err(
                    format!("fan-out reached {} of {FANOUT_APPS} apps", round.reached).into(),
                );
            }
        }
        let rate = |f: &crate::side::FanOut| f.delivered as f64 / f.elapsed.as_secs_f64();
        let mut result = throughput(
            "event_fanout_32",
            "events/s",
            &b,
            &o,
            rate,
            Goal::RatioAtLeast(0.7),
        );
        let dropped: u64 = o.iter().map(|f| f.dropped).sum();
        result.notes.push(format!(
            "{events} events x {FANOUT_APPS} apps per round; dropped (lagged): {dropped}"
        ));
        result.notes.push(format!(
            "decoding one event into (f64, Student) alone costs {:.0} ns here: work ours does per delivery, the byte-only baseline not",
            event_decode_ns()
        ));
        Ok(result)
    }

    /// Idle daemon RSS, then its growth per connection with `idle_conns` idle connections
    /// (each made one call). Must run while both daemons are fresh.
    pub async fn memory(&self) -> BenchResult<[CaseResult; 2]> {
        tokio::time::sleep(SETTLE).await;
        let idle = [self.raw.daemon().rss_kib()?, self.ours.daemon().rss_kib()?];
        let n = self.scale.idle_conns;
        let raw_loaded = loaded_rss(&self.raw, n).await?;
        let ours_loaded = loaded_rss(&self.ours, n).await?;
        let per_conn = |loaded: u64, idle: u64| loaded.saturating_sub(idle) as f64 / n as f64;
        Ok([
            CaseResult {
                case: "idle_rss_kib",
                unit: "KiB",
                ours: idle[1] as f64,
                baseline: Some(idle[0] as f64),
                better: Better::Lower,
                goal: Goal::Below(5.0 * 1024.0),
                notes: vec!["daemon child process VmRSS before any connection".to_owned()],
            },
            CaseResult {
                case: "per_conn_kib",
                unit: "KiB",
                ours: per_conn(ours_loaded, idle[1]),
                baseline: Some(per_conn(raw_loaded, idle[0])),
                better: Better::Lower,
                goal: Goal::Below(64.0),
                notes: vec![format!(
                    "VmRSS growth / {n} idle connections (one call each): ours {} -> {ours_loaded} KiB, baseline {} -> {raw_loaded} KiB",
                    idle[1], idle[0]
                )],
            },
        ])
    }
}

/// Nanoseconds one run of `work` takes in this process, averaged over many runs.
fn ns_per_run(mut work: impl FnMut()) -> f64 {
    const RUNS: u32 = 100_000;
    let start = Instant::now();
    for _ in 0..RUNS {
        work();
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(RUNS)
}

/// Decoding one `student_added` body into its Rust type.
fn event_decode_ns() -> f64 {
    let body = Bodies::new().event;
    ns_per_run(|| {
        let event: Result<StudentAdded, _> = rmp_serde::from_slice(black_box(&body));
        black_box(event.is_ok());
    })
}

/// The serde work of one `get_student` call, both ends: encode and decode the arguments,
/// build, encode and decode the `Student`.
fn call_serde_ns() -> f64 {
    ns_per_run(|| {
        let args = rmp_serde::to_vec_named(&(black_box(STUDENT_ID),)).unwrap_or_default();
        let (id,): (String,) = rmp_serde::from_slice(&args).unwrap_or_default();
        let reply = rmp_serde::to_vec_named(&student(&id)).unwrap_or_default();
        let decoded: Result<Student, _> = rmp_serde::from_slice(&reply);
        black_box(decoded.is_ok());
    })
}

/// The side's daemon RSS while `n` idle connections are open.
async fn loaded_rss<S: Side>(side: &S, n: usize) -> BenchResult<u64> {
    let held = side.hold_idle(n).await?;
    tokio::time::sleep(SETTLE).await;
    let rss = side.daemon().rss_kib()?;
    drop(held);
    Ok(rss)
}

/// A higher-is-better case from per-repetition measurements.
fn throughput<T>(
    case: &'static str,
    unit: &'static str,
    baseline: &[T],
    ours: &[T],
    rate: impl Fn(&T) -> f64,
    goal: Goal,
) -> CaseResult {
    let med = |reps: &[T]| median(&reps.iter().map(&rate).collect::<Vec<_>>());
    CaseResult {
        case,
        unit,
        ours: med(ours),
        baseline: Some(med(baseline)),
        better: Better::Higher,
        goal,
        notes: Vec::new(),
    }
}
