//! The outgoing side of one connection. A sender writes its frame straight to the socket when
//! nothing is queued (no task hop on the fast path); otherwise frames queue up and one writer
//! task drains them, many frames per `writev`. Events may be dropped when the queue is full
//! (with a lagged notice later); everything else is always queued.

use std::collections::VecDeque;
use std::io::{ErrorKind, IoSlice};
use std::os::unix::io::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Buf, Bytes};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::Notify;

use crate::lossy::{Delivery, LagCounter};

/// Frames coalesced into one write at most; bounds the iovec array and the time one write takes.
const MAX_BATCH_FRAMES: usize = 64;

#[derive(Debug)]
pub(crate) struct Outbox {
    state: Mutex<State>,
    socket: OwnedWriteHalf,
    /// Frames queued beyond this count make events drop and the reader wait.
    capacity: usize,
    wake_writer: Notify,
    room: Notify,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Bytes>,
    /// The writer task owns the socket: it has frames in hand or queued. While false and the
    /// queue is empty, a sender may write directly.
    writer_busy: bool,
    closed: bool,
    /// A final frame is queued: nothing more is accepted, and the writer closes the socket's
    /// write side once the queue is drained.
    sealed: bool,
    senders: usize,
    lag: LagCounter,
}

/// A handle that sends through an [`Outbox`]. When the last one is dropped, the writer flushes
/// what is queued and shuts the socket's write side.
#[derive(Debug)]
pub(crate) struct OutboxSender(Arc<Outbox>);

