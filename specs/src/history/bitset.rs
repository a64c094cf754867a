//! The set of operations linearized so far, as one half of the search's memo key.

/// A set of indexes. Rule (Lowe's memoization): two search nodes with the same
/// set and the same spec state have the same future, so each node's set is stored in the
/// memo. Operations are numbered in invocation order and the search linearizes them mostly
/// in that order, so the set is a run of full words and a short tail: the key keeps only
/// the run's length and the tail, which keeps the memo small on long histories.
#[derive(Clone, Debug)]
struct Bits {
    words: Vec<u64>,
    /// Every word before `full` is all ones.
    full: usize,
    /// Every word from `end` on is zero.
    end: usize,
}

/// A canonical, compact copy of a [`Bits`] set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    full: usize,
    tail: Box<[u64]>,
}

impl Bits {
    fn new(len: usize) -> Self {
        Bits {
            words: vec![0; len.div_ceil(64)],
            full: 0,
            end: 0,
        }
    }

    fn insert(&mut self, i: usize) {
        let word = i / 64;
        self.words[word] |= 1 << (i % 64);
        self.end = self.end.max(word + 1);
        while self.full < self.end && self.words[self.full] == u64::MAX {
            self.full += 1;
        }
    }

    fn remove(&mut self, i: usize) {
        let word = i / 64;
        self.words[word] &= !(1 << (i % 64));
        self.full = self.full.min(word);
        while self.end > self.full && self.words[self.end - 1] == 0 {
            self.end -= 1;
        }
    }

    fn key(&self) -> Key {
        Key {
            full: self.full,
            tail: self.words[self.full..self.end].into(),
        }
    }
}

/// The operations linearized so far. Operations with an unknown outcome may never be
/// linearized, and would leave holes that keep the run of full words short; they are
/// counted in a set of their own.
#[derive(Clone, Debug)]
pub(super) struct Linearized {
    returned: Bits,
    unknown: Bits,
    /// Per operation: whether its outcome is unknown, and its index in that set.
    slot: Vec<(bool, usize)>,
}

impl Linearized {
    /// An empty set of the operations whose outcomes are unknown where `unknown` is true.
    pub(super) fn new(unknown: impl Iterator<Item = bool>) -> Self {
        let mut counts = [0, 0];
        let slot: Vec<(bool, usize)> = (unknown.map(|u| {
            counts[usize::from(u)] += 1;
            (u, counts[usize::from(u)] - 1)
        }))
        .collect();
        Linearized {
            returned: Bits::new(counts[0]),
            unknown: Bits::new(counts[1]),
            slot,
        }
    }

    fn bits(&mut self, i: usize) -> (&mut Bits, usize) {
        match self.slot[i] {
            (false, j) => (&mut self.returned, j),
            (true, j) => (&mut self.unknown, j),
        }
    }

    pub(super) fn insert(&mut self, i: usize) {
        let (bits, j) = self.bits(i);
        bits.insert(j);
    }

    pub(super) fn remove(&mut self, i: usize) {
        let (bits, j) = self.bits(i);
        bits.remove(j);
    }

    /// A canonical, compact copy of the set, to memoize.
    pub(super) fn key(&self) -> MemoKey {
        MemoKey(self.returned.key(), self.unknown.key())
    }

    /// The heap bytes the set holds.
    pub(super) fn heap_bytes(&self) -> usize {
        size_of::<u64>() * (self.returned.words.len() + self.unknown.words.len())
            + size_of::<(bool, usize)>() * self.slot.len()
    }
}

/// The set of operations linearized as a memo key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct MemoKey(Key, Key);

impl MemoKey {
    /// The heap bytes the key holds beyond its own size: its two tails, each a separate
    /// allocation.
    pub(super) fn heap_bytes(&self) -> usize {
        let tail = |key: &Key| match key.tail.len() {
            0 => 0,
            words => words * size_of::<u64>() + 16,
        };
        tail(&self.0) + tail(&self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_sets_have_equal_keys_whatever_the_path() {
        let mut a = Bits::new(200);
        let mut b = Bits::new(200);
        for i in 0..130 {
            a.insert(i);
        }
        a.insert(150);
        for i in (0..130).rev() {
            b.insert(i);
        }
        b.insert(199);
        b.insert(150);
        b.remove(199);
        assert_eq!(a.key(), b.key());
        a.remove(3);
        assert_ne!(a.key(), b.key());
        a.insert(3);
        assert_eq!(a.key(), b.key());
    }
}
