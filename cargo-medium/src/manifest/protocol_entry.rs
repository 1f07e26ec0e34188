//! [`ProtocolEntry`]: one spec recorded in the workspace manifest, so `cargo medium sync` knows
//! what to regenerate and which crates are the user's.
//!
//! The record, one per spec, is an array of tables that sync only ever appends to:
//!
//! ```toml
//! [[workspace.metadata.medium.protocols]]
//! spec = "student.lmspc"                 # relative to the workspace root, `/`-separated
//! protocol = "student-system-protocol"   # GENERATED crate (sync rewrites it)
//! daemon = "student-system-daemon"       # user-owned crate that implements the server trait
//! app = "student-system-app"             # user-owned example app; absent after `--no-app`
//! python = "student_system"              # GENERATED Python package (sync rewrites it); only
//!                                        # with `--python`
//! ```
//!
//! Each crate lives in a directory of the same name directly under the workspace root. The
//! Python package's directory is a path relative to the root, `/`-separated, that stays inside
//! it and out of the record's crates: sync rewrites and removes generated files there, so a
//! record pointing anywhere else is refused when read.

use std::path::{Path, PathBuf};

use toml_edit::{Table, value};

/// One `[[workspace.metadata.medium.protocols]]` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolEntry {
    /// The spec, relative to the workspace root with `/` separators.
    pub spec: String,
    /// Name (and directory) of the generated protocol crate.
    pub protocol: String,
    /// Name (and directory) of the user-owned daemon crate.
    pub daemon: Option<String>,
    /// Name (and directory) of the user-owned example app crate.
    pub app: Option<String>,
    /// Directory of the generated Python package, relative to the workspace root with `/`
    /// separators.
    pub python: Option<String>,
}

impl ProtocolEntry {
    /// Reads a record; `Err` says which key is missing or not a string.
    pub(super) fn from_table(table: &Table) -> Result<ProtocolEntry, String> {
        let required =
            |key: &str| optional(table, key)?.ok_or_else(|| format!("missing the `{key}` key"));
        let entry = ProtocolEntry {
            spec: required("spec")?,
            protocol: required("protocol")?,
            daemon: optional(table, "daemon")?,
            app: optional(table, "app")?,
            python: optional(table, "python")?,
        };
        if let Some(python) = &entry.python {
            let crates = [
                Some(&entry.protocol),
                entry.daemon.as_ref(),
                entry.app.as_ref(),
            ];
            check_python_dir(python, crates.into_iter().flatten())?;
        }
        Ok(entry)
    }

    pub(super) fn to_table(&self) -> Table {
        let mut table = Table::new();
        table.insert("spec", value(&self.spec));
        table.insert("protocol", value(&self.protocol));
        let optional = [
            ("daemon", &self.daemon),
            ("app", &self.app),
            ("python", &self.python),
        ];
        for (key, text) in optional {
            if let Some(text) = text {
                table.insert(key, value(text));
            }
        }
        table
    }

    /// Where the spec lives on disk.
    pub fn spec_path(&self, workspace_root: &Path) -> PathBuf {
        workspace_root.join(&self.spec)
    }

    /// The generated crate's directory.
    pub fn protocol_dir(&self, workspace_root: &Path) -> PathBuf {
        workspace_root.join(&self.protocol)
    }

    /// The generated Python package's directory, if one is recorded.
    pub fn python_dir(&self, workspace_root: &Path) -> Option<PathBuf> {
        let python = self.python.as_deref()?;
        Some(
            python
                .split('/')
                .fold(workspace_root.to_owned(), |dir, part| dir.join(part)),
        )
    }
}

/// Refuses a Python directory sync must not write to: one outside the root (absolute, `..`),
/// the root itself, or a directory of one of the record's `crates` or inside it — the user's
/// crates are never written, and in the protocol crate the two generators would each remove
/// the other's files as obsolete.
fn check_python_dir<'c>(
    python: &str,
    crates: impl IntoIterator<Item = &'c String>,
) -> Result<(), String> {
    let inside_root = !python.is_empty()
        && python
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'));
    if !inside_root {
        return Err(format!(
            "`python` must be a directory inside the workspace, relative to its root and \
             `/`-separated, not `{python}`"
        ));
    }
    let top = python.split('/').next();
    if let Some(name) = crates.into_iter().find(|name| top == Some(name.as_str())) {
        return Err(format!("`python` must not be inside the crate `{name}`"));
    }
    Ok(())
}

fn optional(table: &Table, key: &str) -> Result<Option<String>, String> {
    match table.get(key) {
        None => Ok(None),
        Some(item) => match item.as_str() {
            Some(text) => Ok(Some(text.to_owned())),
            None => Err(format!("`{key}` is not a string")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse::<toml_edit::DocumentMut>()
            .unwrap()
            .as_table()
            .clone()
    }

    #[test]
    fn record_round_trips_through_a_table() {
        let entry = ProtocolEntry {
            spec: "specs/student.lmspc".into(),
            protocol: "student-system-protocol".into(),
            daemon: Some("student-system-daemon".into()),
            app: None,
            python: Some("clients/student_system".into()),
        };
        assert_eq!(ProtocolEntry::from_table(&entry.to_table()), Ok(entry));
    }

    #[test]
    fn python_dir_is_joined_part_by_part_under_the_root() {
        let entry =
            ProtocolEntry::from_table(&table("spec = \"a\"\nprotocol = \"p\"\npython = \"py/a\""))
                .unwrap();
        assert_eq!(
            entry.python_dir(Path::new("/ws")),
            Some(PathBuf::from("/ws/py/a"))
        );
    }

    #[test]
    fn python_dir_outside_the_root_or_in_the_protocol_crate_is_rejected() {
        for python in ["", "/tmp/x", "../x", "a/../../x", ".", "a//b", "a\\b"] {
            let text = format!("spec = \"a\"\nprotocol = \"p\"\npython = {python:?}");
            let err = ProtocolEntry::from_table(&table(&text)).unwrap_err();
            assert!(
                err.starts_with("`python` must be a directory inside"),
                "{python}: {err}"
            );
        }
        let text = "spec = \"a\"\nprotocol = \"p\"\ndaemon = \"d\"\npython = ";
        for (python, name) in [("p/py", "p"), ("d", "d")] {
            let err = ProtocolEntry::from_table(&table(&format!("{text}{python:?}"))).unwrap_err();
            assert_eq!(
                err,
                format!("`python` must not be inside the crate `{name}`")
            );
        }
    }

    #[test]
    fn record_without_protocol_is_rejected_by_key_name() {
        let err = ProtocolEntry::from_table(&table("spec = \"a.lmspc\"")).unwrap_err();
        assert_eq!(err, "missing the `protocol` key");
    }

    #[test]
    fn record_with_a_non_string_value_is_rejected_by_key_name() {
        let err =
            ProtocolEntry::from_table(&table("spec = \"a.lmspc\"\nprotocol = 3")).unwrap_err();
        assert_eq!(err, "`protocol` is not a string");
    }
}
