//! Receiver strictness (PROTOCOL.md §3): each spec type accepts exactly its own MessagePack
//! encodings. Hand-built frames over a real socket, a rejected and an accepted encoding per
//! type: the daemon answers a rejected argument `ERROR` 2 naming the parameter or field and
//! what it found, and keeps the connection; a client fails a rejected reply value (the call
//! only) and yields a decode error for a rejected event (the stream goes on).

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use medium_runtime::{
    Call, CallError, CallRunner, Client, Daemon, Dispatch, Error, EventError, EventStream,
    NoException, Reply, Started, decode_args,
};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::support::{
    Answer, FakeDaemon, INFO, Inner, acknowledgement, frame, raw_call, raw_client, wait_for_socket,
};

/// One parameter named `value`, as generated code decodes a method's arguments (a struct).
#[derive(Deserialize)]
#[serde(crate = "medium_runtime::serde")]
struct One<T> {
    value: T,
}

/// Two parameters, for the argument-count rows.
#[derive(Deserialize)]
#[serde(crate = "medium_runtime::serde")]
struct Two {
    count: u8,
    name: String,
}

/// A service with one method per spec type, named after it: each takes one parameter of that
/// type and answers it.
struct Strict;

fn takes<T: DeserializeOwned + Serialize>(call: &Call) -> Reply {
    match decode_args::<One<T>>(call.args()) {
        Ok(One { value }) => Reply::value(&value),
        Err(reply) => reply,
    }
}

impl Dispatch for Strict {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        let reply = match call.method() {
            "boolean" => takes::<bool>(&call),
            "int8" => takes::<i8>(&call),
            "int16" => takes::<i16>(&call),
            "int32" => takes::<i32>(&call),
            "int64" => takes::<i64>(&call),
            "uint8" => takes::<u8>(&call),
            "uint16" => takes::<u16>(&call),
            "uint32" => takes::<u32>(&call),
            "uint64" => takes::<u64>(&call),
            "float" => takes::<f32>(&call),
            "double" => takes::<f64>(&call),
            "string" => takes::<String>(&call),
            "binary" => takes::<ByteBuf>(&call),
            "uint8_list" => takes::<Vec<u8>>(&call),
            "model" => takes::<Inner>(&call),
            "two" => match decode_args::<Two>(call.args()) {
                Ok(Two { count, name }) => Reply::value(&(count == 5 && name == "x")),
                Err(reply) => reply,
            },
            _ => return None,
        };
        Some(runner.reply(reply))
    }
}

struct StrictDaemon {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl StrictDaemon {
    async fn start() -> StrictDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let daemon = Daemon::new(&INFO, Strict).socket_path(&path);
        tokio::spawn(daemon.serve());
        wait_for_socket(&path).await;
        StrictDaemon { path, _dir: dir }
    }
}

/// `[value]`: the arguments of a one-parameter call.
fn one(value: &[u8]) -> Vec<u8> {
    [&[0x91][..], value].concat()
}

/// A str.
fn text(text: &str) -> Vec<u8> {
    let mut v = Vec::new();
    rmp::encode::write_str(&mut v, text).unwrap();
    v
}

/// A map of `entries` already encoded key, value, key, value…
fn map(entries: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![0x80 | (entries.len() / 2) as u8];
    for entry in entries {
        v.extend_from_slice(entry);
    }
    v
}

