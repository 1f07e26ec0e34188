//! Talking to a running daemon from its introspected spec, for `cargo medium describe`, `call`
//! and `monitor`: where its socket is ([`daemon_address`]), JSON arguments to MessagePack by the
//! declared types ([`arguments`]), and MessagePack values back to JSON ([`json_value`]).
//!
//! Conversion is pure (the only I/O is reading the file of a `binary` argument given as
//! `@path`); connecting is left to the commands, through `medium-runtime`.

pub mod arguments;
pub mod daemon_address;
pub mod json_value;

pub use arguments::{ArgumentError, encode_arguments};
pub use daemon_address::{DaemonAddressError, describe_text, protocol_info, socket_for_spec};
pub use json_value::{event_line, to_json};
