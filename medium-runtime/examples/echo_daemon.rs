//! A medium daemon written by hand, without code generation: it serves `echo(text)`,
//! `sleep(ms)` and `fail(message)` (which raises `EchoFailed`) and emits `echoed(text)` to
//! subscribers. Its spec text is in `ECHO`, so introspection and `cargo medium call` work on
//! it. Run it with a socket path, or none to use the standard location (`$MEDIUM_SOCKET_DIR` or
//! `$XDG_RUNTIME_DIR`, then `com.example.echo/socket`):
//!
//! ```text
//! cargo run -p medium-runtime --example echo_daemon -- /tmp/echo/socket
//! ```
//!
//! The runtime's lifecycle, fault and reconnection tests run this binary as a real daemon
//! process.

use std::process::ExitCode;
use std::time::Duration;

use medium_runtime::{
    Call, CallRunner, Daemon, Dispatch, NoException, ProtocolInfo, RemoteException, Reply, Started,
    decode_args,
};

const ECHO: ProtocolInfo = ProtocolInfo {
    namespace: "com.example.echo",
    class: "Echo",
    fingerprint: "e40e000000000000000000000000000000000000000000000000000000000000",
    socket_base: None,
    spec: "namespace com.example.echo
class Echo
exception EchoFailed
method echo(text: string): string
method fail(message: string)
method sleep(ms: uint64): uint64
event echoed(text: string)
",
    events: &["echoed"],
    access: &[],
    uses_fd: false,
};

struct Echo;

impl Dispatch for Echo {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        match call.method() {
            "echo" => Some(runner.run(async move {
                match decode_args::<(String,)>(call.args()) {
                    Ok((text,)) => {
                        // The text came in one frame, but the event adds a few bytes to it.
                        if let Err(e) = call.daemon().emit("echoed", &(&text,)) {
                            eprintln!("echo daemon: cannot emit `echoed`: {e}");
                        }
                        Reply::from_result(Ok::<_, NoException>(text))
                    }
                    Err(reply) => reply,
                }
            })),
            "sleep" => Some(runner.run(async move {
                match decode_args::<(u64,)>(call.args()) {
                    Ok((ms,)) => {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        Reply::value(&ms)
                    }
                    Err(reply) => reply,
                }
            })),
            "fail" => Some(runner.run(async move {
                match decode_args::<(String,)>(call.args()) {
                    Ok((message,)) => Reply::exception(RemoteException {
                        name: "EchoFailed".to_owned(),
                        message,
                    }),
                    Err(reply) => reply,
                }
            })),
            _ => None,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut daemon = Daemon::new(&ECHO, Echo);
    if let Some(path) = std::env::args_os().nth(1) {
        daemon = daemon.socket_path(path);
    }
    match daemon.serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_daemon: {e}");
            ExitCode::FAILURE
        }
    }
}
