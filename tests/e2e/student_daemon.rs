//! The student workspace from `cargo medium new`, used as a user would (issue 5, end-to-end
//! tests 1 and 2): it builds offline and is clippy-clean as scaffolded; then, with a real
//! daemon and apps written into it (`fixtures/student/`), real processes talk over a real
//! socket: calls return models, an unknown id raises the typed exception, events reach every
//! subscribed app or only the one they were sent `.to`, the daemon sees both apps by pid, and
//! the blocking client works from a plain `fn main`.

use std::process::Command;

use crate::support::{Spawned, StudentWorkspace, run_ok, student_scenario};

/// What `get s1` answers once `update s1 Ada` stored it (the app fills in the other fields).
const ADA: &str = r#"student: Student { id: "s1", first_name: "Ada", last_name: "Lovelace", age: 36, photo: [1, 2, 3] }"#;

#[test]
fn scaffolded_student_workspace_builds_clean_and_its_daemon_serves_two_apps() {
    let workspace = StudentWorkspace::new("student-daemon");
    let cargo = workspace.cargo();

    // Test 1: as scaffolded, the workspace builds offline and clippy has nothing to say.
    cargo.assert_builds_and_lints_clean();

    // The user writes the daemon and two apps: an async one driven by stdin, a blocking one.
    workspace.write_student_programs();
    let (app, blocking_app) = (workspace.package("app"), workspace.blocking_app());
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
