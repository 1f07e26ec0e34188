//! Property tests of the front end on random valid specs (see `shared/spec_strategy.rs`):
//! the canonical printer and the parser round-trip, and layout (whitespace, comments, line
//! breaks inside parameter lists) never changes a spec's fingerprint.

use cargo_medium::check::check_source;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::spec_strategy::checked_spec;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn canonical_text_parses_back_to_the_same_protocol(spec in checked_spec()) {
        let text = spec.canonical();
        let reparsed = check_source("p.lmspc", &text)
            .unwrap_or_else(|diagnostics| panic!("canonical text is rejected:\n{text}\n{diagnostics}"));
        prop_assert_eq!(reparsed.canonical(), text);
        prop_assert_eq!(reparsed.fingerprint(), spec.fingerprint());
    }

    #[test]
    fn whitespace_and_comments_do_not_change_the_fingerprint(
        spec in checked_spec(),
        noise in vec(any::<u8>(), 1..256),
    ) {
        let text = relayout(&spec.canonical(), &noise);
        let reparsed = check_source("p.lmspc", &text)
            .unwrap_or_else(|diagnostics| panic!("re-laid-out text is rejected:\n{text}\n{diagnostics}"));
        prop_assert_eq!(reparsed.fingerprint(), spec.fingerprint());
    }
}

/// `canonical` laid out differently, each choice taken from the next `noise` byte (all zeros
/// means no change, so failures shrink towards the canonical text): comment and blank lines
/// between lines, indentation, runs of spaces and tabs between tokens, trailing comments,
/// and line breaks (with comments) after `(` and `,` in parameter lists.
fn relayout(canonical: &str, noise: &[u8]) -> String {
    let mut noise = noise.iter().copied().cycle();
    let mut next = move || noise.next().unwrap_or(0);
    let mut out = String::new();
    for line in canonical.lines() {
        match next() % 4 {
            1 => out.push('\n'),
            2 => out.push_str("// a comment line, which may document the item below\n"),
            3 => out.push_str("  \t// indented comment ( ) { } : , *\n\n"),
            _ => {}
        }
        out.push_str(whitespace(next()));
        let in_parameters = line.starts_with("method ") || line.starts_with("event ");
        for c in line.chars() {
            match c {
                ' ' => out.push_str(match whitespace(next()) {
                    "" => " ",
                    run => run,
                }),
                '(' | ',' if in_parameters => {
                    out.push(c);
                    match next() % 4 {
                        1 => out.push('\n'),
                        2 => out.push_str(" // between parameters\n\t"),
                        _ => {}
                    }
                }
                _ => out.push(c),
            }
        }
        if next() % 3 == 1 {
            out.push_str(" // trailing comment: model x{ }");
        }
        out.push('\n');
    }
    out
}

/// A run of spaces and tabs, empty for most values.
fn whitespace(choice: u8) -> &'static str {
    match choice % 5 {
        1 => " ",
        2 => "\t",
        3 => "   \t ",
        _ => "",
    }
}
