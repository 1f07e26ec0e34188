//! IPC benchmark: the runtime beside its peers in the same run — a hand-written tokio +
//! rmp-serde RPC doing the same serde work (the realistic limit), tarpc, and a raw tokio
//! Unix-socket floor that only moves the bytes — plus allocations and syscalls per call.
//!
//! `cargo bench --manifest-path bench/Cargo.toml [-- [--json] [CASE…]]` prints a table, or with
//! `--json` one JSON object per case and line. Without `--bench` (as under
//! `cargo test --benches`) it does a quick smoke run whose figures mean nothing. Pin it to one
//! CPU (`taskset -c 0 cargo bench …`): on small VMs latency swings widely with whether client
//! and daemon share a CPU.
//!
//! Each daemon (ours, and each peer's server) runs in a child process: this binary
//! re-executed with `--child ROLE DIR`, so that its memory can be read on its own.
//! The modules live in `ipc/` (a bench's root resolves modules beside itself, hence `#[path]`).

#[path = "ipc/cases.rs"]
mod cases;
#[path = "ipc/child.rs"]
mod child;
#[path = "ipc/counters.rs"]
mod counters;
#[path = "ipc/handwritten.rs"]
mod handwritten;
/// The sealed-memfd helpers of the Rust blobs example, which the `bulk_64mib_fd` case uses.
#[path = "../../tests/e2e/fixtures/memfd/memfd.rs"]
mod memfd;
#[path = "ipc/ours.rs"]
mod ours;
#[path = "ipc/raw.rs"]
mod raw;
#[path = "ipc/report.rs"]
mod report;
#[path = "ipc/side.rs"]
mod side;
#[path = "ipc/stats.rs"]
mod stats;
#[path = "ipc/student.rs"]
mod student;
#[path = "ipc/tarpc_rpc.rs"]
mod tarpc_rpc;
#[path = "ipc/wire.rs"]
mod wire;

use std::process::ExitCode;

use cases::{Bench, CASES, Scale};
use child::{CHILD_FLAG, Role};
use counters::CountingAlloc;
use handwritten::HandwrittenSide;
use ours::OursSide;
use raw::RawSide;
use side::BenchResult;
use tarpc_rpc::TarpcSide;

/// Counts allocations for the `allocs_per_call` cases; otherwise the system allocator.
#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// Files the memory case needs open at once in the bench process: the idle connections plus
/// slack for the runtime.
const FILES_NEEDED: u64 = 4_096;

/// What the command line asks for.
#[derive(Debug)]
enum Mode {
    /// Be a daemon child.
    Child(Role, std::path::PathBuf),
    /// Run the cases whose names contain one of `filters` (all when empty).
    Bench {
        json: bool,
        full: bool,
        filters: Vec<String>,
    },
}

fn parse_args(args: Vec<String>) -> Result<Mode, String> {
    if args.first().map(String::as_str) == Some(CHILD_FLAG) {
        return match (args.get(1).and_then(|r| Role::parse(r)), args.get(2)) {
            (Some(role), Some(dir)) => Ok(Mode::Child(role, dir.into())),
            _ => Err(format!(
                "usage: {CHILD_FLAG} ours|raw|handwritten|tarpc DIR"
            )),
        };
    }
    let (mut json, mut full, mut filters) = (false, false, Vec::new());
    for arg in args {
        match arg.as_str() {
            "--json" => json = true,
            // Cargo passes `--bench` when running benchmarks, not when testing them.
            "--bench" => full = true,
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "unknown flag `{flag}`; usage: ipc [--json] [CASE…]"
                ));
            }
            _ => filters.push(arg),
        }
    }
    Ok(Mode::Bench {
        json,
        full,
        filters,
    })
}

fn main() -> ExitCode {
    let outcome = match parse_args(std::env::args().skip(1).collect()) {
        Ok(Mode::Child(role, dir)) => run_child(role, &dir),
        Ok(Mode::Bench {
            json,
            full,
            filters,
        }) => run_bench(json, full, &filters),
        Err(usage) => Err(usage.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_child(role: Role, dir: &std::path::Path) -> BenchResult<()> {
    child::exit_with_parent();
    counters::share_allocations(&child::allocations_file(role, dir))?;
    // The default multi-threaded runtime, as `#[tokio::main]` in a generated daemon gives.
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match role {
            Role::Ours => ours::serve(dir).await,
            Role::Raw => raw::serve(dir).await,
            Role::Handwritten => handwritten::serve(dir).await,
            Role::Tarpc => tarpc_rpc::serve(dir).await,
        }
    })
}

fn run_bench(json: bool, full: bool, filters: &[String]) -> BenchResult<()> {
    let selected: Vec<&str> = CASES
        .into_iter()
        .filter(|case| filters.is_empty() || filters.iter().any(|f| case.contains(f.as_str())))
        .collect();
    let scale = if full { Scale::full() } else { Scale::quick() };
    if !full {
        eprintln!("note: quick smoke run; `cargo bench` passes --bench for real figures");
    }
    let files = child::ensure_open_files(FILES_NEEDED)?;
    if files < FILES_NEEDED {
        eprintln!("note: only {files} open files allowed; the memory cases may fail");
    }
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let results = runtime.block_on(async {
        let bench = Bench {
            raw: RawSide::start(dir.path()).await?,
            ours: OursSide::start(dir.path()).await?,
            handwritten: HandwrittenSide::start(dir.path()).await?,
            tarpc: TarpcSide::start(dir.path()).await?,
            scale,
        };
        let mut results = Vec::new();
        // Memory first, while both daemons are fresh; printed in the order below.
        if selected.iter().any(|c| c.ends_with("_kib")) {
            eprintln!("running idle_rss_kib, per_conn_kib");
            results.extend(bench.memory().await?);
        }
        if selected.iter().any(|c| c.starts_with("bulk_64mib")) {
            eprintln!("running bulk_64mib_binary, bulk_64mib_fd, bulk_64mib_fd_resent");
            results.extend(bench.big().await?);
        }
        let paired = |c: &&&str| c.ends_with("_kib") || c.starts_with("bulk_64mib");
        for case in selected.iter().filter(|c| !paired(c)) {
            eprintln!("running {case}");
            results.push(bench.run(case).await?);
        }
        BenchResult::Ok(results)
    })?;
    let mut ordered: Vec<_> = results
        .into_iter()
        .filter(|r| selected.contains(&r.case))
        .collect();
    ordered.sort_by_key(|r| CASES.iter().position(|c| *c == r.case));
    if json {
        for result in &ordered {
            println!("{}", result.json());
        }
    } else {
        println!("{}", machine());
        print!("{}", report::table(&ordered));
    }
    Ok(())
}

/// The conditions of the run, for the table: figures only compare within one machine.
fn machine() -> String {
    let cpus = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let online = cpus.lines().filter(|l| l.starts_with("processor")).count();
    let model = cpus
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let allowed = std::thread::available_parallelism().map_or(0, usize::from);
    format!("machine: {online} CPUs ({model}); this run may use {allowed} of them")
}
