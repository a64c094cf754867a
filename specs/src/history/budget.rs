//! What a search may spend: memory, accounted for every table and stack it grows, and time.
//! Rule (bounded search): a search that would pass either limit stops and the verdict is
//! unknown, instead of the machine running out of memory.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How much a check may spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most memory the search's tables and stacks may hold at once, in bytes.
    pub max_memory: usize,
    /// How long the whole check may take.
    pub timeout: Option<Duration>,
}

/// The default memory limit: 2 GiB, a twelfth of a 24 GiB machine shared with other work.
pub const DEFAULT_MAX_MEMORY: usize = 2 << 30;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory: DEFAULT_MAX_MEMORY,
            timeout: None,
        }
    }
}

/// Why a search stopped before it could decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhausted {
    /// Going on would have held more than this many bytes.
    Memory { limit: usize },
    /// The check ran longer than this.
    Time { limit: Duration },
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exhausted::Memory { limit } => write!(
                f,
                "the search would need more than {} MiB of memory (--max-memory)",
                limit >> 20
            ),
            Exhausted::Time { limit } => write!(
                f,
                "the search took longer than {:.1} s (--timeout)",
                limit.as_secs_f64()
            ),
        }
    }
}

/// How often, in steps, the clock is read.
const CLOCK_EVERY: u32 = 1024;

/// What one search holds now, at most, and until when it may run. Every table and stack of
/// the search grows through it, so that no allocation can take it past its limit.
pub(super) struct Budget {
    limits: Limits,
    deadline: Option<Instant>,
    used: usize,
    peak: usize,
    steps: u32,
}

impl Budget {
    /// A budget for a check starting now.
    pub(super) fn new(limits: Limits) -> Self {
        Budget {
            limits,
            deadline: limits.timeout.map(|t| Instant::now() + t),
            used: 0,
            peak: 0,
            steps: 0,
        }
    }

    /// The same deadline with `limits`' memory, nothing held.
    pub(super) fn fresh_within(&self, limits: Limits) -> Self {
        Budget {
            limits,
            used: 0,
            peak: 0,
            steps: 0,
            ..*self
        }
    }

    /// The same limits and deadline, with nothing held (for the next search).
    pub(super) fn fresh(&self) -> Self {
        Budget {
            used: 0,
            steps: 0,
            ..*self
        }
    }

    /// Takes the peak of `other`, a budget of a search made from this one, as this one's
    /// if it is higher.
    pub(super) fn absorb(&mut self, other: &Budget) {
        self.peak = self.peak.max(other.peak);
    }

    /// The most this budget ever held, in bytes.
    pub(super) fn peak(&self) -> usize {
        self.peak
    }

    /// Takes `bytes` more, unless that passes the limit.
    pub(super) fn charge(&mut self, bytes: usize) -> Result<(), Exhausted> {
        let used = self.used.saturating_add(bytes);
        if used > self.limits.max_memory {
            return Err(Exhausted::Memory {
                limit: self.limits.max_memory,
            });
        }
        self.used = used;
        self.peak = self.peak.max(used);
        Ok(())
    }

    /// Gives `bytes` back.
    pub(super) fn release(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// One step of the search: fails once the deadline has passed.
    pub(super) fn step(&mut self) -> Result<(), Exhausted> {
        self.steps += 1;
        if self.steps.is_multiple_of(CLOCK_EVERY) {
            if let (Some(deadline), Some(limit)) = (self.deadline, self.limits.timeout) {
                if Instant::now() > deadline {
                    return Err(Exhausted::Time { limit });
                }
            }
        }
        Ok(())
    }

    /// Makes room for one more element in `vec`, growing it by doubling as `Vec` does, but
    /// only if the old and the new buffer fit together (both exist while it moves).
    pub(super) fn room_in_vec<T>(&mut self, vec: &mut Vec<T>) -> Result<(), Exhausted> {
        if vec.len() < vec.capacity() {
            return Ok(());
        }
        let (old, new) = (vec.capacity(), (2 * vec.capacity()).max(4));
        self.charge(new * size_of::<T>())?;
        vec.reserve_exact(new - vec.len());
        self.release(old * size_of::<T>());
        self.charge((vec.capacity() - new) * size_of::<T>())
    }

    /// Makes room for one more entry in a hash table of `len` entries of `T`, holding
    /// `capacity` of them, that `reserve` grows: charged as old and new table together.
    fn room_in_table<T>(
        &mut self,
        len: usize,
        capacity: usize,
        reserve: impl FnOnce() -> usize,
    ) -> Result<(), Exhausted> {
        if len < capacity {
            return Ok(());
        }
        let new = table_bytes::<T>(capacity.max(3) * 2 + 1);
        self.charge(new)?;
        let grown = reserve();
        self.release(table_bytes::<T>(capacity));
        self.release(new);
        self.charge(table_bytes::<T>(grown))
    }

    /// Room for one more entry in `set`.
    pub(super) fn room_in_set<T: Hash + Eq>(
        &mut self,
        set: &mut HashSet<T>,
    ) -> Result<(), Exhausted> {
        self.room_in_table::<T>(set.len(), set.capacity(), || {
            set.reserve(1);
            set.capacity()
        })
    }

    /// Room for one more entry in `map`.
    pub(super) fn room_in_map<K: Hash + Eq, V>(
        &mut self,
        map: &mut HashMap<K, V>,
    ) -> Result<(), Exhausted> {
        self.room_in_table::<(K, V)>(map.len(), map.capacity(), || {
            map.reserve(1);
            map.capacity()
        })
    }
}

/// The bytes a hash table (std's, a SwissTable) of `capacity` entries of `T` allocates: a
/// power of two of slots at most seven eighths full, one control byte per slot, and a group
/// of control bytes more.
fn table_bytes<T>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let slots = (capacity * 8).div_ceil(7).next_power_of_two().max(4);
    slots * (size_of::<T>() + 1) + 16
}

