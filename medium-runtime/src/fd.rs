//! [`Fd`], the Rust type of the spec's `fd`: an open file descriptor that crosses the socket as
//! `SCM_RIGHTS` ancillary data (PROTOCOL.md §3.1).
//!
//! On the wire an `fd` value is an unsigned integer, the index of the descriptor in the set
//! attached to the frame that carries it. Serde sees only that integer, so, as for
//! [`Binary`](crate::Binary), the runtime hands the descriptors to and from serde through
//! thread-locals scoped to one synchronous encode or decode:
//!
//! - encoding (`thread_scope::encoding`): serializing an `Fd` duplicates it (`F_DUPFD_CLOEXEC`)
//!   into the frame's set and writes its index. The frame owns its duplicates and closes them
//!   once they are sent (or the frame is dropped), so the caller's `Fd` is never lent to the
//!   send and an event sent to many connections shares one set;
//! - decoding ([`lending`]): deserializing an `Fd` takes the descriptor at its index out of the
//!   received set. An index out of range or taken twice fails the decode, and marks the set as
//!   disagreeing with its values, as does a descriptor no value took; the descriptors left over
//!   are closed when the runtime drops them.
//!
//! Outside these scopes (for example `rmp_serde` or `serde_json` used directly) an `Fd` neither
//! serializes nor deserializes: a descriptor has no meaning apart from its frame.

use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{self, Serialize, Serializer};

use crate::thread_scope::{self, ATTACHING, Lending, Restore};

/// An open file descriptor, owned: a spec `fd` value. Dropping it closes the descriptor.
///
/// Build one from anything that owns a descriptor ([`File`], [`OwnedFd`], a [`UnixStream`], a
/// pipe end through `OwnedFd`, …) and turn a received one into what it is known to be with [`Fd::into_file`],
/// `OwnedFd::from` or `UnixStream::from`. A received descriptor has `FD_CLOEXEC` set.
pub struct Fd(OwnedFd);

impl Fd {
    /// A new `Fd` for the same open file description (`F_DUPFD_CLOEXEC`).
    pub fn try_clone(&self) -> io::Result<Fd> {
        self.0.try_clone().map(Fd)
    }

    /// The descriptor as a [`File`] (which any descriptor can be used as for `read`/`write`).
    pub fn into_file(self) -> File {
        File::from(self.0)
    }
}

/// `Fd(7)`: the descriptor's number in this process.
impl fmt::Debug for Fd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Fd").field(&self.0.as_raw_fd()).finish()
    }
}

impl AsFd for Fd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl IntoRawFd for Fd {
    fn into_raw_fd(self) -> RawFd {
        self.0.into_raw_fd()
    }
}

