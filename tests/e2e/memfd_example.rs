//! The Rust blobs example (`examples/blobs.lmspc`, `fixtures/memfd/`): bulk data through a
//! sealed memfd both ways between a generated daemon and app, over a real socket, with payloads
//! over the 16 MiB frame limit; an unsealed memfd refused.

use std::process::Command;

use crate::support::{Spawned, build_fixture_programs, checkout_root};

#[test]
fn sealed_memfds_carry_bulk_data_both_ways_between_rust_programs() {
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
    daemon.wait_for_line("ready line", |line| line == "ready");
    // 24 MiB is more than a frame may hold: only descriptors crossed the socket.
    for size in [0, 1, 4096, 24 << 20] {
        let mut app = Spawned::spawn(
            "blobs app",
            Command::new(&built.app).arg(&path).arg(size.to_string()),
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
