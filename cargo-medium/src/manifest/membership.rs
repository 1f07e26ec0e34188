//! [`Membership`]: which directories a workspace's `members`, `exclude` and `default-members`
//! take in, decided from those lists alone, and where new crates go.
//!
//! Cargo expands `members` globs against the disk (with the `glob` crate), so it cannot say
//! whether a crate that is not written yet will be a member, nor can `cargo metadata` run while
//! a glob matches nothing. This module answers from the patterns, with the same crate and the
//! same rules: a `members` entry is a glob whose `*` does not cross a `/`; an `exclude` entry is
//! a path that excludes everything under it, unless a literal `members` entry names a directory
//! at or above the path. Pure: it never reads the disk.

use glob::{MatchOptions, Pattern};

/// How `glob::glob`, which cargo expands `members` with, matches one path component at a time.
const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// The membership lists of `[workspace]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    pub members: Vec<String>,
    pub exclude: Vec<String>,
    /// `None` when the manifest has no `default-members`.
    pub default_members: Option<Vec<String>>,
}

/// Why new crates have no place in the workspace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error(
        "the new crate `{name}` would go in `{dir}`{}, but the workspace's `exclude` lists \
         `{exclude}`: pick other crate names with `--name`, or change `exclude`",
        match pattern {
            Some(pattern) => format!(" (where the `members` pattern `{pattern}` puts it)"),
            None => String::new(),
        }
    )]
    Excluded {
        name: String,
        dir: String,
        exclude: String,
        pattern: Option<String>,
    },
    #[error(
        "the `members` pattern `{pattern}` matches crates in several folders, so it does not say \
         which one new crates go in: add the folder you want to `members` (for example \
         `\"{example}\"`), then run `cargo medium new` again"
    )]
    NoSingleFolder { pattern: String, example: String },
}

impl Membership {
    /// The folder, relative to the root and `/`-separated (empty for the root itself), that the
    /// crates named `names` go in: the parent of the first `members` glob whose last component
    /// matches every name and whose parent is a plain path (`crates/*` puts them in `crates`),
    /// else the root, where they need explicit `members` entries. `base` (the crates' base
    /// name) only shapes the example in an error.
    ///
    /// Refuses a place the workspace excludes rather than moving the crates elsewhere, and a
    /// glob like `services/*/crates/*`, which leaves open which folder is meant.
    pub fn crate_folder(&self, names: &[&str], base: &str) -> Result<String, PlacementError> {
        let mut nested = None;
        for pattern in &self.members {
            let Some(normal) = normalize(pattern) else {
                continue;
            };
            let (parent, last) = normal.rsplit_once('/').unwrap_or(("", &normal));
            // A plain last component names one crate, not a folder for new ones.
            let Some(last) = has_glob_magic(last)
                .then(|| Pattern::new(last).ok())
                .flatten()
            else {
                continue;
            };
            if !names.iter().all(|name| last.matches_with(name, MATCH)) {
                continue;
            }
            if has_glob_magic(parent) {
                nested.get_or_insert((pattern, parent.to_owned()));
                continue;
            }
            self.refuse_excluded(parent, names, Some(pattern))?;
            return Ok(parent.to_owned());
        }
        if let Some((pattern, parent)) = nested {
            let folder: Vec<&str> = parent
                .split('/')
                .map(|part| if has_glob_magic(part) { base } else { part })
                .collect();
            return Err(PlacementError::NoSingleFolder {
                pattern: pattern.clone(),
                example: format!("{}/*", folder.join("/")),
            });
        }
        self.refuse_excluded("", names, None)?;
        Ok(String::new())
    }

    /// Whether a `members` entry takes in `dir` (relative to the root, `/`-separated).
    pub fn lists(&self, dir: &str) -> bool {
        matches_any(&self.members, dir)
    }

    /// The `exclude` entry that keeps `dir` out of the workspace, if any.
    pub fn excluded_by(&self, dir: &str) -> Option<&str> {
        let under = |entry: &String| normalize(entry).is_some_and(|path| is_within(dir, &path));
        if self.members.iter().any(under) {
            return None;
        }
        self.exclude
            .iter()
            .find(|entry| under(entry))
            .map(String::as_str)
    }

    /// Whether `default-members` exists and leaves `dir` out: a plain `cargo build` in the root
    /// then skips it.
    pub fn outside_default_members(&self, dir: &str) -> bool {
        self.default_members
            .as_ref()
            .is_some_and(|defaults| !matches_any(defaults, dir))
    }

    fn refuse_excluded(
        &self,
        folder: &str,
        names: &[&str],
        pattern: Option<&String>,
    ) -> Result<(), PlacementError> {
        for name in names {
            let dir = crate_dir(folder, name);
            if let Some(exclude) = self.excluded_by(&dir) {
                return Err(PlacementError::Excluded {
                    name: (*name).to_owned(),
                    dir,
                    exclude: exclude.to_owned(),
                    pattern: pattern.cloned(),
                });
            }
        }
        Ok(())
    }
}

