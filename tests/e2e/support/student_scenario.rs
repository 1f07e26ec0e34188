//! The student scenario both the Rust-only and the cross-language tests run: the same
//! checks, whichever language the daemon and the apps are written in. The apps are driven by
//! lines on stdin (`get ID`, `update ID NAME`) and print answers and `event …` lines; the daemon
//! prints `ready` and, for each call, the applications it sees.

use super::Spawned;

/// Two apps subscribe (no call needed: subscribing returns once the daemon confirmed) and the
/// daemon sees both by pid; an unknown id is the typed exception; an update reaches both apps
/// and the model comes back from a call (printed as `ada`); a draft is sent `.to` its author
/// only.
pub fn student_scenario(daemon: &mut Spawned, start_app: &dyn Fn(&str) -> Spawned, ada: &str) {
    daemon.wait_for_line("ready line", |line| line.starts_with("ready"));
    let mut first = start_app("first app");
    first.wait_for_line("subscribed line", |line| line.starts_with("subscribed"));
    let mut second = start_app("second app");
    assert_eq!(
        second.wait_for_line("subscribed line", |line| line.starts_with("subscribed")),
        "subscribed"
    );

    // An unknown id is the typed `StudentNotFound` exception.
    first.send_line("get s1");
    assert_eq!(
        first.wait_for_line("answer", is_answer),
        "get s1: not found: no student with id s1"
    );
    // The daemon's application list, as that call saw it: both apps, by the pids the kernel
    // reported for their connections.
    let first_call = format!("call get_student from pid={};", first.pid());
    let line = daemon.wait_for_line("first app's call", |line| line.starts_with(&first_call));
    let mut expected = vec![first.pid(), second.pid()];
    expected.sort_unstable();
    assert_eq!(application_pids(&line), expected, "{line}");

    // An update reaches both subscribed apps, and the model comes back from a call.
    first.send_line("update s1 Ada");
    assert_eq!(first.wait_for_line("answer", is_answer), "update s1: ok");
    for app in [&mut first, &mut second] {
        assert_eq!(
            app.wait_for_line("event", is_event),
            "event student_added s1 Ada"
        );
    }
    second.send_line("get s1");
    assert_eq!(
        second.wait_for_line("answer", is_answer),
        format!("get s1: {ada}")
    );

    // A draft is announced `.to` the app that saved it only. Events reach an app in the order
    // they were fired, so the second app getting the next public event first proves the draft
    // never reached it, without waiting out a grace period.
    first.send_line("update draft-1 Bea");
    assert_eq!(
        first.wait_for_line("answer", is_answer),
        "update draft-1: ok"
    );
    assert_eq!(
        first.wait_for_line("event", is_event),
        "event student_added draft-1 Bea"
    );
    first.send_line("update s2 Cy");
    assert_eq!(first.wait_for_line("answer", is_answer), "update s2: ok");
    assert_eq!(
        first.wait_for_line("event", is_event),
        "event student_added s2 Cy"
    );
    assert_eq!(
        second.wait_for_line("event", is_event),
        "event student_added s2 Cy",
        "the draft sent `.to` the first app reached the second"
    );
    assert!(daemon.is_running(), "the daemon stopped");
}

/// The pids in a daemon line `call … from pid=P; applications: pid=P1 pid=P2`, sorted.
fn application_pids(line: &str) -> Vec<u32> {
    let (_, list) = line
        .split_once("; applications: ")
        .unwrap_or_else(|| panic!("no application list in `{line}`"));
    let mut pids: Vec<u32> = list
        .split(' ')
        .map(|app| {
            app.strip_prefix("pid=")
                .and_then(|pid| pid.parse().ok())
                .unwrap_or_else(|| panic!("no pid for `{app}` in `{line}`"))
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Whether `line` is an answer line (not an event) of a listening app.
fn is_answer(line: &str) -> bool {
    !is_event(line)
}

/// Whether `line` is an event a listening app received.
fn is_event(line: &str) -> bool {
    line.starts_with("event ")
}
