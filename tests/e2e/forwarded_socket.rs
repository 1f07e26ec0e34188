//! Remote use, as README.md's "Apps on other machines" describes it: the daemon stays on its
//! machine and an app elsewhere reaches it through a relay that forwards a Unix socket, as
//! `ssh -L /local.sock:/remote/socket host` does. Here `socat` stands in for ssh, and two
//! socket dirs for the two machines. Through the relay the app calls, gets the typed exception
//! and events, and reconnects when the daemon restarts; `cargo medium call --socket`, run
//! where there is no workspace, asks the daemon itself. Skipped, saying so, without `socat`.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{Spawned, StudentWorkspace, cargo_medium, run_ok};

/// The student spec's namespace: its socket is `<dir>/<namespace>/socket`.
const NAMESPACE: &str = "com.pcthingz.libmedium.student";

#[test]
fn app_reaches_a_daemon_through_a_forwarded_socket_and_survives_its_restart() {
    if !socat_available() {
        return;
    }
    let workspace = StudentWorkspace::new("forwarded-socket");
    workspace.write_student_programs();
    run_ok(
        "cargo build",
        workspace.cargo().run(["build", "--workspace"]),
    );

    let daemon_machine = tempfile::tempdir().unwrap();
    let app_machine = tempfile::tempdir().unwrap();
    let daemon_socket = daemon_machine.path().join(NAMESPACE).join("socket");
    // The relay, like ssh, makes no folders: the namespace folder comes first.
    let forwarded_socket = app_machine.path().join(NAMESPACE).join("socket");
    fs::create_dir(app_machine.path().join(NAMESPACE)).unwrap();

    let start_daemon = |name: &str| {
        let mut daemon = Command::new(workspace.binary(&workspace.package("daemon")));
        daemon.env("MEDIUM_SOCKET_DIR", daemon_machine.path());
        let mut daemon = Spawned::spawn(name, &mut daemon);
        daemon.wait_for_line("ready line", |line| line.starts_with("ready"));
        daemon
    };
    let mut daemon = start_daemon("daemon");
    let _relay = Spawned::spawn(
        "socat relay",
        Command::new("socat")
            .arg(format!("UNIX-LISTEN:{},fork", forwarded_socket.display()))
            .arg(format!("UNIX-CONNECT:{}", daemon_socket.display())),
    );
    wait_until_listening(&forwarded_socket);

    // The app finds the forwarded socket as it would the daemon's: from MEDIUM_SOCKET_DIR.
    let mut app = Spawned::spawn(
        "app",
        Command::new(workspace.binary(&workspace.package("app")))
            .env("MEDIUM_SOCKET_DIR", app_machine.path()),
    );
    assert_eq!(
        app.wait_for_line("subscribed line", |line| line.starts_with("subscribed")),
        "subscribed"
    );

    app.send_line("update s1 Ada");
    assert_eq!(app.wait_for_line("answer", is_answer), "update s1: ok");
    // The daemon's peer is the relay (with ssh: sshd, as the ssh user), not the app.
    let call = daemon.wait_for_line("the app's call", |line| line.starts_with("call "));
    assert!(
        !call.contains(&format!("pid={}", app.pid())),
        "the daemon saw the app itself: {call}"
    );
    assert_eq!(
        app.wait_for_line("event", is_event),
        "event student_added s1 Ada"
    );

    // `call` needs neither the workspace nor the spec: it asks the daemon for its interface.
    let student = run_ok(
        "cargo medium call",
        cargo_medium(app_machine.path())
            .args(["call", "get_student", r#""s1""#, "--socket"])
            .arg(&forwarded_socket)
            .output()
            .expect("cargo-medium runs"),
    );
    assert_eq!(
        student,
        "{\n  \"id\": \"s1\",\n  \"first_name\": \"Ada\",\n  \"last_name\": \"Lovelace\",\n  \
         \"age\": 36,\n  \"photo\": \"AQID\"\n}\n"
    );

    // The daemon restarts behind the relay, which stays up as an ssh session would. The app
    // reconnects through it, is told events may have been missed, and goes on with the new
    // daemon (which has forgotten s1).
    drop(daemon);
    let _daemon = start_daemon("restarted daemon");
    assert_eq!(
        app.wait_for_line("reconnection notice", is_event),
        "event error: the connection to the daemon was lost and restored; \
         events fired meanwhile were missed"
    );
    app.send_line("get s1");
    assert_eq!(
        app.wait_for_line("answer", is_answer),
        "get s1: not found: no student with id s1"
    );
    app.send_line("update s2 Bo");
    assert_eq!(app.wait_for_line("answer", is_answer), "update s2: ok");
    assert_eq!(
        app.wait_for_line("event", is_event),
        "event student_added s2 Bo"
    );
}

/// Whether `socat` runs; prints why the test is skipped when it does not.
fn socat_available() -> bool {
    let found = Command::new("socat")
        .arg("-V")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        eprintln!("skipping: socat is not installed (the relay that stands in for ssh -L)");
    }
    found
}

/// Waits for the relay's listening socket: socat makes it after it starts, and says so
/// nowhere the test can wait on.
fn wait_until_listening(socket: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        assert!(
            Instant::now() < deadline,
            "the relay never listened on {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `line` is an answer line (not an event) of the listening app.
fn is_answer(line: &str) -> bool {
    !is_event(line)
}

/// Whether `line` is an event, or an event stream's error, the listening app printed.
fn is_event(line: &str) -> bool {
    line.starts_with("event ")
}
