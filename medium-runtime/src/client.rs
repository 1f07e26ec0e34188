//! The async client: one connection to a daemon, shared by every clone of `Client`. A reader
//! task routes replies to waiting calls and events to subscribed streams; calls write their
//! frame directly when no other call is pending and the socket is free (see `outbox`). Dropping a call future forgets its reply; the connection stays usable.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::net::unix::OwnedReadHalf;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::error::{Error, PeerIdentity};
use crate::event_stream::{EventItem, EventStream, Subscription};
use crate::exception::{CallError, ErrorCode, ExceptionSet, ProtocolError, RemoteException};
use crate::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, PREFIX_LEN};
use crate::lossy::LossySender;
use crate::message::{self, ToApp};
use crate::outbox::{Outbox, OutboxSender};
use crate::protocol_info::ProtocolInfo;
use crate::socket_path::socket_path;

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
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            socket_path: None,
            call_timeout: None,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            handshake_timeout: Duration::from_secs(5),
            event_buffer: 1024,
        }
    }
}

/// How [`Client::reconnect`] retries while the daemon is not (yet) back. `Default`: 20 attempts,
/// 50 ms after the first failure, doubling up to 1 s between attempts (about 15 s in all).
#[derive(Debug, Clone)]
pub struct ReconnectPolicy {
    /// Connection attempts before giving up; 0 counts as 1.
    pub attempts: u32,
    /// Wait after the first failed attempt; it doubles after each further failure.
    pub initial_delay: Duration,
    /// Longest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            attempts: 20,
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
        }
    }
}

/// A connection to a daemon. Cheap to clone; the connection closes when the last clone and the
/// last `EventStream` are dropped, or on [`Client::close`].
#[derive(Debug, Clone)]
pub struct Client {
    link: Arc<Link>,
}

/// The shared connection state that calls and subscriptions use.
#[derive(Debug)]
pub(crate) struct Link {
    info: &'static ProtocolInfo,
    path: PathBuf,
    options: ClientOptions,
    out: OutboxSender,
    routes: Arc<Mutex<Routes>>,
    next_id: AtomicU64,
    closer: CancellationToken,
}

/// Where incoming messages go. Shared with the reader task, which does not keep `Link` alive.
#[derive(Debug, Default)]
struct Routes {
    closed: bool,
    /// Why the daemon closed the connection, if it said.
    close_reason: Option<ProtocolError>,
    pending: HashMap<u64, oneshot::Sender<Response>>,
    subscriptions: HashMap<String, Vec<(u64, LossySender<EventItem>)>>,
}

