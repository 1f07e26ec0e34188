//! Our side: a `medium_runtime::Daemon` with a hand-written `Dispatch` (no generated code)
//! serving `get_student(id: string): Student`, `get_students(ids: list<string>):
//! list<Student>`, `echo_bytes(data: binary): binary`,
//! `fire(count: uint32): uint32`, which emits `student_added(time: double, info: Student)`
//! `count` times, and `sum_bytes(data: binary): uint64` and `sum_fd(blob: fd): uint64`, which
//! read a big payload sent as bytes or as a sealed memfd; and the client half using
//! `medium_runtime::Client`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::StreamExt;
use medium_runtime::{
    Binary, Call, CallError, CallRunner, Client, ClientOptions, Daemon as RuntimeDaemon,
    DaemonHandle, DaemonOptions, Dispatch, EventError, Fd, NoException, ProtocolInfo, Reply,
    Started,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use crate::child::{Daemon, Role};
use crate::memfd::{Sealed, sealed_memfd};
use crate::side::{
    BenchResult, FanOut, Side, StudentClient, Tally, concurrent_callers, keep_in_flight,
};
use crate::student::{STUDENT_ID, Student, StudentAdded, student, student_added};
use crate::wire::{BIG_LEN, BULK_LEN, checksum};

/// The bench's protocol. The fingerprint only has to match between the two ends. It has an
/// `fd` (`sum_fd`), so descriptors are accepted.
static INFO: ProtocolInfo = ProtocolInfo {
    namespace: "bench.medium.ipc",
    class: "IpcBench",
    fingerprint: "0000000000000000000000000000000000000000000000000000000000000000",
    socket_base: None,
    spec: "",
    events: &["student_added"],
    access: &[],
    uses_fd: true,
};

/// Socket file of our daemon inside the bench's directory.
const SOCKET: &str = "ours.sock";

/// Event queue per stream (client). The default (1024) would drop most of a 100 000-event burst
/// by design (the lag policy) when the application's reader runs ahead of the stream, and then
/// the case would measure dropping rather than delivery; queues only allocate as they fill, so
/// idle memory is unchanged. The daemon keeps its default queue: `fire` emits paced.
const EVENT_QUEUE: usize = 1 << 17;

/// Events emitted between yields, so connection writers run while `fire` emits, each with a
/// batch still in cache (the hand-written server writes 64 at a time).
const EMIT_BURST: u32 = 64;

/// Hand-written routing, as a generated protocol crate would do it.
#[derive(Debug)]
struct BenchService;

impl Dispatch for BenchService {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        Some(match call.method() {
            "get_student" => handle(
                &call,
                runner,
                |(id,): (String,)| async move { student(&id) },
            ),
            "get_students" => handle(&call, runner, |(ids,): (Vec<String>,)| async move {
                ids.iter().map(|id| student(id)).collect::<Vec<_>>()
            }),
            "echo_bytes" => handle(&call, runner, |(data,): (Binary,)| async move { data }),
            "sum_bytes" => handle(&call, runner, |(data,): (Binary,)| async move {
                checksum(&data)
            }),
            // A descriptor that is not a sealed memfd gets the checksum of nothing: the bench
            // sends only sealed ones.
            "sum_fd" => handle(&call, runner, |(blob,): (Fd,)| async move {
                Sealed::map(&blob).map_or(0, |sealed| checksum(sealed.bytes()))
            }),
            "fire" => {
                let daemon = call.daemon().clone();
                handle(&call, runner, |(count,): (u32,)| async move {
                    fire(&daemon, count).await
                })
            }
            _ => return None,
        })
    }
}

/// Decodes the call's arguments and runs `handler` on them in the future given to `runner`.
fn handle<A, T, F>(
    call: &Call,
    runner: CallRunner<'_>,
    handler: impl FnOnce(A) -> F + Send + 'static,
) -> Started
where
    A: DeserializeOwned + Send + 'static,
    T: Serialize,
    F: Future<Output = T> + Send,
{
    let args = call.decode_args::<A>();
    runner.run(async move {
        match args {
            Ok(args) => Reply::from_result::<T, NoException>(Ok(handler(args).await)),
            Err(reply) => reply,
        }
    })
}

