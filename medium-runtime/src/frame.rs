//! Framing: a 4-byte big-endian length, then a MessagePack body. Reading refuses an oversized
//! length before allocating for it, or, for a client, skips that frame without allocating it.
//! Writing builds an [`OutFrame`] with a [`FrameWriter`]: one buffer, or several chunks when a
//! large `Binary` is kept as a chunk of its own rather than copied (the `outbox` writes the
//! chunks with one `writev`). Knows nothing of message kinds.

use std::cell::Cell;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::ancillary::MAX_FDS_PER_FRAME;
use crate::error::Error;
use crate::{binary, thread_scope};

/// Bytes of the length prefix.
pub(crate) const PREFIX_LEN: usize = 4;

/// Read buffer of a fresh connection.
const INITIAL_CAPACITY: usize = 8 * 1024;
/// A read buffer larger than this is replaced by a fresh one once it is empty.
const KEEP_CAPACITY: usize = 64 * 1024;
/// Most a partial frame grows the read buffer by ahead of the bytes that fill it.
const GROW_AHEAD: usize = 64 * 1024;

/// Default largest frame body accepted: 16 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Splits a byte stream into frame bodies.
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    max_len: usize,
}

impl FrameDecoder {
    pub(crate) fn new(max_len: usize) -> FrameDecoder {
        FrameDecoder { max_len }
    }
}

impl Decoder for FrameDecoder {
    type Item = Bytes;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        let Some(prefix) = src.get(..PREFIX_LEN) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        // Checked before any reservation: a hostile length never turns into an allocation.
        if len > self.max_len {
            return Err(Error::FrameTooLarge {
                len,
                max: self.max_len,
            });
        }
        if src.len() < PREFIX_LEN + len {
            // Grow with the bytes that actually arrive, not with the announced length: a peer
            // announcing a big frame and then trickling (or sending nothing) pins little memory.
            // `BytesMut` grows its own buffer geometrically, so a big frame is moved only a few
            // times as it arrives.
            src.reserve((PREFIX_LEN + len - src.len()).min(GROW_AHEAD));
            return Ok(None);
        }
        src.advance(PREFIX_LEN);
        let frame = src.split_to(len).freeze();
        if src.is_empty() && src.capacity() > KEEP_CAPACITY {
            // The rest of a big frame's allocation would otherwise stay pinned by this idle
            // connection for as long as it lives.
            *src = BytesMut::with_capacity(INITIAL_CAPACITY);
        }
        Ok(Some(frame))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(Error::Malformed(format!(
                "connection closed inside a frame ({} bytes pending)",
                src.len()
            ))),
        }
    }
}

/// Bytes at the start of an oversized frame's body kept for its receiver: room for the longest
/// array header (5), kind (9) and request id (9), so a reply's id can be read.
pub(crate) const HEAD_LEN: usize = 23;

/// What a [`SkippingDecoder`] yields.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A whole frame body within the limit.
    Frame(Bytes),
    /// A frame over the limit, discarded as it arrived (never allocated).
    Skipped {
        /// The body length its prefix announced.
        len: usize,
        /// The limit it exceeded.
        max: usize,
        /// The first (up to [`HEAD_LEN`]) bytes of its body, to tell whose reply it was.
        head: Bytes,
    },
}

/// Splits a byte stream into frame bodies like [`FrameDecoder`], but a frame over the limit
/// does not end the stream: its first bytes are kept, the rest is discarded as it arrives
/// (the buffer never grows for it), and it is reported as [`Incoming::Skipped`]. For clients:
/// one oversized reply from the daemon must not cost the other calls on the connection.
#[derive(Debug)]
pub(crate) struct SkippingDecoder {
    inner: FrameDecoder,
    /// The frame being discarded: its report, and how many of its bytes are still to come.
    skipping: Option<(Incoming, usize)>,
}

impl SkippingDecoder {
    pub(crate) fn new(max_len: usize) -> SkippingDecoder {
        SkippingDecoder {
            inner: FrameDecoder::new(max_len),
            skipping: None,
        }
    }
}

