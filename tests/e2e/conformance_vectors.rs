//! The conformance vectors of `tests/vectors/` (README.md there) against the Rust runtime.
//!
//! Daemon side: the protocol crate generated from `conformance.lmspc` and the reference daemon
//! of `fixtures/conformance/daemon.rs` are built and run; every session is played over a raw
//! Unix socket, every case of values.json is sent as an `echo_<type>` call, and every frame of
//! messages.json a daemon must reject is sent after a handshake. Application side: this test
//! plays a scripted daemon and `fixtures/conformance/app.rs`, the generated blocking client,
//! receives every case of values.json as a reply, the replies of messages.json and the frames a
//! client must reject; subscribed to an event (the SUBSCRIBE acknowledged), it receives the
//! cases of the events' parameter types and messages.json's EVENT and LAGGED as events, and an
//! ERROR 12 refusing the SUBSCRIBE.
//!
//! Each test plays every vector and reports every failing one (its name, the bytes sent, what
//! was expected and what came). `MEDIUM_VECTORS=<text>` plays only the vectors whose name
//! (`sessions/calls.json:call_returns_a_value`, `values:int8`, `messages:CALL truncated`, …)
//! contains the text.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use rmpv::Value;
use serde_json::{Value as Json, json};

use crate::support::descriptors::{Pipes, recv_with_fds, send_with_fds};
use crate::support::vectors::{
    self, Descriptors, decode_exactly_one, hex, mismatch, mismatch_with_fds, parse_bytes, show,
};
use crate::support::{FixturePrograms, Spawned, build_fixture_programs};

/// How long one expected frame (or the close) may take unless a step says otherwise.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// The reference daemon and the vectors' application, built once for both tests.
fn built() -> &'static FixturePrograms {
    static BUILT: OnceLock<FixturePrograms> = OnceLock::new();
    BUILT.get_or_init(|| {
        build_fixture_programs(
            "vectors-conformance",
            &vectors::vectors_dir().join("conformance.lmspc"),
            &[
                (
                    "src/daemon.rs",
                    include_str!("fixtures/conformance/daemon.rs"),
                ),
                ("src/app.rs", include_str!("fixtures/conformance/app.rs")),
            ],
            "rmp-serde = \"1\"\n",
        )
    })
}

/// Whether the vector `name` is to be played (`MEDIUM_VECTORS` holds part of its name).
fn selected(name: &str) -> bool {
    std::env::var("MEDIUM_VECTORS").map_or(true, |filter| name.contains(&filter))
}

/// Every failure of one test, reported together at its end.
#[derive(Default)]
struct Failures {
    played: usize,
    failed: Vec<String>,
}

impl Failures {
    fn check(&mut self, name: &str, outcome: Result<(), String>) {
        self.played += 1;
        if let Err(why) = outcome {
            self.failed.push(format!("{name}: {why}"));
        }
    }

    fn assert_none(self, what: &str) {
        if self.played == 0 {
            // Only possible with MEDIUM_VECTORS set: the other test holds the wanted vectors.
            eprintln!("no {what} vector matches MEDIUM_VECTORS");
            return;
        }
        assert!(
            self.failed.is_empty(),
            "{} of {} {what} vectors failed:\n\n{}",
            self.failed.len(),
            self.played,
            self.failed.join("\n\n")
        );
    }
}

/// One raw connection, with a log of the frames that crossed it for failure reports.
struct Peer {
    stream: UnixStream,
    log: Vec<String>,
    /// Descriptors received with the frame being read.
    fds: Vec<OwnedFd>,
}

/// A received frame: its body (`None`: the end of the stream) and the descriptors that came
/// with it.
struct Received {
    body: Option<Vec<u8>>,
    fds: Vec<OwnedFd>,
}

impl Peer {
    fn connect(path: &Path) -> Peer {
        Peer::new(UnixStream::connect(path).expect("the daemon accepts connections"))
    }

    fn new(stream: UnixStream) -> Peer {
        Peer {
            stream,
            log: Vec::new(),
            fds: Vec::new(),
        }
    }

    fn send(&mut self, body: &[u8], fds: &[OwnedFd]) -> Result<(), String> {
        let length = u32::try_from(body.len())
            .expect("a frame under 4 GiB")
            .to_be_bytes();
        self.send_raw(&[&length[..], body].concat(), fds)
    }

