//! Deeply nested values (issue 15, item 2). serde decodes nested arrays and maps by recursion,
//! about 3 KiB of stack per level in a debug build such as this test binary, so a frame of a
//! thousand nested arrays (about 1 KiB) would overflow a 2 MiB thread and abort the whole
//! process. Both sides check the depth before decoding: the daemon answers that call `ERROR`
//! code 6 and keeps serving; the client fails that reply or event and keeps the connection.

use std::time::Duration;

use futures::StreamExt;
use medium_runtime::{
    CallError, Client, ClientOptions, DEFAULT_MAX_NESTING_DEPTH, DaemonOptions, Error, ErrorCode,
    EventError, NoException,
};
use serde::de::IgnoredAny;

use crate::support::{
    FakeDaemon, INFO, Inner, TestDaemon, acknowledgement, frame, raw_call, raw_client,
};

/// Deep enough to overflow a debug build's 2 MiB thread stack (it survives about 700 levels),
/// and below serde's own limit (1024), which saves only release builds.
const DEEP: usize = 1000;

/// `depth` nested one-element arrays around `nil`.
fn arrays(depth: usize) -> Vec<u8> {
    let mut v = vec![0x91; depth];
    v.push(0xc0);
    v
}

/// A model (map) with an unknown key `extra` holding `depth` nested arrays: the shape of the
/// issue's 767-byte frame. serde skips an unknown key's value by recursion.
fn model_with_deep_extra(depth: usize) -> Vec<u8> {
    let mut v = vec![0x83];
    rmp::encode::write_str(&mut v, "name").unwrap();
    rmp::encode::write_str(&mut v, "x").unwrap();
    rmp::encode::write_str(&mut v, "tags").unwrap();
    v.push(0x90);
    rmp::encode::write_str(&mut v, "extra").unwrap();
    v.extend(arrays(depth));
    v
}

/// `[4, id, code, message]` → code, for the call `id`.
fn error_code(reply: &[u8], id: u8) -> u8 {
    assert_eq!(&reply[..3], &[0x94, 0x04, id], "an ERROR for call {id}");
    reply[3]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_answers_deeply_nested_arguments_malformed_and_keeps_serving() {
    let daemon = TestDaemon::start().await;
    let bystander = daemon.client().await;
    let mut s = raw_client(&daemon.path).await;

    // `echo_all((AllTypes,))`: a model argument with an unknown key of 1000 nested arrays.
    let args = [&[0x91][..], &model_with_deep_extra(DEEP)].concat();
    let reply = raw_call(&mut s, 1, "echo_all", &args).await;
    assert_eq!(error_code(&reply, 1), 6, "malformed");
    let (_, _, _, message): (u8, u8, u8, String) = rmp_serde::from_slice(&reply).unwrap();
    assert_eq!(
        message,
        "arguments of `echo_all`: value nests deeper than 128 arrays and maps (the daemon's limit)"
    );

    // At the limit the value reaches the handler (which finds fields missing), one more level
    // does not: [ {…, "extra": [[…]]} ] nests 2 + the arrays.
    let at_limit = [
        &[0x91][..],
        &model_with_deep_extra(DEFAULT_MAX_NESTING_DEPTH - 2),
    ]
    .concat();
    let reply = raw_call(&mut s, 2, "echo_all", &at_limit).await;
    assert_eq!(error_code(&reply, 2), 2, "bad_arguments");
    let over = [
        &[0x91][..],
        &model_with_deep_extra(DEFAULT_MAX_NESTING_DEPTH - 1),
    ]
    .concat();
    let reply = raw_call(&mut s, 3, "echo_all", &over).await;
    assert_eq!(error_code(&reply, 3), 6, "malformed");

    // A huge method name is not echoed whole.
    let reply = raw_call(&mut s, 5, &"m".repeat(100_000), &args).await;
    assert_eq!(error_code(&reply, 5), 6, "malformed");
    assert!(reply.len() < 300, "{} bytes", reply.len());

    // The same connection, another connection and a new one are all still served.
    let reply = raw_call(&mut s, 4, "sleep", &[0x92, 0x00, 0x07]).await;
    assert_eq!(&reply[..3], &[0x93, 0x02, 0xcf], "a VALUE");
    assert_eq!(reply.last(), Some(&0x07));
    daemon.assert_still_serves(&bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_nesting_limit_is_an_option() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        max_nesting_depth: 4,
        ..DaemonOptions::default()
    })
    .await;
    let client = daemon.client().await;
    // (args) [ [ [ [1] ] ] ]: 4 levels pass, 5 do not.
    client
        .call::<_, serde_bytes::ByteBuf, NoException>("raw_args", &(vec![vec![vec![1u8]]],))
        .await
        .unwrap();
    let err = client
        .call::<_, serde_bytes::ByteBuf, NoException>("raw_args", &(vec![vec![vec![vec![1u8]]]],))
        .await
        .unwrap_err();
    let CallError::Protocol(error) = err else {
        panic!("{err:?}");
    };
    assert_eq!(error.code, ErrorCode::Malformed);
    assert_eq!(
        error.message,
        "arguments of `raw_args`: value nests deeper than 4 arrays and maps (the daemon's limit)"
    );
}

