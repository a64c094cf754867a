//! The mini-transaction counter (notes, part II): "use a loop to get value and version,
//! increment, and conditionally set; retry on failure; exponential backoff reduces load".
//!
//! The set carries the version the read returned, so it takes effect only if nobody wrote
//! in between: the read-modify-write is atomic although it is two calls. So the values
//! that successful increments set are distinct: each one is the counter's new value.

use crate::znode::client::{Call, Next, Program};
use coord_specs::znode::build::{create, get, set};
use coord_specs::znode::{CreateMode, Path, ZkError, ZkRet};
use std::ops::Range;
use std::time::Duration;

/// The counter at `path`, incremented once.
#[derive(Clone, Debug)]
pub struct Counter {
    pub path: Path,
    /// The pause after the first conflict; it doubles after each further conflict...
    pub backoff: Range<Duration>,
    /// ...at most this many times.
    pub max_doublings: u32,
}

/// Where the increment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Reading value and version.
    Reading,
    /// Creating the counter with value 0, as the read found none.
    Creating,
    /// Setting value + 1 if the version is still the one read.
    Setting,
    /// Backing off after a conflict.
    Sleeping,
    Done,
    /// Given up on an error no retry can mend (an invalid path, a missing or ephemeral
    /// parent, the counter deleted between the read and the set).
    Failed(ZkError),
}

/// The counter client's progress: its phase, how many conditional sets failed, and the
/// value of the latest set (once done, the counter's value after this increment).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterState {
    pub phase: Phase,
    pub conflicts: u32,
    pub value: u64,
}

impl Counter {
    pub fn new(path: &str, backoff: Range<Duration>, max_doublings: u32) -> Self {
        let path = Path::from(path);
        Counter {
            path,
            backoff,
            max_doublings,
        }
    }

    /// Exponential backoff: the pause range after `conflicts` conflicts is the first one
    /// times 2^(conflicts - 1), capped at 2^`max_doublings`.
    pub fn backoff(&self, conflicts: u32) -> Range<Duration> {
        let factor = 1 << conflicts.saturating_sub(1).min(self.max_doublings);
        self.backoff.start * factor..self.backoff.end * factor
    }

    fn read(&self, state: &mut CounterState) -> Next {
        state.phase = Phase::Reading;
        Next::Call(Call::plain(get(&self.path)))
    }
}

impl Program for Counter {
    type State = CounterState;

    fn start(&self) -> (CounterState, Next) {
        let mut state = CounterState {
            phase: Phase::Reading,
            conflicts: 0,
            value: 0,
        };
        let read = self.read(&mut state);
        (state, read)
    }

    /// Read: set value + 1 at the version read (a value that is not a number, such as
    /// empty data, counts as 0); no such node: create it with value 0 and read again (also
    /// if someone else created it first). Set: done. A bad version is a conflict: back off,
    /// then read again. Any other error ends the increment as failed.
    fn on_return(&self, state: &mut CounterState, ret: &ZkRet) -> Next {
        match (state.phase, ret) {
            (Phase::Reading, ZkRet::Err(ZkError::NoNode)) => {
                state.phase = Phase::Creating;
                let create = create(&self.path, "0", CreateMode::Persistent, 0);
                Next::Call(Call::plain(create))
            }
            (Phase::Creating, ZkRet::Created { .. } | ZkRet::Err(ZkError::NodeExists)) => {
                self.read(state)
            }
            (Phase::Reading, ZkRet::Data { data, stat }) => {
                state.phase = Phase::Setting;
                let text = std::str::from_utf8(data).unwrap_or_default();
                state.value = text.parse::<u64>().unwrap_or(0) + 1;
                let set = set(&self.path, &state.value.to_string(), stat.version);
                Next::Call(Call::plain(set))
            }
            (Phase::Setting, ZkRet::Set(_)) => {
                state.phase = Phase::Done;
                Next::Done
            }
            (Phase::Setting, ZkRet::Err(ZkError::BadVersion)) => {
                state.conflicts += 1;
                state.phase = Phase::Sleeping;
                Next::Sleep(self.backoff(state.conflicts))
            }
            (_, ZkRet::Err(error)) => {
                state.phase = Phase::Failed(*error);
                Next::Done
            }
            (phase, ret) => panic!("counter: unexpected {ret} while {phase:?}"),
        }
    }

    fn on_wake(&self, state: &mut CounterState) -> Next {
        self.read(state)
    }
}
