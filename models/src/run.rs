//! Running one model: the search, the verdict on every property against its expectation,
//! and counterexamples as readable steps.

use crate::checkable::Checkable;
use crate::simulate::{SimOptions, SimProgress, SimReport};
pub use crate::verdict::Verdict;
use serde::Serialize;
use stateright::{Checker, Expectation, HasDiscoveries, Model, Path};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How to search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// Depth-first to the end of the bounded state space (applies symmetry, flat memory).
    Dfs,
    /// Breadth-first: shortest counterexamples.
    Bfs,
}

/// Options that apply to any check.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub threads: usize,
    /// Overrides the check's own search.
    pub search: Option<Search>,
    /// Stops exploring below this depth (the result is then not exhaustive).
    pub depth: Option<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: 1,
            search: None,
            depth: None,
        }
    }
}

/// A snapshot of a running search.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub unique_states: usize,
    pub max_depth: usize,
    pub elapsed: Duration,
}

/// One property's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyReport {
    pub name: &'static str,
    /// `always`, `sometimes` or `eventually`.
    pub expectation: &'static str,
    pub expected: Verdict,
    pub actual: Verdict,
    /// For a violated `always` (or a found `sometimes`), the steps that lead there.
    #[serde(skip)]
    pub trace: Option<Vec<String>>,
}

impl PropertyReport {
    pub fn as_expected(&self) -> bool {
        self.expected == self.actual
    }
}

/// The outcome of one check.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub name: String,
    pub unique_states: usize,
    pub max_depth: usize,
    pub seconds: f64,
    /// True if the whole bounded state space was explored.
    pub exhaustive: bool,
    pub as_expected: bool,
    pub properties: Vec<PropertyReport>,
}

