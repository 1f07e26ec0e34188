//! Framing: a 4-byte big-endian length, then a MessagePack body. Reading refuses an oversized
//! length before allocating for it (writing lives in `outbox`), or, for a client, skips that
//! frame without allocating it. Knows nothing of message kinds.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::error::Error;

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
