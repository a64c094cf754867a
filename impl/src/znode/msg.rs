//! The wire of the znode service: Raft between servers, ZooKeeper's client protocol
//! between a connection and the one server it is connected to.

use super::conn::{CloseReason, Connect, Connected, Reply, Request};
use super::txn::{Origin, Outcome, Seat, Txn};
use super::watch::WatchEvent;
use crate::raft::{Index, Msg, Term};
use coord_specs::znode::{SessionId, Zxid};
use serde::{Deserialize, Serialize};

/// Every message of the znode service: Raft and forwarded writes between servers,
/// ZooKeeper's client protocol between a connection and its server (see [`super::conn`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkMsg {
    /// Raft traffic between servers; log entries are [`Txn`]s.
    Peer(Msg<Txn, Outcome>),
    /// A server passes a transaction of one of its connections to the leader, which
    /// stamps its time and appends it.
    Forward(Txn),
    /// From a follower to the leader: these sessions were heard from (ZooKeeper's
    /// learners report their sessions' touches to the leader).
    Touch(Vec<SessionId>),
    /// From a server to the leader: connection `from` resumed `session` and owns it from
    /// now on (ZooKeeper's revalidation of a session that reconnects).
    Own { session: SessionId, from: Origin },
    /// From the leader to a server: connection `from` is to be closed for `reason` (its
    /// session moved to another connection, which the write of `seat` came too late to
    /// know; or its session is closed).
    Refuse {
        from: Origin,
        seat: Option<Seat>,
        reason: CloseReason,
    },
    /// Connection to server: open a session or resume one.
    Connect(Connect),
    /// Connection to server: a request.
    Request(Request),
    /// Connection to server: a keepalive (ZooKeeper's ping, xid -2).
    Ping,
    /// Connection to server: the connection is gone (its socket closed, or its client
    /// moved on). Its watches and unanswered requests go.
    Disconnect,
    /// Server to connection: the answer to `Connect`.
    Connected(Connected),
    /// Server to connection: the answer to a request.
    Reply(Reply),
    /// Server to connection: the answer to a ping, with the zxid of the server's tree.
    Pong(Zxid),
    /// Server to connection: a watch fired.
    Event(WatchEvent),
    /// Server to connection: the server closes the connection, for this reason.
    Closed(CloseReason),
    /// Between a client and a resource outside ZooKeeper that its program guards (see
    /// [`ResourceMsg`]). Servers ignore it.
    Resource(ResourceMsg),
    /// From a server to the leader: sync `n` of connection `from` asks for a read index
    /// (see [`super::sync`]).
    SyncAsk { from: Origin, n: u64 },
    /// From the leader of `term` to a server: sync `n` of connection `from` is answered
    /// once that server has applied `index`.
    SyncIndex {
        from: Origin,
        n: u64,
        term: Term,
        index: Index,
    },
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
