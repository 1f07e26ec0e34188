//! [`Workspace`]: a workspace root found from a directory or a `--manifest-path`.
//!
//! Found the way cargo finds it: `cargo metadata --no-deps --offline` ([`CargoView`]) on the
//! nearest manifest gives the root and the member packages. Where cargo cannot load the
//! workspace (a member's directory is missing — exactly when `cargo medium sync` is asked to
//! recreate it —, a `members` glob that matches nothing yet, a broken member, no cargo), the
//! root is the nearest manifest with a `[workspace]` table at or above the directory, as cargo
//! looks for it, and the member packages are unknown ([`Workspace::packages`] says why).
//! Neither way needs the network.

use std::path::{Path, PathBuf};

use super::cargo_view::CargoView;
use super::{
    CargoMetadataError, ManifestChange, ManifestError, MemberPackage, Membership, ProtocolEntry,
    Requirements, WorkspaceManifest,
};

/// Why no workspace could be opened.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error(
        "could not find a workspace `Cargo.toml` in `{}` or any parent directory",
        .0.display()
    )]
    NotFound(PathBuf),
    #[error("could not read `{}`", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid manifest `{}`", path.display())]
    Invalid {
        path: PathBuf,
        source: ManifestError,
    },
    /// A valid manifest that cannot take the additions, e.g. an inline `workspace = { … }`.
    #[error("could not add to `{}`", path.display())]
    NotExtensible {
        path: PathBuf,
        source: ManifestError,
    },
}

/// A workspace root: its directory, its parsed manifest and its member packages.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub manifest_path: PathBuf,
    pub manifest: WorkspaceManifest,
    /// The member packages as `cargo metadata` lists them, or why cargo could not load the
    /// workspace.
    pub packages: Result<Vec<MemberPackage>, CargoMetadataError>,
}

/// A new text for a workspace manifest, and what it adds.
#[derive(Debug, Clone)]
pub struct ManifestUpdate {
    pub path: PathBuf,
    pub contents: String,
    pub changes: Vec<ManifestChange>,
}

impl ManifestUpdate {
    /// `member `a`, 5 workspace dependencies and the protocol record for `s.lmspc``: what the
    /// update adds, one kind at a time, counted when there are several.
    pub fn summary(&self) -> String {
        let count = |kind: fn(&ManifestChange) -> bool| {
            let of_kind: Vec<_> = self.changes.iter().filter(|c| kind(c)).collect();
            match of_kind.as_slice() {
                [] => None,
                [one] => Some(one.to_string()),
                many => Some(format!("{} {}", many.len(), plural(many[0]))),
            }
        };
        let parts: Vec<String> = [
            count(|c| matches!(c, ManifestChange::Member(_))),
            count(|c| matches!(c, ManifestChange::PackageKey(_))),
            count(|c| matches!(c, ManifestChange::Dependency(_))),
            count(|c| matches!(c, ManifestChange::Protocol(_))),
        ]
        .into_iter()
        .flatten()
        .collect();
        match parts.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => "nothing".to_owned(),
        }
    }
}

fn plural(change: &ManifestChange) -> &'static str {
    match change {
        ManifestChange::Member(_) => "members",
        ManifestChange::PackageKey(_) => "`workspace.package` keys",
        ManifestChange::Dependency(_) => "workspace dependencies",
        ManifestChange::Protocol(_) => "protocol records",
    }
}

impl Workspace {
    /// The workspace of the nearest manifest at or above `dir`, if any: cargo's, else the
    /// nearest `[workspace]` manifest. `None` also for a package that cargo says belongs to no
    /// workspace.
    pub fn find(dir: &Path) -> Result<Option<Workspace>, WorkspaceError> {
        match dir
            .ancestors()
            .map(|ancestor| ancestor.join("Cargo.toml"))
            .find(|manifest_path| manifest_path.is_file())
        {
            Some(manifest_path) => Workspace::of_manifest(&manifest_path),
            None => Ok(None),
        }
    }

