//! What every model shares, whatever its system: the size overrides a check takes from
//! the command line ([`Bounds`]), and what a model's configuration tells the runner
//! ([`ModelCfg`]). A leaf module: it knows no system's model.

use stateright::actor::{Actor, ActorModelAction, ActorModelState, Id};

/// Size overrides from the command line; `None` keeps the check's own value.
#[derive(Clone, Debug, Default)]
pub struct Bounds {
    pub servers: Option<usize>,
    pub clients: Option<usize>,
    pub ops: Option<usize>,
    pub max_term: Option<u64>,
    pub max_log: Option<usize>,
    pub max_crashes: Option<usize>,
    pub max_resends: Option<u8>,
    pub campaigners: Option<usize>,
}

impl Bounds {
    /// No override at all: every check's own size.
    pub const NONE: Bounds = Bounds {
        servers: None,
        clients: None,
        ops: None,
        max_term: None,
        max_log: None,
        max_crashes: None,
        max_resends: None,
        campaigners: None,
    };

    /// These bounds, with `base`'s where these have none.
    pub fn or(&self, base: &Bounds) -> Bounds {
        Bounds {
            servers: self.servers.or(base.servers),
            clients: self.clients.or(base.clients),
            ops: self.ops.or(base.ops),
            max_term: self.max_term.or(base.max_term),
            max_log: self.max_log.or(base.max_log),
            max_crashes: self.max_crashes.or(base.max_crashes),
            max_resends: self.max_resends.or(base.max_resends),
            campaigners: self.campaigners.or(base.campaigners),
        }
    }
}

/// What a model's configuration tells the runner beyond stateright's model.
pub trait ModelCfg<A: Actor, H> {
    /// How counterexamples name actor `id`.
    fn actor_name(&self, id: Id) -> String;

    /// How counterexamples show an actor's random choice `key` falling on `random`.
    fn choice_name(&self, key: &str, random: &A::Random) -> String {
        format!("{key} {random:?}")
    }

    /// A function mapping each state to the representative of its class of equivalent
    /// states (states no property and no future step can tell apart), for DFS to visit one
    /// state per class. DFS only hashes it, and goes on from the state itself, so it need
    /// not be a state the model reaches, only the same for every state of a class and
    /// different between classes (see [`crate::symmetry::as_key`]). `None` to visit
    /// every state.
    fn representative(&self) -> Option<Representative<A, H>> {
        None
    }

    /// Whether actor `id` may crash (and restart from its storage).
    fn may_crash(&self, _id: Id) -> bool {
        true
    }

    /// Whether `action` may happen in `state`: a timing assumption that an untimed model
    /// would otherwise break (a timer that real time would not let fire yet). Applies to
    /// models run through [`crate::restart::Restarting`].
    fn allows(&self, _state: &ActorModelState<A, H>, _action: &Action<A>) -> bool {
        true
    }

    /// Removes from `state` what no property and no later step can tell from its absence
    /// (a message its receiver will never act on, say). Unlike a [`Self::representative`],
    /// this changes the states the model reaches: a message dropped from the middle of a
    /// FIFO channel no longer holds back the messages behind it, where dropping it only
    /// to compare states would leave them stuck behind it. Applies after every step of
    /// models run through [`crate::restart::Restarting`].
    fn tidy(&self, _state: &mut ActorModelState<A, H>) {}

    /// The history to keep when actor `id`, whose state was `before`, restarts from
    /// storage, for properties that need to know about the crash; `None` keeps `history`
    /// as it is.
    fn on_restart(&self, _id: Id, _before: &A::State, _history: &H) -> Option<H> {
        None
    }
}

/// See [`ModelCfg::representative`].
pub type Representative<A, H> = fn(&ActorModelState<A, H>) -> ActorModelState<A, H>;

/// A step of an actor model of `A`.
pub type Action<A> = ActorModelAction<<A as Actor>::Msg, <A as Actor>::Timer, <A as Actor>::Random>;
