//! `Binary` crosses the runtime without copies, over a real socket: a handler's `Binary`
//! argument is a slice of the received frame, and a large `Binary` reply is written from the
//! handler's own buffer (still alive while the peer has not read it) rather than from a copy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use medium_runtime::{
    Binary, Call, CallRunner, Daemon, Dispatch, NoException, Reply, Started, decode_args,
};
use tokio::io::AsyncWriteExt;

use crate::support::{INFO, call_body, frame, raw_client, read_frame, wait_for_socket};

/// Bytes of the large reply: far more than a socket buffer holds.
const BIG: usize = 4 << 20;

/// Set when the buffer of the large reply is released.
static RELEASED: AtomicBool = AtomicBool::new(false);

/// The large reply's buffer, which says when it is dropped.
struct Tracked(Vec<u8>);

impl AsRef<[u8]> for Tracked {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        RELEASED.store(true, Ordering::SeqCst);
    }
}

struct BinaryService;

impl Dispatch for BinaryService {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        let reply = match call.method() {
            // Whether the argument is a slice of the call's frame, decoded both ways.
            "inside" => {
                let args = call.args().as_ptr_range();
                let inside = |binary: &Binary| args.contains(&binary.as_ptr());
                let (sliced,): (Binary,) = call.decode_args().ok()?;
                let (copied,): (Binary,) = decode_args(call.args()).ok()?;
                Reply::value(&(inside(&sliced), inside(&copied)))
            }
            "big" => {
                let bytes = Bytes::from_owner(Tracked(vec![0xab; BIG]));
                Reply::value(&Binary::from(bytes))
            }
            _ => return None,
        };
        Some(runner.reply(reply))
    }
}

#[tokio::test]
async fn a_binary_argument_is_a_slice_of_the_frame_and_a_large_reply_is_not_copied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let daemon = Daemon::new(&INFO, BinaryService).socket_path(&path);
    let handle = daemon.handle();
    tokio::spawn(daemon.serve());
    wait_for_socket(&path).await;

    let client = medium_runtime::Client::connect_to(&INFO, &path)
        .await
        .unwrap();
    let (sliced, copied): (bool, bool) = client
        .call::<_, _, NoException>("inside", &(Binary::from(vec![7; 1000]),))
        .await
        .unwrap();
    assert!(
        sliced,
        "Call::decode_args copied the binary out of the frame"
    );
    assert!(!copied, "decode_args on a plain slice copies");

    // The peer reads nothing yet: the reply cannot all leave, so what is still to be written
    // must be the handler's own buffer, alive until the peer has read it.
    let mut raw = raw_client(&path).await;
    raw.write_all(&frame(&call_body(1, "big", &[0x90])))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !RELEASED.load(Ordering::SeqCst),
        "the reply's buffer was released before it was sent: it was copied"
    );
    let reply = tokio::time::timeout(Duration::from_secs(10), read_frame(&mut raw))
        .await
        .unwrap()
        .expect("the reply");
    let header = [
        0x93, 0x02, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0xc6, 0, 0x40, 0, 0,
    ];
    assert_eq!(reply[..header.len()], header);
    assert!(reply[header.len()..].iter().all(|&b| b == 0xab));
    assert_eq!(reply.len(), header.len() + BIG);
    crate::support::eventually(|| RELEASED.load(Ordering::SeqCst)).await;
    handle.shutdown();
}
