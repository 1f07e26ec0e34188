//! The syntax tree of one spec file, exactly as written: names are unvalidated text and types
//! are unresolved, each with the byte span it came from so the checker can point at it.
//!
//! Nothing here is checked; [`crate::check`] turns a [`Spec`] into a
//! [`crate::check::CheckedSpec`].

use std::ops::Range;

/// A byte range into the spec text.
pub type Span = Range<usize>;

/// Documentation lines from the comment lines directly above an item or member, without the
/// `//`/`///` marker and one following space.
pub type Doc = Vec<String>;

/// A parsed spec file: its items in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub items: Vec<Item>,
}

/// One top-level line (or, for models, block) of a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Namespace(Header),
    Class(Header),
    Socket(Header),
    Model(ModelDecl),
    Exception(ExceptionDecl),
    Method(MethodDecl),
    Event(EventDecl),
    /// An `@allow(…)` line: it applies to the item below it, which the checker finds.
    Allow(AllowAttr),
}

/// Text taken from the spec, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

/// A `namespace`, `class` or `socket` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The whole line's item, keyword included.
    pub span: Span,
    pub value: Name,
}

/// `model Name{ … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDecl {
    pub doc: Doc,
    pub name: Name,
    pub members: Vec<FieldDecl>,
}

/// A model member or a parameter: `name: type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDecl {
    /// Always empty for parameters: only item and member docs are read.
    pub doc: Doc,
    pub name: Name,
    pub ty: TypeRef,
}

/// `exception Name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionDecl {
    pub doc: Doc,
    pub name: Name,
}

/// `method name(params): Ret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodDecl {
    pub doc: Doc,
    pub name: Name,
    pub params: Vec<FieldDecl>,
    pub returns: Option<TypeRef>,
}

/// `event name(params)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDecl {
    pub doc: Doc,
    pub name: Name,
    pub params: Vec<FieldDecl>,
}

/// `@allow(term, …)`, terms unvalidated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowAttr {
    /// The whole attribute, `@allow` to `)`.
    pub span: Span,
    pub terms: Vec<AllowTerm>,
}

/// One term of an `@allow` attribute as written: a word, with an optional `= value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowTerm {
    /// The whole term, value included.
    pub span: Span,
    /// `root`, `uid`, `group`… (or a misspelling of one).
    pub name: Name,
    pub value: Option<TermValue>,
}

/// The value after a term's `=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermValue {
    /// An unquoted word: `1000` (or anything else up to a delimiter).
    Word(Name),
    /// `"admin"`: the text between the quotes, the span including them.
    Quoted(Name),
}

/// A type as written: `list_depth` stars in front of a type name (`**uint8` has depth 2).
///
/// Kept flat rather than nested so that no stage recurses over input-controlled depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRef {
    pub list_depth: usize,
    /// The name after the stars: a primitive keyword or a model name.
    pub name: Name,
    /// The whole type, stars included.
    pub span: Span,
}

impl Item {
    /// The name an item declares in the spec's shared namespace of models, exceptions, methods
    /// and events; `None` for the header lines and attributes.
    pub fn declared_name(&self) -> Option<&Name> {
        match self {
            Item::Namespace(_) | Item::Class(_) | Item::Socket(_) | Item::Allow(_) => None,
            Item::Model(model) => Some(&model.name),
            Item::Exception(exception) => Some(&exception.name),
            Item::Method(method) => Some(&method.name),
            Item::Event(event) => Some(&event.name),
        }
    }
}
