//! A daemon and an app written as fixtures (`tests/e2e/fixtures/…`), built in a test workspace
//! against the protocol crate generated from a spec, as a user's would be.

use std::path::{Path, PathBuf};

use cargo_medium::check::check_source;
use cargo_medium::codegen::{CrateNames, GeneratedFile, rust};

use super::{TestWorkspace, run_ok, shared_target_dir};

/// The built programs, and the fingerprint of their spec.
#[derive(Debug)]
pub struct FixturePrograms {
    pub daemon: PathBuf,
    pub app: PathBuf,
    pub fingerprint: String,
}

/// Builds `src/daemon.rs` and `src/app.rs` of `sources` (with the other files there, as
/// modules they declare) as two binaries named after `stem`, depending on the protocol crate
/// generated from `spec` (as `protocol`), `medium-runtime`, tokio and `dependencies` (lines of
/// a `[dependencies]` table).
pub fn build_fixture_programs(
    stem: &str,
    spec: &Path,
    sources: &[(&str, &str)],
    dependencies: &str,
) -> FixturePrograms {
    let text = std::fs::read_to_string(spec)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", spec.display()));
    let file_name = spec.file_name().expect("a spec file").to_string_lossy();
    let checked =
        check_source(&file_name, &text).unwrap_or_else(|_| panic!("{} is valid", spec.display()));
    let names = CrateNames {
        protocol: format!("{stem}-protocol"),
        daemon: format!("{stem}-daemon"),
        app: format!("{stem}-app"),
    };
    let mut workspace = TestWorkspace::new(stem);
    let protocol = rust::protocol_crate(&checked, &names).expect("the templates render");
    workspace.add_protocol_crate(&names.protocol, &protocol.files);
    let manifest = format!(
        "[package]\nname = \"{stem}-check\"\nversion.workspace = true\n\
         edition.workspace = true\n\n\
         [[bin]]\nname = \"{daemon}\"\npath = \"src/daemon.rs\"\n\n\
         [[bin]]\nname = \"{app}\"\npath = \"src/app.rs\"\n\n\
         [dependencies]\nprotocol = {{ package = \"{protocol}\", path = \"../{protocol}\" }}\n\
         medium-runtime.workspace = true\ntokio.workspace = true\n{dependencies}",
        daemon = names.daemon,
        app = names.app,
        protocol = names.protocol,
    );
    let mut files = vec![GeneratedFile {
        path: "Cargo.toml".into(),
        contents: manifest,
    }];
    files.extend(sources.iter().map(|(path, contents)| GeneratedFile {
        path: (*path).into(),
        contents: (*contents).to_owned(),
    }));
    workspace.add_crate(&format!("{stem}-check"), &files);
    let cargo = workspace.finish();
    run_ok(
        &format!("building the {stem} daemon and app"),
        cargo.run(["build", "-p", &format!("{stem}-check")]),
    );
    let binary = |name: &str| shared_target_dir().join("debug").join(name);
    FixturePrograms {
        daemon: binary(&names.daemon),
        app: binary(&names.app),
        fingerprint: checked.fingerprint(),
    }
}
