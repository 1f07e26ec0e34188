//! [`Requirements`]: what a workspace manifest must provide for a set of generated crates —
//! taken from the data their manifests were rendered from, so the generator and the manifest
//! patcher cannot drift.

use super::{DependencySource, RuntimeSource};
use crate::codegen::{Dependency, GeneratedCrate, PackageKey};

/// Members, `[workspace.package]` keys and `[workspace.dependencies]` entries a workspace needs,
/// in the order they are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements {
    pub members: Vec<String>,
    pub package_keys: Vec<(String, String)>,
    pub dependencies: Vec<(String, DependencySource)>,
}

impl Requirements {
    /// The requirements of `crates`, each with its directory (relative to the workspace root,
    /// `/`-separated), which become members: every key and dependency they inherit from the
    /// workspace, with the value a workspace that lacks it gets — for one of `crates`, a path
    /// dependency on its directory.
    pub fn of_crates(crates: &[(&GeneratedCrate, &str)], runtime: &RuntimeSource) -> Requirements {
        let mut package_keys: Vec<(String, String)> = Vec::new();
        let mut dependencies: Vec<(String, DependencySource)> = Vec::new();
        for (krate, _) in crates {
            for &key in &krate.manifest.package_keys {
                if !package_keys.iter().any(|(known, _)| known == key.name()) {
                    package_keys.push((key.name().to_owned(), package_default(key).to_owned()));
                }
            }
            for dependency in &krate.manifest.dependencies {
                if !dependencies
                    .iter()
                    .any(|(known, _)| known == dependency.name())
                {
                    let source = match crates.iter().find(|(c, _)| c.name == dependency.name()) {
                        Some((_, dir)) => DependencySource::Path((*dir).to_owned()),
                        None => DependencySource::of(dependency, runtime),
                    };
                    dependencies.push((dependency.name().to_owned(), source));
                }
            }
        }
        let mut requirements = Requirements {
            members: crates.iter().map(|(_, dir)| (*dir).to_owned()).collect(),
            package_keys,
            dependencies,
        };
        requirements.sort_dependencies();
        requirements
    }

    /// The value a workspace lacking `key` gets, if the crates inherit it.
    pub fn package_key(&self, key: PackageKey) -> Option<&str> {
        self.package_keys
            .iter()
            .find(|(name, _)| name == key.name())
            .map(|(_, value)| value.as_str())
    }

    /// Also requires the crate `member` in `dir`, a crate of the workspace, as a path
    /// dependency: for crates not listed here that inherit it (the daemon and app inherit their
    /// protocol crate).
    pub fn require_member_dependency(&mut self, member: &str, dir: &str) {
        if !self.dependencies.iter().any(|(name, _)| name == member) {
            self.dependencies
                .push((member.to_owned(), DependencySource::Path(dir.to_owned())));
            self.sort_dependencies();
        }
    }

    /// The runtime first, then the workspace's own crates, then third-party crates by name: the
    /// order a reader scans a manifest in.
    fn sort_dependencies(&mut self) {
        self.dependencies.sort_by_key(|(name, source)| {
            let group = match source {
                _ if name == Dependency::Runtime.name() => 0,
                DependencySource::Path(_) => 1,
                DependencySource::Registry { .. } => 2,
            };
            (group, name.clone())
        });
    }
}

/// What a new workspace sets an inherited `[package]` key to.
fn package_default(key: PackageKey) -> &'static str {
    match key {
        PackageKey::Version => "0.1.0",
        PackageKey::Edition => "2024",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::CrateManifest;

    fn krate(name: &str, dependencies: Vec<Dependency>) -> GeneratedCrate {
        GeneratedCrate {
            name: name.to_owned(),
            manifest: CrateManifest {
                package_keys: vec![PackageKey::Version, PackageKey::Edition],
                dependencies,
            },
            files: Vec::new(),
        }
    }

    #[test]
    fn inherited_keys_and_dependencies_become_requirements_with_defaults() {
        let protocol = krate("demo-protocol", vec![Dependency::Runtime]);
        let daemon = krate(
            "demo-daemon",
            vec![
                Dependency::Protocol("demo-protocol".into()),
                Dependency::Runtime,
                Dependency::TracingSubscriber,
                Dependency::Tokio,
            ],
        );
        let runtime = RuntimeSource::Version("0.1".into());
        let requirements = Requirements::of_crates(
            &[
                (&protocol, "crates/demo-protocol"),
                (&daemon, "crates/demo-daemon"),
            ],
            &runtime,
        );
        assert_eq!(
            requirements,
            Requirements {
                members: vec!["crates/demo-protocol".into(), "crates/demo-daemon".into()],
                package_keys: vec![
                    ("version".into(), "0.1.0".into()),
                    ("edition".into(), "2024".into())
                ],
                dependencies: vec![
                    ("medium-runtime".into(), DependencySource::version("0.1")),
                    (
                        "demo-protocol".into(),
                        DependencySource::Path("crates/demo-protocol".into())
                    ),
                    (
                        "tokio".into(),
                        DependencySource::with_features("1", &["full"])
                    ),
                    (
                        "tracing-subscriber".into(),
                        DependencySource::with_features("0.3", &["env-filter"])
                    ),
                ],
            }
        );
    }

    #[test]
    fn a_member_the_crates_only_inherit_becomes_a_path_dependency() {
        let protocol = krate("demo-protocol", vec![Dependency::Runtime]);
        let runtime = RuntimeSource::Version("0.1".into());
        let mut requirements = Requirements::of_crates(&[(&protocol, "demo-protocol")], &runtime);
        requirements.require_member_dependency("demo-protocol", "crates/demo-protocol");
        assert_eq!(
            requirements.dependencies,
            [
                ("medium-runtime".into(), DependencySource::version("0.1")),
                (
                    "demo-protocol".into(),
                    DependencySource::Path("crates/demo-protocol".into())
                ),
            ]
        );
    }
}
