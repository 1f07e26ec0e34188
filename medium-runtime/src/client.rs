//! The async client: one connection to a daemon, shared by every clone of `Client`. A
//! supervisor task reads the connection, routing replies to waiting calls and events to
//! subscribed streams, and with [`AutoReconnect`] replaces a dropped connection with a new one
//! under the same calls and streams. Calls write their frame directly when no other call is
//! pending and the socket is free (see `outbox`). Dropping a call future forgets its reply; the
//! connection stays usable.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures::future::Either;
use futures::{FutureExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::ancillary::{DEFAULT_MAX_FDS_IN_FLIGHT, DEFAULT_MAX_FDS_PER_FRAME, ReceivedFds};
use crate::error::{Error, PeerIdentity};
use crate::event_stream::{EventItem, EventStream, Subscription};
use crate::exception::{CallError, ErrorCode, ExceptionSet, ProtocolError, RemoteException};
use crate::fd::Rejected;
use crate::frame::{DEFAULT_MAX_FRAME_LEN, Incoming, SkippingDecoder};
use crate::frame_reader::{FdLimits, FrameReader};
use crate::lossy::{LossySender, lossy_queue};
use crate::message::{self, FrameStr, SkippedFrame, ToApp};
use crate::outbox::{Outbox, OutboxSender, WriterWake};
use crate::protocol_info::ProtocolInfo;
use crate::reconnect::{AutoReconnect, ConnectionState, OutageCalls, ReconnectPolicy, retry};
use crate::socket_halves::{self, WriteHalf};
use crate::socket_path::socket_path;
use crate::value_decoder;
use crate::well_formed::{CheckedValue, DEFAULT_MAX_NESTING_DEPTH};

/// Connection settings. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Socket to connect to; `None` resolves it with [`socket_path`].
    pub socket_path: Option<PathBuf>,
    /// Timeout applied to every `call` (not to `call_with_timeout`); `None` waits forever.
    pub call_timeout: Option<Duration>,
    /// Largest frame body accepted or sent (default 16 MiB).
    pub max_frame_len: usize,
    /// How long the daemon may take to answer the handshake (default 5 s).
    pub handshake_timeout: Duration,
    /// Events buffered per `EventStream` before the oldest unread are dropped (default 1024).
    pub event_buffer: usize,
    /// Reconnect by itself when the connection drops, keeping event streams (default off:
    /// the client closes and [`Client::reconnect`] makes a new one).
    pub auto_reconnect: Option<AutoReconnect>,
    /// Deepest nesting of arrays and maps accepted in a reply value or event's arguments
    /// (default 128, see [`DEFAULT_MAX_NESTING_DEPTH`]). Checked when the frame arrives, before
    /// the value is decoded, so a deeply nested value cannot overflow the stack (serde recurses
    /// once per level): the call fails, or the event stream yields an error, with
    /// `rmp_serde::decode::Error::DepthLimitExceeded`; the connection carries on.
    pub max_nesting_depth: usize,
    /// Most file descriptors one frame from the daemon may carry (default
    /// [`DEFAULT_MAX_FDS_PER_FRAME`], 32; at most 253, the kernel's `SCM_MAX_FD`). More close
    /// the connection ([`Error::BadDescriptors`]), the descriptors closed (PROTOCOL.md §3.1).
    pub max_fds_per_frame: usize,
    /// Most file descriptors received on the connection and not yet handed to the application
    /// (a call's result, an event taken from its stream; default
    /// [`DEFAULT_MAX_FDS_IN_FLIGHT`], 256). More close the connection.
    pub max_fds_in_flight: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            socket_path: None,
            call_timeout: None,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            handshake_timeout: Duration::from_secs(5),
            event_buffer: 1024,
            auto_reconnect: None,
            max_nesting_depth: DEFAULT_MAX_NESTING_DEPTH,
            max_fds_per_frame: DEFAULT_MAX_FDS_PER_FRAME,
            max_fds_in_flight: DEFAULT_MAX_FDS_IN_FLIGHT,
        }
    }
}

/// A connection to a daemon. Cheap to clone; the connection closes when the last clone and the
/// last `EventStream` are dropped, or on [`Client::close`].
#[derive(Debug, Clone)]
pub struct Client {
    link: Arc<Link>,
}

/// The shared state that calls and subscriptions use.
#[derive(Debug)]
pub(crate) struct Link {
    endpoint: Arc<Endpoint>,
    routes: Arc<Mutex<Routes>>,
    /// Cancelled when the client is closed or dropped: ends the connection and any reconnecting.
    closer: CancellationToken,
}

/// What the client connects to, and how.
#[derive(Debug)]
struct Endpoint {
    info: &'static ProtocolInfo,
    path: PathBuf,
    options: ClientOptions,
    /// The next request id: ids are unique over the client's life, across reconnections.
    next_id: AtomicU64,
}

