//! What a node's history means: the key-value map after a prefix of it, and CRAQ's
//! clean/dirty view of a key.
//!
//! A node keeps its history, how much of it is committed, and the map after the committed
//! prefix (its clean versions). The versions of a key are the values it takes along the
//! history, clean up to the committed prefix and dirty after it (CRAQ, section 2.3), so
//! both views always agree. A read or a result costs the key's dirty updates, not a replay
//! of the whole history.

use super::types::Update;
use crate::kv::KvStore;
use crate::raft::StateMachine;
use coord_specs::kv::{Key, KvOp, KvRet};
use stateright::actor::Id;
use std::collections::BTreeMap;

/// A node's updates in the order the head accepted them: a persistent vector, so that a
/// state or a save shares it rather than copying it.
pub type History = im::Vector<Update<KvOp>>;

/// The highest sequence number of each client's updates in `history`.
pub fn latest(history: &History) -> BTreeMap<Id, u64> {
    let mut latest = BTreeMap::new();
    for update in history {
        note(&mut latest, update);
    }
    latest
}

/// Notes `update` in a map of [`latest`] sequence numbers.
pub fn note(latest: &mut BTreeMap<Id, u64>, update: &Update<KvOp>) {
    let seq = latest.entry(update.client).or_default();
    *seq = (*seq).max(update.seq);
}

/// A node's history with its committed prefix and the map after that prefix.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    pub history: &'a History,
    pub committed: usize,
    /// The map after the first `committed` updates.
    pub clean: &'a KvStore,
}

impl View<'_> {
    /// The map restricted to `key` after the first `upto` updates (at least `committed`).
    fn key_at(&self, key: &Key, upto: usize) -> KvStore {
        let mut store = KvStore::default();
        if let Some(entry) = self.clean.data.get(key) {
            store.data.insert(key.clone(), entry.clone());
        }
        let dirty = upto.clamp(self.committed, self.history.len()) - self.committed;
        for update in self.history.skip(self.committed).iter().take(dirty) {
            if update.op.key() == key {
                store.apply(&update.op);
            }
        }
        store
    }

    /// What update `i` (not yet committed) returns to its client.
    pub fn result_of(&self, i: usize) -> KvRet {
        let op = &self.history[i].op;
        self.key_at(op.key(), i).apply(op)
    }

    /// The answer to read `op` after the first `upto` updates, or after the committed
    /// prefix if that is longer: a prefix known committed later than `upto` is at least
    /// as new, and was committed after the read began or is `upto` itself.
    pub fn read_at(&self, upto: usize, op: &KvOp) -> KvRet {
        self.key_at(op.key(), upto)
            .read(op)
            .expect("only reads are answered from a history")
    }

    /// CRAQ: a key is dirty while some update of it is not yet known to be committed.
    pub fn is_dirty(&self, key: &Key) -> bool {
        self.history
            .skip(self.committed)
            .iter()
            .any(|u| u.op.key() == key)
    }
}

/// Applies updates `from..to` of `history` to `clean` (the map after the first `from`),
/// returning each one's result.
pub fn advance(clean: &mut KvStore, history: &History, from: usize, to: usize) -> Vec<KvRet> {
    let count = to.saturating_sub(from);
    history
        .skip(from)
        .iter()
        .take(count)
        .map(|u| clean.apply(&u.op))
        .collect()
}