impl FromRawFd for Fd {
    /// # Safety
    /// `fd` must be an open descriptor that nothing else owns (as for [`OwnedFd::from_raw_fd`]).
    unsafe fn from_raw_fd(fd: RawFd) -> Fd {
        // SAFETY: the caller's contract is `OwnedFd::from_raw_fd`'s.
        Fd(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// Conversions both ways with the standard types that own a descriptor.
macro_rules! descriptor_conversions {
    ($($owner:ty),* $(,)?) => {$(
        impl From<$owner> for Fd {
            fn from(owner: $owner) -> Fd {
                Fd(OwnedFd::from(owner))
            }
        }

        impl From<Fd> for $owner {
            fn from(fd: Fd) -> $owner {
                <$owner>::from(fd.0)
            }
        }
    )*};
}

descriptor_conversions!(File, UnixStream, std::net::TcpStream,);

impl From<OwnedFd> for Fd {
    fn from(fd: OwnedFd) -> Fd {
        Fd(fd)
    }
}

impl From<Fd> for OwnedFd {
    fn from(fd: Fd) -> OwnedFd {
        fd.0
    }
}

thread_local! {
    /// The set of the frame being decoded on this thread, when it has descriptors (the decode
    /// scope, `thread_scope::decoding`, then says `Lending::Descriptors`).
    static LENT: RefCell<Option<ReceivedSet>> = const { RefCell::new(None) };
}

/// A received frame's descriptors while its values are decoded.
struct ReceivedSet {
    /// `None` once a value took the descriptor.
    descriptors: Vec<Option<OwnedFd>>,
    /// Whether a value's index was out of range or taken twice.
    bad_index: bool,
}

/// What decoding values with a lent set left (PROTOCOL.md §3.1: the set agrees with the values
/// when every descriptor is referenced exactly once).
#[derive(Debug)]
pub(crate) struct Leftovers {
    /// Descriptors no value took; closed when dropped.
    pub(crate) untaken: Vec<OwnedFd>,
    /// Whether an index was out of range or taken twice.
    pub(crate) bad_index: bool,
}

impl Leftovers {
    /// Whether every descriptor was taken exactly once and every index was good.
    pub(crate) fn agree(&self) -> bool {
        !self.bad_index && self.untaken.is_empty()
    }
}

/// Runs `decode` (one synchronous decode of values inside `frame`, which arrived with
/// `descriptors`) with the set lent to every `Fd` it produces, and `frame` to every `Binary`
/// (`thread_scope::decoding`, one scope for both). If `decode` panics, the lent descriptors are
/// closed.
pub(crate) fn lending<T>(
    frame: &Bytes,
    descriptors: Vec<OwnedFd>,
    decode: impl FnOnce() -> T,
) -> (T, Leftovers) {
    if descriptors.is_empty() {
        let (decoded, lending) =
            thread_scope::decoding(frame, Lending::NoDescriptors { bad_index: false }, decode);
        return (
            decoded,
            Leftovers {
                untaken: Vec::new(),
                bad_index: lending == Lending::NoDescriptors { bad_index: true },
            },
        );
    }
    let set = ReceivedSet {
        descriptors: descriptors.into_iter().map(Some).collect(),
        bad_index: false,
    };
    let outer = LENT.replace(Some(set));
    let _restore = Restore(&LENT, outer);
    let (decoded, _) = thread_scope::decoding(frame, Lending::Descriptors, decode);
    let set = LENT
        .take()
        .expect("the lent set stays in place while decoding");
    let leftovers = Leftovers {
        untaken: set.descriptors.into_iter().flatten().collect(),
        bad_index: set.bad_index,
    };
    (decoded, leftovers)
}

/// Why `index` takes no descriptor of a set of `len`.
fn not_in_set<E: de::Error>(index: u64, len: usize) -> E {
    de::Error::custom(format_args!(
        "fd index {index} is not a descriptor of the frame's set of {len} \
         (out of range or already taken)"
    ))
}

impl Serialize for Fd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !ATTACHING.is_open() {
            return Err(ser::Error::custom(OUTSIDE_THE_RUNTIME));
        }
        let duplicate = self
            .0
            .try_clone()
            .map_err(|e| ser::Error::custom(format_args!("cannot duplicate {self:?}: {e}")))?;
        let index = ATTACHING
            .push(duplicate)
            .map_err(|_| ser::Error::custom(OUTSIDE_THE_RUNTIME))?;
        serializer.serialize_u64(index as u64)
    }
}

impl<'de> Deserialize<'de> for Fd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fd, D::Error> {
        let index = u64::deserialize(deserializer)?;
        match thread_scope::lent_descriptors() {
            None => return Err(de::Error::custom(OUTSIDE_THE_RUNTIME)),
            Some(Lending::NoDescriptors { .. }) => {
                thread_scope::set_lent_descriptors(Lending::NoDescriptors { bad_index: true });
                return Err(not_in_set(index, 0));
            }
            Some(Lending::Descriptors) => {}
        }
        LENT.with_borrow_mut(|lent| {
            let set = lent
                .as_mut()
                .ok_or_else(|| de::Error::custom(OUTSIDE_THE_RUNTIME))?;
            let slot = usize::try_from(index)
                .ok()
                .and_then(|i| set.descriptors.get_mut(i));
            match slot.and_then(Option::take) {
                Some(fd) => Ok(Fd(fd)),
                None => {
                    set.bad_index = true;
                    Err(not_in_set(index, set.descriptors.len()))
                }
            }
        })
    }
}

