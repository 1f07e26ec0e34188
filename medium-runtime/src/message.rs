//! The message kinds of the wire protocol (PROTOCOL.md): each frame body is a MessagePack array
//! whose first element is the kind tag. Encoding writes into a per-thread buffer and copies
//! the frame out once, at its exact size (one allocation per frame, never a reallocation),
//! except that a large `Binary` stays a chunk of its own (see `frame::FrameWriter`); decoding
//! borrows values and a call's names out of the frame (`Bytes::slice`), so they are never
//! copied.
//! A frame body is decoded only once `well_formed` has found it to be exactly one well-formed
//! MessagePack value. No I/O here.

use std::io::Write;

use bytes::Bytes;
use serde::Serialize;

use crate::error::{Error, PeerIdentity};
use crate::exception::{ErrorCode, ProtocolError, RemoteException};
use crate::frame::{FrameWriter, OutFrame, PREFIX_LEN};
use crate::well_formed::{self, CheckedFrame, CheckedValue, Nesting, TooDeep};

/// Version of the wire protocol described in PROTOCOL.md. 2: subscriptions are requests with an
/// id, answered like calls.
pub(crate) const WIRE_VERSION: u32 = 2;
/// First string of a handshake, so a daemon can tell a medium client from stray bytes.
pub(crate) const MAGIC: &str = "medium";

/// Kind tags of messages an application sends.
mod to_daemon {
    pub(super) const HELLO: u64 = 0;
    pub(super) const CALL: u64 = 1;
    pub(super) const SUBSCRIBE: u64 = 2;
    pub(super) const UNSUBSCRIBE: u64 = 3;
    pub(super) const BUILTIN: u64 = 4;
}

/// Kind tags of messages a daemon sends.
mod to_app {
    pub(super) const WELCOME: u64 = 0;
    pub(super) const REFUSED: u64 = 1;
    pub(super) const VALUE: u64 = 2;
    pub(super) const EXCEPTION: u64 = 3;
    pub(super) const ERROR: u64 = 4;
    pub(super) const EVENT: u64 = 5;
    pub(super) const LAGGED: u64 = 6;
    pub(super) const FATAL: u64 = 7;
}

/// A decoded application → daemon message.
#[derive(Debug)]
pub(crate) enum ToDaemon {
    Hello {
        version: u32,
        identity: PeerIdentity,
    },
    /// A user method call, or (when `builtin`) a reserved runtime request.
    Call {
        id: u64,
        method: FrameStr,
        args: CheckedValue,
        builtin: bool,
    },
    /// `subscribe`: a SUBSCRIBE (true) or UNSUBSCRIBE (false) request for `event`.
    Subscription {
        id: u64,
        event: FrameStr,
        subscribe: bool,
    },
}

/// A string of a received frame (a method or event name), kept as a slice of the frame: a
/// call's name costs no allocation of its own. Invariant: its bytes are UTF-8, since it is only
/// made from a `&str` ([`FrameStr::of`], its one constructor; the field is private to this
/// module) and `Bytes` never changes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct FrameStr(Bytes);

impl FrameStr {
    /// `s`, which lies inside `frame`, as a slice of `frame`.
    fn of(frame: &Bytes, s: &str) -> FrameStr {
        FrameStr(frame.slice_ref(s.as_bytes()))
    }

