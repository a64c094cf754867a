//! The clients of a Raft cluster: users of its state machine and administrators, who ask
//! for membership changes (Raft dissertation §4.1) one at a time. An administrator is the
//! same client actor as a user (retries, redirects, one request in flight), running a
//! script of changes over [`Msg::Admin`]; [`RaftClient`] is either kind as one actor type,
//! so that a model can hold both.

use super::types::{Change, Members, Msg};
use crate::client::{Client, ClientMsg, ClientState, ClientTimer};
use crate::invariants::{Broken, Invariants};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::Hash;

/// An administrator: its operations are changes, each answered with the configuration
/// that results, once committed.
pub type Admin = Client<Change, Members, ClientMsg<Change, Members>>;

/// A client of a Raft cluster: a user of the state machine, or an administrator.
#[derive(Clone, Debug)]
pub enum RaftClient<Op, Ret> {
    User(Client<Op, Ret, Msg<Op, Ret>>),
    Admin(Admin),
}

/// Runs `step` on the client `inner` and re-issues its commands as the host's, its
/// messages wrapped by `wrap`.
fn forward<Op, Ret, A, T>(
    inner: &A,
    o: &mut Out<RaftClient<Op, Ret>>,
    wrap: fn(A::Msg) -> Msg<Op, Ret>,
    step: impl FnOnce(&A, &mut Out<A>) -> T,
) -> T
where
    A: Actor<Timer = ClientTimer, Random = Id, Storage = ()>,
    RaftClient<Op, Ret>: Actor<Msg = Msg<Op, Ret>, Timer = ClientTimer, Random = Id, Storage = ()>,
{
    let mut out = Out::new();
    let result = step(inner, &mut out);
    for command in out {
        match command {
            Command::Send(to, msg) => o.send(to, wrap(msg)),
            Command::SetTimer(timer, range) => o.set_timer(timer, range),
            Command::CancelTimer(timer) => o.cancel_timer(timer),
            Command::Save(()) => o.save(()),
            Command::ChooseRandom(key, choices) => o.choose_random(key, choices),
        }
    }
    result
}

fn unwrapped<Op, Ret>(msg: Msg<Op, Ret>) -> Msg<Op, Ret> {
    msg
}

impl<Op, Ret> Actor for RaftClient<Op, Ret>
where
    Op: Clone + Debug + Eq + Hash + Ord,
    Ret: Clone + Debug + Eq + Hash + Ord,
{
    type Msg = Msg<Op, Ret>;
    type State = ClientState;
    type Timer = ClientTimer;
    type Storage = ();
    type Random = Id;

    fn on_start(&self, id: Id, storage: &Option<()>, o: &mut Out<Self>) -> ClientState {
        match self {
            RaftClient::User(user) => {
                forward(user, o, unwrapped, |u, out| u.on_start(id, storage, out))
            }
            RaftClient::Admin(admin) => {
                forward(admin, o, Msg::Admin, |a, out| a.on_start(id, storage, out))
            }
        }
    }

    /// An administrator hears only administrators' traffic.
    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<ClientState>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        match (self, msg) {
            (RaftClient::User(user), msg) => forward(user, o, unwrapped, |u, out| {
                u.on_msg(id, state, src, msg, out)
            }),
            (RaftClient::Admin(admin), Msg::Admin(msg)) => {
                forward(admin, o, Msg::Admin, |a, out| {
                    a.on_msg(id, state, src, msg, out)
                })
            }
            (RaftClient::Admin(_), _) => {}
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<ClientState>,
        timer: &ClientTimer,
        o: &mut Out<Self>,
    ) {
        match self {
            RaftClient::User(user) => forward(user, o, unwrapped, |u, out| {
                u.on_timeout(id, state, timer, out)
            }),
            RaftClient::Admin(admin) => forward(admin, o, Msg::Admin, |a, out| {
                a.on_timeout(id, state, timer, out)
            }),
        }
    }

    fn on_random(&self, id: Id, state: &mut Cow<ClientState>, random: &Id, o: &mut Out<Self>) {
        match self {
            RaftClient::User(user) => forward(user, o, unwrapped, |u, out| {
                u.on_random(id, state, random, out)
            }),
            RaftClient::Admin(admin) => forward(admin, o, Msg::Admin, |a, out| {
                a.on_random(id, state, random, out)
            }),
        }
    }
}

/// Either kind keeps a client's invariants.
impl<Op, Ret> Invariants for RaftClient<Op, Ret>
where
    Op: Clone + Debug + Eq + Hash + Ord,
    Ret: Clone + Debug + Eq + Hash + Ord,
{
    fn invariants(&self, state: &ClientState) -> Result<(), Broken> {
        match self {
            RaftClient::User(user) => user.invariants(state),
            RaftClient::Admin(admin) => admin.invariants(state),
        }
    }

    fn step_invariants(&self, before: &ClientState, after: &ClientState) -> Result<(), Broken> {
        match self {
            RaftClient::User(user) => user.step_invariants(before, after),
            RaftClient::Admin(admin) => admin.step_invariants(before, after),
        }
    }
}
