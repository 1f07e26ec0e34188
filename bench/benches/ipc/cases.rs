//! The cases. Each runs on every implementation that has it (ours, the hand-written RPC,
//! tarpc, the byte-only floor) in the same process run, with repetitions interleaved (floor,
//! ours, hand-written, tarpc, floor, ours …) so that machine noise hits all alike, and reports
//! the median over repetitions.

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::child::Daemon;
use crate::counters::{ATTACH_TIME, SyscallCounter, Syscalls, allocations};
use crate::handwritten::HandwrittenSide;
use crate::ours::{Big, OursSide};
use crate::raw::RawSide;
use crate::report::{Against, Better, CaseResult, Goal, human};
use crate::side::{BenchResult, FanOut, Side};
use crate::stats::{median, per_second, percentile_us};
use crate::student::{STUDENT_ID, Student, StudentAdded, student};
use crate::tarpc_rpc::TarpcSide;
use crate::wire::{BIG_LEN, BULK_LEN, Bodies, big_payload};

/// Case names, in output order.
pub const CASES: [&str; 16] = [
    "call_latency_us",
    "pipelined_1conn",
    "callers_64_1conn",
    "pipelined_8conn",
    "event_fanout_32",
    "bulk_1mib",
    "bulk_64mib_binary",
    "bulk_64mib_fd",
    "bulk_64mib_fd_resent",
    "allocs_per_call_seq",
    "allocs_per_call_64callers",
    "syscalls_per_1k_seq",
    "syscalls_per_1k_64callers",
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
    /// Calls per connection in the pipelined and concurrent-caller cases.
    pub pipelined_calls: usize,
    pub fanout_events: usize,
    pub bulk_round_trips: usize,
    /// Round trips of the 64 MiB cases.
    pub big_round_trips: usize,
    pub connects: usize,
    pub idle_conns: usize,
}

/// Calls in flight per connection in the pipelined cases, and callers in the concurrent one.
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
            big_round_trips: 10,
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
            pipelined_calls: 256,
            fanout_events: 200,
            bulk_round_trips: 3,
            big_round_trips: 1,
            connects: 10,
            idle_conns: 10,
        }
    }
}

/// Every implementation under comparison.
#[derive(Debug)]
pub struct Bench {
    pub raw: RawSide,
    pub ours: OursSide,
    pub handwritten: HandwrittenSide,
    pub tarpc: TarpcSide,
    pub scale: Scale,
}

/// Which implementation a measurement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Other(Against),
    /// An implementation measured beside the table's, for comparison: its figure, and ours
    /// against it, are notes (named so), not columns.
    Aside(&'static str),
}

/// One implementation's run of a case, boxed so that the sides' different futures can take
/// turns in one loop.
type Run<'a, T> = (
    Who,
    Box<dyn FnMut() -> LocalBoxFuture<'a, BenchResult<T>> + 'a>,
);

fn run<'a, T, F>(who: Who, mut work: impl FnMut() -> F + 'a) -> Run<'a, T>
where
    F: Future<Output = BenchResult<T>> + 'a,
{
    (who, Box::new(move || work().boxed_local()))
}

/// Runs every implementation once per repetition, in turn, `reps` times.
async fn interleave<T>(reps: usize, mut runs: Vec<Run<'_, T>>) -> BenchResult<Vec<(Who, Vec<T>)>> {
    let mut results: Vec<(Who, Vec<T>)> = runs
        .iter()
        .map(|(who, _)| (*who, Vec::with_capacity(reps)))
        .collect();
    for _ in 0..reps {
        for ((_, work), (_, out)) in runs.iter_mut().zip(&mut results) {
            out.push(work().await?);
        }
    }
    Ok(results)
}

