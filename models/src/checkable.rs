//! What the runner and the random walks need of a model beyond stateright's [`Model`]: its
//! representative under symmetry, readable steps, and each step's kind and actor (which
//! a walk weighs, see [`crate::swarm`]).
//! Implemented for actor models, with crash periods or with restarts.

use crate::cfg::ModelCfg;
use crate::restart::Restarting;
use crate::swarm::{StepClass, StepKind};
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

    /// How many actors the model has: the actors of [`Checkable::step_class`] are below.
    fn actor_count(&self) -> usize;

    /// The kind of step `action` is and the actor that takes it, by which a random walk
    /// weighs it (see [`crate::swarm`]).
    fn step_class(&self, action: &Self::Action) -> StepClass;
}

/// The class of an actor model's step: a delivery or a loss belongs to its link.
fn actor_step_class<M, T, R>(action: &ActorModelAction<M, T, R>) -> StepClass {
    let (kind, actor, from) = match action {
        ActorModelAction::Deliver { src, dst, .. } => (StepKind::Deliver, *dst, Some(*src)),
        ActorModelAction::Drop(env) => (StepKind::Lose, env.dst, Some(env.src)),
        ActorModelAction::SelectRandom { actor, .. } => (StepKind::Choose, *actor, None),
        ActorModelAction::Timeout(id, _) => (StepKind::Timer, *id, None),
        ActorModelAction::Crash(id) | ActorModelAction::Recover(id) => (StepKind::Crash, *id, None),
    };
    StepClass {
        kind,
        actor: usize::from(actor),
        from: from.map(usize::from),
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

    fn actor_count(&self) -> usize {
        self.actors.len()
    }

    fn step_class(&self, action: &Self::Action) -> StepClass {
        actor_step_class(action)
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

    fn actor_count(&self) -> usize {
        self.actors.actor_count()
    }

    fn step_class(&self, action: &Self::Action) -> StepClass {
        actor_step_class(action)
    }
}
