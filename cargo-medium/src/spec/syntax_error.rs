//! Turns a pest error into a [`Diagnostic`] that says, in the language's own words, what was
//! expected and what was found. Users never see pest's rule names.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::parser::Rule;
use crate::diagnostic::{Diagnostic, ErrorCode, Span, join_list};

/// What a parse error may say was expected. Order matters: it is the order of the list shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expected {
    Item,
    Name,
    Member,
    Param,
    Type,
    Term,
    TermValue,
    NamespacePath,
    SocketPath,
    Token(&'static str),
    EndOfLine,
    EndOfFile,
}

const KEYWORDS: [&str; 7] = [
    "namespace",
    "class",
    "socket",
    "model",
    "exception",
    "method",
    "event",
];

impl Expected {
    /// What a rule stands for in a message; `None` for rules too generic to be worth naming
    /// (a comment or blank line is always acceptable where an item is).
    fn of(rule: Rule) -> Option<Expected> {
        Some(match rule {
            Rule::namespace_decl
            | Rule::class_decl
            | Rule::socket_decl
            | Rule::model_decl
            | Rule::exception_decl
            | Rule::method_decl
            | Rule::event_decl
            | Rule::kw_namespace
            | Rule::kw_class
            | Rule::kw_socket
            | Rule::kw_model
            | Rule::kw_exception
            | Rule::kw_method
            | Rule::kw_event
            | Rule::allow_attr
            | Rule::kw_allow => Expected::Item,
            Rule::name => Expected::Name,
            Rule::member => Expected::Member,
            Rule::param => Expected::Param,
            Rule::ty | Rule::type_name => Expected::Type,
            Rule::allow_term | Rule::term_name => Expected::Term,
            Rule::term_word | Rule::quoted_text => Expected::TermValue,
            Rule::namespace_path => Expected::NamespacePath,
            Rule::socket_path => Expected::SocketPath,
            Rule::colon => Expected::Token(":"),
            Rule::comma => Expected::Token(","),
            Rule::equals => Expected::Token("="),
            Rule::open_paren => Expected::Token("("),
            Rule::close_paren => Expected::Token(")"),
            Rule::open_brace => Expected::Token("{"),
            Rule::close_brace => Expected::Token("}"),
            Rule::line_end => Expected::EndOfLine,
            Rule::EOI => Expected::EndOfFile,
            Rule::spec
            | Rule::comment_line
            | Rule::comment
            | Rule::blank_line
            | Rule::WHITESPACE
            | Rule::entry
            | Rule::statement
            | Rule::trailing_comment
            | Rule::token_char
            | Rule::value_char
            | Rule::term_char
            | Rule::term_value
            | Rule::model_entry
            | Rule::params
            | Rule::next_item => return None,
        })
    }

    fn describe(self) -> String {
        match self {
            Expected::Item => format!(
                "an item ({})",
                join_list(&KEYWORDS.map(|keyword| format!("`{keyword}`")), "or")
            ),
            Expected::Name => "a name".to_owned(),
            Expected::Member => "a member `name: type`".to_owned(),
            Expected::Param => "a parameter `name: type`".to_owned(),
            Expected::Type => "a type such as `string`, `*T` or a model name".to_owned(),
            Expected::Term => "an access term such as `root`, `owner` or `uid = 1000`".to_owned(),
            Expected::TermValue => "a number or a quoted group name".to_owned(),
            Expected::NamespacePath => {
                "a dotted namespace such as `com.example.student`".to_owned()
            }
            Expected::SocketPath => "a socket folder such as `/run/student`".to_owned(),
            Expected::Token(token) => format!("`{token}`"),
            Expected::EndOfLine => "end of line".to_owned(),
            Expected::EndOfFile => "end of file".to_owned(),
        }
    }
}

