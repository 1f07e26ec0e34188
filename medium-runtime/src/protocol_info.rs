//! The static description of a protocol that generated code emits as a `pub const`: what the
//! handshake sends and where the socket lives.

/// Identity of one protocol build; the handshake compares it between app and daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolInfo {
    /// Dotted namespace, e.g. `com.pcthingz.libmedium.student`; also the socket's folder name.
    pub namespace: &'static str,
    /// Class name, e.g. `StudentSystem`.
    pub class: &'static str,
    /// Lowercase hex SHA-256 of the canonical spec (64 characters).
    pub fingerprint: &'static str,
    /// The spec's `socket` folder, if it has one.
    pub socket_base: Option<&'static str>,
    /// The canonical spec text, which the daemon returns to introspection (PROTOCOL.md §4).
    pub spec: &'static str,
}
