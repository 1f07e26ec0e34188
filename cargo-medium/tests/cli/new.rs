//! `cargo medium new`: what a user sees, and what lands on disk.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::{cargo_medium, example_spec};

/// A temporary directory holding a copy of the example spec as `student.lmspc`.
fn dir_with_spec() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(example_spec(), dir.path().join("student.lmspc")).unwrap();
    dir
}

/// Every file under `dir`, relative and sorted, skipping `.git`.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == ".git" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn manifest(root: &Path) -> toml_edit::DocumentMut {
    fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

fn has_files(tree: &[String], wanted: &[&str]) -> bool {
    wanted
        .iter()
        .all(|file| tree.iter().any(|have| have == file))
}

/// The runtime next to this checkout, which `new` depends on by default.
fn runtime_checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../medium-runtime")
        .canonicalize()
        .unwrap()
}

/// The note `new` prints when the workspace takes the runtime from this checkout.
fn runtime_note(manifest: &str) -> String {
    format!(
        "note: `medium-runtime` is taken from `{}`, where cargo-medium was built, as cargo has \
         not downloaded a published {}; to change that, edit `[workspace.dependencies]` in \
         `{manifest}` or pass `--runtime PATH|VERSION`\n",
        runtime_checkout().display(),
        env!("CARGO_PKG_VERSION"),
    )
}

#[test]
fn new_creates_a_workspace_named_after_the_class() {
    let dir = dir_with_spec();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc", "--vcs", "none"])
        .assert()
        .success()
        .stdout("")
        .stderr(format!(
            "     Created student-system-protocol (generated from student.lmspc)\n\
             \x20    Created student-system-daemon (yours: the daemon)\n\
             \x20    Created student-system-app (yours: an example app)\n\
             \x20    Created workspace `student-system`\n\
             {}\
             note: start the daemon with `cd student-system && cargo run -p student-system-daemon`, \
             then run the app in another terminal with `cargo run -p student-system-app`\n",
            runtime_note("student-system/Cargo.toml")
        ));
    let root = dir.path().join("student-system");
    let files = tree(&root);
    assert!(
        has_files(
            &files,
            &[
                ".gitignore",
                "Cargo.toml",
                "README.md",
                "student.lmspc",
                "student-system-protocol/Cargo.toml",
                "student-system-daemon/Cargo.toml",
                "student-system-app/Cargo.toml",
            ]
        ),
        "{files:#?}"
    );
    assert!(!root.join(".git").exists());
    assert_eq!(
        fs::read_to_string(root.join("student.lmspc")).unwrap(),
        fs::read_to_string(example_spec()).unwrap()
    );
    let manifest = manifest(&root);
    let members: Vec<_> = manifest["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        members,
        [
            "student-system-protocol",
            "student-system-daemon",
            "student-system-app"
        ]
    );
    let record = &manifest["workspace"]["metadata"]["medium"]["protocols"][0];
    assert_eq!(record["spec"].as_str(), Some("student.lmspc"));
    assert_eq!(record["protocol"].as_str(), Some("student-system-protocol"));
    assert_eq!(record["daemon"].as_str(), Some("student-system-daemon"));
    assert_eq!(record["app"].as_str(), Some("student-system-app"));
}

#[test]
fn new_with_git_initializes_a_repository() {
    let dir = dir_with_spec();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc", "--vcs", "git"])
        .assert()
        .success();
    assert!(dir.path().join("student-system/.git").is_dir());
}

#[test]
fn new_depends_on_the_runtime_of_this_checkout_by_default_and_says_so() {
    // medium-runtime is not published: no cargo home has it from crates.io.
    let dir = dir_with_spec();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc", "--vcs", "none"])
        .assert()
        .success()
        .stderr(predicate::str::contains(runtime_note(
            "student-system/Cargo.toml",
        )));
    let manifest = manifest(&dir.path().join("student-system"));
    let dependency = &manifest["workspace"]["dependencies"]["medium-runtime"];
    assert_eq!(
        dependency["path"].as_str(),
        Some(runtime_checkout().to_str().unwrap())
    );
}

