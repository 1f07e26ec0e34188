//! Where a daemon is and what it says it is: the socket path a spec implies (resolved exactly as
//! the runtime resolves it), the `ProtocolInfo` to connect with from an introspection, and the
//! text `describe` prints.

use std::path::PathBuf;

use medium_runtime::{Introspection, ProtocolInfo};

use crate::check::{AllowRule, CheckedSpec};

/// Why no socket path follows from a spec.
#[derive(Debug, thiserror::Error)]
#[error("cannot tell where the daemon of {namespace}.{class} listens")]
pub struct DaemonAddressError {
    namespace: String,
    class: String,
    source: medium_runtime::Error,
}

/// The socket a daemon built from `spec` listens on, by PROTOCOL.md §9.
pub fn socket_for_spec(spec: &CheckedSpec) -> Result<PathBuf, DaemonAddressError> {
    let info = ProtocolInfo {
        namespace: leak(&spec.namespace),
        class: leak(&spec.class),
        fingerprint: "",
        socket_base: spec.socket.as_deref().map(leak),
        spec: "",
        events: events(spec),
        access: &[],
        uses_fd: false,
    };
    medium_runtime::socket_path(&info).map_err(|source| DaemonAddressError {
        namespace: spec.namespace.clone(),
        class: spec.class.clone(),
        source,
    })
}

/// The identity to connect to the introspected daemon with: its own, so the handshake passes.
/// `spec` is the daemon's spec, checked from its introspection.
pub fn protocol_info(daemon: &Introspection, spec: &CheckedSpec) -> &'static ProtocolInfo {
    Box::leak(Box::new(ProtocolInfo {
        namespace: leak(&daemon.namespace),
        class: leak(&daemon.class),
        fingerprint: leak(&daemon.fingerprint),
        socket_base: None,
        spec: leak(&daemon.spec),
        events: events(spec),
        // A client's: only the daemon enforces `@allow` rules.
        access: &[],
        uses_fd: spec.uses_fd(),
    }))
}

/// `spec`'s event names, in spec order, as `ProtocolInfo::events`.
fn events(spec: &CheckedSpec) -> &'static [&'static str] {
    let names: Vec<&'static str> = spec.events.iter().map(|event| leak(&event.name)).collect();
    Box::leak(names.into_boxed_slice())
}

/// `ProtocolInfo` holds `&'static str` because generated crates keep it in a `const`; a command
/// builds one or two per run, so leaking their few bytes is the simple way to make them.
fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

/// What `describe` prints: a comment header naming the daemon (and who may use each method
/// and event, when its spec has `@allow` rules), then its spec text.
pub fn describe_text(daemon: &Introspection, socket: &std::path::Path) -> String {
    let mut out = format!(
        "// daemon at {}\n// {}.{}, fingerprint {}\n// runtime {}, wire protocol {}\n",
        socket.display(),
        daemon.namespace,
        daemon.class,
        daemon.fingerprint,
        daemon.runtime_version,
        daemon.wire_version
    );
    // A spec our checker refuses (another implementation's extension) is still printed.
    if let Ok(spec) = crate::check::check_source("introspection", &daemon.spec) {
        out += &access_lines(&spec);
    }
    out.push('\n');
    if daemon.spec.is_empty() {
        out += "// (this daemon does not provide its spec text)\n";
    } else {
        out += &daemon.spec;
        if !daemon.spec.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// `// who may use what:` and a line per method and event, for a spec with rules; nothing for
/// one without, where anyone who can connect may use everything.
fn access_lines(spec: &CheckedSpec) -> String {
    let methods = spec
        .methods
        .iter()
        .map(|method| ("method", &method.name, method.allow.as_ref()));
    let events = spec
        .events
        .iter()
        .map(|event| ("event", &event.name, event.allow.as_ref()));
    let items: Vec<_> = methods.chain(events).collect();
    if items.iter().all(|(_, _, rule)| rule.is_none()) {
        return String::new();
    }
    let mut out = "// who may use what (@allow; for an event: who may subscribe):\n".to_owned();
    for (kind, name, rule) in items {
        let who = rule.map_or_else(|| "anyone who can connect".to_owned(), AllowRule::to_string);
        out += &format!("//   {kind} {name}: {who}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_source;

    #[test]
    fn spec_socket_folder_decides_the_path() {
        let spec = check_source(
            "s.lmspc",
            "namespace com.x.y\nclass S\nsocket /tmp/medium-test-base\nmethod m()\n",
        )
        .unwrap();
        // MEDIUM_SOCKET_DIR, when set, wins over the spec's folder (PROTOCOL.md §9).
        if std::env::var_os(medium_runtime::SOCKET_DIR_ENV).is_none() {
            assert_eq!(
                socket_for_spec(&spec).unwrap(),
                PathBuf::from("/tmp/medium-test-base/com.x.y/socket")
            );
        }
    }
}

#[cfg(test)]
mod describe_tests {
    use super::describe_text;
    use medium_runtime::Introspection;

    fn introspection(spec: &str) -> Introspection {
        Introspection {
            namespace: "com.x.y".to_owned(),
            class: "S".to_owned(),
            fingerprint: "f1".to_owned(),
            spec: spec.to_owned(),
            runtime_version: "0.1.0".to_owned(),
            wire_version: 2,
        }
    }

    #[test]
    fn describe_lists_who_may_use_each_item_when_the_spec_has_rules() {
        let spec = "namespace com.x.y\nclass S\n@allow(root, group = \"admin\")\nmethod wipe()\n\
                    method read()\n@allow(uid = 7)\nevent changed()\n";
        let text = describe_text(&introspection(spec), std::path::Path::new("/s"));
        assert_eq!(
            text,
            format!(
                "// daemon at /s\n// com.x.y.S, fingerprint f1\n// runtime 0.1.0, wire protocol 2\n\
                 // who may use what (@allow; for an event: who may subscribe):\n\
                 //   method wipe: root, group = \"admin\"\n\
                 //   method read: anyone who can connect\n\
                 //   event changed: uid = 7\n\n{spec}"
            )
        );
    }

    #[test]
    fn describe_adds_nothing_for_a_spec_without_rules_or_one_it_cannot_read() {
        for spec in [
            "namespace com.x.y\nclass S\nmethod read()\n",
            "not a spec\n",
        ] {
            let text = describe_text(&introspection(spec), std::path::Path::new("/s"));
            assert!(!text.contains("who may"), "{text}");
            assert!(
                text.ends_with(&format!("wire protocol 2\n\n{spec}")),
                "{text}"
            );
        }
    }
}
