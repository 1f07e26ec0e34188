//! `cargo medium describe`, `call` and `monitor` against a real daemon process: this test
//! binary run again as a daemon (see [`daemon_process_for_inspect_tests`]), `medium-runtime`
//! serving a hand-written service with its spec text, so no code is generated. Every bad
//! argument must be refused before the daemon sees a call.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use medium_runtime::{
    AccessItem, AccessRule, Allow, Call, CallRunner, Daemon, Dispatch, NoException, ProtocolInfo,
    RemoteException, Reply, Started, decode_args,
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
method announce(text: string, count: uint32): uint32
method calls_received(): uint64
event announced(text: string, count: uint32)
";

static INFO: ProtocolInfo = ProtocolInfo {
    namespace: "com.example.inspect",
    class: "Inspect",
    fingerprint: "17a1000000000000000000000000000000000000000000000000000000000000",
    socket_base: None,
    spec: SPEC,
    events: &["announced"],
    access: &[],
    uses_fd: false,
};

/// The same daemon rebuilt from a changed spec.
static REBUILT: ProtocolInfo = ProtocolInfo {
    fingerprint: "17a1111111111111111111111111111111111111111111111111111111111111",
    ..INFO
};

/// The same daemon with an `@allow` rule no uid matches on `add` (uid 2^32 - 1 is `(uid_t) -1`,
/// which no process has). Only in `ProtocolInfo::access`, not in the spec text, which `call`
/// reads back: the daemon enforces its `ProtocolInfo`.
static RULED: ProtocolInfo = ProtocolInfo {
    access: &[AccessRule {
        item: AccessItem::Method("add"),
        allow: &[Allow::Uid(u32::MAX)],
    }],
    ..INFO
};

/// Which build of the daemon [`daemon_process_for_inspect_tests`] serves.
#[derive(Clone, Copy)]
enum Build {
    /// [`INFO`].
    Original,
    /// [`REBUILT`].
    Rebuilt,
    /// [`RULED`].
    Ruled,
}

/// What the rebuilt daemon's spec has that [`SPEC`] lacks.
const REBUILT_SPEC_ADDS: &str = "@allow(root, uid = 4242)\nmethod wipe()\n";

/// Set to the socket path, it turns [`daemon_process_for_inspect_tests`] into the daemon.
const DAEMON_SOCKET_ENV: &str = "MEDIUM_INSPECT_TEST_DAEMON_SOCKET";
/// Set to `rebuilt` or `ruled`, the daemon process serves [`REBUILT`] or [`RULED`] instead of
/// [`INFO`].
const DAEMON_BUILD_ENV: &str = "MEDIUM_INSPECT_TEST_DAEMON_BUILD";

/// Answers `fail` with `NotFound`, `add` with the sum, `announce` by emitting `announced` (with
/// the number of apps it reached), `calls_received` with the number of calls before it, and
/// every other method with its first argument.
#[derive(Default)]
struct Service {
    calls: AtomicU64,
}

impl Dispatch for Service {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        let calls_before = self.calls.fetch_add(1, Ordering::SeqCst);
        Some(runner.run(async move {
            let args = match decode_args::<Vec<rmpv::Value>>(call.args()) {
                Ok(args) => args,
                Err(reply) => return reply,
            };
            match call.method() {
                "fail" => Reply::exception(RemoteException {
                    name: "NotFound".into(),
                    message: args[0].as_str().unwrap_or_default().into(),
                }),
                "add" => {
                    Reply::value(&(args[0].as_i64().unwrap_or(0) + args[1].as_i64().unwrap_or(0)))
                }
                "announce" => {
                    let reached = call
                        .daemon()
                        .emit("announced", &(&args[0], &args[1]))
                        .expect("`announced` is in the spec and its arguments are small");
                    Reply::value(&u32::try_from(reached).unwrap_or(u32::MAX))
                }
                "calls_received" => Reply::value(&calls_before),
                _ => Reply::value(&args[0]),
            }
        }))
    }
}