#[test]
fn new_requires_this_version_of_the_runtime_when_cargo_has_it_from_crates_io() {
    let dir = dir_with_spec();
    let version = env!("CARGO_PKG_VERSION");
    let cargo_home = dir.path().join("cargo-home");
    let registry = cargo_home.join("registry/cache/index.crates.io-1949cf8c6b5b557f");
    fs::create_dir_all(&registry).unwrap();
    fs::write(registry.join(format!("medium-runtime-{version}.crate")), "").unwrap();
    cargo_medium(dir.path())
        .env("CARGO_HOME", &cargo_home)
        .args(["new", "student.lmspc", "--vcs", "none"])
        .assert()
        .success()
        .stderr(predicate::str::contains("medium-runtime").not());
    let manifest = manifest(&dir.path().join("student-system"));
    assert_eq!(
        manifest["workspace"]["dependencies"]["medium-runtime"].as_str(),
        Some(version)
    );
}

#[test]
fn new_with_a_runtime_version_writes_that_requirement() {
    let dir = dir_with_spec();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc", "--vcs", "none", "--runtime", "0.1"])
        .assert()
        .success()
        .stderr(predicate::str::contains("medium-runtime").not());
    let manifest = manifest(&dir.path().join("student-system"));
    assert_eq!(
        manifest["workspace"]["dependencies"]["medium-runtime"].as_str(),
        Some("0.1")
    );
}

#[test]
fn new_refuses_a_runtime_that_is_neither_a_directory_nor_a_version() {
    let dir = dir_with_spec();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc", "--runtime", "latest!"])
        .assert()
        .code(101)
        .stderr(
            "error: `--runtime latest!` is neither a directory nor a version requirement \
             (like `0.1` or `=0.1.2`)\n",
        );
    assert_eq!(tree(dir.path()), ["student.lmspc"]);
}

#[test]
fn new_with_path_name_and_no_app_uses_them() {
    let dir = dir_with_spec();
    cargo_medium(dir.path())
        .args([
            "new",
            "student.lmspc",
            "out/school",
            "--name",
            "school",
            "--no-app",
        ])
        .args(["--vcs", "none"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "note: start the daemon with `cd out/school && cargo run -p school-daemon`\n",
        ));
    let root = dir.path().join("out/school");
    let files = tree(&root);
    assert!(
        has_files(
            &files,
            &["school-protocol/Cargo.toml", "school-daemon/Cargo.toml"]
        ),
        "{files:#?}"
    );
    assert!(
        !files.iter().any(|file| file.starts_with("school-app")),
        "{files:#?}"
    );
    let manifest = manifest(&root);
    let record = &manifest["workspace"]["metadata"]["medium"]["protocols"][0];
    assert!(record.get("app").is_none());
}

#[test]
fn new_refuses_a_non_empty_directory_and_leaves_it_alone() {
    let dir = dir_with_spec();
    fs::create_dir(dir.path().join("student-system")).unwrap();
    fs::write(dir.path().join("student-system/notes.txt"), "mine").unwrap();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc"])
        .assert()
        .code(101)
        .stderr(format!(
            "error: destination `{}` already exists and is not an empty directory\n",
            dir.path().join("student-system").display()
        ));
    assert_eq!(
        tree(dir.path()),
        ["student-system/notes.txt", "student.lmspc"]
    );
}

#[test]
fn new_fills_an_existing_empty_directory() {
    let dir = dir_with_spec();
    fs::create_dir(dir.path().join("here")).unwrap();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc", "here", "--vcs", "none"])
        .assert()
        .success();
    assert!(dir.path().join("here/Cargo.toml").is_file());
}

#[test]
fn new_fills_an_empty_directory_whose_parent_is_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = dir_with_spec();
    let here = dir.path().join("here");
    fs::create_dir(&here).unwrap();
    let parent = dir.path();
    fs::set_permissions(parent, fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes to a read-only directory anyway; an unchanged modification time shows, for any
    // user, that nothing was made or removed next to `here` (as when `here` is a mount point).
    let then = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    fs::File::open(parent).unwrap().set_modified(then).unwrap();
    let assert = cargo_medium(parent)
        .args(["new", "student.lmspc", "here", "--vcs", "none"])
        .assert();
    let parent_modified = fs::metadata(parent).unwrap().modified().unwrap();
    fs::set_permissions(parent, fs::Permissions::from_mode(0o755)).unwrap();
    assert.success();
    assert_eq!(parent_modified, then, "something was made next to `here`");
    assert!(here.join("Cargo.toml").is_file());
}

