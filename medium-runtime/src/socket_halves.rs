//! A connection's socket split into the halves its reader and its outbox use, registered with
//! the runtime for readability only. A write that finds no room waits on a second descriptor of
//! the socket (`dup`), registered for writability for that wait alone, so an idle connection
//! still takes one descriptor.
//!
//! Why not tokio's `UnixStream` halves: their registration asks for readability and
//! writability both, and the kernel signals writability each time the peer reads what was sent
//! (its send buffer has room again). So every frame a peer read woke this process's runtime for
//! nothing; on one CPU, in a sequential call, one wake-up and two context switches per call that
//! a process reading and writing on one thread does not pay (measured: 6.0 context switches per
//! call against 3.5 for a hand-written tokio loop). Writes rarely wait (only when the socket's
//! buffer is full: bulk data, a peer not reading), so registering for that wait alone costs
//! nothing on the call path.

use std::io::{self, ErrorKind, IoSlice, Write};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// How long a write that found no room waits before trying again when no descriptor is left to
/// wait on (the process is at its open-file limit).
const RETRY_WITHOUT_DESCRIPTOR: Duration = Duration::from_millis(1);

/// The reading half.
#[derive(Debug)]
pub(crate) struct ReadHalf(Arc<AsyncFd<UnixStream>>);

/// The writing half. Dropping it shuts the socket's write side, as tokio's owned write half
/// does, so the peer sees the end of what this side sends while the reading half lives on.
#[derive(Debug)]
pub(crate) struct WriteHalf(Arc<AsyncFd<UnixStream>>);

/// Splits a connected stream; must run inside a tokio runtime.
pub(crate) fn split(stream: tokio::net::UnixStream) -> io::Result<(ReadHalf, WriteHalf)> {
    // Leaves tokio's registration; the socket stays non-blocking.
    let stream = stream.into_std()?;
    // SAFETY: a `UnixStream` keeps its descriptor open, and `as_raw_fd` answers it, until it is
    // dropped, which only the `AsyncFd` owning it does.
    let socket = unsafe { AsyncFd::register_with_interest(stream, Interest::READABLE) }
        .map_err(|e| e.into_parts().1)?;
    let socket = Arc::new(socket);
    Ok((ReadHalf(socket.clone()), WriteHalf(socket)))
}

impl ReadHalf {
    /// Runs `read` if the runtime last saw the socket readable; a `WouldBlock` from it clears
    /// that, so the next poll waits (as tokio's `try_io`).
    pub(crate) fn try_read_with<R>(&self, read: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.0.try_io(Interest::READABLE, |_| read())
    }

    /// Ready when the runtime sees the socket readable (or an error).
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_read_ready(cx).map_ok(drop)
    }
}

impl AsRawFd for ReadHalf {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl WriteHalf {
    /// One non-blocking `write`.
    pub(crate) fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        self.0.get_ref().write(bytes)
    }

    /// One non-blocking `writev`.
    pub(crate) fn try_write_vectored(&self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.get_ref().write_vectored(slices)
    }

    /// Waits until the socket may have room, on a second descriptor of it registered for this
    /// wait alone. Boxed: the wait is rare, and its state (a registration and the runtime's
    /// readiness future) would otherwise enlarge every future that may write, such as the task
    /// each connection keeps.
    pub(crate) fn writable(&self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> {
        Box::pin(async move {
            let second = match self.0.get_ref().try_clone() {
                Ok(second) => OwnedFd::from(second),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    tokio::time::sleep(RETRY_WITHOUT_DESCRIPTOR).await;
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            // SAFETY: as in `split`, for the `OwnedFd`, owned by the registration.
            let registered = unsafe { AsyncFd::register_with_interest(second, Interest::WRITABLE) }
                .map_err(|e| e.into_parts().1)?;
            registered.writable().await?.retain_ready();
            Ok(())
        })
    }

    /// Writes all of `bytes`, waiting for room as needed.
    pub(crate) async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.try_write(bytes) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.writable().await?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl AsRawFd for WriteHalf {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl Drop for WriteHalf {
    fn drop(&mut self) {
        let _ = self.0.get_ref().shutdown(Shutdown::Write);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// The events every epoll instance of this process watches the socket `fd` for, as the
    /// kernel lists them (`/proc/self/fdinfo`, matched by inode: other tests' sockets may
    /// have had the same descriptor number): one mask per registration.
    fn epoll_masks(fd: RawFd) -> Vec<u32> {
        use std::os::unix::fs::MetadataExt;
        let inode = std::fs::metadata(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .ino();
        let inode = format!("{inode:x}");
        let mut masks = Vec::new();
        for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
            let is_epoll = std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().contains("eventpoll"));
            let info = format!("/proc/self/fdinfo/{}", entry.file_name().to_string_lossy());
            let Some(info) = is_epoll
                .then(|| std::fs::read_to_string(info).ok())
                .flatten()
            else {
                continue;
            };
            for line in info.lines().filter(|line| line.starts_with("tfd:")) {
                // `tfd: 9 events: 80002019 data: 9 pos:0 ino:1fa265d sdev:9`
                let words: Vec<&str> = line.split_whitespace().collect();
                if words
                    .iter()
                    .any(|w| w.strip_prefix("ino:") == Some(inode.as_str()))
                {
                    let events = words.iter().position(|w| *w == "events:").unwrap() + 1;
                    masks.push(u32::from_str_radix(words[events], 16).unwrap());
                }
            }
        }
        masks
    }

    /// How many of this process's descriptors open the same socket as `fd`.
    fn descriptors_of(fd: RawFd) -> usize {
        let socket = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .filter(|entry| std::fs::read_link(entry.path()).is_ok_and(|target| target == socket))
            .count()
    }

    #[tokio::test]
    async fn the_socket_is_watched_for_readability_only() {
        let (ours, _peer) = tokio::net::UnixStream::pair().unwrap();
        let (read, write) = split(ours).unwrap();
        let masks = epoll_masks(read.as_raw_fd());
        assert!(!masks.is_empty());
        for mask in masks {
            assert_ne!(mask & libc::EPOLLIN as u32, 0, "{mask:x}");
            // Writability would wake the runtime each time the peer reads what was written.
            assert_eq!(mask & libc::EPOLLOUT as u32, 0, "{mask:x}");
        }
        drop(write);
    }

    #[tokio::test]
    async fn a_write_waits_for_room_and_gives_back_its_descriptor() {
        let (ours, peer) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let (_read, write) = split(tokio::net::UnixStream::from_std(ours).unwrap()).unwrap();
        // Far more than a socket buffer holds: the write has to wait for the peer.
        let sent = (0..8 << 20).map(|i: u32| i as u8).collect::<Vec<_>>();
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut got = Vec::new();
            (&peer).read_to_end(&mut got).unwrap();
            got
        });
        write.write_all(&sent).await.unwrap();
        // Counted by what they open, not in all: other tests open descriptors meanwhile.
        assert_eq!(descriptors_of(write.as_raw_fd()), 1);
        // Dropping the write half ends the peer's read.
        drop(write);
        assert!(reader.join().unwrap() == sent);
    }
}
