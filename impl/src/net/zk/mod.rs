//! ZooKeeper's client protocol at a node's client port: the jute codec and the front door
//! that speaks it. The door frames, decodes and routes; what a request means is the znode
//! server actor's business.
//!
//! - [`jute`]: the binary encoding's primitives.
//! - [`proto`]: ZooKeeper's numbers (opcodes, error codes, xids, event types).
//! - [`records`]: the shared records and the handshake.
//! - [`request`] and [`reply`]: what clients send and what servers answer.
//! - [`four`]: the four-letter words.
//! - [`door`]: the client port, on the node's event loop.
//! - [`map`]: the znode server's messages as jute requests and replies.

pub mod door;
pub mod four;
pub mod jute;
pub mod map;
pub mod proto;
pub mod records;
pub mod reply;
pub mod request;
