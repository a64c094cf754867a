//! The history of a run: every client operation as an invoke event and, if its reply
//! came, a return event, on one clock for all clients, written as the JSON lines that
//! `coord history check` reads. An operation without a return event is open: its outcome
//! is unknown.

use coord_specs::history::format::{Event, EventKind};
use coord_specs::history::{Client, Time};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// The events recorded so far, timed in microseconds since the run began.
pub struct Recorder<Op, Ret> {
    start: Instant,
    events: Mutex<Vec<Event<Op, Ret>>>,
}

impl<Op: Serialize, Ret: Serialize> Recorder<Op, Ret> {
    pub fn new(start: Instant) -> Self {
        Recorder {
            start,
            events: Mutex::new(Vec::new()),
        }
    }

    /// Now, on the history's clock.
    pub fn now(&self) -> Time {
        self.start.elapsed().as_micros() as Time
    }

    /// `client` invokes `op` now. Rule (real time): call this before the request is sent,
    /// so that the operation cannot take effect before its recorded invocation.
    pub fn invoke(&self, client: Client, op: Op) {
        self.push(client, self.now(), EventKind::Invoke(op));
    }

    /// `client`'s operation returned `ret` at `time`, taken when the reply was received.
    pub fn returned(&self, client: Client, time: Time, ret: Ret) {
        self.push(client, time, EventKind::Return(ret));
    }

    fn push(&self, client: Client, time: Time, kind: EventKind<Op, Ret>) {
        let event = Event { client, time, kind };
        self.events.lock().expect("no recorder panics").push(event);
    }

    /// Writes every event so far to `path`, in time order, one JSON object per line;
    /// returns how many.
    pub fn write(&self, path: &Path) -> Result<usize, String> {
        let mut events = self.events.lock().expect("no recorder panics");
        // Stable: a client's return recorded in the microsecond of its invocation stays
        // after it.
        events.sort_by_key(|e| e.time);
        let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        for event in events.iter() {
            serde_json::to_writer(&mut out, event).expect("an event serializes");
            writeln!(out).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        out.flush()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(events.len())
    }
}
