//! Membership changes one server at a time (dissertation §4.1): the configuration in use is
//! the latest in the log, a change waits for an entry of the leader's term and for the
//! previous change to commit, a removed leader steps down, a new server waits to be named.
//! "A" is an administrator (id 9); P3 (id 3) is a server outside {ME, P1, P2}.

use super::*;
use crate::raft::snapshot::encode;

fn admin() -> Id {
    Id::from(9)
}
fn p3() -> Id {
    Id::from(3)
}

fn reconfigurable() -> Server {
    server().with_membership(true)
}

fn change(seq: u64, change: Change) -> M {
    Msg::Admin(ClientMsg::Request { seq, op: change })
}

/// The administrator messages sent to A.
fn to_admin(cmds: &[Cmd]) -> Vec<ClientMsg<Change, Members>> {
    sends(cmds)
        .into_iter()
        .filter_map(|(dst, m)| match m {
            Msg::Admin(am) if dst == admin() => Some(am),
            _ => None,
        })
        .collect()
}

fn config_entry(term: Term, members: &[Id]) -> Entry<KvOp> {
    Entry {
        term,
        client: admin(),
        seq: 1,
        op: Payload::Config(members.iter().copied().collect()),
    }
}

/// A leader of term 1 whose no-op P1 acknowledged: committed.
fn leader_with_committed_noop(s: &Server) -> State {
    let leader = fresh_leader(s);
    let step = deliver(s, &leader, p1(), appended(1, 1, 0));
    assert_eq!(step.state.commit, 1);
    step.state
}

#[test]
fn a_new_leader_appends_a_noop_and_a_change_waits_until_it_commits() {
    let s = reconfigurable();
    let leader = fresh_leader(&s);
    assert_eq!(leader.log.get(1).map(|e| &e.op), Some(&Payload::Noop));

    // Before the no-op commits, a change is dropped (A retries).
    let early = deliver(&s, &leader, admin(), change(1, Change::Add(p3())));
    assert!(!early.changed);
    assert_sends_nothing(&early.cmds);

    let leader = deliver(&s, &leader, p1(), appended(1, 1, 0)).state;
    let step = deliver(&s, &leader, admin(), change(1, Change::Add(p3())));
    let members: Members = [me(), p1(), p2(), p3()].into();
    assert_eq!(
        step.state.log.get(2).map(|e| &e.op),
        Some(&Payload::Config(members.clone()))
    );
    // Used at once: P3 is a peer now, tracked and sent the log from the change on.
    assert_eq!(step.state.config.peers, [p1(), p2(), p3()].into());
    assert_eq!(leader_state(&step.state).next[&p3()], 2);
    assert!(appends(&step.cmds).iter().any(|(dst, _)| *dst == p3()));
    assert_saved_before(&step.cmds, |m| matches!(m, Msg::Append { .. }));

    // One change at a time: a second one waits until the first commits.
    let second = deliver(&s, &step.state, admin(), change(2, Change::Remove(p2())));
    assert!(!second.changed);

    // Three of the four hold it: committed, and A is told the configuration.
    let half = deliver(&s, &step.state, p1(), appended(1, 2, 0));
    assert_eq!(half.state.commit, 1, "two of four are not a majority");
    let done = deliver(&s, &half.state, p3(), appended(1, 2, 0));
    assert_eq!(done.state.commit, 2);
    assert_eq!(
        to_admin(&done.cmds),
        vec![ClientMsg::Reply {
            seq: 1,
            ret: members
        }]
    );
}

#[test]
fn a_change_already_made_is_answered_once_committed() {
    let s = reconfigurable();
    let leader = leader_with_committed_noop(&s);
    let step = deliver(&s, &leader, admin(), change(1, Change::Remove(p3())));
    assert!(!step.changed, "P3 is no member: nothing to change");
    assert_eq!(
        to_admin(&step.cmds),
        vec![ClientMsg::Reply {
            seq: 1,
            ret: [me(), p1(), p2()].into()
        }]
    );
}

