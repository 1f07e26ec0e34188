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

#[test]
fn hundreds_of_errors_are_all_reported_each_at_its_own_line() {
    use std::fmt::Write as _;
    let mut text = String::from("namespace com.example.many\nclass Many\n");
    for i in 0..600 {
        let _ = writeln!(text, "method m{i}(x: unit8)");
    }
    let start = std::time::Instant::now();
    let diagnostics = check_source("many.lmspc", &text).expect_err("600 unknown types");
    let rendered = diagnostics.render(false);
    let elapsed = start.elapsed();
    assert_eq!(diagnostics.len(), 600);
    assert_eq!(rendered.matches("error[E0003]").count(), 600);
    assert!(rendered.contains("--> many.lmspc:602:16\n"));
    assert!(rendered.contains("602 | method m599(x: unit8)\n"));
    // Rendering scans only each error's own lines; whole-file scans would be quadratic.
    assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
}