    pub(crate) fn as_str(&self) -> &str {
        // SAFETY: the bytes are those of the `&str` it was made of (the type's invariant), so
        // they are UTF-8; read per call and per event, so not checked again.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
}

impl std::ops::Deref for FrameStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for FrameStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for FrameStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decoded daemon → application message.
#[derive(Debug)]
pub(crate) enum ToApp {
    Welcome,
    Refused {
        error: ProtocolError,
        daemon: PeerIdentity,
    },
    Value {
        id: u64,
        value: CheckedValue,
    },
    Exception {
        id: u64,
        exception: RemoteException,
    },
    Error {
        id: u64,
        error: ProtocolError,
    },
    Event {
        /// A slice of the frame: routing an event allocates nothing for its name.
        name: FrameStr,
        args: CheckedValue,
    },
    Lagged(u64),
    Fatal(ProtocolError),
}

impl ToDaemon {
    /// Decodes a frame body; a call's arguments nesting deeper than `max_nesting_depth` are
    /// marked so, not malformed.
    pub(crate) fn decode(frame: &Bytes, max_nesting_depth: usize) -> Result<ToDaemon, Error> {
        let mut r = Reader::checked(frame, max_nesting_depth)?;
        let len = r.array()?;
        let kind = r.uint()?;
        let message = match (kind, len) {
            (to_daemon::HELLO, 6..) => {
                if r.str()? != MAGIC {
                    return Err(malformed("handshake does not start with \"medium\""));
                }
                let version = r.u32()?;
                ToDaemon::Hello {
                    version,
                    identity: r.identity()?,
                }
            }
            (to_daemon::CALL | to_daemon::BUILTIN, 4) => ToDaemon::Call {
                id: r.uint()?,
                method: r.frame_str(frame)?,
                args: r.value()?,
                builtin: kind == to_daemon::BUILTIN,
            },
            (to_daemon::SUBSCRIBE | to_daemon::UNSUBSCRIBE, 3) => ToDaemon::Subscription {
                id: r.uint()?,
                event: r.frame_str(frame)?,
                subscribe: kind == to_daemon::SUBSCRIBE,
            },
            _ => {
                return Err(malformed(format!(
                    "unknown message kind {kind} of length {len}"
                )));
            }
        };
        Ok(message)
    }
}

impl ToApp {
    /// Decodes a frame body; a value or event's arguments nesting deeper than
    /// `max_nesting_depth` are marked so, not malformed.
    pub(crate) fn decode(frame: &Bytes, max_nesting_depth: usize) -> Result<ToApp, Error> {
        let mut r = Reader::checked(frame, max_nesting_depth)?;
        let len = r.array()?;
        let kind = r.uint()?;
        let message = match (kind, len) {
            (to_app::WELCOME, 4..) => {
                if r.str()? != MAGIC {
                    return Err(malformed("welcome does not start with \"medium\""));
                }
                ToApp::Welcome
            }
            (to_app::REFUSED, 6..) => ToApp::Refused {
                error: r.protocol_error()?,
                daemon: r.identity()?,
            },
            (to_app::VALUE, 3) => ToApp::Value {
                id: r.uint()?,
                value: r.value()?,
            },
            (to_app::EXCEPTION, 4..) => ToApp::Exception {
                id: r.uint()?,
                exception: RemoteException {
                    name: r.str()?.to_owned(),
                    message: r.str()?.to_owned(),
                },
            },
            (to_app::ERROR, 4) => ToApp::Error {
                id: r.uint()?,
                error: r.protocol_error()?,
            },
            (to_app::EVENT, 3) => ToApp::Event {
                name: r.frame_str(frame)?,
                args: r.value()?,
            },
            (to_app::LAGGED, 2) => ToApp::Lagged(r.uint()?),
            (to_app::FATAL, 3) => ToApp::Fatal(r.protocol_error()?),
            _ => {
                return Err(malformed(format!(
                    "unknown message kind {kind} of length {len}"
                )));
            }
        };
        Ok(message)
    }
}

/// Whom a frame the application skipped for exceeding its limit was for, read from the first
/// bytes of its body (`frame::HEAD_LEN`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SkippedFrame {
    /// A `VALUE`, `EXCEPTION` or `ERROR` reply to call `id`.
    Reply(u64),
    /// An `EVENT` (its name is not read).
    Event,
    /// Anything else, or a head that does not parse: it cannot be put down to one call.
    Unattributable,
}

impl SkippedFrame {
    pub(crate) fn of(head: &[u8]) -> SkippedFrame {
        let mut r = Reader::new(head);
        let Ok(_) = r.array() else {
            return SkippedFrame::Unattributable;
        };
        match r.uint() {
            Ok(to_app::VALUE | to_app::EXCEPTION | to_app::ERROR) => match r.uint() {
                Ok(id) => SkippedFrame::Reply(id),
                Err(_) => SkippedFrame::Unattributable,
            },
            Ok(to_app::EVENT) => SkippedFrame::Event,
            _ => SkippedFrame::Unattributable,
        }
    }
}

// ---- encoding -------------------------------------------------------------------------------

pub(crate) fn hello(identity: &PeerIdentity) -> Bytes {
    let mut f = FrameBuf::new(6, to_daemon::HELLO);
    f.str(MAGIC);
    f.uint(u64::from(WIRE_VERSION));
    f.identity(identity);
    f.finish()
}

