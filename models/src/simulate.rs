//! Seeded random walks: a model's runs past the sizes exhaustive search can finish.
//!
//! A walk starts in an initial state and takes, at each step, one step the model allows,
//! chosen at random among those that stay within the model's bounds, weighted by the
//! weights the walk drew for each kind of step and each actor (see [`crate::swarm`]), until
//! it reaches its depth or no step is left, or time is up. Every Always property is judged
//! in every state of every walk,
//! and the actors' invariants are asserted after every step (see [`crate::node`]): a
//! broken one panics inside the step, and the walk reports it as a violation. Walk `k` of
//! a run from seed `s` draws from seed `s + k` alone, so a walk that finds a violation is
//! replayed exactly by `--seed s+k --runs 1`. A walk proves nothing about the states it did
//! not visit: a property that was not violated is reported as not violated, never as holding.

use crate::checkable::Checkable;
use crate::swarm::Swarm;
use crate::verdict::Verdict;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use stateright::Expectation;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// How many walks, how long, and from which seed.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The seed of the first walk; walk `k` uses `seed + k`.
    pub seed: u64,
    /// Stop after this many walks (`None`: until the time limit).
    pub runs: Option<u64>,
    /// Steps per walk at most.
    pub depth: usize,
    /// Stop starting walks after this long (`None`: until the runs are done).
    pub time_limit: Option<Duration>,
}

/// A snapshot of a running simulation.
#[derive(Clone, Copy, Debug)]
pub struct SimProgress {
    pub walks: u64,
    pub steps: u64,
    pub elapsed: Duration,
}

/// A violation found by a walk: what was violated, the walk's seed, and the steps there.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    /// The Always property violated, or `invariant` for an actor's invariant.
    pub property: String,
    /// For a broken invariant, the message of the assertion.
    pub message: Option<String>,
    /// The seed that replays the walk alone (`--seed SEED --runs 1`).
    pub seed: u64,
    pub trace: Vec<String>,
}

/// One Always property's outcome over every walk.
#[derive(Clone, Debug, Serialize)]
pub struct SimPropertyReport {
    pub name: &'static str,
    pub expected: Verdict,
    /// `violated` if a walk violated it, else `unknown` (random walks prove nothing, and
    /// stop at the first violation).
    pub actual: Verdict,
}

/// The outcome of a simulation.
#[derive(Clone, Debug, Serialize)]
pub struct SimReport {
    pub name: String,
    pub walks: u64,
    pub steps: u64,
    /// The deepest walk.
    pub max_depth: usize,
    pub seconds: f64,
    /// Seconds until the first violation, if one was found.
    pub first_violation_seconds: Option<f64>,
    pub as_expected: bool,
    pub properties: Vec<SimPropertyReport>,
    /// The Sometimes properties some walk reached.
    pub examples_seen: Vec<&'static str>,
    pub violation: Option<Violation>,
}

/// What one walk ended with.
enum Ending {
    /// It reached its depth, or a state where no step stays within the bounds.
    Done { depth: usize },
    /// It violated a property or broke an invariant.
    Violated(Violation),
}

