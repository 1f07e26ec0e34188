//! Every valid spec, including the example, parses and checks.

use cargo_medium::check::check_source;

use super::{spec_files, specs_dir};

#[test]
fn every_valid_spec_and_the_example_check_cleanly() {
    let mut files = spec_files(&specs_dir("valid"));
    files.push(specs_dir("../../examples").join("student.lmspc"));
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable spec");
        if let Err(diagnostics) = check_source("spec.lmspc", &text) {
            panic!(
                "{} fails to check:\n{}",
                path.display(),
                diagnostics.render(false)
            );
        }
    }
}
