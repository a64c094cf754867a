//! Messages a server will never act on. A model may drop such a message from its network:
//! delivering it is a no-op in the receiver's current state and in every later one, so
//! keeping it in flight only multiplies states that no step can tell apart.

use super::replica::StateMachine;
use super::rules::TermOrder;
use super::server::{RaftState, Role};
use super::types::Msg;
use stateright::actor::Id;

impl<SM: StateMachine> RaftState<SM> {
    /// True if delivering `msg` from `src` changes nothing, now or after any later step,
    /// crash or recovery of this server. It reads the server's own rules (`rules`), and
    /// rests on two facts: the term never decreases (it is saved with every change, and
    /// recovery restores it), and in a given term a server is a candidate only before it
    /// is anything else (campaigning moves to a new term; recovery makes a follower).
    ///
    /// - A message of a newer term is acted on: its term is adopted, or it is a pre-vote
    ///   (answered) or a pre-vote's grant (counted, now or in a later pre-vote round of
    ///   this term).
    /// - A message of an older term is ignored unless the term rule answers it, and it stays
    ///   of an older term.
    /// - A vote of the current term that does not count now never will: a server stops
    ///   campaigning in a term for good, and a voter once counted stays counted.
    /// - An AppendEntries reply of the current term at a follower is never used: only a
    ///   leader uses replies, and a follower never leads its current term.
    /// - A pre-vote reply of the current term is never used: a grant counts only at a
    ///   server one term behind it, and a refusal of a term already reached says nothing.
    /// - Client and administrator replies and redirects are not for servers.
    pub fn ignores_forever(&self, src: Id, msg: &Msg<SM::Op, SM::Ret>) -> bool {
        let Some(term) = msg.term() else {
            return match msg {
                Msg::Client(client) => !client.is_request(),
                Msg::Admin(admin) => !admin.is_request(),
                _ => false,
            };
        };
        match self.term_order(term) {
            TermOrder::Newer => false,
            TermOrder::Older => self.answer_to_older(msg).is_none(),
            TermOrder::Current => match *msg {
                Msg::Vote { granted, .. } => !self.counts_vote(src, granted),
                Msg::Appended { .. } => matches!(self.role, Role::Follower { .. }),
                Msg::PreVoted { .. } => true,
                Msg::RequestVote { .. }
                | Msg::PreVote { .. }
                | Msg::Append { .. }
                | Msg::Snapshot { .. }
                | Msg::Client(_)
                | Msg::Admin(_) => false,
            },
        }
    }

    /// True if `msg` from `src` is an AppendEntries reply of the current term that this
    /// server, leading that term, has nothing to learn from, now or after any later step,
    /// provided it runs without check-quorum (with it, every answer is news after each
    /// check clears the active followers) and without pipelining (with it, sending moves
    /// the next index up, and a refusal may become news): its heartbeat round is
    /// acknowledged already, and a success is matched already, or a refusal names no
    /// index strictly between the follower's match and next index. While it leads, the match and the acknowledged
    /// round only grow, and a next index moves only to one past a match or down to a
    /// refusal's index above the match, so the reply never becomes news; once it no
    /// longer leads its term, [`RaftState::ignores_forever`] holds.
    pub fn acknowledges_nothing_new(&self, src: Id, msg: &Msg<SM::Op, SM::Ret>) -> bool {
        let (
            Role::Leader(leader),
            Msg::Appended {
                term,
                success,
                index,
                round,
            },
        ) = (&self.role, msg)
        else {
            return false;
        };
        let (Some(&matched), Some(&next), Some(&acked)) = (
            leader.matched.get(&src),
            leader.next.get(&src),
            leader.acked.get(&src),
        ) else {
            return false;
        };
        let moves = match success {
            true => *index > matched,
            false => matched < *index && *index < next,
        };
        *term == self.term && *round <= acked && !moves
    }
}
