//! [`WorkspaceManifest`]: a workspace root `Cargo.toml`, edited only by adding.
//!
//! Existing items keep their comments, order and formatting; new items are formatted the way
//! their neighbours are (a member appended to a multi-line `members` array goes on its own line
//! with the same indentation, after any comment on the previous line).

use std::fmt;

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value, value};

use super::{Membership, ProtocolEntry, Requirements};

/// Why a workspace manifest could not be read or extended.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("not valid TOML")]
    // Boxed: a TOML error is large, and every error holding this one would be as large.
    Toml(#[source] Box<toml_edit::TomlError>),
    #[error("it has no `[workspace]` table, so it is not a workspace root")]
    NotAWorkspace,
    #[error("`{key}` is not {expected}")]
    WrongType {
        key: &'static str,
        expected: &'static str,
    },
    #[error(
        "`{key}` is an inline table (`{key} = {{ … }}`), which cargo medium does not edit: \
         write it as a `[{key}]` table"
    )]
    InlineTable { key: &'static str },
    #[error("record {number} of `[[workspace.metadata.medium.protocols]]` is invalid: {reason}")]
    BadRecord { number: usize, reason: String },
}

/// One thing added to a manifest, for status lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestChange {
    Member(String),
    PackageKey(String),
    Dependency(String),
    Protocol(String),
}

impl fmt::Display for ManifestChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestChange::Member(name) => write!(f, "member `{name}`"),
            ManifestChange::PackageKey(key) => write!(f, "`workspace.package.{key}`"),
            ManifestChange::Dependency(name) => write!(f, "workspace dependency `{name}`"),
            ManifestChange::Protocol(spec) => write!(f, "protocol record for `{spec}`"),
        }
    }
}

/// A parsed workspace root manifest.
#[derive(Debug, Clone)]
pub struct WorkspaceManifest {
    doc: DocumentMut,
}

impl WorkspaceManifest {
    pub fn parse(text: &str) -> Result<WorkspaceManifest, ManifestError> {
        let doc: DocumentMut = text.parse().map_err(|e| ManifestError::Toml(Box::new(e)))?;
        if !doc.get("workspace").is_some_and(Item::is_table_like) {
            return Err(ManifestError::NotAWorkspace);
        }
        Ok(WorkspaceManifest { doc })
    }

    /// `[workspace.package] edition`, when the manifest sets it.
    pub fn package_edition(&self) -> Option<&str> {
        self.doc["workspace"]
            .get("package")?
            .get("edition")?
            .as_str()
    }

