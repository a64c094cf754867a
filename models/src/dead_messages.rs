//! Dropping messages their receiver will never act on.
//!
//! On an unordered network stateright leaves a message whose delivery is a no-op in
//! flight, so two runs that differ only in whether such a message arrived before it became
//! useless end in different states. If the receiver will ignore the message in every later
//! state too, the state without it has exactly the same futures, and the checker may visit
//! that one instead. On an ordered network such a message is consumed when it reaches the
//! front of its flow, but the states with and without it differ until then, so it is
//! dropped there too; the rest of its flow keeps its order.

use stateright::actor::{Actor, ActorModelState, Id, Network};

/// Removes from `state`'s network every message that `dead(receiver's state, src, msg)`
/// declares ignored forever.
pub fn drop_dead_messages<A: Actor, H>(
    state: &mut ActorModelState<A, H>,
    dead: impl Fn(&A::State, Id, &A::Msg) -> bool,
) {
    let actors = &state.actor_states;
    let alive = |src: Id, dst: Id, msg: &A::Msg| {
        let receiver = actors.get(usize::from(dst));
        !receiver.is_some_and(|s| dead(s, src, msg))
    };
    match &mut state.network {
        Network::UnorderedNonDuplicating(multiset) => {
            multiset.retain(|env, _| alive(env.src, env.dst, &env.msg))
        }
        Network::UnorderedDuplicating(set, _) => {
            set.retain(|env| alive(env.src, env.dst, &env.msg))
        }
        Network::Ordered(flows) => {
            for ((src, dst), flow) in flows.iter_mut() {
                flow.retain(|msg| alive(*src, *dst, msg));
            }
            flows.retain(|_, flow| !flow.is_empty());
        }
    }
}
