//! The Wing-Gong-Lowe search over one partition of a history.

use super::bitset::Linearized;
use super::unknown::{blinded, copies};
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

/// The operations still to linearize, as two doubly linked lists from which an operation
/// is lifted when it is linearized and put back when the search backtracks (Knuth's
/// dancing links): the calls and returns of operations that returned, in time order, and
/// the calls of operations with an unknown outcome, in invocation order. Of identical
/// operations with an unknown outcome only the earliest pending copy is in the list: when
/// it is lifted, the next copy takes its place (see [`copies`]).
struct Pending {
    /// Per list index from [`FIRST`] on: its event.
    events: Vec<Event>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Per operation: the list index of its call, and of its return if it has one.
    call: Vec<usize>,
    ret: Vec<Option<usize>>,
    /// Per operation with an unknown outcome: its next identical copy.
    later: Vec<Option<usize>>,
}

/// The sentinels: the heads and tails of the returned list and of the unknown list.
const RETURNED_HEAD: usize = 0;
const RETURNED_TAIL: usize = 1;
const UNKNOWN_HEAD: usize = 2;
const UNKNOWN_TAIL: usize = 3;
const FIRST: usize = 4;

impl Pending {
    fn new<S: HistorySpec>(ops: &[Operation<S::Op, S::Ret>]) -> Self {
        let events = events(ops);
        let len = FIRST + events.len();
        let later = copies::<S>(ops);
        let mut copy = vec![false; ops.len()];
        for &l in later.iter().flatten() {
            copy[l] = true;
        }
        let mut pending = Pending {
            events,
            next: vec![0; len],
            prev: vec![0; len],
            call: vec![0; ops.len()],
            ret: vec![None; ops.len()],
            later,
        };
        let (mut returned, mut unknown) = (RETURNED_HEAD, UNKNOWN_HEAD);
        for at in FIRST..len {
            let tail = match pending.events[at - FIRST] {
                Event::Call(op) => {
                    pending.call[op] = at;
                    let known = matches!(ops[op].outcome, Outcome::Returned { .. });
                    if known {
                        &mut returned
                    } else if copy[op] {
                        continue;
                    } else {
                        &mut unknown
                    }
                }
                Event::Return(op) => {
                    pending.ret[op] = Some(at);
                    &mut returned
                }
            };
            pending.next[*tail] = at;
            pending.prev[at] = *tail;
            *tail = at;
        }
        pending.next[returned] = RETURNED_TAIL;
        pending.prev[RETURNED_TAIL] = returned;
        pending.next[unknown] = UNKNOWN_TAIL;
        pending.prev[UNKNOWN_TAIL] = unknown;
        pending
    }

