//! The Wing-Gong-Lowe search over one partition of a history.

use super::bitset::{Linearized, MemoKey};
use super::budget::{btree_bytes, Budget, Exhausted};
use super::states::{StateId, States};
use super::unknown::{blinded, copies};
use super::{HistorySpec, Operation, Outcome, Time};
use std::collections::{BTreeSet, HashSet};

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
    /// Per event: the first operation invoked at or after it that returned and changes
    /// nothing (a read).
    next_read: Vec<Option<usize>>,
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
        let mut next_read = vec![None; events.len()];
        for at in (0..events.len()).rev() {
            next_read[at] = match events[at] {
                Event::Call(i)
                    if ops[i]
                        .ret()
                        .is_some_and(|ret| S::changes_nothing(&ops[i].op, Some(ret))) =>
                {
                    Some(i)
                }
                _ => next_read.get(at + 1).copied().flatten(),
            };
        }
        let mut pending = Pending {
            next_read,
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

    /// The heap bytes the lists hold.
    fn heap_bytes(&self) -> usize {
        size_of::<Event>() * self.events.len()
            + size_of::<usize>() * (self.next.len() + self.prev.len() + self.call.len())
            + size_of::<Option<usize>>()
                * (self.ret.len() + self.later.len() + self.next_read.len())
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

/// How a search ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// An order of all operations (indexes, in order) that explains every result; those
    /// with an unknown outcome that are left out never took effect.
    Linearization(Vec<usize>),
    /// No order. `deepest`: the operation whose return was the latest the search had to
    /// place and could not, if any; every operation that returned before it is explained
    /// by some order, so the shortest failing prefix ends at its return or later. `bound`:
    /// the latest-returning operation whose result was out of reach when the search gave
    /// up on a node (it gave up there without going on to that return), if any; the
    /// shortest failing prefix ends no later than the later of the two returns.
    Stuck {
        deepest: Option<usize>,
        bound: Option<usize>,
    },
}

/// What the search does next.
enum Step {
    /// Try operation `i`; if it fails, go on at `after`.
    Try(usize, Cursor),
    /// Look elsewhere.
    Move(Cursor),
    /// Nothing here can be placed: the operation with the first pending return (if that
    /// is why) cannot be explained after what was linearized.
    DeadEnd(Option<usize>),
}

/// One search of one partition. Rule (Wing and Gong): take any pending operation that no
/// pending return precedes, apply it, and go on; on a dead end, undo the last choice and
/// try the next one. Rule (Lowe): skip a choice that leads to a (set, state) pair already
/// explored; states are interned ([`States`]) so the memo and the stack hold numbers.
/// Rule (unknown outcomes): such an operation is tried only after the returned ones,
/// latest first, since one that never took effect is as good as one that takes effect
/// after everything else; those that let the blocked operation go on are tried first.
/// Operations that change nothing are tried before those that do.
/// Rules (module `unknown`): writes of unknown outcome whose value no result shows are
/// copies of one write, and only the earliest pending copy is a candidate.
/// Rule (no-ops at once): a candidate that agrees and whose result says it changes nothing
/// in any state (a read, a failed compare-and-set) can be moved to the current point of
/// any linearization that exists, so it is no choice: when its branch fails, so does the
/// node it was taken at.
/// Rule (a result out of reach): a pending operation whose recorded result no state
/// reachable from here can give ([`HistorySpec::reachable`]: a read of a list that does
/// not start with the list as it stands) makes the node a dead end at once. Without it, a
/// wrong order of concurrent appends is found out only when such a read's return comes,
/// and every order of the appends placed in between is tried first: the states differ
/// (each is a list in another order), so the memo cannot merge them.
struct Search<'a, S: HistorySpec> {
    ops: &'a [Operation<S::Op, S::Ret>],
    pending: Pending,
    /// Operations with a return not yet linearized.
    unreturned: usize,
    linearized: Linearized,
    /// Operations not yet linearized that may take the state back ([`HistorySpec::rewinds`]).
    rewinding: BTreeSet<usize>,
    states: States<S>,
    state: StateId,
    seen: HashSet<(MemoKey, StateId)>,
    /// Per linearized operation: the state before it, and where to look next when it is
    /// undone (`None`: nowhere, it was no choice).
    undo: Vec<(usize, StateId, Option<Cursor>)>,
    /// The operation whose return is the latest the search could not place.
    deepest: Option<usize>,
    /// The latest-returning operation whose result was out of reach.
    bound: Option<usize>,
}

