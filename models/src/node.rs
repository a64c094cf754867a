//! One actor type for a model's mix of servers and clients.
//!
//! stateright's `ActorModel` holds actors of a single type, so a model of servers `S` and
//! clients `C` runs `Node<S, C>`, which forwards every event to the actor it wraps and
//! tags timers and storage with the side they belong to.

use serde::Serialize;
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;

/// A server or a client, or the state, timer or storage of one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Node<S, C> {
    Server(S),
    Client(C),
}

impl<S, C> Node<S, C> {
    pub fn server(&self) -> Option<&S> {
        match self {
            Node::Server(s) => Some(s),
            Node::Client(_) => None,
        }
    }

    pub fn client(&self) -> Option<&C> {
        match self {
            Node::Client(c) => Some(c),
            Node::Server(_) => None,
        }
    }
}

/// Re-tags the commands of an inner actor `A` as commands of the node.
fn lift<A, B>(
    inner: Out<A>,
    o: &mut Out<B>,
    timer: impl Fn(A::Timer) -> B::Timer,
    storage: impl Fn(A::Storage) -> B::Storage,
) where
    A: Actor,
    B: Actor<Msg = A::Msg, Random = A::Random>,
{
    for command in inner {
        match command {
            Command::Send(to, msg) => o.send(to, msg),
            Command::SetTimer(t, range) => o.set_timer(timer(t), range),
            Command::CancelTimer(t) => o.cancel_timer(timer(t)),
            Command::Save(s) => o.save(storage(s)),
            Command::ChooseRandom(key, choices) => o.choose_random(key, choices),
        }
    }
}

type NodeTimer<S, C> = Node<<S as Actor>::Timer, <C as Actor>::Timer>;
type NodeStorage<S, C> = Node<<S as Actor>::Storage, <C as Actor>::Storage>;

/// Runs one step `f` of the inner actor `A` on a borrowed copy of its state, lifts its
/// commands into `o`, and returns the new inner state only if the step changed it (so that
/// no-op steps stay no-ops for the checker).
fn step<A, B>(
    actor: &A,
    inner: &A::State,
    o: &mut Out<B>,
    timer: impl Fn(A::Timer) -> B::Timer,
    storage: impl Fn(A::Storage) -> B::Storage,
    f: impl FnOnce(&A, &mut Cow<A::State>, &mut Out<A>),
) -> Option<A::State>
where
    A: Actor,
    B: Actor<Msg = A::Msg, Random = A::Random>,
{
    let mut next = Cow::Borrowed(inner);
    let mut out = Out::new();
    f(actor, &mut next, &mut out);
    lift(out, o, timer, storage);
    match next {
        Cow::Owned(next) => Some(next),
        Cow::Borrowed(_) => None,
    }
}

impl<S, C> Actor for Node<S, C>
where
    S: Actor,
    C: Actor<Msg = S::Msg, Random = S::Random>,
    S::Timer: Ord,
    C::Timer: Ord,
    S::Storage: Eq,
    C::Storage: Eq,
{
    type Msg = S::Msg;
    type State = Node<S::State, C::State>;
    type Timer = NodeTimer<S, C>;
    type Storage = NodeStorage<S, C>;
    type Random = S::Random;

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            Node::Server(actor) => {
                let saved = match storage {
                    Some(Node::Server(s)) => Some(s.clone()),
                    _ => None,
                };
                let mut out = Out::new();
                let state = actor.on_start(id, &saved, &mut out);
                lift(out, o, Node::Server, Node::Server);
                Node::Server(state)
            }
            Node::Client(actor) => {
                let saved = match storage {
                    Some(Node::Client(s)) => Some(s.clone()),
                    _ => None,
                };
                let mut out = Out::new();
                let state = actor.on_start(id, &saved, &mut out);
                lift(out, o, Node::Client, Node::Client);
                Node::Client(state)
            }
        }
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        match (self, &**state) {
            (Node::Server(a), Node::Server(s)) => {
                let next = step(a, s, o, Node::Server, Node::Server, |a, st, out| {
                    a.on_msg(id, st, src, msg, out)
                });
                if let Some(next) = next {
                    *state = Cow::Owned(Node::Server(next));
                }
            }
            (Node::Client(a), Node::Client(s)) => {
                let next = step(a, s, o, Node::Client, Node::Client, |a, st, out| {
                    a.on_msg(id, st, src, msg, out)
                });
                if let Some(next) = next {
                    *state = Cow::Owned(Node::Client(next));
                }
            }
            _ => unreachable!("a node's state always matches its actor"),
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        match (self, &**state, timer) {
            (Node::Server(a), Node::Server(s), Node::Server(t)) => {
                let next = step(a, s, o, Node::Server, Node::Server, |a, st, out| {
                    a.on_timeout(id, st, t, out)
                });
                if let Some(next) = next {
                    *state = Cow::Owned(Node::Server(next));
                }
            }
            (Node::Client(a), Node::Client(s), Node::Client(t)) => {
                let next = step(a, s, o, Node::Client, Node::Client, |a, st, out| {
                    a.on_timeout(id, st, t, out)
                });
                if let Some(next) = next {
                    *state = Cow::Owned(Node::Client(next));
                }
            }
            _ => {}
        }
    }

    fn on_random(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        random: &Self::Random,
        o: &mut Out<Self>,
    ) {
        match (self, &**state) {
            (Node::Server(a), Node::Server(s)) => {
                let next = step(a, s, o, Node::Server, Node::Server, |a, st, out| {
                    a.on_random(id, st, random, out)
                });
                if let Some(next) = next {
                    *state = Cow::Owned(Node::Server(next));
                }
            }
            (Node::Client(a), Node::Client(s)) => {
                let next = step(a, s, o, Node::Client, Node::Client, |a, st, out| {
                    a.on_random(id, st, random, out)
                });
                if let Some(next) = next {
                    *state = Cow::Owned(Node::Client(next));
                }
            }
            _ => unreachable!("a node's state always matches its actor"),
        }
    }
}
