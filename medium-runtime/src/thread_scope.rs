//! Scoping thread-locals to one synchronous encode or decode.
//!
//! Serde gives a `Serialize`/`Deserialize` impl no context, so the runtime lends what a value
//! needs beside its bytes (a received frame's memory, its descriptors) through thread-locals set
//! for the span of one encode or decode (`binary`, `fd`). Every frame goes through such scopes,
//! so the common case costs little: [`Collector`] keeps whether a scope is open in a `Cell` (no
//! destructor, so a plain thread-local access) and touches its item list only once something
//! is collected.

use std::cell::{Cell, RefCell};
use std::thread::LocalKey;

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
