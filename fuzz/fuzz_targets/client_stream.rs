//! Arbitrary bytes as a daemon's byte stream into a client (framing, message decoding,
//! handshake, reply routing and event streams) while the client calls and subscribes: any input
//! must end the calls and streams with values or errors, never a panic or a hang. The first
//! input byte's low bit says whether a valid `WELCOME` goes first.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    medium_runtime::fuzzing::feed_client(input, mode & 1 == 1);
});
