//! [`FrameReader`]: the incoming side of one connection, for both daemon and client. Every read is
//! one `recvmsg` (so a peer's descriptors are always seen, even on a protocol without `fd`), and
//! the descriptors of a read go to the last frame that begins in its bytes (PROTOCOL.md §3.1).
//! Frames are cut by a `Decoder` (`frame`); the descriptor limits are checked here, as the
//! descriptors arrive. A read without descriptors costs what `FramedRead`'s did.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use futures::Stream;
use tokio_util::codec::Decoder;

use crate::ancillary::{self, ControlBuffer, InFlight, MAX_FDS_PER_FRAME, Received, ReceivedFds};
use crate::error::Error;
use crate::frame::PREFIX_LEN;
use crate::protocol_info::ProtocolInfo;
use crate::socket_halves::ReadHalf;

/// Read buffer of a fresh connection (as `FramedRead`'s).
const INITIAL_CAPACITY: usize = 8 * 1024;

/// What a connection accepts of descriptors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FdLimits {
    /// Whether the protocol uses `fd` at all: if not, any descriptor is an error.
    pub(crate) accepted: bool,
    pub(crate) per_frame: usize,
    pub(crate) in_flight: usize,
}

impl FdLimits {
    /// The limits of a connection of protocol `info` with these options' values (the per-frame
    /// limit capped at [`MAX_FDS_PER_FRAME`]).
    pub(crate) fn new(info: &ProtocolInfo, per_frame: usize, in_flight: usize) -> FdLimits {
        FdLimits {
            accepted: info.uses_fd,
            per_frame: per_frame.min(MAX_FDS_PER_FRAME),
            in_flight,
        }
    }
}

/// Frames of one connection, each with the descriptors attributed to it.
#[derive(Debug)]
pub(crate) struct FrameReader<D> {
    socket: ReadHalf,
    decoder: D,
    buf: BytesMut,
    control: ControlBuffer,
    limits: FdLimits,
    in_flight: InFlight,
    /// Stream offset of `buf`'s first byte.
    consumed: u64,
    /// Stream offset just past the last byte received.
    received: u64,
    /// Stream offset of the first frame start not before `received`, or of a frame whose
    /// prefix has not fully arrived.
    next_start: u64,
    /// Descriptor sets waiting for their frame, by the stream offset where it begins.
    sets: VecDeque<(u64, ReceivedFds)>,
    /// Bytes arrived since the decoder last found no frame.
    readable: bool,
    eof: bool,
    done: bool,
}

impl<D: Decoder<Error = Error> + Unpin> FrameReader<D> {
    pub(crate) fn new(socket: ReadHalf, decoder: D, limits: FdLimits) -> FrameReader<D> {
        FrameReader {
            socket,
            decoder,
            buf: BytesMut::with_capacity(INITIAL_CAPACITY),
            control: ControlBuffer::for_fds(limits.per_frame),
            limits,
            in_flight: InFlight::default(),
            consumed: 0,
            received: 0,
            next_start: 0,
            sets: VecDeque::new(),
            readable: false,
            eof: false,
            done: false,
        }
    }

