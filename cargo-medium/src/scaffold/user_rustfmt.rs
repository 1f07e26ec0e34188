//! [`UserRustfmt`]: the user's rustfmt, run on the daemon's and app's sources before they are
//! written, so they start out the way the user's `cargo fmt` lays them out — their
//! `rustfmt.toml`, their toolchain — as `cargo new` formats the file it creates.
//!
//! Best effort: the generator's text is already valid Rust, so when rustfmt is missing or fails
//! (a broken `rustfmt.toml`), the files are written as generated and the user is told. Runs a
//! process but writes nothing, so planning (and `--dry-run`) stays free of writes.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why rustfmt left a text unformatted.
#[derive(Debug, thiserror::Error)]
pub enum RustfmtError {
    #[error("could not run `{}`", program.to_string_lossy())]
    NotRun {
        program: OsString,
        source: io::Error,
    },
    #[error("`{}` failed: {message}", program.to_string_lossy())]
    Failed { program: OsString, message: String },
}

/// How to run the user's rustfmt on text bound for a directory that may not exist yet.
#[derive(Debug, Clone)]
pub struct UserRustfmt {
    program: OsString,
    edition: Option<String>,
    /// The working directory: rustfmt reading stdin looks for `rustfmt.toml` or
    /// `.rustfmt.toml` there and in each parent (then in the home and config directories), as
    /// `cargo fmt` does from each file's directory. (`--config-path DIR` would look in `DIR`
    /// alone.) The nearest directory that exists at or above the destination finds the same
    /// file: nothing between them exists yet.
    dir: PathBuf,
}

impl UserRustfmt {
    /// `program` formatting text for `destination` as a crate of `edition` (the workspace's,
    /// as `cargo fmt` passes it) would be formatted.
    pub fn new(program: OsString, edition: Option<String>, destination: &Path) -> UserRustfmt {
        let dir = destination
            .ancestors()
            .find(|dir| dir.is_dir())
            .unwrap_or(Path::new("/"))
            .to_owned();
        UserRustfmt {
            program,
            edition,
            dir,
        }
    }

    /// `source` formatted: `rustfmt --emit stdout` reading stdin.
    pub fn format(&self, source: &str) -> Result<String, RustfmtError> {
        let not_run = |source| RustfmtError::NotRun {
            program: self.program.clone(),
            source,
        };
        let mut command = Command::new(&self.program);
        command.args(["--emit", "stdout"]);
        if let Some(edition) = &self.edition {
            command.args(["--edition", edition]);
        }
        let mut child = command
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(not_run)?;
        // rustfmt reads all of stdin before it writes anything, so this cannot deadlock.
        let written = child
            .stdin
            .take()
            .map_or(Ok(()), |mut stdin| stdin.write_all(source.as_bytes()));
        let output = child.wait_with_output().map_err(not_run)?;
        let formatted = String::from_utf8(output.stdout).ok();
        match (output.status.success(), formatted) {
            (true, Some(formatted)) if written.is_ok() => Ok(formatted),
            _ => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let message: Vec<&str> = stderr
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .collect();
                Err(RustfmtError::Failed {
                    program: self.program.clone(),
                    message: if message.is_empty() {
                        output.status.to_string()
                    } else {
                        message.join(" ")
                    },
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSY: &str = "fn main() { let x = 1; if x == 1 { println!(\"one\"); } }\n";

    fn rustfmt_in(dir: &Path) -> UserRustfmt {
        UserRustfmt::new("rustfmt".into(), Some("2024".into()), &dir.join("ws/crate"))
    }

    #[test]
    fn config_in_the_nearest_existing_ancestor_applies() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rustfmt.toml"), "hard_tabs = true\n").unwrap();
        let formatted = rustfmt_in(dir.path()).format(MESSY).unwrap();
        assert_eq!(
            formatted,
            "fn main() {\n\tlet x = 1;\n\tif x == 1 {\n\t\tprintln!(\"one\");\n\t}\n}\n"
        );
    }

    #[test]
    fn a_broken_config_is_a_failure_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".rustfmt.toml"), "max_width = \"x\"\n").unwrap();
        let err = rustfmt_in(dir.path()).format(MESSY).unwrap_err();
        assert!(
            matches!(&err, RustfmtError::Failed { message, .. } if message.contains(".rustfmt.toml")),
            "{err}"
        );
    }

    #[test]
    fn a_missing_rustfmt_is_a_failure_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let rustfmt = UserRustfmt::new("/nonexistent/rustfmt".into(), None, dir.path());
        let err = rustfmt.format(MESSY).unwrap_err();
        assert!(
            err.to_string() == "could not run `/nonexistent/rustfmt`"
                && std::error::Error::source(&err).is_some(),
            "{err}"
        );
    }
}
