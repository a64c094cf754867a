//! One actor type for a model's mix of servers and clients.
//!
//! stateright's `ActorModel` holds actors of a single type, so a model of servers `S` and
//! clients `C` runs `Node<S, C>`, which forwards every event to the actor it wraps and
//! tags timers and storage with the side they belong to. It is also where every model
//! asserts the actors' invariants ([`Invariants`]): after every step of the actor it
//! wraps, and on every start or restart, in release builds too.

use coord::invariants::{assert_kept, Broken, Invariants};
use serde::Serialize;
use stateright::actor::{Actor, Command, Id, Out};
use stateright::{Rewrite, RewritePlan};
use std::borrow::Cow;
use std::cell::Cell;

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

/// How an inner actor's timers, storage and random choices are tagged as the node's.
struct Tag<T, S, R> {
    timer: T,
    storage: S,
    random: R,
}

/// The tag of a server's or a client's side.
macro_rules! tag {
    ($side:path) => {
        Tag {
            timer: $side,
            storage: $side,
            random: $side,
        }
    };
}

/// Re-tags the commands of an inner actor `A` as commands of the node.
fn lift<A, B>(
    inner: Out<A>,
    o: &mut Out<B>,
    tag: &Tag<
        impl Fn(A::Timer) -> B::Timer,
        impl Fn(A::Storage) -> B::Storage,
        impl Fn(A::Random) -> B::Random,
    >,
) where
    A: Actor,
    B: Actor<Msg = A::Msg>,
{
    for command in inner {
        match command {
            Command::Send(to, msg) => o.send(to, msg),
            Command::SetTimer(t, range) => o.set_timer((tag.timer)(t), range),
            Command::CancelTimer(t) => o.cancel_timer((tag.timer)(t)),
            Command::Save(s) => o.save((tag.storage)(s)),
            Command::ChooseRandom(key, choices) => {
                o.choose_random(key, choices.into_iter().map(&tag.random).collect())
            }
        }
    }
}

type NodeTimer<S, C> = Node<<S as Actor>::Timer, <C as Actor>::Timer>;
type NodeStorage<S, C> = Node<<S as Actor>::Storage, <C as Actor>::Storage>;
type NodeRandom<S, C> = Node<<S as Actor>::Random, <C as Actor>::Random>;

/// Runs one step `f` of the inner actor `A` on a borrowed copy of its state, lifts its
/// commands into `o`, and returns the new inner state only if the step changed it (so that
/// no-op steps stay no-ops for the checker), once it is known to keep `A`'s invariants.
fn step<A, B>(
    actor: &A,
    inner: &A::State,
    o: &mut Out<B>,
    tag: &Tag<
        impl Fn(A::Timer) -> B::Timer,
        impl Fn(A::Storage) -> B::Storage,
        impl Fn(A::Random) -> B::Random,
    >,
    f: impl FnOnce(&A, &mut Cow<A::State>, &mut Out<A>),
) -> Option<A::State>
where
    A: Invariants,
    B: Actor<Msg = A::Msg>,
{
    let mut next = Cow::Borrowed(inner);
    let mut out = Out::new();
    f(actor, &mut next, &mut out);
    lift(out, o, tag);
    match next {
        Cow::Owned(next) => {
            assert_kept(actor, Some(inner), &next);
            Some(next)
        }
        Cow::Borrowed(_) => None,
    }
}

/// A node keeps the invariants of the actor it wraps.
impl<S: Invariants, C: Invariants<Msg = S::Msg>> Invariants for Node<S, C>
where
    S::Timer: Ord,
    C::Timer: Ord,
    S::Storage: Eq,
    C::Storage: Eq,
{
    fn invariants(&self, state: &Self::State) -> Result<(), Broken> {
        match (self, state) {
            (Node::Server(a), Node::Server(s)) => a.invariants(s),
            (Node::Client(a), Node::Client(s)) => a.invariants(s),
            _ => unreachable!("a node's state always matches its actor"),
        }
    }

    fn step_invariants(&self, before: &Self::State, after: &Self::State) -> Result<(), Broken> {
        match (self, before, after) {
            (Node::Server(a), Node::Server(b), Node::Server(s)) => a.step_invariants(b, s),
            (Node::Client(a), Node::Client(b), Node::Client(s)) => a.step_invariants(b, s),
            _ => unreachable!("a node's state always matches its actor"),
        }
    }
}

impl<S: Rewrite<Id>, C: Rewrite<Id>> Rewrite<Id> for Node<S, C> {
    fn rewrite<P>(&self, plan: &RewritePlan<Id, P>) -> Self {
        match self {
            Node::Server(s) => Node::Server(s.rewrite(plan)),
            Node::Client(c) => Node::Client(c.rewrite(plan)),
        }
    }
}

