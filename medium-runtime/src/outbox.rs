//! The outgoing side of one connection. Replies and control frames are written straight to the
//! socket by whoever sends them while the writer task is idle (no task hop); what the socket
//! does not take at once, and always events, queues up and one writer task drains it, many
//! frames per `writev`. While the connection's reader is corked (it has more calls buffered),
//! frames wait in the queue; uncorking writes them with one `writev`, again without a hop.
//! Events may be dropped when the queue is full (with a lagged notice later); everything else is
//! always queued. A paced emitter waits instead, until the queue is below half its capacity.
//! A frame may be several chunks (a large binary kept out of the frame buffer): they go out in
//! the same `writev`. A frame with descriptors is written alone, by a `sendmsg` that starts
//! with its first byte (PROTOCOL.md §3.1); a batch stops before it. A client's writer, woken
//! from idle, first lets the runtime run its other ready tasks once ([`WriterWake::Gathers`]),
//! so that calls made in one burst by many tasks leave together.

use std::collections::VecDeque;
use std::io::{ErrorKind, IoSlice};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use bytes::{Buf, Bytes};
use tokio::sync::Notify;

use crate::ancillary;
use crate::frame::OutFrame;
use crate::lossy::{Delivery, LagCounter};
use crate::socket_halves::WriteHalf;

/// Frames coalesced into one write at most; bounds the iovec array and the time one write takes.
const MAX_BATCH_FRAMES: usize = 64;

/// What the writer task does first when woken from idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriterWake {
    /// Writes what is queued at once. The daemon: its reader corks a burst of replies itself.
    WritesAtOnce,
    /// Yields to the runtime once, then writes. A client: the task that queued a call wakes the
    /// writer, which tokio then runs next (its LIFO slot), before any other ready caller queued
    /// its call: one write per call. After the yield, the runtime has run the other ready
    /// tasks, whose calls join the same `writev`. Nothing is held meanwhile: a caller never
    /// waits on the writer, and the writer on nobody but the runtime.
    Gathers,
}

#[derive(Debug)]
pub(crate) struct Outbox {
    state: Mutex<State>,
    socket: WriteHalf,
    /// Frames queued beyond this count make events drop and the reader wait.
    capacity: usize,
    /// A cork holds back fewer frames than this: at most one batch, and never a full queue (a
    /// reader waiting for room would wait on frames nobody writes).
    cork_limit: usize,
    /// A paced emitter waits while this many frames or more are queued: half the capacity,
    /// so an event it queues then always has room, and the writer has a batch in hand.
    pace_limit: usize,
    /// Frames stay queued without waking the writer, until `uncork` (or `cork_limit`). Set
    /// without the state's lock (the reader corks at every frame, mostly corked already), read
    /// under it: a sender that sees it unset just before a cork writes as it would have just
    /// before; `uncork` clears it before it takes the lock to flush, so a sender that saw it
    /// set has its frame flushed then.
    corked: AtomicBool,
    wake_writer: Notify,
    woken: WriterWake,
    /// Notified when queued frames leave: the reader waits here for room, paced emitters for
    /// the pace limit.
    room: Notify,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<OutFrame>,
    /// Frames sent as bytes, back to back: one write buffer instead of a frame each. Either the
    /// sender writes it directly ([`OutboxSender::send_bytes`]), or the writer task takes it
    /// as one frame ([`OutboxSender::send_queued_bytes`]). Only while `queue` is empty:
    /// frames queued after them move them into the queue first, as one frame
    /// ([`State::seal_tail`]), so the order stays that of sending.
    tail: Vec<u8>,
    /// Frames in `tail`: they count as queued (room, the cork's limit, events' room).
    tail_frames: usize,
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

impl State {
    /// Frames waiting, in the queue or in the tail.
    fn queued(&self) -> usize {
        self.queue.len() + self.tail_frames
    }

