//! How coord works: protocol actors written once as pure stateright actors.
//!
//! Nothing here but `net` touches a socket, a file, a clock or a random number: time exists
//! only as timers and durability only as `Save` commands, so the same code is model checked
//! in `coord-models` and run over UDP by `net`.

pub mod bug;
pub mod chain;
pub mod client;
pub mod invariants;
pub mod kv;
pub mod net;
pub mod raft;
pub mod recipes;
#[cfg(test)]
mod test_util;
pub mod znode;

pub use stateright::actor::Id;
