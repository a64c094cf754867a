//! The configuration manager (van Renesse and Schneider, section 3: "a master service"):
//! it owns the chain's membership and epoch, learns of failed nodes, and publishes each new
//! configuration to the members.
//!
//! Its state is a [`Config`] and its transitions are [`ConfigOp`]s applied by a
//! deterministic `apply`: `Config` is a [`StateMachine`] like the key-value map that Raft
//! replicates, so a Raft group can run the manager (see the README).

use super::types::{Config, Msg};
use crate::client::ClientMsg;
use crate::raft::StateMachine;
use coord_specs::kv::{KvOp, KvRet};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;

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
    /// since a restarted node cannot tell which of its updates were committed). Its
    /// predecessor becomes the old tail, which hands it a copy of its history.
    Join(Id),
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
            ConfigOp::Join(node) => {
                self.members.retain(|m| m != node);
                self.members.push(*node);
                self.epoch += 1;
            }
            ConfigOp::Start(_) | ConfigOp::Remove(_) => {}
        }
        self.clone()
    }

    fn read(&self, _op: &ConfigOp) -> Option<Config> {
        None
    }
}

/// The manager actor: the configuration state machine, fed by failure notices.
#[derive(Clone, Debug)]
pub struct ConfigManager {
    /// The chain at epoch 0, head first.
    pub members: Vec<Id>,
}

impl Actor for ConfigManager {
    type Msg = Msg<KvOp, KvRet>;
    type State = Config;
    type Timer = ();
    type Storage = ();
    type Random = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, _o: &mut Out<Self>) -> Config {
        let mut config = Config::default();
        config.apply(&ConfigOp::Start(self.members.clone()));
        config
    }

    /// A failure notice removes the node, a join request adds it at the tail, and either
    /// publishes the new configuration to every member. A client asking the manager learns where its request goes: writes
    /// to the head, reads to the tail.
    fn on_msg(&self, _id: Id, state: &mut Cow<Config>, src: Id, msg: Self::Msg, o: &mut Out<Self>) {
        match msg {
            Msg::Halted if state.members.contains(&src) => {
                let config = state.to_mut().apply(&ConfigOp::Remove(src));
                o.broadcast(&config.members, &Msg::NewConfig(config.clone()));
            }
            Msg::Join => {
                let config = state.to_mut().apply(&ConfigOp::Join(src));
                o.broadcast(&config.members, &Msg::NewConfig(config.clone()));
            }
            Msg::Client(ClientMsg::Request { seq, op }) => {
                let leader = if op.is_read() {
                    state.tail()
                } else {
                    state.head()
                };
                o.send(src, Msg::Client(ClientMsg::Redirect { seq, leader }));
            }
            _ => {}
        }
    }
}
