//! End-to-end tests: drive the real `cargo-medium` binary, build and run what it scaffolds.