impl Decoder for SkippingDecoder {
    type Item = Incoming;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Incoming>, Error> {
        if self.skipping.is_none() {
            let Some(prefix) = src.get(..PREFIX_LEN) else {
                return Ok(None);
            };
            let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
            let max = self.inner.max_len;
            if len <= max {
                return Ok(self.inner.decode(src)?.map(Incoming::Frame));
            }
            let head_len = len.min(HEAD_LEN);
            if src.len() < PREFIX_LEN + head_len {
                return Ok(None);
            }
            src.advance(PREFIX_LEN);
            let head = src.split_to(head_len).freeze();
            self.skipping = Some((Incoming::Skipped { len, max, head }, len - head_len));
        }
        let Some((_, remaining)) = self.skipping.as_mut() else {
            return Ok(None);
        };
        let discard = (*remaining).min(src.len());
        src.advance(discard);
        *remaining -= discard;
        if src.is_empty() && src.capacity() > KEEP_CAPACITY {
            *src = BytesMut::with_capacity(INITIAL_CAPACITY);
        }
        if *remaining > 0 {
            return Ok(None);
        }
        Ok(self.skipping.take().map(|(skipped, _)| skipped))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Incoming>, Error> {
        match self.decode(src)? {
            Some(incoming) => Ok(Some(incoming)),
            None if src.is_empty() && self.skipping.is_none() => Ok(None),
            None => Err(Error::Malformed(format!(
                "connection closed inside a frame ({} bytes pending)",
                src.len()
            ))),
        }
    }
}

/// An outgoing frame (length prefix included): one buffer, or chunks to write back to back,
/// and the descriptors attached to it, if any (PROTOCOL.md §3.1). The set is shared by the
/// clones of an event frame sent to many connections, and closed when the last is dropped.
#[derive(Debug, Clone)]
pub(crate) struct OutFrame {
    bytes: OutBytes,
    /// Not sent yet; `None` once the frame's first bytes went out with them.
    fds: Option<Arc<[OwnedFd]>>,
}

#[derive(Debug, Clone)]
enum OutBytes {
    Whole(Bytes),
    /// A frame holding large binaries: the bytes around them, and their own buffers.
    Chunks(Vec<Bytes>),
}

impl OutFrame {
    /// Bytes of the whole frame, prefix included.
    pub(crate) fn len(&self) -> usize {
        match &self.bytes {
            OutBytes::Whole(bytes) => bytes.len(),
            OutBytes::Chunks(chunks) => chunks.iter().map(Bytes::len).sum(),
        }
    }

    /// Its chunks, in order.
    pub(crate) fn chunks(&self) -> &[Bytes] {
        match &self.bytes {
            OutBytes::Whole(bytes) => std::slice::from_ref(bytes),
            OutBytes::Chunks(chunks) => chunks,
        }
    }

    /// The descriptors to send with the frame's first bytes; `None` when it has none, or they
    /// went already.
    pub(crate) fn fds(&self) -> Option<&[OwnedFd]> {
        self.fds.as_deref()
    }

    /// Drops the first `n` bytes (written already), and the descriptors, which went with them.
    pub(crate) fn advance(&mut self, mut n: usize) {
        if n > 0 {
            self.fds = None;
        }
        match &mut self.bytes {
            OutBytes::Whole(bytes) => bytes.advance(n),
            OutBytes::Chunks(chunks) => {
                let mut whole = 0;
                while whole < chunks.len() && chunks[whole].len() <= n {
                    n -= chunks[whole].len();
                    whole += 1;
                }
                chunks.drain(..whole);
                if let Some(first) = chunks.first_mut() {
                    first.advance(n);
                }
            }
        }
    }

