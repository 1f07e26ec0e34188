//! `cargo medium new SPEC [PATH]`: a new workspace, or new crates in the workspace around the
//! current directory.

use std::path::Path;

use anyhow::Context;
use cargo_medium::codegen::Dependency;
use cargo_medium::git_work_tree::GitWorkTree;
use cargo_medium::manifest::{ManifestChange, RuntimeSource, Workspace};
use cargo_medium::registry_cache::RegistryCache;
use cargo_medium::scaffold::{Destination, NewOptions, Ownership, Scaffold, UNIT_DIR};
use cargo_medium::shell::{Shell, Verbosity};
use cargo_medium::spec_file::SpecFile;
use cargo_medium::writer::{WriteMode, Writer};

use super::report::{self, shown_path};
use super::{AlreadyReported, with_causes};
use crate::cli::{GlobalArgs, NewArgs, Vcs};

pub fn run(args: &NewArgs, global: &GlobalArgs, shell: &mut Shell) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let runtime = match &args.runtime {
        Some(arg) => RuntimeSource::parse(arg, &cwd)?,
        None => RuntimeSource::for_this_build(&RegistryCache::of_cargo_home(&cwd)),
    };
    let spec_file = SpecFile::read(&args.spec)?;
    let spec = match spec_file.check() {
        Ok(spec) => spec,
        Err(diagnostics) => {
            shell.print_raw(&diagnostics.render(shell.stderr_has_color()));
            shell.error(format!(
                "`{}` has errors; nothing was written",
                spec_file.display_name()
            ));
            return Err(AlreadyReported.into());
        }
    };

    let destination = match (&args.path, &global.manifest_path) {
        // Without `.` components, so `new spec .` names the current directory itself.
        (Some(path), _) => Destination::NewWorkspace(cwd.join(path).components().collect()),
        (None, Some(manifest_path)) => Destination::Existing(Box::new(
            Workspace::for_manifest_path(&cwd.join(manifest_path))?,
        )),
        (None, None) => match Workspace::find(&cwd)? {
            Some(workspace) => Destination::Existing(Box::new(workspace)),
            None => Destination::NewWorkspaceIn(cwd.clone()),
        },
    };
    let options = NewOptions {
        name: args.name.clone(),
        with_app: !args.no_app,
        systemd: args.systemd,
        python: args.python,
        runtime,
        rustfmt: std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into()),
    };
    let scaffold = Scaffold::plan(&spec_file, &spec, destination, &options)?;

    let writer = Writer::new(if args.dry_run {
        WriteMode::DryRun
    } else {
        WriteMode::Write
    });
    scaffold.write(&writer)?;
    // As `cargo new`: no repository inside another one, unless asked for with `--vcs git`.
    let enclosing_repository = match args.vcs {
        None if scaffold.is_new_workspace() => GitWorkTree::around(scaffold.root()),
        _ => None,
    };
    let git = args.vcs.unwrap_or(Vcs::Git) == Vcs::Git && enclosing_repository.is_none();
    if scaffold.is_new_workspace()
        && git
        && let Err(err) = writer.init_git(scaffold.root())
    {
        shell.warn(with_causes(&err));
    }

    report(shell, &scaffold, &cwd, args.dry_run);
    if let Some(work_tree) = enclosing_repository {
        shell.note(format!(
            "skipped `git init`: `{}` is inside the git work tree `{}`; pass `--vcs git` to make \
             a repository anyway",
            shown_path(scaffold.root(), &cwd),
            work_tree.root().display()
        ));
    }
    if args.runtime.is_none() {
        runtime_note(shell, &scaffold, &options.runtime, &cwd);
    }
    if let Some(err) = scaffold.unformatted() {
        shell.note(format!(
            "the daemon and app are written as generated, not formatted: {}",
            with_causes(err)
        ));
    }
    if args.dry_run {
        report::dry_run_done(shell);
    } else {
        next_steps(shell, &scaffold, &cwd);
    }
    Ok(())
}

/// Says where `medium-runtime` comes from when `new` added it from a local checkout by default:
/// the workspace then builds only where that checkout is.
fn runtime_note(shell: &mut Shell, scaffold: &Scaffold, runtime: &RuntimeSource, cwd: &Path) {
    let RuntimeSource::Path(checkout) = runtime else {
        return;
    };
    let name = Dependency::Runtime.name();
    let added = scaffold.is_new_workspace()
        || scaffold.manifest_update().is_some_and(|update| {
            update
                .changes
                .contains(&ManifestChange::Dependency(name.to_owned()))
        });
    if added {
        shell.note(format!(
            "`{name}` is taken from `{}`, where cargo-medium was built, as cargo has not \
             downloaded a published {}; to change that, edit `[workspace.dependencies]` in `{}` \
             or pass `--runtime PATH|VERSION`",
            checkout.display(),
            env!("CARGO_PKG_VERSION"),
            shown_path(&scaffold.root().join("Cargo.toml"), cwd),
        ));
    }
}

/// Status lines for what was (or, in a dry run, would have been) written.
fn report(shell: &mut Shell, scaffold: &Scaffold, cwd: &Path, dry_run: bool) {
    let entry = scaffold.entry();
    for krate in scaffold.crates() {
        let role = match krate.ownership {
            Ownership::Generated => format!("generated from {}", entry.spec),
            Ownership::User if Some(&krate.name) == entry.daemon.as_ref() => {
                "yours: the daemon".to_owned()
            }
            Ownership::User => "yours: an example app".to_owned(),
        };
        shell.status("Created", format!("{} ({role})", krate.dir));
    }
    if let Some(package) = scaffold.python() {
        shell.status(
            "Created",
            format!(
                "{} (Python package, generated from {})",
                package.dir, entry.spec
            ),
        );
    }
    let root = shown_path(scaffold.root(), cwd);
    if scaffold.is_new_workspace() {
        shell.status("Created", format!("workspace `{root}`"));
    }
    if let Some(update) = scaffold.manifest_update() {
        report::manifest_update(shell, update, cwd);
    }
    if dry_run || shell.verbosity() >= Verbosity::Verbose {
        for (path, _) in scaffold.files() {
            let path = shown_path(&scaffold.root().join(path), cwd);
            shell.status("Writing", path);
        }
    }
}

fn next_steps(shell: &mut Shell, scaffold: &Scaffold, cwd: &Path) {
    let cd = match shown_path(scaffold.root(), cwd) {
        root if root == "." => String::new(),
        root => format!("cd {root} && "),
    };
    let entry = scaffold.entry();
    let daemon = entry.daemon.as_deref().unwrap_or(&entry.protocol);
    let daemon_dir = entry.daemon_folder().unwrap_or(entry.protocol_folder());
    let mut steps = format!("start the daemon with `{cd}cargo run -p {daemon}`");
    if let Some(app) = &entry.app {
        steps += &format!(", then run the app in another terminal with `cargo run -p {app}`");
    }
    shell.note(steps);
    if scaffold.outside_default_members() {
        shell.note(
            "the workspace's `default-members` leave the new crates out, so a plain `cargo build` \
             in its root skips them; `-p` selects them",
        );
    }
    if let Some(package) = scaffold.python() {
        shell.note(format!(
            "to use the protocol from Python, `{cd}pip install ./{}`",
            package.dir
        ));
    }
    if scaffold.has_systemd_units() {
        shell.note(format!(
            "to run it under systemd instead, `cargo install --path {daemon_dir}`, then \
             `systemctl --user link` the service and `systemctl --user enable --now` the socket \
             in `{}`",
            shown_path(&scaffold.root().join(daemon_dir).join(UNIT_DIR), cwd)
        ));
    }
}