/// Emits `student_added` `count` times, paced: each waits while a subscriber's queue is half
/// full, as the hand-written server waits in `write_all`. Returns how many apps the first one
/// reached.
async fn fire(daemon: &DaemonHandle, count: u32) -> u32 {
    let event = student_added();
    let mut reached = 0;
    for i in 0..count {
        let n = daemon
            .emit_paced("student_added", &event)
            .await
            .expect("a student fits in a frame");
        if i == 0 {
            reached = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if i % EMIT_BURST == EMIT_BURST - 1 {
            tokio::task::yield_now().await;
        }
    }
    reached
}

/// How the 64 MiB cases send their payload.
#[derive(Debug, Clone, Copy)]
pub enum Big {
    /// As a `binary` argument.
    Binary,
    /// Copied into a new sealed memfd in every call.
    NewMemfd,
    /// One sealed memfd, made before the clock starts and sent in every call.
    SameMemfd,
}

/// Frames of the 64 MiB `binary` case, with room for their envelope: over the default limit.
const BIG_FRAME: usize = BIG_LEN + 1024;

/// Runs our daemon in this (child) process until it is killed.
pub async fn serve(dir: &Path) -> BenchResult<()> {
    let options = DaemonOptions {
        max_frame_len: BIG_FRAME,
        ..DaemonOptions::default()
    };
    RuntimeDaemon::new(&INFO, BenchService)
        .socket_path(dir.join(SOCKET))
        .options(options)
        .serve()
        .await?;
    Ok(())
}

/// The client half of our side, talking to our daemon child.
#[derive(Debug)]
pub struct OursSide {
    daemon: Daemon,
    path: PathBuf,
}

impl OursSide {
    /// Starts our daemon child and waits until it listens.
    pub async fn start(dir: &Path) -> BenchResult<OursSide> {
        let path = dir.join(SOCKET);
        let daemon = Daemon::spawn(Role::Ours, dir, &path).await?;
        Ok(OursSide { daemon, path })
    }

    async fn client(&self) -> BenchResult<Client> {
        Ok(Client::connect_to(&INFO, &self.path).await?)
    }

    /// `round_trips` times, the 64 MiB `payload` to the daemon, which reads every byte and
    /// answers its checksum, sent as `how` says. The wall time.
    pub async fn big(
        &self,
        payload: &Binary,
        round_trips: usize,
        how: Big,
    ) -> BenchResult<Duration> {
        let options = ClientOptions {
            socket_path: Some(self.path.clone()),
            max_frame_len: BIG_FRAME,
            ..ClientOptions::default()
        };
        let client = Client::connect_with(&INFO, options).await?;
        let expected = checksum(payload);
        let sent_again = sealed_memfd(payload)?;
        let start = Instant::now();
        for _ in 0..round_trips {
            let sum: u64 = match how {
                Big::Binary => {
                    client
                        .call::<_, _, NoException>("sum_bytes", &(payload,))
                        .await?
                }
                Big::NewMemfd => {
                    let blob = sealed_memfd(payload)?;
                    client
                        .call::<_, _, NoException>("sum_fd", &(&blob,))
                        .await?
                }
                Big::SameMemfd => {
                    client
                        .call::<_, _, NoException>("sum_fd", &(&sent_again,))
                        .await?
                }
            };
            if sum != expected {
                return Err(format!("the daemon read a checksum of {sum}, not {expected}").into());
            }
        }
        Ok(start.elapsed())
    }

    /// `calls` students asked for `batch` at a time, one `get_students` call per batch, one
    /// batch after another: the wall time.
    pub async fn batched(&self, batch: usize, calls: usize) -> BenchResult<Duration> {
        let client = self.client().await?;
        let ids = vec![STUDENT_ID; batch];
        let start = Instant::now();
        for _ in 0..calls / batch {
            let students: Vec<Student> = client
                .call::<_, _, NoException>("get_students", &(&ids,))
                .await?;
            if students.len() != batch {
                return Err(format!("get_students returned {} students", students.len()).into());
            }
        }
        Ok(start.elapsed())
    }

    /// `callers` tasks sharing one connection (clones of one client), each making `calls`
    /// sequential calls: the wall time.
    pub async fn callers(&self, callers: usize, calls: usize) -> BenchResult<Duration> {
        concurrent_callers(self.client().await?, callers, calls).await
    }
}

async fn get_student(client: &Client) -> Result<Student, CallError<NoException>> {
    client.call("get_student", &(STUDENT_ID,)).await
}

impl StudentClient for Client {
    async fn get_student(&self) -> BenchResult<()> {
        get_student(self).await?;
        Ok(())
    }
}

impl Side for OursSide {
    type Idle = Vec<Client>;

    fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    async fn sequential(&self, calls: usize) -> BenchResult<Vec<Duration>> {
        let client = self.client().await?;
        let expected = student(STUDENT_ID);
        let mut latencies = Vec::with_capacity(calls);
        for _ in 0..calls {
            let start = Instant::now();
            let reply = get_student(&client).await?;
            latencies.push(start.elapsed());
            if reply != expected {
                return Err(format!("get_student returned {reply:?}").into());
            }
        }
        Ok(latencies)
    }

    async fn pipelined(&self, conns: usize, window: usize, calls: usize) -> BenchResult<Duration> {
        let mut clients = Vec::with_capacity(conns);
        for _ in 0..conns {
            clients.push(self.client().await?);
        }
        let start = Instant::now();
        let mut tasks = JoinSet::new();
        for client in clients {
            tasks.spawn(async move { keep_in_flight(&client, window, calls).await });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(start.elapsed())
    }

    async fn fan_out(&self, apps: usize, events: usize) -> BenchResult<FanOut> {
        let tally = Arc::new(Tally::new(events));
        let options = ClientOptions {
            socket_path: Some(self.path.clone()),
            event_buffer: EVENT_QUEUE,
            ..ClientOptions::default()
        };
        let mut readers = JoinSet::new();
        for _ in 0..apps {
            let client = Client::connect_with(&INFO, options.clone()).await?;
            let mut stream = client
                .subscribe::<StudentAdded>("student_added")
                .await
                .unwrap();
            // The daemon reads a connection's frames in order, so once this call returns the
            // subscription sent before it is in place.
            get_student(&client).await?;
            let tally = tally.clone();
            readers.spawn(async move {
                let (mut delivered, mut dropped) = (0, 0);
                while delivered + dropped < tally.per_app {
                    match stream.next().await {
                        Some(Ok(_)) => delivered += 1,
                        Some(Err(EventError::Lagged { dropped: n })) => dropped += n,
                        Some(Err(e)) => return Err(e.to_string()),
                        None => break,
                    }
                }
                tally.app_done(delivered, dropped);
                // The client lives as long as its stream is read.
                drop(client);
                Ok(())
            });
        }
        let control = self.client().await?;
        let start = Instant::now();
        let reached: u32 = control
            .call::<_, _, NoException>("fire", &(u32::try_from(events)?,))
            .await?;
        tally.wait_for(apps).await?;
        let elapsed = start.elapsed();
        while let Some(done) = readers.join_next().await {
            done??;
        }
        Ok(tally.fan_out(elapsed, reached as usize))
    }

    async fn bulk(&self, round_trips: usize) -> BenchResult<Duration> {
        let client = self.client().await?;
        let data = Binary::from(vec![0xa5; BULK_LEN]);
        let start = Instant::now();
        for _ in 0..round_trips {
            let back: Binary = client
                .call::<_, _, NoException>("echo_bytes", &(&data,))
                .await?;
            if back.len() != BULK_LEN {
                return Err(format!("echo_bytes returned {} bytes", back.len()).into());
            }
        }
        Ok(start.elapsed())
    }

    async fn connect(&self, count: usize) -> BenchResult<Duration> {
        let start = Instant::now();
        for _ in 0..count {
            let client = self.client().await?;
            get_student(&client).await?;
            client.close().await;
        }
        Ok(start.elapsed())
    }

    async fn hold_idle(&self, count: usize) -> BenchResult<Vec<Client>> {
        let mut held = Vec::with_capacity(count);
        for _ in 0..count {
            let client = self.client().await?;
            get_student(&client).await?;
            held.push(client);
        }
        Ok(held)
    }
}
