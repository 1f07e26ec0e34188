//! `cargo medium describe [--socket PATH | SPEC]`: asks a running daemon what it speaks
//! (introspection, which needs no matching fingerprint) and prints its spec text under a
//! comment header naming the daemon.

use cargo_medium::inspect::describe_text;
use cargo_medium::shell::Shell;

use super::daemon;
use crate::cli::{DescribeArgs, GlobalArgs};

pub fn run(args: &DescribeArgs, global: &GlobalArgs, shell: &mut Shell) -> anyhow::Result<()> {
    let socket = daemon::socket(args.socket.as_deref(), args.spec.as_deref(), global, shell)?;
    let introspection = medium_runtime::blocking::introspect(&socket)?;
    shell.out(&describe_text(&introspection, &socket))?;
    Ok(())
}
