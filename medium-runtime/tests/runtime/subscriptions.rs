//! Subscriptions are requests (PROTOCOL.md §4, wire version 2): `VALUE nil` acknowledges them,
//! after which every event emitted reaches the connection (or, for an unsubscribe, none does);
//! both are idempotent; an event the protocol does not have is `ERROR` 12 and costs the daemon
//! nothing (issue 15, item 1).

use std::time::Duration;

use futures::StreamExt;
use medium_runtime::{Client, Error, ErrorCode, NoException};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use crate::echo_process::{DaemonProcess, ECHO, process_status_kb};
use crate::support::{
    FakeDaemon, INFO, TestDaemon, acknowledgement, error, frame, raw_client, read_frame, request,
    subscription, wait_for_socket,
};

/// Whether the next frame on `raw` is an `EVENT`; `false` when nothing comes within 200 ms.
async fn event_arrives(raw: &mut UnixStream) -> bool {
    match tokio::time::timeout(Duration::from_millis(200), read_frame(raw)).await {
        Ok(Some(body)) => {
            assert_eq!(&body[..2], &[0x93, 0x05], "an event: {body:?}");
            true
        }
        Ok(None) => panic!("the daemon closed the connection"),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_emitted_right_after_the_acknowledgement_arrives() {
    let daemon = TestDaemon::start().await;
    let mut raw = raw_client(&daemon.path).await;
    assert_eq!(request(&mut raw, 1, "ping", true).await, acknowledgement(1));
    assert_eq!(daemon.handle.emit("ping", &(1u32,)).unwrap(), 1);
    assert!(event_arrives(&mut raw).await);

    // The same through the client: no call needed between subscribing and emitting.
    let client = daemon.client().await;
    let mut pings = client.subscribe::<(u32,)>("ping").await.unwrap();
    assert_eq!(daemon.handle.emit("ping", &(2u32,)).unwrap(), 2);
    let next = tokio::time::timeout(Duration::from_secs(5), pings.next()).await;
    assert_eq!(next.unwrap().unwrap().unwrap(), (2,));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_and_unsubscribing_are_idempotent() {
    let daemon = TestDaemon::start().await;
    let mut raw = raw_client(&daemon.path).await;
    assert_eq!(request(&mut raw, 1, "ping", true).await, acknowledgement(1));
    assert_eq!(request(&mut raw, 2, "ping", true).await, acknowledgement(2));
    assert_eq!(daemon.handle.emit("ping", &(1u32,)).unwrap(), 1);
    assert!(event_arrives(&mut raw).await);
    assert!(!event_arrives(&mut raw).await, "subscribing twice is once");

    assert_eq!(
        request(&mut raw, 3, "ping", false).await,
        acknowledgement(3)
    );
    assert_eq!(daemon.handle.emit("ping", &(2u32,)).unwrap(), 0);
    assert!(
        !event_arrives(&mut raw).await,
        "nothing after the acknowledgement"
    );
    assert_eq!(
        request(&mut raw, 4, "ping", false).await,
        acknowledgement(4),
        "unsubscribing what is not subscribed is fine"
    );
    assert_eq!(request(&mut raw, 5, "ping", true).await, acknowledgement(5));
    assert_eq!(daemon.handle.emit("ping", &(3u32,)).unwrap(), 1);
    assert!(event_arrives(&mut raw).await, "subscribed again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_event_is_error_12_for_the_request_and_the_connection_goes_on() {
    let daemon = TestDaemon::start().await;
    let mut raw = raw_client(&daemon.path).await;
    for subscribe in [true, false] {
        let (id, code, message) = error(&request(&mut raw, 7, "nope", subscribe).await);
        assert_eq!((id, code), (7, 12));
        assert_eq!(message, "no event `nope` in com.example.test.TestSystem");
    }
    assert_eq!(request(&mut raw, 8, "ping", true).await, acknowledgement(8));

    let client = daemon.client().await;
    let err = client.subscribe::<(u32,)>("nope").await.unwrap_err();
    let Error::Subscribe { event, reason } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        (event.as_str(), reason.code),
        ("nope", ErrorCode::UnknownEvent)
    );
    assert_eq!(
        err.to_string(),
        "cannot subscribe to `nope`: no event `nope` in com.example.test.TestSystem"
    );
    let tag: u32 = client
        .call::<_, _, NoException>("sleep", &(0u64, 3u32))
        .await
        .unwrap();
    assert_eq!(tag, 3, "the connection goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_subscribe_sends_its_own_request_and_the_last_stream_dropped_unsubscribes() {
    // A daemon that acknowledges every request and tells the test which it got.
    let (requests_tx, mut requests) = tokio::sync::mpsc::unbounded_channel();
    let daemon = FakeDaemon::start(move |body| {
        let mut r = body;
        rmp::decode::read_array_len(&mut r).unwrap();
        let kind: u8 = rmp::decode::read_int(&mut r).unwrap();
        let id: u64 = rmp::decode::read_int(&mut r).unwrap();
        let (event, _) = rmp::decode::read_str_from_slice(r).unwrap();
        requests_tx.send((kind, event.to_owned())).unwrap();
        frame(&acknowledgement(id))
    });
    let path = &daemon.path;
    let subscribe = (2, "ping".to_owned());
    let client = Client::connect_to(&INFO, &path).await.unwrap();
    let first = client.subscribe::<(u32,)>("ping").await.unwrap();
    let second = client.subscribe::<(u32,)>("ping").await.unwrap();
    assert_eq!(requests.recv().await.unwrap(), subscribe);
    assert_eq!(
        requests.recv().await.unwrap(),
        subscribe,
        "one request per call"
    );
    drop(first);
    let _added = client.subscribe::<(u32,)>("added").await.unwrap();
    assert_eq!(
        requests.recv().await.unwrap(),
        (2, "added".to_owned()),
        "no unsubscribe while a stream still wants `ping`"
    );
    drop(second);
    assert_eq!(requests.recv().await.unwrap(), (3, "ping".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_to_a_thousand_large_unknown_names_costs_the_daemon_nothing() {
    const REQUESTS: u32 = 1000;
    const NAME_LEN: usize = 64 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let daemon = DaemonProcess::spawn(&path);
    wait_for_socket(&path).await;
    let pid = daemon.0.id();
    // A connection, and one call answered, so the daemon's steady state is measured.
    let client = Client::connect_to(&ECHO, &path).await.unwrap();
    let _: String = client
        .call::<_, _, NoException>("echo", &("warm",))
        .await
        .unwrap();
    let before = rss_kb(pid);

    let mut raw = UnixStream::connect(&path).await.unwrap();
    let mut hello = vec![0x96, 0x00];
    rmp::encode::write_str(&mut hello, "medium").unwrap();
    hello.push(0x02);
    for field in [ECHO.namespace, ECHO.class, ECHO.fingerprint] {
        rmp::encode::write_str(&mut hello, field).unwrap();
    }
    raw.write_all(&frame(&hello)).await.unwrap();
    assert_eq!(&read_frame(&mut raw).await.unwrap()[..2], &[0x94, 0x00]);
    let (mut read, mut write) = raw.into_split();
    // Written while the answers are read, so neither side waits on a full socket buffer.
    let writer = tokio::spawn(async move {
        for id in 1..=REQUESTS {
            let name = format!("{id:010}{}", "x".repeat(NAME_LEN - 10));
            write
                .write_all(&frame(&subscription(id, &name, true)))
                .await
                .unwrap();
        }
        write
    });
    for id in 1..=REQUESTS {
        let mut len = [0; 4];
        tokio::io::AsyncReadExt::read_exact(&mut read, &mut len)
            .await
            .unwrap();
        let mut body = vec![0; u32::from_be_bytes(len) as usize];
        tokio::io::AsyncReadExt::read_exact(&mut read, &mut body)
            .await
            .unwrap();
        let (answered, code, message) = error(&body);
        assert_eq!((answered, code), (u64::from(id), 12), "{message}");
        assert!(message.starts_with("no event `000"), "{message}");
        assert!(
            message.len() < 256,
            "the name is cut: {} bytes",
            message.len()
        );
    }
    let _write = writer.await.unwrap();
    let grown_mib = rss_kb(pid).saturating_sub(before) / 1024;
    // Storing the names would be 1,000 × 64 KiB = 62.5 MiB.
    assert!(
        grown_mib < 16,
        "daemon grew by {grown_mib} MiB for {REQUESTS} unknown subscriptions"
    );
    let echoed: String = client
        .call::<_, _, NoException>("echo", &("still here",))
        .await
        .unwrap();
    assert_eq!(echoed, "still here");
}

/// The daemon process's resident memory (`VmRSS`, kB).
fn rss_kb(pid: u32) -> u64 {
    process_status_kb(pid, "VmRSS")
}
