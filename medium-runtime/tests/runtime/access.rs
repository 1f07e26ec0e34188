//! `@allow` rules (`ProtocolInfo::access`, issue 18), enforced by the daemon over real sockets:
//! a call the rule does not admit is `ERROR` 14 before its arguments are decoded or its handler
//! runs, a subscription it does not admit is `ERROR` 14 and stores nothing, and the connection
//! goes on. Rules naming another uid are seen as the test's own user anywhere; running as root,
//! the test also starts real peers of another uid and groups (itself, re-run with
//! `setgroups`/`setgid`/`setuid` before `exec`).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use medium_runtime::{
    AccessItem, AccessRule, Allow, Call, CallError, CallRunner, Daemon, DaemonHandle,
    DaemonOptions, Dispatch, Error, ErrorCode, NoException, ProtocolInfo, Started,
};

use crate::support::{
    Answer, INFO, TestService, Whoami, acknowledgement, error, raw_call, raw_client, request,
    wait_for_socket,
};

/// `INFO` with `rules`: same identity, so clients built for `INFO` connect.
fn ruled(rules: Vec<AccessRule>) -> &'static ProtocolInfo {
    Box::leak(Box::new(ProtocolInfo {
        access: Box::leak(rules.into_boxed_slice()),
        ..INFO
    }))
}

fn method(name: &'static str, allow: &'static [Allow]) -> AccessRule {
    AccessRule {
        item: AccessItem::Method(name),
        allow,
    }
}

fn event(name: &'static str, allow: &'static [Allow]) -> AccessRule {
    AccessRule {
        item: AccessItem::Event(name),
        allow,
    }
}

fn my_uid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() }
}

/// A uid that is not the test's.
fn not_my_uid() -> &'static [Allow] {
    Box::leak(Box::new([Allow::Uid(my_uid().wrapping_add(1))]))
}

/// `TestService`, counting the calls that reach it.
struct Counting(Arc<AtomicUsize>);

impl Dispatch for Counting {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        self.0.fetch_add(1, Ordering::SeqCst);
        TestService.dispatch(call, runner)
    }
}

/// A daemon of `info` serving `TestService` on a socket any user can reach (folder 0755,
/// socket 0666), so peers of other uids can connect.
struct RuledDaemon {
    handle: DaemonHandle,
    path: PathBuf,
    /// Calls that reached the service.
    calls: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

impl RuledDaemon {
    async fn start(info: &'static ProtocolInfo) -> RuledDaemon {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("socket");
        let calls = Arc::new(AtomicUsize::new(0));
        let daemon = Daemon::new(info, Counting(calls.clone()))
            .socket_path(&path)
            .options(DaemonOptions {
                socket_mode: 0o666,
                ..DaemonOptions::default()
            });
        let handle = daemon.handle();
        tokio::spawn(daemon.serve());
        wait_for_socket(&path).await;
        RuledDaemon {
            handle,
            path,
            calls,
            _dir: dir,
        }
    }

    async fn client(&self) -> medium_runtime::Client {
        medium_runtime::Client::connect_to(&INFO, &self.path)
            .await
            .unwrap()
    }
}

impl Drop for RuledDaemon {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_rule_does_not_admit_is_error_14_before_its_arguments_are_decoded() {
    let daemon = RuledDaemon::start(ruled(vec![method("sleep", not_my_uid())])).await;
    let denied = format!("uid {} may not call `sleep`", my_uid());
    let mut raw = raw_client(&daemon.path).await;
    // `["x"]` is not `(u64, u32)`: were it decoded, the answer would be code 2.
    let answer = raw_call(&mut raw, 1, "sleep", &[0x91, 0xa1, b'x']).await;
    assert_eq!(
        Answer::of(&answer),
        Answer::Error {
            id: 1,
            code: 14,
            message: denied.clone()
        }
    );
    assert_eq!(daemon.calls.load(Ordering::SeqCst), 0, "no handler ran");
    // The connection goes on, and the refused call's id is free again.
    let answer = raw_call(&mut raw, 1, "whoami", &[0xc0]).await;
    let answer = Answer::of(&answer);
    assert!(matches!(answer, Answer::Value { id: 1, .. }), "{answer:?}");
    assert_eq!(daemon.calls.load(Ordering::SeqCst), 1);