/// A call frame; `Err` when the arguments do not serialize.
///
/// Left unfinished, still in this thread's encoding buffer: a call is usually sent right away,
/// its bytes copied into the connection's outbox ([`FrameWriter::finish_lent`]).
pub(crate) fn call<A: Serialize + ?Sized>(
    id: u64,
    method: &str,
    args: &A,
) -> Result<FrameWriter, rmp_serde::encode::Error> {
    let mut f = FrameBuf::new(4, to_daemon::CALL);
    f.uint(id);
    f.str(method);
    f.0.value(args)?;
    Ok(f.0)
}

/// A built-in request without arguments, e.g. introspection.
pub(crate) fn builtin(id: u64, request: &str) -> Bytes {
    let mut f = FrameBuf::new(4, to_daemon::BUILTIN);
    f.uint(id);
    f.str(request);
    rmp::encode::write_array_len(&mut f.0, 0).expect("writing to a frame cannot fail");
    f.finish()
}

/// A SUBSCRIBE (`subscribe`) or UNSUBSCRIBE request for `event`.
pub(crate) fn subscription(id: u64, event: &str, subscribe: bool) -> Bytes {
    let kind = if subscribe {
        to_daemon::SUBSCRIBE
    } else {
        to_daemon::UNSUBSCRIBE
    };
    let mut f = FrameBuf::new(3, kind);
    f.uint(id);
    f.str(event);
    f.finish()
}

/// The `VALUE nil` that acknowledges a SUBSCRIBE or UNSUBSCRIBE.
pub(crate) fn acknowledged(id: u64) -> Bytes {
    let mut f = FrameBuf::new(3, to_app::VALUE);
    f.uint(id);
    rmp::encode::write_nil(&mut f.0).expect("writing to a frame cannot fail");
    f.finish()
}

pub(crate) fn welcome() -> Bytes {
    let mut f = FrameBuf::new(4, to_app::WELCOME);
    f.str(MAGIC);
    f.uint(u64::from(WIRE_VERSION));
    f.str(env!("CARGO_PKG_VERSION"));
    f.finish()
}

pub(crate) fn refused(error: &ProtocolError, daemon: &PeerIdentity) -> Bytes {
    let mut f = FrameBuf::new(6, to_app::REFUSED);
    f.protocol_error(error);
    f.identity(daemon);
    f.finish()
}

pub(crate) fn exception(id: u64, exception: &RemoteException) -> Bytes {
    let mut f = FrameBuf::new(4, to_app::EXCEPTION);
    f.uint(id);
    f.str(&exception.name);
    f.str(&exception.message);
    f.finish()
}

pub(crate) fn call_error(id: u64, error: &ProtocolError) -> Bytes {
    let mut f = FrameBuf::new(4, to_app::ERROR);
    f.uint(id);
    f.protocol_error(error);
    f.finish()
}

pub(crate) fn event<A: Serialize + ?Sized>(
    name: &str,
    args: &A,
) -> Result<OutFrame, rmp_serde::encode::Error> {
    let mut f = FrameBuf::new(3, to_app::EVENT);
    f.str(name);
    f.0.value(args)?;
    Ok(f.0.finish())
}

pub(crate) fn lagged(dropped: u64) -> Bytes {
    let mut f = FrameBuf::new(2, to_app::LAGGED);
    f.uint(dropped);
    f.finish()
}

pub(crate) fn fatal(error: &ProtocolError) -> Bytes {
    let mut f = FrameBuf::new(3, to_app::FATAL);
    f.protocol_error(error);
    f.finish()
}

/// Header of a value reply with the id as a fixed-width uint64, so a handler can serialize its
/// value before the runtime knows (or fills in) the request id: prefix, `[`, kind, `0xcf` id.
const VALUE_HEADER: [u8; PREFIX_LEN + 11] = [
    0,
    0,
    0,
    0,
    0x93,
    to_app::VALUE as u8,
    0xcf,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
];
const VALUE_ID_AT: usize = PREFIX_LEN + 3;

/// A serialized reply value inside a complete frame that waits for its request id.
#[derive(Debug)]
pub(crate) struct ValueFrame(FrameWriter);

impl ValueFrame {
    pub(crate) fn encode<T: Serialize + ?Sized>(
        value: &T,
    ) -> Result<ValueFrame, rmp_serde::encode::Error> {
        let mut frame = FrameWriter::new();
        frame
            .write_all(&VALUE_HEADER[PREFIX_LEN..])
            .expect("writing to a frame cannot fail");
        frame.value(value)?;
        // Still in this thread's encoding buffer: a reply is usually sent right away, its
        // bytes copied into the connection's write buffer and the buffer given back
        // ([`ValueFrame::finish_lent`]). Finished on another thread, it becomes that thread's.
        Ok(ValueFrame(frame))
    }

