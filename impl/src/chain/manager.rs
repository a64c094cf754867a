//! The configuration manager (van Renesse and Schneider, section 3: "a master service"):
//! it owns the chain's membership and epoch, learns of failed nodes, and publishes each new
//! configuration to the members.
//!
//! Its state is a [`Config`] and its transitions are [`ConfigOp`]s applied by a
//! deterministic `apply`: `Config` is a [`StateMachine`] like the key-value map that Raft
//! replicates, so a Raft group can run the manager (see the README).

use super::types::{Config, Epoch, Msg};
use crate::client::ClientMsg;
use crate::invariants::{checked, debug_started};
use crate::raft::StateMachine;
use coord_specs::kv::{KvOp, KvRet};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

/// A change of membership, the manager's only input.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ConfigOp {
    /// The first configuration: these members in chain order, at epoch 0. Ignored once any
    /// configuration exists.
    Start(Vec<Id>),
    /// Remove a failed member. Its predecessor and successor become neighbours: removing
    /// the head makes its successor head, removing the tail makes its predecessor tail.
    Remove(Id),
    /// Add a recovered or new node at the tail (moving it there if it is still a member,
    /// since a restarted node cannot tell which of its updates were committed), if the
    /// configuration is still at the given epoch, the newest the node knew when it asked.
    /// Its predecessor becomes the old tail, which hands it a copy of its history. The
    /// condition makes the op exactly-once: once applied, the epoch has moved on, so a
    /// repeated request changes nothing (the node learns the configuration instead).
    Join(Id, Epoch),
}

impl StateMachine for Config {
    type Op = ConfigOp;
    type Ret = Config;

    /// Every change of membership raises the epoch by one; an op that changes nothing
    /// (a second start, the removal of a non-member) leaves the epoch as it is. Returns the
    /// configuration after the op.
    fn apply(&mut self, op: &ConfigOp) -> Config {
        match op {
            ConfigOp::Start(members) if self.members.is_empty() && self.epoch == 0 => {
                self.members = members.clone();
            }
            ConfigOp::Remove(node) if self.members.contains(node) => {
                self.members.retain(|m| m != node);
                self.epoch += 1;
            }
            ConfigOp::Join(node, epoch) if *epoch == self.epoch => {
                self.members.retain(|m| m != node);
                self.members.push(*node);
                self.epoch += 1;
            }
            ConfigOp::Start(_) | ConfigOp::Remove(_) | ConfigOp::Join(..) => {}
        }
        self.clone()
    }

    fn read(&self, _op: &ConfigOp) -> Option<Config> {
        None
    }
}

/// The failure detector of a real run (van Renesse and Schneider, section 3: the master
/// detects failures): members send a heartbeat every period, and one that has missed
/// `misses` checks in a row is taken for failed. Off in the models, where a node's
/// fail-stop sends the notice itself (as Raft's heartbeats are off there).
#[derive(Clone, Debug)]
pub struct Detector {
    /// How often the manager checks.
    pub every: Range<Duration>,
    pub misses: u32,
}

/// The manager actor: the configuration state machine, fed by failure notices, join
/// requests and, at run time, its failure detector.
#[derive(Clone, Debug)]
pub struct ConfigManager {
    /// The chain at epoch 0, head first.
    pub members: Vec<Id>,
    pub detector: Option<Detector>,
    /// How often to publish the configuration again, or `None` for never (links that
    /// lose nothing): a member that lost a `NewConfig` learns it this way.
    pub republish: Option<Range<Duration>>,
}

/// The manager's state: the configuration, and for the failure detector how many checks
/// in a row each member has been silent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ManagerState {
    pub config: Config,
    pub silent: BTreeMap<Id, u32>,
}

/// The manager's timers: the failure detector's check of who has been silent, and the
/// periodic publication of the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ManagerTimer {
    Check,
    Publish,
}

impl ConfigManager {
    /// Applies `op` and publishes the configuration to every member if it changed (saved
    /// first: a restarted manager must not go back to an older epoch). Returns whether
    /// it changed.
    fn change(&self, state: &mut Cow<ManagerState>, op: ConfigOp, o: &mut Out<Self>) -> bool {
        let mut config = state.config.clone();
        config.apply(&op);
        if config == state.config {
            return false;
        }
        let state = state.to_mut();
        state.config = config.clone();
        state.silent.retain(|m, _| config.members.contains(m));
        o.save(config.clone());
        publish(&config, o);
        true
    }