/// A call's outcome as the reader task hands it over.
#[derive(Debug)]
enum Response {
    Value(Bytes),
    Exception(RemoteException),
    Error(ProtocolError),
}

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

    /// Runs the handshake on a connected stream and starts the connection's reader and writer.
    pub(crate) async fn start(
        info: &'static ProtocolInfo,
        stream: UnixStream,
        path: PathBuf,
        options: ClientOptions,
    ) -> Result<Client, Error> {
        let (read, mut write) = stream.into_split();
        let mut frames = FramedRead::new(read, FrameDecoder::new(options.max_frame_len));
        handshake(
            &mut frames,
            &mut write,
            &path,
            PeerIdentity::of(info),
            options.handshake_timeout,
        )
        .await?;

        // Only calls and subscriptions go out; the application bounds how many it makes.
        let (out, writer) = Outbox::open(write, usize::MAX);
        let routes = Arc::new(Mutex::new(Routes::default()));
        let closer = CancellationToken::new();
        let span = tracing::debug_span!("client", path = %path.display());
        let writer_closer = closer.clone();
        tokio::spawn(
            async move {
                tokio::select! {
                    () = writer => {}
                    () = writer_closer.cancelled() => {}
                }
            }
            .instrument(span.clone()),
        );
        tokio::spawn(read_loop(frames, routes.clone(), closer.clone()).instrument(span));
        Ok(Client {
            link: Arc::new(Link {
                info,
                path,
                options,
                out,
                routes,
                next_id: AtomicU64::new(1),
                closer,
            }),
        })
    }

    /// Calls `method` with positional `args` (a tuple), using the default call timeout.
    pub async fn call<A, R, E>(&self, method: &str, args: &A) -> Result<R, CallError<E>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
        E: ExceptionSet,
    {
        self.call_inner(method, args, self.link.options.call_timeout)
            .await
    }

    /// Calls `method`, failing with [`Error::Timeout`] if no reply comes within `timeout`.
    pub async fn call_with_timeout<A, R, E>(
        &self,
        method: &str,
        args: &A,
        timeout: Duration,
    ) -> Result<R, CallError<E>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
        E: ExceptionSet,
    {
        self.call_inner(method, args, Some(timeout)).await
    }

    async fn call_inner<A, R, E>(
        &self,
        method: &str,
        args: &A,
        timeout: Option<Duration>,
    ) -> Result<R, CallError<E>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
        E: ExceptionSet,
    {
        let link = &self.link;
        let id = link.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = message::call(id, method, args).map_err(Error::Encode)?;
        let max = link.options.max_frame_len;
        if frame.len() - PREFIX_LEN > max {
            return Err(Error::FrameTooLarge {
                len: frame.len() - PREFIX_LEN,
                max,
            }
            .into());
        }
        let (tx, rx) = oneshot::channel();
        let alone = {
            let mut routes = link.routes();
            if routes.closed {
                return Err(closed_error(&routes).into());
            }
            routes.pending.insert(id, tx);
            routes.pending.len() == 1
        };
        // Removes the pending entry if this future is dropped (cancelled or timed out).
        let pending = PendingCall { link, id };
        // A lone call writes at once (lowest latency); calls made while others are pending go
        // through the writer task, which sends all that piled up with one `writev`.
        let sent = if alone {
            link.out.send(frame)
        } else {
            link.out.send_queued(frame)
        };
        if !sent {
            return Err(Error::ConnectionClosed.into());
        }
        let response = match timeout {
            Some(after) => tokio::time::timeout(after, rx)
                .await
                .map_err(|_| Error::Timeout {
                    method: method.to_owned(),
                    after,
                })?,
            None => rx.await,
        };
        std::mem::forget(pending);
        let response = response.map_err(|_| closed_error(&link.routes()))?;
        match response {
            Response::Value(value) => {
                rmp_serde::from_slice(&value).map_err(|e| Error::Decode(e).into())
            }
            Response::Exception(e) => Err(match E::from_remote(e) {
                Ok(typed) => CallError::Exception(typed),
                Err(unknown) => CallError::UnknownException(unknown),
            }),
            Response::Error(e) => Err(CallError::Protocol(e)),
        }
    }

    /// Asks the daemon to send `event` to this connection and yields its arguments. The stream
    /// ends when the connection closes; dropping it unsubscribes (when no other stream of this
    /// connection wants the event). The stream keeps the connection open while it exists.
    pub fn subscribe<T: DeserializeOwned + Send + 'static>(&self, event: &str) -> EventStream<T> {
        let (tx, rx) = mpsc::channel(self.link.options.event_buffer.max(2));
        let subscription = self.link.add_subscriber(event, LossySender::new(tx));
        EventStream::new(rx, subscription)
    }

    /// The socket this client is connected to.
    pub fn socket_path(&self) -> &Path {
        &self.link.path
    }

    /// Whether the connection has ended (daemon gone, daemon closed it, or [`Client::close`]):
    /// calls then fail at once and event streams have ended. Time to [`Client::reconnect`].
    pub fn is_closed(&self) -> bool {
        self.link.routes().closed
    }

    /// Opens a new connection to the same socket, for the same protocol, with the same options,
    /// e.g. after the daemon restarted. It runs the handshake again, so a daemon rebuilt from a
    /// changed spec is reported as [`Error::HandshakeMismatch`] (not retried).
    ///
    /// While no daemon answers yet ([`Error::NotRunning`], a connection dropped during the
    /// handshake, or another I/O error) it retries following `policy` and returns the last error
    /// when the attempts run out. Other errors are returned at once.
    ///
    /// This client and its clones stay closed: calls that were pending on it have failed and its
    /// event streams have ended. Use the returned client from now on and subscribe again there.
    pub async fn reconnect(&self, policy: &ReconnectPolicy) -> Result<Client, Error> {
        let options = ClientOptions {
            socket_path: Some(self.link.path.clone()),
            ..self.link.options.clone()
        };
        let mut delay = policy.initial_delay;
        let mut attempts_left = policy.attempts.max(1);
        loop {
            attempts_left -= 1;
            match Client::connect_with(self.link.info, options.clone()).await {
                Ok(client) => return Ok(client),
                Err(
                    e @ (Error::NotRunning { .. }
                    | Error::NotMedium { .. }
                    | Error::Path { .. }
                    | Error::Io(_)),
                ) if attempts_left > 0 => {
                    tracing::debug!(error = %e, ?delay, "daemon not back yet; retrying");
                }
                Err(e) => return Err(e),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(policy.max_delay);
        }
    }

    /// Closes the connection now, for every clone: pending calls fail, event streams end.
    pub async fn close(self) {
        self.link.out.close();
        self.link.closer.cancel();
    }
}