    /// Queues `frame` after everything sent before it.
    fn push(&mut self, frame: OutFrame) {
        self.seal_tail();
        self.queue.push_back(frame);
    }

    /// Moves the tail's frames into the queue, as one frame. Its allocation goes with them: a
    /// tail is sealed only when frames pile up for the writer task (rare), and what the
    /// writer holds is bounded by a batch plus one cork's worth of tail.
    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            let tail = std::mem::take(&mut self.tail);
            self.queue.push_back(Bytes::from(tail).into());
        }
        self.tail_frames = 0;
    }
}

/// A handle that sends through an [`Outbox`]. When the last one is dropped, the writer flushes
/// what is queued and shuts the socket's write side.
#[derive(Debug)]
pub(crate) struct OutboxSender(Arc<Outbox>);

impl Outbox {
    /// The outbox and the writer task's future; the caller spawns the future.
    pub(crate) fn open(
        socket: WriteHalf,
        capacity: usize,
    ) -> (OutboxSender, impl Future<Output = ()> + Send + 'static) {
        Self::open_with(socket, capacity, WriterWake::WritesAtOnce)
    }

    /// Like [`Outbox::open`], with the writer doing `woken` first when woken from idle.
    pub(crate) fn open_with(
        socket: WriteHalf,
        capacity: usize,
        woken: WriterWake,
    ) -> (OutboxSender, impl Future<Output = ()> + Send + 'static) {
        let capacity = capacity.max(2);
        let outbox = Arc::new(Outbox {
            state: Mutex::new(State {
                senders: 1,
                ..State::default()
            }),
            socket,
            capacity,
            cork_limit: capacity.min(MAX_BATCH_FRAMES),
            pace_limit: capacity / 2,
            corked: AtomicBool::new(false),
            wake_writer: Notify::new(),
            woken,
            room: Notify::new(),
        });
        (OutboxSender(outbox.clone()), outbox.run_writer())
    }

