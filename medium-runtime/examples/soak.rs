//! Soak test (not run in CI): a daemon process serves while applications keep connecting,
//! subscribing, calling with payloads of varied sizes and disconnecting, for N minutes. Every
//! 10 s it prints the daemon's resident memory; it fails if that grows by more than 32 MiB over
//! the level reached after the warm-up (the first fifth of the run, at least 10 s).
//!
//! ```text
//! cargo run --release -p medium-runtime --example soak -- 10     # ten minutes
//! ```
//!
//! The same binary is the daemon: it runs itself again with `--daemon SOCKET`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use medium_runtime::{
    Call, CallRunner, Client, Daemon, Dispatch, NoException, ProtocolInfo, Reply, Started,
};
use serde_bytes::ByteBuf;

const SOAK: ProtocolInfo = ProtocolInfo {
    namespace: "com.example.soak",
    class: "Soak",
    fingerprint: "50a4000000000000000000000000000000000000000000000000000000000000",
    socket_base: None,
    spec: "",
    events: &["echoed"],
    access: &[],
    uses_fd: false,
};

/// Applications running at once; each reconnects after every session.
const WORKERS: u64 = 32;
const CALLS_PER_SESSION: u64 = 20;
const ALLOWED_GROWTH_KIB: u64 = 32 * 1024;
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// `echo(blob)` answers the blob and emits `echoed(len)` to every subscriber.
struct Echo;

impl Dispatch for Echo {
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started> {
        (call.method() == "echo").then(|| {
            runner.run(async move {
                match medium_runtime::decode_args::<(ByteBuf,)>(call.args()) {
                    Ok((blob,)) => {
                        call.daemon()
                            .emit("echoed", &(blob.len() as u64,))
                            .expect("a length fits in a frame");
                        Reply::value(&blob)
                    }
                    Err(reply) => reply,
                }
            })
        })
    }
}

/// Kills the daemon process when the soak ends, however it ends.
struct DaemonProcess(Child);

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The daemon's resident set size in KiB (`VmRSS` in `/proc/PID/status`).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// One application's life: connect, subscribe, call with payloads of varied sizes, leave.
async fn session(path: &Path, seed: u64) -> Result<u64, String> {
    let client = Client::connect_to(&SOAK, path)
        .await
        .map_err(|e| e.to_string())?;
    let mut echoed = client.subscribe::<(u64,)>("echoed").await.unwrap();
    for k in 0..CALLS_PER_SESSION {
        // Sizes from a few bytes to 64 KiB, different for every call.
        let len = ((seed * 7919 + k * 104_729) % 65_536) as usize;
        let blob = ByteBuf::from(vec![(k % 251) as u8; len]);
        let back: ByteBuf = client
            .call::<_, _, NoException>("echo", &(&blob,))
            .await
            .map_err(|e| e.to_string())?;
        if back != blob {
            return Err(format!("echo of {len} bytes came back changed"));
        }
    }
    // Events from everyone's calls arrive too; taking one proves the stream works.
    echoed
        .next()
        .await
        .ok_or("event stream ended early")?
        .map_err(|e| e.to_string())?;
    Ok(CALLS_PER_SESSION)
}

async fn soak(minutes: f64) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("medium-soak-{}", std::process::id()));
    let path: PathBuf = dir.join("socket");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let daemon = DaemonProcess(
        Command::new(exe)
            .arg("--daemon")
            .arg(&path)
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    let pid = daemon.0.id();
    while std::os::unix::net::UnixStream::connect(&path).is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = Duration::from_secs_f64(minutes * 60.0);
    let warm_up = (total / 5).max(Duration::from_secs(10));
    let start = Instant::now();
    let calls = Arc::new(AtomicU64::new(0));
    let sessions = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let (path, calls, sessions) = (path.clone(), calls.clone(), sessions.clone());
        workers.push(tokio::spawn(async move {
            let mut seed = worker;
            while start.elapsed() < total {
                calls.fetch_add(session(&path, seed).await?, Ordering::Relaxed);
                sessions.fetch_add(1, Ordering::Relaxed);
                seed += WORKERS;
            }
            Ok::<(), String>(())
        }));
    }
    let mut baseline = None;
    let mut next_report = start + REPORT_EVERY;
    while start.elapsed() < total {
        tokio::time::sleep_until(next_report.into()).await;
        next_report += REPORT_EVERY;
        let rss = rss_kib(pid).ok_or("daemon process is gone")?;
        println!(
            "{:>6.0} s  daemon RSS {:>7} KiB  sessions {:>8}  calls {:>9}",
            start.elapsed().as_secs_f64(),
            rss,
            sessions.load(Ordering::Relaxed),
            calls.load(Ordering::Relaxed)
        );
        match baseline {
            None if start.elapsed() >= warm_up => baseline = Some(rss),
            Some(base) if rss > base + ALLOWED_GROWTH_KIB => {
                return Err(format!(
                    "daemon RSS grew from {base} KiB after warm-up to {rss} KiB"
                ));
            }
            _ => {}
        }
    }
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn serve(path: PathBuf) -> Result<(), String> {
    Daemon::new(&SOAK, Echo)
        .socket_path(path)
        .serve()
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.as_slice() {
        [flag, path] if flag == "--daemon" => serve(PathBuf::from(path)).await,
        [minutes] => match minutes.parse::<f64>() {
            Ok(minutes) if minutes > 0.0 => soak(minutes).await,
            _ => Err(format!("not a number of minutes: {minutes}")),
        },
        _ => Err("usage: soak MINUTES".to_owned()),
    };
    match outcome {
        Ok(()) => {
            println!("soak passed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}
