//! The daemon and app templates render valid Rust for random valid specs (long names, keywords,
//! deep lists, docs): what the scaffold hands to the user's rustfmt, and writes as it is when
//! there is none, must parse. (The e2e suite compiles and lints them for fewer specs.)

use proptest::prelude::*;

use crate::spec_strategy::checked_spec;
use crate::support::generate;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn daemon_and_app_sources_parse_for_random_valid_specs(spec in checked_spec()) {
        for (name, files) in &generate(&spec)[1..] {
            for file in files.iter().filter(|file| file.path.extension() == Some("rs".as_ref())) {
                if let Err(err) = syn::parse_file(&file.contents) {
                    prop_assert!(
                        false,
                        "{name}/{} does not parse ({err}), generated from\n{}\n{}",
                        file.path.display(),
                        spec.canonical(),
                        file.contents
                    );
                }
            }
        }
    }
}
