//! The language-neutral canonical-spec vectors (`tests/vectors/canonical/canonical.json`,
//! PROTOCOL.md §12) against the checker: every case's source gives exactly the recorded
//! canonical text and fingerprint, so the code and the written definition cannot drift apart.

use std::path::{Path, PathBuf};

use cargo_medium::check::check_source;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `tests/vectors/canonical/`.
fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/canonical")
}

/// One case of the index: its name, source file name, canonical text and fingerprint.
struct Case {
    name: String,
    source: String,
    canonical: String,
    fingerprint: String,
}

fn cases() -> Vec<Case> {
    let path = vectors_dir().join("canonical.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let index: Value = serde_json::from_str(&text).expect("canonical.json is JSON");
    let field = |case: &Value, key: &str| {
        case[key]
            .as_str()
            .unwrap_or_else(|| panic!("a case without a string `{key}`: {case}"))
            .to_owned()
    };
    index["cases"]
        .as_array()
        .expect("canonical.json has a `cases` array")
        .iter()
        .map(|case| Case {
            name: field(case, "name"),
            source: field(case, "source"),
            canonical: field(case, "canonical"),
            fingerprint: field(case, "fingerprint"),
        })
        .collect()
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn every_vector_source_gives_its_canonical_text_and_fingerprint() {
    let cases = cases();
    assert!(cases.len() >= 3, "too few canonical vectors");
    for case in cases {
        let path = vectors_dir().join(&case.source);
        // Raw bytes: the sources hold a BOM and CR line breaks that must reach the parser.
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
        let text = String::from_utf8(bytes).expect("vector sources are UTF-8");
        let spec = check_source(&case.source, &text)
            .unwrap_or_else(|diagnostics| panic!("{}", diagnostics.render(false)));
        assert_eq!(
            spec.canonical(),
            case.canonical,
            "case `{}`: the checker's canonical text differs from the vector",
            case.name
        );
        assert_eq!(
            spec.fingerprint(),
            case.fingerprint,
            "case `{}`: the checker's fingerprint differs from the vector",
            case.name
        );
    }
}

/// The vectors stand on their own: an implementer hashing `canonical` gets `fingerprint`, and
/// the canonical text is itself a spec whose canonical text is itself.
#[test]
fn every_vector_fingerprint_is_the_sha256_of_its_canonical_text_which_is_a_fixed_point() {
    for case in cases() {
        assert_eq!(
            sha256_hex(&case.canonical),
            case.fingerprint,
            "case `{}`",
            case.name
        );
        let again = check_source("canonical.lmspc", &case.canonical)
            .unwrap_or_else(|diagnostics| panic!("{}", diagnostics.render(false)));
        assert_eq!(again.canonical(), case.canonical, "case `{}`", case.name);
    }
}

#[test]
fn every_source_in_the_vectors_folder_is_a_case() {
    let listed: Vec<String> = cases().into_iter().map(|case| case.source).collect();
    for path in super::spec_files(&vectors_dir()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(listed.contains(&name), "{name} is not in canonical.json");
    }
}

#[test]
fn the_student_vector_is_the_example_spec() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/student.lmspc");
    assert_eq!(
        std::fs::read(vectors_dir().join("student.lmspc")).unwrap(),
        std::fs::read(example).unwrap(),
        "examples/student.lmspc changed: copy it into tests/vectors/canonical/ and update its case"
    );
}

/// PROTOCOL.md §12's worked example is the `shop` case, source, canonical text and fingerprint.
#[test]
fn protocol_md_worked_example_is_the_shop_vector() {
    let protocol =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../PROTOCOL.md"))
            .unwrap();
    let shop = cases()
        .into_iter()
        .find(|case| case.name == "shop")
        .expect("a `shop` case");
    let source = std::fs::read_to_string(vectors_dir().join(&shop.source)).unwrap();
    for (what, text) in [
        ("source", format!("```\n{source}```\n")),
        ("canonical text", format!("```\n{}```\n", shop.canonical)),
        ("fingerprint", format!("`{}`", shop.fingerprint)),
    ] {
        assert!(
            protocol.contains(&text),
            "PROTOCOL.md §12 does not show the shop vector's {what}:\n{text}"
        );
    }
}
