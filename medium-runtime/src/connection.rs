//! The daemon's side of one connection: handshake, then a reader loop that dispatches calls
//! (each continuing as its own task once it has to wait) and sends through the connection's
//! `Outbox`. Bad input ends this connection only (after a fatal-error frame when there is
//! something useful to say).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt as _, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio_util::future::FutureExt as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::access::{self, AccessPolicy, PeerAccess};
use crate::ancillary::ReceivedFds;
use crate::application::{Application, PeerCredentials};
use crate::daemon::DaemonOptions;
use crate::dispatch::{Call, CallRunner, Dispatch, Started};
use crate::error::{Error, PeerIdentity};
use crate::exception::{ErrorCode, ProtocolError};
use crate::frame::FrameDecoder;
use crate::frame_reader::{FdLimits, FrameReader};
use crate::future_slot::{FutureSlot, WaitingHandler};
use crate::handle::DaemonHandle;
use crate::introspection::builtin_reply;
use crate::limits::{ConnectionLimits, ConnectionSlot, RefusalWarnings};
use crate::message::{self, FrameStr, ToDaemon, WIRE_VERSION};
use crate::outbox::Outbox;
use crate::peer::Peer;
use crate::protocol_info::ProtocolInfo;
use crate::reply::Reply;
use crate::requests_in_flight::RequestsInFlight;
use crate::socket_halves::{self, WriteHalf};
use crate::well_formed::WellFormed;

/// What every connection of one daemon shares.
#[derive(Debug)]
pub(crate) struct Context<D> {
    pub(crate) info: &'static ProtocolInfo,
    pub(crate) options: DaemonOptions,
    pub(crate) dispatch: Arc<D>,
    /// The protocol's `@allow` rules, resolved when serving started.
    pub(crate) access: AccessPolicy,
    pub(crate) handle: DaemonHandle,
    /// Call handler tasks, awaited (up to the grace period) on shutdown.
    pub(crate) calls: TaskTracker,
    /// Connection reader/writer tasks.
    pub(crate) tasks: TaskTracker,
    /// Cancelled when the grace period is over: abandons unfinished calls and blocked writes.
    pub(crate) hard_stop: CancellationToken,
    /// The connections being served, against `max_connections` and `max_connections_per_uid`.
    pub(crate) limits: ConnectionLimits,
    /// Refused connections still open for their peers to read why (`limits::refusals_at_once`).
    pub(crate) refusals: Arc<Semaphore>,
    pub(crate) refusal_warnings: RefusalWarnings,
}

impl<D: Dispatch> Context<D> {
    /// The context of a daemon serving one connection at a time, for harnesses that drive
    /// [`serve`] or [`admit`] directly (the fuzz harness, tests) rather than through `Daemon`.
    pub(crate) fn serving_one(
        info: &'static ProtocolInfo,
        options: DaemonOptions,
        dispatch: D,
    ) -> Arc<Context<D>> {
        Arc::new(Context {
            info,
            options,
            dispatch: Arc::new(dispatch),
            access: AccessPolicy::resolve(info).expect("no group to resolve"),
            handle: DaemonHandle::new(info.events),
            calls: TaskTracker::new(),
            tasks: TaskTracker::new(),
            hard_stop: CancellationToken::new(),
            limits: ConnectionLimits::new(1, 1),
            refusals: Arc::new(Semaphore::new(1)),
            refusal_warnings: RefusalWarnings::default(),
        })
    }
}

type Frames = FrameReader<FrameDecoder>;

/// Takes a freshly accepted connection: serves it if its peer is allowed and within the
/// connection limits, refuses it with a `FATAL` frame otherwise. Never waits, so the accept
/// loop keeps accepting (and refusing) however many peers knock.
pub(crate) fn accept<D: Dispatch>(stream: UnixStream, cx: &Arc<Context<D>>) {
    if let Some(serving) = admit(stream, cx) {
        cx.tasks.spawn(serving);
    }
}

/// Serves one connection to its end, as [`accept`] does but waiting for it (the fuzz harness).
pub(crate) async fn serve<D: Dispatch>(stream: UnixStream, cx: Arc<Context<D>>) {
    if let Some(serving) = admit(stream, &cx) {
        serving.await;
    }
}

