//! The spec language front end: pest grammar → AST with byte spans. Knows nothing of checking
//! or code generation; syntax errors come back as [`Diagnostics`](crate::diagnostic::Diagnostics) like every other error.

pub mod ast;
mod parser;
mod syntax_error;

pub use parser::parse;

#[cfg(test)]
mod tests;
