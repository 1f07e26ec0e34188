//! Introspection: the built-in request every daemon answers with what it speaks (namespace,
//! class, fingerprint, spec text, runtime version), even to a caller built from another spec or
//! from none (PROTOCOL.md §4, "Built-in requests"). The daemon side builds the reply; the client
//! side is [`introspect`], which needs no `ProtocolInfo` because it skips the handshake.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::FramedRead;

use crate::client::connect_stream;
use crate::error::Error;
use crate::exception::{ErrorCode, ProtocolError};
use crate::fd::Rejected;
use crate::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder};
use crate::message::{self, ToApp, WIRE_VERSION};
use crate::protocol_info::ProtocolInfo;
use crate::reply::Reply;
use crate::value_decoder;
use crate::well_formed::DEFAULT_MAX_NESTING_DEPTH;

/// Name of the introspection request (`BUILTIN` message, PROTOCOL.md §4).
pub(crate) const INTROSPECT: &str = "introspect";

/// Request id an introspect-only connection uses; it is the connection's only request.
const INTROSPECT_ID: u64 = 1;

/// How long [`introspect`] waits for the daemon's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// What a running daemon says about itself. On the wire it is a map with these field names;
/// readers ignore keys they do not know, so later versions may add some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introspection {
    /// Dotted namespace of the daemon's spec, e.g. `com.pcthingz.libmedium.student`.
    pub namespace: String,
    /// Class name of the daemon's spec, e.g. `StudentSystem`.
    pub class: String,
    /// Lowercase hex SHA-256 of the daemon's canonical spec: what a `HELLO` must carry.
    pub fingerprint: String,
    /// The daemon's canonical spec text (`.lmspc` syntax); empty for a hand-written daemon
    /// that does not provide one.
    pub spec: String,
    /// Version of the daemon's runtime (`medium-runtime`), e.g. `0.1.0`.
    pub runtime_version: String,
    /// Wire protocol version the daemon speaks.
    pub wire_version: u32,
}

impl Introspection {
    /// What a daemon serving `info` says about itself.
    pub(crate) fn of(info: &ProtocolInfo) -> Introspection {
        Introspection {
            namespace: info.namespace.to_owned(),
            class: info.class.to_owned(),
            fingerprint: info.fingerprint.to_owned(),
            spec: info.spec.to_owned(),
            runtime_version: env!("CARGO_PKG_VERSION").to_owned(),
            wire_version: WIRE_VERSION,
        }
    }
}

/// The daemon's answer to the built-in request `request`.
pub(crate) fn builtin_reply(info: &ProtocolInfo, request: &str) -> Reply {
    if request == INTROSPECT {
        Reply::value(&Introspection::of(info))
    } else {
        Reply::protocol_error(ProtocolError::new(
            ErrorCode::UnknownMethod,
            format!("unknown built-in request `{request}`"),
        ))
    }
}

/// Asks the daemon at `path` what it speaks, on a connection of its own that sends only the
/// introspection request (no handshake, so it works whatever the daemon's fingerprint).
/// Must run inside a tokio runtime; see [`crate::blocking::introspect`] otherwise.
pub async fn introspect(path: impl AsRef<Path>) -> Result<Introspection, Error> {
    let path = path.as_ref();
    let not_medium = |detail: String| Error::NotMedium {
        path: path.to_owned(),
        detail,
    };
    let (read, mut write) = connect_stream(path).await?.into_split();
    let sent = write
        .write_all(&message::builtin(INTROSPECT_ID, INTROSPECT))
        .await;
    let mut frames = FramedRead::new(read, FrameDecoder::new(DEFAULT_MAX_FRAME_LEN));
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, frames.next()).await;
    if let Err(e) = sent {
        // A daemon refusing the connection (too many connections, uid not allowed) may close it
        // before the request arrives: its reason is then what there is to read.
        if let Ok(Some(Ok(frame))) = &answer {
            if let Ok(ToApp::Fatal(error)) = ToApp::decode(frame, 0) {
                return Err(Error::Rejected(error));
            }
        }
        return Err(not_medium(format!(
            "introspection request could not be sent ({e})"
        )));
    }
    let frame = match answer {
        Err(_) => return Err(not_medium(format!("no answer within {ANSWER_TIMEOUT:?}"))),
        Ok(None) => return Err(not_medium("peer closed the connection".into())),
        Ok(Some(frame)) => frame.map_err(|e| not_medium(format!("unexpected answer ({e})")))?,
    };
    match ToApp::decode(&frame, DEFAULT_MAX_NESTING_DEPTH)
        .map_err(|e| not_medium(format!("unexpected answer ({e})")))?
    {
        ToApp::Value { value, .. } => value
            .map_err(|e| Rejected::Shape(e.into()))
            .and_then(|value| value_decoder::value(&value, Vec::new()))
            .map_err(|e| not_medium(format!("introspection answer does not decode ({e})"))),
        ToApp::Error { error, .. } | ToApp::Fatal(error) | ToApp::Refused { error, .. } => {
            Err(Error::Rejected(error))
        }
        other => Err(not_medium(format!("unexpected answer {other:?}"))),
    }
}