/// The task serving `stream` if its peer is admitted; `None` when it was refused (or its
/// credentials could not be read).
fn admit<D: Dispatch>(
    stream: UnixStream,
    cx: &Arc<Context<D>>,
) -> Option<impl Future<Output = ()> + Send + 'static> {
    let credentials = match stream.peer_cred() {
        Ok(c) => PeerCredentials {
            pid: c.pid().and_then(|p| u32::try_from(p).ok()),
            uid: c.uid(),
            gid: c.gid(),
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot read peer credentials; dropping connection");
            return None;
        }
    };
    let admitted = if peer_allowed(&cx.options, credentials.uid) {
        cx.limits.admit(credentials.uid)
    } else {
        Err(ProtocolError::new(
            ErrorCode::PeerNotAllowed,
            format!("uid {} is not allowed to use this daemon", credentials.uid),
        ))
    };
    match admitted {
        Ok(slot) => {
            let application = Application {
                id: cx.handle.next_application_id(),
                credentials,
                groups: access::peer_groups(&stream),
            };
            Some(serve_admitted(stream, application, slot, cx.clone()))
        }
        Err(refusal) => {
            refuse(stream, &credentials, refusal, cx);
            None
        }
    }
}

/// Serves one admitted connection until the peer leaves, misbehaves or the daemon stops. The
/// slot is held until the connection's socket is closed (by this task and the writer's). Not an
/// `async fn`: one would store its arguments beside the block that takes them, in the task
/// every connection keeps.
fn serve_admitted<D: Dispatch>(
    stream: UnixStream,
    application: Application,
    slot: ConnectionSlot,
    cx: Arc<Context<D>>,
) -> impl Future<Output = ()> + Send + 'static {
    let id = application.id;
    let credentials = application.credentials;
    let slot = Arc::new(slot);
    let span = tracing::info_span!("connection", %id, pid = credentials.pid, uid = credentials.uid);
    async move {
        let (read, mut write) = match socket_halves::split(stream) {
            Ok(halves) => halves,
            Err(e) => {
                tracing::warn!(error = %e, "cannot register the connection's socket; dropping it");
                return;
            }
        };
        let limits = FdLimits::new(
            cx.info,
            cx.options.max_fds_per_frame,
            cx.options.max_fds_in_flight,
        );
        let decoder = FrameDecoder::new(cx.options.max_frame_len);
        let mut frames = FrameReader::new(read, decoder, limits);
        let shutdown = cx.handle.shared.shutdown.clone();
        let handshake = tokio::select! {
            result = handshake(&mut frames, &mut write, cx.info, &cx.options) => result,
            () = shutdown.cancelled() => Err("daemon is shutting down".into()),
        };
        if let Err(end) = handshake {
            end.log(cx.info);
            return;
        }
        let (outbox, writer) = Outbox::open(write, cx.options.event_queue_len);
        let peer = Arc::new(Peer::new(application, outbox, cx.info.events.len()));
        let writer_slot = slot.clone();
        // Combinators, not an `async` block: one moving `writer` into a `select!` stores it
        // twice in the task every connection keeps.
        cx.tasks.spawn(
            writer
                .with_cancellation_token_owned(cx.hard_stop.clone())
                .map(move |_| drop(writer_slot))
                .in_current_span(),
        );
        tracing::info!("connected");
        cx.handle.attach(peer.clone());
        read_loop(&mut frames, &peer, &cx).await;
        // Replies the reader held back (it may stop while corked) go out now.
        peer.outbox.uncork();
        cx.handle.detach(id);
        tracing::info!("disconnected");
    }
    .instrument(span)
}

fn peer_allowed(options: &DaemonOptions, uid: u32) -> bool {
    options
        .allowed_uids
        .as_ref()
        .is_none_or(|allowed| allowed.contains(&uid))
}

/// Tells a peer that is not served why (uid not allowed, too many connections), before
/// reading anything it sent, and closes the connection. At most `Context::refusals` refused
/// peers are waited for at once; beyond that the refusal is written if the socket takes it
/// without waiting and the connection is closed at once, so refusing costs no more file
/// descriptors than that, however many peers knock.
fn refuse<D>(
    stream: UnixStream,
    credentials: &PeerCredentials,
    refusal: ProtocolError,
    cx: &Arc<Context<D>>,
) {
    if let Some(suppressed) = cx.refusal_warnings.due() {
        tracing::warn!(
            pid = credentials.pid,
            uid = credentials.uid,
            reason = %refusal,
            suppressed,
            "refused a connection"
        );
    }
    let frame = message::fatal(&refusal);
    let Ok(permit) = cx.refusals.clone().try_acquire_owned() else {
        let _ = stream.try_write(&frame);
        return;
    };
    let linger = cx.options.handshake_timeout.min(REFUSAL_LINGER);
    cx.tasks.spawn(async move {
        let (mut read, mut write) = stream.into_split();
        let goodbye = async {
            write.write_all(&frame).await?;
            write.shutdown().await?;
            // Closing with the peer's hello unread can make its write of the hello fail before
            // it reads the refusal: discard (a bounded amount of) its bytes until it hangs up.
            tokio::io::copy(
                &mut (&mut read).take(REFUSED_DRAIN_LIMIT),
                &mut tokio::io::sink(),
            )
            .await
        };
        let _ = tokio::time::timeout(linger, goodbye).await;
        drop(permit);
    });
}

