//! The replicated state: the user's state machine plus a session table that makes retried
//! requests apply exactly once (Raft dissertation §6.3, "Implementing linearizable
//! semantics").

use super::types::{Entry, Members, Payload};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::fmt::Debug;
use std::hash::Hash;

/// A deterministic state machine that Raft replicates. It is serializable so that a
/// server can snapshot it (Raft paper §7).
pub trait StateMachine: Clone + Debug + Default + Hash + Eq + Serialize + DeserializeOwned {
    type Op: Clone + Debug + Hash + Eq + Ord;
    type Ret: Clone + Debug + Hash + Eq + Ord + Serialize + DeserializeOwned;

    /// Applies a committed operation and returns what the client sees.
    fn apply(&mut self, op: &Self::Op) -> Self::Ret;

    /// For an operation that only reads, its answer on the current state; `None` for an
    /// operation that changes state. Read-only operations may skip the log (ReadIndex).
    fn read(&self, op: &Self::Op) -> Option<Self::Ret>;
}

/// The state machine, how much of the log it has applied, for each client the last
/// sequence number applied with its result, and the configuration as of the applied index
/// (Raft dissertation §4.1; a snapshot carries it, so that a server that installs one, or
/// restarts from one, knows the cluster's members).
///
/// The session table is a persistent map: a server's copy of its state shares it. It is
/// part of what a snapshot holds: without it a request retried after compaction would
/// apply twice.
///
/// Rule: an entry whose (client, seq) is not newer than the client's last applied sequence
/// is a duplicate; it does not touch the state machine, and the cached result is returned
/// for the latest one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Replica<SM: StateMachine> {
    pub sm: SM,
    pub applied: u64,
    pub sessions: im::OrdMap<Id, (u64, SM::Ret)>,
    pub config: Members,
}

impl<SM: StateMachine> Default for Replica<SM> {
    fn default() -> Self {
        Replica {
            sm: SM::default(),
            applied: 0,
            sessions: im::OrdMap::new(),
            config: Members::new(),
        }
    }
}

impl<SM: StateMachine> Replica<SM> {
    /// The cached result of `client`'s request `seq`, if it is the last one applied.
    pub fn cached(&self, client: Id, seq: u64) -> Option<&SM::Ret> {
        match self.sessions.get(&client) {
            Some((last, ret)) if *last == seq => Some(ret),
            _ => None,
        }
    }

    /// True if `client`'s request `seq` has already been applied.
    pub fn has_applied(&self, client: Id, seq: u64) -> bool {
        self.sessions
            .get(&client)
            .is_some_and(|(last, _)| *last >= seq)
    }

    /// Applies the next log entry. Returns the result to send to the client, or `None`
    /// when the entry is an old duplicate nobody waits for. With `dedup` off (the
    /// deliberate bug "no duplicate suppression") every entry changes the state machine.
    pub fn apply(&mut self, entry: &Entry<SM::Op>, dedup: bool) -> Option<SM::Ret> {
        let applied = self.apply_with(entry, dedup, |sm, op| (sm.apply(op), ()));
        applied.map(|(ret, ())| ret)
    }

    /// [`Replica::apply`] through `apply`, which also reports what the operation did (for
    /// observers at this server, such as ZooKeeper's watches); a duplicate did nothing and
    /// reports `X::default()`. A configuration entry becomes the replica's configuration;
    /// it and a no-op answer nobody.
    pub fn apply_with<X: Default>(
        &mut self,
        entry: &Entry<SM::Op>,
        dedup: bool,
        apply: impl FnOnce(&mut SM, &SM::Op) -> (SM::Ret, X),
    ) -> Option<(SM::Ret, X)> {
        self.applied += 1;
        let op = match &entry.op {
            Payload::Op(op) => op,
            Payload::Config(members) => {
                self.config = members.clone();
                return None;
            }
            Payload::Noop => return None,
        };
        if dedup && self.has_applied(entry.client, entry.seq) {
            let cached = self.cached(entry.client, entry.seq).cloned();
            return cached.map(|ret| (ret, X::default()));
        }
        let (ret, effects) = apply(&mut self.sm, op);
        self.sessions.insert(entry.client, (entry.seq, ret.clone()));
        Some((ret, effects))
    }
}
