//! The checker: walks a parsed spec once, resolving types and validating names, and either
//! builds the [`CheckedSpec`] or returns every problem it found.

use std::collections::HashSet;

use super::access::AccessRules;
use super::checked_spec::{AllowRule, CheckedSpec, Event, Exception, Field, Method, Model, Type};
use super::names::{Case, Scope, is_identifier, not_an_identifier};
use super::recursion::{ModelEdges, find_cycles};
use super::types::TypeResolver;
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::spec::ast::{EventDecl, FieldDecl, Header, Item, MethodDecl, ModelDecl, Spec, TypeRef};

/// Checks a parsed spec read from `source_name`. On failure returns all diagnostics found, not
/// just the first.
pub fn check(spec: &Spec, source_name: &str) -> Result<CheckedSpec, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let headers = Headers::collect(spec, &mut diagnostics);
    declare_items(spec, &mut diagnostics);
    let access = AccessRules::collect(spec, &mut diagnostics);
    let mut checker = Checker {
        resolver: TypeResolver::new(
            spec.items.iter().filter_map(|item| match item {
                Item::Model(model) => Some(model.name.text.as_str()),
                _ => None,
            }),
            spec.items.iter().filter_map(|item| match item {
                Item::Exception(exception) => Some(exception.name.text.as_str()),
                _ => None,
            }),
        ),
        diagnostics,
        model_edges: Vec::new(),
    };
    let mut checked = CheckedItems::default();
    for (index, item) in spec.items.iter().enumerate() {
        match item {
            Item::Namespace(_) | Item::Class(_) | Item::Socket(_) | Item::Allow(_) => {}
            Item::Model(model) => checked.models.push(checker.model(model)),
            Item::Exception(exception) => checked.exceptions.push(Exception {
                name: exception.name.text.clone(),
                doc: exception.doc.clone(),
            }),
            Item::Method(method) => checked
                .methods
                .push(checker.method(method, access.effective(index))),
            Item::Event(event) => checked
                .events
                .push(checker.event(event, access.effective(index))),
        }
    }
    let diagnostics = checker.finish();
    match (headers.namespace, headers.class) {
        (Some(namespace), Some(class)) if diagnostics.is_empty() => Ok(CheckedSpec {
            source_name: source_name.to_owned(),
            namespace: namespace.value.text.clone(),
            class: class.value.text.clone(),
            socket: headers.socket.map(|socket| socket.value.text.clone()),
            models: checked.models,
            exceptions: checked.exceptions,
            methods: checked.methods,
            events: checked.events,
        }),
        _ => Err(diagnostics),
    }
}

/// The checked items, gathered in declaration order.
#[derive(Debug, Default)]
struct CheckedItems {
    models: Vec<Model>,
    exceptions: Vec<Exception>,
    methods: Vec<Method>,
    events: Vec<Event>,
}

/// Checks items one by one, collecting diagnostics and the model containment graph.
#[derive(Debug)]
struct Checker<'a> {
    resolver: TypeResolver<'a>,
    diagnostics: Vec<Diagnostic>,
    model_edges: Vec<ModelEdges<'a>>,
}

impl<'a> Checker<'a> {
    fn model(&mut self, model: &'a ModelDecl) -> Model {
        let owner = format!("model `{}`", model.name.text);
        let fields = self.fields(&model.members, owner, "member");
        // A member whose type is a model, not in a list, makes the model contain that model.
        let contains = model
            .members
            .iter()
            .zip(&fields)
            .filter(|(decl, field)| {
                decl.ty.list_depth == 0
                    && field
                        .as_ref()
                        .is_some_and(|field| matches!(field.ty, Type::Model(_)))
            })
            .map(|(decl, _)| (decl.ty.name.text.as_str(), decl.ty.span.clone()))
            .collect();
        self.model_edges.push(ModelEdges {
            name: &model.name.text,
            contains,
        });
        Model {
            name: model.name.text.clone(),
            doc: model.doc.clone(),
            fields: fields.into_iter().flatten().collect(),
        }
    }

    fn method(&mut self, method: &MethodDecl, allow: Option<AllowRule>) -> Method {
        let owner = format!("method `{}`", method.name.text);
        let params = self.fields(&method.params, owner, "parameter");
        Method {
            name: method.name.text.clone(),
            doc: method.doc.clone(),
            params: params.into_iter().flatten().collect(),
            returns: method.returns.as_ref().and_then(|ty| self.resolve(ty)),
            allow,
        }
    }

    fn event(&mut self, event: &EventDecl, allow: Option<AllowRule>) -> Event {
        let owner = format!("event `{}`", event.name.text);
        let params = self.fields(&event.params, owner, "parameter");
        Event {
            name: event.name.text.clone(),
            doc: event.doc.clone(),
            params: params.into_iter().flatten().collect(),
            allow,
        }
    }

