//! [`DependencySource`]: what a `[workspace.dependencies]` entry says, and [`RuntimeSource`]: where
//! scaffolded crates get `medium-runtime` from.

use std::path::{Path, PathBuf};

use toml_edit::{Array, InlineTable, Value};

use crate::codegen::Dependency;
use crate::registry_cache::RegistryCache;

/// The value of one `[workspace.dependencies]` entry we add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencySource {
    /// `"0.3"`, or `{ version = "1", features = ["full"] }` when features are given.
    Registry {
        version: String,
        features: Vec<String>,
    },
    /// `{ path = "student-system-protocol" }`.
    Path(String),
}

impl DependencySource {
    pub fn version(version: &str) -> DependencySource {
        DependencySource::Registry {
            version: version.to_owned(),
            features: Vec::new(),
        }
    }

    pub fn with_features(version: &str, features: &[&str]) -> DependencySource {
        DependencySource::Registry {
            version: version.to_owned(),
            features: features.iter().map(|&f| f.to_owned()).collect(),
        }
    }

    /// Where a workspace that lacks `dependency` gets it from: the runtime from `runtime`, the
    /// protocol crate from its directory, third-party crates from crates.io.
    pub fn of(dependency: &Dependency, runtime: &RuntimeSource) -> DependencySource {
        match dependency {
            Dependency::Runtime => runtime.dependency(),
            Dependency::Protocol(name) => DependencySource::Path(name.clone()),
            Dependency::Tokio => DependencySource::with_features("1", &["full"]),
            Dependency::Tracing => DependencySource::version("0.1"),
            Dependency::TracingSubscriber => {
                DependencySource::with_features("0.3", &["env-filter"])
            }
        }
    }

    /// The TOML value, formatted the way `cargo add` would write it.
    pub fn to_value(&self) -> Value {
        match self {
            DependencySource::Registry { version, features } if features.is_empty() => {
                Value::from(version.as_str())
            }
            DependencySource::Registry { version, features } => {
                let mut table = InlineTable::new();
                table.insert("version", Value::from(version.as_str()));
                table.insert("features", Value::Array(Array::from_iter(features.iter())));
                Value::InlineTable(table)
            }
            DependencySource::Path(path) => {
                let mut table = InlineTable::new();
                table.insert("path", Value::from(path.as_str()));
                Value::InlineTable(table)
            }
        }
    }
}

/// Why a `--runtime` argument was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeSourceError {
    #[error(
        "`--runtime {0}` is neither a directory nor a version requirement (like `0.1` or `=0.1.2`)"
    )]
    Neither(String),
    #[error("`--runtime {}` has no Cargo.toml: expected the medium-runtime crate's directory", .0.display())]
    NotACrate(PathBuf),
    #[error("could not resolve `--runtime {}`", path.display())]
    Unresolvable {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where scaffolded crates get `medium-runtime` from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeSource {
    /// A local checkout of the crate, written as an absolute path.
    Path(PathBuf),
    /// A crates.io version requirement.
    Version(String),
}

impl RuntimeSource {
    /// Reads `--runtime PATH|VERSION`: an existing directory is a path, anything else must parse
    /// as a version requirement.
    pub fn parse(arg: &str, cwd: &Path) -> Result<RuntimeSource, RuntimeSourceError> {
        let path = cwd.join(arg);
        if path.is_dir() {
            if !path.join("Cargo.toml").is_file() {
                return Err(RuntimeSourceError::NotACrate(path));
            }
            return path
                .canonicalize()
                .map(RuntimeSource::Path)
                .map_err(|source| RuntimeSourceError::Unresolvable { path, source });
        }
        match semver::VersionReq::parse(arg) {
            Ok(_) => Ok(RuntimeSource::Version(arg.to_owned())),
            Err(_) => Err(RuntimeSourceError::Neither(arg.to_owned())),
        }
    }

    /// This version when cargo has it from crates.io (`registry` holds it: published, and it
    /// builds offline); else the runtime next to the checkout this binary was built from, when
    /// it still exists (so `cargo install --path cargo-medium` then `new` builds offline); else
    /// this version.
    pub fn for_this_build(registry: &RegistryCache) -> RuntimeSource {
        let version = env!("CARGO_PKG_VERSION");
        let this_version = RuntimeSource::Version(version.to_owned());
        if registry.has_crates_io(Dependency::Runtime.name(), version) {
            return this_version;
        }
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../medium-runtime");
        match checkout.join("Cargo.toml").is_file() {
            true => checkout
                .canonicalize()
                .map_or(this_version, RuntimeSource::Path),
            false => this_version,
        }
    }

    pub fn dependency(&self) -> DependencySource {
        match self {
            RuntimeSource::Path(path) => DependencySource::Path(path.display().to_string()),
            RuntimeSource::Version(version) => DependencySource::version(version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_values_are_written_like_cargo_add_writes_them() {
        let cases = [
            (DependencySource::version("0.3"), r#""0.3""#),
            (
                DependencySource::with_features("1", &["full"]),
                r#"{ version = "1", features = ["full"] }"#,
            ),
            (
                DependencySource::Path("proto".into()),
                r#"{ path = "proto" }"#,
            ),
        ];
        for (source, expected) in cases {
            let mut value = source.to_value();
            value.decor_mut().clear();
            assert_eq!(value.to_string(), expected);
        }
    }

    #[test]
    fn runtime_directory_becomes_an_absolute_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rt")).unwrap();
        std::fs::write(dir.path().join("rt/Cargo.toml"), "").unwrap();
        let source = RuntimeSource::parse("rt", dir.path()).unwrap();
        assert_eq!(
            source,
            RuntimeSource::Path(dir.path().join("rt").canonicalize().unwrap())
        );
    }

    #[test]
    fn runtime_directory_without_a_manifest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = RuntimeSource::parse(".", dir.path()).unwrap_err();
        assert!(matches!(err, RuntimeSourceError::NotACrate(_)), "{err}");
    }

    #[test]
    fn runtime_version_requirement_is_kept_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let source = RuntimeSource::parse("=0.1.2", dir.path()).unwrap();
        assert_eq!(source, RuntimeSource::Version("=0.1.2".into()));
    }

    #[test]
    fn runtime_argument_that_is_neither_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = RuntimeSource::parse("../nowhere", dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`--runtime ../nowhere` is neither a directory nor a version requirement (like `0.1` or `=0.1.2`)"
        );
    }

    #[test]
    fn runtime_of_this_build_is_the_checkout_next_to_it() {
        let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../medium-runtime")
            .canonicalize()
            .unwrap();
        assert_eq!(
            RuntimeSource::for_this_build(&RegistryCache::empty()),
            RuntimeSource::Path(expected)
        );
    }

    #[test]
    fn runtime_of_this_build_is_this_version_when_cargo_has_it_from_crates_io() {
        let home = tempfile::tempdir().unwrap();
        let registry = home
            .path()
            .join("registry/cache/index.crates.io-1949cf8c6b5b557f");
        std::fs::create_dir_all(&registry).unwrap();
        let version = env!("CARGO_PKG_VERSION");
        std::fs::write(registry.join(format!("medium-runtime-{version}.crate")), "").unwrap();
        assert_eq!(
            RuntimeSource::for_this_build(&RegistryCache::in_cargo_home(home.path())),
            RuntimeSource::Version(version.into())
        );
    }
}
