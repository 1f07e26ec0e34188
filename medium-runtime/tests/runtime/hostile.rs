//! Hostile or confused peers: each misbehaving connection is dropped, the daemon keeps serving
//! the others, and a client facing something that is not a medium daemon says so.

use std::time::Duration;

use medium_runtime::{Client, DaemonOptions, Error, NoException, ProtocolInfo};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};

use crate::support::{
    Answer, INFO, TestDaemon, call_body, eventually, frame, hello_body, raw_call, raw_client,
    read_frame, runs,
};

/// Runs `attack` against the daemon and checks that an existing and a new client still work.
async fn survives(attack: impl AsyncFnOnce(&TestDaemon)) {
    let daemon = TestDaemon::start().await;
    let bystander = daemon.client().await;
    attack(&daemon).await;
    daemon.assert_still_serves(&bystander).await;
}

/// Reads the fatal frame the daemon sends before disconnecting: `[7, code, message]`.
async fn fatal(stream: &mut UnixStream) -> (u32, String) {
    let body = tokio::time::timeout(Duration::from_secs(5), read_frame(stream))
        .await
        .unwrap()
        .expect("a fatal-error frame");
    let Answer::Fatal { code, message } = Answer::of(&body) else {
        panic!("expected a fatal-error frame: {body:02x?}");
    };
    assert!(read_frame(stream).await.is_none(), "then disconnected");
    (code, message)
}

/// The code of the fatal frame the daemon sends before disconnecting.
async fn fatal_code(stream: &mut UnixStream) -> u32 {
    fatal(stream).await.0
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

/// Calls that arrive together, in one read, are not all run when their replies find no room:
/// the daemon takes each buffered frame only while its outgoing queue has room, as it does
/// before a read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_calls_wait_unread_while_the_queue_is_full() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        event_queue_len: 4,
        ..DaemonOptions::default()
    })
    .await;
    let mut flood = raw_client(&daemon.path).await;
    // 64 calls in one write, each answered with 256 KiB: the socket holds a few replies, the
    // queue four more, and then the daemon must stop taking calls.
    let key = "buffered_calls_wait_unread_while_the_queue_is_full";
    let mut args = Vec::new();
    rmp::encode::write_array_len(&mut args, 2).unwrap();
    rmp::encode::write_str(&mut args, key).unwrap();
    rmp::encode::write_uint(&mut args, 256 << 10).unwrap();
    let calls: Vec<u8> = (1..=64)
        .flat_map(|id| frame(&call_body(id, "counted", &args)))
        .collect();
    flood.write_all(&calls).await.unwrap();
    eventually(|| runs(key) > 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ran = runs(key);
    assert!(
        ran <= 16,
        "{ran} of 64 calls ran while their replies had no room"
    );
    // Held back, not refused: once read, every call is answered.
    for _ in 0..64 {
        let reply = tokio::time::timeout(Duration::from_secs(10), read_frame(&mut flood))
            .await
            .expect("a reply")
            .expect("a frame");
        assert_eq!(&reply[..2], &[0x93, 0x02], "a VALUE reply");
    }
    assert_eq!(runs(key), 64);
}

/// A call whose frame is not exactly one well-formed MessagePack value, however valid its
/// beginning: the daemon says why and closes (PROTOCOL.md §2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_that_is_not_one_well_formed_value_is_fatal() {
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "sleep",
            &[0x92, 0x00, 0x00, 0xc0],
            "1 byte after the frame's MessagePack value",
        ),
        (
            "sleep",
            &[0x92, 0x00],
            "the frame ends inside a MessagePack value (a length runs past its end)",
        ),
        (
            "find",
            &[0x91, 0xc4, 0x10, 0x01],
            "the frame ends inside a MessagePack value (a length runs past its end)",
        ),
        (
            "sleep",
            &[0x92, 0x00, 0xc1],
            "reserved MessagePack marker 0xc1 at byte 11",
        ),
        (
            "find",
            &[0x91, 0xa2, 0xc3, 0x28],
            "the str at byte 9 is not UTF-8",
        ),
    ];
    for (method, args, why) in cases {
        survives(async |d: &TestDaemon| {
            let mut s = raw_client(&d.path).await;
            s.write_all(&frame(&call_body(1, method, args)))
                .await
                .unwrap();
            assert_eq!(
                fatal(&mut s).await,
                (6, format!("malformed message: {why}")),
                "{args:02x?}"
            );
        })
        .await;
    }
}

