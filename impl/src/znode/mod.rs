//! ZooKeeper's znode tree as the state machine that Raft replicates.
//!
//! Written apart from `coord_specs::znode::ZnodeSpec` on purpose (a real tree of nodes
//! owning their children, where the spec is a flat map from path string to node), so that a
//! mistake in either one shows up as a disagreement: the differential test here, and the
//! model checker's linearizability check against the spec.
//!
//! - `path`: parsing and validating paths into lists of names.
//! - `node`: one znode, with its stat and its children.
//! - `tree`: [`ZnodeTree`] and the operations (`ZkOp` in, `ZkRet` out).
//! - [`Change`]: what a write did to which path, for the server to fire watches.
//! - [`txn`]: what the log holds: transactions of connections, sessions, and their times.
//! - [`conn`]: ZooKeeper's client protocol as a server sees it (the interface of the TCP
//!   front door, of the command line's clients, and of the model clients).
//! - [`msg`]: every message: Raft and forwards between servers, the client protocol.
//! - [`watch`]: ZooKeeper's watches (standard, persistent, recursive) and their events.
//! - [`server`]: [`ZkServer`], the client protocol on top of a Raft server.
//! - [`sync`]: `sync` by a read index that the leader confirms, with no log entry.
//! - [`client`]: [`client::ZkClient`], a session running a program of calls.

pub mod client;
pub mod conn;
pub mod connection;
mod expiry;
mod invariants;
pub mod msg;
mod node;
mod owner;
mod path;
pub mod server;
mod sync;
mod tree;
pub mod txn;
pub mod watch;

#[cfg(test)]
mod tests;

pub use msg::ZkMsg;
pub use server::{ZkServer, ZkServerState, ZkTimer};
pub use tree::ZnodeTree;

use crate::bug::NamedBug;
use crate::raft::StateMachine;
use coord_specs::znode::Path;
use serde::{Deserialize, Serialize};
use txn::{Outcome, Txn, TxnKind};

/// What a successful write did to one path, as
/// [`ZnodeTree::apply_with_changes`] reports it, so that the server can fire ZooKeeper's
/// watches: `Created`, `Deleted` and `DataChanged` fire the watches set on that path by
/// `exists` and `getData` (`Deleted` also the `getChildren` watches on it), and
/// `ChildrenChanged` the `getChildren` watches on the parent.
///
/// A create reports `Created(path)` then `ChildrenChanged(parent)`; a delete (also each
/// ephemeral node deleted by `CloseSession`) `Deleted(path)` then `ChildrenChanged(parent)`;
/// a set `DataChanged(path)`; a multi the changes of its steps in order. A path may appear
/// more than once (two creates under one parent in one multi).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Change {
    /// A node was created at this path (ZooKeeper's `NodeCreated` event).
    Created(Path),
    /// The node at this path was deleted (`NodeDeleted`).
    Deleted(Path),
    /// The data of the node at this path was set (`NodeDataChanged`).
    DataChanged(Path),
    /// A child of the node at this path was created or deleted (`NodeChildrenChanged`).
    ChildrenChanged(Path),
}

impl Change {
    /// The path whose watches this change fires.
    pub fn path(&self) -> &Path {
        match self {
            Change::Created(path)
            | Change::Deleted(path)
            | Change::DataChanged(path)
            | Change::ChildrenChanged(path) => path,
        }
    }
}

/// A deliberate mistake in the znode service, off by default. A model switches one on to
/// show that the checker catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkBug {
    /// Set data ignores the expected version, so the counter recipe's conditional set
    /// always succeeds: two clients that read the same value both write value + 1 (a lost
    /// update). Mini-transactions rest on the version check (notes, part II).
    IgnoreVersion,
    /// Closing an expired session forgets to delete its ephemeral nodes (notes, part I:
    /// "Ephemeral: deleted when client session expires").
    KeepEphemerals,
    /// A server fires a watch when the write that triggers it arrives from its client,
    /// before the write is committed and applied there: the client may hear of a change
    /// that a read at that server does not show yet, or never.
    EarlyWatch,
    /// A server keeps the watches of a closed session, and leaves new ones for its late
    /// reads: a waiter of the scalable lock that crashed and expired is still notified,
    /// besides the waiter that took its place (a herd of the dead).
    WatchesOutliveSession,
    /// A new leader tracks only the sessions it hears from, not those that own ephemeral
    /// nodes in its tree: a client that failed under the old leader keeps its ephemeral
    /// nodes for ever (a lock it held is never released).
    ForgetSessionsOnFailover,
    /// A server accepts a connection whatever zxid its client has already seen (it skips
    /// ZooKeeper's lastZxidSeen rule): a client whose server restarted with an empty tree,
    /// or that moved to a lagging server, reads older data than it has read before.
    ReadsGoBack,
    /// A server answers a read as soon as it arrives, even while a write its connection
    /// sent before it is still on its way through the log: a session that pipelines a
    /// write and a read does not read its own write (and gets the replies out of order).
    ReadOvertakesWrite,
    /// `setWatches` leaves every watch again without firing for what changed after the
    /// client's zxid: a client that reconnects misses the changes made while it was
    /// disconnected.
    ReplaySkipsChanges,
    /// The leader answers a sync with its commit index at once, without a heartbeat round
    /// that a majority acknowledges: a deposed leader that does not know it yet answers
    /// with an index older than a write a newer leader has committed, and a read after
    /// the sync misses that write.
    SyncUnconfirmed,
    /// A server decides a write's permission against its own tree when the write arrives
    /// (refusing it there with `NoAuth`, or letting it through unchecked), instead of
    /// when the write is applied in log order: a write let through by a tree that has not
    /// applied a `setACL` yet is applied after that `setACL` revoked its permission.
    AclCheckedOnArrival,
}

impl NamedBug for ZkBug {
    const NAMED: &'static [(&'static str, ZkBug)] = &[
        ("ignore-version", ZkBug::IgnoreVersion),
        ("keep-ephemerals", ZkBug::KeepEphemerals),
        ("early-watch", ZkBug::EarlyWatch),
        ("watches-outlive-session", ZkBug::WatchesOutliveSession),
        (
            "forget-sessions-on-failover",
            ZkBug::ForgetSessionsOnFailover,
        ),
        ("reads-go-back", ZkBug::ReadsGoBack),
        ("read-overtakes-write", ZkBug::ReadOvertakesWrite),
        ("replay-skips-changes", ZkBug::ReplaySkipsChanges),
        ("sync-unconfirmed", ZkBug::SyncUnconfirmed),
        ("acl-checked-on-arrival", ZkBug::AclCheckedOnArrival),
    ];
}

impl StateMachine for ZnodeTree {
    type Op = Txn;
    type Ret = Outcome;

    fn apply(&mut self, txn: &Txn) -> Outcome {
        self.apply_txn(txn).0
    }

    /// A request whose operation is a read (see `ZkOp::is_read`); everything else is a
    /// write. (The znode server answers reads itself; Raft's read path is not used.)
    fn read(&self, txn: &Txn) -> Option<Outcome> {
        match &txn.kind {
            TxnKind::Request { op, .. } => self.answer_read(op).map(Outcome::Ret),
            _ => None,
        }
    }
}
