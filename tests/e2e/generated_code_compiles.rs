//! The generated protocol crate and the user-owned daemon and app crates compile, pass
//! clippy with `-D warnings` and are rustfmt-clean, for every valid spec at once (one
//! workspace, one build: the slow part is shared).

use cargo_medium::check::check_source;
use cargo_medium::codegen::{CrateNames, rust};

use crate::support::{TestWorkspace, run_ok, unique_name, valid_specs};

#[test]
fn generated_crates_for_every_valid_spec_build_lint_and_format_clean() {
    let mut workspace = TestWorkspace::new(&unique_name("codegen", "all-specs"));
    for path in valid_specs() {
        let text = std::fs::read_to_string(&path).expect("spec is readable");
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("spec file name");
        let spec = check_source(file_name, &text)
            .unwrap_or_else(|diagnostics| panic!("{file_name} is invalid:\n{diagnostics}"));
        let stem = unique_name("codegen", file_name.trim_end_matches(".lmspc"));
        let names = CrateNames {
            protocol: format!("{stem}-protocol"),
            daemon: format!("{stem}-daemon"),
            app: format!("{stem}-app"),
        };
        workspace.add_protocol_crate(&names.protocol, &rust::protocol_crate(&spec, &names));
        workspace.add_crate(&names.daemon, &rust::daemon_crate(&spec, &names));
        workspace.add_crate(&names.app, &rust::app_crate(&spec, &names));
    }
    let cargo = workspace.finish();

    run_ok(
        "cargo build",
        cargo.run(["build", "--workspace", "--all-targets"]),
    );
    run_ok(
        "cargo clippy",
        cargo.run([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    );
    // `-p` per member: `--all` would also check path dependencies (this checkout's runtime).
    let mut fmt = vec!["fmt".to_owned(), "--check".to_owned()];
    for member in workspace.members() {
        fmt.extend(["-p".to_owned(), member.clone()]);
    }
    run_ok("cargo fmt --check", cargo.run(&fmt));
}
