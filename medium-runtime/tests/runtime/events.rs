//! Events: to all subscribers, to one application, only when subscribed, and what a slow
//! consumer costs everyone else (nothing) and itself (a lagged notice); paced emitters, which
//! a slow consumer holds up instead, until it reads again or leaves. How subscribing itself
//! works is in `subscriptions`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use medium_runtime::{
    CallError, DaemonOptions, EmitError, Error, ErrorCode, EventError, NoException,
};
use serde_bytes::ByteBuf;
use tokio::io::AsyncWriteExt;

use crate::support::{TestDaemon, eventually, frame, raw_client, read_frame};

/// A call answered after a stream was dropped proves the daemon has handled the unsubscribe
/// that went out before it (unsubscribing is not awaited), and that every event emitted before
/// the call has reached the client.
async fn sync(client: &medium_runtime::Client) {
    let _: u32 = client
        .call::<_, _, NoException>("sleep", &(0u64, 0u32))
        .await
        .unwrap();
}

async fn next<T: serde::de::DeserializeOwned>(stream: &mut medium_runtime::EventStream<T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("event within 5 s")
        .expect("stream open")
        .expect("decodable event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_reaches_every_subscribed_application_and_no_other() {
    let daemon = TestDaemon::start().await;
    let (a, b, c) = (
        daemon.client().await,
        daemon.client().await,
        daemon.client().await,
    );
    let mut a_added = a.subscribe::<(String, u32)>("added").await.unwrap();
    let mut b_added = b.subscribe::<(String, u32)>("added").await.unwrap();
    let mut c_removed = c.subscribe::<(String,)>("removed").await.unwrap();
    assert_eq!(daemon.handle.emit("added", &("x", 1u32)).unwrap(), 2);
    assert_eq!(daemon.handle.emit("removed", &("y",)).unwrap(), 1);
    assert_eq!(next(&mut a_added).await, ("x".to_owned(), 1));
    assert_eq!(next(&mut b_added).await, ("x".to_owned(), 1));
    assert_eq!(next(&mut c_removed).await, ("y".to_owned(),));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_to_reaches_only_that_application() {
    let daemon = TestDaemon::start().await;
    let (a, b) = (daemon.client().await, daemon.client().await);
    let mut a_ping = a.subscribe::<(u32,)>("ping").await.unwrap();
    let mut b_ping = b.subscribe::<(u32,)>("ping").await.unwrap();
    // A handler emits to its caller: only `b` hears it.
    let queued: bool = b
        .call::<_, _, NoException>("emit_to_me", &("ping", 7u32))
        .await
        .unwrap();
    assert!(queued);
    assert_eq!(next(&mut b_ping).await, (7,));
    assert_eq!(daemon.handle.emit("ping", &(8u32,)).unwrap(), 2);
    assert_eq!(
        next(&mut a_ping).await,
        (8,),
        "`a` never got the event sent to `b`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_to_a_gone_application_is_an_error() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    daemon.wait_for_apps(1).await;
    let id = daemon.handle.applications()[0].id();
    client.close().await;
    daemon.wait_for_apps(0).await;
    let err = daemon.handle.emit_to(id, "ping", &(1u32,)).unwrap_err();
    assert!(matches!(err, EmitError::NotConnected(gone) if gone == id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_stream_unsubscribes() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let first = client.subscribe::<(u32,)>("ping").await.unwrap();
    let mut second = client.subscribe::<(u32,)>("ping").await.unwrap();
    drop(first);
    sync(&client).await;
    assert_eq!(
        daemon.handle.emit("ping", &(1u32,)).unwrap(),
        1,
        "one stream still wants it"
    );
    assert_eq!(next(&mut second).await, (1,));
    drop(second);
    sync(&client).await;
    assert_eq!(daemon.handle.emit("ping", &(2u32,)).unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_does_not_delay_others_and_is_told_how_much_it_lagged() {
    const QUEUE: usize = 8;
    const EVENTS: usize = 300;
    let daemon = TestDaemon::start_with(DaemonOptions {
        event_queue_len: QUEUE,
        ..DaemonOptions::default()
    })
    .await;
    let mut slow = stalled_big_subscriber(&daemon).await;
    let fast = daemon.client().await;
    let mut events = fast.subscribe::<(ByteBuf,)>("big").await.unwrap();
    let payload = ByteBuf::from(vec![1u8; 64 * 1024]);
    let started = Instant::now();
    let mut queued_for_slow = 0;
    for i in 0..EVENTS {
        let queued = daemon.handle.emit("big", &(&payload,)).unwrap();
        assert!(queued >= 1, "fast client missed event {i}");
        queued_for_slow += queued - 1;
        assert_eq!(next(&mut events).await.0.len(), payload.len());
        if i == EVENTS / 2 {
            sync(&fast).await;
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "fan-out stalled: {:?}",
        started.elapsed()
    );
    // Bounded: the queue plus what the kernel socket buffer absorbed, never all 300.
    assert!(
        queued_for_slow <= QUEUE + 16,
        "{queued_for_slow} events queued for a stalled client"
    );

    // The slow consumer wakes up: it gets what was queued, then the lag count before the next.
    for _ in 0..queued_for_slow {
        assert_eq!(&read_frame(&mut slow).await.unwrap()[..2], &[0x93, 0x05]);
    }
    assert_eq!(daemon.handle.emit("big", &(&payload,)).unwrap(), 2);
    let lagged = read_frame(&mut slow).await.unwrap();
    assert_eq!(&lagged[..2], &[0x92, 0x06]);
    let dropped: u64 = rmp::decode::read_int(&mut &lagged[2..]).unwrap();
    assert_eq!(dropped as usize, EVENTS - queued_for_slow);
    assert_eq!(&read_frame(&mut slow).await.unwrap()[..2], &[0x93, 0x05]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_does_not_poll_its_stream_sees_lagged_then_events() {
    let daemon = TestDaemon::start().await;
    let client = daemon
        .client_with(medium_runtime::ClientOptions {
            event_buffer: 4,
            ..medium_runtime::ClientOptions::default()
        })
        .await;
    let mut stream = client.subscribe::<(u32,)>("n").await.unwrap();
    for i in 0..10u32 {
        daemon.handle.emit("n", &(i,)).unwrap();
    }
    sync(&client).await; // all 10 events have reached the client by now
    for expected in 0..4 {
        assert_eq!(next(&mut stream).await, (expected,));
    }
    daemon.handle.emit("n", &(10u32,)).unwrap();
    match tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
    {
        Some(Err(EventError::Lagged { dropped })) => assert_eq!(dropped, 6),
        other => panic!("expected a lagged notice, got {other:?}"),
    }
    assert_eq!(next(&mut stream).await, (10,));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_going_away_fails_pending_calls_and_ends_event_streams() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        grace_period: Duration::from_millis(100),
        ..DaemonOptions::default()
    })
    .await;
    let client = daemon.client().await;
    let mut stream = client.subscribe::<(u32,)>("n").await.unwrap();
    let pending = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .call::<_, u32, NoException>("sleep", &(10_000u64, 1u32))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    daemon.handle.shutdown();
    let err = pending.await.unwrap().unwrap_err();
    assert!(
        matches!(err, CallError::Transport(Error::ConnectionClosed)),
        "{err:?}"
    );
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(end.is_none(), "stream should end");
    let err = client
        .call::<_, u32, NoException>("sleep", &(0u64, 1u32))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Transport(Error::ConnectionClosed)),
        "{err:?}"
    );
    daemon.task.await.unwrap().unwrap();
    assert!(!daemon.path.exists(), "socket removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_over_the_frame_limit_is_an_error_to_the_emitter_and_reaches_nobody() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        max_frame_len: 1024,
        ..DaemonOptions::default()
    })
    .await;
    let client = daemon.client().await;
    let mut stream = client.subscribe::<(ByteBuf,)>("big").await.unwrap();
    let id = daemon.handle.applications()[0].id();
    let big = ByteBuf::from(vec![0u8; 2048]);
    for err in [
        daemon.handle.emit("big", &(&big,)).unwrap_err(),
        daemon.handle.emit_to(id, "big", &(&big,)).unwrap_err(),
    ] {
        assert!(
            matches!(err, EmitError::TooLarge { max: 1024, .. }),
            "{err:?}"
        );
    }
    // A handler that `?`s the same failure fails its call as an internal error.
    let err = client
        .call::<_, bool, NoException>("emit_big_to_me", &(2048usize,))
        .await
        .unwrap_err();
    let CallError::Protocol(error) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(error.code, ErrorCode::Internal);
    assert!(
        error.message.contains("exceeds the frame limit of 1024"),
        "{error:?}"
    );
    // Nothing was lost for lack of reading: no lagged notice, the next event comes next.
    let small = ByteBuf::from(vec![1u8; 16]);
    assert_eq!(daemon.handle.emit("big", &(&small,)).unwrap(), 1);
    assert_eq!(next(&mut stream).await.0, small);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_not_in_the_protocol_is_an_error_to_the_emitter() {
    let daemon = TestDaemon::start().await;
    let err = daemon.handle.emit("nope", &(1u32,)).unwrap_err();
    assert!(
        matches!(&err, EmitError::UnknownEvent(event) if event == "nope"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "no event `nope` in this daemon's protocol");
}

/// The slow consumer: a raw application that subscribes to `big`, reads the acknowledgement,
/// then stops reading.
async fn stalled_big_subscriber(daemon: &TestDaemon) -> tokio::net::UnixStream {
    let mut slow = raw_client(&daemon.path).await;
    let subscribe = [0x93, 0x02, 0x01, 0xa3, b'b', b'i', b'g'];
    slow.write_all(&frame(&subscribe)).await.unwrap();
    assert_eq!(
        read_frame(&mut slow).await.unwrap(),
        [0x93, 0x02, 0x01, 0xc0],
        "VALUE nil acknowledges the subscription"
    );
    slow
}

/// Emits `big(i, 64 KiB)` for `i` in `0..events` with `emit_paced`, counting the emits done.
fn paced_emitter(
    daemon: &TestDaemon,
    events: u32,
) -> (
    Arc<AtomicUsize>,
    tokio::task::JoinHandle<Result<Vec<usize>, EmitError>>,
) {
    let done = Arc::new(AtomicUsize::new(0));
    let handle = daemon.handle.clone();
    let counter = done.clone();
    let emitter = tokio::spawn(async move {
        let payload = ByteBuf::from(vec![1u8; 64 * 1024]);
        let mut reached = Vec::new();
        for i in 0..events {
            reached.push(handle.emit_paced("big", &(i, &payload)).await?);
            counter.fetch_add(1, Ordering::SeqCst);
        }
        Ok(reached)
    });
    (done, emitter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_emit_waits_for_a_slow_application_and_delivers_every_event_in_order() {
    const QUEUE: usize = 8;
    const EVENTS: u32 = 100;
    let daemon = TestDaemon::start_with(DaemonOptions {
        event_queue_len: QUEUE,
        ..DaemonOptions::default()
    })
    .await;
    let mut slow = stalled_big_subscriber(&daemon).await;
    let (done, emitter) = paced_emitter(&daemon, EVENTS);

    // Held back: half the queue, plus what the writer has in hand and the kernel's socket
    // buffer absorbed; `emit` would have gone through all 100 (dropping most).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let emitted = done.load(Ordering::SeqCst);
    assert!(
        emitted <= QUEUE / 2 + 16,
        "{emitted} paced events emitted to a stalled application"
    );
    assert!(!emitter.is_finished());

    // The application reads again: every event, in order, and no lagged notice.
    for i in 0..EVENTS {
        let event = tokio::time::timeout(Duration::from_secs(5), read_frame(&mut slow))
            .await
            .expect("event within 5 s")
            .expect("connection open");
        assert_eq!(
            &event[..7],
            b"\x93\x05\xa3big\x92",
            "event {i}: {:02x?}",
            &event[..7]
        );
        let seq: u32 = rmp::decode::read_int(&mut &event[7..]).unwrap();
        assert_eq!(seq, i);
    }
    let reached = emitter.await.unwrap().unwrap();
    assert!(reached.iter().all(|&n| n == 1), "{reached:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_application_stops_holding_paced_emits_up() {
    const QUEUE: usize = 8;
    let daemon = TestDaemon::start_with(DaemonOptions {
        event_queue_len: QUEUE,
        ..DaemonOptions::default()
    })
    .await;
    let slow = stalled_big_subscriber(&daemon).await;
    let fast = daemon.client().await;
    let mut events = fast.subscribe::<(u32, ByteBuf)>("big").await.unwrap();
    let id = daemon.handle.applications()[0].id();
    let (done, emitter) = paced_emitter(&daemon, 1000);
    eventually(|| done.load(Ordering::SeqCst) > 0).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!emitter.is_finished(), "held up by the stalled application");
    // One application's paced emitter waits for it too.
    let payload = ByteBuf::from(vec![2u8; 64 * 1024]);
    let to_slow = tokio::spawn({
        let handle = daemon.handle.clone();
        async move { handle.emit_to_paced(id, "big", &(0u32, &payload)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!to_slow.is_finished(), "held up by the stalled application");

    drop(slow);
    let reached = tokio::time::timeout(Duration::from_secs(10), emitter)
        .await
        .expect("the paced emitter finishes once the stalled application is gone")
        .unwrap()
        .unwrap();
    // The fast application got them all (it reads them at its pace), the closed one not.
    assert_eq!(reached.last(), Some(&1));
    let mut received = 0;
    while received < 1000 {
        let (seq, _) = next(&mut events).await;
        assert_eq!(seq, received);
        received += 1;
    }
    let sent = tokio::time::timeout(Duration::from_secs(5), to_slow)
        .await
        .expect("emit_to_paced returns once its application is gone")
        .unwrap();
    assert!(
        matches!(sent, Ok(false) | Err(EmitError::NotConnected(_))),
        "{sent:?}"
    );
}
