//! `EventStream`: the typed stream of one subscribed event on a client connection.

use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures::Stream;
use serde::de::DeserializeOwned;

use crate::ancillary::ReceivedFds;
use crate::client::Link;
use crate::error::Error;
use crate::fd::Rejected;
use crate::lossy::LossyReceiver;
use crate::value_decoder;
use crate::well_formed::CheckedValue;

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
    Decode(rmp_serde::decode::Error),
    /// The descriptors attached to the event disagree with its `fd` values (PROTOCOL.md §3.1);
    /// they were closed.
    #[error("descriptors of the event disagree with its arguments: {0}")]
    BadDescriptors(String),
    /// The connection dropped and [`crate::AutoReconnect`] restored it: events fired while
    /// disconnected were missed.
    #[error(
        "the connection to the daemon was lost and restored; events fired meanwhile were missed"
    )]
    Reconnected,
    /// The connection dropped and automatic reconnection gave up; the stream ends after this.
    #[error("lost the connection to the daemon and could not reconnect: {0}")]
    ReconnectFailed(Arc<Error>),
}

// Messages end with their cause, which is not also a `source()` (see `crate::error`).
impl From<rmp_serde::decode::Error> for EventError {
    fn from(e: rmp_serde::decode::Error) -> Self {
        EventError::Decode(e)
    }
}

/// What the connection's reader hands a stream.
#[derive(Debug)]
pub(crate) enum EventItem {
    /// Arguments, and the descriptors attached to the event, shared by the event's streams.
    Event(CheckedValue, Option<Arc<ReceivedFds>>),
    Lagged(u64),
    Reconnected,
}

/// Removes its stream from the connection when dropped, and unsubscribes when that was the
/// event's last stream.
#[derive(Debug)]
pub(crate) struct Subscription {
    link: Arc<Link>,
    event: String,
    /// The id of the SUBSCRIBE that made the stream.
    id: u64,
    /// Whether the daemon is to be told on drop: not when it refused the subscription.
    unsubscribe: bool,
}

impl Subscription {
    pub(crate) fn new(link: Arc<Link>, event: String, id: u64) -> Subscription {
        Subscription {
            link,
            event,
            id,
            unsubscribe: true,
        }
    }

    /// Removes the stream of a subscription the daemon refused: it stored nothing to undo.
    pub(crate) fn refused(mut self) {
        self.unsubscribe = false;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.link
            .remove_subscriber(&self.event, self.id, self.unsubscribe);
    }
}

/// The arguments of each occurrence of one event, decoded as `T` (a tuple of the event's
/// parameters). Ends when the connection closes for good.
#[derive(Debug)]
pub struct EventStream<T> {
    rx: LossyReceiver<EventItem>,
    /// Taken when the stream ends, which unsubscribes.
    subscription: Option<Subscription>,
    _type: PhantomData<fn() -> T>,
}

impl<T> EventStream<T> {
    pub(crate) fn new(rx: LossyReceiver<EventItem>, subscription: Subscription) -> Self {
        EventStream {
            rx,
            subscription: Some(subscription),
            _type: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Stream for EventStream<T> {
    type Item = Result<T, EventError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(match ready!(self.rx.poll_recv(cx)) {
            Some(EventItem::Event(args, fds)) => Some(decode_event(args, fds)),
            Some(EventItem::Lagged(dropped)) => Some(Err(EventError::Lagged { dropped })),
            Some(EventItem::Reconnected) => Some(Err(EventError::Reconnected)),
            // Read from the connection rather than queued, so a full buffer cannot lose it.
            None => self
                .subscription
                .take()
                .and_then(|subscription| subscription.link.reconnect_failure())
                .map(|e| Err(EventError::ReconnectFailed(e))),
        })
    }
}

/// Decodes an event's arguments with its descriptors: the set itself when this stream is the
/// last holding it, duplicates otherwise.
fn decode_event<T: DeserializeOwned>(
    args: CheckedValue,
    fds: Option<Arc<ReceivedFds>>,
) -> Result<T, EventError> {
    let fds = match fds.map(Arc::try_unwrap) {
        None => Vec::new(),
        Some(Ok(set)) => set.fds,
        Some(Err(shared)) => shared
            .fds
            .iter()
            .map(OwnedFd::try_clone)
            .collect::<Result<_, _>>()
            .map_err(|e| {
                EventError::BadDescriptors(format!("cannot duplicate the event's descriptors: {e}"))
            })?,
    };
    args.map_err(|e| Rejected::Shape(e.into()))
        .and_then(|args| value_decoder::arguments(&args, fds))
        .map_err(|e| match e {
            Rejected::Shape(e) => EventError::Decode(e),
            Rejected::Descriptors(why) => EventError::BadDescriptors(why),
        })
}
