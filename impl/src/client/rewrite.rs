//! Renaming actors in the client's state and messages, for the models' symmetry
//! reduction (see `raft::rewrite`).

use super::{ClientMsg, ClientState};
use stateright::actor::Id;
use stateright::{Rewrite, RewritePlan};

impl Rewrite<Id> for ClientState {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        ClientState {
            next: self.next,
            target: plan.rewrite(&self.target),
            resends: self.resends,
        }
    }
}

impl<Op: Clone, Ret: Clone> Rewrite<Id> for ClientMsg<Op, Ret> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            ClientMsg::Redirect { seq, leader } => ClientMsg::Redirect {
                seq: *seq,
                leader: leader.rewrite(plan),
            },
            ClientMsg::Request { .. } | ClientMsg::Reply { .. } => self.clone(),
        }
    }
}