impl Link {
    fn routes(&self) -> MutexGuard<'_, Routes> {
        lock(&self.routes)
    }

    /// Registers a subscriber; the first one for `event` tells the daemon.
    fn add_subscriber(
        self: &Arc<Self>,
        event: &str,
        sender: LossySender<EventItem>,
    ) -> Option<Subscription> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut routes = self.routes();
        if routes.closed {
            return None;
        }
        let subscribers = routes.subscriptions.entry(event.to_owned()).or_default();
        if subscribers.is_empty() {
            // Sent under the lock so subscribe/unsubscribe frames keep the order of the calls.
            self.out.send(message::subscribe(event, true));
        }
        subscribers.push((id, sender));
        Some(Subscription::new(self.clone(), event.to_owned(), id))
    }

    /// Removes a subscriber; the last one for `event` tells the daemon.
    pub(crate) fn remove_subscriber(&self, event: &str, id: u64) {
        let mut routes = self.routes();
        let Some(subscribers) = routes.subscriptions.get_mut(event) else {
            return;
        };
        subscribers.retain(|(sub, _)| *sub != id);
        if subscribers.is_empty() {
            routes.subscriptions.remove(event);
            self.out.send(message::subscribe(event, false));
        }
    }
}

/// Connects to the socket at `path`; nothing listening there is [`Error::NotRunning`].
pub(crate) async fn connect_stream(path: &Path) -> Result<UnixStream, Error> {
    UnixStream::connect(path)
        .await
        .map_err(|source| match source.kind() {
            ErrorKind::NotFound | ErrorKind::ConnectionRefused => Error::NotRunning {
                path: path.to_owned(),
            },
            _ => Error::Path {
                action: "cannot connect to",
                path: path.to_owned(),
                source,
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

fn closed_error(routes: &Routes) -> Error {
    match &routes.close_reason {
        Some(reason) => Error::Rejected(reason.clone()),
        None => Error::ConnectionClosed,
    }
}

/// Sends the hello and reads the answer.
async fn handshake(
    frames: &mut FramedRead<OwnedReadHalf, FrameDecoder>,
    write: &mut tokio::net::unix::OwnedWriteHalf,
    path: &Path,
    app: PeerIdentity,
    timeout: Duration,
) -> Result<(), Error> {
    let not_medium = |detail: String| Error::NotMedium {
        path: path.to_owned(),
        detail,
    };
    write
        .write_all(&message::hello(&app))
        .await
        .map_err(|e| not_medium(format!("handshake could not be sent ({e})")))?;
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
        Ok(Some(Ok(frame))) => {
            ToApp::decode(&frame).map_err(|e| not_medium(format!("unexpected answer ({e})")))?
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
        ToApp::Refused { error, .. } | ToApp::Fatal(error) => Err(Error::Rejected(error)),
        other => Err(not_medium(format!("unexpected answer {other:?}"))),
    }
}

/// Routes incoming messages until the connection ends, then fails what still waits.
async fn read_loop(
    mut frames: FramedRead<OwnedReadHalf, FrameDecoder>,
    routes: Arc<Mutex<Routes>>,
    closer: CancellationToken,
) {
    let mut close_reason = None;
    loop {
        let frame = tokio::select! {
            () = closer.cancelled() => break,
            frame = frames.next() => frame,
        };
        let message = match frame {
            Some(Ok(frame)) => ToApp::decode(&frame),
            Some(Err(e)) => Err(e),
            None => break,
        };
        let (id, response) = match message {
            Ok(ToApp::Value { id, value }) => (id, Response::Value(value)),
            Ok(ToApp::Exception { id, exception }) => (id, Response::Exception(exception)),
            Ok(ToApp::Error { id, error }) => (id, Response::Error(error)),
            Ok(ToApp::Event { name, args }) => {
                let routes = lock(&routes);
                for (_, subscriber) in routes.subscriptions.get(&name).into_iter().flatten() {
                    subscriber.send(EventItem::Event(args.clone()), EventItem::Lagged);
                }
                continue;
            }
            Ok(ToApp::Lagged(dropped)) => {
                // The daemon does not say which events were lost, so every stream hears it.
                let routes = lock(&routes);
                for (_, subscriber) in routes.subscriptions.values().flatten() {
                    subscriber.add_dropped(dropped);
                }
                continue;
            }
            Ok(ToApp::Fatal(error)) => {
                tracing::warn!(%error, "daemon closed the connection");
                close_reason = Some(error);
                break;
            }
            Ok(other) => {
                tracing::warn!(message = ?other, "unexpected message from daemon");
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "bad frame from daemon");
                break;
            }
        };
        // A missing entry is a call whose future was dropped: its reply is discarded.
        if let Some(waiter) = lock(&routes).pending.remove(&id) {
            let _ = waiter.send(response);
        }
    }
    closer.cancel();
    let mut routes = lock(&routes);
    routes.closed = true;
    routes.close_reason = close_reason;
    // Dropping the senders fails pending calls and ends event streams.
    routes.pending.clear();
    routes.subscriptions.clear();
}
