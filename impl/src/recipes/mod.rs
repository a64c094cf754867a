//! Recipes: programs that ZooKeeper clients run on top of the znode API (notes, parts II
//! and III).
//!
//! - [`counter`]: the mini-transaction counter (read value and version, increment,
//!   conditional set, retry with exponential backoff).
//! - [`lock`]: what the locks share: a lock client's progress, holding, release.
//! - [`basic_lock`]: one ephemeral lock node (the herd effect).
//! - [`scalable_lock`]: ephemeral sequential nodes, each waiter watching its predecessor.
//! - [`election`]: leader election on the scalable lock's nodes.
//! - [`fencing`]: a resource the lock protects, which checks fencing tokens.

pub mod basic_lock;
pub mod counter;
pub mod election;
pub mod fencing;
pub mod lock;
pub mod scalable_lock;

#[cfg(test)]
mod tests;
