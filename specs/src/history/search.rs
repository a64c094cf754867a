//! The Wing-Gong-Lowe search over one partition of a history.

use super::bitset::Linearized;
use super::{HistorySpec, Operation, Outcome, Time};
use std::collections::HashSet;

/// One end of an operation's interval. Rule (real-time order): an operation must take
/// effect between its invocation and its return; at equal times, invocations come first,
/// so operations that touch in time count as concurrent. An unknown outcome never returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Event {
    Call(usize),
    Return(usize),
}

/// The events of `ops` in time order.
pub(super) fn events<Op, Ret>(ops: &[Operation<Op, Ret>]) -> Vec<Event> {
    let mut timed: Vec<(Time, Event)> = Vec::with_capacity(2 * ops.len());
    for (i, op) in ops.iter().enumerate() {
        timed.push((op.invoked, Event::Call(i)));
        if let Outcome::Returned { at, .. } = op.outcome {
            timed.push((at, Event::Return(i)));
        }
    }
    timed.sort();
    timed.into_iter().map(|(_, event)| event).collect()
}

/// The events still to linearize, as a doubly linked list from which an operation's call
/// and return are lifted when it is linearized and put back when the search backtracks
/// (Knuth's dancing links). Index 0 is the head, the last index the tail.
struct Pending {
    events: Vec<Event>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Per operation: the list index of its call, and of its return if it has one.
    call: Vec<usize>,
    ret: Vec<Option<usize>>,
}

impl Pending {
    fn new(ops: usize, events: Vec<Event>) -> Self {
        let len = events.len() + 2;
        let mut pending = Pending {
            events,
            next: (1..=len).collect(),
            prev: (0..len).map(|i| i.wrapping_sub(1)).collect(),
            call: vec![0; ops],
            ret: vec![None; ops],
        };
        for (i, event) in pending.events.iter().enumerate() {
            match *event {
                Event::Call(op) => pending.call[op] = i + 1,
                Event::Return(op) => pending.ret[op] = Some(i + 1),
            }
        }
        pending
    }

    fn first(&self) -> usize {
        self.next[0]
    }

    /// The event at list index `at`, `None` for the tail.
    fn event(&self, at: usize) -> Option<Event> {
        self.events.get(at.wrapping_sub(1)).copied()
    }

    fn unlink(&mut self, at: usize) {
        let (prev, next) = (self.prev[at], self.next[at]);
        self.next[prev] = next;
        self.prev[next] = prev;
    }

    fn relink(&mut self, at: usize) {
        let (prev, next) = (self.prev[at], self.next[at]);
        self.next[prev] = at;
        self.prev[next] = at;
    }

    fn lift(&mut self, op: usize) {
        self.unlink(self.call[op]);
        if let Some(ret) = self.ret[op] {
            self.unlink(ret);
        }
    }

    fn unlift(&mut self, op: usize) {
        if let Some(ret) = self.ret[op] {
            self.relink(ret);
        }
        self.relink(self.call[op]);
    }
}

/// True if some order of `ops`, each placed between its invocation and its return, gives
/// every returned operation its recorded result when run on `S` from its initial state.
/// Rule (Wing and Gong): take any pending operation that no pending return precedes, apply
/// it, and go on; on a dead end, undo the last choice and try the next one. Rule (Lowe):
/// skip a choice that leads to a (set, state) pair already explored.
pub(super) fn linearizable<S: HistorySpec>(ops: &[Operation<S::Op, S::Ret>]) -> bool {
    let mut pending = Pending::new(ops.len(), events(ops));
    let mut unreturned = (ops.iter())
        .filter(|op| matches!(op.outcome, Outcome::Returned { .. }))
        .count();
    let mut linearized = Linearized::new(ops.len());
    let mut seen = HashSet::new();
    let mut state = S::default();
    let mut undo: Vec<(usize, S)> = Vec::new();
    let mut at = pending.first();
    while unreturned > 0 {
        if let Some(Event::Call(i)) = pending.event(at) {
            let mut next = state.clone();
            let ret = next.invoke(&ops[i].op);
            let agrees = match &ops[i].outcome {
                Outcome::Returned { ret: recorded, .. } => *recorded == ret,
                Outcome::Unknown => true,
            };
            if agrees {
                linearized.insert(i);
                if seen.insert((linearized.key(), next.clone())) {
                    undo.push((i, std::mem::replace(&mut state, next)));
                    pending.lift(i);
                    unreturned -= usize::from(pending.ret[i].is_some());
                    at = pending.first();
                    continue;
                }
                linearized.remove(i);
            }
            at = pending.next[at];
        } else {
            // A return: the operation it ends cannot be put off any longer. Backtrack.
            let Some((i, before)) = undo.pop() else {
                return false;
            };
            state = before;
            linearized.remove(i);
            pending.unlift(i);
            unreturned += usize::from(pending.ret[i].is_some());
            at = pending.next[pending.call[i]];
        }
    }
    true
}
