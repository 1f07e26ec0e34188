//! Generated Rust is already formatted: `rustfmt --edition 2024 --check` accepts every file.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{generate, load};

/// rustfmt's complaint about `code`, or `None` when it would leave the code unchanged.
fn rustfmt_diff(code: &str) -> Option<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--check", "--color", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rustfmt runs (install it with `rustup component add rustfmt`)");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(code.as_bytes())
        .expect("rustfmt reads its input");
    let output = child.wait_with_output().expect("rustfmt finishes");
    // With input on stdin, rustfmt prints the diff but may still exit 0.
    if output.status.success() && output.stdout.is_empty() {
        None
    } else {
        Some(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn generated_rust_passes_rustfmt_check() {
    let mut failures = Vec::new();
    insta::glob!("../../../tests/specs/valid", "*.lmspc", |path| {
        for (name, files) in generate(&load(path)) {
            for file in files
                .iter()
                .filter(|f| f.path.extension().is_some_and(|e| e == "rs"))
            {
                if let Some(diff) = rustfmt_diff(&file.contents) {
                    failures.push(format!("{name}/{}:\n{diff}", file.path.display()));
                }
            }
        }
    });
    assert!(
        failures.is_empty(),
        "rustfmt would change:\n{}",
        failures.join("\n")
    );
}
