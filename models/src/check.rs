//! A named check: a model at a size, with every property's expected verdict. Each system's
//! module lists its own checks (`raft::checks`, `chain::checks`, `znode::checks`); the
//! registry gathers them. A leaf module: it knows no system's model.

use crate::cfg::Bounds;
use crate::run::{Runnable, Search, Verdict};

/// One named check.
pub struct Check {
    pub name: &'static str,
    /// One line: what the check proves.
    pub about: &'static str,
    /// The search used unless the command line says otherwise: DFS (flat memory) to prove
    /// properties and to hunt deep counterexamples, BFS where a short trace is cheap to find.
    pub search: Search,
    /// Every property judged, with its expected verdict.
    pub expect: Vec<(&'static str, Verdict)>,
    /// A reduced size with the same expected verdicts, for `cargo test` and
    /// `coord check --quick`.
    pub quick: Bounds,
    pub(crate) build: Build,
}

/// Builds a check's model from its bounds and the names of the properties it judges.
pub(crate) type Build = fn(&Bounds, &[&str]) -> Result<Box<dyn Runnable>, String>;

impl Check {
    /// Builds the model at its default size with `bounds` applied.
    pub fn model(&self, bounds: &Bounds) -> Result<Box<dyn Runnable>, String> {
        let judged: Vec<&str> = self.expect.iter().map(|(p, _)| *p).collect();
        (self.build)(bounds, &judged)
    }

    /// Whether this check hunts a deliberate mistake (its name is `<system>-bug-<what>`).
    pub fn is_bug(&self) -> bool {
        self.name.contains("-bug-")
    }
}

/// Every property of `groups`, each expected to hold.
pub fn all_hold(groups: &[&[&'static str]]) -> Vec<(&'static str, Verdict)> {
    groups
        .iter()
        .flat_map(|g| g.iter().map(|p| (*p, Verdict::Holds)))
        .collect()
}

/// A deliberate-bug check that DFS must catch violating `violated`.
pub(crate) fn bug_check(
    name: &'static str,
    about: &'static str,
    violated: &'static str,
    quick: Bounds,
    build: Build,
) -> Check {
    Check {
        name,
        about,
        search: Search::Dfs,
        expect: vec![(violated, Verdict::Violated)],
        quick,
        build,
    }
}

/// A family's checks in the order `coord list` shows them: those of the design first, in
/// their order, then those of its deliberate bugs, in theirs.
pub fn designs_then_bugs(checks: impl IntoIterator<Item = Check>) -> Vec<Check> {
    let (bugs, designs): (Vec<Check>, Vec<Check>) = checks.into_iter().partition(Check::is_bug);
    designs.into_iter().chain(bugs).collect()
}
