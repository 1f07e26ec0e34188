//! Automatic reconnection (`ClientOptions::auto_reconnect`) across real restarts of a daemon
//! process (`examples/echo_daemon.rs`): streams survive and are re-subscribed, calls during the
//! outage fail fast or wait, and a restarted daemon that speaks another fingerprint or never
//! comes back closes the client with the reason.

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use medium_runtime::{
    AutoReconnect, CallError, Client, ClientOptions, ConnectionState, Daemon, Error, EventError,
    EventStream, NoException, OutageCalls, ProtocolInfo, ReconnectPolicy,
};

use crate::echo_process::{DaemonProcess, ECHO};
use crate::support::{TestService, wait_for_socket};

/// Retries often enough that a restart is noticed quickly, for long enough that a slow CI
/// machine can start the new process (100 attempts, ≥ 5 s in all).
const QUICK: ReconnectPolicy = ReconnectPolicy {
    attempts: 100,
    initial_delay: Duration::from_millis(20),
    max_delay: Duration::from_millis(50),
};

/// Long enough for anything that should happen on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// The echo daemon's protocol, rebuilt from a changed spec.
const ECHO_REBUILT: ProtocolInfo = ProtocolInfo {
    fingerprint: "e40e111111111111111111111111111111111111111111111111111111111111",
    ..ECHO
};

/// A daemon process on a socket in its own temp dir.
struct Restartable {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Restartable {
    async fn start() -> (Restartable, DaemonProcess) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ECHO.namespace).join("socket");
        let daemon = DaemonProcess::spawn(&path);
        wait_for_socket(&path).await;
        (Restartable { path, _dir: dir }, daemon)
    }

    async fn connect(&self, calls_during_outage: OutageCalls, policy: ReconnectPolicy) -> Client {
        let options = ClientOptions {
            socket_path: Some(self.path.clone()),
            auto_reconnect: Some(AutoReconnect {
                policy,
                calls_during_outage,
            }),
            ..ClientOptions::default()
        };
        Client::connect_with(&ECHO, options).await.unwrap()
    }
}

/// A client with an `echoed` stream whose daemon was just killed: it is reconnecting (with
/// [`QUICK`]).
async fn in_outage(calls: OutageCalls) -> (Restartable, Client, EventStream<(String,)>) {
    let (daemon_dir, daemon) = Restartable::start().await;
    let client = daemon_dir.connect(calls, QUICK).await;
    let echoed = client.subscribe::<(String,)>("echoed").await.unwrap();
    kill(daemon).await;
    wait_for_state(&client, ConnectionState::Reconnecting).await;
    (daemon_dir, client, echoed)
}

