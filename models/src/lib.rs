//! What is checked: stateright models of coord's protocols, their bounds and properties,
//! deliberate-bug variants, and the registry of named checks with expected verdicts.
//!
//! Each system's module (`raft`, `chain`, `znode`) holds its model, its properties and its
//! named checks. What they all share sits in modules that know no system: `cfg` (bounds,
//! what a model tells the runner), `check` (a named check), `run` (the search and its
//! report), `restart`, `node`, `build`, `history`, `symmetry`, and the like. The registry
//! only gathers the systems' checks and selects among them.

pub mod build;
pub mod cfg;
pub mod chain;
pub mod check;
pub mod checkable;
pub mod dead_messages;
pub mod history;
pub mod in_flight;
pub mod monotonic;
pub mod node;
pub mod raft;
pub mod registry;
pub mod restart;
pub mod run;
pub mod sim_sizes;
pub mod simulate;
pub mod swarm;
pub mod symmetry;
pub mod verdict;
pub mod workload;
pub mod znode;

pub use cfg::Bounds;
pub use check::Check;
pub use registry::{checks, select};
pub use run::{Progress, Report, RunOptions, Search, Verdict};
pub use simulate::{SimOptions, SimProgress, SimReport};
