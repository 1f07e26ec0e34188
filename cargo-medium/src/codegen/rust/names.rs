//! Rust names for spec names: case conversion, keywords, and collisions with the generated
//! API. Computed once per spec in [`ProtocolNames`] so every emitter (and the user-owned
//! templates) spell an item the same way.
//!
//! Rules: types are UpperCamelCase, functions, fields and parameters snake_case (heck). A Rust
//! keyword becomes a raw identifier (`r#type`), except `self`, `Self`, `super` and `crate`,
//! which cannot be raw and get a trailing underscore. A name that collides with a name the
//! generated API itself uses in the same scope (`connect`, `run`, `to`…) also gets trailing
//! underscores until it is free. Wire names never change: serde renames and call strings use
//! the spec's spelling.

use std::collections::BTreeSet;

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::check::{CheckedSpec, Field};

/// Strict and reserved keywords of Rust 2024, which need `r#` to be identifiers.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate"];

/// Methods the connections (async and blocking) and the server trait define besides the
/// spec's methods.
const METHOD_RESERVED: &[&str] = &[
    "clone",
    "client",
    "connect",
    "connect_to",
    "connect_with",
    "from_client",
    "run",
];

/// Methods the connections and the event emitters define besides the spec's events.
const EVENT_RESERVED: &[&str] = &[
    "application",
    "applications",
    "clone",
    "client",
    "connect",
    "connect_to",
    "connect_with",
    "from_client",
    "handle",
    "to",
];

/// Parameter names the server trait's methods use themselves.
const PARAM_RESERVED: &[&str] = &["cx"];

/// A usable identifier for `name`: raw when it is a keyword, underscored when it cannot be.
pub(crate) fn ident(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_owned()
    }
}

/// `ident` without a raw prefix: the name as it appears in `_unused` bindings or messages.
pub(crate) fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// The snake_case base of a spec name (before keyword handling).
fn snake(name: &str) -> String {
    let converted = name.to_snake_case();
    fix_start(converted, name)
}

/// The UpperCamelCase base of a spec name (before keyword handling).
fn camel(name: &str) -> String {
    let converted = name.to_upper_camel_case();
    fix_start(converted, name)
}

/// Case conversion drops underscores; a name made only of them, or one left starting with a
/// digit, is not an identifier: keep the spec's spelling or prefix an underscore.
fn fix_start(converted: String, original: &str) -> String {
    match converted.chars().next() {
        None => original.to_owned(),
        Some(c) if c.is_ascii_digit() => format!("_{converted}"),
        Some(_) => converted,
    }
}

/// Names already used in one Rust scope; hands out free ones.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    taken: BTreeSet<String>,
}

impl NameTable {
    /// A table where `reserved` are already taken.
    pub(crate) fn with_reserved(reserved: &[&str]) -> NameTable {
        NameTable {
            taken: reserved.iter().map(|name| (*name).to_owned()).collect(),
        }
    }

    /// Claims `base` turned into an identifier, adding underscores until it is free.
    pub(crate) fn claim(&mut self, base: &str) -> String {
        self.claim_avoiding(base, &[])
    }

    /// Like [`NameTable::claim`], also avoiding `extra` (names taken only for this claim).
    fn claim_avoiding(&mut self, base: &str, extra: &[&str]) -> String {
        let mut name = ident(base);
        while self.taken.contains(&name) || extra.contains(&name.as_str()) {
            name = format!("{}_", unraw(&name));
        }
        self.taken.insert(name.clone());
        name
    }
}

/// A spec item's Rust name next to its spelling on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Named {
    /// The spec's name: the wire name.
    pub(crate) wire: String,
    /// The Rust identifier (maybe raw).
    pub(crate) rust: String,
}

/// Rust names for the fields of one model, or the parameters of one method or event.
pub(crate) fn field_names(fields: &[Field]) -> Vec<Named> {
    let mut table = NameTable::with_reserved(PARAM_RESERVED);
    fields
        .iter()
        .map(|field| Named {
            wire: field.name.clone(),
            rust: table.claim(&snake(&field.name)),
        })
        .collect()
}