    /// Writes `bytes`, `fds` attached to the first of them in one `sendmsg` (PROTOCOL.md §3.1).
    fn send_raw(&mut self, bytes: &[u8], fds: &[OwnedFd]) -> Result<(), String> {
        let shown = if bytes.len() <= 256 {
            hex(bytes)
        } else {
            format!("{} … ({} bytes)", hex(&bytes[..64]), bytes.len())
        };
        let attached = if fds.is_empty() {
            String::new()
        } else {
            format!(" with {} descriptors", fds.len())
        };
        self.log.push(format!("sent     {shown}{attached}"));
        let borrowed: Vec<_> = fds.iter().map(AsFd::as_fd).collect();
        let mut sent = 0;
        // A daemon that already closed makes the write fail; what it sent is what matters.
        while sent < bytes.len() {
            let attach = if sent == 0 { &borrowed[..] } else { &[] };
            match send_with_fds(&self.stream, &bytes[sent..], attach) {
                Ok(n) => sent += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.log.push(format!("(write failed: {err})"));
                    break;
                }
            }
        }
        Ok(())
    }

    /// The next frame, with the descriptors that came while it was read.
    fn recv(&mut self, timeout: Duration) -> Result<Received, String> {
        self.stream
            .set_read_timeout(Some(timeout))
            .expect("a timeout can be set");
        let mut prefix = [0; 4];
        match self.read_all(&mut prefix) {
            Ok(0) => {
                self.log.push("received end of stream".to_owned());
                return Ok(self.received(None));
            }
            Ok(4) => {}
            Ok(n) => {
                return Err(format!(
                    "the stream ended after {n} bytes of a length prefix"
                ));
            }
            Err(err) => return Err(format!("nothing came within {timeout:?} ({err})")),
        }
        let mut body = vec![0; u32::from_be_bytes(prefix) as usize];
        match self.read_all(&mut body) {
            Ok(n) if n == body.len() => {
                let attached = if self.fds.is_empty() {
                    String::new()
                } else {
                    format!(" with {} descriptors", self.fds.len())
                };
                self.log.push(format!("received {}{attached}", hex(&body)));
                Ok(self.received(Some(body)))
            }
            Ok(n) => Err(format!("the stream ended after {n} bytes of a frame")),
            Err(err) => Err(format!("a frame's body did not come ({err})")),
        }
    }

    fn received(&mut self, body: Option<Vec<u8>>) -> Received {
        Received {
            body,
            fds: std::mem::take(&mut self.fds),
        }
    }

    /// Reads until `buffer` is full or the stream ends; how many bytes came. A reset
    /// connection counts as its end (the daemon closed with our bytes unread).
    fn read_all(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < buffer.len() {
            match recv_with_fds(&self.stream, &mut buffer[filled..]) {
                Ok((0, fds)) => {
                    self.fds.extend(fds);
                    break;
                }
                Ok((n, fds)) => {
                    self.fds.extend(fds);
                    filled += n;
                }
                Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(filled)
    }

    fn report(&self, why: String) -> String {
        format!("{why}\n    frames:\n      {}", self.log.join("\n      "))
    }
}

/// Why the frame `received` (its body `None`: end of stream) does not match `pattern`, the
/// descriptors that came with it compared with `pipes`.
fn frame_mismatch(
    pattern: &Json,
    received: &Received,
    pipes: &Pipes,
    fingerprint: &str,
) -> Option<String> {
    let Some(body) = &received.body else {
        return Some(format!("expected {pattern}, got the end of the connection"));
    };
    let same = |index: usize, pipe: u64| pipes.is(received.fds[index].as_fd(), pipe);
    let fds = Descriptors::new(received.fds.len(), &same);
    match decode_exactly_one(body) {
        Ok(value) => {
            mismatch_with_fds(pattern, &value, fingerprint, "$", &fds).or_else(|| fds.unnamed())
        }
        Err(why) => Some(format!("expected {pattern}, got a malformed frame ({why})")),
    }
}

/// Plays one step; `Err` says why it failed. `pipes` are the session's.
fn play_step(
    peer: &mut Peer,
    step: &Json,
    pipes: &mut Pipes,
    fingerprint: &str,
) -> Result<(), String> {
    let timeout = step["within_ms"]
        .as_u64()
        .map_or(STEP_TIMEOUT, Duration::from_millis);
    let attached = |pipes: &mut Pipes| {
        let count = step["fds"].as_u64().unwrap_or(0);
        pipes.attach(usize::try_from(count).expect("a few descriptors"))
    };
    if let Some(send) = step["send"].as_str() {
        // The write ends are dropped (closed) once sent.
        return peer.send(&parse_bytes(send, fingerprint), &attached(pipes));
    }
    if let Some(raw) = step["send_raw"].as_str() {
        return peer.send_raw(&parse_bytes(raw, fingerprint), &attached(pipes));
    }
    if !step["recv"].is_null() || step.get("recv").is_some() {
        let received = peer.recv(timeout)?;
        return frame_mismatch(&step["recv"], &received, pipes, fingerprint).map_or(Ok(()), Err);
    }
    if let Some(expected) = step["recv_any_order"].as_array() {
        let mut left: Vec<&Json> = expected.iter().collect();
        while !left.is_empty() {
            let received = peer.recv(timeout)?;
            let at = left
                .iter()
                .position(|p| frame_mismatch(p, &received, pipes, fingerprint).is_none());
            match at {
                Some(at) => {
                    left.remove(at);
                }
                None => {
                    let got = received
                        .body
                        .map_or("the end of the connection".to_owned(), |b| {
                            decode_exactly_one(&b).map_or_else(|why| why, |v| show(&v))
                        });
                    return Err(format!(
                        "{got} (with {} descriptors) matches none of {}",
                        received.fds.len(),
                        json!(left)
                    ));
                }
            }
        }
        return Ok(());
    }
    if step["expect"] == "closed" {
        return match peer.recv(timeout)?.body {
            None => Ok(()),
            Some(body) => Err(format!(
                "expected the connection to close, got {}",
                hex(&body)
            )),
        };
    }
    if let Some(pipe) = step["pipe"].as_u64() {
        let pipe = usize::try_from(pipe).expect("a pipe number");
        let wanted = parse_bytes(step["holds"].as_str().expect("holds bytes"), "");
        let held = pipes.holds(pipe, timeout)?;
        return (held == wanted)
            .then_some(())
            .ok_or_else(|| format!("pipe {pipe} held {}, not {}", hex(&held), hex(&wanted)));
    }
    panic!("unknown step {step}")
}

/// Plays `steps` to the daemon at `path`, each on its connection (`"on"`, default `a`, opened
/// when first used).
fn play(path: &Path, steps: &[Json], fingerprint: &str) -> Result<(), String> {
    let mut peers: Vec<(&str, Peer)> = Vec::new();
    let mut pipes = Pipes::default();
    for (index, step) in steps.iter().enumerate() {
        let on = step["on"].as_str().unwrap_or("a");
        let at = match peers.iter().position(|(name, _)| *name == on) {
            Some(at) => at,
            None => {
                peers.push((on, Peer::connect(path)));
                peers.len() - 1
            }
        };
        let peer = &mut peers[at].1;
        play_step(peer, step, &mut pipes, fingerprint)
            .map_err(|why| peer.report(format!("step {index} {step} on {on}: {why}")))?;
    }
    Ok(())
}

/// The handshake every generated session starts with: the first two steps of the first
/// session of handshake.json.
fn handshake() -> Vec<Json> {
    let sessions = vectors::load("sessions/handshake.json");
    sessions["sessions"][0]["steps"].as_array().expect("steps")[..2].to_vec()
}

/// A CALL body: `[1, id, method, <args>]`, the id as uint 64.
fn call_body(id: u64, method: &str, args: &[u8]) -> Vec<u8> {
    let mut body = vec![0x94, 0x01, 0xcf];
    body.extend_from_slice(&id.to_be_bytes());
    rmpv::encode::write_value(&mut body, &Value::from(method)).expect("writing to a Vec");
    body.extend_from_slice(args);
    body
}

/// A call's expected outcome in values.json terms.
enum Expected<'a> {
    Value(&'a Json),
    /// Rejected, a daemon answering `ERROR` with this code.
    Rejected(u64),
}

/// One case of values.json: its bytes, what it must give, and how many pipes' write ends
/// travel with it.
struct Case<'a> {
    name: String,
    bytes: Vec<u8>,
    expected: Expected<'a>,
    fds: usize,
}

