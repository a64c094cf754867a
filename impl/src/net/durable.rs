//! How an actor's `Storage` is written incrementally: a delta from the last saved value,
//! so that a save costs what changed rather than everything saved so far.

use crate::chain::{ChainStorage, Config, Update};
use crate::raft::snapshot::same;
use crate::raft::{Entry, Index, RaftStorage, Term};
use bytes::Bytes;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use stateright::actor::Id;

/// A storage value that the journal can save as a change from the previous one.
pub trait Durable: Clone + Serialize + DeserializeOwned {
    type Delta: Serialize + DeserializeOwned;

    /// The change that turns `self` into `newer`.
    fn delta(&self, newer: &Self) -> Self::Delta;

    /// Applies a change made by [`Durable::delta`].
    fn apply(&mut self, delta: Self::Delta);

    /// Whether, after this change, the journal is better rewritten whole than appended
    /// to: it replaced much of what was saved (Raft's new snapshot, which makes the log
    /// before it garbage).
    fn rewrites(_delta: &Self::Delta) -> bool {
        false
    }
}

/// An actor that saves nothing (a client).
impl Durable for () {
    type Delta = ();

    fn delta(&self, _newer: &()) {}

    fn apply(&mut self, _delta: ()) {}
}

/// A change of Raft's persistent state: the new term and vote; a new snapshot, if one was
/// taken or installed; and the log cut to its first `keep` entries and extended by
/// `append` (between two snapshots Raft only ever truncates a suffix and appends; after a
/// new one, the whole log after it is written).
#[derive(Serialize, Deserialize)]
pub struct RaftDelta<Op> {
    pub term: Term,
    pub voted_for: Option<Id>,
    pub snapshot: Option<NewSnapshot>,
    pub keep: u64,
    pub append: Vec<Entry<Op>>,
}

/// A snapshot that replaces the log up to `index`, whose entry is of `term`.
#[derive(Serialize, Deserialize)]
pub struct NewSnapshot {
    pub index: Index,
    pub term: Term,
    pub data: Bytes,
}

impl<Op> Durable for RaftStorage<Op>
where
    Op: Clone + PartialEq + Serialize + DeserializeOwned,
{
    type Delta = RaftDelta<Op>;

    /// Costs the length of the change, plus a logarithmic search for where it starts
    /// ([`crate::raft::Log::common_prefix`]), whatever the length of the log; after a new
    /// snapshot, the snapshot and the log after it.
    fn delta(&self, newer: &Self) -> RaftDelta<Op> {
        let (old, new) = (&self.log, &newer.log);
        let moved =
            old.snapshot_index() != new.snapshot_index() || !same(&self.snapshot, &newer.snapshot);
        let snapshot = moved.then(|| NewSnapshot {
            index: new.snapshot_index(),
            term: new.snapshot_term(),
            data: newer.snapshot.clone(),
        });
        let keep = match moved {
            true => new.snapshot_index(),
            false => old.common_prefix(new),
        };
        RaftDelta {
            term: newer.term,
            voted_for: newer.voted_for,
            snapshot,
            keep,
            append: new.from(keep + 1).cloned().collect(),
        }
    }

    /// A new snapshot: the journal keeps only it and the log after it.
    fn rewrites(delta: &RaftDelta<Op>) -> bool {
        delta.snapshot.is_some()
    }

    fn apply(&mut self, delta: RaftDelta<Op>) {
        self.term = delta.term;
        self.voted_for = delta.voted_for;
        if let Some(NewSnapshot { index, term, data }) = delta.snapshot {
            self.log.compact(index, term);
            self.snapshot = data;
        }
        self.log.truncate(delta.keep);
        for entry in delta.append {
            self.log.push(entry);
        }
    }
}

/// A change of a chain node's storage: its configuration, and its history cut to its first
/// `keep` updates and extended by `append`. A history only grows between two cuts, so
/// `keep` is the older length unless a cut came in between; then the whole history is
/// written again (a joining node's copy, once).
#[derive(Serialize, Deserialize)]
pub struct ChainDelta<Op> {
    pub config: Config,
    pub cuts: u64,
    pub serving: bool,
    pub keep: u64,
    pub append: Vec<Update<Op>>,
}