#[test]
fn failed_new_into_an_existing_empty_directory_leaves_it_empty() {
    let dir = dir_with_spec();
    fs::create_dir(dir.path().join("here")).unwrap();
    // A valid crate name, but `<name>-protocol` is longer than a file name may be.
    let name = "a".repeat(250);
    cargo_medium(dir.path())
        .args([
            "new",
            "student.lmspc",
            "here",
            "--vcs",
            "none",
            "--name",
            &name,
        ])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("-protocol`: File name too long"));
    let mut entries: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    entries.sort();
    assert_eq!(entries, ["here", "student.lmspc"]);
    assert_eq!(fs::read_dir(dir.path().join("here")).unwrap().count(), 0);
}

#[test]
fn new_with_a_bad_spec_prints_diagnostics_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("bad.lmspc"),
        "namespace a.b\nclass Bad\nmethod get(id: strng)\n",
    )
    .unwrap();
    cargo_medium(dir.path())
        .args(["new", "bad.lmspc"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("bad.lmspc:3:"))
        .stderr(predicate::str::ends_with(
            "error: `bad.lmspc` has errors; nothing was written\n",
        ));
    assert_eq!(tree(dir.path()), ["bad.lmspc"]);
}

#[test]
fn new_with_a_spec_using_fd_generates_crates_passing_medium_runtime_fds() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("logs.lmspc"),
        "namespace a.b\nclass Logs\nmethod open_log(name: string): fd\n",
    )
    .unwrap();
    cargo_medium(dir.path())
        .args(["new", "logs.lmspc", "--vcs", "none"])
        .assert()
        .success();
    let client = fs::read_to_string(dir.path().join("logs/logs-protocol/src/client.rs")).unwrap();
    assert!(
        client.contains("Result<::medium_runtime::Fd, rt::CallError<crate::LogsError>>"),
        "{client}"
    );
}

#[test]
fn new_with_a_missing_spec_names_it() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .args(["new", "nowhere.lmspc"])
        .assert()
        .code(101)
        .stderr(predicate::str::starts_with(
            "error: could not read spec `nowhere.lmspc`: ",
        ));
}

#[test]
fn dry_run_lists_every_file_and_writes_nothing() {
    let dir = dir_with_spec();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc", "--dry-run"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "     Writing student-system/Cargo.toml\n",
        ))
        .stderr(predicate::str::contains(
            "     Writing student-system/student-system-daemon/Cargo.toml\n",
        ))
        .stderr(predicate::str::contains(
            "     Writing student-system/student.lmspc\n",
        ))
        .stderr(predicate::str::ends_with(
            "warning: aborting due to dry run: nothing was written\n",
        ));
    assert_eq!(tree(dir.path()), ["student.lmspc"]);
}

/// A workspace with a member of its own, the spec in a `specs/` folder inside it.
fn existing_workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\n    \"tool\",\n]\n",
    )
    .unwrap();
    fs::create_dir_all(root.join("tool/src")).unwrap();
    fs::write(root.join("tool/Cargo.toml"), "[package]\nname = \"tool\"\n").unwrap();
    fs::create_dir(root.join("specs")).unwrap();
    fs::copy(example_spec(), root.join("specs/student.lmspc")).unwrap();
    (dir, root)
}

