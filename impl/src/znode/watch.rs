//! ZooKeeper's watches, held by the server a connection is connected to (ZooKeeper's
//! `WatchManager`, one for data watches and one for child watches).
//!
//! - `exists` and `getData` leave a standard data watch on their path (`exists` also on a
//!   missing node), `getChildren` a standard child watch. A standard watch fires once.
//! - `addWatch` leaves a persistent watch (a data and a child watch that stay) or a
//!   persistent recursive one (a data watch that stays and also fires for every path
//!   below its own).
//! - A change triggers the data watches (`NodeCreated`, `NodeDeleted`, `NodeDataChanged`
//!   of a path) or the child watches (`NodeChildrenChanged` of a parent, `NodeDeleted` of
//!   a path). Rule: one trigger sends one event to each connection it fires for, however
//!   many of its watches match; a deletion's child trigger skips the connections its data
//!   trigger already told (ZooKeeper's `suppress`).

use super::Change;
use coord_specs::znode::{Path, Zxid};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::BTreeSet;

/// Which of ZooKeeper's two watch managers a watch is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Manager {
    /// Fired by `NodeCreated`, `NodeDeleted`, `NodeDataChanged` of its path.
    Data,
    /// Fired by `NodeChildrenChanged` and `NodeDeleted` of its path.
    Child,
}

/// How long a watch lasts (ZooKeeper's `WatcherMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Mode {
    /// Fires once, then is gone.
    Standard,
    /// Fires on every change of its path.
    Persistent,
    /// Fires on every change of its path and of every path below it (data watches only).
    PersistentRecursive,
}

/// The mode of `addWatch` (ZooKeeper's `AddWatchMode`: 0 persistent, 1 recursive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AddWatchMode {
    Persistent,
    PersistentRecursive,
}

/// Which watches `removeWatches`/`checkWatches` mean (ZooKeeper's `WatcherType`: 1
/// children, 2 data, 3 any).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WatcherType {
    Children,
    Data,
    Any,
}

impl WatcherType {
    fn covers(self, manager: Manager) -> bool {
        matches!(
            (self, manager),
            (WatcherType::Any, _)
                | (WatcherType::Data, Manager::Data)
                | (WatcherType::Children, Manager::Child)
        )
    }
}

/// A watch held by a server for connection `conn`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Watch {
    pub path: Path,
    pub manager: Manager,
    pub mode: Mode,
    pub conn: Id,
}

/// A fired watch, as its connection hears of it: what changed, and the zxid of the write
/// that changed it (ZooKeeper's `WatcherEvent`, whose state is always `SyncConnected`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WatchEvent {
    pub change: Change,
    pub zxid: Zxid,
}

/// True if `path` is `ancestor` or below it.
pub fn is_below(path: &str, ancestor: &str) -> bool {
    path == ancestor
        || ancestor == "/"
        || (path.starts_with(ancestor) && path.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

/// The watches of one server.
pub type Watches = BTreeSet<Watch>;

/// Rule (ZooKeeper's `triggerWatch`): the connections that `manager`'s watches fire for
/// when `path` changes, skipping `told`. Every watch on `path` fires, and a standard one
/// goes; a persistent recursive watch on an ancestor of `path` fires too.
fn trigger(
    watches: &mut Watches,
    manager: Manager,
    path: &Path,
    told: &BTreeSet<Id>,
) -> BTreeSet<Id> {
    let hit = |w: &Watch| {
        w.manager == manager
            && (&w.path == path || (w.mode == Mode::PersistentRecursive && is_below(path, &w.path)))
    };
    let fired: Vec<Watch> = watches.iter().filter(|w| hit(w)).cloned().collect();
    let mut conns = BTreeSet::new();
    for w in fired {
        if w.mode == Mode::Standard {
            watches.remove(&w);
        }
        if !told.contains(&w.conn) {
            conns.insert(w.conn);
        }
    }
    conns
}

/// The events one change sends: each connection with the event, in the order ZooKeeper
/// sends them. A deletion fires the data watches, then the child watches of the path (for
/// connections not told yet); every other change fires one manager.
pub fn fire(watches: &mut Watches, change: &Change, zxid: Zxid) -> Vec<(Id, WatchEvent)> {
    let none = BTreeSet::new();
    let conns = match change {
        Change::Created(path) | Change::DataChanged(path) => {
            trigger(watches, Manager::Data, path, &none)
        }
        Change::ChildrenChanged(path) => trigger(watches, Manager::Child, path, &none),
        Change::Deleted(path) => {
            let mut told = trigger(watches, Manager::Data, path, &none);
            let more = trigger(watches, Manager::Child, path, &told);
            told.extend(more);
            told
        }
    };
    let event = WatchEvent {
        change: change.clone(),
        zxid,
    };
    conns.into_iter().map(|c| (c, event.clone())).collect()
}

/// Leaves a watch of `conn` on `path` (a no-op if it has it already).
pub fn add(watches: &mut Watches, conn: Id, path: &Path, manager: Manager, mode: Mode) {
    let watch = Watch {
        path: path.clone(),
        manager,
        mode,
        conn,
    };
    watches.insert(watch);
}

/// `addWatch`: a persistent watch is a data and a child watch; a recursive one a data
/// watch (ZooKeeper's `DataTree.addWatch`).
pub fn add_persistent(watches: &mut Watches, conn: Id, path: &Path, mode: AddWatchMode) {
    match mode {
        AddWatchMode::Persistent => {
            add(watches, conn, path, Manager::Data, Mode::Persistent);
            add(watches, conn, path, Manager::Child, Mode::Persistent);
        }
        AddWatchMode::PersistentRecursive => {
            add(
                watches,
                conn,
                path,
                Manager::Data,
                Mode::PersistentRecursive,
            );
        }
    }
}

/// `removeWatches` (`remove`) or `checkWatches`: whether `conn` holds a watch of `kind` on
/// `path`; with `remove`, those watches go.
pub fn remove(
    watches: &mut Watches,
    conn: Id,
    path: &Path,
    kind: WatcherType,
    remove: bool,
) -> bool {
    let mine: Vec<Watch> = (watches.iter())
        .filter(|w| w.conn == conn && &w.path == path && kind.covers(w.manager))
        .cloned()
        .collect();
    if remove {
        for w in &mine {
            watches.remove(w);
        }
    }
    !mine.is_empty()
}

/// Drops every watch of `conn` (its connection closed: in ZooKeeper watches belong to the
/// connection).
pub fn drop_conn(watches: &mut Watches, conn: Id) {
    watches.retain(|w| w.conn != conn);
}