impl<Op> Durable for ChainStorage<Op>
where
    Op: Clone + Serialize + DeserializeOwned,
{
    type Delta = ChainDelta<Op>;

    fn delta(&self, newer: &Self) -> ChainDelta<Op> {
        let grew = newer.cuts == self.cuts && newer.history.len() >= self.history.len();
        let keep = if grew { self.history.len() } else { 0 };
        ChainDelta {
            config: newer.config.clone(),
            cuts: newer.cuts,
            serving: newer.serving,
            keep: keep as u64,
            append: newer.history.skip(keep).iter().cloned().collect(),
        }
    }

    fn apply(&mut self, delta: ChainDelta<Op>) {
        self.config = delta.config;
        self.cuts = delta.cuts;
        self.serving = delta.serving;
        self.history.truncate(delta.keep as usize);
        self.history.extend(delta.append);
    }
}

/// The chain manager's configuration: a few ids and an epoch, written whole.
impl Durable for Config {
    type Delta = Config;

    fn delta(&self, newer: &Self) -> Config {
        newer.clone()
    }

    fn apply(&mut self, delta: Config) {
        *self = delta;
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
            snapshot: Bytes::new(),
        };
        let new = RaftStorage {
            term: 2,
            voted_for: Some(Id::from(1)),
            log: [entry(1, "a"), entry(2, "c"), entry(2, "d")]
                .into_iter()
                .collect(),
            snapshot: Bytes::new(),
        };
        let delta = old.delta(&new);
        assert!(delta.snapshot.is_none());
        assert_eq!((delta.keep, delta.append.len()), (1, 2));
        let mut replayed = old.clone();
        replayed.apply(delta);
        assert_eq!(replayed, new);
    }

    #[test]
    fn a_raft_delta_after_a_snapshot_carries_it_and_the_log_after_it() {
        let old = RaftStorage {
            term: 2,
            voted_for: None,
            log: [entry(1, "a"), entry(1, "b"), entry(2, "c")]
                .into_iter()
                .collect(),
            snapshot: Bytes::new(),
        };
        let mut compacted = old.clone();
        compacted.log.compact(2, 1);
        compacted.snapshot = Bytes::from_static(b"state at 2");
        compacted.log.push(entry(2, "d"));
        let delta = old.delta(&compacted);
        let carried = delta.snapshot.as_ref().map(|s| (s.index, s.term));
        assert_eq!(carried, Some((2, 1)));
        assert_eq!((delta.keep, delta.append.len()), (2, 2));
        let mut replayed = old.clone();
        replayed.apply(delta);
        assert_eq!(replayed, compacted);
        // An installed snapshot past the whole log replaces it.
        let mut installed = compacted.clone();
        installed.log.compact(9, 3);
        installed.snapshot = Bytes::from_static(b"state at 9");
        let mut replayed = compacted.clone();
        replayed.apply(compacted.delta(&installed));
        assert_eq!(replayed, installed);
        assert_eq!((replayed.log.last_index(), replayed.log.len()), (9, 0));
    }

    fn chain(epoch: u64, cuts: u64, ops: &[&str]) -> ChainStorage<String> {
        let update = |op: &&str| Update {
            epoch: 0,
            client: Id::from(9),
            seq: 1,
            op: op.to_string(),
        };
        ChainStorage {
            config: Config {
                epoch,
                members: vec![Id::from(0)],
            },
            history: ops.iter().map(update).collect(),
            cuts,
            serving: true,
        }
    }

    #[test]
    fn a_chain_delta_carries_only_the_appended_updates_unless_the_history_was_cut() {
        let old = chain(1, 0, &["a", "b"]);
        let grown = chain(2, 0, &["a", "b", "c"]);
        assert_eq!(replays(&old, &grown), (2, 1));
        // A copy replaced the history: as long as before, but not an extension of it.
        let cut = chain(3, 1, &["x", "y", "z"]);
        assert_eq!(replays(&grown, &cut), (0, 3));
    }

    /// Checks that `old`'s delta to `new` turns `old` into `new`; returns the delta's
    /// kept and appended counts.
    fn replays(old: &ChainStorage<String>, new: &ChainStorage<String>) -> (u64, usize) {
        let delta = old.delta(new);
        let counts = (delta.keep, delta.append.len());
        let mut replayed = old.clone();
        replayed.apply(delta);
        assert_eq!(&replayed, new);
        counts
    }
}
