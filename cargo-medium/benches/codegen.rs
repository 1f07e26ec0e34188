//! Codegen benchmark: parse, check and generate the protocol crate of a large spec (500
//! methods, 200 models), generated here rather than checked in.
//!
//! `cargo bench -p cargo-medium --bench codegen [-- --json]` prints a table line, or with
//! `--json` one JSON object in the shape of the ipc bench (`baseline` and `ratio` are null:
//! there is nothing to compare against). Without `--bench` (`cargo test --benches`) it runs
//! once as a smoke test.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cargo_medium::check::check_source;
use cargo_medium::codegen::CrateNames;
use cargo_medium::codegen::rust::protocol_crate;

const MODELS: usize = 200;
const METHODS: usize = 500;
const EXCEPTIONS: usize = 40;
const EVENTS: usize = 60;
/// The issue's goal for the whole front end plus generator.
const GOAL_MS: f64 = 100.0;

/// A spec that uses every kind of type: primitives, lists, nested lists, models referenced
/// before they are declared, self-reference through a list, doc comments and exceptions.
fn large_spec() -> String {
    let mut s =
        String::from("namespace com.example.bench.large\nclass LargeSystem\nsocket /run/large\n\n");
    for m in 0..MODELS {
        let _ = writeln!(s, "// Model number {m}.\nmodel Model{m}{{");
        let _ = writeln!(
            s,
            "    id: string\n    count: uint32\n    score: double\n    flag: boolean"
        );
        let _ = writeln!(s, "    tags: *string\n    grid: **int16\n    photo: binary");
        // Recursion only through a list; plain references point at earlier models so no model
        // contains itself.
        let _ = writeln!(
            s,
            "    children: *Model{m}\n    later: *Model{}",
            (m + 1) % MODELS
        );
        if m > 0 {
            let _ = writeln!(s, "    parent: Model{}", m / 2);
        }
        s.push_str("}\n\n");
    }
    for e in 0..EXCEPTIONS {
        let _ = writeln!(s, "// Raised when thing {e} fails.\nexception Failure{e}");
    }
    s.push('\n');
    for m in 0..METHODS {
        let (arg, list, ret) = (m % MODELS, (m * 7) % MODELS, (m * 3) % MODELS);
        let _ = writeln!(s, "// Method number {m}.");
        match m % 3 {
            0 => {
                let _ = writeln!(
                    s,
                    "method call_{m}(id: string, item: Model{arg}, items: *Model{list}, flag: boolean): Model{ret}"
                );
            }
            1 => {
                let _ = writeln!(
                    s,
                    "method call_{m}(\n    key: uint64,\n    data: binary,\n    values: **double,\n): *Model{ret}"
                );
            }
            _ => {
                let _ = writeln!(s, "method call_{m}(item: Model{arg})");
            }
        }
    }
    s.push('\n');
    for e in 0..EVENTS {
        let _ = writeln!(
            s,
            "event happened_{e}(time: double, info: Model{}, notes: *string)",
            (e * 11) % MODELS
        );
    }
    s
}

/// Time of one front end plus generator run, and how much it generated.
fn run_once(text: &str) -> Result<(Duration, usize), String> {
    let start = Instant::now();
    let spec = check_source("large.lmspc", text).map_err(|d| format!("{d:?}"))?;
    let krate =
        protocol_crate(&spec, &CrateNames::from_class(&spec.class)).map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    Ok((elapsed, krate.files.iter().map(|f| f.contents.len()).sum()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    // Cargo passes `--bench` when benchmarking, not when testing.
    let reps = if args.iter().any(|a| a == "--bench") {
        15
    } else {
        1
    };
    let text = large_spec();
    let mut times = Vec::with_capacity(reps);
    let mut generated = 0;
    // One unmeasured run first: page faults and lazily built tables are not what we measure.
    for _ in 0..=reps {
        match run_once(&text) {
            Ok((elapsed, bytes)) => {
                times.push(elapsed);
                generated = bytes;
            }
            Err(e) => {
                eprintln!("error: the large spec does not check:\n{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    times.remove(0);
    times.sort();
    let median_ms = times[times.len() / 2].as_secs_f64() * 1e3;
    if json {
        println!(
            r#"{{"case": "codegen_large_ms", "unit": "ms", "ours": {}, "baseline": null, "ratio": null, "better": "lower"}}"#,
            (median_ms * 1000.0).round() / 1000.0
        );
    } else {
        let met = if median_ms < GOAL_MS { "yes" } else { "NO" };
        println!("case              unit    ours  baseline  ratio      goal  met");
        println!(
            "codegen_large_ms  ms    {median_ms:>6.2}         -      -  < {GOAL_MS}  {met:>3}"
        );
        println!(
            "  codegen_large_ms: {} bytes of spec, {METHODS} methods, {MODELS} models -> {generated} bytes of Rust; median of {reps}",
            text.len()
        );
    }
    ExitCode::SUCCESS
}
