//! What a daemon logs, captured with a `tracing` layer: ordinary connects and disconnects at
//! INFO with the peer's pid and uid; an introspection (`cargo medium describe`, `call`,
//! `monitor`) at DEBUG, since it is no failure; a handler's logs inside its call's span; a
//! refused application at WARN with both fingerprints; and failing `accept`s at most once a
//! second.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use medium_runtime::{
    CallError, Client, Daemon, DaemonHandle, ErrorCode, NoException, ProtocolInfo,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

use crate::support::{INFO, TestDaemon, TestService, eventually, wait_for_socket};

/// One logged event: its level, its message and its fields, with those of the spans it is in.
#[derive(Debug, Clone)]
struct Logged {
    level: Level,
    message: String,
    fields: BTreeMap<String, String>,
}

impl Logged {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Collects every event, on the thread it is installed on.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Logged>>>);

impl Capture {
    fn events(&self) -> Vec<Logged> {
        self.0.lock().unwrap().clone()
    }

    fn find(&self, message: &str) -> Option<Logged> {
        self.events().into_iter().find(|e| e.message == message)
    }

    async fn wait_for(&self, message: &str) -> Logged {
        eventually(|| self.find(message).is_some()).await;
        self.find(message).unwrap()
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        for span in ctx
            .event_scope(event)
            .into_iter()
            .flat_map(|s| s.from_root())
        {
            if let Some(span_fields) = span.extensions().get::<Fields>() {
                fields.0.extend(span_fields.0.clone());
            }
        }
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or_default();
        self.0.lock().unwrap().push(Logged {
            level: *event.metadata().level(),
            message,
            fields: fields.0,
        });
    }
}

/// Captures the events of everything polled on this (current-thread) test's thread.
fn capture() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(Registry::default().with(capture.clone()));
    (capture, guard)
}

/// This process's uid, as the daemon reads it from the socket.
fn uid() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }.to_string()
}

#[tokio::test]
async fn connects_and_disconnects_are_logged_at_info_with_pid_and_uid() {
    let (logs, _guard) = capture();
    let d = TestDaemon::start().await;
    let client = d.client().await;
    let connected = logs.wait_for("connected").await;
    assert_eq!(connected.level, Level::INFO);
    assert_eq!(
        connected.field("pid"),
        Some(&*std::process::id().to_string())
    );
    assert_eq!(connected.field("uid"), Some(&*uid()));
    drop(client);
    let disconnected = logs.wait_for("disconnected").await;
    assert_eq!(disconnected.level, Level::INFO);
    assert_eq!(disconnected.field("uid"), Some(&*uid()));
    assert_eq!(disconnected.field("id"), connected.field("id"));
}

#[tokio::test]
async fn an_introspection_is_logged_at_debug_and_not_as_a_failure() {
    let (logs, _guard) = capture();
    let d = TestDaemon::start().await;
    medium_runtime::introspect(&d.path).await.unwrap();
    let answered = logs.wait_for("answered an introspection request").await;
    assert_eq!(answered.level, Level::DEBUG);
    // Events of the connection carry its span's `id`.
    let loud: Vec<_> = logs
        .events()
        .into_iter()
        .filter(|e| e.level <= Level::INFO && e.field("id").is_some())
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
}

