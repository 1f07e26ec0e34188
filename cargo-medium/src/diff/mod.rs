//! What changed between two versions of a spec, as the user sees it: added, removed and changed
//! models, exceptions, methods and events, member by member, and the fingerprint change that
//! follows from them.
//!
//! Pure: two [`CheckedSpec`]s in, a [`SpecDiff`] out, rendered as text by its `Display`. It never
//! reads files or prints; `cargo medium diff` and `cargo medium sync` do that. Docs and
//! declaration order are not compared, because the fingerprint ignores them too: a diff is empty
//! exactly when the fingerprints are equal.
//!
//! [`CheckedSpec`]: crate::check::CheckedSpec

mod report;
mod spec_diff;

pub use spec_diff::{Changed, ItemChange, ItemKind, MemberChange, SpecDiff};

#[cfg(test)]
mod tests;
