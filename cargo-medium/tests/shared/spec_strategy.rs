//! Proptest strategies for random *valid* specs, shared by cargo-medium's front-end tests
//! (printer ↔ parser round trip) and the root end-to-end tests (generated code compiles).
//!
//! Included with `#[path]` from both test binaries rather than exported from the library: the
//! strategies are test code, and a library feature would put proptest into the published
//! crate's dependency graph for no user's benefit.
//!
//! Valid by construction, never by filtering: names are distinct lowercase words, possibly
//! joined by single underscores (so no two collide, even after case conversion), models and
//! exceptions capitalise theirs, and a model field names a model declared after it (or itself)
//! only through a list, so no model contains itself without a list in between.
//!
//! Names are sometimes long, sometimes Rust keywords or names the generated API also uses, and
//! docs and `@allow` rules sometimes present: the code generator must lay out and escape all
//! of them.

use std::sync::Arc;

use cargo_medium::check::{
    Allow, AllowRule, CheckedSpec, Doc, Event, Exception, Field, Method, Model, Primitive, Type,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

/// A random valid checked spec: 1–12 top-level items of every kind, fields and parameters of
/// every primitive, model references and lists nested up to three deep.
pub fn checked_spec() -> impl Strategy<Value = CheckedSpec> {
    spec_of(&Primitive::ALL)
}

fn spec_of(primitives: &'static [Primitive]) -> impl Strategy<Value = CheckedSpec> {
    (header(), btree_map(name(), doc(), 1..12), vec(0..4u8, 12)).prop_flat_map(
        move |((namespace, class, socket), words, kinds)| {
            let mut items: [Vec<(String, Doc)>; 4] = Default::default();
            for (word, kind) in words.into_iter().zip(kinds) {
                items[usize::from(kind)].push(word);
            }
            let [models, exceptions, methods, events] = items;
            let model_names: Arc<Vec<String>> =
                Arc::new(models.iter().map(|(word, _)| capitalise(word)).collect());
            let models: Vec<_> = models
                .into_iter()
                .enumerate()
                .map(|(index, (word, doc))| {
                    (fields(primitives, Arc::clone(&model_names), index)).prop_map(move |fields| {
                        Model {
                            name: capitalise(&word),
                            doc: doc.clone(),
                            fields,
                        }
                    })
                })
                .collect();
            let any_model = model_names.len();
            let methods: Vec<_> = methods
                .into_iter()
                .map(|(name, doc)| {
                    (
                        fields(primitives, Arc::clone(&model_names), any_model),
                        option::of(ty(primitives, Arc::clone(&model_names), any_model)),
                        option::of(allow_rule()),
                    )
                        .prop_map(move |(params, returns, allow)| Method {
                            name: name.clone(),
                            doc: doc.clone(),
                            params,
                            returns,
                            allow,
                        })
                })
                .collect();
            let events: Vec<_> = events
                .into_iter()
                .map(|(name, doc)| {
                    (
                        fields(primitives, Arc::clone(&model_names), any_model),
                        option::of(allow_rule()),
                    )
                        .prop_map(move |(params, allow)| Event {
                            name: name.clone(),
                            doc: doc.clone(),
                            params,
                            allow,
                        })
                })
                .collect();
            let exceptions: Vec<Exception> = exceptions
                .into_iter()
                .map(|(word, doc)| Exception {
                    name: capitalise(&word),
                    doc,
                })
                .collect();
            (models, methods, events).prop_map(move |(models, methods, events)| CheckedSpec {
                source_name: "random.lmspc".to_owned(),
                namespace: namespace.clone(),
                class: class.clone(),
                socket: socket.clone(),
                models,
                exceptions: exceptions.clone(),
                methods,
                events,
            })
        },
    )
}

/// An item, field or parameter name: mostly a short word, sometimes several joined by
/// underscores (long names make long lines), sometimes a Rust keyword or a name the
/// generated code uses itself. Underscored names end in a part of at most five letters, so
/// no capitalised one converts to the class's `…Daemon`.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z]{2,8}",
        3 => "[a-z]{2,12}(_[a-z]{2,12}){0,3}_[a-z]{2,5}",
        1 => proptest::sample::select(SPECIAL_NAMES).prop_map(str::to_owned),
    ]
}

