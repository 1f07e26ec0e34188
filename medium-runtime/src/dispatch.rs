//! The seam between the runtime and a service: the runtime decodes a call frame into a `Call`
//! and the service's `Dispatch` hands the future producing its `Reply` to the call's
//! `CallRunner`.

use std::os::fd::OwnedFd;
use std::sync::{Mutex, PoisonError};

use serde::de::DeserializeOwned;

use crate::ancillary::FdHold;
use crate::application::Application;
use crate::connection::CallStart;
use crate::exception::{ErrorCode, ProtocolError};
use crate::fd::Rejected;
use crate::handle::DaemonHandle;
use crate::message::FrameStr;
use crate::reply::{self, Reply};
use crate::value_decoder;
use crate::well_formed::WellFormed;

/// Routes calls to a service. Generated code implements it; so can a hand-written service.
pub trait Dispatch: Send + Sync + 'static {
    /// Hands the future that handles `call` to `runner` and returns what [`CallRunner::run`]
    /// gives, or returns `None` when there is no such method (the runtime then replies
    /// `UnknownMethod`). The runtime polls the future once right away and, if it is not done,
    /// moves it to its own task, so a slow handler never blocks other calls (a handler that
    /// blocks its thread without awaiting still does). A panic, here or in the future, becomes
    /// a `HandlerPanicked` reply.
    fn dispatch(&self, call: Call, runner: CallRunner<'_>) -> Option<Started>;
}

/// Runs the future that handles one call: [`Dispatch::dispatch`] gets one per call. Taking the
/// future's own type (not a boxed one) lets the runtime keep it in a box it reuses: a call whose
/// handler is done at its first poll costs no allocation for its future.
#[derive(Debug)]
pub struct CallRunner<'a>(pub(crate) CallStart<'a>);

impl CallRunner<'_> {
    /// Runs `future`, whose output is the call's reply.
    pub fn run<F>(self, future: F) -> Started
    where
        F: Future<Output = Reply> + Send + 'static,
    {
        self.0.run(future);
        Started(())
    }

    /// Answers with `reply`, made without waiting for anything.
    pub fn reply(self, reply: Reply) -> Started {
        self.run(std::future::ready(reply))
    }
}

/// Proof that [`CallRunner::run`] ran a call's handler: only it makes one. Return it from
/// [`Dispatch::dispatch`] as `Some(started)`; returning `None` after running a handler would
/// answer the call twice (its handler's reply, then `UnknownMethod`).
#[derive(Debug)]
#[must_use = "return it from `Dispatch::dispatch` as `Some(started)`: `None` also answers `UnknownMethod`"]
pub struct Started(());

/// One incoming method call.
#[derive(Debug)]
pub struct Call {
    pub(crate) method: FrameStr,
    pub(crate) args: WellFormed,
    pub(crate) application: Application,
    pub(crate) daemon: DaemonHandle,
    /// The descriptors attached to the call's frame, until its arguments take them.
    pub(crate) fds: Mutex<Vec<OwnedFd>>,
    /// Counts them in the connection's `max_fds_in_flight` while the call runs.
    pub(crate) _fds_held: Option<FdHold>,
}

impl Call {
    /// The method's spec name.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The arguments: one MessagePack array, decode with [`Call::decode_args`].
    pub fn args(&self) -> &[u8] {
        self.args.bytes()
    }

    /// Decodes the arguments as [`crate::decode_args`] does, except that a [`crate::Binary`]
    /// among them is a slice of the received frame rather than a copy, and each
    /// [`Fd`](crate::Fd) takes its descriptor from those attached to the call (once: a second
    /// decode finds them taken). Indices that disagree with the attached descriptors give the
    /// `BadDescriptors` reply (code 15) and close them all (PROTOCOL.md §3.1).
    pub fn decode_args<T: DeserializeOwned>(&self) -> Result<T, Reply> {
        let fds = std::mem::take(&mut *self.fds.lock().unwrap_or_else(PoisonError::into_inner));
        value_decoder::arguments(&self.args, fds).map_err(|e| match e {
            Rejected::Shape(e) => reply::bad_arguments(e),
            Rejected::Descriptors(why) => Reply::protocol_error(ProtocolError::new(
                ErrorCode::BadDescriptors,
                format!("descriptors of the call disagree with its arguments: {why}"),
            )),
        })
    }

    /// The application that made the call.
    pub fn application(&self) -> &Application {
        &self.application
    }

    /// The daemon serving the call, e.g. to emit events from a handler.
    pub fn daemon(&self) -> &DaemonHandle {
        &self.daemon
    }
}