/// A case's result with each implementation's figure: `summary` of its repetitions.
fn summarize<T>(
    case: &'static str,
    unit: &'static str,
    better: Better,
    measured: &[(Who, Vec<T>)],
    summary: impl Fn(&[T]) -> f64,
) -> CaseResult {
    let mut result = CaseResult::new(case, unit, better);
    for (who, reps) in measured {
        let figure = Some(summary(reps));
        match who {
            Who::Ours => result.ours = summary(reps),
            Who::Other(Against::Floor) => result.baseline = figure,
            Who::Other(Against::Handwritten) => result.handwritten = figure,
            Who::Other(Against::Tarpc) => result.tarpc = figure,
            Who::Aside(_) => {}
        }
    }
    for (who, reps) in measured {
        if let Who::Aside(name) = who {
            let figure = summary(reps);
            let against_handwritten = result
                .handwritten
                .map(|handwritten| format!("; it / hand-written: {:.2}", figure / handwritten))
                .unwrap_or_default();
            result.notes.push(format!(
                "{name}: {} {unit}; ours / it: {:.2}{against_handwritten}",
                human(figure),
                result.ours / figure
            ));
        }
    }
    result
}

/// The median over repetitions of `rate` of each.
fn median_rate<T>(rate: impl Fn(&T) -> f64) -> impl Fn(&[T]) -> f64 {
    move |reps| median(&reps.iter().map(&rate).collect::<Vec<_>>())
}

const FLOOR: Who = Who::Other(Against::Floor);
const HANDWRITTEN: Who = Who::Other(Against::Handwritten);
const TARPC: Who = Who::Other(Against::Tarpc);
/// The hand-written RPC's multiplexer (`callers_64_1conn`'s) keeping calls in flight from one
/// task as ours does: the hand-written pipeline is a loop with no future per call, no
/// pending-call map and no reader task, which a client that callers share cannot be.
const MULTIPLEXER: Who = Who::Aside("hand-written multiplexer, same calls in flight");
/// Ours making each `WINDOW` of the pipelined calls as one call of a method taking a list and
/// returning one (`get_students`), one after another: what a spec can offer a task that needs
/// many answers at once. Its rate counts the students, as the others count calls.
const BATCHED: Who =
    Who::Aside("ours, every 64 of these calls as one get_students call (list in, list out)");

/// What one workload cost per call: allocations in this process, syscalls here and in the
/// daemon child.
#[derive(Debug, Clone, Copy)]
struct Counts {
    allocations: u64,
    daemon_allocations: u64,
    /// Client and daemon syscalls; `None` when perf could not count them (said on stderr).
    syscalls: Option<(Syscalls, Syscalls)>,
    calls: usize,
}

/// Counts what `work` (making `calls` calls against `daemon`) costs. Counting syscalls
/// barely slows them: perf counts tracepoints in the kernel, without stopping the process.
async fn count(
    daemon: &Daemon,
    calls: usize,
    work: impl Future<Output = BenchResult<()>>,
) -> BenchResult<Counts> {
    let counters = match (
        SyscallCounter::attach(std::process::id()),
        SyscallCounter::attach(daemon.pid()),
    ) {
        (Ok(client), Ok(server)) => {
            tokio::time::sleep(ATTACH_TIME).await;
            Some((client, server))
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("note: syscalls not counted: {e}");
            None
        }
    };
    let (allocs, daemon_allocs) = (allocations(), daemon.allocations()?);
    work.await?;
    let allocations = allocations() - allocs;
    Ok(Counts {
        allocations,
        daemon_allocations: daemon.allocations()? - daemon_allocs,
        syscalls: counters.and_then(|(client, server)| match (client.stop(), server.stop()) {
            (Ok(client), Ok(server)) => Some((client, server)),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("note: syscalls not counted: {e}");
                None
            }
        }),
        calls,
    })
}

impl Counts {
    fn allocations_per_call(&self) -> f64 {
        (self.allocations + self.daemon_allocations) as f64 / self.calls as f64
    }

    fn syscalls_per_1k(&self) -> f64 {
        self.syscalls.map_or(f64::NAN, |(client, daemon)| {
            self.per_1k(client.reads_and_writes() + daemon.reads_and_writes())
        })
    }

    fn per_1k(&self, n: u64) -> f64 {
        n as f64 * 1000.0 / self.calls as f64
    }

    fn breakdown(&self, who: &str) -> String {
        let Some((client, daemon)) = self.syscalls else {
            return format!("{who}: not counted (perf unavailable)");
        };
        format!(
            "{who}: client reads {:.0} writes {:.0} all {:.0}, daemon reads {:.0} writes {:.0} all {:.0}",
            self.per_1k(client.reads),
            self.per_1k(client.writes),
            self.per_1k(client.all),
            self.per_1k(daemon.reads),
            self.per_1k(daemon.writes),
            self.per_1k(daemon.all),
        )
    }
}