    /// The bytes as one buffer: free for a frame of one chunk, a copy otherwise (for frames
    /// that hold no large binary, or paths where a copy does not matter). Descriptors are
    /// dropped (closed): only for frames that carry none.
    pub(crate) fn into_contiguous(self) -> Bytes {
        match self.bytes {
            OutBytes::Whole(bytes) => bytes,
            OutBytes::Chunks(chunks) => chunks.concat().into(),
        }
    }
}

#[cfg(test)]
impl OutFrame {
    /// A frame of `chunks` with `fds` attached, as `FrameWriter` builds one.
    pub(crate) fn of_chunks(chunks: Vec<Bytes>, fds: Vec<OwnedFd>) -> OutFrame {
        OutFrame {
            bytes: OutBytes::Chunks(chunks),
            fds: (!fds.is_empty()).then(|| Arc::from(fds)),
        }
    }
}

impl From<Bytes> for OutFrame {
    fn from(bytes: Bytes) -> OutFrame {
        OutFrame {
            bytes: OutBytes::Whole(bytes),
            fds: None,
        }
    }
}

/// Builds a frame: the prefix's place, then whatever is written. Write values with
/// [`FrameWriter::value`] so large binaries stay chunks of their own.
#[derive(Debug)]
pub(crate) struct FrameWriter {
    /// Before each large binary kept, the bytes written before it; the first holds the prefix.
    kept: Vec<(Vec<u8>, Bytes)>,
    /// Bytes written after the last large binary kept.
    buf: Vec<u8>,
    /// Duplicates of the descriptors of the `Fd`s written, in index order.
    fds: Vec<OwnedFd>,
}

thread_local! {
    /// This thread's encoding buffer: a frame is serialized here, however its value grows,
    /// then copied into an allocation of exactly its size, so it costs one allocation and no
    /// reallocation (and `Bytes` takes an exact `Vec` without allocating a header of its own).
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Largest encoding buffer a thread keeps between frames. A frame that outgrew it is not copied
/// out: its buffer becomes the frame (a copy of a large frame costs more than the growth of a
/// fresh buffer next time).
const SCRATCH_KEEP: usize = 32 * 1024;

impl FrameWriter {
    /// A writer over this thread's encoding buffer, taken: a serializer that encodes a frame
    /// while one is being encoded (a `Serialize` impl may do anything) gets an empty one of its
    /// own.
    pub(crate) fn new() -> FrameWriter {
        let mut buf = SCRATCH.with(Cell::take);
        buf.clear();
        buf.extend_from_slice(&[0; PREFIX_LEN]);
        FrameWriter {
            kept: Vec::new(),
            buf,
            fds: Vec::new(),
        }
    }

    /// Moves the bytes written after the last large binary into an allocation of exactly their
    /// size and gives this thread its encoding buffer back, unless that buffer outgrew
    /// [`SCRATCH_KEEP`] (then it stays with the frame). Does nothing to bytes already in an
    /// allocation of their size, so settling twice copies once.
    pub(crate) fn settle(&mut self) {
        if self.buf.capacity() > SCRATCH_KEEP || self.buf.len() == self.buf.capacity() {
            return;
        }
        let exact = self.buf.as_slice().to_vec();
        give_back(std::mem::replace(&mut self.buf, exact));
    }

    /// Serializes `value` (MessagePack, structs as maps) into the frame, and attaches a
    /// duplicate of each [`Fd`](crate::Fd) in it. More than [`MAX_FDS_PER_FRAME`] is an error.
    pub(crate) fn value<T: serde::Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), rmp_serde::encode::Error> {
        let (written, fds) =
            thread_scope::encoding(|| rmp_serde::encode::write_named(&mut *self, value));
        written?;
        if self.fds.len() + fds.len() > MAX_FDS_PER_FRAME {
            return Err(rmp_serde::encode::Error::Syntax(format!(
                "{} descriptors in one frame exceed the limit of {MAX_FDS_PER_FRAME} (SCM_MAX_FD)",
                self.fds.len() + fds.len()
            )));
        }
        if self.fds.is_empty() {
            self.fds = fds;
        } else {
            self.fds.extend(fds);
        }
        Ok(())
    }

    /// Writes `data`, of at least [`LARGE_BINARY`](binary::LARGE_BINARY) bytes: kept as a chunk
    /// of its own if it is a large `Binary` being serialized. Out of line, so that the inlined
    /// `write` stays small enough for rmp's writers to inline it with their own helpers.
    #[cold]
    #[inline(never)]
    fn write_large(&mut self, data: &[u8]) {
        match binary::take_large(data) {
            Some(large) => self.kept.push((std::mem::take(&mut self.buf), large)),
            None => self.buf.extend_from_slice(data),
        }
    }

    /// The frame's first bytes: prefix, then the body's start (for fields filled in late).
    pub(crate) fn head_mut(&mut self) -> &mut [u8] {
        match self.kept.first_mut() {
            Some((head, _)) => head,
            None => &mut self.buf,
        }
    }

    /// Bytes of the body so far.
    pub(crate) fn body_len(&self) -> usize {
        let kept: usize = self.kept.iter().map(|(b, l)| b.len() + l.len()).sum();
        kept + self.buf.len() - PREFIX_LEN
    }

    /// The frame's bytes, its prefix filled in, lent to `send` when they are one buffer
    /// without descriptors no larger than a thread keeps for encoding: that buffer then becomes
    /// this thread's encoding buffer again, so the frame costs no allocation of its own (`send`
    /// copies it where it goes). Any other frame is handed back finished.
    pub(crate) fn finish_lent<R>(mut self, send: impl FnOnce(&[u8]) -> R) -> Result<R, OutFrame> {
        if !self.kept.is_empty() || !self.fds.is_empty() || self.buf.capacity() > SCRATCH_KEEP {
            return Err(self.finish());
        }
        let body = u32::try_from(self.body_len()).unwrap_or(u32::MAX);
        self.buf[..PREFIX_LEN].copy_from_slice(&body.to_be_bytes());
        let sent = send(&self.buf);
        give_back(std::mem::take(&mut self.buf));
        Ok(sent)
    }

    /// The frame, its prefix filled in.
    pub(crate) fn finish(mut self) -> OutFrame {
        // Bodies are bounded by the frame limit (at most u32::MAX) before they are sent.
        let body = u32::try_from(self.body_len()).unwrap_or(u32::MAX);
        self.head_mut()[..PREFIX_LEN].copy_from_slice(&body.to_be_bytes());
        self.settle();
        let fds = (!self.fds.is_empty()).then(|| Arc::from(self.fds));
        if self.kept.is_empty() {
            return OutFrame {
                bytes: OutBytes::Whole(Bytes::from(self.buf)),
                fds,
            };
        }
        let mut chunks = Vec::with_capacity(2 * self.kept.len() + 1);
        for (before, large) in self.kept {
            chunks.push(Bytes::from(before));
            chunks.push(large);
        }
        if !self.buf.is_empty() {
            chunks.push(Bytes::from(self.buf));
        }
        OutFrame {
            bytes: OutBytes::Chunks(chunks),
            fds,
        }
    }
}

/// Makes `buf` this thread's encoding buffer again, unless the one there now (put back by an
/// encode nested in this one) is larger.
fn give_back(buf: Vec<u8>) {
    SCRATCH.with(|slot| {
        let kept = slot.take();
        slot.set(if kept.capacity() >= buf.capacity() {
            kept
        } else {
            buf
        });
    });
}

impl Write for FrameWriter {
    #[inline]
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Most writes are a marker or a short field (a few per value): straight into the buffer.
        if data.len() < binary::LARGE_BINARY {
            self.buf.extend_from_slice(data);
        } else {
            self.write_large(data);
        }
        Ok(data.len())
    }