/// A model the registry can run, whatever its actor and history types.
pub trait Runnable {
    /// Runs the search and judges every property in `expect` (name, expected verdict).
    fn run(
        self: Box<Self>,
        name: &str,
        expect: &[(&'static str, Verdict)],
        search: Search,
        opts: &RunOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Report;

    /// Runs seeded random walks and judges every Always property in `expect` in every
    /// state they visit (see [`crate::simulate`]).
    fn simulate(
        self: Box<Self>,
        name: &str,
        expect: &[(&'static str, Verdict)],
        opts: &SimOptions,
        progress: &mut dyn FnMut(SimProgress),
    ) -> SimReport;

    /// Serves stateright's Explorer on `addr`; does not return while it serves.
    fn explore(self: Box<Self>, addr: &str);
}

fn expectation_name(e: &Expectation) -> &'static str {
    match e {
        Expectation::Always => "always",
        Expectation::Sometimes => "sometimes",
        Expectation::Eventually => "eventually",
    }
}

/// The verdict of a property given whether the search found a discovery for it.
fn verdict(e: &Expectation, discovered: bool, exhaustive: bool) -> Verdict {
    match (e, discovered) {
        // A discovery of an always/eventually property is a counterexample.
        (Expectation::Always | Expectation::Eventually, true) => Verdict::Violated,
        // A discovery of a sometimes property is an example.
        (Expectation::Sometimes, true) => Verdict::Holds,
        (Expectation::Sometimes, false) if exhaustive => Verdict::Violated,
        (_, false) if exhaustive => Verdict::Holds,
        _ => Verdict::Unknown,
    }
}

impl<M> Runnable for M
where
    M: Checkable + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Eq + Hash + Send + Sync,
{
    fn run(
        self: Box<Self>,
        name: &str,
        expect: &[(&'static str, Verdict)],
        search: Search,
        opts: &RunOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Report {
        let properties = self.properties();
        // A search may stop early only once every discovery it is expected to make is made,
        // and only if no property is expected to hold everywhere (which needs the full run).
        let needs_full_run = expect.iter().any(|(p, v)| {
            let always = properties
                .iter()
                .any(|q| q.name == *p && !matches!(q.expectation, Expectation::Sometimes));
            always && *v == Verdict::Holds
        });
        let wanted: BTreeSet<&'static str> = expect
            .iter()
            .filter(|(p, v)| {
                let sometimes = properties
                    .iter()
                    .any(|q| q.name == *p && matches!(q.expectation, Expectation::Sometimes));
                (sometimes && *v == Verdict::Holds) || (!sometimes && *v == Verdict::Violated)
            })
            .map(|(p, _)| *p)
            .collect();
        let search = opts.search.unwrap_or(search);
        let representative = self.representative();
        let mut builder = self.checker().threads(opts.threads.max(1));
        if let (Search::Dfs, Some(representative)) = (search, representative) {
            builder = builder.symmetry_fn(representative);
        }
        if !needs_full_run {
            builder = builder.finish_when(HasDiscoveries::AllOf(wanted.clone()));
        }
        if let Some(depth) = opts.depth {
            builder = builder.target_max_depth(depth);
        }
        let start = Instant::now();
        let depth = opts.depth;
        let judge = |checker: &dyn ReportSource<Self>| {
            let discoveries = checker.discoveries();
            let max_depth = checker.max_depth();
            let all_found = wanted.iter().all(|p| discoveries.contains_key(p));
            let exhaustive = (needs_full_run || !all_found) && depth.is_none_or(|d| max_depth < d);
            let model = checker.model();
            let properties: Vec<PropertyReport> = expect
                .iter()
                .map(|(name, expected)| {
                    let property = model
                        .properties()
                        .into_iter()
                        .find(|p| p.name == *name)
                        .unwrap_or_else(|| panic!("check {name:?} names no property of its model"));
                    let found = discoveries.get(name);
                    PropertyReport {
                        name,
                        expectation: expectation_name(&property.expectation),
                        expected: *expected,
                        actual: verdict(&property.expectation, found.is_some(), exhaustive),
                        trace: found.map(|path| {
                            path.clone()
                                .into_actions()
                                .into_iter()
                                .map(|a| model.step_name(a))
                                .collect()
                        }),
                    }
                })
                .collect();
            Report {
                name: name.to_string(),
                unique_states: checker.unique_state_count(),
                max_depth,
                seconds: start.elapsed().as_secs_f64(),
                exhaustive,
                as_expected: properties.iter().all(PropertyReport::as_expected),
                properties,
            }
        };
        let mut watch = |unique_states, max_depth| {
            progress(Progress {
                unique_states,
                max_depth,
                elapsed: start.elapsed(),
            })
        };
        match search {
            Search::Dfs => judge(&finish(builder.spawn_dfs(), &mut watch)),
            Search::Bfs => judge(&finish(builder.spawn_bfs(), &mut watch)),
        }
    }

    fn simulate(
        self: Box<Self>,
        name: &str,
        expect: &[(&'static str, Verdict)],
        opts: &SimOptions,
        progress: &mut dyn FnMut(SimProgress),
    ) -> SimReport {
        crate::simulate::simulate(&*self, name, expect, opts, progress)
    }

    fn explore(self: Box<Self>, addr: &str) {
        let _ = self.checker().serve(addr);
    }
}

/// What a finished search offers to the report, as an object-safe trait.
trait ReportSource<M: Model> {
    fn model(&self) -> &M;
    fn unique_state_count(&self) -> usize;
    fn max_depth(&self) -> usize;
    fn discoveries(&self) -> HashMap<&'static str, Path<M::State, M::Action>>;
}

impl<M, K> ReportSource<M> for K
where
    M: Model,
    M::State: Clone + PartialEq,
    M::Action: Clone + PartialEq,
    K: Checker<M>,
{
    fn model(&self) -> &M {
        Checker::model(self)
    }
    fn unique_state_count(&self) -> usize {
        Checker::unique_state_count(self)
    }
    fn max_depth(&self) -> usize {
        Checker::max_depth(self)
    }
    fn discoveries(&self) -> HashMap<&'static str, Path<M::State, M::Action>> {
        Checker::discoveries(self)
    }
}

/// Waits for a search to end, reporting progress every 200 ms.
fn finish<M: Model, K: Checker<M>>(checker: K, watch: &mut dyn FnMut(usize, usize)) -> K {
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(200));
        watch(checker.unique_state_count(), checker.max_depth());
    }
    checker.join()
}
