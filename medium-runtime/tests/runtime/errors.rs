//! Failure paths of a call: typed exceptions and every protocol error.

use medium_runtime::{CallError, Client, ErrorCode, NoException};
use tokio::io::AsyncWriteExt;

use crate::support::{Answer, TestDaemon, TestError, call_body, frame, raw_client, read_frame};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exception_reaches_the_client_typed() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let err = client
        .call::<_, (), TestError>("find", &("bob",))
        .await
        .unwrap_err();
    match err {
        CallError::Exception(TestError::StudentNotFound(m)) => assert_eq!(m, "bob"),
        other => panic!("expected the typed exception, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exception_unknown_to_the_client_is_reported_by_name() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let err = client
        .call::<_, (), NoException>("find", &("bob",))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "daemon raised unknown exception `StudentNotFound`: bob"
    );
}

async fn protocol_error(method: &str, args: &impl serde::Serialize) -> (ErrorCode, String) {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    match client.call::<_, (), TestError>(method, args).await {
        Err(CallError::Protocol(e)) => (e.code, e.message),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

/// Calls `method`, whose handler panics, and checks the daemon answered `HandlerPanicked`.
async fn assert_handler_panicked(client: &Client, method: &str, args: &impl serde::Serialize) {
    match client.call::<_, (), NoException>(method, args).await {
        Err(CallError::Protocol(e)) => {
            assert_eq!(e.code, ErrorCode::HandlerPanicked);
            assert_eq!(e.message, format!("daemon handler for `{method}` panicked"));
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_method_is_a_protocol_error() {
    let (code, message) = protocol_error("no_such_method", &()).await;
    assert_eq!(code, ErrorCode::UnknownMethod);
    assert_eq!(message, "daemon has no method `no_such_method`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_arguments_are_a_protocol_error() {
    let (code, message) = protocol_error("find", &(42u8, true)).await;
    assert_eq!(code, ErrorCode::BadArguments);
    assert!(message.starts_with("arguments do not match"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_implemented_names_the_method() {
    let (code, message) = protocol_error("unfinished", &()).await;
    assert_eq!(code, ErrorCode::NotImplemented);
    assert_eq!(message, "daemon does not implement `unfinished` yet");
}

/// A handler that panics after it moved to a task of its own is answered too, and the next
/// calls of the same method (whose futures may reuse a box) are served as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_panic_after_waiting_is_reported_and_the_method_still_serves() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    for ms in [5u64, 0, 5] {
        assert_handler_panicked(&client, "panic_later", &(ms,)).await;
    }
    for tag in 1..4u32 {
        let got: u32 = client
            .call::<_, _, NoException>("sleep", &(u64::from(tag % 2), tag))
            .await
            .unwrap();
        assert_eq!(got, tag);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_handler_error_is_a_protocol_error() {
    let (code, message) = protocol_error("broken", &()).await;
    assert_eq!(code, ErrorCode::Internal);
    assert_eq!(message, "database is on fire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_panic_is_reported_and_the_next_call_is_served() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    assert_handler_panicked(&client, "panic", &()).await;
    let tag: u32 = client
        .call::<_, _, NoException>("sleep", &(0u64, 4u32))
        .await
        .unwrap();
    assert_eq!(tag, 4);
}

/// A handler future that panics, then panics again when it is dropped, still gets its call one
/// reply: the next frame on the connection is the next call's own reply, not a second one for
/// the panicked call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_again_when_dropped_gets_one_reply() {
    let daemon = TestDaemon::start().await;
    let mut s = raw_client(&daemon.path).await;
    let panics = call_body(1, "panic_in_poll_and_drop", &[0x90]);
    let next = call_body(2, "sleep", &[0x92, 0x00, 0x07]);
    s.write_all(&[frame(&panics), frame(&next)].concat())
        .await
        .unwrap();
    let mut answers = Vec::new();
    for _ in 0..2 {
        answers.push(Answer::of(&read_frame(&mut s).await.expect("a reply")));
    }
    assert_eq!(
        answers,
        [
            Answer::Error {
                id: 1,
                code: ErrorCode::HandlerPanicked.as_u32(),
                message: "daemon handler for `panic_in_poll_and_drop` panicked".into(),
            },
            Answer::Value {
                id: 2,
                value: vec![0x07]
            },
        ]
    );
}