/// The accepted, then the rejected cases of one values.json entry.
fn cases(entry: &Json) -> Vec<Case<'_>> {
    let case = |case: &Json, expected| Case {
        name: case["name"].as_str().expect("a name").to_owned(),
        bytes: parse_bytes(case["bytes"].as_str().expect("bytes"), ""),
        expected,
        fds: case["fds"]
            .as_u64()
            .map_or(0, |n| usize::try_from(n).expect("a few descriptors")),
    };
    let accepted = entry["accepted"].as_array().expect("accepted cases");
    let rejected = entry["rejected"].as_array().expect("rejected cases");
    accepted
        .iter()
        .map(|c| case(c, Expected::Value(&c["value"])))
        .chain(rejected.iter().map(|c| {
            let code = c["code"].as_u64().unwrap_or(2);
            case(c, Expected::Rejected(code))
        }))
        .collect()
}

/// Sends each case (its bytes the whole `args`) as a call of `method` on one connection, its
/// pipes' write ends attached (a rejected one must keep the connection open): a value comes
/// back as `VALUE`, a rejected one as `ERROR` with its code; and the daemon keeps none of a
/// case's descriptors (every pipe ends once what came back is closed).
fn play_calls(
    path: &Path,
    method: &str,
    calls: &[Case<'_>],
    fingerprint: &str,
) -> Result<(), String> {
    let mut peer = Peer::connect(path);
    for step in handshake() {
        play_step(&mut peer, &step, &mut Pipes::default(), fingerprint)
            .map_err(|why| peer.report(why))?;
    }
    let mut failed = Vec::new();
    for (id, case) in (1..).zip(calls) {
        let body = call_body(id, method, &case.bytes);
        let mut pipes = Pipes::default();
        peer.send(&body, &pipes.attach(case.fds))?;
        let pattern = match case.expected {
            Expected::Value(value) => json!([2, id, value]),
            Expected::Rejected(code) => json!([4, id, code, {"any": "str"}]),
        };
        let reply = peer.recv(STEP_TIMEOUT)?;
        let why = frame_mismatch(&pattern, &reply, &pipes, fingerprint);
        let ended = reply.body.is_none();
        drop(reply); // closes what came back, so that the pipes can end
        let why = why.or_else(|| {
            (0..pipes.len()).find_map(|pipe| match pipes.holds(pipe, STEP_TIMEOUT) {
                Ok(held) if held.is_empty() => None,
                Ok(held) => Some(format!("pipe {pipe} held {}", hex(&held))),
                Err(why) => Some(why),
            })
        });
        if let Some(why) = why {
            let name = &case.name;
            failed.push(format!(
                "case {name:?}: sent {} with {} descriptors: {why}",
                hex(&body),
                case.fds
            ));
        }
        if ended {
            break;
        }
    }
    cases_outcome(&failed, calls.len())
}

/// `Ok` when no case of `total` failed, else the list of the failed ones.
fn cases_outcome(failed: &[String], total: usize) -> Result<(), String> {
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {total} cases failed:\n  {}",
            failed.len(),
            failed.join("\n  ")
        ))
    }
}

