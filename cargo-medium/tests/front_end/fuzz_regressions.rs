//! Inputs the `parse_check` fuzz target once crashed on (kept in `fuzz_regressions/`): each must
//! check without panicking and, when it fails, render.

use cargo_medium::check::check_source;

#[test]
fn fuzz_regressions_check_and_render_without_panicking() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/front_end/fuzz_regressions");
    let files = super::spec_files(&dir);
    assert!(!files.is_empty());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("UTF-8 regression input");
        if let Err(diagnostics) = check_source("fuzz.lmspc", &text) {
            for color in [false, true] {
                assert!(
                    diagnostics.render(color).contains("error["),
                    "{}",
                    path.display()
                );
            }
        }
    }
}
