//! Paths as status lines show them: relative to the current directory when inside it, so
//! output reads like the commands the user typed.

use std::path::{Component, Path};

/// `path` relative to `cwd` if it lies under it, else as given.
pub fn shown_path(path: &Path, cwd: &Path) -> String {
    let relative = path.strip_prefix(cwd).unwrap_or(path);
    let clean: std::path::PathBuf = relative
        .components()
        .filter(|part| *part != Component::CurDir)
        .collect();
    if clean.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        clean.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_current_directory_are_relative() {
        let cwd = Path::new("/work/ws");
        assert_eq!(shown_path(Path::new("/work/ws/a/./b.rs"), cwd), "a/b.rs");
        assert_eq!(shown_path(Path::new("/work/ws"), cwd), ".");
        assert_eq!(shown_path(Path::new("/elsewhere/c"), cwd), "/elsewhere/c");
    }
}