    /// The event at list index `at`, `None` for a sentinel.
    fn event(&self, at: usize) -> Option<Event> {
        self.events.get(at.wrapping_sub(FIRST)).copied()
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

    /// Takes `op` out of the lists; its next copy, if any, takes its place.
    fn lift(&mut self, op: usize) {
        let at = self.call[op];
        if let Some(copy) = self.later[op] {
            let copy = self.call[copy];
            (self.prev[copy], self.next[copy]) = (self.prev[at], self.next[at]);
            self.relink(copy);
        } else {
            self.unlink(at);
        }
        if let Some(ret) = self.ret[op] {
            self.unlink(ret);
        }
    }

    /// Undoes the last [`Pending::lift`], of `op`.
    fn unlift(&mut self, op: usize) {
        if let Some(ret) = self.ret[op] {
            self.relink(ret);
        }
        if let Some(copy) = self.later[op] {
            self.unlink(self.call[copy]);
        }
        self.relink(self.call[op]);
    }
}

/// Where the search looks for the next operation to linearize.
#[derive(Clone, Copy)]
enum Cursor {
    /// At this index of the returned list. On the first walk (`no_ops`), only operations
    /// that change nothing are tried; on the second, all.
    Returned { at: usize, no_ops: bool },
    /// At this index of the unknown list, walking back from the latest invocation, when
    /// the operation `blocked` has the first pending return: only calls invoked by then
    /// are candidates. On the first walk (`enablers`), only those after which `blocked`
    /// agrees are tried; on the second, all.
    Unknown {
        at: usize,
        blocked: usize,
        enablers: bool,
    },
}

/// True if some order of `ops`, each placed between its invocation and its return, gives
/// every returned operation its recorded result when run on `S` from its initial state.
/// Rule (Wing and Gong): take any pending operation that no pending return precedes, apply
/// it, and go on; on a dead end, undo the last choice and try the next one. Rule (Lowe):
/// skip a choice that leads to a (set, state) pair already explored. Rule (unknown
/// outcomes): such an operation is tried only after the returned ones, latest first, since
/// one that never took effect is as good as one that takes effect after everything else;
/// those that let the blocked operation go on are tried first. Operations that change
/// nothing are tried before those that do.
/// Rules (module `unknown`): writes of unknown outcome whose value no result shows are
/// copies of one write, and only the earliest pending copy is a candidate.
/// Rule (no-ops at once): a candidate that agrees and whose result says it changes nothing
/// in any state (a read, a failed compare-and-set) can be moved to the current point of
/// any linearization that exists, so it is no choice: when its branch fails, so does the
/// node it was taken at.
pub(super) fn linearizable<S: HistorySpec>(ops: &[Operation<S::Op, S::Ret>]) -> bool {
    let ops = &*blinded::<S>(ops);
    let mut pending = Pending::new::<S>(ops);
    let mut unreturned = pending.ret.iter().filter(|ret| ret.is_some()).count();
    let mut linearized = Linearized::new(ops.iter().map(|op| op.ret().is_none()));
    let mut seen = HashSet::new();
    let mut state = S::default();
    // Per linearized operation: the state before it, and where to look next when it is
    // undone (`None`: nowhere, it was no choice).
    let mut undo: Vec<(usize, S, Option<Cursor>)> = Vec::new();
    let start = |pending: &Pending| Cursor::Returned {
        at: pending.next[RETURNED_HEAD],
        no_ops: true,
    };
    let mut cursor = start(&pending);
    while unreturned > 0 {
        let (i, after) = match cursor {
            Cursor::Returned { at, no_ops } => match pending.event(at) {
                Some(Event::Call(i)) => {
                    let after = Cursor::Returned {
                        at: pending.next[at],
                        no_ops,
                    };
                    if no_ops && !S::changes_nothing(&ops[i].op, ops[i].ret()) {
                        cursor = after;
                        continue;
                    }
                    (i, after)
                }
                Some(Event::Return(_)) if no_ops => {
                    let at = pending.next[RETURNED_HEAD];
                    let no_ops = false;
                    cursor = Cursor::Returned { at, no_ops };
                    continue;
                }
                Some(Event::Return(blocked)) => {
                    let at = pending.prev[UNKNOWN_TAIL];
                    let enablers = true;
                    cursor = Cursor::Unknown {
                        at,
                        blocked,
                        enablers,
                    };
                    continue;
                }
                None => unreachable!("an unreturned operation's return is pending"),
            },
            Cursor::Unknown {
                at,
                blocked,
                enablers,
            } => match pending.event(at) {
                Some(Event::Call(i)) => {
                    let after = Cursor::Unknown {
                        at: pending.prev[at],
                        blocked,
                        enablers,
                    };
                    let invoked_in_time = Some(ops[i].invoked) <= ops[blocked].returned();
                    if !invoked_in_time || (enablers && !enables(&state, &ops[i], &ops[blocked])) {
                        cursor = after;
                        continue;
                    }
                    (i, after)
                }
                None if enablers => {
                    let at = pending.prev[UNKNOWN_TAIL];
                    let enablers = false;
                    cursor = Cursor::Unknown {
                        at,
                        blocked,
                        enablers,
                    };
                    continue;
                }
                _ => {
                    // Every candidate failed: undo up to the last real choice and try the
                    // one after it.
                    loop {
                        let Some((i, before, next)) = undo.pop() else {
                            return false;
                        };
                        state = before;
                        linearized.remove(i);
                        pending.unlift(i);
                        unreturned += usize::from(pending.ret[i].is_some());
                        if let Some(next) = next {
                            cursor = next;
                            break;
                        }
                    }
                    continue;
                }
            },
        };
        cursor = after;
        let mut next = state.clone();
        let ret = next.invoke(&ops[i].op);
        let recorded = ops[i].ret();
        if recorded.is_some_and(|recorded| *recorded != ret) {
            continue;
        }
        if recorded.is_none() && next == state {
            // Rule (a no-op now): an unknown outcome that changes nothing here is no
            // different from one left pending, which keeps every later choice open.
            continue;
        }
        let no_op = S::changes_nothing(&ops[i].op, recorded);
        debug_assert!(!no_op || next == state, "a no-op changed the state");
        linearized.insert(i);
        let choice = (!no_op).then_some(after);
        if seen.insert((linearized.key(), next.clone())) {
            undo.push((i, std::mem::replace(&mut state, next), choice));
            pending.lift(i);
            unreturned -= usize::from(pending.ret[i].is_some());
            cursor = start(&pending);
        } else {
            linearized.remove(i);
        }
    }
    true
}

/// True if `blocked` agrees once `op` has been applied to `state`.
fn enables<S: HistorySpec>(
    state: &S,
    op: &Operation<S::Op, S::Ret>,
    blocked: &Operation<S::Op, S::Ret>,
) -> bool {
    let mut state = state.clone();
    state.invoke(&op.op);
    let ret = state.invoke(&blocked.op);
    matches!(&blocked.outcome, Outcome::Returned { ret: recorded, .. } if *recorded == ret)
}
