//! The daemon's live state for one connected application: its outgoing queue and its event
//! subscriptions. Shared between the connection's tasks and `DaemonHandle` emitters.

use std::collections::HashSet;
use std::sync::RwLock;

use bytes::Bytes;

use crate::application::Application;
use crate::lossy::Delivery;
use crate::message;
use crate::outbox::OutboxSender;

#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) application: Application,
    /// The connection's outgoing frames: events go in lossily, replies losslessly.
    pub(crate) outbox: OutboxSender,
    subscriptions: RwLock<HashSet<String>>,
}

impl Peer {
    pub(crate) fn new(application: Application, outbox: OutboxSender) -> Peer {
        Peer {
            application,
            outbox,
            subscriptions: RwLock::default(),
        }
    }

    pub(crate) fn set_subscribed(&self, event: String, on: bool) {
        let mut subs = self
            .subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if on {
            subs.insert(event);
        } else {
            subs.remove(&event);
        }
    }

    /// Queues an encoded event frame if the application subscribed to `event`.
    /// Returns whether it was queued.
    pub(crate) fn offer_event(&self, event: &str, frame: &Bytes) -> bool {
        let subscribed = self
            .subscriptions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(event);
        subscribed && self.outbox.send_lossy(frame.clone(), message::lagged) == Delivery::Queued
    }
}