/// Longest a refused connection is kept open for its peer to read the refusal.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Most bytes read (and discarded) from a refused peer.
const REFUSED_DRAIN_LIMIT: u64 = 64 * 1024;

/// Why a connection ended at its handshake instead of becoming an application; each is logged
/// at its own level.
enum HandshakeEnd {
    /// A built-in request (`cargo medium describe`, `call`, `monitor`) answered: no failure.
    Introspected,
    /// The peer left without a word, as a probe checking that the socket answers does.
    Closed,
    /// An application built from another spec, or for another wire protocol version.
    Refused {
        app: PeerIdentity,
        wire_version: u32,
    },
    /// No usable hello: timeout, closed, malformed, or the answer could not be written.
    Failed(String),
}

impl HandshakeEnd {
    /// Logs why the connection ends here, at the level that deserves: a refused application
    /// is worth a warning, an answered introspection or a probe is not even news.
    fn log(&self, info: &ProtocolInfo) {
        match self {
            HandshakeEnd::Introspected => tracing::debug!("answered an introspection request"),
            HandshakeEnd::Closed => tracing::debug!("closed before the handshake"),
            HandshakeEnd::Refused { app, wire_version } => {
                let app_name = format!("{}.{}", claimed(&app.namespace), claimed(&app.class));
                if *wire_version == WIRE_VERSION {
                    tracing::warn!(
                        app = app_name,
                        app_fingerprint = claimed(&app.fingerprint),
                        daemon_fingerprint = info.fingerprint,
                        "refused an application built from another spec"
                    );
                } else {
                    tracing::warn!(
                        app = app_name,
                        app_wire_version = wire_version,
                        daemon_wire_version = WIRE_VERSION,
                        "refused an application speaking another wire protocol version"
                    );
                }
            }
            HandshakeEnd::Failed(reason) => tracing::info!(%reason, "handshake failed"),
        }
    }
}

impl From<&str> for HandshakeEnd {
    fn from(reason: &str) -> HandshakeEnd {
        HandshakeEnd::Failed(reason.to_owned())
    }
}

/// At most this many bytes of each name a peer claims go into a log line: a hello may be as large
/// as a frame.
const LOGGED_CLAIM_LEN: usize = 128;

