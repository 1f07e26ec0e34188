//! Per-call costs that timings hide: heap allocations, counted by a global allocator in the
//! bench process and in each daemon child (which shares its count through a mapped file), and the syscalls of a process (reads, writes, and all), counted by
//! `perf stat` on the syscall tracepoints.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::Duration;

use crate::side::BenchResult;

/// The system allocator, counting every allocation and reallocation.
#[derive(Debug)]
pub struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// In a daemon child, the counter in a file mapped shared (see [`share_allocations`]), so that
/// the parent reads the daemon's allocations from the file; null elsewhere.
static SHARED: AtomicPtr<AtomicU64> = AtomicPtr::new(std::ptr::null_mut());

fn count_one() {
    let shared = SHARED.load(Ordering::Relaxed);
    let counter = if shared.is_null() {
        &ALLOCATIONS
    } else {
        // SAFETY: a non-null `SHARED` points into a mapping that is never unmapped.
        unsafe { &*shared }
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` unchanged; the counter has no effect on memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` came from `System` through this allocator; the caller upholds the rest.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations (and reallocations) in this process so far, on every thread.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// From now on, counts this process's allocations in the file at `path` (8 bytes, native
/// endian), which [`allocations_in`] reads from another process. Call it before starting the
/// work to count; the mapping stays for the life of the process.
pub fn share_allocations(path: &Path) -> BenchResult<()> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.set_len(8)?;
    // SAFETY: maps 8 bytes of a file we opened read-write; the kernel picks the address.
    let mapped = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            8,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error().into());
    }
    // Page-aligned and zero-filled (`set_len`): a valid `AtomicU64`, never unmapped.
    SHARED.store(mapped.cast(), Ordering::Relaxed);
    Ok(())
}

/// The allocations another process counted with [`share_allocations`] into `path`. The file
/// and the mapping share the page cache, so a plain read sees the current count.
pub fn allocations_in(path: &Path) -> BenchResult<u64> {
    let bytes = std::fs::read(path)?;
    Ok(u64::from_ne_bytes(bytes[..8].try_into()?))
}

/// Syscall tracepoints `perf stat` counts, by family: a socket read is `read` or `recvfrom`
/// (std's `UnixStream` uses `recv`), a write `write`, `writev`, `sendto` or `sendmsg`.
const READS: [&str; 4] = ["read", "readv", "recvfrom", "recvmsg"];
const WRITES: [&str; 4] = ["write", "writev", "sendto", "sendmsg"];
/// How long `perf` may take to attach before the work may start.
pub const ATTACH_TIME: Duration = Duration::from_millis(500);

/// Every syscall, for epoll waits and futex wake-ups (task hops between threads).
const ALL: &str = "raw_syscalls:sys_enter";

/// Syscalls one process made while being counted, all its threads together. Writes include
/// tokio's eventfd wake-ups between threads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Syscalls {
    pub reads: u64,
    pub writes: u64,
    /// All syscalls, reads and writes included.
    pub all: u64,
}

impl Syscalls {
    pub fn reads_and_writes(self) -> u64 {
        self.reads + self.writes
    }
}

/// A `perf stat` attached to one process, counting its syscalls until [`SyscallCounter::stop`].
/// `/proc/<pid>/io` would need no tool, but it misses `recv`/`send`, which is how std reads.
#[derive(Debug)]
pub struct SyscallCounter {
    perf: Child,
}

impl SyscallCounter {
    /// Attaches to process `pid`; counting starts within [`ATTACH_TIME`]. An error if `perf` is
    /// missing (then the syscall cases cannot run).
    pub fn attach(pid: u32) -> BenchResult<SyscallCounter> {
        let events: Vec<String> = READS
            .iter()
            .chain(&WRITES)
            .map(|name| format!("syscalls:sys_enter_{name}"))
            .chain([ALL.to_owned()])
            .collect();
        let perf = Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                &events.join(","),
                "-p",
                &pid.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run perf to count syscalls: {e}"))?;
        Ok(SyscallCounter { perf })
    }

    /// Stops counting and returns the counts.
    pub fn stop(self) -> BenchResult<Syscalls> {
        let pid = libc::pid_t::try_from(self.perf.id())?;
        // SAFETY: kill only sends a signal; `pid` is our own perf child, not yet waited for.
        if unsafe { libc::kill(pid, libc::SIGINT) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        let output = self.perf.wait_with_output()?;
        let text = String::from_utf8_lossy(&output.stderr);
        let mut counts = Syscalls::default();
        // CSV lines: count,unit,event,…
        for line in text.lines() {
            let mut fields = line.split(',');
            let (Some(count), Some(event)) = (fields.next(), fields.nth(1)) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            let name = event.strip_prefix("syscalls:sys_enter_").unwrap_or(event);
            if READS.contains(&name) {
                counts.reads += count;
            } else if WRITES.contains(&name) {
                counts.writes += count;
            } else if event == ALL {
                counts.all += count;
            }
        }
        if counts.all == 0 {
            return Err(format!("perf counted no syscalls: {}", text.trim()).into());
        }
        Ok(counts)
    }
}