/// One row of the table: a method (named after its parameter's type), encodings it accepts,
/// and encodings it refuses with what the error message must say.
struct Row {
    method: &'static str,
    accepted: Vec<Vec<u8>>,
    rejected: Vec<(Vec<u8>, &'static str)>,
}

fn table() -> Vec<Row> {
    let f32_one = [&[0xca][..], &1.5f32.to_be_bytes()].concat();
    let f64_one = [&[0xcb][..], &1.5f64.to_be_bytes()].concat();
    let inner = map(&[&text("name"), &text("x"), &text("tags"), &[0x90]]);
    let rows = vec![
        (
            "boolean",
            vec![vec![0xc3], vec![0xc2]],
            vec![
                (vec![0x01], "invalid type: integer `1`, expected a boolean"),
                (vec![0xc0], "invalid type: nil, expected a boolean"),
                (text("true"), "invalid type: a str, expected a boolean"),
            ],
        ),
        (
            "int8",
            vec![
                vec![0x7f],
                vec![0xd0, 0x80],
                vec![0xcc, 0x7f],
                vec![0xd3, 0, 0, 0, 0, 0, 0, 0, 5],
            ],
            vec![
                (
                    vec![0xcc, 0x80],
                    "invalid value: integer `128`, expected i8",
                ),
                (
                    f32_one.clone(),
                    "invalid type: floating point `1.5`, expected i8",
                ),
                (vec![0xc3], "invalid type: boolean `true`, expected i8"),
            ],
        ),
        (
            "int16",
            vec![vec![0xd1, 0x80, 0x00], vec![0xcd, 0x7f, 0xff]],
            vec![(
                vec![0xcd, 0x80, 0x00],
                "invalid value: integer `32768`, expected i16",
            )],
        ),
        (
            "int32",
            vec![
                vec![0xd2, 0x80, 0, 0, 0],
                vec![0xce, 0x7f, 0xff, 0xff, 0xff],
            ],
            vec![(
                vec![0xce, 0x80, 0, 0, 0],
                "invalid value: integer `2147483648`, expected i32",
            )],
        ),
        (
            "int64",
            vec![
                vec![0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
                vec![0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ],
            vec![(
                vec![0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0],
                "invalid value: integer `9223372036854775808`, expected i64",
            )],
        ),
        (
            "uint8",
            vec![
                vec![0xcc, 0xff],
                vec![0xd3, 0, 0, 0, 0, 0, 0, 0, 0xff],
                vec![0x00],
            ],
            vec![
                (
                    vec![0xcd, 0x01, 0x2c],
                    "invalid value: integer `300`, expected u8",
                ),
                (vec![0xff], "invalid value: integer `-1`, expected u8"),
                (
                    f64_one.clone(),
                    "invalid type: floating point `1.5`, expected u8",
                ),
            ],
        ),
        (
            "uint16",
            vec![vec![0xcd, 0xff, 0xff]],
            vec![(
                vec![0xce, 0, 1, 0, 0],
                "invalid value: integer `65536`, expected u16",
            )],
        ),
        (
            "uint32",
            vec![vec![0xce, 0xff, 0xff, 0xff, 0xff]],
            vec![(
                vec![0xcf, 0, 0, 0, 1, 0, 0, 0, 0],
                "invalid value: integer `4294967296`, expected u32",
            )],
        ),
        (
            "uint64",
            vec![vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
            vec![(
                vec![0xd0, 0xfe],
                "invalid value: integer `-2`, expected u64",
            )],
        ),
        (
            "float",
            vec![
                f32_one.clone(),
                f64_one.clone(),
                vec![0x05],
                vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ],
            vec![
                (vec![0xc3], "invalid type: boolean `true`, expected f32"),
                (text("1.5"), "invalid type: a str, expected f32"),
            ],
        ),
        (
            "double",
            vec![f32_one.clone(), f64_one.clone(), vec![0xd0, 0x80]],
            vec![(vec![0xc0], "invalid type: nil, expected f64")],
        ),
        (
            "string",
            vec![text("x"), vec![0xd9, 1, b'x'], vec![0xda, 0, 1, b'x']],
            vec![
                (
                    vec![0xc4, 1, b'x'],
                    "invalid type: a bin, expected a string",
                ),
                (
                    vec![0x91, b'x'],
                    "invalid type: an array, expected a string",
                ),
            ],
        ),
        (
            "binary",
            vec![
                vec![0xc4, 1, b'x'],
                vec![0xc5, 0, 1, b'x'],
                vec![0xc6, 0, 0, 0, 1, b'x'],
            ],
            vec![
                (text("x"), "invalid type: a str, expected byte array"),
                (
                    vec![0x91, b'x'],
                    "invalid type: an array, expected byte array",
                ),
            ],
        ),
        (
            "uint8_list",
            vec![vec![0x92, 0x01, 0xcc, 0xff], vec![0x90]],
            vec![
                (
                    vec![0xc4, 1, b'x'],
                    "invalid type: a bin, expected a sequence",
                ),
                (
                    vec![0x91, 0xcd, 0x01, 0x2c],
                    "element 0: invalid value: integer `300`, expected u8",
                ),
            ],
        ),
        (
            "model",
            vec![
                inner.clone(),
                map(&[
                    &text("tags"),
                    &[0x91, 0xa1, b't'],
                    &text("name"),
                    &text("x"),
                ]),
            ],
            vec![
                (
                    vec![0x92, 0xa1, b'x', 0x90],
                    "invalid type: an array, expected struct Inner",
                ),
                (map(&[&text("name"), &text("x")]), "missing field `tags`"),
                (
                    map(&[
                        &text("name"),
                        &text("x"),
                        &text("tags"),
                        &[0x90],
                        &text("age"),
                        &[0x01],
                    ]),
                    "unknown field `age`, expected `name` or `tags`",
                ),
                (
                    map(&[
                        &text("name"),
                        &text("x"),
                        &text("tags"),
                        &[0x90],
                        &text("name"),
                        &text("y"),
                    ]),
                    "duplicate field `name`",
                ),
                (
                    map(&[
                        &text("name"),
                        &text("x"),
                        &text("tags"),
                        &[0x90],
                        &[0x01],
                        &[0x01],
                    ]),
                    "a map key: invalid type: integer `1`, expected field identifier",
                ),
                (
                    map(&[
                        &[0xc4, 4, b'n', b'a', b'm', b'e'],
                        &text("x"),
                        &text("tags"),
                        &[0x90],
                    ]),
                    "a map key: invalid type: a bin, expected field identifier",
                ),
                (
                    map(&[&text("name"), &text("x"), &text("tags"), &[0x91, 0x01]]),
                    "field `tags`: element 0: invalid type: integer `1`, expected a string",
                ),
                (
                    map(&[&text("name"), &[0xd4, 1, 0], &text("tags"), &[0x90]]),
                    "field `name`: invalid type: an ext value, expected a string",
                ),
            ],
        ),
    ];
    rows.into_iter()
        .map(|(method, accepted, rejected)| Row {
            method,
            accepted,
            rejected,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_accepts_exactly_each_types_encodings_and_names_what_it_refused() {
    let daemon = StrictDaemon::start().await;
    let mut s = raw_client(&daemon.path).await;
    let mut id = 0;
    for Row {
        method,
        accepted,
        rejected,
    } in table()
    {
        for value in accepted {
            id += 1;
            let answer = Answer::of(&raw_call(&mut s, id, method, &one(&value)).await);
            assert!(
                matches!(answer, Answer::Value { id: replied, .. } if replied == id),
                "{method} refused {value:02x?}: {answer:?}"
            );
        }
        for (value, why) in rejected {
            id += 1;
            let answer = Answer::of(&raw_call(&mut s, id, method, &one(&value)).await);
            assert_eq!(
                answer,
                Answer::Error {
                    id,
                    code: 2,
                    message: format!(
                        "arguments do not match the method's parameters: parameter `value`: {why}"
                    ),
                },
                "{method} took {value:02x?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_takes_arguments_only_as_an_array_of_exactly_one_element_per_parameter() {
    let daemon = StrictDaemon::start().await;
    let mut s = raw_client(&daemon.path).await;
    let accepted = [&[0x92, 0x05][..], &text("x")].concat();
    let answer = Answer::of(&raw_call(&mut s, 1, "two", &accepted).await);
    assert_eq!(
        answer,
        Answer::Value {
            id: 1,
            value: vec![0xc3]
        }
    );
    let rejected = [
        (
            vec![0x91, 0x05],
            "invalid length 1, expected an array of 2 arguments",
        ),
        (
            [&[0x93, 0x05][..], &text("x"), &[0xc0]].concat(),
            "invalid length 3, expected an array of 2 arguments",
        ),
        (
            map(&[&text("count"), &[0x05], &text("name"), &text("x")]),
            "invalid type: a map, expected an array of 2 arguments",
        ),
        (
            vec![0x05],
            "invalid type: integer `5`, expected an array of 2 arguments",
        ),
        (
            [&[0x92, 0x05][..], &[0xc4, 1, b'x']].concat(),
            "parameter `name`: invalid type: a bin, expected a string",
        ),
    ];
    for (id, (args, why)) in (2..).zip(rejected) {
        let answer = Answer::of(&raw_call(&mut s, id, "two", &args).await);
        assert_eq!(
            answer,
            Answer::Error {
                id,
                code: 2,
                message: format!("arguments do not match the method's parameters: {why}"),
            },
            "{args:02x?}"
        );
    }
}

/// A fake daemon: acknowledges subscriptions, and answers a call with `VALUE` holding its first
/// argument's bytes (a bin) as the value, after sending them as the arguments of event `e` when
/// the method is `emit`.
fn echoing_daemon() -> FakeDaemon {
    FakeDaemon::start(|body| {
        let mut r = body;
        rmp::decode::read_array_len(&mut r).unwrap();
        let kind: u8 = rmp::decode::read_int(&mut r).unwrap();
        let id: u64 = rmp::decode::read_int(&mut r).unwrap();
        if kind == 2 {
            // A SUBSCRIBE: acknowledged, so the subscriber's stream starts.
            return frame(&acknowledgement(id));
        }
        if kind != 1 {
            return Vec::new();
        }
        let mut method = [0; 16];
        let method = rmp::decode::read_str(&mut r, &mut method)
            .unwrap()
            .to_owned();
        let (raw,): (ByteBuf,) = rmp_serde::from_slice(r).unwrap();
        let mut answer = Vec::new();
        if method == "emit" {
            answer.extend(frame(&[&[0x93, 0x05, 0xa1, b'e'][..], &raw].concat()));
        }
        let mut value = vec![0x93, 0x02];
        rmp::encode::write_uint(&mut value, id).unwrap();
        value.extend_from_slice(&raw);
        answer.extend(frame(&value));
        answer
    })
}

/// Calls the echoing daemon so that it answers with `value`.
async fn reply<T: DeserializeOwned>(
    client: &Client,
    value: &[u8],
) -> Result<T, CallError<NoException>> {
    client
        .call::<_, T, NoException>("echo", &(ByteBuf::from(value),))
        .await
}

fn decode_error<T: std::fmt::Debug>(result: Result<T, CallError<NoException>>) -> String {
    match result {
        Err(CallError::Transport(Error::Decode(e))) => e.to_string(),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_fails_a_reply_value_of_the_wrong_encoding_and_keeps_the_connection() {
    let daemon = echoing_daemon();
    let client = Client::connect_to(&INFO, &daemon.path).await.unwrap();
    // One rejected and one accepted encoding per row.
    assert_eq!(
        decode_error(reply::<u8>(&client, &[0xcd, 0x01, 0x2c]).await),
        "invalid value: integer `300`, expected u8"
    );
    assert_eq!(
        reply::<u8>(&client, &[0xd3, 0, 0, 0, 0, 0, 0, 0, 7])
            .await
            .unwrap(),
        7
    );
    assert_eq!(
        decode_error(reply::<bool>(&client, &[0x01]).await),
        "invalid type: integer `1`, expected a boolean"
    );
    assert!(reply::<bool>(&client, &[0xc3]).await.unwrap());
    assert_eq!(
        decode_error(reply::<f64>(&client, &[0xc3]).await),
        "invalid type: boolean `true`, expected f64"
    );
    assert_eq!(reply::<f32>(&client, &[0x05]).await.unwrap(), 5.0);
    assert_eq!(
        decode_error(reply::<String>(&client, &[0xc4, 1, b'x']).await),
        "invalid type: a bin, expected a string"
    );
    assert_eq!(reply::<String>(&client, &text("x")).await.unwrap(), "x");
    assert_eq!(
        decode_error(reply::<ByteBuf>(&client, &text("x")).await),
        "invalid type: a str, expected byte array"
    );
    assert_eq!(
        reply::<ByteBuf>(&client, &[0xc4, 1, b'x']).await.unwrap(),
        b"x"[..]
    );
    assert_eq!(
        decode_error(reply::<Vec<u8>>(&client, &[0xc4, 1, b'x']).await),
        "invalid type: a bin, expected a sequence"
    );
    assert_eq!(reply::<Vec<u8>>(&client, &[0x91, 0x07]).await.unwrap(), [7]);
    assert_eq!(
        decode_error(reply::<Inner>(&client, &[0x92, 0xa1, b'x', 0x90]).await),
        "invalid type: an array, expected struct Inner"
    );
    let unknown = map(&[
        &text("name"),
        &text("x"),
        &text("tags"),
        &[0x90],
        &text("age"),
        &[0x01],
    ]);
    assert_eq!(
        decode_error(reply::<Inner>(&client, &unknown).await),
        "unknown field `age`, expected `name` or `tags`"
    );
    let duplicate = map(&[
        &text("name"),
        &text("x"),
        &text("tags"),
        &[0x90],
        &text("tags"),
        &[0x90],
    ]);
    assert_eq!(
        decode_error(reply::<Inner>(&client, &duplicate).await),
        "duplicate field `tags`"
    );
    let inner = map(&[&text("name"), &text("x"), &text("tags"), &[0x90]]);
    assert_eq!(reply::<Inner>(&client, &inner).await.unwrap().name, "x");
    // No return type: nil only.
    assert_eq!(
        decode_error(reply::<()>(&client, &[0x90]).await),
        "invalid type: an array, expected unit"
    );
    reply::<()>(&client, &[0xc0]).await.unwrap();
    assert!(!client.is_closed());
}

/// An event's payload as generated code declares it: a struct of its parameters.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(crate = "medium_runtime::serde")]
struct Changed {
    count: u8,
    inner: Inner,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reports_an_event_of_the_wrong_encoding_and_the_stream_goes_on() {
    let daemon = echoing_daemon();
    let client = Client::connect_to(&INFO, &daemon.path).await.unwrap();
    let mut events: EventStream<Changed> = client.subscribe("e").await.unwrap();
    let inner = map(&[&text("name"), &text("x"), &text("tags"), &[0x90]]);
    let rejected = [
        (
            [&[0x92, 0xcd, 0x01, 0x2c][..], &inner].concat(),
            "parameter `count`: invalid value: integer `300`, expected u8",
        ),
        (
            vec![0x91, 0x01],
            "invalid length 1, expected an array of 2 arguments",
        ),
        (
            [&[0x93, 0x01][..], &inner, &[0xc0]].concat(),
            "invalid length 3, expected an array of 2 arguments",
        ),
        (
            map(&[&text("count"), &[0x01], &text("inner"), &inner]),
            "invalid type: a map, expected an array of 2 arguments",
        ),
        (
            [&[0x92, 0x01][..], &[0x92, 0xa1, b'x', 0x90]].concat(),
            "parameter `inner`: invalid type: an array, expected struct Inner",
        ),
    ];
    let accepted = [&[0x92, 0x01][..], &inner].concat();
    for (args, _) in &rejected {
        client
            .call::<_, ByteBuf, NoException>("emit", &(ByteBuf::from(args.clone()),))
            .await
            .ok();
    }
    client
        .call::<_, ByteBuf, NoException>("emit", &(ByteBuf::from(accepted),))
        .await
        .ok();
    let next = async |events: &mut EventStream<Changed>| {
        tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .unwrap()
            .expect("an item")
    };
    for (args, why) in rejected {
        match next(&mut events).await {
            Err(EventError::Decode(e)) => assert_eq!(e.to_string(), why, "{args:02x?}"),
            other => panic!("expected a decode error for {args:02x?}, got {other:?}"),
        }
    }
    let changed = next(&mut events).await.unwrap();
    assert_eq!(changed.count, 1);
    assert_eq!(changed.inner.name, "x");
}

/// A reply that is not exactly one well-formed value is a malformed message, as any other bad
/// frame: the client closes the connection, and the call fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_closes_a_connection_whose_reply_is_not_one_well_formed_value() {
    // A byte after the value; a str that is not UTF-8; a length past the end.
    for value in [&[0xc0, 0xc0][..], &[0xa1, 0xff], &[0xc4, 0x05, 0x01]] {
        let daemon = echoing_daemon();
        let client = Client::connect_to(&INFO, &daemon.path).await.unwrap();
        let err = reply::<IgnoredAny>(&client, value).await.unwrap_err();
        assert!(
            matches!(err, CallError::Transport(Error::ConnectionClosed)),
            "{value:02x?}: {err:?}"
        );
        assert!(client.is_closed(), "{value:02x?}");
    }
}
