//! Semantic checks: turns a parsed [`crate::spec`] AST into a [`CheckedSpec`], or reports every
//! problem found as diagnostics. Never does I/O.

mod checked_spec;

pub use checked_spec::{CheckedSpec, Doc, Event, Exception, Field, Method, Model, Primitive, Type};
