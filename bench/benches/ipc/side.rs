//! What each side of a comparison must do: the same operations, implemented once over the
//! runtime ([`crate::ours::OursSide`]) and once over raw sockets ([`crate::raw::RawSide`]), so
//! the cases in [`crate::cases`] are written once for both.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::child::Daemon;

/// Errors end the bench with a message; there is nothing to recover.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The operations every case is built from. Each connects its own clients to the side's
/// daemon child, so runs never share state.
pub trait Side {
    /// What keeps idle connections open while the daemon's memory is read.
    type Idle;

    /// The daemon child process of this side.
    fn daemon(&self) -> &Daemon;

    /// `calls` sequential `get_student` calls on one connection: the latency of each.
    async fn sequential(&self, calls: usize) -> BenchResult<Vec<Duration>>;

    /// `conns` connections, each keeping `window` `get_student` calls in flight until `calls`
    /// have completed on it: the wall time.
    async fn pipelined(&self, conns: usize, window: usize, calls: usize) -> BenchResult<Duration>;

    /// `apps` subscribed connections; the daemon fires `events` `student_added` events.
    async fn fan_out(&self, apps: usize, events: usize) -> BenchResult<FanOut>;

    /// `round_trips` sequential 1 MiB echoes on one connection: the wall time.
    async fn bulk(&self, round_trips: usize) -> BenchResult<Duration>;

    /// `count` times: connect (and handshake), one `get_student` call, close: the wall time.
    async fn connect(&self, count: usize) -> BenchResult<Duration>;

    /// Opens `count` connections, makes one call on each, and keeps them open.
    async fn hold_idle(&self, count: usize) -> BenchResult<Self::Idle>;
}

/// What one fan-out round achieved.
#[derive(Debug, Clone, Copy)]
pub struct FanOut {
    /// From the fire request until every event was delivered (or reported dropped).
    pub elapsed: Duration,
    /// Subscribers the daemon says it sent to.
    pub reached: usize,
    /// Events that arrived, over all subscribers.
    pub delivered: u64,
    /// Events the daemon reported as dropped (lagged) instead.
    pub dropped: u64,
}

/// Collects what each subscriber of a fan-out round counted, and wakes the waiter when all
/// are done. Subscribers count locally and report once, so the tally costs nothing per event.
#[derive(Debug)]
pub struct Tally {
    /// Events each subscriber waits for.
    pub per_app: u64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    apps_done: AtomicUsize,
    changed: Notify,
}

/// How long a fan-out round may take before the bench gives up on missing events.
const FAN_OUT_TIMEOUT: Duration = Duration::from_secs(60);

impl Tally {
    pub fn new(per_app: usize) -> Tally {
        Tally {
            per_app: per_app as u64,
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            apps_done: AtomicUsize::new(0),
            changed: Notify::new(),
        }
    }

    /// One subscriber has accounted for all its events: `delivered` arrived, `dropped` were
    /// reported lost by the daemon.
    pub fn app_done(&self, delivered: u64, dropped: u64) {
        self.delivered.fetch_add(delivered, Ordering::Relaxed);
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
        self.apps_done.fetch_add(1, Ordering::Release);
        self.changed.notify_one();
    }

    /// Waits until `apps` subscribers are done.
    pub async fn wait_for(&self, apps: usize) -> BenchResult<()> {
        let all_done = async {
            // `notify_one` stores a permit, so a report between the check and the wait still wakes us.
            while self.apps_done.load(Ordering::Acquire) < apps {
                self.changed.notified().await;
            }
        };
        tokio::time::timeout(FAN_OUT_TIMEOUT, all_done).await.map_err(|_| {
            format!(
                "fan-out incomplete after {FAN_OUT_TIMEOUT:?}: {} of {apps} subscribers got all {} events",
                self.apps_done.load(Ordering::Acquire),
                self.per_app
            )
        })?;
        Ok(())
    }

    /// The round's result, once `wait_for` returned.
    pub fn fan_out(&self, elapsed: Duration, reached: usize) -> FanOut {
        FanOut {
            elapsed,
            reached,
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// A client that can call `get_student`, for the cases written once over several clients.
pub trait StudentClient: Clone + Send + Sync + 'static {
    /// One `get_student(STUDENT_ID)` call; the reply is decoded and dropped.
    fn get_student(&self) -> impl Future<Output = BenchResult<()>> + Send;
}

/// Keeps `window` calls in flight on `client` from this one task until `calls` replies arrived.
pub async fn keep_in_flight<C: StudentClient>(
    client: &C,
    window: usize,
    calls: usize,
) -> BenchResult<()> {
    let mut in_flight = FuturesUnordered::new();
    let mut sent = 0;
    while sent < window.min(calls) {
        in_flight.push(client.get_student());
        sent += 1;
    }
    while let Some(reply) = in_flight.next().await {
        reply?;
        if sent < calls {
            in_flight.push(client.get_student());
            sent += 1;
        }
    }
    Ok(())
}

/// `callers` tasks sharing `client`'s connection, each making `calls` sequential calls: the
/// wall time.
pub async fn concurrent_callers<C: StudentClient>(
    client: C,
    callers: usize,
    calls: usize,
) -> BenchResult<Duration> {
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..callers {
        let client = client.clone();
        tasks.spawn(async move {
            for _ in 0..calls {
                client.get_student().await?;
            }
            BenchResult::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(start.elapsed())
}
