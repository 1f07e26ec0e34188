//! File descriptors across the socket end to end (issue 19, PROTOCOL.md §3.1), with real
//! processes on a workspace `cargo medium new` scaffolds from `tests/specs/fd/descriptors.lmspc`,
//! its daemon and app written from `fixtures/descriptors/` and their Python twins from
//! `fixtures/python/`. Against the Rust daemon and the Python daemon, a Rust app and a Python
//! app each: get a file the daemon opened and read it; pass a pipe's write end the daemon
//! writes into; get a model with a list of files, and send one; and both receive one event
//! carrying a file (two subscribers, each with its own descriptor). The daemons hold no more
//! descriptors once the apps are gone. `cargo medium call` passes a file as `"@path"` and
//! prints the files it receives, and `cargo medium monitor` those of events.
//!
//! The Python parts are skipped, saying so, only when `python3` is absent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{
    ScaffoldedWorkspace, Spawned, cargo_medium, gen_python, python_fixture, python_venv, run_ok,
};

/// The spec's namespace: its socket is `<dir>/<namespace>/socket`.
const NAMESPACE: &str = "com.example.descriptors";

#[test]
fn files_pipes_bundles_and_events_carry_descriptors_between_rust_and_python() {
    let workspace = ScaffoldedWorkspace::new(
        "fd",
        "tests/specs/fd/descriptors.lmspc",
        "descriptors_protocol",
    );
    workspace.write_user_file(
        "daemon",
        "src/main.rs",
        include_str!("fixtures/descriptors/daemon/main.rs"),
    );
    workspace.write_user_file(
        "app",
        "src/main.rs",
        include_str!("fixtures/descriptors/app/main.rs"),
    );
    run_ok(
        "cargo build",
        workspace.cargo().run(["build", "--workspace"]),
    );
    let folder = tempfile::tempdir().unwrap();
    let folder = folder.path();
    std::fs::write(folder.join("hello.txt"), "hello from the daemon").unwrap();
    std::fs::write(folder.join("a"), "aaa").unwrap();
    std::fs::write(folder.join("b"), "bbb").unwrap();
    let sockets = tempfile::tempdir().unwrap();
    let generated = tempfile::tempdir().unwrap();
    let python = python_venv::python();
    if python.is_some() {
        gen_python(
            &workspace.root().join("descriptors.lmspc"),
            generated.path(),
        );
    }
    let environment = |command: &mut Command| {
        command
            .env("MEDIUM_SOCKET_DIR", sockets.path())
            .env("DESCRIPTORS_FOLDER", folder);
    };
    let rust = |package: &str| {
        let mut command = Command::new(workspace.binary(&workspace.package(package)));
        environment(&mut command);
        Spawned::spawn(&format!("Rust {package}"), &mut command)
    };
    let python_program = |fixture: &str| {
        let python = python.expect("only called with python");
        let mut command = python_fixture(python, fixture, generated.path(), sockets.path());
        environment(&mut command);
        Spawned::spawn(fixture, &mut command)
    };
    // The second subscriber: the Python app, or a second Rust app without Python.
    let second_app = || match python {
        Some(_) => python_program("descriptors_app.py"),
        None => rust("app"),
    };

    let mut daemon = rust("daemon");
    descriptors_scenario(&mut daemon, &|| [rust("app"), second_app()]);
    let socket = sockets.path().join(NAMESPACE).join("socket");
    cargo_medium_call_passes_and_prints_descriptors(&socket, folder);
    cargo_medium_monitor_prints_descriptors(&socket, folder);
    drop(daemon);

    if python.is_none() {
        eprintln!("skipped the Python daemon: no python3");
        return;
    }
    // The killed Rust daemon left its socket: a stale one, which the Python daemon replaces.
    let mut daemon = python_program("descriptors_daemon.py");
    descriptors_scenario(&mut daemon, &|| [rust("app"), second_app()]);
}

