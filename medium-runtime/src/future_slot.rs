//! [`FutureSlot`]: the box a call's handler future runs in, kept by the thread once the future is
//! done and reused for the next future of the same type. A handler future must stay where it
//! was first polled, and the daemon polls it before it knows whether it has to wait (then it
//! moves to a task of its own): so it lives in a box from the start. Reusing the box spares a
//! call answered at once an allocation (and its free) — the only one it would cost beside the
//! handler's own work and its reply frame.

use std::any::Any;
use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Futures larger than this get a box of their own each time, never kept: a thread keeps at
/// most [`MAX_IDLE`] boxes of at most this size.
const MAX_KEPT_SIZE: usize = 1024;

/// Most empty boxes a thread keeps (one per handler future type in use).
const MAX_IDLE: usize = 32;

thread_local! {
    /// This thread's empty boxes, each a `Box<Option<F>>` holding `None`.
    static IDLE: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// A future in a box of its own, polled in place; `Unpin`, so it moves (to a task) cheaply.
pub(crate) struct FutureSlot<F>(Pin<Box<Option<F>>>);

impl<F: Future + 'static> FutureSlot<F> {
    /// `future` in an empty box this thread kept for its type, or in a new one.
    pub(crate) fn new(future: F) -> FutureSlot<F> {
        let kept = IDLE.with_borrow_mut(|idle| {
            let at = idle.iter().position(|empty| empty.is::<Option<F>>())?;
            idle.swap_remove(at).downcast::<Option<F>>().ok()
        });
        let mut boxed = kept.unwrap_or_else(|| Box::new(None));
        // Not pinned yet: the box's contents may still be replaced.
        *boxed = Some(future);
        FutureSlot(Box::into_pin(boxed))
    }

    /// Polls the future; not again once it is done.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.0.as_mut().as_pin_mut() {
            Some(future) => future.poll(cx),
            None => panic!("a handler future polled after it was done"),
        }
    }

    /// Drops the future in place and gives the box to this thread for the next future of its
    /// type (unless the thread keeps enough, or the type is too large to keep).
    pub(crate) fn recycle(mut self) {
        self.0.set(None);
        if size_of::<Option<F>>() > MAX_KEPT_SIZE {
            return;
        }
        // SAFETY: the box holds `None`: the future pinned in it was dropped in place just
        // above, so nothing pinned is left in it. (Its contents never move either way: only
        // the pointer to them does.)
        let empty: Box<Option<F>> = unsafe { Pin::into_inner_unchecked(self.0) };
        IDLE.with_borrow_mut(|idle| {
            if idle.len() < MAX_IDLE {
                idle.push(empty);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Waker;

    fn idle_len() -> usize {
        IDLE.with_borrow(Vec::len)
    }

    /// Counts its drops.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_done_future_is_dropped_and_its_box_reused_for_the_same_type_only() {
        let drops = Arc::new(AtomicUsize::new(0));
        let before = idle_len();
        let make = |drops: &Arc<AtomicUsize>| {
            let counted = Counted(drops.clone());
            async move {
                let _counted = counted;
                7
            }
        };
        let mut slot = FutureSlot::new(make(&drops));
        let first = &*slot.0 as *const _ as usize;
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(slot.poll(&mut cx), Poll::Ready(7));
        slot.recycle();
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        assert_eq!(idle_len(), before + 1);

        let mut other = FutureSlot::new(async { "another type" });
        assert_eq!(
            idle_len(),
            before + 1,
            "a box is reused for its own type only"
        );
        assert_eq!(other.poll(&mut cx), Poll::Ready("another type"));

        let again = FutureSlot::new(make(&drops));
        assert_eq!(&*again.0 as *const _ as usize, first);
        assert_eq!(idle_len(), before);
    }

    #[test]
    fn large_futures_are_not_kept() {
        let before = idle_len();
        let big = [1u8; 2 * MAX_KEPT_SIZE];
        let mut slot = FutureSlot::new(async move { big.iter().map(|&b| usize::from(b)).sum() });
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(slot.poll(&mut cx), Poll::Ready(2 * MAX_KEPT_SIZE));
        slot.recycle();
        assert_eq!(idle_len(), before);
    }
}
