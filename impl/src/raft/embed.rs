//! A Raft server embedded in another actor (the znode server, the chain manager's
//! replica): one step of it run on the Raft part of the outer state.

use super::server::{RaftServer, RaftState};
use super::StateMachine;
use stateright::actor::Out;
use std::borrow::Cow;

/// What one step of an embedded Raft server did.
pub struct Stepped<SM: StateMachine, R> {
    /// What the step returned.
    pub result: R,
    /// What it sent, set or saved, for the outer actor to lift into its own commands.
    pub out: Out<RaftServer<SM>>,
    /// Its new state, if the step changed it; the outer state is left as it was, so that
    /// the outer actor can compare the two before it takes the new one.
    pub next: Option<RaftState<SM>>,
}

/// Runs step `f` of `server` on `state` without touching it: a state the step leaves
/// borrowed is unchanged, and the outer actor's state is then not cloned.
pub fn step<SM: StateMachine, R>(
    server: &RaftServer<SM>,
    state: &RaftState<SM>,
    f: impl FnOnce(&RaftServer<SM>, &mut Cow<RaftState<SM>>, &mut Out<RaftServer<SM>>) -> R,
) -> Stepped<SM, R> {
    let mut raft = Cow::Borrowed(state);
    let mut out = Out::new();
    let result = f(server, &mut raft, &mut out);
    let next = match raft {
        Cow::Owned(next) => Some(next),
        Cow::Borrowed(_) => None,
    };
    Stepped { result, out, next }
}
