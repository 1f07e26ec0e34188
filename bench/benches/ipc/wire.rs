//! The bytes every case moves, shared by both sides so that ours and the baseline carry the
//! same msgpack: the encoded bodies of the payloads (`student`), and length-prefixed framing
//! for the raw baseline. Encoding matches the runtime's (`to_vec_named`).

use bytes::{Buf, BytesMut};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::student::{STUDENT_ID, student, student_added};

/// Payload of the bulk case.
pub const BULK_LEN: usize = 1024 * 1024;

/// Payload of the 64 MiB cases, through `binary` and through a sealed memfd.
pub const BIG_LEN: usize = 64 << 20;

/// What the daemon computes of a big payload, reading every byte: the wrapping sum of its
/// little-endian 64-bit words (the length is a multiple of 8).
pub fn checksum(bytes: &[u8]) -> u64 {
    bytes
        .chunks_exact(8)
        .map(|word| u64::from_le_bytes(word.try_into().expect("8 bytes")))
        .fold(0, u64::wrapping_add)
}

/// The big payload: not all one byte, so that a checksum tells bytes apart.
pub fn big_payload() -> Vec<u8> {
    (0..BIG_LEN).map(|i| (i % 251) as u8).collect()
}

/// Bytes of the frame length prefix.
const PREFIX_LEN: usize = 4;

/// Msgpack bodies as the runtime puts them on the wire: args are a positional array, models
/// are maps keyed by field name.
#[derive(Debug, Clone)]
pub struct Bodies {
    /// Args of `get_student(STUDENT_ID)`.
    pub request: Vec<u8>,
    /// The `Student` it returns.
    pub reply: Vec<u8>,
    /// Args of one `student_added` event.
    pub event: Vec<u8>,
}

impl Bodies {
    pub fn new() -> Bodies {
        Bodies {
            request: encode(&(STUDENT_ID,)),
            reply: encode(&student(STUDENT_ID)),
            event: encode(&student_added()),
        }
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(value).expect("bench payloads always encode")
}

/// `count` copies of `body`, each behind a 4-byte big-endian length.
pub fn frames(body: &[u8], count: usize) -> Vec<u8> {
    let len = u32::try_from(body.len()).expect("bench frames are far below 4 GiB");
    let mut out = Vec::with_capacity((PREFIX_LEN + body.len()) * count);
    for _ in 0..count {
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(body);
    }
    out
}

/// Reads length-prefixed frames from a raw socket into one reused buffer.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: BytesMut,
}

/// Read granularity: one syscall can bring in many small frames.
const READ_CHUNK: usize = 64 * 1024;

impl FrameReader {
    /// Reads once (waiting for data) and consumes every complete frame now buffered, returning
    /// the bytes they span (prefixes included) and how many there were. `None` at end of stream.
    pub async fn read_batch(
        &mut self,
        stream: &mut (impl AsyncRead + Unpin),
    ) -> std::io::Result<Option<Batch>> {
        loop {
            let batch = self.complete_frames();
            if batch.count > 0 {
                return Ok(Some(batch));
            }
            self.buf.reserve(READ_CHUNK.max(batch.needed));
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// Waits for exactly one more frame and returns its body. `None` at end of stream.
    pub async fn read_one(
        &mut self,
        stream: &mut (impl AsyncRead + Unpin),
    ) -> std::io::Result<Option<BytesMut>> {
        loop {
            if let Some(len) = self
                .frame_len()
                .filter(|len| self.buf.len() >= PREFIX_LEN + len)
            {
                self.buf.advance(PREFIX_LEN);
                return Ok(Some(self.buf.split_to(len)));
            }
            self.buf.reserve(READ_CHUNK);
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// Reads once (waiting for data) and splits off the body of every complete frame now
    /// buffered. `None` at end of stream.
    pub async fn read_batch_bodies(
        &mut self,
        stream: &mut (impl AsyncRead + Unpin),
    ) -> std::io::Result<Option<Vec<BytesMut>>> {
        let Some(batch) = self.read_batch(stream).await? else {
            return Ok(None);
        };
        let mut bodies = Vec::with_capacity(batch.count);
        for _ in 0..batch.count {
            let len = self.frame_len().expect("a complete frame is buffered");
            self.buf.advance(PREFIX_LEN);
            bodies.push(self.buf.split_to(len));
        }
        Ok(Some(bodies))
    }

    /// The bytes a `read_batch` found, prefixes included: echoing them needs no copy.
    pub fn batch_bytes(&self, batch: &Batch) -> &[u8] {
        &self.buf[..batch.bytes]
    }

    /// Drops the bytes of the last `read_batch`.
    pub fn consume(&mut self, batch: &Batch) {
        self.buf.advance(batch.bytes);
    }

    fn frame_len(&self) -> Option<usize> {
        let prefix = self.buf.get(..PREFIX_LEN)?;
        Some(u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize)
    }

    fn complete_frames(&self) -> Batch {
        let mut batch = Batch::default();
        let mut rest = &self.buf[..];
        while let Some(prefix) = rest.get(..PREFIX_LEN) {
            let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
            if rest.len() < PREFIX_LEN + len {
                batch.needed = PREFIX_LEN + len - rest.len();
                break;
            }
            batch.count += 1;
            batch.bytes += PREFIX_LEN + len;
            rest = &rest[PREFIX_LEN + len..];
        }
        batch
    }
}

/// The complete frames found at the front of a [`FrameReader`]'s buffer.
#[derive(Debug, Default, Clone, Copy)]
pub struct Batch {
    /// How many frames.
    pub count: usize,
    /// Bytes they span, prefixes included.
    pub bytes: usize,
    /// Bytes still missing for the next, partial frame.
    needed: usize,
}
