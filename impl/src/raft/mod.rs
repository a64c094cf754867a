//! Raft (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm"),
//! as one pure actor generic over the replicated state machine.
//!
//! - [`types`]: terms, log entries, the persistent storage and the wire messages.
//! - [`Log`]: the log, a persistent vector that is cheap to copy and to save.
//! - [`replica`]: the replicated state with duplicate suppression by (client, sequence).
//! - [`server`]: the server actor: election, replication, commitment, ReadIndex reads.
//! - `invariants`: what a server keeps in every state and every step (asserted in debug
//!   builds and in the models).
//! - `rules`: the acceptance rules, each stated once: the term rule, votes, pre-votes, log
//!   matching.
//! - [`admin`]: the clients of a cluster, users and administrators.
//! - [`membership`]: membership changes one server at a time (dissertation §4.1).
//! - `prevote`: pre-vote and check-quorum (dissertation §9.6, §6.2).
//! - [`snapshot`]: log compaction and InstallSnapshot (§7).
//! - [`embed`]: one step of a Raft server run inside another actor (the znode server, the
//!   chain manager's replica).
//! - `stale`: which messages a server will never act on (the models drop them).
//! - `rewrite`: renaming servers in states and messages, for symmetry reduction.

pub mod admin;
pub mod embed;
mod invariants;
mod log;
pub mod membership;
mod prevote;
pub mod replica;
mod rewrite;
mod rules;
pub mod server;
pub mod snapshot;
mod stale;
pub mod types;

#[cfg(test)]
mod tests;

pub use admin::{Admin, RaftClient};
pub use log::Log;
pub use membership::Membership;
pub use replica::{Replica, StateMachine};
pub use server::{
    BatchBytes, LeaderState, PendingRead, RaftBug, RaftServer, RaftState, RaftTimer, Role,
};
pub use types::{Change, Entry, Index, Members, Msg, Payload, RaftStorage, Term};
