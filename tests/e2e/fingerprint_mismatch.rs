//! A daemon built from an older spec and an app from a newer one (issue 5, end-to-end test 5):
//! the handshake refuses the app with an error naming both fingerprints, the app exits with
//! failure, and the daemon keeps serving.

use std::fs;
use std::process::Command;

use crate::support::{Spawned, StudentWorkspace, cargo_medium, run_ok};

/// The protocol's identity as the runtime prints it: namespace, class, first 8 hex digits.
fn identity(fingerprint: &str) -> String {
    format!(
        "com.pcthingz.libmedium.student.StudentSystem (fingerprint {}…)",
        &fingerprint[..8]
    )
}

#[test]
fn app_built_from_a_newer_spec_is_refused_naming_both_fingerprints() {
    let workspace = StudentWorkspace::new("fingerprint-mismatch");
    let cargo = workspace.cargo();
    let daemon_package = workspace.package("daemon");
    let app_package = workspace.package("app");
    run_ok(
        "cargo build (daemon)",
        cargo.run(["build", "-p", &daemon_package]),
    );
    let daemon_fingerprint = workspace.fingerprint();

    // The spec gains a method; the app is rebuilt from it, the daemon is not.
    let spec_path = workspace.root().join("student.lmspc");
    let spec = fs::read_to_string(&spec_path).unwrap();
    fs::write(&spec_path, spec + "\nmethod count_students(): uint32\n").unwrap();
    run_ok(
        "cargo medium sync",
        cargo_medium(workspace.root()).arg("sync").output().unwrap(),
    );
    let app_fingerprint = workspace.fingerprint();
    assert_ne!(daemon_fingerprint, app_fingerprint);
    run_ok(
        "cargo build (app)",
        cargo.run(["build", "-p", &app_package]),
    );

    let sockets = tempfile::tempdir().unwrap();
    let command = |binary: &str| {
        let mut command = Command::new(workspace.binary(binary));
        command.env("MEDIUM_SOCKET_DIR", sockets.path());
        command
    };
    let mut daemon = Spawned::spawn("daemon", &mut command(&daemon_package));
    daemon.wait_for_line("listening log line", |line| {
        line.contains("daemon listening")
    });

    let expected = format!(
        "speaks {}, this app was built for {}: rebuild one of them",
        identity(&daemon_fingerprint),
        identity(&app_fingerprint)
    );
    // Twice: the daemon refuses the first app and goes on accepting the next.
    for attempt in ["first", "second"] {
        let mut app = Spawned::spawn(&format!("{attempt} app"), &mut command(&app_package));
        let (status, _, stderr) = app.wait_for_exit();
        assert!(!status.success(), "the {attempt} app succeeded:\n{stderr}");
        assert!(
            stderr.starts_with("error: cannot connect to the daemon: daemon at ")
                && stderr.contains(&expected),
            "the {attempt} app's error does not name both fingerprints:\n{stderr}"
        );
        // A warning naming both builds in full, so the daemon's log alone tells what to rebuild.
        daemon.wait_for_line("refusal warning with both fingerprints", |line| {
            line.contains("WARN")
                && line.contains("refused an application built from another spec")
                && line.contains(&daemon_fingerprint)
                && line.contains(&app_fingerprint)
        });
        assert!(
            daemon.is_running(),
            "the daemon stopped after the {attempt} app"
        );
    }
}
