//! [`Binary`], the Rust type of the spec's `binary`: bytes that travel without being copied.
//!
//! Received: when the runtime decodes a frame (`value_decoder`), a `Binary` is a slice of the
//! received frame's `Bytes`, not a copy. Serde's `Visitor` only ever sees a `&[u8]`, so the
//! decoder lends the frame's `Bytes` through a thread-local for the duration of one synchronous
//! decode (`thread_scope::decoding`); the visitor slices it when the bytes lie inside it, and
//! copies them otherwise (any other deserializer, e.g. `rmp_serde` directly).
//!
//! Sent: a `Binary` of at least [`LARGE_BINARY`] bytes is not copied into its frame. While the
//! runtime encodes a frame (`thread_scope::encoding`), serializing such a `Binary` records its
//! `Bytes`; the frame writer, handed the same bytes by `rmp_serde` right after their `bin`
//! header, recognizes them by address and keeps them as a chunk of the frame instead of copying
//! them.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::thread_scope::{self, LARGE};

/// Smallest binary sent as a chunk of its own rather than copied into the frame: below it a
/// copy costs less than an extra iovec and buffer reference.
pub(crate) const LARGE_BINARY: usize = 64 * 1024;

/// The bytes of a spec `binary` value: a cheaply cloned, immutable byte buffer (a newtype over
/// [`bytes::Bytes`]). Encodes as MessagePack `bin` and decodes from `bin` only.
///
/// A `Binary` received from the peer shares the received frame's memory, so keeping a small one
/// keeps its whole frame allocated; [`Binary::copy_from_slice`] detaches it.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Binary(Bytes);

impl Binary {
    /// A `Binary` holding a copy of `bytes`.
    pub fn copy_from_slice(bytes: &[u8]) -> Binary {
        Binary(Bytes::copy_from_slice(bytes))
    }

    /// The underlying buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

/// Prints like the `Vec<u8>` it replaces in generated types: `[1, 2, 3]`.
impl fmt::Debug for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self[..], f)
    }
}

impl Hash for Binary {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Deref for Binary {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Binary {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Binary {
        Binary(Bytes::from(bytes))
    }
}

impl From<Bytes> for Binary {
    fn from(bytes: Bytes) -> Binary {
        Binary(bytes)
    }
}

impl From<&'static [u8]> for Binary {
    fn from(bytes: &'static [u8]) -> Binary {
        Binary(Bytes::from_static(bytes))
    }
}

impl From<Binary> for Bytes {
    fn from(binary: Binary) -> Bytes {
        binary.0
    }
}

impl From<Binary> for Vec<u8> {
    fn from(binary: Binary) -> Vec<u8> {
        binary.0.into()
    }
}

impl PartialEq<[u8]> for Binary {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl PartialEq<&[u8]> for Binary {
    fn eq(&self, other: &&[u8]) -> bool {
        self.0 == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Binary {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.0 == other[..]
    }
}

impl PartialEq<Vec<u8>> for Binary {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.0 == other
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.len() >= LARGE_BINARY && LARGE.is_open() {
            // Open, so this cannot hand the clone back.
            let _ = LARGE.push(self.0.clone());
        }
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Binary, D::Error> {
        deserializer.deserialize_bytes(BinaryVisitor)
    }
}

struct BinaryVisitor;

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a bin")
    }

