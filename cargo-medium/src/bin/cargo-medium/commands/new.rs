//! `cargo medium new SPEC [PATH]`.

use cargo_medium::shell::Shell;

use crate::cli::{GlobalArgs, NewArgs};

pub fn run(_args: &NewArgs, _global: &GlobalArgs, _shell: &mut Shell) -> anyhow::Result<()> {
    anyhow::bail!("`cargo medium new` is not implemented yet")
}
