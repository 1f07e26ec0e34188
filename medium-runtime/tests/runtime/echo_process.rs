//! The echo daemon example (`examples/echo_daemon.rs`) as a real child process, for the tests
//! that need a separate process: lifecycle, signals and crashes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use medium_runtime::ProtocolInfo;

pub const ECHO: ProtocolInfo = ProtocolInfo {
    namespace: "com.example.echo",
    class: "Echo",
    fingerprint: "e40e000000000000000000000000000000000000000000000000000000000000",
    socket_base: None,
    spec: "",
    events: &["echoed"],
    access: &[],
    uses_fd: false,
};

/// The example binary, which `cargo test` builds next to this test binary.
pub fn echo_daemon_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir.join("examples").join("echo_daemon");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test -p medium-runtime`, which builds the examples",
        bin.display()
    );
    bin
}

/// A daemon process that is killed if the test fails before it exits.
pub struct DaemonProcess(pub Child);

impl DaemonProcess {
    pub fn spawn(socket: &Path) -> DaemonProcess {
        let child = Command::new(echo_daemon_binary())
            .arg(socket)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        DaemonProcess(child)
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child.
        let rc = unsafe { libc::kill(self.0.id() as i32, signal) };
        assert_eq!(rc, 0);
    }

    /// Waits for exit; returns success and stderr.
    pub fn finish(mut self) -> (bool, String) {
        let child = std::mem::replace(&mut self.0, Command::new("true").spawn().unwrap());
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A size field of process `pid`'s `/proc/PID/status`, e.g. `VmRSS`, in kB.
pub fn process_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}
