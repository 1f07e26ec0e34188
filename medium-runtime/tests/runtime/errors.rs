//! Failure paths of a call: typed exceptions and every protocol error.

use medium_runtime::{CallError, Client, ErrorCode, NoException};

use crate::support::{TestDaemon, TestError};

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
