//! What the lock recipes share (notes, part III): a lock client's progress, what the
//! holder does while it holds the lock, and the release.
//!
//! A client holds the lock while its node exists and comes first; it releases by
//! deleting the node, and a crashed client's node goes when its session expires (the node
//! is ephemeral). The acquiring steps differ: [`super::basic_lock`] races for one node,
//! [`super::scalable_lock`] queues behind sequential nodes.

use crate::znode::client::{Call, Next, Program};
use crate::znode::msg::ResourceMsg;
use crate::znode::watch::WatchEvent;
use coord_specs::znode::build::{delete, exists};
use coord_specs::znode::{Path, ZkError, ZkRet, ANY_VERSION};
use stateright::actor::Id;
use std::fmt::Debug;
use std::ops::Range;
use std::time::Duration;

/// Where a lock client is. Acquiring: `CreatingParent` (the scalable lock's parent node
/// was missing), `Creating`, `Listing` (the scalable lock's children), `Checking` (an
/// `exists` that leaves a watch), `Waiting` (for that watch). Holding: `Paused`, `Using`,
/// `Holding`. Then `Releasing` and `Released`; `Lost` if the client's node vanished
/// before it got the lock (its session expired); `Failed` if no node could be created
/// there at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    CreatingParent,
    Creating,
    Listing,
    Checking,
    Waiting,
    /// Holding the lock, stalled before using the resource.
    Paused,
    /// Holding the lock, an operation on the resource in flight.
    Using,
    /// Holding the lock until woken.
    Holding,
    Releasing,
    Released,
    Lost,
    /// Given up on an error no retry can mend (the lock node's parent is missing, or the
    /// lock node is ephemeral and can have no children).
    Failed(ZkError),
}

impl Phase {
    /// True while the client believes it holds the lock. A client that has sent its
    /// release no longer acts as holder.
    pub fn holds(self) -> bool {
        matches!(self, Phase::Paused | Phase::Using | Phase::Holding)
    }

    /// True once the client has got the lock.
    pub fn has_held(self) -> bool {
        self.holds() || matches!(self, Phase::Releasing | Phase::Released)
    }
}

/// A lock client's progress: its phase, and its own node (full path) with the node's
/// fencing token once it knows them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockState {
    pub phase: Phase,
    pub node: Option<Path>,
    /// The sequence number of the client's node (scalable lock and election); `None` for
    /// the basic lock, whose create answers no stat to take a czxid from.
    pub token: Option<u64>,
}

impl LockState {
    pub fn new(phase: Phase) -> Self {
        LockState {
            phase,
            node: None,
            token: None,
        }
    }

    /// The fencing token of the lock this client holds now, if it has one: what a holder
    /// shows the resource, and what `coord lock acquire` prints.
    pub fn held_token(&self) -> Option<u64> {
        self.token.filter(|_| self.phase.holds())
    }
}

/// What the holder does once it has the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Do one operation on a resource the lock protects, then release once it answers.
    Use(Use),
    /// Hold until woken ([`crate::znode::client::Program::on_wake`], the client's `Wake`
    /// timer), then release: a command-line holder that releases when told, or an
    /// elected leader, which leads until then.
    UntilWoken,
}

/// A holder's operation on a protected resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Use {
    /// The resource actor (see [`super::fencing::Resource`]).
    pub resource: Id,
    /// A stall before the operation (a stop-the-world pause), during which the client is
    /// silent and its session may expire; `None` for none.
    pub pause: Option<Range<Duration>>,
}

impl Hold {
    /// The lock is the client's (its node and token are known): the first step of
    /// holding it.
    pub fn acquired(&self, state: &mut LockState) -> Next {
        match self {
            Hold::Use(Use {
                pause: Some(pause), ..
            }) => {
                state.phase = Phase::Paused;
                Next::Sleep(pause.clone())
            }
            Hold::Use(u) => u.operate(state),
            Hold::UntilWoken => {
                state.phase = Phase::Holding;
                Next::Wait
            }
        }
    }

    /// Woken: a paused holder goes on to use the resource, one holding until woken
    /// releases; any other client goes on waiting.
    pub fn on_wake(&self, state: &mut LockState) -> Next {
        match (state.phase, self) {
            (Phase::Paused, Hold::Use(u)) => u.operate(state),
            (Phase::Holding, _) => release(state),
            _ => Next::Wait,
        }
    }

    /// The resource answered the holder's operation: release, whether it was done or
    /// refused (refused, the client has learnt that the lock had passed on).
    pub fn on_resource(&self, state: &mut LockState, answer: &ResourceMsg) -> Option<Next> {
        let using = state.phase == Phase::Using;
        (using && matches!(answer, ResourceMsg::Answer { .. })).then(|| release(state))
    }
}

