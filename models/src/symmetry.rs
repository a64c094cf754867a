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

use crate::dead_messages::drop_dead_messages;
use crate::node::Node;
use stateright::actor::{Actor, ActorModelState, Envelope, Id, Network};
use stateright::util::DenseNatMap;
use stateright::{Rewrite, RewritePlan};
use std::collections::VecDeque;
use std::hash::Hash;

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
/// [`server_order`]). The network is copied once, dropping and renaming in one pass.
pub fn canonical<A, S, C, H, K>(
    state: &ActorModelState<A, H>,
    dead: impl Fn(&A::State, Id, &A::Msg) -> bool,
    key: impl Fn(&S, bool) -> K,
) -> ActorModelState<A, H>
where
    A: Actor<State = Node<S, C>>,
    A::State: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    A::Msg: Rewrite<Id>,
    A::Random: Rewrite<Id>,
    H: Clone,
    K: Ord,
{
    let Some(plan) = server_order(state, key) else {
        let mut state = state.clone();
        drop_dead_messages(&mut state, dead);
        return state;
    };
    let actors = &state.actor_states;
    rename(state, &plan, |src, dst, msg| {
        !actors
            .get(usize::from(dst))
            .is_some_and(|receiver| dead(receiver, src, msg))
    })
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
        network: rename_network(&state.network, plan, keep),
        timers_set: plan.reindex(&state.timers_set),
        random_choices,
        crashed: plan.reindex(&state.crashed),
        actor_storages: plan.reindex(&state.actor_storages),
        history: state.history.clone(),
    }
}

/// The messages of `network` for which `keep(src, dst, msg)` holds, renamed by `plan`.
fn rename_network<M>(
    network: &Network<M>,
    plan: &Renaming,
    keep: impl Fn(Id, Id, &M) -> bool,
) -> Network<M>
where
    M: Eq + Hash + Rewrite<Id>,
{
    let kept = |env: &&Envelope<M>| keep(env.src, env.dst, &env.msg);
    match network {
        Network::UnorderedNonDuplicating(multiset) => Network::UnorderedNonDuplicating(
            (multiset.iter())
                .filter(|(env, _)| kept(env))
                .map(|(env, count)| (env.rewrite(plan), *count))
                .collect(),
        ),
        Network::UnorderedDuplicating(set, last) => Network::UnorderedDuplicating(
            set.iter()
                .filter(kept)
                .map(|env| env.rewrite(plan))
                .collect(),
            last.rewrite(plan),
        ),
        Network::Ordered(flows) => Network::Ordered(
            (flows.iter())
                .filter_map(|(&(src, dst), flow)| {
                    let flow: VecDeque<M> = (flow.iter())
                        .filter(|msg| keep(src, dst, msg))
                        .map(|msg| msg.rewrite(plan))
                        .collect();
                    let link = (plan.rewrite(&src), plan.rewrite(&dst));
                    (!flow.is_empty()).then_some((link, flow))
                })
                .collect(),
        ),
    }
}

/// A renaming of actors: a permutation of their ids.
pub type Renaming = RewritePlan<Id, DenseNatMap<Id, Id>>;

/// A key for [`server_order`]: a hash of the id-free part of a state. Any hash that is the
/// same in every thread of one run will do; the seeds are fixed.
pub fn hash_key(part: impl Hash) -> u64 {
    ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(part)
}
