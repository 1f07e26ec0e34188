//! Talking to a running daemon from its introspected spec, for `cargo medium describe`, `call`
//! and `monitor`: where its socket is ([`daemon_address`]), JSON arguments to MessagePack by the
//! declared types ([`arguments`]), MessagePack values back to JSON ([`json_value`]), and a
//! call's reply or an event's arguments decoded by their types, descriptors described
//! ([`received`]).
//!
//! Conversion is pure, but for files: it reads a `binary` argument given as `@path`, opens an
//! `fd` argument's, and looks up a received descriptor (`fstat`, `/proc/self/fd`). Connecting
//! is left to the commands, through `medium-runtime`.

pub mod arguments;
pub mod daemon_address;
pub mod json_value;
pub mod received;

pub use arguments::{Argument, ArgumentError, encode_arguments};
pub use daemon_address::{DaemonAddressError, describe_text, protocol_info, socket_for_spec};
pub use json_value::{event_line, to_json};
pub use received::{Received, decoding_event_args, decoding_reply};
