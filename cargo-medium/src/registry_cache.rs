//! [`RegistryCache`]: which crates cargo has downloaded from crates.io, read from the `.crate`
//! files in `$CARGO_HOME/registry/cache/` (the layout the Cargo Book's "Cargo Home" chapter
//! describes). `new` asks it whether the `medium-runtime` of this version is published.
//!
//! Offline by design, and fast: it lists a directory or two, never runs cargo (which could
//! block on the package cache lock while another build holds it) and never asks the network. A
//! crate it finds is published on crates.io and builds without the network; one it does not
//! find may still be published, which errs towards the local copy of the runtime.

use std::path::{Path, PathBuf};

/// The `.crate` files cargo keeps, one folder per registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCache {
    /// `$CARGO_HOME/registry/cache`; `None` when there is no cargo home to look in.
    dir: Option<PathBuf>,
}

impl RegistryCache {
    /// The cache of the cargo home cargo uses: `$CARGO_HOME` (relative to `cwd` if relative),
    /// else `~/.cargo`.
    pub fn of_cargo_home(cwd: &Path) -> RegistryCache {
        let non_empty = |name| std::env::var_os(name).filter(|value| !value.is_empty());
        let cargo_home = non_empty("CARGO_HOME")
            .map(|home| cwd.join(home))
            .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".cargo")));
        RegistryCache {
            dir: cargo_home.map(|home| home.join("registry/cache")),
        }
    }

    /// The cache of the cargo home `cargo_home`.
    pub fn in_cargo_home(cargo_home: &Path) -> RegistryCache {
        RegistryCache {
            dir: Some(cargo_home.join("registry/cache")),
        }
    }

    /// A cache with nothing in it.
    pub fn empty() -> RegistryCache {
        RegistryCache { dir: None }
    }

    /// Whether cargo has downloaded `name` `version` from crates.io: so it is published there,
    /// and a workspace that requires it builds offline.
    pub fn has_crates_io(&self, name: &str, version: &str) -> bool {
        let Some(Ok(registries)) = self.dir.as_deref().map(std::fs::read_dir) else {
            return false;
        };
        let file = format!("{name}-{version}.crate");
        registries.flatten().any(|registry| {
            let folder = registry.file_name();
            let folder = folder.to_string_lossy();
            // `<host>-<hash of the source>`: crates.io's sparse index (whose hash differs between
            // cargo versions), or the git index older cargo used by default.
            let crates_io =
                folder.starts_with("index.crates.io-") || folder == "github.com-1ecc6299db9ec823";
            crates_io && registry.path().join(&file).is_file()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn cargo_home_with(registry: &str, file: &str) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("registry/cache").join(registry);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(file), "").unwrap();
        home
    }

    #[test]
    fn a_crate_downloaded_from_crates_io_is_found_by_name_and_version() {
        let home = cargo_home_with(
            "index.crates.io-1949cf8c6b5b557f",
            "medium-runtime-0.3.1.crate",
        );
        let cache = RegistryCache::in_cargo_home(home.path());
        assert!(cache.has_crates_io("medium-runtime", "0.3.1"));
        assert!(!cache.has_crates_io("medium-runtime", "0.3.0"));
    }

    #[test]
    fn the_git_index_of_older_cargo_counts_as_crates_io() {
        let home = cargo_home_with("github.com-1ecc6299db9ec823", "medium-runtime-0.3.1.crate");
        let cache = RegistryCache::in_cargo_home(home.path());
        assert!(cache.has_crates_io("medium-runtime", "0.3.1"));
    }

    #[test]
    fn a_crate_from_another_registry_does_not_count() {
        let home = cargo_home_with(
            "my-registry.example-0123456789abcdef",
            "medium-runtime-0.3.1.crate",
        );
        let cache = RegistryCache::in_cargo_home(home.path());
        assert!(!cache.has_crates_io("medium-runtime", "0.3.1"));
    }

    #[test]
    fn nothing_is_found_without_a_cache() {
        let home = tempfile::tempdir().unwrap();
        assert!(
            !RegistryCache::in_cargo_home(home.path()).has_crates_io("medium-runtime", "0.3.1")
        );
        assert!(!RegistryCache::empty().has_crates_io("medium-runtime", "0.3.1"));
    }
}