/// A fake daemon: welcomes one client, answers every call with `depth` nested arrays (its one
/// argument), and answers a subscription with an event whose model argument hides
/// [`DEEP`] nested arrays under an unknown key, then a valid one.
fn deep_daemon() -> FakeDaemon {
    FakeDaemon::start(|body| {
        let mut r = body;
        rmp::decode::read_array_len(&mut r).unwrap();
        let kind: u8 = rmp::decode::read_int(&mut r).unwrap();
        let id: u64 = rmp::decode::read_int(&mut r).unwrap();
        match kind {
            1 => {
                let mut method = [0; 64];
                rmp::decode::read_str(&mut r, &mut method).unwrap();
                let (depth,): (usize,) = rmp_serde::from_slice(r).unwrap();
                let mut b = vec![0x93, 0x02];
                rmp::encode::write_uint(&mut b, id).unwrap();
                b.extend(arrays(depth));
                frame(&b)
            }
            2 => {
                let mut name = [0; 64];
                let name = rmp::decode::read_str(&mut r, &mut name).unwrap().to_owned();
                let event = |args: &[u8]| {
                    let mut b = vec![0x93, 0x05];
                    rmp::encode::write_str(&mut b, &name).unwrap();
                    b.push(0x91);
                    b.extend_from_slice(args);
                    frame(&b)
                };
                let deep = event(&model_with_deep_extra(DEEP));
                let inner = Inner {
                    name: "x".into(),
                    tags: Vec::new(),
                };
                let fine = event(&rmp_serde::to_vec_named(&inner).unwrap());
                [frame(&acknowledgement(id)), deep, fine].concat()
            }
            _ => Vec::new(),
        }
    })
}

fn is_too_deep(err: &CallError<NoException>) -> bool {
    matches!(
        err,
        CallError::Transport(Error::Decode(rmp_serde::decode::Error::DepthLimitExceeded))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_fails_a_deeply_nested_reply_and_keeps_the_connection() {
    let daemon = deep_daemon();
    let client = Client::connect_to(&INFO, &daemon.path).await.unwrap();
    let call = async |depth: usize| {
        client
            .call::<_, IgnoredAny, NoException>("nest", &(depth,))
            .await
    };
    let err = call(DEEP).await.unwrap_err();
    assert!(is_too_deep(&err), "{err:?}");
    assert_eq!(
        err.to_string(),
        "could not decode value: depth limit exceeded"
    );
    // Exact limit; and the connection carried on through the failed calls.
    call(DEFAULT_MAX_NESTING_DEPTH).await.unwrap();
    let err = call(DEFAULT_MAX_NESTING_DEPTH + 1).await.unwrap_err();
    assert!(is_too_deep(&err), "{err:?}");
    call(3).await.unwrap();
    assert!(!client.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_nesting_limit_is_an_option() {
    let daemon = deep_daemon();
    let options = ClientOptions {
        socket_path: Some(daemon.path.clone()),
        max_nesting_depth: 2,
        ..ClientOptions::default()
    };
    let client = Client::connect_with(&INFO, options).await.unwrap();
    client
        .call::<_, IgnoredAny, NoException>("nest", &(2usize,))
        .await
        .unwrap();
    let err = client
        .call::<_, IgnoredAny, NoException>("nest", &(3usize,))
        .await
        .unwrap_err();
    assert!(is_too_deep(&err), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reports_a_deeply_nested_event_and_the_stream_goes_on() {
    let daemon = deep_daemon();
    let client = Client::connect_to(&INFO, &daemon.path).await.unwrap();
    let mut events = client.subscribe::<(Inner,)>("changed").await.unwrap();
    let next = async |events: &mut medium_runtime::EventStream<(Inner,)>| {
        tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .unwrap()
            .expect("an item")
    };
    let err = next(&mut events).await.unwrap_err();
    assert!(
        matches!(
            err,
            EventError::Decode(rmp_serde::decode::Error::DepthLimitExceeded)
        ),
        "{err:?}"
    );
    let (inner,) = next(&mut events).await.unwrap();
    assert_eq!(inner.name, "x");
    client
        .call::<_, IgnoredAny, NoException>("nest", &(1usize,))
        .await
        .unwrap();
}