/// Runs walks of `model` as `opts` says, judging the Always properties named in `expect`
/// (name, expected verdict; others are not judged), until every walk is done, the time is
/// up, or a violation is found.
pub fn simulate<M>(
    model: &M,
    name: &str,
    expect: &[(&'static str, Verdict)],
    opts: &SimOptions,
    progress: &mut dyn FnMut(SimProgress),
) -> SimReport
where
    M: Checkable,
    M::State: Clone,
    M::Action: Clone,
{
    let properties = model.properties();
    let start = Instant::now();
    let mut examples = vec![false; properties.len()];
    let (mut walks, mut steps, mut max_depth) = (0u64, 0u64, 0usize);
    let mut violation = None;
    let mut last_progress = Duration::ZERO;
    while opts.runs.is_none_or(|r| walks < r) && opts.time_limit.is_none_or(|t| start.elapsed() < t)
    {
        let seed = opts.seed.wrapping_add(walks);
        let deadline = opts.time_limit.map(|t| start + t);
        let ending = walk(model, seed, opts.depth, deadline, &mut examples, &mut steps);
        walks += 1;
        match ending {
            Ending::Done { depth } => max_depth = max_depth.max(depth),
            Ending::Violated(v) => {
                max_depth = max_depth.max(v.trace.len());
                violation = Some((v, start.elapsed()));
                break;
            }
        }
        if start.elapsed() >= last_progress + Duration::from_millis(500) {
            last_progress = start.elapsed();
            progress(SimProgress {
                walks,
                steps,
                elapsed: last_progress,
            });
        }
    }
    let violated = violation.as_ref().map(|(v, _)| v.property.as_str());
    let reports: Vec<SimPropertyReport> = expect
        .iter()
        .filter(|(p, _)| {
            properties
                .iter()
                .any(|q| q.name == *p && matches!(q.expectation, Expectation::Always))
        })
        .map(|(p, expected)| SimPropertyReport {
            name: p,
            expected: *expected,
            actual: if violated == Some(*p) {
                Verdict::Violated
            } else {
                Verdict::Unknown
            },
        })
        .collect();
    // A violation is expected only of a property expected violated (never an invariant);
    // a walk stops at its first, so a bug check is as expected once one of its expected
    // violations is found, and a design check while none is.
    let expected_violated =
        |p: &str| (reports.iter()).any(|r| r.name == p && r.expected == Verdict::Violated);
    let as_expected = match violated {
        Some(v) => expected_violated(v),
        None => !reports.iter().any(|r| r.expected == Verdict::Violated),
    };
    SimReport {
        name: name.to_string(),
        walks,
        steps,
        max_depth,
        seconds: start.elapsed().as_secs_f64(),
        first_violation_seconds: violation.as_ref().map(|(_, t)| t.as_secs_f64()),
        as_expected,
        properties: reports,
        examples_seen: (properties.iter().zip(&examples))
            .filter(|(_, &seen)| seen)
            .map(|(p, _)| p.name)
            .collect(),
        violation: violation.map(|(v, _)| v),
    }
}

/// One walk from `seed`, at most `depth` steps long and ending by `deadline`; counts its
/// steps into `steps` and the Sometimes properties it reaches into `examples`.
fn walk<M>(
    model: &M,
    seed: u64,
    depth: usize,
    deadline: Option<Instant>,
    examples: &mut [bool],
    steps: &mut u64,
) -> Ending
where
    M: Checkable,
    M::State: Clone,
    M::Action: Clone,
{
    let mut rng = StdRng::seed_from_u64(seed);
    let mut swarm = Swarm::draw(&mut rng, model.actor_count());
    let properties = model.properties();
    let mut trace: Vec<M::Action> = Vec::new();
    let violation = |property: &str, message: Option<String>, trace: &[M::Action]| {
        Ending::Violated(Violation {
            property: property.to_string(),
            message,
            seed,
            trace: (trace.iter().cloned())
                .map(|a| model.step_name(a))
                .collect(),
        })
    };
    let mut inits: Vec<M::State> = model.init_states();
    inits.retain(|s| model.within_boundary(s));
    if inits.is_empty() {
        return Ending::Done { depth: 0 };
    }
    let mut state = inits.swap_remove(rng.random_range(0..inits.len()));
    let mut actions = Vec::new();
    loop {
        for (p, seen) in properties.iter().zip(examples.iter_mut()) {
            match p.expectation {
                Expectation::Always if !(p.condition)(model, &state) => {
                    return violation(p.name, None, &trace)
                }
                Expectation::Sometimes if !*seen => *seen = (p.condition)(model, &state),
                _ => {}
            }
        }
        if trace.len() >= depth || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ending::Done { depth: trace.len() };
        }
        actions.clear();
        model.actions(&state, &mut actions);
        let mut weights: Vec<u32> = (actions.iter())
            .map(|a| swarm.weight(model.step_class(a)))
            .collect();
        let next = loop {
            let total: u32 = weights.iter().sum();
            if total == 0 {
                return Ending::Done { depth: trace.len() };
            }
            let i = weighted_index(&weights, rng.random_range(0..total));
            weights.swap_remove(i);
            let action = actions.swap_remove(i);
            match catch_unwind(AssertUnwindSafe(|| {
                model.next_state(&state, action.clone())
            })) {
                Err(panic) => {
                    trace.push(action);
                    return violation("invariant", Some(panic_message(&*panic)), &trace);
                }
                Ok(Some(next)) if model.within_boundary(&next) => break (action, next),
                Ok(_) => {}
            }
        };
        swarm.took(model.step_class(&next.0));
        trace.push(next.0);
        state = next.1;
        *steps += 1;
    }
}

/// The index `i` at which `pick` falls when each index takes `weights[i]` of the line
/// from 0 to their sum (which `pick` must be below).
fn weighted_index(weights: &[u32], mut pick: u32) -> usize {
    for (i, &w) in weights.iter().enumerate() {
        if pick < w {
            return i;
        }
        pick -= w;
    }
    unreachable!("the pick is below the sum of the weights")
}

/// The message a panic was raised with.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    (panic.downcast_ref::<String>().cloned())
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::weighted_index;

    #[test]
    fn a_pick_falls_on_the_index_whose_share_holds_it() {
        let weights = [4, 1, 0, 2];
        let picks: Vec<usize> = (0..7).map(|p| weighted_index(&weights, p)).collect();
        assert_eq!(picks, [0, 0, 0, 0, 1, 3, 3]);
    }
}
