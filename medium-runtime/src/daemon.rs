//! `Daemon`: binds (or inherits) the socket, accepts connections, runs the user's background
//! future beside them, and shuts down gracefully on SIGINT/SIGTERM, `DaemonHandle::shutdown`
//! or a failed background future.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::access::AccessPolicy;
use crate::ancillary::{DEFAULT_MAX_FDS_IN_FLIGHT, DEFAULT_MAX_FDS_PER_FRAME};
use crate::connection::{self, Context};
use crate::dispatch::Dispatch;
use crate::error::{BoxError, Error};
use crate::frame::DEFAULT_MAX_FRAME_LEN;
use crate::handle::DaemonHandle;
use crate::limits::{self, ConnectionLimits, RefusalWarnings};
use crate::listener;
use crate::protocol_info::ProtocolInfo;
use crate::socket_path::socket_path;
use crate::well_formed::DEFAULT_MAX_NESTING_DEPTH;

/// How long the accept loop waits after a failed `accept` before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// At most one warning about failing `accept`s per this long.
const ACCEPT_WARNING_INTERVAL: Duration = Duration::from_secs(1);

/// Logs failed `accept`s. A failure that persists (out of file descriptors) repeats after every
/// back-off, 20 times a second: one warning per [`ACCEPT_WARNING_INTERVAL`] says how many
/// failures since the last one it stands for.
#[derive(Debug, Default)]
struct AcceptFailures {
    last_warning: Option<tokio::time::Instant>,
    suppressed: u64,
}

impl AcceptFailures {
    fn log(&mut self, error: &std::io::Error) {
        let now = tokio::time::Instant::now();
        if self
            .last_warning
            .is_some_and(|last| now.duration_since(last) < ACCEPT_WARNING_INTERVAL)
        {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(%error, suppressed = self.suppressed, "accept failed; backing off");
        self.last_warning = Some(now);
        self.suppressed = 0;
    }
}

/// Limits and policies of a daemon. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Largest frame body accepted or sent (default 16 MiB).
    pub max_frame_len: usize,
    /// Frames queued per connection before events are dropped for it (default 1024).
    pub event_queue_len: usize,
    /// Calls of one connection handled at once; further calls wait unread (default 256).
    pub max_in_flight_calls: usize,
    /// Frame bytes of one connection's calls handled at once, each call counted by its frame
    /// size (at most `max_frame_len`); further calls wait unread (default 64 MiB). Bounds what a
    /// connection can make the daemon hold for calls still running (SECURITY.md).
    pub max_in_flight_bytes: usize,
    /// Permission bits of the socket file (default 0o600). The file is created with no wider
    /// ones, so it is never reachable by more users than this allows.
    pub socket_mode: u32,
    /// How long shutdown waits for in-flight calls (default 5 s).
    pub grace_period: Duration,
    /// How long a new connection may take to send its handshake (default 5 s); after that it
    /// gets a `FATAL` frame with code `HandshakeTimeout` (written only if the socket takes it
    /// at once) and is closed.
    pub handshake_timeout: Duration,
    /// When set, only peers whose uid (from `SO_PEERCRED`) is listed may connect; others get a
    /// `FATAL` frame with code `PeerNotAllowed` before the handshake and are disconnected
    /// (default `None`: anyone who can open the socket, see `socket_mode`).
    pub allowed_uids: Option<Vec<u32>>,
    /// Most connections served at once, counting those still in their handshake; one more gets
    /// a `FATAL` frame with code `TooManyConnections` and is disconnected. `None` (the default)
    /// means the lower of 4,096 and 90 % of the process's open-file soft limit
    /// (`RLIMIT_NOFILE`), read when serving starts, so file descriptors remain to refuse with.
    pub max_connections: Option<usize>,
    /// Most connections served at once for one peer uid (default 1,024); one more is refused
    /// like one over `max_connections`.
    pub max_connections_per_uid: usize,
    /// Deepest nesting of arrays and maps accepted in a call's arguments (default 128, see
    /// [`DEFAULT_MAX_NESTING_DEPTH`]). Checked before the arguments are decoded, so a small
    /// frame of deeply nested arrays cannot overflow the stack of a handler's thread (serde
    /// recurses once per level); a deeper call gets `ERROR` code `Malformed`, and the connection
    /// carries on.
    pub max_nesting_depth: usize,
    /// Most file descriptors one frame may carry (default
    /// [`DEFAULT_MAX_FDS_PER_FRAME`], 32; at most 253, the
    /// kernel's `SCM_MAX_FD`, whatever is set). A peer attaching more gets `FATAL` code
    /// `BadDescriptors` and is disconnected, the descriptors closed (PROTOCOL.md §3.1).
    pub max_fds_per_frame: usize,
    /// Most file descriptors of one connection received and not yet handed to a handler, or
    /// held by calls still running (default
    /// [`DEFAULT_MAX_FDS_IN_FLIGHT`], 256); over it the peer
    /// gets `FATAL` code `BadDescriptors` and is disconnected.
    pub max_fds_in_flight: usize,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            event_queue_len: 1024,
            max_in_flight_calls: 256,
            max_in_flight_bytes: 64 << 20,
            socket_mode: 0o600,
            grace_period: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            allowed_uids: None,
            max_connections: None,
            max_connections_per_uid: 1024,
            max_nesting_depth: DEFAULT_MAX_NESTING_DEPTH,
            max_fds_per_frame: DEFAULT_MAX_FDS_PER_FRAME,
            max_fds_in_flight: DEFAULT_MAX_FDS_IN_FLIGHT,
        }
    }
}

