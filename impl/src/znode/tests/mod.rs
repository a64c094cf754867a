//! The znode service's tests. The tree's stories (one per rule: each step an operation and
//! the result it must return, applied in turn through `StateMachine::apply`) share the
//! helpers here; `differential` runs random histories against the spec. The server's
//! rules (`sessions`, `pipeline`, `sync`, `watches`) run on a small cluster ([`sim`]).

use super::path::{child_path, join, parse};
use super::*;
use coord_specs::znode::build::*;
use coord_specs::znode::{
    Acl, CreateMode, MultiOp, OpResult, SessionId, Stat, Version, ZkError, Zxid, ANY_VERSION,
};
use coord_specs::znode::{ZkOp, ZkRet};
use CreateMode::*;
use ZkError::*;
use ZkRet::{Deleted, Err as Fail, SessionClosed};

mod acl;
mod changes;
mod differential;
mod multi;
mod paths_and_reads;
mod pipeline;
mod sessions;
pub(super) mod sim;
mod sync;
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

/// The tree's operations as the stories apply them: each at time 0, as no session's.
trait Ops {
    fn run(&mut self, op: &ZkOp) -> ZkRet;
    fn run_with_changes(&mut self, op: &ZkOp) -> (ZkRet, Vec<Change>);
}

impl Ops for ZnodeTree {
    fn run(&mut self, op: &ZkOp) -> ZkRet {
        self.apply_op(op, 0).0
    }

    fn run_with_changes(&mut self, op: &ZkOp) -> (ZkRet, Vec<Change>) {
        self.apply_op(op, 0)
    }
}

/// Applies each op in turn, asserting what it returns (a create's or a listing's stat as
/// the tree shows it right after, see `pin_stats`).
fn story(tree: &mut ZnodeTree, steps: Vec<(ZkOp, ZkRet)>) {
    for (i, (op, ret)) in steps.into_iter().enumerate() {
        let got = tree.run(&op);
        assert_eq!(
            got,
            pin_stats(&ret, &op, |p| tree.stat(p)),
            "step {i}: {op}"
        );
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
