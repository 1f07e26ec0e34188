//! Entry points for the fuzz targets in `fuzz/` (not a public API: hidden from the docs, may
//! change at any time). Each one plays one side of a connection with arbitrary bytes against the
//! real other side (framing, message decoding and the connection state machine) over an
//! in-process socket pair, on a current-thread runtime shared by all inputs. Nothing here may
//! sleep or time out: a hang is a finding.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures::StreamExt;
use serde::de::IgnoredAny;
use tokio::io::Interest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;

use crate::ancillary;
use crate::client::{Client, ClientOptions};
use crate::connection::{self, Context};
use crate::daemon::DaemonOptions;
use crate::dispatch::{Call, CallRunner, Dispatch, Started};
use crate::error::PeerIdentity;
use crate::exception::NoException;
use crate::fd::Fd;
use crate::frame::PREFIX_LEN;
use crate::message::{self, ToApp};
use crate::protocol_info::ProtocolInfo;
use crate::reply::{Reply, decode_args};

const FUZZ: ProtocolInfo = ProtocolInfo {
    namespace: "com.example.fuzz",
    class: "Fuzz",
    fingerprint: "f022000000000000000000000000000000000000000000000000000000000000",
    socket_base: None,
    spec: "",
    events: &["tick", "changed"],
    access: &[],
    uses_fd: false,
};

/// `FUZZ` with `fd` in its spec: the daemon takes descriptors on calls.
const FUZZ_FD: ProtocolInfo = ProtocolInfo {
    uses_fd: true,
    ..FUZZ
};

thread_local! {
    /// One runtime per thread (libFuzzer uses one; parallel tests use several).
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
}

fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// A model as generated code derives it: a key it does not know is refused.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct FuzzModel {
    name: String,
    tags: Vec<String>,
}

/// A service with one method per way a handler can answer: at once, after yielding (so the call
/// moves to its own task), or with an event; `model` takes a model argument. (No panicking
/// handler: libFuzzer's panic hook aborts even on a caught panic; `tests/runtime/errors.rs`
/// covers that path.)
struct FuzzService;

impl Dispatch for FuzzService {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        let future = match call.method() {
            "echo" => runner.run(async move {
                match decode_args::<(String,)>(call.args()) {
                    Ok((text,)) => Reply::value(&text),
                    Err(reply) => reply,
                }
            }),
            "model" => runner.run(async move {
                match decode_args::<(FuzzModel,)>(call.args()) {
                    Ok((model,)) => Reply::value(&model),
                    Err(reply) => reply,
                }
            }),
            // Takes the call's descriptors (a list of `fd`) and gives one back.
            "fds" => runner.run(async move {
                match call.decode_args::<(Vec<Fd>,)>() {
                    Ok((mut fds,)) => Reply::value(&fds.pop()),
                    Err(reply) => reply,
                }
            }),
            "later" => runner.run(async move {
                tokio::task::yield_now().await;
                Reply::value(&call.args().len())
            }),
            "emit" => runner.run(async move {
                // Cannot fail: `tick` is FUZZ's and its arguments are small.
                let sent = call.daemon().emit("tick", &(call.args().len(),));
                Reply::value(&sent.ok())
            }),
            _ => return None,
        };
        Some(future)
    }
}

/// Sends `input` (after a valid `HELLO` when `handshake`) to a daemon connection as an
/// application would, then closes the sending side and reads everything the daemon answers.
///
/// Panics if the daemon panics, or if its answer is not a sequence of whole frames that each
/// decode as a daemon → application message with nothing after a `FATAL`.
pub fn feed_server(input: &[u8], handshake: bool) {
    let mut sent = Vec::with_capacity(input.len() + 128);
    if handshake {
        sent.extend_from_slice(&message::hello(&PeerIdentity::of(&FUZZ)));
    }
    sent.extend_from_slice(input);
    let answer = block_on(serve_one(&FUZZ, async |write: &mut OwnedWriteHalf| {
        // The daemon may hang up before taking everything: that is a valid outcome.
        let _ = write.write_all(&sent).await;
    }));
    check_daemon_answer(&answer);
}

/// Like [`feed_server`], with descriptors attached: `input` is a sequence of chunks, each sent
/// by one `sendmsg` with its descriptors (fresh pipe read ends), as a byte `n` (`n & 0x80`: `n
/// & 0x3f` descriptors, else none), a byte `len`, then `len` bytes (what is left when fewer).
/// `fd` says whether the protocol uses `fd`.
///
/// Panics as `feed_server` does, and when a descriptor sent is still open anywhere in the
/// daemon once the connection and its calls are over (its pipe's write end still has a
/// reader).
pub fn feed_server_descriptors(input: &[u8], handshake: bool, fd: bool) {
    let info = if fd { &FUZZ_FD } else { &FUZZ };
    let mut chunks = Vec::new();
    if handshake {
        chunks.push((0, message::hello(&PeerIdentity::of(info))));
    }
    let mut rest = input;
    while let [n, len, tail @ ..] = rest {
        let (chunk, after) = tail.split_at((*len as usize).min(tail.len()));
        let fds = if n & 0x80 == 0 {
            0
        } else {
            usize::from(n & 0x3f)
        };
        chunks.push((fds, Bytes::copy_from_slice(chunk)));
        rest = after;
    }
    let mut writers = Vec::new();
    let answer = block_on(serve_one(info, async |write: &mut OwnedWriteHalf| {
        for (n, chunk) in &chunks {
            let (readers, ends): (Vec<OwnedFd>, Vec<OwnedFd>) = (0..*n).map(|_| pipe()).unzip();
            writers.extend(ends);
            if send_chunk(write, chunk.clone(), &readers).await.is_err() {
                return;
            }
        }
    }));
    check_daemon_answer(&answer);
    for writer in &writers {
        assert!(
            !has_reader(writer),
            "a descriptor sent to the daemon is still open"
        );
    }
}

