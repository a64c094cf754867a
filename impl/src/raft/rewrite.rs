//! Renaming actors in Raft's states and messages, for the models' symmetry reduction: a
//! [`RewritePlan`] maps every actor id to its new name, and each type below rewrites the
//! ids it holds. Operations and results name no actor, so they are copied unchanged.
//!
//! A snapshot is copied unchanged too: it names clients (in its session table), which the
//! models never rename (see `coord_models::symmetry`), and the servers of its
//! configuration, which they rename only where every server is interchangeable, so that
//! a permutation leaves the set as it is.

use super::membership::Membership;
use super::replica::{Replica, StateMachine};
use super::server::{LeaderState, PendingRead, RaftState, Role};
use super::types::{Entry, Msg, Payload, RaftStorage};
use stateright::actor::Id;
use stateright::{Rewrite, RewritePlan};

/// A configuration entry names servers, renamed with the rest.
impl<Op: Clone> Rewrite<Id> for Entry<Op> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let op = match &self.op {
            Payload::Config(members) => Payload::Config(members.rewrite(plan)),
            Payload::Op(_) | Payload::Noop => self.op.clone(),
        };
        Entry {
            client: plan.rewrite(&self.client),
            op,
            ..self.clone()
        }
    }
}

impl<Op: Clone> Rewrite<Id> for RaftStorage<Op> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        RaftStorage {
            term: self.term,
            voted_for: self.voted_for.rewrite(plan),
            log: self.log.rewrite(plan),
            snapshot: self.snapshot.clone(),
        }
    }
}

impl<Op: Clone, Ret: Clone> Rewrite<Id> for Msg<Op, Ret> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            Msg::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
                round,
            } => Msg::Append {
                term: *term,
                prev_index: *prev_index,
                prev_term: *prev_term,
                entries: entries.rewrite(plan),
                commit: *commit,
                round: *round,
            },
            Msg::Client(msg) => Msg::Client(msg.rewrite(plan)),
            Msg::Admin(msg) => Msg::Admin(msg.rewrite(plan)),
            Msg::RequestVote { .. }
            | Msg::Vote { .. }
            | Msg::PreVote { .. }
            | Msg::PreVoted { .. }
            | Msg::Appended { .. }
            | Msg::Snapshot { .. } => self.clone(),
        }
    }
}

impl<Op: Clone> Rewrite<Id> for PendingRead<Op> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        PendingRead {
            client: plan.rewrite(&self.client),
            ..self.clone()
        }
    }
}

impl<Op: Clone> Rewrite<Id> for Role<Op> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            Role::Follower { leader } => Role::Follower {
                leader: leader.rewrite(plan),
            },
            Role::PreCandidate { votes } => Role::PreCandidate {
                votes: votes.rewrite(plan),
            },
            Role::Candidate { votes } => Role::Candidate {
                votes: votes.rewrite(plan),
            },
            Role::Leader(l) => Role::Leader(LeaderState {
                next: l.next.rewrite(plan),
                matched: l.matched.rewrite(plan),
                round: l.round,
                acked: l.acked.rewrite(plan),
                active: l.active.rewrite(plan),
                reads: l.reads.rewrite(plan),
            }),
        }
    }
}

impl<SM: StateMachine> Rewrite<Id> for Replica<SM> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Replica {
            sm: self.sm.clone(),
            applied: self.applied,
            sessions: self
                .sessions
                .iter()
                .map(|(client, session)| (plan.rewrite(client), session.clone()))
                .collect(),
            config: self.config.rewrite(plan),
        }
    }
}

impl<SM: StateMachine> Rewrite<Id> for RaftState<SM> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        RaftState {
            term: self.term,
            voted_for: self.voted_for.rewrite(plan),
            log: self.log.rewrite(plan),
            snapshot: self.snapshot.clone(),
            role: self.role.rewrite(plan),
            commit: self.commit,
            config: Membership {
                peers: self.config.peers.rewrite(plan),
                ..self.config.clone()
            },
            replica: self.replica.rewrite(plan),
        }
    }
}
