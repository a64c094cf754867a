//! The Raft log: the entries after the last snapshot, in a persistent vector.
//!
//! A server that has compacted its log (Raft paper §7) keeps only the index and term of
//! the last entry its snapshot covers, and the entries after it: indexes
//! `snapshot_index() + 1` to `last_index()`. A log that was never compacted starts at 1.
//!
//! A server hands its whole persistent state to `o.save(..)` after every change, and the
//! runtime keeps the last saved value to write only what changed. With a plain vector both
//! would copy the whole log, so a save would cost more the longer the log grows. A
//! persistent vector shares its structure between copies: a copy costs nothing, an append
//! or a truncation copies at most one chunk, and two logs of one server are compared in
//! logarithmic time (see [`Log::common_prefix`]).

use super::types::{Entry, Index, Term};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use stateright::{Rewrite, RewritePlan};

/// A Raft log. Index `i` (1-based, as in the paper) is the entry at position
/// `i - start - 1` of `entries`, for `i` past `start`, the last index the snapshot covers.
///
/// Rule: `start_term` is the term of the entry at `start` (0 when `start` is 0), so that
/// an AppendEntries whose previous entry is the snapshot's last one still matches (figure
/// 13, "lastIncludedTerm").
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound(
    serialize = "Op: Clone + Serialize",
    deserialize = "Op: Clone + Deserialize<'de>"
))]
pub struct Log<Op: Clone> {
    start: Index,
    start_term: Term,
    entries: im::Vector<Entry<Op>>,
}

impl<Op: Clone> Default for Log<Op> {
    fn default() -> Self {
        Log {
            start: 0,
            start_term: 0,
            entries: im::Vector::new(),
        }
    }
}

impl<Op: Clone> FromIterator<Entry<Op>> for Log<Op> {
    fn from_iter<I: IntoIterator<Item = Entry<Op>>>(entries: I) -> Self {
        Log {
            entries: entries.into_iter().collect(),
            ..Log::default()
        }
    }
}

impl<Op: Clone> From<Vec<Entry<Op>>> for Log<Op> {
    fn from(entries: Vec<Entry<Op>>) -> Self {
        entries.into_iter().collect()
    }
}

/// A log equals the list of the entries it holds.
impl<Op: Clone + PartialEq> PartialEq<Vec<Entry<Op>>> for Log<Op> {
    fn eq(&self, entries: &Vec<Entry<Op>>) -> bool {
        self.entries.iter().eq(entries)
    }
}

impl<Op: Clone + PartialEq, const N: usize> PartialEq<[Entry<Op>; N]> for Log<Op> {
    fn eq(&self, entries: &[Entry<Op>; N]) -> bool {
        self.entries.iter().eq(entries)
    }
}

impl<Op: Clone> Log<Op> {
    /// The index of the last entry; the snapshot's last index for a log that holds no
    /// entry after it; 0 for an empty log.
    pub fn last_index(&self) -> Index {
        self.start + self.entries.len() as Index
    }

    /// The last index the snapshot covers; 0 if the log was never compacted.
    pub fn snapshot_index(&self) -> Index {
        self.start
    }

    /// The term of the entry at [`Log::snapshot_index`].
    pub fn snapshot_term(&self) -> Term {
        self.start_term
    }

    /// True if the log holds no entry after its snapshot.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many entries the log holds after its snapshot.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry at `index`, if the log holds it (none at or below the snapshot's index).
    pub fn get(&self, index: Index) -> Option<&Entry<Op>> {
        let position = usize::try_from(index.checked_sub(self.start)?)
            .ok()?
            .checked_sub(1)?;
        self.entries.get(position)
    }

    /// The term of the entry at `index`: the snapshot's term at its last index; 0 at
    /// index 0, past the end, and below the snapshot's last index (compacted away).
    pub fn term_at(&self, index: Index) -> Term {
        if index == self.start {
            return self.start_term;
        }
        self.get(index).map_or(0, |e| e.term)
    }

    /// The entries from `index` on (all it holds for an index at or below the snapshot's
    /// next). Finding where to start takes logarithmic time, not a walk over the entries
    /// before it.
    pub fn from(&self, index: Index) -> impl Iterator<Item = &Entry<Op>> {
        let start = index.saturating_sub(self.start + 1) as usize;
        let rest = (start < self.entries.len()).then(|| self.entries.focus().narrow(start..));
        rest.into_iter().flatten()
    }

    /// The entries it holds up to and including `index`.
    pub fn upto(&self, index: Index) -> impl Iterator<Item = &Entry<Op>> {
        self.entries
            .iter()
            .take(index.saturating_sub(self.start) as usize)
    }

    /// The entries it holds.
    pub fn iter(&self) -> impl Iterator<Item = &Entry<Op>> {
        self.entries.iter()
    }

    /// Appends `entry` at index `last_index() + 1`.
    pub fn push(&mut self, entry: Entry<Op>) {
        self.entries.push_back(entry);
    }

    /// Keeps the entries up to and including `index`, deleting the rest. Only entries after
    /// the snapshot can be deleted: what a snapshot covers was applied, so committed.
    pub fn truncate(&mut self, index: Index) {
        assert!(
            index >= self.start,
            "truncating a snapshot: {index} < {}",
            self.start
        );
        self.entries.truncate((index - self.start) as usize);
    }

