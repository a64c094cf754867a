//! Raft's acceptance rules, each stated once: how a message's term compares with the
//! server's, how a message of an older term is answered, when a vote is granted, when a
//! vote counts, and when a log matches an AppendEntries. The server's handlers
//! ([`super::server`]) act by them, and `stale` (which messages a server will never act
//! on, for the models) reads them rather than restating them.

use super::replica::StateMachine;
use super::server::{RaftState, Role};
use super::types::{Index, Msg, Term};
use stateright::actor::Id;

/// How a message's term compares with the server's current term (figure 2, "Rules for
/// Servers" and each RPC's first receiver rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TermOrder {
    /// From an earlier term: answered with the current term, or ignored (see
    /// [`RaftState::answer_to_older`]).
    Older,
    /// Of the current term: acted on.
    Current,
    /// From a later term: the server adopts it, follows, and then acts on the message.
    Newer,
}

impl<SM: StateMachine> RaftState<SM> {
    /// How `term` compares with this server's.
    pub(super) fn term_order(&self, term: Term) -> TermOrder {
        match term.cmp(&self.term) {
            std::cmp::Ordering::Less => TermOrder::Older,
            std::cmp::Ordering::Equal => TermOrder::Current,
            std::cmp::Ordering::Greater => TermOrder::Newer,
        }
    }

    /// The answer to `msg`, of an older term: a RequestVote is refused and an
    /// AppendEntries rejected, each with the current term so that their sender learns it is
    /// behind (figure 2, each receiver's rule 1), and so is a pre-vote; a reply of an older
    /// term is ignored.
    ///
    /// The rejection acknowledges no heartbeat round (round 0, which no read waits for):
    /// its sender may yet lead this newer term, with rounds counted afresh, and an echo of
    /// the older leadership's round would then confirm a read that began after it, though
    /// this server said nothing after that read began (ReadIndex, Raft dissertation §6.4).
    /// Whether a message of a newer term makes this server adopt that term: all do but a
    /// pre-vote and its grant, whose term is one their sender has not reached (Raft
    /// dissertation §9.6: a pre-vote disturbs nobody's term).
    pub(super) fn adopts_term(msg: &Msg<SM::Op, SM::Ret>) -> bool {
        !matches!(
            msg,
            Msg::PreVote { .. } | Msg::PreVoted { granted: true, .. }
        )
    }

    pub(super) fn answer_to_older(
        &self,
        msg: &Msg<SM::Op, SM::Ret>,
    ) -> Option<Msg<SM::Op, SM::Ret>> {
        let term = self.term;
        match *msg {
            Msg::RequestVote { .. } => Some(Msg::Vote {
                term,
                granted: false,
            }),
            Msg::Append { .. } | Msg::Snapshot { .. } => Some(Msg::Appended {
                term,
                success: false,
                index: 0,
                round: 0,
            }),
            Msg::PreVote { .. } => Some(Msg::PreVoted {
                term,
                granted: false,
            }),
            Msg::Vote { .. }
            | Msg::Appended { .. }
            | Msg::PreVoted { .. }
            | Msg::Client(_)
            | Msg::Admin(_) => None,
        }
    }

    /// RequestVote receiver (figure 2), in the current term: grant if this server has not
    /// voted for another candidate in it, does not lead it, and the candidate's log, ending
    /// at (`last_term`, `last_index`), is at least as up-to-date as its own (§5.4.1).
    pub(super) fn grants_vote(&self, candidate: Id, last_index: Index, last_term: Term) -> bool {
        self.voted_for.is_none_or(|v| v == candidate)
            && self.up_to_date(last_index, last_term)
            && !self.is_leader()
    }

    /// §5.4.1: a log ending at (`last_term`, `last_index`) is at least as up-to-date as
    /// this server's.
    fn up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        (last_term, last_index) >= (self.term_at(self.last_index()), self.last_index())
    }

    /// Whether this server has heard from the leader of its term since its election timer
    /// last fired (it leads, or follows a known leader): while it has, it believes the
    /// leader alive and lends no support to an election (Raft dissertation §9.6).
    pub(super) fn in_lease(&self) -> bool {
        matches!(
            self.role,
            Role::Leader(_) | Role::Follower { leader: Some(_) }
        )
    }

    /// Pre-vote receiver (dissertation §9.6), for `term` no older than this server's: grant
    /// if this server would vote for the candidate there (no other vote in `term`, a log at
    /// least as up-to-date) and has not heard from a leader since its election timer last
    /// fired.
    pub(super) fn grants_pre_vote(
        &self,
        candidate: Id,
        term: Term,
        last_index: Index,
        last_term: Term,
    ) -> bool {
        let free = term > self.term || self.voted_for.is_none_or(|v| v == candidate);
        free && !self.in_lease() && self.up_to_date(last_index, last_term)
    }

    /// A pre-vote counts if it is a grant for the term after this server's, this server
    /// still asks for pre-votes, and the voter has not been counted already.
    pub(super) fn counts_pre_vote(&self, voter: Id, term: Term, granted: bool) -> bool {
        granted
            && term == self.term + 1
            && matches!(&self.role, Role::PreCandidate { votes } if !votes.contains(&voter))
    }

    /// Rules for candidates, in the current term: a vote counts if it is a grant, this
    /// server still campaigns, and the voter has not been counted already.
    pub(super) fn counts_vote(&self, voter: Id, granted: bool) -> bool {
        granted && matches!(&self.role, Role::Candidate { votes } if !votes.contains(&voter))
    }

    /// AppendEntries receiver rule 2 (figure 2): the log must hold an entry at
    /// `prev_index` whose term is `prev_term`. If it does not, the error is where the
    /// leader should retry: just past the log's end if the log is shorter, else the first
    /// index of the conflicting term, so that the leader skips that term whole (fast
    /// back-off, §5.3). `prev_index` is at least the snapshot's index, whose term is
    /// known and committed, so the conflicting term starts after it.
    pub(super) fn matches_log(&self, prev_index: Index, prev_term: Term) -> Result<(), Index> {
        if prev_index > self.last_index() {
            return Err(self.last_index() + 1);
        }
        let conflict = self.term_at(prev_index);
        if conflict == prev_term {
            return Ok(());
        }
        let first = (self.log.snapshot_index() + 1..=prev_index)
            .find(|&i| self.term_at(i) == conflict)
            .unwrap_or(prev_index);
        Err(first)
    }
}
