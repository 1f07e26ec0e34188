//! `cargo medium gen python SPEC [-o DIR]`: generates the Python package for a spec into
//! `DIR/<package>/` (default: the current directory), replacing the files it owns there.

use cargo_medium::codegen::python;
use cargo_medium::shell::Shell;
use cargo_medium::spec_file::SpecFile;
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
            let writer = Writer::new(WriteMode::Write);
            for generated in python::package(&spec) {
                writer.write_file(&dir.join(&generated.path), &generated.contents)?;
            }
            shell.status(
                "Generated",
                format!("Python package `{package}` in {}", dir.display()),
            );
        }
    }
    Ok(())
}