    fn is_corked(&self) -> bool {
        self.corked.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `frame` and, unless the cork holds it, writes directly what the socket takes.
    fn write_or_queue(&self, state: &mut State, frame: OutFrame) {
        state.push(frame);
        self.flush_unless_corked(state);
    }

    /// Flushes, unless the cork holds what is queued (fewer frames than its limit).
    fn flush_unless_corked(&self, state: &mut State) {
        if !self.is_corked() || state.queued() >= self.cork_limit {
            self.flush(state);
        }
    }

    /// Writes queued frames straight to the socket (up to a batch, one `writev`) if it is ours
    /// to use now, i.e. the writer task is idle: the queue then holds only frames a cork held,
    /// in order. What the socket does not take at once goes to the writer. The state lock,
    /// held meanwhile, keeps other senders' frames out of the middle of this write.
    fn flush(&self, state: &mut State) {
        if state.writer_busy || state.closed || state.queued() == 0 {
            return;
        }
        let was_waited_on = state.queued() >= self.pace_limit;
        let written = if state.tail.is_empty() {
            write_now(&self.socket, &mut state.queue)
        } else {
            write_tail(&self.socket, state, self.is_corked())
        };
        if let Err(e) = written {
            tracing::debug!(error = %e, "write failed");
            self.fail(state);
            return;
        }
        if !state.queue.is_empty() {
            self.wake(state);
        } else if was_waited_on {
            self.room.notify_waiters();
        }
    }

    /// Queues for the writer, waking it unless the cork holds the frame back.
    fn queue(&self, state: &mut State, frame: OutFrame) {
        state.push(frame);
        self.wake_unless_corked(state);
    }

    /// Hands the queue to the writer, unless the cork holds what is queued.
    fn wake_unless_corked(&self, state: &mut State) {
        if !self.is_corked() || state.queued() >= self.cork_limit {
            self.wake(state);
        }
    }

    /// Queues an event frame, or drops and counts it when the queue is full (see
    /// [`OutboxSender::send_lossy_if`]).
    fn offer(
        &self,
        state: &mut State,
        frame: OutFrame,
        notice: impl FnOnce(u64) -> Bytes,
    ) -> Delivery {
        if state.closed || state.sealed {
            return Delivery::Closed;
        }
        let free = self.capacity.saturating_sub(state.queued());
        match state.lag.admit(free) {
            None => Delivery::Dropped,
            Some(dropped) => {
                if dropped > 0 {
                    self.queue(state, notice(dropped).into());
                }
                self.queue(state, frame);
                Delivery::Queued
            }
        }
    }

    /// Hands the queue to the writer task.
    fn wake(&self, state: &mut State) {
        if !state.writer_busy {
            state.writer_busy = true;
            self.wake_writer.notify_one();
        }
    }

    fn fail(&self, state: &mut State) {
        state.closed = true;
        state.queue.clear();
        state.tail = Vec::new();
        state.tail_frames = 0;
        self.wake_writer.notify_one();
        self.room.notify_waiters();
    }

    fn shutdown_socket(&self) {
        // SAFETY: the fd belongs to `self.socket`, alive for the call; shutdown has no memory
        // effects. Errors (e.g. already disconnected) do not matter here.
        unsafe {
            libc::shutdown(self.socket.as_raw_fd(), libc::SHUT_WR);
        }
    }

    async fn run_writer(self: Arc<Self>) {
        let mut batch = Batch::default();
        loop {
            let idle = {
                let mut state = self.lock();
                // The writer takes frames from the queue only.
                state.seal_tail();
                if state.closed || (state.queue.is_empty() && (state.senders == 0 || state.sealed))
                {
                    break;
                }
                // Frames the cork holds are not ours yet, unless no sender will uncork them
                // (the last one left) or a final frame must follow them out.
                let handed = state.writer_busy || state.senders == 0 || state.sealed;
                if state.queue.is_empty() || !handed {
                    state.writer_busy = false;
                    true
                } else {
                    state.writer_busy = true;
                    let n = state.queue.len().min(MAX_BATCH_FRAMES);
                    batch.frames.extend(state.queue.drain(..n));
                    false
                }
            };
            if idle {
                self.wake_writer.notified().await;
                if self.woken == WriterWake::Gathers {
                    tokio::task::yield_now().await;
                }
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
            match write_some(&self.socket, &batch.frames) {
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
    pub(crate) fn send(&self, frame: impl Into<OutFrame>) -> bool {
        let mut state = self.0.lock();
        if state.closed || state.sealed {
            return false;
        }
        self.0.write_or_queue(&mut state, frame.into());
        true
    }

    /// Like [`OutboxSender::send`], for a frame given as its bytes, which are copied: into the
    /// write buffer the connection's frames share while the sender writes directly (no
    /// allocation per frame), else into a frame of their own.
    pub(crate) fn send_bytes(&self, frame: &[u8]) -> bool {
        let mut state = self.0.lock();
        if state.closed || state.sealed {
            return false;
        }
        if state.writer_busy || !state.queue.is_empty() {
            self.0
                .write_or_queue(&mut state, Bytes::copy_from_slice(frame).into());
        } else {
            state.tail.extend_from_slice(frame);
            state.tail_frames += 1;
            self.0.flush_unless_corked(&mut state);
        }
        true
    }

    /// Like [`OutboxSender::send`], but always through the writer task, so that frames sent in
    /// a burst share its `writev`s.
    pub(crate) fn send_queued(&self, frame: impl Into<OutFrame>) -> bool {
        let mut state = self.0.lock();
        if state.closed || state.sealed {
            return false;
        }
        self.0.queue(&mut state, frame.into());
        true
    }

    /// Like [`OutboxSender::send_queued`], for a frame given as its bytes, which are copied: into
    /// the tail, which the writer task takes as one frame with every frame sent meanwhile (a
    /// burst of calls costs no allocation per frame), or, behind frames already queued, into a
    /// frame of their own.
    pub(crate) fn send_queued_bytes(&self, frame: &[u8]) -> bool {
        let mut state = self.0.lock();
        if state.closed || state.sealed {
            return false;
        }
        if state.queue.is_empty() {
            state.tail.extend_from_slice(frame);
            state.tail_frames += 1;
        } else {
            state.push(Bytes::copy_from_slice(frame).into());
        }
        self.0.wake_unless_corked(&mut state);
        true
    }

    /// Queues the connection's last frame (a fatal error): later frames, such as replies of
    /// calls still running or events, are discarded, and the write side closes after it.
    pub(crate) fn send_final(&self, frame: impl Into<OutFrame>) {
        let mut state = self.0.lock();
        if state.closed || state.sealed {
            return;
        }
        self.0.write_or_queue(&mut state, frame.into());
        state.sealed = true;
        // Even a corked or idle writer must run now: to send the frames held, or to close.
        self.0.wake_writer.notify_one();
    }

    /// Queues an event frame unless the queue is full; then it is dropped and counted, and the
    /// next event that fits is preceded by `notice(count)`. Events never write directly: one
    /// emit reaches many connections, and their writers batch what piles up meanwhile. Does
    /// nothing (`None`) unless `wanted`, asked under the queue's lock, so that a frame sent
    /// after the condition changed is ordered after every event it let through.
    pub(crate) fn send_lossy_if(
        &self,
        wanted: impl FnOnce() -> bool,
        frame: impl Into<OutFrame>,
        notice: impl FnOnce(u64) -> Bytes,
    ) -> Option<Delivery> {
        let mut state = self.0.lock();
        if !wanted() {
            return None;
        }
        Some(self.0.offer(&mut state, frame.into(), notice))
    }

    /// Holds frames back in the queue (up to a batch) until [`OutboxSender::uncork`]: the
    /// daemon's reader corks while it has more calls buffered, so their replies go out together.
    pub(crate) fn cork(&self) {
        self.0.corked.store(true, Ordering::Relaxed);
    }

    /// Sends what the cork held, directly (one `writev`) when the socket takes it. Must come
    /// before the corking task waits for anything.
    pub(crate) fn uncork(&self) {
        self.0.corked.store(false, Ordering::Relaxed);
        let mut state = self.0.lock();
        self.0.flush(&mut state);
        if state.tail.is_empty() {
            state.tail = Vec::new();
        }
    }

    /// Awaits `future`, uncorking first if it cannot finish at once: frames are never held
    /// while the corking task waits.
    pub(crate) async fn uncork_before_waiting<F: Future>(&self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        if let Poll::Ready(output) = futures::poll!(future.as_mut()) {
            return output;
        }
        self.uncork();
        future.await
    }

    /// Whether the queue is below capacity (or the connection closed): `wait_for_room` would
    /// not wait.
    pub(crate) fn has_room(&self) -> bool {
        self.has_fewer_than(self.0.capacity)
    }

    /// Waits until the queue is below capacity (or the connection closed).
    pub(crate) async fn wait_for_room(&self) {
        self.wait_for_fewer_than(self.0.capacity).await;
    }

    /// Whether a paced emitter must wait before queueing an event: the queue is at the pace
    /// limit (half its capacity) and the connection open.
    pub(crate) fn is_behind(&self) -> bool {
        !self.has_fewer_than(self.0.pace_limit)
    }

    /// Waits until the queue is below the pace limit (or the connection closed).
    pub(crate) async fn wait_for_pace(&self) {
        self.wait_for_fewer_than(self.0.pace_limit).await;
    }

    /// Waits until fewer than `limit` frames are queued (or the connection closed). Looks
    /// first, as a waiter costs the `Notify`'s lock twice and there is usually room.
    async fn wait_for_fewer_than(&self, limit: usize) {
        if self.has_fewer_than(limit) {
            return;
        }
        loop {
            let notified = self.0.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.has_fewer_than(limit) {
                return;
            }
            notified.await;
        }
    }

    /// Whether fewer than `limit` frames are queued (or the connection closed).
    fn has_fewer_than(&self, limit: usize) -> bool {
        let state = self.0.lock();
        state.closed || state.queued() < limit
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

/// Writes what the socket takes now of the first frames of `frames` (up to a batch), and drops
/// what was written; a socket that takes nothing now is no error.
fn write_now(socket: &WriteHalf, frames: &mut VecDeque<OutFrame>) -> std::io::Result<()> {
    let written = match write_some(socket, frames) {
        Ok(written) => written,
        Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    drop_written(frames, written);
    Ok(())
}

/// Writes what the socket takes now of `state`'s tail; what it does not take goes to the
/// queue, for the writer. An emptied tail keeps its allocation only while corked (more frames
/// are coming): an idle connection keeps none.
fn write_tail(socket: &WriteHalf, state: &mut State, corked: bool) -> std::io::Result<()> {
    let written = match socket.try_write(&state.tail) {
        Ok(written) => written,
        Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    if written < state.tail.len() {
        state.tail.drain(..written);
        state.seal_tail();
    } else if corked {
        state.tail.clear();
        state.tail_frames = 0;
    } else {
        state.tail = Vec::new();
        state.tail_frames = 0;
    }
    Ok(())
}

/// One write of the first frames of `frames`: a `sendmsg` of the first frame alone when it has
/// descriptors still to send, else one `writev` of the frames up to the next one that has.
fn write_some(socket: &WriteHalf, frames: &VecDeque<OutFrame>) -> std::io::Result<usize> {
    if let Some((front, fds)) = frames.front().and_then(|f| Some((f, f.fds()?))) {
        return ancillary::send(socket.as_raw_fd(), front.chunks(), fds);
    }
    let mut slices = [IoSlice::new(&[]); MAX_BATCH_FRAMES];
    let n = io_slices(frames, &mut slices);
    socket.try_write_vectored(&slices[..n])
}

/// Points `dst` at the chunks of the first frames of `frames`, up to the first (after the
/// first) with descriptors to send; returns how many it filled.
fn io_slices<'a>(frames: &'a VecDeque<OutFrame>, dst: &mut [IoSlice<'a>]) -> usize {
    let chunks = frames
        .iter()
        .enumerate()
        .take_while(|(i, frame)| *i == 0 || frame.fds().is_none())
        .flat_map(|(_, frame)| frame.chunks());
    let mut n = 0;
    for (slot, chunk) in dst.iter_mut().zip(chunks) {
        *slot = IoSlice::new(chunk);
        n += 1;
    }
    n
}

/// Drops the first `written` bytes of `frames`: whole frames, then the start of a partly
/// written one.
fn drop_written(frames: &mut VecDeque<OutFrame>, mut written: usize) {
    while written > 0 {
        let Some(front) = frames.front_mut() else {
            return;
        };
        if written < front.len() {
            front.advance(written);
            return;
        }
        written -= front.len();
        frames.pop_front();
    }
}

/// Frames taken from the queue, exposed as one `Buf` so a partial `writev` can resume.
#[derive(Debug, Default)]
struct Batch {
    frames: VecDeque<OutFrame>,
}

impl Buf for Batch {
    fn remaining(&self) -> usize {
        self.frames.iter().map(OutFrame::len).sum()
    }

    fn chunk(&self) -> &[u8] {
        let first = self.frames.front().and_then(|f| f.chunks().first());
        first.map_or(&[], |chunk| chunk.as_ref())
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        io_slices(&self.frames, dst)
    }

    fn advance(&mut self, cnt: usize) {
        drop_written(&mut self.frames, cnt);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncReadExt;
    use tokio::net::UnixStream;
    use tokio::net::unix::OwnedReadHalf;

    use super::*;
    use crate::socket_halves;

    /// An outbox on one end of a socket pair, its writer running; the other end to read from.
    fn outbox(capacity: usize) -> (OutboxSender, OwnedReadHalf) {
        let (ours, theirs) = UnixStream::pair().expect("socket pair");
        let (_, write) = socket_halves::split(ours).expect("split");
        let (sender, writer) = Outbox::open(write, capacity);
        tokio::spawn(writer);
        let (read, _) = theirs.into_split();
        (sender, read)
    }

    /// What has arrived so far, after giving the writer task time to run.
    async fn arrived(read: &mut OwnedReadHalf) -> Vec<u8> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut bytes = vec![0; 64 * 1024];
        match read.try_read(&mut bytes) {
            Ok(n) => bytes.truncate(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => bytes.clear(),
            Err(e) => panic!("read failed: {e}"),
        }
        bytes
    }

    fn frame(text: &'static str) -> Bytes {
        Bytes::from_static(text.as_bytes())
    }

    #[tokio::test]
    async fn corked_frames_wait_for_uncork_then_leave_in_order() {
        let (out, mut read) = outbox(16);
        out.cork();
        assert!(out.send(frame("a")));
        assert!(out.send(frame("b")));
        assert_eq!(
            out.send_lossy_if(|| true, frame("e"), |_| frame("!")),
            Some(Delivery::Queued)
        );
        assert_eq!(
            out.send_lossy_if(|| false, frame("x"), |_| frame("!")),
            None
        );
        assert_eq!(arrived(&mut read).await, b"");
        out.uncork();
        assert_eq!(arrived(&mut read).await, b"abe");
    }

    #[tokio::test]
    async fn uncorking_writes_the_held_frames_itself() {
        let (ours, theirs) = UnixStream::pair().expect("socket pair");
        let (_, write) = socket_halves::split(ours).expect("split");
        // The writer task never runs: whatever arrives was written by the uncorking sender.
        let (out, _writer) = Outbox::open(write, 16);
        let (mut read, _) = theirs.into_split();
        out.cork();
        for text in ["a", "b", "c"] {
            assert!(out.send(frame(text)));
        }
        assert_eq!(arrived(&mut read).await, b"");
        out.uncork();
        assert_eq!(arrived(&mut read).await, b"abc");
    }

    #[tokio::test]
    async fn frames_sent_as_bytes_leave_in_order_with_the_others_and_no_buffer_is_kept() {
        let (out, mut read) = outbox(16);
        out.cork();
        assert!(out.send_bytes(b"a"));
        assert!(out.send_bytes(b"b"));
        assert!(out.send(frame("c")));
        assert!(out.send_bytes(b"d"));
        assert_eq!(
            out.send_lossy_if(|| true, frame("e"), |_| frame("!")),
            Some(Delivery::Queued)
        );
        assert!(out.send_bytes(b"f"));
        assert_eq!(arrived(&mut read).await, b"");
        out.uncork();
        assert_eq!(arrived(&mut read).await, b"abcdef");
        out.cork();
        assert!(out.send_bytes(b"g"));
        out.uncork();
        assert_eq!(arrived(&mut read).await, b"g");
        assert_eq!(
            out.0.lock().tail.capacity(),
            0,
            "an idle connection keeps its buffer"
        );
    }

    #[tokio::test]
    async fn bytes_the_socket_does_not_take_at_once_reach_the_peer_in_order() {
        let (out, mut read) = outbox(1024);
        // Far more than a socket buffer: the direct writes fill it, the writer does the rest.
        let frames: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 20_000]).collect();
        for frame in &frames {
            assert!(out.send_bytes(frame));
        }
        drop(out);
        let mut all = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), read.read_to_end(&mut all))
            .await
            .expect("write side closed")
            .expect("read");
        assert!(all == frames.concat(), "{} bytes arrived", all.len());
    }

    #[tokio::test]
    async fn a_cork_holds_back_less_than_a_batch() {
        let (out, mut read) = outbox(1024);
        out.cork();
        for _ in 0..MAX_BATCH_FRAMES - 1 {
            out.send(frame("r"));
        }
        assert_eq!(arrived(&mut read).await, b"");
        out.send(frame("r"));
        assert_eq!(arrived(&mut read).await, [b'r'; MAX_BATCH_FRAMES]);
    }

    #[tokio::test]
    async fn a_cork_never_holds_a_full_queue() {
        // Frames sent as bytes count one by one too.
        let sends: [fn(&OutboxSender) -> bool; 2] =
            [|out| out.send(frame("r")), |out| out.send_bytes(b"r")];
        for send in sends {
            let (out, mut read) = outbox(3);
            out.cork();
            for _ in 0..3 {
                send(&out);
            }
            // The reader waits for room before each read: it must not wait on held frames.
            tokio::time::timeout(Duration::from_secs(5), out.wait_for_room())
                .await
                .expect("room");
            assert_eq!(arrived(&mut read).await, b"rrr");
        }
    }

    #[tokio::test]
    async fn uncork_before_waiting_flushes_only_if_the_future_waits() {
        let (out, mut read) = outbox(16);
        out.cork();
        out.send(frame("a"));
        out.uncork_before_waiting(async {}).await;
        assert_eq!(arrived(&mut read).await, b"");
        out.uncork_before_waiting(tokio::task::yield_now()).await;
        assert_eq!(arrived(&mut read).await, b"a");
    }

    #[tokio::test]
    async fn a_final_frame_goes_after_what_the_cork_held_and_closes() {
        let (out, mut read) = outbox(16);
        out.cork();
        out.send(frame("a"));
        out.send_final(frame("F"));
        assert!(!out.send(frame("late")));
        let mut all = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), read.read_to_end(&mut all))
            .await
            .expect("write side closed")
            .expect("read");
        assert_eq!(all, b"aF");
    }

    #[tokio::test]
    async fn frames_queued_as_bytes_leave_in_order_with_the_others() {
        let (out, mut read) = outbox(16);
        assert!(out.send_queued_bytes(b"a"));
        assert!(out.send_queued(frame("b")));
        assert!(out.send_queued_bytes(b"c"));
        assert!(out.send_bytes(b"d"));
        assert!(out.send_queued_bytes(b"e"));
        assert_eq!(arrived(&mut read).await, b"abcde");
        // The queue is empty again: these share the tail, which the writer takes whole.
        assert!(out.send_queued_bytes(b"f"));
        assert!(out.send_queued_bytes(b"g"));
        assert_eq!(out.0.lock().tail_frames, 2);
        assert_eq!(arrived(&mut read).await, b"fg");
    }

    #[tokio::test]
    async fn a_direct_send_never_overtakes_queued_frames() {
        let (out, mut read) = outbox(16);
        assert!(out.send_queued(frame("q")));
        assert!(out.send(frame("d")));
        assert_eq!(arrived(&mut read).await, b"qd");
    }

    #[test]
    fn batch_advances_across_frame_boundaries() {
        let mut batch = Batch::default();
        batch.frames.push_back(frame("abc").into());
        batch.frames.push_back(frame("de").into());
        batch.advance(4);
        assert_eq!(batch.remaining(), 1);
        assert_eq!(batch.chunk(), b"e");
    }

    #[test]
    fn batch_advances_across_the_chunks_of_a_frame() {
        let mut batch = Batch::default();
        batch.frames.push_back(frame("a").into());
        let chunked = OutFrame::of_chunks(vec![frame("bc"), frame("def"), frame("g")], Vec::new());
        batch.frames.push_back(chunked);
        let mut slices = [IoSlice::new(&[]); 8];
        assert_eq!(batch.chunks_vectored(&mut slices), 4);
        batch.advance(4);
        assert_eq!(batch.remaining(), 3);
        assert_eq!(batch.chunk(), b"ef");
    }
}