#[test]
fn new_inside_a_workspace_adds_the_crates_to_it() {
    let (_dir, root) = existing_workspace();
    cargo_medium(&root.join("tool/src"))
        .args(["new", "../../specs/student.lmspc"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "    Updating {}: added 3 members, 2 `workspace.package` keys, 5 workspace \
             dependencies and protocol record for `specs/student.lmspc`\n",
            root.join("Cargo.toml").display()
        )));
    let files = tree(&root);
    assert!(
        has_files(
            &files,
            &[
                "student-system-protocol/Cargo.toml",
                "student-system-app/Cargo.toml"
            ]
        ),
        "{files:#?}"
    );
    // The spec already lives in the workspace: recorded where it is, not copied; and an
    // existing workspace gets no README, .gitignore or repository.
    assert!(
        !files
            .iter()
            .any(|f| f == "student.lmspc" || f == "README.md" || f == ".gitignore")
    );
    assert!(!root.join(".git").exists());
    let manifest = manifest(&root);
    let record = &manifest["workspace"]["metadata"]["medium"]["protocols"][0];
    assert_eq!(record["spec"].as_str(), Some("specs/student.lmspc"));
    assert_eq!(
        manifest["workspace"]["members"].as_array().unwrap().len(),
        4
    );
}

#[test]
fn new_inside_a_workspace_says_where_the_runtime_comes_from_only_when_it_adds_it() {
    let (_dir, root) = existing_workspace();
    cargo_medium(&root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .success()
        .stderr(predicate::str::contains(runtime_note("Cargo.toml")));

    let (_dir, root) = existing_workspace();
    let manifest = "[workspace]\nmembers = [\"tool\"]\n\n[workspace.dependencies]\n\
                    medium-runtime = \"0.1\"\n";
    fs::write(root.join("Cargo.toml"), manifest).unwrap();
    cargo_medium(&root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .success()
        .stderr(predicate::str::contains("medium-runtime").not());
}

#[test]
fn new_copies_a_spec_from_outside_into_the_workspace_root() {
    let (_dir, root) = existing_workspace();
    cargo_medium(&root)
        .arg("new")
        .arg(example_spec())
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(root.join("student.lmspc")).unwrap(),
        fs::read_to_string(example_spec()).unwrap()
    );
    let manifest = manifest(&root);
    let record = &manifest["workspace"]["metadata"]["medium"]["protocols"][0];
    assert_eq!(record["spec"].as_str(), Some("student.lmspc"));
}

#[test]
fn new_with_manifest_path_adds_to_that_workspace() {
    let (_dir, root) = existing_workspace();
    let elsewhere = tempfile::tempdir().unwrap();
    cargo_medium(elsewhere.path())
        .arg("new")
        .arg(root.join("specs/student.lmspc"))
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .assert()
        .success();
    assert!(root.join("student-system-daemon/Cargo.toml").is_file());
    assert!(tree(elsewhere.path()).is_empty());
}

#[test]
fn new_of_a_spec_already_in_the_workspace_is_refused() {
    let (_dir, root) = existing_workspace();
    cargo_medium(&root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .success();
    let before = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    cargo_medium(&root)
        .args(["new", "specs/student.lmspc", "--name", "other"])
        .assert()
        .code(101)
        .stderr(format!(
            "error: `specs/student.lmspc` is already recorded in `{}`; run `cargo medium sync` \
             to regenerate its crate\n",
            root.join("Cargo.toml").display()
        ));
    assert_eq!(fs::read_to_string(root.join("Cargo.toml")).unwrap(), before);
    assert!(!root.join("other-daemon").exists());
}

#[test]
fn new_adds_to_a_workspace_written_with_dotted_keys() {
    let (_dir, root) = existing_workspace();
    fs::write(root.join("Cargo.toml"), "workspace.members = [\"tool\"]\n").unwrap();
    cargo_medium(&root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .success();
    let manifest = manifest(&root);
    let members = manifest["workspace"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 4, "{manifest}");
    let record = &manifest["workspace"]["metadata"]["medium"]["protocols"][0];
    assert_eq!(record["spec"].as_str(), Some("specs/student.lmspc"));
}

#[test]
fn new_into_a_workspace_written_as_an_inline_table_says_why_it_stops() {
    let (_dir, root) = existing_workspace();
    let before = "workspace = { members = [\"tool\"] }\n";
    fs::write(root.join("Cargo.toml"), before).unwrap();
    cargo_medium(&root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .code(101)
        .stderr(format!(
            "error: could not add to `{}`: `workspace` is an inline table (`workspace = {{ … }}`), \
             which cargo medium does not edit: write it as a `[workspace]` table\n",
            root.join("Cargo.toml").display()
        ));
    assert_eq!(fs::read_to_string(root.join("Cargo.toml")).unwrap(), before);
    assert!(!root.join("student-system-protocol").exists());
}

#[test]
fn new_into_the_current_empty_directory_fills_it() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().join("here");
    fs::create_dir(&here).unwrap();
    cargo_medium(&here)
        .arg("new")
        .arg(example_spec())
        .args([".", "--vcs", "none"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "note: start the daemon with `cargo run -p student-system-daemon`",
        ));
    assert!(here.join("Cargo.toml").is_file());
    assert!(here.join("student-system-daemon/src/main.rs").is_file());
}

#[test]
fn dry_run_inside_a_workspace_leaves_its_manifest_alone() {
    let (_dir, root) = existing_workspace();
    let before = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    cargo_medium(&root)
        .args(["new", "specs/student.lmspc", "--dry-run"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "    Updating Cargo.toml: added 3 members",
        ))
        .stderr(predicate::str::contains(
            "     Writing student-system-protocol/src/lib.rs\n",
        ));
    assert_eq!(fs::read_to_string(root.join("Cargo.toml")).unwrap(), before);
    assert!(!root.join("student-system-protocol").exists());
}

#[test]
fn spec_named_like_a_workspace_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(example_spec(), dir.path().join("README.md")).unwrap();
    cargo_medium(dir.path())
        .args(["new", "README.md"])
        .assert()
        .code(101)
        .stderr(
            "error: the spec's file name `README.md` is also the name of a file or crate of the \
             new workspace; rename the spec\n",
        );
    assert_eq!(tree(dir.path()), ["README.md"]);
}

/// A temporary directory outside any repository, holding a repository `repo` with the spec.
fn repository_with_spec() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().canonicalize().unwrap().join("repo");
    fs::create_dir(&repo).unwrap();
    let status = std::process::Command::new("git")
        .args(["init", "--quiet"])
        .current_dir(&repo)
        .status()
        .unwrap();
    assert!(status.success());
    fs::copy(example_spec(), repo.join("student.lmspc")).unwrap();
    (dir, repo)
}

#[test]
fn new_next_to_a_repository_from_inside_it_initializes_one() {
    // The README's `new examples/student.lmspc ../student-system`, run in a checkout.
    let (dir, repo) = repository_with_spec();
    cargo_medium(&repo)
        .args(["new", "student.lmspc", "../x"])
        .assert()
        .success()
        .stderr(predicate::str::contains("skipped `git init`").not());
    assert!(dir.path().join("x/.git").is_dir());
}

#[test]
fn new_inside_a_repository_skips_git_init_and_says_why() {
    let (_dir, repo) = repository_with_spec();
    cargo_medium(&repo)
        .args(["new", "student.lmspc", "sub/x"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "note: skipped `git init`: `sub/x` is inside the git work tree `{}`; pass `--vcs git` \
             to make a repository anyway\n",
            repo.display()
        )));
    assert!(repo.join("sub/x/Cargo.toml").is_file());
    assert!(!repo.join("sub/x/.git").exists());
}

#[test]
fn new_with_vcs_git_inside_a_repository_initializes_one_anyway() {
    let (_dir, repo) = repository_with_spec();
    cargo_medium(&repo)
        .args(["new", "student.lmspc", "x", "--vcs", "git"])
        .assert()
        .success()
        .stderr(predicate::str::contains("skipped `git init`").not());
    assert!(repo.join("x/.git").is_dir());
}

#[test]
fn new_under_a_directory_a_repository_ignores_initializes_one() {
    let (_dir, repo) = repository_with_spec();
    fs::write(repo.join(".gitignore"), "/build/\n").unwrap();
    cargo_medium(&repo)
        .args(["new", "student.lmspc", "build/x"])
        .assert()
        .success();
    assert!(repo.join("build/x/.git").is_dir());
}
