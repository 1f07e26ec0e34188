//! `cargo medium new` inside an existing workspace whose manifest has comments and odd
//! formatting: the crates join it and the manifest only gains lines (issue 5, end-to-end
//! test 4).

use std::fs;

use crate::support::{Cargo, cargo_medium, checkout_root, run_ok, unique_name};

/// A hand-written manifest: comments everywhere, odd spacing, a dependency the scaffold also
/// needs, a profile after the workspace tables.
const USER_MANIFEST: &str = r#"# Acme tools: hand-written, keep the layout.
[workspace]
members = [
    "TOOL",     # the command-line tool
]
resolver    = "2"   # keep: older toolchains

[workspace.package]
version = "0.3.0"   # bumped by the release script
edition = "2024"
authors = [ "Acme <dev@acme.test>" ]

[workspace.dependencies]
# Logging, pinned for the whole workspace.
tracing   =   { version = "0.1.40" }

[profile.release]
lto = "thin"    # smaller binaries
"#;

/// The lines of `new` not matched, in order, by the lines of `old`, or `Err` with the first
/// line of `old` that `new` lost or changed.
fn added_lines<'a>(old: &str, new: &'a str) -> Result<Vec<&'a str>, String> {
    let mut added = Vec::new();
    let mut old_lines = old.lines().peekable();
    for line in new.lines() {
        if old_lines.peek() == Some(&line) {
            old_lines.next();
        } else {
            added.push(line);
        }
    }
    match old_lines.next() {
        None => Ok(added),
        Some(lost) => Err(lost.to_owned()),
    }
}

#[test]
fn new_in_a_hand_written_workspace_only_adds_lines_to_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let stem = unique_name("into-workspace", "student");
    let tool = format!("{stem}-tool");
    let user_manifest = USER_MANIFEST.replace("TOOL", &tool);
    fs::write(root.join("Cargo.toml"), &user_manifest).unwrap();
    fs::create_dir_all(root.join(&tool).join("src")).unwrap();
    fs::write(
        root.join(&tool).join("Cargo.toml"),
        format!(
            "[package]\nname = \"{tool}\"\nversion.workspace = true\nedition.workspace = true\n"
        ),
    )
    .unwrap();
    fs::write(root.join(&tool).join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::create_dir(root.join("specs")).unwrap();
    fs::copy(
        checkout_root().join("examples/student.lmspc"),
        root.join("specs/student.lmspc"),
    )
    .unwrap();

    run_ok(
        "cargo medium new",
        cargo_medium(&root.join(&tool))
            .args(["new", "../specs/student.lmspc", "--name", &stem])
            .output()
            .unwrap(),
    );

    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let added = added_lines(&user_manifest, &manifest)
        .unwrap_or_else(|lost| panic!("the manifest lost or changed `{lost}`:\n{manifest}"));
    let runtime = checkout_root()
        .join("medium-runtime")
        .canonicalize()
        .unwrap();
    let expected = [
        format!("    \"{stem}-protocol\","),
        format!("    \"{stem}-daemon\","),
        format!("    \"{stem}-app\","),
        format!("medium-runtime = {{ path = \"{}\" }}", runtime.display()),
        format!("{stem}-protocol = {{ path = \"{stem}-protocol\" }}"),
        "tokio = { version = \"1\", features = [\"full\"] }".to_owned(),
        "tracing-subscriber = { version = \"0.3\", features = [\"env-filter\"] }".to_owned(),
        "[[workspace.metadata.medium.protocols]]".to_owned(),
        "spec = \"specs/student.lmspc\"".to_owned(),
        format!("protocol = \"{stem}-protocol\""),
        format!("daemon = \"{stem}-daemon\""),
        format!("app = \"{stem}-app\""),
        // The blank line before the new table: matched in order, the old blank line before
        // `[profile.release]` pairs with the new table's, so the added one shows up here.
        String::new(),
    ];
    assert_eq!(added, expected, "manifest now:\n{manifest}");

    // Cargo accepts the result: every member resolves its inherited keys and dependencies.
    let metadata = run_ok(
        "cargo metadata",
        Cargo::new(root).run(["metadata", "--no-deps", "--format-version", "1"]),
    );
    for package in [
        &tool,
        &format!("{stem}-protocol"),
        &format!("{stem}-daemon"),
        &format!("{stem}-app"),
    ] {
        assert!(
            metadata.contains(&format!("\"name\":\"{package}\"")),
            "{package} missing"
        );
    }
    run_ok(
        "cargo medium sync --check",
        cargo_medium(root)
            .args(["sync", "--check"])
            .output()
            .unwrap(),
    );
}
