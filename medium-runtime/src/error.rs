//! The runtime's one error type, shared by client and daemon. Messages are written for the
//! person running the app or daemon: they name the socket path and say what to do next.
//!
//! Each message is whole: it ends with its cause (the OS error, the decoding error, the last
//! reconnection attempt's error), so an app or daemon printing `{err}` or logging `%err` says
//! why. The cause is therefore not also returned from `source()`, or a program printing the
//! chain, as `cargo medium` does, would show it twice.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::exception::ProtocolError;
use crate::protocol_info::ProtocolInfo;

/// A boxed error from user code (the daemon's background future).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Who a peer claims to be in the handshake: enough to tell two builds of a protocol apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Dotted namespace of the spec, e.g. `com.pcthingz.libmedium.student`.
    pub namespace: String,
    /// Class name of the spec, e.g. `StudentSystem`.
    pub class: String,
    /// Lowercase hex SHA-256 of the canonical spec.
    pub fingerprint: String,
}

impl PeerIdentity {
    /// The identity a build of `info` presents in the handshake.
    pub(crate) fn of(info: &ProtocolInfo) -> PeerIdentity {
        PeerIdentity {
            namespace: info.namespace.to_owned(),
            class: info.class.to_owned(),
            fingerprint: info.fingerprint.to_owned(),
        }
    }
}

impl std::fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The first 8 hex digits are plenty for a human to compare two builds.
        let short = self.fingerprint.get(..8).unwrap_or(&self.fingerprint);
        write!(
            f,
            "{}.{} (fingerprint {short}…)",
            self.namespace, self.class
        )
    }
}

/// Everything that can go wrong in the runtime outside a single call's own reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing listens on the socket path.
    #[error("no daemon at {}: is it running? start the daemon first", .path.display())]
    NotRunning {
        /// The socket path that was tried.
        path: PathBuf,
    },
    /// Another live daemon answers on the socket path.
    #[error("a daemon is already running at {}", .path.display())]
    AlreadyRunning {
        /// The socket path in use.
        path: PathBuf,
    },
    /// The socket path exists but is not a socket (or is a symlink); it is never deleted.
    #[error("{} exists and is not a socket; refusing to replace it", .path.display())]
    NotASocket {
        /// The offending path.
        path: PathBuf,
    },
    /// The daemon speaks another protocol or another build of this one.
    #[error("daemon at {} speaks {daemon}, this app was built for {app}: rebuild one of them", .path.display())]
    HandshakeMismatch {
        /// The socket path of the daemon.
        path: PathBuf,
        /// What the daemon says it is.
        daemon: Box<PeerIdentity>,
        /// What this app was built for.
        app: Box<PeerIdentity>,
    },
    /// The daemon does not speak this application's wire protocol version (`REFUSED` code 9):
    /// they were built with different medium-runtime versions.
    #[error("daemon at {} refused wire version {app_version}: {reason}", .path.display())]
    UnsupportedVersion {
        /// The socket path of the daemon.
        path: PathBuf,
        /// The wire version this application speaks.
        app_version: u32,
        /// The daemon's message, which names the version it speaks.
        reason: String,
    },
    /// The peer on the socket does not speak the medium protocol.
    #[error("{} is not a medium daemon socket: {detail}", .path.display())]
    NotMedium {
        /// The socket path.
        path: PathBuf,
        /// What the peer did instead of answering the handshake.
        detail: String,
    },
    /// The daemon refused the connection or closed it with a reason.
    #[error("daemon closed the connection: {0}")]
    Rejected(ProtocolError),
    /// The daemon refused a subscription: code 12 (`unknown_event`) when its protocol has no
    /// such event, code 14 (`forbidden`) when the event's `@allow` rule does not admit this
    /// application. No stream was made.
    #[error("cannot subscribe to `{event}`: {reason}")]
    Subscribe {
        /// The event named.
        event: String,
        /// The daemon's error, e.g. "no event `foo` in com.x.StudentSystem".
        reason: ProtocolError,
    },
    /// The connection to the daemon is gone (daemon exited, or the client was closed).
    #[error("connection to the daemon closed")]
    ConnectionClosed,
    /// The connection dropped and the client is reconnecting ([`crate::AutoReconnect`]); the
    /// call was not sent.
    #[error("connection to the daemon at {} was lost; reconnecting (the call was not sent)", .path.display())]
    Reconnecting {
        /// The socket path being reconnected to.
        path: PathBuf,
    },
    /// The connection dropped and automatic reconnection gave up: the reason is the last
    /// attempt's error, e.g. [`Error::NotRunning`] or [`Error::HandshakeMismatch`].
    #[error("lost the connection to the daemon and could not reconnect: {0}")]
    ReconnectFailed(Arc<Error>),
    /// A call got no reply in time. The connection stays usable.
    #[error("call to `{method}` timed out after {after:?}")]
    Timeout {
        /// The method called.
        method: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// A frame's length prefix exceeds the configured maximum.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Announced length.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A frame did not hold a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// File descriptors came where none may (PROTOCOL.md §3.1): in the middle of a frame, with
    /// a message that carries no values, on a protocol without `fd`, lost (`MSG_CTRUNC`) or
    /// over a limit. The connection ends (the daemon sends `FATAL` code 15 first).
    #[error("bad descriptors: {0}")]
    BadDescriptors(String),
    /// A value could not be decoded into the expected Rust type.
    #[error("could not decode value: {0}")]
    Decode(rmp_serde::decode::Error),
    /// A value could not be encoded.
    #[error("could not encode value: {0}")]
    Encode(rmp_serde::encode::Error),
    /// No base folder for the socket could be found.
    #[error(
        "no socket folder: set MEDIUM_SOCKET_DIR or XDG_RUNTIME_DIR, or give the spec a `socket` folder"
    )]
    NoSocketDir,
    /// An I/O operation on a path failed.
    #[error("{action} {}: {cause}", .path.display())]
    Path {
        /// What was being done, e.g. `cannot bind`.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error, part of the message.
        cause: std::io::Error,
    },
    /// Any other I/O failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A group named in an `@allow` rule does not exist on this system: the daemon does not
    /// serve (a rule that cannot be checked must not be ignored).
    #[error("group `{group}` in the @allow rule of `{item}` does not exist on this system")]
    UnknownGroup {
        /// The group's name.
        group: String,
        /// The method or event whose rule names it.
        item: String,
    },
    /// The system's group database could not be read to resolve a group of an `@allow` rule:
    /// the daemon does not serve.
    #[error("cannot look up group `{group}` in the @allow rule of `{item}`: {cause}")]
    GroupLookup {
        /// The group's name.
        group: String,
        /// The method or event whose rule names it.
        item: String,
        /// The lookup's error, part of the message.
        cause: std::io::Error,
    },
    /// The daemon's background future failed; the daemon shut down because of it.
    #[error("background task failed: {0}")]
    Background(BoxError),
}

