//! Checking a whole history: split it into independent objects, search each within the
//! limits, and on failure find the shortest prefix that fails, the longest that does not,
//! and the operations around the one that cannot be placed.

use super::budget::{Budget, Exhausted, Limits};
use super::report::{Failure, Row, Undecided};
use super::search::{events, search, Event, Found};
use super::{History, HistorySpec, Operation, Outcome, Verdict};
use smol_str::SmolStr;
use std::collections::BTreeMap;

/// How many operations that completed before the failing one began the report shows.
const CONTEXT: usize = 4;

/// The passes over the partitions still undecided: each gives every one of them the memory
/// limit shifted right by this much, so that one hard partition cannot keep the checker
/// from a partition that fails quickly (a 2 GiB limit: 8 MiB, then 128 MiB, then all).
const PASSES: [u32; 3] = [8, 4, 0];

/// What the check found for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The independent object, if the spec has several.
    pub key: Option<SmolStr>,
    /// Its operations: indexes into the history, in invocation order.
    pub ops: Vec<usize>,
    pub verdict: PartVerdict,
}

/// A partition's verdict, with the orders that show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartVerdict {
    /// Every result is explained by this order of operations (indexes into the history);
    /// operations with an unknown outcome that it leaves out never took effect.
    Linearizable { order: Vec<usize> },
    /// `order` explains every operation that returned before `culprit` did, and no order
    /// explains `culprit` with them.
    NotLinearizable {
        order: Vec<usize>,
        culprit: usize,
        failure: Failure,
    },
    /// The search stopped at a limit (the last one it was given: a partition is searched
    /// with more memory only while no other has failed).
    Unknown(Exhausted),
}

/// A history's verdict, each partition's, and the most memory a search held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    pub verdict: Verdict,
    pub parts: Vec<Part>,
    pub peak_memory: usize,
}

/// Checks `history` against `S` within the default [`Limits`]; see the module
/// documentation for what an unknown outcome allows.
pub fn check<S: HistorySpec>(history: &History<S>) -> Verdict {
    check_within::<S>(history, &Limits::default())
}

/// Checks `history` against `S` within `limits`.
pub fn check_within<S: HistorySpec>(history: &History<S>, limits: &Limits) -> Verdict {
    analyze::<S>(history, limits).verdict
}

/// Checks `history` against `S` within `limits`, partition by partition. Rule
/// (P-compositionality): the history is linearizable iff every partition is, so one
/// failing partition decides, whatever the others. Each of the [`PASSES`] gives every
/// partition still undecided more memory, until one has failed or the last pass is done.
pub fn analyze<S: HistorySpec>(history: &History<S>, limits: &Limits) -> Analysis {
    let start = Budget::new(*limits);
    let mut passes: Vec<Budget> = (PASSES.iter())
        .map(|&shift| {
            start.fresh_within(Limits {
                max_memory: limits.max_memory >> shift,
                ..*limits
            })
        })
        .collect();
    let [first, later @ ..] = passes.as_mut_slice() else {
        unreachable!("there is a first pass")
    };
    let mut parts: Vec<Part> = (partitions::<S>(history).into_iter())
        .map(|(key, ops)| {
            let verdict = check_part::<S>(history, key.clone(), &ops, first);
            Part { key, ops, verdict }
        })
        .collect();
    for pass in later {
        if parts.iter().any(Part::failed) {
            break;
        }
        for part in &mut parts {
            if let PartVerdict::Unknown(_) = part.verdict {
                part.verdict = check_part::<S>(history, part.key.clone(), &part.ops, pass);
            }
        }
    }
    let failure = parts.iter().find_map(|part| match &part.verdict {
        PartVerdict::NotLinearizable { failure, .. } => Some(failure.clone()),
        _ => None,
    });
    let undecided = parts.iter().find_map(|part| match part.verdict {
        PartVerdict::Unknown(reason) => Some(Undecided {
            partition: part.key.clone(),
            operations: part.ops.len(),
            reason,
        }),
        _ => None,
    });
    let verdict = match (failure, undecided) {
        (Some(failure), _) => Verdict::NotLinearizable(failure),
        (None, Some(undecided)) => Verdict::Unknown(undecided),
        (None, None) => Verdict::Linearizable,
    };
    Analysis {
        verdict,
        parts,
        peak_memory: passes.iter().map(Budget::peak).max().unwrap_or(0),
    }
}

impl Part {
    fn failed(&self) -> bool {
        matches!(self.verdict, PartVerdict::NotLinearizable { .. })
    }
}

/// Searches the partition `key`, the operations `indexes` of `history`, within a fresh
/// budget of `pass`.
fn check_part<S: HistorySpec>(
    history: &History<S>,
    key: Option<SmolStr>,
    indexes: &[usize],
    pass: &mut Budget,
) -> PartVerdict {
    let mut budget = pass.fresh();
    let verdict = search_part::<S>(history, key, indexes, &mut budget);
    pass.absorb(&budget);
    verdict
}

