//! Shared test fixtures: a hand-written service (no code generation), a daemon on a socket in
//! its own temp dir, and raw-socket helpers for speaking (or abusing) the wire format.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use medium_runtime::{
    Call, CallRunner, Client, ClientOptions, Daemon, DaemonHandle, DaemonOptions, Dispatch,
    ExceptionSet, HandlerError, NoException, ProtocolInfo, RemoteException, Reply, Started,
    decode_args,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

pub const INFO: ProtocolInfo = ProtocolInfo {
    namespace: "com.example.test",
    class: "TestSystem",
    fingerprint: "3f2a9c1b00000000000000000000000000000000000000000000000000000000",
    socket_base: None,
    spec: "",
    events: &[
        "added", "removed", "ping", "big", "n", "tick", "news", "mine", "changed",
    ],
    access: &[],
    uses_fd: false,
};

/// The exceptions of the test protocol, as generated code would write them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestError {
    #[error("student not found: {0}")]
    StudentNotFound(String),
}

impl ExceptionSet for TestError {
    fn to_remote(&self) -> RemoteException {
        match self {
            TestError::StudentNotFound(m) => RemoteException {
                name: "StudentNotFound".into(),
                message: m.clone(),
            },
        }
    }
    fn from_remote(e: RemoteException) -> Result<Self, RemoteException> {
        match e.name.as_str() {
            "StudentNotFound" => Ok(TestError::StudentNotFound(e.message)),
            _ => Err(e),
        }
    }
}

/// What `whoami` answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct Whoami {
    pub app: u64,
    pub pid: Option<u32>,
    pub uid: u32,
    pub gid: u32,
    pub groups: Option<Vec<u32>>,
}

/// Runs of the `counted` method per key (tests run in parallel: each uses a key of its own).
static RUNS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

/// How many times `counted` ran with `key`.
pub fn runs(key: &str) -> usize {
    RUNS.lock()
        .unwrap()
        .as_ref()
        .and_then(|runs| runs.get(key).copied())
        .unwrap_or(0)
}

/// A service implemented directly against `Dispatch`, the way generated code does it.
pub struct TestService;

fn handle<A, T, F, Fut>(call: Call, f: F) -> BoxFuture<'static, Reply>
where
    A: serde::de::DeserializeOwned + Send + 'static,
    T: Serialize + 'static,
    F: FnOnce(Call, A) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, HandlerError<TestError>>> + Send + 'static,
{
    async move {
        match decode_args::<A>(call.args()) {
            Ok(args) => Reply::from_handler(f(call, args).await),
            Err(reply) => reply,
        }
    }
    .boxed()
}

