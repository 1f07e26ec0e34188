//! cargo-medium: the spec front end, code generator and scaffolder behind `cargo medium`.
//!
//! Data flows one way: [`spec`] (text → AST with spans) → [`check`] (AST → [`check::CheckedSpec`])
//! → [`codegen`] (checked spec → files in memory) → `scaffold`/`sync` (files → disk). Only the
//! last stage does I/O. [`diagnostic`] is the one error type every stage reports with.

pub mod check;
pub mod codegen;
pub mod diagnostic;
pub mod diff;
pub mod git_work_tree;
pub mod inspect;
pub mod manifest;
pub mod registry_cache;
pub mod scaffold;
pub mod shell;
pub mod spec;
pub mod spec_file;
pub mod sync;
pub mod templates;
pub mod writer;
