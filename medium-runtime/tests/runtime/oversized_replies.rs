//! Replies over a frame limit (issue 15 item 3): the daemon never sends a frame over its own
//! limit (any reply kind becomes `ERROR` code 7 for that call), and a client skips a frame over
//! its limit without dropping the connection; other calls on it carry on.

use std::time::Duration;

use futures::StreamExt;
use medium_runtime::{
    CallError, Client, ClientOptions, ConnectionState, DaemonOptions, ErrorCode, EventError,
    NoException, ProtocolError,
};
use serde_bytes::ByteBuf;
use tokio::io::AsyncWriteExt;

use crate::support::{TestDaemon, TestError, frame, raw_client, read_frame};

const LIMIT: usize = 64 * 1024;

/// A call of `fail_big` (a message of `len` bytes) made while a slower call is in flight on the
/// same connection: returns the big call's protocol error, after checking that the slow call,
/// and a call made afterwards, succeed.
async fn fail_big_beside_a_slow_call(client: &Client, len: usize, internal: bool) -> ProtocolError {
    let slow = client.call::<_, u32, NoException>("sleep", &(200u64, 7u32));
    let args = (len, internal);
    let big = client.call::<_, (), TestError>("fail_big", &args);
    let (slow, big) =
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(slow, big) })
            .await
            .expect("both calls answered");
    assert_eq!(slow.unwrap(), 7, "the concurrent call succeeds");
    let err = big.unwrap_err();
    let CallError::Protocol(error) = err else {
        panic!("expected a protocol error, got {err:?}")
    };
    assert_eq!(client.state(), ConnectionState::Connected);
    let tag: u32 = client
        .call::<_, _, NoException>("sleep", &(0u64, 8u32))
        .await
        .expect("the connection stays up");
    assert_eq!(tag, 8);
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_exception_or_error_reply_becomes_error_7_for_that_call_only() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        max_frame_len: LIMIT,
        ..DaemonOptions::default()
    })
    .await;
    // The client accepts more than the daemon may send: what arrives is the daemon's doing.
    let client = daemon.client().await;
    for internal in [false, true] {
        let error = fail_big_beside_a_slow_call(&client, LIMIT, internal).await;
        assert_eq!(error.code, ErrorCode::FrameTooLarge, "{error:?}");
        assert!(
            error
                .message
                .contains(&format!("exceeds the limit of {LIMIT} bytes")),
            "{error:?}"
        );
    }
    // Just under the limit, the exception itself goes through.
    let err = client
        .call::<_, (), TestError>("fail_big", &(LIMIT - 64, false))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Exception(TestError::StudentNotFound(m)) if m.len() == LIMIT - 64),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_never_sends_a_frame_over_its_limit() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        max_frame_len: LIMIT,
        ..DaemonOptions::default()
    })
    .await;
    let mut raw = raw_client(&daemon.path).await;
    // [1, 5, "fail_big", [LIMIT, false]]
    let mut body = Vec::new();
    rmp::encode::write_array_len(&mut body, 4).unwrap();
    rmp::encode::write_uint(&mut body, 1).unwrap();
    rmp::encode::write_uint(&mut body, 5).unwrap();
    rmp::encode::write_str(&mut body, "fail_big").unwrap();
    rmp::encode::write_array_len(&mut body, 2).unwrap();
    rmp::encode::write_uint(&mut body, LIMIT as u64).unwrap();
    rmp::encode::write_bool(&mut body, false).unwrap();
    raw.write_all(&frame(&body)).await.unwrap();
    let reply = read_frame(&mut raw).await.expect("a reply");
    assert!(reply.len() <= LIMIT, "reply of {} bytes", reply.len());
    // [4, 5, 7, message]
    assert_eq!(&reply[..4], &[0x94, 0x04, 0x05, 0x07], "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_skips_a_reply_over_its_limit_and_keeps_the_connection() {
    // The daemon may send up to 16 MiB; this client accepts only 64 KiB.
    let daemon = TestDaemon::start().await;
    let client = daemon
        .client_with(ClientOptions {
            max_frame_len: LIMIT,
            ..ClientOptions::default()
        })
        .await;
    for internal in [false, true] {
        let error = fail_big_beside_a_slow_call(&client, 4 * LIMIT, internal).await;
        assert_eq!(error.code, ErrorCode::FrameTooLarge, "{error:?}");
        assert!(error.message.contains("it was skipped"), "{error:?}");
    }
    assert_eq!(
        daemon.handle.applications().len(),
        1,
        "still one connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_skips_an_event_over_its_limit_and_reports_it_dropped() {
    let daemon = TestDaemon::start().await;
    let client = daemon
        .client_with(ClientOptions {
            max_frame_len: LIMIT,
            ..ClientOptions::default()
        })
        .await;
    let mut stream = client.subscribe::<(ByteBuf,)>("big").await.unwrap();
    let big = ByteBuf::from(vec![0u8; 2 * LIMIT]);
    assert_eq!(daemon.handle.emit("big", &(&big,)).unwrap(), 1);
    let small = ByteBuf::from(vec![1u8; 16]);
    assert_eq!(daemon.handle.emit("big", &(&small,)).unwrap(), 1);
    let first = next_item(&mut stream).await;
    assert!(
        matches!(first, Err(EventError::Lagged { dropped: 1 })),
        "{first:?}"
    );
    let second = next_item(&mut stream).await;
    assert_eq!(second.unwrap().0, small);
    assert_eq!(client.state(), ConnectionState::Connected);
}

async fn next_item<T: serde::de::DeserializeOwned>(
    stream: &mut medium_runtime::EventStream<T>,
) -> Result<T, EventError> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an item within 5 s")
        .expect("stream open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusal_of_a_huge_hello_stays_under_the_limit() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        max_frame_len: LIMIT,
        ..DaemonOptions::default()
    })
    .await;
    let mut raw = tokio::net::UnixStream::connect(&daemon.path).await.unwrap();
    // A hello whose namespace fills most of the frame: it does not match, so it is refused.
    let mut body = Vec::new();
    rmp::encode::write_array_len(&mut body, 6).unwrap();
    rmp::encode::write_uint(&mut body, 0).unwrap();
    rmp::encode::write_str(&mut body, "medium").unwrap();
    rmp::encode::write_uint(&mut body, 2).unwrap();
    rmp::encode::write_str(&mut body, &"n".repeat(LIMIT - 200)).unwrap();
    rmp::encode::write_str(&mut body, "TestSystem").unwrap();
    rmp::encode::write_str(&mut body, &"0".repeat(64)).unwrap();
    raw.write_all(&frame(&body)).await.unwrap();
    let refused = read_frame(&mut raw).await.expect("a refusal");
    assert!(refused.len() <= LIMIT, "refusal of {} bytes", refused.len());
    // [1, 8 (handshake_mismatch), …]
    assert_eq!(&refused[..3], &[0x96, 0x01, 0x08], "{refused:?}");
}
