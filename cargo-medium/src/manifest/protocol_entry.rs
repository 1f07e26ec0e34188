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
//! ```
//!
//! Each crate lives in a directory of the same name directly under the workspace root.

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
}

impl ProtocolEntry {
    /// Reads a record; `Err` says which key is missing or not a string.
    pub(super) fn from_table(table: &Table) -> Result<ProtocolEntry, String> {
        let required =
            |key: &str| optional(table, key)?.ok_or_else(|| format!("missing the `{key}` key"));
        Ok(ProtocolEntry {
            spec: required("spec")?,
            protocol: required("protocol")?,
            daemon: optional(table, "daemon")?,
            app: optional(table, "app")?,
        })
    }

    pub(super) fn to_table(&self) -> Table {
        let mut table = Table::new();
        table.insert("spec", value(&self.spec));
        table.insert("protocol", value(&self.protocol));
        for (key, crate_name) in [("daemon", &self.daemon), ("app", &self.app)] {
            if let Some(crate_name) = crate_name {
                table.insert(key, value(crate_name));
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
        };
        assert_eq!(ProtocolEntry::from_table(&entry.to_table()), Ok(entry));
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