    /// Body length of the finished frame.
    pub(crate) fn body_len(&self) -> usize {
        self.0.body_len()
    }

    pub(crate) fn finish(mut self, id: u64) -> OutFrame {
        self.stamp(id);
        self.0.finish()
    }

    /// The frame for request `id` lent to `send`, or handed back finished (see
    /// [`FrameWriter::finish_lent`]).
    pub(crate) fn finish_lent<R>(
        mut self,
        id: u64,
        send: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, OutFrame> {
        self.stamp(id);
        self.0.finish_lent(send)
    }

    fn stamp(&mut self, id: u64) {
        self.0.head_mut()[VALUE_ID_AT..VALUE_ID_AT + 8].copy_from_slice(&id.to_be_bytes());
    }
}

/// A frame being written: length placeholder, then the body.
struct FrameBuf(FrameWriter);

impl FrameBuf {
    /// A message of `len` fields, the first `kind`. Every message is a fixarray (at most 15
    /// fields) whose kind is a positive fixint: its head is these two bytes, written at once.
    fn new(len: u32, kind: u64) -> FrameBuf {
        debug_assert!(len < 16 && kind < 128, "a message's head is two bytes");
        let mut f = FrameBuf(FrameWriter::new());
        let head = [0x90 | (len & 0x0f) as u8, (kind & 0x7f) as u8];
        f.0.write_all(&head)
            .expect("writing to a frame cannot fail");
        f
    }

    fn uint(&mut self, v: u64) {
        rmp::encode::write_uint(&mut self.0, v).expect("writing to a frame cannot fail");
    }

    fn str(&mut self, s: &str) {
        rmp::encode::write_str(&mut self.0, s).expect("writing to a frame cannot fail");
    }

    fn identity(&mut self, id: &PeerIdentity) {
        self.str(&id.namespace);
        self.str(&id.class);
        self.str(&id.fingerprint);
    }

    fn protocol_error(&mut self, e: &ProtocolError) {
        self.uint(u64::from(e.code.as_u32()));
        self.str(&e.message);
    }

