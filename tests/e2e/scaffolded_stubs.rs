//! The daemon and app exactly as `new` writes them, built and run: the app calls a stub and
//! is told it is not implemented, waits a few seconds for events the stub daemon never fires,
//! then exits on its own; the daemon's log, written to a pipe, carries no colour codes.

use std::process::Command;

use crate::support::{Spawned, StudentWorkspace, run_ok};

#[test]
fn stub_app_against_stub_daemon_exits_on_its_own_and_logs_are_plain_text() {
    let workspace = StudentWorkspace::new("stubs");
    let (daemon_package, app_package) = (workspace.package("daemon"), workspace.package("app"));
    run_ok("cargo build", workspace.cargo().run(["build"]));

    let sockets = tempfile::tempdir().unwrap();
    let command = |binary: &str| {
        let mut command = Command::new(workspace.binary(binary));
        command
            .env("MEDIUM_SOCKET_DIR", sockets.path())
            .env_remove("NO_COLOR");
        command
    };
    let mut daemon = Spawned::spawn("daemon", &mut command(&daemon_package));
    let listening = daemon.wait_for_line("listening log line", |line| {
        line.contains("daemon listening")
    });
    assert!(
        !listening.contains('\u{1b}'),
        "colour codes in a log written to a pipe: {listening:?}"
    );

    let mut app = Spawned::spawn("app", &mut command(&app_package));
    let (status, stdout, stderr) = app.wait_for_exit();
    assert!(status.success(), "the app failed:\n{stderr}");
    assert!(
        stderr.contains("get_student failed: daemon does not implement `get_student` yet"),
        "the stub's answer is missing:\n{stderr}"
    );
    assert!(
        stdout
            .iter()
            .any(|line| line.starts_with("no event for 5 seconds")),
        "the app did not say why it stopped waiting:\n{}",
        stdout.join("\n")
    );
}
