//! The baseline: the same msgpack bytes over plain tokio Unix sockets with a 4-byte length
//! prefix, no runtime. Both ends batch the way a careful hand-written server would (every
//! complete frame of one read is answered with one write), so the figures are a floor, not a
//! straw man. The server half runs in a child process like our daemon does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

use crate::child::{Daemon, Role};
use crate::side::{BenchResult, FanOut, Side, Tally};
use crate::wire::{BULK_LEN, Bodies, FrameReader, frames};

/// Frames per write when the server fans events out: the runtime's writer batches at most as
/// many frames per syscall, so the baseline gets the same advantage.
const FANOUT_BATCH: usize = 64;

/// The sockets the raw server listens on, one per kind of work, so no connection needs a
/// role message the runtime would not send either.
#[derive(Debug, Clone)]
struct Sockets {
    /// Answers each frame with the encoded `Student`.
    student: PathBuf,
    /// Echoes each frame back.
    echo: PathBuf,
    /// Registers the connection as an event subscriber.
    subscribe: PathBuf,
    /// Each frame (a big-endian u32 `n`) fans `n` events out to every subscriber.
    fire: PathBuf,
}

impl Sockets {
    fn in_dir(dir: &Path) -> Sockets {
        Sockets {
            student: dir.join("raw-student.sock"),
            echo: dir.join("raw-echo.sock"),
            subscribe: dir.join("raw-subscribe.sock"),
            fire: dir.join("raw-fire.sock"),
        }
    }
}

/// Runs the raw server in this (child) process until it is killed.
pub async fn serve(dir: &Path) -> BenchResult<()> {
    let sockets = Sockets::in_dir(dir);
    let bodies = Bodies::new();
    let reply = Bytes::from(frames(&bodies.reply, 1));
    let event_batch = Bytes::from(frames(&bodies.event, FANOUT_BATCH));
    let subscribers = Arc::new(Mutex::new(Vec::new()));

    let student = UnixListener::bind(&sockets.student)?;
    let echo = UnixListener::bind(&sockets.echo)?;
    let subscribe = UnixListener::bind(&sockets.subscribe)?;
    // Bound last: the parent waits for this path, so every socket exists once it does.
    let fire = UnixListener::bind(&sockets.fire)?;
    loop {
        tokio::select! {
            conn = student.accept() => {
                tokio::spawn(answer_each(conn?.0, reply.clone()));
            }
            conn = echo.accept() => {
                tokio::spawn(echo_each(conn?.0));
            }
            conn = subscribe.accept() => {
                let mut stream = conn?.0;
                // An empty frame acknowledges the subscription, so the parent knows it counts.
                stream.write_all(&[0; 4]).await?;
                subscribers.lock().expect("no panics while holding it").push(stream);
            }
            conn = fire.accept() => {
                tokio::spawn(fire_each(conn?.0, subscribers.clone(), event_batch.clone()));
            }
        }
    }
}

async fn answer_each(mut stream: UnixStream, reply: Bytes) -> std::io::Result<()> {
    let mut reader = FrameReader::default();
    let mut out = Vec::new();
    while let Some(batch) = reader.read_batch(&mut stream).await? {
        reader.consume(&batch);
        out.clear();
        for _ in 0..batch.count {
            out.extend_from_slice(&reply);
        }
        stream.write_all(&out).await?;
    }
    Ok(())
}

async fn echo_each(mut stream: UnixStream) -> std::io::Result<()> {
    let mut reader = FrameReader::default();
    while let Some(batch) = reader.read_batch(&mut stream).await? {
        stream.write_all(reader.batch_bytes(&batch)).await?;
        reader.consume(&batch);
    }
    Ok(())
}

type Subscribers = Arc<Mutex<Vec<UnixStream>>>;

async fn fire_each(
    mut stream: UnixStream,
    subscribers: Subscribers,
    event_batch: Bytes,
) -> std::io::Result<()> {
    let mut reader = FrameReader::default();
    while let Some(body) = reader.read_one(&mut stream).await? {
        let events =
            body.get(..4)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) as usize;
        let taken = std::mem::take(&mut *subscribers.lock().expect("no panics while holding it"));
        let reached = u32::try_from(taken.len()).unwrap_or(u32::MAX);
        // Each fan-out round has its own subscribers; they are dropped once served.
        let mut writers = JoinSet::new();
        for sub in taken {
            writers.spawn(write_events(sub, events, event_batch.clone()));
        }
        while writers.join_next().await.is_some() {}
        stream.write_all(&frames(&reached.to_be_bytes(), 1)).await?;
    }
    Ok(())
}

async fn write_events(
    mut sub: UnixStream,
    events: usize,
    event_batch: Bytes,
) -> std::io::Result<()> {
    let frame_len = event_batch.len() / FANOUT_BATCH;
    let mut left = events;
    while left > 0 {
        let n = left.min(FANOUT_BATCH);
        sub.write_all(&event_batch[..n * frame_len]).await?;
        left -= n;
    }
    Ok(())
}

/// The client half of the baseline, talking to a raw server child.
#[derive(Debug)]
pub struct RawSide {
    daemon: Daemon,
    sockets: Sockets,
    /// One `get_student` request frame.
    request: Bytes,
    /// The bulk request frame: 1 MiB body.
    bulk: Bytes,
}

