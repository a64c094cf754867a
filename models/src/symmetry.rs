//! Symmetry reduction over interchangeable servers (DESIGN.md: "Symmetry only through a
//! custom representative that permutes interchangeable actors").
//!
//! Servers with one configuration up to their own name behave alike: renaming them
//! consistently everywhere (their states, storage, timers, the ids inside every state and
//! message, the network's envelopes) yields a state with the same future up to that
//! renaming, and with the same verdict for properties that treat servers alike. So the
//! checker need only explore one state of each renaming class. The representative sorts
//! the servers by a key of their state; clients keep their names, so histories (which
//! name only clients) are left as they are.

use crate::node::Node;
use stateright::actor::{Actor, ActorModelState, Envelope, Id, Network};
use stateright::util::DenseNatMap;
use stateright::{Rewrite, RewritePlan};
use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

/// Where an actor goes when sorting: servers by their key, before every client, and
/// clients in their own order (so that they keep their names).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Slot<K> {
    Server(K),
    Client(usize),
}

/// The renaming that puts the servers in the order of `key(server state, crashed)`, or
/// `None` if they are in that order already. Servers with equal keys keep their relative
/// order. The key should ignore the ids a state holds (they change under renaming), so
/// that renamings of one state sort alike.
pub fn server_order<A, S, C, H, K>(
    state: &ActorModelState<A, H>,
    key: impl Fn(&S, bool) -> K,
) -> Option<Renaming>
where
    A: Actor<State = Node<S, C>>,
    K: Ord,
{
    let slots: Vec<Slot<K>> = state
        .actor_states
        .iter()
        .zip(&state.crashed)
        .enumerate()
        .map(|(i, (node, &crashed))| match &**node {
            Node::Server(s) => Slot::Server(key(s, crashed)),
            Node::Client(_) => Slot::Client(i),
        })
        .collect();
    (!slots.is_sorted()).then(|| RewritePlan::from_values_to_sort(&slots))
}

/// The representative of `state` under both reductions: without the messages that
/// `dead(receiver's state, src, msg)` declares ignored forever (see
/// [`drop_dead_messages`]), and with the servers renamed in the order of `key` (see
/// [`server_order`]). The network is read once, dropping and renaming in one pass, into the
/// form [`key_network`] gives it: the checker only hashes a representative, to tell
/// whether its class was visited, and goes on from the state itself.
///
/// [`drop_dead_messages`]: crate::dead_messages::drop_dead_messages
pub fn canonical<A, S, C, H, K>(
    state: &ActorModelState<A, H>,
    dead: impl Fn(&A::State, Id, &A::Msg) -> bool,
    key: impl Fn(&S, bool) -> K,
) -> ActorModelState<A, H>
where
    A: Actor<State = Node<S, C>>,
    A::State: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    A::Msg: Rewrite<Id> + Ord,
    A::Random: Rewrite<Id>,
    H: Clone,
    K: Ord,
{
    let Some(plan) = server_order(state, key) else {
        return without_dead(state, dead);
    };
    let keep = alive(&state.actor_states, &dead);
    with_network(
        state,
        &plan,
        key_network(&state.network, renamed_by(&plan), keep),
    )
}

/// Whether the receiver `dst` among `actors` may still act on `msg` from `src`: whether
/// `dead(receiver's state, src, msg)` does not declare it ignored forever.
fn alive<'a, S, M>(
    actors: &'a [Arc<S>],
    dead: &'a impl Fn(&S, Id, &M) -> bool,
) -> impl Fn(Id, Id, &M) -> bool + 'a {
    move |src, dst, msg| {
        !actors
            .get(usize::from(dst))
            .is_some_and(|receiver| dead(receiver, src, msg))
    }
}

/// The representative of `state` under the first reduction alone: without the messages
/// that `dead(receiver's state, src, msg)` declares ignored forever, with the network in
/// the form [`key_network`] gives it (see [`canonical`]).
pub fn without_dead<A, H>(
    state: &ActorModelState<A, H>,
    dead: impl Fn(&A::State, Id, &A::Msg) -> bool,
) -> ActorModelState<A, H>
where
    A: Actor,
    A::Msg: Ord,
    H: Clone,
{
    ActorModelState {
        actor_states: state.actor_states.clone(),
        network: key_network(
            &state.network,
            unchanged(),
            alive(&state.actor_states, &dead),
        ),
        timers_set: state.timers_set.clone(),
        random_choices: state.random_choices.clone(),
        crashed: state.crashed.clone(),
        actor_storages: state.actor_storages.clone(),
        history: state.history.clone(),
    }
}

/// The state with actor `i` renamed to `plan.rewrite(i)` throughout, keeping only the
/// messages in flight for which `keep(src, dst, msg)` holds (with the names before
/// renaming). The history is kept as it is, so the plan must leave every client its name.
/// Actors must list the alternatives of a random choice in ascending order, as renaming
/// sorts them.
pub fn rename<A, H>(
    state: &ActorModelState<A, H>,
    plan: &Renaming,
    keep: impl Fn(Id, Id, &A::Msg) -> bool,
) -> ActorModelState<A, H>
where
    A: Actor,
    A::State: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    A::Msg: Rewrite<Id>,
    A::Random: Rewrite<Id>,
    H: Clone,
{
    with_network(
        state,
        plan,
        filter_network(&state.network, renamed_by(plan), keep),
    )
}

