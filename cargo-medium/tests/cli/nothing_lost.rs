//! Nothing a user wrote is lost (issue 7): `sync` keeps comments and key order in every
//! manifest and leaves unrelated members alone, and `new` with a bad spec inside an existing
//! workspace writes nothing. (`new` into a hand-written workspace manifest is the end-to-end
//! test `new_in_a_hand_written_workspace_only_adds_lines_to_its_manifest`.)

use std::fs;
use std::path::Path;

use crate::cargo_medium;
use crate::sync::{NEW_METHOD, append, scaffolded, snapshot};

/// The scaffolded root manifest after its user reworked it: comments everywhere, tables and
/// keys reordered, an unrelated member, a profile — and the protocol crate's member line
/// lost, so `sync` has to edit the file.
const USER_ROOT_MANIFEST: &str = r#"# Student tools. Hand-edited: keep this layout.
[workspace.package]
edition = "2024"   # edition first, on purpose
version = "0.1.0"

[workspace]
members = [
    "tool",   # our own helper, not generated
    "student-system-app",
    "student-system-daemon",
]
resolver = "3"

[workspace.dependencies]
# Logging first.
tracing-subscriber = { version = "0.3", features = ["env-filter"] }
tracing = "0.1"
tokio = { version = "1", features = ["full"] }
medium-runtime = { path = "RUNTIME" }
student-system-protocol = { path = "student-system-protocol" }

[profile.release]
lto = "thin"   # smaller binaries

[[workspace.metadata.medium.protocols]]
spec = "student.lmspc"
protocol = "student-system-protocol"
daemon = "student-system-daemon"
app = "student-system-app"
"#;

/// A user-owned crate manifest with its lines reordered and commented: `[dependencies]`
/// first, keys in reverse order.
fn rework_manifest(path: &Path) {
    let original = fs::read_to_string(path).unwrap();
    let (package, dependencies) = original
        .split_once("\n[dependencies]\n")
        .expect("a package table, then dependencies");
    let mut reworked = String::from("# Mine: dependencies first.\n[dependencies]\n");
    for line in dependencies.lines().rev() {
        reworked += line;
        reworked += "   # kept\n";
    }
    reworked += "\n";
    reworked += package;
    reworked += "\n";
    fs::write(path, reworked).unwrap();
}

#[test]
fn sync_keeps_comments_and_order_in_every_manifest_and_unrelated_members() {
    let (_dir, root) = scaffolded();
    let runtime = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let runtime = runtime
        .lines()
        .find_map(|line| line.strip_prefix("medium-runtime = { path = \""))
        .and_then(|rest| rest.strip_suffix("\" }"))
        .expect("the scaffold depends on the runtime by path")
        .to_owned();
    let user_manifest = USER_ROOT_MANIFEST.replace("RUNTIME", &runtime);
    fs::write(root.join("Cargo.toml"), &user_manifest).unwrap();
    fs::create_dir_all(root.join("tool/src")).unwrap();
    fs::write(
        root.join("tool/Cargo.toml"),
        "# The helper.\n[package]\nname = \"tool\"\nedition = \"2024\"   # no inheritance\n",
    )
    .unwrap();
    fs::write(root.join("tool/src/main.rs"), "fn main() {}\n").unwrap();
    rework_manifest(&root.join("student-system-daemon/Cargo.toml"));
    rework_manifest(&root.join("student-system-app/Cargo.toml"));
    let user_crates: Vec<_> = ["tool", "student-system-daemon", "student-system-app"]
        .map(|name| snapshot(&root.join(name)))
        .into();
    append(&root.join("student.lmspc"), NEW_METHOD);

    cargo_medium(&root).arg("sync").assert().success();

    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let expected = user_manifest.replace(
        "    \"student-system-daemon\",\n",
        "    \"student-system-daemon\",\n    \"student-system-protocol\",\n",
    );
    assert_eq!(manifest, expected);
    let after: Vec<_> = ["tool", "student-system-daemon", "student-system-app"]
        .map(|name| snapshot(&root.join(name)))
        .into();
    assert_eq!(after, user_crates);
}

#[test]
fn new_with_a_bad_spec_inside_a_workspace_writes_nothing() {
    let (_dir, root) = scaffolded();
    fs::write(
        root.join("other.lmspc"),
        "namespace a.b\nclass Other\nmethod get(id: strng)\n",
    )
    .unwrap();
    let before = snapshot(&root);
    cargo_medium(&root)
        .args(["new", "other.lmspc"])
        .assert()
        .code(101)
        .stderr(predicates::str::contains("other.lmspc:3:"));
    assert_eq!(snapshot(&root), before);
}
