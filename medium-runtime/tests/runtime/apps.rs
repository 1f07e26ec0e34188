//! Applications: listing, peer credentials, connect/disconnect notifications, background work.

use std::time::Duration;

use futures::StreamExt;
use medium_runtime::{ApplicationEvent, DaemonOptions, Error, NoException};

use crate::support::{TestDaemon, Whoami};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_credentials_are_those_of_the_calling_process() {
    let daemon = TestDaemon::start().await;
    let client = daemon.client().await;
    let me: Whoami = client
        .call::<_, _, NoException>("whoami", &())
        .await
        .unwrap();
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    assert_eq!(me.pid, Some(std::process::id()));
    assert_eq!((me.uid, me.gid), (uid, gid));
    if cfg!(target_os = "linux") {
        let mut groups = vec![0; 256];
        // SAFETY: `groups` holds as many gids as the size passed.
        let count = unsafe { libc::getgroups(groups.len() as i32, groups.as_mut_ptr()) };
        groups.truncate(usize::try_from(count).unwrap());
        assert_eq!(
            me.groups,
            Some(groups),
            "supplementary groups (SO_PEERGROUPS)"
        );
    }
    let apps = daemon.handle.applications();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].id().get(), me.app);
    assert_eq!(apps[0].credentials().pid, Some(std::process::id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_disconnect_are_observable() {
    let daemon = TestDaemon::start().await;
    let mut events = daemon.handle.application_events();
    let first = daemon.client().await;
    let second = daemon.client().await;
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .unwrap()
            .unwrap()
    };
    let ApplicationEvent::Connected(a) = next().await else {
        panic!("expected a connection")
    };
    let ApplicationEvent::Connected(b) = next().await else {
        panic!("expected a connection")
    };
    assert_ne!(a.id(), b.id());
    drop(first);
    let ApplicationEvent::Disconnected(gone) = next().await else {
        panic!("expected a disconnection")
    };
    assert_eq!(daemon.handle.applications().len(), 1);
    let _: u32 = second
        .call::<_, _, NoException>("sleep", &(0u64, 1u32))
        .await
        .unwrap();
    assert!(gone == a || gone == b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_work_that_finishes_leaves_the_daemon_serving() {
    let daemon = TestDaemon::start_full(DaemonOptions::default(), async { Ok(()) }).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let client = daemon.client().await;
    let tag: u32 = client
        .call::<_, _, NoException>("sleep", &(0u64, 5u32))
        .await
        .unwrap();
    assert_eq!(tag, 5);
    assert!(!daemon.task.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_failure_shuts_the_daemon_down_with_its_error() {
    let daemon = TestDaemon::start_full(DaemonOptions::default(), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Err("sensor unplugged".into())
    })
    .await;
    let err = daemon.task.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Background(_)));
    assert_eq!(err.to_string(), "background task failed: sensor unplugged");
    assert!(!daemon.path.exists(), "socket removed");
}