/// Rust keywords (raw, or underscored where they cannot be raw) and names the generated
/// code uses in the same scopes as spec names.
const SPECIAL_NAMES: &[&str] = &[
    "type",
    "match",
    "self",
    "crate",
    "fn",
    "async",
    "await",
    "gen",
    "move",
    "ref",
    "connect",
    "run",
    "to",
    "client",
    "clone",
    "handle",
    "application",
    "cx",
    "result",
    "error",
    "box",
    "option",
    "vec",
    "some",
    "ok",
    "err",
    "args",
    "reply",
    "service",
    "call",
];

/// Doc comment lines: usually none; otherwise a few lines of text, blank lines and stray
/// spaces included (docs keep the comment's text after one space).
fn doc() -> impl Strategy<Value = Doc> {
    prop_oneof![
        3 => Just(Vec::new()),
        1 => vec("[ -~]{0,60}", 1..4),
    ]
}

/// Namespace, class and optional socket folder. The class ends in `Daemon`, so it has two
/// capitals and never equals a capitalised item word. (Names the generator derives from it,
/// like `…DaemonError`, may equal a model's: the generator resolves that.)
fn header() -> impl Strategy<Value = (String, String, Option<String>)> {
    (
        "[a-z]{1,12}(\\.[a-z]{1,12}){0,5}",
        "[A-Z][a-z]{1,6}([A-Z][a-z]{1,10}){0,2}Daemon",
        option::of("/[a-z]{1,8}(/[a-z]{1,8}){0,2}"),
    )
}

/// Fields with distinct names: up to six, now and then more than serde's sixteen-element
/// tuples take. `model` is the index of the model they belong to: they may name models before
/// it directly and any model through a list (pass the model count for method and event
/// parameters, which may name every model directly).
fn fields(
    primitives: &'static [Primitive],
    models: Arc<Vec<String>>,
    model: usize,
) -> impl Strategy<Value = Vec<Field>> {
    let count = prop_oneof![12 => 0..7usize, 1 => 17..22usize];
    let triples = count.prop_flat_map(move |n| {
        vec(
            (name(), doc(), ty(primitives, Arc::clone(&models), model)),
            n,
        )
    });
    triples.prop_map(|triples| {
        let mut fields: Vec<Field> = Vec::new();
        for (name, doc, ty) in triples {
            if fields.iter().all(|field| field.name != name) {
                fields.push(Field { name, doc, ty });
            }
        }
        fields
    })
}

/// One of `primitives` or a model, under zero to three list stars. A model at index
/// `direct_limit` or later gets at least one star, which is what keeps model containment
/// acyclic.
fn ty(
    primitives: &'static [Primitive],
    models: Arc<Vec<String>>,
    direct_limit: usize,
) -> impl Strategy<Value = Type> {
    let leaves = primitives.len() + models.len();
    (0..leaves, 0..4usize).prop_map(move |(leaf, stars)| {
        let (mut ty, stars) = match leaf.checked_sub(primitives.len()) {
            None => (Type::Primitive(primitives[leaf]), stars),
            Some(model) => (
                Type::Model(models[model].clone()),
                if model >= direct_limit {
                    stars.max(1)
                } else {
                    stars
                },
            ),
        };
        for _ in 0..stars {
            ty = Type::List(Box::new(ty));
        }
        ty
    })
}

/// An effective `@allow` rule of one to five terms of every kind (ids up to `u32::MAX`,
/// group names up to the 32 bytes allowed).
fn allow_rule() -> impl Strategy<Value = AllowRule> {
    let term = prop_oneof![
        Just(Allow::Root),
        Just(Allow::Owner),
        any::<u32>().prop_map(Allow::Uid),
        any::<u32>().prop_map(Allow::Gid),
        "[A-Za-z_][A-Za-z0-9_.-]{0,31}".prop_map(Allow::Group),
    ];
    vec(term, 1..6).prop_map(|terms| AllowRule::new(terms).expect("at least one term"))
}

/// `word` with its first letter in upper case: `student` → `Student`.
fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