/// Where incoming messages go and how outgoing ones leave. Shared with the connection's
/// supervisor task, which does not keep `Link` alive.
#[derive(Debug)]
struct Routes {
    /// Calls waiting out a reconnection watch it.
    state: watch::Sender<ConnectionState>,
    /// The live connection's outbox; `None` unless connected.
    out: Option<Arc<OutboxSender>>,
    /// Why the connection closed for good, if anyone said.
    close_reason: Option<CloseReason>,
    /// Requests sent on the live connection that wait for their reply, by id.
    pending: HashMap<u64, Waiter, OwnKeys>,
    /// The streams of each event, by the id of the SUBSCRIBE that made them. Kept across
    /// reconnections, so streams outlive a daemon restart.
    subscriptions: HashMap<String, Vec<(u64, LossySender<EventItem>)>, OwnKeys>,
}

/// The hasher of maps whose keys only this client puts in: `Routes::pending` (request ids it
/// hands out in sequence) and `Routes::subscriptions` (event names it subscribed to). The
/// daemon chooses no key there (an event name it sends is only looked up, and lookups cannot
/// crowd a table), so SipHash's defence against chosen keys buys nothing, at a cost paid per
/// reply and per event.
type OwnKeys = BuildHasherDefault<OwnKeyHasher>;

/// One multiply by an odd constant per word or byte (Fibonacci hashing): a run of sequential
/// ids spreads over all of the table's bits (hashbrown takes the low bits as the bucket and
/// the top 7 as its tag).
#[derive(Debug, Default, Clone, Copy)]
struct OwnKeyHasher(u64);

impl Hasher for OwnKeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(byte));
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Who waits for the reply to a request.
#[derive(Debug)]
enum Waiter {
    /// A call, or a subscription being made: the reply waits here until its future takes it.
    Caller(ReplySlot),
    /// The SUBSCRIBE a reconnection sent again for `event`: once acknowledged, each of `streams`
    /// (stream ids) is told it was reconnected, and gets every event from then on.
    Resubscription { event: String, streams: Vec<u64> },
}

/// The reply to one call and the task awaiting it. A slot in `Routes::pending` rather than a
/// channel per call: the reader fills it under the lock it already holds, so a call costs no
/// allocation and no channel synchronisation of its own.
#[derive(Debug, Default)]
struct ReplySlot {
    response: Option<Response>,
    waker: Option<Waker>,
}

#[derive(Debug)]
enum CloseReason {
    /// The daemon said why it closed the connection.
    Fatal(ProtocolError),
    /// Automatic reconnection gave up; shared by every call and stream that reports it.
    ReconnectFailed(Arc<Error>),
    /// The daemon attached descriptors where none may be (PROTOCOL.md §3.1).
    BadDescriptors(String),
}

/// A call's outcome as the reader task hands it over.
#[derive(Debug)]
enum Response {
    /// A value, with the descriptors attached to its frame.
    Value(CheckedValue, ReceivedFds),
    Exception(RemoteException),
    Error(ProtocolError),
}

/// Incoming frames of one connection.
type Frames = FrameReader<SkippingDecoder>;

impl Client {
    /// Connects to the daemon at [`socket_path`]`(info)`.
    pub async fn connect(info: &'static ProtocolInfo) -> Result<Client, Error> {
        Client::connect_with(info, ClientOptions::default()).await
    }

    /// Connects to the daemon at `path`.
    pub async fn connect_to(
        info: &'static ProtocolInfo,
        path: impl AsRef<Path>,
    ) -> Result<Client, Error> {
        let options = ClientOptions {
            socket_path: Some(path.as_ref().to_owned()),
            ..ClientOptions::default()
        };
        Client::connect_with(info, options).await
    }

    /// Connects with explicit options; must run inside a tokio runtime.
    pub async fn connect_with(
        info: &'static ProtocolInfo,
        options: ClientOptions,
    ) -> Result<Client, Error> {
        let path = match &options.socket_path {
            Some(path) => path.clone(),
            None => socket_path(info)?,
        };
        let stream = connect_stream(&path).await?;
        Client::start(info, stream, path, options).await
    }

    /// Runs the handshake on a connected stream and starts the connection's tasks.
    pub(crate) async fn start(
        info: &'static ProtocolInfo,
        stream: UnixStream,
        path: PathBuf,
        options: ClientOptions,
    ) -> Result<Client, Error> {
        let span = tracing::debug_span!("client", path = %path.display());
        let endpoint = Arc::new(Endpoint {
            info,
            path,
            options,
            next_id: AtomicU64::new(1),
        });
        let (frames, out) = endpoint.open(stream).instrument(span.clone()).await?;
        let (state, _) = watch::channel(ConnectionState::Connected);
        let routes = Arc::new(Mutex::new(Routes {
            state,
            out: Some(out),
            close_reason: None,
            pending: HashMap::default(),
            subscriptions: HashMap::default(),
        }));
        let closer = CancellationToken::new();
        tokio::spawn(
            supervise(endpoint.clone(), routes.clone(), closer.clone(), frames).instrument(span),
        );
        Ok(Client {
            link: Arc::new(Link {
                endpoint,
                routes,
                closer,
            }),
        })
    }

