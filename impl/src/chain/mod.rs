//! Chain replication (van Renesse and Schneider, "Chain Replication for Supporting High
//! Throughput and Availability", OSDI 2004) with CRAQ's reads at any node (Terrace and
//! Freedman, "Object Storage on CRAQ", USENIX ATC 2009), replicating the key-value map.
//!
//! - [`types`]: configurations and epochs, updates, storage and the wire messages.
//! - [`store`]: what a history means: the map after a prefix, CRAQ's clean/dirty keys.
//! - [`node`]: the chain node actor: update propagation, acknowledgements, reads.
//! - [`join`]: the node's side of extending a chain: its place, its copy.
//! - [`manager`]: the configuration manager, a deterministic state machine of membership,
//!   and the rules by which it answers the nodes.
//! - [`replica`]: the manager as a Raft group, which survives the loss of a replica.
//! - [`lease`]: a node's read lease from the manager at run time.
//! - `invariants`: what a node and the manager keep in every state and every step.

mod invariants;
pub mod join;
pub mod lease;
pub mod manager;
pub mod node;
pub mod replica;
pub mod store;
pub mod types;

#[cfg(test)]
mod tests;

pub use manager::{ConfigManager, ConfigOp, ManagerState, ManagerTimer};
pub use node::{ChainBug, ChainNode, ChainTimer, Joining, Links, NodeState, ReadMode};
pub use replica::{Detector, ManagerBug, ManagerRaft, ManagerReplica, ReplicaState, ReplicaTimer};
pub use types::{ChainStorage, Config, Epoch, Msg, Update};