/// The diagnostic for a pest error on `text`.
pub(super) fn to_diagnostic(error: &Error<Rule>, text: &str) -> Diagnostic {
    let position = match error.location {
        InputLocation::Pos(position) => position,
        InputLocation::Span((start, _)) => start,
    };
    let mut expected: Vec<Expected> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives
            .iter()
            .filter_map(|&rule| Expected::of(rule))
            .collect(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.sort();
    expected.dedup();
    // Where an item may start or a line end, so may the file; saying so adds nothing.
    if expected.contains(&Expected::Item) || expected.contains(&Expected::EndOfLine) {
        expected.retain(|e| *e != Expected::EndOfFile);
    }
    // Inside a model, pest names the member's first token; the member is what is missing.
    if expected.contains(&Expected::Token("}")) {
        for e in &mut expected {
            if *e == Expected::Name {
                *e = Expected::Member;
            }
        }
    }
    if let Some(diagnostic) = unclosed_model(error, text, position, &expected) {
        return diagnostic;
    }
    let (found, span) = found_at(text, position);
    let wanted = join_list(
        &expected.iter().map(|e| e.describe()).collect::<Vec<_>>(),
        "or",
    );
    let (message, label) = if wanted.is_empty() {
        (format!("unexpected {found}"), "unexpected here".to_owned())
    } else {
        (
            format!("expected {wanted}, found {found}"),
            format!("expected {wanted}"),
        )
    };
    let diagnostic = Diagnostic::new(ErrorCode::Syntax, message, span.clone(), label);
    match hint(text, &span, &expected) {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
}

/// A model whose `}` is missing, reported as rustc reports an unclosed delimiter: at the `{`,
/// naming the model, rather than where the parser noticed (the next item's second word:
/// "expected `:`, found `StudentNotFound`", or the end of the file).
fn unclosed_model(
    error: &Error<Rule>,
    text: &str,
    position: usize,
    expected: &[Expected],
) -> Option<Diagnostic> {
    // A keyword rule matching where it must not can only be the grammar's `next_item`.
    let next_item = match &error.variant {
        ErrorVariant::ParsingError { negatives, .. } => negatives
            .iter()
            .any(|&rule| Expected::of(rule) == Some(Expected::Item)),
        ErrorVariant::CustomError { .. } => false,
    };
    let rest = text.get(position..).unwrap_or("");
    let at_end = expected.contains(&Expected::Token("}")) && rest.trim().is_empty();
    if !next_item && !at_end {
        return None;
    }
    let (name, brace) = open_model(text, position)?;
    let mut diagnostic = Diagnostic::new(
        ErrorCode::Syntax,
        format!("unclosed model `{name}`"),
        brace,
        "this `{` is never closed",
    );
    if next_item {
        let keyword_at = position + (rest.len() - rest.trim_start().len());
        let (_, keyword) = found_at(text, keyword_at);
        diagnostic = diagnostic.with_label(keyword, "the next item starts here");
    }
    Some(diagnostic.with_help(format!("end `{name}` with a `}}` on a line of its own")))
}

/// The name and the `{` of the model the parser was inside at `position`: the last `{` before
/// it outside comments (a model's body holds no other), and the last word before that `{`.
fn open_model(text: &str, position: usize) -> Option<(String, Span)> {
    let mut code = Vec::new();
    let mut line_start = 0;
    for line in text[..position].split_inclusive('\n') {
        code.push((line_start, &line[..line.find("//").unwrap_or(line.len())]));
        line_start += line.len();
    }
    let brace_line = code.iter().rposition(|(_, line)| line.contains('{'))?;
    let (start, line) = code[brace_line];
    let brace = start + line.rfind('{')?;
    let name = code[..=brace_line]
        .iter()
        .rev()
        .map(|&(start, line)| &line[..line.len().min(brace - start)])
        .flat_map(|line| line.split_whitespace().rev())
        .next()?;
    Some((name.to_owned(), brace..brace + 1))
}

/// Advice for the mistakes people make most, recognised from what was found where.
fn hint(text: &str, span: &Span, expected: &[Expected]) -> Option<String> {
    let found = &text[span.clone()];
    let before = &text[..span.start];
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    if expected.contains(&Expected::Item)
        && let Some(keyword) = KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(found))
    {
        return Some(format!("keywords are lowercase: write `{keyword}`"));
    }
    if expected.contains(&Expected::Type) && line.ends_with('*') && found.trim().is_empty() {
        return Some("write list types without spaces, e.g. `*string`".to_owned());
    }
    if expected.contains(&Expected::EndOfLine) {
        if found == "}" {
            return Some("a model's closing `}` goes on a line of its own".to_owned());
        }
        if found == ":" && line.trim_start().starts_with("event") {
            return Some("events have no return type: nobody answers an event".to_owned());
        }
    }
    None
}

/// Describes the input at `position` ("`foo`", "end of line", "end of file") and the span to
/// underline: the whole word there, or the single delimiter.
fn found_at(text: &str, position: usize) -> (String, Span) {
    let rest = text.get(position..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        // Point just after the last thing written, as rustc does, not at a line past it.
        let end = text.trim_end().len();
        return ("end of file".to_owned(), end..end);
    };
    // Pest stops inside a token on a space only where spaces are not allowed (`* string`).
    if first == ' ' || first == '\t' {
        let len = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        return ("a space".to_owned(), position..position + len);
    }
    if first == '\n' || first == '\r' {
        return ("end of line".to_owned(), position..position);
    }
    let is_delimiter = |c: char| c.is_whitespace() || "(){}:,*".contains(c);
    let word_len = rest.find(is_delimiter).unwrap_or(rest.len());
    let len = if word_len == 0 {
        first.len_utf8()
    } else {
        word_len
    };
    let span = position..position + len;
    (format!("`{}`", &text[span.clone()]), span)
}