/// A daemon serving one protocol on one socket.
#[derive(Debug)]
pub struct Daemon<D: Dispatch> {
    info: &'static ProtocolInfo,
    dispatch: Arc<D>,
    path: Option<PathBuf>,
    listener: Option<std::os::unix::net::UnixListener>,
    options: DaemonOptions,
    handle: DaemonHandle,
}

/// Where the listener came from, which decides whether shutdown removes a socket file.
enum Listening {
    Bound(PathBuf),
    Given,
}

impl<D: Dispatch> Daemon<D> {
    /// A daemon for `info` that routes calls to `dispatch`.
    pub fn new(info: &'static ProtocolInfo, dispatch: D) -> Daemon<D> {
        Daemon {
            info,
            dispatch: Arc::new(dispatch),
            path: None,
            listener: None,
            options: DaemonOptions::default(),
            handle: DaemonHandle::new(info.events),
        }
    }

    /// Binds at `path` instead of [`socket_path`]'s answer.
    pub fn socket_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Serves on an already-bound listener (tests, custom setups). Its socket file is left in
    /// place at exit.
    pub fn listener(mut self, listener: std::os::unix::net::UnixListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Replaces the limits and policies.
    pub fn options(mut self, options: DaemonOptions) -> Self {
        self.options = options;
        self
    }

    /// A handle for emitting events, listing applications and shutting down; usable before
    /// `serve` starts.
    pub fn handle(&self) -> DaemonHandle {
        self.handle.clone()
    }

    /// Serves until shutdown. First resolves the protocol's `@allow` rules (`owner` is this
    /// process's effective uid, each `group` name its gid now): an unknown group fails with
    /// [`Error::UnknownGroup`] before any socket is bound. The listener is, in order: one given with [`Daemon::listener`],
    /// the socket systemd passed (`LISTEN_PID` = our pid, `LISTEN_FDS` >= 1, fd 3), or a fresh
    /// bind at the socket path.
    ///
    /// `background` runs beside serving (LibMedium's `run()`), started once the socket is
    /// listening, so apps can already connect when it fires its first event. If it returns
    /// `Ok`, the daemon keeps serving. If it returns `Err` (or panics), the daemon logs it, shuts
    /// down gracefully and returns [`Error::Background`].
    ///
    /// Shutdown (SIGINT, SIGTERM, [`DaemonHandle::shutdown`] or a failed background future):
    /// stop accepting, remove the socket file if this daemon bound it, stop reading from
    /// connections, let in-flight calls finish and their replies flush within the grace period,
    /// then close every connection.
    pub async fn serve_with<F>(mut self, background: F) -> Result<(), Error>
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        // Before the socket exists: a rule that cannot be checked must not be served.
        let access = AccessPolicy::resolve(self.info)?;
        let (listener, listening) = self.take_listener()?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::UnixListener::from_std(listener)?;
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sigint = signal(SignalKind::interrupt())?;
        self.handle.shared.max_frame_len.store(
            self.options.max_frame_len,
            std::sync::atomic::Ordering::Relaxed,
        );
        let max_connections = self
            .options
            .max_connections
            .unwrap_or_else(limits::default_max_connections);
        let limits = ConnectionLimits::new(max_connections, self.options.max_connections_per_uid);
        let cx = Arc::new(Context {
            info: self.info,
            options: self.options,
            dispatch: self.dispatch,
            access,
            handle: self.handle.clone(),
            calls: TaskTracker::new(),
            tasks: TaskTracker::new(),
            hard_stop: CancellationToken::new(),
            limits,
            refusals: Arc::new(Semaphore::new(limits::refusals_at_once(max_connections))),
            refusal_warnings: RefusalWarnings::default(),
        });
        let shutdown = self.handle.shared.shutdown.clone();
        let mut background = tokio::spawn(background.in_current_span());
        let mut background_running = true;
        let mut outcome = Ok(());
        let mut accept_failures = AcceptFailures::default();
        if let Listening::Bound(path) = &listening {
            tracing::info!(path = %path.display(), "daemon listening");
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = sigterm.recv() => break,
                _ = sigint.recv() => break,
                finished = &mut background, if background_running => {
                    background_running = false;
                    let failure = match finished {
                        Ok(Ok(())) => continue,
                        Ok(Err(e)) => e,
                        Err(e) => format!("background task panicked: {e}").into(),
                    };
                    tracing::error!(error = %failure, "background task failed; shutting down");
                    outcome = Err(Error::Background(failure));
                    break;
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => connection::accept(stream, &cx),
                    Err(e) => {
                        // Usually fd exhaustion: back off instead of spinning.
                        accept_failures.log(&e);
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
            }
        }
        tracing::info!("shutting down");
        shutdown.cancel();
        self.handle.stop_readers();
        drop(listener);
        if let Listening::Bound(path) = &listening {
            if let Err(e) = std::fs::remove_file(path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove socket");
            }
        }
        background.abort();
        let deadline = tokio::time::Instant::now() + cx.options.grace_period;
        cx.calls.close();
        if tokio::time::timeout_at(deadline, cx.calls.wait())
            .await
            .is_err()
        {
            tracing::warn!("grace period over; abandoning unfinished calls");
        }
        cx.tasks.close();
        let _ = tokio::time::timeout_at(deadline, cx.tasks.wait()).await;
        cx.hard_stop.cancel();
        cx.calls.wait().await;
        cx.tasks.wait().await;
        outcome
    }

    /// [`Daemon::serve_with`] without background work.
    pub async fn serve(self) -> Result<(), Error> {
        self.serve_with(async { Ok(()) }).await
    }

    fn take_listener(&mut self) -> Result<(std::os::unix::net::UnixListener, Listening), Error> {
        if let Some(listener) = self.listener.take() {
            return Ok((listener, Listening::Given));
        }
        if let Some(listener) = listener::systemd_listener() {
            tracing::info!("using the socket passed by systemd");
            return Ok((listener, Listening::Given));
        }
        let path = match &self.path {
            Some(path) => path.clone(),
            None => socket_path(self.info)?,
        };
        let listener = listener::bind(&path, self.options.socket_mode)?;
        Ok((listener, Listening::Bound(path)))
    }
}
