//! [`Writer`]: every change `new` and `sync` make to the disk goes through here.
//!
//! Files are replaced atomically (written to a temporary file in the same directory, flushed to
//! disk, then renamed over the target), so a failure leaves the old file intact. A new directory
//! tree is built under a hidden name and renamed into place at the end, so a failure leaves no
//! half-made workspace: next to an absent destination, or inside an existing empty one, whose
//! parent may be read-only or on another file system (a mount point). `--dry-run` uses the same
//! code with [`WriteMode::DryRun`]: callers run unchanged and only the writes are skipped.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::git_work_tree::git_command;

/// Whether writes happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Write,
    DryRun,
}

/// A disk operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    // The cause is the error's `source`, not part of its message: the binary prints the
    // chain (`{:#}`), which would otherwise show the OS error twice.
    #[error("could not {action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("`git init` failed in `{}`: {message}", dir.display())]
    GitInit { dir: PathBuf, message: String },
}

/// Writes files, or, in dry-run mode, does everything but.
#[derive(Debug, Clone, Copy)]
pub struct Writer {
    mode: WriteMode,
}

impl Writer {
    pub fn new(mode: WriteMode) -> Writer {
        Writer { mode }
    }

    pub fn is_dry_run(&self) -> bool {
        self.mode == WriteMode::DryRun
    }

    /// Creates or replaces `path` atomically, creating missing parent directories.
    pub fn write_file(&self, path: &Path, contents: &str) -> Result<(), WriteError> {
        if self.is_dry_run() {
            return Ok(());
        }
        let dir = parent(path);
        fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
        replace_atomically(path, contents.as_bytes()).map_err(io_error("write", path))
    }

    /// Removes the file at `path`; one that is already gone is fine.
    pub fn remove_file(&self, path: &Path) -> Result<(), WriteError> {
        if self.is_dry_run() {
            return Ok(());
        }
        match fs::remove_file(path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(io_error("remove", path)(err)),
            _ => Ok(()),
        }
    }

