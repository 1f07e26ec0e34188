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
//! protocol_dir = "crates/student-system-protocol"  # where each crate is, when not at
//! daemon_dir = "crates/student-system-daemon"      # `<root>/<name>` (a `members` glob put
//! app_dir = "crates/student-system-app"            # it elsewhere)
//! python = "student_system"              # GENERATED Python package (sync rewrites it); only
//!                                        # with `--python`
//! ```
//!
//! A crate without its `*_dir` key lives in a directory named after it directly under the
//! root, which is what every record meant before the keys existed, so `new` writes a key only
//! for a crate somewhere else. Every directory — each crate's and the Python package's — is a
//! path relative to the root, `/`-separated, that stays inside it, and no two of them overlap:
//! sync rewrites and removes generated files in the protocol crate and the Python package, so
//! a record pointing anywhere else is refused when read.

use std::path::{Path, PathBuf};

use toml_edit::{Table, value};

/// One `[[workspace.metadata.medium.protocols]]` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolEntry {
    /// The spec, relative to the workspace root with `/` separators.
    pub spec: String,
    /// Name of the generated protocol crate.
    pub protocol: String,
    /// Name of the user-owned daemon crate.
    pub daemon: Option<String>,
    /// Name of the user-owned example app crate.
    pub app: Option<String>,
    /// The protocol crate's directory, relative to the workspace root with `/` separators,
    /// when it is not the crate's name (`protocol_dir`).
    pub protocol_dir: Option<String>,
    /// The same for the daemon crate (`daemon_dir`).
    pub daemon_dir: Option<String>,
    /// The same for the app crate (`app_dir`).
    pub app_dir: Option<String>,
    /// Directory of the generated Python package, relative to the workspace root with `/`
    /// separators.
    pub python: Option<String>,
}

impl ProtocolEntry {
    /// Reads a record; `Err` says which key is missing, not a string, or names a directory sync
    /// must not use.
    pub(super) fn from_table(table: &Table) -> Result<ProtocolEntry, String> {
        let required =
            |key: &str| optional(table, key)?.ok_or_else(|| format!("missing the `{key}` key"));
        let entry = ProtocolEntry {
            spec: required("spec")?,
            protocol: required("protocol")?,
            daemon: optional(table, "daemon")?,
            app: optional(table, "app")?,
            protocol_dir: optional(table, "protocol_dir")?,
            daemon_dir: optional(table, "daemon_dir")?,
            app_dir: optional(table, "app_dir")?,
            python: optional(table, "python")?,
        };
        entry.check_dirs()?;
        Ok(entry)
    }

    pub(super) fn to_table(&self) -> Table {
        let mut table = Table::new();
        table.insert("spec", value(&self.spec));
        table.insert("protocol", value(&self.protocol));
        let optional = [
            ("daemon", &self.daemon),
            ("app", &self.app),
            ("protocol_dir", &self.protocol_dir),
            ("daemon_dir", &self.daemon_dir),
            ("app_dir", &self.app_dir),
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

    /// The generated crate's directory, relative to the root with `/` separators.
    pub fn protocol_folder(&self) -> &str {
        self.protocol_dir.as_deref().unwrap_or(&self.protocol)
    }

    /// The daemon crate's directory, relative to the root with `/` separators.
    pub fn daemon_folder(&self) -> Option<&str> {
        let name = self.daemon.as_deref()?;
        Some(self.daemon_dir.as_deref().unwrap_or(name))
    }

    /// The app crate's directory, relative to the root with `/` separators.
    pub fn app_folder(&self) -> Option<&str> {
        let name = self.app.as_deref()?;
        Some(self.app_dir.as_deref().unwrap_or(name))
    }

    /// The generated crate's directory.
    pub fn protocol_dir(&self, workspace_root: &Path) -> PathBuf {
        under(workspace_root, self.protocol_folder())
    }

    /// The generated Python package's directory, if one is recorded.
    pub fn python_dir(&self, workspace_root: &Path) -> Option<PathBuf> {
        Some(under(workspace_root, self.python.as_deref()?))
    }

    /// Refuses directories sync must not use: one outside the root (absolute, `..`) or the
    /// root itself, a `*_dir` key without its crate, and two that overlap (the same, or one
    /// inside the other) — the user's crates are never written, and in the protocol crate the
    /// Rust and Python generators would each remove the other's files as obsolete.
    pub fn check_dirs(&self) -> Result<(), String> {
        for (dir_key, dir, crate_key, name) in [
            ("daemon_dir", &self.daemon_dir, "daemon", &self.daemon),
            ("app_dir", &self.app_dir, "app", &self.app),
        ] {
            if dir.is_some() && name.is_none() {
                return Err(format!("`{dir_key}` is set but `{crate_key}` is not"));
            }
        }
        // Each crate's name, directory, and the key that says where it is.
        let mut crates = vec![(
            self.protocol.as_str(),
            self.protocol_folder(),
            dir_key("protocol", &self.protocol_dir),
        )];
        if let (Some(name), Some(dir)) = (&self.daemon, self.daemon_folder()) {
            crates.push((name, dir, dir_key("daemon", &self.daemon_dir)));
        }
        if let (Some(name), Some(dir)) = (&self.app, self.app_folder()) {
            crates.push((name, dir, dir_key("app", &self.app_dir)));
        }
        for (_, dir, key) in &crates {
            check_inside_root(key, dir)?;
        }
        for (i, (name, dir, _)) in crates.iter().enumerate() {
            if let Some((other, other_dir, _)) = crates[i + 1..]
                .iter()
                .find(|(_, other_dir, _)| overlap(dir, other_dir))
            {
                return Err(format!(
                    "the crates `{name}` (in `{dir}`) and `{other}` (in `{other_dir}`) must each \
                     have a directory of their own, neither inside the other"
                ));
            }
        }
        if let Some(python) = &self.python {
            check_inside_root("python", python)?;
            for (name, dir, _) in &crates {
                if within(python, dir) {
                    return Err(format!("`python` must not be inside the crate `{name}`"));
                }
                if within(dir, python) {
                    return Err(format!("`python` must not contain the crate `{name}`"));
                }
            }
        }
        Ok(())
    }
}

/// `protocol_dir` when the record has it, else `protocol`: the key a crate's directory comes
/// from.
fn dir_key(crate_key: &str, dir: &Option<String>) -> String {
    match dir {
        Some(_) => format!("{crate_key}_dir"),
        None => crate_key.to_owned(),
    }
}

/// `dir` (relative, `/`-separated) joined part by part under `root`.
fn under(root: &Path, dir: &str) -> PathBuf {
    dir.split('/')
        .fold(root.to_owned(), |path, part| path.join(part))
}

/// Refuses a directory outside the root (absolute, `..`) or the root itself.
fn check_inside_root(key: &str, dir: &str) -> Result<(), String> {
    let inside_root = !dir.is_empty()
        && dir
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'));
    if inside_root {
        Ok(())
    } else {
        Err(format!(
            "`{key}` must be a directory inside the workspace, relative to its root and \
             `/`-separated, not `{dir}`"
        ))
    }
}

/// Whether two directories are the same or one lies inside the other.
fn overlap(a: &str, b: &str) -> bool {
    within(a, b) || within(b, a)
}

/// Whether `inner` is `outer` or lies inside it.
fn within(inner: &str, outer: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
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
            protocol_dir: Some("crates/student-system-protocol".into()),
            daemon_dir: Some("crates/student-system-daemon".into()),
            app_dir: None,
            python: Some("clients/student_system".into()),
        };
        assert_eq!(ProtocolEntry::from_table(&entry.to_table()), Ok(entry));
    }

