//! The daemon's life as a real process (`examples/echo_daemon.rs`): socket creation and
//! permissions, refusing a second daemon, replacing a stale socket, never touching a foreign
//! file, and a graceful SIGTERM.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use medium_runtime::{Client, Error, NoException};

use crate::echo_process::{DaemonProcess, ECHO, echo_daemon_binary};
use crate::support::wait_for_socket;

fn socket_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join(ECHO.namespace).join("socket")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_is_owner_only_inside_an_owner_only_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let _daemon = DaemonProcess::spawn(&path);
    wait_for_socket(&path).await;
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let folder = std::fs::metadata(path.parent().unwrap()).unwrap();
    assert_eq!(folder.permissions().mode() & 0o777, 0o700);
    let client = Client::connect_to(&ECHO, &path).await.unwrap();
    let text: String = client
        .call::<_, _, NoException>("echo", &("hi",))
        .await
        .unwrap();
    assert_eq!(text, "hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_daemon_refuses_to_start_while_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let _first = DaemonProcess::spawn(&path);
    wait_for_socket(&path).await;
    let (ok, stderr) = DaemonProcess::spawn(&path).finish();
    assert!(!ok, "second daemon must exit non-zero");
    assert!(stderr.contains("already running"), "stderr: {stderr}");
    // The first daemon is unharmed.
    let client = Client::connect_to(&ECHO, &path).await.unwrap();
    let text: String = client
        .call::<_, _, NoException>("echo", &("still here",))
        .await
        .unwrap();
    assert_eq!(text, "still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_socket_of_a_crashed_daemon_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "a stale socket file is left behind");
    let _daemon = DaemonProcess::spawn(&path);
    let client = async {
        loop {
            if let Ok(c) = Client::connect_to(&ECHO, &path).await {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let client = tokio::time::timeout(Duration::from_secs(10), client)
        .await
        .unwrap();
    let text: String = client
        .call::<_, _, NoException>("echo", &("fresh",))
        .await
        .unwrap();
    assert_eq!(text, "fresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_that_is_not_a_socket_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "precious").unwrap();
    let (ok, stderr) = DaemonProcess::spawn(&path).finish();
    assert!(!ok);
    assert!(stderr.contains("is not a socket"), "stderr: {stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_call_in_flight_then_removes_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let daemon = DaemonProcess::spawn(&path);
    wait_for_socket(&path).await;
    let client = Client::connect_to(&ECHO, &path).await.unwrap();
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .call::<_, u64, NoException>("sleep", &(600u64,))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    daemon.signal(libc::SIGTERM);
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        600,
        "in-flight call finished"
    );
    let (ok, stderr) = tokio::task::spawn_blocking(move || daemon.finish())
        .await
        .unwrap();
    assert!(ok, "clean exit; stderr: {stderr}");
    assert!(!path.exists(), "socket removed");
    let err = Client::connect_to(&ECHO, &path).await.unwrap_err();
    assert!(matches!(err, Error::NotRunning { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_socket_is_served_and_left_in_place() {
    use std::os::unix::io::AsRawFd;
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("activated.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let fd = listener.as_raw_fd();
    // `exec` keeps the shell's pid, so `$$` is the daemon's pid, as systemd would set it.
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" /nonexistent/ignored",
        ])
        .arg(echo_daemon_binary())
        .stderr(Stdio::piped());
    // SAFETY: dup2 and fcntl are async-signal-safe, and the closure touches nothing else.
    unsafe {
        command.pre_exec(move || {
            // dup2 clears close-on-exec on the copy; if the listener already is fd 3, clear it.
            let rc = match fd {
                3 => libc::fcntl(3, libc::F_SETFD, 0),
                _ => libc::dup2(fd, 3),
            };
            match rc {
                -1 => Err(std::io::Error::last_os_error()),
                _ => Ok(()),
            }
        });
    }
    let daemon = DaemonProcess(command.spawn().unwrap());
    drop(listener);
    let client = Client::connect_to(&ECHO, &path).await.unwrap();
    let text: String = client
        .call::<_, _, NoException>("echo", &("activated",))
        .await
        .unwrap();
    assert_eq!(text, "activated");
    daemon.signal(libc::SIGTERM);
    let (ok, stderr) = tokio::task::spawn_blocking(move || daemon.finish())
        .await
        .unwrap();
    assert!(ok, "clean exit; stderr: {stderr}");
    assert!(
        path.exists(),
        "an inherited socket belongs to systemd and stays"
    );
}