    /// Creates directory `dir` — absent or empty — holding `files` (paths relative to `dir`), in
    /// one step: built under a hidden name next to `dir`, then renamed into place. An existing
    /// empty `dir` is kept (it may be a shell's current directory or a mount point) and the tree
    /// is built inside it instead, then its top-level entries are moved up, each by rename; its
    /// parent is never written, so it may be read-only. On failure nothing written remains: not
    /// the tree, nor the parent directories made for it; an existing `dir` is left empty.
    pub fn create_tree<'f>(
        &self,
        dir: &Path,
        files: impl IntoIterator<Item = (&'f Path, &'f str)>,
    ) -> Result<(), WriteError> {
        if self.is_dry_run() {
            return Ok(());
        }
        if dir.is_dir() {
            return fill_empty_directory(dir, files);
        }
        let parent = parent(dir);
        let made = create_parents(parent)?;
        let staging = parent.join(temporary_name(dir));
        let built = fs::create_dir(&staging)
            .map_err(io_error("create directory", &staging))
            .and_then(|()| fill(&staging, files))
            .and_then(|()| fs::rename(&staging, dir).map_err(io_error("create directory", dir)));
        if built.is_err() {
            // Best effort: the original error is the one worth reporting.
            let _ = fs::remove_dir_all(&staging);
            remove_empty_directories(&made);
        }
        built
    }

    /// Runs `git init` in `dir`. Whether `dir` should have a repository of its own is the
    /// caller's to decide (see [`GitWorkTree::around`]).
    ///
    /// [`GitWorkTree::around`]: crate::git_work_tree::GitWorkTree::around
    pub fn init_git(&self, dir: &Path) -> Result<(), WriteError> {
        if self.is_dry_run() {
            return Ok(());
        }
        let output = git_command(dir)
            .args(["init", "--quiet"])
            .output()
            .map_err(|err| WriteError::GitInit {
                dir: dir.to_owned(),
                message: err.to_string(),
            })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(WriteError::GitInit {
                dir: dir.to_owned(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

/// [`Writer::create_tree`] into the existing empty directory `dir`, staged inside it.
fn fill_empty_directory<'f>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'f Path, &'f str)>,
) -> Result<(), WriteError> {
    if !is_empty(dir, None)? {
        // A rename into a non-empty directory could replace a file of the user's.
        let source = io::Error::from(io::ErrorKind::DirectoryNotEmpty);
        return Err(io_error("create directory", dir)(source));
    }
    let staging = dir.join(temporary_name(dir));
    fs::create_dir(&staging).map_err(io_error("create directory", &staging))?;
    let built = fill(&staging, files).and_then(|()| move_entries(&staging, dir));
    // Best effort: the original error is the one worth reporting.
    let _ = fs::remove_dir_all(&staging);
    built
}

fn fill<'f>(
    staging: &Path,
    files: impl IntoIterator<Item = (&'f Path, &'f str)>,
) -> Result<(), WriteError> {
    for (relative, contents) in files {
        let path = staging.join(relative);
        let dir = parent(&path);
        fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
        fs::write(&path, contents).map_err(io_error("write", &path))?;
    }
    Ok(())
}

/// Moves every entry of `from`, a directory inside `to`, up into `to`, which must hold nothing
/// else; on failure moves back what was moved, so `to` is left as it was.
fn move_entries(from: &Path, to: &Path) -> Result<(), WriteError> {
    // Checked again just before the renames: a rename can replace a file or an empty directory.
    if !is_empty(to, from.file_name())? {
        let source = io::Error::from(io::ErrorKind::DirectoryNotEmpty);
        return Err(io_error("create directory", to)(source));
    }
    let entries: Vec<_> = fs::read_dir(from)
        .and_then(|entries| entries.map(|entry| Ok(entry?.file_name())).collect())
        .map_err(io_error("read directory", from))?;
    for (done, name) in entries.iter().enumerate() {
        let target = to.join(name);
        if let Err(source) = fs::rename(from.join(name), &target) {
            for name in &entries[..done] {
                let _ = fs::rename(to.join(name), from.join(name));
            }
            return Err(WriteError::Io {
                action: "create",
                path: target,
                source,
            });
        }
    }
    Ok(())
}

/// Whether `dir` holds no entry but `except`.
fn is_empty(dir: &Path, except: Option<&OsStr>) -> Result<bool, WriteError> {
    let mut entries = fs::read_dir(dir).map_err(io_error("read directory", dir))?;
    Ok(entries.all(|entry| entry.is_ok_and(|entry| Some(entry.file_name().as_os_str()) == except)))
}

/// Creates `dir` and its missing parents, returning those it made, deepest first.
fn create_parents(dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|ancestor| !ancestor.as_os_str().is_empty() && !ancestor.exists())
        .map(Path::to_owned)
        .collect();
    match fs::create_dir_all(dir) {
        Ok(()) => Ok(missing),
        Err(source) => {
            remove_empty_directories(&missing);
            Err(io_error("create directory", dir)(source))
        }
    }
}

/// Removes `dirs`, deepest first, as long as they are empty: what another process put there stays.
fn remove_empty_directories(dirs: &[PathBuf]) {
    for dir in dirs {
        if fs::remove_dir(dir).is_err() {
            return;
        }
    }
}

fn replace_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = parent(path);
    let temporary = dir.join(temporary_name(path));
    // `create_new` gives the usual permissions (0666 minus the umask), which a replaced file then
    // trades for its predecessor's.
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(contents)?;
            if let Ok(old) = fs::metadata(path) {
                file.set_permissions(old.permissions())?;
            }
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temporary, path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
        return written;
    }
    // Make the rename itself durable; a failure here cannot undo it, so it is not an error.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// `.name.<pid>.<n>.tmp`: hidden, unique within this process and unlikely to clash with others.