/// The directory of the crate `name` in `folder`, both relative to the root and `/`-separated
/// (`folder` empty for the root).
pub fn crate_dir(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_owned()
    } else {
        format!("{folder}/{name}")
    }
}

fn matches_any(patterns: &[String], dir: &str) -> bool {
    patterns.iter().any(|pattern| {
        normalize(pattern)
            .and_then(|normal| Pattern::new(&normal).ok())
            .is_some_and(|pattern| pattern.matches_with(dir, MATCH))
    })
}

/// A path entry as a `/`-separated path relative to the root, without `.` components or
/// trailing `/` (empty for the root); `None` for one that may leave the root.
fn normalize(entry: &str) -> Option<String> {
    if entry.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in entry.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Whether `dir` is `path` or lies under it, component by component.
fn is_within(dir: &str, path: &str) -> bool {
    path.is_empty()
        || dir == path
        || dir
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn has_glob_magic(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 3] = ["s-protocol", "s-daemon", "s-app"];

    fn membership(members: &[&str], exclude: &[&str]) -> Membership {
        Membership {
            members: members.iter().map(|&m| m.to_owned()).collect(),
            exclude: exclude.iter().map(|&e| e.to_owned()).collect(),
            default_members: None,
        }
    }

    #[test]
    fn a_folder_glob_puts_new_crates_in_its_folder() {
        for members in [
            &["crates/*"][..],
            &["./crates/*/"],
            &["tool", "crates/s-*"],
            &["crates/*", "apps/*"],
        ] {
            assert_eq!(
                membership(members, &[]).crate_folder(&NAMES, "s"),
                Ok("crates".to_owned()),
                "{members:?}"
            );
        }
    }

    #[test]
    fn without_a_folder_glob_for_them_new_crates_go_in_the_root() {
        for members in [
            &[][..],
            &["tool"],
            &["crates/core", "crates/cli"],
            &["*-protocol"],
        ] {
            assert_eq!(
                membership(members, &[]).crate_folder(&NAMES, "s"),
                Ok(String::new()),
                "{members:?}"
            );
        }
        assert_eq!(
            membership(&["*"], &[]).crate_folder(&NAMES, "s"),
            Ok(String::new())
        );
    }

    #[test]
    fn a_glob_in_the_folder_is_refused_unless_a_plain_one_follows() {
        let err = membership(&["services/*/crates/*"], &[])
            .crate_folder(&NAMES, "s")
            .unwrap_err();
        assert_eq!(
            err,
            PlacementError::NoSingleFolder {
                pattern: "services/*/crates/*".into(),
                example: "services/s/crates/*".into(),
            }
        );
        assert_eq!(
            membership(&["services/*/crates/*", "crates/*"], &[]).crate_folder(&NAMES, "s"),
            Ok("crates".to_owned())
        );
    }

    #[test]
    fn an_excluded_place_is_refused_wherever_it_is() {
        let err = membership(&["crates/*"], &["crates/s-daemon"])
            .crate_folder(&NAMES, "s")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the new crate `s-daemon` would go in `crates/s-daemon` (where the `members` pattern \
             `crates/*` puts it), but the workspace's `exclude` lists `crates/s-daemon`: pick \
             other crate names with `--name`, or change `exclude`"
        );
        let err = membership(&["tool"], &["./s-app/"])
            .crate_folder(&NAMES, "s")
            .unwrap_err();
        assert!(
            matches!(&err, PlacementError::Excluded { dir, pattern: None, .. } if dir == "s-app"),
            "{err}"
        );
    }

    #[test]
    fn exclude_is_a_path_prefix_that_a_literal_member_overrides() {
        let m = membership(&["crates/*", "vendor/kept"], &["crates/old", "vendor"]);
        assert_eq!(m.excluded_by("crates/old"), Some("crates/old"));
        assert_eq!(m.excluded_by("crates/old/inner"), Some("crates/old"));
        assert_eq!(m.excluded_by("crates/older"), None);
        assert_eq!(m.excluded_by("vendor/x"), Some("vendor"));
        assert_eq!(m.excluded_by("vendor/kept"), None);
    }

    #[test]
    fn members_globs_match_one_component_per_star() {
        let m = membership(&["crates/*", "./tools/cli", "lib?"], &[]);
        assert!(m.lists("crates/a"));
        assert!(!m.lists("crates/a/b"));
        assert!(!m.lists("crates"));
        assert!(m.lists("tools/cli"));
        assert!(m.lists("lib1"));
        assert!(!m.lists("a"));
        assert!(membership(&["crates/**"], &[]).lists("crates/a/b"));
        assert!(!membership(&["../x/*"], &[]).lists("x/a"));
    }

    #[test]
    fn only_an_existing_default_members_leaves_crates_out() {
        let mut m = membership(&["crates/*"], &[]);
        assert!(!m.outside_default_members("crates/a"));
        m.default_members = Some(vec!["crates/core".into()]);
        assert!(m.outside_default_members("crates/a"));
        m.default_members = Some(vec!["crates/*".into()]);
        assert!(!m.outside_default_members("crates/a"));
    }
}
