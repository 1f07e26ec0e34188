//! `cargo medium monitor [EVENT…]`: subscribes to a running daemon's events (all of its spec's
//! by default) and prints each as one JSON line (`time` in seconds since the Unix epoch,
//! `event`, `args` by parameter name) until interrupted. The daemon going away is a failure
//! (exit 101) with a message saying so, unless `--follow` waits for it to come back (the
//! runtime's automatic reconnection, retrying for as long as the monitor runs).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use cargo_medium::check::Event;
use cargo_medium::inspect::{Received, decoding_event_args, event_line, protocol_info};
use cargo_medium::shell::Shell;
use futures::StreamExt;
use medium_runtime::{
    AutoReconnect, Client, ClientOptions, ConnectionState, EventError, OutageCalls, ReconnectPolicy,
};

use super::daemon;
use crate::cli::{GlobalArgs, MonitorArgs};

pub fn run(args: &MonitorArgs, global: &GlobalArgs, shell: &mut Shell) -> anyhow::Result<()> {
    let daemon::InspectedDaemon {
        socket,
        introspection,
        spec,
    } = daemon::inspect(&args.daemon, global, shell)?;
    let events: Vec<&Event> = if args.events.is_empty() {
        spec.events.iter().collect()
    } else {
        args.events
            .iter()
            .map(|name| {
                spec.events.iter().find(|e| &e.name == name).ok_or_else(|| {
                    let names: Vec<&str> = spec.events.iter().map(|e| e.name.as_str()).collect();
                    anyhow!(
                        "{}.{} has no event `{name}` (events: {})",
                        spec.namespace,
                        spec.class,
                        names.join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    if events.is_empty() {
        return Err(anyhow!(
            "{}.{} declares no events to monitor",
            spec.namespace,
            spec.class
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let options = ClientOptions {
            socket_path: Some(socket.clone()),
            auto_reconnect: args.follow.then(|| AutoReconnect {
                policy: ReconnectPolicy {
                    attempts: u32::MAX,
                    ..ReconnectPolicy::default()
                },
                calls_during_outage: OutageCalls::FailFast,
            }),
            ..ClientOptions::default()
        };
        let client = Client::connect_with(protocol_info(&introspection, &spec), options).await?;
        // Every subscription is confirmed before the monitor says it is listening.
        let (client, spec) = (&client, &spec);
        let subscribed = events.iter().map(|event| async move {
            let mut stream = client.subscribe::<Received>(&event.name).await?;
            // Each event is decoded as it is polled, by its parameters' types.
            let stream = futures::stream::poll_fn(move |cx| {
                decoding_event_args(spec, event, || stream.poll_next_unpin(cx))
            });
            Ok::<_, medium_runtime::Error>(stream.map(move |item| (*event, item)))
        });
        let streams = futures::future::try_join_all(subscribed).await?;
        let mut all = futures::stream::select_all(streams);
        shell.status(
            "Monitoring",
            format!(
                "{} event{} of {}.{} at {}",
                events.len(),
                if events.len() == 1 { "" } else { "s" },
                spec.namespace,
                spec.class,
                socket.display()
            ),
        );
        let mut state = ConnectionState::Connected;
        loop {
            let (event, item) = tokio::select! {
                next = all.next() => match next {
                    Some(next) => next,
                    None => break,
                },
                changed = client.state_change(state) => {
                    state = changed;
                    match state {
                        ConnectionState::Reconnecting => shell.status(
                            "Waiting",
                            format!("for the daemon at {} to come back", socket.display()),
                        ),
                        ConnectionState::Connected => shell.status(
                            "Reconnected",
                            "events fired while the daemon was away were missed",
                        ),
                        _ => {}
                    }
                    continue;
                }
            };
            match item {
                Ok(Received(args)) => {
                    let line = event_line(event, &args, now());
                    shell.out(&format!("{line}\n"))?;
                }
                Err(EventError::Lagged { dropped }) => {
                    shell.warn(format!(
                        "missed {dropped} events (this monitor fell behind)"
                    ));
                }
                // Said once above, when the state changed, rather than once per stream.
                Err(EventError::Reconnected) => {}
                Err(EventError::ReconnectFailed(reason)) => {
                    return Err(match &*reason {
                        medium_runtime::Error::HandshakeMismatch { daemon, .. } => anyhow!(
                            "the daemon at {} came back as {daemon}, built from another spec: \
                             run `cargo medium monitor` again to follow it",
                            socket.display()
                        ),
                        _ => anyhow!("the daemon at {} went away: {reason}", socket.display()),
                    });
                }
                Err(e) => shell.warn(format!("`{}`: {e}", event.name)),
            }
        }
        Err(anyhow!(
            "the daemon at {} went away (connection closed)",
            socket.display()
        ))
    })
}

/// Seconds since the Unix epoch.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