impl Dispatch for TestService {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        let future = match call.method() {
            "echo_all" => handle(call, |_, (v,): (AllTypes,)| async move { Ok(v) }),
            "raw_args" => {
                let raw = serde_bytes::ByteBuf::from(call.args().to_vec());
                handle(
                    call,
                    move |_, _: serde::de::IgnoredAny| async move { Ok(raw) },
                )
            }
            "sleep" => handle(call, |_, (ms, tag): (u64, u32)| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(tag)
            }),
            "find" => handle(call, |_, (name,): (String,)| async move {
                Err::<(), _>(TestError::StudentNotFound(name).into())
            }),
            // Fails with a message of `len` bytes: an `EXCEPTION` or (`internal`) an `ERROR`.
            "fail_big" => handle(call, |_, (len, internal): (usize, bool)| async move {
                let message = "x".repeat(len);
                Err::<(), _>(if internal {
                    HandlerError::Internal(message)
                } else {
                    TestError::StudentNotFound(message).into()
                })
            }),
            "unfinished" => handle(call, |_, (): ()| async move {
                Err::<(), _>(HandlerError::NotImplemented {
                    method: "unfinished",
                })
            }),
            "broken" => handle(call, |_, (): ()| async move {
                Err::<(), _>(HandlerError::Internal("database is on fire".into()))
            }),
            "panic" => handle(call, |_, (): ()| async move {
                if true {
                    panic!("handler bug");
                }
                Ok(())
            }),
            // Panics after waiting `ms`, in the task the call moved to.
            "panic_later" => handle(call, |_, (ms,): (u64,)| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                if true {
                    panic!("handler bug after waiting");
                }
                Ok(())
            }),
            // Panics in `dispatch` itself, before any future exists.
            "panic_in_dispatch" => panic!("dispatch bug"),
            "panic_in_poll_and_drop" => return Some(runner.run(PanicsInPollAndDrop)),
            "whoami" => handle(call, |call, (): ()| async move {
                let creds = call.application().credentials();
                Ok(Whoami {
                    app: call.application().id().get(),
                    pid: creds.pid,
                    uid: creds.uid,
                    gid: creds.gid,
                    groups: call.application().groups().map(<[u32]>::to_vec),
                })
            }),
            "emit_to_me" => handle(call, |call, (event, value): (String, u32)| async move {
                let id = call.application().id();
                Ok(call.daemon().emit_to(id, &event, &(value,))?)
            }),
            // `len` zero bytes as event `big` to the caller: over the frame limit, `?` fails
            // the call.
            "emit_big_to_me" => handle(call, |call, (len,): (usize,)| async move {
                let id = call.application().id();
                let bytes = serde_bytes::ByteBuf::from(vec![0u8; len]);
                Ok(call.daemon().emit_to(id, "big", &(&bytes,))?)
            }),
            // Counts its runs under `key` (see `runs`) and answers `len` bytes.
            "counted" => handle(call, |_, (key, len): (String, usize)| async move {
                *RUNS
                    .lock()
                    .unwrap()
                    .get_or_insert_default()
                    .entry(key)
                    .or_default() += 1;
                Ok(serde_bytes::ByteBuf::from(vec![0u8; len]))
            }),
            _ => return None,
        };
        Some(runner.run(future))
    }
}

/// A handler future that panics when polled and again when dropped (a hand-written future can:
/// its poll's panic does not drop it).
struct PanicsInPollAndDrop;

impl Future for PanicsInPollAndDrop {
    type Output = Reply;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Reply> {
        panic!("handler bug in poll")
    }
}

impl Drop for PanicsInPollAndDrop {
    fn drop(&mut self) {
        panic!("handler bug in drop")
    }
}

/// Every MessagePack shape the spec language maps to, derived the way generated code does it:
/// through the runtime's re-exports only.
#[derive(
    Debug, Clone, PartialEq, medium_runtime::serde::Serialize, medium_runtime::serde::Deserialize,
)]
#[serde(crate = "medium_runtime::serde", deny_unknown_fields)]
pub struct AllTypes {
    pub flag: bool,
    pub i8_min: i8,
    pub u8_max: u8,
    pub i16_min: i16,
    pub u16_max: u16,
    pub i32_min: i32,
    pub u32_max: u32,
    pub i64_min: i64,
    pub u64_max: u64,
    pub float: f32,
    pub double: f64,
    pub text: String,
    #[serde(with = "medium_runtime::serde_bytes")]
    pub blob: Vec<u8>,
    pub grid: Vec<Vec<i32>>,
    pub inner: Inner,
    pub inners: Vec<Vec<Inner>>,
}

#[derive(
    Debug, Clone, PartialEq, medium_runtime::serde::Serialize, medium_runtime::serde::Deserialize,
)]
#[serde(crate = "medium_runtime::serde", deny_unknown_fields)]
pub struct Inner {
    pub name: String,
    pub tags: Vec<String>,
}

/// A daemon serving `TestService` on a socket in its own temp dir.
pub struct TestDaemon {
    pub handle: DaemonHandle,
    pub path: PathBuf,
    pub task: tokio::task::JoinHandle<Result<(), medium_runtime::Error>>,
    _dir: tempfile::TempDir,
}

impl TestDaemon {
    pub async fn start() -> TestDaemon {
        TestDaemon::start_with(DaemonOptions::default()).await
    }

    pub async fn start_with(options: DaemonOptions) -> TestDaemon {
        TestDaemon::start_full(options, async { Ok(()) }).await
    }

