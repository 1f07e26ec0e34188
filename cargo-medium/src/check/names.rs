//! Name rules: what an identifier is, and the scopes in which names must be unique, both as
//! written and after the case conversion generated code applies.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::spec::ast::Name;

/// ASCII letters, digits and `_`, not starting with a digit, and not `_` alone: a name every
/// target language accepts (Rust keywords are fine; generated code escapes them).
pub(super) fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {}
        _ => return false,
    }
    text != "_" && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The case generated code gives a name, which is what two names must not share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Case {
    /// Models and exceptions become types and enum variants.
    UpperCamel,
    /// Methods, events, members and parameters become functions and fields.
    Snake,
}

impl Case {
    fn convert(self, text: &str) -> String {
        match self {
            Case::UpperCamel => text.to_upper_camel_case(),
            Case::Snake => text.to_snake_case(),
        }
    }

    fn kinds(self) -> &'static str {
        match self {
            Case::UpperCamel => "models and exceptions become UpperCamelCase",
            Case::Snake => "methods, events, members and parameters become snake_case",
        }
    }
}

/// A set of names that must be distinct: a spec's items, one model's members or one method's
/// parameters. Reports duplicates, non-identifiers and case collisions as names are declared.
#[derive(Debug)]
pub(super) struct Scope<'a> {
    /// How a duplicate is reported: items and fields have their own codes.
    duplicate_code: ErrorCode,
    /// " in model `Student`" for fields; empty for items.
    context: String,
    declared: HashMap<&'a str, (&'a Name, &'static str)>,
    converted: HashMap<(Case, String), &'a Name>,
}

impl<'a> Scope<'a> {
    /// The scope of a spec's models, exceptions, methods and events.
    pub(super) fn items() -> Self {
        Scope::new(ErrorCode::DuplicateName, String::new())
    }

    /// The scope of the members or parameters of `owner` (e.g. "model `Student`").
    pub(super) fn fields(owner: String) -> Self {
        Scope::new(ErrorCode::DuplicateField, format!(" in {owner}"))
    }

    fn new(duplicate_code: ErrorCode, context: String) -> Self {
        Scope {
            duplicate_code,
            context,
            declared: HashMap::new(),
            converted: HashMap::new(),
        }
    }

    /// Declares `name` as a `kind` ("model", "member", …) that generated code writes in `case`.
    pub(super) fn declare(
        &mut self,
        name: &'a Name,
        kind: &'static str,
        case: Case,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let valid = is_identifier(&name.text);
        if !valid {
            diagnostics.push(not_an_identifier(name));
        }
        match self.declared.entry(&name.text) {
            Entry::Occupied(first) => {
                let (first, first_kind) = *first.get();
                diagnostics.push(self.duplicate(name, first, first_kind, kind));
                return;
            }
            Entry::Vacant(slot) => {
                slot.insert((name, kind));
            }
        }
        if !valid {
            return;
        }
        match self.converted.entry((case, case.convert(&name.text))) {
            Entry::Occupied(first) => {
                let converted = &first.key().1;
                diagnostics.push(
                    Diagnostic::new(
                        ErrorCode::CaseCollision,
                        format!(
                            "`{}` collides with `{}` after case conversion{}",
                            name.text,
                            first.get().text,
                            self.context
                        ),
                        name.span.clone(),
                        format!("both become `{converted}` in generated code"),
                    )
                    .with_label(
                        first.get().span.clone(),
                        format!("`{}` defined here", first.get().text),
                    )
                    .with_help(format!(
                        "{} in generated Rust; rename one of them",
                        case.kinds()
                    )),
                );
            }
            Entry::Vacant(slot) => {
                slot.insert(name);
            }
        }
    }

    fn duplicate(&self, name: &Name, first: &Name, first_kind: &str, kind: &str) -> Diagnostic {
        let message = if self.context.is_empty() {
            format!("the name `{}` is defined more than once", name.text)
        } else {
            format!(
                "{kind} `{}` is defined more than once{}",
                name.text, self.context
            )
        };
        let first_label = if self.context.is_empty() {
            format!(
                "first defined here, as {} {first_kind}",
                article(first_kind)
            )
        } else {
            "first defined here".to_owned()
        };
        Diagnostic::new(
            self.duplicate_code,
            message,
            name.span.clone(),
            format!("`{}` redefined here", name.text),
        )
        .with_label(first.span.clone(), first_label)
    }
}

/// The diagnostic for a name that is not an identifier.
pub(super) fn not_an_identifier(name: &Name) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::InvalidName,
        format!("`{}` is not an identifier", name.text),
        name.span.clone(),
        "not an identifier",
    )
    .with_help(
        "names start with an ASCII letter or `_` and go on with ASCII letters, digits and `_`",
    )
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::is_identifier;

    #[test]
    fn identifiers_are_ascii_words_not_starting_with_a_digit() {
        for good in ["id", "_id", "get_student", "Student2", "type", "match"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in ["", "_", "2d", "get-student", "naïve", "a.b", "r#type"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