    /// One `recvmsg`; `Ok(false)` when the socket had nothing (readiness then cleared).
    fn read(&mut self) -> Result<bool, Error> {
        self.buf.reserve(1);
        let (buf, control) = (&mut self.buf, &mut self.control);
        let fd = self.socket.as_raw_fd();
        // A read that did not fill the buffer and brought no descriptors emptied the socket
        // (the kernel stops a read early only after a message with descriptors): readiness is
        // cleared then (by answering `WouldBlock` to `try_io`, the result kept aside), as
        // tokio's own reads do, so the next poll waits instead of spending a `recvmsg` on
        // `EAGAIN`.
        let mut short = None;
        let read = self.socket.try_read_with(|| {
            let spare = buf.spare_capacity_mut();
            let room = spare.len();
            let received = ancillary::receive(fd, spare, control)?;
            if received.len > 0 && received.len < room && received.fds.is_empty() {
                short = Some(received);
                return Err(ErrorKind::WouldBlock.into());
            }
            Ok(received)
        });
        let received = match (read, short) {
            (_, Some(received)) | (Ok(received), None) => received,
            (Err(e), None) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            (Err(e), None) => return Err(Error::Io(e)),
        };
        let Received {
            len,
            fds,
            truncated,
        } = received;
        // SAFETY: `recvmsg` initialized `len` bytes of the spare capacity.
        unsafe { self.buf.set_len(self.buf.len() + len) };
        let start = self.received;
        self.received += len as u64;
        // Only a protocol with `fd` attributes descriptors; on any other, descriptors end the
        // connection wherever they arrive, so its reads skip the walk over frame prefixes.
        let last_start = if self.limits.accepted {
            self.walk_frame_starts(start)
        } else {
            None
        };
        self.readable = true;
        if len == 0 {
            self.eof = true;
        }
        if fds.is_empty() && !truncated {
            return Ok(true);
        }
        let fault = |what: String| Err(Error::BadDescriptors(what));
        if truncated {
            return fault(format!(
                "descriptors lost: more than {} in one read, or this process has no descriptors \
                 left (MSG_CTRUNC)",
                fds.len()
            ));
        }
        if !self.limits.accepted {
            return fault(format!(
                "{} descriptor(s) received, but this protocol has no `fd` value",
                fds.len()
            ));
        }
        if fds.len() > self.limits.per_frame {
            return fault(format!(
                "{} descriptors attached to one frame exceed the limit of {} (max_fds_per_frame)",
                fds.len(),
                self.limits.per_frame
            ));
        }
        let Some(frame_start) = last_start else {
            return fault(format!(
                "{} descriptor(s) attached in the middle of a frame",
                fds.len()
            ));
        };
        let hold = match self.in_flight.hold(fds.len(), self.limits.in_flight) {
            Ok(hold) => hold,
            Err(count) => {
                return fault(format!(
                    "{count} descriptors in flight exceed the limit of {} (max_fds_in_flight)",
                    self.limits.in_flight
                ));
            }
        };
        self.sets.push_back((
            frame_start,
            ReceivedFds {
                fds,
                hold: Some(hold),
            },
        ));
        Ok(true)
    }

    /// Moves `next_start` over the frames that begin in the bytes received from stream offset
    /// `from` on, and returns where the last of them begins.
    fn walk_frame_starts(&mut self, from: u64) -> Option<u64> {
        let mut last = None;
        while self.next_start < self.received {
            if self.next_start >= from {
                last = Some(self.next_start);
            }
            let at = (self.next_start - self.consumed.min(self.next_start)) as usize;
            let Some(prefix) = self.buf.get(at..at + PREFIX_LEN) else {
                break; // the prefix is still arriving
            };
            let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
            self.next_start += (PREFIX_LEN as u64) + u64::from(len);
        }
        last
    }

    /// The set of the frame that ended where `consumed` is now, if it had one.
    fn take_set(&mut self) -> ReceivedFds {
        match self.sets.front() {
            Some((start, _)) if *start < self.consumed => self
                .sets
                .pop_front()
                .map(|(_, set)| set)
                .unwrap_or_default(),
            _ => ReceivedFds::default(),
        }
    }

    /// What the stream gives next when it needs no read for it: a frame whole in what was
    /// read, the error that ends the stream, or its end (`Some(None)`). `None` when the next
    /// item needs a read. The daemon's reader takes frames this way while they are buffered,
    /// without a wait (and its futures) per frame.
    pub(crate) fn next_buffered(&mut self) -> Option<Option<<Self as Stream>::Item>> {
        if self.done {
            return Some(None);
        }
        if !self.readable {
            return None;
        }
        match self.decode() {
            Some(Ok(item)) => Some(Some(Ok((item, self.take_set())))),
            Some(Err(e)) => {
                self.done = true;
                Some(Some(Err(e)))
            }
            None if self.eof => {
                self.done = true;
                Some(None)
            }
            None => {
                self.readable = false;
                None
            }
        }
    }

    /// The next whole frame already received, if any.
    fn decode(&mut self) -> Option<Result<D::Item, Error>> {
        let before = self.buf.len();
        let decoded = if self.eof {
            self.decoder.decode_eof(&mut self.buf)
        } else {
            self.decoder.decode(&mut self.buf)
        };
        self.consumed += (before - self.buf.len()) as u64;
        decoded.transpose()
    }
}