    /// Calls `method` with positional `args` (a tuple), using the default call timeout.
    pub fn call<'a, A, R, E>(
        &'a self,
        method: &'a str,
        args: &'a A,
    ) -> impl Future<Output = Result<R, CallError<E>>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
        E: ExceptionSet,
    {
        self.call_within(method, args, self.link.endpoint.options.call_timeout)
    }

    /// Calls `method`, failing with [`Error::Timeout`] if no reply comes within `timeout`
    /// (which includes any wait for a reconnection, see [`OutageCalls::Wait`]).
    pub fn call_with_timeout<'a, A, R, E>(
        &'a self,
        method: &'a str,
        args: &'a A,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, CallError<E>>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
        E: ExceptionSet,
    {
        self.call_within(method, args, Some(timeout))
    }

    /// The call's future itself, not one `async fn` around another: each level would store the
    /// method, arguments and timeout again, and a pipelining caller moves every call future
    /// (`FuturesUnordered::push` copies it three times). The `Sleep` a timeout needs is boxed,
    /// so it costs nothing to calls without one.
    fn call_within<'a, A, R, E>(
        &'a self,
        method: &'a str,
        args: &'a A,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<R, CallError<E>>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
        E: ExceptionSet,
    {
        let Some(after) = timeout else {
            return Either::Left(self.call_untimed(method, args));
        };
        Either::Right(Box::pin(async move {
            tokio::time::timeout(after, self.call_untimed(method, args))
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout {
                        method: method.to_owned(),
                        after,
                    }
                    .into())
                })
        }))
    }

    async fn call_untimed<A, R, E>(&self, method: &str, args: &A) -> Result<R, CallError<E>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
        E: ExceptionSet,
    {
        let link = &self.link;
        let id = link.endpoint.next_request_id();
        let frame = message::call(id, method, args).map_err(Error::Encode)?;
        let max = link.endpoint.options.max_frame_len;
        if frame.body_len() > max {
            return Err(Error::FrameTooLarge {
                len: frame.body_len(),
                max,
            }
            .into());
        }
        let (out, alone) = link.register_call(id).await?;
        // Removes the pending entry if this future is dropped (cancelled or timed out).
        let pending = PendingCall { link, id };
        // A lone call writes at once (lowest latency); calls made while others are pending go
        // through the writer task, which lets the other ready callers queue theirs first and
        // sends them all with one `writev` (`WriterWake::Gathers`). A frame of one buffer is
        // copied into the outbox rather than allocated.
        let sent = if alone {
            frame
                .finish_lent(|bytes| out.send_bytes(bytes))
                .unwrap_or_else(|frame| out.send(frame))
        } else {
            frame
                .finish_lent(|bytes| out.send_queued_bytes(bytes))
                .unwrap_or_else(|frame| out.send_queued(frame))
        };
        drop(out);
        if !sent {
            return Err(Error::ConnectionClosed.into());
        }
        let response = link.reply(id).await;
        std::mem::forget(pending);
        match response? {
            Response::Value(value, fds) => value
                .map_err(|e| Rejected::Shape(e.into()))
                .and_then(|value| value_decoder::value(&value, fds.fds))
                .map_err(|e| match e {
                    Rejected::Shape(e) => Error::Decode(e).into(),
                    Rejected::Descriptors(why) => CallError::Protocol(ProtocolError::new(
                        ErrorCode::BadDescriptors,
                        format!("descriptors of the reply disagree with its value: {why}"),
                    )),
                }),
            Response::Exception(e) => Err(match E::from_remote(e) {
                Ok(typed) => CallError::Exception(typed),
                Err(unknown) => CallError::UnknownException(unknown),
            }),
            Response::Error(e) if e.code == ErrorCode::Forbidden => Err(CallError::Forbidden(e)),
            Response::Error(e) => Err(CallError::Protocol(e)),
        }
    }

    /// Asks the daemon to send `event` to this connection and returns the stream of its
    /// arguments once the daemon confirms: every event it emits after that reaches the stream
    /// (or is reported as missed). Fails with [`Error::Subscribe`] when the daemon has no such
    /// event (code 12, `unknown_event`) or the event's `@allow` rule does not admit this
    /// application (code 14, `forbidden`: the reason's [`ErrorCode::Forbidden`]), and like a
    /// call when the connection is closed or reconnecting ([`AutoReconnect::calls_during_outage`]).
    ///
    /// Every call sends its own request, even for an event this connection already has a
    /// stream of. The stream ends when the connection closes for good; dropping it unsubscribes
    /// when no other stream of this connection wants the event. The stream keeps the connection
    /// open while it exists. With [`ClientOptions::auto_reconnect`] it survives daemon restarts.
    pub async fn subscribe<T: DeserializeOwned + Send + 'static>(
        &self,
        event: &str,
    ) -> Result<EventStream<T>, Error> {
        let link = &self.link;
        let (sender, rx) = lossy_queue(link.endpoint.options.event_buffer.max(2));
        let id = link.endpoint.next_request_id();
        let frame = message::subscription(id, event, true);
        let subscription = link.add_subscriber(id, event, frame, sender).await?;
        // Dropping this future before the answer forgets the request and the stream (which
        // unsubscribes).
        let pending = PendingCall { link, id };
        let response = link.reply(id).await;
        std::mem::forget(pending);
        match response? {
            Response::Value(_, fds) if !fds.is_empty() => Err(Error::BadDescriptors(format!(
                "{} descriptor(s) attached to the acknowledgement of `{event}`",
                fds.len()
            ))),
            Response::Value(..) => Ok(EventStream::new(rx, subscription)),
            Response::Error(reason) => {
                subscription.refused();
                Err(Error::Subscribe {
                    event: event.to_owned(),
                    reason,
                })
            }
            Response::Exception(exception) => Err(Error::Malformed(format!(
                "daemon answered the subscription to `{event}` with exception `{}`",
                exception.name
            ))),
        }
    }

    /// The socket this client is connected to.
    pub fn socket_path(&self) -> &Path {
        &self.link.endpoint.path
    }

    /// Where the connection is: connected, reconnecting (only with
    /// [`ClientOptions::auto_reconnect`]) or closed for good.
    pub fn state(&self) -> ConnectionState {
        self.link.routes().state()
    }

    /// Waits until the state differs from `seen` and returns the new one: e.g. to tell the
    /// user that the daemon went away while [`AutoReconnect`] waits for it to come back.
    pub async fn state_change(&self, seen: ConnectionState) -> ConnectionState {
        let mut changes = self.link.routes().state.subscribe();
        // The sender lives in `routes`, which `self` keeps alive, so this cannot fail.
        match changes.wait_for(|state| *state != seen).await {
            Ok(state) => *state,
            Err(_) => ConnectionState::Closed,
        }
    }

    /// Whether the connection has ended for good (daemon gone without automatic reconnection,
    /// reconnecting gave up, daemon closed it, or [`Client::close`]): calls then fail at once
    /// and event streams have ended. Time to [`Client::reconnect`].
    pub fn is_closed(&self) -> bool {
        self.state() == ConnectionState::Closed
    }

    /// Opens a new connection to the same socket, for the same protocol, with the same options,
    /// e.g. after the daemon restarted. It runs the handshake again, so a daemon rebuilt from a
    /// changed spec is reported as [`Error::HandshakeMismatch`] (not retried).
    ///
    /// While no daemon answers yet ([`Error::NotRunning`], a connection dropped during the
    /// handshake, or another I/O error) it retries following `policy` and returns the last error
    /// when the attempts run out. Other errors are returned at once.
    ///
    /// This client and its clones stay as they are: calls that were pending on a closed client
    /// have failed and its event streams have ended. Use the returned client from now on and
    /// subscribe again there. [`ClientOptions::auto_reconnect`] does all this by itself.
    pub async fn reconnect(&self, policy: &ReconnectPolicy) -> Result<Client, Error> {
        let endpoint = &self.link.endpoint;
        let options = ClientOptions {
            socket_path: Some(endpoint.path.clone()),
            ..endpoint.options.clone()
        };
        retry(policy, || {
            Client::connect_with(endpoint.info, options.clone())
        })
        .await
    }

    /// Closes the connection now, for every clone: pending calls fail, event streams end, and
    /// automatic reconnection stops.
    pub async fn close(self) {
        {
            let mut routes = self.link.routes();
            if let Some(out) = routes.out.take() {
                out.close();
            }
            routes.close(None);
        }
        self.link.closer.cancel();
    }
}

