//! What a run prints while it goes: one line per event, stamped with the seconds since the
//! run began (the clock of the recorded history, too), and the operations counted so far.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Prints stamped lines.
pub struct Progress {
    pub start: Instant,
}

impl Progress {
    pub fn line(&self, text: &str) {
        let seconds = self.start.elapsed().as_secs_f64();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "[{seconds:>6.1}s] {text}").and_then(|()| out.flush());
    }
}

/// How the operations so far ended: ok, failed (certainly no effect), or unknown (no
/// reply in time: it may or may not have taken effect).
#[derive(Debug, Default)]
pub struct Tally {
    pub ok: AtomicUsize,
    pub failed: AtomicUsize,
    pub unknown: AtomicUsize,
}

impl Tally {
    pub fn count(&self, outcome: &AtomicUsize) {
        outcome.fetch_add(1, Ordering::Relaxed);
    }

    /// `N (ok A, failed B, unknown C)`.
    pub fn summary(&self) -> String {
        let [ok, failed, unknown] =
            [&self.ok, &self.failed, &self.unknown].map(|n| n.load(Ordering::Relaxed));
        let total = ok + failed + unknown;
        format!("{total} (ok {ok}, failed {failed}, unknown {unknown})")
    }
}
