//! Type resolution: each written type becomes a [`Type`], or an "unknown type" diagnostic with
//! a suggestion of the closest primitive or model.

use std::collections::HashSet;

use super::checked_spec::{Primitive, Type};
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::spec::ast::TypeRef;

/// How many `*` a type may have. Real specs use one or two; the bound keeps every later stage
/// (which may recurse over list types) safe from absurd input.
pub(super) const MAX_LIST_DEPTH: usize = 32;

/// Names from other languages that users reach for, and the spec type they mean.
const ALIASES: [(&str, Primitive); 16] = [
    ("bool", Primitive::Boolean),
    ("i8", Primitive::Int8),
    ("u8", Primitive::Uint8),
    ("byte", Primitive::Uint8),
    ("i16", Primitive::Int16),
    ("u16", Primitive::Uint16),
    ("i32", Primitive::Int32),
    ("int", Primitive::Int32),
    ("u32", Primitive::Uint32),
    ("i64", Primitive::Int64),
    ("long", Primitive::Int64),
    ("u64", Primitive::Uint64),
    ("f32", Primitive::Float),
    ("f64", Primitive::Double),
    ("str", Primitive::String),
    ("bytes", Primitive::Binary),
];

/// Resolves type names against the primitives and the spec's models.
#[derive(Debug)]
pub(super) struct TypeResolver<'a> {
    models: HashSet<&'a str>,
    exceptions: HashSet<&'a str>,
    /// Model names in declaration order, for stable suggestions.
    model_order: Vec<&'a str>,
}

impl<'a> TypeResolver<'a> {
    pub(super) fn new(
        models: impl IntoIterator<Item = &'a str>,
        exceptions: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let model_order: Vec<&str> = models.into_iter().collect();
        TypeResolver {
            models: model_order.iter().copied().collect(),
            exceptions: exceptions.into_iter().collect(),
            model_order,
        }
    }

    /// The type `ty` names, or the diagnostic saying why it names none.
    pub(super) fn resolve(&self, ty: &TypeRef) -> Result<Type, Diagnostic> {
        if ty.list_depth > MAX_LIST_DEPTH {
            return Err(Diagnostic::new(
                ErrorCode::ListTooDeep,
                format!(
                    "list type nested {} deep, more than the {MAX_LIST_DEPTH} allowed",
                    ty.list_depth
                ),
                ty.span.clone(),
                "too many `*`",
            ));
        }
        let name = ty.name.text.as_str();
        let mut resolved = if let Some(primitive) = Primitive::from_keyword(name) {
            Type::Primitive(primitive)
        } else if self.models.contains(name) {
            Type::Model(name.to_owned())
        } else {
            return Err(self.unknown(ty));
        };
        for _ in 0..ty.list_depth {
            resolved = Type::List(Box::new(resolved));
        }
        Ok(resolved)
    }

    fn unknown(&self, ty: &TypeRef) -> Diagnostic {
        let name = ty.name.text.as_str();
        let diagnostic = Diagnostic::new(
            ErrorCode::UnknownType,
            format!("unknown type `{name}`"),
            ty.name.span.clone(),
            "not a primitive type or a model of this spec",
        );
        if self.exceptions.contains(name) {
            return diagnostic.with_help(format!(
                "`{name}` is an exception: methods raise exceptions, they are not values"
            ));
        }
        if let Some(base) = name.strip_suffix('?') {
            return diagnostic.with_help(format!(
                "optional types (`{base}?`) are not supported; every value is required"
            ));
        }
        match self.suggestion(name) {
            Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
            None => diagnostic.with_help(
                "a type is a primitive (`boolean`, `int8`…`uint64`, `float`, `double`, `string`, \
                 `binary`, `fd`), a model, or a list of one (`*T`)",
            ),
        }
    }

    /// The closest known type name: an alias from another language, else the primitive or
    /// model within a few edits (primitives win ties).
    fn suggestion(&self, name: &str) -> Option<&'a str> {
        if let Some((_, primitive)) = ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        {
            return Some(primitive.keyword());
        }
        closest(
            name,
            Primitive::ALL
                .iter()
                .map(|p| p.keyword())
                .chain(self.model_order.iter().copied()),
        )
    }
}

/// The candidate within a few edits of `name` (about one per three characters), the first of
/// the nearest: what a "did you mean" suggests.
pub(super) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance, ignoring ASCII case: insertions, deletions,
/// substitutions and swaps of neighbours each cost one (`unit8` is one edit from `uint8`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Three rolling rows: the one before the previous is needed for swaps.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_a_swap_of_neighbours_as_one_edit() {
        assert_eq!(edit_distance("unit8", "uint8"), 1);
        assert_eq!(edit_distance("String", "string"), 0);
        assert_eq!(edit_distance("strng", "string"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