    fn visit_borrowed_bytes<E: de::Error>(self, bytes: &'de [u8]) -> Result<Binary, E> {
        let sliced = thread_scope::with_lent_frame(|frame| {
            lies_inside(bytes, frame).then(|| frame.slice_ref(bytes))
        });
        Ok(Binary(
            sliced
                .flatten()
                .unwrap_or_else(|| Bytes::copy_from_slice(bytes)),
        ))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Binary, E> {
        Ok(Binary::copy_from_slice(bytes))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary::from(bytes))
    }
}

/// Whether `part` is a sub-slice of `whole`'s memory (what `Bytes::slice_ref` demands).
fn lies_inside(part: &[u8], whole: &[u8]) -> bool {
    let whole = whole.as_ptr_range();
    let part = part.as_ptr_range();
    whole.start <= part.start && part.end <= whole.end
}

/// The `Bytes` of the large `Binary` whose contents `data` is (the same memory, not merely
/// equal bytes), if one was serialized in the frame being encoded on this thread.
pub(crate) fn take_large(data: &[u8]) -> Option<Bytes> {
    if data.len() < LARGE_BINARY {
        return None;
    }
    LARGE
        .with_items(|large| {
            // The one just serialized is last: `rmp_serde` writes its bytes right after its
            // header.
            let at = large
                .iter()
                .rposition(|b| b.as_ptr() == data.as_ptr() && b.len() == data.len())?;
            Some(large.swap_remove(at))
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `decode` with `frame` lent, as the runtime decodes a received frame's values.
    fn lend_frame<T>(frame: &Bytes, decode: impl FnOnce() -> T) -> T {
        crate::fd::lending(frame, Vec::new(), decode).0
    }

    #[test]
    fn decoding_inside_a_lent_frame_slices_it() {
        let frame = Bytes::from(rmp_serde::to_vec(&serde_bytes::Bytes::new(&[7; 100])).unwrap());
        let binary: Binary = lend_frame(&frame, || rmp_serde::from_slice(&frame)).unwrap();
        assert_eq!(binary, vec![7; 100]);
        assert!(lies_inside(&binary, &frame), "not a slice of the frame");
    }

    #[test]
    fn decoding_outside_the_runtime_copies() {
        let encoded = rmp_serde::to_vec(&serde_bytes::Bytes::new(b"abc")).unwrap();
        let binary: Binary = rmp_serde::from_slice(&encoded).unwrap();
        assert_eq!(binary, b"abc"[..]);
        assert!(!lies_inside(&binary, &encoded));
        // Another frame lent meanwhile does not make foreign bytes a slice of it.
        let other = Bytes::from_static(b"unrelated");
        let binary: Binary = lend_frame(&other, || rmp_serde::from_slice(&encoded)).unwrap();
        assert_eq!(binary, b"abc"[..]);
    }

    #[test]
    fn only_bin_decodes() {
        let str = rmp_serde::to_vec("abc").unwrap();
        assert!(rmp_serde::from_slice::<Binary>(&str).is_err());
        let array = rmp_serde::to_vec(&vec![1u8, 2, 3]).unwrap();
        assert!(rmp_serde::from_slice::<Binary>(&array).is_err());
    }

    #[test]
    fn encodes_as_bin_and_reports_only_large_binaries() {
        let small = Binary::from(vec![1, 2, 3]);
        let large = Binary::from(vec![0; LARGE_BINARY]);
        let copy = large.to_vec();
        let (encoded, _) = thread_scope::encoding(|| {
            let encoded = rmp_serde::to_vec(&(&small, &large)).unwrap();
            assert!(take_large(&small).is_none());
            assert!(
                take_large(&copy).is_none(),
                "equal bytes elsewhere are not it"
            );
            assert_eq!(take_large(&large).map(|b| b.as_ptr()), Some(large.as_ptr()));
            assert!(take_large(&large).is_none(), "taken once");
            encoded
        });
        assert_eq!(&encoded[..6], [0x92, 0xc4, 3, 1, 2, 3]);
        // Outside an encode nothing is recorded.
        rmp_serde::to_vec(&large).unwrap();
        assert!(take_large(&large).is_none());
    }

    #[test]
    fn conversions_keep_the_buffer() {
        let vec = vec![5u8; 10];
        let ptr = vec.as_ptr();
        let binary = Binary::from(vec);
        assert_eq!(binary.as_ptr(), ptr);
        assert_eq!(Bytes::from(binary.clone()).as_ptr(), ptr);
        assert_eq!(Vec::from(binary.clone()), vec![5u8; 10]);
        assert_eq!(binary, &[5u8; 10][..]);
        assert_eq!(
            Binary::from(&b"x"[..]).into_bytes(),
            Bytes::from_static(b"x")
        );
        assert_eq!(format!("{:?}", Binary::from(vec![1, 2])), "[1, 2]");
    }
}