    /// The workspace of `--manifest-path`: that manifest if it is a workspace root, else the
    /// workspace of the package it names.
    pub fn for_manifest_path(manifest_path: &Path) -> Result<Workspace, WorkspaceError> {
        read(manifest_path)?;
        let dir = manifest_path.parent().unwrap_or(Path::new("."));
        Workspace::of_manifest(manifest_path)?
            .ok_or_else(|| WorkspaceError::NotFound(dir.to_owned()))
    }

    /// The nearest workspace root at or above `dir`, or an error saying none was found.
    pub fn require(dir: &Path) -> Result<Workspace, WorkspaceError> {
        Workspace::find(dir)?.ok_or_else(|| WorkspaceError::NotFound(dir.to_owned()))
    }

    /// The membership lists of `[workspace]`.
    pub fn membership(&self) -> Result<Membership, WorkspaceError> {
        self.manifest
            .membership()
            .map_err(|source| WorkspaceError::Invalid {
                path: self.manifest_path.clone(),
                source,
            })
    }

    /// Asks cargo for the workspace of `manifest_path`; when cargo cannot load it, walks up
    /// from the manifest's directory instead.
    fn of_manifest(manifest_path: &Path) -> Result<Option<Workspace>, WorkspaceError> {
        let view = match CargoView::load(manifest_path) {
            Ok(view) => view,
            Err(why) => {
                let dir = manifest_path.parent().unwrap_or(Path::new("."));
                return Workspace::walk_up(dir, &why);
            }
        };
        let root_manifest = view.root.join("Cargo.toml");
        match Workspace::open(&root_manifest, Ok(view.members)) {
            Ok(workspace) => Ok(Some(workspace)),
            // A package that belongs to no workspace.
            Err(WorkspaceError::Invalid {
                source: ManifestError::NotAWorkspace,
                ..
            }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The nearest manifest with a `[workspace]` table at or above `dir`; package manifests on
    /// the way up are skipped, as cargo does when looking for a package's workspace.
    fn walk_up(
        dir: &Path,
        cargo_failure: &CargoMetadataError,
    ) -> Result<Option<Workspace>, WorkspaceError> {
        for ancestor in dir.ancestors() {
            let manifest_path = ancestor.join("Cargo.toml");
            if !manifest_path.is_file() {
                continue;
            }
            match Workspace::open(&manifest_path, Err(cargo_failure.clone())) {
                Ok(workspace) => return Ok(Some(workspace)),
                Err(WorkspaceError::Invalid {
                    source: ManifestError::NotAWorkspace,
                    ..
                }) => continue,
                Err(err) => return Err(err),
            }
        }
        Ok(None)
    }

    fn open(
        manifest_path: &Path,
        packages: Result<Vec<MemberPackage>, CargoMetadataError>,
    ) -> Result<Workspace, WorkspaceError> {
        let manifest = WorkspaceManifest::parse(&read(manifest_path)?).map_err(|source| {
            WorkspaceError::Invalid {
                path: manifest_path.to_owned(),
                source,
            }
        })?;
        let root = manifest_path.parent().unwrap_or(Path::new(".")).to_owned();
        Ok(Workspace {
            root,
            manifest_path: manifest_path.to_owned(),
            manifest,
            packages,
        })
    }

    /// The protocols recorded in the manifest.
    pub fn protocols(&self) -> Result<Vec<ProtocolEntry>, WorkspaceError> {
        self.manifest
            .protocols()
            .map_err(|source| WorkspaceError::Invalid {
                path: self.manifest_path.clone(),
                source,
            })
    }

    /// The manifest with whatever it lacks of each protocol's requirements and record, or
    /// `None` when it lacks nothing.
    pub fn manifest_update<'a>(
        &self,
        protocols: impl IntoIterator<Item = (&'a Requirements, &'a ProtocolEntry)>,
    ) -> Result<Option<ManifestUpdate>, WorkspaceError> {
        let mut manifest = self.manifest.clone();
        let mut changes = Vec::new();
        for (requirements, entry) in protocols {
            let added = manifest.add_all(requirements, entry).map_err(|source| {
                WorkspaceError::NotExtensible {
                    path: self.manifest_path.clone(),
                    source,
                }
            })?;
            changes.extend(added);
        }
        Ok((!changes.is_empty()).then(|| ManifestUpdate {
            path: self.manifest_path.clone(),
            contents: manifest.to_string(),
            changes,
        }))
    }
}

fn read(path: &Path) -> Result<String, WorkspaceError> {
    std::fs::read_to_string(path).map_err(|source| WorkspaceError::Unreadable {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_is_found_from_a_member_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"m\"]\n").unwrap();
        std::fs::create_dir_all(root.join("m/src")).unwrap();
        std::fs::write(root.join("m/Cargo.toml"), "[package]\nname = \"m\"\n").unwrap();
        let workspace = Workspace::find(&root.join("m/src")).unwrap().unwrap();
        assert_eq!(workspace.root, root);
        let workspace = Workspace::for_manifest_path(&root.join("m/Cargo.toml")).unwrap();
        assert_eq!(workspace.root, root);
    }

    /// Writes `files` (path, contents) under `root`.
    fn write_tree(root: &Path, files: &[(&str, &str)]) {
        for (path, contents) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
    }

    #[test]
    fn cargo_gives_the_root_and_the_member_packages() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_tree(
            root,
            &[
                (
                    "Cargo.toml",
                    "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"3\"\n",
                ),
                (
                    "crates/a/Cargo.toml",
                    "[package]\nname = \"a\"\nedition = \"2024\"\n",
                ),
                ("crates/a/src/lib.rs", ""),
            ],
        );
        let workspace = Workspace::find(&root.join("crates/a/src"))
            .unwrap()
            .unwrap();
        assert_eq!(workspace.root, root);
        assert_eq!(
            workspace.packages,
            Ok(vec![MemberPackage {
                name: "a".into(),
                manifest_path: root.join("crates/a/Cargo.toml"),
            }])
        );
    }

    #[test]
    fn a_package_pointing_at_its_workspace_is_found_there() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        write_tree(
            dir.path(),
            &[
                ("ws/Cargo.toml", "[workspace]\nmembers = [\"../pkg\"]\n"),
                (
                    "pkg/Cargo.toml",
                    "[package]\nname = \"pkg\"\nworkspace = \"../ws\"\nedition = \"2024\"\n",
                ),
                ("pkg/src/lib.rs", ""),
            ],
        );
        let workspace = Workspace::find(&dir.path().join("pkg")).unwrap().unwrap();
        assert_eq!(workspace.root, root);
        assert!(workspace.packages.is_ok(), "{:?}", workspace.packages);
    }

