//! The wire of the znode service: Raft between servers, ZooKeeper's client protocol
//! between a client and the one server it is connected to.

use super::watch::WatchEvent;
use crate::client::{ClientMsg, Wire};
use crate::raft::Msg;
use coord_specs::znode::{SessionId, ZkOp, ZkRet, Zxid};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;

/// How a server serves a client's request (ZooKeeper's per-call flags).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Serve {
    /// A read also leaves a one-shot watch on its path at this server.
    pub watch: bool,
    /// A read is preceded by `sync`: it goes through the leader's log like a write and is
    /// answered when this server applies it, so it reflects every write committed before
    /// the call (ZooKeeper's `sync` followed by the read, sent together on one connection).
    pub sync: bool,
    /// In a request, the highest zxid the client has seen in any reply (ZooKeeper's
    /// `lastZxid`): a server whose tree is older answers no plain read, so a client that
    /// moves to another server never reads back in time. In a reply, the zxid of the tree
    /// of the server that answered.
    pub zxid: Zxid,
}

/// Every message of the znode service.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkMsg {
    /// Raft traffic between servers.
    Peer(Msg<ZkOp, ZkRet>),
    /// A client's request with how to serve it, or a server's reply (with the zxid of the
    /// server's tree, see [`Serve::zxid`]).
    Client(ClientMsg<ZkOp, ZkRet>, Serve),
    /// A server passes a write (or a synced read) of its client `client` to the leader.
    Forward { client: Id, seq: u64, op: ZkOp },
    /// A keepalive of `session`: from a client to its server, and from there to the leader.
    Ping { session: SessionId },
    /// A watch fired: from the server that held it to its client.
    Event(WatchEvent),
    /// Between a client and a resource outside ZooKeeper that its program guards (see
    /// [`ResourceMsg`]). Servers ignore it.
    Resource(ResourceMsg),
}

/// An operation on a resource that a lock protects, and the resource's answer
/// (Kleppmann's fencing: the lock service hands out a token with the lock, and the
/// resource checks it). Not part of ZooKeeper's protocol: it travels on the same wire so
/// that one client actor can talk to both.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceMsg {
    /// Do the operation, as the holder of the lock with this fencing token (`None`: the
    /// holder shows no token).
    Use { token: Option<u64> },
    /// Whether the resource did the operation.
    Answer { accepted: bool },
}

impl Wire<ZkOp, ZkRet> for ZkMsg {
    fn from_client(msg: ClientMsg<ZkOp, ZkRet>) -> Self {
        ZkMsg::Client(msg, Serve::default())
    }

    fn as_client(&self) -> Option<&ClientMsg<ZkOp, ZkRet>> {
        match self {
            ZkMsg::Client(msg, _) => Some(msg),
            _ => None,
        }
    }
}