#[test]
fn conformance_vectors_hold_for_the_rust_daemon() {
    let built = built();
    let fingerprint = built.fingerprint.as_str();
    let sockets = tempfile::tempdir().expect("socket dir");
    let path = sockets.path().join("conformance.sock");
    let mut daemon = Spawned::spawn("conformance daemon", Command::new(&built.daemon).arg(&path));
    daemon.wait_for_line("ready line", |line| line == "ready");
    let mut failures = Failures::default();

    for file in vectors::session_files() {
        for session in vectors::load(&file)["sessions"]
            .as_array()
            .expect("sessions")
        {
            let name = format!("{file}:{}", session["name"].as_str().expect("a name"));
            if selected(&name) {
                let steps = session["steps"].as_array().expect("steps");
                failures.check(&name, play(&path, steps, fingerprint));
            }
        }
    }

    let values = vectors::load("values.json");
    for entry in values["types"].as_array().expect("types") {
        let name = format!("values:{}", entry["type"].as_str().expect("a type"));
        let method = entry["method"].as_str().expect("a method");
        if method != "ping" && selected(&name) {
            let calls: Vec<_> = cases(entry)
                .into_iter()
                .map(|case| Case {
                    bytes: [&[0x91][..], &case.bytes].concat(),
                    ..case
                })
                .collect();
            failures.check(&name, play_calls(&path, method, &calls, fingerprint));
        }
    }
    for (outcome, expected) in [("accepted", true), ("rejected", false)] {
        for case in values["arguments"][outcome].as_array().expect("arguments") {
            let name = format!(
                "values:arguments:{}",
                case["name"].as_str().expect("a name")
            );
            if selected(&name) {
                let args = parse_bytes(case["args"].as_str().expect("args"), "");
                let expected = if expected {
                    Expected::Value(&case["reply"])
                } else {
                    Expected::Rejected(2)
                };
                let method = case["method"].as_str().expect("a method");
                let calls = [Case {
                    name: name.clone(),
                    bytes: args,
                    expected,
                    fds: 0,
                }];
                failures.check(&name, play_calls(&path, method, &calls, fingerprint));
            }
        }
    }

    // Frames that are not one well-formed message: FATAL 6, then the daemon closes.
    let messages = vectors::load("messages.json");
    let malformed_values = values["malformed"].as_array().expect("malformed values");
    let malformed_args = malformed_values.iter().map(|case| {
        let value = parse_bytes(case["bytes"].as_str().expect("bytes"), "");
        let method = case["method"].as_str().expect("a method");
        (case, call_body(1, method, &[&[0x91][..], &value].concat()))
    });
    let rejected = messages["rejected_by_daemon"].as_array().expect("rejected");
    let rejected = rejected.iter().map(|case| {
        (
            case,
            parse_bytes(case["bytes"].as_str().expect("bytes"), fingerprint),
        )
    });
    for (source, (case, body)) in std::iter::repeat("values:malformed")
        .zip(malformed_args)
        .chain(std::iter::repeat("messages:rejected_by_daemon").zip(rejected))
    {
        let name = format!("{source}:{}", case["name"].as_str().expect("a name"));
        if selected(&name) {
            let mut steps = handshake();
            steps.push(json!({"send": hex(&body)}));
            steps.push(json!({"recv": [7, 6, {"any": "str"}]}));
            steps.push(json!({"expect": "closed"}));
            failures.check(&name, play(&path, &steps, fingerprint));
        }
    }
    assert!(daemon.is_running(), "the daemon stopped");
    failures.assert_none("daemon");
}

/// What the scripted daemon answers a request with.
enum Answer {
    /// `VALUE [2, <the request's id>, <these bytes>]`, with these descriptors.
    Value(Vec<u8>, Vec<OwnedFd>),
    /// This frame body as it is.
    Frame(Vec<u8>),
    /// `VALUE [2, <the request's id>, nil]`, then these frame bodies (with their descriptors),
    /// then the end of the connection (which ends the application's event streams).
    AckThenClose(Vec<(Vec<u8>, Vec<OwnedFd>)>),
}

/// What the scripted daemon saw and did, for checks and failure reports.
struct Served {
    /// The bodies of the requests the application sent after its HELLO.
    requests: Vec<Vec<u8>>,
    /// Every frame both ways, from the daemon's side.
    frames: Vec<String>,
}

/// A daemon that is a script: accepts one connection, answers the HELLO with `welcome`, then
/// the n-th request with `answers[n]` (and any later one with `VALUE nil`), until the
/// application closes. Returns the socket path and the thread serving it.
fn scripted_daemon(
    folder: &Path,
    welcome: Vec<u8>,
    answers: Vec<Answer>,
) -> (PathBuf, std::thread::JoinHandle<Served>) {
    let path = folder.join("scripted.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).expect("the scripted daemon binds");
    let serving = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the app connects");
        let mut peer = Peer::new(stream);
        let mut requests = Vec::new();
        let next_request = |peer: &mut Peer, timeout: Duration| {
            // What the app attached to its arguments is closed here.
            peer.recv(timeout).ok().and_then(|received| received.body)
        };
        if next_request(&mut peer, Duration::from_secs(30)).is_some() {
            peer.send(&welcome, &[]).expect("writes are never refused");
            let mut answers = answers.into_iter();
            while let Some(request) = next_request(&mut peer, Duration::from_secs(60)) {
                let id = match decode_exactly_one(&request) {
                    Ok(Value::Array(items)) => items.get(1).and_then(Value::as_u64).unwrap_or(0),
                    _ => 0,
                };
                requests.push(request);
                let nil = || (value_frame(id, &[0xc0]), Vec::new());
                let (frames, then_close) = match answers.next() {
                    Some(Answer::Frame(body)) => (vec![(body, Vec::new())], false),
                    Some(Answer::Value(value, fds)) => {
                        (vec![(value_frame(id, &value), fds)], false)
                    }
                    Some(Answer::AckThenClose(events)) => {
                        (std::iter::once(nil()).chain(events).collect(), true)
                    }
                    None => (vec![nil()], false),
                };
                for (frame, fds) in frames {
                    peer.send(&frame, &fds).expect("writes are never refused");
                }
                if then_close {
                    break;
                }
            }
        }
        Served {
            requests,
            frames: peer.log,
        }
    });
    (path, serving)
}

