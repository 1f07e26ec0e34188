//! The realistic limit: a hand-written RPC over tokio Unix sockets that does the serde work a
//! typed RPC must do — every call and reply encoded and decoded with rmp-serde (`to_vec_named`,
//! like the runtime) — and nothing else. Frames are the baseline's 4-byte length prefix; a call
//! is `(id, Request)`, a reply `(id, Response)`, an event a bare `StudentAdded`.
//!
//! The client comes in the shapes a careful author would write for each case: a direct loop for
//! sequential calls and bulk, a pipeline (one task writes a burst, decodes the replies, writes
//! more) for many calls in flight from one task, and a multiplexer (a pending-call map of
//! oneshots, one reader task, one writer task that batches frames) for concurrent callers. The
//! server answers every complete frame of one read with one write, inline, as the baseline does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::child::{Daemon, Role};
use crate::side::{BenchResult, FanOut, StudentClient, Tally, concurrent_callers, keep_in_flight};
use crate::student::{STUDENT_ID, Student, StudentAdded, student, student_added};
use crate::wire::{BULK_LEN, FrameReader};

/// Socket file of the hand-written server inside the bench's directory.
const SOCKET: &str = "handwritten.sock";

/// Events encoded into one buffer and written to every subscriber with one write each: the
/// runtime's writer batches as many frames per syscall.
const FANOUT_BATCH: usize = 64;

/// What a client asks; the variant is the method.
#[derive(Debug, Serialize, Deserialize)]
enum Request {
    GetStudent(String),
    EchoBytes(ByteBuf),
    /// Makes this connection an event subscriber (acknowledged with `Reached(0)`).
    Subscribe,
    /// Emits `student_added` this many times to every subscriber.
    Fire(u32),
}

/// What the server answers.
#[derive(Debug, Serialize, Deserialize)]
enum Response {
    Student(Student),
    Bytes(ByteBuf),
    /// Subscribers the first event reached.
    Reached(u32),
}

/// Appends `value`, msgpack-encoded behind a 4-byte big-endian length, to `out`.
fn put_frame<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    rmp_serde::encode::write_named(out, value).expect("bench messages always encode");
    let len = u32::try_from(out.len() - start - 4).expect("bench frames are far below 4 GiB");
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> BenchResult<T> {
    Ok(rmp_serde::from_slice(body)?)
}

type Subscribers = Arc<Mutex<Vec<OwnedWriteHalf>>>;

/// Runs the hand-written server in this (child) process until it is killed.
pub async fn serve(dir: &Path) -> BenchResult<()> {
    let listener = UnixListener::bind(dir.join(SOCKET))?;
    let subscribers = Subscribers::default();
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(serve_connection(stream, subscribers.clone()));
    }
}

async fn serve_connection(stream: UnixStream, subscribers: Subscribers) -> BenchResult<()> {
    let (mut read, write) = stream.into_split();
    let mut write = Some(write);
    let mut reader = FrameReader::default();
    let mut out = Vec::new();
    while let Some(batch) = reader.read_batch_bodies(&mut read).await? {
        out.clear();
        let mut subscribed = false;
        for body in batch {
            let (id, request): (u32, Request) = decode(&body)?;
            let response = match request {
                Request::GetStudent(id) => Response::Student(student(&id)),
                Request::EchoBytes(data) => Response::Bytes(data),
                Request::Subscribe => {
                    subscribed = true;
                    Response::Reached(0)
                }
                Request::Fire(count) => Response::Reached(fire(&subscribers, count).await?),
            };
            put_frame(&mut out, &(id, response));
        }
        let Some(writer) = write.as_mut() else {
            continue;
        };
        writer.write_all(&out).await?;
        // A subscription hands the connection's write half over to the fan-out.
        if subscribed {
            let writer = write.take().expect("checked above");
            subscribers
                .lock()
                .expect("no panics while holding it")
                .push(writer);
        }
    }
    Ok(())
}

/// Encodes `student_added` `count` times, `FANOUT_BATCH` per buffer, and writes each buffer to
/// every subscriber. Returns how many subscribers there were.
async fn fire(subscribers: &Subscribers, count: u32) -> BenchResult<u32> {
    let mut subs = std::mem::take(&mut *subscribers.lock().expect("no panics while holding it"));
    let event = student_added();
    let mut batch = Vec::new();
    let mut left = count as usize;
    while left > 0 {
        batch.clear();
        for _ in 0..left.min(FANOUT_BATCH) {
            put_frame(&mut batch, &event);
        }
        left -= left.min(FANOUT_BATCH);
        for sub in &mut subs {
            sub.write_all(&batch).await?;
        }
    }
    Ok(u32::try_from(subs.len())?)
}

