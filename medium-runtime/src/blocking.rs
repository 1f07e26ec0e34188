//! A blocking client for programs without an async runtime (plain `fn main`), LibMedium's
//! plain calls. It owns a one-worker tokio runtime that keeps the connection's reader and
//! writer running between calls.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{self, ClientOptions};
use crate::error::Error;
use crate::event_stream::{EventError, EventStream};
use crate::exception::{CallError, ExceptionSet};
use crate::introspection::{self, Introspection};
use crate::protocol_info::ProtocolInfo;
use crate::reconnect::{ConnectionState, ReconnectPolicy};

/// A blocking connection to a daemon. Cheap to clone. Do not use it from inside an async task
/// (it blocks the thread); use the async [`crate::Client`] there.
#[derive(Debug, Clone)]
pub struct Client {
    // Declared before `runtime` so the connection is dropped while the runtime still runs.
    inner: client::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Client {
    /// Connects to the daemon at [`crate::socket_path()`]`(info)`.
    pub fn connect(info: &'static ProtocolInfo) -> Result<Client, Error> {
        Client::connect_with(info, ClientOptions::default())
    }

    /// Connects to the daemon at `path`.
    pub fn connect_to(
        info: &'static ProtocolInfo,
        path: impl AsRef<Path>,
    ) -> Result<Client, Error> {
        let options = ClientOptions {
            socket_path: Some(path.as_ref().to_owned()),
            ..ClientOptions::default()
        };
        Client::connect_with(info, options)
    }

    /// Connects with explicit options.
    pub fn connect_with(
        info: &'static ProtocolInfo,
        options: ClientOptions,
    ) -> Result<Client, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("medium-client")
            .enable_all()
            .build()?;
        let inner = runtime.block_on(client::Client::connect_with(info, options))?;
        Ok(Client {
            inner,
            runtime: Arc::new(runtime),
        })
    }

    /// Calls `method` with positional `args` and waits for the reply.
    pub fn call<A, R, E>(&self, method: &str, args: &A) -> Result<R, CallError<E>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
        E: ExceptionSet,
    {
        self.runtime.block_on(self.inner.call(method, args))
    }

    /// Calls `method`, failing with [`Error::Timeout`] after `timeout`.
    pub fn call_with_timeout<A, R, E>(
        &self,
        method: &str,
        args: &A,
        timeout: Duration,
    ) -> Result<R, CallError<E>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
        E: ExceptionSet,
    {
        self.runtime
            .block_on(self.inner.call_with_timeout(method, args, timeout))
    }

    /// Subscribes to `event` and returns once the daemon confirms: every event it emits after
    /// that reaches the iterator, which blocks for each next occurrence and ends when the
    /// connection closes. Fails as [`crate::Client::subscribe`] does.
    pub fn subscribe<T: DeserializeOwned + Send + 'static>(
        &self,
        event: &str,
    ) -> Result<EventIter<T>, Error> {
        Ok(EventIter {
            stream: self.runtime.block_on(self.inner.subscribe(event))?,
            runtime: self.runtime.clone(),
        })
    }

    /// The socket this client is connected to.
    pub fn socket_path(&self) -> &Path {
        self.inner.socket_path()
    }

    /// Where the connection is; see [`crate::Client::state`].
    pub fn state(&self) -> ConnectionState {
        self.inner.state()
    }

    /// Whether the connection has ended for good; see [`crate::Client::is_closed`].
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// A new connection to the same daemon; see [`crate::Client::reconnect`]. Blocks while it
    /// retries.
    pub fn reconnect(&self, policy: &ReconnectPolicy) -> Result<Client, Error> {
        let inner = self.runtime.block_on(self.inner.reconnect(policy))?;
        Ok(Client {
            inner,
            runtime: self.runtime.clone(),
        })
    }

    /// The async client underneath, e.g. to hand to async code.
    pub fn as_async(&self) -> &client::Client {
        &self.inner
    }
}

/// Asks the daemon at `path` what it speaks; see [`crate::introspect`].
pub fn introspect(path: impl AsRef<Path>) -> Result<Introspection, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(introspection::introspect(path))
}

/// Blocking iterator over one subscribed event.
#[derive(Debug)]
pub struct EventIter<T> {
    stream: EventStream<T>,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl<T: DeserializeOwned> Iterator for EventIter<T> {
    type Item = Result<T, EventError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.runtime.block_on(self.stream.next())
    }
}