/// Every name the generated protocol crate uses for a spec.
#[derive(Debug, Clone)]
pub(crate) struct ProtocolNames {
    /// The server trait, e.g. `StudentSystem`.
    pub(crate) service: String,
    /// The exception enum, e.g. `StudentSystemError`.
    pub(crate) error: String,
    /// The handler result alias, e.g. `StudentSystemResult`.
    pub(crate) result: String,
    /// The connections (async at the root, blocking in `blocking`).
    pub(crate) connection: String,
    pub(crate) server: String,
    /// The emitter to all applications.
    pub(crate) events: String,
    /// The emitter to one application.
    pub(crate) events_to: String,
    /// The per-call context handed to the server trait.
    pub(crate) context: String,
    /// Model struct names, in declaration order.
    pub(crate) models: Vec<Named>,
    /// Exception variant names.
    pub(crate) exceptions: Vec<Named>,
    /// Method names (connections, server trait).
    pub(crate) methods: Vec<Named>,
    /// Event method names (connections, emitters).
    pub(crate) events_methods: Vec<Named>,
    /// The emitters' paced twins of the event methods (`<event>_paced`), claimed after every
    /// other method, so they never rename one.
    pub(crate) events_paced: Vec<Named>,
    /// Event struct names in the `events` module.
    pub(crate) event_structs: Vec<Named>,
}

impl ProtocolNames {
    pub(crate) fn new(spec: &CheckedSpec) -> ProtocolNames {
        let mut root = NameTable::default();
        let models = spec
            .models
            .iter()
            .map(|model| Named {
                wire: model.name.clone(),
                rust: root.claim(&camel(&model.name)),
            })
            .collect();
        // The generated helpers yield to models: a model keeps the name the spec gave it.
        let class = camel(&spec.class);
        let service = root.claim(&class);
        let error = root.claim(&format!("{class}Error"));
        let result = root.claim(&format!("{class}Result"));
        let connection = root.claim(&format!("{class}Connection"));
        let server = root.claim(&format!("{class}Server"));
        let events = root.claim(&format!("{class}Events"));
        let events_to = root.claim(&format!("{class}EventsTo"));
        let context = root.claim(&format!("{class}Context"));

        let mut variants = NameTable::default();
        let exceptions = spec
            .exceptions
            .iter()
            .map(|exception| Named {
                wire: exception.name.clone(),
                rust: variants.claim(&camel(&exception.name)),
            })
            .collect();

        // Methods and events both become methods of the connections, so one table.
        let mut functions = NameTable::default();
        let methods = spec
            .methods
            .iter()
            .map(|method| Named {
                wire: method.name.clone(),
                rust: functions.claim_avoiding(&snake(&method.name), METHOD_RESERVED),
            })
            .collect();
        let events_methods = spec
            .events
            .iter()
            .map(|event| Named {
                wire: event.name.clone(),
                rust: functions.claim_avoiding(&snake(&event.name), EVENT_RESERVED),
            })
            .collect();
        let events_paced = spec
            .events
            .iter()
            .map(|event| Named {
                wire: event.name.clone(),
                rust: functions
                    .claim_avoiding(&format!("{}_paced", snake(&event.name)), EVENT_RESERVED),
            })
            .collect();

        let mut structs = NameTable::default();
        let event_structs = spec
            .events
            .iter()
            .map(|event| Named {
                wire: event.name.clone(),
                rust: structs.claim(&camel(&event.name)),
            })
            .collect();

        ProtocolNames {
            service,
            error,
            result,
            connection,
            server,
            events,
            events_to,
            context,
            models,
            exceptions,
            methods,
            events_methods,
            events_paced,
            event_structs,
        }
    }

