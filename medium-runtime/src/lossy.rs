//! The overflow policy for droppable traffic (events), in one place: when a bounded queue is
//! full the item is dropped and counted; the next item that fits is preceded by one "lagged"
//! notice carrying the count. Used by the daemon's per-connection outbox and by the client's
//! per-stream event buffer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// What happened to an item offered to a bounded queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Queued,
    Dropped,
    Closed,
}

/// Items dropped since the last lagged notice.
#[derive(Debug, Default)]
pub(crate) struct LagCounter {
    dropped: u64,
}

impl LagCounter {
    /// Decides about one item given `free` queue slots. `None`: drop it (counted). `Some(n)`:
    /// queue it, preceded by a notice of `n` drops when `n > 0`. A notice needs its own slot
    /// because a notice without the item behind it would be reported again.
    pub(crate) fn admit(&mut self, free: usize) -> Option<u64> {
        let needed = if self.dropped > 0 { 2 } else { 1 };
        if free >= needed {
            Some(std::mem::take(&mut self.dropped))
        } else {
            self.dropped = self.dropped.saturating_add(1);
            None
        }
    }

    /// Records `n` items lost elsewhere, to be reported with the next notice.
    pub(crate) fn add(&mut self, n: u64) {
        self.dropped = self.dropped.saturating_add(n);
    }
}

/// A bounded queue with one sender and one receiver that applies the overflow policy instead
/// of waiting: `capacity` items (notices included) at most. The receiver's waker is taken by
/// the first item queued after it found the queue empty, so items queued together (a read's
/// events) cost one wake-up, and each side takes the lock once per item, not a channel's
/// atomics and semaphore.
pub(crate) fn lossy_queue<T>(capacity: usize) -> (LossySender<T>, LossyReceiver<T>) {
    let shared = Arc::new(Mutex::new(Queue {
        items: VecDeque::new(),
        capacity,
        lag: LagCounter::default(),
        waker: None,
        sender_gone: false,
        receiver_gone: false,
    }));
    (LossySender(shared.clone()), LossyReceiver(shared))
}

#[derive(Debug)]
struct Queue<T> {
    items: VecDeque<T>,
    capacity: usize,
    lag: LagCounter,
    /// The receiver's, when it found the queue empty; taken by the next item.
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

fn lock<T>(queue: &Mutex<Queue<T>>) -> MutexGuard<'_, Queue<T>> {
    queue.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sending side of a [`lossy_queue`]; dropping it ends the receiver once it has taken what
/// is queued.
#[derive(Debug)]
pub(crate) struct LossySender<T>(Arc<Mutex<Queue<T>>>);

impl<T> LossySender<T> {
    /// Records `n` items lost upstream, to be reported with the next lagged notice.
    pub(crate) fn add_dropped(&self, n: u64) {
        lock(&self.0).lag.add(n);
    }

    /// Queues `item`, preceded by `notice(count)` if items were dropped before; never waits.
    pub(crate) fn send(&self, item: T, notice: impl FnOnce(u64) -> T) -> Delivery {
        let waker = {
            let mut queue = lock(&self.0);
            if queue.receiver_gone {
                return Delivery::Closed;
            }
            let free = queue.capacity.saturating_sub(queue.items.len());
            let Some(dropped) = queue.lag.admit(free) else {
                return Delivery::Dropped;
            };
            if dropped > 0 {
                queue.items.push_back(notice(dropped));
            }
            queue.items.push_back(item);
            queue.waker.take()
        };
        // Woken outside the lock: the receiver may run at once, and take it.
        if let Some(waker) = waker {
            waker.wake();
        }
        Delivery::Queued
    }
}

impl<T> Drop for LossySender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut queue = lock(&self.0);
            queue.sender_gone = true;
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The receiving side of a [`lossy_queue`]; dropping it drops what is queued, and the sender's
/// later items are refused (`Delivery::Closed`).
#[derive(Debug)]
pub(crate) struct LossyReceiver<T>(Arc<Mutex<Queue<T>>>);

impl<T> LossyReceiver<T> {
    /// The next item; `None` once the sender is gone and every item was taken.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut queue = lock(&self.0);
        if let Some(item) = queue.items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if queue.sender_gone {
            return Poll::Ready(None);
        }
        match &mut queue.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            None => queue.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for LossyReceiver<T> {
    fn drop(&mut self) {
        let items = {
            let mut queue = lock(&self.0);
            queue.receiver_gone = true;
            std::mem::take(&mut queue.items)
        };
        // Dropped outside the lock (items may hold descriptors).
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes an item queued already.
    fn take(rx: &mut LossyReceiver<i64>) -> Option<i64> {
        match rx.poll_recv(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(item) => item,
            Poll::Pending => panic!("nothing queued"),
        }
    }

    #[test]
    fn overflow_is_counted_and_reported_before_the_next_item() {
        let (sender, mut rx) = lossy_queue(2);
        let notice = |n| -(n as i64);
        assert_eq!(sender.send(1, notice), Delivery::Queued);
        assert_eq!(sender.send(2, notice), Delivery::Queued);
        assert_eq!(sender.send(3, notice), Delivery::Dropped);
        assert_eq!(sender.send(4, notice), Delivery::Dropped);
        assert_eq!(take(&mut rx), Some(1));
        // One free slot is not enough for notice + item.
        assert_eq!(sender.send(5, notice), Delivery::Dropped);
        assert_eq!(take(&mut rx), Some(2));
        assert_eq!(sender.send(6, notice), Delivery::Queued);
        assert_eq!(take(&mut rx), Some(-3));
        assert_eq!(take(&mut rx), Some(6));
    }

    #[test]
    fn closed_queue_reports_closed() {
        let (sender, rx) = lossy_queue(1);
        drop(rx);
        assert_eq!(sender.send(1, |_| 0), Delivery::Closed);
    }

    #[test]
    fn the_receiver_ends_after_the_items_queued_before_the_sender_went() {
        let (sender, mut rx) = lossy_queue(4);
        sender.send(1, |_| 0);
        drop(sender);
        assert_eq!(take(&mut rx), Some(1));
        assert_eq!(take(&mut rx), None);
    }

    /// Items queued together wake the receiver once: the first takes the waker it left.
    #[test]
    fn items_queued_together_wake_the_receiver_once() {
        struct Count(std::sync::atomic::AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let count = Arc::new(Count(std::sync::atomic::AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let (sender, mut rx) = lossy_queue(8);
        assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
        for i in 0..3 {
            sender.send(i, |_| -1);
        }
        assert_eq!(count.0.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(take(&mut rx), Some(0));
        drop(sender);
        assert_eq!(take(&mut rx), Some(1));
        assert_eq!(take(&mut rx), Some(2));
        assert_eq!(take(&mut rx), None);
    }

    #[test]
    fn lag_counter_needs_room_for_notice_and_item() {
        let mut lag = LagCounter::default();
        assert_eq!(lag.admit(1), Some(0));
        assert_eq!(lag.admit(0), None);
        assert_eq!(lag.admit(1), None);
        assert_eq!(lag.admit(2), Some(2));
    }
}
