//! How failures of a single call travel: typed exceptions raised by the daemon's handlers,
//! protocol errors raised by the runtime, and the `CallError` a client call returns.

use crate::error::Error;

/// An exception as it crosses the wire: the exception's spec name and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteException {
    /// The exception's name in the spec, e.g. `StudentNotFound`.
    pub name: String,
    /// The message the daemon gave.
    pub message: String,
}

/// Implemented by each generated exception enum: converts to and from the wire form.
pub trait ExceptionSet: Sized + Send + 'static {
    /// The wire form of this exception.
    fn to_remote(&self) -> RemoteException;
    /// `Err(e)` gives the exception back when its name is not one of ours.
    fn from_remote(e: RemoteException) -> Result<Self, RemoteException>;
}

/// For protocols without exceptions, and for hand-written services that never raise one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no exception")]
pub enum NoException {}

impl ExceptionSet for NoException {
    fn to_remote(&self) -> RemoteException {
        match *self {}
    }
    fn from_remote(e: RemoteException) -> Result<Self, RemoteException> {
        Err(e)
    }
}

/// The numeric code of a protocol error (see PROTOCOL.md, "Error codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 1: the daemon has no method (or built-in request) of that name.
    UnknownMethod,
    /// 2: the arguments did not decode into the method's parameter types.
    BadArguments,
    /// 3: the handler panicked; the daemon caught it and keeps serving.
    HandlerPanicked,
    /// 4: the daemon declares the method but does not implement it yet.
    NotImplemented,
    /// 5: the handler failed in a way that is not a spec exception.
    Internal,
    /// 6: a frame did not hold a valid message.
    Malformed,
    /// 7: a frame's length exceeded the receiver's maximum.
    FrameTooLarge,
    /// 8: the handshake named another protocol or another build of it.
    HandshakeMismatch,
    /// 9: the handshake asked for a wire-protocol version the daemon does not speak.
    UnsupportedVersion,
    /// 10: the peer's uid is not in the daemon's allow-list (`DaemonOptions::allowed_uids`).
    PeerNotAllowed,
    /// 11: the daemon already serves as many connections as it allows, in total
    /// (`DaemonOptions::max_connections`) or for the peer's uid
    /// (`DaemonOptions::max_connections_per_uid`).
    TooManyConnections,
    /// 12: a subscription named an event the daemon's protocol does not have; nothing was
    /// stored for it.
    UnknownEvent,
    /// 13: the peer did not complete its handshake within the daemon's
    /// `DaemonOptions::handshake_timeout`; sent in a `FATAL` frame, then the connection closes.
    HandshakeTimeout,
    /// 14: the spec's `@allow` rule for the method (or event) does not admit the peer: a call
    /// is refused before its arguments are decoded or its handler runs, a subscription is not
    /// stored. The connection stays open.
    Forbidden,
    /// 15: file descriptors that do not fit (PROTOCOL.md §3.1). For `ERROR`: a call's `fd`
    /// indices disagree with the descriptors attached to its frame (closed; the connection
    /// stays open). For `FATAL`: descriptors in the middle of a frame, on a message that carries
    /// no values or a protocol without `fd`, lost, or over a limit.
    BadDescriptors,
    /// A code this runtime does not know (sent by a newer peer).
    Other(u32),
}

impl ErrorCode {
    /// The code as sent on the wire.
    pub fn as_u32(self) -> u32 {
        match self {
            ErrorCode::UnknownMethod => 1,
            ErrorCode::BadArguments => 2,
            ErrorCode::HandlerPanicked => 3,
            ErrorCode::NotImplemented => 4,
            ErrorCode::Internal => 5,
            ErrorCode::Malformed => 6,
            ErrorCode::FrameTooLarge => 7,
            ErrorCode::HandshakeMismatch => 8,
            ErrorCode::UnsupportedVersion => 9,
            ErrorCode::PeerNotAllowed => 10,
            ErrorCode::TooManyConnections => 11,
            ErrorCode::UnknownEvent => 12,
            ErrorCode::HandshakeTimeout => 13,
            ErrorCode::Forbidden => 14,
            ErrorCode::BadDescriptors => 15,
            ErrorCode::Other(code) => code,
        }
    }

    /// The code read from the wire.
    pub fn from_u32(code: u32) -> ErrorCode {
        match code {
            1 => ErrorCode::UnknownMethod,
            2 => ErrorCode::BadArguments,
            3 => ErrorCode::HandlerPanicked,
            4 => ErrorCode::NotImplemented,
            5 => ErrorCode::Internal,
            6 => ErrorCode::Malformed,
            7 => ErrorCode::FrameTooLarge,
            8 => ErrorCode::HandshakeMismatch,
            9 => ErrorCode::UnsupportedVersion,
            10 => ErrorCode::PeerNotAllowed,
            11 => ErrorCode::TooManyConnections,
            12 => ErrorCode::UnknownEvent,
            13 => ErrorCode::HandshakeTimeout,
            14 => ErrorCode::Forbidden,
            15 => ErrorCode::BadDescriptors,
            other => ErrorCode::Other(other),
        }
    }
}

/// An error the runtime (not the user's handler) reports for a call or a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProtocolError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// A message for humans, e.g. "daemon does not implement `get_student` yet".
    pub message: String,
}

impl ProtocolError {
    /// A protocol error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ProtocolError {
        ProtocolError {
            code,
            message: message.into(),
        }
    }
}

/// What a client call returns on failure.
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// A typed exception of this protocol.
    #[error(transparent)]
    Exception(E),
    /// An exception whose name this build does not know.
    #[error("daemon raised unknown exception `{}`: {}", .0.name, .0.message)]
    UnknownException(RemoteException),
    /// The runtime refused or failed the call: unknown method, bad arguments, handler panicked,
    /// not implemented, internal error.
    #[error(transparent)]
    Protocol(ProtocolError),
    /// The spec's `@allow` rule for the method does not admit this application's uid or groups
    /// (code 14, `forbidden`, e.g. "uid 1000 may not call `delete_student`"): the handler did
    /// not run. The connection stays usable.
    #[error(transparent)]
    Forbidden(ProtocolError),
    /// The connection failed: closed, timed out, handshake mismatch, I/O.
    #[error(transparent)]
    Transport(Error),
}

impl<E> From<Error> for CallError<E> {
    fn from(e: Error) -> Self {
        CallError::Transport(e)
    }
}
