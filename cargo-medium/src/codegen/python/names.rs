//! Python names for spec names. Spec names are kept as written (they are identifiers
//! already); a name that is a Python keyword, or that collides with a name the generated
//! module or class itself uses in the same scope, gets trailing underscores until it is free.
//! Wire names never change: the generated tables map them to the Python names.

use std::collections::{BTreeMap, BTreeSet};

use heck::ToUpperCamelCase;

use crate::check::{CheckedSpec, Field};

/// Python's hard keywords: never identifiers. (Soft keywords such as `match` and `type` are.)
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// What `__init__.py` imports from `_medium` and re-exports, in import order.
pub(super) const RUNTIME_REEXPORTS: &[&str] = &[
    "Application",
    "AsyncSubscription",
    "ConnectionClosed",
    "ConnectionState",
    "DaemonNotRunning",
    "Fd",
    "Forbidden",
    "FrameTooLarge",
    "HandshakeMismatch",
    "Lagged",
    "MediumError",
    "NotMedium",
    "ProtocolError",
    "Reconnect",
    "ReconnectFailed",
    "Reconnected",
    "Reconnecting",
    "Rejected",
    "RemoteException",
    "Subscription",
];

/// The protocol's constants `__init__.py` defines and exports.
pub(super) const MODULE_CONSTANTS: &[&str] = &["NAMESPACE", "CLASS", "FINGERPRINT", "SPEC"];

/// Other module-level names of `__init__.py` besides the spec's types: its imports and the
/// builtins its annotations use.
const MODULE_RESERVED: &[&str] = &[
    "Exception",
    "bool",
    "bytes",
    "dataclasses",
    "float",
    "int",
    "list",
    "object",
    "str",
    "typing",
];

/// Attributes of the generated connection and server classes besides the spec's methods and
/// events (those of `_medium.Client`, `_medium.AsyncClient` and `_medium.Server`, whose
/// options a daemon overrides as class attributes).
const CLASS_RESERVED: &[&str] = &[
    "allowed_uids",
    "applications",
    "call",
    "close",
    "connect",
    "emit",
    "event_queue_len",
    "grace_period",
    "handshake_timeout",
    "max_frame_len",
    "max_in_flight_bytes",
    "max_in_flight_calls",
    "path",
    "run",
    "serve",
    "socket_mode",
    "socket_path",
    "state",
    "state_change",
    "stop",
    "subscribe",
    "timeout",
];

/// Parameter names the generated methods use themselves, and names a dataclass or named
/// tuple field must not take (its `__init__`'s `self`, tuple methods, annotation builtins).
const FIELD_RESERVED: &[&str] = &[
    "application",
    "bool",
    "bytes",
    "callback",
    "count",
    "float",
    "index",
    "int",
    "list",
    "self",
    "str",
];

/// `name`, with a trailing underscore when it is a Python keyword.
pub(super) fn escape_keyword(name: &str) -> String {
    if KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_owned()
    }
}

/// `name` escaped, then underscored until it is not in `taken`; the result is added to it.
fn claim(name: &str, taken: &mut BTreeSet<String>) -> String {
    let mut free = escape_keyword(name);
    while taken.contains(&free) {
        free.push('_');
    }
    taken.insert(free.clone());
    free
}

/// The Python spelling of every spec name, computed once per spec.
#[derive(Debug)]
pub(super) struct PythonNames {
    /// Models and exceptions, by spec name.
    types: BTreeMap<String, String>,
    /// The named tuple of each event's arguments, by event name (`student_added` →
    /// `StudentAdded`).
    event_records: BTreeMap<String, String>,
    /// Connection/server methods by spec method name.
    methods: BTreeMap<String, String>,
    /// Event methods by spec event name; the callback variant is `on_` + this.
    events: BTreeMap<String, String>,
    /// The base class of the spec's exceptions (`StudentSystemError`).
    pub error_base: String,
    pub connection: String,
    pub async_connection: String,
    pub server_base: String,
}