    #[test]
    fn without_cargo_s_view_the_nearest_workspace_manifest_is_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_tree(
            root,
            &[
                ("Cargo.toml", "[workspace]\nmembers = [\"gone\"]\n"),
                ("specs/a", ""),
            ],
        );
        let workspace = Workspace::find(&root.join("specs")).unwrap().unwrap();
        assert_eq!(workspace.root, root);
        let why = workspace.packages.unwrap_err().to_string();
        assert!(
            why.starts_with("failed to load manifest for workspace member"),
            "{why}"
        );
    }

    #[test]
    fn update_summary_counts_each_kind_of_addition() {
        let update = |changes| ManifestUpdate {
            path: PathBuf::from("Cargo.toml"),
            contents: String::new(),
            changes,
        };
        let many = update(vec![
            ManifestChange::Member("a".into()),
            ManifestChange::Member("b".into()),
            ManifestChange::Dependency("tokio".into()),
            ManifestChange::Protocol("s.lmspc".into()),
        ]);
        assert_eq!(
            many.summary(),
            "2 members, workspace dependency `tokio` and protocol record for `s.lmspc`"
        );
        let one = update(vec![ManifestChange::Member("a".into())]);
        assert_eq!(one.summary(), "member `a`");
    }

    #[test]
    fn no_workspace_above_is_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"m\"\n").unwrap();
        assert!(Workspace::find(dir.path()).unwrap().is_none());
    }

    #[test]
    fn broken_manifest_on_the_way_up_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[workspace\n").unwrap();
        let err = Workspace::find(dir.path()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "invalid manifest `{}`",
                dir.path().join("Cargo.toml").display()
            )),
            "{err}"
        );
    }
}