    pub async fn start_full(
        options: DaemonOptions,
        background: impl Future<Output = Result<(), medium_runtime::BoxError>> + Send + 'static,
    ) -> TestDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(INFO.namespace).join("socket");
        let daemon = Daemon::new(&INFO, TestService)
            .socket_path(&path)
            .options(options);
        let handle = daemon.handle();
        let task = tokio::spawn(daemon.serve_with(background));
        wait_for_socket(&path).await;
        TestDaemon {
            handle,
            path,
            task,
            _dir: dir,
        }
    }

    pub async fn client(&self) -> Client {
        Client::connect_to(&INFO, &self.path).await.unwrap()
    }

    pub async fn client_with(&self, options: ClientOptions) -> Client {
        let options = ClientOptions {
            socket_path: Some(self.path.clone()),
            ..options
        };
        Client::connect_with(&INFO, options).await.unwrap()
    }

    /// Asserts the daemon still answers `bystander` (connected before whatever the test did)
    /// and a client connecting now.
    pub async fn assert_still_serves(&self, bystander: &Client) {
        let tag: u32 = bystander
            .call::<_, _, NoException>("sleep", &(0u64, 1u32))
            .await
            .unwrap();
        assert_eq!(tag, 1);
        let newcomer = self.client().await;
        let tag: u32 = newcomer
            .call::<_, _, NoException>("sleep", &(0u64, 2u32))
            .await
            .unwrap();
        assert_eq!(tag, 2);
    }

    /// Waits until `n` applications are connected (handshakes finish asynchronously).
    pub async fn wait_for_apps(&self, n: usize) {
        eventually(|| self.handle.applications().len() == n).await;
    }
}

pub async fn wait_for_socket(path: &std::path::Path) {
    eventually(|| std::os::unix::net::UnixStream::connect(path).is_ok()).await;
}

/// Polls `condition` for up to 10 s.
pub async fn eventually(mut condition: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 10 s");
}

/// A frame with the 4-byte big-endian length prefix.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// The body of a valid hello for `INFO`.
pub fn hello_body() -> Vec<u8> {
    hello_body_speaking(2)
}

/// The body of a hello for `INFO` asking for wire version `version`.
pub fn hello_body_speaking(version: u64) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_array_len(&mut b, 6).unwrap();
    rmp::encode::write_uint(&mut b, 0).unwrap();
    rmp::encode::write_str(&mut b, "medium").unwrap();
    rmp::encode::write_uint(&mut b, version).unwrap();
    rmp::encode::write_str(&mut b, INFO.namespace).unwrap();
    rmp::encode::write_str(&mut b, INFO.class).unwrap();
    rmp::encode::write_str(&mut b, INFO.fingerprint).unwrap();
    b
}

