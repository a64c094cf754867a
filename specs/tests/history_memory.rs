//! The history checker's memory limit, measured by the allocator itself: a history built to
//! exhaust any memory (forty concurrent writes of distinct values to a register, then a
//! read of a value none wrote, so that every subset of the writes is a search node) stops
//! with the verdict unknown, having held no more than its limit.

use coord_specs::history::format::jepsen_log;
use coord_specs::history::{analyze, Exhausted, Limits, Verdict};
use coord_specs::register::RegisterSpec;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The system allocator, counting the bytes live and the most that were.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests measure one at a time: the counters are the whole process's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn exhausting() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/history/register-exhausting.log"
    );
    std::fs::read_to_string(path).expect("the test history exists")
}

#[test]
fn a_search_that_would_pass_the_memory_limit_stops_unknown_within_it() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let history = jepsen_log(&exhausting()).expect("the history reads");
    for limit in [4 << 20, 32 << 20] {
        let limits = Limits {
            max_memory: limit,
            timeout: None,
        };
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let analysis = analyze::<RegisterSpec>(&history, &limits);
        let held = PEAK.load(Ordering::Relaxed) - before;
        let Verdict::Unknown(undecided) = &analysis.verdict else {
            panic!("decided: {:?}", analysis.verdict);
        };
        assert_eq!(undecided.reason, Exhausted::Memory { limit });
        assert!(
            undecided.to_string().contains("--max-memory"),
            "{undecided}"
        );
        // What the search accounted for stayed within the limit, and so did what it
        // really allocated (a few KiB more: the partition's copy of the history).
        assert!(analysis.peak_memory <= limit);
        assert!(
            held <= limit + (64 << 10),
            "held {held} bytes, limit {limit}"
        );
        // The search used most of what it was given: it is the limit that stopped it.
        assert!(held > limit / 4, "held only {held} bytes of {limit}");
    }
}

#[test]
fn a_search_that_would_pass_the_time_limit_stops_unknown() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let history = jepsen_log(&exhausting()).expect("the history reads");
    let limit = Duration::from_millis(200);
    let limits = Limits {
        max_memory: 1 << 30,
        timeout: Some(limit),
    };
    let analysis = analyze::<RegisterSpec>(&history, &limits);
    let Verdict::Unknown(undecided) = &analysis.verdict else {
        panic!("decided: {:?}", analysis.verdict);
    };
    assert_eq!(undecided.reason, Exhausted::Time { limit });
}