impl<S, C> Node<S, C>
where
    S: Invariants,
    C: Invariants<Msg = S::Msg>,
    S::Timer: Ord,
    C::Timer: Ord,
    S::Storage: Eq,
    C::Storage: Eq,
{
    /// Runs one step on whichever actor this node wraps: `server` or `client`.
    fn dispatch(
        &self,
        state: &mut Cow<<Self as Actor>::State>,
        o: &mut Out<Self>,
        server: impl FnOnce(&S, &mut Cow<S::State>, &mut Out<S>),
        client: impl FnOnce(&C, &mut Cow<C::State>, &mut Out<C>),
    ) {
        let next = match (self, &**state) {
            (Node::Server(a), Node::Server(s)) => {
                step(a, s, o, &tag!(Node::Server), server).map(Node::Server)
            }
            (Node::Client(a), Node::Client(s)) => {
                step(a, s, o, &tag!(Node::Client), client).map(Node::Client)
            }
            _ => unreachable!("a node's state always matches its actor"),
        };
        if let Some(next) = next {
            *state = Cow::Owned(next);
        }
    }

    /// Runs one step for an event tagged with the side it belongs to (a timer or a random
    /// choice); an event of the other side is ignored.
    fn dispatch_tagged<X, Y>(
        &self,
        state: &mut Cow<<Self as Actor>::State>,
        o: &mut Out<Self>,
        event: &Node<X, Y>,
        server: impl FnOnce(&S, &mut Cow<S::State>, &X, &mut Out<S>),
        client: impl FnOnce(&C, &mut Cow<C::State>, &Y, &mut Out<C>),
    ) {
        self.dispatch(
            state,
            o,
            |a, st, out| {
                if let Node::Server(x) = event {
                    server(a, st, x, out)
                }
            },
            |a, st, out| {
                if let Node::Client(y) = event {
                    client(a, st, y, out)
                }
            },
        );
    }
}

impl<S, C> Actor for Node<S, C>
where
    S: Invariants,
    C: Invariants<Msg = S::Msg>,
    S::Timer: Ord,
    C::Timer: Ord,
    S::Storage: Eq,
    C::Storage: Eq,
{
    type Msg = S::Msg;
    type State = Node<S::State, C::State>;
    type Timer = NodeTimer<S, C>;
    type Storage = NodeStorage<S, C>;
    type Random = NodeRandom<S, C>;

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            Node::Server(actor) => {
                let saved = match storage {
                    Some(Node::Server(s)) => Some(s.clone()),
                    _ => None,
                };
                let mut out = Out::new();
                let state = actor.on_start(id, &saved, &mut out);
                assert_kept(actor, None, &state);
                lift(out, o, &tag!(Node::Server));
                Node::Server(state)
            }
            Node::Client(actor) => {
                let saved = match storage {
                    Some(Node::Client(s)) => Some(s.clone()),
                    _ => None,
                };
                let mut out = Out::new();
                let state = actor.on_start(id, &saved, &mut out);
                assert_kept(actor, None, &state);
                lift(out, o, &tag!(Node::Client));
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
        // Only one side runs; it takes the message.
        let msg = Cell::new(Some(msg));
        let take = || msg.take().expect("one side takes the message");
        self.dispatch(
            state,
            o,
            |a, st, out| a.on_msg(id, st, src, take(), out),
            |a, st, out| a.on_msg(id, st, src, take(), out),
        );
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        self.dispatch_tagged(
            state,
            o,
            timer,
            |a, st, t, out| a.on_timeout(id, st, t, out),
            |a, st, t, out| a.on_timeout(id, st, t, out),
        );
    }

    fn on_random(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        random: &Self::Random,
        o: &mut Out<Self>,
    ) {
        self.dispatch_tagged(
            state,
            o,
            random,
            |a, st, r, out| a.on_random(id, st, r, out),
            |a, st, r, out| a.on_random(id, st, r, out),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter that counts past the limit its invariant sets, at its second message.
    #[derive(Clone)]
    struct Counter;

    impl Actor for Counter {
        type Msg = ();
        type State = u8;
        type Timer = ();
        type Storage = ();
        type Random = ();

        fn on_start(&self, _: Id, _: &Option<()>, _: &mut Out<Self>) -> u8 {
            0
        }

        fn on_msg(&self, _: Id, state: &mut Cow<u8>, _: Id, _: (), _: &mut Out<Self>) {
            *state.to_mut() += 1;
        }
    }

    impl Invariants for Counter {
        fn invariants(&self, count: &u8) -> Result<(), Broken> {
            coord::invariants::ensure("the count is at most 1", *count <= 1, || {
                format!("count {count}")
            })
        }
    }

    /// Delivers a message to `node` in `state`, as a model does.
    fn deliver(node: &Node<Counter, Counter>, state: &Node<u8, u8>) -> Node<u8, u8> {
        let mut cow = Cow::Borrowed(state);
        node.on_msg(Id::from(0), &mut cow, Id::from(1), (), &mut Out::new());
        cow.into_owned()
    }

    #[test]
    #[should_panic(expected = "invariant broken: the count is at most 1 (count 2)")]
    fn every_step_of_a_wrapped_actor_is_checked_against_its_invariants() {
        let node = Node::Server(Counter);
        let started = node.on_start(Id::from(0), &None, &mut Out::new());
        let once = deliver(&node, &started);
        assert_eq!(once.server(), Some(&1));
        deliver(&node, &once);
    }
}
