//! [`Scaffold`]: everything `cargo medium new` will write, planned before anything is.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use heck::ToKebabCase;

use super::python_package::PythonPackage;
use super::systemd_units;
use super::workspace_files::WorkspaceFiles;
use super::{CrateFiles, Ownership, RustfmtError, ScaffoldError, UserRustfmt};
use crate::check::CheckedSpec;
use crate::codegen::{self, CrateNames, GeneratedCrate, GeneratedFile, PackageKey};
use crate::manifest::{
    ManifestUpdate, ProtocolEntry, Requirements, RuntimeSource, Workspace, WorkspaceManifest,
    crate_dir,
};
use crate::spec_file::SpecFile;
use crate::writer::{WriteError, Writer};

/// How `new` was asked to name and equip the crates.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// `--name`: the crates' base name, kebab-cased (default: the class).
    pub name: Option<String>,
    /// False with `--no-app`.
    pub with_app: bool,
    /// `--systemd`: the daemon crate also gets a socket-activated user unit pair.
    pub systemd: bool,
    /// `--python`: the workspace also gets the generated Python package, recorded for `sync`.
    pub python: bool,
    pub runtime: RuntimeSource,
    /// The rustfmt that formats the daemon and app: `$RUSTFMT`, else `rustfmt`, as `cargo fmt`
    /// picks it.
    pub rustfmt: OsString,
}

/// Where the crates go.
#[derive(Debug)]
pub enum Destination {
    /// A new workspace in this directory, which must be absent or empty.
    NewWorkspace(PathBuf),
    /// A new workspace in a directory named after the crates' base name, inside this one.
    NewWorkspaceIn(PathBuf),
    /// New crates in an existing workspace, whose manifest gains members and records.
    Existing(Box<Workspace>),
}

/// A planned `cargo medium new`.
#[derive(Debug)]
pub struct Scaffold {
    root: PathBuf,
    new_workspace: bool,
    entry: ProtocolEntry,
    crates: Vec<CrateFiles>,
    /// With `--python`: the generated Python package.
    python: Option<PythonPackage>,
    /// Files directly under the root: the spec copy, and for a new workspace its manifest,
    /// README and `.gitignore`.
    root_files: Vec<GeneratedFile>,
    /// For an existing workspace: its patched manifest.
    manifest_update: Option<ManifestUpdate>,
    /// Whether the daemon crate includes systemd units.
    systemd: bool,
    /// Why the daemon and app are written as generated instead of formatted, if they are.
    unformatted: Option<RustfmtError>,
    /// Whether the workspace has `default-members` and they leave a new crate out.
    outside_default_members: bool,
}