fn value_frame(id: u64, value: &[u8]) -> Vec<u8> {
    let mut body = vec![0x93, 0x02, 0xcf];
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(value);
    body
}

/// One run of the vectors' app against a scripted daemon.
struct AppRun {
    /// What the app printed, line by line.
    lines: Vec<String>,
    served: Served,
}

/// Runs the vectors' app with `args` after the socket path, against a scripted daemon
/// answering with `welcome` and `answers`.
fn run_app(welcome: &[u8], args: &[&str], answers: Vec<Answer>) -> AppRun {
    let folder = tempfile::tempdir().expect("socket dir");
    let (path, serving) = scripted_daemon(folder.path(), welcome.to_vec(), answers);
    // Spawned, so an app that never ends fails the test instead of hanging it.
    let mut app = Spawned::spawn(
        "conformance app",
        Command::new(&built().app).arg(&path).args(args),
    );
    let (status, lines, stderr) = app.wait_for_exit();
    // The app connected (then the daemon ends with it) or failed before: unblock the accept.
    let _ = UnixStream::connect(&path);
    let served = serving.join().expect("the scripted daemon does not panic");
    assert!(status.success(), "the app failed:\n{stderr}");
    AppRun { lines, served }
}

/// The lines the vectors' app prints for `calls` calls of `method`, answered by `answers`.
fn app_lines(welcome: &[u8], method: &str, calls: usize, answers: Vec<Answer>) -> Vec<String> {
    run_app(welcome, &[method, &calls.to_string()], answers).lines
}

/// A named body of messages.json's `daemon_to_app`.
fn daemon_message(messages: &Json, name: &str) -> Vec<u8> {
    let message = messages["daemon_to_app"]
        .as_array()
        .expect("daemon_to_app")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no daemon_to_app message {name:?}"));
    parse_bytes(message["bytes"].as_str().expect("bytes"), "")
}

#[test]
fn conformance_vectors_hold_for_the_rust_client() {
    let messages = vectors::load("messages.json");
    let welcome = daemon_message(&messages, "WELCOME");
    let mut failures = Failures::default();

    // Every values.json case as the VALUE of a call: accepted ones decode to their value,
    // rejected ones fail that call only; a last call answered with the first accepted case
    // shows the connection went on.
    let values = vectors::load("values.json");
    for entry in values["types"].as_array().expect("types") {
        let name = format!("values:{}", entry["type"].as_str().expect("a type"));
        if !selected(&name) {
            continue;
        }
        let cases = app_cases(entry, <[u8]>::to_vec, Json::clone);
        let mut pipes: Vec<Pipes> = cases.iter().map(|_| Pipes::default()).collect();
        let answers = cases
            .iter()
            .zip(&mut pipes)
            .map(|(case, pipes)| Answer::Value(case.sent.clone(), pipes.attach(case.fds)))
            .collect();
        let method = entry["method"].as_str().expect("a method");
        let lines = app_lines(&welcome, method, cases.len(), answers);
        failures.check(&name, lines_outcome(&cases, &pipes, &lines));
    }

    // A frame a client must reject in place of the reply to `ping` (id 1): the call fails and
    // the connection is closed, so the next call fails too.
    let malformed_values = values["malformed"].as_array().expect("malformed values");
    let malformed_values = malformed_values.iter().map(|case| {
        let value = parse_bytes(case["bytes"].as_str().expect("bytes"), "");
        (
            format!(
                "values:malformed:{}",
                case["name"].as_str().expect("a name")
            ),
            [&[0x93, 0x02, 0x01][..], &value].concat(),
        )
    });
    let rejected = messages["rejected_by_client"].as_array().expect("rejected");
    let rejected = rejected.iter().map(|case| {
        (
            format!(
                "messages:rejected_by_client:{}",
                case["name"].as_str().expect("a name")
            ),
            parse_bytes(case["bytes"].as_str().expect("bytes"), ""),
        )
    });
    for (name, body) in malformed_values.chain(rejected) {
        if selected(&name) {
            let lines = app_lines(&welcome, "ping", 2, vec![Answer::Frame(body.clone())]);
            let outcome = match &lines[..] {
                [first, second] if !first.starts_with("ok") && second.starts_with("closed") => {
                    Ok(())
                }
                _ => Err(format!(
                    "sent {}: expected a failed call, then a closed connection, got {lines:?}",
                    hex(&body)
                )),
            };
            failures.check(&name, outcome);
        }
    }

    // The replies of messages.json, as the client reports them.
    for (message, method, expected) in [
        ("VALUE", "echo_string", "ok a26869"),
        ("VALUE nil, id as uint 64", "ping", "ok c0"),
        ("EXCEPTION", "raise_failure", "exception Failure boom"),
        (
            "EXCEPTION with the reserved fifth element",
            "raise_failure",
            "exception Failure boom",
        ),
        ("ERROR", "ping", "error 2 bad arguments"),
        ("ERROR unknown_event", "ping", "error 12 no event `nope`"),
        (
            "ERROR with a code unknown to the receiver",
            "ping",
            "error 200 new",
        ),
    ] {
        let name = format!("messages:daemon_to_app:{message}");
        if selected(&name) {
            let answer = Answer::Frame(daemon_message(&messages, message));
            let lines = app_lines(&welcome, method, 1, vec![answer]);
            let outcome = (lines == [expected])
                .then_some(())
                .ok_or_else(|| format!("expected [{expected:?}], got {lines:?}"));
            failures.check(&name, outcome);
        }
    }
    for fatal in ["FATAL malformed", "FATAL handshake_timeout"] {
        let name = format!("messages:daemon_to_app:{fatal}");
        if selected(&name) {
            let answer = Answer::Frame(daemon_message(&messages, fatal));
            let lines = app_lines(&welcome, "ping", 2, vec![answer]);
            let outcome = match &lines[..] {
                [first, second] if first.starts_with("closed") && second.starts_with("closed") => {
                    Ok(())
                }
                _ => Err(format!("expected two closed calls, got {lines:?}")),
            };
            failures.check(&name, outcome);
        }
    }
    let name = "messages:daemon_to_app:WELCOME with a future trailing element";
    if selected(name) {
        let welcome = daemon_message(&messages, "WELCOME with a future trailing element");
        let lines = app_lines(&welcome, "ping", 1, Vec::new());
        let outcome = (lines == ["ok c0"])
            .then_some(())
            .ok_or_else(|| format!("{lines:?}"));
        failures.check(name, outcome);
    }
    let name = "messages:daemon_to_app:REFUSED handshake_mismatch";
    if selected(name) {
        let refused = daemon_message(&messages, "REFUSED handshake_mismatch");
        let lines = app_lines(&refused, "ping", 1, Vec::new());
        let outcome = (lines.len() == 1 && lines[0].starts_with("connect "))
            .then_some(())
            .ok_or_else(|| format!("expected the connection to fail, got {lines:?}"));
        failures.check(name, outcome);
    }
    check_events(&welcome, &messages, &values, &mut failures);
    failures.assert_none("client");
}

