//! Checking a whole history: split it into independent objects, search each, and on
//! failure find the shortest prefix that fails and the operations around its end.

use super::report::{Failure, Row};
use super::search::{events, linearizable, Event};
use super::{History, HistorySpec, Operation, Outcome, Verdict};
use smol_str::SmolStr;
use std::collections::BTreeMap;

/// How many operations that completed before the failing one began the report shows.
const CONTEXT: usize = 4;

/// Checks `history` against `S`; see the module documentation for what an unknown outcome
/// allows.
pub fn check<S: HistorySpec>(history: &History<S>) -> Verdict {
    for (partition, ops) in partitions::<S>(history) {
        if !linearizable::<S>(&ops) {
            return Verdict::NotLinearizable(failure::<S>(partition, &ops));
        }
    }
    Verdict::Linearizable
}

/// The history split by [`HistorySpec::partition`] (whole if any operation has no
/// partition), each part in invocation order. Reads with an unknown outcome are dropped:
/// they changed nothing and nobody saw their result.
fn partitions<S: HistorySpec>(history: &History<S>) -> BTreeMap<Option<SmolStr>, History<S>> {
    let relevant = (history.iter())
        .filter(|op| !(op.outcome == Outcome::Unknown && S::changes_nothing(&op.op, None)));
    let mut parts: BTreeMap<_, History<S>> = BTreeMap::new();
    if history.iter().all(|op| S::partition(&op.op).is_some()) {
        for op in relevant {
            parts
                .entry(S::partition(&op.op))
                .or_default()
                .push(op.clone());
        }
    } else {
        parts.insert(None, relevant.cloned().collect());
    }
    for ops in parts.values_mut() {
        ops.sort_by_key(|op| op.invoked);
    }
    parts
}

/// The first `len` events of `ops`: operations invoked within them, an operation whose
/// return falls outside them having an unknown outcome.
fn prefix<S: HistorySpec>(ops: &History<S>, events: &[Event], len: usize) -> History<S> {
    let mut cut: Vec<Option<Operation<S::Op, S::Ret>>> = vec![None; ops.len()];
    for event in &events[..len] {
        match *event {
            Event::Call(i) => {
                cut[i] = Some(Operation {
                    outcome: Outcome::Unknown,
                    ..ops[i].clone()
                })
            }
            Event::Return(i) => cut[i] = Some(ops[i].clone()),
        }
    }
    cut.into_iter().flatten().collect()
}

/// Rule (prefix closure): if a history is linearizable, so is each of its prefixes. The
/// shortest failing prefix therefore ends with the return of the first operation whose
/// result no order explains; binary search finds it.
fn failure<S: HistorySpec>(partition: Option<SmolStr>, ops: &History<S>) -> Failure {
    let events = events(ops);
    let (mut good, mut bad) = (0, events.len());
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        if linearizable::<S>(&prefix::<S>(ops, &events, mid)) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    let Event::Return(culprit) = events[bad - 1] else {
        unreachable!("an invocation alone cannot make a history fail")
    };
    Failure {
        partition,
        operations: ops.len(),
        culprit: Row::of::<S>(&ops[culprit]),
        window: window::<S>(ops, culprit),
    }
}

/// The operations concurrent with `culprit`, and the last [`CONTEXT`] that returned before
/// it was invoked, in invocation order.
fn window<S: HistorySpec>(ops: &History<S>, culprit: usize) -> Vec<Row> {
    let returned = Operation::returned;
    let (start, end) = (ops[culprit].invoked, returned(&ops[culprit]));
    let end = end.expect("the culprit returned");
    let mut before: Vec<&Operation<S::Op, S::Ret>> = (ops.iter())
        .filter(|op| returned(op).is_some_and(|at| at < start))
        .collect();
    before.sort_by_key(|op| returned(op));
    let context = before.split_off(before.len().saturating_sub(CONTEXT));
    let concurrent =
        (ops.iter()).filter(|op| op.invoked <= end && returned(op).is_none_or(|at| at >= start));
    let mut rows: Vec<&Operation<S::Op, S::Ret>> = context.into_iter().chain(concurrent).collect();
    rows.sort_by_key(|op| op.invoked);
    rows.into_iter().map(Row::of::<S>).collect()
}
