//! File descriptors for the conformance runner (tests/vectors/README.md, "Descriptors"): frames
//! written and read with their `SCM_RIGHTS` descriptors (`sendmsg`/`recvmsg` through libc, as
//! std has no stable API for them), and the pipes a vector attaches: the runner keeps their
//! read ends, compares received descriptors with them by device and inode, and reads them to
//! their end of file, which comes only once every copy of the write end is closed.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The most descriptors one `SCM_RIGHTS` message carries (the kernel's `SCM_MAX_FD`).
const SCM_MAX_FD: usize = 253;

/// A control buffer with room for `count` descriptors, aligned as `cmsghdr` needs.
fn control_buffer(count: usize) -> Vec<u64> {
    let bytes = (count * size_of::<RawFd>()) as u32;
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(bytes) } as usize;
    vec![0; space.div_ceil(size_of::<u64>())]
}

/// Writes the start of `bytes` with `fds` attached, as one `sendmsg`; how many bytes went.
pub fn send_with_fds(
    stream: &UnixStream,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let mut control = control_buffer(fds.len());
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the call.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    if !fds.is_empty() {
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = size_of_val(control.as_slice()) as _;
        // SAFETY: the control buffer has room for one header with `fds.len()` descriptors.
        unsafe {
            let header = libc::CMSG_FIRSTHDR(&message);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = libc::CMSG_LEN((fds.len() * size_of::<RawFd>()) as u32) as _;
            let data = libc::CMSG_DATA(header).cast::<RawFd>();
            for (i, fd) in fds.iter().enumerate() {
                data.add(i).write_unaligned(fd.as_raw_fd());
            }
        }
    }
    // SAFETY: `message` points at live buffers of the lengths it states.
    let sent = unsafe { libc::sendmsg(stream.as_raw_fd(), &message, libc::MSG_NOSIGNAL) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sent as usize)
}

/// One `recvmsg` into `buffer` (blocking, within the stream's read timeout): how many bytes
/// came, and the descriptors that came with them, owned from here on.
pub fn recv_with_fds(stream: &UnixStream, buffer: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut iov = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    let mut control = control_buffer(SCM_MAX_FD);
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the call.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = size_of_val(control.as_slice()) as _;
    // SAFETY: `message` points at live buffers of the lengths it states.
    let read = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut message, libc::MSG_CMSG_CLOEXEC) };
    if read < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut fds = Vec::new();
    // SAFETY: the kernel filled the control buffer; the CMSG macros walk what it wrote.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(header).cast::<RawFd>();
                let length = (*header).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for i in 0..length / size_of::<RawFd>() {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            header = libc::CMSG_NXTHDR(&message, header);
        }
    }
    Ok((read as usize, fds))
}

/// What makes two descriptors the same pipe: its device and inode.
pub fn identity(fd: BorrowedFd<'_>) -> (u64, u64) {
    let file = File::from(
        fd.try_clone_to_owned()
            .expect("a descriptor can be duplicated"),
    );
    let metadata = file.metadata().expect("fstat works on a descriptor");
    (metadata.dev(), metadata.ino())
}

/// The pipes a session (or one values.json case) attaches, numbered from 0 in the order they
/// are attached. Each attached descriptor is a new pipe's write end, which the runner closes
/// once sent; the read ends stay here.
#[derive(Default)]
pub struct Pipes {
    read_ends: Vec<File>,
    identities: Vec<(u64, u64)>,
}

impl Pipes {
    /// `count` new write ends, to attach to a frame and drop once it is sent.
    pub fn attach(&mut self, count: usize) -> Vec<OwnedFd> {
        (0..count)
            .map(|_| {
                let mut ends = [0; 2];
                // SAFETY: `ends` has room for the two descriptors pipe2 writes.
                let made = unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) };
                assert_eq!(made, 0, "pipe2: {}", io::Error::last_os_error());
                // SAFETY: both are new descriptors nothing else owns.
                let (read_end, write_end) =
                    unsafe { (File::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
                self.read_ends.push(read_end);
                self.identities.push(identity(write_end.as_fd()));
                write_end
            })
            .collect()
    }

    /// How many pipes were attached.
    pub fn len(&self) -> usize {
        self.read_ends.len()
    }

    /// Whether `fd` is pipe `pipe`.
    pub fn is(&self, fd: BorrowedFd<'_>, pipe: u64) -> bool {
        self.identity_of(pipe) == Some(identity(fd))
    }

    /// The device and inode of pipe `pipe`, if there is one.
    pub fn identity_of(&self, pipe: u64) -> Option<(u64, u64)> {
        usize::try_from(pipe)
            .ok()
            .and_then(|pipe| self.identities.get(pipe))
            .copied()
    }

    /// What pipe `pipe` holds up to its end of file, or why the end did not come within
    /// `timeout` (a copy of its write end is still open).
    pub fn holds(&mut self, pipe: usize, timeout: Duration) -> Result<Vec<u8>, String> {
        let read_end = &mut self.read_ends[pipe];
        let deadline = Instant::now() + timeout;
        let mut held = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut poll = libc::pollfd {
                fd: read_end.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let wait = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut poll, 1, wait) };
            if ready <= 0 {
                return Err(format!(
                    "pipe {pipe} did not end within {timeout:?} (it held {held:?} so far): a \
                     copy of its write end is still open"
                ));
            }
            let mut chunk = [0; 65536];
            match read_end.read(&mut chunk) {
                Ok(0) => return Ok(held),
                Ok(n) => held.extend_from_slice(&chunk[..n]),
                Err(err) => return Err(format!("reading pipe {pipe}: {err}")),
            }
        }
    }
}