/// A values.json type that is a parameter of an event of conformance.lmspc, and the EVENT its
/// cases travel in: `[5, event, [<before>, <the case>, <after>]]`. The other arguments are
/// given as bytes and as the pattern of what the stream yields for them.
struct EventParameter {
    type_name: &'static str,
    event: &'static str,
    before: &'static [(&'static str, &'static str)],
    after: &'static [(&'static str, &'static str)],
}

const EVENT_PARAMETERS: [EventParameter; 4] = [
    EventParameter {
        type_name: "string",
        event: "fired",
        before: &[],
        after: &[("07", "7")],
    },
    EventParameter {
        type_name: "int64",
        event: "fired",
        before: &[("a2 'hi'", "\"hi\"")],
        after: &[],
    },
    EventParameter {
        type_name: "Everything",
        event: "recorded",
        before: &[],
        after: &[],
    },
    EventParameter {
        type_name: "fd",
        event: "handed",
        before: &[],
        after: &[],
    },
];

/// The client's side of events: a SUBSCRIBE the daemon acknowledges makes a stream that yields
/// each EVENT's arguments (values.json's cases of the events' parameter types, and argument
/// arrays for `fire`, whose parameters are `fired`'s), a decode error for a rejected one with
/// the stream going on, and messages.json's LAGGED as a lagged count; an ERROR 12 to the
/// SUBSCRIBE is the error naming the event, the connection going on.
fn check_events(welcome: &[u8], messages: &Json, values: &Json, failures: &mut Failures) {
    for parameter in &EVENT_PARAMETERS {
        let name = format!(
            "values:{} in EVENT {}",
            parameter.type_name, parameter.event
        );
        if !selected(&name) {
            continue;
        }
        let entry = values["types"]
            .as_array()
            .expect("types")
            .iter()
            .find(|entry| entry["type"] == parameter.type_name)
            .unwrap_or_else(|| panic!("no values.json type {}", parameter.type_name));
        let arguments = |bytes: &[u8]| {
            let count = parameter.before.len() + 1 + parameter.after.len();
            let mut args = vec![0x90 | u8::try_from(count).expect("a few arguments")];
            for (other, _) in parameter.before {
                args.extend(parse_bytes(other, ""));
            }
            args.extend_from_slice(bytes);
            for (other, _) in parameter.after {
                args.extend(parse_bytes(other, ""));
            }
            args
        };
        let pattern = |value: &Json| {
            let other = |(_, pattern): &(&str, &str)| {
                serde_json::from_str::<Json>(pattern).expect("a JSON pattern")
            };
            let mut items: Vec<Json> = parameter.before.iter().map(other).collect();
            items.push(value.clone());
            items.extend(parameter.after.iter().map(other));
            Json::Array(items)
        };
        let body = |bytes: &[u8]| event_body(parameter.event, &arguments(bytes));
        let events = app_cases(entry, body, pattern);
        failures.check(&name, play_events(welcome, parameter.event, &events));
    }

    // Whole argument arrays of `fire` as `fired`'s: an accepted one yields its arguments (a
    // str and an int, which `show` writes as their pattern), a rejected one a decode error;
    // messages.json's EVENT after it shows the stream went on.
    let event = daemon_message(messages, "EVENT");
    let event_item = || Line::Value(message_value(messages, "EVENT")[2].clone());
    for (outcome, accepted) in [("accepted", true), ("rejected", false)] {
        let cases = values["arguments"][outcome].as_array().expect("arguments");
        for case in cases.iter().filter(|case| case["method"] == "fire") {
            let case_name = case["name"].as_str().expect("a name");
            let name = format!("values:arguments:{case_name}, as EVENT fired");
            if !selected(&name) {
                continue;
            }
            let args = parse_bytes(case["args"].as_str().expect("args"), "");
            let item = if accepted {
                let value = decode_exactly_one(&args).expect("accepted arguments decode");
                Line::Value(serde_json::from_str(&show(&value)).expect("show writes JSON"))
            } else {
                Line::Decode
            };
            let events = [
                AppCase::new(case_name, event_body("fired", &args), item),
                AppCase::new("messages.json's EVENT", event.clone(), event_item()),
            ];
            failures.check(&name, play_events(welcome, "fired", &events));
        }
    }

    let name = "messages:daemon_to_app:EVENT";
    if selected(name) {
        let events = [AppCase::new("EVENT", event.clone(), event_item())];
        failures.check(name, play_events(welcome, "fired", &events));
    }
    // LAGGED counts for every stream; the client reports it before the next event.
    let name = "messages:daemon_to_app:LAGGED";
    if selected(name) {
        let dropped = message_value(messages, "LAGGED")[1]
            .as_u64()
            .expect("LAGGED's count");
        let events = [
            AppCase::new(
                "LAGGED",
                daemon_message(messages, "LAGGED"),
                Line::Lagged(dropped),
            ),
            AppCase::new("EVENT", event.clone(), event_item()),
        ];
        failures.check(name, play_events(welcome, "fired", &events));
    }

    let name = "messages:daemon_to_app:ERROR unknown_event, to a SUBSCRIBE";
    if selected(name) {
        let refusal = message_value(messages, "ERROR unknown_event");
        let expected = [
            format!(
                "refused fired {} {}",
                refusal[2],
                refusal[3].as_str().expect("a message")
            ),
            "ok c0".to_owned(),
        ];
        let answer = Answer::Frame(daemon_message(messages, "ERROR unknown_event"));
        let run = run_app(welcome, &["subscribe", "fired"], vec![answer]);
        let outcome = subscribe_mismatch(&run, "fired")
            .or_else(|| {
                (run.lines != expected).then(|| {
                    format!(
                        "expected the error naming the event, then a ping answered: \
                         {expected:?}, got {:?}",
                        run.lines
                    )
                })
            })
            .map_or(Ok(()), |why| Err(served_report(why, &run.served)));
        failures.check(name, outcome);
    }
}

