//! End-to-end tests: drive the real `cargo-medium` binary, build and run what it scaffolds.
//!
//! One test binary with modules (faster to link than one per file); [`support`] holds what
//! every test needs: paths, a shared target dir, cargo invocations, unique package names.

mod access_rules;
mod conformance_vectors;
mod file_descriptors;
mod fingerprint_mismatch;
mod forwarded_socket;
mod generated_code_compiles;
mod generated_code_round_trips;
mod new_into_workspace;
mod python_bench;
mod python_interop;
mod python_venv_reuse;
mod readme_snippets;
mod scaffolded_stubs;
mod student_daemon;
mod support;
mod sync_flow;