/// `text`, cut to [`LOGGED_CLAIM_LEN`] bytes.
fn claimed(text: &str) -> &str {
    let mut end = text.len().min(LOGGED_CLAIM_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Reads the hello and answers it. `Err` says why the connection goes no further.
async fn handshake(
    frames: &mut Frames,
    write: &mut WriteHalf,
    info: &ProtocolInfo,
    options: &DaemonOptions,
) -> Result<(), HandshakeEnd> {
    let first = match tokio::time::timeout(options.handshake_timeout, frames.next()).await {
        Err(_) => {
            let error = ProtocolError::new(
                ErrorCode::HandshakeTimeout,
                format!(
                    "no handshake within {} s",
                    options.handshake_timeout.as_secs_f64()
                ),
            );
            // Best effort: a peer that sends nothing may not read either.
            let _ = write.try_write(&message::fatal(&error));
            return Err(HandshakeEnd::Failed(error.message));
        }
        Ok(None) => return Err(HandshakeEnd::Closed),
        Ok(Some(frame)) => frame,
    };
    let ours = PeerIdentity::of(info);
    let refused = |code, message: String, app, wire_version| {
        let frame = message::refused(&ProtocolError::new(code, message), &ours);
        (frame, Err(HandshakeEnd::Refused { app, wire_version }))
    };
    // The frame to answer with, and how the handshake ends once it is written.
    let decoded = first.and_then(|(frame, fds)| {
        no_descriptors(&fds, "the handshake")?;
        ToDaemon::decode(&frame, options.max_nesting_depth)
    });
    let (frame, outcome) = match decoded {
        Ok(ToDaemon::Hello { version, identity }) if version != WIRE_VERSION => refused(
            ErrorCode::UnsupportedVersion,
            format!(
                "this daemon speaks wire version {WIRE_VERSION}; the application speaks version \
                 {version}: rebuild it with the same medium-runtime / cargo-medium version"
            ),
            identity,
            version,
        ),
        Ok(ToDaemon::Hello { version, identity }) if identity != ours => refused(
            ErrorCode::HandshakeMismatch,
            // The claimed names are cut as in the log: a hello may be as large as a frame, and
            // the refusal must stay under the limit (PROTOCOL.md §2).
            format!(
                "daemon speaks {ours}, application was built for {}",
                PeerIdentity {
                    namespace: claimed(&identity.namespace).to_owned(),
                    class: claimed(&identity.class).to_owned(),
                    fingerprint: claimed(&identity.fingerprint).to_owned(),
                }
            ),
            identity,
            version,
        ),
        Ok(ToDaemon::Hello { .. }) => (message::welcome(), Ok(())),
        // A built-in request instead of the hello: answer it, then close (PROTOCOL.md §4).
        Ok(ToDaemon::Call {
            id,
            method,
            builtin: true,
            ..
        }) => (
            builtin_reply(info, &method)
                .into_frame(id, options.max_frame_len)
                .into_contiguous(),
            Err(HandshakeEnd::Introspected),
        ),
        Ok(_) => {
            let error = ProtocolError::new(ErrorCode::Malformed, "expected a handshake first");
            (
                message::fatal(&error),
                Err(HandshakeEnd::Failed(error.message)),
            )
        }
        Err(e) => (fatal_for(&e), Err(HandshakeEnd::Failed(e.to_string()))),
    };
    // A peer that does not read cannot hold the handshake forever.
    match tokio::time::timeout(options.handshake_timeout, write.write_all(&frame)).await {
        Ok(Ok(())) => outcome,
        Ok(Err(e)) => Err(HandshakeEnd::Failed(e.to_string())),
        Err(_) => Err("peer does not read".into()),
    }
}

/// The fatal-error frame describing a read failure.
fn fatal_for(e: &Error) -> Bytes {
    let code = match e {
        Error::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
        Error::BadDescriptors(_) => ErrorCode::BadDescriptors,
        _ => ErrorCode::Malformed,
    };
    message::fatal(&ProtocolError::new(code, e.to_string()))
}

/// `Err` when descriptors came with a message that carries no values (`what`): they are
/// closed, and the connection ends with `FATAL` 15.
fn no_descriptors(fds: &ReceivedFds, what: &str) -> Result<(), Error> {
    if fds.is_empty() {
        return Ok(());
    }
    Err(Error::BadDescriptors(format!(
        "{} descriptor(s) attached to {what}, which carries no values",
        fds.len()
    )))
}

/// What one connection may have running at once: a number of calls, and a number of bytes of
/// their frames (a running call keeps its frame alive through its arguments).
#[derive(Debug)]
struct CallBudget {
    calls: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    max_bytes: u32,
}

/// A running call's share of its connection's [`CallBudget`], returned when dropped.
struct CallPermit {
    _call: OwnedSemaphorePermit,
    _bytes: OwnedSemaphorePermit,
}

impl CallBudget {
    fn new(options: &DaemonOptions) -> CallBudget {
        // Permits are taken as a u32 and a semaphore holds at most MAX_PERMITS.
        let max_bytes = options
            .max_in_flight_bytes
            .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        CallBudget {
            calls: Arc::new(Semaphore::new(
                options.max_in_flight_calls.clamp(1, Semaphore::MAX_PERMITS),
            )),
            bytes: Arc::new(Semaphore::new(max_bytes)),
            max_bytes: u32::try_from(max_bytes).unwrap_or(u32::MAX),
        }
    }

    /// The share of the byte budget of a call whose frame has `frame_len` bytes. A frame larger
    /// than the whole budget takes all of it, so it still runs, alone.
    fn bytes_of(&self, frame_len: usize) -> u32 {
        u32::try_from(frame_len)
            .unwrap_or(u32::MAX)
            .min(self.max_bytes)
    }

    /// Waits until there is room for a call whose frame has `frame_len` bytes, without taking
    /// it: a call answered at once needs none. The reader is the budget's only taker, so the
    /// room is still there when [`CallBudget::acquire`] takes it for a call that has to wait.
    /// `None` once the budget is closed.
    async fn room_for(&self, frame_len: usize) -> Option<()> {
        if !self.has_room(frame_len) {
            drop(self.acquire(frame_len).await?);
        }
        Some(())
    }

    /// Whether there is room now for a call whose frame has `frame_len` bytes.
    fn has_room(&self, frame_len: usize) -> bool {
        self.calls.available_permits() > 0
            && self.bytes.available_permits() >= self.bytes_of(frame_len) as usize
    }

    /// Takes room for a call whose frame has `frame_len` bytes if there is some now (there is
    /// after [`CallBudget::room_for`]: the reader is the budget's only taker).
    fn take_now(&self, frame_len: usize) -> Option<CallPermit> {
        let bytes = self.bytes_of(frame_len);
        Some(CallPermit {
            _call: self.calls.clone().try_acquire_owned().ok()?,
            _bytes: self.bytes.clone().try_acquire_many_owned(bytes).ok()?,
        })
    }

    /// Takes room for a call whose frame has `frame_len` bytes, waiting for it if need be.
    async fn acquire(&self, frame_len: usize) -> Option<CallPermit> {
        let bytes = self.bytes_of(frame_len);
        Some(CallPermit {
            _call: take(&self.calls, 1).await?,
            _bytes: take(&self.bytes, bytes).await?,
        })
    }
}

/// `permits` of `semaphore`, waiting for them only when they are not free now (the reader is
/// the budget's only taker, so taking at once never jumps a queue); `None` once it is closed.
async fn take(semaphore: &Arc<Semaphore>, permits: u32) -> Option<OwnedSemaphorePermit> {
    match semaphore.clone().try_acquire_many_owned(permits) {
        Ok(permit) => Some(permit),
        Err(TryAcquireError::NoPermits) => semaphore.clone().acquire_many_owned(permits).await.ok(),
        Err(TryAcquireError::Closed) => None,
    }
}

async fn read_loop<D: Dispatch>(frames: &mut Frames, peer: &Arc<Peer>, cx: &Arc<Context<D>>) {
    let budget = CallBudget::new(&cx.options);
    let access = cx.access.for_peer(cx.info, &peer.application);
    let requests = Arc::new(RequestsInFlight::default());
    // This task's waker, for a call's handler's first poll, once a read has fetched it.
    let mut reader: Option<Waker> = None;
    loop {
        // Not reading while the outgoing queue is full is what bounds the replies a peer that
        // does not read can pile up: replies are never dropped. While more frames are already
        // buffered, the outbox stays corked so their replies leave in one write, and they are
        // taken as they are, without the wait below: the same checks, none of its futures.
        let buffered = if reader.is_some() && !cx.handle.stops_readers() && peer.outbox.has_room() {
            frames.next_buffered()
        } else {
            None
        };
        let frame = match buffered {
            Some(frame) => frame,
            None => {
                // Pinned here, in the reader's own future: passed by value it would be stored
                // once more by each wrapper it goes through, in every connection's task. The
                // waker is fetched in here, as an `await` later would keep the call's parts in
                // every connection's task.
                let next = std::pin::pin!(async {
                    peer.outbox.wait_for_room().await;
                    let frame = frames.next().await;
                    let waker = std::future::poll_fn(|task| Poll::Ready(task.waker().clone()));
                    (frame, waker.await)
                });
                let Some((frame, waker)) = unless_shutdown(peer, &cx.handle, next).await else {
                    return;
                };
                reader = Some(waker);
                frame
            }
        };
        let reader = reader
            .as_ref()
            .expect("a frame is taken from the buffer only once a read fetched the waker");
        peer.outbox.cork();
        let mut frame_len = 0;
        let mut fds = ReceivedFds::default();
        let message = match frame {
            None => return,
            Some(Ok((frame, attached))) => {
                frame_len = frame.len();
                fds = attached;
                ToDaemon::decode(&frame, cx.options.max_nesting_depth)
            }
            Some(Err(Error::Io(e))) => {
                tracing::debug!(error = %e, "read failed");
                return;
            }
            Some(Err(e)) => Err(e),
        };
        match message {
            Ok(ToDaemon::Call {
                id,
                method,
                args,
                builtin,
            }) => {
                // Not a let chain: those need Rust 1.88, and the runtime supports 1.85.
                if builtin {
                    if let Err(error) = no_descriptors(&fds, "a BUILTIN request") {
                        disconnect(peer, &error);
                        return;
                    }
                }
                if !check(&requests, id, peer) {
                    return;
                }
                // A peer the method's `@allow` rule does not admit learns nothing more, not
                // even whether its arguments would decode.
                if let Some(forbidden) = access.refuse_call(&method).filter(|_| !builtin) {
                    tracing::info!(
                        id,
                        method = &*method,
                        "refused a call: not allowed by its @allow rule"
                    );
                    refuse_call(peer, id, &forbidden);
                    continue;
                }
                // Arguments nesting too deep are never decoded (serde recurses): refused for
                // this call only, the connection carries on.
                let args = match args {
                    Ok(args) => args,
                    Err(too_deep) => {
                        let method = claimed(&method);
                        tracing::info!(id, method, "refused a call: arguments {too_deep}");
                        let error = ProtocolError::new(
                            ErrorCode::Malformed,
                            format!("arguments of `{method}`: {too_deep} (the daemon's limit)"),
                        );
                        refuse_call(peer, id, &error);
                        continue;
                    }
                };
                let mut request = Request {
                    id,
                    frame_len,
                    method,
                    args,
                    builtin,
                    fds,
                };
                // At the limit, stop reading: further calls wait unread (back-pressure). The
                // wait is boxed with the call it holds: it is rare (the budget full), and
                // unboxed, its state and the call's would be part of every connection's task.
                if !budget.has_room(frame_len) {
                    let (budget, daemon) = (&budget, &cx.handle);
                    let waiting = Box::pin(async move {
                        let room = std::pin::pin!(budget.room_for(frame_len));
                        let room = unless_shutdown(peer, daemon, room).await.flatten();
                        room.map(|()| request)
                    });
                    let Some(waited) = waiting.await else {
                        return;
                    };
                    request = waited;
                }
                start_call(cx, peer, &budget, &requests, request, reader);
            }
            Ok(ToDaemon::Subscription {
                id,
                event,
                subscribe,
            }) => {
                let what = if subscribe {
                    "a SUBSCRIBE"
                } else {
                    "an UNSUBSCRIBE"
                };
                if let Err(error) = no_descriptors(&fds, what) {
                    disconnect(peer, &error);
                    return;
                }
                // Answered at once, yet its id must not be one a call still holds.
                if !check(&requests, id, peer) {
                    return;
                }
                peer.outbox
                    .send(subscription_reply(cx, peer, &access, id, &event, subscribe));
            }
            Ok(ToDaemon::Hello { .. }) => {
                let error = Error::Malformed("handshake sent twice".into());
                disconnect(peer, &error);
                return;
            }
            Err(error) => {
                disconnect(peer, &error);
                return;
            }
        }
    }
}

/// Awaits `future`, or gives `None` once the daemon stops its readers (it is shutting down).
/// Each poll leaves the reader's waker with its `Peer` (`DaemonHandle::stop_readers` wakes it)
/// and looks at a flag: no shutdown waiter per wait (registering one on the token takes locks,
/// and the reader waits for every frame it reads one by one). A future that has to wait
/// uncorks the outbox first: no reply is held while the reader waits. `future` is pinned by
/// the caller, so this future holds a pointer to it, not a copy (futures moved into an `async
/// fn` are stored again at each level).
async fn unless_shutdown<F: Future>(
    peer: &Peer,
    daemon: &DaemonHandle,
    future: std::pin::Pin<&mut F>,
) -> Option<F::Output> {
    let mut waiting = std::pin::pin!(peer.outbox.uncork_before_waiting(future));
    std::future::poll_fn(|task| {
        // Left before the look: a stop after the look wakes this task.
        peer.reader.register(task.waker());
        if daemon.stops_readers() {
            return Poll::Ready(None);
        }
        waiting.as_mut().poll(task).map(Some)
    })
    .await
}

/// Answers call `id` with `error` at once, its handler never run.
fn refuse_call(peer: &Peer, id: u64, error: &ProtocolError) {
    peer.outbox.send(message::call_error(id, error));
}

/// Whether request `id` may start: false when it reuses an id still in flight (PROTOCOL.md §4),
/// after disconnecting the peer.
fn check(requests: &RequestsInFlight, id: u64, peer: &Peer) -> bool {
    match requests.check(id) {
        Ok(()) => true,
        Err(duplicate) => {
            disconnect(peer, &Error::Malformed(duplicate.to_string()));
            false
        }
    }
}

/// Carries out a SUBSCRIBE (`subscribe`) or UNSUBSCRIBE and returns its answer: `VALUE nil` once
/// done, so every event emitted after it is queued reaches the peer (or no longer does), or
/// `ERROR` 12 for an event the protocol does not have, or 14 for a SUBSCRIBE the event's
/// `@allow` rule does not admit, for which nothing is stored. An UNSUBSCRIBE is never refused.
fn subscription_reply<D>(
    cx: &Context<D>,
    peer: &Peer,
    access: &PeerAccess,
    id: u64,
    event: &str,
    subscribe: bool,
) -> Bytes {
    match cx.handle.event_index(event) {
        Some(index) => {
            if subscribe {
                if let Some(forbidden) = access.refuse_subscription(index, event) {
                    tracing::info!(
                        id,
                        event,
                        "refused a subscription: not allowed by its @allow rule"
                    );
                    return message::call_error(id, &forbidden);
                }
            }
            peer.set_subscribed(index, subscribe);
            message::acknowledged(id)
        }
        // The name is cut as in the log: it may be as large as a frame, and the error must
        // stay under the limit.
        None => message::call_error(
            id,
            &ProtocolError::new(
                ErrorCode::UnknownEvent,
                format!(
                    "no event `{}` in {}.{}",
                    claimed(event),
                    cx.info.namespace,
                    cx.info.class
                ),
            ),
        ),
    }
}

/// Tells the peer why it is being disconnected and logs it. The fatal frame is the last one the
/// peer gets: replies of its calls still running are discarded (PROTOCOL.md §5).
fn disconnect(peer: &Peer, error: &Error) {
    tracing::warn!(%error, "disconnecting misbehaving application");
    peer.outbox.send_final(fatal_for(error));
}

/// A call or built-in request being served.
struct Request {
    id: u64,
    /// Its frame's length, counted against the connection's byte budget while it runs.
    frame_len: usize,
    method: FrameStr,
    args: WellFormed,
    builtin: bool,
    /// The descriptors attached to its frame.
    fds: ReceivedFds,
}

/// Runs a call's handler: polled once right here (with `reader`, the reader task's waker), so a
/// handler that finishes at once costs no task switch, and takes neither its id nor its share
/// of the budget (no other request is read meanwhile); one that has to wait takes both and
/// continues as its own task. Not `async`: the reader's future, which every connection keeps,
/// holds no call's state.
fn start_call<D: Dispatch>(
    cx: &Arc<Context<D>>,
    peer: &Arc<Peer>,
    budget: &CallBudget,
    requests: &Arc<RequestsInFlight>,
    request: Request,
    reader: &Waker,
) {
    let Request {
        id,
        frame_len,
        method,
        args,
        builtin,
        fds,
    } = request;
    let max_frame_len = cx.options.max_frame_len;
    if builtin {
        let reply = builtin_reply(cx.info, &method);
        reply.send(id, max_frame_len, &peer.outbox);
        return;
    }
    let span = call_span(id, &method);
    let _entered = span.as_ref().map(tracing::Span::enter);
    // The call and its runner are made in the closure, where they are handed on: made outside,
    // each would be copied into it, and again into `catch_unwind`.
    let dispatched = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let call = Call {
            method: method.clone(),
            args,
            application: peer.application.clone(),
            daemon: cx.handle.clone(),
            fds: Mutex::new(fds.fds),
            _fds_held: fds.hold,
        };
        let start = CallStart {
            id,
            frame_len,
            method: &method,
            span: span.as_ref(),
            waker: reader,
            peer,
            budget,
            requests,
            calls: &cx.calls,
            hard_stop: &cx.hard_stop,
            max_frame_len,
        };
        cx.dispatch.dispatch(call, CallRunner(start))
    }));
    let reply = match dispatched {
        Ok(Some(Started { .. })) => return,
        Ok(None) => Reply::protocol_error(ProtocolError::new(
            ErrorCode::UnknownMethod,
            format!("daemon has no method `{method}`"),
        )),
        Err(_) => panicked(&method, "dispatch"),
    };
    reply.send(id, max_frame_len, &peer.outbox);
}

