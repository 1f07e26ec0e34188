//! `cargo medium sync`.

use cargo_medium::shell::Shell;

use crate::cli::{GlobalArgs, SyncArgs};

pub fn run(_args: &SyncArgs, _global: &GlobalArgs, _shell: &mut Shell) -> anyhow::Result<()> {
    anyhow::bail!("`cargo medium sync` is not implemented yet")
}
