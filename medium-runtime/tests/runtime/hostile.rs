//! Hostile or confused peers: each misbehaving connection is dropped, the daemon keeps serving
//! the others, and a client facing something that is not a medium daemon says so.

use std::time::Duration;

use medium_runtime::{Client, Error, NoException, ProtocolInfo};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};

use crate::support::{INFO, TestDaemon, frame, hello_body, raw_client, read_frame};

/// Runs `attack` against the daemon and checks that an existing and a new client still work.
async fn survives(attack: impl AsyncFnOnce(&TestDaemon)) {
    let daemon = TestDaemon::start().await;
    let bystander = daemon.client().await;
    attack(&daemon).await;
    daemon.assert_still_serves(&bystander).await;
}

/// Reads the fatal frame the daemon sends before disconnecting: `[7, code, message]`.
async fn fatal_code(stream: &mut UnixStream) -> u8 {
    let body = tokio::time::timeout(Duration::from_secs(5), read_frame(stream))
        .await
        .unwrap()
        .expect("a fatal-error frame");
    assert_eq!(&body[..2], &[0x93, 0x07], "fatal-error frame");
    assert!(read_frame(stream).await.is_none(), "then disconnected");
    body[2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_frame_then_hang_up_is_survived() {
    survives(async |d: &TestDaemon| {
        let mut s = raw_client(&d.path).await;
        s.write_all(&[0, 0, 0, 50, 0x94, 0x01]).await.unwrap();
        drop(s);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_length_prefix_is_refused_before_allocation() {
    survives(async |d: &TestDaemon| {
        let mut s = raw_client(&d.path).await;
        s.write_all(&[0xff, 0xff, 0xff, 0xf0]).await.unwrap();
        assert_eq!(fatal_code(&mut s).await, 7);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_after_the_handshake_is_refused() {
    survives(async |d: &TestDaemon| {
        let mut s = raw_client(&d.path).await;
        s.write_all(&frame(b"\xc1\xffnot msgpack")).await.unwrap();
        assert_eq!(fatal_code(&mut s).await, 6);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_instead_of_a_handshake_is_refused() {
    survives(async |d: &TestDaemon| {
        let mut s = UnixStream::connect(&d.path).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        // "GET " as a length prefix is far over the limit.
        assert_eq!(fatal_code(&mut s).await, 7);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_before_the_handshake_is_refused() {
    survives(async |d: &TestDaemon| {
        let mut s = UnixStream::connect(&d.path).await.unwrap();
        let call = [0x94, 0x01, 0x01, 0xa1, b'x', 0x90];
        s.write_all(&frame(&call)).await.unwrap();
        assert_eq!(fatal_code(&mut s).await, 6);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_handshake_is_refused() {
    survives(async |d: &TestDaemon| {
        let mut s = raw_client(&d.path).await;
        s.write_all(&frame(&hello_body())).await.unwrap();
        assert_eq!(fatal_code(&mut s).await, 6);
    })
    .await;
}

const OTHER_BUILD: ProtocolInfo = ProtocolInfo {
    fingerprint: "91c0d2e400000000000000000000000000000000000000000000000000000000",
    ..INFO
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatched_fingerprint_is_refused_naming_both_sides() {
    survives(async |d: &TestDaemon| {
        let err = Client::connect_to(&OTHER_BUILD, &d.path).await.unwrap_err();
        assert!(matches!(err, Error::HandshakeMismatch { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "daemon at {} speaks com.example.test.TestSystem (fingerprint 3f2a9c1b…), \
                 this app was built for com.example.test.TestSystem (fingerprint 91c0d2e4…): \
                 rebuild one of them",
                d.path.display()
            )
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_answers_garbage_is_not_medium() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let err = Client::connect_to(&INFO, &path).await.unwrap_err();
    assert!(matches!(err, Error::NotMedium { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("{} is not a medium daemon socket", path.display()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_hangs_up_is_not_medium() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        drop(s);
    });
    let err = Client::connect_to(&INFO, &path).await.unwrap_err();
    assert!(matches!(err, Error::NotMedium { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absent_daemon_names_the_socket_and_says_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let err = Client::connect_to(&INFO, &path).await.unwrap_err();
    assert!(matches!(err, Error::NotRunning { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "no daemon at {}: is it running? start the daemon first",
            path.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_never_reads_its_replies_is_throttled_not_buffered() {
    let daemon = TestDaemon::start_with(medium_runtime::DaemonOptions {
        event_queue_len: 4,
        max_in_flight_calls: 4,
        ..medium_runtime::DaemonOptions::default()
    })
    .await;
    let bystander = daemon.client().await;
    let flood = raw_client(&daemon.path).await;
    // Whole frames back to back, so writing the buffer cyclically keeps the framing intact.
    // Each has its own id (a request id is never reused while in flight, and these are
    // answered long before the cycle comes round again).
    let call = |id: u16| {
        let [high, low] = id.to_be_bytes();
        frame(&[
            0x94, 0x01, 0xcd, high, low, 0xa5, b's', b'l', b'e', b'e', b'p', 0x92, 0x00, 0x00,
        ])
    };
    let buffer: Vec<u8> = (0..4096).flat_map(call).collect();
    let (mut offset, mut sent) = (0, 0usize);
    loop {
        match tokio::time::timeout(Duration::from_millis(500), flood.writable()).await {
            Err(_) => break, // the daemon stopped reading from us
            Ok(ready) => ready.unwrap(),
        }
        match flood.try_write(&buffer[offset..]) {
            Ok(n) => {
                sent += n;
                offset = (offset + n) % buffer.len();
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("{e}"),
        }
        assert!(
            sent < 64 << 20,
            "daemon kept reading calls whose replies nobody reads"
        );
    }
    let tag: u32 = bystander
        .call::<_, _, NoException>("sleep", &(0u64, 6u32))
        .await
        .unwrap();
    assert_eq!(tag, 6);
}