fn search_part<S: HistorySpec>(
    history: &History<S>,
    key: Option<SmolStr>,
    indexes: &[usize],
    budget: &mut Budget,
) -> PartVerdict {
    let ops: History<S> = indexes.iter().map(|&i| history[i].clone()).collect();
    let global = |order: Vec<usize>| order.into_iter().map(|i| indexes[i]).collect();
    match search::<S>(&ops, budget) {
        Ok(Found::Linearization(order)) => PartVerdict::Linearizable {
            order: global(order),
        },
        Ok(Found::Stuck { deepest, bound }) => {
            let (culprit, order) = explain::<S>(&ops, deepest, bound, budget);
            PartVerdict::NotLinearizable {
                order: global(order),
                culprit: indexes[culprit],
                failure: failure::<S>(key, &ops, culprit),
            }
        }
        Err(reason) => PartVerdict::Unknown(reason),
    }
}

/// The history split by [`HistorySpec::partition`] (whole if any operation has no
/// partition), each part as indexes into the history in invocation order. Reads with an
/// unknown outcome are left out: they changed nothing and nobody saw their result.
fn partitions<S: HistorySpec>(history: &History<S>) -> BTreeMap<Option<SmolStr>, Vec<usize>> {
    let relevant = (0..history.len()).filter(|&i| {
        let op = &history[i];
        !(op.outcome == Outcome::Unknown && S::changes_nothing(&op.op, None))
    });
    let whole = !history.iter().all(|op| S::partition(&op.op).is_some());
    let mut parts: BTreeMap<_, Vec<usize>> = BTreeMap::new();
    for i in relevant {
        let key = if whole {
            None
        } else {
            S::partition(&history[i].op)
        };
        parts.entry(key).or_default().push(i);
    }
    for ops in parts.values_mut() {
        ops.sort_by_key(|&i| history[i].invoked);
    }
    parts
}

/// The first `len` events of `ops`: operations invoked within them, an operation whose
/// return falls outside them having an unknown outcome; with each one's index in `ops`.
fn prefix<S: HistorySpec>(
    ops: &History<S>,
    events: &[Event],
    len: usize,
) -> (History<S>, Vec<usize>) {
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
    let kept: Vec<usize> = (0..ops.len()).filter(|&i| cut[i].is_some()).collect();
    (cut.into_iter().flatten().collect(), kept)
}

/// The operation of the failing `ops` whose return ends the shortest failing prefix, and
/// an order that explains the longest prefix before it (indexes into `ops`). Rule (prefix
/// closure): if a history is linearizable, so is each of its prefixes. The failed search
/// already bounds that return (`deepest`, `bound`); only when the two differ does a binary
/// search over prefixes between them decide. Should a limit stop these searches, the
/// deepest operation found is named, with no order.
fn explain<S: HistorySpec>(
    ops: &History<S>,
    deepest: Option<usize>,
    bound: Option<usize>,
    budget: &mut Budget,
) -> (usize, Vec<usize>) {
    let events = events(ops);
    let position =
        |op: Option<usize>| op.and_then(|op| events.iter().position(|e| *e == Event::Return(op)));
    // Prefixes of `good` events are linearizable, of `bad` events not.
    let mut good = position(deepest).unwrap_or(0);
    let mut bad = position(bound)
        .map_or(events.len(), |at| at + 1)
        .max(good + 1);
    let fallback = deepest.or(bound).unwrap_or_else(|| match events[bad - 1] {
        Event::Return(i) | Event::Call(i) => i,
    });
    let linearizable = |len: usize| {
        let (prefix, kept) = prefix::<S>(ops, &events, len);
        match search::<S>(&prefix, &mut budget.fresh()) {
            Ok(Found::Linearization(order)) => {
                Ok(Some(order.into_iter().map(|i| kept[i]).collect()))
            }
            Ok(Found::Stuck { .. }) => Ok(None),
            Err(reason) => Err(reason),
        }
    };
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        match linearizable(mid) {
            Ok(Some(_)) => good = mid,
            Ok(None) => bad = mid,
            Err(_) => return (fallback, Vec::new()),
        }
    }
    let Event::Return(culprit) = events[bad - 1] else {
        unreachable!("an invocation alone cannot make a history fail")
    };
    let order = linearizable(bad - 1).ok().flatten().unwrap_or_default();
    (culprit, order)
}

/// The report on `culprit` of the failing partition `ops`.
fn failure<S: HistorySpec>(
    partition: Option<SmolStr>,
    ops: &History<S>,
    culprit: usize,
) -> Failure {
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
    let returned = |i: usize| ops[i].returned();
    let (start, end) = (ops[culprit].invoked, returned(culprit));
    let end = end.expect("the culprit returned");
    let mut before: Vec<usize> = (0..ops.len())
        .filter(|&i| returned(i).is_some_and(|at| at < start))
        .collect();
    before.sort_by_key(|&i| returned(i));
    let context = before.split_off(before.len().saturating_sub(CONTEXT));
    let concurrent = (0..ops.len())
        .filter(|&i| ops[i].invoked <= end && returned(i).is_none_or(|at| at >= start));
    let mut rows: Vec<usize> = context.into_iter().chain(concurrent).collect();
    rows.sort_by_key(|&i| ops[i].invoked);
    rows.into_iter().map(|i| Row::of::<S>(&ops[i])).collect()
}