    #[test]
    fn a_record_without_dir_keys_keeps_its_crates_under_the_root_by_name() {
        let entry = ProtocolEntry::from_table(&table(
            "spec = \"a\"\nprotocol = \"p\"\ndaemon = \"d\"\napp = \"x\"",
        ))
        .unwrap();
        assert_eq!(entry.protocol_dir(Path::new("/ws")), Path::new("/ws/p"));
        assert_eq!(entry.daemon_folder(), Some("d"));
        assert_eq!(entry.app_folder(), Some("x"));
    }

    #[test]
    fn dir_keys_place_each_crate_part_by_part_under_the_root() {
        let entry = ProtocolEntry::from_table(&table(
            "spec = \"a\"\nprotocol = \"p\"\ndaemon = \"d\"\n\
             protocol_dir = \"crates/p\"\ndaemon_dir = \"services/s/d\"",
        ))
        .unwrap();
        assert_eq!(
            entry.protocol_dir(Path::new("/ws")),
            Path::new("/ws/crates/p")
        );
        assert_eq!(entry.daemon_folder(), Some("services/s/d"));
        assert_eq!(entry.app_folder(), None);
    }

    #[test]
    fn crate_dirs_outside_the_root_are_rejected_by_key() {
        for dir in ["", "/tmp/x", "../x", "a/../../x", ".", "a//b", "a\\b"] {
            for key in ["protocol_dir", "daemon_dir", "app_dir"] {
                let text = format!(
                    "spec = \"a\"\nprotocol = \"p\"\ndaemon = \"d\"\napp = \"x\"\n{key} = {dir:?}"
                );
                let err = ProtocolEntry::from_table(&table(&text)).unwrap_err();
                assert!(
                    err.starts_with(&format!("`{key}` must be a directory inside the workspace")),
                    "{key} = {dir}: {err}"
                );
            }
        }
        // A name standing for its directory is held to the same rule.
        let err =
            ProtocolEntry::from_table(&table("spec = \"a\"\nprotocol = \"../p\"")).unwrap_err();
        assert!(
            err.starts_with("`protocol` must be a directory inside"),
            "{err}"
        );
    }

    #[test]
    fn overlapping_crate_dirs_are_rejected() {
        let text = "spec = \"a\"\nprotocol = \"p\"\ndaemon = \"d\"\n\
                    protocol_dir = \"crates/p\"\ndaemon_dir = ";
        for daemon_dir in ["crates/p", "crates/p/d", "crates"] {
            let err =
                ProtocolEntry::from_table(&table(&format!("{text}{daemon_dir:?}"))).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "the crates `p` (in `crates/p`) and `d` (in `{daemon_dir}`) must each have a \
                     directory of their own, neither inside the other"
                )
            );
        }
        let text =
            "spec = \"a\"\nprotocol = \"p\"\nprotocol_dir = \"crates/p\"\npython = \"crates\"";
        assert_eq!(
            ProtocolEntry::from_table(&table(text)).unwrap_err(),
            "`python` must not contain the crate `p`"
        );
    }

    #[test]
    fn a_dir_key_without_its_crate_is_rejected() {
        let err = ProtocolEntry::from_table(&table(
            "spec = \"a\"\nprotocol = \"p\"\napp_dir = \"crates/x\"",
        ))
        .unwrap_err();
        assert_eq!(err, "`app_dir` is set but `app` is not");
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