#[test]
fn with_the_bug_a_new_leader_changes_before_committing_an_entry_of_its_term() {
    let s = reconfigurable().with_bug(Some(RaftBug::ChangeBeforeCommit));
    let leader = fresh_leader(&s);
    assert!(leader.log.is_empty(), "no no-op");
    let step = deliver(&s, &leader, admin(), change(1, Change::Add(p3())));
    assert_eq!(step.state.last_index(), 1);
    assert_eq!(step.state.config.index, 1);
}

#[test]
fn a_follower_uses_a_configuration_at_once_and_goes_back_when_it_is_overwritten() {
    let s = reconfigurable();
    let (follower, _) = start(&s, None);
    let step = deliver(
        &s,
        &follower,
        p1(),
        append(1, 0, 0, vec![config_entry(1, &[me(), p1()])]),
    );
    assert_eq!(step.state.config.peers, [p1()].into());
    assert_eq!(step.state.config.index, 1);
    assert_eq!(step.state.config.quorum(), 2);

    // The leader of term 2 never had it: its entry replaces it, and so does the old
    // configuration.
    let step = deliver(&s, &step.state, p2(), append(2, 0, 0, entries(&[2])));
    assert_eq!(step.state.config.peers, [p1(), p2()].into());
    assert_eq!(step.state.config.index, 0);
}

#[test]
fn a_removed_leader_counts_without_itself_and_steps_down_once_the_change_commits() {
    let s = reconfigurable();
    let leader = leader_with_committed_noop(&s);
    let step = deliver(&s, &leader, admin(), change(1, Change::Remove(me())));
    assert!(!step.state.config.member);
    assert!(step.state.is_leader(), "it leads until the change commits");

    let half = deliver(&s, &step.state, p1(), appended(1, 2, 0));
    assert_eq!(half.state.commit, 1, "the leader's own copy does not count");
    let done = deliver(&s, &half.state, p2(), appended(1, 2, 0));
    assert_eq!(done.state.commit, 2);
    assert_eq!(done.state.role, Role::Follower { leader: None });
    assert!(cancels_timer(&done.cmds, RaftTimer::Heartbeat));
    assert_eq!(to_admin(&done.cmds).len(), 1, "A is answered first");

    // Outside the configuration, its election timer starts nothing.
    let idle = fire(&s, &done.state, RaftTimer::Election);
    assert!(!idle.changed);
    assert_sends_nothing(&idle.cmds);
}

#[test]
fn a_joining_server_campaigns_only_once_a_configuration_names_it() {
    let s = reconfigurable().joining(true);
    let (new, _) = start(&s, None);
    assert!(!new.config.member && new.config.peers.is_empty());
    assert!(!fire(&s, &new, RaftTimer::Election).changed);

    let named = [me(), p1(), p2()];
    let step = deliver(
        &s,
        &new,
        p1(),
        append(1, 0, 0, vec![config_entry(1, &named)]),
    );
    assert!(step.state.config.member);
    let campaign = fire(&s, &step.state, RaftTimer::Election);
    assert!(matches!(campaign.state.role, Role::Candidate { .. }));
}

#[test]
fn a_snapshot_carries_the_configuration_to_a_new_server() {
    let s = reconfigurable().joining(true);
    let (new, _) = start(&s, None);
    let mut replica = Replica::<KvStore>::default();
    replica.apply(&config_entry(1, &[me(), p1(), p2()]), true);
    let installed = Msg::Snapshot {
        term: 1,
        index: 1,
        last_term: 1,
        data: encode(&replica),
        round: 0,
    };
    let step = deliver(&s, &new, p1(), installed);
    assert_eq!(step.state.replica.config, [me(), p1(), p2()].into());
    assert!(step.state.config.member);
    assert_eq!(step.state.config.peers, [p1(), p2()].into());
}

#[test]
fn a_follower_redirects_an_administrator_to_the_leader() {
    let s = reconfigurable();
    let (follower, _) = start(&s, None);
    let follower = deliver(&s, &follower, p1(), append(1, 0, 0, vec![])).state;
    let step = deliver(&s, &follower, admin(), change(1, Change::Add(p3())));
    assert_eq!(
        to_admin(&step.cmds),
        vec![ClientMsg::Redirect {
            seq: 1,
            leader: Some(p1())
        }]
    );
}

