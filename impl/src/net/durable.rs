//! How an actor's `Storage` is written incrementally: a delta from the last saved value,
//! so that a save costs what changed rather than everything saved so far.

use crate::raft::{Entry, RaftStorage, Term};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use stateright::actor::Id;

/// A storage value that the journal can save as a change from the previous one.
pub trait Durable: Clone + Serialize + DeserializeOwned {
    type Delta: Serialize + DeserializeOwned;

    /// The change that turns `self` into `newer`.
    fn delta(&self, newer: &Self) -> Self::Delta;

    /// Applies a change made by [`Durable::delta`].
    fn apply(&mut self, delta: Self::Delta);
}

/// An actor that saves nothing (a client).
impl Durable for () {
    type Delta = ();

    fn delta(&self, _newer: &()) {}

    fn apply(&mut self, _delta: ()) {}
}

/// A change of Raft's persistent state: the new term and vote, and the log cut to its
/// first `keep` entries and extended by `append` (Raft only ever truncates a suffix and
/// appends).
#[derive(Serialize, Deserialize)]
pub struct RaftDelta<Op> {
    pub term: Term,
    pub voted_for: Option<Id>,
    pub keep: u64,
    pub append: Vec<Entry<Op>>,
}

impl<Op> Durable for RaftStorage<Op>
where
    Op: Clone + PartialEq + Serialize + DeserializeOwned,
{
    type Delta = RaftDelta<Op>;

    /// Costs the length of the change, plus a logarithmic search for where it starts
    /// ([`crate::raft::Log::common_prefix`]), whatever the length of the log.
    fn delta(&self, newer: &Self) -> RaftDelta<Op> {
        let keep = self.log.common_prefix(&newer.log);
        RaftDelta {
            term: newer.term,
            voted_for: newer.voted_for,
            keep,
            append: newer.log.from(keep + 1).cloned().collect(),
        }
    }

    fn apply(&mut self, delta: RaftDelta<Op>) {
        self.term = delta.term;
        self.voted_for = delta.voted_for;
        self.log.truncate(delta.keep);
        for entry in delta.append {
            self.log.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::string_entry as entry;

    #[test]
    fn a_raft_delta_carries_only_the_changed_suffix() {
        let old = RaftStorage {
            term: 1,
            voted_for: None,
            log: [entry(1, "a"), entry(1, "b")].into_iter().collect(),
        };
        let new = RaftStorage {
            term: 2,
            voted_for: Some(Id::from(1)),
            log: [entry(1, "a"), entry(2, "c"), entry(2, "d")]
                .into_iter()
                .collect(),
        };
        let delta = old.delta(&new);
        assert_eq!((delta.keep, delta.append.len()), (1, 2));
        let mut replayed = old.clone();
        replayed.apply(delta);
        assert_eq!(replayed, new);
    }
}
