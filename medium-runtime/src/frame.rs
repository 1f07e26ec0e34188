//! Framing: a 4-byte big-endian length, then a MessagePack body. Reading refuses an oversized
//! length before allocating for it; writing drains a queue and sends many frames per syscall.
//! This module knows nothing of message kinds.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;

use crate::error::Error;

/// Bytes of the length prefix.
pub(crate) const PREFIX_LEN: usize = 4;

/// Default largest frame body accepted: 16 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Frames coalesced into one write at most; bounds the iovec array and the time one write holds.
const MAX_BATCH_FRAMES: usize = 64;

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
            src.reserve(PREFIX_LEN + len - src.len());
            return Ok(None);
        }
        src.advance(PREFIX_LEN);
        Ok(Some(src.split_to(len).freeze()))
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

/// A queue of encoded frames (prefix included) that a writer task drains.
pub(crate) trait FrameQueue {
    /// Waits for the next frame; `None` once every sender is gone and the queue is empty.
    async fn next(&mut self) -> Option<Bytes>;
    /// The next frame if one is ready now.
    fn ready(&mut self) -> Option<Bytes>;
}

impl FrameQueue for mpsc::Receiver<Bytes> {
    async fn next(&mut self) -> Option<Bytes> {
        self.recv().await
    }
    fn ready(&mut self) -> Option<Bytes> {
        self.try_recv().ok()
    }
}

impl FrameQueue for mpsc::UnboundedReceiver<Bytes> {
    async fn next(&mut self) -> Option<Bytes> {
        self.recv().await
    }
    fn ready(&mut self) -> Option<Bytes> {
        self.try_recv().ok()
    }
}

/// Writes every queued frame until the queue closes, then shuts the write side down.
/// Frames that are ready together go out in one vectored write.
pub(crate) async fn write_frames<Q: FrameQueue, W: AsyncWrite + Unpin>(
    mut queue: Q,
    mut out: W,
) -> std::io::Result<()> {
    let mut batch = Batch::default();
    while let Some(first) = queue.next().await {
        batch.frames.push_back(first);
        while batch.frames.len() < MAX_BATCH_FRAMES {
            match queue.ready() {
                Some(frame) => batch.frames.push_back(frame),
                None => break,
            }
        }
        while batch.has_remaining() {
            out.write_buf(&mut batch).await?;
        }
    }
    out.shutdown().await
}

/// Frames waiting to be written, exposed as one `Buf` so `write_buf` can use `writev`.
#[derive(Debug, Default)]
struct Batch {
    frames: VecDeque<Bytes>,
}

impl Buf for Batch {
    fn remaining(&self) -> usize {
        self.frames.iter().map(Bytes::len).sum()
    }

    fn chunk(&self) -> &[u8] {
        self.frames.front().map_or(&[], |f| f.as_ref())
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, frame) in dst.iter_mut().zip(&self.frames) {
            *slot = IoSlice::new(frame);
            n += 1;
        }
        n
    }

    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 {
            let Some(front) = self.frames.front_mut() else {
                return;
            };
            if cnt < front.len() {
                front.advance(cnt);
                return;
            }
            cnt -= front.len();
            self.frames.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn frames_split_across_reads_are_reassembled() {
        let mut dec = FrameDecoder::new(1024);
        let mut src = BytesMut::from(&[0, 0, 0, 3, b'a'][..]);
        assert!(dec.decode(&mut src).unwrap().is_none());
        src.extend_from_slice(b"bc\0\0\0\x01z");
        assert_eq!(dec.decode(&mut src).unwrap().unwrap(), &b"abc"[..]);
        assert_eq!(dec.decode(&mut src).unwrap().unwrap(), &b"z"[..]);
    }

    #[test]
    fn eof_inside_a_frame_is_malformed() {
        let mut src = BytesMut::from(&[0, 0, 0, 9, 1, 2][..]);
        let err = FrameDecoder::new(1024).decode_eof(&mut src).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)));
    }

    #[test]
    fn batch_advances_across_frame_boundaries() {
        let mut batch = Batch::default();
        batch.frames.push_back(Bytes::from_static(b"abc"));
        batch.frames.push_back(Bytes::from_static(b"de"));
        batch.advance(4);
        assert_eq!(batch.remaining(), 1);
        assert_eq!(batch.chunk(), b"e");
    }
}