impl Bench {
    /// Runs the case called `name`; the memory cases come as a pair (see [`Bench::memory`]), and
    /// so do the 64 MiB ones ([`Bench::big`]).
    pub async fn run(&self, name: &'static str) -> BenchResult<CaseResult> {
        let s = self.scale;
        match name {
            "call_latency_us" => self.call_latency().await,
            "pipelined_1conn" => self.pipelined_1conn().await,
            "callers_64_1conn" => self.callers().await,
            "pipelined_8conn" => self.pipelined_8conn().await,
            "event_fanout_32" => self.fan_out().await,
            "bulk_1mib" => {
                let n = s.bulk_round_trips;
                let measured = interleave(
                    s.reps,
                    vec![
                        run(FLOOR, || self.raw.bulk(n)),
                        run(Who::Ours, || self.ours.bulk(n)),
                        run(HANDWRITTEN, || self.handwritten.bulk(n)),
                        run(TARPC, || self.tarpc.bulk(n)),
                    ],
                )
                .await?;
                // One round trip moves 1 MiB each way; counted once.
                let rate = median_rate(|d: &Duration| {
                    per_second(n, *d) * BULK_LEN as f64 / (1 << 20) as f64
                });
                let mut result = summarize(name, "MiB/s", Better::Higher, &measured, rate);
                result.goals = vec![Goal::RatioAtLeast(Against::Floor, 0.85)];
                Ok(result)
            }
            "allocs_per_call_seq" | "syscalls_per_1k_seq" => {
                let n = s.latency_calls;
                let drop_latencies = |r: BenchResult<Vec<Duration>>| r.map(drop);
                let counts = [
                    (
                        FLOOR,
                        count(
                            self.raw.daemon(),
                            n,
                            self.raw.sequential(n).map(drop_latencies),
                        )
                        .await?,
                    ),
                    (
                        Who::Ours,
                        count(
                            self.ours.daemon(),
                            n,
                            self.ours.sequential(n).map(drop_latencies),
                        )
                        .await?,
                    ),
                    (
                        HANDWRITTEN,
                        count(
                            self.handwritten.daemon(),
                            n,
                            self.handwritten.sequential(n).map(drop_latencies),
                        )
                        .await?,
                    ),
                    (
                        TARPC,
                        count(
                            self.tarpc.daemon(),
                            n,
                            self.tarpc.sequential(n).map(drop_latencies),
                        )
                        .await?,
                    ),
                ];
                Ok(counters(name, &counts))
            }
            "allocs_per_call_64callers" | "syscalls_per_1k_64callers" => {
                let each = s.pipelined_calls / WINDOW;
                let n = each * WINDOW;
                let drop_time = |r: BenchResult<Duration>| r.map(drop);
                let counts = [
                    (
                        Who::Ours,
                        count(
                            self.ours.daemon(),
                            n,
                            self.ours.callers(WINDOW, each).map(drop_time),
                        )
                        .await?,
                    ),
                    (
                        HANDWRITTEN,
                        count(
                            self.handwritten.daemon(),
                            n,
                            self.handwritten.callers(WINDOW, each).map(drop_time),
                        )
                        .await?,
                    ),
                    (
                        TARPC,
                        count(
                            self.tarpc.daemon(),
                            n,
                            self.tarpc.callers(WINDOW, each).map(drop_time),
                        )
                        .await?,
                    ),
                ];
                Ok(counters(name, &counts))
            }
            "connect" => {
                let n = s.connects;
                let measured = interleave(
                    s.reps,
                    vec![
                        run(FLOOR, || self.raw.connect(n)),
                        run(Who::Ours, || self.ours.connect(n)),
                    ],
                )
                .await?;
                let rate = median_rate(|d: &Duration| per_second(n, *d));
                Ok(summarize(
                    name,
                    "connects/s",
                    Better::Higher,
                    &measured,
                    rate,
                ))
            }
            _ => Err(format!("no case `{name}`").into()),
        }
    }

