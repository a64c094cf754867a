//! The Raft log: entries at indexes 1 to `len`, in a persistent vector.
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

/// A Raft log. Index `i` (1-based, as in the paper) is the entry at position `i - 1`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound(
    serialize = "Op: Clone + Serialize",
    deserialize = "Op: Clone + Deserialize<'de>"
))]
pub struct Log<Op: Clone>(im::Vector<Entry<Op>>);

impl<Op: Clone> Default for Log<Op> {
    fn default() -> Self {
        Log(im::Vector::new())
    }
}

impl<Op: Clone> FromIterator<Entry<Op>> for Log<Op> {
    fn from_iter<I: IntoIterator<Item = Entry<Op>>>(entries: I) -> Self {
        Log(entries.into_iter().collect())
    }
}

impl<Op: Clone> From<Vec<Entry<Op>>> for Log<Op> {
    fn from(entries: Vec<Entry<Op>>) -> Self {
        entries.into_iter().collect()
    }
}

/// A log equals the list of its entries.
impl<Op: Clone + PartialEq> PartialEq<Vec<Entry<Op>>> for Log<Op> {
    fn eq(&self, entries: &Vec<Entry<Op>>) -> bool {
        self.0.iter().eq(entries)
    }
}

impl<Op: Clone + PartialEq, const N: usize> PartialEq<[Entry<Op>; N]> for Log<Op> {
    fn eq(&self, entries: &[Entry<Op>; N]) -> bool {
        self.0.iter().eq(entries)
    }
}

impl<Op: Clone> Log<Op> {
    /// The index of the last entry; 0 for an empty log.
    pub fn last_index(&self) -> Index {
        self.0.len() as Index
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entry at `index`, if the log has one there (none at index 0).
    pub fn get(&self, index: Index) -> Option<&Entry<Op>> {
        let position = usize::try_from(index).ok()?.checked_sub(1)?;
        self.0.get(position)
    }

    /// The term of the entry at `index`; 0 at index 0 or past the end.
    pub fn term_at(&self, index: Index) -> Term {
        self.get(index).map_or(0, |e| e.term)
    }

    /// The entries from `index` on (all of them for index 0 or 1). Finding where to start
    /// takes logarithmic time, not a walk over the entries before it.
    pub fn from(&self, index: Index) -> impl Iterator<Item = &Entry<Op>> {
        let start = (index.max(1) - 1) as usize;
        let rest = (start < self.0.len()).then(|| self.0.focus().narrow(start..));
        rest.into_iter().flatten()
    }

    /// The entries up to and including `index`.
    pub fn upto(&self, index: Index) -> impl Iterator<Item = &Entry<Op>> {
        self.0.iter().take(index as usize)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry<Op>> {
        self.0.iter()
    }

    /// Appends `entry` at index `last_index() + 1`.
    pub fn push(&mut self, entry: Entry<Op>) {
        self.0.push_back(entry);
    }

    /// Keeps the entries up to and including `index`, deleting the rest.
    pub fn truncate(&mut self, index: Index) {
        self.0.truncate(index as usize);
    }
}

impl<Op: Clone + PartialEq> Log<Op> {
    /// True if this log and `other` hold the same entries up to and including `index`
    /// (false if either is shorter).
    pub fn same_upto(&self, other: &Self, index: Index) -> bool {
        self.last_index() >= index
            && other.last_index() >= index
            && self.upto(index).eq(other.upto(index))
    }

    /// The length of the longest prefix that this log and `other`, an earlier or later log
    /// of the same server, have in common, found by binary search. Sound because an entry
    /// is never changed in place: a log only loses a suffix and gains entries at its end,
    /// and the leader of a term never appends two different entries at one index, so once
    /// the two logs differ at an index they differ at every later index both hold (the
    /// Log Matching property, figure 3, between two moments of one server).
    pub fn common_prefix(&self, other: &Self) -> Index {
        let (mut same, mut differs) = (0, self.last_index().min(other.last_index()) + 1);
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
        if self.0.iter().all(|e| plan.rewrite(&e.client) == e.client) {
            return self.clone();
        }
        Log(self.0.iter().map(|e| e.rewrite(plan)).collect())
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
        assert_eq!(l.from(2).map(|e| e.op.as_str()).collect::<Vec<_>>(), ["b"]);
        assert_eq!(l.from(0).count(), 2);
        assert_eq!((l.from(3).count(), l.from(9).count()), (0, 0));
        assert_eq!(Log::<String>::default().from(1).count(), 0);
        assert_eq!(l.upto(1).map(|e| e.op.as_str()).collect::<Vec<_>>(), ["a"]);
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
