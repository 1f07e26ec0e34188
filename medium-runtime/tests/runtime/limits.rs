//! Connection limits (`max_connections`, `max_connections_per_uid`) and the socket file's mode at
//! first sight, over real sockets against real daemons (in process, and the echo daemon process
//! under a low open-file limit).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use medium_runtime::{Client, DaemonOptions, Error, ErrorCode, NoException};
use tokio::net::UnixStream;

use crate::echo_process::{DaemonProcess, ECHO, echo_daemon_binary};
use crate::support::{INFO, TestDaemon, read_frame, wait_for_socket};

/// Connects, retrying while the daemon has not yet noticed earlier connections closing (the
/// startup probe, a dropped client): their slots come back asynchronously.
async fn connect_when_room(path: &std::path::Path) -> Client {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Client::connect_to(&INFO, path).await {
            Ok(client) => return client,
            Err(Error::Rejected(e))
                if e.code == ErrorCode::TooManyConnections && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(other) => panic!("cannot connect: {other}"),
        }
    }
}

/// The plain refusal an app over a limit gets, naming the limit; quickly, not after a timeout.
async fn assert_refused(path: &std::path::Path, limit_name: &str) {
    let started = Instant::now();
    let err = Client::connect_to(&INFO, path).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused quickly"
    );
    match &err {
        Error::Rejected(e) => {
            assert_eq!(e.code, ErrorCode::TooManyConnections);
            assert!(
                e.message.contains(&format!("({limit_name})")),
                "{err} names {limit_name}"
            );
        }
        other => panic!("expected a too_many_connections refusal, got {other:?}"),
    }
    assert!(err.to_string().contains("too many connections"), "{err}");
}

async fn echo_works(client: &Client) {
    let tag: u32 = client
        .call::<_, _, NoException>("sleep", &(0u64, 5u32))
        .await
        .unwrap();
    assert_eq!(tag, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_over_max_connections_is_refused_plainly_until_one_closes() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        max_connections: Some(3),
        ..DaemonOptions::default()
    })
    .await;
    let a = connect_when_room(&daemon.path).await;
    let b = connect_when_room(&daemon.path).await;
    let c = connect_when_room(&daemon.path).await;
    assert_refused(&daemon.path, "max_connections").await;

    // A raw peer that says nothing is told why, then disconnected.
    let mut raw = UnixStream::connect(&daemon.path).await.unwrap();
    let body = read_frame(&mut raw).await.expect("a fatal-error frame");
    assert_eq!(&body[..3], &[0x93, 0x07, 11], "FATAL too_many_connections");
    assert!(read_frame(&mut raw).await.is_none(), "then disconnected");
    // Introspection (`cargo medium describe`) is told the same.
    match medium_runtime::introspect(&daemon.path).await {
        Err(Error::Rejected(e)) => assert_eq!(e.code, ErrorCode::TooManyConnections),
        other => panic!("expected a too_many_connections refusal, got {other:?}"),
    }

    // Those already in are unaffected.
    echo_works(&a).await;
    echo_works(&c).await;
    drop(b);
    let d = connect_when_room(&daemon.path).await;
    echo_works(&d).await;
    assert_refused(&daemon.path, "max_connections").await;
    assert_eq!(daemon.handle.applications().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_over_max_connections_per_uid_is_refused_plainly_until_one_closes() {
    // Every test runs as one uid, so the per-uid limit is the one reached.
    let daemon = TestDaemon::start_with(DaemonOptions {
        max_connections_per_uid: 2,
        ..DaemonOptions::default()
    })
    .await;
    let a = connect_when_room(&daemon.path).await;
    let b = connect_when_room(&daemon.path).await;
    assert_refused(&daemon.path, "max_connections_per_uid").await;
    drop(a);
    let c = connect_when_room(&daemon.path).await;
    echo_works(&b).await;
    echo_works(&c).await;
    assert_refused(&daemon.path, "max_connections_per_uid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_refused_peers_that_never_read_does_not_stall_accepting() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        max_connections: Some(1),
        ..DaemonOptions::default()
    })
    .await;
    let held = connect_when_room(&daemon.path).await;
    // Far more refused peers than the daemon keeps lingering, none of which reads or leaves.
    let mut flood = Vec::new();
    for _ in 0..300 {
        flood.push(UnixStream::connect(&daemon.path).await.unwrap());
    }
    assert_refused(&daemon.path, "max_connections").await;
    echo_works(&held).await;
    drop(held);
    let next = connect_when_room(&daemon.path).await;
    echo_works(&next).await;
    drop(flood);
}

/// The echo daemon process under `ulimit -n 256`: the default limit (90 % of it, 230) is
/// reached before the file descriptors run out, so a new app is refused plainly and at once
/// instead of waiting for a handshake answer that never comes.
#[test]
fn at_the_open_file_limit_the_default_limit_refuses_instead_of_stalling() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo").join("socket");
    let mut command = Command::new(echo_daemon_binary());
    command
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let _daemon = DaemonProcess(command.spawn().unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        wait_for_socket(&path).await;
        let mut held = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        // Fill up to the limit (the startup probe's slot comes back asynchronously).
        loop {
            match Client::connect_to(&ECHO, &path).await {
                Ok(client) => held.push(client),
                Err(Error::Rejected(e)) if e.code == ErrorCode::TooManyConnections => {
                    if held.len() == 230 {
                        break;
                    }
                    assert!(Instant::now() < deadline, "stuck at {}", held.len());
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(other) => panic!("after {} connections: {other}", held.len()),
            }
        }
        // Many more knock, and each is told why at once.
        for _ in 0..100 {
            let started = Instant::now();
            match Client::connect_to(&ECHO, &path).await {
                Err(Error::Rejected(e)) => {
                    assert_eq!(e.code, ErrorCode::TooManyConnections);
                    assert!(e.message.contains("limit of 230 (max_connections)"), "{e}");
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
            assert!(started.elapsed() < Duration::from_secs(2));
        }
        let text: String = held[0]
            .call::<_, _, NoException>("echo", &("still here",))
            .await
            .unwrap();
        assert_eq!(text, "still here");
        held.truncate(229);
        let deadline = Instant::now() + Duration::from_secs(10);
        let newcomer = loop {
            match Client::connect_to(&ECHO, &path).await {
                Ok(client) => break client,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(other) => panic!("no room after one left: {other}"),
            }
        };
        let text: String = newcomer
            .call::<_, _, NoException>("echo", &("in",))
            .await
            .unwrap();
        assert_eq!(text, "in");
    });
}

/// Watches for the socket file from another thread while the daemon starts: the first time the
/// path exists at all, it is already no wider than 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_file_is_never_seen_wider_than_0600() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watched").join("socket");
        let watched = path.clone();
        let watcher = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(meta) = std::fs::symlink_metadata(&watched) {
                    return meta.permissions().mode() & 0o777;
                }
                assert!(Instant::now() < deadline, "socket never appeared");
                std::hint::spin_loop();
            }
        });
        let daemon =
            medium_runtime::Daemon::new(&INFO, crate::support::TestService).socket_path(&path);
        let handle = daemon.handle();
        let task = tokio::spawn(daemon.serve());
        let first_sight = tokio::task::spawn_blocking(move || watcher.join().unwrap())
            .await
            .unwrap();
        assert_eq!(first_sight & !0o600, 0, "first seen as {first_sight:o}");
        handle.shutdown();
        task.await.unwrap().unwrap();
    }
}