    /// Log compaction (§7): forgets every entry up to and including `index`, which is now
    /// covered by a snapshot whose last entry is of `term`. The entries after `index` stay
    /// if the log holds the entry at `index` with that term (figure 13, receiver rule 6);
    /// otherwise the whole log goes (rule 7).
    pub fn compact(&mut self, index: Index, term: Term) {
        assert!(
            index >= self.start,
            "compacting back to {index} from {}",
            self.start
        );
        let keeps_tail = self.term_at(index) == term;
        let entries = match keeps_tail && index <= self.last_index() {
            true => self.entries.skip((index - self.start) as usize),
            false => im::Vector::new(),
        };
        *self = Log {
            start: index,
            start_term: term,
            entries,
        };
    }
}

impl<Op: Clone + PartialEq> Log<Op> {
    /// True if this log and `other` hold the same entries from just past the later of
    /// their two snapshots up to and including `index` (false if either is shorter), and,
    /// when that snapshot's index is at most `index`, the same term there.
    pub fn same_upto(&self, other: &Self, index: Index) -> bool {
        let from = self.start.max(other.start);
        let ends = self.last_index() >= index && other.last_index() >= index;
        let boundary = from > index || self.term_at(from) == other.term_at(from);
        let count = index.saturating_sub(from) as usize;
        let held = self.from(from + 1).take(count);
        ends && boundary && held.eq(other.from(from + 1).take(count))
    }

    /// The length of the longest prefix that this log and `other`, an earlier or later log
    /// of the same server with the same snapshot, have in common, found by binary search.
    /// Sound because an entry is never changed in place: a log only loses a suffix and
    /// gains entries at its end, and the leader of a term never appends two different
    /// entries at one index, so once the two logs differ at an index they differ at every
    /// later index both hold (the Log Matching property, figure 3, between two moments of
    /// one server). Two logs with different snapshots have in common none of the entries
    /// they hold: the result is the earlier snapshot's index.
    pub fn common_prefix(&self, other: &Self) -> Index {
        if (self.start, self.start_term) != (other.start, other.start_term) {
            return self.start.min(other.start);
        }
        let (mut same, mut differs) = (self.start, self.last_index().min(other.last_index()) + 1);
        // Invariant: the first `same` entries agree; the entry at `differs` does not, or
        // is past the end of one log.
        while differs - same > 1 {
            let mid = same + (differs - same) / 2;
            if self.get(mid) == other.get(mid) {
                same = mid;
            } else {
                differs = mid;
            }
        }
        same
    }
}

/// Renaming actors renames the clients the entries name; a log that names no renamed actor
/// is shared, not copied.
impl<Op: Clone> Rewrite<Id> for Log<Op> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        if self
            .entries
            .iter()
            .all(|e| plan.rewrite(&e.client) == e.client)
        {
            return self.clone();
        }
        Log {
            entries: self.entries.iter().map(|e| e.rewrite(plan)).collect(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::string_entry as entry;

    fn log(entries: &[(Term, &str)]) -> Log<String> {
        entries.iter().map(|&(t, op)| entry(t, op)).collect()
    }

    #[test]
    fn indexes_start_at_one() {
        let l = log(&[(1, "a"), (2, "b")]);
        assert_eq!(l.last_index(), 2);
        assert_eq!(
            (l.term_at(0), l.term_at(1), l.term_at(2), l.term_at(3)),
            (0, 1, 2, 0)
        );
        assert_eq!(l.get(0), None);
        assert_eq!(
            l.from(2)
                .map(|e| e.op.as_op().unwrap().as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(l.from(0).count(), 2);
        assert_eq!((l.from(3).count(), l.from(9).count()), (0, 0));
        assert_eq!(Log::<String>::default().from(1).count(), 0);
        assert_eq!(
            l.upto(1)
                .map(|e| e.op.as_op().unwrap().as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
    }

    #[test]
    fn the_common_prefix_of_two_moments_of_one_log() {
        let before = log(&[(1, "a"), (1, "b"), (2, "c"), (2, "d")]);
        let cases: [(&[(Term, &str)], Index); 6] = [
            (&[(1, "a"), (1, "b"), (2, "c"), (2, "d"), (3, "e")], 4),
            (&[(1, "a"), (1, "b"), (3, "x")], 2),
            (&[(1, "a"), (3, "x"), (3, "y"), (3, "z")], 1),
            (&[(3, "x")], 0),
            (&[], 0),
            (&[(1, "a"), (1, "b"), (2, "c"), (2, "d")], 4),
        ];
        for (after, expected) in cases {
            let after = log(after);
            assert_eq!(before.common_prefix(&after), expected, "{after:?}");
            assert_eq!(after.common_prefix(&before), expected, "{after:?}");
            let linear = before.iter().zip(after.iter()).take_while(|(a, b)| a == b);
            assert_eq!(linear.count() as Index, expected);
        }
    }

    #[test]
    fn same_upto_compares_prefixes() {
        let a = log(&[(1, "a"), (1, "b")]);
        let b = log(&[(1, "a"), (2, "c")]);
        assert!(a.same_upto(&b, 0) && a.same_upto(&b, 1));
        assert!(!a.same_upto(&b, 2));
        assert!(!a.same_upto(&log(&[(1, "a")]), 2));
    }
}
