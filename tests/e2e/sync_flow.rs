//! A spec change, end to end: `cargo medium sync` regenerates the protocol crate, leaves the
//! user's daemon alone, and the compiler then names the method the daemon must implement
//! (issue 5, end-to-end test 3).

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{Cargo, cargo_medium, checkout_root, run_ok, unique_name};

/// What the user implements once the compiler asks for it.
const COUNT_STUDENTS_IMPL: &str = "    async fn count_students(
        &self,
        _cx: &protocol::StudentSystemContext,
    ) -> protocol::StudentSystemResult<u32> {
        Ok(0)
    }

";

/// Every file under `dir` with its bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn spec_change_is_synced_and_the_compiler_names_the_method_the_daemon_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let stem = unique_name("sync-flow", "student");
    fs::copy(
        checkout_root().join("examples/student.lmspc"),
        dir.path().join("student.lmspc"),
    )
    .unwrap();
    run_ok(
        "cargo medium new",
        cargo_medium(dir.path())
            .args([
                "new",
                "student.lmspc",
                "ws",
                "--vcs",
                "none",
                "--name",
                &stem,
            ])
            .output()
            .unwrap(),
    );
    let root = dir.path().join("ws");
    // The checkout's versions, so the offline build finds every crate in the cache.
    fs::copy(checkout_root().join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    let daemon_dir = root.join(format!("{stem}-daemon"));
    let daemon_before = snapshot(&daemon_dir);

    // The user adds a model field and a method to the spec.
    let spec_path = root.join("student.lmspc");
    let spec = fs::read_to_string(&spec_path).unwrap();
    let spec = spec.replace("photo: binary\n", "photo: binary\nemail: string\n");
    assert!(
        spec.contains("email: string"),
        "the example spec changed:\n{spec}"
    );
    fs::write(&spec_path, spec + "\nmethod count_students(): uint32\n").unwrap();

    let check = cargo_medium(&root)
        .args(["sync", "--check"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(101), "{}", stderr(&check));
    assert!(
        stderr(&check).contains(&format!("    {stem}-protocol/src/")),
        "{}",
        stderr(&check)
    );

    let sync = cargo_medium(&root).arg("sync").output().unwrap();
    let sync_stderr = stderr(&sync);
    assert!(sync.status.success(), "{sync_stderr}");
    assert!(
        sync_stderr.starts_with(&format!("    Updating {stem}-protocol (")),
        "{sync_stderr}"
    );
    assert!(
        sync_stderr.contains(&format!(
            "note: `count_students` was added to student.lmspc: implement it in `{stem}-daemon`\n"
        )),
        "{sync_stderr}"
    );
    run_ok(
        "cargo medium sync --check",
        cargo_medium(&root)
            .args(["sync", "--check"])
            .output()
            .unwrap(),
    );
    assert!(
        snapshot(&daemon_dir) == daemon_before,
        "sync changed the user's daemon"
    );

    let cargo = Cargo::new(&root);
    let build = cargo.run(["build", "--workspace"]);
    let build_stderr = stderr(&build);
    assert!(
        !build.status.success(),
        "the daemon lacks a method, yet it built"
    );
    assert!(build_stderr.contains("error[E0046]"), "{build_stderr}");
    assert!(build_stderr.contains("count_students"), "{build_stderr}");

    let main_rs = daemon_dir.join("src/main.rs");
    let main = fs::read_to_string(&main_rs).unwrap();
    let anchor = "    /// Background work beside serving";
    assert!(
        main.contains(anchor),
        "the daemon template changed:\n{main}"
    );
    fs::write(
        &main_rs,
        main.replacen(anchor, &format!("{COUNT_STUDENTS_IMPL}{anchor}"), 1),
    )
    .unwrap();
    run_ok("cargo build", cargo.run(["build", "--workspace"]));
}