impl From<rmp_serde::decode::Error> for Error {
    fn from(e: rmp_serde::decode::Error) -> Self {
        Error::Decode(e)
    }
}

impl From<rmp_serde::encode::Error> for Error {
    fn from(e: rmp_serde::encode::Error) -> Self {
        Error::Encode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EmitError, EventError};

    fn decode_error() -> rmp_serde::decode::Error {
        rmp_serde::from_slice::<String>(&[0xc3]).unwrap_err()
    }

    fn encode_error() -> rmp_serde::encode::Error {
        rmp_serde::encode::Error::Syntax("no".into())
    }

    /// The message ends with the cause, and `source()` does not repeat it.
    fn says_its_cause_once(err: &dyn std::error::Error, cause: &str) {
        let message = err.to_string();
        assert!(
            message.ends_with(cause),
            "{message:?} does not end with {cause:?}"
        );
        assert!(err.source().is_none(), "{message:?} also returns its cause");
    }

    #[test]
    fn messages_end_with_their_cause_and_do_not_return_it_again() {
        let io = || std::io::Error::from_raw_os_error(libc::ENOTDIR);
        let path = Error::Path {
            action: "cannot connect to",
            path: "/tmp/file/socket".into(),
            cause: io(),
        };
        says_its_cause_once(&path, &io().to_string());
        says_its_cause_once(&Error::from(decode_error()), &decode_error().to_string());
        says_its_cause_once(&Error::from(encode_error()), &encode_error().to_string());
        let gone = || Error::NotRunning {
            path: "/run/x".into(),
        };
        let failed = Error::ReconnectFailed(Arc::new(gone()));
        says_its_cause_once(&failed, &gone().to_string());
        says_its_cause_once(
            &EventError::from(decode_error()),
            &decode_error().to_string(),
        );
        says_its_cause_once(
            &EventError::ReconnectFailed(Arc::new(gone())),
            &gone().to_string(),
        );
        says_its_cause_once(
            &EmitError::from(encode_error()),
            &encode_error().to_string(),
        );
    }
}