/// Sends `chunk` with `fds` attached to its first byte: one `sendmsg`, then plain writes.
async fn send_chunk(
    write: &mut OwnedWriteHalf,
    mut chunk: Bytes,
    fds: &[OwnedFd],
) -> std::io::Result<()> {
    if !fds.is_empty() {
        let socket = write.as_ref();
        let fd = socket.as_raw_fd();
        let sent = socket
            .async_io(Interest::WRITABLE, || {
                ancillary::send(fd, std::slice::from_ref(&chunk), fds)
            })
            .await?;
        chunk.advance(sent);
    }
    write.write_all(&chunk).await
}

/// A pipe, both ends close-on-exec: (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut ends = [0; 2];
    // SAFETY: `ends` has room for the two descriptors pipe2 writes.
    let made = unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(made, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both are fresh descriptors nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) }
}

/// Whether a read end of the pipe whose write end is `writer` is open anywhere (else `poll`
/// reports `POLLERR` on the write end).
fn has_reader(writer: &OwnedFd) -> bool {
    let mut poll = libc::pollfd {
        fd: writer.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd; a zero timeout never blocks.
    unsafe { libc::poll(&mut poll, 1, 0) };
    poll.revents & libc::POLLERR == 0
}

/// Serves one daemon connection of `info` whose application `send`s, then closes its sending
/// side and reads everything the daemon answers; returns that once the connection and every
/// task it started are over.
async fn serve_one(
    info: &'static ProtocolInfo,
    send: impl AsyncFnOnce(&mut OwnedWriteHalf),
) -> Vec<u8> {
    let (daemon_end, app_end) = UnixStream::pair().expect("socketpair");
    let options = DaemonOptions {
        // Long enough never to fire: input ends with end-of-stream anyway.
        handshake_timeout: Duration::from_secs(60),
        ..DaemonOptions::default()
    };
    let cx = Context::serving_one(info, options, FuzzService);
    let app = async {
        let (mut read, mut write) = app_end.into_split();
        let sending = async {
            send(&mut write).await;
            let _ = write.shutdown().await;
        };
        let mut answer = Vec::new();
        let (_, read) = tokio::join!(sending, read.read_to_end(&mut answer));
        // A reset connection still ends the exchange; what arrived before it is checked.
        drop(read);
        answer
    };
    let ((), answer) = tokio::join!(connection::serve(daemon_end, cx.clone()), app);
    cx.calls.close();
    cx.calls.wait().await;
    cx.tasks.close();
    cx.tasks.wait().await;
    answer
}

/// Checks that `bytes` is a sequence of whole, decodable daemon frames, `FATAL` only last.
fn check_daemon_answer(mut bytes: &[u8]) {
    let mut fatal_seen = false;
    while !bytes.is_empty() {
        assert!(!fatal_seen, "daemon sent frames after FATAL");
        assert!(bytes.len() >= PREFIX_LEN, "daemon sent a partial prefix");
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let body = bytes
            .get(PREFIX_LEN..PREFIX_LEN + len)
            .expect("daemon sent a partial frame");
        match ToApp::decode(&Bytes::copy_from_slice(body), usize::MAX) {
            Ok(ToApp::Fatal(_)) => fatal_seen = true,
            Ok(_) => {}
            Err(e) => panic!("daemon sent an undecodable frame: {e}"),
        }
        bytes = &bytes[PREFIX_LEN + len..];
    }
}

/// Connects a client to a peer that sends `input` (after a valid `WELCOME` when `handshake`)
/// and then closes, while the client calls a method and reads two event streams (one of them
/// of a model). Every outcome is fine except a panic or a hang: the calls must end and the
/// streams must finish.
pub fn feed_client(input: &[u8], handshake: bool) {
    block_on(async {
        let (app_end, daemon_end) = UnixStream::pair().expect("socketpair");
        let mut sent = Vec::with_capacity(input.len() + 32);
        if handshake {
            sent.extend_from_slice(&message::welcome());
        }
        sent.extend_from_slice(input);
        let daemon = tokio::spawn(async move {
            let (mut read, mut write) = daemon_end.into_split();
            let sending = async {
                let _ = write.write_all(&sent).await;
                let _ = write.shutdown().await;
            };
            // Drains what the client sends so its writes never block.
            let draining = async {
                let _ = read.read_to_end(&mut Vec::new()).await;
            };
            tokio::join!(sending, draining);
        });
        let options = ClientOptions {
            handshake_timeout: Duration::from_secs(60),
            ..ClientOptions::default()
        };
        if let Ok(client) = Client::start(&FUZZ, app_end, PathBuf::from("fuzz"), options).await {
            // Subscribing waits for the acknowledgement (if the input holds one) beside the
            // calls; a stream that was acknowledged is then read to its end.
            let (events, models, _, _, _) = futures::join!(
                client.subscribe::<(String, u64)>("tick"),
                client.subscribe::<(FuzzModel,)>("changed"),
                client.call::<_, IgnoredAny, NoException>("echo", &("x",)),
                client.call::<_, String, NoException>("echo", &("y",)),
                client.call::<_, FuzzModel, NoException>("model", &("m",)),
            );
            if let Ok(mut events) = events {
                while events.next().await.is_some() {}
            }
            if let Ok(mut models) = models {
                while models.next().await.is_some() {}
            }
        }
        daemon.await.expect("fake daemon task");
    });
}
