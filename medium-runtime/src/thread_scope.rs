//! Scoping thread-locals to one synchronous encode or decode.
//!
//! Serde gives a `Serialize`/`Deserialize` impl no context, so the runtime lends what a value
//! needs beside its bytes (a received frame's memory, its descriptors) through thread-locals set
//! for the span of one encode or decode (`binary`, `fd`). Every frame goes through such scopes,
//! so the common case costs little: a decode's scope ([`decoding`]) is one `Cell` holding a
//! pointer to the frame and how its descriptors stand (no destructor, so a plain thread-local
//! access to open it and one to close it), and [`Collector`] keeps whether a scope is open in a
//! `Cell` and touches its item list only once something is collected.

use std::cell::{Cell, RefCell};
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

/// Where a thread stands with a [`Collector`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collecting {
    /// No scope open: nothing is collected.
    Outside,
    /// A scope is open and has collected nothing yet.
    Nothing,
    /// A scope is open and its items are in the list.
    Some,
}

/// Items (descriptors, large binaries) that values push while one encode runs on this thread,
/// for the encode to take when it is done. Two thread-locals: whether a scope is open, and the
/// open scope's items. A scope opened inside another (a `Serialize` impl may encode a frame of
/// its own) collects apart, and the outer one's items are back when it ends.
pub(crate) struct Collector<T: 'static> {
    pub(crate) state: &'static LocalKey<Cell<Collecting>>,
    pub(crate) items: &'static LocalKey<RefCell<Vec<T>>>,
}

impl<T: 'static> Collector<T> {
    /// Runs `work` in a scope of its own and returns, beside its result, what it collected in
    /// push order (empty, and nothing allocated, when it collected nothing).
    pub(crate) fn run<R>(&self, work: impl FnOnce() -> R) -> (R, Vec<T>) {
        let outer = self.state.replace(Collecting::Nothing);
        let scope = Scope {
            collector: self,
            outer,
            stashed: match outer {
                Collecting::Some => self.items.take(),
                Collecting::Outside | Collecting::Nothing => Vec::new(),
            },
        };
        let result = work();
        let collected = match self.state.replace(Collecting::Nothing) {
            Collecting::Some => self.items.take(),
            Collecting::Outside | Collecting::Nothing => Vec::new(),
        };
        drop(scope);
        (result, collected)
    }

    /// Whether a scope is open on this thread.
    pub(crate) fn is_open(&self) -> bool {
        self.state.get() != Collecting::Outside
    }

    /// Adds `item` to the open scope and returns its index there; outside any scope `item` is
    /// handed back.
    pub(crate) fn push(&self, item: T) -> Result<usize, T> {
        if !self.is_open() {
            return Err(item);
        }
        self.state.set(Collecting::Some);
        Ok(self.items.with_borrow_mut(|items| {
            items.push(item);
            items.len() - 1
        }))
    }

    /// Runs `f` on the open scope's items; `None` when it has collected none.
    pub(crate) fn with_items<R>(&self, f: impl FnOnce(&mut Vec<T>) -> R) -> Option<R> {
        if self.state.get() != Collecting::Some {
            return None;
        }
        Some(self.items.with_borrow_mut(f))
    }
}

/// Ends a [`Collector`] scope: drops what it collected if it did not finish (a panic), and
/// gives the enclosing scope back its state and items.
struct Scope<'a, T: 'static> {
    collector: &'a Collector<T>,
    outer: Collecting,
    stashed: Vec<T>,
}

impl<T: 'static> Drop for Scope<'_, T> {
    fn drop(&mut self) {
        let Collector { state, items } = self.collector;
        if state.get() == Collecting::Some {
            drop(items.take());
        }
        state.set(self.outer);
        if self.outer == Collecting::Some {
            items.set(std::mem::take(&mut self.stashed));
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
}
