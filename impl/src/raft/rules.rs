//! Raft's term rule, stated once: how a message's term compares with the server's, and how
//! a message of an older term is answered. The server's `on_msg` acts by it for every
//! message between servers.

use super::replica::StateMachine;
use super::server::RaftState;
use super::types::{Msg, Term};

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
    /// behind (figure 2, each receiver's rule 1); a reply of an older term is ignored. The
    /// rejection echoes the AppendEntries' heartbeat round, as every reply does.
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
            Msg::Append { round, .. } => Some(Msg::Appended {
                term,
                success: false,
                index: 0,
                round,
            }),
            Msg::Vote { .. } | Msg::Appended { .. } | Msg::Client(_) => None,
        }
    }
}
