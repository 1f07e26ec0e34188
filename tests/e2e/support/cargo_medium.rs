//! The `cargo-medium` binary under test: built once per test run from this checkout (a
//! `CARGO_BIN_EXE_*` path only exists for a package's own binaries, and a binary found lying
//! around may be stale).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::checkout_root;

/// `cargo-medium` run in `dir`, colour off so output is stable.
pub fn cargo_medium(dir: &Path) -> Command {
    let mut command = Command::new(binary());
    command.current_dir(dir).env("CARGO_TERM_COLOR", "never");
    command
}

/// The path of the freshly built binary.
fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build)
}

fn build() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(checkout_root())
        .args(["build", "-p", "cargo-medium", "--bin", "cargo-medium"])
        .arg("--message-format=json-render-diagnostics")
        .output()
        .unwrap_or_else(|err| panic!("cannot run cargo: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "building cargo-medium failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // One JSON object per line; the binary's artifact line carries `"executable":"<path>"`.
    stdout
        .lines()
        .filter(|line| line.contains(r#""name":"cargo-medium""#))
        .find_map(|line| {
            let (_, rest) = line.split_once(r#""executable":""#)?;
            let (path, _) = rest.split_once('"')?;
            Some(PathBuf::from(path))
        })
        .unwrap_or_else(|| panic!("cargo printed no cargo-medium executable:\n{stdout}"))
}