/// What [`CallRunner::run`] needs to run one call's handler: the call, and the connection's
/// reader that polls it first.
#[derive(Debug)]
pub(crate) struct CallStart<'a> {
    id: u64,
    frame_len: usize,
    method: &'a FrameStr,
    /// `None` when no subscriber records `DEBUG` spans ([`call_span`]).
    span: Option<&'a tracing::Span>,
    /// The reader's: the handler's first poll happens in the reader's.
    waker: &'a Waker,
    peer: &'a Arc<Peer>,
    budget: &'a CallBudget,
    requests: &'a Arc<RequestsInFlight>,
    calls: &'a TaskTracker,
    hard_stop: &'a CancellationToken,
    max_frame_len: usize,
}

impl CallStart<'_> {
    /// Polls `future` once: sends its reply if it is done, or moves it to a task of its own
    /// that answers when it is, with the call's id and share of the budget taken meanwhile.
    pub(crate) fn run<F>(self, future: F)
    where
        F: Future<Output = Reply> + Send + 'static,
    {
        let mut slot = FutureSlot::new(future);
        let mut task = std::task::Context::from_waker(self.waker);
        match poll_caught(self.span, self.method, || slot.poll(&mut task)) {
            Poll::Ready(caught) => {
                // Dropped before the reply leaves: a handler whose drop panics still gets its
                // call one reply only (the dispatch's panic reply). A future that panicked is
                // dropped with its box, and a panic of its drop is caught too: its call already
                // has its reply, the `HandlerPanicked` one.
                let reply = match caught {
                    Ok(reply) => {
                        slot.recycle();
                        reply
                    }
                    Err(panicked) => {
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| drop(slot)));
                        panicked
                    }
                };
                reply.send(self.id, self.max_frame_len, &self.peer.outbox);
            }
            Poll::Pending => self.continue_as_task(slot.into_waiting()),
        }
    }

    /// Moves a handler that has to wait to a task of its own. Not generic: one task type
    /// for every handler.
    fn continue_as_task(self, mut handler: WaitingHandler<Reply>) {
        let (id, max_frame_len) = (self.id, self.max_frame_len);
        // The reader checked the id and waited for room: neither can fail now.
        let Ok(in_flight) = self.requests.claim(id) else {
            return;
        };
        let Some(permit) = self.budget.take_now(self.frame_len) else {
            return;
        };
        let peer = self.peer.clone();
        let hard_stop = self.hard_stop.clone();
        let (method, span) = (self.method.clone(), self.span.cloned());
        self.calls.spawn(async move {
            let handling = std::future::poll_fn(|task| {
                poll_caught(span.as_ref(), &method, || handler.as_mut().poll(task))
            });
            tokio::select! {
                caught = handling => {
                    let reply = caught.unwrap_or_else(|panicked| panicked);
                    // Given back first: the peer may reuse the id as soon as it has the reply.
                    drop(in_flight);
                    reply.send(id, max_frame_len, &peer.outbox);
                }
                () = hard_stop.cancelled() => {}
            }
            drop(permit);
        });
    }
}

