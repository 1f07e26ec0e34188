//! Bytes and `SCM_RIGHTS` descriptors as an application's stream into a daemon connection: the
//! input is cut into chunks, each sent by one `sendmsg` with some fresh pipe read ends attached
//! (`medium_runtime::fuzzing::feed_server_descriptors`). Exercises attribution (descriptors in
//! the middle of a frame, several frames in one read), the per-frame limit and `MSG_CTRUNC`,
//! descriptors on messages without values, on a protocol without `fd`, and indices that
//! disagree with their set. Any input must end without a panic or a hang, the daemon's answer
//! must be well-formed frames, and no descriptor sent may stay open once the connection is over.
//! The first byte: bit 0 sends a valid handshake first, bit 1 makes the protocol use `fd`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    medium_runtime::fuzzing::feed_server_descriptors(input, mode & 1 == 1, mode & 2 == 2);
});
