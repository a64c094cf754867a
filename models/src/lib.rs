//! What is checked: stateright models of coord's protocols, their bounds and properties,
//! deliberate-bug variants, and the registry of named checks with expected verdicts.

pub mod build;
pub mod chain;
pub mod dead_messages;
pub mod history;
pub mod monotonic;
pub mod node;
pub mod raft;
pub mod registry;
pub mod restart;
pub mod run;
pub mod symmetry;
pub mod workload;
pub mod znode;

pub use registry::{checks, select, Bounds, Check};
pub use run::{Progress, Report, RunOptions, Search, Verdict};
