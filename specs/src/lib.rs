//! What *correct* means for coord's clients, independent of any protocol.
//!
//! Each module is a sequential specification: a plain, obviously-right object that the
//! model checker (through stateright's consistency testers) and the offline history
//! checker (`history`) compare a concurrent system against.

pub mod history;
pub mod jepsen_kv;
pub mod kv;
pub mod register;
pub mod znode;