/// Not a test on its own: [`TestDaemon`] runs this test binary again with only this function
/// and [`DAEMON_SOCKET_ENV`] set, to get the daemon as a separate process. It serves until
/// SIGTERM.
#[tokio::test]
#[ignore = "daemon process of the describe/call/monitor tests"]
async fn daemon_process_for_inspect_tests() {
    let Some(path) = std::env::var_os(DAEMON_SOCKET_ENV) else {
        return;
    };
    let info: &'static ProtocolInfo = match std::env::var(DAEMON_BUILD_ENV).as_deref() {
        // The changed spec adds a method with an access rule, which `describe` shows.
        Ok("rebuilt") => Box::leak(Box::new(ProtocolInfo {
            spec: format!("{SPEC}{REBUILT_SPEC_ADDS}").leak(),
            ..REBUILT
        })),
        Ok("ruled") => &RULED,
        _ => &INFO,
    };
    Daemon::new(info, Service::default())
        .socket_path(path)
        .serve()
        .await
        .unwrap();
}

/// The daemon process, serving on `<dir>/com.example.inspect/socket`; killed when dropped.
struct TestDaemon {
    dir: tempfile::TempDir,
    path: PathBuf,
    process: Child,
}

impl TestDaemon {
    fn start() -> TestDaemon {
        TestDaemon::start_build(Build::Original)
    }

