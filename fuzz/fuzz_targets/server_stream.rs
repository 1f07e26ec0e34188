//! Arbitrary bytes as an application's byte stream into a daemon connection (framing, message
//! decoding, handshake and the connection state machine): any input must end in an error and a
//! disconnect or a clean close, never a panic, a hang or an unbounded allocation, and the
//! daemon's answer must be well-formed frames. The first input byte's low bit says whether a
//! valid handshake goes first, so the fuzzer reaches the post-handshake states at once.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    medium_runtime::fuzzing::feed_server(input, mode & 1 == 1);
});
