//! [`PythonPackage`]: the generated Python package `cargo medium new --python` adds to a
//! workspace, still in memory.

use crate::check::CheckedSpec;
use crate::codegen::{GeneratedFile, python};

/// The package's files and the directory they go in, relative to the workspace root.
#[derive(Debug, Clone)]
pub struct PythonPackage {
    /// Named like `cargo medium gen python` names it (`student_system`), directly under the
    /// root, so `pip install ./student_system` works from there and the root can go on
    /// `sys.path` as it is.
    pub dir: String,
    pub files: Vec<GeneratedFile>,
}

impl PythonPackage {
    pub fn of(spec: &CheckedSpec) -> PythonPackage {
        PythonPackage {
            dir: python::package_name(spec),
            files: python::package(spec),
        }
    }
}