    fn start_build(build: Build) -> TestDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(INFO.namespace).join("socket");
        let process = spawn_daemon(&path, build);
        TestDaemon { dir, path, process }
    }

    /// Stops the daemon with SIGTERM (it removes its socket) and starts it again as `build`.
    fn restart(&mut self, build: Build) {
        self.stop();
        self.process = spawn_daemon(&self.path, build);
    }

    /// SIGTERM, as a service manager stops a daemon; waits until it has exited.
    fn stop(&mut self) {
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child.
        let pid = i32::try_from(self.process.id()).unwrap();
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = self.process.wait().unwrap();
        assert!(status.success(), "the daemon stops cleanly: {status}");
    }

    /// Asks the daemon to emit `announced(text, 7)`; returns how many apps it reached.
    fn announce(&self, text: &str) -> u32 {
        self.client()
            .call::<_, _, NoException>("announce", &(text, 7u32))
            .unwrap()
    }

    /// How many calls reached the daemon (not counting this question).
    fn calls_received(&self) -> u64 {
        self.client()
            .call::<_, _, NoException>("calls_received", &[(); 0])
            .unwrap()
    }

    fn client(&self) -> medium_runtime::blocking::Client {
        medium_runtime::blocking::Client::connect_to(&INFO, &self.path).unwrap()
    }

    /// What `cargo medium describe --socket` prints about the daemon.
    fn describe(&self) -> String {
        let output = cargo_medium(self.dir.path())
            .args(["describe", "--socket"])
            .arg(&self.path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(output).unwrap()
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

/// Runs the daemon process at `path` and waits until it accepts connections.
fn spawn_daemon(path: &std::path::Path, build: Build) -> Child {
    let mut command = StdCommand::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "inspect::daemon_process_for_inspect_tests"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env(DAEMON_SOCKET_ENV, path)
        .stdout(Stdio::null());
    match build {
        Build::Original => {}
        Build::Rebuilt => {
            command.env(DAEMON_BUILD_ENV, "rebuilt");
        }
        Build::Ruled => {
            command.env(DAEMON_BUILD_ENV, "ruled");
        }
    }
    let mut process = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(path).is_err() {
        if Instant::now() > deadline || process.try_wait().unwrap().is_some() {
            let _ = process.kill();
            panic!("the daemon process did not start");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    process
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
fn describe_prints_the_daemon_spec_under_a_header_naming_it() {
    let d = TestDaemon::start();
    let text = d.describe();
    assert_eq!(
        text,
        format!(
            "// daemon at {}\n// com.example.inspect.Inspect, fingerprint {}\n\
             // runtime {}, wire protocol 2\n\n{SPEC}",
            d.path.display(),
            INFO.fingerprint,
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn describe_prints_who_may_use_each_item_of_a_spec_with_access_rules() {
    let mut d = TestDaemon::start();
    d.restart(Build::Rebuilt);
    let text = d.describe();
    assert!(
        text.contains(
            "// who may use what (@allow; for an event: who may subscribe):\n\
             //   method echo_student: anyone who can connect\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("//   method wipe: root, uid = 4242\n"),
        "{text}"
    );
    assert!(
        text.contains("//   event announced: anyone who can connect\n\n"),
        "{text}"
    );
    assert!(text.ends_with(REBUILT_SPEC_ADDS), "{text}");
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
fn call_the_daemons_access_rule_refuses_prints_the_refusal_and_fails() {
    let d = TestDaemon::start_build(Build::Ruled);
    // SAFETY: no preconditions.
    let uid = unsafe { libc::geteuid() };
    d.call(&["add", "1", "2"])
        .code(101)
        .stdout("")
        .stderr(format!("error: uid {uid} may not call `add`\n"));
    assert_eq!(d.calls_received(), 0, "the handler never ran");
    d.call(&["blob", "\"AAEC\""]).success().stdout("\"AAEC\"\n");
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
            &["fail", "42"],
            "error: argument `message` (string): expected a JSON string, got 42; \
             strings are JSON: '\"42\"'\n",
        ),
        (
            &["blob", "\"@missing.bin\""],
            "error: argument `data` (binary): cannot read missing.bin: \
             No such file or directory (os error 2)\n",
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
             (methods: echo_student, blob, add, fail, announce, calls_received)\n",
        ),
    ] {
        d.call(args).code(101).stdout("").stderr(message);
    }
    assert_eq!(d.calls_received(), 0, "a bad call reached the daemon");
}

#[test]
fn monitor_prints_events_as_json_lines_and_fails_when_the_daemon_goes_away() {
    let mut d = TestDaemon::start();
    let (monitor, mut stdout) = spawn_monitor(&d, &[]);
    let json = emit_until_printed(&d, "hello", &mut stdout);
    assert_eq!(json["event"], "announced");
    assert_eq!(
        json["args"],
        serde_json::json!({"text": "hello", "count": 7})
    );
    assert!(json["time"].as_f64().unwrap() > 1.7e9, "{json}");

    d.stop();
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
    d.restart(Build::Original);
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
    let mut d = TestDaemon::start();
    let (monitor, mut stdout) = spawn_monitor(&d, &["--follow"]);
    emit_until_printed(&d, "before", &mut stdout);
    d.restart(Build::Rebuilt);
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

/// Emits `announced(text, 7)` until it reaches the monitor (which subscribes some time after it
/// starts, and again after a daemon restart) and returns the JSON line it prints.
fn emit_until_printed(
    d: &TestDaemon,
    text: &str,
    stdout: &mut BufReader<ChildStdout>,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.announce(text) == 0 {
        assert!(Instant::now() < deadline, "monitor never subscribed");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// A pipe whose reading end is already closed, as stdout: every write fails with EPIPE, as
/// when `| head` has read what it wanted and exited.
fn closed_pipe() -> Stdio {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe(2) succeeded, so both descriptors are open and ours alone.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    Stdio::from(writer)
}

#[test]
fn monitor_ends_quietly_when_its_reader_stops_reading() {
    let d = TestDaemon::start();
    let (monitor, stdout) = spawn_monitor(&d, &[]);
    let mut stdout = stdout;
    emit_until_printed(&d, "first", &mut stdout);
    // `| head -n1` has its line and exits.
    drop(stdout);
    let (done, finished) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let output = monitor.wait_with_output().unwrap();
        done.send(()).unwrap();
        output
    });
    // The next event's line is the write that finds the pipe closed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while finished.try_recv().is_err() {
        assert!(
            Instant::now() < deadline,
            "monitor kept running after its reader left"
        );
        d.announce("second");
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = waiter.join().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn describe_call_and_diff_end_quietly_on_a_closed_stdout() {
    let d = TestDaemon::start();
    std::fs::write(d.dir.path().join("inspect.lmspc"), SPEC).unwrap();
    let socket = d.path.to_str().unwrap();
    for args in [
        &["describe", "--socket", socket][..],
        &["call", "add", "1", "2", "--socket", socket],
        &["diff", "inspect.lmspc", "inspect.lmspc"],
    ] {
        let output = run_with_stdout(&d, args, closed_pipe());
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8(output.stderr).unwrap(), "", "{args:?}");
    }
}

#[test]
fn a_stdout_that_fails_otherwise_is_an_error() {
    let d = TestDaemon::start();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let socket = d.path.to_str().unwrap();
    let output = run_with_stdout(&d, &["describe", "--socket", socket], full.into());
    assert_eq!(output.status.code(), Some(101));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: could not write to stdout: No space left on device (os error 28)\n"
    );
}

/// `cargo medium ARGS` in the daemon's directory, writing its stdout to `stdout`.
fn run_with_stdout(d: &TestDaemon, args: &[&str], stdout: Stdio) -> std::process::Output {
    StdCommand::new(assert_cmd::cargo::cargo_bin("cargo-medium"))
        .args(args)
        .current_dir(d.dir.path())
        .env("CARGO_TERM_COLOR", "never")
        .stdout(stdout)
        .output()
        .unwrap()
}