impl Scaffold {
    /// Plans the crates of `spec` (read from `spec_file`) at `destination`, reading but not
    /// writing the disk.
    pub fn plan(
        spec_file: &SpecFile,
        spec: &CheckedSpec,
        destination: Destination,
        options: &NewOptions,
    ) -> Result<Scaffold, ScaffoldError> {
        let base = base_name(options.name.as_deref(), &spec.class)?;
        // Kebab case is idempotent, so the class rule also names crates from `--name`.
        let names = CrateNames::from_class(&base);
        let (root, workspace) = match destination {
            Destination::NewWorkspace(root) => (root, None),
            Destination::NewWorkspaceIn(parent) => (parent.join(&base), None),
            Destination::Existing(workspace) => (workspace.root.clone(), Some(*workspace)),
        };
        let mut crate_names = vec![names.protocol.as_str(), &names.daemon];
        if options.with_app {
            crate_names.push(&names.app);
        }
        // Where the workspace's `members` globs put new crates; a new workspace lists each at
        // its root.
        let membership = match &workspace {
            Some(workspace) => Some(workspace.membership()?),
            None => None,
        };
        let folder = match &membership {
            Some(membership) => membership.crate_folder(&crate_names, &base)?,
            None => String::new(),
        };
        let dir_of = |name: &str| crate_dir(&folder, name);
        // Named after the class, as `gen python` names it, whatever `--name` says.
        let python_dir = options.python.then(|| codegen::python::package_name(spec));

        let (spec_path, spec_copy) = match &workspace {
            None => {
                if !is_absent_or_empty(&root) {
                    return Err(ScaffoldError::NotEmpty(root));
                }
                let name = file_name(spec_file.path());
                let copy = GeneratedFile {
                    path: name.clone().into(),
                    contents: spec_file.text().to_owned(),
                };
                (name, Some(copy))
            }
            Some(workspace) => {
                let (spec_path, spec_copy) = place_spec(spec_file, &workspace.root)?;
                if workspace
                    .protocols()?
                    .iter()
                    .any(|known| known.spec == spec_path)
                {
                    return Err(ScaffoldError::AlreadyRecorded {
                        spec: spec_path,
                        manifest: workspace.manifest_path.clone(),
                    });
                }
                for name in &crate_names {
                    let dir = root.join(dir_of(name));
                    if !is_absent_or_empty(&dir) {
                        return Err(ScaffoldError::CrateDirTaken(dir));
                    }
                }
                // Cargo refuses two packages of one name in a workspace. Unchecked when cargo
                // cannot load the workspace (say, a `members` glob matches nothing yet).
                if let Ok(packages) = &workspace.packages {
                    for name in &crate_names {
                        if let Some(package) = packages.iter().find(|p| p.name == *name) {
                            return Err(ScaffoldError::PackageNameTaken {
                                name: (*name).to_owned(),
                                manifest: package.manifest_path.clone(),
                            });
                        }
                    }
                }
                if let Some(dir) = python_dir.as_ref().map(|dir| root.join(dir))
                    && !is_absent_or_empty(&dir)
                {
                    return Err(ScaffoldError::PythonDirTaken(dir));
                }
                (spec_path, spec_copy)
            }
        };

        // Generated headers name the spec as the workspace records it, so that `sync`, run from
        // anywhere, regenerates the same bytes.
        let spec = CheckedSpec {
            source_name: spec_path.clone(),
            ..spec.clone()
        };
        let generated = generate_crates(&spec, &names, options)?;
        let dirs: Vec<String> = generated
            .iter()
            .map(|(krate, _)| dir_of(&krate.name))
            .collect();
        let requirements = Requirements::of_crates(
            &generated
                .iter()
                .zip(&dirs)
                .map(|((krate, _), dir)| (krate, dir.as_str()))
                .collect::<Vec<_>>(),
            &options.runtime,
        );
        let crates: Vec<CrateFiles> = generated
            .into_iter()
            .zip(dirs)
            .map(|((krate, ownership), dir)| CrateFiles {
                name: krate.name,
                dir,
                ownership,
                files: krate.files,
            })
            .collect();
        // A directory is recorded only for a crate that is not at `<root>/<name>`.
        let recorded_dir = |name: &str| (!folder.is_empty()).then(|| dir_of(name));
        let entry = ProtocolEntry {
            spec: spec_path,
            protocol: names.protocol.clone(),
            daemon: Some(names.daemon.clone()),
            app: options.with_app.then(|| names.app.clone()),
            protocol_dir: recorded_dir(&names.protocol),
            daemon_dir: recorded_dir(&names.daemon),
            app_dir: options.with_app.then(|| recorded_dir(&names.app)).flatten(),
            python: python_dir,
        };
        entry.check_dirs().map_err(ScaffoldError::Overlap)?;
        let outside_default_members = membership.as_ref().is_some_and(|membership| {
            crates
                .iter()
                .any(|krate| membership.outside_default_members(&krate.dir))
        });
        let python = options.python.then(|| PythonPackage::of(&spec));

        // Their `edition.workspace = true` reads the workspace's edition: an existing one's,
        // else the one the requirements add.
        let edition = workspace
            .as_ref()
            .and_then(|workspace| workspace.manifest.package_edition())
            .or_else(|| requirements.package_key(PackageKey::Edition))
            .map(str::to_owned);
        // From the crates' folder: a `rustfmt.toml` in `crates/` applies to them too.
        let rustfmt = UserRustfmt::new(options.rustfmt.clone(), edition, &root.join(&folder));
        let (crates, unformatted) = match format_user_crates(&crates, &rustfmt) {
            Ok(formatted) => (formatted, None),
            Err(err) => (crates, Some(err)),
        };

        let new_workspace = workspace.is_none();
        let (root_files, manifest_update) = match workspace {
            None => {
                let mut files =
                    render_workspace_files(&spec, &base, &entry, &requirements, options.systemd)?;
                // A spec named like another root file (`README.md`) or a crate would replace it.
                let taken = |path: &Path| {
                    files.iter().any(|file| file.path == path)
                        || crate_names.iter().any(|name| Path::new(name) == path)
                        || entry
                            .python
                            .as_deref()
                            .is_some_and(|dir| Path::new(dir) == path)
                };
                if let Some(copy) = spec_copy.as_ref().filter(|copy| taken(&copy.path)) {
                    let name = copy.path.display().to_string();
                    return Err(ScaffoldError::SpecNameClash(name));
                }
                files.extend(spec_copy);
                (files, None)
            }
            Some(workspace) => (
                spec_copy.into_iter().collect(),
                workspace.manifest_update([(&requirements, &entry)])?,
            ),
        };
        Ok(Scaffold {
            root,
            new_workspace,
            entry,
            crates,
            python,
            root_files,
            manifest_update,
            systemd: options.systemd,
            unformatted,
            outside_default_members,
        })
    }

