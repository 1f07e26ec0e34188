//! [`Requirements`]: what a workspace manifest must provide for a set of scaffolded crates —
//! read from the crates' own manifests, so the generator and the manifest patcher cannot drift.

use toml_edit::{DocumentMut, Item, TableLike};

use super::{DependencySource, RuntimeSource};

/// The name of the runtime crate every protocol crate depends on.
const RUNTIME_CRATE: &str = "medium-runtime";

/// Why the requirements of a generated crate could not be worked out. Every variant is a bug in
/// the generator or in the table of defaults, never a user error.
#[derive(Debug, thiserror::Error)]
pub enum RequirementsError {
    #[error("generated `{crate_name}/Cargo.toml` is not valid TOML: {source}")]
    BadManifest {
        crate_name: String,
        source: toml_edit::TomlError,
    },
    #[error(
        "`{crate_name}` inherits dependency `{dependency}` from the workspace, \
         but cargo-medium has no default for it"
    )]
    UnknownDependency {
        crate_name: String,
        dependency: String,
    },
    #[error(
        "`{crate_name}` inherits `package.{key}` from the workspace, \
         but cargo-medium has no default for it"
    )]
    UnknownPackageKey { crate_name: String, key: String },
}

/// Members, `[workspace.package]` keys and `[workspace.dependencies]` entries a workspace needs,
/// in the order they are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements {
    pub members: Vec<String>,
    pub package_keys: Vec<(String, String)>,
    pub dependencies: Vec<(String, DependencySource)>,
}

impl Requirements {
    /// The requirements of `crates`, each given by name (which is also its directory under the
    /// workspace root) and its `Cargo.toml` text. A crate's `x.workspace = true` dependency on
    /// another crate of the list becomes a path dependency.
    pub fn of_crates<'a>(
        crates: &[(&'a str, &'a str)],
        runtime: &RuntimeSource,
    ) -> Result<Requirements, RequirementsError> {
        let mut package_keys = Vec::new();
        let mut inherited = Vec::new();
        for &(crate_name, manifest) in crates {
            let doc: DocumentMut =
                manifest
                    .parse()
                    .map_err(|source| RequirementsError::BadManifest {
                        crate_name: crate_name.to_owned(),
                        source,
                    })?;
            for key in inherited_keys(doc.get("package")) {
                if !package_keys.iter().any(|(known, _)| *known == key) {
                    let value = package_default(&key).ok_or_else(|| {
                        RequirementsError::UnknownPackageKey {
                            crate_name: crate_name.to_owned(),
                            key: key.clone(),
                        }
                    })?;
                    package_keys.push((key, value.to_owned()));
                }
            }
            for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
                for dependency in inherited_keys(doc.get(table)) {
                    if !inherited.iter().any(|(known, _)| *known == dependency) {
                        inherited.push((dependency, crate_name));
                    }
                }
            }
        }

        let mut dependencies = Vec::new();
        for (dependency, crate_name) in inherited {
            let source = if dependency == RUNTIME_CRATE {
                runtime.dependency()
            } else if crates.iter().any(|&(sibling, _)| sibling == dependency) {
                DependencySource::Path(dependency.clone())
            } else {
                DependencySource::third_party(&dependency).ok_or_else(|| {
                    RequirementsError::UnknownDependency {
                        crate_name: crate_name.to_owned(),
                        dependency: dependency.clone(),
                    }
                })?
            };
            dependencies.push((dependency, source));
        }
        let mut requirements = Requirements {
            members: crates.iter().map(|&(name, _)| name.to_owned()).collect(),
            package_keys,
            dependencies,
        };
        requirements.sort_dependencies();
        Ok(requirements)
    }

    /// Also requires `member`, a crate of the workspace, as a path dependency: for crates not
    /// listed here that inherit it (the daemon and app inherit their protocol crate).
    pub fn require_member_dependency(&mut self, member: &str) {
        if !self.dependencies.iter().any(|(name, _)| name == member) {
            self.dependencies
                .push((member.to_owned(), DependencySource::Path(member.to_owned())));
            self.sort_dependencies();
        }
    }

    /// The runtime first, then the workspace's own crates, then third-party crates by name: the
    /// order a reader scans a manifest in.
    fn sort_dependencies(&mut self) {
        self.dependencies.sort_by_key(|(name, source)| {
            let group = match source {
                _ if name == RUNTIME_CRATE => 0,
                DependencySource::Path(_) => 1,
                DependencySource::Registry { .. } => 2,
            };
            (group, name.clone())
        });
    }
}

/// Keys of `table` written as `key.workspace = true` (or `key = { workspace = true, … }`).
fn inherited_keys(table: Option<&Item>) -> Vec<String> {
    let Some(table) = table.and_then(Item::as_table_like) else {
        return Vec::new();
    };
    table
        .iter()
        .filter(|(_, item)| {
            item.as_table_like()
                .and_then(|entry: &dyn TableLike| entry.get("workspace"))
                .and_then(Item::as_bool)
                == Some(true)
        })
        .map(|(key, _)| key.to_owned())
        .collect()
}

/// What a new workspace sets an inherited `[package]` key to.
fn package_default(key: &str) -> Option<&'static str> {
    match key {
        "version" => Some("0.1.0"),
        "edition" => Some("2024"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROTOCOL: &str = r#"
[package]
name = "demo-protocol"
version.workspace = true
edition.workspace = true
publish = false

[dependencies]
medium-runtime.workspace = true
serde = { workspace = true }
"#;

    const DAEMON: &str = r#"
[package]
name = "demo-daemon"
version.workspace = true
edition.workspace = true

[dependencies]
demo-protocol.workspace = true
tokio.workspace = true
anyhow = "1"
"#;

    #[test]
    fn inherited_keys_become_requirements_with_defaults() {
        let runtime = RuntimeSource::Version("0.1".into());
        let requirements = Requirements::of_crates(
            &[("demo-protocol", PROTOCOL), ("demo-daemon", DAEMON)],
            &runtime,
        )
        .unwrap();
        assert_eq!(
            requirements,
            Requirements {
                members: vec!["demo-protocol".into(), "demo-daemon".into()],
                package_keys: vec![
                    ("version".into(), "0.1.0".into()),
                    ("edition".into(), "2024".into())
                ],
                dependencies: vec![
                    ("medium-runtime".into(), DependencySource::version("0.1")),
                    (
                        "demo-protocol".into(),
                        DependencySource::Path("demo-protocol".into())
                    ),
                    (
                        "serde".into(),
                        DependencySource::with_features("1", &["derive"])
                    ),
                    (
                        "tokio".into(),
                        DependencySource::with_features("1", &["full"])
                    ),
                ],
            }
        );
    }

    #[test]
    fn inheriting_an_unknown_dependency_names_it() {
        let manifest = "[package]\nname = \"x\"\n[dependencies]\nleftpad.workspace = true\n";
        let runtime = RuntimeSource::Version("0.1".into());
        let err = Requirements::of_crates(&[("x", manifest)], &runtime).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`x` inherits dependency `leftpad` from the workspace, but cargo-medium has no default for it"
        );
    }
}
