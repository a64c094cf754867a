//! What every client-server model here shares: a lossless network, crashes, histories of
//! what clients saw, and the properties a check judges.

use crate::history::ClientRecord;
use stateright::actor::{Actor, ActorModel, ActorModelState, LossyNetwork, Network};
use stateright::Expectation;

/// A property of a model: its expectation, its name, and its condition.
pub type Property<A, C, H> = (
    Expectation,
    &'static str,
    fn(&ActorModel<A, C, H>, &ActorModelState<A, H>) -> bool,
);

/// A model of `actors` on `network`, which loses no message, with at most `max_crashes`
/// actors down at once, recording what clients saw in `history`, and judging the
/// `properties` named in `judged`.
pub fn client_model<A, C, H>(
    cfg: C,
    history: H,
    actors: impl IntoIterator<Item = A>,
    network: Network<A::Msg>,
    max_crashes: usize,
    properties: impl IntoIterator<Item = Property<A, C, H>>,
    judged: &[&str],
) -> ActorModel<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: ClientRecord<A::Msg>,
{
    let mut model = ActorModel::new(cfg, history)
        .actors(actors)
        .init_network(network)
        .lossy_network(LossyNetwork::No)
        .max_crashes(max_crashes)
        .record_msg_out(H::on_send::<C>)
        .record_msg_in(H::on_receive::<C>);
    for (expectation, name, condition) in properties {
        if judged.contains(&name) {
            model = model.property(expectation, name, condition);
        }
    }
    model
}
