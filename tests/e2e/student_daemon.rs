//! The student workspace from `cargo medium new`, used as a user would (issue 5, end-to-end
//! tests 1 and 2): it builds offline and is clippy-clean as scaffolded; then, with a real
//! daemon and apps written into it (`fixtures/student/`), real processes talk over a real
//! socket: calls return models, an unknown id raises the typed exception, events reach every
//! subscribed app or only the one they were sent `.to`, the daemon sees both apps by pid, and
//! the blocking client works from a plain `fn main`.

use std::fs;
use std::process::Command;

use crate::support::{Spawned, StudentWorkspace, run_ok, student_scenario};

const DAEMON_MAIN: &str = include_str!("fixtures/student/daemon/main.rs");
const APP_MAIN: &str = include_str!("fixtures/student/app/main.rs");
const APP_BLOCKING: &str = include_str!("fixtures/student/app/blocking.rs");
const APP_ANSWER: &str = include_str!("fixtures/student/app/answer.rs");

/// What `get s1` answers once `update s1 Ada` stored it (the app fills in the other fields).
const ADA: &str = r#"student: Student { id: "s1", first_name: "Ada", last_name: "Lovelace", age: 36, photo: [1, 2, 3] }"#;

#[test]
fn scaffolded_student_workspace_builds_clean_and_its_daemon_serves_two_apps() {
    let workspace = StudentWorkspace::new("student-daemon");
    let cargo = workspace.cargo();

    // Test 1: as scaffolded, the workspace builds offline and clippy has nothing to say.
    cargo.assert_builds_and_lints_clean();

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
    student_scenario(
        &mut daemon,
        &|name| Spawned::spawn(name, &mut command(&app)),
        ADA,
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