/// Reads one frame body from a raw socket; `None` at end of stream.
pub async fn read_frame(stream: &mut UnixStream) -> Option<Vec<u8>> {
    let mut len = [0; 4];
    stream.read_exact(&mut len).await.ok()?;
    let mut body = vec![0; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// Plays a daemon's handshake by hand: accepts the next connection, reads its hello and
/// welcomes it (wire version 2), whatever it said.
pub async fn accept_and_welcome(listener: &tokio::net::UnixListener) -> UnixStream {
    let (mut s, _) = listener.accept().await.unwrap();
    read_frame(&mut s).await.unwrap();
    let mut welcome = vec![0x94, 0x00];
    rmp::encode::write_str(&mut welcome, "medium").unwrap();
    welcome.extend([0x02, 0xa1, b'x']);
    s.write_all(&frame(&welcome)).await.unwrap();
    s
}

/// The body of a SUBSCRIBE (`subscribe`) or UNSUBSCRIBE request.
pub fn subscription(id: u32, event: &str, subscribe: bool) -> Vec<u8> {
    let mut b = vec![0x93, if subscribe { 0x02 } else { 0x03 }];
    rmp::encode::write_uint(&mut b, u64::from(id)).unwrap();
    rmp::encode::write_str(&mut b, event).unwrap();
    b
}

/// Sends one subscription request and returns the daemon's answer.
pub async fn request(raw: &mut UnixStream, id: u32, event: &str, subscribe: bool) -> Vec<u8> {
    raw.write_all(&frame(&subscription(id, event, subscribe)))
        .await
        .unwrap();
    read_frame(raw).await.expect("an answer")
}

/// `VALUE [2, id, nil]`, as a daemon acknowledges a subscription (the body, without prefix).
pub fn acknowledgement(id: u64) -> Vec<u8> {
    let mut value = vec![0x93, 0x02];
    rmp::encode::write_uint(&mut value, id).unwrap();
    value.push(0xc0);
    value
}

/// Decodes `ERROR [4, id, code, message]`.
pub fn error(body: &[u8]) -> (u64, u32, String) {
    let mut r = body;
    assert_eq!(rmp::decode::read_array_len(&mut r).unwrap(), 4, "{body:?}");
    assert_eq!(rmp::decode::read_int::<u8, _>(&mut r).unwrap(), 4, "ERROR");
    let id = rmp::decode::read_int(&mut r).unwrap();
    let code = rmp::decode::read_int(&mut r).unwrap();
    let (message, _) = rmp::decode::read_str_from_slice(r).unwrap();
    (id, code, message.to_owned())
}

/// Connects a raw socket and completes the handshake by hand.
pub async fn raw_client(path: &std::path::Path) -> UnixStream {
    let mut stream = UnixStream::connect(path).await.unwrap();
    stream.write_all(&frame(&hello_body())).await.unwrap();
    let welcome = read_frame(&mut stream).await.unwrap();
    assert_eq!(&welcome[..2], &[0x94, 0x00], "expected a welcome");
    stream
}

/// The body of `CALL [1, id, method, args]` with `args` already encoded.
pub fn call_body(id: u64, method: &str, args: &[u8]) -> Vec<u8> {
    let mut b = vec![0x94, 0x01];
    rmp::encode::write_uint(&mut b, id).unwrap();
    rmp::encode::write_str(&mut b, method).unwrap();
    b.extend_from_slice(args);
    b
}

/// Sends a call on a raw connection and reads its reply's body.
pub async fn raw_call(s: &mut UnixStream, id: u64, method: &str, args: &[u8]) -> Vec<u8> {
    s.write_all(&frame(&call_body(id, method, args)))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), read_frame(s))
        .await
        .unwrap()
        .expect("a reply")
}

/// A daemon's reply or fatal error, as read from a raw socket.
#[derive(Debug, PartialEq)]
pub enum Answer {
    Value { id: u64, value: Vec<u8> },
    Error { id: u64, code: u32, message: String },
    Fatal { code: u32, message: String },
}

impl Answer {
    /// Parses a `VALUE`, `ERROR` or `FATAL` body.
    pub fn of(body: &[u8]) -> Answer {
        let mut r = body;
        rmp::decode::read_array_len(&mut r).unwrap();
        let kind: u8 = rmp::decode::read_int(&mut r).unwrap();
        let string = |r: &mut &[u8]| {
            let len = rmp::decode::read_str_len(r).unwrap() as usize;
            let (text, rest) = r.split_at(len);
            *r = rest;
            String::from_utf8(text.to_vec()).unwrap()
        };
        match kind {
            2 => Answer::Value {
                id: rmp::decode::read_int(&mut r).unwrap(),
                value: r.to_vec(),
            },
            4 => Answer::Error {
                id: rmp::decode::read_int(&mut r).unwrap(),
                code: rmp::decode::read_int(&mut r).unwrap(),
                message: string(&mut r),
            },
            7 => Answer::Fatal {
                code: rmp::decode::read_int(&mut r).unwrap(),
                message: string(&mut r),
            },
            other => panic!("unexpected message kind {other}: {body:02x?}"),
        }
    }
}

/// A fake daemon on a socket in its own temp dir: welcomes one client (without checking its
/// hello), then answers each frame body it receives with the bytes `answer` gives (whole
/// frames, or none).
pub struct FakeDaemon {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl FakeDaemon {
    pub fn start(mut answer: impl FnMut(&[u8]) -> Vec<u8> + Send + 'static) -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let listener = UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            let mut s = accept_and_welcome(&listener).await;
            while let Some(body) = read_frame(&mut s).await {
                let reply = answer(&body);
                if s.write_all(&reply).await.is_err() {
                    return;
                }
            }
        });
        FakeDaemon { path, _dir: dir }
    }
}