/// With `DEBUG` spans recorded, what a handler logs carries its call's span: the request id
/// and the method, whether the handler was polled by the connection's reader (done at once) or
/// in the task it moved to (it had to wait). Without a subscriber recording them no span is
/// made at all, so a lost span would go unnoticed elsewhere.
#[tokio::test]
async fn a_handler_logs_inside_its_call_span() {
    let (logs, _guard) = capture();
    let d = TestDaemon::start().await;
    let client = d.client().await;
    let panicked = |reply: Result<(), CallError<NoException>>| matches!(reply, Err(CallError::Protocol(e)) if e.code == ErrorCode::HandlerPanicked);
    assert!(panicked(client.call("panic", &()).await));
    assert!(panicked(client.call("panic_later", &(5u64,)).await));
    let panics: Vec<_> = logs
        .events()
        .into_iter()
        .filter(|e| e.message == "handler panicked")
        .collect();
    assert_eq!(panics.len(), 2, "{panics:#?}");
    let ids: Vec<_> = panics
        .iter()
        .map(|e| {
            // The call span's `id` (the request's, a number) covers the connection span's
            // (`app#N`).
            let id = e.field("id").expect("an id field");
            id.parse::<u64>()
                .unwrap_or_else(|_| panic!("not a request id: {id}"))
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn a_refused_application_is_logged_at_warn_with_both_fingerprints() {
    static REBUILT: ProtocolInfo = ProtocolInfo {
        fingerprint: "9999000000000000000000000000000000000000000000000000000000000000",
        ..INFO
    };
    let (logs, _guard) = capture();
    let d = TestDaemon::start().await;
    Client::connect_to(&REBUILT, &d.path).await.unwrap_err();
    let refused = logs
        .wait_for("refused an application built from another spec")
        .await;
    assert_eq!(refused.level, Level::WARN);
    assert_eq!(refused.field("daemon_fingerprint"), Some(INFO.fingerprint));
    assert_eq!(refused.field("app_fingerprint"), Some(REBUILT.fingerprint));
    assert_eq!(refused.field("app"), Some("com.example.test.TestSystem"));
}

/// Set, [`accept_failures_process`] is the daemon that runs out of file descriptors.
const ACCEPT_FAILURES_SOCKET_ENV: &str = "MEDIUM_RUNTIME_TEST_ACCEPT_FAILURES_SOCKET";
/// How long that daemon keeps failing to accept before it stops.
const FAILING_FOR: Duration = Duration::from_millis(2500);

#[test]
fn failing_accepts_are_logged_at_most_once_a_second_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let mut daemon = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "logging::accept_failures_process"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env(ACCEPT_FAILURES_SOCKET_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once it says it is out of descriptors, every connection is left for `accept` to fail on.
    let mut ready = String::new();
    let mut stdout = BufReader::new(daemon.stdout.take().unwrap());
    while !ready.contains("out of descriptors") {
        ready.clear();
        assert_ne!(
            stdout.read_line(&mut ready).unwrap(),
            0,
            "the daemon never got ready"
        );
    }
    let _waiting: Vec<_> = (0..3)
        .map(|_| std::os::unix::net::UnixStream::connect(&path).unwrap())
        .collect();
    let output = daemon.wait_with_output().unwrap();
    let log = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{log}");
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("accept failed"))
        .collect();
    // 50 failures (one per 50 ms back-off) in 2.5 s: one warning a second says them all.
    assert!(
        (1..=4).contains(&warnings.len()),
        "{} warnings:\n{log}",
        warnings.len()
    );
    assert!(warnings.iter().all(|w| w.contains("WARN")), "{log}");
    let most_suppressed = warnings
        .iter()
        .filter_map(|w| {
            w.split("suppressed=")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .max();
    assert!(
        most_suppressed >= Some(10),
        "no warning counts the failures it stands for:\n{log}"
    );
}

/// Not a test on its own: the daemon process of
/// [`failing_accepts_are_logged_at_most_once_a_second_with_a_count`]. It lowers its descriptor
/// limit so that no `accept` can succeed, says so on stdout, fails for [`FAILING_FOR`] and stops.
#[test]
#[ignore = "daemon process of the accept back-off test"]
fn accept_failures_process() {
    let Some(path) = std::env::var_os(ACCEPT_FAILURES_SOCKET_ENV) else {
        return;
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let daemon = Daemon::new(&INFO, TestService).socket_path(&path);
        let handle: DaemonHandle = daemon.handle();
        let task = tokio::spawn(daemon.serve());
        wait_for_socket(std::path::Path::new(&path)).await;
        // Descriptors are allocated lowest first: with the limit at the lowest free one, every
        // new descriptor is refused (EMFILE).
        // SAFETY: F_GETFD only asks whether the descriptor is open.
        let lowest_free = (0..)
            .find(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1)
            .unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct we pass; setrlimit only reads it and lowers this
        // process's soft limit.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
            limit.rlim_cur = lowest_free as libc::rlim_t;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
        println!("out of descriptors");
        tokio::time::sleep(FAILING_FOR).await;
        handle.shutdown();
        task.await.unwrap().unwrap();
    });
}