/// Why values received with a set of descriptors were not taken.
#[derive(Debug)]
pub(crate) enum Rejected {
    /// The value's shape is wrong (as without descriptors), e.g. an `fd` that is not an
    /// unsigned integer.
    Shape(rmp_serde::decode::Error),
    /// The value's `fd` indices and the set disagree (PROTOCOL.md §3.1, code 15).
    Descriptors(String),
}

/// The reason alone: the caller says what was rejected.
impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Shape(e) => e.fmt(f),
            Rejected::Descriptors(why) => f.write_str(why),
        }
    }
}

/// Decodes received values with their frame and its set lent to them ([`lending`]), and checks
/// that every descriptor was taken exactly once. On any failure every descriptor is closed
/// (those values took are dropped with them).
pub(crate) fn decode_with_set<T>(
    frame: &Bytes,
    descriptors: Vec<OwnedFd>,
    decode: impl FnOnce() -> Result<T, rmp_serde::decode::Error>,
) -> Result<T, Rejected> {
    let (decoded, leftovers) = lending(frame, descriptors, decode);
    match decoded {
        Ok(value) if leftovers.agree() => Ok(value),
        Ok(_) => Err(Rejected::Descriptors(format!(
            "{} attached descriptor(s) referenced by no `fd` value",
            leftovers.untaken.len()
        ))),
        Err(e) if leftovers.bad_index => Err(Rejected::Descriptors(e.to_string())),
        Err(e) => Err(Rejected::Shape(e)),
    }
}

