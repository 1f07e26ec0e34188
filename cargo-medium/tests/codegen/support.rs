//! Shared helpers: load a spec and generate all three crates for it.

use std::path::Path;

use cargo_medium::check::{CheckedSpec, check_source};
use cargo_medium::codegen::{CrateNames, GeneratedFile, rust};

/// Reads and checks a spec file; panics with the diagnostics when it is invalid.
pub fn load(path: &Path) -> CheckedSpec {
    let text = std::fs::read_to_string(path).expect("spec file is readable");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("spec file has a name");
    match check_source(name, &text) {
        Ok(spec) => spec,
        Err(diagnostics) => panic!("{} is not valid: {diagnostics:?}", path.display()),
    }
}

/// The generated crates for a spec: `(crate name, files)` for protocol, daemon and app.
pub fn generate(spec: &CheckedSpec) -> Vec<(String, Vec<GeneratedFile>)> {
    let names = CrateNames::from_class(&spec.class);
    [
        rust::protocol_crate(spec, &names),
        rust::daemon_crate(spec, &names),
        rust::app_crate(spec, &names),
    ]
    .into_iter()
    .map(|krate| {
        let krate = krate.expect("the templates render");
        (krate.name, krate.files)
    })
    .collect()
}

/// All files of some crates as one text, each under a `==> crate/path <==` header.
pub fn concat(crates: &[(String, Vec<GeneratedFile>)]) -> String {
    let mut out = String::new();
    for (name, files) in crates {
        for file in files {
            out += &format!(
                "==> {name}/{} <==\n{}\n",
                file.path.display(),
                file.contents
            );
        }
    }
    out
}
