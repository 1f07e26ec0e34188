//! Proptest strategies for random *valid* specs, shared by cargo-medium's front-end tests
//! (printer ↔ parser round trip) and the root end-to-end tests (generated code compiles).
//!
//! Included with `#[path]` from both test binaries rather than exported from the library: the
//! strategies are test code, and a library feature would put proptest into the published
//! crate's dependency graph for no user's benefit.
//!
//! Valid by construction, never by filtering: names are distinct lowercase words (so no two
//! collide, even after case conversion), models and exceptions capitalise theirs, and a
//! model field names a model declared after it (or itself) only through a list, so no model
//! contains itself without a list in between.

use std::sync::Arc;

use cargo_medium::check::{CheckedSpec, Event, Exception, Field, Method, Model, Primitive, Type};
use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;

/// A random valid checked spec: 1–12 top-level items of every kind, fields and parameters of
/// every primitive, model references and lists nested up to three deep.
pub fn checked_spec() -> impl Strategy<Value = CheckedSpec> {
    (header(), btree_set("[a-z]{2,8}", 1..12), vec(0..4u8, 12)).prop_flat_map(
        |((namespace, class, socket), words, kinds)| {
            let mut names: [Vec<String>; 4] = Default::default();
            for (word, kind) in words.into_iter().zip(kinds) {
                names[usize::from(kind)].push(word);
            }
            let [models, exceptions, methods, events] = names;
            let models: Arc<Vec<String>> = Arc::new(models.iter().map(|w| capitalise(w)).collect());
            let model_fields: Vec<_> = (0..models.len())
                .map(|index| fields(Arc::clone(&models), index))
                .collect();
            let method_shapes: Vec<_> = methods
                .into_iter()
                .map(|name| {
                    let any_model = models.len();
                    (
                        Just(name),
                        fields(Arc::clone(&models), any_model),
                        option::of(ty(Arc::clone(&models), any_model)),
                    )
                })
                .collect();
            let event_shapes: Vec<_> = events
                .into_iter()
                .map(|name| (Just(name), fields(Arc::clone(&models), models.len())))
                .collect();
            let exceptions: Vec<Exception> = exceptions
                .iter()
                .map(|word| Exception {
                    name: capitalise(word),
                    doc: Vec::new(),
                })
                .collect();
            (model_fields, method_shapes, event_shapes).prop_map(
                move |(fields, methods, events)| CheckedSpec {
                    source_name: "random.lmspc".to_owned(),
                    namespace: namespace.clone(),
                    class: class.clone(),
                    socket: socket.clone(),
                    models: models
                        .iter()
                        .zip(fields)
                        .map(|(name, fields)| Model {
                            name: name.clone(),
                            doc: Vec::new(),
                            fields,
                        })
                        .collect(),
                    exceptions: exceptions.clone(),
                    methods: methods
                        .into_iter()
                        .map(|(name, params, returns)| Method {
                            name,
                            doc: Vec::new(),
                            params,
                            returns,
                        })
                        .collect(),
                    events: events
                        .into_iter()
                        .map(|(name, params)| Event {
                            name,
                            doc: Vec::new(),
                            params,
                        })
                        .collect(),
                },
            )
        },
    )
}

/// Namespace, class and optional socket folder. The class ends in `Daemon`, so it has two
/// capitals and never equals a capitalised item word (nor a name derived from one).
fn header() -> impl Strategy<Value = (String, String, Option<String>)> {
    (
        "[a-z]{1,6}(\\.[a-z]{1,6}){0,3}",
        "[A-Z][a-z]{1,6}Daemon",
        option::of("/[a-z]{1,8}(/[a-z]{1,8}){0,2}"),
    )
}

/// Up to four fields with distinct names. `model` is the index of the model they belong to:
/// they may name models before it directly and any model through a list (pass the model
/// count for method and event parameters, which may name every model directly).
fn fields(models: Arc<Vec<String>>, model: usize) -> impl Strategy<Value = Vec<Field>> {
    vec(("[a-z]{1,8}", ty(models, model)), 0..5).prop_map(|pairs| {
        let mut fields: Vec<Field> = Vec::new();
        for (name, ty) in pairs {
            if fields.iter().all(|field| field.name != name) {
                fields.push(Field {
                    name,
                    doc: Vec::new(),
                    ty,
                });
            }
        }
        fields
    })
}

/// A primitive or model, under zero to three list stars. A model at index `direct_limit` or
/// later gets at least one star, which is what keeps model containment acyclic.
fn ty(models: Arc<Vec<String>>, direct_limit: usize) -> impl Strategy<Value = Type> {
    let leaves = Primitive::ALL.len() + models.len();
    (0..leaves, 0..4usize).prop_map(move |(leaf, stars)| {
        let (mut ty, stars) = match leaf.checked_sub(Primitive::ALL.len()) {
            None => (Type::Primitive(Primitive::ALL[leaf]), stars),
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

/// `word` with its first letter in upper case: `student` → `Student`.
fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
