//! The daemon's live state for one connected application: its outgoing queue and its event
//! subscriptions. Shared between the connection's tasks and `DaemonHandle` emitters.
//!
//! Subscriptions are one flag per event of the protocol (`ProtocolInfo::events`), so what a
//! connection subscribes to costs at most that many flags, whatever names it sends.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::task::AtomicWaker;

use crate::application::Application;
use crate::frame::OutFrame;
use crate::lossy::Delivery;
use crate::message;
use crate::outbox::OutboxSender;

#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) application: Application,
    /// The connection's outgoing frames: events go in lossily, replies losslessly.
    pub(crate) outbox: OutboxSender,
    /// Whether the application subscribed to each event, by its index in
    /// `ProtocolInfo::events`.
    subscribed: Box<[AtomicBool]>,
    /// The connection's reader task while it waits, woken when the daemon stops its readers
    /// (`DaemonHandle::stop_readers`).
    pub(crate) reader: AtomicWaker,
}

impl Peer {
    /// A peer of a protocol with `event_count` events, subscribed to none.
    pub(crate) fn new(application: Application, outbox: OutboxSender, event_count: usize) -> Peer {
        Peer {
            application,
            outbox,
            subscribed: (0..event_count).map(|_| AtomicBool::new(false)).collect(),
            reader: AtomicWaker::new(),
        }
    }

    /// Subscribes to or unsubscribes from the event at `index` in `ProtocolInfo::events`. An
    /// acknowledgement queued after this follows every event queued under the old state:
    /// `offer_event` looks at the flag again under the outbox's lock, which the
    /// acknowledgement's queueing takes after this store.
    pub(crate) fn set_subscribed(&self, index: usize, on: bool) {
        if let Some(flag) = self.subscribed.get(index) {
            flag.store(on, Ordering::Release);
        }
    }

    /// Whether the application subscribed to the event at `index` and a paced emitter of it
    /// must wait for this connection (`OutboxSender::is_behind`).
    pub(crate) fn is_behind(&self, index: usize) -> bool {
        self.subscribed(index) && self.outbox.is_behind()
    }

    fn subscribed(&self, index: usize) -> bool {
        self.subscribed
            .get(index)
            .is_some_and(|flag| flag.load(Ordering::Acquire))
    }

    /// Queues an encoded event frame if the application subscribed to the event at `index`.
    /// Returns whether it was queued. Costs no lock for an application not subscribed, and only
    /// the outbox's for one that is.
    pub(crate) fn offer_event(&self, index: usize, frame: &OutFrame) -> bool {
        let subscribed = || self.subscribed(index);
        subscribed()
            && self
                .outbox
                .send_lossy_if(subscribed, frame.clone(), message::lagged)
                == Some(Delivery::Queued)
    }
}