    /// Node `node` asks to join at the tail, as of `epoch`. A request made at an older
    /// epoch (repeated, late, or from a node that missed a change) changes nothing and is
    /// answered with the configuration, so that the node asks again from there.
    fn on_join(&self, state: &mut Cow<ManagerState>, node: Id, epoch: Epoch, o: &mut Out<Self>) {
        if !self.change(state, ConfigOp::Join(node, epoch), o) {
            o.send(node, Msg::NewConfig(state.config.clone()));
        }
    }
}

/// Sends `config` to each of its members.
fn publish(config: &Config, o: &mut Out<ConfigManager>) {
    o.broadcast(&config.members, &Msg::NewConfig(config.clone()));
}

impl Actor for ConfigManager {
    type Msg = Msg<KvOp, KvRet>;
    type State = ManagerState;
    type Timer = ManagerTimer;
    type Storage = Config;
    type Random = ();

    /// Starts from the stored configuration, or else from the first chain.
    fn on_start(&self, _id: Id, storage: &Option<Config>, o: &mut Out<Self>) -> ManagerState {
        if let Some(detector) = &self.detector {
            o.set_timer(ManagerTimer::Check, detector.every.clone());
        }
        if let Some(republish) = &self.republish {
            o.set_timer(ManagerTimer::Publish, republish.clone());
        }
        let config = storage.clone().unwrap_or_else(|| {
            let mut config = Config::default();
            config.apply(&ConfigOp::Start(self.members.clone()));
            config
        });
        let state = ManagerState {
            config,
            silent: BTreeMap::new(),
        };
        debug_started(self, &state);
        state
    }

    /// A failure notice removes the node, a join request from a node the manager was
    /// configured with adds it at the tail (any other is ignored: the chain holds only
    /// configured nodes), and either
    /// publishes the new configuration to every member (see `on_join` for a stale join
    /// request). A heartbeat ends the sender's silence and is answered with the
    /// configuration (a member's read lease). A client asking the manager learns where its
    /// request goes: writes to the head, reads to the tail.
    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<ManagerState>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| match msg {
            Msg::Halted => {
                self.change(state, ConfigOp::Remove(src), o);
            }
            Msg::Join { epoch } if self.members.contains(&src) => {
                self.on_join(state, src, epoch, o)
            }
            Msg::Alive { beat } => {
                if state.silent.get(&src).is_some_and(|&n| n > 0) {
                    state.to_mut().silent.insert(src, 0);
                }
                let config = state.config.clone();
                o.send(src, Msg::Lease { beat, config });
            }
            Msg::Client(ClientMsg::Request { seq, op }) => {
                let leader = if op.is_read() {
                    state.config.tail()
                } else {
                    state.config.head()
                };
                o.send(src, Msg::Client(ClientMsg::Redirect { seq, leader }));
            }
            _ => {}
        });
    }

    /// A check of the failure detector: every member's silence grows by one (a heartbeat
    /// resets it); a member silent for `misses` checks is removed, one per check, so that
    /// each removal is published before the next. A publication: every member is sent
    /// the configuration again, in case it lost it.
    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<ManagerState>,
        timer: &ManagerTimer,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| {
            if *timer == ManagerTimer::Publish {
                if let Some(republish) = &self.republish {
                    o.set_timer(ManagerTimer::Publish, republish.clone());
                    publish(&state.config, o);
                }
                return;
            }
            let Some(detector) = &self.detector else {
                return;
            };
            o.set_timer(ManagerTimer::Check, detector.every.clone());
            let members = state.config.members.clone();
            let silent = &mut state.to_mut().silent;
            for member in &members {
                *silent.entry(*member).or_default() += 1;
            }
            let failed = members
                .into_iter()
                .find(|m| silent.get(m).is_some_and(|&n| n >= detector.misses));
            if let Some(failed) = failed {
                self.change(state, ConfigOp::Remove(failed), o);
            }
        });
    }
}
