//! Messages a server will never act on. A model may drop such a message from its network:
//! delivering it is a no-op in the receiver's current state and in every later one, so
//! keeping it in flight only multiplies states that no step can tell apart.

use super::replica::StateMachine;
use super::server::{RaftState, Role};
use super::types::Msg;
use stateright::actor::Id;

impl<SM: StateMachine> RaftState<SM> {
    /// True if delivering `msg` from `src` changes nothing, now or after any later step,
    /// crash or recovery of this server. It rests on two facts: the term never decreases
    /// (it is saved with every change, and recovery restores it), and in a given term a
    /// server is a candidate only before it is anything else (campaigning moves to a new
    /// term; recovery makes a follower).
    ///
    /// - A vote of an older term, a refusal, or a grant already counted (or arriving when
    ///   this server no longer campaigns in that term) is never counted.
    /// - An AppendEntries reply of an older term, or of the current term at a follower
    ///   (which cannot lead in its current term), is never used.
    /// - Client replies and redirects are not for servers.
    pub fn ignores_forever(&self, src: Id, msg: &Msg<SM::Op, SM::Ret>) -> bool {
        match *msg {
            Msg::Vote { term, granted } => {
                let counted = match &self.role {
                    Role::Candidate { votes } => votes.contains(&src),
                    Role::Follower { .. } | Role::Leader(_) => true,
                };
                term < self.term || (term == self.term && (!granted || counted))
            }
            Msg::Appended { term, .. } => {
                let follows = matches!(self.role, Role::Follower { .. });
                term < self.term || (term == self.term && follows)
            }
            Msg::Client(ref client) => !client.is_request(),
            Msg::RequestVote { .. } | Msg::Append { .. } => false,
        }
    }
}