/// `EVENT [5, event, <args>]`.
fn event_body(event: &str, args: &[u8]) -> Vec<u8> {
    let mut body = vec![0x93, 0x05];
    rmpv::encode::write_value(&mut body, &Value::from(event)).expect("writing to a Vec");
    body.extend_from_slice(args);
    body
}

/// The value of messages.json's `daemon_to_app` message `name`.
fn message_value<'a>(messages: &'a Json, name: &str) -> &'a Json {
    &messages["daemon_to_app"]
        .as_array()
        .expect("daemon_to_app")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no daemon_to_app message {name:?}"))["value"]
}

/// Subscribes the app to `event`; the scripted daemon acknowledges, sends each frame of
/// `events` and closes. Checks that the stream yields each item, in order, then ends.
fn play_events(welcome: &[u8], event: &str, events: &[AppCase]) -> Result<(), String> {
    let mut pipes: Vec<Pipes> = events.iter().map(|_| Pipes::default()).collect();
    let frames = events
        .iter()
        .zip(&mut pipes)
        .map(|(case, pipes)| (case.sent.clone(), pipes.attach(case.fds)))
        .collect();
    let run = run_app(
        welcome,
        &["subscribe", event],
        vec![Answer::AckThenClose(frames)],
    );
    if let Some(why) = subscribe_mismatch(&run, event) {
        return Err(served_report(why, &run.served));
    }
    let items = match &run.lines[..] {
        [first, items @ .., last] if first == "subscribed" && last == "end" => items,
        lines => {
            return Err(served_report(
                format!("expected `subscribed`, a line per item, `end`; got {lines:?}"),
                &run.served,
            ));
        }
    };
    lines_outcome(events, &pipes, items)
}

/// Why the app's first request is not a SUBSCRIBE of `event` (`[2, id, event]`).
fn subscribe_mismatch(run: &AppRun, event: &str) -> Option<String> {
    let Some(first) = run.served.requests.first() else {
        return Some("the app sent no request".to_owned());
    };
    let pattern = json!([2, {"any": "int"}, event]);
    match decode_exactly_one(first) {
        Ok(request) => mismatch(&pattern, &request, "", "$")
            .map(|why| format!("the first request is not a SUBSCRIBE of {event}: {why}")),
        Err(why) => Some(format!("the first request is malformed: {why}")),
    }
}

