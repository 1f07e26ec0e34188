//! The static description of a protocol that generated code emits as a `pub const`: what the
//! handshake sends, where the socket lives, and who may call what (`@allow` rules).

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
    /// The spec's event names, in spec order: the events a daemon of this protocol emits and
    /// an application may subscribe to. A daemon answers a subscription to any other name with
    /// `ERROR` code 12 (`unknown_event`) and stores nothing for it.
    pub events: &'static [&'static str],
    /// Who may call a method or subscribe to an event: one rule per method or event with an
    /// effective `@allow` rule (the class default applied), in spec order, methods then events.
    /// An item without one is open to anyone who can connect. Only a daemon enforces them
    /// (PROTOCOL.md §7.1); a client's are informational.
    pub access: &'static [AccessRule],
    /// Whether the spec uses `fd` anywhere (a parameter, return value, model field or event
    /// argument). Without it, every descriptor a peer attaches is refused (PROTOCOL.md §3.1:
    /// `FATAL` 15 from a daemon, the connection closed by a client).
    pub uses_fd: bool,
}

/// One term of an `@allow` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    Root,
    Owner,
    Uid(u32),
    Gid(u32),
    Group(&'static str),
}

/// Who may call a method or subscribe to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRule {
    pub item: AccessItem,
    pub allow: &'static [Allow],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessItem {
    Method(&'static str),
    Event(&'static str),
}

/// The spec text of a generated `spec.lmspc` file: `file` without the `//` comment lines that
/// open it (the `@generated` header), so that [`ProtocolInfo::spec`] is the canonical spec
/// exactly. A `const fn`, so generated code can embed the file with `include_str!` and still
/// build `ProtocolInfo` as a constant.
pub const fn generated_spec(file: &'static str) -> &'static str {
    let bytes = file.as_bytes();
    let mut start = 0;
    while start + 1 < bytes.len() && bytes[start] == b'/' && bytes[start + 1] == b'/' {
        while start < bytes.len() && bytes[start] != b'\n' {
            start += 1;
        }
        if start < bytes.len() {
            start += 1;
        }
    }
    let (_, spec) = bytes.split_at(start);
    // SAFETY: `file` is UTF-8 and `start` is 0, the end, or just after a `\n`, which is a
    // character boundary.
    unsafe { core::str::from_utf8_unchecked(spec) }
}

#[cfg(test)]
mod tests {
    use super::generated_spec;

    #[test]
    fn the_header_comments_of_a_generated_spec_file_are_dropped() {
        const SPEC: &str = generated_spec("// @generated\n// two\nnamespace a.b\n// kept\n");
        assert_eq!(SPEC, "namespace a.b\n// kept\n");
        assert_eq!(generated_spec("namespace a.b\n"), "namespace a.b\n");
        assert_eq!(generated_spec("// only a comment"), "");
        assert_eq!(generated_spec("/ no\n"), "/ no\n");
    }
}
