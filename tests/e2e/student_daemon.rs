//! The student workspace from `cargo medium new`, used as a user would (issue 5, end-to-end
//! tests 1 and 2): it builds offline and is clippy-clean as scaffolded; then, with a real
//! daemon and apps written into it (`fixtures/student/`), real processes talk over a real
//! socket: calls return models, an unknown id raises the typed exception, events reach every
//! subscribed app or only the one they were sent `.to`, the daemon sees both apps by pid, and
//! the blocking client works from a plain `fn main`.

use std::fs;
use std::process::Command;

use crate::support::{Spawned, StudentWorkspace, run_ok};

const DAEMON_MAIN: &str = include_str!("fixtures/student/daemon/main.rs");
const APP_MAIN: &str = include_str!("fixtures/student/app/main.rs");
const APP_BLOCKING: &str = include_str!("fixtures/student/app/blocking.rs");
const APP_ANSWER: &str = include_str!("fixtures/student/app/answer.rs");

/// What `get s1` answers once `update s1 Ada` stored it (the app fills in the other fields).
const ADA: &str = r#"student: Student { id: "s1", first_name: "Ada", last_name: "Lovelace", age: 36, photo: [1, 2, 3] }"#;

/// The pids in a daemon line `call … from pid=P; applications: pid=P1 pid=P2`, sorted.
fn application_pids(line: &str) -> Vec<u32> {
    let (_, list) = line
        .split_once("; applications: ")
        .unwrap_or_else(|| panic!("no application list in `{line}`"));
    let mut pids: Vec<u32> = list
        .split(' ')
        .map(|app| {
            app.strip_prefix("pid=")
                .and_then(|pid| pid.parse().ok())
                .unwrap_or_else(|| panic!("no pid for `{app}` in `{line}`"))
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Whether `line` is an answer line (not an event) of the listening app.
fn is_answer(line: &str) -> bool {
    !is_event(line)
}

/// Whether `line` is an event the listening app received.
fn is_event(line: &str) -> bool {
    line.starts_with("event ")
}

#[test]
fn scaffolded_student_workspace_builds_clean_and_its_daemon_serves_two_apps() {
    let workspace = StudentWorkspace::new("student-daemon");
    let cargo = workspace.cargo();

    // Test 1: as scaffolded, the workspace builds offline and clippy has nothing to say.
    run_ok("cargo build", cargo.run(["build", "--workspace"]));
    run_ok(
        "cargo clippy",
        cargo.run([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    );

    // The user writes the daemon and two apps: an async one driven by stdin, a blocking one.
    workspace.write_user_file("daemon", "src/main.rs", DAEMON_MAIN);
    workspace.write_user_file("app", "src/main.rs", APP_MAIN);
    workspace.write_user_file("app", "src/blocking.rs", APP_BLOCKING);
    workspace.write_user_file("app", "src/answer.rs", APP_ANSWER);
    let app = workspace.package("app");
    let blocking_app = format!("{app}-blocking");
    let manifest_path = workspace.root().join(&app).join("Cargo.toml");
    let manifest = fs::read_to_string(&manifest_path).unwrap();
    fs::write(
        &manifest_path,
        format!(
            "{manifest}\n[[bin]]\nname = \"{app}\"\npath = \"src/main.rs\"\n\n\
             [[bin]]\nname = \"{blocking_app}\"\npath = \"src/blocking.rs\"\n"
        ),
    )
    .unwrap();
    run_ok("cargo build", cargo.run(["build", "--workspace"]));

    let sockets = tempfile::tempdir().unwrap();
    let command = |binary: &str| {
        let mut command = Command::new(workspace.binary(binary));
        command.env("MEDIUM_SOCKET_DIR", sockets.path());
        command
    };
    let mut daemon = Spawned::spawn("daemon", &mut command(&workspace.package("daemon")));
    daemon.wait_for_line("ready line", |line| line.starts_with("ready"));

    let mut first = Spawned::spawn("first app", &mut command(&app));
    first.wait_for_line("subscribed line", |line| line.starts_with("subscribed"));
    let mut second = Spawned::spawn("second app", &mut command(&app));
    let subscribed = second.wait_for_line("subscribed line", |line| line.starts_with("subscribed"));
    assert_eq!(
        subscribed,
        "subscribed (not found: no student with id probe)"
    );

    // The daemon's application list, as the second app's first call saw it: both apps, by
    // the pids the kernel reported for their connections.
    let second_call = format!("call get_student from pid={};", second.pid());
    let line = daemon.wait_for_line("second app's call", |line| line.starts_with(&second_call));
    let mut expected = vec![first.pid(), second.pid()];
    expected.sort_unstable();
    assert_eq!(application_pids(&line), expected, "{line}");

    // An unknown id is the typed `StudentNotFound` exception.
    first.send_line("get s1");
    assert_eq!(
        first.wait_for_line("answer", is_answer),
        "get s1: not found: no student with id s1"
    );

    // An update reaches both subscribed apps, and the model comes back from a call.
    first.send_line("update s1 Ada");
    assert_eq!(first.wait_for_line("answer", is_answer), "update s1: ok");
    for app in [&mut first, &mut second] {
        assert_eq!(
            app.wait_for_line("event", is_event),
            "event student_added s1 Ada"
        );
    }
    second.send_line("get s1");
    assert_eq!(
        second.wait_for_line("answer", is_answer),
        format!("get s1: {ADA}")
    );

    // A draft is announced `.to` the app that saved it only. Events reach an app in the order
    // they were fired, so the second app getting the next public event first proves the draft
    // never reached it, without waiting out a grace period.
    first.send_line("update draft-1 Bea");
    assert_eq!(
        first.wait_for_line("answer", is_answer),
        "update draft-1: ok"
    );
    assert_eq!(
        first.wait_for_line("event", is_event),
        "event student_added draft-1 Bea"
    );
    first.send_line("update s2 Cy");
    assert_eq!(first.wait_for_line("answer", is_answer), "update s2: ok");
    assert_eq!(
        first.wait_for_line("event", is_event),
        "event student_added s2 Cy"
    );
    assert_eq!(
        second.wait_for_line("event", is_event),
        "event student_added s2 Cy",
        "the draft sent `.to` the first app reached the second"
    );

    // The blocking client, from a plain `fn main`: a model and the typed exception.
    let mut blocking = Spawned::spawn(
        "blocking app",
        command(&blocking_app).args(["s1", "nobody"]),
    );
    let (status, stdout, stderr) = blocking.wait_for_exit();
    assert!(status.success(), "{status}\n{stderr}");
    assert_eq!(
        stdout,
        [
            format!("get s1: {ADA}"),
            "get nobody: not found: no student with id nobody".to_owned(),
        ]
    );
    assert!(daemon.is_running(), "the daemon stopped");
}