impl Link {
    fn routes(&self) -> MutexGuard<'_, Routes> {
        lock(&self.routes)
    }

    /// Registers call `id` on the live connection: its reply slot (see [`Link::reply`]), the
    /// connection's outbox and whether it is the only call pending. While reconnecting it fails
    /// or waits, as [`AutoReconnect::calls_during_outage`] says.
    async fn register_call(&self, id: u64) -> Result<(Arc<OutboxSender>, bool), Error> {
        self.on_connection(|routes, out| {
            routes
                .pending
                .insert(id, Waiter::Caller(ReplySlot::default()));
            (out, routes.pending.len() == 1)
        })
        .await
    }

    /// Waits for the reply to request `id`, registered by [`Link::register_call`] or
    /// [`Link::add_subscriber`]. Its slot is gone, without a reply, when the connection closed
    /// or dropped meanwhile: then the call fails as on a closed client.
    fn reply(&self, id: u64) -> impl Future<Output = Result<Response, Error>> + '_ {
        std::future::poll_fn(move |cx| {
            let mut routes = self.routes();
            // One lookup, whether the slot is then removed or kept. Not a let chain: those
            // need Rust 1.88, and the runtime supports 1.85.
            let Entry::Occupied(mut entry) = routes.pending.entry(id) else {
                return Poll::Ready(Err(routes.closed_error()));
            };
            let Waiter::Caller(slot) = entry.get_mut() else {
                return Poll::Ready(Err(routes.closed_error()));
            };
            if let Some(response) = slot.response.take() {
                entry.remove();
                return Poll::Ready(Ok(response));
            }
            match &mut slot.waker {
                Some(waker) => waker.clone_from(cx.waker()),
                None => slot.waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
    }

    /// Registers the stream of subscription request `id` for `event` and sends the request
    /// (`frame`) on the live connection, like [`Link::register_call`]. Returns the request's
    /// reply slot and the guard that removes the stream.
    async fn add_subscriber(
        self: &Arc<Self>,
        id: u64,
        event: &str,
        frame: Bytes,
        sender: LossySender<EventItem>,
    ) -> Result<Subscription, Error> {
        self.on_connection(|routes, out| {
            routes
                .pending
                .insert(id, Waiter::Caller(ReplySlot::default()));
            routes
                .subscriptions
                .entry(event.to_owned())
                .or_default()
                .push((id, sender));
            // Sent under the lock so subscribe and unsubscribe requests keep the order in which
            // streams came and went.
            out.send(frame);
            Subscription::new(self.clone(), event.to_owned(), id)
        })
        .await
    }

    /// Runs `register` with the routes and the live connection's outbox, under the lock. While
    /// reconnecting it fails or waits first, as [`AutoReconnect::calls_during_outage`] says.
    async fn on_connection<R>(
        &self,
        register: impl FnOnce(&mut Routes, Arc<OutboxSender>) -> R,
    ) -> Result<R, Error> {
        loop {
            let mut changes = {
                let mut routes = self.routes();
                if let Some(out) = routes.out.clone() {
                    return Ok(register(&mut routes, out));
                }
                if routes.state() == ConnectionState::Closed {
                    return Err(routes.closed_error());
                }
                let outage = self.endpoint.options.auto_reconnect.as_ref();
                if outage.is_none_or(|auto| auto.calls_during_outage == OutageCalls::FailFast) {
                    return Err(Error::Reconnecting {
                        path: self.endpoint.path.clone(),
                    });
                }
                routes.state.subscribe()
            };
            // `wait_for` looks at the current state first, so a change made since the lock was
            // released is not missed. The sender lives in `routes`, which `self` keeps alive.
            // Boxed so that only a call waiting out an outage carries this future (see
            // `Client::call_within`).
            let _ =
                Box::pin(changes.wait_for(|state| *state != ConnectionState::Reconnecting)).await;
        }
    }

    /// Removes stream `id` of `event`; when it was the last one and `unsubscribe`, tells the
    /// daemon (its answer is not awaited).
    pub(crate) fn remove_subscriber(&self, event: &str, id: u64, unsubscribe: bool) {
        let mut guard = self.routes();
        let routes = &mut *guard;
        let Some(subscribers) = routes.subscriptions.get_mut(event) else {
            return;
        };
        subscribers.retain(|(sub, _)| *sub != id);
        if subscribers.is_empty() {
            routes.subscriptions.remove(event);
            if let (true, Some(out)) = (unsubscribe, &routes.out) {
                let id = self.endpoint.next_request_id();
                out.send(message::subscription(id, event, false));
            }
        }
    }

    /// Why automatic reconnection gave up, if it did; streams report it before they end.
    pub(crate) fn reconnect_failure(&self) -> Option<Arc<Error>> {
        match &self.routes().close_reason {
            Some(CloseReason::ReconnectFailed(e)) => Some(e.clone()),
            _ => None,
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // The last clone and stream are gone: no one can use a reconnection any more.
        self.closer.cancel();
    }
}

impl Routes {
    fn state(&self) -> ConnectionState {
        *self.state.borrow()
    }

    /// Hands the reply to request `id` to whoever waits for it, adding the task to wake (once
    /// the lock is released) to `wake`. Nobody waits for a call whose future was dropped, or an
    /// UNSUBSCRIBE: the reply is discarded.
    fn answer(&mut self, id: u64, response: Response, wake: &mut Vec<Waker>) {
        let Some(waiter) = self.pending.get_mut(&id) else {
            return;
        };
        if let Waiter::Caller(slot) = waiter {
            slot.response = Some(response);
            wake.extend(slot.waker.take());
            return;
        }
        let Some(Waiter::Resubscription { event, streams }) = self.pending.remove(&id) else {
            return;
        };
        match response {
            Response::Value(..) => {
                let subscribers = self.subscriptions.get(&event).into_iter().flatten();
                for (_, subscriber) in subscribers.filter(|(id, _)| streams.contains(id)) {
                    subscriber.send(EventItem::Reconnected, EventItem::Lagged);
                }
            }
            refused => {
                tracing::warn!(event, answer = ?refused, "daemon refused a resubscription");
            }
        }
    }

    /// Forgets every request still waiting for its reply; their futures wake and fail. Replies
    /// that already arrived stay for their futures to take.
    fn fail_pending(&mut self) {
        self.pending.retain(|_, waiter| match waiter {
            Waiter::Caller(slot) if slot.response.is_some() => true,
            Waiter::Caller(slot) => {
                if let Some(waker) = slot.waker.take() {
                    waker.wake();
                }
                false
            }
            Waiter::Resubscription { .. } => false,
        });
    }

    /// The error for a call on a connection that closed for good.
    fn closed_error(&self) -> Error {
        match &self.close_reason {
            Some(CloseReason::Fatal(reason)) => Error::Rejected(reason.clone()),
            Some(CloseReason::ReconnectFailed(reason)) => Error::ReconnectFailed(reason.clone()),
            Some(CloseReason::BadDescriptors(why)) => Error::BadDescriptors(why.clone()),
            None => Error::ConnectionClosed,
        }
    }

    /// The connection dropped and reconnecting starts. Pending calls fail (the daemon may or may
    /// not have run them, so they are not resent); streams stay subscribed.
    fn lose_connection(&mut self) {
        if self.state() == ConnectionState::Closed {
            return; // `Client::close` came first.
        }
        self.out = None;
        self.fail_pending();
        self.state.send_replace(ConnectionState::Reconnecting);
    }

    /// A new connection is up: subscribe it to every event that has a stream (each stream is
    /// told it missed what was fired meanwhile once the daemon acknowledges), and let waiting
    /// calls go. Returns false (and drops the connection) if the client was closed meanwhile.
    fn restore(&mut self, out: Arc<OutboxSender>, endpoint: &Endpoint) -> bool {
        if self.state() == ConnectionState::Closed {
            return false;
        }
        for (event, subscribers) in &self.subscriptions {
            let id = endpoint.next_request_id();
            self.pending.insert(
                id,
                Waiter::Resubscription {
                    event: event.clone(),
                    streams: subscribers.iter().map(|(stream, _)| *stream).collect(),
                },
            );
            out.send(message::subscription(id, event, true));
        }
        self.out = Some(out);
        self.state.send_replace(ConnectionState::Connected);
        true
    }

    /// Closes for good: fails pending calls and ends event streams (dropping their senders).
    fn close(&mut self, reason: Option<CloseReason>) {
        self.close_reason = reason;
        self.out = None;
        self.fail_pending();
        self.subscriptions.clear();
        self.state.send_replace(ConnectionState::Closed);
    }
}

impl Endpoint {
    fn next_request_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs the handshake on a connected stream and starts its writer task.
    async fn open(&self, stream: UnixStream) -> Result<(Frames, Arc<OutboxSender>), Error> {
        let (read, mut write) = socket_halves::split(stream).map_err(Error::Io)?;
        let limits = FdLimits::new(
            self.info,
            self.options.max_fds_per_frame,
            self.options.max_fds_in_flight,
        );
        let decoder = SkippingDecoder::new(self.options.max_frame_len);
        let mut frames = FrameReader::new(read, decoder, limits);
        handshake(
            &mut frames,
            &mut write,
            &self.path,
            PeerIdentity::of(self.info),
            self.options.handshake_timeout,
        )
        .await?;
        // Only calls and subscriptions go out; the application bounds how many it makes.
        let (out, writer) = Outbox::open_with(write, usize::MAX, WriterWake::Gathers);
        tokio::spawn(writer.in_current_span());
        Ok((frames, Arc::new(out)))
    }

    /// Connects and runs the handshake, retrying per `policy` while the daemon is away.
    async fn reopen(&self, policy: &ReconnectPolicy) -> Result<(Frames, Arc<OutboxSender>), Error> {
        retry(policy, || async {
            let stream = connect_stream(&self.path).await?;
            self.open(stream).await
        })
        .await
    }
}

/// Connects to the socket at `path`; nothing listening there is [`Error::NotRunning`].
pub(crate) async fn connect_stream(path: &Path) -> Result<UnixStream, Error> {
    UnixStream::connect(path)
        .await
        .map_err(|cause| match cause.kind() {
            ErrorKind::NotFound | ErrorKind::ConnectionRefused => Error::NotRunning {
                path: path.to_owned(),
            },
            _ => Error::Path {
                action: "cannot connect to",
                path: path.to_owned(),
                cause,
            },
        })
}

/// Drops the pending entry of a call future that goes away before its reply.
struct PendingCall<'a> {
    link: &'a Link,
    id: u64,
}

impl Drop for PendingCall<'_> {
    fn drop(&mut self) {
        self.link.routes().pending.remove(&self.id);
    }
}

fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends the hello and reads the answer.
async fn handshake(
    frames: &mut Frames,
    write: &mut WriteHalf,
    path: &Path,
    app: PeerIdentity,
    timeout: Duration,
) -> Result<(), Error> {
    let not_medium = |detail: String| Error::NotMedium {
        path: path.to_owned(),
        detail,
    };
    if let Err(e) = write.write_all(&message::hello(&app)).await {
        // A daemon that refuses the connection (not allowed, too many connections) may close it
        // before the hello arrives: its reason is then already waiting to be read.
        let refusal = match tokio::time::timeout(timeout, frames.next()).await {
            Ok(Some(Ok((Incoming::Frame(frame), _)))) => match ToApp::decode(&frame, 0) {
                Ok(ToApp::Fatal(error)) => Some(error),
                _ => None,
            },
            _ => None,
        };
        return Err(match refusal {
            Some(error) => Error::Rejected(error),
            None => not_medium(format!("handshake could not be sent ({e})")),
        });
    }
    let answer = match tokio::time::timeout(timeout, frames.next()).await {
        Err(_) => {
            return Err(not_medium(format!(
                "no handshake answer within {timeout:?}"
            )));
        }
        Ok(None) => {
            return Err(not_medium(
                "peer closed the connection during the handshake".into(),
            ));
        }
        Ok(Some(Err(e))) => return Err(not_medium(format!("unexpected answer ({e})"))),
        Ok(Some(Ok((_, fds)))) if !fds.is_empty() => {
            return Err(not_medium(format!(
                "{} descriptor(s) attached to the handshake answer",
                fds.len()
            )));
        }
        Ok(Some(Ok((Incoming::Skipped { len, max, .. }, _)))) => {
            return Err(not_medium(format!(
                "unexpected answer ({})",
                Error::FrameTooLarge { len, max }
            )));
        }
        Ok(Some(Ok((Incoming::Frame(frame), _)))) => {
            // A handshake answer carries no value, so no depth to allow.
            ToApp::decode(&frame, 0).map_err(|e| not_medium(format!("unexpected answer ({e})")))?
        }
    };
    match answer {
        ToApp::Welcome => Ok(()),
        ToApp::Refused { error, daemon } if error.code == ErrorCode::HandshakeMismatch => {
            Err(Error::HandshakeMismatch {
                path: path.to_owned(),
                daemon: Box::new(daemon),
                app: Box::new(app),
            })
        }
        ToApp::Refused { error, .. } if error.code == ErrorCode::UnsupportedVersion => {
            Err(Error::UnsupportedVersion {
                path: path.to_owned(),
                app_version: message::WIRE_VERSION,
                reason: error.message,
            })
        }
        ToApp::Refused { error, .. } | ToApp::Fatal(error) => Err(Error::Rejected(error)),
        other => Err(not_medium(format!("unexpected answer {other:?}"))),
    }
}

