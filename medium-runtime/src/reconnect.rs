//! Surviving daemon restarts: the retry schedule ([`ReconnectPolicy`]) shared by
//! [`crate::Client::reconnect`] and the opt-in automatic reconnection ([`AutoReconnect`]), and
//! the connection states a client goes through ([`ConnectionState`]).
//!
//! Only "nobody answers yet" is retried. A daemon that answers and refuses (another
//! fingerprint, an application it does not allow) is reported at once: retrying would hide a
//! rebuilt daemon or a configuration error behind a long wait.

use std::time::Duration;

use crate::error::Error;

/// How reconnecting retries while the daemon is not (yet) back. `Default`: 20 attempts, 50 ms
/// after the first failure, doubling up to 1 s between attempts (about 15 s in all). Use
/// `attempts: u32::MAX` to keep trying for as long as the application runs.
#[derive(Debug, Clone)]
pub struct ReconnectPolicy {
    /// Connection attempts before giving up; 0 counts as 1.
    pub attempts: u32,
    /// Wait after the first failed attempt; it doubles after each further failure.
    pub initial_delay: Duration,
    /// Longest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            attempts: 20,
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
        }
    }
}

/// Automatic reconnection, switched on by setting [`crate::ClientOptions::auto_reconnect`].
///
/// When the connection drops (the daemon exited, crashed or was restarted), the client keeps
/// its event streams, connects again following `policy`, runs the handshake again and
/// re-subscribes every event that still has a stream. Each stream then yields one
/// [`crate::EventError::Reconnected`], because events fired while disconnected are lost, once
/// the daemon has confirmed its event's subscription: every event it emits after that reaches
/// the stream. Subscribing while reconnecting follows `calls_during_outage`, as a call does.
///
/// Calls pending when the connection dropped fail with [`Error::ConnectionClosed`] and are not
/// resent: the daemon may or may not have run them. Calls made while reconnecting follow
/// `calls_during_outage`.
///
/// If the attempts run out, or the restarted daemon refuses the handshake (e.g. it was rebuilt
/// from a changed spec: [`Error::HandshakeMismatch`]), the client closes for good: calls fail
/// with [`Error::ReconnectFailed`] carrying the reason, and every stream yields
/// [`crate::EventError::ReconnectFailed`] before it ends.
#[derive(Debug, Clone, Default)]
pub struct AutoReconnect {
    /// Retry schedule for one outage; it starts over after each successful reconnection.
    pub policy: ReconnectPolicy,
    /// What calls made while reconnecting do.
    pub calls_during_outage: OutageCalls,
}

/// What a call made while the client is reconnecting does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutageCalls {
    /// Fail at once with [`Error::Reconnecting`]; nothing is sent.
    #[default]
    FailFast,
    /// Wait until the connection is back, then send; bounded by the call's timeout. If
    /// reconnecting gives up, fail with [`Error::ReconnectFailed`].
    Wait,
}

/// Where a client's connection is; see [`crate::Client::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Connected and past the handshake.
    Connected,
    /// The connection dropped and [`AutoReconnect`] is trying to connect again.
    Reconnecting,
    /// Closed for good: calls fail and event streams have ended.
    Closed,
}

/// Runs `attempt` until it succeeds, fails with an error that retrying cannot fix, or
/// `policy`'s attempts run out (then its last error is returned).
pub(crate) async fn retry<T, F>(
    policy: &ReconnectPolicy,
    mut attempt: impl FnMut() -> F,
) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    let mut delay = policy.initial_delay;
    let mut attempts_left = policy.attempts.max(1);
    loop {
        attempts_left -= 1;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if attempts_left > 0 && nobody_answers_yet(&e) => {
                tracing::debug!(error = %e, ?delay, "daemon not back yet; retrying");
            }
            Err(e) => return Err(e),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(policy.max_delay);
    }
}

/// Whether `e` means the daemon is not there (yet), as while it restarts: nothing listens, or
/// the connection dropped before the handshake finished.
fn nobody_answers_yet(e: &Error) -> bool {
    matches!(
        e,
        Error::NotRunning { .. } | Error::NotMedium { .. } | Error::Path { .. } | Error::Io(_)
    )
}