/// Polls a call's handler (`poll`) inside the call's span, its panics caught: `Err` is the
/// `HandlerPanicked` reply for a handler that panicked.
fn poll_caught(
    span: Option<&tracing::Span>,
    method: &FrameStr,
    poll: impl FnOnce() -> Poll<Option<Reply>>,
) -> Poll<Result<Reply, Reply>> {
    let _entered = span.map(tracing::Span::enter);
    match std::panic::catch_unwind(AssertUnwindSafe(poll)) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(Some(reply))) => Poll::Ready(Ok(reply)),
        // A handler is polled until it is done, never after.
        Ok(Poll::Ready(None)) => unreachable!("a call's handler polled after it was done"),
        Err(_) => Poll::Ready(Err(panicked(method, "handler"))),
    }
}

/// The span a call's handler runs in, when a subscriber records `DEBUG` spans. Otherwise none is
/// made at all, not even `Span::none()`: a disabled span costs a few hundred instructions per
/// call (more with tracing's `log` feature, which makes a disabled span look for a logger),
/// about what a hand-written server spends on its whole frame handling, and a `Span::none()`
/// still costs its drop and each enter and exit.
fn call_span(id: u64, method: &str) -> Option<tracing::Span> {
    tracing::enabled!(tracing::Level::DEBUG).then(|| tracing::debug_span!("call", id, method))
}

