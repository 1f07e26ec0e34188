//! The checked spec: what the code generator consumes. Every name in it is a valid, unique
//! identifier and every type is resolved, so consumers never re-validate.
//!
//! Built only by the checker (`check::check`); it has no spans because nothing downstream
//! reports errors against the source.

/// A spec that passed every check. Items keep their declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSpec {
    /// File name the spec was read from (e.g. `student.lmspc`), for generated headers.
    pub source_name: String,
    /// Dotted namespace, e.g. `com.pcthingz.libmedium.student`.
    pub namespace: String,
    /// The class name, e.g. `StudentSystem`.
    pub class: String,
    /// The `socket` base folder, if the spec names one.
    pub socket: Option<String>,
    pub models: Vec<Model>,
    pub exceptions: Vec<Exception>,
    pub methods: Vec<Method>,
    pub events: Vec<Event>,
}

/// Documentation lines taken from the comment lines directly above an item, without the
/// comment markers and with one leading space stripped.
pub type Doc = Vec<String>;

/// `model Name{ … }`: a struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub name: String,
    pub doc: Doc,
    pub fields: Vec<Field>,
}

/// A model member, or a method/event parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub doc: Doc,
    pub ty: Type,
}

/// `exception Name`: a typed error a method can raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub name: String,
    pub doc: Doc,
}

/// `method name(params): Ret`: a call from app to daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    pub name: String,
    pub doc: Doc,
    pub params: Vec<Field>,
    /// `None` when the method returns nothing.
    pub returns: Option<Type>,
    /// Who may call it: its own `@allow`, else the class default; `None`: anyone.
    pub allow: Option<AllowRule>,
}

/// `event name(params)`: pushed by the daemon to all apps or one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub doc: Doc,
    pub params: Vec<Field>,
    /// Who may subscribe: its own `@allow`, else the class default; `None`: anyone.
    pub allow: Option<AllowRule>,
}

/// An effective `@allow` rule: terms OR-ed, never none, each once, in canonical order
/// (PROTOCOL.md §12), so equal rules compare equal however they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule(Vec<Allow>);

impl AllowRule {
    /// The rule made of `terms`; `None` when there are none (an empty rule would let nobody in,
    /// which the language cannot say).
    pub fn new(mut terms: Vec<Allow>) -> Option<AllowRule> {
        terms.sort();
        terms.dedup();
        (!terms.is_empty()).then_some(AllowRule(terms))
    }

    /// The terms, in canonical order.
    pub fn terms(&self) -> &[Allow] {
        &self.0
    }
}

/// One term of an `@allow` rule. The variant order is the canonical order of terms; ids
/// sort by value and group names by their bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Allow {
    /// uid 0.
    Root,
    /// The uid the daemon runs as.
    Owner,
    Uid(u32),
    /// A peer whose primary or a supplementary group is this gid.
    Gid(u32),
    /// A group by name, resolved to a gid when the daemon starts.
    Group(String),
}

/// A resolved type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    Primitive(Primitive),
    /// A model declared in the same spec (anywhere in the file).
    Model(String),
    /// `*T`.
    List(Box<Type>),
}

/// The spec language's built-in types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    Boolean,
    Int8,
    Uint8,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Int64,
    Uint64,
    Float,
    Double,
    String,
    Binary,
    /// A file descriptor, passed beside the frame (`SCM_RIGHTS`, PROTOCOL.md §3.1).
    Fd,
}

impl Primitive {
    /// Every primitive, in the order the spec language documents them.
    pub const ALL: [Primitive; 14] = [
        Primitive::Boolean,
        Primitive::Int8,
        Primitive::Uint8,
        Primitive::Int16,
        Primitive::Uint16,
        Primitive::Int32,
        Primitive::Uint32,
        Primitive::Int64,
        Primitive::Uint64,
        Primitive::Float,
        Primitive::Double,
        Primitive::String,
        Primitive::Binary,
        Primitive::Fd,
    ];

    /// The keyword that names this type in a spec.
    pub fn keyword(self) -> &'static str {
        match self {
            Primitive::Boolean => "boolean",
            Primitive::Int8 => "int8",
            Primitive::Uint8 => "uint8",
            Primitive::Int16 => "int16",
            Primitive::Uint16 => "uint16",
            Primitive::Int32 => "int32",
            Primitive::Uint32 => "uint32",
            Primitive::Int64 => "int64",
            Primitive::Uint64 => "uint64",
            Primitive::Float => "float",
            Primitive::Double => "double",
            Primitive::String => "string",
            Primitive::Binary => "binary",
            Primitive::Fd => "fd",
        }
    }

    /// The primitive a keyword names, if any.
    pub fn from_keyword(word: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.keyword() == word)
    }
}

impl CheckedSpec {
    /// The model with this name. Every `Type::Model` in a checked spec resolves.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }
}

impl Type {
    /// The type a list holds at its innermost level (`**fd` → `fd`), or the type itself.
    pub fn innermost(&self) -> &Type {
        let mut ty = self;
        while let Type::List(item) = ty {
            ty = item;
        }
        ty
    }
}

impl CheckedSpec {
    /// What the spec declares, for status lines: `1 model, 1 exception, 2 methods, 1 event`.
    pub fn summary(&self) -> String {
        let count = |n: usize, noun: &str| {
            if n == 1 {
                format!("1 {noun}")
            } else {
                format!("{n} {noun}s")
            }
        };
        format!(
            "{}, {}, {}, {}",
            count(self.models.len(), "model"),
            count(self.exceptions.len(), "exception"),
            count(self.methods.len(), "method"),
            count(self.events.len(), "event"),
        )
    }
}