/// The client half of the hand-written RPC, talking to its server child.
#[derive(Debug)]
pub struct HandwrittenSide {
    daemon: Daemon,
    path: PathBuf,
}

/// One connection used directly: write a call, read its reply.
#[derive(Debug)]
struct Direct {
    stream: UnixStream,
    reader: FrameReader,
    out: Vec<u8>,
}

impl Direct {
    async fn call(&mut self, request: &Request) -> BenchResult<Response> {
        self.out.clear();
        put_frame(&mut self.out, &(0u32, request));
        self.stream.write_all(&self.out).await?;
        let body = self
            .reader
            .read_one(&mut self.stream)
            .await?
            .ok_or("server closed")?;
        let (_, response): (u32, Response) = decode(&body)?;
        Ok(response)
    }
}

impl HandwrittenSide {
    /// Starts the hand-written server child and waits until it listens.
    pub async fn start(dir: &Path) -> BenchResult<HandwrittenSide> {
        let path = dir.join(SOCKET);
        let daemon = Daemon::spawn(Role::Handwritten, dir, &path).await?;
        Ok(HandwrittenSide { daemon, path })
    }

    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    async fn direct(&self) -> BenchResult<Direct> {
        Ok(Direct {
            stream: UnixStream::connect(&self.path).await?,
            reader: FrameReader::default(),
            out: Vec::new(),
        })
    }

    /// `calls` sequential `GetStudent` calls on one connection: the latency of each.
    pub async fn sequential(&self, calls: usize) -> BenchResult<Vec<Duration>> {
        let mut conn = self.direct().await?;
        let mut latencies = Vec::with_capacity(calls);
        for _ in 0..calls {
            let start = Instant::now();
            let response = conn
                .call(&Request::GetStudent(STUDENT_ID.to_owned()))
                .await?;
            latencies.push(start.elapsed());
            if !matches!(response, Response::Student(s) if s.id == STUDENT_ID) {
                return Err("GetStudent returned something else".into());
            }
        }
        Ok(latencies)
    }

    /// `conns` connections, each a pipeline keeping `window` calls in flight until `calls`
    /// replies arrived: the wall time.
    pub async fn pipelined(
        &self,
        conns: usize,
        window: usize,
        calls: usize,
    ) -> BenchResult<Duration> {
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            streams.push(UnixStream::connect(&self.path).await?);
        }
        let start = Instant::now();
        let mut tasks = JoinSet::new();
        for stream in streams {
            tasks.spawn(pipeline(stream, window, calls));
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(start.elapsed())
    }

    /// One multiplexed connection (as [`HandwrittenSide::callers`]') kept `window` calls in
    /// flight from one task until `calls` replies arrived, as ours is: the wall time.
    pub async fn pipelined_multiplexed(
        &self,
        window: usize,
        calls: usize,
    ) -> BenchResult<Duration> {
        let client = Multiplexer::connect(&self.path).await?;
        let start = Instant::now();
        tokio::spawn(async move { keep_in_flight(&client, window, calls).await }).await??;
        Ok(start.elapsed())
    }

    /// `callers` tasks sharing one multiplexed connection, each making `calls` sequential calls:
    /// the wall time.
    pub async fn callers(&self, callers: usize, calls: usize) -> BenchResult<Duration> {
        concurrent_callers(Multiplexer::connect(&self.path).await?, callers, calls).await
    }

    /// `apps` subscribed connections, each decoding every event; the server fires `events`.
    pub async fn fan_out(&self, apps: usize, events: usize) -> BenchResult<FanOut> {
        let tally = Arc::new(Tally::new(events));
        let mut readers = JoinSet::new();
        for _ in 0..apps {
            let mut conn = self.direct().await?;
            conn.call(&Request::Subscribe).await?;
            let tally = tally.clone();
            readers.spawn(async move {
                let mut delivered = 0;
                while delivered < tally.per_app {
                    let Some(body) = conn.reader.read_one(&mut conn.stream).await? else {
                        break;
                    };
                    let _: StudentAdded = decode(&body)?;
                    delivered += 1;
                }
                tally.app_done(delivered, 0);
                BenchResult::Ok(())
            });
        }
        let mut control = self.direct().await?;
        let start = Instant::now();
        let reached = control.call(&Request::Fire(u32::try_from(events)?)).await?;
        tally.wait_for(apps).await?;
        let elapsed = start.elapsed();
        while let Some(done) = readers.join_next().await {
            done??;
        }
        let Response::Reached(reached) = reached else {
            return Err("Fire returned something else".into());
        };
        Ok(tally.fan_out(elapsed, reached as usize))
    }