    /// 64 MiB from the app to our daemon, which reads every byte, the three ways taking turns:
    /// through `binary` (`bulk_64mib_binary`), copied into a new sealed memfd in each call
    /// (`bulk_64mib_fd`), and one sealed memfd sent again in each call (`bulk_64mib_fd_resent`).
    pub async fn big(&self) -> BenchResult<[CaseResult; 3]> {
        let n = self.scale.big_round_trips;
        let payload = &medium_runtime::Binary::from(big_payload());
        let ways = [
            ("bulk_64mib_binary", Big::Binary),
            ("bulk_64mib_fd", Big::NewMemfd),
            ("bulk_64mib_fd_resent", Big::SameMemfd),
        ];
        let runs = ways
            .iter()
            .map(|&(_, how)| run(Who::Ours, move || self.ours.big(payload, n, how)))
            .collect();
        let measured = interleave(self.scale.reps, runs).await?;
        let rate =
            median_rate(|d: &Duration| per_second(n, *d) * BIG_LEN as f64 / (1 << 20) as f64);
        let binary = rate(&measured[0].1);
        let notes = [
            "64 MiB per call as a `binary` argument (frame limit raised to fit); the daemon reads every byte",
            "64 MiB per call copied into a new memfd, sealed and sent; the daemon checks the seals, maps it and reads every byte",
            "one sealed memfd made before the clock starts, sent in every call; the daemon maps it and reads every byte",
        ];
        let mut results = ways.map(|(name, _)| CaseResult::new(name, "MiB/s", Better::Higher));
        for ((result, (_, reps)), note) in results.iter_mut().zip(&measured).zip(notes) {
            result.ours = rate(reps);
            result.notes = vec![note.to_owned()];
            if result.case != "bulk_64mib_binary" {
                result
                    .notes
                    .push(format!("{:.2}x `binary`", result.ours / binary));
            }
        }
        Ok(results)
    }

    async fn call_latency(&self) -> BenchResult<CaseResult> {
        let n = self.scale.latency_calls;
        // Warm every path (allocator, page faults, branch predictors) before measuring.
        self.raw.sequential(n / 10).await?;
        self.ours.sequential(n / 10).await?;
        self.handwritten.sequential(n / 10).await?;
        self.tarpc.sequential(n / 10).await?;
        let measured = interleave(
            self.scale.reps,
            vec![
                run(FLOOR, || self.raw.sequential(n)),
                run(Who::Ours, || self.ours.sequential(n)),
                run(HANDWRITTEN, || self.handwritten.sequential(n)),
                run(TARPC, || self.tarpc.sequential(n)),
            ],
        )
        .await?;
        let p50 = |reps: &[Vec<Duration>]| {
            median(
                &reps
                    .iter()
                    .map(|r| percentile_us(r, 50.0))
                    .collect::<Vec<_>>(),
            )
        };
        let mut result = summarize("call_latency_us", "us", Better::Lower, &measured, p50);
        result.goals = vec![Goal::RatioAtMost(Against::Handwritten, 1.0)];
        for (who, reps) in &measured {
            result.notes.push(format!(
                "{}: p99 {:.1} us",
                name_of(*who),
                percentile_us(&reps.concat(), 99.0)
            ));
        }
        Ok(result)
    }

    async fn pipelined_1conn(&self) -> BenchResult<CaseResult> {
        let calls = self.scale.pipelined_calls;
        let measured = interleave(
            self.scale.reps,
            vec![
                run(FLOOR, || self.raw.pipelined(1, WINDOW, calls)),
                run(Who::Ours, || self.ours.pipelined(1, WINDOW, calls)),
                run(HANDWRITTEN, || self.handwritten.pipelined(1, WINDOW, calls)),
                run(TARPC, || self.tarpc.pipelined(WINDOW, calls)),
                run(MULTIPLEXER, || {
                    self.handwritten.pipelined_multiplexed(WINDOW, calls)
                }),
                run(BATCHED, || self.ours.batched(WINDOW, calls)),
            ],
        )
        .await?;
        let rate = median_rate(|d: &Duration| per_second(calls, *d));
        let mut result = summarize(
            "pipelined_1conn",
            "calls/s",
            Better::Higher,
            &measured,
            rate,
        );
        result.goals = vec![Goal::RatioAtLeast(Against::Handwritten, 0.8)];
        result.notes.push(format!(
            "{WINDOW} in flight from one task; the serde work of one call alone costs {:.0} ns here, the byte-only floor does none",
            call_serde_ns()
        ));
        Ok(result)
    }

