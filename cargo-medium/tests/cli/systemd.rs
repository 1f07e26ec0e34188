//! `cargo medium new --systemd`: the unit pair it writes, checked by systemd itself.

use std::path::Path;
use std::process::Command;

use crate::sync::scaffolded;
use crate::{cargo_medium, example_spec};

const DAEMON: &str = "student-system-daemon";

#[test]
fn new_with_systemd_writes_units_systemd_accepts_and_sync_leaves_them_alone() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .arg("new")
        .arg(example_spec())
        .args(["ws", "--vcs", "none", "--systemd"])
        .assert()
        .success();
    let root = dir.path().join("ws");
    let units = root.join(DAEMON).join("systemd");
    let socket = units.join(format!("{DAEMON}.socket"));
    let service = units.join(format!("{DAEMON}.service"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("systemctl --user link"), "{readme}");

    verify(dir.path(), &socket, &service);

    // The units are the user's: sync, even after a spec change, does not rewrite them.
    std::fs::write(&service, "# mine\n").unwrap();
    let spec = root.join("student.lmspc");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text + "event student_left(id: string)\n").unwrap();
    cargo_medium(&root).arg("sync").assert().success();
    assert_eq!(std::fs::read_to_string(&service).unwrap(), "# mine\n");
}

#[test]
fn new_without_systemd_writes_no_units() {
    let (_dir, root) = scaffolded();
    assert!(!root.join(DAEMON).join("systemd").exists());
}

/// Runs `systemd-analyze --user verify` on the units, with a home whose `~/.cargo/bin` holds the
/// daemon (verify insists `ExecStart` is executable) and a runtime folder of its own. Skipped,
/// saying so, where systemd-analyze is not installed.
fn verify(scratch: &Path, socket: &Path, service: &Path) {
    let home = scratch.join("home");
    let bin = home.join(".cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let daemon = bin.join(DAEMON);
    std::fs::write(&daemon, "#!/bin/sh\n").unwrap();
    let runtime = scratch.join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&daemon, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let output = match Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(socket)
        .arg(service)
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
    {
        Ok(output) => output,
        Err(err) => {
            eprintln!("skipping systemd-analyze verify: cannot run systemd-analyze ({err})");
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Unknown keys are only warnings to systemd; any output at all is a defect in the units.
    assert!(output.status.success() && stderr.is_empty(), "{stderr}");
}
