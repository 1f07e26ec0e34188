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
    let listener = bind_restricted(path, mode).map_err(|cause| match cause.kind() {
        // Another daemon won the race between our check and our bind.
        ErrorKind::AddrInUse | ErrorKind::AlreadyExists => Error::AlreadyRunning {
            path: path.to_owned(),
        },
        _ => Error::Path {
            action: "cannot bind",
            path: path.to_owned(),
            cause,
        },
    })?;
    Ok(listener)
}

/// Binds and listens at `path` so that the socket file never has permissions wider than `mode`,
/// not even for an instant (another user must not be able to connect or open the path between
/// the bind and a later chmod), and has exactly `mode` once it listens (a peer the mode lets in
/// must not be refused because the umask took a bit for a moment). The umask is process-wide,
/// so changing it around the bind would race with other threads creating files; instead:
///
/// - on Linux the socket's own inode mode, less the umask, is what `bind` gives the file, so the
///   socket is `fchmod`ed to `mode` before it is bound: nothing wider ever exists, and nothing
///   else is created; the file is set to exactly `mode` before `listen`, as no peer can connect
///   until then (a kernel or sandbox that refuses to chmod a socket gets the way below);
/// - elsewhere (`fchmod` of a socket is not defined by POSIX) the socket is bound in a fresh
///   private folder (0700) next to `path`, chmoded there, and hard-linked into place (a link,
///   unlike a rename, fails rather than replace a file that appeared meanwhile), then the folder
///   is removed.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn bind_restricted(path: &Path, mode: u32) -> std::io::Result<UnixListener> {
    use std::io::Error as IoError;
    use std::os::fd::{AsRawFd, FromRawFd as _, OwnedFd};
    use std::os::unix::ffi::OsStrExt;

    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain old data; all zeroes is a valid (empty) address.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(IoError::new(
            ErrorKind::InvalidInput,
            "path must be shorter than SUN_LEN and hold no NUL byte",
        ));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (to, from) in addr.sun_path.iter_mut().zip(bytes) {
        *to = *from as libc::c_char;
    }
    // SAFETY: plain system call; the returned descriptor is checked and then owned.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(IoError::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let check = |result: libc::c_int| {
        if result == 0 {
            Ok(())
        } else {
            Err(IoError::last_os_error())
        }
    };
    // SAFETY: `socket` is a valid descriptor for the whole block; `addr` outlives the call and
    // `len` covers the family and the path with its NUL terminator.
    unsafe {
        if libc::fchmod(socket.as_raw_fd(), (mode & 0o777) as libc::mode_t) != 0 {
            // A kernel (or sandbox) that does not let a socket be chmoded: the portable way.
            return bind_in_private_folder(path, mode);
        }
        let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
        check(libc::bind(
            socket.as_raw_fd(),
            (&raw const addr).cast::<libc::sockaddr>(),
            len as libc::socklen_t,
        ))?;
        // The umask may have taken bits the caller asked for (e.g. group access).
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o777))?;
        // A backlog over net.core.somaxconn is capped to it, as std does.
        check(libc::listen(socket.as_raw_fd(), -1))?;
    }
    Ok(UnixListener::from(socket))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn bind_restricted(path: &Path, mode: u32) -> std::io::Result<UnixListener> {
    bind_in_private_folder(path, mode)
}

/// [`bind_restricted`] for systems where a socket cannot be `fchmod`ed before `bind`.
fn bind_in_private_folder(path: &Path, mode: u32) -> std::io::Result<UnixListener> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);

    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Short names: the temporary socket path must fit in sun_path too.
    let private = loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let candidate = parent.join(format!(".m{:x}.{n:x}", std::process::id()));
        match fs::DirBuilder::new().mode(0o700).create(&candidate) {
            Ok(()) => break candidate,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let temporary = private.join("s");
    let bound = (|| {
        let listener = UnixListener::bind(&temporary)?;
        fs::set_permissions(&temporary, fs::Permissions::from_mode(mode & 0o777))?;
        fs::hard_link(&temporary, path)?;
        Ok(listener)
    })();
    let _ = fs::remove_file(&temporary);
    let _ = fs::remove_dir(&private);
    bound
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn the_socket_file_is_born_no_wider_than_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o600, 0o640, 0o660] {
            let path = dir.path().join(format!("socket-{mode:o}"));
            let _listener = bind_restricted(&path, mode).unwrap();
            // Checked before anything else touches it: what bind created.
            let born = mode_of(&path);
            assert_eq!(born & !mode, 0, "born {born:o}, asked {mode:o}");
            assert!(fs::symlink_metadata(&path).unwrap().file_type().is_socket());
            UnixStream::connect(&path).unwrap();
        }
    }

    #[test]
    fn the_private_folder_way_leaves_only_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let _listener = bind_in_private_folder(&path, 0o600).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        UnixStream::connect(&path).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["socket"]);
        // Never replaces what is there.
        let again = bind_in_private_folder(&path, 0o600).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::AlreadyExists);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bind_gives_exactly_the_mode_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("socket");
        let _listener = bind(&path, 0o660).unwrap();
        assert_eq!(mode_of(&path), 0o660);
        assert_eq!(mode_of(path.parent().unwrap()) & 0o777, 0o700);
        assert!(matches!(
            bind(&path, 0o600),
            Err(Error::AlreadyRunning { .. })
        ));
    }
}
