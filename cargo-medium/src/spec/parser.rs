//! Runs the pest grammar (`grammar.pest`) and lowers its parse tree into the [`ast`](super::ast) types,
//! attaching doc comments to the item or member directly below them.

use pest::Parser as _;
use pest::iterators::Pair;

use super::ast::{
    AllowAttr, AllowTerm, Doc, EventDecl, ExceptionDecl, FieldDecl, Header, Item, MethodDecl,
    ModelDecl, Name, Spec, TermValue, TypeRef,
};
use super::syntax_error;
use crate::diagnostic::Diagnostics;

#[derive(Debug, pest_derive::Parser)]
#[grammar = "spec/grammar.pest"]
pub(super) struct SpecParser;

/// Parses spec `text` (read from `source_name`, used in diagnostics) into its syntax tree.
///
/// Only syntax is checked here; a syntax error stops parsing, so the result holds exactly one
/// diagnostic. Semantic checks are [`crate::check`]'s.
pub fn parse(source_name: &str, text: &str) -> Result<Spec, Diagnostics> {
    let pairs = SpecParser::parse(Rule::spec, text).map_err(|error| {
        Diagnostics::new(
            source_name,
            text,
            vec![syntax_error::to_diagnostic(&error, text)],
        )
    })?;
    let mut items = Vec::new();
    let mut docs = DocCollector::default();
    for pair in pairs.flat_map(Pair::into_inner) {
        let item = match pair.as_rule() {
            Rule::comment_line | Rule::blank_line => {
                docs.see(&pair);
                continue;
            }
            Rule::namespace_decl => Item::Namespace(header(pair)),
            Rule::class_decl => Item::Class(header(pair)),
            Rule::socket_decl => Item::Socket(header(pair)),
            Rule::model_decl => Item::Model(model(pair, docs.take())),
            Rule::exception_decl => Item::Exception(ExceptionDecl {
                doc: docs.take(),
                name: first_name(pair),
            }),
            Rule::method_decl => Item::Method(method(pair, docs.take())),
            Rule::event_decl => Item::Event(event(pair, docs.take())),
            // Docs may sit above an attribute as well as between it and its item: the run of
            // comments goes on through it.
            Rule::allow_attr => {
                items.push(Item::Allow(allow_attr(pair)));
                continue;
            }
            _ => continue,
        };
        // A header line swallows the comments above it: they document nothing.
        docs.take();
        items.push(item);
    }
    Ok(Spec { items })
}

/// Gathers the run of full-line comments directly above the next item; a blank line breaks
/// the run.
#[derive(Debug, Default)]
struct DocCollector {
    lines: Doc,
}

impl DocCollector {
    /// Records a `comment_line` or forgets everything on a `blank_line`.
    fn see(&mut self, pair: &Pair<'_, Rule>) {
        match pair.as_rule() {
            Rule::comment_line => {
                let text = pair.as_str().trim_end();
                let text = text
                    .strip_prefix("///")
                    .or_else(|| text.strip_prefix("//"))
                    .unwrap_or(text);
                let text = text.strip_prefix(' ').unwrap_or(text);
                self.lines.push(text.to_owned());
            }
            _ => self.lines.clear(),
        }
    }

    fn take(&mut self) -> Doc {
        std::mem::take(&mut self.lines)
    }
}

fn name(pair: &Pair<'_, Rule>) -> Name {
    let span = pair.as_span();
    Name {
        text: pair.as_str().to_owned(),
        span: span.start()..span.end(),
    }
}

/// The `name` a declaration introduces (the grammar gives every declaration exactly one).
fn first_name(pair: Pair<'_, Rule>) -> Name {
    pair.into_inner()
        .find(|inner| inner.as_rule() == Rule::name)
        .map(|inner| name(&inner))
        .expect("the grammar requires a name in every declaration")
}