    #[inline]
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.write(data).map(drop)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Binary;

    #[test]
    fn oversized_length_is_refused_without_reserving() {
        let mut src = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 1][..]);
        let cap = src.capacity();
        let err = FrameDecoder::new(1024).decode(&mut src).unwrap_err();
        assert!(matches!(
            err,
            Error::FrameTooLarge {
                len: 0xffff_ffff,
                max: 1024
            }
        ));
        assert_eq!(src.capacity(), cap);
    }

    #[test]
    fn announced_length_does_not_reserve_ahead_of_the_bytes() {
        let mut dec = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN);
        let mut src = BytesMut::new();
        src.extend_from_slice(&(DEFAULT_MAX_FRAME_LEN as u32).to_be_bytes());
        src.extend_from_slice(&[1; 100]);
        assert!(dec.decode(&mut src).unwrap().is_none());
        assert!(
            src.capacity() <= 2 * (GROW_AHEAD + 104),
            "{}",
            src.capacity()
        );
    }

    #[test]
    fn frames_split_across_reads_are_reassembled() {
        let mut dec = FrameDecoder::new(1024);
        let mut src = BytesMut::from(&[0, 0, 0, 3, b'a'][..]);
        assert!(dec.decode(&mut src).unwrap().is_none());
        src.extend_from_slice(b"bc\0\0\0\x01z");
        assert_eq!(dec.decode(&mut src).unwrap().unwrap(), &b"abc"[..]);
        assert_eq!(dec.decode(&mut src).unwrap().unwrap(), &b"z"[..]);
    }

    #[test]
    fn buffer_of_a_big_frame_is_released_once_drained() {
        let mut dec = FrameDecoder::new(1 << 20);
        let mut src = BytesMut::with_capacity(PREFIX_LEN + 500_000);
        src.extend_from_slice(&500_000u32.to_be_bytes());
        src.resize(PREFIX_LEN + 500_000, 7);
        assert_eq!(dec.decode(&mut src).unwrap().unwrap().len(), 500_000);
        assert!(src.capacity() <= INITIAL_CAPACITY);
    }

    #[test]
    fn a_frame_is_allocated_once_at_its_exact_size() {
        let settled = |text: String| {
            let mut w = FrameWriter::new();
            w.value(&text).unwrap();
            w.settle();
            (w.buf.capacity(), w.buf.len())
        };
        let (capacity, len) = settled("v".repeat(300));
        assert_eq!(capacity, len);
        // Larger than the kept buffer: the buffer itself becomes the frame, and the next frame
        // is copied out exactly again.
        let (_, len) = settled("v".repeat(2 * SCRATCH_KEEP));
        assert!(len > SCRATCH_KEEP);
        let (capacity, len) = settled("w".repeat(100));
        assert_eq!(capacity, len);
    }

    #[test]
    fn a_large_binary_is_a_chunk_of_its_own_and_the_prefix_counts_it() {
        let large = Binary::from(vec![3; binary::LARGE_BINARY]);
        let mut w = FrameWriter::new();
        w.value(&("a", &large, 1u8)).unwrap();
        let frame = w.finish();
        let OutBytes::Chunks(chunks) = &frame.bytes else {
            panic!("{frame:?}");
        };
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1].as_ptr(), large.as_ptr(), "copied");
        let whole: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
        let body = u32::from_be_bytes(whole[..4].try_into().unwrap()) as usize;
        assert_eq!(body, frame.len() - PREFIX_LEN);
        let decoded: (String, Binary, u8) = rmp_serde::from_slice(&whole[4..]).unwrap();
        assert_eq!(decoded, ("a".to_owned(), large, 1));
    }

    #[test]
    fn a_small_binary_is_copied_into_the_frame() {
        let small = Binary::from(vec![3; binary::LARGE_BINARY - 1]);
        let mut w = FrameWriter::new();
        w.value(&(&small,)).unwrap();
        assert!(matches!(w.finish().bytes, OutBytes::Whole(_)));
    }

    #[test]
    fn an_out_frame_advances_across_chunks() {
        let mut frame = OutFrame {
            bytes: OutBytes::Chunks(vec![
                Bytes::from_static(b"ab"),
                Bytes::from_static(b"cde"),
                Bytes::from_static(b"f"),
            ]),
            fds: None,
        };
        frame.advance(3);
        assert_eq!(frame.chunks(), [&b"de"[..], &b"f"[..]]);
        frame.advance(2);
        assert_eq!(frame.chunks(), [&b"f"[..]]);
        assert_eq!(frame.len(), 1);
    }

    #[test]
    fn eof_inside_a_frame_is_malformed() {
        let mut src = BytesMut::from(&[0, 0, 0, 9, 1, 2][..]);
        let err = FrameDecoder::new(1024).decode_eof(&mut src).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)));
    }

    #[test]
    fn oversized_frame_is_skipped_without_buffering_and_the_next_one_read() {
        let mut dec = SkippingDecoder::new(16);
        let mut src = BytesMut::new();
        src.extend_from_slice(&1000u32.to_be_bytes());
        src.extend_from_slice(&[7; 30]);
        assert!(dec.decode(&mut src).unwrap().is_none());
        assert!(src.is_empty(), "the skipped bytes are not kept");
        src.extend_from_slice(&[8; 970]);
        src.extend_from_slice(b"\0\0\0\x01z");
        match dec.decode(&mut src).unwrap() {
            Some(Incoming::Skipped { len, max, head }) => {
                assert_eq!((len, max), (1000, 16));
                assert_eq!(head, vec![7; HEAD_LEN]);
            }
            other => panic!("{other:?}"),
        }
        match dec.decode(&mut src).unwrap() {
            Some(Incoming::Frame(frame)) => assert_eq!(frame, &b"z"[..]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn eof_while_skipping_is_malformed() {
        let mut dec = SkippingDecoder::new(16);
        let mut src = BytesMut::from(&[0, 0, 1, 0][..]);
        src.extend_from_slice(&[1; 100]);
        assert!(dec.decode(&mut src).unwrap().is_none());
        let err = dec.decode_eof(&mut src).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)));
    }
}