/// An ext value is well-formed MessagePack but no spec type's: `ERROR` 2, and the connection
/// carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ext_value_is_bad_arguments_not_malformed() {
    let daemon = TestDaemon::start().await;
    let mut s = raw_client(&daemon.path).await;
    let answer = Answer::of(&raw_call(&mut s, 1, "find", &[0x91, 0xd4, 0x01, 0x00]).await);
    assert_eq!(
        answer,
        Answer::Error {
            id: 1,
            code: 2,
            message: "arguments do not match the method's parameters: argument 0: \
                      invalid type: an ext value, expected a string"
                .into()
        }
    );
    let answer = Answer::of(&raw_call(&mut s, 2, "sleep", &[0x92, 0x00, 0x07]).await);
    assert_eq!(
        answer,
        Answer::Value {
            id: 2,
            value: vec![0x07]
        }
    );
}

/// Two requests in flight with one id: their replies could not be told apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_in_flight_used_again_is_fatal() {
    let builtin = |id: u8| [&[0x94, 0x04, id][..], b"\xaaintrospect\x90"].concat();
    for again in [call_body(7, "sleep", &[0x92, 0x00, 0x01]), builtin(7)] {
        survives(async |d: &TestDaemon| {
            let mut s = raw_client(&d.path).await;
            // A long call, then its id again while it runs.
            let slow = call_body(7, "sleep", &[0x92, 0xcd, 0x27, 0x10, 0x00]);
            s.write_all(&[frame(&slow), frame(&again)].concat())
                .await
                .unwrap();
            assert_eq!(
                fatal(&mut s).await,
                (
                    6,
                    "malformed message: request id 7 is already in use by a request in flight"
                        .into()
                )
            );
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_is_free_again_once_answered() {
    let daemon = TestDaemon::start().await;
    let mut s = raw_client(&daemon.path).await;
    for tag in 1..=3 {
        let answer = Answer::of(&raw_call(&mut s, 7, "sleep", &[0x92, 0x00, tag]).await);
        assert_eq!(
            answer,
            Answer::Value {
                id: 7,
                value: vec![tag]
            }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_handshake_in_time_is_told_then_closed() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        handshake_timeout: Duration::from_millis(200),
        ..DaemonOptions::default()
    })
    .await;
    // Silent, or stuck in the middle of its hello.
    for sent in [&[][..], &frame(&hello_body())[..10]] {
        let mut s = UnixStream::connect(&daemon.path).await.unwrap();
        s.write_all(sent).await.unwrap();
        assert_eq!(
            fatal(&mut s).await,
            (13, "no handshake within 0.2 s".into())
        );
    }
}

/// An application may send requests right after its hello, in the same write, without waiting
/// for the welcome: they are answered after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_pipelined_after_the_hello_is_answered_after_the_welcome() {
    let daemon = TestDaemon::start().await;
    let mut s = UnixStream::connect(&daemon.path).await.unwrap();
    let call = call_body(1, "sleep", &[0x92, 0x00, 0x09]);
    s.write_all(&[frame(&hello_body()), frame(&call)].concat())
        .await
        .unwrap();
    let welcome = read_frame(&mut s).await.unwrap();
    assert_eq!(&welcome[..2], &[0x94, 0x00], "a welcome first");
    let answer = Answer::of(&read_frame(&mut s).await.unwrap());
    assert_eq!(
        answer,
        Answer::Value {
            id: 1,
            value: vec![0x09]
        }
    );
}

/// When the hello is refused, requests sent after it are discarded unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_pipelined_after_a_refused_hello_are_not_answered() {
    let daemon = TestDaemon::start().await;
    let mut s = UnixStream::connect(&daemon.path).await.unwrap();
    let mut hello = hello_body();
    let fingerprint_at = hello.len() - OTHER_BUILD.fingerprint.len();
    hello[fingerprint_at..].copy_from_slice(OTHER_BUILD.fingerprint.as_bytes());
    let call = call_body(1, "sleep", &[0x92, 0x00, 0x09]);
    s.write_all(&[frame(&hello), frame(&call), frame(&call)].concat())
        .await
        .unwrap();
    let refused = read_frame(&mut s).await.unwrap();
    assert_eq!(
        &refused[..3],
        &[0x96, 0x01, 0x08],
        "REFUSED, handshake_mismatch"
    );
    assert!(
        read_frame(&mut s).await.is_none(),
        "then nothing but the close"
    );
}