/// Searches for an order of `ops`, each placed between its invocation and its return,
/// that gives every returned operation its recorded result when run on `S` from its
/// initial state; stops if that would pass `budget`.
pub(super) fn search<S: HistorySpec>(
    ops: &[Operation<S::Op, S::Ret>],
    budget: &mut Budget,
) -> Result<Found, Exhausted> {
    let ops = &*blinded::<S>(ops);
    let pending = Pending::new::<S>(ops);
    let linearized = Linearized::new(ops.iter().map(|op| op.ret().is_none()));
    let rewinding: BTreeSet<usize> = (0..ops.len()).filter(|&i| S::rewinds(&ops[i].op)).collect();
    budget.charge(
        pending.heap_bytes()
            + linearized.heap_bytes()
            + btree_bytes(rewinding.len(), size_of::<usize>()),
    )?;
    let mut states = States::new();
    let state = states.intern(S::default(), budget)?;
    let mut search = Search {
        ops,
        unreturned: pending.ret.iter().filter(|ret| ret.is_some()).count(),
        pending,
        linearized,
        rewinding,
        states,
        state,
        seen: HashSet::new(),
        undo: Vec::new(),
        deepest: None,
        bound: None,
    };
    search.run(budget)
}

impl<S: HistorySpec> Search<'_, S> {
    fn start(&self) -> Cursor {
        Cursor::Returned {
            at: self.pending.next[RETURNED_HEAD],
            no_ops: true,
        }
    }

    fn run(&mut self, budget: &mut Budget) -> Result<Found, Exhausted> {
        let mut cursor = self.start();
        while self.unreturned > 0 {
            budget.step()?;
            let (i, after) = match self.step(cursor) {
                Step::Move(next) => {
                    cursor = next;
                    continue;
                }
                Step::Try(i, after) => (i, after),
                Step::DeadEnd(blocked) => {
                    if let Some(blocked) = blocked {
                        Self::note(&mut self.deepest, blocked, &self.pending);
                    }
                    match self.backtrack() {
                        Some(next) => {
                            cursor = next;
                            continue;
                        }
                        None => return Ok(self.stuck()),
                    }
                }
            };
            cursor = after;
            let ops = self.ops;
            let op = &ops[i];
            let now = self.states.get(self.state);
            let mut next = now.clone();
            let ret = next.invoke(&op.op);
            if let Some(recorded) = op.ret().filter(|recorded| **recorded != ret) {
                if !self.reachable(i, recorded) {
                    match self.backtrack() {
                        Some(next) => cursor = next,
                        None => return Ok(self.stuck()),
                    }
                }
                continue;
            }
            if op.ret().is_none() && next == *now {
                // Rule (a no-op now): an unknown outcome that changes nothing here is no
                // different from one left pending, which keeps every later choice open.
                continue;
            }
            let no_op = S::changes_nothing(&op.op, op.ret());
            debug_assert!(!no_op || next == *now, "a no-op changed the state");
            let next = if no_op {
                self.state
            } else {
                self.states.intern(next, budget)?
            };
            self.linearized.insert(i);
            let key = (self.linearized.key(), next);
            budget.room_in_set(&mut self.seen)?;
            let heap = key.0.heap_bytes();
            if self.seen.insert(key) {
                budget.charge(heap)?;
                budget.room_in_vec(&mut self.undo)?;
                let choice = (!no_op).then_some(after);
                self.undo
                    .push((i, std::mem::replace(&mut self.state, next), choice));
                self.pending.lift(i);
                self.rewinding.remove(&i);
                self.unreturned -= usize::from(self.pending.ret[i].is_some());
                cursor = self.start();
                if !no_op && self.next_read_out_of_reach() {
                    match self.backtrack() {
                        Some(next) => cursor = next,
                        None => return Ok(self.stuck()),
                    }
                }
            } else {
                self.linearized.remove(i);
            }
        }
        Ok(Found::Linearization(
            self.undo.iter().map(|&(i, _, _)| i).collect(),
        ))
    }

    /// Where `cursor` leads.
    fn step(&self, cursor: Cursor) -> Step {
        let (pending, ops) = (&self.pending, self.ops);
        match cursor {
            Cursor::Returned { at, no_ops } => match pending.event(at) {
                Some(Event::Call(i)) => {
                    let after = Cursor::Returned {
                        at: pending.next[at],
                        no_ops,
                    };
                    if no_ops && !S::changes_nothing(&ops[i].op, ops[i].ret()) {
                        Step::Move(after)
                    } else {
                        Step::Try(i, after)
                    }
                }
                Some(Event::Return(_)) if no_ops => Step::Move(Cursor::Returned {
                    at: pending.next[RETURNED_HEAD],
                    no_ops: false,
                }),
                Some(Event::Return(blocked)) => Step::Move(Cursor::Unknown {
                    at: pending.prev[UNKNOWN_TAIL],
                    blocked,
                    enablers: true,
                }),
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
                    let state = self.states.get(self.state);
                    if !invoked_in_time || (enablers && !enables(state, &ops[i], &ops[blocked])) {
                        Step::Move(after)
                    } else {
                        Step::Try(i, after)
                    }
                }
                None if enablers => Step::Move(Cursor::Unknown {
                    at: pending.prev[UNKNOWN_TAIL],
                    blocked,
                    enablers: false,
                }),
                _ => Step::DeadEnd(Some(blocked)),
            },
        }
    }

    /// False if the result recorded for operation `i`, `recorded`, which it does not
    /// give now, is out of reach from the current state; notes `i` if so.
    fn reachable(&mut self, i: usize, recorded: &S::Ret) -> bool {
        let ops = self.ops;
        let rewinds = self.rewinding.iter().map(|&j| &ops[j].op);
        let now = self.states.get(self.state);
        let reachable = now.reachable(&ops[i].op, recorded, rewinds);
        if !reachable {
            Self::note(&mut self.bound, i, &self.pending);
        }
        reachable
    }

    /// True if the first read invoked after the first pending return (not yet a candidate,
    /// so not yet linearized) is out of reach. Rule (a result out of reach) applies to every
    /// pending operation; this one is the next read to come, and shows the order of the
    /// writes before it: a wrong order of writes placed now is found out here, at once,
    /// instead of after every order of the writes that come before that read.
    fn next_read_out_of_reach(&mut self) -> bool {
        let mut at = self.pending.next[RETURNED_HEAD];
        while let Some(Event::Call(_)) = self.pending.event(at) {
            at = self.pending.next[at];
        }
        let Some(read) = self
            .pending
            .next_read
            .get(at.wrapping_sub(FIRST))
            .copied()
            .flatten()
        else {
            return false;
        };
        let op = &self.ops[read];
        let Some(recorded) = op.ret() else {
            return false;
        };
        let mut now = self.states.get(self.state).clone();
        now.invoke(&op.op) != *recorded && !self.reachable(read, recorded)
    }

    /// Sets `latest` to `op` if `op` returned later.
    fn note(latest: &mut Option<usize>, op: usize, pending: &Pending) {
        if latest.is_none_or(|latest| pending.ret[op] > pending.ret[latest]) {
            *latest = Some(op);
        }
    }

    fn stuck(&self) -> Found {
        Found::Stuck {
            deepest: self.deepest,
            bound: self.bound,
        }
    }

    /// Undoes linearized operations up to the last real choice; where to look next, or
    /// `None` if there is no choice left.
    fn backtrack(&mut self) -> Option<Cursor> {
        loop {
            let (i, before, next) = self.undo.pop()?;
            self.state = before;
            self.linearized.remove(i);
            self.pending.unlift(i);
            if S::rewinds(&self.ops[i].op) {
                self.rewinding.insert(i);
            }
            self.unreturned += usize::from(self.pending.ret[i].is_some());
            if next.is_some() {
                return next;
            }
        }
    }
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