fn header(pair: Pair<'_, Rule>) -> Header {
    let span = pair.as_span();
    let value = pair
        .into_inner()
        .find(|inner| {
            matches!(
                inner.as_rule(),
                Rule::namespace_path | Rule::name | Rule::socket_path
            )
        })
        .map(|inner| name(&inner))
        .expect("the grammar requires a value on every header line");
    Header {
        span: span.start()..span.end(),
        value,
    }
}

fn type_ref(pair: &Pair<'_, Rule>) -> TypeRef {
    let span = pair.as_span();
    let type_name = pair
        .clone()
        .into_inner()
        .next()
        .map(|inner| name(&inner))
        .expect("the grammar requires a type name in every type");
    TypeRef {
        // Each `*` is one byte, and the name follows the stars directly.
        list_depth: type_name.span.start - span.start(),
        name: type_name,
        span: span.start()..span.end(),
    }
}

/// A `member` or `param` pair: `name: type`.
fn field(pair: Pair<'_, Rule>, doc: Doc) -> FieldDecl {
    let mut name_pair = None;
    let mut ty = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::name => name_pair = Some(name(&inner)),
            Rule::ty => ty = Some(type_ref(&inner)),
            _ => {}
        }
    }
    match (name_pair, ty) {
        (Some(name), Some(ty)) => FieldDecl { doc, name, ty },
        _ => unreachable!("the grammar requires `name: type` in every member and parameter"),
    }
}

fn model(pair: Pair<'_, Rule>, doc: Doc) -> ModelDecl {
    let mut model_name = None;
    let mut members = Vec::new();
    let mut docs = DocCollector::default();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::name => model_name = Some(name(&inner)),
            Rule::comment_line | Rule::blank_line => docs.see(&inner),
            Rule::member => members.push(field(inner, docs.take())),
            _ => {}
        }
    }
    ModelDecl {
        doc,
        name: model_name.expect("the grammar requires a model name"),
        members,
    }
}

/// The name, parameters and return type of a `method_decl` or `event_decl`.
fn signature(pair: Pair<'_, Rule>) -> (Name, Vec<FieldDecl>, Option<TypeRef>) {
    let mut item_name = None;
    let mut params = Vec::new();
    let mut returns = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::name => item_name = Some(name(&inner)),
            Rule::param => params.push(field(inner, Doc::new())),
            Rule::ty => returns = Some(type_ref(&inner)),
            _ => {}
        }
    }
    let item_name = item_name.expect("the grammar requires a name");
    (item_name, params, returns)
}

fn method(pair: Pair<'_, Rule>, doc: Doc) -> MethodDecl {
    let (name, params, returns) = signature(pair);
    MethodDecl {
        doc,
        name,
        params,
        returns,
    }
}

fn event(pair: Pair<'_, Rule>, doc: Doc) -> EventDecl {
    // The grammar gives events no return type.
    let (name, params, _) = signature(pair);
    EventDecl { doc, name, params }
}

fn allow_attr(pair: Pair<'_, Rule>) -> AllowAttr {
    let span = pair.as_span();
    AllowAttr {
        span: span.start()..span.end(),
        terms: pair
            .into_inner()
            .filter(|inner| inner.as_rule() == Rule::allow_term)
            .map(allow_term)
            .collect(),
    }
}

fn allow_term(pair: Pair<'_, Rule>) -> AllowTerm {
    let start = pair.as_span().start();
    // Not the pair's own end: pest leaves the spaces before a `,` in it.
    let mut end = start;
    let mut term_name = None;
    let mut value = None;
    for inner in pair.into_inner() {
        end = inner.as_span().end();
        match inner.as_rule() {
            Rule::term_name => term_name = Some(name(&inner)),
            Rule::term_word => value = Some(TermValue::Word(name(&inner))),
            Rule::quoted_text => {
                let quoted = name(&inner);
                value = Some(TermValue::Quoted(Name {
                    text: quoted.text[1..quoted.text.len() - 1].to_owned(),
                    span: quoted.span,
                }));
            }
            _ => {}
        }
    }
    AllowTerm {
        span: start..end,
        name: term_name.expect("the grammar requires a word in every term"),
        value,
    }
}
