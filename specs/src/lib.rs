//! What *correct* means for coord's clients, independent of any protocol.
//!
//! Each module is a sequential specification: a plain, obviously-right object that the
//! model checker (through stateright's consistency testers) and, later, the offline
//! history checker compare a concurrent system against.

pub mod kv;
pub mod znode;
