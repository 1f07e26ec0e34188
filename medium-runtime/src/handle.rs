//! `DaemonHandle`: the cheap, clonable view of a daemon that handlers and background work use
//! to list applications, emit events and request shutdown. `emit` never waits on a client (an
//! application that falls behind misses events and is told it lagged); `emit_paced` waits for
//! room instead, so a burst goes at the pace of the slowest subscriber and nothing is lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use futures::stream::BoxStream;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::application::{Application, ApplicationEvent, ApplicationId};
use crate::frame::{DEFAULT_MAX_FRAME_LEN, OutFrame, PREFIX_LEN};
use crate::message;
use crate::peer::Peer;

/// How many connect/disconnect notifications a slow `application_events` stream may fall behind.
const APP_EVENT_BUFFER: usize = 1024;

/// Why `DaemonHandle::emit`, `emit_to` or their paced twins sent an event to nobody.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The application is not (or no longer) connected.
    #[error("{0} is not connected")]
    NotConnected(ApplicationId),
    /// The event is not one of the protocol's (`ProtocolInfo::events`), so no application can
    /// have subscribed to it.
    #[error("no event `{0}` in this daemon's protocol")]
    UnknownEvent(String),
    /// The event's arguments could not be encoded.
    #[error("could not encode event: {0}")]
    Encode(rmp_serde::encode::Error),
    /// The encoded event exceeds the daemon's frame limit: it was sent to nobody (no application
    /// is told it lagged, since nothing was lost for lack of reading).
    #[error("event of {len} bytes exceeds the frame limit of {max} bytes")]
    TooLarge {
        /// Encoded size.
        len: usize,
        /// `DaemonOptions::max_frame_len`.
        max: usize,
    },
}

// The message ends with its cause, which is not also a `source()` (see `crate::error`).
impl From<rmp_serde::encode::Error> for EmitError {
    fn from(e: rmp_serde::encode::Error) -> Self {
        EmitError::Encode(e)
    }
}

/// A handle to a running (or about to run) daemon. Clones share the daemon.
#[derive(Debug, Clone)]
pub struct DaemonHandle {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) peers: RwLock<HashMap<ApplicationId, Arc<Peer>>>,
    pub(crate) app_events: broadcast::Sender<ApplicationEvent>,
    /// `ProtocolInfo::events`: a subscription is an index into it.
    pub(crate) events: &'static [&'static str],
    pub(crate) shutdown: CancellationToken,
    /// Set once the daemon shuts down, just before its connections' readers are woken to
    /// stop (`stop_readers`): a reader reads nothing more once it finds it set.
    readers_stopped: AtomicBool,
    /// `DaemonOptions::max_frame_len`, set when serving starts.
    pub(crate) max_frame_len: AtomicUsize,
    next_id: AtomicU64,
}

