//! Getting a listening socket: an inherited systemd socket, or a fresh bind at a path with the
//! safety checks (never delete anything but a stale socket). Besides removing its own socket at
//! shutdown (in `daemon`), these are the only file-system changes the daemon makes.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::io::FromRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use crate::error::Error;

/// First file descriptor systemd passes (`SD_LISTEN_FDS_START`).
const SYSTEMD_FIRST_FD: i32 = 3;

/// The listener systemd passed us, if `LISTEN_PID` names this process and `LISTEN_FDS` >= 1.
pub(crate) fn systemd_listener() -> Option<UnixListener> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || fds < 1 {
        return None;
    }
    // SAFETY: systemd's protocol hands this process ownership of fd 3 when LISTEN_PID is our
    // pid; nothing else in the process claims it.
    Some(unsafe { UnixListener::from_raw_fd(SYSTEMD_FIRST_FD) })
}

/// Binds a listening socket at `path` with permissions `mode`, creating the parent folder
/// (0700) if needed. A live daemon on the path is refused, a stale socket replaced, and any
/// other file left alone.
pub(crate) fn bind(path: &Path, mode: u32) -> Result<UnixListener, Error> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|cause| Error::Path {
                action: "cannot create socket folder",
                path: parent.to_owned(),
                cause,
            })?;
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(Error::AlreadyRunning {
                    path: path.to_owned(),
                });
            }
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                tracing::info!(path = %path.display(), "removing stale socket");
                fs::remove_file(path).map_err(|cause| Error::Path {
                    action: "cannot remove stale socket",
                    path: path.to_owned(),
                    cause,
                })?;
            }
            Err(cause) => {
                return Err(Error::Path {
                    action: "cannot check existing socket",
                    path: path.to_owned(),
                    cause,
                });
            }
        },
        Ok(_) => {
            return Err(Error::NotASocket {
                path: path.to_owned(),
            });
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(cause) => {
            return Err(Error::Path {
                action: "cannot inspect",
                path: path.to_owned(),
                cause,
            });
        }
    }
    let listener = UnixListener::bind(path).map_err(|cause| match cause.kind() {
        // Another daemon won the race between our check and our bind.
        ErrorKind::AddrInUse => Error::AlreadyRunning {
            path: path.to_owned(),
        },
        _ => Error::Path {
            action: "cannot bind",
            path: path.to_owned(),
            cause,
        },
    })?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|cause| Error::Path {
        action: "cannot set permissions of",
        path: path.to_owned(),
        cause,
    })?;
    Ok(listener)
}
