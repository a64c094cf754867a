//! Raft's vocabulary: terms, indexes, log entries, persistent storage and messages
//! (Raft paper, figure 2).

use super::log::Log;
use crate::client::{ClientMsg, Wire};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;

/// A Raft term; 0 before any election.
pub type Term = u64;
/// A 1-based position in the log; 0 means "before the first entry".
pub type Index = u64;

/// One log entry: a client's operation, tagged with the term in which a leader received it
/// and with the client's (id, sequence) so that a retried request applies once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry<Op> {
    pub term: Term,
    pub client: Id,
    pub seq: u64,
    pub op: Op,
}

/// What a server must have on stable storage before it answers an RPC (figure 2,
/// "Persistent state on all servers"): current term, vote, and log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(
    serialize = "Op: Clone + Serialize",
    deserialize = "Op: Clone + Deserialize<'de>"
))]
pub struct RaftStorage<Op: Clone> {
    pub term: Term,
    pub voted_for: Option<Id>,
    pub log: Log<Op>,
}

/// Every message of a Raft cluster: the two RPCs with their replies, and client traffic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Msg<Op, Ret> {
    /// RequestVote RPC: a candidate in `term` whose log ends at (`last_term`, `last_index`).
    RequestVote {
        term: Term,
        last_index: Index,
        last_term: Term,
    },
    /// RequestVote reply.
    Vote { term: Term, granted: bool },
    /// AppendEntries RPC. `round` numbers the leader's heartbeat rounds so that a reply
    /// can confirm leadership for ReadIndex reads issued before it.
    Append {
        term: Term,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry<Op>>,
        commit: Index,
        round: u64,
    },
    /// AppendEntries reply. On success `index` is the follower's last index known to match
    /// the leader; on failure it is where the leader should retry (fast back-off).
    Appended {
        term: Term,
        success: bool,
        index: Index,
        round: u64,
    },
    /// A client's request or a server's answer to a client.
    Client(ClientMsg<Op, Ret>),
}

impl<Op, Ret> Msg<Op, Ret> {
    /// The sender's term, for the messages between servers; `None` for client traffic.
    pub fn term(&self) -> Option<Term> {
        match self {
            Msg::RequestVote { term, .. }
            | Msg::Vote { term, .. }
            | Msg::Append { term, .. }
            | Msg::Appended { term, .. } => Some(*term),
            Msg::Client(_) => None,
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
