//! The request ids of one daemon connection that have not been answered yet. A request whose
//! id is already in flight is a protocol violation (PROTOCOL.md: the connection gets `FATAL`
//! 6), since its reply could not be told apart from the other's. Only calls that outlive the
//! reader's turn (their handler had to wait) are entered; one answered at once never is, as no
//! other request is read meanwhile. The set holds at most the connection's call budget. No I/O
//! here.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The ids of the requests a connection is still to answer.
#[derive(Debug, Default)]
pub(crate) struct RequestsInFlight {
    ids: Mutex<HashSet<u64>>,
    /// How many ids `ids` holds, readable without its lock: while no call is waiting, checking
    /// an id costs one load.
    count: AtomicUsize,
}

/// A request id taken by a request in flight, given back when dropped: drop it before the
/// reply is sent, since the peer may reuse the id as soon as it has the reply.
#[derive(Debug)]
pub(crate) struct InFlight {
    requests: Arc<RequestsInFlight>,
    id: u64,
}

/// A request reused the id of one still in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("request id {id} is already in use by a request in flight")]
pub(crate) struct DuplicateRequestId {
    pub(crate) id: u64,
}

impl RequestsInFlight {
    /// Fails if a request in flight has `id`.
    pub(crate) fn check(&self, id: u64) -> Result<(), DuplicateRequestId> {
        if self.count.load(Ordering::Acquire) == 0 || !self.ids().contains(&id) {
            return Ok(());
        }
        Err(DuplicateRequestId { id })
    }

    /// Takes `id` for a request until the returned guard is dropped; fails if another request
    /// in flight has it.
    pub(crate) fn claim(self: &Arc<Self>, id: u64) -> Result<InFlight, DuplicateRequestId> {
        let mut ids = self.ids();
        if !ids.insert(id) {
            return Err(DuplicateRequestId { id });
        }
        self.count.store(ids.len(), Ordering::Release);
        Ok(InFlight {
            requests: self.clone(),
            id,
        })
    }

    fn ids(&self) -> MutexGuard<'_, HashSet<u64>> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut ids = self.requests.ids();
        ids.remove(&self.id);
        self.requests.count.store(ids.len(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_taken_until_its_guard_is_dropped() {
        let requests = Arc::new(RequestsInFlight::default());
        assert_eq!(requests.check(7), Ok(()));
        let seven = requests.claim(7).unwrap();
        let _eight = requests.claim(8).unwrap();
        assert_eq!(requests.claim(7).unwrap_err(), DuplicateRequestId { id: 7 });
        assert_eq!(requests.check(7), Err(DuplicateRequestId { id: 7 }));
        assert_eq!(requests.check(9), Ok(()));
        drop(seven);
        assert_eq!(requests.check(7), Ok(()));
        let _again = requests.claim(7).unwrap();
        assert_eq!(
            DuplicateRequestId { id: 7 }.to_string(),
            "request id 7 is already in use by a request in flight"
        );
    }
}
