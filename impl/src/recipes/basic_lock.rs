//! The basic lock (notes, part III: "create ephemeral lock file; delete on release"):
//!
//! 1. Create the ephemeral lock node. If that succeeds, the client holds the lock.
//! 2. If it exists already, ask whether it exists, leaving a watch. If it is gone
//!    already, go to 1; else wait for the watch, then go to 1.
//!
//! Correct, but it "suffers from the herd effect": every waiter watches the one lock
//! node, so each release wakes them all, and all but one of them create in vain.

use super::lock::{lost, watch, Acquire, Hold, LockState, Phase};
use crate::znode::client::{Call, Next};
use coord_specs::znode::build::create;
use coord_specs::znode::{CreateMode, Path, ZkError, ZkRet};

/// A client of the basic lock at `path`.
#[derive(Clone, Debug)]
pub struct BasicLock {
    /// The lock node; its parent must exist. The client's session owns it while the
    /// client holds the lock.
    pub path: Path,
    pub hold: Hold,
}

impl BasicLock {
    pub fn new(path: &str, hold: Hold) -> Self {
        let path = Path::from(path);
        BasicLock { path, hold }
    }
}

impl Acquire for BasicLock {
    const NAME: &'static str = "basic lock";

    fn hold(&self) -> &Hold {
        &self.hold
    }

    /// Step 1.
    fn create(&self, state: &mut LockState) -> Next {
        state.phase = Phase::Creating;
        let node = create(&self.path, "", CreateMode::Ephemeral, 0);
        Next::Call(Call::plain(node))
    }

    /// Created: the lock is the client's. Exists already: watch it (step 2).
    fn on_answer(&self, state: &mut LockState, ret: &ZkRet) -> Option<Next> {
        Some(match (state.phase, ret) {
            (Phase::Creating, ZkRet::Created { path, .. }) => {
                state.node = Some(path.clone());
                self.hold.acquired(state)
            }
            (Phase::Creating, ZkRet::Err(ZkError::NodeExists)) => watch(state, &self.path),
            (Phase::Creating, ZkRet::Err(ZkError::SessionExpired)) => lost(state),
            _ => return None,
        })
    }

    /// Step 2: the lock node is gone: create it again.
    fn on_gone(&self, state: &mut LockState) -> Next {
        self.create(state)
    }
}