#[test]
fn without_membership_changes_an_administrator_is_ignored() {
    let s = server();
    let leader = fresh_leader(&s);
    assert!(leader.log.is_empty(), "no no-op");
    let step = deliver(&s, &leader, admin(), change(1, Change::Add(p3())));
    assert!(!step.changed);
    assert_sends_nothing(&step.cmds);
}

#[test]
fn a_server_talks_with_the_members_of_the_configuration_it_uses_and_of_the_one_applied() {
    let s = reconfigurable();
    let leader = leader_with_committed_noop(&s);
    assert_eq!(leader.servers(me()), [p1(), p2()].into());

    // An added server from the moment its entry is in the log.
    let added = deliver(&s, &leader, admin(), change(1, Change::Add(p3()))).state;
    assert_eq!(added.servers(me()), [p1(), p2(), p3()].into());
    let added = deliver(&s, &added, p1(), appended(1, 2, 0)).state;
    let added = deliver(&s, &added, p3(), appended(1, 2, 0)).state;
    assert_eq!(added.replica.config, [me(), p1(), p2(), p3()].into());

    // A removed one until its removal is applied.
    let removing = deliver(&s, &added, admin(), change(2, Change::Remove(p2()))).state;
    assert_eq!(removing.servers(me()), [p1(), p2(), p3()].into());
    let removing = deliver(&s, &removing, p1(), appended(1, 3, 0)).state;
    let removed = deliver(&s, &removing, p3(), appended(1, 3, 0)).state;
    assert_eq!(removed.commit, 3);
    assert_eq!(removed.servers(me()), [p1(), p3()].into());

    // A joining server knows nobody until a configuration names servers.
    let (new, _) = start(&reconfigurable().joining(true), None);
    assert!(new.servers(me()).is_empty());
}

/// A leader of term 1 with pre-vote and check-quorum, elected by P1, its no-op committed.
fn checked_leader(s: &Server) -> State {
    let pre = fire(s, &start(s, None).0, RaftTimer::Election).state;
    let granted = Msg::PreVoted {
        term: 1,
        granted: true,
    };
    let candidate = deliver(s, &pre, p1(), granted).state;
    let leader = deliver(s, &candidate, p1(), vote(1, true)).state;
    let step = deliver(s, &leader, p1(), appended(1, 1, 0));
    assert_eq!(step.state.commit, 1);
    step.state
}

#[test]
fn with_check_quorum_a_leader_counts_a_server_it_has_just_added_as_in_touch() {
    let s = reconfigurable().with_pre_vote(true);
    let leader = fire(&s, &checked_leader(&s), RaftTimer::CheckQuorum).state;
    let added = deliver(&s, &leader, admin(), change(1, Change::Add(p3()))).state;
    assert_eq!(leader_state(&added).active, [p3()].into());

    // P1 answers, P3 has not yet: with the leader, three of four are in touch.
    let added = deliver(&s, &added, p1(), appended(1, 1, 0)).state;
    let step = fire(&s, &added, RaftTimer::CheckQuorum);
    assert!(step.state.is_leader());
}

#[test]
fn with_pre_vote_a_server_outside_the_configuration_grants_once_its_timer_fired() {
    let s = reconfigurable().with_pre_vote(true).joining(true);
    let new = deliver(&s, &start(&s, None).0, p1(), append(1, 0, 0, vec![])).state;
    let asked = Msg::PreVote {
        term: 2,
        last_index: 0,
        last_term: 0,
    };
    let in_lease = deliver(&s, &new, p2(), asked.clone());
    assert_sends_nothing(&in_lease.cmds);

    // A timeout without the leader: it does not campaign, but the lease is over.
    let timed_out = fire(&s, &new, RaftTimer::Election);
    assert_eq!(timed_out.state.role, Role::Follower { leader: None });
    assert_sends_nothing(&timed_out.cmds);
    let grant = deliver(&s, &timed_out.state, p2(), asked);
    let granted = Msg::PreVoted {
        term: 2,
        granted: true,
    };
    assert_eq!(the_only_send(&grant.cmds), (p2(), granted));
}
