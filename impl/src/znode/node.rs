//! One znode: its data, the stored part of its stat, and its children.

use super::path::Name;
use coord_specs::znode::{Acl, Data, Millis, SessionId, Stat, Version, Zxid};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A node of the tree, owning its children by name (ZooKeeper's `DataNode`).
///
/// Rule: of the stat, only what history decides is stored; `data_length` and
/// `num_children` are computed from `data` and `children` whenever the stat is read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Znode {
    pub data: Data,
    /// The zxid that created the node.
    pub czxid: Zxid,
    /// The zxid that last wrote the data (the creation, or the last set).
    pub mzxid: Zxid,
    /// The time of the write that created the node.
    pub ctime: Millis,
    /// The time of the write `mzxid`.
    pub mtime: Millis,
    /// The zxid that last created or deleted a child (the creation, if none has).
    pub pzxid: Zxid,
    /// How many sets the data has had.
    pub version: Version,
    /// How many children have been created or deleted; also the next sequence number.
    pub cversion: Version,
    /// How many times the ACL was set.
    pub aversion: Version,
    /// The session that owns an ephemeral node; 0 for a persistent one.
    pub ephemeral_owner: SessionId,
    /// Its access control list, as the create or the last `setACL` gave it (kept and
    /// answered, not enforced).
    pub acl: Vec<Acl>,
    /// The children, by name, in sorted order. A persistent map, so that a copy of the
    /// tree (the server takes one to learn what each applied write changed) shares its
    /// structure rather than copying every node.
    pub children: im::OrdMap<Name, Znode>,
}

impl Znode {
    /// A new childless node created at `zxid` and `time`: every zxid of its stat is
    /// `zxid`, both its times `time`.
    pub fn new(
        data: Data,
        acl: Vec<Acl>,
        zxid: Zxid,
        time: Millis,
        ephemeral_owner: SessionId,
    ) -> Self {
        Znode {
            data,
            acl,
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ctime: time,
            mtime: time,
            ephemeral_owner,
            ..Znode::default()
        }
    }

    /// Rule: only a persistent node may have children (`NoChildrenForEphemerals`).
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral_owner != 0
    }

    /// The ZooKeeper stat of this node.
    pub fn stat(&self) -> Stat {
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            pzxid: self.pzxid,
            version: self.version,
            cversion: self.cversion,
            aversion: self.aversion,
            ephemeral_owner: self.ephemeral_owner,
            data_length: self.data.len() as u32,
            num_children: self.children.len() as u32,
        }
    }

    /// The descendant at `names` below this node (this node itself for `[]`).
    pub fn descendant<S: AsRef<str>>(&self, names: &[S]) -> Option<&Znode> {
        (names.iter()).try_fold(self, |node, name| node.children.get(name.as_ref()))
    }

    /// The descendant at `names` below this node, to change it.
    pub fn descendant_mut<S: AsRef<str>>(&mut self, names: &[S]) -> Option<&mut Znode> {
        (names.iter()).try_fold(self, |node, name| node.children.get_mut(name.as_ref()))
    }

    /// Rule: a child was created or deleted at `zxid`: the child version goes up by one
    /// and `pzxid` becomes `zxid`.
    pub fn child_changed(&mut self, zxid: Zxid) {
        self.cversion += 1;
        self.pzxid = zxid;
    }

    /// Appends to `out` the names (from this node down) of every descendant owned by
    /// `session`, in sorted order; `prefix` is this node's own names.
    pub fn collect_owned(
        &self,
        session: SessionId,
        prefix: &mut Vec<Name>,
        out: &mut Vec<Vec<Name>>,
    ) {
        for (name, child) in &self.children {
            prefix.push(name.clone());
            if child.ephemeral_owner == session {
                out.push(prefix.clone());
            }
            child.collect_owned(session, prefix, out);
            prefix.pop();
        }
    }

    /// How many nodes are below this one.
    pub fn descendants(&self) -> u32 {
        (self.children.values()).map(|c| 1 + c.descendants()).sum()
    }

    /// Adds to `out` the owner session of every ephemeral descendant of this node.
    pub fn collect_owners(&self, out: &mut BTreeSet<SessionId>) {
        for child in self.children.values() {
            if child.is_ephemeral() {
                out.insert(child.ephemeral_owner);
            }
            child.collect_owners(out);
        }
    }
}
