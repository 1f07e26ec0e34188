//! `cargo medium monitor [EVENT…]`: subscribes to a running daemon's events (all of its spec's
//! by default) and prints each as one JSON line (`time` in seconds since the Unix epoch,
//! `event`, `args` by parameter name) until interrupted. The daemon going away is a failure
//! (exit 101) with a message saying so.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use cargo_medium::check::Event;
use cargo_medium::inspect::{event_line, protocol_info};
use cargo_medium::shell::Shell;
use futures::StreamExt;
use medium_runtime::{Client, EventError};

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
        let client = Client::connect_to(protocol_info(&introspection), &socket).await?;
        let streams = events.iter().map(|event| {
            client
                .subscribe::<rmpv::Value>(&event.name)
                .map(move |item| (*event, item))
        });
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
        while let Some((event, item)) = all.next().await {
            match item {
                Ok(args) => {
                    let line = event_line(event, &args, now());
                    shell.out(&format!("{line}\n"));
                }
                Err(EventError::Lagged { dropped }) => {
                    shell.warn(format!(
                        "missed {dropped} events (this monitor fell behind)"
                    ));
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
