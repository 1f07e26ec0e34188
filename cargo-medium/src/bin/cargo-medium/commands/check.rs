//! `cargo medium check [--canonical] FILE…`: parse and check each spec, print every
//! diagnostic, and a one-line summary per good file; with `--canonical`, each good file's
//! canonical text on stdout (PROTOCOL.md §12), so a fingerprint can be checked with `sha256sum`.

use std::path::Path;

use cargo_medium::shell::Shell;
use cargo_medium::spec_file::SpecFile;

use crate::cli::CheckArgs;
use crate::commands::{AlreadyReported, with_causes};

pub fn run(args: &CheckArgs, shell: &mut Shell) -> anyhow::Result<()> {
    let mut failed = 0;
    for path in &args.files {
        if !check_one(path, args.canonical, shell)? {
            failed += 1;
        }
    }
    match failed {
        0 => Ok(()),
        _ => Err(AlreadyReported.into()),
    }
}

/// Checks one file and reports the outcome, with its canonical text on stdout when
/// `canonical`; returns whether it was good, or the error writing to stdout.
fn check_one(path: &Path, canonical: bool, shell: &mut Shell) -> anyhow::Result<bool> {
    let file = match SpecFile::read(path) {
        Ok(file) => file,
        Err(err) => {
            shell.error(with_causes(&err));
            return Ok(false);
        }
    };
    match file.check() {
        Ok(spec) => {
            shell.status(
                "Checked",
                format!("{}: {}", file.display_name(), spec.summary()),
            );
            if canonical {
                shell.out(&spec.canonical())?;
            }
            Ok(true)
        }
        Err(diagnostics) => {
            // A blank line sets the summary apart from the last diagnostic, as rustc does.
            shell.print_raw(&format!(
                "{}\n",
                diagnostics.render(shell.stderr_has_color())
            ));
            let count = diagnostics.len();
            let plural = if count == 1 { "" } else { "s" };
            shell.error(format!(
                "could not check `{}` due to {count} previous error{plural}",
                file.display_name()
            ));
            Ok(false)
        }
    }
}
