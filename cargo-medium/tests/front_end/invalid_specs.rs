//! Each broken spec renders a reviewed, rustc-style diagnostic (colour off).

use cargo_medium::check::check_source;

use super::{spec_files, specs_dir};

#[test]
fn every_invalid_spec_renders_its_reviewed_diagnostics() {
    insta::glob!("../../../tests/specs/invalid", "*.lmspc", |path| {
        let text = std::fs::read_to_string(path).expect("readable spec");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name");
        let diagnostics = match check_source(name, &text) {
            Ok(_) => panic!("{name} is in the invalid corpus but checks fine"),
            Err(diagnostics) => diagnostics,
        };
        let rendered = diagnostics.render(false);
        assert!(!rendered.contains('\u{1b}'), "colour codes with colour off");
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn invalid_corpus_covers_every_error_code() {
    let mut seen = std::collections::HashSet::new();
    let files = spec_files(&specs_dir("invalid"));
    assert!(files.len() >= 20, "only {} invalid specs", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable spec");
        if let Err(diagnostics) = check_source("spec.lmspc", &text) {
            seen.extend(diagnostics.iter().map(|d| d.code));
        }
    }
    for code in cargo_medium::diagnostic::ErrorCode::ALL {
        assert!(seen.contains(&code), "no invalid spec shows {code}");
    }
}

#[test]
fn colour_is_only_used_when_asked_for() {
    let diagnostics = check_source("s.lmspc", "class A\n").expect_err("no namespace");
    assert!(diagnostics.render(true).contains('\u{1b}'));
    assert!(!diagnostics.render(false).contains('\u{1b}'));
}

#[test]
fn grammar_md_lists_every_error_code_with_its_description() {
    let grammar = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../GRAMMAR.md"),
    )
    .expect("GRAMMAR.md at the repository root");
    for code in cargo_medium::diagnostic::ErrorCode::ALL {
        let row = format!("| {} | {} |", code.as_str(), code.description());
        assert!(grammar.contains(&row), "GRAMMAR.md lacks the row `{row}`");
    }
}