    /// `[workspace]`'s `members`, `exclude` and `default-members`, as written.
    pub fn membership(&self) -> Result<Membership, ManifestError> {
        let workspace = &self.doc["workspace"];
        let list =
            |key: &str, dotted: &'static str| -> Result<Option<Vec<String>>, ManifestError> {
                let Some(item) = workspace.get(key) else {
                    return Ok(None);
                };
                let array = item.as_array().ok_or(ManifestError::WrongType {
                    key: dotted,
                    expected: "an array",
                })?;
                Ok(Some(
                    array
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                ))
            };
        Ok(Membership {
            members: list("members", "workspace.members")?.unwrap_or_default(),
            exclude: list("exclude", "workspace.exclude")?.unwrap_or_default(),
            default_members: list("default-members", "workspace.default-members")?,
        })
    }

    /// The protocols recorded by `cargo medium new`, in record order.
    pub fn protocols(&self) -> Result<Vec<ProtocolEntry>, ManifestError> {
        let Some(item) = self.doc["workspace"]
            .get("metadata")
            .and_then(|metadata| metadata.get("medium"))
            .and_then(|medium| medium.get("protocols"))
        else {
            return Ok(Vec::new());
        };
        let records = item.as_array_of_tables().ok_or(ManifestError::WrongType {
            key: "workspace.metadata.medium.protocols",
            expected: "an array of tables (`[[workspace.metadata.medium.protocols]]`)",
        })?;
        records
            .iter()
            .enumerate()
            .map(|(index, table)| {
                ProtocolEntry::from_table(table).map_err(|reason| ManifestError::BadRecord {
                    number: index + 1,
                    reason,
                })
            })
            .collect()
    }

    /// Adds whatever of `requirements` is missing, returning what was added. Existing entries win,
    /// even when they differ from ours: the user may have pinned another version on purpose.
    pub fn add_requirements(
        &mut self,
        requirements: &Requirements,
    ) -> Result<Vec<ManifestChange>, ManifestError> {
        let mut changes = Vec::new();
        for member in &requirements.members {
            if self.add_member(member)? {
                changes.push(ManifestChange::Member(member.clone()));
            }
        }
        for (key, default) in &requirements.package_keys {
            if self.add_to_workspace_table(
                "package",
                "workspace.package",
                key,
                Value::from(default),
            )? {
                changes.push(ManifestChange::PackageKey(key.clone()));
            }
        }
        for (name, source) in &requirements.dependencies {
            if self.add_to_workspace_table(
                "dependencies",
                "workspace.dependencies",
                name,
                source.to_value(),
            )? {
                changes.push(ManifestChange::Dependency(name.clone()));
            }
        }
        Ok(changes)
    }

    /// Adds the requirements, then the protocol record, returning everything that was added.
    pub fn add_all(
        &mut self,
        requirements: &Requirements,
        entry: &ProtocolEntry,
    ) -> Result<Vec<ManifestChange>, ManifestError> {
        let mut changes = self.add_requirements(requirements)?;
        if self.add_protocol(entry)? {
            changes.push(ManifestChange::Protocol(entry.spec.clone()));
        }
        Ok(changes)
    }

    /// Records a protocol unless its spec is already recorded; `Ok(true)` if it was added.
    pub fn add_protocol(&mut self, entry: &ProtocolEntry) -> Result<bool, ManifestError> {
        if self
            .protocols()?
            .iter()
            .any(|known| known.spec == entry.spec)
        {
            return Ok(false);
        }
        let metadata = implicit_table(self.workspace_mut()?, "metadata", "workspace.metadata")?;
        let medium = implicit_table(metadata, "medium", "workspace.metadata.medium")?;
        let records = medium
            .entry("protocols")
            .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()));
        let records = records
            .as_array_of_tables_mut()
            .ok_or(ManifestError::WrongType {
                key: "workspace.metadata.medium.protocols",
                expected: "an array of tables",
            })?;
        records.push(entry.to_table());
        Ok(true)
    }

    /// Lists the directory `member` (relative to the root, `/`-separated) in `members`, unless
    /// a pattern there already takes it in or `exclude` keeps it out (the user's choice, which
    /// an explicit entry would override); `Ok(true)` if it was added.
    fn add_member(&mut self, member: &str) -> Result<bool, ManifestError> {
        let membership = self.membership()?;
        if membership.lists(member) || membership.excluded_by(member).is_some() {
            return Ok(false);
        }
        let members = self
            .workspace_mut()?
            .entry("members")
            .or_insert_with(|| value(Array::new()));
        let members = members.as_array_mut().ok_or(ManifestError::WrongType {
            key: "workspace.members",
            expected: "an array",
        })?;
        push_in_layout(members, member);
        Ok(true)
    }

    /// `[workspace]`, or the table its dotted keys (`workspace.members = …`) make. `parse`
    /// checked that it is table-like; an inline `workspace = { … }` would have to hold the
    /// protocol records on its one line, so it is refused.
    fn workspace_mut(&mut self) -> Result<&mut Table, ManifestError> {
        table_mut(&mut self.doc["workspace"], "workspace")
    }

    /// Adds `key = value` to `[workspace.<table>]` (`package` or `dependencies`, created as a
    /// header of ours when missing) unless it has `key`; `Ok(true)` if it was added.
    fn add_to_workspace_table(
        &mut self,
        table: &str,
        dotted: &'static str,
        key: &str,
        value: Value,
    ) -> Result<bool, ManifestError> {
        let item = self
            .workspace_mut()?
            .entry(table)
            .or_insert_with(|| Item::Table(Table::new()));
        match item {
            Item::Table(table) => {
                if table.contains_key(key) {
                    return Ok(false);
                }
                table.insert(key, Item::Value(value));
            }
            // An inline table the user wrote (`dependencies = { … }`) takes the value in place;
            // the space before its `}` (its last value's suffix) stays before the `}`.
            Item::Value(Value::InlineTable(inline)) => {
                if inline.contains_key(key) {
                    return Ok(false);
                }
                let mut value = value;
                if let Some((_, last)) = inline.iter_mut().last()
                    && let Some(end) = last.decor().suffix().cloned()
                {
                    last.decor_mut().set_suffix("");
                    value.decor_mut().set_suffix(end);
                }
                inline.insert(key, value);
            }
            _ => {
                return Err(ManifestError::WrongType {
                    key: dotted,
                    expected: "a table",
                });
            }
        }
        Ok(true)
    }
}

