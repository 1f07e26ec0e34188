//! `cargo medium sync`: regenerate the workspace's protocol crates (and Python packages) from
//! their specs.

use std::path::Path;

use anyhow::Context;
use cargo_medium::manifest::{RuntimeSource, Workspace};
use cargo_medium::registry_cache::RegistryCache;
use cargo_medium::shell::{Shell, Verbosity};
use cargo_medium::sync::{CrateSync, FileChange, SyncError, SyncPlan};
use cargo_medium::writer::{WriteMode, Writer};

use super::AlreadyReported;
use super::report::{self, shown_path};
use crate::cli::{GlobalArgs, SyncArgs};

pub fn run(args: &SyncArgs, global: &GlobalArgs, shell: &mut Shell) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let workspace = match &global.manifest_path {
        Some(manifest_path) => Workspace::for_manifest_path(&cwd.join(manifest_path))?,
        None => Workspace::require(&cwd)?,
    };
    let runtime = RuntimeSource::for_this_build(&RegistryCache::of_cargo_home(&cwd));
    let plan = match SyncPlan::plan(&workspace, &runtime) {
        Ok(plan) => plan,
        Err(SyncError::InvalidSpecs(all)) => {
            for diagnostics in &all {
                shell.print_raw(&diagnostics.render(shell.stderr_has_color()));
            }
            shell.error("could not sync: fix the spec errors above; nothing was written");
            return Err(AlreadyReported.into());
        }
        Err(err) => return Err(err.into()),
    };

    if args.check {
        let stale = plan.stale_paths();
        if stale.is_empty() {
            shell.status("Fresh", "every generated crate matches its spec");
            return Ok(());
        }
        shell.error(format!(
            "{} file{} out of date with the specs:",
            stale.len(),
            if stale.len() == 1 { " is" } else { "s are" }
        ));
        for path in stale {
            shell.print_raw(&format!("    {}\n", shown_path(path, &cwd)));
        }
        for krate in &plan.crates {
            spec_changes(shell, krate);
        }
        shell.note("run `cargo medium sync` to update them");
        return Err(AlreadyReported.into());
    }

    let writer = Writer::new(if args.dry_run {
        WriteMode::DryRun
    } else {
        WriteMode::Write
    });
    plan.write(&writer)?;

    let list_files = args.dry_run || shell.verbosity() >= Verbosity::Verbose;
    for krate in &plan.crates {
        changed_files(
            shell,
            &krate.entry.protocol,
            &krate.changes,
            list_files,
            &cwd,
        );
        if let Some(python) = &krate.entry.python {
            changed_files(shell, python, &krate.python_changes, list_files, &cwd);
        }
        for path in &krate.edited {
            shell.warn(format!(
                "`{}` had local edits, which sync {}: change the spec instead",
                shown_path(path, &cwd),
                if args.dry_run {
                    "would overwrite"
                } else {
                    "overwrote"
                }
            ));
        }
        spec_changes(shell, krate);
        let daemon = krate.entry.daemon.as_deref().unwrap_or("the daemon");
        for method in krate.added_methods() {
            shell.note(format!(
                "`{method}` was added to {}: implement it in `{daemon}`",
                krate.entry.spec
            ));
        }
    }
    if let Some(update) = &plan.manifest_update {
        report::manifest_update(shell, update, &cwd);
    }
    if args.dry_run {
        report::dry_run_done(shell);
    }
    Ok(())
}

/// `Fresh name` or `Updating name (n files)`, and with `list_files` a line per file.
fn changed_files(
    shell: &mut Shell,
    name: &str,
    changes: &[FileChange],
    list_files: bool,
    cwd: &Path,
) {
    match changes.len() {
        0 => shell.status("Fresh", name),
        1 => shell.status("Updating", format!("{name} (1 file)")),
        n => shell.status("Updating", format!("{name} ({n} files)")),
    }
    if list_files {
        for change in changes {
            shell.status(change.verb(), shown_path(change.path(), cwd));
        }
    }
}

/// What changed in the protocol since the crate was last generated, if it did.
fn spec_changes(shell: &mut Shell, krate: &CrateSync) {
    let Some(diff) = &krate.spec_diff else {
        return;
    };
    shell.status(
        "Changed",
        format!(
            "{} since {} was last generated:",
            krate.entry.spec, krate.entry.protocol
        ),
    );
    if shell.verbosity() > Verbosity::Quiet {
        // Indented under the status line's message, as a continuation of it.
        for line in diff.to_string().lines() {
            shell.print_raw(&format!("{:13}{line}\n", ""));
        }
    }
}