impl<D: Decoder<Error = Error> + Unpin> Stream for FrameReader<D> {
    type Item = Result<(D::Item, ReceivedFds), Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(next) = this.next_buffered() {
                return Poll::Ready(next);
            }
            if let Err(e) = ready!(this.socket.poll_read_ready(cx)) {
                this.done = true;
                return Poll::Ready(Some(Err(Error::Io(e))));
            }
            if let Err(e) = this.read() {
                this.done = true;
                return Poll::Ready(Some(Err(e)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::OwnedFd;

    use bytes::Bytes;
    use futures::StreamExt;

    use super::*;
    use crate::frame::FrameDecoder;
    use crate::socket_halves;

    const LIMITS: FdLimits = FdLimits {
        accepted: true,
        per_frame: 8,
        in_flight: 8,
    };

    fn descriptor() -> OwnedFd {
        OwnedFd::from(std::os::unix::net::UnixStream::pair().unwrap().0)
    }

    fn reader_and_peer() -> (FrameReader<FrameDecoder>, std::os::unix::net::UnixStream) {
        let (ours, peer) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        // Dropping the write half only shuts down this side's writing.
        let (read, _) =
            socket_halves::split(tokio::net::UnixStream::from_std(ours).unwrap()).unwrap();
        (
            FrameReader::new(read, FrameDecoder::new(1024), LIMITS),
            peer,
        )
    }

    fn send(peer: &std::os::unix::net::UnixStream, bytes: &'static [u8], fds: &[OwnedFd]) {
        let chunk = [Bytes::from_static(bytes)];
        if fds.is_empty() {
            std::io::Write::write_all(&mut &*peer, bytes).unwrap();
        } else {
            ancillary::send(peer.as_raw_fd(), &chunk, fds).unwrap();
        }
    }

    /// Polls `frames` (which yields nothing: a frame is incomplete) until it has read all
    /// `peer` sent, so what is sent next comes in a read of its own.
    async fn read_all_sent(
        frames: &mut FrameReader<FrameDecoder>,
        peer: &std::os::unix::net::UnixStream,
    ) {
        loop {
            assert!(futures::poll!(frames.next()).is_pending());
            let mut unread: libc::c_int = 0;
            // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int.
            unsafe { libc::ioctl(peer.as_raw_fd(), libc::TIOCOUTQ, &mut unread) };
            if unread == 0 {
                return;
            }
            // Lets the runtime's driver see the socket readable.
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn descriptors_go_to_the_last_frame_beginning_in_their_read() {
        let (mut frames, peer) = reader_and_peer();
        // Two whole frames and the start of a third, then the rest: one read sees the first
        // three starts and the descriptors, which belong to the third.
        send(&peer, b"\0\0\0\x01a\0\0\0\x01b", &[]);
        send(&peer, b"\0\0\0\x02c", &[descriptor(), descriptor()]);
        send(&peer, b"d", &[]);
        let mut sets = Vec::new();
        for _ in 0..3 {
            let (frame, fds) = frames.next().await.unwrap().unwrap();
            sets.push((frame, fds.len()));
        }
        assert_eq!(
            sets,
            [
                (Bytes::from_static(b"a"), 0),
                (Bytes::from_static(b"b"), 0),
                (Bytes::from_static(b"cd"), 2)
            ]
        );
    }

    #[tokio::test]
    async fn a_prefix_split_across_reads_still_counts_where_its_frame_begins() {
        let (mut frames, peer) = reader_and_peer();
        send(&peer, b"\0\0", &[descriptor()]);
        read_all_sent(&mut frames, &peer).await;
        send(&peer, b"\0\x01x\0\0\0\x01y", &[]);
        let (first, fds) = frames.next().await.unwrap().unwrap();
        assert_eq!((first, fds.len()), (Bytes::from_static(b"x"), 1));
        let (second, fds) = frames.next().await.unwrap().unwrap();
        assert_eq!((second, fds.len()), (Bytes::from_static(b"y"), 0));
        // Descriptors with bytes in which no frame begins: the middle of a frame.
        send(&peer, b"\0\0\0\x02", &[]);
        read_all_sent(&mut frames, &peer).await;
        send(&peer, b"zz", &[descriptor()]);
        let error = frames.next().await.unwrap().unwrap_err();
        assert!(
            error.to_string().contains("in the middle of a frame"),
            "{error}"
        );
    }
}
