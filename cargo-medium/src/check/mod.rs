//! Semantic checks: turns a parsed [`crate::spec`] AST into a [`CheckedSpec`], or reports every
//! problem found as diagnostics. Never does I/O.
//!
//! Also gives a checked spec its canonical text and fingerprint (`canonical.rs`), which the
//! runtime handshake compares.

mod access;
mod canonical;
mod checked_spec;
mod checker;
mod fd_holders;
mod names;
mod recursion;
mod types;

pub use checked_spec::{
    Allow, AllowRule, CheckedSpec, Doc, Event, Exception, Field, Method, Model, Primitive, Type,
};
pub use checker::check;
pub use fd_holders::FdHolders;

use crate::diagnostic::Diagnostics;

/// Parses and checks spec `text` read from `source_name` (the name shown in diagnostics):
/// the whole front end in one call. A syntax error stops at parsing; otherwise every check
/// runs and all errors come back together.
pub fn check_source(source_name: &str, text: &str) -> Result<CheckedSpec, Diagnostics> {
    let file = crate::spec::parse(source_name, text)?;
    check(&file, source_name).map_err(|errors| Diagnostics::new(source_name, text, errors))
}

#[cfg(test)]
mod tests;
