//! [`StudentWorkspace`]: a workspace made by the real `cargo medium new` from the student
//! example in a temp dir, with per-test package names, built into the shared target dir.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Cargo, ScaffoldedWorkspace};

/// The protocol crate name user code is written against in the fixtures: what `new` names it
/// without `--name`. Replaced by the test's own name when a fixture is installed.
const FIXTURE_PROTOCOL_CRATE: &str = "student_system_protocol";

/// The daemon and apps of `fixtures/student/` (role, path in the crate, text), written against
/// the protocol crate of a default `new`. README.md shows parts of them.
const STUDENT_PROGRAMS: [(&str, &str, &str); 5] = [
    (
        "daemon",
        "src/main.rs",
        include_str!("../fixtures/student/daemon/main.rs"),
    ),
    (
        "app",
        "src/main.rs",
        include_str!("../fixtures/student/app/main.rs"),
    ),
    (
        "app",
        "src/answer.rs",
        include_str!("../fixtures/student/app/answer.rs"),
    ),
    (
        "app",
        "src/connect.rs",
        include_str!("../fixtures/student/app/connect.rs"),
    ),
    (
        "app",
        "src/blocking.rs",
        include_str!("../fixtures/student/app/blocking.rs"),
    ),
];

/// A scaffolded student workspace, removed on drop.
#[derive(Debug)]
pub struct StudentWorkspace {
    scaffolded: ScaffoldedWorkspace,
}

impl StudentWorkspace {
    /// Runs `cargo medium new` on `examples/student.lmspc` with package names unique to `test`.
    pub fn new(test: &str) -> StudentWorkspace {
        StudentWorkspace {
            scaffolded: ScaffoldedWorkspace::new(
                test,
                "examples/student.lmspc",
                FIXTURE_PROTOCOL_CRATE,
            ),
        }
    }

    pub fn root(&self) -> &Path {
        self.scaffolded.root()
    }

    /// The package of a role: `protocol`, `daemon` or `app`.
    pub fn package(&self, role: &str) -> String {
        self.scaffolded.package(role)
    }

    /// A cargo runner for the workspace.
    pub fn cargo(&self) -> Cargo {
        self.scaffolded.cargo()
    }

    /// The path of a binary built from this workspace.
    pub fn binary(&self, name: &str) -> PathBuf {
        self.scaffolded.binary(name)
    }

    /// Writes the daemon and apps of `fixtures/student/` into their crates, as a user would:
    /// the app crate gets two binaries, the async app (named as the package) and the blocking
    /// one ([`StudentWorkspace::blocking_app`]).
    pub fn write_student_programs(&self) {
        for (role, path, text) in STUDENT_PROGRAMS {
            self.write_user_file(role, path, text);
        }
        let app = self.package("app");
        let manifest_path = self.root().join(&app).join("Cargo.toml");
        let manifest = fs::read_to_string(&manifest_path).unwrap();
        fs::write(
            &manifest_path,
            format!(
                "{manifest}\n[[bin]]\nname = \"{app}\"\npath = \"src/main.rs\"\n\n\
                 [[bin]]\nname = \"{}\"\npath = \"src/blocking.rs\"\n",
                self.blocking_app()
            ),
        )
        .unwrap();
    }

    /// The binary name of the blocking app [`StudentWorkspace::write_student_programs`] adds.
    pub fn blocking_app(&self) -> String {
        format!("{}-blocking", self.package("app"))
    }

    fn write_user_file(&self, role: &str, path: &str, fixture: &str) {
        self.scaffolded.write_user_file(role, path, fixture);
    }

    /// The `FINGERPRINT` constant of the generated protocol crate as it is now.
    pub fn fingerprint(&self) -> String {
        let spec_rs = self
            .root()
            .join(self.package("protocol"))
            .join("src/spec.rs");
        let spec_rs = fs::read_to_string(&spec_rs).expect("the protocol crate has a spec.rs");
        let (_, rest) = spec_rs
            .split_once("pub const FINGERPRINT: &str = \"")
            .unwrap_or_else(|| panic!("no FINGERPRINT constant in:\n{spec_rs}"));
        let (fingerprint, _) = rest.split_once('"').expect("the constant is a string");
        assert!(
            fingerprint.len() == 64 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()),
            "not a SHA-256 in hex: {fingerprint}"
        );
        fingerprint.to_owned()
    }
}
