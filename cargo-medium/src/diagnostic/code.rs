//! Stable error codes. Each code means one kind of problem forever: new problems get new codes,
//! retired codes are never reused. GRAMMAR.md lists them; a test keeps the two in step.

use std::fmt;

/// What kind of problem a [`super::Diagnostic`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The text does not follow the grammar.
    Syntax,
    /// Two models/exceptions/methods/events share a name.
    DuplicateName,
    /// A type is neither a primitive nor a model.
    UnknownType,
    /// Two members of a model, or two parameters, share a name.
    DuplicateField,
    /// A model contains itself without a list in between.
    RecursiveModel,
    /// A name is not an identifier.
    InvalidName,
    /// Two different names become the same after case conversion.
    CaseCollision,
    /// No `namespace` line.
    MissingNamespace,
    /// No `class` line.
    MissingClass,
    /// A `namespace`, `class` or `socket` line appears twice.
    RepeatedHeader,
    /// The namespace is not dotted identifiers.
    InvalidNamespace,
    /// A list type is nested deeper than the language allows.
    ListTooDeep,
    /// An `@allow` term that is not `root`, `owner`, `uid`, `gid` or `group`.
    UnknownAllowTerm,
    /// The same `@allow` term twice in one attribute.
    DuplicateAllowTerm,
    /// `@allow()`: an attribute with no terms.
    EmptyAllow,
    /// An `@allow` line not followed by a method, event or class.
    MisplacedAllow,
    /// A `uid`/`gid` term without a decimal number from 0 to 4294967295.
    InvalidAllowId,
    /// A `group` term without a valid quoted group name.
    InvalidAllowGroup,
    /// A value given to `root` or `owner`, which take none.
    UnexpectedAllowValue,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::Syntax,
        ErrorCode::DuplicateName,
        ErrorCode::UnknownType,
        ErrorCode::DuplicateField,
        ErrorCode::RecursiveModel,
        ErrorCode::InvalidName,
        ErrorCode::CaseCollision,
        ErrorCode::MissingNamespace,
        ErrorCode::MissingClass,
        ErrorCode::RepeatedHeader,
        ErrorCode::InvalidNamespace,
        ErrorCode::ListTooDeep,
        ErrorCode::UnknownAllowTerm,
        ErrorCode::DuplicateAllowTerm,
        ErrorCode::EmptyAllow,
        ErrorCode::MisplacedAllow,
        ErrorCode::InvalidAllowId,
        ErrorCode::InvalidAllowGroup,
        ErrorCode::UnexpectedAllowValue,
    ];

    /// The code as shown in `error[E0003]`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Syntax => "E0001",
            ErrorCode::DuplicateName => "E0002",
            ErrorCode::UnknownType => "E0003",
            ErrorCode::DuplicateField => "E0004",
            ErrorCode::RecursiveModel => "E0005",
            ErrorCode::InvalidName => "E0006",
            ErrorCode::CaseCollision => "E0007",
            ErrorCode::MissingNamespace => "E0008",
            ErrorCode::MissingClass => "E0009",
            ErrorCode::RepeatedHeader => "E0010",
            ErrorCode::InvalidNamespace => "E0011",
            ErrorCode::ListTooDeep => "E0012",
            ErrorCode::UnknownAllowTerm => "E0013",
            ErrorCode::DuplicateAllowTerm => "E0014",
            ErrorCode::EmptyAllow => "E0015",
            ErrorCode::MisplacedAllow => "E0016",
            ErrorCode::InvalidAllowId => "E0017",
            ErrorCode::InvalidAllowGroup => "E0018",
            ErrorCode::UnexpectedAllowValue => "E0019",
        }
    }

    /// A one-line description, as GRAMMAR.md's table gives it.
    pub fn description(self) -> &'static str {
        match self {
            ErrorCode::Syntax => "syntax error",
            ErrorCode::DuplicateName => "name defined more than once",
            ErrorCode::UnknownType => "unknown type",
            ErrorCode::DuplicateField => "member or parameter defined more than once",
            ErrorCode::RecursiveModel => "model contains itself without a list in between",
            ErrorCode::InvalidName => "name is not an identifier",
            ErrorCode::CaseCollision => "names collide after case conversion",
            ErrorCode::MissingNamespace => "missing `namespace`",
            ErrorCode::MissingClass => "missing `class`",
            ErrorCode::RepeatedHeader => "`namespace`, `class` or `socket` given more than once",
            ErrorCode::InvalidNamespace => "namespace is not dotted identifiers",
            ErrorCode::ListTooDeep => "list type nested too deeply",
            ErrorCode::UnknownAllowTerm => "unknown `@allow` term",
            ErrorCode::DuplicateAllowTerm => "`@allow` term given more than once",
            ErrorCode::EmptyAllow => "`@allow` with no terms",
            ErrorCode::MisplacedAllow => "`@allow` not followed by a method, event or class",
            ErrorCode::InvalidAllowId => "`uid` or `gid` not a number from 0 to 4294967295",
            ErrorCode::InvalidAllowGroup => "`group` not a valid quoted group name",
            ErrorCode::UnexpectedAllowValue => "`root` or `owner` given a value",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