    async fn callers(&self) -> BenchResult<CaseResult> {
        let each = self.scale.pipelined_calls / WINDOW;
        let measured = interleave(
            self.scale.reps,
            vec![
                run(Who::Ours, || self.ours.callers(WINDOW, each)),
                run(HANDWRITTEN, || self.handwritten.callers(WINDOW, each)),
                run(TARPC, || self.tarpc.callers(WINDOW, each)),
            ],
        )
        .await?;
        let rate = median_rate(|d: &Duration| per_second(each * WINDOW, *d));
        let mut result = summarize(
            "callers_64_1conn",
            "calls/s",
            Better::Higher,
            &measured,
            rate,
        );
        result.goals = vec![
            Goal::RatioAtLeast(Against::Handwritten, 0.9),
            Goal::RatioAtLeast(Against::Tarpc, 2.2),
        ];
        result.notes.push(format!(
            "{WINDOW} tasks, each making {each} sequential calls through one shared connection"
        ));
        Ok(result)
    }

    async fn pipelined_8conn(&self) -> BenchResult<CaseResult> {
        let calls = self.scale.pipelined_calls;
        let measured = interleave(
            self.scale.reps,
            vec![
                run(FLOOR, || self.raw.pipelined(CONNS, WINDOW, calls)),
                run(Who::Ours, || self.ours.pipelined(CONNS, WINDOW, calls)),
                run(HANDWRITTEN, || {
                    self.handwritten.pipelined(CONNS, WINDOW, calls)
                }),
            ],
        )
        .await?;
        let rate = median_rate(|d: &Duration| per_second(CONNS * calls, *d));
        Ok(summarize(
            "pipelined_8conn",
            "calls/s",
            Better::Higher,
            &measured,
            rate,
        ))
    }

    async fn fan_out(&self) -> BenchResult<CaseResult> {
        let events = self.scale.fanout_events;
        let measured = interleave(
            self.scale.fanout_reps,
            vec![
                run(FLOOR, || self.raw.fan_out(FANOUT_APPS, events)),
                run(Who::Ours, || self.ours.fan_out(FANOUT_APPS, events)),
                run(HANDWRITTEN, || {
                    self.handwritten.fan_out(FANOUT_APPS, events)
                }),
            ],
        )
        .await?;
        for round in measured.iter().flat_map(|(_, reps)| reps) {
            if round.reached != FANOUT_APPS {
                return Err(
                    format!("fan-out reached {} of {FANOUT_APPS} apps", round.reached).into(),
                );
            }
        }
        let rate = median_rate(|f: &FanOut| f.delivered as f64 / f.elapsed.as_secs_f64());
        let mut result = summarize(
            "event_fanout_32",
            "events/s",
            Better::Higher,
            &measured,
            rate,
        );
        result.goals = vec![Goal::RatioAtLeast(Against::Handwritten, 2.0)];
        let dropped: u64 = measured
            .iter()
            .filter(|(who, _)| *who == Who::Ours)
            .flat_map(|(_, reps)| reps)
            .map(|f| f.dropped)
            .sum();
        result.notes.push(format!(
            "{events} events x {FANOUT_APPS} apps per round; ours dropped (lagged): {dropped}"
        ));
        let decode = event_decode_ns();
        result.notes.push(format!(
            "decoding one event into (f64, Student) alone costs {:.0} ns here with rmp-serde (the hand-written RPC's work per delivery; the byte-only floor does none), {:.0} ns with ours' strict decoder (`decode_args`, without the frame and descriptor lending)",
            decode.rmp_serde, decode.ours
        ));
        Ok(result)
    }

