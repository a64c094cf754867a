//! Crashes as immediate restarts from storage.
//!
//! stateright's actor model lets a crashed actor stay down for any number of steps before
//! it recovers. While it is down it does nothing: nothing is delivered to it (messages to
//! it stay in the network), it has no timers, and its storage does not change. So every
//! run with a crash period is matched, step for step, by a run in which the actor restarts
//! from storage at once and then stays idle until the moment it would have recovered: both
//! runs reach the same state at that moment. The states inside a crash period differ from
//! their restarted twins only by one live server fewer, and the Always properties of our
//! models quantify over live servers, so they cannot fail there without failing in the
//! twin. Collapsing crash and recovery into one step therefore keeps every safety
//! violation and removes every state with a server down. `models/tests/reductions.rs`
//! checks the claim on small models.
//!
//! The one thing lost is a crashed actor's last state, which a Sometimes property may want
//! to read ("a new leader after the old one crashed"). [`ModelCfg::on_restart`] lets a model
//! note what it needs in its history at the moment of the crash.

use crate::cfg::ModelCfg;
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Id};
use stateright::{Model, Path, Property};
use std::fmt::Debug;
use std::hash::Hash;

/// An actor model whose `Crash(id)` crashes the actor and restarts it from its storage in
/// one step; actors the configuration does not let crash ([`ModelCfg::may_crash`]) never do,
/// no step happens that the configuration does not allow ([`ModelCfg::allows`]), and every
/// state is tidied ([`ModelCfg::tidy`]).
pub struct Restarting<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
{
    pub actors: ActorModel<A, C, H>,
    /// The conditions of `actors`' properties, in order, called by [`lifted`].
    conditions: Vec<Condition<A, C, H>>,
}

type Condition<A, C, H> = fn(&ActorModel<A, C, H>, &ActorModelState<A, H>) -> bool;
type Lifted<A, C, H> = fn(&Restarting<A, C, H>, &ActorModelState<A, H>) -> bool;

/// Property `I` of the wrapped model, as a property of the wrapper.
fn lifted<const I: usize, A, C, H>(m: &Restarting<A, C, H>, s: &ActorModelState<A, H>) -> bool
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
{
    (m.conditions[I])(&m.actors, s)
}

/// The conditions of [`lifted`] for the first [`MAX_PROPERTIES`] properties.
macro_rules! lifted_table {
    ($($i:literal)*) => {
        /// How many properties a wrapped model may have.
        const MAX_PROPERTIES: usize = [$($i),*].len();

        fn lifted_table<A, C, H>() -> [Lifted<A, C, H>; MAX_PROPERTIES]
        where
            A: Actor,
            A::Msg: Ord,
            A::Timer: Ord,
            H: Clone + Debug + Hash,
        {
            [$(lifted::<$i, A, C, H>),*]
        }
    };
}
lifted_table!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);

impl<A, C, H> Restarting<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
    C: ModelCfg<A, H>,
{
    /// Wraps `actors`, which may have at most [`MAX_PROPERTIES`] properties. Its
    /// `max_crashes` must be at least 1 for crashes to happen at all.
    pub fn new(actors: ActorModel<A, C, H>) -> Self {
        let conditions: Vec<_> = actors.properties().iter().map(|p| p.condition).collect();
        assert!(
            conditions.len() <= MAX_PROPERTIES,
            "a restarting model has at most {MAX_PROPERTIES} properties"
        );
        Restarting { actors, conditions }
    }

    /// The state after `id` crashed in `state` and restarted from storage, if that step is
    /// possible.
    fn restart(&self, state: &ActorModelState<A, H>, id: Id) -> Option<ActorModelState<A, H>> {
        let crashed = self.actors.next_state(state, ActorModelAction::Crash(id))?;
        let mut restarted = self
            .actors
            .next_state(&crashed, ActorModelAction::Recover(id))?;
        let before = &state.actor_states[usize::from(id)];
        if let Some(history) = self.actors.cfg.on_restart(id, before, &restarted.history) {
            restarted.history = history;
        }
        Some(restarted)
    }
}

impl<A, C, H> Model for Restarting<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
    C: ModelCfg<A, H>,
{
    type State = ActorModelState<A, H>;
    type Action = ActorModelAction<A::Msg, A::Timer, A::Random>;

    fn init_states(&self) -> Vec<Self::State> {
        let mut states = self.actors.init_states();
        states.iter_mut().for_each(|s| self.actors.cfg.tidy(s));
        states
    }

    /// The wrapped model's actions that the configuration allows, with crashes only of
    /// actors that may crash. No actor is ever down, so there is nothing to recover.
    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>) {
        self.actors.actions(state, actions);
        let cfg = &self.actors.cfg;
        actions.retain(|a| {
            let crash_ok = match a {
                ActorModelAction::Crash(id) => cfg.may_crash(*id),
                _ => true,
            };
            crash_ok && cfg.allows(state, a)
        });
    }

    fn next_state(&self, state: &Self::State, action: Self::Action) -> Option<Self::State> {
        let mut next = match action {
            ActorModelAction::Crash(id) => self.restart(state, id),
            action => self.actors.next_state(state, action),
        }?;
        self.actors.cfg.tidy(&mut next);
        Some(next)
    }

    fn format_action(&self, action: &Self::Action) -> String {
        match action {
            ActorModelAction::Crash(id) => format!("Restart({id:?})"),
            action => self.actors.format_action(action),
        }
    }

    /// A restart shows as the recovery it ends with: the state rebuilt from storage.
    fn format_step(&self, state: &Self::State, action: Self::Action) -> Option<String> {
        match action {
            ActorModelAction::Crash(id) => {
                let crashed = self.actors.next_state(state, ActorModelAction::Crash(id))?;
                self.actors
                    .format_step(&crashed, ActorModelAction::Recover(id))
            }
            action => self.actors.format_step(state, action),
        }
    }

    fn as_svg(&self, path: Path<Self::State, Self::Action>) -> Option<String> {
        self.actors.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let table = lifted_table();
        self.actors
            .properties()
            .into_iter()
            .zip(table)
            .map(|(p, condition)| Property {
                expectation: p.expectation,
                name: p.name,
                condition,
            })
            .collect()
    }

    fn within_boundary(&self, state: &Self::State) -> bool {
        Model::within_boundary(&self.actors, state)
    }
}
