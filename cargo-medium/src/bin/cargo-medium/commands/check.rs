//! `cargo medium check FILE…`.

use cargo_medium::shell::Shell;

use crate::cli::CheckArgs;

pub fn run(_args: &CheckArgs, _shell: &mut Shell) -> anyhow::Result<()> {
    anyhow::bail!("`cargo medium check` is not implemented yet")
}
