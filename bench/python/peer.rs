//! The Rust peer of the Python bench (`bench/python/ipc.py`): a `medium_runtime` daemon that
//! Python clients call, and a `medium_runtime` client that calls Python daemons, both speaking
//! `bench/python/bench.lmspc`.
//!
//! The Python package is generated from the spec at run time, so the script passes the
//! protocol's identity (namespace, class, fingerprint) on the command line rather than this
//! binary carrying a copy that could go stale:
//!
//! ```text
//! python-peer serve SOCKET NAMESPACE CLASS FINGERPRINT
//! python-peer call SOCKET NAMESPACE CLASS FINGERPRINT sequential|in_flight|bulk COUNT
//! ```
//!
//! `serve` (which also answers `fire(count)` by emitting `student_added` `count` times) prints
//! `ready` once it listens and serves until killed; `call` makes COUNT calls of the case (after
//! connecting and one warm-up call) and prints the seconds they took.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use medium_runtime::{
    Binary, BoxError, Call, CallRunner, Client, Daemon, DaemonHandle, DaemonOptions, Dispatch,
    NoException, ProtocolInfo, Reply, Started, decode_args,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

// The payloads of the IPC bench, so both benches move the same bytes.
#[path = "../benches/ipc/student.rs"]
mod student;
use student::{STUDENT_ID, Student, student, student_added};

/// Calls in flight at once in the `in_flight` case: as many tasks sharing one connection.
const IN_FLIGHT: usize = 64;

/// Bytes of the `bulk` case's `echo_bytes` payload.
const BULK_LEN: usize = 1024 * 1024;

/// Events queued per connection: the default (1024) would drop most of a burst by design (the
/// lag policy), and the events case would then measure dropping rather than delivery.
const EVENT_QUEUE: usize = 1 << 17;

/// Events emitted between yields, so the connection's writer runs while `fire` emits.
const EMIT_BURST: u32 = 64;

/// Routing as a generated protocol crate does it: decode the arguments, run the handler, encode
/// its value.
#[derive(Debug)]
struct Service;

impl Dispatch for Service {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        let reply = match call.method() {
            "get_student" => answer(&call, |(id,): (String,)| student(&id)),
            "echo_bytes" => answer(&call, |(data,): (Binary,)| data),
            "fire" => match decode_args::<(u32,)>(call.args()) {
                Ok((count,)) => {
                    let daemon = call.daemon().clone();
                    return Some(
                        runner.run(async move { Reply::value(&fire(&daemon, count).await) }),
                    );
                }
                Err(reply) => reply,
            },
            _ => return None,
        };
        Some(runner.reply(reply))
    }
}

/// The reply to `call`: `handler`'s value for the decoded arguments, or why they did not decode.
fn answer<A: DeserializeOwned, T: Serialize>(call: &Call, handler: impl FnOnce(A) -> T) -> Reply {
    match decode_args::<A>(call.args()) {
        Ok(args) => Reply::value(&handler(args)),
        Err(reply) => reply,
    }
}

/// Emits `student_added` `count` times; returns `count`.
async fn fire(daemon: &DaemonHandle, count: u32) -> u32 {
    let event = student_added();
    for i in 0..count {
        daemon
            .emit("student_added", &event)
            .expect("a student fits in a frame");
        if i % EMIT_BURST == EMIT_BURST - 1 {
            tokio::task::yield_now().await;
        }
    }
    count
}

/// What `call` measures.
#[derive(Debug, Clone, Copy)]
enum Case {
    /// `get_student`, one call at a time.
    Sequential,
    /// `get_student` from [`IN_FLIGHT`] tasks sharing one connection.
    InFlight,
    /// `echo_bytes` of [`BULK_LEN`] bytes, one at a time.
    Bulk,
}

impl Case {
    fn parse(name: &str) -> Option<Case> {
        match name {
            "sequential" => Some(Case::Sequential),
            "in_flight" => Some(Case::InFlight),
            "bulk" => Some(Case::Bulk),
            _ => None,
        }
    }
}

const USAGE: &str = "usage: python-peer serve SOCKET NAMESPACE CLASS FINGERPRINT\n       \
     python-peer call SOCKET NAMESPACE CLASS FINGERPRINT sequential|in_flight|bulk COUNT";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("python-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), BoxError> {
    let [mode, socket, namespace, class, fingerprint, rest @ ..] = args else {
        return Err(USAGE.into());
    };
    // Leaked once per process: the runtime wants the `'static` description generated code has.
    let info: &'static ProtocolInfo = Box::leak(Box::new(ProtocolInfo {
        namespace: String::leak(namespace.clone()),
        class: String::leak(class.clone()),
        fingerprint: String::leak(fingerprint.clone()),
        socket_base: None,
        spec: "",
        events: &["student_added"],
        access: &[],
        uses_fd: false,
    }));
    let runtime = tokio::runtime::Runtime::new()?;
    match (mode.as_str(), rest) {
        ("serve", []) => runtime.block_on(serve(info, Path::new(socket))),
        ("call", [case, count]) => {
            let case = Case::parse(case).ok_or(USAGE)?;
            let count: usize = count.parse()?;
            let took = runtime.block_on(call(info, Path::new(socket), case, count))?;
            println!("{}", took.as_secs_f64());
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

async fn serve(info: &'static ProtocolInfo, socket: &Path) -> Result<(), BoxError> {
    let options = DaemonOptions {
        event_queue_len: EVENT_QUEUE,
        ..DaemonOptions::default()
    };
    let daemon = Daemon::new(info, Service)
        .socket_path(socket)
        .options(options);
    println!("ready");
    daemon.serve().await?;
    Ok(())
}

async fn get_student(client: &Client) -> Result<(), BoxError> {
    let reply: Student = client
        .call::<_, _, NoException>("get_student", &(STUDENT_ID,))
        .await?;
    if reply != student(STUDENT_ID) {
        return Err(format!("get_student returned {reply:?}").into());
    }
    Ok(())
}

async fn echo_bytes(client: &Client, data: &Binary) -> Result<(), BoxError> {
    let back: Binary = client
        .call::<_, _, NoException>("echo_bytes", &(data,))
        .await?;
    if back.len() != data.len() {
        return Err(format!("echo_bytes returned {} bytes", back.len()).into());
    }
    Ok(())
}

/// Connects, makes one warm-up call, then times `count` calls of `case`.
async fn call(
    info: &'static ProtocolInfo,
    socket: &Path,
    case: Case,
    count: usize,
) -> Result<Duration, BoxError> {
    let client = Client::connect_to(info, socket).await?;
    get_student(&client).await?;
    let start = Instant::now();
    match case {
        Case::Sequential => {
            for _ in 0..count {
                get_student(&client).await?;
            }
        }
        Case::InFlight => {
            let mut callers = tokio::task::JoinSet::new();
            for caller in 0..IN_FLIGHT {
                let client = client.clone();
                // `count` calls in all, spread over the callers.
                let calls = count / IN_FLIGHT + usize::from(caller < count % IN_FLIGHT);
                callers.spawn(async move {
                    for _ in 0..calls {
                        get_student(&client).await?;
                    }
                    Ok::<(), BoxError>(())
                });
            }
            while let Some(done) = callers.join_next().await {
                done??;
            }
        }
        Case::Bulk => {
            let data = Binary::from(vec![0xa5; BULK_LEN]);
            for _ in 0..count {
                echo_bytes(&client, &data).await?;
            }
        }
    }
    Ok(start.elapsed())
}
