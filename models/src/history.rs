//! The clients' view of a run, fed to stateright's consistency testers.
//!
//! An operation is invoked when its client first sends the request (retries of the same
//! sequence number are the same operation) and returns when the client receives the first
//! reply for it. An operation that never returns may or may not have taken effect.

use coord::client::{ClientMsg, Wire};
use stateright::actor::{Envelope, Id};
use stateright::semantics::{
    ConsistencyTester, LinearizabilityTester, SequentialConsistencyTester, SequentialSpec,
};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

/// Invocations and returns as seen by every client, checked for linearizability and,
/// when asked, for sequential consistency (each client's order kept, real time ignored).
///
/// The record sits behind an `Arc`: the checker copies a state's history with every step
/// and for every representative it computes, and only a client's send or receive changes
/// it, so copies share one record until then.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct History<Spec: SequentialSpec>(Arc<Record<Spec>>)
where
    Spec::Op: Clone + Debug + Eq + Hash,
    Spec::Ret: Clone + Debug + Eq + Hash;

/// What a [`History`] holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Record<Spec: SequentialSpec>
where
    Spec::Op: Clone + Debug + Eq + Hash,
    Spec::Ret: Clone + Debug + Eq + Hash,
{
    tester: LinearizabilityTester<Id, Spec>,
    /// The sequential-consistency tester and its verdict, for models that judge it.
    sequential: Option<(SequentialConsistencyTester<Id, Spec>, bool)>,
    /// Each client's latest invoked sequence number and whether it has returned.
    last: BTreeMap<Id, (u64, bool)>,
    /// The tester's verdict, computed when the history changes rather than in every state.
    linearizable: bool,
}

impl<Spec> History<Spec>
where
    Spec: SequentialSpec + Clone + Debug + Hash + Eq,
    Spec::Op: Clone + Debug + Eq + Hash,
    Spec::Ret: Clone + Debug + Eq + Hash,
{
    pub fn new(init: Spec) -> Self {
        History(Arc::new(Record {
            tester: LinearizabilityTester::new(init),
            sequential: None,
            last: BTreeMap::new(),
            linearizable: true,
        }))
    }

    /// A history also checked for sequential consistency.
    pub fn with_sequential(init: Spec) -> Self {
        let sequential = Some((SequentialConsistencyTester::new(init.clone()), true));
        History(Arc::new(Record {
            sequential,
            ..Arc::unwrap_or_clone(History::new(init).0)
        }))
    }

    /// `record_msg_out` hook: a client's first send of a request is an invocation.
    pub fn on_send<C, M: Wire<Spec::Op, Spec::Ret>>(
        _cfg: &C,
        history: &Self,
        env: Envelope<&M>,
    ) -> Option<Self> {
        let Some(ClientMsg::Request { seq, op }) = env.msg.as_client() else {
            return None;
        };
        history.invoke(env.src, *seq, op)
    }

    /// `record_msg_in` hook: the first reply a client receives for its current request is
    /// the return.
    pub fn on_receive<C, M: Wire<Spec::Op, Spec::Ret>>(
        _cfg: &C,
        history: &Self,
        env: Envelope<&M>,
    ) -> Option<Self> {
        let Some(ClientMsg::Reply { seq, ret }) = env.msg.as_client() else {
            return None;
        };
        history.complete(env.dst, *seq, ret)
    }

    /// `client` invokes its request `seq`, `op`: the history with the invocation, or
    /// `None` if the request was invoked before (a retry of it is the same operation).
    pub fn invoke(&self, client: Id, seq: u64, op: &Spec::Op) -> Option<Self> {
        if self.0.last.get(&client).is_some_and(|(s, _)| *s >= seq) {
            return None;
        }
        let mut next = Record::clone(&self.0);
        next.tester.on_invoke(client, op.clone()).ok()?;
        if let Some((tester, consistent)) = &mut next.sequential {
            tester.on_invoke(client, op.clone()).ok()?;
            *consistent = tester.serialized_history().is_some();
        }
        next.last.insert(client, (seq, false));
        next.linearizable = next.tester.serialized_history().is_some();
        Some(History(Arc::new(next)))
    }

    /// `client`'s request `seq` returned `ret`: the history with the return, or `None`
    /// if it is not the client's current request or has returned already.
    pub fn complete(&self, client: Id, seq: u64, ret: &Spec::Ret) -> Option<Self> {
        if !self.awaits(client, seq) {
            return None;
        }
        let mut next = Record::clone(&self.0);
        next.tester.on_return(client, ret.clone()).ok()?;
        if let Some((tester, consistent)) = &mut next.sequential {
            tester.on_return(client, ret.clone()).ok()?;
            *consistent = tester.serialized_history().is_some();
        }
        next.last.insert(client, (seq, true));
        next.linearizable = next.tester.serialized_history().is_some();
        Some(History(Arc::new(next)))
    }

    /// True if `client`'s current request is `seq` and it has not returned.
    pub fn awaits(&self, client: Id, seq: u64) -> bool {
        self.0.last.get(&client) == Some(&(seq, false))
    }

    /// True if some interleaving of the operations respects real-time order and the spec.
    pub fn is_linearizable(&self) -> bool {
        self.0.linearizable
    }

    /// True if some interleaving of the operations keeps each client's order and the
    /// spec (real-time order aside); true when not judged.
    pub fn is_sequentially_consistent(&self) -> bool {
        self.0
            .sequential
            .as_ref()
            .is_none_or(|(_, consistent)| *consistent)
    }
}

/// A model's record of what its clients saw, kept up to date by stateright's
/// `record_msg_out` and `record_msg_in` hooks.
pub trait ClientRecord<Msg>: Clone + Debug + Hash + Sized {
    /// See [`History::on_send`].
    fn on_send<C>(cfg: &C, record: &Self, env: Envelope<&Msg>) -> Option<Self>;
    /// See [`History::on_receive`].
    fn on_receive<C>(cfg: &C, record: &Self, env: Envelope<&Msg>) -> Option<Self>;
}

impl<Spec, M> ClientRecord<M> for History<Spec>
where
    Spec: SequentialSpec + Clone + Debug + Hash + Eq,
    Spec::Op: Clone + Debug + Eq + Hash,
    Spec::Ret: Clone + Debug + Eq + Hash,
    M: Wire<Spec::Op, Spec::Ret>,
{
    fn on_send<C>(cfg: &C, record: &Self, env: Envelope<&M>) -> Option<Self> {
        History::on_send(cfg, record, env)
    }

    fn on_receive<C>(cfg: &C, record: &Self, env: Envelope<&M>) -> Option<Self> {
        History::on_receive(cfg, record, env)
    }
}
