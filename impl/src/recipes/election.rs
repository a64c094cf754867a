//! Leader election (notes, part I: "elects a master server, handles partitions"; part
//! III: locks for "master election"), on the scalable lock's nodes: each candidate
//! creates an ephemeral sequential child of the election node, and the lowest live one
//! leads. A candidate watches only the candidate just before it, and when that one goes,
//! lists the children again: it leads if it now comes first. A leader leads until its
//! session ends (or it is woken to resign), and its node goes with it, so the next
//! candidate in line takes over. The leader's sequence number is its epoch: a fencing
//! token for what it does as leader.

use super::lock::{Hold, LockState};
use super::scalable_lock::ScalableLock;

/// A candidate in the election under `dir`, named by `guid` (see the module's
/// documentation).
pub fn candidate(dir: &str, guid: u64) -> ScalableLock {
    ScalableLock::new(dir, guid, Hold::UntilWoken)
}

/// True while the candidate believes it leads.
pub fn leads(state: &LockState) -> bool {
    state.phase.holds()
}