impl Outbox {
    /// The outbox and the writer task's future; the caller spawns the future.
    pub(crate) fn open(
        socket: OwnedWriteHalf,
        capacity: usize,
    ) -> (OutboxSender, impl Future<Output = ()> + Send + 'static) {
        let outbox = Arc::new(Outbox {
            state: Mutex::new(State {
                senders: 1,
                ..State::default()
            }),
            socket,
            capacity: capacity.max(2),
            wake_writer: Notify::new(),
            room: Notify::new(),
        });
        (OutboxSender(outbox.clone()), outbox.run_writer())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes directly if the socket is ours to use right now, else queues for the writer.
    fn enqueue(&self, state: &mut State, mut frame: Bytes) {
        if !state.writer_busy && state.queue.is_empty() {
            match self.socket.try_write(&frame) {
                Ok(n) if n == frame.len() => return,
                Ok(n) => frame.advance(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => {
                    tracing::debug!(error = %e, "write failed");
                    self.fail(state);
                    return;
                }
            }
        }
        state.queue.push_back(frame);
        if !state.writer_busy {
            state.writer_busy = true;
            self.wake_writer.notify_one();
        }
    }

    fn fail(&self, state: &mut State) {
        state.closed = true;
        state.queue.clear();
        self.wake_writer.notify_one();
        self.room.notify_waiters();
    }

    fn shutdown_socket(&self) {
        // SAFETY: the fd belongs to `self.socket`, alive for the call; shutdown has no memory
        // effects. Errors (e.g. already disconnected) do not matter here.
        unsafe {
            libc::shutdown(self.socket.as_ref().as_raw_fd(), libc::SHUT_WR);
        }
    }

    async fn run_writer(self: Arc<Self>) {
        let mut batch = Batch::default();
        loop {
            let idle = {
                let mut state = self.lock();
                if state.closed || (state.queue.is_empty() && (state.senders == 0 || state.sealed))
                {
                    break;
                }
                if state.queue.is_empty() {
                    state.writer_busy = false;
                    true
                } else {
                    let n = state.queue.len().min(MAX_BATCH_FRAMES);
                    batch.frames.extend(state.queue.drain(..n));
                    false
                }
            };
            if idle {
                self.wake_writer.notified().await;
                continue;
            }
            self.room.notify_waiters();
            if let Err(e) = self.write_batch(&mut batch).await {
                tracing::debug!(error = %e, "write failed");
                self.fail(&mut self.lock());
                break;
            }
        }
        self.shutdown_socket();
    }

    async fn write_batch(&self, batch: &mut Batch) -> std::io::Result<()> {
        while batch.has_remaining() {
            let result = {
                let mut slices = [IoSlice::new(&[]); MAX_BATCH_FRAMES];
                let n = batch.chunks_vectored(&mut slices);
                self.socket.try_write_vectored(&slices[..n])
            };
            match result {
                Ok(written) => batch.advance(written),
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.socket.writable().await?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl OutboxSender {
    /// Queues a frame that must not be lost (reply, control message); never waits. The caller
    /// bounds the volume (the daemon's reader waits for room before reading more calls).
    /// Returns false if the connection is closed.
    pub(crate) fn send(&self, frame: Bytes) -> bool {
        let mut state = self.0.lock();
        if state.closed || state.sealed {
            return false;
        }
        self.0.enqueue(&mut state, frame);
        true
    }

    /// Queues the connection's last frame (a fatal error): later frames, such as replies of
    /// calls still running or events, are discarded, and the write side closes after it.
    pub(crate) fn send_final(&self, frame: Bytes) {
        let mut state = self.0.lock();
        if state.closed || state.sealed {
            return;
        }
        self.0.enqueue(&mut state, frame);
        state.sealed = true;
        self.0.wake_writer.notify_one();
    }

    /// Queues an event frame unless the queue is full; then it is dropped and counted, and the
    /// next event that fits is preceded by `notice(count)`.
    pub(crate) fn send_lossy(&self, frame: Bytes, notice: impl FnOnce(u64) -> Bytes) -> Delivery {
        let mut state = self.0.lock();
        if state.closed || state.sealed {
            return Delivery::Closed;
        }
        let free = self.0.capacity.saturating_sub(state.queue.len());
        match state.lag.admit(free) {
            None => Delivery::Dropped,
            Some(dropped) => {
                if dropped > 0 {
                    self.0.enqueue(&mut state, notice(dropped));
                }
                self.0.enqueue(&mut state, frame);
                Delivery::Queued
            }
        }
    }

    /// Waits until the queue is below capacity (or the connection closed).
    pub(crate) async fn wait_for_room(&self) {
        loop {
            let notified = self.0.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.0.lock();
                if state.closed || state.queue.len() < self.0.capacity {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Closes the connection's write side now, discarding anything queued.
    pub(crate) fn close(&self) {
        self.0.fail(&mut self.0.lock());
        self.0.shutdown_socket();
    }
}

impl Clone for OutboxSender {
    fn clone(&self) -> Self {
        self.0.lock().senders += 1;
        OutboxSender(self.0.clone())
    }
}

impl Drop for OutboxSender {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.senders -= 1;
        if state.senders == 0 {
            self.0.wake_writer.notify_one();
        }
    }
}

/// Frames taken from the queue, exposed as one `Buf` so a partial `writev` can resume.
#[derive(Debug, Default)]
struct Batch {
    frames: VecDeque<Bytes>,
}

impl Buf for Batch {
    fn remaining(&self) -> usize {
        self.frames.iter().map(Bytes::len).sum()
    }

    fn chunk(&self) -> &[u8] {
        self.frames.front().map_or(&[], |f| f.as_ref())
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, frame) in dst.iter_mut().zip(&self.frames) {
            *slot = IoSlice::new(frame);
            n += 1;
        }
        n
    }

    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 {
            let Some(front) = self.frames.front_mut() else {
                return;
            };
            if cnt < front.len() {
                front.advance(cnt);
                return;
            }
            cnt -= front.len();
            self.frames.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_advances_across_frame_boundaries() {
        let mut batch = Batch::default();
        batch.frames.push_back(Bytes::from_static(b"abc"));
        batch.frames.push_back(Bytes::from_static(b"de"));
        batch.advance(4);
        assert_eq!(batch.remaining(), 1);
        assert_eq!(batch.chunk(), b"e");
    }
}