fn temporary_name(path: &Path) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.{}.{n}.tmp", std::process::id())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_owned();
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replacing_a_file_keeps_its_permissions_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.sh");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o751)).unwrap();
        Writer::new(WriteMode::Write)
            .write_file(&path, "new")
            .unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o751
        );
        assert_eq!(names_in(dir.path()), ["run.sh"]);
    }

    #[test]
    fn failed_write_leaves_the_old_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should go makes the final rename fail.
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), "x").unwrap();
        let err = Writer::new(WriteMode::Write)
            .write_file(&path, "new")
            .unwrap_err();
        assert!(err.to_string().starts_with("could not write"), "{err}");
        assert_eq!(names_in(dir.path()), ["taken"]);
        assert_eq!(names_in(&path), ["inside"]);
    }

    #[test]
    fn tree_is_created_whole_in_an_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ws");
        fs::create_dir(&target).unwrap();
        let files = [(Path::new("a/b.txt"), "b"), (Path::new("c.txt"), "c")];
        Writer::new(WriteMode::Write)
            .create_tree(&target, files)
            .unwrap();
        assert_eq!(fs::read_to_string(target.join("a/b.txt")).unwrap(), "b");
        assert_eq!(names_in(dir.path()), ["ws"]);
        assert_eq!(names_in(&target), ["a", "c.txt"]);
    }

    #[test]
    fn existing_empty_directory_is_kept_and_filled() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ws");
        fs::create_dir(&target).unwrap();
        let inode = fs::metadata(&target).unwrap().ino();
        let files = [(Path::new("a/b.txt"), "b")];
        Writer::new(WriteMode::Write)
            .create_tree(&target, files)
            .unwrap();
        assert_eq!(fs::metadata(&target).unwrap().ino(), inode);
        assert_eq!(fs::read_to_string(target.join("a/b.txt")).unwrap(), "b");
        assert_eq!(names_in(dir.path()), ["ws"]);
    }

    /// The modification time of `dir`, after setting it to a fixed past moment: it changes when an
    /// entry is made or removed in `dir`, whoever the process runs as.
    fn pin_mtime(dir: &Path) -> std::time::SystemTime {
        let then = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::open(dir).unwrap().set_modified(then).unwrap();
        then
    }

    #[test]
    fn tree_in_an_existing_directory_is_staged_inside_it() {
        // Its parent may be read-only, or another file system when `ws` is a mount point.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ws");
        fs::create_dir(&target).unwrap();
        let then = pin_mtime(dir.path());
        let files = [(Path::new("a/b.txt"), "b"), (Path::new("c.txt"), "c")];
        Writer::new(WriteMode::Write)
            .create_tree(&target, files)
            .unwrap();
        assert_eq!(names_in(&target), ["a", "c.txt"]);
        let parent_modified = fs::metadata(dir.path()).unwrap().modified().unwrap();
        assert_eq!(parent_modified, then, "something was made next to `ws`");
    }

    #[test]
    fn failed_tree_leaves_an_existing_directory_empty() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ws");
        fs::create_dir(&target).unwrap();
        // `a` is written as a file, then needed as a directory.
        let files = [(Path::new("a"), "a"), (Path::new("a/b.txt"), "b")];
        let err = Writer::new(WriteMode::Write)
            .create_tree(&target, files)
            .unwrap_err();
        assert!(
            err.to_string().starts_with("could not create directory"),
            "{err}"
        );
        assert_eq!(names_in(dir.path()), ["ws"]);
        assert!(names_in(&target).is_empty(), "{:?}", names_in(&target));
    }

    #[test]
    fn failed_tree_removes_the_directories_made_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out/deeper/ws");
        let files = [(Path::new("a"), "a"), (Path::new("a/b.txt"), "b")];
        assert!(
            Writer::new(WriteMode::Write)
                .create_tree(&target, files)
                .is_err()
        );
        assert!(
            names_in(dir.path()).is_empty(),
            "{:?}",
            names_in(dir.path())
        );
    }

    #[test]
    fn tree_is_not_created_over_a_non_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ws");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("mine.txt"), "mine").unwrap();
        let files = [(Path::new("c.txt"), "c")];
        assert!(
            Writer::new(WriteMode::Write)
                .create_tree(&target, files)
                .is_err()
        );
        assert_eq!(names_in(dir.path()), ["ws"]);
        assert_eq!(names_in(&target), ["mine.txt"]);
    }

    #[test]
    fn dry_run_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::new(WriteMode::DryRun);
        writer.write_file(&dir.path().join("f"), "x").unwrap();
        writer
            .create_tree(&dir.path().join("t"), [(Path::new("g"), "y")])
            .unwrap();
        writer.init_git(dir.path()).unwrap();
        assert!(names_in(dir.path()).is_empty());
        fs::write(dir.path().join("kept"), "x").unwrap();
        writer.remove_file(&dir.path().join("kept")).unwrap();
        assert_eq!(names_in(dir.path()), ["kept"]);
    }
}
