//! What `coord test` needs to know of the system it tests; everything else (the cluster,
//! the clients' loop, the faults, the history, the verdict) is the same for every system.

use coord::net::stats::StatsReply;
use coord_specs::history::{Client, History, HistorySpec};
use rand::rngs::StdRng;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// The operations and results of system `S`'s spec.
pub type Op<S> = <<S as Subject>::Spec as stateright::semantics::SequentialSpec>::Op;
pub type Ret<S> = <<S as Subject>::Spec as stateright::semantics::SequentialSpec>::Ret;

/// A system under test: its workload, how its client actor performs one operation, and
/// how to read back and judge what was written.
pub trait Subject: Sync {
    /// The sequential spec its histories are checked against.
    type Spec: HistorySpec<
        Op: Serialize + DeserializeOwned + Send,
        Ret: Serialize + DeserializeOwned + Send,
    >;
    /// What one client of the workload remembers between its operations.
    type Session: Send;

    /// The name `coord history check --spec` knows the spec by.
    const SPEC: &'static str;

    fn session(&self, client: Client) -> Self::Session;

    /// The client's next operation, chosen at random.
    fn next_op(&self, session: &mut Self::Session, rng: &mut StdRng) -> Op<Self>;

    /// The client saw `ret` for `op`.
    fn saw(&self, session: &mut Self::Session, op: &Op<Self>, ret: &Ret<Self>);

    /// True if `ret` says the operation did not take effect (Jepsen's `:fail`).
    fn failed(&self, ret: &Ret<Self>) -> bool;

    /// Performs `op` with the system's client actor until its reply, `deadline` or `stop`;
    /// calls `on_reply` the moment the reply arrives.
    fn perform(
        &self,
        op: Op<Self>,
        stop: &AtomicBool,
        deadline: Instant,
        on_reply: &mut dyn FnMut(&Ret<Self>),
    ) -> Result<Option<Ret<Self>>, String>;

    /// The reads that read back every acknowledged write of `history`.
    fn read_back(&self, history: &History<Self::Spec>) -> Vec<Op<Self>>;

    /// How many acknowledged writes of `history` the final reads (the operations of
    /// `reader`) show, lost, or do not cover.
    fn lost_writes(&self, history: &History<Self::Spec>, reader: Client) -> Writes;

    /// True if the node whose stats these are leads (the fault injector cuts the leader
    /// off, to make a deposed leader's mistakes likely).
    fn leads(&self, node: &StatsReply) -> bool;

    /// True if every node's state has caught up with the others' (all answered).
    fn settled(&self, nodes: &[StatsReply]) -> bool;
}

/// The acknowledged writes of a run, as the final reads found them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Writes {
    pub acknowledged: usize,
    /// Acknowledged, but the final read shows an older state.
    pub lost: usize,
    /// Acknowledged on a key whose final read got no reply.
    pub unverified: usize,
}
