//! Parse + check arbitrary text: must never panic, every diagnostic must render, and a spec that
//! checks must check again from its canonical text to the same canonical text.

#![no_main]

use cargo_medium::check::check_source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match check_source("fuzz.lmspc", text) {
        Ok(spec) => {
            let canonical = spec.canonical();
            let again = check_source("canonical.lmspc", &canonical)
                .unwrap_or_else(|d| panic!("canonical text fails to check:\n{canonical}\n{d}"));
            assert_eq!(again.canonical(), canonical);
            assert_eq!(spec.fingerprint().len(), 64);
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            let _ = diagnostics.render(false);
            let _ = diagnostics.render(true);
        }
    }
});
