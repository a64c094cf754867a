//! What a node's history means: the key-value map after a prefix of it, and CRAQ's
//! clean/dirty view of a key.
//!
//! A node keeps its history and how much of it is committed rather than a separate map:
//! the versions of a key are the values it takes along the history, clean up to the
//! committed prefix and dirty after it (CRAQ, section 2.3), so both views always agree.

use super::types::Update;
use crate::kv::KvStore;
use crate::raft::StateMachine;
use coord_specs::kv::{Key, KvOp, KvRet};

/// The map after applying `updates` in order.
pub fn replay(updates: &[Update<KvOp>]) -> KvStore {
    let mut store = KvStore::default();
    for update in updates {
        store.apply(&update.op);
    }
    store
}

/// What update `i` of `history` returned to its client.
pub fn result_of(history: &[Update<KvOp>], i: usize) -> KvRet {
    replay(&history[..i]).apply(&history[i].op)
}

/// The answer to read `op` after the first `upto` updates of `history`.
pub fn read_at(history: &[Update<KvOp>], upto: usize, op: &KvOp) -> KvRet {
    let store = replay(&history[..upto.min(history.len())]);
    store
        .read(op)
        .expect("only reads are answered from a history")
}

/// CRAQ: a key is dirty while some update of it is not yet known to be committed.
pub fn is_dirty(history: &[Update<KvOp>], committed: usize, key: &Key) -> bool {
    history[committed..].iter().any(|u| u.op.key() == key)
}