/// The `HandlerPanicked` reply for `method`, whose `what` (dispatch or handler) panicked.
fn panicked(method: &str, what: &str) -> Reply {
    tracing::error!(method, "handler panicked");
    Reply::protocol_error(ProtocolError::new(
        ErrorCode::HandlerPanicked,
        format!("daemon {what} for `{method}` panicked"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: ProtocolInfo = ProtocolInfo {
        namespace: "org.example.size",
        class: "Size",
        fingerprint: "0000000000000000000000000000000000000000000000000000000000000000",
        socket_base: None,
        spec: "",
        events: &[],
        access: &[],
        uses_fd: false,
    };

    struct NoMethods;

    impl Dispatch for NoMethods {
        fn dispatch(&self, _call: Call, _runner: CallRunner<'_>) -> Option<Started> {
            None
        }
    }

    /// Every connection keeps its task's future for as long as it is open (1000 idle
    /// connections: 1000 of them), and a future grows unseen: one moved by value into an
    /// `async fn`, `pin!` or `select!` is stored again at each level. 1,856 bytes before that
    /// was found (a debug build), 1,104 after.
    #[tokio::test]
    async fn the_future_each_connection_keeps_stays_small() {
        let cx = Context::serving_one(&INFO, DaemonOptions::default(), NoMethods);
        let (daemon_end, _app_end) = UnixStream::pair().expect("socketpair");
        let serving = admit(daemon_end, &cx).expect("admitted: our own uid, a free slot");
        let size = size_of_val(&serving);
        assert!(
            size <= 1280,
            "a connection's task future is {size} bytes: what made it grow?"
        );
    }
}
