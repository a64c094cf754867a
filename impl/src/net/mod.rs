//! Running the protocol actors for real: one process per node over UDP, with durable
//! storage, peer authentication and counters. The only part of `coord` that touches
//! sockets, files, clocks and random numbers.
//!
//! - [`frame`]: the datagram format (header, postcard body, optional HMAC tag).
//! - [`admit`]: which messages strangers (clients) may send.
//! - [`durable`] and [`journal`]: incremental, crash-safe storage.
//! - [`runtime`]: the event loop that drives any actor, on one `mio` poll.
//! - [`link`] and [`stream`]: TCP between peers, for messages larger than a datagram.
//! - [`door`]: a front door, another protocol's sockets on the same loop; [`zk`] is
//!   ZooKeeper's client port.
//! - [`stats`] and [`admin`]: counters, and asking a node for them or commanding it.
//! - [`partition`]: the peers a node is told to cut itself off from.
//! - [`config`]: the cluster file.

pub mod admin;
pub mod admit;
pub mod config;
pub mod door;
pub mod durable;
pub mod frame;
pub mod journal;
pub mod link;
pub mod partition;
pub mod runtime;
pub mod stats;
pub mod stream;
pub mod zk;

pub use runtime::{Endpoint, Outcome, Runtime};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod test_run;
