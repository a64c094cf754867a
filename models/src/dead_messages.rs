//! Dropping messages their receiver will never act on.
//!
//! On an unordered network stateright leaves a message whose delivery is a no-op in
//! flight, so two runs that differ only in whether such a message arrived before it became
//! useless end in different states. If the receiver will ignore the message in every later
//! state too, the state without it has exactly the same futures, and the checker may visit
//! that one instead.

use stateright::actor::{Actor, ActorModelState, Envelope, Id, Network};

/// Removes from `state`'s network every message that `dead(receiver's state, src, msg)`
/// declares ignored forever. On an ordered network a no-op delivery consumes the message
/// anyway, so that network is left as it is.
pub fn drop_dead_messages<A: Actor, H>(
    state: &mut ActorModelState<A, H>,
    dead: impl Fn(&A::State, Id, &A::Msg) -> bool,
) {
    let actors = &state.actor_states;
    let alive = |env: &Envelope<A::Msg>| {
        let receiver = actors.get(usize::from(env.dst));
        !receiver.is_some_and(|s| dead(s, env.src, &env.msg))
    };
    match &mut state.network {
        Network::UnorderedNonDuplicating(multiset) => multiset.retain(|env, _| alive(env)),
        Network::UnorderedDuplicating(set, _) => set.retain(alive),
        Network::Ordered(_) => {}
    }
}