/// Calls `echo(text)` in a task, and gives the call time to start waiting.
async fn spawn_echo(
    client: &Client,
    text: &'static str,
) -> tokio::task::JoinHandle<Result<String, CallError<NoException>>> {
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { echo(&client, text).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    waiting
}

/// SIGKILLs the daemon (no goodbye, socket file left behind) and waits until it is gone.
async fn kill(daemon: DaemonProcess) {
    daemon.signal(libc::SIGKILL);
    tokio::task::spawn_blocking(move || daemon.finish())
        .await
        .unwrap();
}

/// Waits for `wanted` through `Client::state_change`.
async fn wait_for_state(client: &Client, wanted: ConnectionState) {
    let mut state = client.state();
    while state != wanted {
        state = tokio::time::timeout(PATIENCE, client.state_change(state))
            .await
            .unwrap_or_else(|_| panic!("state stayed {state:?}, expected {wanted:?}"));
    }
}

async fn echo(client: &Client, text: &str) -> Result<String, CallError<NoException>> {
    client.call("echo", &(text,)).await
}

async fn next_event(stream: &mut EventStream<(String,)>) -> Option<Result<(String,), EventError>> {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("the event stream neither yields nor ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_survive_a_daemon_restart_and_are_subscribed_again() {
    let (daemon_dir, daemon) = Restartable::start().await;
    let client = daemon_dir.connect(OutageCalls::FailFast, QUICK).await;
    let mut echoed = client.subscribe::<(String,)>("echoed").await.unwrap();
    assert_eq!(echo(&client, "before").await.unwrap(), "before");
    assert_eq!(next_event(&mut echoed).await.unwrap().unwrap().0, "before");
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .call::<_, u64, NoException>("sleep", &(60_000u64,))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;

    kill(daemon).await;
    let outcome = tokio::time::timeout(PATIENCE, in_flight)
        .await
        .expect("the call pending at the crash ends")
        .unwrap();
    assert!(
        matches!(outcome, Err(CallError::Transport(Error::ConnectionClosed))),
        "a call the daemon may have run is not resent: {outcome:?}"
    );
    assert_eq!(client.state(), ConnectionState::Reconnecting);
    let err = echo(&client, "during").await.unwrap_err();
    assert!(
        matches!(&err, CallError::Transport(Error::Reconnecting { path }) if *path == daemon_dir.path),
        "{err:?}"
    );
    let err = client.subscribe::<(String,)>("echoed").await.unwrap_err();
    assert!(
        matches!(&err, Error::Reconnecting { .. }),
        "subscribing fails fast like a call: {err:?}"
    );

    let _restarted = DaemonProcess::spawn(&daemon_dir.path);
    assert_restored(&daemon_dir, &client, &mut echoed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_survive_a_graceful_daemon_restart() {
    let (daemon_dir, daemon) = Restartable::start().await;
    let client = daemon_dir.connect(OutageCalls::FailFast, QUICK).await;
    let mut echoed = client.subscribe::<(String,)>("echoed").await.unwrap();
    daemon.signal(libc::SIGTERM);
    let (clean, _) = tokio::task::spawn_blocking(move || daemon.finish())
        .await
        .unwrap();
    assert!(clean, "SIGTERM is a clean exit");
    assert!(!daemon_dir.path.exists(), "and removes the socket");
    let _restarted = DaemonProcess::spawn(&daemon_dir.path);
    assert_restored(&daemon_dir, &client, &mut echoed).await;
}

/// After a restart: the stream says it may have missed events once the new daemon has
/// acknowledged its subscription, so an event another application causes right after reaches
/// it; and calls work.
async fn assert_restored(
    daemon_dir: &Restartable,
    client: &Client,
    echoed: &mut EventStream<(String,)>,
) {
    let notice = next_event(echoed).await;
    assert!(
        matches!(notice, Some(Err(EventError::Reconnected))),
        "{notice:?}"
    );
    let other = Client::connect_to(&ECHO, &daemon_dir.path).await.unwrap();
    assert_eq!(echo(&other, "after").await.unwrap(), "after");
    assert_eq!(next_event(echoed).await.unwrap().unwrap().0, "after");
    assert_eq!(client.state(), ConnectionState::Connected);
    assert_eq!(echo(client, "mine").await.unwrap(), "mine");
    assert_eq!(next_event(echoed).await.unwrap().unwrap().0, "mine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_made_during_the_outage_wait_for_the_restarted_daemon_when_asked_to() {
    let (daemon_dir, client, _) = in_outage(OutageCalls::Wait).await;
    let waiting = spawn_echo(&client, "patient").await;
    let err = client
        .call_with_timeout::<_, String, NoException>(
            "echo",
            &("hasty",),
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Transport(Error::Timeout { .. })),
        "the call's timeout bounds the wait: {err:?}"
    );
    assert!(
        !waiting.is_finished(),
        "the call waits while no daemon runs"
    );

    let _restarted = DaemonProcess::spawn(&daemon_dir.path);
    let text = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("the waiting call goes out once reconnected")
        .unwrap()
        .unwrap();
    assert_eq!(text, "patient");
    assert_eq!(client.state(), ConnectionState::Connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_daemon_built_from_another_spec_is_reported_and_closes_the_client() {
    let (daemon_dir, client, mut echoed) = in_outage(OutageCalls::Wait).await;
    let waiting = spawn_echo(&client, "never sent").await;
    let rebuilt = Daemon::new(&ECHO_REBUILT, TestService).socket_path(&daemon_dir.path);
    let handle = rebuilt.handle();
    tokio::spawn(rebuilt.serve());

    let ended = next_event(&mut echoed).await;
    let Some(Err(EventError::ReconnectFailed(reason))) = ended else {
        panic!("the stream reports why it ends: {ended:?}");
    };
    assert!(
        matches!(*reason, Error::HandshakeMismatch { .. }),
        "{reason:?}"
    );
    assert!(
        reason.to_string().contains("fingerprint e40e1111"),
        "{reason}"
    );
    assert!(next_event(&mut echoed).await.is_none(), "then it ends");
    assert!(client.is_closed());
    let err = tokio::time::timeout(PATIENCE, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    let CallError::Transport(Error::ReconnectFailed(reason)) = &err else {
        panic!("{err:?}");
    };
    assert!(matches!(**reason, Error::HandshakeMismatch { .. }));
    assert!(err.to_string().contains("could not reconnect"), "{err}");
    handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_gives_up_when_its_attempts_run_out() {
    let (daemon_dir, daemon) = Restartable::start().await;
    let policy = ReconnectPolicy {
        attempts: 3,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
    };
    let client = daemon_dir.connect(OutageCalls::FailFast, policy).await;
    let mut echoed = client.subscribe::<(String,)>("echoed").await.unwrap();
    kill(daemon).await;
    let ended = next_event(&mut echoed).await;
    let Some(Err(EventError::ReconnectFailed(reason))) = ended else {
        panic!("{ended:?}");
    };
    assert!(matches!(*reason, Error::NotRunning { .. }), "{reason:?}");
    assert!(next_event(&mut echoed).await.is_none());
    assert_eq!(client.state(), ConnectionState::Closed);
    let err = echo(&client, "late").await.unwrap_err();
    assert!(
        matches!(&err, CallError::Transport(Error::ReconnectFailed(r)) if matches!(**r, Error::NotRunning { .. })),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_closed_while_reconnecting_stays_closed() {
    let (daemon_dir, client, mut echoed) = in_outage(OutageCalls::Wait).await;
    let waiting = spawn_echo(&client, "never sent").await;
    client.clone().close().await;

    assert!(
        next_event(&mut echoed).await.is_none(),
        "streams end quietly"
    );
    let err = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("a waiting call ends with the client")
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, CallError::Transport(Error::ConnectionClosed)),
        "{err:?}"
    );

    // In process this time, to see who connects.
    let restarted = Daemon::new(&ECHO, TestService).socket_path(&daemon_dir.path);
    let handle = restarted.handle();
    tokio::spawn(restarted.serve());
    wait_for_socket(&daemon_dir.path).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        handle.applications().is_empty(),
        "the closed client did not reconnect"
    );
    assert_eq!(client.state(), ConnectionState::Closed);
    handle.shutdown();
}

#[test]
fn the_blocking_client_reconnects_by_itself_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ECHO.namespace).join("socket");
    let daemon = DaemonProcess::spawn(&path);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(wait_for_socket(&path));
    let options = ClientOptions {
        socket_path: Some(path.clone()),
        auto_reconnect: Some(AutoReconnect {
            policy: QUICK,
            calls_during_outage: OutageCalls::Wait,
        }),
        ..ClientOptions::default()
    };
    let client = medium_runtime::blocking::Client::connect_with(&ECHO, options).unwrap();
    let mut echoed = client.subscribe::<(String,)>("echoed").unwrap();

    daemon.signal(libc::SIGKILL);
    daemon.finish();
    // A call made before the client notices would be pending on the dead connection and fail.
    let deadline = std::time::Instant::now() + PATIENCE;
    while client.state() != ConnectionState::Reconnecting {
        assert!(std::time::Instant::now() < deadline, "{:?}", client.state());
        std::thread::sleep(Duration::from_millis(10));
    }
    let restart = std::thread::spawn({
        let path = path.clone();
        move || {
            std::thread::sleep(Duration::from_millis(200));
            DaemonProcess::spawn(&path)
        }
    });
    // Blocks through the outage, then goes to the restarted daemon.
    let text: String = client
        .call::<_, _, NoException>("echo", &("through",))
        .unwrap();
    assert_eq!(text, "through");
    let _restarted = restart.join().unwrap();
    assert!(matches!(echoed.next(), Some(Err(EventError::Reconnected))));
    assert_eq!(echoed.next().unwrap().unwrap().0, "through");
}
