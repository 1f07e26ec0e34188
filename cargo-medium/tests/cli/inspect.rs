//! `cargo medium describe`, `call` and `monitor` against a real daemon: `medium-runtime` serving
//! a hand-written service on a real socket in this test process, with its spec text, so no code
//! is generated. Every bad argument must be refused before the daemon sees a call.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command as StdCommand, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use medium_runtime::{
    Call, Daemon, DaemonHandle, Dispatch, ProtocolInfo, RemoteException, Reply, decode_args,
};
use predicates::prelude::*;

use crate::cargo_medium;

const SPEC: &str = "namespace com.example.inspect
class Inspect
model Student{
    id: string
    age: uint8
    photo: binary
    tags: *string
}
exception NotFound
method echo_student(s: Student): Student
method blob(data: binary): binary
method add(a: int8, b: int64): int64
method fail(message: string)
event announced(text: string, count: uint32)
";

static INFO: ProtocolInfo = ProtocolInfo {
    namespace: "com.example.inspect",
    class: "Inspect",
    fingerprint: "17a1000000000000000000000000000000000000000000000000000000000000",
    socket_base: None,
    spec: SPEC,
};

/// Answers `fail` with `NotFound`, `add` with the sum, and every other method with its first
/// argument; counts the calls it gets.
struct Service {
    calls: Arc<AtomicUsize>,
}

impl Dispatch for Service {
    fn dispatch(self: Arc<Self>, call: Call) -> Option<BoxFuture<'static, Reply>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Some(
            async move {
                let args = match decode_args::<Vec<rmpv::Value>>(call.args()) {
                    Ok(args) => args,
                    Err(reply) => return reply,
                };
                match call.method() {
                    "fail" => Reply::exception(RemoteException {
                        name: "NotFound".into(),
                        message: args[0].as_str().unwrap_or_default().into(),
                    }),
                    "add" => Reply::value(
                        &(args[0].as_i64().unwrap_or(0) + args[1].as_i64().unwrap_or(0)),
                    ),
                    _ => Reply::value(&args[0]),
                }
            }
            .boxed(),
        )
    }
}

/// The daemon, serving on `<dir>/com.example.inspect/socket` until dropped.
struct TestDaemon {
    dir: tempfile::TempDir,
    path: PathBuf,
    handle: DaemonHandle,
    calls: Arc<AtomicUsize>,
    /// Runs the daemon; dropping it (after `shutdown`) stops it.
    runtime: tokio::runtime::Runtime,
}

impl TestDaemon {
    fn start() -> TestDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(INFO.namespace).join("socket");
        let calls = Arc::new(AtomicUsize::new(0));
        let (handle, runtime) = serve(&INFO, &path, &calls);
        TestDaemon {
            dir,
            path,
            handle,
            calls,
            runtime,
        }
    }

    /// Stops the daemon and starts a new one for `info` on the same socket.
    fn restart_as(&mut self, info: &'static ProtocolInfo) {
        self.handle.shutdown();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.path.exists() {
            assert!(Instant::now() < deadline, "daemon did not stop");
            std::thread::sleep(Duration::from_millis(10));
        }
        (self.handle, self.runtime) = serve(info, &self.path, &self.calls);
    }

    fn call(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        cargo_medium(self.dir.path())
            .arg("call")
            .args(args)
            .arg("--socket")
            .arg(&self.path)
            .assert()
    }
}

