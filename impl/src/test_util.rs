//! Driving one actor handler in unit tests: call it on a borrowed state and keep what it
//! left behind, so a test can assert on the state, the commands, and whether the state was
//! touched at all (no-op steps must leave the `Cow` borrowed for the checker).

use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;

/// The commands an actor `A` emits.
pub type Cmd<A> =
    Command<<A as Actor>::Msg, <A as Actor>::Timer, <A as Actor>::Random, <A as Actor>::Storage>;

/// What one handler call left behind.
pub struct Step<A: Actor> {
    pub state: A::State,
    pub cmds: Vec<Cmd<A>>,
    /// False when the handler left the state `Cow::Borrowed` (did not touch it).
    pub changed: bool,
}

/// Runs handler `f` on a borrowed copy of `state`.
pub fn run<A: Actor>(state: &A::State, f: impl FnOnce(&mut Cow<A::State>, &mut Out<A>)) -> Step<A> {
    let mut cow = Cow::Borrowed(state);
    let mut out = Out::new();
    f(&mut cow, &mut out);
    let changed = matches!(cow, Cow::Owned(_));
    Step {
        state: cow.into_owned(),
        cmds: out.into_iter().collect(),
        changed,
    }
}

/// The messages among `cmds`, with their destinations, in order.
pub fn sends<M: Clone, T, R, S>(cmds: &[Command<M, T, R, S>]) -> Vec<(Id, M)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Send(dst, msg) => Some((*dst, msg.clone())),
            _ => None,
        })
        .collect()
}

/// The server under test in a three-server cluster.
pub fn me() -> Id {
    Id::from(0)
}

/// Its first peer.
pub fn p1() -> Id {
    Id::from(1)
}

/// Its second peer.
pub fn p2() -> Id {
    Id::from(2)
}

/// A log entry of `term` carrying the string `op`, for tests of the log and its storage.
pub fn string_entry(term: crate::raft::Term, op: &str) -> crate::raft::Entry<String> {
    crate::raft::Entry {
        term,
        client: Id::from(9),
        seq: 1,
        op: crate::raft::Payload::Op(op.to_string()),
    }
}
