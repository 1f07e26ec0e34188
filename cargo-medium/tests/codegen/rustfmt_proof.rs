//! rustfmt never changes a generated protocol crate, whatever the user's configuration: the
//! modules are declared `#[rustfmt::skip]`, and what `lib.rs` itself holds is laid out the
//! same under every configuration. A random-spec property test, with the configurations below
//! picked per spec, reaches the names and shapes the corpus does not.

use std::path::Path;
use std::process::Command;

use cargo_medium::check::CheckedSpec;
use cargo_medium::codegen::{CrateNames, rust};
use proptest::prelude::*;

use crate::spec_strategy::checked_spec;
use crate::support::load;

/// `rustfmt.toml` files a user might have: rustfmt's defaults, narrow lines with tabs, wide
/// lines, and the stable options that reorder or rewrite what they touch.
const CONFIGS: &[&str] = &[
    "",
    "max_width = 60\nhard_tabs = true\n",
    "max_width = 200\ntab_spaces = 2\nuse_small_heuristics = \"Max\"\n",
    "reorder_imports = false\nreorder_modules = false\nnewline_style = \"Unix\"\n",
    "max_width = 40\nuse_field_init_shorthand = true\nuse_try_shorthand = true\n\
     fn_params_layout = \"Vertical\"\nmatch_block_trailing_comma = true\n",
];

#[test]
fn rustfmt_leaves_the_protocol_crate_of_every_valid_spec_alone_under_any_configuration() {
    insta::glob!("../../../tests/specs/valid", "*.lmspc", |path| {
        for config in CONFIGS {
            if let Some(changes) = rustfmt_changes(&load(path), config) {
                panic!("{}, rustfmt.toml {config:?}:\n{changes}", path.display());
            }
        }
    });
}

proptest! {
    // One rustfmt process per spec: 64 specs take about a second.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rustfmt_leaves_the_protocol_crate_of_random_specs_alone(
        spec in checked_spec(),
        config in proptest::sample::select(CONFIGS),
    ) {
        if let Some(changes) = rustfmt_changes(&spec, config) {
            prop_assert!(false, "rustfmt.toml {config:?} changes the crate of\n{}\n{changes}",
                spec.canonical());
        }
    }
}

/// The files of `spec`'s protocol crate that `rustfmt` (run from `lib.rs`, following module
/// declarations as `cargo fmt` does) changes under `config`, or `None` when it changes none.
fn rustfmt_changes(spec: &CheckedSpec, config: &str) -> Option<String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("rustfmt.toml"), config).expect("rustfmt.toml is written");
    let files = rust::protocol_crate(spec, &CrateNames::from_class(&spec.class))
        .expect("the protocol manifest renders")
        .files;
    for file in &files {
        let path = dir.path().join(&file.path);
        std::fs::create_dir_all(path.parent().expect("a file has a parent directory"))
            .expect("crate directories are created");
        std::fs::write(&path, &file.contents).expect("generated file is written");
    }
    let output = Command::new("rustfmt")
        .args(["--edition", "2024"])
        .arg(dir.path().join("src/lib.rs"))
        .output()
        .expect("rustfmt runs (install it with `rustup component add rustfmt`)");
    if !output.status.success() {
        return Some(format!(
            "rustfmt failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let changed: Vec<String> = files
        .iter()
        .filter(|file| {
            let after = std::fs::read_to_string(dir.path().join(&file.path));
            after.ok().as_ref() != Some(&file.contents)
        })
        .map(|file| format!("{} changed", Path::new(&file.path).display()))
        .collect();
    (!changed.is_empty()).then(|| changed.join("\n"))
}
