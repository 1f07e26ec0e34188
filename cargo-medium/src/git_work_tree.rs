//! [`GitWorkTree`]: the git work tree a new workspace would land in, found by git itself as
//! `cargo new` finds it, so `new` neither nests a repository in one nor skips `git init` for a
//! directory that only looks as if it were in one (`../x`, seen from inside a repository).
//!
//! It only reads (`git rev-parse`, `git check-ignore`); `git init` is the [`Writer`]'s.
//!
//! [`Writer`]: crate::writer::Writer

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An existing git work tree, named by its top-level directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitWorkTree {
    root: PathBuf,
}

impl GitWorkTree {
    /// The work tree that the new directory `dir` (an absolute path, `..` allowed) belongs to,
    /// decided as `cargo new` decides (its `existing_vcs_repo`): the one around `dir`'s parent,
    /// resolved on disk, unless that parent is a directory the work tree ignores (under a
    /// `target/`), where a repository of its own is wanted. `None` also when git cannot tell (not
    /// installed, a repository it refuses to read): then `git init` runs and says what is wrong.
    pub fn around(dir: &Path) -> Option<GitWorkTree> {
        let parent = dir.parent()?;
        // git starts from an existing directory; in a dry run the parent may not exist yet.
        let existing = parent.ancestors().find(|ancestor| ancestor.is_dir())?;
        let missing = parent.strip_prefix(existing).ok()?;
        let parent = existing.canonicalize().ok()?.join(missing);
        let root = git(existing, ["rev-parse", "--show-toplevel"].map(OsStr::new))?;
        let root = GitWorkTree {
            root: OsString::from_vec(root).into(),
        };
        match parent.strip_prefix(&root.root) {
            Ok(inside) if !inside.as_os_str().is_empty() && root.ignores(inside) => None,
            _ => Some(root),
        }
    }

    /// The work tree's top-level directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `path` (relative to the root) is ignored by the work tree's ignore rules.
    fn ignores(&self, path: &Path) -> bool {
        let args = ["check-ignore", "-q", "--"].map(OsStr::new);
        git(&self.root, args.into_iter().chain([path.as_os_str()])).is_some()
    }
}

/// Runs git in `dir`, returning its output, without the final newline, if it succeeds.
fn git<'a>(dir: &Path, args: impl IntoIterator<Item = &'a OsStr>) -> Option<Vec<u8>> {
    let output = git_command(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let mut stdout = output.stdout;
    if stdout.last() == Some(&b'\n') {
        stdout.pop();
    }
    output.status.success().then_some(stdout)
}

/// `git` run in `dir`, deciding its repository from `dir` alone: a `GIT_DIR` or `GIT_WORK_TREE`
/// inherited from the caller (a git hook, say) names another repository.
pub(crate) fn git_command(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    command
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A temporary directory outside any repository, and a repository `repo` inside it.
    fn repository() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            GitWorkTree::around(&dir.path().join("x")),
            None,
            "the temporary directory is inside a repository"
        );
        let repo = dir.path().canonicalize().unwrap().join("repo");
        fs::create_dir(&repo).unwrap();
        let status = git_command(&repo)
            .args(["init", "--quiet"])
            .status()
            .unwrap();
        assert!(status.success());
        (dir, repo)
    }

    #[test]
    fn a_directory_under_a_repository_belongs_to_it_even_before_its_parent_exists() {
        let (_dir, repo) = repository();
        let around = GitWorkTree::around(&repo.join("x")).unwrap();
        assert_eq!(around.root(), repo);
        assert_eq!(GitWorkTree::around(&repo.join("not/yet/x")), Some(around));
    }

    #[test]
    fn a_relative_path_out_of_a_repository_is_resolved_before_deciding() {
        let (_dir, repo) = repository();
        assert_eq!(GitWorkTree::around(&repo.join("../x")), None);
    }

    #[test]
    fn a_directory_under_an_ignored_one_gets_a_repository_of_its_own() {
        let (_dir, repo) = repository();
        fs::write(repo.join(".gitignore"), "/target/\n").unwrap();
        fs::create_dir(repo.join("target")).unwrap();
        assert_eq!(GitWorkTree::around(&repo.join("target/x")), None);
        assert!(GitWorkTree::around(&repo.join("src/x")).is_some());
    }
}