    /// The workspace root (new or existing).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn is_new_workspace(&self) -> bool {
        self.new_workspace
    }

    /// The record this scaffold adds to `[workspace.metadata.medium]`.
    pub fn entry(&self) -> &ProtocolEntry {
        &self.entry
    }

    pub fn crates(&self) -> &[CrateFiles] {
        &self.crates
    }

    /// The generated Python package, with `--python`.
    pub fn python(&self) -> Option<&PythonPackage> {
        self.python.as_ref()
    }

    /// Whether `--systemd` added a unit pair to the daemon crate's [`UNIT_DIR`].
    ///
    /// [`UNIT_DIR`]: super::UNIT_DIR
    pub fn has_systemd_units(&self) -> bool {
        self.systemd
    }

    /// Why the daemon and app were left as generated (valid Rust, not formatted), when the
    /// user's rustfmt could not format them.
    pub fn unformatted(&self) -> Option<&RustfmtError> {
        self.unformatted.as_ref()
    }

    pub fn manifest_update(&self) -> Option<&ManifestUpdate> {
        self.manifest_update.as_ref()
    }

    /// Whether the workspace's `default-members` leave a new crate out, so that a plain
    /// `cargo build` in the root skips it. `new` never edits `default-members`: the user chose
    /// that subset, and `cargo run -p` reaches the crates anyway.
    pub fn outside_default_members(&self) -> bool {
        self.outside_default_members
    }

    /// Every file this scaffold creates, relative to the root, in writing order; the patched
    /// manifest of an existing workspace (see [`Scaffold::manifest_update`]) comes last.
    pub fn files(&self) -> Vec<(PathBuf, &str)> {
        let dir_files = self.directories().flat_map(|(dir, files)| {
            files
                .iter()
                .map(move |file| (Path::new(dir).join(&file.path), file.contents.as_str()))
        });
        let root_files = self
            .root_files
            .iter()
            .map(|file| (file.path.clone(), file.contents.as_str()));
        dir_files.chain(root_files).collect()
    }

    /// Each crate's directory, then the Python package's, with the files that go in it.
    fn directories(&self) -> impl Iterator<Item = (&str, &[GeneratedFile])> {
        let crates = self
            .crates
            .iter()
            .map(|krate| (krate.dir.as_str(), krate.files.as_slice()));
        let python = self
            .python
            .iter()
            .map(|package| (package.dir.as_str(), package.files.as_slice()));
        crates.chain(python)
    }

    /// Writes the plan: a new workspace in one step; in an existing workspace each crate (and
    /// the Python package) in one step, then the spec copy, then — last, so a failure before leaves it untouched — the
    /// manifest.
    pub fn write(&self, writer: &Writer) -> Result<(), WriteError> {
        if self.new_workspace {
            let files = self.files();
            return writer.create_tree(
                &self.root,
                files
                    .iter()
                    .map(|(path, contents)| (path.as_path(), *contents)),
            );
        }
        for (dir, files) in self.directories() {
            writer.create_tree(
                &self.root.join(dir),
                files
                    .iter()
                    .map(|file| (file.path.as_path(), file.contents.as_str())),
            )?;
        }
        for file in &self.root_files {
            writer.write_file(&self.root.join(&file.path), &file.contents)?;
        }
        if let Some(update) = &self.manifest_update {
            writer.write_file(&update.path, &update.contents)?;
        }
        Ok(())
    }
}

/// The protocol, daemon and (unless `--no-app`) app crates, each with its owner; with
/// `--systemd`, the daemon's files include its units.
fn generate_crates(
    spec: &CheckedSpec,
    names: &CrateNames,
    options: &NewOptions,
) -> Result<Vec<(GeneratedCrate, Ownership)>, ScaffoldError> {
    let mut daemon = codegen::rust::daemon_crate(spec, names)?;
    if options.systemd {
        daemon
            .files
            .extend(systemd_units::render(spec, &names.daemon)?);
    }
    let mut crates = vec![
        (
            codegen::rust::protocol_crate(spec, names)?,
            Ownership::Generated,
        ),
        (daemon, Ownership::User),
    ];
    if options.with_app {
        crates.push((codegen::rust::app_crate(spec, names)?, Ownership::User));
    }
    Ok(crates)
}

