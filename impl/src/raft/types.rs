//! Raft's vocabulary: terms, indexes, log entries, persistent storage and messages
//! (Raft paper, figure 2).

use super::log::Log;
use crate::client::{ClientMsg, Wire};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::BTreeSet;

/// A Raft term; 0 before any election.
pub type Term = u64;
/// A 1-based position in the log; 0 means "before the first entry".
pub type Index = u64;

/// One log entry: a client's operation (or a configuration, or a leader's no-op), tagged
/// with the term in which a leader received it and with the client's (id, sequence) so
/// that a retried request applies once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry<Op> {
    pub term: Term,
    pub client: Id,
    pub seq: u64,
    pub op: Payload<Op>,
}

/// The servers of a configuration (Raft dissertation §4.1): those whose votes elect a
/// leader and whose copies commit an entry.
pub type Members = BTreeSet<Id>;

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Payload<Op> {
    /// A client's operation on the state machine.
    Op(Op),
    /// The configuration from this entry on (§4.1): a server uses the latest one in its
    /// log, committed or not.
    Config(Members),
    /// A new leader's first entry, so that it commits an entry of its own term before it
    /// changes the configuration (the rule that fixes the single-server change bug).
    Noop,
}

impl<Op> Payload<Op> {
    /// The client's operation, if the entry carries one.
    pub fn as_op(&self) -> Option<&Op> {
        match self {
            Payload::Op(op) => Some(op),
            Payload::Config(_) | Payload::Noop => None,
        }
    }
}

/// A change of the configuration by one server (§4.1), as an administrator asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Change {
    Add(Id),
    Remove(Id),
}

impl Change {
    /// The configuration `members` with this change made.
    pub fn applied_to(self, members: &Members) -> Members {
        let mut next = members.clone();
        match self {
            Change::Add(id) => next.insert(id),
            Change::Remove(id) => next.remove(&id),
        };
        next
    }
}

/// What a server must have on stable storage before it answers an RPC (figure 2,
/// "Persistent state on all servers"): current term, vote, and log; and the snapshot that
/// replaces the log's compacted prefix (§7), the state machine with its session table as
/// of the log's snapshot index, encoded (see [`super::Snapshot`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(
    serialize = "Op: Clone + Serialize",
    deserialize = "Op: Clone + Deserialize<'de>"
))]
pub struct RaftStorage<Op: Clone> {
    pub term: Term,
    pub voted_for: Option<Id>,
    pub log: Log<Op>,
    pub snapshot: Bytes,
}

/// Every message of a Raft cluster: the two RPCs with their replies, the pre-vote round
/// before an election, and client traffic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Msg<Op, Ret> {
    /// Pre-vote (Raft dissertation §9.6): would the receiver vote for the sender in `term`,
    /// the term after the sender's, whose log ends at (`last_term`, `last_index`)? Neither
    /// side changes its term for it.
    PreVote {
        term: Term,
        last_index: Index,
        last_term: Term,
    },
    /// Pre-vote reply. A grant carries the term asked about; a refusal is sent only to a
    /// sender behind the receiver's term, and carries that term.
    PreVoted { term: Term, granted: bool },
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
    /// InstallSnapshot RPC (figure 13), sent in one piece (last, so that the other
    /// messages keep their encoding): the leader's snapshot, covering
    /// its log up to `index`, whose entry is of `last_term`, for a follower that needs an
    /// entry the leader has compacted away. The follower answers with `Appended`.
    Snapshot {
        term: Term,
        index: Index,
        last_term: Term,
        data: Bytes,
        round: u64,
    },
    /// An administrator's traffic (§4.1): a request to change the configuration by one
    /// server, answered by the leader with the configuration once the change is committed,
    /// or by a redirect.
    Admin(ClientMsg<Change, Members>),
}

impl<Op, Ret> Msg<Op, Ret> {
    /// The term a message between servers carries (the sender's, except for a pre-vote and
    /// its grant, which carry the term the sender would campaign in); `None` for client
    /// traffic.
    pub fn term(&self) -> Option<Term> {
        match self {
            Msg::RequestVote { term, .. }
            | Msg::Vote { term, .. }
            | Msg::PreVote { term, .. }
            | Msg::PreVoted { term, .. }
            | Msg::Append { term, .. }
            | Msg::Appended { term, .. }
            | Msg::Snapshot { term, .. } => Some(*term),
            Msg::Client(_) | Msg::Admin(_) => None,
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
