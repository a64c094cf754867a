//! The larger sizes `coord simulate` walks, past those exhaustive search can finish: one
//! row per family of checks, chosen by name prefix, so that a check a system adds is
//! simulated at its family's size without a change here.

use crate::cfg::Bounds;

/// The size overrides of each family, by the prefix of its checks' names.
const FAMILIES: [(&str, Bounds); 5] = [
    (
        // Terms and logs far past the exhaustive 2 and 2; any server may crash at any step,
        // and any may stand for election.
        "raft",
        Bounds {
            servers: Some(5),
            campaigners: Some(5),
            clients: Some(3),
            max_term: Some(6),
            max_log: Some(8),
            max_crashes: Some(1),
            ..Bounds::NONE
        },
    ),
    (
        "chain",
        Bounds {
            servers: Some(5),
            max_crashes: Some(2),
            ..Bounds::NONE
        },
    ),
    (
        "craq",
        Bounds {
            servers: Some(5),
            max_crashes: Some(2),
            ..Bounds::NONE
        },
    ),
    (
        "znode",
        Bounds {
            servers: Some(5),
            ..Bounds::NONE
        },
    ),
    (
        // The lock recipes and election on the same znode service.
        "lock",
        Bounds {
            clients: Some(5),
            ..Bounds::NONE
        },
    ),
];

/// The size at which `coord simulate` walks the check named `name`: its family's row, or
/// for `election` (the lock's nodes) the lock's; its own size if no family matches.
pub fn larger(name: &str) -> Bounds {
    let family = if name == "election" { "lock" } else { name };
    FAMILIES
        .iter()
        .find(|(prefix, _)| family.split('-').next() == Some(*prefix))
        .map_or(Bounds::NONE, |(_, b)| b.clone())
}
