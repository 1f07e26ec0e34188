//! What `describe`, `call` and `monitor` share: finding the daemon's socket (given, or from a
//! spec or the workspace's recorded spec, resolved as the runtime does) and reading the spec the
//! daemon reports about itself.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cargo_medium::check::{CheckedSpec, check_source};
use cargo_medium::inspect::socket_for_spec;
use cargo_medium::manifest::Workspace;
use cargo_medium::shell::Shell;
use cargo_medium::spec_file::SpecFile;
use medium_runtime::Introspection;

use super::AlreadyReported;
use crate::cli::{DaemonArgs, GlobalArgs};

/// A running daemon, found and asked for the spec it speaks.
pub struct InspectedDaemon {
    pub socket: PathBuf,
    pub introspection: Introspection,
    pub spec: CheckedSpec,
}

/// Finds the daemon `args` name (as [`socket`] does) and reads its spec.
pub fn inspect(
    args: &DaemonArgs,
    global: &GlobalArgs,
    shell: &mut Shell,
) -> anyhow::Result<InspectedDaemon> {
    let socket = socket(args.socket.as_deref(), args.spec.as_deref(), global, shell)?;
    let introspection = medium_runtime::blocking::introspect(&socket)?;
    let spec = daemon_spec(&introspection, &socket)?;
    Ok(InspectedDaemon {
        socket,
        introspection,
        spec,
    })
}

/// The socket to talk to: `socket` itself, else the one the daemon of `spec` (or of the
/// workspace's only protocol) listens on.
pub fn socket(
    socket: Option<&Path>,
    spec: Option<&Path>,
    global: &GlobalArgs,
    shell: &mut Shell,
) -> anyhow::Result<PathBuf> {
    if let Some(socket) = socket {
        return Ok(socket.to_owned());
    }
    let spec_path = match spec {
        Some(spec) => spec.to_owned(),
        None => workspace_spec(global)?,
    };
    let file = SpecFile::read(&spec_path)?;
    let checked = match file.check() {
        Ok(checked) => checked,
        Err(diagnostics) => {
            shell.print_raw(&format!(
                "{}\n",
                diagnostics.render(shell.stderr_has_color())
            ));
            shell.error("cannot find the daemon: fix the spec errors above");
            return Err(AlreadyReported.into());
        }
    };
    Ok(socket_for_spec(&checked)?)
}

/// The spec of the workspace's protocol, when it has exactly one.
fn workspace_spec(global: &GlobalArgs) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let workspace = match &global.manifest_path {
        Some(manifest_path) => Workspace::for_manifest_path(&cwd.join(manifest_path))?,
        None => Workspace::find(&cwd)?.with_context(|| {
            format!(
                "no workspace at or above {}: give the daemon with --socket PATH or a spec",
                cwd.display()
            )
        })?,
    };
    match workspace.protocols()?.as_slice() {
        [only] => Ok(only.spec_path(&workspace.root)),
        [] => bail!("the workspace records no protocol: give --socket PATH or a spec"),
        several => bail!(
            "the workspace has {} protocols ({}): say which with a spec or --socket PATH",
            several.len(),
            several
                .iter()
                .map(|p| p.spec.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The daemon's own spec, checked, so its types can drive the JSON conversion.
fn daemon_spec(daemon: &Introspection, socket: &Path) -> anyhow::Result<CheckedSpec> {
    if daemon.spec.is_empty() {
        bail!(
            "the daemon at {} ({}.{}) does not provide its spec text",
            socket.display(),
            daemon.namespace,
            daemon.class
        );
    }
    check_source(&format!("<daemon at {}>", socket.display()), &daemon.spec).map_err(|d| {
        anyhow::anyhow!(
            "the spec the daemon at {} reports does not check:\n{}",
            socket.display(),
            d.render(false)
        )
    })
}
