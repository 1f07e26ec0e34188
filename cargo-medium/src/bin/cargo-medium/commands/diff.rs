//! `cargo medium diff OLD NEW`: checks both specs and prints how the protocol changed.
//!
//! Changes are a result, not a failure: the exit code is 0 either way, unless `--exit-code`
//! asks for 1 on changes (for scripts and CI, as `git diff --exit-code`). A spec that does not
//! check fails with its diagnostics (101).

use cargo_medium::check::CheckedSpec;
use cargo_medium::diff::SpecDiff;
use cargo_medium::shell::Shell;
use cargo_medium::spec_file::SpecFile;

use super::{AlreadyReported, ProtocolsDiffer};
use crate::cli::DiffArgs;

pub fn run(args: &DiffArgs, shell: &mut Shell) -> anyhow::Result<()> {
    // Both are checked before either is reported on, so one run shows every error.
    let old = checked(&SpecFile::read(&args.old)?, shell);
    let new = checked(&SpecFile::read(&args.new)?, shell);
    let (Some(old), Some(new)) = (old, new) else {
        shell.error("could not compare the specs: fix the errors above");
        return Err(AlreadyReported.into());
    };
    let diff = SpecDiff::between(&old, &new);
    shell.out(&diff.to_string())?;
    if args.exit_code && !diff.is_empty() {
        return Err(ProtocolsDiffer.into());
    }
    Ok(())
}

/// The checked spec, or `None` after printing its diagnostics.
fn checked(file: &SpecFile, shell: &mut Shell) -> Option<CheckedSpec> {
    match file.check() {
        Ok(spec) => Some(spec),
        Err(diagnostics) => {
            shell.print_raw(&format!(
                "{}\n",
                diagnostics.render(shell.stderr_has_color())
            ));
            None
        }
    }
}
