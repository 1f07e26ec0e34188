//! Scoping thread-locals to one synchronous encode or decode.
//!
//! Serde gives a `Serialize`/`Deserialize` impl no context, so the runtime lends what a value
//! needs beside its bytes (a received frame's memory, its descriptors) through thread-locals set
//! for the span of one encode or decode (`binary`, `fd`). Every frame goes through such a scope,
//! so the common case costs little: one scope per encode or decode, its state in one `Cell` (no
//! destructor, so a plain thread-local access), replaced to open it and put back to close it. A
//! decode's ([`decoding`]) holds a pointer to the frame and how its descriptors stand; an
//! encode's ([`encoding`]) says which [`Collector`]s' lists hold items, so a list is touched
//! only once something is collected.

use std::cell::{Cell, RefCell};
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::thread::LocalKey;

use bytes::Bytes;

/// Puts a thread-local back as it was when dropped, even if the encode or decode panics: what
/// the scope put there is dropped then.
pub(crate) struct Restore<T: 'static>(
    pub(crate) &'static LocalKey<RefCell<Option<T>>>,
    pub(crate) Option<T>,
);

impl<T: 'static> Drop for Restore<T> {
    fn drop(&mut self) {
        let outer = self.1.take();
        self.0.set(outer);
    }
}

/// Puts a `Cell` thread-local back to the value it had, when dropped (panics included).
pub(crate) struct RestoreCell<T: Copy + 'static>(
    pub(crate) &'static LocalKey<Cell<T>>,
    pub(crate) T,
);

impl<T: Copy + 'static> Drop for RestoreCell<T> {
    fn drop(&mut self) {
        self.0.set(self.1);
    }
}

thread_local! {
    /// [`OPEN`] while the runtime encodes a frame on this thread, with the bit of each
    /// [`Collector`] whose list holds items of it; 0 outside.
    static ENCODING: Cell<u8> = const { Cell::new(0) };
    /// The descriptors of the frame being encoded on this thread, once an `Fd` was serialized.
    static ATTACHED: RefCell<Vec<OwnedFd>> = const { RefCell::new(Vec::new()) };
    /// The large binaries serialized in the frame being encoded on this thread.
    static LARGE_BINARIES: RefCell<Vec<Bytes>> = const { RefCell::new(Vec::new()) };
}

/// The bit of `ENCODING` set while an encode runs.
const OPEN: u8 = 1;

/// Duplicates of the descriptors of every `Fd` serialized in the frame being encoded (`fd`).
pub(crate) const ATTACHING: Collector<OwnedFd> = Collector {
    items: &ATTACHED,
    bit: 2,
};

/// The `Bytes` of every large `Binary` serialized in the frame being encoded (`binary`).
pub(crate) const LARGE: Collector<Bytes> = Collector {
    items: &LARGE_BINARIES,
    bit: 4,
};

/// Items that values push while one encode ([`encoding`]) runs on this thread. The list is
/// touched only once something is pushed: until then its bit in `ENCODING` says it is empty.
pub(crate) struct Collector<T: 'static> {
    items: &'static LocalKey<RefCell<Vec<T>>>,
    /// This list's bit in `ENCODING`, set while it holds items.
    bit: u8,
}

impl<T: 'static> Collector<T> {
    /// Whether an encode is running on this thread.
    pub(crate) fn is_open(&self) -> bool {
        ENCODING.get() & OPEN != 0
    }

    /// Adds `item` to the running encode's list and returns its index there; outside any
    /// encode `item` is handed back.
    pub(crate) fn push(&self, item: T) -> Result<usize, T> {
        let collected = ENCODING.get();
        if collected & OPEN == 0 {
            return Err(item);
        }
        ENCODING.set(collected | self.bit);
        Ok(self.items.with_borrow_mut(|items| {
            items.push(item);
            items.len() - 1
        }))
    }

    /// Runs `f` on the running encode's list; `None` when it holds nothing.
    pub(crate) fn with_items<R>(&self, f: impl FnOnce(&mut Vec<T>) -> R) -> Option<R> {
        if ENCODING.get() & self.bit == 0 {
            return None;
        }
        Some(self.items.with_borrow_mut(f))
    }

    /// The list's items if `collected` (bits of `ENCODING`) says it holds some; otherwise
    /// empty, and the list is not touched.
    fn take(&self, collected: u8) -> Vec<T> {
        if collected & self.bit == 0 {
            return Vec::new();
        }
        self.items.take()
    }
}

/// Runs `encode` (one synchronous encode of a frame into a writer that calls
/// `binary::take_large`) in a scope of its own, and returns, beside its result, the descriptors
/// of every `Fd` it serialized, in index order (empty, and nothing allocated, when none). The
/// large binaries the writer did not take are dropped. A scope opened inside another (a
/// `Serialize` impl may encode a frame of its own) collects apart, and the outer one's items are
/// back when it ends.
pub(crate) fn encoding<R>(encode: impl FnOnce() -> R) -> (R, Vec<OwnedFd>) {
    let outer = ENCODING.replace(OPEN);
    let scope = EncodeScope {
        outer,
        stashed: (outer & !OPEN != 0).then(|| (ATTACHING.take(outer), LARGE.take(outer))),
    };
    let result = encode();
    let fds = ATTACHING.take(ENCODING.get());
    drop(scope);
    (result, fds)
}

/// Ends an [`encoding`] scope: drops what it collected and nobody took (all of it after a
/// panic), and gives the enclosing scope back its state and items.
struct EncodeScope {
    outer: u8,
    /// The enclosing scope's items, when it had collected some.
    stashed: Option<(Vec<OwnedFd>, Vec<Bytes>)>,
}

