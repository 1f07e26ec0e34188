//! Who is connected to a daemon: one `Application` per connection, with the peer's kernel
//! credentials. Plain data; the daemon's connection table owns the live state.

use std::fmt;
use std::sync::Arc;

/// Identifies one connection for the daemon's lifetime; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApplicationId(pub(crate) u64);

impl ApplicationId {
    /// The number inside, e.g. for logs or maps keyed by integers.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "app#{}", self.0)
    }
}

/// The peer's process credentials as the kernel reported them when it connected (SO_PEERCRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerCredentials {
    /// Process id, when the kernel knows it.
    pub pid: Option<u32>,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// A connected application, as handlers and `DaemonHandle::applications` see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub(crate) id: ApplicationId,
    pub(crate) credentials: PeerCredentials,
    pub(crate) groups: Option<Arc<[u32]>>,
}

impl Application {
    /// This connection's id.
    pub fn id(&self) -> ApplicationId {
        self.id
    }

    /// The peer's pid, uid and gid.
    pub fn credentials(&self) -> PeerCredentials {
        self.credentials
    }

    /// The peer's supplementary groups, as the kernel recorded them when it connected
    /// (`SO_PEERGROUPS`, read once at accept; Linux 4.13 and later). `None` where the kernel
    /// cannot tell (other systems, older kernels): then only the primary gid,
    /// [`PeerCredentials::gid`], is known, and it is all that `@allow` rules' `gid` and `group`
    /// terms match.
    pub fn groups(&self) -> Option<&[u32]> {
        self.groups.as_deref()
    }
}

/// An application connected (after a successful handshake) or disconnected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplicationEvent {
    /// The application finished its handshake and can call methods.
    Connected(Application),
    /// The application's connection is gone; its subscriptions are dropped.
    Disconnected(Application),
}