    let client = daemon.client().await;
    let err = client
        .call::<_, u32, NoException>("sleep", &(0u64, 1u32))
        .await
        .unwrap_err();
    let CallError::Forbidden(refusal) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(refusal.code, ErrorCode::Forbidden);
    assert_eq!(refusal.message, denied);
    assert_eq!(err.to_string(), denied);
    let me: Whoami = client
        .call::<_, _, NoException>("whoami", &())
        .await
        .unwrap();
    assert_eq!(me.uid, my_uid(), "an unruled method works");
    assert_eq!(daemon.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_the_rule_does_not_admit_is_error_14_and_stores_nothing() {
    let daemon = RuledDaemon::start(ruled(vec![event("tick", not_my_uid())])).await;
    let client = daemon.client().await;
    let err = client.subscribe::<(u32,)>("tick").await.unwrap_err();
    let Error::Subscribe { event, reason } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        (event.as_str(), reason.code),
        ("tick", ErrorCode::Forbidden)
    );
    assert_eq!(
        reason.message,
        format!("uid {} may not subscribe to `tick`", my_uid())
    );
    assert_eq!(daemon.handle.emit("tick", &(1u32,)).unwrap(), 0, "stored");
    let _ping = client.subscribe::<(u32,)>("ping").await.unwrap();
    assert_eq!(daemon.handle.emit("ping", &(1u32,)).unwrap(), 1);

    let mut raw = raw_client(&daemon.path).await;
    let (id, code, _) = error(&request(&mut raw, 5, "tick", true).await);
    assert_eq!((id, code), (5, 14));
    assert_eq!(
        request(&mut raw, 6, "tick", false).await,
        acknowledgement(6),
        "unsubscribing is never refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_admits_the_uid_the_daemon_runs_as() {
    let info = ruled(vec![
        method("whoami", &[Allow::Owner]),
        event("tick", &[Allow::Owner]),
    ]);
    let daemon = RuledDaemon::start(info).await;
    let client = daemon.client().await;
    let me: Whoami = client
        .call::<_, _, NoException>("whoami", &())
        .await
        .unwrap();
    assert_eq!(me.uid, my_uid());
    let _tick = client.subscribe::<(u32,)>("tick").await.unwrap();
    assert_eq!(daemon.handle.emit("tick", &(1u32,)).unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_does_not_exist_fails_serve_before_binding() {
    let info = ruled(vec![method(
        "whoami",
        &[Allow::Root, Allow::Group("no-such-group-medium")],
    )]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let err = Daemon::new(info, TestService)
        .socket_path(&path)
        .serve()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownGroup { group, item } if group == "no-such-group-medium" && item == "whoami"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "group `no-such-group-medium` in the @allow rule of `whoami` does not exist on this system"
    );
    assert!(!path.exists(), "no socket was bound");
}

/// The uid, primary gid and only supplementary group of the peer the root test starts.
const PEER_UID: u32 = 1234;
const PEER_SUPPLEMENTARY_GID: u32 = 4321;
/// Set (to the socket) in the environment of that peer: the test binary re-run as it.
const PEER_SOCKET_ENV: &str = "MEDIUM_TEST_ACCESS_PEER_SOCKET";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_of_other_users_are_matched_by_uid_primary_gid_and_supplementary_groups() {
    if my_uid() != 0 {
        eprintln!("note: skipped: starting peers of other users needs root");
        return;
    }
    let info = ruled(vec![
        method("whoami", &[Allow::Uid(PEER_UID)]),
        method("raw_args", &[Allow::Gid(PEER_UID)]),
        method("sleep", &[Allow::Gid(PEER_SUPPLEMENTARY_GID)]),
        method("broken", &[Allow::Root]),
        method("unfinished", &[Allow::Owner]),
        method("find", &[Allow::Root, Allow::Group("root")]),
        event("tick", &[Allow::Gid(PEER_SUPPLEMENTARY_GID)]),
        event("news", &[Allow::Root, Allow::Uid(PEER_UID + 1)]),
    ]);
    let daemon = RuledDaemon::start(info).await;

    let mut peer = Command::new(std::env::current_exe().unwrap());
    peer.args([
        "access::peer_of_another_user",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(PEER_SOCKET_ENV, &daemon.path);
    let groups = [PEER_SUPPLEMENTARY_GID];
    // SAFETY: the closure makes only async-signal-safe system calls (no allocation).
    unsafe {
        peer.pre_exec(move || {
            // Groups first: only root may set them.
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(PEER_UID) != 0
                || libc::setuid(PEER_UID) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = tokio::task::spawn_blocking(move || peer.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outcomes: Vec<&str> = stdout
        .lines()
        // The harness starts the line its test prints on.
        .filter_map(|line| Some(line.split_once("peer: ")?.1))
        .collect();
    assert_eq!(
        outcomes,
        [
            "whoami: ok, uid 1234, gid 1234, groups Some([4321])",
            "raw_args: ok",
            "sleep: ok",
            "broken: forbidden: uid 1234 may not call `broken`",
            "unfinished: forbidden: uid 1234 may not call `unfinished`",
            "find: forbidden: uid 1234 may not call `find`",
            "tick: ok",
            "news: forbidden: uid 1234 may not subscribe to `news`",
        ]
    );

    // Root itself: admitted by `root` (the handler runs and fails as it does), and `owner`.
    let client = daemon.client().await;
    let err = client
        .call::<_, (), NoException>("broken", &())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Protocol(e) if e.code == ErrorCode::Internal),
        "{err:?}"
    );
    let err = client
        .call::<_, (), NoException>("unfinished", &())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Protocol(e) if e.code == ErrorCode::NotImplemented),
        "{err:?}"
    );
    let err = client
        .call::<_, Whoami, NoException>("whoami", &())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "uid 0 may not call `whoami`");
    let _news = client.subscribe::<(u32,)>("news").await.unwrap();
}

/// The peer `peers_of_other_users_…` starts as uid 1234: calls and subscribes, printing one
/// `peer: ` line per outcome. Does nothing when run otherwise.
#[test]
#[ignore = "run by `peers_of_other_users_are_matched_by_uid_primary_gid_and_supplementary_groups`"]
fn peer_of_another_user() {
    let Some(socket) = std::env::var_os(PEER_SOCKET_ENV) else {
        return;
    };
    let client = medium_runtime::blocking::Client::connect_to(&INFO, socket).unwrap();
    let call_outcome = |result: Result<(), CallError<NoException>>| match result {
        Ok(()) => "ok".to_owned(),
        Err(CallError::Forbidden(refusal)) => format!("forbidden: {}", refusal.message),
        Err(other) => format!("failed: {other}"),
    };
    let whoami = client
        .call::<_, Whoami, NoException>("whoami", &())
        .map(|me| format!("ok, uid {}, gid {}, groups {:?}", me.uid, me.gid, me.groups));
    match whoami {
        Ok(me) => println!("peer: whoami: {me}"),
        Err(e) => println!("peer: whoami: {}", call_outcome(Err(e))),
    }
    let raw_args = client.call::<_, serde_bytes::ByteBuf, NoException>("raw_args", &());
    println!("peer: raw_args: {}", call_outcome(raw_args.map(drop)));
    let sleep = client.call::<_, u32, NoException>("sleep", &(0u64, 1u32));
    println!("peer: sleep: {}", call_outcome(sleep.map(drop)));
    // Each handler's own failure would read "failed: …": the rule must stop them first.
    for method in ["broken", "unfinished", "find"] {
        let outcome = client.call::<_, (), NoException>(method, &("x",));
        println!("peer: {method}: {}", call_outcome(outcome));
    }
    for event in ["tick", "news"] {
        let outcome = match client.subscribe::<(u32,)>(event) {
            Ok(_) => "ok".to_owned(),
            Err(Error::Subscribe { reason, .. }) if reason.code == ErrorCode::Forbidden => {
                format!("forbidden: {}", reason.message)
            }
            Err(other) => format!("failed: {other}"),
        };
        println!("peer: {event}: {outcome}");
    }
}
