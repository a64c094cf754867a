//! A property's verdict. A leaf module: it knows no model.

use serde::Serialize;

/// What a property turned out to be. `Unknown` when the search stopped before it could
/// decide (a depth limit, or a hunt that stopped at its counterexample), and for every
/// property that random walks did not violate (they prove nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Holds,
    Violated,
    Unknown,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "violated",
            Verdict::Unknown => "unknown",
        })
    }
}
