//! `new` and `sync` in workspaces whose `members` are globs: the crates go where the globs say,
//! the user's membership lists stay as written, and `sync` finds the crates there.

use std::fs;

use predicates::prelude::*;

use crate::cargo_medium;
use crate::sync::{NEW_METHOD, append, scaffolded};

#[test]
fn sync_regenerates_a_protocol_crate_recorded_in_a_folder_of_its_own() {
    let (_dir, root) = scaffolded();
    fs::create_dir(root.join("proto")).unwrap();
    fs::rename(
        root.join("student-system-protocol"),
        root.join("proto/student-system-protocol"),
    )
    .unwrap();
    let manifest = fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .replace(
            "\"student-system-protocol\",",
            "\"proto/student-system-protocol\",",
        )
        .replace(
            "{ path = \"student-system-protocol\" }",
            "{ path = \"proto/student-system-protocol\" }",
        )
        .replace(
            "app = \"student-system-app\"\n",
            "app = \"student-system-app\"\nprotocol_dir = \"proto/student-system-protocol\"\n",
        );
    fs::write(root.join("Cargo.toml"), &manifest).unwrap();
    append(&root.join("student.lmspc"), NEW_METHOD);

    cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "    Updating student-system-protocol (",
        ));
    let recorded = root.join("proto/student-system-protocol/src/spec.lmspc");
    assert!(
        fs::read_to_string(recorded)
            .unwrap()
            .contains("count_students")
    );
    assert!(!root.join("student-system-protocol").exists());
    assert_eq!(
        fs::read_to_string(root.join("Cargo.toml")).unwrap(),
        manifest
    );
}