/// Serves `Service` for `info` at `path` on a runtime of its own, once it accepts connections.
fn serve(
    info: &'static ProtocolInfo,
    path: &Path,
    calls: &Arc<AtomicUsize>,
) -> (DaemonHandle, tokio::runtime::Runtime) {
    let daemon = Daemon::new(
        info,
        Service {
            calls: calls.clone(),
        },
    )
    .socket_path(path);
    let handle = daemon.handle();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.spawn(daemon.serve());
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(path).is_err() {
        assert!(Instant::now() < deadline, "daemon did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    (handle, runtime)
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

#[test]
fn describe_prints_the_daemon_spec_under_a_header_naming_it() {
    let d = TestDaemon::start();
    let output = cargo_medium(d.dir.path())
        .args(["describe", "--socket"])
        .arg(&d.path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert_eq!(
        text,
        format!(
            "// daemon at {}\n// com.example.inspect.Inspect, fingerprint {}\n\
             // runtime {}, wire protocol 1\n\n{SPEC}",
            d.path.display(),
            INFO.fingerprint,
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn describe_finds_the_socket_from_a_spec_file_as_the_runtime_does() {
    let d = TestDaemon::start();
    let spec = d.dir.path().join("inspect.lmspc");
    std::fs::write(&spec, SPEC).unwrap();
    cargo_medium(d.dir.path())
        .args(["describe", "inspect.lmspc"])
        .env(medium_runtime::SOCKET_DIR_ENV, d.dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "method add(a: int8, b: int64): int64",
        ));
}

#[test]
fn call_without_socket_or_spec_finds_the_daemon_of_the_workspace_protocol() {
    let d = TestDaemon::start();
    let root = d.dir.path().join("ws");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("inspect.lmspc"), SPEC).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = []\n\n[[workspace.metadata.medium.protocols]]\n\
         spec = \"inspect.lmspc\"\nprotocol = \"inspect-protocol\"\n",
    )
    .unwrap();
    cargo_medium(&root.join("sub"))
        .args(["call", "add", "1", "2"])
        .env(medium_runtime::SOCKET_DIR_ENV, d.dir.path())
        .assert()
        .success()
        .stdout("3\n");
    cargo_medium(d.dir.path())
        .args(["call", "add", "1", "2", "--spec", "ws/inspect.lmspc"])
        .env(medium_runtime::SOCKET_DIR_ENV, d.dir.path())
        .assert()
        .success()
        .stdout("3\n");
}

#[test]
fn describe_without_a_daemon_says_none_is_running() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .args(["describe", "--socket", "missing.sock"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("no daemon at missing.sock"));
}

#[test]
fn call_round_trips_a_model_and_prints_pretty_json_with_binary_as_base64() {
    let d = TestDaemon::start();
    d.call(&[
        "echo_student",
        r#"{"id": "42", "age": 20, "photo": "AAEC", "tags": ["a"]}"#,
    ])
    .success()
    .stdout(
        "{\n  \"id\": \"42\",\n  \"age\": 20,\n  \"photo\": \"AAEC\",\n  \"tags\": [\n    \"a\"\n  ]\n}\n",
    );
    d.call(&["add", "-3", "9000000000"])
        .success()
        .stdout("8999999997\n");
}

#[test]
fn call_reads_a_binary_argument_from_an_at_path_file() {
    let d = TestDaemon::start();
    let file = d.dir.path().join("blob.bin");
    std::fs::write(&file, [9, 8, 7]).unwrap();
    d.call(&["blob", &format!("\"@{}\"", file.display())])
        .success()
        .stdout("\"CQgH\"\n");
}

#[test]
fn call_that_raises_prints_the_exception_and_fails() {
    let d = TestDaemon::start();
    d.call(&["fail", "\"no student 42\""])
        .code(101)
        .stdout("")
        .stderr("error: `fail` raised NotFound: no student 42\n");
}

#[test]
fn bad_arguments_are_refused_before_anything_is_sent() {
    let d = TestDaemon::start();
    for (args, message) in [
        (
            &["add", "1"][..],
            "error: `add` takes 2 arguments (a: int8, b: int64), got 1\n",
        ),
        (
            &["add", "128", "1"],
            "error: argument `a` (int8): 128 is out of range -128..=127\n",
        ),
        (
            &["add", "\"1\"", "1"],
            "error: argument `a` (int8): expected an integer, got the string \"1\"\n",
        ),
        (
            &["blob", "\"%%%\""],
            "error: argument `data` (binary): not base64 (Invalid symbol 37, offset 0.); \
             give a file's bytes as \"@path\"\n",
        ),
        (
            &[
                "echo_student",
                r#"{"id": "1", "age": 300, "photo": "", "tags": []}"#,
            ],
            "error: argument `s.age` (uint8): 300 is out of range 0..=255\n",
        ),
        (
            &[
                "echo_student",
                r#"{"id": "1", "age": 3, "photo": "", "tags": [], "x": 1}"#,
            ],
            "error: argument `s` (Student): `Student` has no field `x` \
             (fields: `id`, `age`, `photo`, `tags`)\n",
        ),
        (
            &["nope"],
            "error: com.example.inspect.Inspect has no method `nope` \
             (methods: echo_student, blob, add, fail)\n",
        ),
    ] {
        d.call(args).code(101).stdout("").stderr(message);
    }
    assert_eq!(
        d.calls.load(Ordering::SeqCst),
        0,
        "a bad call reached the daemon"
    );
}

#[test]
fn monitor_prints_events_as_json_lines_and_fails_when_the_daemon_goes_away() {
    let d = TestDaemon::start();
    let (monitor, mut stdout) = spawn_monitor(&d, &[]);
    let json = emit_until_printed(&d, "hello", &mut stdout);
    assert_eq!(json["event"], "announced");
    assert_eq!(
        json["args"],
        serde_json::json!({"text": "hello", "count": 7})
    );
    assert!(json["time"].as_f64().unwrap() > 1.7e9, "{json}");

    d.handle.shutdown();
    let output = monitor.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(101));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("the daemon at {} went away", d.path.display())),
        "{stderr}"
    );
}

#[test]
fn monitor_follow_keeps_printing_across_a_daemon_restart() {
    let mut d = TestDaemon::start();
    let (mut monitor, mut stdout) = spawn_monitor(&d, &["--follow"]);
    assert_eq!(
        emit_until_printed(&d, "before", &mut stdout)["args"]["text"],
        "before"
    );
    d.restart_as(&INFO);
    assert_eq!(
        emit_until_printed(&d, "after", &mut stdout)["args"]["text"],
        "after"
    );
    monitor.kill().unwrap();
    let output = monitor.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let waiting = format!(
        "Waiting for the daemon at {} to come back",
        d.path.display()
    );
    assert!(stderr.contains(&waiting), "{stderr}");
    assert!(
        stderr.contains("Reconnected events fired while the daemon was away were missed"),
        "{stderr}"
    );
}

#[test]
fn monitor_follow_ends_when_the_daemon_comes_back_built_from_another_spec() {
    static REBUILT: ProtocolInfo = ProtocolInfo {
        fingerprint: "17a1111111111111111111111111111111111111111111111111111111111111",
        ..INFO
    };
    let mut d = TestDaemon::start();
    let (monitor, mut stdout) = spawn_monitor(&d, &["--follow"]);
    emit_until_printed(&d, "before", &mut stdout);
    d.restart_as(&REBUILT);
    let output = monitor.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(101));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("fingerprint 17a11111…), built from another spec"),
        "{stderr}"
    );
}

/// `cargo medium monitor` on the daemon's socket, with stdout and stderr piped.
fn spawn_monitor(d: &TestDaemon, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut monitor = StdCommand::new(assert_cmd::cargo::cargo_bin("cargo-medium"))
        .arg("monitor")
        .args(args)
        .arg("--socket")
        .arg(&d.path)
        .env("CARGO_TERM_COLOR", "never")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(monitor.stdout.take().unwrap());
    (monitor, stdout)
}

/// Emits `announced(text, 7)` until the monitor has subscribed (subscriptions are not
/// acknowledged) and returns the JSON line it prints.
fn emit_until_printed(
    d: &TestDaemon,
    text: &str,
    stdout: &mut BufReader<ChildStdout>,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.handle.emit("announced", &(text, 7u32)) == 0 {
        assert!(Instant::now() < deadline, "monitor never subscribed");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}