    /// The Rust name of the model the spec calls `wire`.
    pub(crate) fn model<'a>(&'a self, wire: &'a str) -> &'a str {
        self.models
            .iter()
            .find(|named| named.wire == wire)
            .map_or(wire, |named| named.rust.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Event, Exception, Method, Model, Primitive, Type};

    fn field(name: &str) -> Field {
        Field {
            name: name.to_owned(),
            doc: Vec::new(),
            ty: Type::Primitive(Primitive::String),
        }
    }

    fn spec(models: &[&str], methods: &[&str], events: &[&str]) -> CheckedSpec {
        CheckedSpec {
            source_name: "test.lmspc".to_owned(),
            namespace: "com.example.test".to_owned(),
            class: "StudentSystem".to_owned(),
            socket: None,
            models: models
                .iter()
                .map(|name| Model {
                    name: (*name).to_owned(),
                    doc: Vec::new(),
                    fields: Vec::new(),
                })
                .collect(),
            exceptions: vec![Exception {
                name: "not_found".to_owned(),
                doc: Vec::new(),
            }],
            methods: methods
                .iter()
                .map(|name| Method {
                    name: (*name).to_owned(),
                    doc: Vec::new(),
                    params: Vec::new(),
                    returns: None,
                    allow: None,
                })
                .collect(),
            events: events
                .iter()
                .map(|name| Event {
                    name: (*name).to_owned(),
                    doc: Vec::new(),
                    params: Vec::new(),
                    allow: None,
                })
                .collect(),
        }
    }

    fn rust(named: &[Named]) -> Vec<&str> {
        named.iter().map(|n| n.rust.as_str()).collect()
    }

    #[test]
    fn keywords_become_raw_identifiers() {
        assert_eq!(ident("type"), "r#type");
        assert_eq!(ident("match"), "r#match");
        assert_eq!(ident("gen"), "r#gen");
        assert_eq!(ident("student"), "student");
    }

    #[test]
    fn keywords_that_cannot_be_raw_get_a_trailing_underscore() {
        assert_eq!(ident("self"), "self_");
        assert_eq!(ident("Self"), "Self_");
        assert_eq!(ident("super"), "super_");
        assert_eq!(ident("crate"), "crate_");
    }

    #[test]
    fn fields_are_snake_case_and_keep_their_wire_name() {
        let names = field_names(&[
            field("firstName"),
            field("type"),
            field("self"),
            field("cx"),
        ]);
        assert_eq!(rust(&names), ["first_name", "r#type", "self_", "cx_"]);
        assert_eq!(names[0].wire, "firstName");
    }

    #[test]
    fn fields_colliding_after_case_conversion_stay_distinct() {
        let names = field_names(&[field("first_name"), field("firstName")]);
        assert_eq!(rust(&names), ["first_name", "first_name_"]);
    }

    #[test]
    fn models_and_methods_are_converted_to_rust_case() {
        let names =
            ProtocolNames::new(&spec(&["student_info"], &["getStudent"], &["studentAdded"]));
        assert_eq!(rust(&names.models), ["StudentInfo"]);
        assert_eq!(rust(&names.methods), ["get_student"]);
        assert_eq!(rust(&names.events_methods), ["student_added"]);
        assert_eq!(rust(&names.event_structs), ["StudentAdded"]);
        assert_eq!(rust(&names.exceptions), ["NotFound"]);
    }

    #[test]
    fn methods_named_like_the_generated_api_get_an_underscore() {
        let names = ProtocolNames::new(&spec(&[], &["connect", "run", "send", "to"], &[]));
        assert_eq!(rust(&names.methods), ["connect_", "run_", "send", "to"]);
    }

    #[test]
    fn events_named_like_the_emitter_api_get_an_underscore() {
        let names = ProtocolNames::new(&spec(&[], &[], &["to", "applications", "run", "close"]));
        assert_eq!(
            rust(&names.events_methods),
            ["to_", "applications_", "run", "close"]
        );
    }

    #[test]
    fn paced_emitters_never_take_an_event_method_name() {
        let names = ProtocolNames::new(&spec(&[], &[], &["tick", "tick_paced", "to"]));
        assert_eq!(rust(&names.events_methods), ["tick", "tick_paced", "to_"]);
        assert_eq!(
            rust(&names.events_paced),
            ["tick_paced_", "tick_paced_paced", "to_paced"]
        );
    }

    #[test]
    fn an_event_colliding_with_a_mangled_method_stays_distinct() {
        let names = ProtocolNames::new(&spec(&[], &["connect"], &["connect_"]));
        assert_eq!(rust(&names.methods), ["connect_"]);
        assert_eq!(rust(&names.events_methods), ["connect__"]);
    }

    #[test]
    fn models_keep_their_names_and_generated_types_yield() {
        let names = ProtocolNames::new(&spec(
            &["StudentSystem", "StudentSystemError", "Result"],
            &[],
            &[],
        ));
        assert_eq!(
            rust(&names.models),
            ["StudentSystem", "StudentSystemError", "Result"]
        );
        assert_eq!(names.service, "StudentSystem_");
        assert_eq!(names.error, "StudentSystemError_");
        assert_eq!(names.connection, "StudentSystemConnection");
        assert_eq!(names.model("Result"), "Result");
    }

    #[test]
    fn a_model_named_self_is_not_a_keyword_type() {
        let names = ProtocolNames::new(&spec(&["self", "type"], &[], &[]));
        assert_eq!(rust(&names.models), ["Self_", "Type"]);
    }
}
