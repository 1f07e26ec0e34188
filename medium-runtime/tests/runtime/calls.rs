//! Calls: many in flight on one connection, out-of-order replies, timeouts, cancellation.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use medium_runtime::{CallError, ClientOptions, Error, NoException};

use crate::support::TestDaemon;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_calls_on_one_connection_complete_out_of_order() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let started = Instant::now();
    // Call i sleeps (100 - i) * 3 ms: the last issued finishes first.
    let mut calls: FuturesUnordered<_> = (0..100u32)
        .map(|i| {
            let client = client.clone();
            async move {
                let ms = u64::from(100 - i) * 3;
                let tag: u32 = client
                    .call::<_, _, NoException>("sleep", &(ms, i))
                    .await
                    .unwrap();
                assert_eq!(tag, i);
                tag
            }
        })
        .collect();
    let mut order = Vec::new();
    while let Some(tag) = calls.next().await {
        order.push(tag);
    }
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert!(
        order.first() > order.last(),
        "replies came in issue order: {order:?}"
    );
    // Concurrent, not serial: serial would take ~15 s.
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_call_fails_and_connection_stays_usable() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let err = client
        .call_with_timeout::<_, u32, NoException>(
            "sleep",
            &(2_000u64, 1u32),
            Duration::from_millis(50),
        )
        .await
        .unwrap_err();
    match &err {
        CallError::Transport(Error::Timeout { method, .. }) => assert_eq!(method, "sleep"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(err.to_string(), "call to `sleep` timed out after 50ms");
    let tag: u32 = client
        .call::<_, _, NoException>("sleep", &(0u64, 7u32))
        .await
        .unwrap();
    assert_eq!(tag, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_call_timeout_from_options_applies() {
    let daemon = TestDaemon::start().await;
    let client = daemon
        .client_with(ClientOptions {
            call_timeout: Some(Duration::from_millis(50)),
            ..ClientOptions::default()
        })
        .await;
    let err = client
        .call::<_, u32, NoException>("sleep", &(2_000u64, 1u32))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Transport(Error::Timeout { .. })),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_call_future_leaves_connection_usable() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let slow = client.call::<_, u32, NoException>("sleep", &(200u64, 1u32));
    tokio::select! {
        _ = slow => panic!("slow call should not finish first"),
        () = tokio::time::sleep(Duration::from_millis(20)) => {}
    }
    // The cancelled call's late reply arrives meanwhile and must be discarded, not misrouted.
    let tag: u32 = client
        .call::<_, _, NoException>("sleep", &(300u64, 2u32))
        .await
        .unwrap();
    assert_eq!(tag, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_call_is_refused_locally_and_connection_survives() {
    let daemon = TestDaemon::start().await;
    let client = daemon
        .client_with(ClientOptions {
            max_frame_len: 1024,
            ..ClientOptions::default()
        })
        .await;
    let blob = serde_bytes::ByteBuf::from(vec![0u8; 4096]);
    let err = client
        .call::<_, serde_bytes::ByteBuf, NoException>("raw_args", &(&blob,))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CallError::Transport(Error::FrameTooLarge { max: 1024, .. })
        ),
        "{err:?}"
    );
    let tag: u32 = client
        .call::<_, _, NoException>("sleep", &(0u64, 3u32))
        .await
        .unwrap();
    assert_eq!(tag, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_mebibyte_binary_round_trips() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let blob = serde_bytes::ByteBuf::from((0..1 << 20).map(|i| i as u8).collect::<Vec<_>>());
    let raw: serde_bytes::ByteBuf = client
        .call::<_, _, NoException>("raw_args", &(&blob,))
        .await
        .unwrap();
    assert_eq!(&raw[6..], &blob[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_client_works_from_a_plain_thread() {
    let daemon = TestDaemon::start().await;
    let path = daemon.path.clone();
    let handle = daemon.handle.clone();
    let thread = std::thread::spawn(move || {
        let client =
            medium_runtime::blocking::Client::connect_to(&crate::support::INFO, &path).unwrap();
        // Returns once the daemon confirmed the subscription.
        let mut ticks = client.subscribe::<(u32,)>("tick").unwrap();
        let tag: u32 = client
            .call::<_, _, NoException>("sleep", &(1u64, 9u32))
            .unwrap();
        assert_eq!(handle.emit("tick", &(5u32,)).unwrap(), 1);
        (tag, ticks.next().unwrap().unwrap())
    });
    let (tag, tick) = tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    assert_eq!((tag, tick), (9, (5,)));
}

/// Polls a `sleep(ms, tag)` call once and keeps it without polling it again (as a `select!`
/// branch that lost keeps its future): a call made meanwhile on the same client must complete,
/// so the kept future must hold nothing other calls need (the socket's read turn, held-back
/// writes). Then the kept call completes too, once polled.
async fn a_kept_call_future_holds_up_no_other_call(client: &medium_runtime::Client, ms: u64) {
    let args = (ms, 1u32);
    let mut kept = Box::pin(client.call::<_, u32, NoException>("sleep", &args));
    assert!(futures::poll!(kept.as_mut()).is_pending());
    let tag: u32 = tokio::time::timeout(
        Duration::from_secs(5),
        client.call::<_, _, NoException>("sleep", &(0u64, 2u32)),
    )
    .await
    .expect("a call made while another is kept unpolled completes")
    .unwrap();
    assert_eq!(tag, 2);
    let kept_tag = tokio::time::timeout(Duration::from_secs(5), kept)
        .await
        .expect("the kept call completes once polled")
        .unwrap();
    assert_eq!(kept_tag, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_call_kept_unpolled_holds_up_no_other_call() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    a_kept_call_future_holds_up_no_other_call(&client, 300).await;
}

/// The kept call is made while another is pending: it is queued for the writer task, which
/// gathers a burst of calls (`WriterWake::Gathers`); the burst must leave without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_kept_unpolled_among_pending_ones_holds_up_no_other_call() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let pending = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .call::<_, u32, NoException>("sleep", &(300u64, 3u32))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    a_kept_call_future_holds_up_no_other_call(&client, 0).await;
    assert_eq!(pending.await.unwrap().unwrap(), 3);
}

/// A pipelining caller moves each call future (`FuturesUnordered::push` copies it three
/// times), so its size is paid per call. It carried a timeout's `Sleep` and an outage wait's
/// `watch` future even when neither was used: 592 bytes in a release build (debug: 576; 312
/// after); both are boxed now, made only by the calls that need them. Built as nested `async
/// fn`s, each storing the method, arguments and timeout again, it was 336 bytes; 232 as one.
#[tokio::test]
async fn a_call_future_carries_no_unused_timeout_or_outage_wait() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let call = client.call::<_, u32, NoException>("sleep", &(0u64, 1u32));
    let size = size_of_val(&call);
    assert!(
        size <= 256,
        "a call future is {size} bytes: what made it grow?"
    );
    let timed = client.call_with_timeout::<_, u32, NoException>(
        "sleep",
        &(0u64, 2u32),
        Duration::from_secs(5),
    );
    assert!(
        size_of_val(&timed) <= size,
        "a timed call carries its timer boxed"
    );
    assert_eq!(call.await.unwrap(), 1);
    assert_eq!(timed.await.unwrap(), 2);
}
