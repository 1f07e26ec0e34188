//! `SCM_RIGHTS` on a Unix stream socket (PROTOCOL.md §3.1): one `recvmsg` that takes the
//! descriptors riding with the bytes it reads, one `sendmsg` that attaches a frame's set, and the
//! count of a connection's descriptors in flight. Descriptors are `OwnedFd` from the moment
//! `recvmsg` returns, so no path leaks one. Knows nothing of frames.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

/// The most descriptors one frame may carry: the kernel's `SCM_MAX_FD`.
pub const MAX_FDS_PER_FRAME: usize = 253;
/// Default most descriptors one frame may carry (`DaemonOptions::max_fds_per_frame`,
/// `ClientOptions::max_fds_per_frame`).
pub const DEFAULT_MAX_FDS_PER_FRAME: usize = 32;
/// Default most descriptors of one connection received and not yet handed to user code, or held
/// by calls still running (`DaemonOptions::max_fds_in_flight`, `ClientOptions::max_fds_in_flight`).
pub const DEFAULT_MAX_FDS_IN_FLIGHT: usize = 256;

/// Room for `fds` descriptors in one control message, in `u64`s (so it is aligned for
/// `cmsghdr`).
fn control_words(fds: usize) -> usize {
    // SAFETY: CMSG_SPACE only computes a size.
    let bytes = unsafe { libc::CMSG_SPACE((fds * size_of::<RawFd>()) as u32) } as usize;
    bytes.div_ceil(size_of::<u64>())
}

/// The control buffer of one connection's reads: room for its per-frame limit, so more
/// descriptors arrive truncated (`MSG_CTRUNC`).
#[derive(Debug)]
pub(crate) struct ControlBuffer(Box<[u64]>);

impl ControlBuffer {
    pub(crate) fn for_fds(max_fds_per_frame: usize) -> ControlBuffer {
        let fds = max_fds_per_frame.clamp(1, MAX_FDS_PER_FRAME);
        ControlBuffer(vec![0; control_words(fds)].into_boxed_slice())
    }
}

/// What one `recvmsg` returned besides its bytes.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Bytes read; 0 at the end of the stream.
    pub(crate) len: usize,
    /// The descriptors that came with them (`FD_CLOEXEC` set).
    pub(crate) fds: Vec<OwnedFd>,
    /// The kernel dropped descriptors: more than the control buffer holds, or this process
    /// ran out of descriptors.
    pub(crate) truncated: bool,
}

/// One non-blocking `recvmsg(…, MSG_CMSG_CLOEXEC)` into `buf`.
pub(crate) fn receive(
    socket: RawFd,
    buf: &mut [MaybeUninit<u8>],
    control: &mut ControlBuffer,
) -> io::Result<Received> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: all-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = (control.0.len() * size_of::<u64>()) as _;
    // SAFETY: `msg` points at `buf` and the control buffer, both alive and writable for the
    // lengths given.
    let len = unsafe {
        libc::recvmsg(
            socket,
            &mut msg,
            libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT,
        )
    };
    if len < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut received = Received {
        len: len as usize,
        fds: Vec::new(),
        truncated: msg.msg_flags & libc::MSG_CTRUNC != 0,
    };
    if msg.msg_controllen == 0 {
        return Ok(received);
    }
    // SAFETY: the kernel filled `msg_controllen` bytes of the control buffer with control
    // messages, which the CMSG macros walk within those bounds.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                let count =
                    ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / size_of::<RawFd>();
                received.fds.reserve(count);
                for i in 0..count {
                    // Each is a fresh descriptor of this process that nothing else owns.
                    received
                        .fds
                        .push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(received)
}

