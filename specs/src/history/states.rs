//! The spec states a search has met, each stored once and named by a number, so that the
//! memo and the search stack hold numbers instead of copies of states.

use super::budget::{Budget, Exhausted};
use super::HistorySpec;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// A state's number.
pub(super) type StateId = u32;

/// No further state with the same hash.
const NONE: StateId = StateId::MAX;

/// Every distinct state met, in the order met. Rule (Lowe's memoization): two search nodes
/// with the same set and equal states have the same future; interning makes "equal states"
/// a comparison of numbers, and keeps one copy of each.
pub(super) struct States<S> {
    states: Vec<S>,
    /// Per state hash: the last state met with that hash.
    by_hash: HashMap<u64, StateId>,
    /// Per state: the state met before it with the same hash, or [`NONE`].
    same_hash: Vec<StateId>,
    hasher: RandomState,
}

impl<S: HistorySpec> States<S> {
    pub(super) fn new() -> Self {
        States {
            states: Vec::new(),
            by_hash: HashMap::new(),
            same_hash: Vec::new(),
            hasher: RandomState::new(),
        }
    }

    pub(super) fn get(&self, id: StateId) -> &S {
        &self.states[id as usize]
    }

    /// The number of `state`, which is stored if it is new: its heap and its slots are
    /// charged to `budget`.
    pub(super) fn intern(&mut self, state: S, budget: &mut Budget) -> Result<StateId, Exhausted> {
        let hash = self.hasher.hash_one(&state);
        let mut id = self.by_hash.get(&hash).copied().unwrap_or(NONE);
        while id != NONE {
            if self.states[id as usize] == state {
                return Ok(id);
            }
            id = self.same_hash[id as usize];
        }
        let id = StateId::try_from(self.states.len())
            .ok()
            .filter(|&id| id != NONE)
            .expect("fewer than 2^32 states fit in memory");
        budget.charge(state.heap_bytes())?;
        budget.room_in_vec(&mut self.states)?;
        budget.room_in_vec(&mut self.same_hash)?;
        budget.room_in_map(&mut self.by_hash)?;
        self.states.push(state);
        self.same_hash
            .push(self.by_hash.insert(hash, id).unwrap_or(NONE));
        Ok(id)
    }
}
