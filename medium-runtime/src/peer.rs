//! The daemon's live state for one connected application: its outgoing queue and its event
//! subscriptions. Shared between the connection's tasks and `DaemonHandle` emitters.
//!
//! Subscriptions are one flag per event of the protocol (`ProtocolInfo::events`), so what a
//! connection subscribes to costs at most that many flags, whatever names it sends.

use std::sync::RwLock;

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
    subscribed: RwLock<Box<[bool]>>,
}

impl Peer {
    /// A peer of a protocol with `event_count` events, subscribed to none.
    pub(crate) fn new(application: Application, outbox: OutboxSender, event_count: usize) -> Peer {
        Peer {
            application,
            outbox,
            subscribed: RwLock::new(vec![false; event_count].into_boxed_slice()),
        }
    }

    /// Subscribes to or unsubscribes from the event at `index` in `ProtocolInfo::events`. When
    /// this returns, every later emit sees the change: an emit that saw the old state has
    /// queued its frame already (`offer_event` holds the read lock while it queues), so an
    /// acknowledgement queued after this follows it.
    pub(crate) fn set_subscribed(&self, index: usize, on: bool) {
        let mut subscribed = self.subscribed.write().unwrap_or_else(|p| p.into_inner());
        if let Some(flag) = subscribed.get_mut(index) {
            *flag = on;
        }
    }

    /// Queues an encoded event frame if the application subscribed to the event at `index`.
    /// Returns whether it was queued.
    pub(crate) fn offer_event(&self, index: usize, frame: &OutFrame) -> bool {
        let subscribed = self.subscribed.read().unwrap_or_else(|p| p.into_inner());
        subscribed.get(index).copied().unwrap_or(false)
            && self.outbox.send_lossy(frame.clone(), message::lagged) == Delivery::Queued
    }
}
