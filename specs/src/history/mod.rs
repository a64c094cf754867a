//! The offline history checker: is a recorded concurrent history linearizable with respect
//! to one of our sequential specs?
//!
//! A history is a list of operations, each with the client that invoked it, when it was
//! invoked, and either when it returned and what, or nothing: an operation whose reply never
//! came (a timeout, a crash) may have taken effect at any moment after its invocation, or
//! never. The search is Wing and Gong's, with Lowe's memoization of (operations linearized,
//! spec state); histories of specs that are products of independent objects are checked one
//! object at a time (P-compositionality, Herlihy and Wing).

mod bitset;
mod budget;
mod check;
pub mod format;
pub mod generate;
mod report;
mod search;
mod specs;
mod states;
mod unknown;

pub use budget::{Exhausted, Limits, DEFAULT_MAX_MEMORY};
pub use check::{analyze, check, check_within, Analysis, Part, PartVerdict};
pub use report::{Failure, Row, Undecided};

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use stateright::semantics::SequentialSpec;
use std::fmt::{Debug, Display};
use std::hash::Hash;

/// Who invoked an operation: a client id, or a Jepsen process number.
pub type Client = u64;
/// When an event happened, on one clock for the whole history (a line number will do).
pub type Time = u64;

/// One operation of a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation<Op, Ret> {
    pub client: Client,
    pub op: Op,
    pub invoked: Time,
    pub outcome: Outcome<Ret>,
}

impl<Op, Ret> Operation<Op, Ret> {
    /// `client`'s `op`, invoked at `invoked`, whose reply never came.
    pub fn unknown(client: Client, op: Op, invoked: Time) -> Self {
        Operation {
            client,
            op,
            invoked,
            outcome: Outcome::Unknown,
        }
    }

    /// The reply, if it arrived.
    pub fn ret(&self) -> Option<&Ret> {
        match &self.outcome {
            Outcome::Returned { ret, .. } => Some(ret),
            Outcome::Unknown => None,
        }
    }

    /// When the reply arrived, if it did.
    pub fn returned(&self) -> Option<Time> {
        match self.outcome {
            Outcome::Returned { at, .. } => Some(at),
            Outcome::Unknown => None,
        }
    }
}

/// How an operation ended, as far as the client knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome<Ret> {
    /// The reply `ret` arrived at `at`: the operation took effect once, in between.
    Returned { at: Time, ret: Ret },
    /// No reply: the operation took effect once after its invocation, or never.
    Unknown,
}

/// A sequential spec the checker can check histories against. Rule (P-compositionality):
/// a history is linearizable iff its restriction to each independent object is.
pub trait HistorySpec:
    SequentialSpec<
        Op: Clone + Debug + Display + Eq + Hash,
        Ret: Clone + Debug + PartialEq + Display,
    > + Clone
    + Default
    + Eq
    + Hash
{
    /// The independent object `op` touches (a key of a map), or `None` if the spec's
    /// objects are not independent and the history must be checked as a whole.
    fn partition(op: &Self::Op) -> Option<SmolStr>;

    /// True if `op`, having returned `ret` (`None`: an unknown outcome), changed nothing,
    /// whatever the state was: a read, or a write whose result says it failed. Such an
    /// operation with an unknown outcome constrains nothing, and the search need not
    /// branch on where it goes.
    fn changes_nothing(op: &Self::Op, ret: Option<&Self::Ret>) -> bool;

    /// What the recorded results of a history show of the values its writes wrote (for a
    /// map: the values its reads returned).
    type Seen: Default;

    /// Adds what `ret` shows to `seen`.
    fn see(seen: &mut Self::Seen, ret: &Self::Ret);

    /// `op` with the value it writes replaced by a placeholder, if neither that value nor
    /// the placeholder is in `seen`; `None` if `op` writes no value or its value was seen.
    /// Rule (an unseen value): no result can tell such writes apart, so the search may
    /// treat all writes that differ only in an unseen value as
    /// copies of one write.
    fn unseen(op: &Self::Op, seen: &Self::Seen) -> Option<Self::Op>;

    /// False only if no sequence of operations from this state can make `op` return
    /// `ret`, where the only operations that can take the state back are those of
    /// `rewinds` (see [`HistorySpec::rewinds`]). Rule (a result out of reach): the search
    /// gives up on a node as soon as a pending operation's result is out of reach, instead
    /// of when its return comes. `true` is always sound; specs whose states only move
    /// forward (a version that grows, a list that is only appended to) say more.
    fn reachable<'a>(
        &self,
        op: &Self::Op,
        ret: &Self::Ret,
        rewinds: impl Iterator<Item = &'a Self::Op>,
    ) -> bool
    where
        Self::Op: 'a;

    /// True if `op` may take the state back where [`HistorySpec::reachable`] assumes it
    /// only moves forward (a put that replaces a list).
    fn rewinds(op: &Self::Op) -> bool;

    /// An upper bound on the heap memory this state holds, so that the search can account
    /// for every state it keeps.
    fn heap_bytes(&self) -> usize;
}

/// The history `ops` of `S`, the type the parsers return.
pub type History<S> = Vec<Operation<<S as SequentialSpec>::Op, <S as SequentialSpec>::Ret>>;

/// Whether a history is linearizable; if not, where it fails; or why the checker could
/// not tell within its limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    NotLinearizable(Failure),
    /// Unknown: the search stopped at a limit (every partition it could decide was
    /// linearizable).
    Unknown(Undecided),
}
