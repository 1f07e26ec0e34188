//! `cargo medium gen python SPEC [-o DIR]`: generates the Python package for a spec into
//! `DIR/<package>/` (default: the current directory). Planned, then written, by sync's rule:
//! files there without the `@generated` marker are the user's, and it refuses to overwrite
//! them.

use cargo_medium::codegen::python;
use cargo_medium::shell::Shell;
use cargo_medium::spec_file::SpecFile;
use cargo_medium::sync::DirSync;
use cargo_medium::writer::{WriteMode, Writer};

use super::AlreadyReported;
use crate::cli::{GenArgs, GenLanguage};

pub fn run(args: &GenArgs, shell: &mut Shell) -> anyhow::Result<()> {
    let file = SpecFile::read(&args.spec)?;
    let spec = match file.check() {
        Ok(spec) => spec,
        Err(diagnostics) => {
            shell.print_raw(&format!(
                "{}\n",
                diagnostics.render(shell.stderr_has_color())
            ));
            shell.error(format!(
                "could not generate code for `{}`: fix the errors above",
                file.display_name()
            ));
            return Err(AlreadyReported.into());
        }
    };
    match args.language {
        GenLanguage::Python => {
            let package = python::package_name(&spec);
            let dir = args.out_dir.join(&package);
            let plan = DirSync::plan(&dir, &python::package(&spec))?;
            plan.write(&Writer::new(WriteMode::Write))?;
            shell.status(
                "Generated",
                format!("Python package `{package}` in {}", dir.display()),
            );
        }
    }
    Ok(())
}
