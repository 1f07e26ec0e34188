//! Security properties (SECURITY.md): the uid allow-list is enforced before the handshake, the
//! socket's mode is configurable, a symlink at the socket path is never followed or removed, and
//! what one connection can make the daemon hold is bounded.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use futures::StreamExt;
use medium_runtime::{Client, Daemon, DaemonOptions, Error, ErrorCode, NoException};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use crate::echo_process::{DaemonProcess, ECHO, process_status_kb};
use crate::support::{INFO, TestDaemon, TestService, read_frame, wait_for_socket};

fn my_uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_outside_the_uid_allow_list_is_refused_before_the_handshake() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        allowed_uids: Some(vec![my_uid().wrapping_add(1)]),
        ..DaemonOptions::default()
    })
    .await;
    let mut app_events = daemon.handle.application_events();
    // Without sending anything, the peer is told why and disconnected.
    let mut raw = UnixStream::connect(&daemon.path).await.unwrap();
    let body = read_frame(&mut raw).await.expect("a fatal-error frame");
    assert_eq!(&body[..3], &[0x93, 0x07, 10], "FATAL peer_not_allowed");
    assert!(read_frame(&mut raw).await.is_none(), "then disconnected");

    let err = Client::connect_to(&INFO, &daemon.path).await.unwrap_err();
    match err {
        Error::Rejected(e) => {
            assert_eq!(e.code, ErrorCode::PeerNotAllowed);
            assert_eq!(
                e.message,
                format!("uid {} is not allowed to use this daemon", my_uid())
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(daemon.handle.applications().is_empty());
    let none = tokio::time::timeout(Duration::from_millis(100), app_events.next()).await;
    assert!(none.is_err(), "a refused peer is never an application");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_on_the_uid_allow_list_is_served() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        allowed_uids: Some(vec![my_uid().wrapping_add(1), my_uid()]),
        ..DaemonOptions::default()
    })
    .await;
    let tag: u32 = daemon
        .client()
        .await
        .call::<_, _, NoException>("sleep", &(0u64, 8u32))
        .await
        .unwrap();
    assert_eq!(tag, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_is_configurable() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        socket_mode: 0o660,
        ..DaemonOptions::default()
    })
    .await;
    let mode = std::fs::symlink_metadata(&daemon.path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
}

/// Serving at `link` (a symlink) must fail with `NotASocket` and leave link and target alone.
async fn refuses_symlink_to(target: &std::path::Path, link: &std::path::Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
    let err = Daemon::new(&INFO, TestService)
        .socket_path(link)
        .serve()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotASocket { .. }), "{err:?}");
    assert!(std::fs::symlink_metadata(link).unwrap().is_symlink());
    assert!(target.exists(), "the symlink's target is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlink_to_a_stale_socket_is_neither_followed_nor_removed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&target).unwrap());
    refuses_symlink_to(&target, &dir.path().join("socket")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlink_to_a_live_socket_is_neither_followed_nor_removed() {
    let dir = tempfile::tempdir().unwrap();
    let live = TestDaemon::start().await;
    refuses_symlink_to(&live.path, &dir.path().join("socket")).await;
    live.client().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlink_to_a_folder_is_neither_followed_nor_removed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("folder");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "x").unwrap();
    refuses_symlink_to(&target, &dir.path().join("socket")).await;
    assert!(target.join("keep").exists());
}

/// The daemon process's data segment size (`VmData`, kB): reserved heap counts even untouched.
fn data_size_kb(pid: u32) -> u64 {
    process_status_kb(pid, "VmData")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_but_unsent_frames_do_not_reserve_memory() {
    const CONNECTIONS: usize = 32;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let daemon = DaemonProcess::spawn(&path);
    wait_for_socket(&path).await;
    let before = data_size_kb(daemon.0.id());
    // Slow loris: each connection announces a frame just under the 16 MiB limit, then trickles.
    let mut lorises = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut s = UnixStream::connect(&path).await.unwrap();
        s.write_all(&((16 << 20) - 1u32).to_be_bytes())
            .await
            .unwrap();
        s.write_all(&[0x90; 1000]).await.unwrap();
        lorises.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for s in &mut lorises {
        s.write_all(&[0x90; 1000]).await.unwrap();
    }
    let client = Client::connect_to(&ECHO, &path).await.unwrap();
    let text: String = client
        .call::<_, _, NoException>("echo", &("served",))
        .await
        .unwrap();
    assert_eq!(text, "served");
    let grown_mib = data_size_kb(daemon.0.id()).saturating_sub(before) / 1024;
    // Reserving each announced frame would be 32 × 16 MiB = 512 MiB.
    assert!(
        grown_mib < 32,
        "daemon grew by {grown_mib} MiB for {CONNECTIONS} partial frames"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_bytes_in_flight_are_bounded_per_connection() {
    // A `sleep` call frame is about 15 bytes: a 20-byte budget runs one at a time.
    let daemon = TestDaemon::start_with(DaemonOptions {
        max_in_flight_bytes: 20,
        ..DaemonOptions::default()
    })
    .await;
    let client = daemon.client().await;
    let started = Instant::now();
    let (a, b) = tokio::join!(
        client.call::<_, u32, NoException>("sleep", &(1000u64, 1u32)),
        client.call::<_, u32, NoException>("sleep", &(1000u64, 2u32)),
    );
    assert_eq!((a.unwrap(), b.unwrap()), (1, 2));
    assert!(
        started.elapsed() >= Duration::from_millis(2000),
        "ran one after the other"
    );
    // Two 1 s calls on two connections: together, with room for a loaded machine.
    let other = daemon.client().await;
    let started = Instant::now();
    let (a, b) = tokio::join!(
        client.call::<_, u32, NoException>("sleep", &(1000u64, 3u32)),
        other.call::<_, u32, NoException>("sleep", &(1000u64, 4u32)),
    );
    assert_eq!((a.unwrap(), b.unwrap()), (3, 4));
    assert!(
        started.elapsed() < Duration::from_millis(1800),
        "the budget is per connection"
    );
}
