//! Daemons run in child processes (this bench binary re-executed with `--child`), so the
//! memory read from /proc is the daemon's alone and never includes the client side's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::side::BenchResult;

/// The argument that turns this binary into a daemon child.
pub const CHILD_FLAG: &str = "--child";

/// How long a child may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Which daemon a child runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A `medium_runtime::Daemon` with the bench's hand-written dispatch.
    Ours,
    /// The raw-socket baseline server.
    Raw,
    /// The hand-written tokio + rmp-serde RPC server.
    Handwritten,
    /// The tarpc server.
    Tarpc,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ours => "ours",
            Role::Raw => "raw",
            Role::Handwritten => "handwritten",
            Role::Tarpc => "tarpc",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Ours, Role::Raw, Role::Handwritten, Role::Tarpc]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Diagnostics: `IPC_BENCH_WRAP_<ROLE>` (e.g. `IPC_BENCH_WRAP_OURS`) names a command (words
/// split on spaces) that the daemon child of that role runs under, e.g.
/// `valgrind --tool=callgrind` to count its instructions per call. Such a child is asked to
/// exit (its stdin closed) before it is killed, so the tool can write its report.
const WRAP_PREFIX: &str = "IPC_BENCH_WRAP_";

/// How long a wrapped child may take to exit once asked.
const WRAPPED_EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// A running daemon child; killed when dropped.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Run under an `IPC_BENCH_WRAP_<ROLE>` command ([`WRAP_PREFIX`]).
    wrapped: bool,
    /// Where the child counts its allocations.
    allocations: PathBuf,
}

/// The file in which the daemon child of `role` counts its allocations.
pub fn allocations_file(role: Role, dir: &Path) -> PathBuf {
    dir.join(format!("{}.allocations", role.as_str()))
}

impl Daemon {
    /// Starts a child running `role` with its sockets in `dir`, and waits until `ready` (the
    /// last socket it binds) exists. Waiting on the path rather than connecting keeps the
    /// idle-memory reading free of any connection's traces.
    pub async fn spawn(role: Role, dir: &Path, ready: &Path) -> BenchResult<Daemon> {
        let wrapper = std::env::var(format!("{WRAP_PREFIX}{}", role.as_str().to_uppercase())).ok();
        let mut words = wrapper.iter().flat_map(|w| w.split_whitespace());
        let mut command = match words.next() {
            Some(tool) => {
                let mut command = Command::new(tool);
                command.args(words).arg(std::env::current_exe()?);
                command
            }
            None => Command::new(std::env::current_exe()?),
        };
        let child = command
            .arg(CHILD_FLAG)
            .arg(role.as_str())
            .arg(dir)
            // The child exits when this pipe closes, even if the bench is killed outright.
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        let mut daemon = Daemon {
            child,
            wrapped: wrapper.is_some(),
            allocations: allocations_file(role, dir),
        };
        let start = Instant::now();
        while !ready.exists() {
            if let Some(status) = daemon.child.try_wait()? {
                return Err(format!("{} daemon exited at start: {status}", role.as_str()).into());
            }
            if start.elapsed() > START_TIMEOUT {
                return Err(
                    format!("{} daemon did not bind {}", role.as_str(), ready.display()).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(daemon)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Allocations the child has made since it started counting.
    pub fn allocations(&self) -> BenchResult<u64> {
        crate::counters::allocations_in(&self.allocations)
    }

    /// The child's resident set size in KiB, from /proc.
    pub fn rss_kib(&self) -> BenchResult<u64> {
        self.status_kib("VmRSS")
    }

    /// The child's resident memory in KiB, split into what it allocated (`RssAnon`: heap and
    /// stacks) and the pages of files it maps (`RssFile`: mostly this bench binary's code, so
    /// it grows with the binary, whichever daemon the child runs).
    pub fn rss_split_kib(&self) -> BenchResult<(u64, u64)> {
        Ok((self.status_kib("RssAnon")?, self.status_kib("RssFile")?))
    }

    /// A `kB` figure of the child's /proc status.
    fn status_kib(&self, field: &str) -> BenchResult<u64> {
        status_kib(&format!("/proc/{}/status", self.child.id()), field)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.wrapped {
            drop(self.child.stdin.take());
            let start = Instant::now();
            while start.elapsed() < WRAPPED_EXIT_TIMEOUT {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Already gone is fine: there is nothing else to clean up.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `field` (a `kB` figure, e.g. `VmRSS`) of a /proc status file, in KiB.
fn status_kib(status_path: &str, field: &str) -> BenchResult<u64> {
    let status = std::fs::read_to_string(status_path)?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .ok_or_else(|| format!("no {field} in {status_path}"))?;
    let kib = line.trim().trim_end_matches("kB").trim();
    Ok(kib.parse()?)
}

/// In a child: exit as soon as the parent's end of stdin closes.
pub fn exit_with_parent() {
    std::thread::spawn(|| {
        // EOF or an error both mean the parent is gone.
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
}

/// Makes sure this process (and the children, which inherit it) may open `needed` files.
/// Returns the soft limit in force afterwards.
pub fn ensure_open_files(needed: u64) -> BenchResult<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if limit.rlim_cur >= needed {
        return Ok(limit.rlim_cur);
    }
    limit.rlim_cur = needed.min(limit.rlim_max);
    // SAFETY: setrlimit only reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(limit.rlim_cur)
}
