//! `cargo medium sync` when the disk refuses a write: a clear error naming the path, every
//! existing file intact and no temporary file left behind (issue 7, faults).
//!
//! Tests run as root here, where permission bits stop nothing, so a read-only folder is an
//! immutable one (`chattr +i`) and a full disk is a small tmpfs filled up; each test says why
//! it skips when the machine does not allow that.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use predicates::prelude::*;

use crate::cargo_medium;
use crate::sync::{NEW_METHOD, append, scaffolded, snapshot};

/// Runs `program args…`, true when it succeeded.
fn succeeds(program: &str, args: &[&Path]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Output holding `cause` exactly once (the error chain prints each cause once) and ending
/// the first line with it.
fn said_once(cause: &'static str) -> impl Predicate<str> {
    predicate::function(move |stderr: &str| {
        stderr.matches(cause).count() == 1
            && stderr
                .lines()
                .next()
                .is_some_and(|line| line.ends_with(cause))
    })
}

/// A folder made immutable (`chattr +i`) until dropped: nothing can be created, renamed or
/// removed in it, even by root.
struct Immutable(PathBuf);

impl Immutable {
    fn new(dir: &Path) -> Option<Immutable> {
        succeeds("chattr", &[Path::new("+i"), dir]).then(|| Immutable(dir.to_owned()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        // Else the temporary directory cannot be removed.
        succeeds("chattr", &[Path::new("-i"), &self.0]);
    }
}

/// A tmpfs mounted on a folder until dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let options = format!("size={size}");
        succeeds(
            "mount",
            &[
                Path::new("-t"),
                Path::new("tmpfs"),
                Path::new("-o"),
                Path::new(&options),
                Path::new("tmpfs"),
                dir,
            ],
        )
        .then(|| Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        succeeds("umount", &[&self.0]);
    }
}

/// Copies the tree at `from` into `to` (files and folders only, as a scaffold has).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn sync_into_a_read_only_folder_names_it_and_changes_nothing() {
    let (_dir, root) = scaffolded();
    append(&root.join("student.lmspc"), NEW_METHOD);
    let before = snapshot(&root);
    let src = root.join("student-system-protocol/src");
    let Some(_immutable) = Immutable::new(&src) else {
        eprintln!("skipped: `chattr +i` is not available or not permitted here");
        return;
    };
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .code(101)
        .stderr(predicate::str::starts_with("error: could not "))
        .stderr(predicate::str::contains(src.display().to_string()))
        .stderr(said_once("Operation not permitted (os error 1)"));
    // Also proves no temporary file was left: `snapshot` lists every file.
    assert_eq!(snapshot(&root), before);
}

#[test]
fn sync_on_a_full_disk_names_the_file_and_changes_nothing() {
    let (_dir, scaffold) = scaffolded();
    append(&scaffold.join("student.lmspc"), NEW_METHOD);
    let disk = tempfile::tempdir().unwrap();
    let Some(_tmpfs) = Tmpfs::mount(disk.path(), "1m") else {
        eprintln!("skipped: mounting a tmpfs is not permitted here");
        return;
    };
    let root = disk.path().join("ws");
    copy_tree(&scaffold, &root);
    // Fill the disk up; what is left is less than a page, too little for any generated file.
    let filler = disk.path().join("filler");
    let chunk = vec![0u8; 4096];
    let mut file = fs::File::create(&filler).unwrap();
    while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
    drop(file);
    let before = snapshot(&root);
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .code(101)
        .stderr(predicate::str::starts_with("error: could not "))
        .stderr(predicate::str::contains(root.display().to_string()))
        .stderr(said_once("No space left on device (os error 28)"));
    assert_eq!(snapshot(&root), before);
}
