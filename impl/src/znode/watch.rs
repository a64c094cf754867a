//! ZooKeeper's watches: one-shot triggers a client leaves with a read, held by the server
//! the client is connected to and fired when that server applies a change to the path.

use super::Change;
use coord_specs::znode::{Path, ZkOp, Zxid};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::BTreeSet;

/// Which read left a watch, which decides the changes that fire it (ZooKeeper's
/// `exists`, `getData` and `getChildren` watches).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WatchKind {
    /// Left by `exists`: fired by the node's creation, a set of its data, or its deletion.
    Exists,
    /// Left by `getData` on an existing node: fired by a set of its data or its deletion.
    Data,
    /// Left by `getChildren` on an existing node: fired by a child created or deleted, or
    /// by the node's deletion.
    Child,
}

impl WatchKind {
    /// The kind of watch a read `op` leaves, with its path; `None` for a write.
    pub fn of(op: &ZkOp) -> Option<(WatchKind, &Path)> {
        match op {
            ZkOp::Exists { path } => Some((WatchKind::Exists, path)),
            ZkOp::GetData { path } => Some((WatchKind::Data, path)),
            ZkOp::GetChildren { path } => Some((WatchKind::Child, path)),
            _ => None,
        }
    }

    /// Whether `change` fires a watch of this kind on `path`.
    pub fn fired_by(self, path: &Path, change: &Change) -> bool {
        if change.path() != path {
            return false;
        }
        matches!(
            (self, change),
            (_, Change::Deleted(_))
                | (
                    WatchKind::Exists,
                    Change::Created(_) | Change::DataChanged(_)
                )
                | (WatchKind::Data, Change::DataChanged(_))
                | (WatchKind::Child, Change::ChildrenChanged(_))
        )
    }
}

/// A watch held by a server: client `client` left it with its request `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Watch {
    pub path: Path,
    pub kind: WatchKind,
    pub client: Id,
    pub seq: u64,
}

/// The notification of a fired watch: the watch left with request `seq`, the change that
/// fired it, and the zxid of the write that made the change.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WatchEvent {
    pub seq: u64,
    pub change: Change,
    pub zxid: Zxid,
}

/// Rule: a watch fires once. Removes from `watches` every watch `change` fires and
/// returns them, each with its event.
pub fn fire(watches: &mut BTreeSet<Watch>, change: &Change, zxid: Zxid) -> Vec<(Id, WatchEvent)> {
    let fired: Vec<Watch> = watches
        .iter()
        .filter(|w| w.kind.fired_by(&w.path, change))
        .cloned()
        .collect();
    fired
        .into_iter()
        .map(|w| {
            watches.remove(&w);
            let event = WatchEvent {
                seq: w.seq,
                change: change.clone(),
                zxid,
            };
            (w.client, event)
        })
        .collect()
}