/// `crates` with the Rust sources of the user-owned ones formatted by `rustfmt`: all of them,
/// or none at the first failure.
fn format_user_crates(
    crates: &[CrateFiles],
    rustfmt: &UserRustfmt,
) -> Result<Vec<CrateFiles>, RustfmtError> {
    let format = |file: &GeneratedFile| match file.path.extension() {
        Some(extension) if extension == "rs" => Ok(GeneratedFile {
            path: file.path.clone(),
            contents: rustfmt.format(&file.contents)?,
        }),
        _ => Ok(file.clone()),
    };
    crates
        .iter()
        .map(|krate| match krate.ownership {
            Ownership::Generated => Ok(krate.clone()),
            Ownership::User => Ok(CrateFiles {
                files: krate.files.iter().map(format).collect::<Result<_, _>>()?,
                ..krate.clone()
            }),
        })
        .collect()
}

/// The root files of a new workspace; its manifest is the template's skeleton filled in by the
/// same patcher that extends existing workspaces.
fn render_workspace_files(
    spec: &CheckedSpec,
    base: &str,
    entry: &ProtocolEntry,
    requirements: &Requirements,
    systemd: bool,
) -> Result<Vec<GeneratedFile>, ScaffoldError> {
    let workspace_files = WorkspaceFiles {
        name: base,
        spec: &entry.spec,
        class: &spec.class,
        namespace: &spec.namespace,
        socket: spec.socket.as_deref(),
        protocol: &entry.protocol,
        daemon: entry.daemon.as_deref().unwrap_or_default(),
        app: entry.app.as_deref(),
        python: entry.python.as_deref(),
        systemd,
    };
    let mut files = Vec::new();
    for (path, mut contents) in workspace_files.render()? {
        if path == "Cargo.toml" {
            let mut manifest = WorkspaceManifest::parse(&contents)?;
            manifest.add_all(requirements, entry)?;
            contents = manifest.to_string();
        }
        files.push(GeneratedFile {
            path: path.into(),
            contents,
        });
    }
    Ok(files)
}

/// Where the spec is recorded, and the copy to write if any. A spec already inside the
/// workspace is recorded where it is (one source of truth); one from elsewhere is copied to the
/// root, unless an identical file is already there.
fn place_spec(
    spec_file: &SpecFile,
    root: &Path,
) -> Result<(String, Option<GeneratedFile>), ScaffoldError> {
    let canonical = |path: &Path| {
        path.canonicalize().map_err(|source| ScaffoldError::Io {
            path: path.to_owned(),
            source,
        })
    };
    if let Ok(inside) = canonical(spec_file.path())?.strip_prefix(canonical(root)?) {
        let relative: Vec<_> = inside
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect();
        return Ok((relative.join("/"), None));
    }
    let name = file_name(spec_file.path());
    let target = root.join(&name);
    match std::fs::read_to_string(&target) {
        Ok(existing) if existing == spec_file.text() => Ok((name, None)),
        Ok(_) => Err(ScaffoldError::SpecNameTaken(target)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let copy = GeneratedFile {
                path: name.clone().into(),
                contents: spec_file.text().to_owned(),
            };
            Ok((name, Some(copy)))
        }
        Err(source) => Err(ScaffoldError::Io {
            path: target,
            source,
        }),
    }
}

/// `--name` or the class, in kebab case, if it makes a valid crate name.
fn base_name(name: Option<&str>, class: &str) -> Result<String, ScaffoldError> {
    let given = name.unwrap_or(class);
    let base = given.to_kebab_case();
    let valid = base.starts_with(|c: char| c.is_ascii_alphabetic())
        && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(base)
    } else {
        Err(ScaffoldError::InvalidName(given.to_owned()))
    }
}

fn is_absent_or_empty(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(err) => err.kind() == std::io::ErrorKind::NotFound,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || "spec.lmspc".to_owned(),
        |name| name.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_name_is_the_class_in_kebab_case() {
        assert_eq!(base_name(None, "StudentSystem").unwrap(), "student-system");
        assert_eq!(
            base_name(Some("my_app"), "StudentSystem").unwrap(),
            "my-app"
        );
    }

    #[test]
    fn base_name_that_is_no_crate_name_is_refused() {
        let err = base_name(Some("9lives"), "X").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`9lives` is not a valid crate name: use ASCII letters, digits and `-`, starting with a letter"
        );
    }

    #[test]
    fn only_absent_or_empty_directories_are_destinations() {
        let dir = tempfile::tempdir().unwrap();
        assert!(is_absent_or_empty(&dir.path().join("absent")));
        assert!(is_absent_or_empty(dir.path()));
        std::fs::write(dir.path().join("f"), "").unwrap();
        assert!(!is_absent_or_empty(dir.path()));
        assert!(!is_absent_or_empty(&dir.path().join("f")));
    }
}