/// Two apps, started once the daemon is ready, subscribe, run every call, and receive the
/// event; then they go, and the daemon is left with the descriptors it had before they came.
fn descriptors_scenario(daemon: &mut Spawned, start_apps: &dyn Fn() -> [Spawned; 2]) {
    daemon.wait_for_line("ready line", |line| line == "ready");
    let before = open_descriptors(daemon.pid());
    let mut apps = start_apps();
    for app in &mut apps {
        app.wait_for_line("subscribed line", |line| line == "subscribed");
    }
    for app in &mut apps {
        for (command, answer) in [
            ("open hello.txt", "open hello.txt: hello from the daemon"),
            ("pipe through-the-pipe", "pipe: through-the-pipe"),
            ("make 3", "make: parts 0,1,2"),
            ("read a b", "read: aaa,bbb"),
        ] {
            app.send_line(command);
            assert_eq!(app.wait_for_line("answer", is_answer), answer);
        }
    }
    apps[0].send_line("announce rotated");
    assert_eq!(apps[0].wait_for_line("answer", is_answer), "announce: ok");
    for app in &mut apps {
        assert_eq!(
            app.wait_for_line("event", |line| !is_answer(line)),
            "event log_opened rotated: rotated"
        );
    }
    drop(apps);
    wait_until_open_descriptors(daemon.pid(), before);
}

fn is_answer(line: &str) -> bool {
    !line.starts_with("event ")
}

/// How many descriptors process `pid` has open.
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the daemon's descriptors can be listed")
        .count()
}

/// Waits until the daemon's open descriptors are back to `count` (its connections close as
/// it notices the apps are gone).
fn wait_until_open_descriptors(pid: u32, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open = open_descriptors(pid);
        if open <= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon holds {open} descriptors once the apps are gone, {count} before they came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `cargo medium call` against the running daemon: a file it opens prints as a file and its
/// path, `"@path"` passes a file the daemon writes into, and files inside a model print alike.
fn cargo_medium_call_passes_and_prints_descriptors(socket: &Path, folder: &Path) {
    let call = |args: &[&str]| call(socket, folder, args);
    let file = |name: &str| described_file(folder, name);
    assert_eq!(
        json(call(&["open_file", "\"hello.txt\""])),
        file("hello.txt")
    );
    assert_eq!(
        json(call(&["make_bundle", "2"])),
        serde_json::json!({"name": "parts", "files": [file("part0"), file("part1")]})
    );
    let sink = folder.join("sink");
    std::fs::write(&sink, "").unwrap();
    let sink_argument = format!("\"@{}\"", sink.display());
    assert_eq!(
        call(&["write_into", &sink_argument, "\"written by the daemon\""]),
        "null\n"
    );
    assert_eq!(
        std::fs::read_to_string(&sink).unwrap(),
        "written by the daemon"
    );
}

/// `cargo medium monitor` prints an event's file as a call's, while the daemon is asked to
/// fire it until the monitor (subscribed by then) prints it.
fn cargo_medium_monitor_prints_descriptors(socket: &Path, folder: &Path) {
    let mut monitor = Spawned::spawn(
        "cargo medium monitor",
        cargo_medium(folder)
            .args(["monitor", "log_opened", "--socket"])
            .arg(socket),
    );
    let printed = AtomicBool::new(false);
    let line = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !printed.load(Ordering::SeqCst) {
                call(socket, folder, &["announce", "\"watched\""]);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let line = monitor.wait_for_line("event line", |_| true);
        printed.store(true, Ordering::SeqCst);
        line
    });
    assert_eq!(
        json(line)["args"],
        serde_json::json!({"log": described_file(folder, "log"), "label": "watched"})
    );
}

/// `cargo medium call ARGS…` against `socket`; its stdout.
fn call(socket: &Path, folder: &Path, args: &[&str]) -> String {
    run_ok(
        "cargo medium call",
        cargo_medium(folder)
            .arg("call")
            .arg("--socket")
            .arg(socket)
            .args(args)
            .output()
            .expect("cargo-medium runs"),
    )
}

/// How `cargo medium` prints a descriptor of the file `name` of `folder`.
fn described_file(folder: &Path, name: &str) -> serde_json::Value {
    let path: PathBuf = folder.canonicalize().unwrap().join(name);
    serde_json::json!({"fd": "file", "target": path.display().to_string()})
}

fn json(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}
