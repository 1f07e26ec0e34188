//! A spec file read from disk: the one place spec text enters the program, so every command
//! reports a missing, unreadable or non-UTF-8 file the same way.

use std::path::{Path, PathBuf};

use crate::check::{self, CheckedSpec};
use crate::diagnostic::Diagnostics;

/// Why a spec file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SpecFileError {
    #[error("could not read spec `{}`", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "spec `{}` is not valid UTF-8 (invalid byte at offset {offset})",
        path.display()
    )]
    NotUtf8 { path: PathBuf, offset: usize },
}

/// The text of a spec and where it came from.
#[derive(Debug, Clone)]
pub struct SpecFile {
    path: PathBuf,
    text: String,
}

impl SpecFile {
    pub fn read(path: &Path) -> Result<SpecFile, SpecFileError> {
        let bytes = std::fs::read(path).map_err(|source| SpecFileError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|err| SpecFileError::NotUtf8 {
            path: path.to_owned(),
            offset: err.utf8_error().valid_up_to(),
        })?;
        Ok(SpecFile {
            path: path.to_owned(),
            text,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The path as the user gave it, as diagnostics show it (`--> specs/student.lmspc:7:10`).
    pub fn display_name(&self) -> String {
        self.path.display().to_string()
    }

    /// Parses and checks the spec, reporting every error at once.
    pub fn check(&self) -> Result<CheckedSpec, Diagnostics> {
        check::check_source(&self.display_name(), &self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_names_the_path_and_leaves_the_cause_to_source() {
        let err = SpecFile::read(Path::new("/nonexistent/x.lmspc")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not read spec `/nonexistent/x.lmspc`"
        );
        let cause = std::error::Error::source(&err).expect("the OS error is the source");
        assert!(cause.to_string().starts_with("No such file"), "{cause}");
    }

    #[test]
    fn non_utf8_file_reports_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.lmspc");
        std::fs::write(&path, b"namespace a\xff").unwrap();
        let err = SpecFile::read(&path).unwrap_err();
        assert!(
            matches!(err, SpecFileError::NotUtf8 { offset: 11, .. }),
            "{err:?}"
        );
    }
}