/// Runs the client's connection until it closes for good: routes what arrives and, when the
/// connection drops, reconnects if the options ask for it.
async fn supervise(
    endpoint: Arc<Endpoint>,
    routes: Arc<Mutex<Routes>>,
    closer: CancellationToken,
    mut frames: Frames,
) {
    loop {
        let fatal = read_loop(frames, &routes, &closer, endpoint.options.max_nesting_depth).await;
        let auto = match &endpoint.options.auto_reconnect {
            Some(auto) if !closer.is_cancelled() => auto,
            _ => return lock(&routes).close(fatal),
        };
        tracing::warn!("connection to the daemon lost; reconnecting");
        lock(&routes).lose_connection();
        let reconnected = tokio::select! {
            () = closer.cancelled() => return lock(&routes).close(None),
            reconnected = endpoint.reopen(&auto.policy) => reconnected,
        };
        match reconnected {
            Ok((next, out)) => {
                if !lock(&routes).restore(out, &endpoint) {
                    return;
                }
                tracing::info!("reconnected to the daemon");
                frames = next;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not reconnect to the daemon; giving up");
                let reason = CloseReason::ReconnectFailed(Arc::new(e));
                return lock(&routes).close(Some(reason));
            }
        }
    }
}

/// Frames routed under one lock at most: those one read brought in, bounded so that the callers
/// the first replies wake are not held up long.
const MAX_ROUTED_BATCH: usize = 64;

