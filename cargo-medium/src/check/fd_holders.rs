//! [`FdHolders`]: which types of a checked spec hold an `fd`, directly or through models and
//! lists. A descriptor is owned, so values holding one cannot be copied or compared: the Rust
//! generator derives less for their models and event payloads, and `cargo medium call` decodes
//! them by type to take their descriptors.
//!
//! Found by one walk over "is a field of" edges from the models with an `fd` field, so it is
//! linear in the spec's size whatever the models' nesting (or recursion through lists).

use std::collections::{HashMap, HashSet};

use super::{CheckedSpec, Primitive, Type};

/// The models of a spec that hold an `fd` anywhere inside them.
#[derive(Debug, Clone)]
pub struct FdHolders<'a> {
    models: HashSet<&'a str>,
}

impl<'a> FdHolders<'a> {
    /// Finds the models of `spec` that hold an `fd`.
    pub fn of(spec: &'a CheckedSpec) -> FdHolders<'a> {
        // For each model, the models with a field of its type (maybe in lists).
        let mut holders_of: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut found: Vec<&str> = Vec::new();
        for model in &spec.models {
            for field in &model.fields {
                match field.ty.innermost() {
                    Type::Primitive(Primitive::Fd) => found.push(&model.name),
                    Type::Model(inner) => holders_of.entry(inner).or_default().push(&model.name),
                    Type::Primitive(_) | Type::List(_) => {}
                }
            }
        }
        let mut models = HashSet::new();
        while let Some(model) = found.pop() {
            if models.insert(model) {
                found.extend(holders_of.get(model).into_iter().flatten());
            }
        }
        FdHolders { models }
    }

    /// Whether values of `ty` hold an `fd`.
    pub fn holds(&self, ty: &Type) -> bool {
        match ty.innermost() {
            Type::Primitive(primitive) => *primitive == Primitive::Fd,
            Type::Model(name) => self.models.contains(name.as_str()),
            Type::List(_) => unreachable!("`innermost` looks through every list"),
        }
    }
}

impl CheckedSpec {
    /// Whether the spec uses `fd` anywhere (a parameter, a return value, a model field, an
    /// event argument, in lists or not): its peers may then attach descriptors to frames.
    pub fn uses_fd(&self) -> bool {
        let is_fd = |ty: &Type| *ty.innermost() == Type::Primitive(Primitive::Fd);
        // A model holding an `fd` holds it in a field of its own, so fields are enough.
        let fields = self.models.iter().flat_map(|m| &m.fields);
        let params = self.methods.iter().flat_map(|m| &m.params);
        let event_args = self.events.iter().flat_map(|e| &e.params);
        fields.chain(params).chain(event_args).any(|f| is_fd(&f.ty))
            || self
                .methods
                .iter()
                .filter_map(|m| m.returns.as_ref())
                .any(is_fd)
    }
}

#[cfg(test)]
mod tests {
    use crate::check::check_source;

    const HEADER: &str = "namespace a.b\nclass C\n";

    #[test]
    fn models_hold_an_fd_through_fields_lists_and_other_models_even_recursive_ones() {
        let spec = check_source(
            "t.lmspc",
            &format!(
                "{HEADER}model Outer{{\n    middle: **Middle\n}}\n\
                 model Middle{{\n    inner: Inner\n    next: *Middle\n}}\n\
                 model Inner{{\n    file: fd\n}}\n\
                 model Plain{{\n    n: uint8\n    lonely: *Lonely\n}}\n\
                 model Lonely{{\n    me: *Lonely\n}}\n\
                 method m(o: Outer, p: Plain, files: *fd, n: uint8)\n"
            ),
        )
        .unwrap();
        let holders = super::FdHolders::of(&spec);
        let params: Vec<bool> = spec.methods[0]
            .params
            .iter()
            .map(|p| holders.holds(&p.ty))
            .collect();
        assert_eq!(params, [true, false, true, false]);
        let models: Vec<bool> = spec
            .models
            .iter()
            .map(|m| holders.holds(&crate::check::Type::Model(m.name.clone())))
            .collect();
        assert_eq!(models, [true, true, true, false, false]);
        assert!(spec.uses_fd());
    }

    #[test]
    fn a_spec_uses_fd_wherever_it_names_it_and_never_otherwise() {
        for (items, uses) in [
            ("method open_log(name: string): fd\n", true),
            ("method pass(sinks: **fd)\n", true),
            ("event e(x: uint8, y: fd)\n", true),
            ("model Bundle{\n    files: *fd\n}\n", true),
            (
                "model Bundle{\n    n: uint8\n}\nmethod m(b: Bundle): *Bundle\n",
                false,
            ),
        ] {
            let spec = check_source("t.lmspc", &format!("{HEADER}{items}")).unwrap();
            assert_eq!(spec.uses_fd(), uses, "{items}");
        }
        let every_type = include_str!("../../../tests/vectors/canonical/every_type.lmspc");
        assert!(!check_source("t.lmspc", every_type).unwrap().uses_fd());
    }
}