const OUTSIDE_THE_RUNTIME: &str =
    "an `fd` value only travels inside a medium-runtime frame (its descriptors ride beside it)";

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn pipe() -> (File, File) {
        let mut ends = [0; 2];
        // SAFETY: `ends` has room for the two descriptors pipe2 writes.
        assert_eq!(
            unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) },
            0
        );
        // SAFETY: both are fresh descriptors nothing else owns.
        unsafe { (File::from_raw_fd(ends[0]), File::from_raw_fd(ends[1])) }
    }

    fn encode(value: &impl Serialize) -> (Vec<u8>, Vec<OwnedFd>) {
        let (bytes, attached) = thread_scope::encoding(|| rmp_serde::to_vec(value));
        (bytes.unwrap(), attached)
    }

    #[test]
    fn an_encoded_fd_is_its_index_and_a_duplicate_rides_in_the_set() {
        let (reader, writer) = pipe();
        let (bytes, attached) = encode(&(Fd::from(reader), Fd::from(writer)));
        assert_eq!(bytes, rmp_serde::to_vec(&(0, 1)).unwrap());
        // The duplicates work after the originals were dropped with the tuple.
        let [reader, writer] = <[OwnedFd; 2]>::try_from(attached).unwrap();
        File::from(writer).write_all(b"x").unwrap();
        let mut byte = [0];
        File::from(reader).read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }

    #[test]
    fn decoding_takes_each_descriptor_once_and_leaves_the_rest() {
        let (reader, mut writer) = pipe();
        let (other, _) = pipe();
        let set = vec![OwnedFd::from(other), OwnedFd::from(reader)];
        let bytes = rmp_serde::to_vec(&[1]).unwrap();
        let (decoded, leftovers) = lending(&Bytes::new(), set, || {
            rmp_serde::from_slice::<Vec<Fd>>(&bytes)
        });
        let mut reader = decoded.unwrap().pop().unwrap().into_file();
        assert_eq!(leftovers.untaken.len(), 1);
        assert!(!leftovers.bad_index && !leftovers.agree());
        writer.write_all(b"y").unwrap();
        let mut byte = [0];
        reader.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"y");
    }

    #[test]
    fn an_index_out_of_range_or_taken_twice_fails_and_marks_the_set() {
        for indices in [vec![1], vec![0, 0]] {
            let (reader, _writer) = pipe();
            let bytes = rmp_serde::to_vec(&indices).unwrap();
            let (decoded, leftovers) = lending(&Bytes::new(), vec![OwnedFd::from(reader)], || {
                rmp_serde::from_slice::<Vec<Fd>>(&bytes)
            });
            let error = decoded.unwrap_err().to_string();
            assert!(
                error.contains("is not a descriptor of the frame's set of 1"),
                "{error}"
            );
            assert!(leftovers.bad_index && !leftovers.agree(), "{indices:?}");
        }
        // A frame that came without descriptors has an empty set: any index is bad.
        let bytes = rmp_serde::to_vec(&[0]).unwrap();
        let (decoded, leftovers) = lending(&Bytes::new(), Vec::new(), || {
            rmp_serde::from_slice::<Vec<Fd>>(&bytes)
        });
        let error = decoded.unwrap_err().to_string();
        assert!(
            error.contains("is not a descriptor of the frame's set of 0"),
            "{error}"
        );
        assert!(leftovers.bad_index && !leftovers.agree());
        let (decoded, leftovers) = lending(&Bytes::new(), Vec::new(), || {
            rmp_serde::from_slice::<u8>(&[7])
        });
        assert_eq!(decoded.unwrap(), 7);
        assert!(leftovers.agree());
    }

    #[test]
    fn a_scope_inside_another_collects_apart_and_restores_the_outer_one() {
        let (reader, writer) = pipe();
        let (reader, writer) = (Fd::from(reader), Fd::from(writer));
        let ((inner, outer_bytes), outer_fds) = thread_scope::encoding(|| {
            let first = rmp_serde::to_vec(&reader).unwrap();
            let (inner, inner_fds) =
                thread_scope::encoding(|| rmp_serde::to_vec(&(&writer, &writer)));
            assert_eq!(inner_fds.len(), 2);
            let second = rmp_serde::to_vec(&writer).unwrap();
            (inner.unwrap(), [first, second].concat())
        });
        assert_eq!(outer_fds.len(), 2);
        assert_eq!(inner, rmp_serde::to_vec(&(0, 1)).unwrap());
        // The outer scope's indices go on where they were: 0, then 1.
        assert_eq!(outer_bytes, [0, 1]);
        assert!(
            rmp_serde::to_vec(&reader).is_err(),
            "outside every scope again"
        );
    }

    #[test]
    fn a_set_every_value_takes_once_agrees() {
        let (reader, writer) = pipe();
        let set = vec![OwnedFd::from(reader), OwnedFd::from(writer)];
        let bytes = rmp_serde::to_vec(&[1, 0]).unwrap();
        let (decoded, leftovers) = lending(&Bytes::new(), set, || {
            rmp_serde::from_slice::<Vec<Fd>>(&bytes)
        });
        assert_eq!(decoded.unwrap().len(), 2);
        assert!(leftovers.agree());
    }

    #[test]
    fn outside_the_runtime_an_fd_neither_encodes_nor_decodes() {
        let (reader, _writer) = pipe();
        let error = rmp_serde::to_vec(&Fd::from(reader))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("only travels inside a medium-runtime frame"),
            "{error}"
        );
        let error = rmp_serde::from_slice::<Fd>(&[0]).unwrap_err().to_string();
        assert!(
            error.contains("only travels inside a medium-runtime frame"),
            "{error}"
        );
    }

    #[test]
    fn a_panicking_decode_closes_the_lent_descriptors_and_restores_the_scope() {
        let (reader, mut writer) = pipe();
        let caught = std::panic::catch_unwind(move || {
            lending(&Bytes::new(), vec![OwnedFd::from(reader)], || {
                panic!("decoder bug")
            })
        });
        assert!(caught.is_err());
        // The read end is closed: writing to the pipe now fails with EPIPE.
        let error = writer.write_all(b"z").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        assert!(LENT.with_borrow(Option::is_none));
        assert_eq!(thread_scope::lent_descriptors(), None);
    }
}
