//! A resource that a lock protects, and the fencing rule that keeps a stale holder out.
//!
//! A lock held through a session is lost when the session expires, and the holder learns
//! of it only later (a long pause, a slow network). Meanwhile the lock passes on, so two
//! clients may both act as holder. Fencing (Kleppmann, "How to do distributed locking")
//! closes the gap at the resource: every grant of the lock comes with a token that grows
//! with each grant (here the sequence number of the holder's node), the holder shows it
//! with every operation, and the resource refuses a token older than one it has seen.

use crate::invariants::{checked, ensure, Broken, Invariants};
use crate::znode::msg::{ResourceMsg, ZkMsg};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;

/// The protected resource. Rule (fencing): an operation is accepted only with a token at
/// least as high as any the resource has accepted.
#[derive(Clone, Debug)]
pub struct Resource {
    /// Whether tokens are checked; without, every operation is accepted (the resource of
    /// `lock-no-fencing`).
    pub fencing: bool,
}

/// The resource's state: the highest token it has accepted, and every operation it was
/// asked to do, in order, with its client and whether it was done.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceState {
    pub highest: Option<u64>,
    pub log: Vec<(Id, bool)>,
}

impl Resource {
    /// Whether an operation showing `token` may be done now.
    pub fn admits(&self, state: &ResourceState, token: Option<u64>) -> bool {
        if !self.fencing {
            return true;
        }
        token.is_some_and(|t| state.highest.is_none_or(|h| t >= h))
    }
}

impl Actor for Resource {
    type Msg = ZkMsg;
    type State = ResourceState;
    type Timer = ();
    type Storage = ();
    type Random = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, _o: &mut Out<Self>) -> ResourceState {
        ResourceState::default()
    }

    /// An operation: done if admitted (raising the highest token), answered either way.
    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<ResourceState>,
        src: Id,
        msg: ZkMsg,
        o: &mut Out<Self>,
    ) {
        let ZkMsg::Resource(ResourceMsg::Use { token }) = msg else {
            return;
        };
        checked(self, state, |state| {
            let accepted = self.admits(state, token);
            let state = state.to_mut();
            if accepted {
                state.highest = state.highest.max(token);
            }
            state.log.push((src, accepted));
            o.send(src, ZkMsg::Resource(ResourceMsg::Answer { accepted }));
        });
    }
}

/// What the resource keeps: with fencing, a highest token once (and only once) it has
/// accepted an operation; from one step to the next, a highest token that never goes
/// down and a log that only grows.
impl Invariants for Resource {
    fn invariants(&self, state: &ResourceState) -> Result<(), Broken> {
        let accepted_any = state.log.iter().any(|(_, accepted)| *accepted);
        ensure(
            "a fencing resource knows a token once it has accepted an operation",
            !self.fencing || accepted_any == state.highest.is_some(),
            || format!("highest {:?}, log {:?}", state.highest, state.log),
        )
    }

    fn step_invariants(&self, before: &ResourceState, after: &ResourceState) -> Result<(), Broken> {
        ensure(
            "the highest token never goes down",
            after.highest >= before.highest,
            || format!("{:?} after {:?}", after.highest, before.highest),
        )?;
        ensure(
            "the resource's log only grows",
            after.log.starts_with(&before.log),
            || format!("{:?} after {:?}", after.log, before.log),
        )
    }
}
