//! What the runner and the random walks need of a model beyond stateright's [`Model`]: its
//! representative under symmetry, readable steps, and how likely a walk takes each step.
//! Implemented for actor models, with crash periods or with restarts.

use crate::cfg::ModelCfg;
use crate::restart::Restarting;
use stateright::actor::{Actor, ActorModel, ActorModelAction};
use stateright::Model;
use std::fmt::Debug;
use std::hash::Hash;

/// Maps a state of `M` to the representative of its class: see
/// [`ModelCfg::representative`].
pub type Canonical<M> = fn(&<M as Model>::State) -> <M as Model>::State;

/// A model the runner can search and report on.
pub trait Checkable: Model + Sized {
    /// See [`ModelCfg::representative`].
    fn representative(&self) -> Option<Canonical<Self>>;

    /// One step of a counterexample, naming actors as the model does.
    fn step_name(&self, action: Self::Action) -> String;

    /// How likely a random walk is to take `action` against the other steps it may take
    /// (see [`crate::simulate`]).
    fn weight(&self, _action: &Self::Action) -> u32 {
        1
    }
}

/// A random walk's weight of an actor model's step: a message is delivered (or a random
/// choice made) four times as often as a timer fires, an actor crashes or a message is
/// lost. In a real run messages travel much faster than timers fire and faults are rare;
/// walks that fire timers as often as they deliver spend their steps in elections that
/// never finish.
fn actor_step_weight<M, T, R>(action: &ActorModelAction<M, T, R>) -> u32 {
    match action {
        ActorModelAction::Deliver { .. } | ActorModelAction::SelectRandom { .. } => 4,
        ActorModelAction::Timeout(..)
        | ActorModelAction::Crash(_)
        | ActorModelAction::Recover(_)
        | ActorModelAction::Drop(_) => 1,
    }
}

impl<A, C, H> Checkable for ActorModel<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
    C: ModelCfg<A, H>,
{
    fn representative(&self) -> Option<Canonical<Self>> {
        self.cfg.representative()
    }

    fn step_name(&self, action: Self::Action) -> String {
        let name = |id| self.cfg.actor_name(id);
        match action {
            ActorModelAction::Deliver { src, dst, msg } => {
                format!("{} → {}: {:?}", name(src), name(dst), msg)
            }
            ActorModelAction::Drop(env) => {
                format!("lost {} → {}: {:?}", name(env.src), name(env.dst), env.msg)
            }
            ActorModelAction::Timeout(id, timer) => format!("{} timeout {:?}", name(id), timer),
            ActorModelAction::Crash(id) => format!("{} crashes", name(id)),
            ActorModelAction::Recover(id) => format!("{} recovers from storage", name(id)),
            ActorModelAction::SelectRandom { actor, key, random } => {
                format!("{} {}", name(actor), self.cfg.choice_name(&key, &random))
            }
        }
    }

    fn weight(&self, action: &Self::Action) -> u32 {
        actor_step_weight(action)
    }
}

impl<A, C, H> Checkable for Restarting<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
    C: ModelCfg<A, H>,
{
    fn representative(&self) -> Option<Canonical<Self>> {
        self.actors.cfg.representative()
    }

    fn step_name(&self, action: Self::Action) -> String {
        match action {
            ActorModelAction::Crash(id) => format!(
                "{} crashes and restarts from storage",
                self.actors.cfg.actor_name(id)
            ),
            action => self.actors.step_name(action),
        }
    }

    fn weight(&self, action: &Self::Action) -> u32 {
        actor_step_weight(action)
    }
}
