//! What a handler hands back to the runtime: a value, a typed exception or a protocol error.
//! Values are serialized straight into their reply frame, so the runtime only stamps the id.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exception::{ErrorCode, ExceptionSet, ProtocolError, RemoteException};
use crate::frame::{OutFrame, PREFIX_LEN};
use crate::handle::EmitError;
use crate::message::{self, ValueFrame};
use crate::outbox::OutboxSender;
use crate::value_decoder;

/// The outcome of one dispatched call. Build it with the constructors below.
#[derive(Debug)]
pub struct Reply(ReplyKind);

#[derive(Debug)]
enum ReplyKind {
    Value(ValueFrame),
    Exception(RemoteException),
    Error(ProtocolError),
}

/// A server-side handler failure: a spec exception, or one of the runtime-reported cases.
#[derive(Debug)]
pub enum HandlerError<E> {
    /// A typed exception of the protocol; reaches the client as `CallError::Exception`.
    Exception(E),
    /// The method exists in the spec but the daemon has no implementation yet.
    NotImplemented {
        /// The method's spec name.
        method: &'static str,
    },
    /// Any other failure; reaches the client as `CallError::Protocol` with code `Internal`.
    Internal(String),
}

impl<E: ExceptionSet> From<E> for HandlerError<E> {
    fn from(e: E) -> Self {
        HandlerError::Exception(e)
    }
}

/// So a handler can `?` an event for one application (`cx.events().to(app).event(…)?`): an
/// application gone or an event too large fails the call as an internal error.
impl<E: ExceptionSet> From<EmitError> for HandlerError<E> {
    fn from(e: EmitError) -> Self {
        HandlerError::Internal(e.to_string())
    }
}

impl Reply {
    /// A successful value.
    pub fn value<T: Serialize + ?Sized>(value: &T) -> Reply {
        match ValueFrame::encode(value) {
            Ok(frame) => Reply(ReplyKind::Value(frame)),
            Err(e) => Reply::protocol_error(ProtocolError::new(
                ErrorCode::Internal,
                format!("daemon could not encode its reply: {e}"),
            )),
        }
    }

    /// A typed exception in wire form.
    pub fn exception(exception: RemoteException) -> Reply {
        Reply(ReplyKind::Exception(exception))
    }

    /// A protocol error (the caller sees `CallError::Protocol`).
    pub fn protocol_error(error: ProtocolError) -> Reply {
        Reply(ReplyKind::Error(error))
    }

    /// The reply for a handler's `Result` whose error is a spec exception.
    pub fn from_result<T: Serialize, E: ExceptionSet>(result: Result<T, E>) -> Reply {
        match result {
            Ok(value) => Reply::value(&value),
            Err(e) => Reply::exception(e.to_remote()),
        }
    }

    /// The reply for a handler's `Result` whose error is a [`HandlerError`].
    pub fn from_handler<T: Serialize, E: ExceptionSet>(
        result: Result<T, HandlerError<E>>,
    ) -> Reply {
        match result {
            Ok(value) => Reply::value(&value),
            Err(HandlerError::Exception(e)) => Reply::exception(e.to_remote()),
            Err(HandlerError::NotImplemented { method }) => Reply::not_implemented(method),
            Err(HandlerError::Internal(message)) => {
                Reply::protocol_error(ProtocolError::new(ErrorCode::Internal, message))
            }
        }
    }

    /// Protocol error `NotImplemented`: "daemon does not implement `method` yet".
    pub fn not_implemented(method: &str) -> Reply {
        Reply::protocol_error(ProtocolError::new(
            ErrorCode::NotImplemented,
            format!("daemon does not implement `{method}` yet"),
        ))
    }

    /// Sends the reply to request `id` through `outbox` (see [`Reply::into_frame`]): a value
    /// that fits one encoding buffer is copied into the connection's write buffer, with no
    /// frame of its own. Returns false if the connection is closed.
    pub(crate) fn send(self, id: u64, max_frame_len: usize, outbox: &OutboxSender) -> bool {
        match self.0 {
            ReplyKind::Value(frame) if frame.body_len() <= max_frame_len => frame
                .finish_lent(id, |bytes| outbox.send_bytes(bytes))
                .unwrap_or_else(|frame| outbox.send(frame)),
            kind => outbox.send(Reply(kind).into_frame(id, max_frame_len)),
        }
    }

    /// The complete reply frame for request `id`. A reply of any kind whose body is over
    /// `max_frame_len` (a huge value, or an exception or error message) becomes `ERROR` code 7
    /// for this call only: the daemon never sends a frame over its own limit.
    pub(crate) fn into_frame(self, id: u64, max_frame_len: usize) -> OutFrame {
        let frame = match self.0 {
            ReplyKind::Value(frame) if frame.body_len() > max_frame_len => {
                return too_large(id, frame.body_len(), max_frame_len).into();
            }
            ReplyKind::Value(frame) => return frame.finish(id),
            ReplyKind::Exception(e) => message::exception(id, &e),
            ReplyKind::Error(e) => message::call_error(id, &e),
        };
        let body_len = frame.len() - PREFIX_LEN;
        if body_len > max_frame_len {
            return too_large(id, body_len, max_frame_len).into();
        }
        frame.into()
    }
}

/// The `ERROR` code 7 sent in place of a reply of `body_len` bytes.
fn too_large(id: u64, body_len: usize, max_frame_len: usize) -> Bytes {
    message::call_error(
        id,
        &ProtocolError::new(
            ErrorCode::FrameTooLarge,
            format!("reply of {body_len} bytes exceeds the limit of {max_frame_len} bytes"),
        ),
    )
}

/// Decodes the positional arguments of a call (a MessagePack array with exactly one element per
/// parameter) into a tuple or a struct of the parameters, or gives the `BadArguments` reply to
/// send back. Each parameter takes only its spec type's encodings (PROTOCOL.md §3: e.g. a
/// `String` only a `str`, bytes only a `bin`, a struct only a map); the reply's message names
/// the parameter or field and what was found.
///
/// A [`crate::Binary`] decoded this way is a copy; [`crate::Call::decode_args`] decodes it as a
/// slice of the received frame instead.
pub fn decode_args<T: DeserializeOwned>(args: &[u8]) -> Result<T, Reply> {
    value_decoder::arguments_copied(args).map_err(bad_arguments)
}

/// The `BadArguments` reply for arguments that did not decode.
pub(crate) fn bad_arguments(error: rmp_serde::decode::Error) -> Reply {
    Reply::protocol_error(ProtocolError::new(
        ErrorCode::BadArguments,
        format!("arguments do not match the method's parameters: {error}"),
    ))
}
