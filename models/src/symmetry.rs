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
use stateright::actor::{Actor, ActorModelState, Id};
use stateright::util::DenseNatMap;
use stateright::{Rewrite, RewritePlan};
use std::hash::Hash;

/// Where an actor goes when sorting: servers by their key, before every client, and
/// clients in their own order (so that they keep their names).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Slot<K> {
    Server(K),
    Client(usize),
}

/// The state with its servers renamed in the order of `key(server state, crashed)`; servers
/// with equal keys keep their relative order. The key should ignore the ids a state holds
/// (they change under renaming), so that renamings of one state sort alike.
pub fn sort_servers<A, S, C, H, K>(
    state: ActorModelState<A, H>,
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
    if slots.is_sorted() {
        return state;
    }
    rename(&state, &RewritePlan::from_values_to_sort(&slots))
}

/// The state with actor `i` renamed to `plan.rewrite(i)` throughout. The history is kept
/// as it is, so the plan must leave every client its name. Actors must list the
/// alternatives of a random choice in ascending order, as renaming sorts them.
pub fn rename<A, H>(state: &ActorModelState<A, H>, plan: &Renaming) -> ActorModelState<A, H>
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
        network: state.network.rewrite(plan),
        timers_set: plan.reindex(&state.timers_set),
        random_choices,
        crashed: plan.reindex(&state.crashed),
        actor_storages: plan.reindex(&state.actor_storages),
        history: state.history.clone(),
    }
}

/// A renaming of actors: a permutation of their ids.
pub type Renaming = RewritePlan<Id, DenseNatMap<Id, Id>>;

/// A key for [`sort_servers`]: a hash of the id-free part of a state.
pub fn hash_key(part: impl Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(part)
}
