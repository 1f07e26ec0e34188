//! `@allow` attributes: validates their terms and finds the item each one governs, giving every
//! method and event its effective rule (its own, else the class default, else none).

use super::checked_spec::{Allow, AllowRule};
use super::types::closest;
use crate::diagnostic::{Diagnostic, ErrorCode, Span};
use crate::spec::ast::{AllowAttr, AllowTerm, Item, Spec, TermValue};

/// The words a term may start with.
const TERM_NAMES: [&str; 5] = ["root", "owner", "uid", "gid", "group"];

/// How long a group name may be, in bytes: what `groupadd` accepts on Linux.
const MAX_GROUP_NAME: usize = 32;

/// The rule each item of a spec was given, by the item's index in [`Spec::items`].
#[derive(Debug)]
pub(super) struct AccessRules {
    own: Vec<Option<AllowRule>>,
    class_default: Option<AllowRule>,
}

impl AccessRules {
    /// Pairs every attribute with the item below it, reporting misplaced attributes and bad
    /// terms.
    pub(super) fn collect(spec: &Spec, diagnostics: &mut Vec<Diagnostic>) -> AccessRules {
        let mut rules = AccessRules {
            own: vec![None; spec.items.len()],
            class_default: None,
        };
        let mut pending: Option<(&AllowAttr, Option<AllowRule>)> = None;
        for (index, item) in spec.items.iter().enumerate() {
            let next = match item {
                Item::Allow(attr) => {
                    let previous = pending.replace((attr, rule(attr, diagnostics)));
                    if let Some((previous, _)) = previous {
                        diagnostics.push(misplaced(previous, Next::Attribute(&attr.span)));
                    }
                    continue;
                }
                Item::Class(_) => {
                    // A repeated `class` line is reported as such; the last rule given wins.
                    if let Some((_, rule)) = pending.take() {
                        rules.class_default = rule;
                    }
                    continue;
                }
                Item::Method(_) | Item::Event(_) => {
                    if let Some((_, rule)) = pending.take() {
                        rules.own[index] = rule;
                    }
                    continue;
                }
                Item::Namespace(header) => Next::Item(&header.span, "a `namespace` line"),
                Item::Socket(header) => Next::Item(&header.span, "a `socket` line"),
                Item::Model(model) => Next::Item(&model.name.span, "a model"),
                Item::Exception(exception) => Next::Item(&exception.name.span, "an exception"),
            };
            if let Some((attr, _)) = pending.take() {
                diagnostics.push(misplaced(attr, next));
            }
        }
        if let Some((attr, _)) = pending {
            diagnostics.push(misplaced(attr, Next::EndOfFile));
        }
        rules
    }

    /// The rule of the method or event at `index`: its own, else the class default.
    pub(super) fn effective(&self, index: usize) -> Option<AllowRule> {
        self.own[index]
            .as_ref()
            .or(self.class_default.as_ref())
            .cloned()
    }
}

/// What follows an attribute that governs nothing.
#[derive(Debug, Clone, Copy)]
enum Next<'a> {
    Attribute(&'a Span),
    /// An item that takes no rule: where it is, and what it is.
    Item(&'a Span, &'static str),
    EndOfFile,
}

/// `attr` governs nothing: `next` follows it.
fn misplaced(attr: &AllowAttr, next: Next<'_>) -> Diagnostic {
    let message = "`@allow` must be followed by a method, an event or the class";
    match next {
        Next::Attribute(span) => {
            Diagnostic::new(ErrorCode::MisplacedAllow, message, attr.span.clone(), "")
                .with_label(span.clone(), "followed by another `@allow`")
                .with_help("an item has one `@allow`: put all its terms in one attribute")
        }
        Next::Item(span, what) => Diagnostic::new(
            ErrorCode::MisplacedAllow,
            message,
            attr.span.clone(),
            format!("followed by {what}"),
        )
        .with_label(span.clone(), "this has no access rule")
        .with_help(
            "`@allow` says who may call a method or subscribe to an event; above `class`, it \
             is the default for every method and event",
        ),
        Next::EndOfFile => Diagnostic::new(
            ErrorCode::MisplacedAllow,
            message,
            attr.span.clone(),
            "followed by the end of the file",
        )
        .with_help("put it directly above the method, event or class it governs"),
    }
}

