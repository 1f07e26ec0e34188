//! Replays inputs through the fuzz targets' entry points (`medium_runtime::fuzzing`), so the
//! fuzzing harness itself is tested and every crashing input a fuzz run finds stays fixed.
//! `(input, handshake)` pairs; see `fuzz/README.md`.

use medium_runtime::fuzzing::{feed_client, feed_server, feed_server_descriptors};

use crate::support::frame;

/// Frames an application might send after its handshake: calls of every fuzz-service method,
/// a subscribe, an unknown built-in, an unsubscribe, a subscribe to an unknown event, then garbage. Found by the harness: the reply of the
/// `later` call, still running when the garbage arrived, used to go out after the `FATAL`.
fn busy_application() -> Vec<u8> {
    let mut input = Vec::new();
    for body in [
        &b"\x93\x02\x06\xa4tick"[..],
        b"\x94\x01\x01\xa4echo\x91\xa2hi",
        b"\x94\x01\x02\xa5later\x90",
        b"\x94\x01\x03\xa4emit\x90",
        b"\x94\x04\x04\xa4list\x90",
        b"\x94\x01\x05\xa4echo\x91\x2a",
        b"\x93\x03\x07\xa4tick",
        b"\x93\x02\x08\xa4nope",
        b"\xc1",
    ] {
        input.extend(frame(body));
    }
    input
}

#[test]
fn daemon_side_survives_seed_inputs() {
    feed_server(&[], false);
    feed_server(&[], true);
    feed_server(&busy_application(), true);
    feed_server(&busy_application(), false);
    feed_server(&[0xff, 0xff, 0xff, 0xff], true);
    feed_server(&[0x00, 0xff, 0xff, 0xf0, 1, 2, 3], true);
    feed_server(&frame(b"\x96\x00\xa6medium\x01\xa1a\xa1b\xa1c"), false);
}

#[test]
fn client_side_survives_seed_inputs() {
    feed_client(&[], false);
    feed_client(&[], true);
    let mut daemon = Vec::new();
    for body in [
        &b"\x93\x02\x01\xa1x"[..],
        b"\x93\x05\xa4tick\x92\xa1a\x07",
        b"\x92\x06\x05",
        b"\x93\x05\xa4tick\x92\xa1b\x08",
        b"\x94\x03\x02\xa4Oops\xa2no",
        b"\x93\x07\x06\xa3bye",
    ] {
        daemon.extend(frame(body));
    }
    feed_client(&daemon, true);
    feed_client(&daemon, false);
    feed_client(&[0xff, 0xff, 0xff, 0xff], true);
}

/// `depth` nested one-element arrays around `nil`.
fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut v = vec![0x91; depth];
    v.push(0xc0);
    v
}

/// `{"name": "x", "tags": [], "extra": <depth nested arrays>}`: a model whose unknown key serde
/// skips by recursion.
fn model_with_deep_extra(depth: usize) -> Vec<u8> {
    [
        &b"\x83\xa4name\xa1x\xa4tags\x90\xa5extra"[..],
        &nested_arrays(depth),
    ]
    .concat()
}

/// Issue 15, item 2: a thousand nested arrays overflowed the stack of a debug build (this test
/// binary) and aborted it, on either side.
#[test]
fn deeply_nested_values_do_not_overflow_the_stack() {
    let deep = model_with_deep_extra(1000);
    let call = [&b"\x94\x01\x01\xa5model\x91"[..], &deep].concat();
    let mut input = frame(&call);
    // A model at the default limit (128: args, model, 126 arrays) still reaches the handler.
    let at_limit = [
        &b"\x94\x01\x02\xa5model\x91"[..],
        &model_with_deep_extra(126),
    ]
    .concat();
    input.extend(frame(&at_limit));
    input.extend(frame(b"\x94\x01\x03\xa4echo\x91\xa2hi"));
    feed_server(&input, true);

    // Client ids: subscriptions 1 and 2, then calls 3 (`IgnoredAny`), 4 and 5 (a model).
    let mut daemon = Vec::new();
    for body in [
        [&b"\x93\x02\x03"[..], &nested_arrays(1000)].concat(),
        [&b"\x93\x02\x05"[..], &deep].concat(),
        [&b"\x93\x05\xa7changed\x91"[..], &deep].concat(),
        [&b"\x93\x05\xa4tick\x91"[..], &nested_arrays(1000)].concat(),
    ] {
        daemon.extend(frame(&body));
    }
    feed_client(&daemon, true);
}

/// One chunk of a `feed_server_descriptors` input: `bytes` sent with `fds` descriptors.
fn chunk(fds: u8, bytes: &[u8]) -> Vec<u8> {
    let mut chunk = vec![if fds == 0 { 0 } else { 0x80 | fds }, bytes.len() as u8];
    chunk.extend_from_slice(bytes);
    chunk
}

#[test]
fn daemon_side_closes_every_descriptor_of_seed_inputs() {
    let call = frame(b"\x94\x01\x01\xa3fds\x91\x92\x00\x01");
    let (head, rest) = call.split_at(5);
    let inputs = [
        // Two descriptors, each taken once: one comes back in the reply.
        chunk(2, &call),
        // Three: one no index refers to (ERROR 15), then the connection goes on.
        [chunk(3, &call), chunk(2, &call)].concat(),
        // In the middle of a frame, over the per-frame limit, far over the control buffer.
        [chunk(0, head), chunk(1, rest)].concat(),
        chunk(33, &call),
        chunk(63, &call),
        // With a subscription, and with garbage.
        chunk(1, &frame(b"\x93\x02\x06\xa4tick")),
        chunk(1, b"\xff\xff"),
    ];
    for input in &inputs {
        for (handshake, fd) in [(true, true), (true, false), (false, true)] {
            feed_server_descriptors(input, handshake, fd);
        }
    }
}
