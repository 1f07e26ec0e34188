//! The overflow policy for droppable traffic (events), in one place: when a bounded queue is
//! full the item is dropped and counted; the next item that fits is preceded by one "lagged"
//! notice carrying the count. Used by the daemon's per-connection outbox and by the client's
//! per-stream event buffer.

use std::sync::Mutex;

use tokio::sync::mpsc;

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

/// A bounded channel sender that applies the overflow policy instead of waiting.
#[derive(Debug)]
pub(crate) struct LossySender<T> {
    tx: mpsc::Sender<T>,
    lag: Mutex<LagCounter>,
}

impl<T> LossySender<T> {
    pub(crate) fn new(tx: mpsc::Sender<T>) -> LossySender<T> {
        LossySender {
            tx,
            lag: Mutex::default(),
        }
    }

    /// Records `n` items lost upstream, to be reported with the next lagged notice.
    pub(crate) fn add_dropped(&self, n: u64) {
        self.lag.lock().unwrap_or_else(|p| p.into_inner()).add(n);
    }

    /// Queues `item`, preceded by `notice(count)` if items were dropped before; never waits.
    pub(crate) fn send(&self, item: T, notice: impl FnOnce(u64) -> T) -> Delivery {
        // The lock makes this the only sender, so free slots can only grow until we send.
        let mut lag = self.lag.lock().unwrap_or_else(|p| p.into_inner());
        if self.tx.is_closed() {
            return Delivery::Closed;
        }
        let Some(dropped) = lag.admit(self.tx.capacity()) else {
            return Delivery::Dropped;
        };
        if dropped > 0 && self.tx.try_send(notice(dropped)).is_err() {
            return Delivery::Closed;
        }
        match self.tx.try_send(item) {
            Ok(()) => Delivery::Queued,
            Err(_) => Delivery::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_counted_and_reported_before_the_next_item() {
        let (tx, mut rx) = mpsc::channel(2);
        let sender = LossySender::new(tx);
        let notice = |n| -(n as i64);
        assert_eq!(sender.send(1, notice), Delivery::Queued);
        assert_eq!(sender.send(2, notice), Delivery::Queued);
        assert_eq!(sender.send(3, notice), Delivery::Dropped);
        assert_eq!(sender.send(4, notice), Delivery::Dropped);
        assert_eq!(rx.try_recv().unwrap(), 1);
        // One free slot is not enough for notice + item.
        assert_eq!(sender.send(5, notice), Delivery::Dropped);
        assert_eq!(rx.try_recv().unwrap(), 2);
        assert_eq!(sender.send(6, notice), Delivery::Queued);
        assert_eq!(rx.try_recv().unwrap(), -3);
        assert_eq!(rx.try_recv().unwrap(), 6);
    }

    #[test]
    fn closed_queue_reports_closed() {
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        assert_eq!(LossySender::new(tx).send(1, |_| 0), Delivery::Closed);
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