/// The rule an attribute gives (its valid terms), reporting every bad term and duplicate.
fn rule(attr: &AllowAttr, diagnostics: &mut Vec<Diagnostic>) -> Option<AllowRule> {
    if attr.terms.is_empty() {
        diagnostics.push(
            Diagnostic::new(
                ErrorCode::EmptyAllow,
                "`@allow` names nobody",
                attr.span.clone(),
                "no terms",
            )
            .with_help(
                "name who may, e.g. `@allow(root, group = \"admin\")`, or remove the line to \
                 let anyone who can connect",
            ),
        );
        return None;
    }
    let mut seen: Vec<(Allow, &Span)> = Vec::new();
    for written in &attr.terms {
        let allow = match term(written) {
            Ok(allow) => allow,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        match seen.iter().find(|(earlier, _)| *earlier == allow) {
            Some((_, first)) => diagnostics.push(
                Diagnostic::new(
                    ErrorCode::DuplicateAllowTerm,
                    format!("`{}` is given more than once", text_of(written)),
                    written.span.clone(),
                    "given again here",
                )
                .with_label((*first).clone(), "first given here")
                .with_help("remove one of them"),
            ),
            None => seen.push((allow, &written.span)),
        }
    }
    AllowRule::new(seen.into_iter().map(|(allow, _)| allow).collect())
}

/// A term as written, spaces normalised: `uid = 5`.
fn text_of(term: &AllowTerm) -> String {
    match &term.value {
        None => term.name.text.clone(),
        Some(TermValue::Word(value)) => format!("{} = {}", term.name.text, value.text),
        Some(TermValue::Quoted(value)) => format!("{} = \"{}\"", term.name.text, value.text),
    }
}

/// The meaning of one term, or why it has none.
fn term(term: &AllowTerm) -> Result<Allow, Diagnostic> {
    let word = term.name.text.as_str();
    match (word, &term.value) {
        ("root", None) => Ok(Allow::Root),
        ("owner", None) => Ok(Allow::Owner),
        ("root" | "owner", Some(_)) => Err(Diagnostic::new(
            ErrorCode::UnexpectedAllowValue,
            format!("`{word}` takes no value"),
            term.span.clone(),
            format!("write `{word}` alone"),
        )
        .with_help(
            "`root` is uid 0 and `owner` the uid the daemon runs as; for another user write \
             `uid = N`",
        )),
        ("uid" | "gid", value) => id(term, value).map(|id| match word {
            "uid" => Allow::Uid(id),
            _ => Allow::Gid(id),
        }),
        ("group", value) => group(term, value).map(Allow::Group),
        _ => Err(unknown(term)),
    }
}

/// The number of a `uid`/`gid` term.
fn id(term: &AllowTerm, value: &Option<TermValue>) -> Result<u32, Diagnostic> {
    let word = &term.name.text;
    let (message, span, label) = match value {
        Some(TermValue::Word(number)) if number.text.bytes().all(|b| b.is_ascii_digit()) => {
            match number.text.parse::<u32>() {
                Ok(id) => return Ok(id),
                Err(_) => (
                    format!("`{word}` {} is out of range", number.text),
                    &number.span,
                    "more than 4294967295",
                ),
            }
        }
        Some(TermValue::Word(value) | TermValue::Quoted(value)) => (
            format!("`{word}` must be a decimal number"),
            &value.span,
            "not a number",
        ),
        None => (format!("`{word}` needs a number"), &term.span, "no `= N`"),
    };
    Err(
        Diagnostic::new(ErrorCode::InvalidAllowId, message, span.clone(), label).with_help(
            format!("write e.g. `{word} = 1000`: a number from 0 to 4294967295"),
        ),
    )
}

/// The name of a `group` term.
fn group(term: &AllowTerm, value: &Option<TermValue>) -> Result<String, Diagnostic> {
    let (message, span, label) = match value {
        Some(TermValue::Quoted(name)) => {
            let text = name.text.as_str();
            let valid_start = text
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
            let valid_rest = text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if valid_start && valid_rest && text.len() <= MAX_GROUP_NAME {
                return Ok(text.to_owned());
            }
            let label = if text.len() > MAX_GROUP_NAME {
                format!("{} bytes, more than {MAX_GROUP_NAME}", text.len())
            } else {
                "not a group name".to_owned()
            };
            (format!("invalid group name \"{text}\""), &name.span, label)
        }
        Some(TermValue::Word(name)) => (
            "a group name must be quoted".to_owned(),
            &name.span,
            format!("write \"{}\"", name.text),
        ),
        None => (
            "`group` needs a name".to_owned(),
            &term.span,
            "no `= \"name\"`".to_owned(),
        ),
    };
    Err(
        Diagnostic::new(ErrorCode::InvalidAllowGroup, message, span.clone(), label).with_help(
            format!(
                "write e.g. `group = \"admin\"`: a letter or `_`, then letters, digits, `_`, `.` \
                 or `-`, at most {MAX_GROUP_NAME} bytes"
            ),
        ),
    )
}

/// A term that is none of [`TERM_NAMES`], with the closest one when it is a typo.
fn unknown(term: &AllowTerm) -> Diagnostic {
    let word = term.name.text.as_str();
    let diagnostic = Diagnostic::new(
        ErrorCode::UnknownAllowTerm,
        format!("unknown `@allow` term `{word}`"),
        term.name.span.clone(),
        "not an access term",
    );
    match closest(word, TERM_NAMES) {
        Some(candidate) => diagnostic.with_help(format!("did you mean `{candidate}`?")),
        None => diagnostic
            .with_help("a term is `root`, `owner`, `uid = N`, `gid = N` or `group = \"name\"`"),
    }
}
