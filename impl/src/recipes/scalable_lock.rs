//! The scalable lock (notes, part III: "use sequential ephemeral files; clients check the
//! lowest number and wait for the next file's deletion"), as in ZooKeeper's lock recipe:
//!
//! 1. Create an ephemeral sequential child of the lock node, named with the client's guid.
//! 2. List the children (no watch). If the client's node has the lowest sequence number,
//!    it holds the lock.
//! 3. Otherwise ask whether the node just below its own exists, leaving a watch on that
//!    node only. If it is gone already, go to 2; else wait for the watch.
//! 4. When the watch fires, go to 2: a deleted predecessor does not mean the lock is free
//!    (the predecessor may have been a waiter whose session expired).
//!
//! Each release wakes one client, the next in line: no herd. The sequence number of the
//! holder's node is its fencing token: it grows with every node created under the lock.
//! A client finds its node in the children by its guid (a number of its own), not by the
//! create's answer, so an answer lost with a connection would not lose the node.

use super::lock::{failed, lost, watch, Acquire, Hold, LockBug, LockState, Phase};
use crate::znode::client::{Call, Next};
use coord_specs::znode::build::{create, kids};
use coord_specs::znode::{CreateMode, Path, ZkError, ZkRet};

/// A client of the scalable lock whose contenders are the children of `dir`.
#[derive(Clone, Debug)]
pub struct ScalableLock {
    /// The lock node; created (persistent) if it is missing.
    pub dir: Path,
    /// The client's own unique number, in its node's name: how it finds its node among
    /// the children (its session owns the node).
    pub guid: u64,
    pub hold: Hold,
    /// A deliberate mistake, `None` for the recipe as it should be.
    pub bug: Option<LockBug>,
}

/// How many digits ZooKeeper appends to a sequential node's name.
const SEQUENCE_DIGITS: usize = 10;

/// The sequence number ZooKeeper appended to a sequential node's `name`.
pub fn sequence(name: &str) -> Option<u64> {
    let digits = name.get(name.len().checked_sub(SEQUENCE_DIGITS)?..)?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())?
}

impl ScalableLock {
    pub fn new(dir: &str, guid: u64, hold: Hold) -> Self {
        ScalableLock {
            dir: Path::from(dir),
            guid,
            hold,
            bug: None,
        }
    }

    pub fn with_bug(mut self, bug: Option<LockBug>) -> Self {
        self.bug = bug;
        self
    }

    /// The name of this client's node before ZooKeeper appends the sequence number.
    fn prefix(&self) -> String {
        format!("lock-{}-", self.guid)
    }

    /// The path of the child `name`.
    fn child(&self, name: &str) -> Path {
        match self.dir.as_str() {
            "/" => Path::from(format!("/{name}")),
            dir => Path::from(format!("{dir}/{name}")),
        }
    }

    /// Step 2.
    fn list(&self, state: &mut LockState) -> Next {
        state.phase = Phase::Listing;
        Next::Call(Call::plain(kids(&self.dir)))
    }

    /// Steps 2 and 3 on the children's `names`: the lock is the client's if its node
    /// comes first; else it watches the node just before its own (or, with
    /// [`LockBug::WatchLowest`], the first).
    fn on_children(&self, state: &mut LockState, names: &[Path]) -> Next {
        let mut queue: Vec<(u64, &Path)> = (names.iter())
            .filter_map(|name| sequence(name).map(|seq| (seq, name)))
            .collect();
        queue.sort();
        let prefix = self.prefix();
        let Some(place) = queue
            .iter()
            .position(|(_, n)| n.starts_with(prefix.as_str()))
        else {
            return lost(state);
        };
        let (token, name) = queue[place];
        state.node = Some(self.child(name));
        state.token = Some(token);
        if place == 0 {
            return self.hold.acquired(state);
        }
        let watched = match self.bug {
            Some(LockBug::WatchLowest) => queue[0].1,
            _ => queue[place - 1].1,
        };
        watch(state, &self.child(watched))
    }
}

impl Acquire for ScalableLock {
    const NAME: &'static str = "scalable lock";

    fn hold(&self) -> &Hold {
        &self.hold
    }

    /// Step 1.
    fn create(&self, state: &mut LockState) -> Next {
        state.phase = Phase::Creating;
        let mode = CreateMode::EphemeralSequential;
        let node = create(&self.child(&self.prefix()), "", mode, 0);
        Next::Call(Call::plain(node))
    }

    /// Created: list (a missing lock node is created first). Listed: hold or watch. A
    /// node that cannot be created (no parent for the lock node, an ephemeral lock node)
    /// ends the try as failed.
    fn on_answer(&self, state: &mut LockState, ret: &ZkRet) -> Option<Next> {
        Some(match (state.phase, ret) {
            (Phase::Creating, ZkRet::Created { .. }) => self.list(state),
            (Phase::Creating, ZkRet::Err(ZkError::NoNode)) => {
                state.phase = Phase::CreatingParent;
                let parent = create(&self.dir, "", CreateMode::Persistent, 0);
                Next::Call(Call::plain(parent))
            }
            (Phase::CreatingParent, ZkRet::Created { .. } | ZkRet::Err(ZkError::NodeExists)) => {
                self.create(state)
            }
            (Phase::Creating, ZkRet::Err(ZkError::SessionExpired))
            | (Phase::Listing, ZkRet::Err(ZkError::NoNode)) => lost(state),
            (Phase::Creating | Phase::CreatingParent, ZkRet::Err(error)) => failed(state, *error),
            (Phase::Listing, ZkRet::Children { names, .. }) => self.on_children(state, names),
            _ => return None,
        })
    }

    /// Step 4: the node just before the client's is gone: list the children again, or,
    /// with [`LockBug::NoRecheck`], take the lock.
    fn on_gone(&self, state: &mut LockState) -> Next {
        match self.bug {
            Some(LockBug::NoRecheck) => self.hold.acquired(state),
            _ => self.list(state),
        }
    }
}