/// `state` renamed by `plan` (see [`rename`]), with `network` in flight.
fn with_network<A, H>(
    state: &ActorModelState<A, H>,
    plan: &Renaming,
    network: Network<A::Msg>,
) -> ActorModelState<A, H>
where
    A: Actor,
    A::State: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    A::Random: Rewrite<Id>,
    H: Clone,
{
    // A pending random choice is a set of alternatives; keep its list sorted so that
    // renamings of one choice look alike.
    let mut random_choices = plan.reindex(&state.random_choices);
    for choices in &mut random_choices {
        for alternatives in choices.map.values_mut() {
            alternatives.sort();
        }
    }
    ActorModelState {
        actor_states: plan.reindex(&state.actor_states),
        network,
        timers_set: plan.reindex(&state.timers_set),
        random_choices,
        crashed: plan.reindex(&state.crashed),
        actor_storages: plan.reindex(&state.actor_storages),
        history: state.history.clone(),
    }
}

/// How a network's ids and messages are named in the copy: renamed by a plan (which needs
/// [`Rewrite`]), or as they are (which works for any message).
struct Names<I, M> {
    id: I,
    msg: M,
}

/// The names `plan` gives.
fn renamed_by<M: Rewrite<Id>>(
    plan: &Renaming,
) -> Names<impl Fn(Id) -> Id + '_, impl Fn(&M) -> M + '_> {
    Names {
        id: move |id| plan.rewrite(&id),
        msg: move |msg: &M| msg.rewrite(plan),
    }
}

/// The names as they are.
fn unchanged<M: Clone>() -> Names<impl Fn(Id) -> Id, impl Fn(&M) -> M> {
    Names {
        id: |id| id,
        msg: |msg: &M| msg.clone(),
    }
}

/// The messages of `network` for which `keep(src, dst, msg)` holds, named by `names`, in a
/// network of the same kind.
fn filter_network<M>(
    network: &Network<M>,
    names: Names<impl Fn(Id) -> Id, impl Fn(&M) -> M>,
    keep: impl Fn(Id, Id, &M) -> bool,
) -> Network<M>
where
    M: Eq + Hash,
{
    let kept = |env: &&Envelope<M>| keep(env.src, env.dst, &env.msg);
    let env = |env: &Envelope<M>| Envelope {
        src: (names.id)(env.src),
        dst: (names.id)(env.dst),
        msg: (names.msg)(&env.msg),
    };
    match network {
        Network::UnorderedNonDuplicating(multiset) => Network::UnorderedNonDuplicating(
            (multiset.iter())
                .filter(|(e, _)| kept(e))
                .map(|(e, count)| (env(e), *count))
                .collect(),
        ),
        Network::UnorderedDuplicating(set, last) => Network::UnorderedDuplicating(
            set.iter().filter(kept).map(env).collect(),
            last.as_ref().map(env),
        ),
        Network::Ordered(flows) => Network::Ordered(
            (flows.iter())
                .filter_map(|(&(src, dst), flow)| {
                    let flow: VecDeque<M> = (flow.iter())
                        .filter(|msg| keep(src, dst, msg))
                        .map(&names.msg)
                        .collect();
                    let link = ((names.id)(src), (names.id)(dst));
                    (!flow.is_empty()).then_some((link, flow))
                })
                .collect(),
        ),
    }
}

/// [`filter_network`] for a representative, which is only hashed: a multiset of messages
/// in flight becomes the ordered flows that hold, on each link, its messages in ascending
/// order, as many times as the multiset counts them. The two determine each other, and
/// the flows are much cheaper to build and to hash: a hashed map rehashes every message
/// to place it, and hashes each entry apart to combine them in any order.
fn key_network<M>(
    network: &Network<M>,
    names: Names<impl Fn(Id) -> Id, impl Fn(&M) -> M>,
    keep: impl Fn(Id, Id, &M) -> bool,
) -> Network<M>
where
    M: Ord + Hash + Clone,
{
    let Network::UnorderedNonDuplicating(multiset) = network else {
        return filter_network(network, names, keep);
    };
    let mut flows: BTreeMap<(Id, Id), VecDeque<M>> = BTreeMap::new();
    for (env, &count) in multiset.iter() {
        if keep(env.src, env.dst, &env.msg) {
            let link = ((names.id)(env.src), (names.id)(env.dst));
            let msg = (names.msg)(&env.msg);
            flows
                .entry(link)
                .or_default()
                .extend(std::iter::repeat_n(msg, count));
        }
    }
    for flow in flows.values_mut() {
        flow.make_contiguous().sort_unstable();
    }
    Network::Ordered(flows)
}

/// `network` in the form a representative holds it (see [`key_network`]): what
/// [`canonical`] makes of a state's network when it drops and renames nothing.
pub fn as_key<M: Ord + Hash + Clone>(network: &Network<M>) -> Network<M> {
    key_network(network, unchanged(), |_, _, _| true)
}

/// A renaming of actors: a permutation of their ids.
pub type Renaming = RewritePlan<Id, DenseNatMap<Id, Id>>;

/// A key for [`server_order`]: a hash of the id-free part of a state. Any hash that is the
/// same in every thread of one run will do; the seeds are fixed.
pub fn hash_key(part: impl Hash) -> u64 {
    ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(part)
}
