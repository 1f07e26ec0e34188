//! The blobs example (`examples/blobs.lmspc`, `fixtures/memfd/`): bulk data through a sealed
//! memfd both ways between the generated Rust app and daemon, then between the Rust app and
//! the Python daemon, over real sockets, with payloads over the 16 MiB frame limit; an
//! unsealed memfd refused.

use std::path::Path;
use std::process::Command;

use crate::support::{Spawned, build_fixture_programs, checkout_root, gen_python, python_venv};

#[test]
fn sealed_memfds_carry_bulk_data_both_ways_between_the_rust_app_and_rust_and_python_daemons() {
    let built = build_fixture_programs(
        "memfd-blobs",
        &checkout_root().join("examples").join("blobs.lmspc"),
        &[
            ("src/daemon.rs", include_str!("fixtures/memfd/daemon.rs")),
            ("src/app.rs", include_str!("fixtures/memfd/app.rs")),
            ("src/memfd.rs", include_str!("fixtures/memfd/memfd.rs")),
        ],
        "libc = \"0.2\"\nsha2 = \"0.10\"\n",
    );
    let sockets = tempfile::tempdir().expect("socket dir");
    let path = sockets.path().join("blobs.sock");
    let mut daemon = Spawned::spawn("blobs daemon", Command::new(&built.daemon).arg(&path));
    app_exchanges_blobs(&built.app, &path, &mut daemon);

    let Some(python) = python_venv::python() else {
        eprintln!("skipped the Python daemon: no python3");
        return;
    };
    let generated = tempfile::tempdir().expect("package dir");
    gen_python(
        &checkout_root().join("examples/blobs.lmspc"),
        generated.path(),
    );
    let fixtures = checkout_root().join("tests/e2e/fixtures/memfd");
    let path = sockets.path().join("python-blobs.sock");
    let mut command = Command::new(python);
    command
        .arg("-u")
        .arg(fixtures.join("memfd_blobs.py"))
        .arg(&path)
        .env(
            "PYTHONPATH",
            std::env::join_paths([generated.path(), &fixtures]).unwrap(),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let mut daemon = Spawned::spawn("Python blobs daemon", &mut command);
    app_exchanges_blobs(&built.app, &path, &mut daemon);
}

/// Runs the app against the daemon at `path` (once it is ready) with payloads of several
/// sizes: 24 MiB is more than a frame may hold, so only descriptors crossed the socket.
fn app_exchanges_blobs(app: &Path, path: &Path, daemon: &mut Spawned) {
    daemon.wait_for_line("ready line", |line| line == "ready");
    for size in [0, 1, 4096, 24 << 20] {
        let mut app = Spawned::spawn(
            "blobs app",
            Command::new(app).arg(path).arg(size.to_string()),
        );
        let (status, lines, stderr) = app.wait_for_exit();
        assert!(
            status.success(),
            "the app failed with {size} bytes:\n{stderr}"
        );
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(
            lines[..2],
            ["digest ok".to_owned(), format!("pattern ok {size}")]
        );
        assert!(
            lines[2].starts_with("refused not a sealed memfd"),
            "{lines:?}"
        );
    }
    assert!(daemon.is_running(), "the daemon stopped");
}