    /// Idle daemon RSS, then its growth per connection with `idle_conns` idle connections
    /// (each made one call). Must run while both daemons are fresh.
    pub async fn memory(&self) -> BenchResult<[CaseResult; 2]> {
        tokio::time::sleep(SETTLE).await;
        let idle = [self.raw.daemon().rss_kib()?, self.ours.daemon().rss_kib()?];
        let split = [
            self.raw.daemon().rss_split_kib()?,
            self.ours.daemon().rss_split_kib()?,
        ];
        let n = self.scale.idle_conns;
        let raw_loaded = loaded_rss(&self.raw, n).await?;
        let ours_loaded = loaded_rss(&self.ours, n).await?;
        let per_conn = |loaded: u64, idle: u64| loaded.saturating_sub(idle) as f64 / n as f64;
        let mut idle_rss = CaseResult::new("idle_rss_kib", "KiB", Better::Lower);
        idle_rss.ours = idle[1] as f64;
        idle_rss.baseline = Some(idle[0] as f64);
        idle_rss.goals = vec![Goal::Below(5.0 * 1024.0)];
        idle_rss.notes = vec![
            "daemon child process VmRSS before any connection".to_owned(),
            format!(
                "allocated (RssAnon) + mapped file pages (RssFile, mostly this bench binary's code): ours {} + {} KiB, floor {} + {} KiB",
                split[1].0, split[1].1, split[0].0, split[0].1
            ),
        ];
        let mut per_conn_kib = CaseResult::new("per_conn_kib", "KiB", Better::Lower);
        per_conn_kib.ours = per_conn(ours_loaded, idle[1]);
        per_conn_kib.baseline = Some(per_conn(raw_loaded, idle[0]));
        per_conn_kib.goals = vec![Goal::Below(64.0)];
        per_conn_kib.notes = vec![format!(
            "VmRSS growth / {n} idle connections (one call each): ours {} -> {ours_loaded} KiB, floor {} -> {raw_loaded} KiB",
            idle[1], idle[0]
        )];
        Ok([idle_rss, per_conn_kib])
    }
}

fn name_of(who: Who) -> &'static str {
    match who {
        Who::Ours => "ours",
        Who::Other(Against::Floor) => "floor",
        Who::Other(Against::Handwritten) => "handwritten",
        Who::Other(Against::Tarpc) => "tarpc",
        Who::Aside(name) => name,
    }
}

/// The allocation or syscall case `name` from each implementation's counts.
fn counters(name: &'static str, counts: &[(Who, Counts)]) -> CaseResult {
    let allocs = name.starts_with("allocs");
    let (unit, figure): (&'static str, fn(&Counts) -> f64) = if allocs {
        ("allocs/call", Counts::allocations_per_call)
    } else {
        ("syscalls/1k calls", Counts::syscalls_per_1k)
    };
    let measured: Vec<(Who, Vec<Counts>)> =
        counts.iter().map(|(who, c)| (*who, vec![*c])).collect();
    let mut result = summarize(name, unit, Better::Lower, &measured, |c| figure(&c[0]));
    if allocs {
        result.notes.push(
            "heap allocations and reallocations per call, client (bench process) and daemon child together"
                .to_owned(),
        );
        for (who, c) in counts {
            result.notes.push(format!(
                "{}: client {:.2}, daemon {:.2}",
                name_of(*who),
                c.allocations as f64 / c.calls as f64,
                c.daemon_allocations as f64 / c.calls as f64
            ));
        }
    } else {
        result.notes.push("read (read, recvfrom …) and write (write, writev, sendto …) syscalls of the bench process and the daemon child together, per 1000 calls; `all` adds epoll, futex …".to_owned());
        for (who, c) in counts {
            result.notes.push(c.breakdown(name_of(*who)));
        }
    }
    result
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

/// Nanoseconds to decode one `student_added` body into its Rust type, by each decoder.
struct EventDecodeNs {
    rmp_serde: f64,
    /// Ours' strict decoder (PROTOCOL.md §3's encodings only), as a daemon decodes arguments.
    ours: f64,
}

/// Decoding one `student_added` body into its Rust type, with rmp-serde and with ours.
fn event_decode_ns() -> EventDecodeNs {
    let body = Bodies::new().event;
    EventDecodeNs {
        rmp_serde: ns_per_run(|| {
            let event: Result<StudentAdded, _> = rmp_serde::from_slice(black_box(&body));
            black_box(event.is_ok());
        }),
        ours: ns_per_run(|| {
            let event: Result<StudentAdded, _> = medium_runtime::decode_args(black_box(&body));
            black_box(event.is_ok());
        }),
    }
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
