//! The named checks: each system's checks (see [`Check`]) gathered in the order `coord
//! list` prints them, and the selection of checks by name.
//!
//! Names are `<system>`, `<system>-<variant>` and `<system>-bug-<what>` for a deliberate
//! mistake that the checker must catch, so that a prefix selects a family.

use crate::check::Check;
use crate::{chain, raft, znode};

/// Every named check, in the order `coord list` prints them.
pub fn checks() -> Vec<Check> {
    let mut checks = raft::checks();
    checks.extend(chain::checks());
    checks.extend(znode::checks());
    checks
}

/// Whether `name` selects `check`: an exact name selects that check alone; any other name
/// selects its family, every check named `name-...`.
fn selects(name: &str, check: &str, all: &[Check]) -> bool {
    if all.iter().any(|c| c.name == name) {
        check == name
    } else {
        check
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('-'))
    }
}

/// The checks selected by `names` (see [`selects`]), all for no names. A name that selects
/// nothing is an error naming it.
pub fn select(names: &[String]) -> Result<Vec<Check>, String> {
    let all = checks();
    if names.is_empty() {
        return Ok(all);
    }
    if let Some(unknown) = names
        .iter()
        .find(|n| !all.iter().any(|c| selects(n, c.name, &all)))
    {
        return Err(format!(
            "unknown check {unknown:?}; `coord list` shows the names"
        ));
    }
    let chosen: Vec<bool> = all
        .iter()
        .map(|c| names.iter().any(|n| selects(n, c.name, &all)))
        .collect();
    Ok(all
        .into_iter()
        .zip(chosen)
        .filter_map(|(c, keep)| keep.then_some(c))
        .collect())
}