impl fmt::Display for WorkspaceManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.doc.fmt(f)
    }
}

/// `parent.key` as a table that prints no header of its own when we create it.
fn implicit_table<'t>(
    parent: &'t mut Table,
    key: &str,
    dotted: &'static str,
) -> Result<&'t mut Table, ManifestError> {
    let item = parent.entry(key).or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    table_mut(item, dotted)
}

/// `item` as a table to add tables to: a `[table]` or one made by dotted keys, not an inline
/// table (refused with a message saying so) nor any other value.
fn table_mut<'t>(item: &'t mut Item, key: &'static str) -> Result<&'t mut Table, ManifestError> {
    match item {
        Item::Table(table) => Ok(table),
        Item::Value(Value::InlineTable(_)) => Err(ManifestError::InlineTable { key }),
        _ => Err(ManifestError::WrongType {
            key,
            expected: "a table",
        }),
    }
}

/// Appends `text` to `array`. A multi-line array (its closing bracket on its own line) gets the
/// new element on a new line, indented like the last one; anything after the last element's
/// comma on its line (a comment) stays on that line.
fn push_in_layout(array: &mut Array, text: &str) {
    let trailing = array.trailing().as_str().unwrap_or("").to_owned();
    let Some(newline) = trailing.find('\n') else {
        array.push(text);
        return;
    };
    let indent = array
        .iter()
        .last()
        .and_then(|last| last.decor().prefix()?.as_str())
        .and_then(|prefix| prefix.rsplit_once('\n'))
        .map_or("    ", |(_, indent)| indent)
        .to_owned();
    let (same_line, rest) = trailing.split_at(newline + 1);
    let mut element = Value::from(text);
    element
        .decor_mut()
        .set_prefix(format!("{same_line}{indent}"));
    element.decor_mut().set_suffix("");
    if array.is_empty() {
        array.set_trailing_comma(true);
    }
    array.push_formatted(element);
    array.set_trailing(format!("\n{rest}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{DependencySource, RuntimeSource};

    fn requirements(members: &[&str]) -> Requirements {
        Requirements {
            members: members.iter().map(|&m| m.to_owned()).collect(),
            package_keys: vec![("edition".into(), "2024".into())],
            dependencies: vec![
                (
                    "medium-runtime".into(),
                    RuntimeSource::Version("0.1".into()).dependency(),
                ),
                (
                    "tokio".into(),
                    DependencySource::with_features("1", &["full"]),
                ),
            ],
        }
    }

    fn entry() -> ProtocolEntry {
        ProtocolEntry {
            spec: "student.lmspc".into(),
            protocol: "student-system-protocol".into(),
            daemon: Some("student-system-daemon".into()),
            app: Some("student-system-app".into()),
            protocol_dir: None,
            daemon_dir: None,
            app_dir: None,
            python: None,
        }
    }

    fn patched(text: &str, members: &[&str]) -> (String, Vec<ManifestChange>) {
        let mut manifest = WorkspaceManifest::parse(text).unwrap();
        let changes = manifest.add_all(&requirements(members), &entry()).unwrap();
        (manifest.to_string(), changes)
    }

    #[test]
    fn odd_formatting_and_comments_survive_and_additions_follow_the_layout() {
        let before = r#"# My workspace.
[workspace]
resolver="2"   # old resolver on purpose
members = [
  "core",     # the core
  "cli",   # the CLI
]

[workspace.package]
edition   =   "2021"    # not yet

[workspace.dependencies]
tokio={version="1.40",features=["rt"]}  # pinned

[profile.release]
lto = true
"#;
        let (after, changes) = patched(before, &["p-protocol", "p-daemon"]);
        assert_eq!(
            after,
            r#"# My workspace.
[workspace]
resolver="2"   # old resolver on purpose
members = [
  "core",     # the core
  "cli",   # the CLI
  "p-protocol",
  "p-daemon",
]

[workspace.package]
edition   =   "2021"    # not yet

[workspace.dependencies]
tokio={version="1.40",features=["rt"]}  # pinned
medium-runtime = "0.1"

[[workspace.metadata.medium.protocols]]
spec = "student.lmspc"
protocol = "student-system-protocol"
daemon = "student-system-daemon"
app = "student-system-app"

[profile.release]
lto = true
"#
        );
        assert_eq!(
            changes,
            [
                ManifestChange::Member("p-protocol".into()),
                ManifestChange::Member("p-daemon".into()),
                ManifestChange::Dependency("medium-runtime".into()),
                ManifestChange::Protocol("student.lmspc".into()),
            ]
        );
    }

    #[test]
    fn missing_tables_are_created_after_the_workspace() {
        let before = "[workspace]\nmembers = [\n]\n";
        let (after, _) = patched(before, &["a"]);
        assert_eq!(
            after,
            r#"[workspace]
members = [
    "a",
]

[workspace.package]
edition = "2024"

[workspace.dependencies]
medium-runtime = "0.1"
tokio = { version = "1", features = ["full"] }

[[workspace.metadata.medium.protocols]]
spec = "student.lmspc"
protocol = "student-system-protocol"
daemon = "student-system-daemon"
app = "student-system-app"
"#
        );
    }

    #[test]
    fn single_line_members_stay_on_one_line() {
        let mut manifest = WorkspaceManifest::parse("[workspace]\nmembers = [\"a\"]\n").unwrap();
        manifest.add_requirements(&requirements(&["b"])).unwrap();
        assert!(
            manifest
                .to_string()
                .starts_with("[workspace]\nmembers = [\"a\", \"b\"]\n"),
            "{manifest}"
        );
    }

    #[test]
    fn members_matched_by_a_glob_are_not_added_again() {
        let mut manifest = WorkspaceManifest::parse("[workspace]\nmembers = [\"p-*\"]\n").unwrap();
        let changes = manifest
            .add_requirements(&requirements(&["p-daemon"]))
            .unwrap();
        assert!(!changes.contains(&ManifestChange::Member("p-daemon".into())));
    }

    #[test]
    fn members_in_a_globbed_folder_leave_the_members_line_as_written() {
        let before = "[workspace]\nmembers = [ \"crates/*\" ,\"./tools/*\"]   # all of them\n";
        let mut manifest = WorkspaceManifest::parse(before).unwrap();
        let changes = manifest
            .add_requirements(&requirements(&["crates/p-protocol", "tools/p-app"]))
            .unwrap();
        assert!(
            !changes
                .iter()
                .any(|change| matches!(change, ManifestChange::Member(_))),
            "{changes:?}"
        );
        assert!(manifest.to_string().starts_with(before), "{manifest}");
    }

    #[test]
    fn a_member_the_workspace_excludes_is_not_added() {
        let before = "[workspace]\nmembers = [\"a\"]\nexclude = [\"old\"]\n";
        let mut manifest = WorkspaceManifest::parse(before).unwrap();
        let changes = manifest
            .add_requirements(&requirements(&["old/p-protocol", "b"]))
            .unwrap();
        assert_eq!(changes[0], ManifestChange::Member("b".into()));
        assert!(
            manifest
                .to_string()
                .starts_with("[workspace]\nmembers = [\"a\", \"b\"]\n"),
            "{manifest}"
        );
    }

    #[test]
    fn membership_lists_are_read_from_any_form_of_workspace_table() {
        for text in [
            "[workspace]\nmembers = [\"a/*\"]\nexclude = [\"b\"]\ndefault-members = [\"a/c\"]\n",
            "workspace.members = [\"a/*\"]\nworkspace.exclude = [\"b\"]\n\
             workspace.default-members = [\"a/c\"]\n",
            "workspace = { members = [\"a/*\"], exclude = [\"b\"], default-members = [\"a/c\"] }\n",
        ] {
            let membership = WorkspaceManifest::parse(text)
                .unwrap()
                .membership()
                .unwrap();
            assert_eq!(
                membership,
                Membership {
                    members: vec!["a/*".into()],
                    exclude: vec!["b".into()],
                    default_members: Some(vec!["a/c".into()]),
                },
                "{text}"
            );
        }
        let err = WorkspaceManifest::parse("[workspace]\nexclude = \"b\"\n")
            .unwrap()
            .membership()
            .unwrap_err();
        assert_eq!(err.to_string(), "`workspace.exclude` is not an array");
    }

    #[test]
    fn patching_twice_changes_nothing_the_second_time() {
        let (once, _) = patched("[workspace]\n", &["a", "b"]);
        let (twice, changes) = patched(&once, &["a", "b"]);
        assert_eq!(twice, once);
        assert_eq!(changes, []);
    }

    #[test]
    fn recorded_protocols_are_read_back() {
        let (text, _) = patched("[workspace]\n", &[]);
        let manifest = WorkspaceManifest::parse(&text).unwrap();
        assert_eq!(manifest.protocols().unwrap(), [entry()]);
    }

    #[test]
    fn dotted_workspace_keys_are_extended_in_place() {
        let before = "workspace.members = [\"x\"]\nworkspace.package.edition = \"2021\"\n";
        let (after, _) = patched(before, &["a"]);
        assert_eq!(
            after,
            r#"workspace.members = ["x", "a"]
workspace.package.edition = "2021"

[workspace.dependencies]
medium-runtime = "0.1"
tokio = { version = "1", features = ["full"] }

[[workspace.metadata.medium.protocols]]
spec = "student.lmspc"
protocol = "student-system-protocol"
daemon = "student-system-daemon"
app = "student-system-app"
"#
        );
        assert_eq!(
            WorkspaceManifest::parse(&after)
                .unwrap()
                .protocols()
                .unwrap(),
            [entry()]
        );
    }

    #[test]
    fn inline_package_and_dependency_tables_get_the_new_keys() {
        let before = "[workspace]\nmembers = []\npackage = { license = \"MIT\" }\n\
                      dependencies = { serde = \"1\" }\n";
        let (after, _) = patched(before, &["a"]);
        assert_eq!(
            after,
            r#"[workspace]
members = ["a"]
package = { license = "MIT", edition = "2024" }
dependencies = { serde = "1", medium-runtime = "0.1", tokio = { version = "1", features = ["full"] } }

[[workspace.metadata.medium.protocols]]
spec = "student.lmspc"
protocol = "student-system-protocol"
daemon = "student-system-daemon"
app = "student-system-app"
"#
        );
    }

    #[test]
    fn an_inline_workspace_table_is_read_but_not_edited() {
        let mut manifest = WorkspaceManifest::parse("workspace = { members = [] }\n").unwrap();
        assert_eq!(manifest.protocols().unwrap(), []);
        let err = manifest
            .add_all(&requirements(&["a"]), &entry())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`workspace` is an inline table (`workspace = { … }`), which cargo medium does not \
             edit: write it as a `[workspace]` table"
        );
        let mut manifest =
            WorkspaceManifest::parse("[workspace]\nmetadata = { medium = {} }\n").unwrap();
        let err = manifest.add_protocol(&entry()).unwrap_err();
        assert!(
            matches!(
                err,
                ManifestError::InlineTable {
                    key: "workspace.metadata"
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn package_manifest_is_not_a_workspace() {
        let err = WorkspaceManifest::parse("[package]\nname = \"x\"\n").unwrap_err();
        assert!(matches!(err, ManifestError::NotAWorkspace));
    }

    #[test]
    fn bad_record_is_reported_by_number() {
        let text = "[workspace]\n[[workspace.metadata.medium.protocols]]\nspec = \"a\"\nprotocol = \"b\"\n\
                    [[workspace.metadata.medium.protocols]]\nspec = \"c\"\n";
        let err = WorkspaceManifest::parse(text)
            .unwrap()
            .protocols()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "record 2 of `[[workspace.metadata.medium.protocols]]` is invalid: missing the `protocol` key"
        );
    }
}