impl RawSide {
    /// Starts the raw server child and waits until it listens.
    pub async fn start(dir: &Path) -> BenchResult<RawSide> {
        let sockets = Sockets::in_dir(dir);
        let daemon = Daemon::spawn(Role::Raw, dir, &sockets.fire).await?;
        let bodies = Bodies::new();
        Ok(RawSide {
            daemon,
            sockets,
            request: Bytes::from(frames(&bodies.request, 1)),
            bulk: Bytes::from(frames(&vec![0xa5; BULK_LEN], 1)),
        })
    }
}

/// Keeps `window` requests in flight on one connection until `calls` replies arrived.
async fn pipeline(path: PathBuf, request: Bytes, window: usize, calls: usize) -> BenchResult<()> {
    let mut stream = UnixStream::connect(path).await?;
    let burst = frames(&request[4..], window);
    let mut reader = FrameReader::default();
    let mut sent = window.min(calls);
    stream.write_all(&burst[..sent * request.len()]).await?;
    let mut received = 0;
    while received < calls {
        let batch = reader
            .read_batch(&mut stream)
            .await?
            .ok_or("server closed")?;
        reader.consume(&batch);
        received += batch.count;
        let more = batch.count.min(calls - sent);
        if more > 0 {
            stream.write_all(&burst[..more * request.len()]).await?;
            sent += more;
        }
    }
    Ok(())
}

/// One request, one reply.
async fn exchange(
    stream: &mut UnixStream,
    reader: &mut FrameReader,
    frame: &[u8],
) -> BenchResult<usize> {
    stream.write_all(frame).await?;
    let body = reader.read_one(stream).await?.ok_or("server closed")?;
    Ok(body.len())
}

impl Side for RawSide {
    type Idle = Vec<UnixStream>;

    fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    async fn sequential(&self, calls: usize) -> BenchResult<Vec<Duration>> {
        let mut stream = UnixStream::connect(&self.sockets.student).await?;
        let mut reader = FrameReader::default();
        let mut latencies = Vec::with_capacity(calls);
        for _ in 0..calls {
            let start = Instant::now();
            exchange(&mut stream, &mut reader, &self.request).await?;
            latencies.push(start.elapsed());
        }
        Ok(latencies)
    }

    async fn pipelined(&self, conns: usize, window: usize, calls: usize) -> BenchResult<Duration> {
        let start = Instant::now();
        let mut tasks = JoinSet::new();
        for _ in 0..conns {
            let path = self.sockets.student.clone();
            tasks.spawn(pipeline(path, self.request.clone(), window, calls));
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(start.elapsed())
    }

    async fn fan_out(&self, apps: usize, events: usize) -> BenchResult<FanOut> {
        let tally = Arc::new(Tally::new(events));
        let mut readers = JoinSet::new();
        for _ in 0..apps {
            let mut stream = UnixStream::connect(&self.sockets.subscribe).await?;
            let mut reader = FrameReader::default();
            reader
                .read_one(&mut stream)
                .await?
                .ok_or("no subscription ack")?;
            let tally = tally.clone();
            readers.spawn(async move {
                let mut delivered = 0;
                while delivered < tally.per_app {
                    let Some(batch) = reader.read_batch(&mut stream).await? else {
                        break;
                    };
                    reader.consume(&batch);
                    delivered += batch.count as u64;
                }
                tally.app_done(delivered, 0);
                std::io::Result::Ok(())
            });
        }
        let mut control = UnixStream::connect(&self.sockets.fire).await?;
        let mut reader = FrameReader::default();
        let count = u32::try_from(events)?.to_be_bytes();
        let start = Instant::now();
        control.write_all(&frames(&count, 1)).await?;
        tally.wait_for(apps).await?;
        let elapsed = start.elapsed();
        let reached = reader
            .read_one(&mut control)
            .await?
            .ok_or("server closed")?;
        let reached = u32::from_be_bytes(reached[..].try_into()?) as usize;
        Ok(tally.fan_out(elapsed, reached))
    }

    async fn bulk(&self, round_trips: usize) -> BenchResult<Duration> {
        let mut stream = UnixStream::connect(&self.sockets.echo).await?;
        let mut reader = FrameReader::default();
        let start = Instant::now();
        for _ in 0..round_trips {
            let len = exchange(&mut stream, &mut reader, &self.bulk).await?;
            if len != BULK_LEN {
                return Err(format!("echo returned {len} bytes").into());
            }
        }
        Ok(start.elapsed())
    }

    async fn connect(&self, count: usize) -> BenchResult<Duration> {
        let start = Instant::now();
        for _ in 0..count {
            let mut stream = UnixStream::connect(&self.sockets.student).await?;
            exchange(&mut stream, &mut FrameReader::default(), &self.request).await?;
        }
        Ok(start.elapsed())
    }

    async fn hold_idle(&self, count: usize) -> BenchResult<Vec<UnixStream>> {
        let mut held = Vec::with_capacity(count);
        for _ in 0..count {
            let mut stream = UnixStream::connect(&self.sockets.student).await?;
            exchange(&mut stream, &mut FrameReader::default(), &self.request).await?;
            held.push(stream);
        }
        Ok(held)
    }
}
