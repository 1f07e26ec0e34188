//! How many connections the daemon serves at once, in total and per peer uid
//! (`DaemonOptions::max_connections`, `max_connections_per_uid`). A connection takes a
//! [`ConnectionSlot`] when it is accepted and gives it back when its socket is closed; one over
//! a limit is refused (`FATAL` code 11) instead of served.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::exception::{ErrorCode, ProtocolError};

/// Most connections by default, whatever the open-file limit.
const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The process's open-file soft limit, `None` when unlimited or unknown.
fn open_file_limit() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and has no other preconditions.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
}

/// The default for `DaemonOptions::max_connections`: the lower of 4,096 and 90 % of the
/// process's open-file soft limit (`RLIMIT_NOFILE`), so the daemon still has file descriptors
/// left to accept, refuse and log when the limit is reached.
pub(crate) fn default_max_connections() -> usize {
    match open_file_limit() {
        Some(soft) => (soft / 10 * 9 + soft % 10 * 9 / 10).clamp(1, DEFAULT_MAX_CONNECTIONS),
        None => DEFAULT_MAX_CONNECTIONS,
    }
}

/// Most refused connections kept open at once for their peers to read why: 32, or half the
/// file descriptors the connection limit leaves under the open-file limit if that is fewer
/// (at least 1). Refusals beyond it are written without waiting and closed at once.
pub(crate) fn refusals_at_once(max_connections: usize) -> usize {
    let spare = open_file_limit().map_or(usize::MAX, |soft| soft.saturating_sub(max_connections));
    (spare / 2).clamp(1, MAX_REFUSALS_AT_ONCE)
}

/// Most refused connections kept open at once, whatever the open-file limit.
const MAX_REFUSALS_AT_ONCE: usize = 32;

/// The connections being served, counted against the limits.
#[derive(Debug)]
pub(crate) struct ConnectionLimits {
    max_total: usize,
    max_per_uid: usize,
    counts: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_uid: HashMap<u32, usize>,
}

impl ConnectionLimits {
    pub(crate) fn new(max_total: usize, max_per_uid: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_total,
            max_per_uid,
            counts: Arc::default(),
        }
    }

    /// A slot for a connection from `uid`, or the refusal to send when a limit is reached.
    pub(crate) fn admit(&self, uid: u32) -> Result<ConnectionSlot, ProtocolError> {
        let mut counts = lock(&self.counts);
        if counts.total >= self.max_total {
            return Err(ProtocolError::new(
                ErrorCode::TooManyConnections,
                format!(
                    "too many connections: the daemon already serves its limit of {} \
                     (max_connections); close some or try again later",
                    self.max_total
                ),
            ));
        }
        let of_uid = counts.per_uid.entry(uid).or_default();
        if *of_uid >= self.max_per_uid {
            return Err(ProtocolError::new(
                ErrorCode::TooManyConnections,
                format!(
                    "too many connections: uid {uid} already has its limit of {} \
                     (max_connections_per_uid); close some or try again later",
                    self.max_per_uid
                ),
            ));
        }
        *of_uid += 1;
        counts.total += 1;
        Ok(ConnectionSlot {
            uid,
            counts: self.counts.clone(),
        })
    }
}

/// One admitted connection's place in [`ConnectionLimits`], given back when dropped (held until
/// the connection's socket is closed, by its reader and its writer).
#[derive(Debug)]
pub(crate) struct ConnectionSlot {
    uid: u32,
    counts: Arc<Mutex<Counts>>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        counts.total -= 1;
        if let Some(of_uid) = counts.per_uid.get_mut(&self.uid) {
            *of_uid -= 1;
            if *of_uid == 0 {
                counts.per_uid.remove(&self.uid);
            }
        }
    }
}

/// At most one warning about refused connections per this long.
const REFUSAL_WARNING_INTERVAL: Duration = Duration::from_secs(1);

/// Rate-limits the warnings about refused connections: a peer hammering a full daemon must not
/// flood its log.
#[derive(Debug, Default)]
pub(crate) struct RefusalWarnings {
    state: Mutex<(Option<Instant>, u64)>,
}

impl RefusalWarnings {
    /// `Some(n)` when a warning is due, `n` being how many refusals went unlogged since the
    /// last one; `None` to stay quiet.
    pub(crate) fn due(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if state
            .0
            .is_some_and(|last| now.duration_since(last) < REFUSAL_WARNING_INTERVAL)
        {
            state.1 += 1;
            return None;
        }
        let suppressed = state.1;
        *state = (Some(now), 0);
        Some(suppressed)
    }
}

fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    counts.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_and_per_uid_limits_refuse_and_slots_give_back() {
        let limits = ConnectionLimits::new(3, 2);
        let a1 = limits.admit(1).unwrap();
        let _a2 = limits.admit(1).unwrap();
        let refused = limits.admit(1).unwrap_err();
        assert_eq!(refused.code, ErrorCode::TooManyConnections);
        assert!(refused.message.contains("max_connections_per_uid"));
        let _b1 = limits.admit(2).unwrap();
        let refused = limits.admit(3).unwrap_err();
        assert!(refused.message.contains("limit of 3 (max_connections)"));
        drop(a1);
        let _a3 = limits.admit(1).unwrap();
        assert_eq!(lock(&limits.counts).per_uid.len(), 2);
    }

    #[test]
    fn default_stays_below_the_open_file_limit() {
        let max = default_max_connections();
        assert!((1..=DEFAULT_MAX_CONNECTIONS).contains(&max));
        if let Some(soft) = open_file_limit().filter(|&soft| soft >= 10) {
            assert!(max <= soft / 10 * 9 + 1, "{max} of {soft}");
            assert!(max + refusals_at_once(max) <= soft);
        }
    }
}
