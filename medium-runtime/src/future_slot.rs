//! [`FutureSlot`]: the box a call's handler future runs in, kept by the thread once the future is
//! done and reused for the next future of the same type. A handler future must stay where it
//! was first polled, and the daemon polls it before it knows whether it has to wait (then it
//! moves to a task of its own): so it lives in a box from the start. Reusing the box spares a
//! call answered at once an allocation (and its free) — the only one it would cost beside the
//! handler's own work and its reply frame. A future that has to wait leaves as a
//! [`WaitingHandler`], its type erased, so the task that runs it is one type for every method
//! (a task per future type would be tokio's whole task machinery compiled once per method).

use std::any::Any;
use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::OptionFuture;

/// Futures larger than this get a box of their own each time, never kept: a thread keeps at
/// most [`MAX_IDLE`] boxes of at most this size.
const MAX_KEPT_SIZE: usize = 1024;

/// Most empty boxes a thread keeps (one per handler future type in use).
const MAX_IDLE: usize = 32;

thread_local! {
    /// This thread's empty boxes, each a `Box<OptionFuture<F>>` holding no future.
    static IDLE: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// A future in a box of its own, polled in place; `Unpin`, so it moves cheaply.
pub(crate) struct FutureSlot<F>(Pin<Box<OptionFuture<F>>>);

/// A handler future that had to wait, in its box, its type erased; `None` once it is done.
pub(crate) type WaitingHandler<T> = Pin<Box<dyn Future<Output = Option<T>> + Send>>;

impl<F: Future + 'static> FutureSlot<F> {
    /// `future` in an empty box this thread kept for its type, or in a new one.
    pub(crate) fn new(future: F) -> FutureSlot<F> {
        let kept = IDLE.with_borrow_mut(|idle| {
            let at = idle
                .iter()
                .position(|empty| empty.is::<OptionFuture<F>>())?;
            idle.swap_remove(at).downcast::<OptionFuture<F>>().ok()
        });
        let mut boxed = kept.unwrap_or_else(|| Box::new(OptionFuture::from(None)));
        // Not pinned yet: the box's contents may still be replaced.
        *boxed = OptionFuture::from(Some(future));
        FutureSlot(Box::into_pin(boxed))
    }

    /// Polls the future; `Ready(None)` if it is polled again once done.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.0.as_mut().poll(cx)
    }

    /// Drops the future in place and gives the box to this thread for the next future of its
    /// type (unless the thread keeps enough, or the type is too large to keep).
    pub(crate) fn recycle(mut self) {
        self.0.set(OptionFuture::from(None));
        if size_of::<OptionFuture<F>>() > MAX_KEPT_SIZE {
            return;
        }
        // SAFETY: the box holds no future: the one pinned in it was dropped in place just
        // above, so nothing pinned is left in it. (Its contents never move either way: only
        // the pointer to them does.)
        let empty: Box<OptionFuture<F>> = unsafe { Pin::into_inner_unchecked(self.0) };
        IDLE.with_borrow_mut(|idle| {
            if idle.len() < MAX_IDLE {
                idle.push(empty);
            }
        });
    }

    /// The future, still in its box, as one that has to wait: its box is not reused.
    pub(crate) fn into_waiting(self) -> WaitingHandler<F::Output>
    where
        F: Send,
    {
        self.0
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
        assert_eq!(slot.poll(&mut cx), Poll::Ready(Some(7)));
        slot.recycle();
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        assert_eq!(idle_len(), before + 1);

        let mut other = FutureSlot::new(async { "another type" });
        assert_eq!(
            idle_len(),
            before + 1,
            "a box is reused for its own type only"
        );
        assert_eq!(other.poll(&mut cx), Poll::Ready(Some("another type")));

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
        assert_eq!(slot.poll(&mut cx), Poll::Ready(Some(2 * MAX_KEPT_SIZE)));
        slot.recycle();
        assert_eq!(idle_len(), before);
    }
}
