//! Pre-vote and check-quorum (Raft dissertation §9.6 and §6.2, as etcd's `PreVote` and
//! `CheckQuorum`): a server that was cut off does not raise its term and depose a leader
//! that a majority still follows, and a leader that a majority no longer answers steps
//! down, so that the servers it cannot reach elect another.
//!
//! A server whose election timer fires becomes a pre-candidate in its current term and
//! asks every peer whether it would vote for it in the next. A peer grants only if its own
//! election timer has fired since it last heard from a leader ([`RaftState::in_lease`])
//! and the asker's log is at least as up-to-date as its own. With grants from a majority
//! the pre-candidate starts the real election; nobody's term changes before that.

use super::replica::StateMachine;
use super::server::{RaftServer, RaftState, RaftTimer, Role};
use super::types::{Index, Msg, Term};
use stateright::actor::{Id, Out};
use std::borrow::Cow;
use std::collections::BTreeSet;

impl<SM: StateMachine> RaftServer<SM> {
    /// The election timer fired with pre-vote on: count the own pre-vote and ask every
    /// peer for theirs, for the next term; a cluster of one campaigns at once.
    pub(super) fn start_pre_vote(&self, id: Id, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        state.role = Role::PreCandidate {
            votes: BTreeSet::from([id]),
        };
        let msg = Msg::PreVote {
            term: state.term + 1,
            last_index: state.last_index(),
            last_term: state.term_at(state.last_index()),
        };
        o.broadcast(state.config.peers.iter(), &msg);
        self.reset_election_timer(o);
        self.campaign_if_pre_elected(id, state, o);
    }

    /// Pre-vote receiver, for the asker's next term `term`, no older than this server's:
    /// a grant by [`RaftState::grants_pre_vote`] is sent, and changes nothing here (a
    /// refusal is not sent: the asker counts only grants).
    pub(super) fn on_pre_vote(
        &self,
        state: &RaftState<SM>,
        src: Id,
        term: Term,
        last_index: Index,
        last_term: Term,
        o: &mut Out<Self>,
    ) {
        if state.grants_pre_vote(src, term, last_index, last_term) {
            o.send(
                src,
                Msg::PreVoted {
                    term,
                    granted: true,
                },
            );
        }
    }

    /// Pre-vote reply: a grant that [`RaftState::counts_pre_vote`] is counted, and with a
    /// majority the pre-candidate starts the real election.
    pub(super) fn on_pre_voted(
        &self,
        id: Id,
        state: &mut Cow<RaftState<SM>>,
        src: Id,
        term: Term,
        granted: bool,
        o: &mut Out<Self>,
    ) {
        if !state.counts_pre_vote(src, term, granted) {
            return;
        }
        let state = state.to_mut();
        if let Role::PreCandidate { votes } = &mut state.role {
            votes.insert(src);
        }
        self.campaign_if_pre_elected(id, state, o);
    }

    fn campaign_if_pre_elected(&self, id: Id, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        if matches!(&state.role, Role::PreCandidate { votes } if state.config.majority(votes)) {
            self.start_election(id, state, o);
        }
    }

    /// The election timer fired at a server outside the configuration, which does not
    /// campaign: with pre-vote, it has not heard from a leader for a timeout, so it no
    /// longer holds a leader's lease and grants pre-votes (see `membership`).
    pub(super) fn lease_over(&self, state: &mut Cow<RaftState<SM>>) {
        if self.pre_vote && state.in_lease() && !state.is_leader() {
            state.to_mut().role = Role::Follower { leader: None };
        }
    }

    /// The check-quorum timer fired at the leader: if a majority (the leader and the
    /// followers that answered since the last check) is still in touch, start counting
    /// again; otherwise step down, keeping the term, so that a server the leader cannot
    /// reach is free to grant pre-votes to another.
    pub(super) fn check_quorum(&self, state: &mut Cow<RaftState<SM>>, o: &mut Out<Self>) {
        let Role::Leader(leader) = &state.role else {
            return;
        };
        let in_touch = state.config.majority(&leader.active);
        let state = state.to_mut();
        if in_touch {
            state.leader_mut().expect("checked above").active.clear();
            o.set_timer(RaftTimer::CheckQuorum, self.election_timeout.clone());
        } else {
            state.role = Role::Follower { leader: None };
            o.cancel_timer(RaftTimer::Heartbeat);
            self.reset_election_timer(o);
        }
    }
}
