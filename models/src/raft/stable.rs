//! A stable leader, and the property that no returning server deposes it (Raft
//! dissertation §9.6).
//!
//! A leader is *stable* while a majority follows it: it leads term `t`, and enough live
//! servers of term `t` that know it as their leader (their election timers have not fired
//! since they last heard from it) make a majority with it. A server that was cut off,
//! whose timer fired, deposes such a leader in the paper's Raft: it campaigns in term
//! `t + 1`, and its RequestVote makes every server it reaches, the leader too, adopt that
//! term. With pre-vote it does not raise its term at all, as the majority refuses it.
//!
//! The property is about the step: the leader must be stable before it and a term past it
//! appear in it. A state alone cannot tell a stable leader being deposed from one that
//! became stable when its end was already under way: a server already past its term, or
//! holding (or about to receive) a pre-vote granted for a later term by a follower whose
//! timer had fired before it heard from the leader again. Such a leader is not watched.
//! So the model notes, after each step, the term of a leader stable since it began being
//! stable with nothing of a later term about (`Observed::stable`).
//!
//! The claim needs three servers. With five, an untimed model lets a pre-candidate
//! gather grants over many rounds, each from a follower whose timer fired and that then
//! heard from the leader again, until they add up to a majority; in real time a round
//! lasts one election timeout and its grants count in it alone.

use super::{live_servers, RaftActors, State};
use crate::in_flight::any_in_flight;
use coord::raft::{Msg, Role, Term};
use stateright::actor::Id;

pub const NOT_DEPOSED: &str = "a stable leader is not deposed";
pub const SEEN: &str = "a leader is stable";

/// The term of a live leader that a majority of the servers follows, itself included.
fn stable_now(state: &State) -> Option<Term> {
    let servers = state.actor_states.iter().filter(|s| s.server().is_some());
    let quorum = servers.count() / 2 + 1;
    live_servers(state)
        .filter(|(_, s)| s.is_leader())
        .find_map(|(i, leader)| {
            let follows = |s: &coord::raft::RaftState<_>| {
                s.term == leader.term
                    && s.role
                        == Role::Follower {
                            leader: Some(Id::from(i)),
                        }
            };
            let followers = live_servers(state).filter(|(_, s)| follows(s)).count();
            (1 + followers >= quorum).then_some(leader.term)
        })
}

/// The note after a step into `state`: the term of its stable leader if that leader was
/// already watched before the step, or became stable with no server past its term.
pub fn stable_after(state: &State) -> Option<Term> {
    let term = stable_now(state)?;
    let watched = state.history.stable == Some(term);
    (watched || !under_way(state, term)).then_some(term)
}

/// Whether something of a term past `term` is about: a server in it, a pre-candidate for
/// it holding another server's grant, or a grant for it in flight.
fn under_way(state: &State, term: Term) -> bool {
    let past = live_servers(state).any(|(_, s)| {
        s.term > term || matches!(&s.role, Role::PreCandidate { votes } if votes.len() > 1)
    });
    let granted =
        |m: &Msg<_, _>| matches!(*m, Msg::PreVoted { term: t, granted: true } if t > term);
    past || any_in_flight(&state.network, |env| granted(env.msg))
}

/// While a leader is stable, no server's term passes its own: a server that reached a
/// later term would depose it as soon as its messages arrive.
pub fn not_deposed(_: &RaftActors, state: &State) -> bool {
    state
        .history
        .stable
        .is_none_or(|t| live_servers(state).all(|(_, s)| s.term <= t))
}

/// The property above is not vacuous: a leader becomes stable.
pub fn seen(_: &RaftActors, state: &State) -> bool {
    state.history.stable.is_some()
}