/// An upper bound on the heap bytes of a `BTreeMap` or `BTreeSet` of `len` entries of
/// `entry` bytes: every node but the root is at least half full (five of eleven entries),
/// and each node holds eleven entries, twelve edges and a header.
pub(super) fn btree_bytes(len: usize, entry: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (len / 5 + 1) * (11 * entry + 12 * size_of::<usize>() + 16)
}

/// The heap bytes of a string of `len` bytes held out of line (with an allocation header),
/// an upper bound for `String` and `SmolStr` alike.
pub(super) fn string_bytes(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len + 32
    }
}

/// An upper bound on the heap bytes of a state made of ordered maps and sets of `entry`
/// bytes per entry, and strings, read from its `Debug` text: every string appears there
/// whole, and every map entry and struct field takes a `:` or a `,`, so counting those
/// counts at least every entry.
pub(super) fn debug_heap_bytes(state: &impl fmt::Debug, entry: usize) -> usize {
    let text = format!("{state:?}");
    let entries = text.bytes().filter(|&b| b == b':' || b == b',').count();
    btree_bytes(entries, entry) + entries * string_bytes(1) + text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_what_passes_its_limit_and_takes_back_what_is_released() {
        let mut budget = Budget::new(Limits {
            max_memory: 100,
            timeout: None,
        });
        assert_eq!(budget.charge(60), Ok(()));
        assert_eq!(budget.charge(41), Err(Exhausted::Memory { limit: 100 }));
        budget.release(50);
        assert_eq!(budget.charge(90), Ok(()));
        assert_eq!(budget.peak(), 100);
    }

    #[test]
    fn tables_are_charged_as_they_grow() {
        let mut budget = Budget::new(Limits::default());
        let mut set = HashSet::new();
        for i in 0..1000u64 {
            budget.room_in_set(&mut set).unwrap();
            set.insert(i);
        }
        assert_eq!(budget.used, table_bytes::<u64>(set.capacity()));
        assert!(budget.used >= 1000 * 9);
        let mut vec = Vec::new();
        let mut budget = Budget::new(Limits::default());
        for i in 0..1000u64 {
            budget.room_in_vec(&mut vec).unwrap();
            vec.push(i);
        }
        assert_eq!(budget.used, vec.capacity() * 8);
    }

    #[test]
    fn a_table_that_would_pass_the_limit_does_not_grow() {
        let mut budget = Budget::new(Limits {
            max_memory: 4096,
            timeout: None,
        });
        let mut set = HashSet::new();
        let error = (0..10_000u64).try_for_each(|i| {
            budget.room_in_set(&mut set)?;
            set.insert(i);
            Ok(())
        });
        assert_eq!(error, Err(Exhausted::Memory { limit: 4096 }));
        assert!(table_bytes::<u64>(set.capacity()) <= 4096);
    }

    #[test]
    fn a_deadline_in_the_past_stops_the_search() {
        let mut budget = Budget::new(Limits {
            max_memory: usize::MAX,
            timeout: Some(Duration::ZERO),
        });
        let stopped = (0..CLOCK_EVERY).try_for_each(|_| budget.step());
        assert_eq!(
            stopped,
            Err(Exhausted::Time {
                limit: Duration::ZERO
            })
        );
    }
}
