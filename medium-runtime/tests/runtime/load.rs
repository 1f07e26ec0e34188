//! Load: a thousand applications connected at once, each calling and receiving both broadcast
//! and targeted events, every answer checked.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use medium_runtime::{Client, NoException};
use tokio::sync::Barrier;

use crate::support::TestDaemon;

const APPS: usize = 1000;
const CALLS_PER_APP: u32 = 5;
const BROADCASTS: u32 = 3;

/// Each connection costs two descriptors in this process (client and daemon end), more than the
/// common default soft limit of 1024: raise the soft limit towards the hard limit.
fn raise_open_file_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < needed {
            limit.rlim_cur = needed.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
        assert!(
            limit.rlim_cur >= needed,
            "the hard open-file limit ({}) is below the {needed} this test needs",
            limit.rlim_max
        );
    }
}

/// One application's session: calls with distinct tags, a broadcast stream and an event sent
/// to it alone. Returns how many answers and events it checked.
async fn session(client: Client, index: u32, ready: Arc<Barrier>, go: Arc<Barrier>) -> u32 {
    let mut news = client.subscribe::<(u32,)>("news").await.unwrap();
    let mut mine = client.subscribe::<(u32,)>("mine").await.unwrap();
    ready.wait().await;
    go.wait().await;
    let mut checked = 0;
    let calls = (0..CALLS_PER_APP).map(|k| {
        let client = &client;
        async move {
            let tag = index * 100 + k;
            let back: u32 = client
                .call::<_, _, NoException>("sleep", &(0u64, tag))
                .await
                .unwrap();
            assert_eq!(back, tag);
        }
    });
    futures::future::join_all(calls).await;
    checked += CALLS_PER_APP;
    let queued: bool = client
        .call::<_, _, NoException>("emit_to_me", &("mine", index))
        .await
        .unwrap();
    assert!(queued);
    let within = Duration::from_secs(20);
    let (only_mine,) = tokio::time::timeout(within, mine.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(only_mine, index);
    checked += 1;
    for n in 0..BROADCASTS {
        let (got,) = tokio::time::timeout(within, news.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(got, n, "broadcasts arrive in order, none lost");
        checked += 1;
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_connected_applications_all_get_correct_answers_and_events() {
    raise_open_file_limit(2 * APPS as u64 + 256);
    let daemon = TestDaemon::start().await;
    let ready = Arc::new(Barrier::new(APPS + 1));
    let go = Arc::new(Barrier::new(APPS + 1));
    // Connected one after another (a burst of simultaneous connects would only test the listen
    // backlog); the sessions then all run at once.
    let mut sessions = Vec::with_capacity(APPS);
    for index in 0..APPS as u32 {
        let client = daemon.client().await;
        sessions.push(tokio::spawn(session(
            client,
            index,
            ready.clone(),
            go.clone(),
        )));
    }
    ready.wait().await;
    assert_eq!(daemon.handle.applications().len(), APPS);
    for n in 0..BROADCASTS {
        assert_eq!(
            daemon.handle.emit("news", &(n,)).unwrap(),
            APPS,
            "every app subscribed"
        );
    }
    go.wait().await;
    let mut checked = 0;
    for session in sessions {
        checked += session.await.unwrap();
    }
    assert_eq!(
        checked,
        APPS as u32 * (CALLS_PER_APP + 1 + BROADCASTS),
        "every call answered and every event received"
    );
}
