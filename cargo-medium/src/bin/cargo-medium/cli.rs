//! The command-line definition (clap derive). Parsing only: no behaviour here.

use std::path::PathBuf;

use cargo_medium::shell::Verbosity;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Typed, spec-driven IPC between Linux daemons and apps over Unix sockets.
#[derive(Debug, Parser)]
#[command(
    name = "cargo-medium",
    bin_name = "cargo medium",
    version,
    propagate_version = true,
    after_help = "Run `cargo medium help <COMMAND>` for more on a command."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, spelled as cargo spells them.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print nothing but errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more (repeat for even more)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Coloring of the output
    #[arg(
        long,
        global = true,
        value_name = "WHEN",
        env = "CARGO_TERM_COLOR",
        default_value = "auto"
    )]
    pub color: ColorWhen,
    /// Path to the workspace's Cargo.toml (default: found from the current directory)
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

impl GlobalArgs {
    pub fn verbosity(&self) -> Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, _) => Verbosity::Verbose,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl From<ColorWhen> for anstream::ColorChoice {
    fn from(when: ColorWhen) -> Self {
        match when {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace (or add crates to the current one) from a spec
    New(NewArgs),
    /// Regenerate protocol crates after their specs changed
    Sync(SyncArgs),
    /// Check specs and report every error
    Check(CheckArgs),
    /// Show how a spec's protocol changed between two versions of it
    Diff(DiffArgs),
    /// Generate code for another language from a spec
    Gen(GenArgs),
    /// Print a running daemon's interface in spec syntax (asked from the daemon itself)
    Describe(DescribeArgs),
    /// Call a method of a running daemon with JSON arguments and print the result as JSON
    Call(CallArgs),
    /// Print a running daemon's events as JSON lines until interrupted
    Monitor(MonitorArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The spec file (`.lmspc`)
    pub spec: PathBuf,
    /// Where to create the workspace (default: the class name in kebab case)
    pub path: Option<PathBuf>,
    /// Base name of the crates (default: the class name in kebab case)
    #[arg(long)]
    pub name: Option<String>,
    /// Do not create the example app crate
    #[arg(long)]
    pub no_app: bool,
    /// Also write a systemd user socket and service unit for the daemon (socket activation)
    #[arg(long)]
    pub systemd: bool,
    /// Also generate the Python package (client, daemon base class), kept fresh by `sync`
    #[arg(long)]
    pub python: bool,
    /// Initialize a new repository for the given version control system [default: git, none
    /// inside an existing git work tree]
    #[arg(long, value_enum)]
    pub vcs: Option<Vcs>,
    /// medium-runtime to depend on: a path to its crate, or a version requirement
    #[arg(long, value_name = "PATH|VERSION")]
    pub runtime: Option<String>,
    /// Show what would be written, write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Vcs {
    Git,
    None,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Write nothing; fail (exit 101) and list the files that are out of date
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,
    /// Show what would change, write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Spec files to check
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print each good spec's canonical text to stdout: the bytes its fingerprint is the
    /// SHA-256 of (`… --canonical spec.lmspc | sha256sum`)
    #[arg(long)]
    pub canonical: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old version of the spec
    pub old: PathBuf,
    /// The new version of the spec
    pub new: PathBuf,
    /// Exit with 1 when the protocols differ (as `git diff --exit-code`), 0 when they do not
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// The language to generate
    #[arg(value_enum)]
    pub language: GenLanguage,
    /// The spec file (`.lmspc`)
    pub spec: PathBuf,
    /// Folder to write the package folder into
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenLanguage {
    /// A Python package: dataclass models, a blocking client, a daemon base class
    Python,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The daemon's socket (default: where the daemon of SPEC listens)
    #[arg(long, value_name = "PATH", conflicts_with = "spec")]
    pub socket: Option<PathBuf>,
    /// The spec whose daemon to describe (default: the workspace's protocol)
    pub spec: Option<PathBuf>,
}

/// Which daemon `call` and `monitor` talk to.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The daemon's socket (default: where the daemon of the spec listens)
    #[arg(long, value_name = "PATH", conflicts_with = "spec")]
    pub socket: Option<PathBuf>,
    /// The spec whose daemon to use (default: the workspace's protocol)
    #[arg(long, value_name = "SPEC")]
    pub spec: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The method's spec name
    pub method: String,
    /// One JSON value per parameter: `'"text"'`, `42`, `'{"id": "1"}'`; binary as base64 or
    /// `'"@path"'`; fd as `'"@path"'` (the file, opened read-write if allowed, else read-only).
    /// A received fd prints as `{"fd": KIND, "target": LINK}`: KIND is file, directory, pipe,
    /// socket, character device, block device or other; LINK its /proc/self/fd link
    #[arg(value_name = "JSON_ARGS", allow_negative_numbers = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Events to print (default: every event of the daemon's spec)
    #[arg(value_name = "EVENT")]
    pub events: Vec<String>,
    /// Keep going when the daemon restarts: wait for it and subscribe again (a daemon rebuilt
    /// from another spec still ends the monitor)
    #[arg(long, short = 'f')]
    pub follow: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn color_and_verbosity_are_global() {
        let cli = Cli::try_parse_from(["cargo-medium", "check", "a.lmspc", "-q", "--color=never"])
            .unwrap();
        assert_eq!(cli.global.verbosity(), Verbosity::Quiet);
        assert_eq!(cli.global.color, ColorWhen::Never);
    }

    #[test]
    fn quiet_and_verbose_conflict() {
        let err =
            Cli::try_parse_from(["cargo-medium", "-q", "-v", "check", "a.lmspc"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
