//! Chain replication's vocabulary: the configuration (members and epoch), the updates a
//! chain carries, what a node keeps on stable storage, and the wire messages.

use super::manager::ConfigOp;
use crate::client::{ClientMsg, Wire};
use crate::raft;
use serde::{Deserialize, Serialize};
use stateright::actor::Id;

/// A configuration number. The manager raises it with every change of membership.
pub type Epoch = u64;

/// A chain configuration: the members in chain order (head first, tail last) and the epoch
/// that names this membership. Two nodes with the same epoch agree on the members, so on
/// the head and the tail: the rule that rules out split brain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Config {
    pub epoch: Epoch,
    pub members: Vec<Id>,
}

impl Config {
    pub fn head(&self) -> Option<Id> {
        self.members.first().copied()
    }

    pub fn tail(&self) -> Option<Id> {
        self.members.last().copied()
    }

    fn position(&self, node: Id) -> Option<usize> {
        self.members.iter().position(|&m| m == node)
    }

    /// The member before `node` (towards the head), if any.
    pub fn predecessor(&self, node: Id) -> Option<Id> {
        let i = self.position(node)?;
        i.checked_sub(1).map(|p| self.members[p])
    }

    /// The member after `node` (towards the tail), if any.
    pub fn successor(&self, node: Id) -> Option<Id> {
        let i = self.position(node)?;
        self.members.get(i + 1).copied()
    }
}

/// One client write as it travels down the chain, tagged with the client's (id, sequence)
/// so that a retried request enters the chain once, and with the epoch in which the head
/// accepted it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Update<Op> {
    pub epoch: Epoch,
    pub client: Id,
    pub seq: u64,
    pub op: Op,
}

/// What a node must find again after a restart: its history of updates and its
/// configuration (with the epoch), saved before any message that depends on them.
/// `cuts` counts the times the history lost a suffix (a joining node's stale updates
/// replaced by its copy): between two saves with the same count, the newer history
/// extends the older, so a save can be written as the appended updates alone.
/// `serving` says the history was whole when saved (the node was a member, not joining):
/// saved false before a node asks to join, so a node restarted with `serving` set has not
/// left the chain and come back since (see [`Msg::Resume`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainStorage<Op: Clone> {
    pub config: Config,
    pub history: im::Vector<Update<Op>>,
    pub cuts: u64,
    pub serving: bool,
}

/// Every message of a chain: configuration from the manager, the update-propagation and
/// acknowledgement messages between neighbours, CRAQ's version query, the fail-stop notice,
/// and client traffic. Messages between nodes carry the sender's configuration: a receiver
/// ignores an older epoch and adopts a newer one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Msg<Op, Ret> {
    /// The manager's newest configuration.
    NewConfig(Config),
    /// Update `index` of the sender's history, for the successor to append if its own
    /// history is exactly `index` long. The position makes a lost, repeated or late
    /// update harmless: the receiver can tell a gap from a duplicate.
    Forward {
        config: Config,
        index: usize,
        update: Update<Op>,
    },
    /// The first `upto` updates of the history are at the tail (committed).
    Ack { config: Config, upto: usize },
    /// A node tells its predecessor how many updates it holds, so that the predecessor
    /// resends exactly the rest: on a new predecessor, on a gap, and on its resend timer.
    Holding { config: Config, len: usize },
    /// CRAQ: which updates has the tail committed? Asked for client `client`'s read `seq`.
    Query {
        config: Config,
        client: Id,
        seq: u64,
        op: Op,
    },
    /// CRAQ: the tail's answer: it has committed its first `upto` updates.
    Committed {
        config: Config,
        client: Id,
        seq: u64,
        op: Op,
        upto: usize,
    },
    /// A node has halted (fail-stop): what the manager's failure detector reports.
    Halted,
    /// A node's heartbeat `beat` to the manager's failure detector (at run time only).
    Alive { beat: u64 },
    /// The manager's answer to heartbeat `beat`: its configuration. If that names the
    /// sender a member, it is a read lease (see [`super::lease`]); if not, the sender was
    /// removed while it was alive, and joins again.
    Lease { beat: u64, config: Config },
    /// A node restarted on a whole history stored in `epoch` asks the manager whether it
    /// keeps its place: yes if the configuration still names it (it has not been removed
    /// since, and it could only have come back by a join of its own, which would have
    /// saved its history as not whole). So a chain whose every node restarted at once
    /// serves again in its own epoch.
    Resume { epoch: Epoch },
    /// The manager's yes to `Resume`: the configuration, which names the node.
    Resumed(Config),
    /// Traffic between the manager's replicas: the Raft group that replicates the
    /// configuration.
    Manager(raft::Msg<ConfigOp, Config>),
    /// A recovered or new node asks the manager to add it at the tail (van Renesse and
    /// Schneider, section 3, "extending a chain"), if the manager is still at `epoch`,
    /// the newest the node knows: a repeated or late request is then never applied twice.
    Join { epoch: Epoch },
    /// A joining tail asks its predecessor for a copy of its history from update `from`
    /// on (the first `from` updates it has already copied).
    Fetch { config: Config, from: usize },
    /// One chunk of the predecessor's history, `updates` starting at index `from`, for a
    /// joining tail: the copy is complete when it holds `total` updates, of which the
    /// first `committed` are known to be committed.
    Copy {
        config: Config,
        from: usize,
        updates: Vec<Update<Op>>,
        total: usize,
        committed: usize,
    },
    /// A client's request or an answer to a client.
    Client(ClientMsg<Op, Ret>),
}

impl<Op, Ret> Msg<Op, Ret> {
    /// The configuration a message between nodes is stamped with.
    pub fn config(&self) -> Option<&Config> {
        match self {
            Msg::NewConfig(config)
            | Msg::Forward { config, .. }
            | Msg::Ack { config, .. }
            | Msg::Holding { config, .. }
            | Msg::Query { config, .. }
            | Msg::Committed { config, .. }
            | Msg::Fetch { config, .. }
            | Msg::Copy { config, .. } => Some(config),
            Msg::Halted
            | Msg::Alive { .. }
            | Msg::Lease { .. }
            | Msg::Join { .. }
            | Msg::Resume { .. }
            | Msg::Resumed(_)
            | Msg::Manager(_)
            | Msg::Client(_) => None,
        }
    }
}

impl<Op, Ret> Wire<Op, Ret> for Msg<Op, Ret> {
    fn from_client(msg: ClientMsg<Op, Ret>) -> Self {
        Msg::Client(msg)
    }

    fn as_client(&self) -> Option<&ClientMsg<Op, Ret>> {
        match self {
            Msg::Client(msg) => Some(msg),
            _ => None,
        }
    }
}
