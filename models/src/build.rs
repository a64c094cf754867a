//! What every client-server model here shares: a lossless network, crashes, histories of
//! what clients saw, and the properties a check judges.

use crate::history::History;
use coord::client::Wire;
use stateright::actor::{Actor, ActorModel, ActorModelState, LossyNetwork, Network};
use stateright::semantics::SequentialSpec;
use stateright::Expectation;
use std::fmt::Debug;
use std::hash::Hash;

/// A property of a model: its expectation, its name, and its condition.
pub type Property<A, C, H> = (
    Expectation,
    &'static str,
    fn(&ActorModel<A, C, H>, &ActorModelState<A, H>) -> bool,
);

/// A model of `actors` on `network`, which loses no message, with at most `max_crashes`
/// actors down at once, recording every client's invocations and returns in `history`,
/// and judging the `properties` named in `judged`.
pub fn client_model<A, C, Spec>(
    cfg: C,
    history: History<Spec>,
    actors: impl IntoIterator<Item = A>,
    network: Network<A::Msg>,
    max_crashes: usize,
    properties: impl IntoIterator<Item = Property<A, C, History<Spec>>>,
    judged: &[&str],
) -> ActorModel<A, C, History<Spec>>
where
    A: Actor,
    A::Msg: Ord + Wire<Spec::Op, Spec::Ret>,
    A::Timer: Ord,
    Spec: SequentialSpec + Clone + Debug + Hash + Eq,
    Spec::Op: Clone + Debug + Eq + Hash,
    Spec::Ret: Clone + Debug + Eq + Hash,
{
    let mut model = ActorModel::new(cfg, history)
        .actors(actors)
        .init_network(network)
        .lossy_network(LossyNetwork::No)
        .max_crashes(max_crashes)
        .record_msg_out(History::on_send)
        .record_msg_in(History::on_receive);
    for (expectation, name, condition) in properties {
        if judged.contains(&name) {
            model = model.property(expectation, name, condition);
        }
    }
    model
}
