//! A bounded queue sender for droppable traffic (events). When the queue is full the item is
//! dropped and counted; the next item that fits is preceded by one "lagged" notice carrying the
//! count. Used by the daemon per connection and by the client per event stream.

use std::sync::Mutex;

use tokio::sync::mpsc;

/// What happened to an item offered to a [`LossySender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Queued,
    Dropped,
    Closed,
}

#[derive(Debug)]
pub(crate) struct LossySender<T> {
    tx: mpsc::Sender<T>,
    /// Items dropped since the last lagged notice went out. The lock also keeps notice and item
    /// adjacent in the queue when several emitters race.
    dropped: Mutex<u64>,
}

impl<T> LossySender<T> {
    pub(crate) fn new(tx: mpsc::Sender<T>) -> LossySender<T> {
        LossySender {
            tx,
            dropped: Mutex::new(0),
        }
    }

    /// The underlying sender, for traffic that must not be dropped (it waits for room instead).
    pub(crate) fn lossless(&self) -> &mpsc::Sender<T> {
        &self.tx
    }

    /// Records `n` items lost upstream, to be reported with the next lagged notice.
    pub(crate) fn add_dropped(&self, n: u64) {
        let mut dropped = self.dropped.lock().unwrap_or_else(|p| p.into_inner());
        *dropped = dropped.saturating_add(n);
    }

    /// Queues `item`, preceded by `notice(count)` if items were dropped before; never waits.
    pub(crate) fn send(&self, item: T, notice: impl FnOnce(u64) -> T) -> Delivery {
        let mut dropped = self.dropped.lock().unwrap_or_else(|p| p.into_inner());
        if *dropped == 0 {
            return match self.tx.try_send(item) {
                Ok(()) => Delivery::Queued,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    *dropped = 1;
                    Delivery::Dropped
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Delivery::Closed,
            };
        }
        // Both slots or neither: a notice without its item would be reported twice.
        match (self.tx.try_reserve(), self.tx.try_reserve()) {
            (Ok(first), Ok(second)) => {
                first.send(notice(*dropped));
                second.send(item);
                *dropped = 0;
                Delivery::Queued
            }
            _ if self.tx.is_closed() => Delivery::Closed,
            _ => {
                *dropped = dropped.saturating_add(1);
                Delivery::Dropped
            }
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
}
