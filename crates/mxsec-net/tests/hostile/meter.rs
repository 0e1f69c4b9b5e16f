//! Time and memory of one call: a counting global allocator and a lock that runs the tests
//! of this binary one at a time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn grew(bytes: usize) {
    let now = IN_USE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    IN_USE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; the counters only
// observe the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we forward.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is valid as the caller guarantees.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        new
    }
}

/// The bytes allocated and not yet freed, by every thread of the binary.
pub(crate) fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

/// What one call cost.
#[derive(Debug)]
pub(crate) struct Measured<T> {
    /// What the call returned.
    pub(crate) value: T,
    /// How long it took.
    pub(crate) elapsed: Duration,
    /// The peak of the bytes allocated during the call, above those in use when it started.
    pub(crate) peak: usize,
}

/// Runs `call`, measuring its time and the peak of its allocations.
pub(crate) async fn measure<F: Future>(call: F) -> Measured<F::Output> {
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    let value = call.await;
    let elapsed = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    Measured {
        value,
        elapsed,
        peak,
    }
}

impl<T> Measured<T> {
    /// Asserts both bounds, and prints the figures for the robustness report.
    pub(crate) fn assert_within(&self, case: &str, time: Duration, memory: usize) {
        println!(
            "hostile: {case}: {:.2} s, peak {} KiB (bounds {} s, {} KiB)",
            self.elapsed.as_secs_f64(),
            self.peak / 1024,
            time.as_secs(),
            memory / 1024
        );
        assert!(
            self.elapsed <= time,
            "{case}: took {:?}, bound {time:?}",
            self.elapsed
        );
        assert!(
            self.peak <= memory,
            "{case}: peak allocation {} bytes, bound {memory}",
            self.peak
        );
    }
}

/// Runs one test body on a runtime of its own, while no other test of this binary runs.
pub(crate) fn run<F: Future<Output = ()>>(body: F) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(body);
}

/// One kibibyte.
pub(crate) const KIB: usize = 1024;
/// One mebibyte.
pub(crate) const MIB: usize = 1024 * KIB;
