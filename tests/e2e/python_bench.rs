//! The Python bench (`bench/python/ipc.py`, issue 17) in its quick smoke mode, so that it cannot
//! rot: it generates its package with this checkout's `cargo-medium`, runs the generated Python
//! client against the Rust peer and the Rust peer against the generated Python daemon, each
//! beside its hand-written loop, and reports every case. Its figures mean nothing here; only
//! that every case ran and reported consistent figures is checked.

use std::process::Command;

use crate::support::{Cargo, cargo_medium, checkout_root, python_venv, run_ok, shared_target_dir};

/// The cases the bench reports, in its order.
const CASES: [&str; 7] = [
    "client_call_latency_us",
    "client_in_flight_64",
    "client_bulk_1mib",
    "client_events",
    "daemon_call_latency_us",
    "daemon_in_flight_64",
    "daemon_bulk_1mib",
];

#[test]
fn python_bench_smoke_run_reports_every_case() {
    let Some(python) = python_venv::python() else {
        return;
    };
    run_ok(
        "cargo build python-peer",
        Cargo::new(checkout_root()).run([
            "build",
            "--manifest-path",
            "bench/Cargo.toml",
            "--bin",
            "python-peer",
        ]),
    );
    let peer = shared_target_dir().join("debug").join("python-peer");
    let output = Command::new(python)
        .current_dir(checkout_root())
        .args(["bench/python/ipc.py", "--quick", "--json"])
        .env("CARGO_MEDIUM", cargo_medium(&checkout_root()).get_program())
        .env("MEDIUM_PYTHON_PEER", &peer)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the test venv's python runs");
    let stdout = run_ok("bench/python/ipc.py --quick --json", output);
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let cases: Vec<&str> = results.iter().filter_map(|r| r["case"].as_str()).collect();
    assert_eq!(cases, CASES, "{stdout}");
    for result in &results {
        let figure = |key: &str| {
            result[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key}: {result}"))
        };
        let (generated, handwritten) = (figure("generated"), figure("handwritten"));
        assert!(generated > 0.0 && handwritten > 0.0, "{result}");
        // The cost of a call beside the hand-written loop's: time per call, or a rate inverted.
        let cost = match result["better"].as_str() {
            Some("lower") => generated / handwritten,
            Some("higher") => handwritten / generated,
            other => panic!("better: {other:?} in {result}"),
        };
        assert!((figure("cost_ratio") - cost).abs() < 1e-9, "{result}");
        assert_eq!(result["met"].as_bool(), Some(cost <= 1.5), "{result}");
    }
}
