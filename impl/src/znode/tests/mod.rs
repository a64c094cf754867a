//! The znode tree's tests. The stories (one per rule: each step an operation and the
//! result it must return, applied in turn through `StateMachine::apply`) share the helpers
//! here; `differential` runs random histories against the spec.

use super::path::{child_path, join, parse};
use super::*;
use crate::raft::StateMachine;
use coord_specs::znode::build::*;
use coord_specs::znode::{
    CreateMode, MultiOp, OpResult, SessionId, Stat, Version, ZkError, Zxid, ANY_VERSION,
};
use CreateMode::*;
use ZkError::*;
use ZkRet::{Deleted, Err as Fail, SessionClosed};

mod changes;
mod client;
mod differential;
mod multi;
mod paths_and_reads;
mod server;
mod watches;
mod writes;

/// The stat of a fresh, empty, childless node created at `zxid` and owned by `owner`.
fn fresh(zxid: Zxid, owner: SessionId) -> Stat {
    let ephemeral_owner = owner;
    Stat {
        ephemeral_owner,
        ..stat(zxid, zxid, zxid, 0, 0, 0, 0)
    }
}

/// Applies each op in turn, asserting what it returns.
fn story(tree: &mut ZnodeTree, steps: Vec<(ZkOp, ZkRet)>) {
    for (i, (op, ret)) in steps.into_iter().enumerate() {
        assert_eq!(tree.apply(&op), ret, "step {i}: {op}");
    }
}

/// A tree holding persistent `/a` (zxid 1) and `/a/b` (zxid 2).
fn tree_with_a_b() -> ZnodeTree {
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (create("/a", "", Persistent, 1), created("/a")),
            (create("/a/b", "", Persistent, 1), created("/a/b")),
        ],
    );
    tree
}
