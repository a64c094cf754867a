//! Pre-vote and check-quorum, one story of messages per test. `pv()` is a server of the
//! three-server cluster with both on.

use super::*;

fn pv() -> Server {
    server().with_pre_vote(true)
}

fn pre_vote(term: Term, last_index: Index, last_term: Term) -> M {
    Msg::PreVote {
        term,
        last_index,
        last_term,
    }
}

fn pre_voted(term: Term, granted: bool) -> M {
    Msg::PreVoted { term, granted }
}

/// A follower of term 2 that heard P1 lead it, with a log ending in term 2.
fn following_p1(s: &Server) -> State {
    let follower = follower_with(s, 2, entries(&[1, 2]));
    let step = deliver(s, &follower, p1(), append(2, 2, 2, vec![]));
    assert_eq!(step.state.role, Role::Follower { leader: Some(p1()) });
    step.state
}

/// `state` after its election timer fired with pre-vote on: a pre-candidate.
fn pre_campaign(s: &Server, state: &State) -> State {
    let step = fire(s, state, RaftTimer::Election);
    assert!(matches!(step.state.role, Role::PreCandidate { .. }));
    step.state
}

/// A leader of term 1 elected through a pre-vote, then a vote, from P1.
fn pv_leader(s: &Server) -> State {
    let pre = pre_campaign(s, &start(s, None).0);
    let candidate = deliver(s, &pre, p1(), pre_voted(1, true)).state;
    let step = deliver(s, &candidate, p1(), vote(1, true));
    assert!(step.state.is_leader());
    assert!(sets_timer(&step.cmds, RaftTimer::CheckQuorum));
    step.state
}

#[test]
fn a_timed_out_server_asks_for_pre_votes_without_raising_its_term() {
    let s = pv();
    let follower = follower_with(&s, 2, entries(&[1, 2]));
    let step = fire(&s, &follower, RaftTimer::Election);
    assert_eq!((step.state.term, step.state.voted_for), (2, None));
    assert_eq!(
        step.state.role,
        Role::PreCandidate {
            votes: [me()].into()
        }
    );
    // Nothing durable changed, so nothing is saved; both peers are asked about term 3.
    assert!(saves(&step.cmds).is_empty());
    assert_eq!(
        sends(&step.cmds),
        vec![(p1(), pre_vote(3, 2, 2)), (p2(), pre_vote(3, 2, 2))]
    );
    assert!(sets_timer(&step.cmds, RaftTimer::Election));
}

#[test]
fn a_majority_of_pre_votes_starts_the_real_election() {
    let s = pv();
    let pre = pre_campaign(&s, &follower_with(&s, 2, entries(&[1, 2])));
    let step = deliver(&s, &pre, p2(), pre_voted(3, true));
    assert_eq!((step.state.term, step.state.voted_for), (3, Some(me())));
    assert!(matches!(step.state.role, Role::Candidate { .. }));
    assert_saved_before(&step.cmds, |m| matches!(m, Msg::RequestVote { .. }));
    assert_eq!(
        sends(&step.cmds),
        vec![(p1(), request_vote(3, 2, 2)), (p2(), request_vote(3, 2, 2))]
    );
}

#[test]
fn a_pre_vote_grant_for_another_term_or_a_real_vote_does_not_count() {
    let s = pv();
    let pre = pre_campaign(&s, &follower_with(&s, 2, entries(&[1, 2])));
    for msg in [pre_voted(4, true), pre_voted(2, true), vote(2, true)] {
        let step = deliver(&s, &pre, p1(), msg.clone());
        assert!(!step.changed, "{msg:?} changed {:?}", step.state);
    }
}

#[test]
fn a_follower_that_hears_its_leader_refuses_a_pre_vote_and_keeps_its_term() {
    let s = pv();
    let follower = following_p1(&s);
    let step = deliver(&s, &follower, p2(), pre_vote(3, 5, 2));
    assert!(!step.changed);
    assert_sends_nothing(&step.cmds);
}

#[test]
fn a_follower_whose_timer_fired_grants_a_pre_vote_to_an_up_to_date_log_only() {
    let s = pv();
    let pre = pre_campaign(&s, &following_p1(&s));
    let step = deliver(&s, &pre, p2(), pre_vote(3, 2, 2));
    // The grant changes nothing here: no term, no vote, no timer.
    assert!(!step.changed);
    assert_eq!(the_only_send(&step.cmds), (p2(), pre_voted(3, true)));
    let behind = deliver(&s, &pre, p2(), pre_vote(3, 1, 1));
    assert_sends_nothing(&behind.cmds);
}

#[test]
fn a_pre_vote_from_an_older_term_is_refused_with_the_newer_term_which_its_asker_adopts() {
    let s = pv();
    let follower = follower_with(&s, 5, vec![]);
    let step = deliver(&s, &follower, p1(), pre_vote(3, 0, 0));
    assert_eq!(the_only_send(&step.cmds), (p1(), pre_voted(5, false)));

    let pre = pre_campaign(&s, &follower_with(&s, 2, vec![]));
    let step = deliver(&s, &pre, p1(), pre_voted(5, false));
    assert_eq!(step.state.term, 5);
    assert_eq!(step.state.role, Role::Follower { leader: None });
}

#[test]
fn a_leader_refuses_pre_votes_and_keeps_leading_its_term() {
    let s = pv();
    let leader = pv_leader(&s);
    let step = deliver(&s, &leader, p2(), pre_vote(2, 9, 1));
    assert!(!step.changed);
    assert_sends_nothing(&step.cmds);
}

#[test]
fn without_pre_vote_a_returning_server_deposes_the_leader() {
    let s = server();
    let leader = fresh_leader(&s);
    let step = deliver(&s, &leader, p2(), request_vote(2, 0, 0));
    assert_eq!(step.state.term, 2);
    assert!(!step.state.is_leader());
}

#[test]
fn a_leader_that_a_majority_answered_keeps_leading_and_counts_again() {
    let s = pv();
    let leader = pv_leader(&s);
    let leader = deliver(&s, &leader, p2(), appended(1, 0, 0)).state;
    assert_eq!(leader_state(&leader).active, [p2()].into());
    let step = fire(&s, &leader, RaftTimer::CheckQuorum);
    assert!(step.state.is_leader());
    assert!(leader_state(&step.state).active.is_empty());
    assert!(sets_timer(&step.cmds, RaftTimer::CheckQuorum));
}

#[test]
fn a_leader_that_no_majority_answered_steps_down_in_its_term() {
    let s = pv();
    let leader = pv_leader(&s);
    let step = fire(&s, &leader, RaftTimer::CheckQuorum);
    assert_eq!(step.state.role, Role::Follower { leader: None });
    assert_eq!(step.state.term, 1);
    assert!(saves(&step.cmds).is_empty());
    assert!(sets_timer(&step.cmds, RaftTimer::Election));
    assert!(cancels_timer(&step.cmds, RaftTimer::Heartbeat));
    // Free of any leader now, it grants a pre-vote to a peer with its log.
    let grant = deliver(&s, &step.state, p2(), pre_vote(2, 0, 0));
    assert_eq!(the_only_send(&grant.cmds), (p2(), pre_voted(2, true)));
}

#[test]
fn a_leader_without_check_quorum_counts_nobody() {
    let s = server();
    let leader = fresh_leader(&s);
    let step = deliver(&s, &leader, p2(), appended(1, 0, 0));
    assert!(leader_state(&step.state).active.is_empty());
}
