//! The text of a [`SpecDiff`]: one line per change, `+` added, `-` removed, `~` changed, members
//! indented under their item, and the fingerprint last.

use std::fmt;

use super::{Changed, ItemChange, MemberChange, SpecDiff};

/// How many hex digits of a fingerprint the report shows, as git abbreviates commits.
const FINGERPRINT_DIGITS: usize = 12;

impl fmt::Display for SpecDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(
                f,
                "no protocol changes (fingerprint {})",
                abbreviated(&self.fingerprint.new)
            );
        }
        if let Some(Changed { old, new }) = &self.namespace {
            writeln!(f, "~ namespace {old} → {new}")?;
        }
        if let Some(Changed { old, new }) = &self.class {
            writeln!(f, "~ class {old} → {new}")?;
        }
        if let Some(Changed { old, new }) = &self.socket {
            writeln!(f, "~ socket {} → {}", socket(old), socket(new))?;
        }
        for item in &self.items {
            match item {
                ItemChange::Added { declaration, .. } => writeln!(f, "+ {declaration}")?,
                ItemChange::Removed { declaration, .. } => writeln!(f, "- {declaration}")?,
                ItemChange::Changed {
                    kind,
                    name,
                    changes,
                } => {
                    writeln!(f, "~ {} {name}", kind.keyword())?;
                    let member = kind.member();
                    for change in changes {
                        write!(f, "    ")?;
                        match change {
                            MemberChange::Added { name, ty } => {
                                writeln!(f, "+ {member} {name}: {ty}")?;
                            }
                            MemberChange::Removed { name, ty } => {
                                writeln!(f, "- {member} {name}: {ty}")?;
                            }
                            MemberChange::Retyped { name, ty } => {
                                writeln!(f, "~ {member} {name}: {} → {}", ty.old, ty.new)?;
                            }
                            MemberChange::Reordered(order) => writeln!(
                                f,
                                "~ {member} order: {} → {}",
                                order.old.join(", "),
                                order.new.join(", ")
                            )?,
                            MemberChange::Returns(Changed { old, new }) => writeln!(
                                f,
                                "~ returns {} → {}",
                                old.as_deref().unwrap_or("nothing"),
                                new.as_deref().unwrap_or("nothing")
                            )?,
                            MemberChange::Allow(Changed { old, new }) => writeln!(
                                f,
                                "~ allowed {} → {}",
                                allowed(old.as_deref()),
                                allowed(new.as_deref())
                            )?,
                        }
                    }
                }
            }
        }
        writeln!(
            f,
            "fingerprint {} → {}: rebuild the daemon and every app together",
            abbreviated(&self.fingerprint.old),
            abbreviated(&self.fingerprint.new)
        )
    }
}

/// An effective rule as written in a spec, or who may when there is none.
fn allowed(rule: Option<&str>) -> String {
    rule.map_or_else(|| "anyone".to_owned(), |terms| format!("@allow({terms})"))
}

fn socket(folder: &Option<String>) -> &str {
    folder.as_deref().unwrap_or("(default folder)")
}

fn abbreviated(fingerprint: &str) -> &str {
    fingerprint.get(..FINGERPRINT_DIGITS).unwrap_or(fingerprint)
}
