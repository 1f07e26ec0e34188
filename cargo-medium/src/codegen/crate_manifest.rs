//! [`CrateManifest`]: what a generated crate's `Cargo.toml` inherits from its workspace.

use minijinja::{Value, context};

use super::{Dependency, PackageKey};
use crate::templates::{Template, TemplateError};

/// The inherited part of a generated crate's manifest: rendered into its `Cargo.toml` by the
/// crate's template, and read by the manifest patcher to learn what the workspace must provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateManifest {
    /// `[package]` keys written `key.workspace = true`, in the order written.
    pub package_keys: Vec<PackageKey>,
    /// `[dependencies]`, each inherited from `[workspace.dependencies]`, in the order written.
    pub dependencies: Vec<Dependency>,
}

impl CrateManifest {
    /// A crate inheriting its version and edition from the workspace, and `dependencies`.
    pub(crate) fn inheriting(dependencies: Vec<Dependency>) -> CrateManifest {
        CrateManifest {
            package_keys: vec![PackageKey::Version, PackageKey::Edition],
            dependencies,
        }
    }

    /// The crate's `Cargo.toml`: `template`, rendered with `values` and this manifest's
    /// `package_keys` and `dependencies`.
    pub(crate) fn render(
        &self,
        template: Template,
        values: Value,
    ) -> Result<String, TemplateError> {
        let package_keys: Vec<&str> = self.package_keys.iter().map(|key| key.name()).collect();
        let dependencies: Vec<Value> = self
            .dependencies
            .iter()
            .map(|dependency| {
                context! { name => dependency.name(), features => dependency.features() }
            })
            .collect();
        template.render(context! {
            ..values,
            ..context! { package_keys, dependencies }
        })
    }
}
