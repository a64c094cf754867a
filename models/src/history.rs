//! The clients' view of a run, fed to stateright's consistency testers.
//!
//! An operation is invoked when its client first sends the request (retries of the same
//! sequence number are the same operation) and returns when the client receives the first
//! reply for it. An operation that never returns may or may not have taken effect.

use coord::client::{ClientMsg, Wire};
use stateright::actor::{Envelope, Id};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

/// Invocations and returns as seen by every client, checked for linearizability.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct History<Spec: SequentialSpec>
where
    Spec::Op: Clone + Debug + Eq + Hash,
    Spec::Ret: Clone + Debug + Eq + Hash,
{
    pub tester: LinearizabilityTester<Id, Spec>,
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
        History {
            tester: LinearizabilityTester::new(init),
            last: BTreeMap::new(),
            linearizable: true,
        }
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
        if history.last.get(&env.src).is_some_and(|(s, _)| s >= seq) {
            return None;
        }
        let mut next = history.clone();
        next.tester.on_invoke(env.src, op.clone()).ok()?;
        next.last.insert(env.src, (*seq, false));
        next.linearizable = next.tester.serialized_history().is_some();
        Some(next)
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
        if history.last.get(&env.dst) != Some(&(*seq, false)) {
            return None;
        }
        let mut next = history.clone();
        next.tester.on_return(env.dst, ret.clone()).ok()?;
        next.last.insert(env.dst, (*seq, true));
        next.linearizable = next.tester.serialized_history().is_some();
        Some(next)
    }

    /// True if some interleaving of the operations respects real-time order and the spec.
    pub fn is_linearizable(&self) -> bool {
        self.linearizable
    }
}