impl PythonNames {
    pub fn new(spec: &CheckedSpec) -> PythonNames {
        let mut taken: BTreeSet<String> = [RUNTIME_REEXPORTS, MODULE_CONSTANTS, MODULE_RESERVED]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect();
        // The generated classes keep their documented names; spec types yield to them.
        let connection = claim(&format!("{}Connection", spec.class), &mut taken);
        let async_connection = claim(&format!("{}AsyncConnection", spec.class), &mut taken);
        let server_base = claim(&format!("{}ServerBase", spec.class), &mut taken);
        let error_base = claim(&format!("{}Error", spec.class), &mut taken);
        let mut types = BTreeMap::new();
        for name in spec.models.iter().map(|m| &m.name) {
            types.insert(name.clone(), claim(name, &mut taken));
        }
        for name in spec.exceptions.iter().map(|e| &e.name) {
            types.insert(name.clone(), claim(name, &mut taken));
        }
        let event_records = spec
            .events
            .iter()
            .map(|e| {
                (
                    e.name.clone(),
                    claim(&e.name.to_upper_camel_case(), &mut taken),
                )
            })
            .collect();

        let mut members: BTreeSet<String> = CLASS_RESERVED.iter().map(|s| s.to_string()).collect();
        let methods = spec
            .methods
            .iter()
            .map(|m| (m.name.clone(), claim(&m.name, &mut members)))
            .collect();
        let mut events = BTreeMap::new();
        for event in &spec.events {
            // Both `name` and `on_name` must be free.
            let mut name = escape_keyword(&event.name);
            while members.contains(&name) || members.contains(&format!("on_{name}")) {
                name.push('_');
            }
            members.insert(format!("on_{name}"));
            members.insert(name.clone());
            events.insert(event.name.clone(), name);
        }
        PythonNames {
            types,
            event_records,
            methods,
            events,
            error_base,
            connection,
            async_connection,
            server_base,
        }
    }

    /// The class of a model or exception.
    pub fn ty(&self, spec_name: &str) -> &str {
        &self.types[spec_name]
    }

    pub fn event_record(&self, event: &str) -> &str {
        &self.event_records[event]
    }

    pub fn method(&self, method: &str) -> &str {
        &self.methods[method]
    }

    pub fn event(&self, event: &str) -> &str {
        &self.events[event]
    }

    /// Python names of fields or parameters, in order: escaped, and unique among
    /// themselves, the spec's type names and the reserved field names.
    pub fn fields(&self, fields: &[Field]) -> Vec<String> {
        let mut taken: BTreeSet<String> = FIELD_RESERVED.iter().map(|s| s.to_string()).collect();
        taken.extend(self.types.values().cloned());
        fields.iter().map(|f| claim(&f.name, &mut taken)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_named_like_daemon_options_do_not_shadow_them() {
        let spec = crate::check::check_source(
            "test.lmspc",
            "namespace a.b\nclass C\nmethod grace_period()\nmethod allowed_uids()\n\
             event max_in_flight_calls()\n",
        )
        .unwrap_or_else(|d| panic!("{}", d.render(false)));
        let names = PythonNames::new(&spec);
        assert_eq!(names.method("grace_period"), "grace_period_");
        assert_eq!(names.method("allowed_uids"), "allowed_uids_");
        assert_eq!(names.event("max_in_flight_calls"), "max_in_flight_calls_");
    }

    #[test]
    fn names_of_the_reconnection_api_are_not_shadowed() {
        let spec = crate::check::check_source(
            "test.lmspc",
            "namespace a.b\nclass C\nmodel Reconnect{\n}\nexception Reconnected\n\
             method state()\nevent state_change()\n",
        )
        .unwrap_or_else(|d| panic!("{}", d.render(false)));
        let names = PythonNames::new(&spec);
        assert_eq!(names.ty("Reconnect"), "Reconnect_");
        assert_eq!(names.ty("Reconnected"), "Reconnected_");
        assert_eq!(names.method("state"), "state_");
        assert_eq!(names.event("state_change"), "state_change_");
    }

    #[test]
    fn keywords_and_taken_names_get_underscores() {
        let mut taken = BTreeSet::from(["self".to_owned(), "self_".to_owned()]);
        assert_eq!(claim("class", &mut taken), "class_");
        assert_eq!(claim("self", &mut taken), "self__");
        assert_eq!(claim("match", &mut taken), "match");
    }
}