impl DaemonHandle {
    /// The handle of a daemon whose protocol has `events`.
    pub(crate) fn new(events: &'static [&'static str]) -> DaemonHandle {
        DaemonHandle {
            shared: Arc::new(Shared {
                peers: RwLock::default(),
                app_events: broadcast::channel(APP_EVENT_BUFFER).0,
                events,
                shutdown: CancellationToken::new(),
                readers_stopped: AtomicBool::new(false),
                max_frame_len: AtomicUsize::new(DEFAULT_MAX_FRAME_LEN),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    pub(crate) fn next_application_id(&self) -> ApplicationId {
        ApplicationId(self.shared.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Stops every connection's reader: they read no further request (the daemon is shutting
    /// down). A reader that waits is woken through its `Peer::reader`; one of a connection
    /// attached after this finds the flag set at its first wait.
    pub(crate) fn stop_readers(&self) {
        // SeqCst, as the readers' look: one that found it unset left its waker before, and a
        // peer not yet in the map when they are woken is attached after the store.
        self.shared.readers_stopped.store(true, Ordering::SeqCst);
        for peer in self.read_peers().values() {
            peer.reader.wake();
        }
    }

    /// Whether connections' readers are to stop (see [`DaemonHandle::stop_readers`]).
    pub(crate) fn stops_readers(&self) -> bool {
        self.shared.readers_stopped.load(Ordering::SeqCst)
    }

    /// Registers a connection that finished its handshake and announces it.
    pub(crate) fn attach(&self, peer: Arc<Peer>) {
        let app = peer.application.clone();
        self.write_peers().insert(app.id, peer);
        // No receivers is fine: nobody asked for application events.
        let _ = self
            .shared
            .app_events
            .send(ApplicationEvent::Connected(app));
    }

    /// Forgets a connection and announces its departure.
    pub(crate) fn detach(&self, id: ApplicationId) {
        if let Some(peer) = self.write_peers().remove(&id) {
            let _ = self
                .shared
                .app_events
                .send(ApplicationEvent::Disconnected(peer.application.clone()));
        }
    }

    /// The connected applications, in connection order.
    pub fn applications(&self) -> Vec<Application> {
        let mut apps: Vec<_> = self
            .read_peers()
            .values()
            .map(|p| p.application.clone())
            .collect();
        apps.sort_by_key(|a| a.id);
        apps
    }

    /// Encodes the event once and queues it to every application subscribed to `event`.
    /// Returns how many queued it; an application whose queue is full misses it and is told it
    /// lagged (PROTOCOL.md, "Overflow policy"). An event that is not in the protocol, whose
    /// arguments cannot be encoded or whose frame exceeds the frame limit is an error and goes
    /// to nobody.
    pub fn emit<A: Serialize + ?Sized>(&self, event: &str, args: &A) -> Result<usize, EmitError> {
        let (index, frame) = self.encode_event(event, args)?;
        Ok(self.offer_to_subscribers(index, &frame))
    }

    /// Queues the event to one application. `Ok(false)` when it is not subscribed to `event` or
    /// its queue is full (it will be told it lagged).
    pub fn emit_to<A: Serialize + ?Sized>(
        &self,
        app: ApplicationId,
        event: &str,
        args: &A,
    ) -> Result<bool, EmitError> {
        let peer = self.peer(app)?;
        let (index, frame) = self.encode_event(event, args)?;
        Ok(peer.offer_event(index, &frame))
    }

    /// Like [`DaemonHandle::emit`], but first waits while the event queue of any application
    /// subscribed to `event` is at least half full (`DaemonOptions::event_queue_len`), so a
    /// burst of events goes at the pace of its subscribers instead of piling up, and none is
    /// dropped for lack of room (as long as every emitter of the event is paced). The price: an
    /// application that stops reading holds the emitter up until it reads again or disconnects
    /// (a closed connection stops counting at once). Cancelling the future before it returns
    /// sends the event to nobody.
    pub async fn emit_paced<A: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &A,
    ) -> Result<usize, EmitError> {
        let (index, frame) = self.encode_event(event, args)?;
        loop {
            // The lock is not held while waiting, so find one connection behind, then wait.
            let behind = self
                .read_peers()
                .values()
                .find(|p| p.is_behind(index))
                .cloned();
            match behind {
                Some(peer) => peer.outbox.wait_for_pace().await,
                None => break,
            }
        }
        Ok(self.offer_to_subscribers(index, &frame))
    }

    /// Like [`DaemonHandle::emit_to`], but first waits while the application's event queue is
    /// at least half full, as [`DaemonHandle::emit_paced`] does.
    pub async fn emit_to_paced<A: Serialize + ?Sized>(
        &self,
        app: ApplicationId,
        event: &str,
        args: &A,
    ) -> Result<bool, EmitError> {
        let peer = self.peer(app)?;
        let (index, frame) = self.encode_event(event, args)?;
        while peer.is_behind(index) {
            peer.outbox.wait_for_pace().await;
        }
        Ok(peer.offer_event(index, &frame))
    }

    /// Queues `frame` to every application subscribed to the event at `index`; how many did.
    fn offer_to_subscribers(&self, index: usize, frame: &OutFrame) -> usize {
        let peers = self.read_peers();
        peers
            .values()
            .filter(|p| p.offer_event(index, frame))
            .count()
    }

    /// The connection of `app`.
    fn peer(&self, app: ApplicationId) -> Result<Arc<Peer>, EmitError> {
        self.read_peers()
            .get(&app)
            .cloned()
            .ok_or(EmitError::NotConnected(app))
    }

    /// The index of `event` in `ProtocolInfo::events`, and its frame.
    fn encode_event<A: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &A,
    ) -> Result<(usize, OutFrame), EmitError> {
        let index = self
            .event_index(event)
            .ok_or_else(|| EmitError::UnknownEvent(event.to_owned()))?;
        let frame = message::event(event, args)?;
        let max = self.shared.max_frame_len.load(Ordering::Relaxed);
        let len = frame.len() - PREFIX_LEN;
        if len > max {
            return Err(EmitError::TooLarge { len, max });
        }
        Ok((index, frame))
    }

    /// Where `event` is in `ProtocolInfo::events`, if it is there.
    pub(crate) fn event_index(&self, event: &str) -> Option<usize> {
        self.shared.events.iter().position(|known| *known == event)
    }

    /// Connect and disconnect notifications from now on. A stream that falls more than 1024
    /// notifications behind skips the oldest ones.
    pub fn application_events(&self) -> BoxStream<'static, ApplicationEvent> {
        let rx = self.shared.app_events.subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(event) => return Some((event, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }

    /// Asks the daemon to shut down gracefully, as SIGTERM does.
    pub fn shutdown(&self) {
        self.shared.shutdown.cancel();
    }

    fn read_peers(&self) -> std::sync::RwLockReadGuard<'_, HashMap<ApplicationId, Arc<Peer>>> {
        self.shared.peers.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_peers(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<ApplicationId, Arc<Peer>>> {
        self.shared.peers.write().unwrap_or_else(|p| p.into_inner())
    }
}