/// `why`, then the frames the scripted daemon saw.
fn served_report(why: String, served: &Served) -> String {
    format!(
        "{why}\n    frames (scripted daemon's side):\n      {}",
        served.frames.join("\n      ")
    )
}

/// What the app prints for one case.
enum Line {
    /// `ok <value>`, the value matching this pattern.
    Value(Json),
    /// `decode <why>`: the case was rejected, failing only its call or its stream's item.
    Decode,
    /// `lagged <dropped>`.
    Lagged(u64),
}

/// One case played to the app: its name, the body or value sent (with `fds` pipes' write ends),
/// what the app must print.
struct AppCase {
    name: String,
    sent: Vec<u8>,
    line: Line,
    fds: usize,
}

impl AppCase {
    fn new(name: &str, sent: Vec<u8>, line: Line) -> AppCase {
        AppCase {
            name: name.to_owned(),
            sent,
            line,
            fds: 0,
        }
    }
}

/// The cases of a values.json entry as `wrap` sends them, each accepted value as the pattern
/// `expect` makes of it; then the first (accepted) case again, showing that the connection or
/// stream went on after the rejected ones.
fn app_cases(
    entry: &Json,
    wrap: impl Fn(&[u8]) -> Vec<u8>,
    expect: impl Fn(&Json) -> Json,
) -> Vec<AppCase> {
    let mut played: Vec<AppCase> = cases(entry)
        .into_iter()
        .map(|case| AppCase {
            line: match case.expected {
                Expected::Value(value) => Line::Value(expect(value)),
                Expected::Rejected(_) => Line::Decode,
            },
            sent: wrap(&case.bytes),
            name: case.name,
            fds: case.fds,
        })
        .collect();
    let first = cases(entry).swap_remove(0);
    let Expected::Value(value) = first.expected else {
        panic!("the first case of {} is accepted", entry["type"]);
    };
    played.push(AppCase {
        name: format!("{} again, last", first.name),
        sent: wrap(&first.bytes),
        line: Line::Value(expect(value)),
        fds: first.fds,
    });
    played
}

/// Whether the app printed for each case the line it must, and nothing more; `pipes[i]` are
/// the pipes case `i` attached.
fn lines_outcome(cases: &[AppCase], pipes: &[Pipes], lines: &[String]) -> Result<(), String> {
    let mut failed = Vec::new();
    for (index, (case, pipes)) in cases.iter().zip(pipes).enumerate() {
        let line = lines.get(index).map_or("(no line)", String::as_str);
        let why = match &case.line {
            Line::Value(pattern) => value_line_mismatch(pattern, pipes, line),
            Line::Decode => (!line.starts_with("decode "))
                .then(|| format!("expected a decode error, got {line}")),
            Line::Lagged(dropped) => (line != format!("lagged {dropped}"))
                .then(|| format!("expected lagged {dropped}, got {line}")),
        };
        if let Some(why) = why {
            let (name, sent) = (&case.name, hex(&case.sent));
            failed.push(format!(
                "case {name:?} (sent {sent} with {} descriptors): {why}",
                case.fds
            ));
        }
    }
    if let Some(extra) = lines.get(cases.len()..).filter(|extra| !extra.is_empty()) {
        failed.push(format!("lines beyond the cases: {extra:?}"));
    }
    cases_outcome(&failed, cases.len())
}

/// Why the app's line for an accepted case is not `ok <the value>`: the value encoded again,
/// each descriptor as its index in the list of identities after `fds` (`<device>:<inode>`,
/// comma-separated), which `pipes` must have attached.
fn value_line_mismatch(pattern: &Json, pipes: &Pipes, line: &str) -> Option<String> {
    let Some(encoded) = line.strip_prefix("ok ") else {
        return Some(format!("expected {pattern}, got {line}"));
    };
    let (encoded, identities) = encoded.split_once(" fds ").unwrap_or((encoded, ""));
    let identities: Vec<(u64, u64)> = identities
        .split(',')
        .filter(|identity| !identity.is_empty())
        .map(|identity| {
            let (device, inode) = identity.split_once(':').expect("<device>:<inode>");
            (
                device.parse().expect("a device number"),
                inode.parse().expect("an inode number"),
            )
        })
        .collect();
    let same = |index: usize, pipe: u64| pipes.identity_of(pipe) == Some(identities[index]);
    let fds = Descriptors::new(identities.len(), &same);
    let value = decode_exactly_one(&parse_bytes(encoded, "")).expect("the app encodes a value");
    mismatch_with_fds(pattern, &value, "", "$", &fds).or_else(|| fds.unnamed())
}

/// messages.json agrees with itself: each body is exactly one value, the one written.
#[test]
fn message_vectors_are_the_bytes_of_their_values() {
    let messages = vectors::load("messages.json");
    for side in ["app_to_daemon", "daemon_to_app"] {
        for message in messages[side].as_array().expect("messages") {
            let bytes = parse_bytes(message["bytes"].as_str().expect("bytes"), "");
            let value = decode_exactly_one(&bytes)
                .unwrap_or_else(|why| panic!("{side} {}: {why}", message["name"]));
            if let Some(why) = mismatch(&message["value"], &value, "", "$") {
                panic!("{side} {}: {why}", message["name"]);
            }
        }
    }
}
