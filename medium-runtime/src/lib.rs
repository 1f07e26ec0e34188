//! The runtime under every cargo-medium protocol crate: Unix-socket transport, framing,
//! handshake, calls, events and daemon lifecycle. It never generates code; generated protocol
//! crates are thin typed wrappers over [`Client`], [`Daemon`] and [`Dispatch`], and a service
//! can be written by hand against the same API. The wire format is specified in PROTOCOL.md.

mod access;
mod ancillary;
mod application;
mod binary;
pub mod blocking;
mod client;
mod connection;
mod daemon;
mod dispatch;
mod error;
mod event_stream;
mod exception;
mod fd;
mod frame;
mod frame_reader;
mod future_slot;
#[doc(hidden)]
pub mod fuzzing;
mod handle;
mod introspection;
mod limits;
mod listener;
mod lossy;
mod message;
mod outbox;
mod peer;
mod protocol_info;
mod reconnect;
mod reply;
mod requests_in_flight;
mod socket_halves;
mod socket_path;
mod thread_scope;
mod value_decoder;
mod well_formed;

pub use ancillary::{DEFAULT_MAX_FDS_IN_FLIGHT, DEFAULT_MAX_FDS_PER_FRAME, MAX_FDS_PER_FRAME};
pub use application::{Application, ApplicationEvent, ApplicationId, PeerCredentials};
pub use binary::Binary;
pub use client::{Client, ClientOptions};
pub use daemon::{Daemon, DaemonOptions};
pub use dispatch::{Call, CallRunner, Dispatch, Started};
pub use error::{BoxError, Error, PeerIdentity};
pub use event_stream::{EventError, EventStream};
pub use exception::{
    CallError, ErrorCode, ExceptionSet, NoException, ProtocolError, RemoteException,
};
pub use fd::Fd;
pub use frame::DEFAULT_MAX_FRAME_LEN;
pub use handle::{DaemonHandle, EmitError};
pub use introspection::{Introspection, introspect};
pub use protocol_info::{AccessItem, AccessRule, Allow, ProtocolInfo, generated_spec};
pub use reconnect::{AutoReconnect, ConnectionState, OutageCalls, ReconnectPolicy};
pub use reply::{HandlerError, Reply, decode_args};
pub use socket_path::{SOCKET_DIR_ENV, socket_path};
pub use well_formed::DEFAULT_MAX_NESTING_DEPTH;

// Re-exported so generated crates depend on medium-runtime alone.
pub use futures;
pub use serde;
pub use serde_bytes;
