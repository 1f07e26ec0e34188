//! Generated Rust is already formatted: rustfmt (default configuration, edition 2024) leaves
//! every generated `.rs` file unchanged, for every spec in the corpus and for random valid
//! specs, whose long names, keywords, deep lists, docs and parameter lists reach the layouts
//! the corpus does not.

use std::path::Path;
use std::process::Command;

use cargo_medium::codegen::GeneratedFile;
use proptest::prelude::*;

use crate::spec_strategy::checked_spec;
use crate::support::{generate, load};

/// Lines of context shown before the first difference, and at most this many changed lines
/// of each side after it.
const CONTEXT_LINES: usize = 3;
const SHOWN_CHANGED_LINES: usize = 12;

#[test]
fn generated_rust_for_every_valid_spec_is_rustfmt_clean() {
    let mut failures = Vec::new();
    insta::glob!("../../../tests/specs/valid", "*.lmspc", |path| {
        if let Some(changes) = rustfmt_changes(&generate(&load(path))) {
            failures.push(format!("{}:\n{changes}", path.display()));
        }
    });
    assert!(
        failures.is_empty(),
        "rustfmt would change:\n{}",
        failures.join("\n")
    );
}

proptest! {
    // One rustfmt process per spec, a few hundredths of a second each: 256 specs take
    // about ten seconds.
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_rust_for_random_valid_specs_is_rustfmt_clean(spec in checked_spec()) {
        if let Some(changes) = rustfmt_changes(&generate(&spec)) {
            prop_assert!(
                false,
                "rustfmt would change the code generated from\n{}\n{changes}",
                spec.canonical()
            );
        }
    }
}

/// What rustfmt would change in the generated crates (`(crate name, files)`), or `None` when
/// it leaves every `.rs` file as it is.
///
/// The crates are written to a temporary directory and formatted in place from their roots,
/// following `mod` declarations as `cargo fmt` does, in one rustfmt process (a process per
/// file costs most of the time). An empty `rustfmt.toml` there keeps any configuration
/// around the temporary directory or in the home directory out.
fn rustfmt_changes(crates: &[(String, Vec<GeneratedFile>)]) -> Option<String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("rustfmt.toml"), "").expect("rustfmt.toml is written");
    let mut sources = Vec::new();
    let mut roots = Vec::new();
    for (name, files) in crates {
        for file in files {
            if file.path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let path = dir.path().join(name).join(&file.path);
            std::fs::create_dir_all(path.parent().expect("a file has a parent directory"))
                .expect("crate directories are created");
            std::fs::write(&path, &file.contents).expect("generated file is written");
            if file.path == Path::new("src/lib.rs") || file.path == Path::new("src/main.rs") {
                roots.push(path.clone());
            }
            sources.push((
                format!("{name}/{}", file.path.display()),
                path,
                &file.contents,
            ));
        }
    }
    let output = Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(&roots)
        .output()
        .expect("rustfmt runs (install it with `rustup component add rustfmt`)");
    if !output.status.success() {
        return Some(format!(
            "rustfmt failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let changes: Vec<String> = sources
        .iter()
        .filter_map(|(label, path, before)| {
            let after = std::fs::read_to_string(path).expect("formatted file is readable");
            (after != **before).then(|| format!("{label}:\n{}", first_difference(before, &after)))
        })
        .collect();
    (!changes.is_empty()).then(|| changes.join("\n"))
}

/// The first run of lines that differs between `before` and `after`, unified-diff style: a
/// few lines of context, then `-` lines of `before` and `+` lines of `after` up to where the
/// two agree again, each side cut after a dozen lines.
fn first_difference(before: &str, after: &str) -> String {
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    let same_head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let (old_end, new_end) = resync(&old[same_head..], &new[same_head..]);
    let changes = [
        ('-', &old[same_head..same_head + old_end]),
        ('+', &new[same_head..same_head + new_end]),
    ];
    let context = same_head.saturating_sub(CONTEXT_LINES);
    let mut out = format!("@@ line {} @@\n", context + 1);
    for line in &old[context..same_head] {
        out += &format!(" {line}\n");
    }
    for (sign, changed) in changes {
        for line in changed.iter().take(SHOWN_CHANGED_LINES) {
            out += &format!("{sign}{line}\n");
        }
        if changed.len() > SHOWN_CHANGED_LINES {
            out += &format!("{sign}… {} more\n", changed.len() - SHOWN_CHANGED_LINES);
        }
    }
    if before.ends_with('\n') != after.ends_with('\n') {
        out += "(the final newline differs)\n";
    }
    out
}

/// How many lines of `old` and of `new` (which differ in their first line) to skip for the two
/// to agree again on a few lines, fewest first; both whole when they never do.
fn resync(old: &[&str], new: &[&str]) -> (usize, usize) {
    let agree = |i: usize, j: usize| {
        let len = CONTEXT_LINES.min(old.len() - i).min(new.len() - j);
        old[i..i + len] == new[j..j + len]
            && (len == CONTEXT_LINES || i + len == old.len() && j + len == new.len())
    };
    (1..=old.len() + new.len())
        .flat_map(|skipped| (0..=skipped).map(move |i| (i, skipped - i)))
        .find(|&(i, j)| i <= old.len() && j <= new.len() && agree(i, j))
        .unwrap_or((old.len(), new.len()))
}
