//! Snapshots of the generated Python package, one per valid spec: `pyproject.toml` and
//! `__init__.py` (the bundled `_medium.py` runtime is the same file for every spec).

use cargo_medium::codegen::python;

use crate::support::load;

#[test]
fn python_package_for_every_valid_spec() {
    insta::glob!("../../../tests/specs/valid", "*.lmspc", |path| {
        let spec = load(path);
        let mut out = format!("package: {}\n", python::package_name(&spec));
        for file in python::package(&spec) {
            if file.path.ends_with("_medium.py") {
                continue;
            }
            out += &format!("==> {} <==\n{}\n", file.path.display(), file.contents);
        }
        insta::assert_snapshot!(out);
    });
}

#[test]
fn python_package_bundles_the_runtime_and_marks_itself_typed() {
    let spec = load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/specs/valid/student.lmspc"
    )));
    let files = python::package(&spec);
    let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    assert_eq!(
        paths,
        ["pyproject.toml", "__init__.py", "_medium.py", "py.typed"]
    );
    assert!(files[2].contents.contains("class Client(_ClientCore):"));
    assert!(
        files[1]
            .contents
            .contains(&format!("FINGERPRINT = \"{}\"", spec.fingerprint()))
    );
}
