//! How `new` and `sync` tell the user what they wrote: paths relative to the current
//! directory (so output reads like the commands the user typed), manifest additions, dry runs.

use std::path::{Component, Path};

use cargo_medium::manifest::ManifestUpdate;
use cargo_medium::shell::Shell;

/// `Updating Cargo.toml: added …`, and with `-v` one line per addition.
pub fn manifest_update(shell: &mut Shell, update: &ManifestUpdate, cwd: &Path) {
    let path = shown_path(&update.path, cwd);
    shell.status("Updating", format!("{path}: added {}", update.summary()));
    for change in &update.changes {
        shell.verbose_status("Adding", format!("{change} to {path}"));
    }
}

/// The last line of a dry run, as cargo words it.
pub fn dry_run_done(shell: &mut Shell) {
    shell.warn("aborting due to dry run: nothing was written");
}

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
