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

/// Checks walked at a size of their own, by exact name: a harm that needs another shape
/// than the family's, or a default size smaller than the model it walks.
const OWN: [(&str, Bounds); 3] = [
    (
        // Its default size fixes the leader (see the check); walks let three campaign.
        "znode-watch-replay",
        REPLAY,
    ),
    ("znode-bug-replay-skips-changes", REPLAY),
    (
        // Two removals of different servers leave configurations whose majorities can be
        // disjoint only from an even number of members: six, not the family's five; and
        // every server free to campaign in place of the hunt's fixed schedule of three terms.
        "raft-bug-change-before-commit",
        Bounds {
            servers: Some(6),
            campaigners: Some(6),
            clients: Some(3),
            max_term: Some(6),
            max_log: Some(8),
            max_crashes: Some(1),
            ..Bounds::NONE
        },
    ),
];

/// The watch replay's walks: five servers, three of them free to lead.
const REPLAY: Bounds = Bounds {
    servers: Some(5),
    campaigners: Some(3),
    ..Bounds::NONE
};

/// The size at which `coord simulate` walks the check named `name`: its own row, else its
/// family's, or for `election` (the lock's nodes) the lock's; its own size if none
/// matches.
pub fn larger(name: &str) -> Bounds {
    if let Some((_, b)) = OWN.iter().find(|(own, _)| *own == name) {
        return b.clone();
    }
    let family = if name == "election" { "lock" } else { name };
    FAMILIES
        .iter()
        .find(|(prefix, _)| family.split('-').next() == Some(*prefix))
        .map_or(Bounds::NONE, |(_, b)| b.clone())
}
