//! Faults with real processes: a daemon SIGKILLed mid-call, an application SIGKILLed mid-call,
//! and handler panics next to calls that must keep working.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use medium_runtime::{
    ApplicationEvent, CallError, Client, Daemon, EmitError, Error, ErrorCode, NoException,
    ProtocolInfo, ReconnectPolicy,
};

use crate::echo_process::{DaemonProcess, ECHO};
use crate::support::{INFO, TestDaemon, TestService, wait_for_socket};

const QUICK_RETRIES: ReconnectPolicy = ReconnectPolicy {
    attempts: 100,
    initial_delay: Duration::from_millis(20),
    max_delay: Duration::from_millis(100),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_killed_mid_call_fails_the_call_and_a_restarted_daemon_takes_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ECHO.namespace).join("socket");
    let daemon = DaemonProcess::spawn(&path);
    wait_for_socket(&path).await;
    let client = Client::connect_to(&ECHO, &path).await.unwrap();
    let mut echoed = client.subscribe::<(String,)>("echoed").await.unwrap();
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .call::<_, u64, NoException>("sleep", &(60_000u64,))
                .await
        }
    });
    let _: String = client
        .call::<_, _, NoException>("echo", &("before",))
        .await
        .unwrap();
    assert_eq!(echoed.next().await.unwrap().unwrap().0, "before");

    daemon.signal(libc::SIGKILL);
    let (ok, _) = tokio::task::spawn_blocking(move || daemon.finish())
        .await
        .unwrap();
    assert!(!ok, "killed");
    let outcome = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("the pending call ends instead of hanging")
        .unwrap();
    assert!(
        matches!(outcome, Err(CallError::Transport(Error::ConnectionClosed))),
        "{outcome:?}"
    );
    assert!(echoed.next().await.is_none(), "event stream ended");
    assert!(client.is_closed());
    let err = client
        .call::<_, String, NoException>("echo", &("after",))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Transport(Error::ConnectionClosed)));
    assert!(path.exists(), "SIGKILL leaves the socket file behind");

    // Reconnecting starts before the new daemon exists: it retries until the daemon answers.
    let reconnecting = tokio::spawn({
        let client = client.clone();
        async move { client.reconnect(&QUICK_RETRIES).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _restarted = DaemonProcess::spawn(&path);
    let fresh = reconnecting.await.unwrap().unwrap();
    let mut echoed = fresh.subscribe::<(String,)>("echoed").await.unwrap();
    let text: String = fresh
        .call::<_, _, NoException>("echo", &("again",))
        .await
        .unwrap();
    assert_eq!(text, "again");
    assert_eq!(echoed.next().await.unwrap().unwrap().0, "again");
}

const REBUILT: ProtocolInfo = ProtocolInfo {
    fingerprint: "5e5e000000000000000000000000000000000000000000000000000000000000",
    ..INFO
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_to_a_daemon_built_from_another_spec_is_a_handshake_mismatch() {
    let old = TestDaemon::start().await;
    let client = old.client().await;
    old.handle.shutdown();
    let path = old.path.clone();
    old.task.await.unwrap().unwrap();
    assert!(!path.exists());
    let rebuilt = Daemon::new(&REBUILT, TestService).socket_path(&path);
    let handle = rebuilt.handle();
    tokio::spawn(rebuilt.serve());
    let err = client.reconnect(&QUICK_RETRIES).await.unwrap_err();
    assert!(matches!(err, Error::HandshakeMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("fingerprint 5e5e0000"), "{err}");
    handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_gives_up_after_its_attempts_with_not_running() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    daemon.handle.shutdown();
    daemon.task.await.unwrap().unwrap();
    let policy = ReconnectPolicy {
        attempts: 3,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
    };
    let err = client.reconnect(&policy).await.unwrap_err();
    assert!(matches!(err, Error::NotRunning { .. }), "{err:?}");
}

/// What the child application prints once its call is out.
const CALL_STARTED: &str = "<call started>";

/// The environment variable that turns [`app_process_for_fault_tests`] into a real application.
const APP_SOCKET_ENV: &str = "MEDIUM_FAULT_TEST_APP_SOCKET";

/// Not a test on its own: `app_killed_mid_call…` runs this test binary again with only this
/// function and `APP_SOCKET_ENV` set, to get an application in a separate process. It
/// subscribes, starts a slow call, says so on stdout, and waits to be killed.
#[tokio::test]
#[ignore = "child process of app_killed_mid_call_is_observed_and_forgotten_while_others_are_served"]
async fn app_process_for_fault_tests() {
    let Some(path) = std::env::var_os(APP_SOCKET_ENV) else {
        return;
    };
    let client = Client::connect_to(&INFO, &path).await.unwrap();
    let _news = client.subscribe::<(u32,)>("news").await.unwrap();
    let call = client.call::<_, u32, NoException>("sleep", &(60_000u64, 1u32));
    tokio::pin!(call);
    // Polls once so the call frame goes out before announcing it.
    assert!(futures::poll!(call.as_mut()).is_pending());
    // libtest prints the test's name on the same line first.
    println!("{CALL_STARTED}");
    let _ = call.await;
    unreachable!("killed before the reply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_killed_mid_call_is_observed_and_forgotten_while_others_are_served() {
    let daemon = TestDaemon::start().await;
    let mut app_events = daemon.handle.application_events();
    let bystander = daemon.client().await;
    let Some(ApplicationEvent::Connected(_)) = app_events.next().await else {
        panic!("bystander connects first")
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "faults::app_process_for_fault_tests",
            "--ignored",
        ])
        .args(["--nocapture", "--test-threads=1"])
        .env(APP_SOCKET_ENV, &daemon.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let Some(ApplicationEvent::Connected(app)) = app_events.next().await else {
        panic!("the child connects")
    };
    assert_eq!(app.credentials().pid, Some(child.id()));
    let stdout = child.stdout.take().unwrap();
    let announced = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.ends_with(CALL_STARTED))
    });
    let announced = tokio::time::timeout(Duration::from_secs(10), announced).await;
    // The call is now in its slow handler (or about to be): kill the application. Killed
    // before asserting, so a failing test leaves no process behind.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        matches!(announced, Ok(Ok(true))),
        "the child started its call"
    );
    let gone = tokio::time::timeout(Duration::from_secs(5), app_events.next())
        .await
        .expect("the disconnect is observed");
    assert_eq!(gone, Some(ApplicationEvent::Disconnected(app.clone())));
    assert!(!daemon.handle.applications().contains(&app));
    assert!(matches!(
        daemon.handle.emit_to(app.id(), "news", &(1u32,)),
        Err(EmitError::NotConnected(id)) if id == app.id()
    ));
    let tag: u32 = bystander
        .call::<_, _, NoException>("sleep", &(0u64, 9u32))
        .await
        .unwrap();
    assert_eq!(tag, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_in_dispatch_and_handler_leave_concurrent_calls_and_other_apps_working() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let other = daemon.client().await;
    let slow = client.call::<_, u32, NoException>("sleep", &(200u64, 3u32));
    let in_dispatch = client.call::<_, (), NoException>("panic_in_dispatch", &());
    let in_handler = client.call::<_, (), NoException>("panic", &());
    let (slow, in_dispatch, in_handler) = tokio::join!(slow, in_dispatch, in_handler);
    assert_eq!(
        slow.unwrap(),
        3,
        "the call in flight beside the panics completes"
    );
    for (result, message) in [
        (
            in_dispatch,
            "daemon dispatch for `panic_in_dispatch` panicked",
        ),
        (in_handler, "daemon handler for `panic` panicked"),
    ] {
        match result {
            Err(CallError::Protocol(e)) => {
                assert_eq!(e.code, ErrorCode::HandlerPanicked);
                assert_eq!(e.message, message);
            }
            other => panic!("expected HandlerPanicked, got {other:?}"),
        }
    }
    let tag: u32 = other
        .call::<_, _, NoException>("sleep", &(0u64, 4u32))
        .await
        .unwrap();
    assert_eq!(tag, 4);
}
