//! The generated protocol crate and the user-owned daemon and app crates compile and pass
//! clippy with `-D warnings`, for every valid spec at once and for a few random valid specs
//! (one workspace and one build each: the slow part is shared), and the protocol crate is
//! rustfmt-clean. The daemon and app are checked as the generator returns them, before the
//! scaffold formats them with the user's rustfmt: valid and warning-free, not yet laid out.

use cargo_medium::check::{CheckedSpec, check_source};
use cargo_medium::codegen::{CrateNames, rust};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::support::spec_strategy::checked_spec;
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
        add_generated_crates(&mut workspace, &spec, &stem);
    }
    assert_builds_lints_and_formats_clean(&workspace);
}

/// Fixed, so the build is the same every run (and the generated crates stay fresh in the
/// shared target dir); change it to explore other specs.
const RANDOM_SEED: [u8; 32] = *b"cargo-medium random valid specs!";
const RANDOM_SPECS: usize = 6;

#[test]
fn generated_crates_for_random_valid_specs_build_lint_and_format_clean() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &RANDOM_SEED),
    );
    let mut workspace = TestWorkspace::new(&unique_name("codegen", "random-specs"));
    for index in 0..RANDOM_SPECS {
        let spec = checked_spec()
            .new_tree(&mut runner)
            .expect("the spec strategy never rejects")
            .current();
        // The spec text in the failure output, next to the crate name cargo reports.
        eprintln!(
            "codegen-random-{index} is generated from:\n{}",
            spec.canonical()
        );
        add_generated_crates(
            &mut workspace,
            &spec,
            &unique_name("codegen-random", &index.to_string()),
        );
    }
    assert_builds_lints_and_formats_clean(&workspace);
}

/// Builds and lints the workspace's members with `-D warnings`, then checks `cargo fmt` would
/// leave the protocol crates unchanged.
fn assert_builds_lints_and_formats_clean(workspace: &TestWorkspace) {
    let cargo = workspace.finish();
    cargo.assert_builds_and_lints_clean();
    // `-p` per crate: `--all` would also check path dependencies (this checkout's runtime).
    let mut fmt = vec!["fmt".to_owned(), "--check".to_owned()];
    for member in workspace.protocols() {
        fmt.extend(["-p".to_owned(), member.clone()]);
    }
    run_ok("cargo fmt --check", cargo.run(&fmt));
}

/// Adds the protocol, daemon and app crates generated from `spec` as `<stem>-protocol` etc.
fn add_generated_crates(workspace: &mut TestWorkspace, spec: &CheckedSpec, stem: &str) {
    let names = CrateNames {
        protocol: format!("{stem}-protocol"),
        daemon: format!("{stem}-daemon"),
        app: format!("{stem}-app"),
    };
    let rendered = "the templates render";
    let protocol = rust::protocol_crate(spec, &names).expect(rendered);
    workspace.add_protocol_crate(&protocol.name, &protocol.files);
    for user_crate in [
        rust::daemon_crate(spec, &names),
        rust::app_crate(spec, &names),
    ] {
        let user_crate = user_crate.expect(rendered);
        workspace.add_crate(&user_crate.name, &user_crate.files);
    }
}
