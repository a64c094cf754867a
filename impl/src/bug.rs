//! Deliberate bugs by name, so that a running cluster can switch on the mistake a model
//! check hunts.

/// A protocol's deliberate-bug variants, each with the name of its check: the check
/// `SYSTEM-bug-NAME` hunts it in the model, and `coord test SYSTEM --bug NAME` switches it
/// on in a running cluster.
pub trait NamedBug: Copy + 'static {
    const NAMED: &'static [(&'static str, Self)];
    /// The names of variants that only a running cluster shows, because they break a
    /// rule about time that the models, without clocks, do not have: `coord test` hunts
    /// them, and no model check does.
    const RUN_TIME_ONLY: &'static [&'static str] = &[];

    /// The variant called `name`.
    fn named(name: &str) -> Option<Self> {
        (Self::NAMED.iter()).find_map(|&(n, bug)| (n == name).then_some(bug))
    }

    /// Every variant's name.
    fn names() -> Vec<&'static str> {
        Self::NAMED.iter().map(|&(name, _)| name).collect()
    }
}