    fn resolve(&mut self, ty: &TypeRef) -> Option<Type> {
        self.resolver
            .resolve(ty)
            .map_err(|diagnostic| self.diagnostics.push(diagnostic))
            .ok()
    }

    /// Checks the members or parameters of `owner`; each field is `None` where its type did
    /// not resolve.
    fn fields(
        &mut self,
        decls: &[FieldDecl],
        owner: String,
        kind: &'static str,
    ) -> Vec<Option<Field>> {
        let mut scope = Scope::fields(owner);
        decls
            .iter()
            .map(|decl| {
                scope.declare(&decl.name, kind, Case::Snake, &mut self.diagnostics);
                Some(Field {
                    name: decl.name.text.clone(),
                    doc: decl.doc.clone(),
                    ty: self.resolve(&decl.ty)?,
                })
            })
            .collect()
    }

    /// Runs the whole-spec recursion check and returns every diagnostic.
    fn finish(mut self) -> Vec<Diagnostic> {
        // Only the first of two same-named models is looked up; the duplicate is reported.
        let mut seen = HashSet::new();
        self.model_edges.retain(|model| seen.insert(model.name));
        self.diagnostics.extend(find_cycles(&self.model_edges));
        self.diagnostics
    }
}

/// Puts the models, exceptions, methods and events in their shared scope.
fn declare_items(spec: &Spec, diagnostics: &mut Vec<Diagnostic>) {
    let mut scope = Scope::items();
    for item in &spec.items {
        let (kind, case) = match item {
            Item::Namespace(_) | Item::Class(_) | Item::Socket(_) | Item::Allow(_) => continue,
            Item::Model(_) => ("model", Case::UpperCamel),
            Item::Exception(_) => ("exception", Case::UpperCamel),
            Item::Method(_) => ("method", Case::Snake),
            Item::Event(_) => ("event", Case::Snake),
        };
        if let Some(name) = item.declared_name() {
            scope.declare(name, kind, case, diagnostics);
        }
    }
}

/// The `namespace`, `class` and `socket` lines: each at most once, the first two required.
#[derive(Debug, Default)]
struct Headers<'a> {
    namespace: Option<&'a Header>,
    class: Option<&'a Header>,
    socket: Option<&'a Header>,
}

impl<'a> Headers<'a> {
    fn collect(spec: &'a Spec, diagnostics: &mut Vec<Diagnostic>) -> Self {
        let mut headers = Headers::default();
        for item in &spec.items {
            let (slot, header, keyword) = match item {
                Item::Namespace(header) => {
                    check_namespace(header, diagnostics);
                    (&mut headers.namespace, header, "namespace")
                }
                Item::Class(header) => {
                    if !is_identifier(&header.value.text) {
                        diagnostics.push(not_an_identifier(&header.value));
                    }
                    (&mut headers.class, header, "class")
                }
                Item::Socket(header) => (&mut headers.socket, header, "socket"),
                _ => continue,
            };
            match *slot {
                Some(first) => diagnostics.push(
                    Diagnostic::new(
                        ErrorCode::RepeatedHeader,
                        format!("`{keyword}` is given more than once"),
                        header.span.clone(),
                        format!("second `{keyword}` line"),
                    )
                    .with_label(first.span.clone(), "first given here")
                    .with_help(format!(
                        "a spec has one `{keyword}` line; remove one of them"
                    )),
                ),
                None => *slot = Some(header),
            }
        }
        if headers.namespace.is_none() {
            diagnostics.push(missing(
                ErrorCode::MissingNamespace,
                "namespace",
                "namespace com.example.student",
            ));
        }
        if headers.class.is_none() {
            diagnostics.push(missing(
                ErrorCode::MissingClass,
                "class",
                "class StudentSystem",
            ));
        }
        headers
    }
}

/// A required header line is absent: points at the top of the file, where it belongs.
fn missing(code: ErrorCode, keyword: &str, example: &str) -> Diagnostic {
    Diagnostic::new(
        code,
        format!("missing `{keyword}` line"),
        0..0,
        format!("the spec has no `{keyword}` line"),
    )
    .with_help(format!("add one at the top of the file, e.g. `{example}`"))
}

/// A namespace is identifiers joined by dots; points at the first segment that is not one.
fn check_namespace(header: &Header, diagnostics: &mut Vec<Diagnostic>) {
    let value = &header.value;
    let mut offset = value.span.start;
    for segment in value.text.split('.') {
        if !is_identifier(segment) {
            let label = if segment.is_empty() {
                "empty part between dots".to_owned()
            } else {
                format!("`{segment}` is not an identifier")
            };
            diagnostics.push(
                Diagnostic::new(
                    ErrorCode::InvalidNamespace,
                    format!("invalid namespace `{}`", value.text),
                    offset..offset + segment.len(),
                    label,
                )
                .with_help("a namespace is identifiers joined by dots, e.g. `com.example.student`"),
            );
            return;
        }
        offset += segment.len() + 1;
    }
}