impl Drop for EncodeScope {
    #[inline]
    fn drop(&mut self) {
        let collected = ENCODING.replace(self.outer);
        // Descriptors are left only after a panic: `encoding` takes them otherwise.
        drop(ATTACHING.take(collected));
        drop(LARGE.take(collected));
        if let Some((fds, large)) = self.stashed.take() {
            ATTACHED.set(fds);
            LARGE_BINARIES.set(large);
        }
    }
}

thread_local! {
    /// What the runtime lends the values of the frame it is decoding on this thread, if it is
    /// decoding one.
    static DECODING: Cell<Option<Lent>> = const { Cell::new(None) };
}

/// What one decode lends its values.
#[derive(Clone, Copy)]
struct Lent {
    /// The received frame, for `Binary` to slice. Only [`decoding`] sets it, from a `&Bytes`
    /// borrowed for as long as it stays set. A pointer rather than a clone: cloning a `Bytes` is
    /// an atomic increment (and a decrement to drop it), which every decode would pay, while a
    /// `Binary` is rarely decoded.
    frame: NonNull<Bytes>,
    descriptors: Lending,
}

/// How the descriptors of the frame being decoded stand (see `fd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lending {
    /// The frame came without descriptors (the usual case, kept out of `fd`'s lent set): any
    /// `fd` index is bad, and `bad_index` says whether one was met.
    NoDescriptors { bad_index: bool },
    /// The frame's descriptors are in `fd`'s lent set.
    Descriptors,
}

/// Runs `decode` (one synchronous decode of values inside `frame`) with `frame` lent to every
/// `Binary` and `descriptors` to every `Fd` it decodes, and returns, beside its result, how the
/// descriptors stand after it. The scope this opens inside another is the only one seen until
/// it ends; the outer one is back then, panics included.
pub(crate) fn decoding<T>(
    frame: &Bytes,
    descriptors: Lending,
    decode: impl FnOnce() -> T,
) -> (T, Lending) {
    let lent = Lent {
        frame: NonNull::from(frame),
        descriptors,
    };
    let outer = DECODING.replace(Some(lent));
    let _restore = RestoreCell(&DECODING, outer);
    let decoded = decode();
    // Still this scope's: any scope `decode` opened has ended.
    let descriptors = DECODING.get().map_or(descriptors, |lent| lent.descriptors);
    (decoded, descriptors)
}

/// Runs `f` on the frame lent to the decode running on this thread; `None` outside a decode.
pub(crate) fn with_lent_frame<R>(f: impl FnOnce(&Bytes) -> R) -> Option<R> {
    let lent = DECODING.get()?;
    // SAFETY: `decoding` set `frame` from a `&Bytes` that stays borrowed until its scope ends,
    // and that scope is still open: scopes end in the reverse order they open (each is a call
    // frame of `decoding` on this thread's stack), so it outlives this call, and `f` cannot
    // keep the reference beyond it.
    Some(f(unsafe { lent.frame.as_ref() }))
}

/// How the descriptors of the frame being decoded on this thread stand; `None` outside a
/// decode.
pub(crate) fn lent_descriptors() -> Option<Lending> {
    DECODING.get().map(|lent| lent.descriptors)
}

/// Records how the descriptors of the frame being decoded on this thread stand now (nothing
/// outside a decode).
pub(crate) fn set_lent_descriptors(descriptors: Lending) {
    if let Some(lent) = DECODING.get() {
        DECODING.set(Some(Lent {
            descriptors,
            ..lent
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lent_frame() -> Option<Bytes> {
        with_lent_frame(Bytes::clone)
    }

    #[test]
    fn a_decode_scope_inside_another_is_the_one_seen_until_it_ends_panics_included() {
        let outer = Bytes::from_static(b"outer");
        let inner = Bytes::from_static(b"inner");
        let no_descriptors = Lending::NoDescriptors { bad_index: false };
        let ((), lending) = decoding(&outer, no_descriptors, || {
            let ((), lending) = decoding(&inner, Lending::Descriptors, || {
                assert_eq!(lent_frame(), Some(inner.clone()));
                assert_eq!(lent_descriptors(), Some(Lending::Descriptors));
            });
            assert_eq!(lending, Lending::Descriptors);
            let caught = std::panic::catch_unwind(|| {
                decoding(&inner, Lending::Descriptors, || panic!("decoder bug"))
            });
            assert!(caught.is_err());
            assert_eq!(lent_frame(), Some(outer.clone()));
            assert_eq!(lent_descriptors(), Some(no_descriptors));
            set_lent_descriptors(Lending::NoDescriptors { bad_index: true });
        });
        assert_eq!(lending, Lending::NoDescriptors { bad_index: true });
        assert_eq!(lent_frame(), None);
        assert_eq!(lent_descriptors(), None);
    }

    #[test]
    fn a_panicking_encode_inside_another_leaves_the_outer_ones_items() {
        let outer = Bytes::from_static(b"outer");
        let ((), fds) = encoding(|| {
            assert_eq!(LARGE.push(outer.clone()), Ok(0));
            let caught = std::panic::catch_unwind(|| {
                encoding(|| {
                    assert_eq!(LARGE.push(Bytes::from_static(b"inner")), Ok(0));
                    panic!("encoder bug")
                })
            });
            assert!(caught.is_err());
            assert_eq!(LARGE.with_items(|large| large.clone()), Some(vec![outer]));
        });
        assert!(fds.is_empty());
        assert!(!LARGE.is_open());
        assert_eq!(
            LARGE.push(Bytes::new()),
            Err(Bytes::new()),
            "outside every scope"
        );
    }
}
