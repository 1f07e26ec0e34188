//! Introspection (PROTOCOL.md §4): any caller, whatever it was built from, learns what a daemon
//! speaks, on a connection of its own or inside a normal session.

use medium_runtime::{Client, Daemon, Error, Introspection, ProtocolInfo, introspect};
use tokio::io::AsyncWriteExt;

use crate::echo_process::DaemonProcess;
use crate::support::{INFO, TestService, frame, raw_client, read_frame, wait_for_socket};

/// A build of another spec than the one this test binary's `INFO` describes.
const OTHER_SPEC: ProtocolInfo = ProtocolInfo {
    namespace: "com.example.other",
    class: "Other",
    fingerprint: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    socket_base: None,
    spec: "namespace com.example.other\nclass Other\nmethod ping(): string\n",
    events: &[],
    access: &[],
    uses_fd: false,
};

/// Body of `[4, id, request, []]`.
fn builtin_body(id: u8, request: &str) -> Vec<u8> {
    let mut b = vec![0x94, 0x04, id];
    rmp::encode::write_str(&mut b, request).unwrap();
    b.push(0x90);
    b
}

/// The value of a `VALUE` reply body `[2, id, value]`.
fn value_of(body: &[u8]) -> &[u8] {
    assert_eq!(
        &body[..2],
        [0x93, 0x02],
        "expected a VALUE reply: {body:x?}"
    );
    let mut rest = &body[2..];
    rmp::decode::read_int::<u64, _>(&mut rest).unwrap();
    rest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_reports_a_daemon_whose_fingerprint_the_caller_does_not_share() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let daemon = Daemon::new(&OTHER_SPEC, TestService).socket_path(&path);
    let handle = daemon.handle();
    let task = tokio::spawn(daemon.serve());
    wait_for_socket(&path).await;

    let refused = Client::connect_to(&INFO, &path).await.unwrap_err();
    assert!(
        matches!(refused, Error::HandshakeMismatch { .. }),
        "{refused:?}"
    );
    let seen = introspect(&path).await.unwrap();
    assert_eq!(
        seen,
        Introspection {
            namespace: "com.example.other".into(),
            class: "Other".into(),
            fingerprint: OTHER_SPEC.fingerprint.into(),
            spec: OTHER_SPEC.spec.into(),
            runtime_version: env!("CARGO_PKG_VERSION").into(),
            wire_version: 2,
        }
    );
    // An introspect-only connection never becomes an application.
    assert!(handle.applications().is_empty());
    handle.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_only_connection_gets_one_answer_then_is_closed() {
    let d = crate::support::TestDaemon::start().await;
    let mut stream = tokio::net::UnixStream::connect(&d.path).await.unwrap();
    stream
        .write_all(&frame(&builtin_body(7, "introspect")))
        .await
        .unwrap();
    let answer = read_frame(&mut stream).await.unwrap();
    assert_eq!(answer[2], 0xcf, "request id as uint 64");
    let seen: Introspection = rmp_serde::from_slice(value_of(&answer)).unwrap();
    assert_eq!(seen.fingerprint, INFO.fingerprint);
    assert_eq!(read_frame(&mut stream).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_is_answered_inside_a_session_too() {
    let d = crate::support::TestDaemon::start().await;
    let mut stream = raw_client(&d.path).await;
    stream
        .write_all(&frame(&builtin_body(3, "introspect")))
        .await
        .unwrap();
    let answer = read_frame(&mut stream).await.unwrap();
    let seen: Introspection = rmp_serde::from_slice(value_of(&answer)).unwrap();
    assert_eq!(
        (seen.namespace.as_str(), seen.class.as_str()),
        (INFO.namespace, INFO.class)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_builtin_request_is_an_unknown_method_error() {
    let d = crate::support::TestDaemon::start().await;
    let mut stream = tokio::net::UnixStream::connect(&d.path).await.unwrap();
    stream
        .write_all(&frame(&builtin_body(5, "list_methods")))
        .await
        .unwrap();
    let answer = read_frame(&mut stream).await.unwrap();
    // [4, 5, 1, "unknown built-in request `list_methods`"]
    assert_eq!(&answer[..4], [0x94, 0x04, 0x05, 0x01]);
    assert!(String::from_utf8_lossy(&answer).contains("unknown built-in request `list_methods`"));
}

#[test]
fn blocking_introspect_of_the_echo_daemon_process_returns_its_spec() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let _daemon = DaemonProcess::spawn(&path);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(wait_for_socket(&path));
    let seen = medium_runtime::blocking::introspect(&path).unwrap();
    assert_eq!(seen.class, "Echo");
    assert!(
        seen.spec.contains("method echo(text: string): string"),
        "{}",
        seen.spec
    );
}

#[test]
fn introspect_without_a_daemon_says_it_is_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let err = medium_runtime::blocking::introspect(dir.path().join("socket")).unwrap_err();
    assert!(matches!(err, Error::NotRunning { .. }), "{err:?}");
}
