//! The configuration manager (van Renesse and Schneider, section 3: "a master service"):
//! it owns the chain's membership and epoch, learns of failed nodes, and publishes each new
//! configuration to the members.
//!
//! Its state is a [`Config`] and its transitions are [`ConfigOp`]s applied by a
//! deterministic `apply`: `Config` is a [`StateMachine`] like the key-value map that Raft
//! replicates. At run time a Raft group of [`super::replica::ManagerReplica`]s runs it, so
//! that the manager survives the loss of a replica; [`ConfigManager`] is the paper's
//! master as one process that never fails, the manager of the chain checks that study the
//! nodes. Both turn the nodes' requests into ops, and answer them, by the rules here.

use super::types::{Config, Epoch, Msg};
use crate::client::ClientMsg;
use crate::invariants::{checked, debug_started};
use crate::raft::StateMachine;
use coord_specs::kv::{KvOp, KvRet};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

type M = Msg<KvOp, KvRet>;

/// A change of membership, or a question about it: the manager's only input.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ConfigOp {
    /// The first configuration: these members in chain order, at epoch 0. Ignored once any
    /// configuration exists (a Raft group's new leader proposes it as its first entry).
    Start(Vec<Id>),
    /// Remove a failed member. Its predecessor and successor become neighbours: removing
    /// the head makes its successor head, removing the tail makes its predecessor tail.
    Remove(Id),
    /// Add a recovered or new node at the tail (moving it there if it is still a member,
    /// since a node that asks to join has no whole history), if the configuration is
    /// still at the given epoch, the newest the node knew when it asked. Its predecessor
    /// becomes the old tail, which hands it a copy of its history. The condition makes
    /// the op exactly-once: once applied, the epoch has moved on, so a repeated request
    /// changes nothing (the node learns the configuration instead).
    Join(Id, Epoch),
    /// A node restarted on a whole history stored in the given epoch asks to keep its
    /// place (see [`Msg::Resume`]). Changes nothing: it is ordered with the changes, so
    /// that the answer is the configuration at its place in that order.
    Resume(Id, Epoch),
    /// Reads the configuration: a heartbeat's lease, which a Raft group answers by
    /// ReadIndex (from a leader that a majority still follows), never through the log.
    Read,
}

impl StateMachine for Config {
    type Op = ConfigOp;
    type Ret = Config;

    /// Every change of membership raises the epoch by one; an op that changes nothing
    /// (a second start, the removal of a non-member, a stale join, a resume) leaves the
    /// epoch as it is. Returns the configuration after the op.
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
            ConfigOp::Start(_)
            | ConfigOp::Remove(_)
            | ConfigOp::Join(..)
            | ConfigOp::Resume(..)
            | ConfigOp::Read => {}
        }
        self.clone()
    }

    fn read(&self, op: &ConfigOp) -> Option<Config> {
        (*op == ConfigOp::Read).then(|| self.clone())
    }
}

/// The op a node's message to the manager asks for: a failure notice removes the
/// sender; a join or resume request counts only from a node the manager was configured
/// with (the chain holds only configured nodes).
pub(super) fn op_for(members: &[Id], src: Id, msg: &M) -> Option<ConfigOp> {
    match msg {
        Msg::Halted => Some(ConfigOp::Remove(src)),
        Msg::Join { epoch } if members.contains(&src) => Some(ConfigOp::Join(src, *epoch)),
        Msg::Resume { epoch } if members.contains(&src) => Some(ConfigOp::Resume(src, *epoch)),
        _ => None,
    }
}

/// What the manager sends once `ops` took the configuration from `before` to `after`:
/// the new configuration to each of its members if it changed; to a node whose join
/// changed nothing (a stale, repeated or late request) the configuration, so that it asks
/// again from there; to a node asking to resume, a yes if `after` still names it, and the
/// configuration (which does not) otherwise.
pub(super) fn settle<A: Actor<Msg = M>>(
    before: &Config,
    after: &Config,
    ops: &[ConfigOp],
    o: &mut Out<A>,
) {
    let changed = after != before;
    if changed {
        publish(after, o);
    }
    for op in ops {
        match op {
            ConfigOp::Join(node, _) if !changed || !after.members.contains(node) => {
                o.send(*node, Msg::NewConfig(after.clone()));
            }
            ConfigOp::Resume(node, _) if after.members.contains(node) => {
                o.send(*node, Msg::Resumed(after.clone()));
            }
            ConfigOp::Resume(node, _) => o.send(*node, Msg::NewConfig(after.clone())),
            _ => {}
        }
    }
}

/// Sends `config` to each of its members.
pub(super) fn publish<A: Actor<Msg = M>>(config: &Config, o: &mut Out<A>) {
    o.broadcast(&config.members, &Msg::NewConfig(config.clone()));
}

/// A client asking the manager learns where its request goes under `config`: writes to
/// the head, reads to the tail.
pub(super) fn route<A: Actor<Msg = M>>(
    config: &Config,
    client: Id,
    seq: u64,
    op: &KvOp,
    o: &mut Out<A>,
) {
    let leader = if op.is_read() {
        config.tail()
    } else {
        config.head()
    };
    o.send(client, Msg::Client(ClientMsg::Redirect { seq, leader }));
}

/// The configuration `Start(members)` makes: the chain at epoch 0.
pub fn first(members: &[Id]) -> Config {
    let mut config = Config::default();
    config.apply(&ConfigOp::Start(members.to_vec()));
    config
}

/// The manager as one process that never fails (the paper's assumption of a
/// fault-tolerant master): the configuration state machine, fed by failure notices and
/// join and resume requests, each applied at once.
#[derive(Clone, Debug)]
pub struct ConfigManager {
    /// The chain at epoch 0, head first.
    pub members: Vec<Id>,
    /// How often to publish the configuration again, or `None` for never (links that
    /// lose nothing): a member that lost a `NewConfig` learns it this way.
    pub republish: Option<Range<Duration>>,
}

/// The manager's state: the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ManagerState {
    pub config: Config,
}

/// The manager's timer: the periodic publication of the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ManagerTimer {
    Publish,
}

impl Actor for ConfigManager {
    type Msg = M;
    type State = ManagerState;
    type Timer = ManagerTimer;
    type Storage = Config;
    type Random = ();

    /// Starts from the stored configuration, or else from the first chain.
    fn on_start(&self, _id: Id, storage: &Option<Config>, o: &mut Out<Self>) -> ManagerState {
        if let Some(republish) = &self.republish {
            o.set_timer(ManagerTimer::Publish, republish.clone());
        }
        let config = storage.clone().unwrap_or_else(|| first(&self.members));
        let state = ManagerState { config };
        debug_started(self, &state);
        state
    }

    /// A node's request is applied (saved first if it changes the configuration: a
    /// restarted manager must not go back to an older epoch) and answered (see
    /// [`settle`]); a client is told where to go.
    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<ManagerState>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| {
            if let Msg::Client(ClientMsg::Request { seq, op }) = &msg {
                return route(&state.config, src, *seq, op, o);
            }
            let Some(op) = op_for(&self.members, src, &msg) else {
                return;
            };
            let mut config = state.config.clone();
            config.apply(&op);
            if config != state.config {
                o.save(config.clone());
            }
            settle(&state.config, &config, &[op], o);
            if config != state.config {
                state.to_mut().config = config;
            }
        });
    }

    /// Every member is sent the configuration again, in case it lost it.
    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<ManagerState>,
        _timer: &ManagerTimer,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| {
            if let Some(republish) = &self.republish {
                o.set_timer(ManagerTimer::Publish, republish.clone());
                publish(&state.config, o);
            }
        });
    }
}