    /// `round_trips` sequential 1 MiB `EchoBytes` calls on one connection: the wall time.
    pub async fn bulk(&self, round_trips: usize) -> BenchResult<Duration> {
        let mut conn = self.direct().await?;
        let mut data = ByteBuf::from(vec![0xa5; BULK_LEN]);
        let start = Instant::now();
        for _ in 0..round_trips {
            // The echoed buffer is sent again, so no call copies it beyond what serde does.
            match conn.call(&Request::EchoBytes(data)).await? {
                Response::Bytes(back) if back.len() == BULK_LEN => data = back,
                _ => return Err("EchoBytes returned something else".into()),
            }
        }
        Ok(start.elapsed())
    }
}

/// Keeps `window` calls in flight on one connection from one task until `calls` replies
/// arrived, encoding every call and decoding every reply.
async fn pipeline(mut stream: UnixStream, window: usize, calls: usize) -> BenchResult<()> {
    let mut reader = FrameReader::default();
    let mut out = Vec::new();
    let mut sent = window.min(calls);
    send(&mut out, sent, 0);
    stream.write_all(&out).await?;
    let mut received = 0;
    while received < calls {
        let batch = reader
            .read_batch_bodies(&mut stream)
            .await?
            .ok_or("server closed")?;
        let replies = batch.len();
        for body in batch {
            let (_, response): (u32, Response) = decode(&body)?;
            if !matches!(response, Response::Student(_)) {
                return Err("GetStudent returned something else".into());
            }
        }
        received += replies;
        let more = replies.min(calls - sent);
        if more > 0 {
            send(&mut out, more, sent);
            stream.write_all(&out).await?;
            sent += more;
        }
    }
    Ok(())
}

/// Encodes `count` `GetStudent` calls with ids from `first` into `out`.
fn send(out: &mut Vec<u8>, count: usize, first: usize) {
    out.clear();
    for id in first..first + count {
        let id = u32::try_from(id).unwrap_or(u32::MAX);
        put_frame(out, &(id, Request::GetStudent(STUDENT_ID.to_owned())));
    }
}

/// A connection shared by concurrent callers: a pending-call map of oneshots completed by one
/// reader task, and one writer task that writes every frame queued meanwhile in one write.
#[derive(Debug, Clone)]
struct Multiplexer {
    next_id: Arc<AtomicU32>,
    pending: Arc<Mutex<HashMap<u32, oneshot::Sender<Response>>>>,
    frames: mpsc::UnboundedSender<Vec<u8>>,
}

impl Multiplexer {
    async fn connect(path: &Path) -> BenchResult<Multiplexer> {
        let (mut read, mut write) = UnixStream::connect(path).await?.into_split();
        let pending: Arc<Mutex<HashMap<u32, oneshot::Sender<Response>>>> = Arc::default();
        let (frames, mut queued) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            let mut out = Vec::new();
            while let Some(frame) = queued.recv().await {
                out.clear();
                out.extend_from_slice(&frame);
                while let Ok(frame) = queued.try_recv() {
                    out.extend_from_slice(&frame);
                }
                write.write_all(&out).await?;
            }
            BenchResult::Ok(())
        });
        let waiting = pending.clone();
        tokio::spawn(async move {
            let mut reader = FrameReader::default();
            while let Some(batch) = reader.read_batch_bodies(&mut read).await? {
                for body in batch {
                    let (id, response): (u32, Response) = decode(&body)?;
                    let caller = waiting
                        .lock()
                        .expect("no panics while holding it")
                        .remove(&id);
                    if let Some(caller) = caller {
                        // A caller that gave up dropped its receiver; nothing to do.
                        let _ = caller.send(response);
                    }
                }
            }
            BenchResult::Ok(())
        });
        Ok(Multiplexer {
            next_id: Arc::default(),
            pending,
            frames,
        })
    }
}

impl StudentClient for Multiplexer {
    async fn get_student(&self) -> BenchResult<()> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = Vec::new();
        put_frame(
            &mut frame,
            &(id, Request::GetStudent(STUDENT_ID.to_owned())),
        );
        let (reply, response) = oneshot::channel();
        self.pending
            .lock()
            .expect("no panics while holding it")
            .insert(id, reply);
        self.frames.send(frame).map_err(|_| "writer gone")?;
        match response.await? {
            Response::Student(_) => Ok(()),
            _ => Err("GetStudent returned something else".into()),
        }
    }
}