    /// The frame, which holds no value, so it is one buffer.
    fn finish(self) -> Bytes {
        self.0.finish().into_contiguous()
    }
}

// ---- decoding -------------------------------------------------------------------------------

/// The `str` item at the start of `buf`, bytes of a frame body that `well_formed` checked, read
/// by a [`Reader`] item by item from the body's start; and what follows it. `None` when the
/// item is not a whole `str` (the caller then reads it the checking way, for its error).
fn proven_str(buf: &[u8]) -> Option<(&str, &[u8])> {
    let mut rest = buf;
    let len = rmp::decode::read_str_len(&mut rest).ok()?;
    let (text, rest) = rest.split_at_checked(usize::try_from(len).ok()?)?;
    // SAFETY: `text` is the payload of a `str` item of a body `well_formed::check` found
    // well-formed, so UTF-8: the reader starts at the body's first item and takes every item
    // whole (an array's head, an integer, a str), so the items it reads are the ones `check`
    // read. Names are read per call and per event, hence not checked again.
    Some((unsafe { std::str::from_utf8_unchecked(text) }, rest))
}

fn malformed(what: impl Into<String>) -> Error {
    Error::Malformed(what.into())
}

/// Reads the leading fields of a message, borrowing from the frame.
struct Reader<'a> {
    buf: &'a [u8],
    /// The whole frame body once `well_formed` checked it; `None` for a frame's first bytes.
    checked: Option<CheckedFrame<'a>>,
    /// Item heads read so far (see `CheckedFrame::last_item`).
    heads: usize,
    /// Whether the message's value nests too deep, and the limit it was checked against.
    nesting: Nesting,
    max_nesting_depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader of the first bytes of a frame, which may be cut anywhere.
    fn new(head: &'a [u8]) -> Reader<'a> {
        Reader {
            buf: head,
            checked: None,
            heads: 0,
            nesting: Nesting::WithinLimit,
            max_nesting_depth: usize::MAX,
        }
    }

    /// A reader of a whole frame body, once it is found to be one well-formed value whose
    /// message value (one level inside the message array) is checked against
    /// `max_nesting_depth`.
    fn checked(frame: &'a Bytes, max_nesting_depth: usize) -> Result<Reader<'a>, Error> {
        let (checked, nesting) =
            well_formed::check_frame(frame, max_nesting_depth.saturating_add(1))
                .map_err(|e| malformed(e.to_string()))?;
        Ok(Reader {
            buf: frame,
            checked: Some(checked),
            heads: 0,
            nesting,
            max_nesting_depth,
        })
    }

    fn array(&mut self) -> Result<u32, Error> {
        self.heads += 1;
        rmp::decode::read_array_len(&mut self.buf)
            .map_err(|e| malformed(format!("expected an array: {e}")))
    }

    fn uint(&mut self) -> Result<u64, Error> {
        self.heads += 1;
        rmp::decode::read_int(&mut self.buf)
            .map_err(|e| malformed(format!("expected an unsigned integer: {e}")))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let v = self.uint()?;
        u32::try_from(v).map_err(|_| malformed(format!("{v} does not fit in 32 bits")))
    }

    fn str(&mut self) -> Result<&'a str, Error> {
        self.heads += 1;
        let buf: &'a [u8] = self.buf;
        if self.checked.is_some() {
            if let Some((s, rest)) = proven_str(buf) {
                self.buf = rest;
                return Ok(s);
            }
        }
        let (s, rest) = rmp::decode::read_str_from_slice(buf)
            .map_err(|e| malformed(format!("expected a string: {e}")))?;
        self.buf = rest;
        Ok(s)
    }

    /// A string of `frame` (whose bytes this reader reads), sliced from it rather than copied.
    fn frame_str(&mut self, frame: &Bytes) -> Result<FrameStr, Error> {
        let s = self.str()?;
        Ok(FrameStr::of(frame, s))
    }

    fn identity(&mut self) -> Result<PeerIdentity, Error> {
        Ok(PeerIdentity {
            namespace: self.str()?.to_owned(),
            class: self.str()?.to_owned(),
            fingerprint: self.str()?.to_owned(),
        })
    }

    fn protocol_error(&mut self) -> Result<ProtocolError, Error> {
        let code = ErrorCode::from_u32(self.u32()?);
        Ok(ProtocolError::new(code, self.str()?))
    }

    /// The rest of the frame: the message's last element, a MessagePack value of any type
    /// (the only element that can nest, so the frame's depth is its depth). Only for the last
    /// element of a message array whose length was matched exactly, every element before it
    /// read by this reader (see `CheckedFrame::last_item`).
    fn value(&self) -> Result<CheckedValue, Error> {
        let Some(frame) = self.checked.filter(|_| !self.buf.is_empty()) else {
            return Err(malformed("message is missing its value"));
        };
        let value = frame.last_item(self.heads, self.buf.len());
        match self.nesting {
            Nesting::WithinLimit => Ok(Ok(value)),
            Nesting::TooDeep => Ok(Err(TooDeep {
                limit: self.max_nesting_depth,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::well_formed::DEFAULT_MAX_NESTING_DEPTH;

    fn body(frame: impl Into<OutFrame>) -> Bytes {
        frame.into().into_contiguous().slice(PREFIX_LEN..)
    }

    #[test]
    fn skipped_frame_is_put_down_to_its_call_from_its_head() {
        let head = |frame: OutFrame| {
            let body = body(frame);
            body.slice(..body.len().min(crate::frame::HEAD_LEN))
        };
        let exception = exception(
            u64::MAX,
            &RemoteException {
                name: "N".repeat(100),
                message: "m".repeat(100),
            },
        );
        let value = ValueFrame::encode(&"v".repeat(100)).unwrap().finish(42);
        let error = call_error(u64::MAX - 1, &ProtocolError::new(ErrorCode::Internal, "e"));
        assert_eq!(
            SkippedFrame::of(&head(exception.into())),
            SkippedFrame::Reply(u64::MAX)
        );
        assert_eq!(SkippedFrame::of(&head(value)), SkippedFrame::Reply(42));
        assert_eq!(
            SkippedFrame::of(&head(error.into())),
            SkippedFrame::Reply(u64::MAX - 1)
        );
        let event = event("e", &("x".repeat(100),)).unwrap();
        assert_eq!(SkippedFrame::of(&head(event)), SkippedFrame::Event);
        let fatal = fatal(&ProtocolError::new(ErrorCode::Malformed, "f"));
        assert_eq!(
            SkippedFrame::of(&head(fatal.into())),
            SkippedFrame::Unattributable
        );
        assert_eq!(
            SkippedFrame::of(&[0x93, 0x02]),
            SkippedFrame::Unattributable
        );
        assert_eq!(SkippedFrame::of(b"garbage"), SkippedFrame::Unattributable);
    }

    #[test]
    fn call_round_trips_with_args_borrowed_from_the_frame() {
        let frame = body(call(7, "get", &("x", 3u8)).unwrap().finish());
        let ToDaemon::Call {
            id,
            method,
            args,
            builtin,
        } = ToDaemon::decode(&frame, DEFAULT_MAX_NESTING_DEPTH).unwrap()
        else {
            panic!("not a call");
        };
        assert_eq!((id, method.as_str(), builtin), (7, "get", false));
        let decoded: (String, u8) = rmp_serde::from_slice(args.unwrap().bytes()).unwrap();
        assert_eq!(decoded, ("x".to_owned(), 3));
    }

    #[test]
    fn builtin_request_decodes_as_a_builtin_call_without_arguments() {
        let frame = body(builtin(9, "introspect"));
        let ToDaemon::Call {
            id,
            method,
            args,
            builtin,
        } = ToDaemon::decode(&frame, DEFAULT_MAX_NESTING_DEPTH).unwrap()
        else {
            panic!("not a call");
        };
        assert_eq!((id, method.as_str(), builtin), (9, "introspect", true));
        assert_eq!(&args.unwrap().bytes()[..], [0x90]);
    }

    #[test]
    fn subscription_requests_carry_their_id_and_are_acknowledged_by_a_nil_value() {
        for subscribe in [true, false] {
            let frame = body(subscription(u64::MAX, "added", subscribe));
            let ToDaemon::Subscription {
                id,
                event,
                subscribe: decoded,
            } = ToDaemon::decode(&frame, DEFAULT_MAX_NESTING_DEPTH).unwrap()
            else {
                panic!("not a subscription");
            };
            assert_eq!(
                (id, event.as_str(), decoded),
                (u64::MAX, "added", subscribe)
            );
        }
        // The wire version 1 shape, without an id, is no message of version 2.
        assert!(matches!(
            ToDaemon::decode(
                &Bytes::from_static(b"\x92\x02\xa5added"),
                DEFAULT_MAX_NESTING_DEPTH
            ),
            Err(Error::Malformed(_))
        ));
        let ToApp::Value { id, value } =
            ToApp::decode(&body(acknowledged(7)), DEFAULT_MAX_NESTING_DEPTH).unwrap()
        else {
            panic!("not a value");
        };
        assert_eq!((id, &value.unwrap().bytes()[..]), (7, &[0xc0][..]));
    }

    #[test]
    fn value_frame_gets_its_id_filled_in() {
        let frame = body(ValueFrame::encode(&"ok").unwrap().finish(u64::MAX - 1));
        let ToApp::Value { id, value } = ToApp::decode(&frame, DEFAULT_MAX_NESTING_DEPTH).unwrap()
        else {
            panic!("not a value");
        };
        assert_eq!(id, u64::MAX - 1);
        assert_eq!(
            rmp_serde::from_slice::<String>(value.unwrap().bytes()).unwrap(),
            "ok"
        );
    }

    #[test]
    fn a_calls_method_name_is_a_slice_of_its_frame() {
        let frame = body(call(1, "get_student", &("x",)).unwrap().finish());
        let Ok(ToDaemon::Call { method, .. }) = ToDaemon::decode(&frame, DEFAULT_MAX_NESTING_DEPTH)
        else {
            panic!("not a call");
        };
        assert_eq!(&*method, "get_student");
        assert!(frame.as_ptr_range().contains(&method.as_ptr()));
    }

    #[test]
    fn length_prefix_matches_body() {
        let frame = lagged(3);
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len, frame.len() - PREFIX_LEN);
    }

    #[test]
    fn unknown_kind_is_malformed() {
        let frame = body(lagged(3));
        assert!(matches!(
            ToDaemon::decode(&frame, DEFAULT_MAX_NESTING_DEPTH),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            ToApp::decode(&Bytes::from_static(b"\xc1"), DEFAULT_MAX_NESTING_DEPTH),
            Err(Error::Malformed(_))
        ));
    }
}
