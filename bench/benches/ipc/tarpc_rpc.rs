//! The peer users would pick: tarpc over the same kind of Unix socket, with its serde transport
//! (a length-delimited codec) and MessagePack through tokio-serde — rmp-serde, the encoder the
//! runtime uses, so the figures compare RPC machinery rather than formats (bincode would be
//! faster to encode, and would make the comparison one of formats). Defaults everywhere (10 s
//! deadlines, tracing context per request), as a user would start.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::prelude::*;
use serde_bytes::ByteBuf;
use tarpc::server::{BaseChannel, Channel};
use tarpc::tokio_serde::formats::MessagePack;
use tarpc::{client, context, serde_transport};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use crate::child::{Daemon, Role};
use crate::side::{BenchResult, StudentClient, concurrent_callers, keep_in_flight};
use crate::student::{STUDENT_ID, Student, student};
use crate::wire::BULK_LEN;

/// Socket file of the tarpc server inside the bench's directory.
const SOCKET: &str = "tarpc.sock";

/// Largest frame either end accepts: the bulk case's 1 MiB plus envelope.
const MAX_FRAME: usize = 2 * BULK_LEN;

/// The bench's two calls as a tarpc service.
#[tarpc::service]
trait Bench {
    async fn get_student(id: String) -> Student;
    async fn echo_bytes(data: ByteBuf) -> ByteBuf;
}

#[derive(Debug, Clone)]
struct BenchServer;

impl Bench for BenchServer {
    async fn get_student(self, _: context::Context, id: String) -> Student {
        student(&id)
    }

    async fn echo_bytes(self, _: context::Context, data: ByteBuf) -> ByteBuf {
        data
    }
}

/// A length-delimited MessagePack transport over `stream`.
fn transport<Item, SinkItem>(
    stream: UnixStream,
) -> serde_transport::Transport<UnixStream, Item, SinkItem, MessagePack<Item, SinkItem>>
where
    Item: for<'de> serde::Deserialize<'de>,
    SinkItem: serde::Serialize,
{
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec();
    serde_transport::new(Framed::new(stream, codec), MessagePack::default())
}

/// Runs the tarpc server in this (child) process until it is killed.
pub async fn serve(dir: &Path) -> BenchResult<()> {
    let listener = UnixListener::bind(dir.join(SOCKET))?;
    loop {
        let (stream, _) = listener.accept().await?;
        let channel = BaseChannel::with_defaults(transport(stream));
        tokio::spawn(
            channel
                .execute(BenchServer.serve())
                .for_each(|response| async move {
                    tokio::spawn(response);
                }),
        );
    }
}

/// The client half of tarpc, talking to its server child.
#[derive(Debug)]
pub struct TarpcSide {
    daemon: Daemon,
    path: PathBuf,
}

impl TarpcSide {
    /// Starts the tarpc server child and waits until it listens.
    pub async fn start(dir: &Path) -> BenchResult<TarpcSide> {
        let path = dir.join(SOCKET);
        let daemon = Daemon::spawn(Role::Tarpc, dir, &path).await?;
        Ok(TarpcSide { daemon, path })
    }

    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    async fn client(&self) -> BenchResult<BenchClient> {
        let stream = UnixStream::connect(&self.path).await?;
        Ok(BenchClient::new(client::Config::default(), transport(stream)).spawn())
    }

    /// `calls` sequential `get_student` calls on one connection: the latency of each.
    pub async fn sequential(&self, calls: usize) -> BenchResult<Vec<Duration>> {
        let client = self.client().await?;
        let mut latencies = Vec::with_capacity(calls);
        for _ in 0..calls {
            let start = Instant::now();
            let reply = get_student(&client).await?;
            latencies.push(start.elapsed());
            if reply.id != STUDENT_ID {
                return Err(format!("get_student returned {reply:?}").into());
            }
        }
        Ok(latencies)
    }

    /// One connection keeping `window` calls in flight from one task until `calls` replies
    /// arrived: the wall time.
    pub async fn pipelined(&self, window: usize, calls: usize) -> BenchResult<Duration> {
        let client = self.client().await?;
        let start = Instant::now();
        keep_in_flight(&client, window, calls).await?;
        Ok(start.elapsed())
    }

    /// `callers` tasks sharing one client, each making `calls` sequential calls: the wall time.
    pub async fn callers(&self, callers: usize, calls: usize) -> BenchResult<Duration> {
        concurrent_callers(self.client().await?, callers, calls).await
    }

    /// `round_trips` sequential 1 MiB `echo_bytes` calls on one connection: the wall time.
    pub async fn bulk(&self, round_trips: usize) -> BenchResult<Duration> {
        let client = self.client().await?;
        let mut data = ByteBuf::from(vec![0xa5; BULK_LEN]);
        let start = Instant::now();
        for _ in 0..round_trips {
            // tarpc takes arguments by value: the echoed buffer is sent again rather than a copy.
            data = client.echo_bytes(context::current(), data).await?;
            if data.len() != BULK_LEN {
                return Err(format!("echo_bytes returned {} bytes", data.len()).into());
            }
        }
        Ok(start.elapsed())
    }
}

async fn get_student(client: &BenchClient) -> BenchResult<Student> {
    Ok(client
        .get_student(context::current(), STUDENT_ID.to_owned())
        .await?)
}

impl StudentClient for BenchClient {
    async fn get_student(&self) -> BenchResult<()> {
        get_student(self).await?;
        Ok(())
    }
}