/// A frame from the daemon, decoded before the routes are locked.
enum Arrival {
    Reply {
        id: u64,
        response: Response,
    },
    Event {
        name: FrameStr,
        args: CheckedValue,
        fds: ReceivedFds,
    },
    Lagged(u64),
    Skipped {
        len: usize,
        max: usize,
        head: Bytes,
    },
    /// The connection ends; with the reason, if the daemon gave one or it sent descriptors
    /// where none may be.
    End(Option<CloseReason>),
}

impl Arrival {
    fn of(
        frame: Option<Result<(Incoming, ReceivedFds), Error>>,
        max_nesting_depth: usize,
    ) -> Arrival {
        // A skipped frame's descriptors are closed with it.
        let (message, fds) = match frame {
            Some(Ok((Incoming::Frame(frame), fds))) => {
                (ToApp::decode(&frame, max_nesting_depth), fds)
            }
            Some(Ok((Incoming::Skipped { len, max, head }, _))) => {
                return Arrival::Skipped { len, max, head };
            }
            Some(Err(e)) => (Err(e), ReceivedFds::default()),
            None => return Arrival::End(None),
        };
        match message {
            Ok(ToApp::Value { id, value }) => Arrival::Reply {
                id,
                response: Response::Value(value, fds),
            },
            Ok(ToApp::Event { name, args }) => Arrival::Event { name, args, fds },
            Ok(message) if !fds.is_empty() => {
                let why = format!(
                    "{} descriptor(s) attached to a message that carries no values: {message:?}",
                    fds.len()
                );
                tracing::warn!(%why, "closing the connection");
                Arrival::End(Some(CloseReason::BadDescriptors(why)))
            }
            Err(Error::BadDescriptors(why)) => {
                tracing::warn!(%why, "closing the connection");
                Arrival::End(Some(CloseReason::BadDescriptors(why)))
            }
            Ok(ToApp::Fatal(error)) => {
                tracing::warn!(%error, "daemon closed the connection");
                Arrival::End(Some(CloseReason::Fatal(error)))
            }
            Ok(ToApp::Exception { id, exception }) => Arrival::Reply {
                id,
                response: Response::Exception(exception),
            },
            Ok(ToApp::Error { id, error }) => Arrival::Reply {
                id,
                response: Response::Error(error),
            },
            Ok(ToApp::Lagged(dropped)) => Arrival::Lagged(dropped),
            Ok(other) => {
                tracing::warn!(message = ?other, "unexpected message from daemon");
                Arrival::End(None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "bad frame from daemon");
                Arrival::End(None)
            }
        }
    }
}

