//! `EventStream`: the typed stream of one subscribed event on a client connection.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::client::Link;

/// Why an event stream yielded an error instead of an event. The stream continues after it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// This many events were dropped because this connection (or this stream) did not keep up.
    #[error("missed {dropped} events because the application did not keep up")]
    Lagged {
        /// How many events were dropped.
        dropped: u64,
    },
    /// The event's arguments did not decode into the expected type.
    #[error("could not decode event: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
}

/// What the connection's reader hands a stream.
#[derive(Debug)]
pub(crate) enum EventItem {
    Event(Bytes),
    Lagged(u64),
}

/// Unsubscribes when the stream is dropped.
#[derive(Debug)]
pub(crate) struct Subscription {
    link: Arc<Link>,
    event: String,
    id: u64,
}

impl Subscription {
    pub(crate) fn new(link: Arc<Link>, event: String, id: u64) -> Subscription {
        Subscription { link, event, id }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.link.remove_subscriber(&self.event, self.id);
    }
}

/// The arguments of each occurrence of one event, decoded as `T` (a tuple of the event's
/// parameters). Ends when the connection closes.
#[derive(Debug)]
pub struct EventStream<T> {
    rx: mpsc::Receiver<EventItem>,
    _subscription: Option<Subscription>,
    _type: PhantomData<fn() -> T>,
}

impl<T> EventStream<T> {
    /// `subscription` is `None` when the connection was already closed: the stream just ends.
    pub(crate) fn new(rx: mpsc::Receiver<EventItem>, subscription: Option<Subscription>) -> Self {
        EventStream {
            rx,
            _subscription: subscription,
            _type: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Stream for EventStream<T> {
    type Item = Result<T, EventError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx).map(|item| {
            item.map(|item| match item {
                EventItem::Event(args) => rmp_serde::from_slice(&args).map_err(EventError::from),
                EventItem::Lagged(dropped) => Err(EventError::Lagged { dropped }),
            })
        })
    }
}
