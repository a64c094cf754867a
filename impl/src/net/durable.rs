//! How an actor's `Storage` is written incrementally: a delta from the last saved value,
//! so that a save costs what changed rather than everything saved so far.

use crate::chain::{ChainStorage, Config, Update};
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