/// One non-blocking `sendmsg` of `chunks` with `fds` attached as one `SCM_RIGHTS` message.
/// Returns the bytes written; when that is more than 0, the descriptors went with them.
pub(crate) fn send(socket: RawFd, chunks: &[Bytes], fds: &[OwnedFd]) -> io::Result<usize> {
    const MAX_IOV: usize = 64;
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; MAX_IOV];
    let mut n = 0;
    for (slot, chunk) in iov.iter_mut().zip(chunks.iter().filter(|c| !c.is_empty())) {
        slot.iov_base = chunk.as_ptr().cast_mut().cast();
        slot.iov_len = chunk.len();
        n += 1;
    }
    let mut control = vec![0u64; control_words(fds.len())];
    // SAFETY: all-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = n as _;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE((fds.len() * size_of::<RawFd>()) as u32) } as _;
    // SAFETY: the control buffer has room for one header and `fds`; the iovecs point at
    // chunks alive for the call, which the kernel only reads.
    let written = unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN((fds.len() * size_of::<RawFd>()) as u32) as _;
        let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
        for (i, fd) in fds.iter().enumerate() {
            data.add(i).write_unaligned(fd.as_raw_fd());
        }
        libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)
    };
    if written < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(written as usize)
}

/// The descriptors of one connection in flight: received and not yet handed to user code, or
/// held by a call still running.
#[derive(Debug, Clone, Default)]
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Counts `n` more descriptors until the returned hold is dropped; `Err` with the count
    /// there would be when that is over `max`.
    pub(crate) fn hold(&self, n: usize, max: usize) -> Result<FdHold, usize> {
        let before = self.0.fetch_add(n, Ordering::Relaxed);
        let hold = FdHold {
            count: self.0.clone(),
            n,
        };
        if before + n > max {
            return Err(before + n);
        }
        Ok(hold)
    }
}

/// A count in [`InFlight`], given back when dropped.
#[derive(Debug)]
pub(crate) struct FdHold {
    count: Arc<AtomicUsize>,
    n: usize,
}

impl Drop for FdHold {
    fn drop(&mut self) {
        self.count.fetch_sub(self.n, Ordering::Relaxed);
    }
}

/// A received frame's descriptors, counted in flight while this lives. Empty for almost every
/// frame, and then it holds no allocation.
#[derive(Debug, Default)]
pub(crate) struct ReceivedFds {
    pub(crate) fds: Vec<OwnedFd>,
    pub(crate) hold: Option<FdHold>,
}

impl ReceivedFds {
    pub(crate) fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.fds.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn descriptors_sent_with_bytes_arrive_with_them_close_on_exec() {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, _w) = UnixStream::pair().unwrap();
        let sent = send(
            a.as_raw_fd(),
            &[Bytes::from_static(b"ab"), Bytes::from_static(b"c")],
            &[OwnedFd::from(r)],
        )
        .unwrap();
        assert_eq!(sent, 3);
        let mut buf = [MaybeUninit::uninit(); 16];
        let mut control = ControlBuffer::for_fds(4);
        let received = receive(b.as_raw_fd(), &mut buf, &mut control).unwrap();
        assert_eq!((received.len, received.fds.len()), (3, 1));
        assert!(!received.truncated);
        // SAFETY: fcntl F_GETFD reads a flag of a descriptor we own.
        let flags = unsafe { libc::fcntl(received.fds[0].as_raw_fd(), libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
    }

    #[test]
    fn more_descriptors_than_the_buffer_holds_are_reported_truncated() {
        let (a, b) = UnixStream::pair().unwrap();
        let ends: Vec<OwnedFd> = (0..10)
            .map(|_| OwnedFd::from(UnixStream::pair().unwrap().0))
            .collect();
        send(a.as_raw_fd(), &[Bytes::from_static(b"x")], &ends).unwrap();
        let mut buf = [MaybeUninit::uninit(); 16];
        let received = receive(b.as_raw_fd(), &mut buf, &mut ControlBuffer::for_fds(2)).unwrap();
        assert!(received.truncated);
        assert!(received.fds.len() < 10);
    }

    #[test]
    fn a_hold_over_the_limit_is_refused_and_counts_come_back() {
        let in_flight = InFlight::default();
        let first = in_flight.hold(3, 4).unwrap();
        assert_eq!(in_flight.hold(2, 4).unwrap_err(), 5);
        drop(first);
        assert!(in_flight.hold(4, 4).is_ok());
    }
}