impl Use {
    /// The operation, showing the client's token.
    fn operate(&self, state: &mut LockState) -> Next {
        state.phase = Phase::Using;
        let token = state.held_token();
        Next::Send(self.resource, ResourceMsg::Use { token })
    }
}

/// Rule: release deletes the client's node (whatever its version).
fn release(state: &mut LockState) -> Next {
    state.phase = Phase::Releasing;
    let node = state.node.as_ref().expect("a holder knows its node");
    Next::Call(Call::plain(delete(node, ANY_VERSION)))
}

/// The answer to the release: the node is gone, also if the session's expiry took it
/// first (the delete then finds no node, or the client knows its session expired).
fn on_released(state: &mut LockState, ret: &ZkRet) -> Next {
    match ret {
        ZkRet::Deleted | ZkRet::Err(ZkError::NoNode | ZkError::SessionExpired) => {
            state.phase = Phase::Released;
            Next::Done
        }
        ret => panic!("lock: unexpected {ret} while releasing"),
    }
}

/// The client's node is gone before it got the lock: its session has expired, and the
/// client gives up (ZooKeeper's client would report the expiry).
pub fn lost(state: &mut LockState) -> Next {
    state.phase = Phase::Lost;
    Next::Done
}

/// The client's node cannot be created where the lock lives (`error`): the client gives up.
pub fn failed(state: &mut LockState, error: ZkError) -> Next {
    state.phase = Phase::Failed(error);
    Next::Done
}

/// A lock recipe's own steps: how it tries to get the lock. Holding, release, and waiting
/// for the watch on the node it waits for are alike for every lock, and its
/// [`Program`] follows from these steps.
pub trait Acquire: Clone + Debug {
    /// The recipe's name, for errors.
    const NAME: &'static str;

    fn hold(&self) -> &Hold;

    /// Step 1: create the client's node.
    fn create(&self, state: &mut LockState) -> Next;

    /// The answer to one of the recipe's own calls: the next step, or `None` if the answer
    /// is not one the recipe expects.
    fn on_answer(&self, state: &mut LockState, ret: &ZkRet) -> Option<Next>;

    /// The node the client waits for is gone (an `exists` found none, or its watch fired):
    /// the next try.
    fn on_gone(&self, state: &mut LockState) -> Next;
}

impl<L: Acquire> Program for L {
    type State = LockState;

    fn start(&self) -> (LockState, Next) {
        let mut state = LockState::new(Phase::Creating);
        let next = self.create(&mut state);
        (state, next)
    }

    /// The `exists` that left the watch: wait for it, or try again if the node is gone
    /// already. The release's answer: done. A call failed because the session expired
    /// (the client fails every call then): the lock is lost. Other answers: the recipe's
    /// own steps.
    fn on_return(&self, state: &mut LockState, ret: &ZkRet) -> Next {
        match (state.phase, ret) {
            (Phase::Checking, ZkRet::Exists(Some(_))) => {
                state.phase = Phase::Waiting;
                Next::Wait
            }
            (Phase::Checking, ZkRet::Exists(None)) => self.on_gone(state),
            (Phase::Releasing, ret) => on_released(state, ret),
            (_, ZkRet::Err(ZkError::SessionExpired)) => lost(state),
            (phase, ret) => (self.on_answer(state, ret))
                .unwrap_or_else(|| panic!("{}: unexpected {ret} while {phase:?}", Self::NAME)),
        }
    }

    fn on_wake(&self, state: &mut LockState) -> Next {
        self.hold().on_wake(state)
    }

    /// The watched node changed (it was deleted): try again.
    fn on_event(&self, state: &mut LockState, _event: &WatchEvent) -> Option<Next> {
        (state.phase == Phase::Waiting).then(|| self.on_gone(state))
    }

    fn on_resource(&self, state: &mut LockState, answer: &ResourceMsg) -> Option<Next> {
        self.hold().on_resource(state, answer)
    }
}

/// Asks whether `node` exists, leaving a watch on it: the node the client waits for.
pub fn watch(state: &mut LockState, node: &str) -> Next {
    state.phase = Phase::Checking;
    Next::Call(Call::watched(exists(node)))
}

/// A deliberate mistake in the scalable lock, off by default: each breaks one step of the
/// recipe, and a named check shows the checker catching it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockBug {
    /// A waiter watches the lowest node instead of the one just before its own, so every
    /// release wakes every waiter (the herd effect the recipe exists to avoid).
    WatchLowest,
    /// A waiter takes its predecessor's deletion to mean that it holds the lock, without
    /// listing the children again. When a waiter in the middle goes (its session
    /// expired), the next one then holds the lock together with the holder.
    NoRecheck,
}