/// Routes incoming messages until the connection ends or `closer` fires. Returns the reason the
/// daemon gave for closing it, if any. The frames one read brought in are decoded, then routed
/// in order under one lock, and the callers they answer are woken once it is released.
async fn read_loop(
    mut frames: Frames,
    routes: &Mutex<Routes>,
    closer: &CancellationToken,
    max_nesting_depth: usize,
) -> Option<CloseReason> {
    let mut arrivals = Vec::new();
    let mut wake = Vec::new();
    // Made once and kept registered with the token: a new one every turn would join and leave
    // the token's waiter list (a lock each) per read. `biased`: no random branch order (a
    // thread-local RNG per turn), the close checked first.
    let mut cancelled = std::pin::pin!(closer.cancelled());
    loop {
        let frame = tokio::select! {
            biased;
            () = &mut cancelled => return None,
            frame = frames.next() => frame,
        };
        arrivals.push(Arrival::of(frame, max_nesting_depth));
        while arrivals.len() < MAX_ROUTED_BATCH && !matches!(arrivals.last(), Some(Arrival::End(_)))
        {
            // Frames already buffered come without waiting; the first that would wait is left
            // for the next turn (polling it registered nothing that matters: the next `next()`
            // registers this task again).
            match frames.next().now_or_never() {
                Some(frame) => arrivals.push(Arrival::of(frame, max_nesting_depth)),
                None => break,
            }
        }
        let end = {
            let mut routes = lock(routes);
            arrivals
                .drain(..)
                .find_map(|arrival| route(&mut routes, arrival, &mut wake))
        };
        wake.drain(..).for_each(Waker::wake);
        if let Some(reason) = end {
            return reason;
        }
    }
}

/// Routes one arrival: a reply to its caller (whose task joins `wake`), an event to its streams.
/// Returns `Some` when the connection ends, with the reason the daemon gave, if any.
fn route(
    routes: &mut Routes,
    arrival: Arrival,
    wake: &mut Vec<Waker>,
) -> Option<Option<CloseReason>> {
    match arrival {
        Arrival::End(reason) => return Some(reason),
        Arrival::Skipped { len, max, head } => {
            if !skipped(routes, len, max, &head, wake) {
                return Some(None);
            }
        }
        Arrival::Reply { id, response } => routes.answer(id, response, wake),
        Arrival::Event { name, args, fds } => {
            // Every stream of the event shares the set; each takes duplicates, or the set
            // itself when it is the last to hold it.
            let fds = (!fds.is_empty()).then(|| Arc::new(fds));
            let subscribers = routes.subscriptions.get(name.as_str());
            // The last stream takes the event itself: with one stream, nothing is cloned.
            if let Some(((_, last), others)) = subscribers.and_then(|s| s.split_last()) {
                for (_, subscriber) in others {
                    subscriber.send(
                        EventItem::Event(args.clone(), fds.clone()),
                        EventItem::Lagged,
                    );
                }
                last.send(EventItem::Event(args, fds), EventItem::Lagged);
            }
        }
        Arrival::Lagged(dropped) => {
            // The daemon does not say which events were lost, so every stream hears it.
            for (_, subscriber) in routes.subscriptions.values().flatten() {
                subscriber.add_dropped(dropped);
            }
        }
    }
    None
}

/// Deals with a frame over `ClientOptions::max_frame_len` that was skipped unread: the call it
/// answered fails with `FrameTooLarge`, an event counts as dropped. Returns `false` when the
/// frame cannot be put down to one call or event (then the connection is given up, as for any
/// frame that is not a valid message).
fn skipped(
    routes: &mut Routes,
    len: usize,
    max: usize,
    head: &[u8],
    wake: &mut Vec<Waker>,
) -> bool {
    let too_large = Error::FrameTooLarge { len, max };
    match SkippedFrame::of(head) {
        SkippedFrame::Reply(id) => {
            tracing::warn!(id, error = %too_large, "skipped an oversized reply from the daemon");
            let error = ProtocolError::new(
                ErrorCode::FrameTooLarge,
                format!(
                    "reply of {len} bytes exceeds this application's limit of {max} bytes \
                     (ClientOptions::max_frame_len); it was skipped"
                ),
            );
            routes.answer(id, Response::Error(error), wake);
            true
        }
        SkippedFrame::Event => {
            tracing::warn!(error = %too_large, "skipped an oversized event from the daemon");
            // Its name is not read, so every stream hears of it, as for `LAGGED`.
            for (_, subscriber) in routes.subscriptions.values().flatten() {
                subscriber.add_dropped(1);
            }
            true
        }
        SkippedFrame::Unattributable => {
            tracing::warn!(error = %too_large, "oversized frame from the daemon is neither a reply nor an event");
            false
        }
    }
}
