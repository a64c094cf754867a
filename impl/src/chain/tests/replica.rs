//! The manager as a Raft group: a replica that leads proposes what the nodes ask for,
//! publishes what it applies, answers heartbeats by ReadIndex, and detects failures; one
//! that follows only points clients to the chain.
//!
//! The replicas are ids 3 (`mgr()`), 4 and 5.

use super::*;
use crate::raft::{RaftServer, Role};

fn replica(peers: Vec<Id>, bug: Option<ManagerBug>) -> ManagerReplica {
    ManagerReplica {
        raft: RaftServer::new(
            peers,
            Duration::from_millis(100)..Duration::from_millis(200),
        ),
        members: vec![h(), m(), t()],
        detector: Some(Detector {
            every: Duration::from_millis(100)..Duration::from_millis(100),
            misses: 2,
        }),
        republish: None,
        bug,
    }
}

/// A group of one.
fn alone() -> ManagerReplica {
    replica(vec![], None)
}

fn group(bug: Option<ManagerBug>) -> ManagerReplica {
    replica(vec![Id::from(4), Id::from(5)], bug)
}

/// `r`'s state after it started and its election timer fired.
fn elected(r: &ManagerReplica) -> Step<ManagerReplica> {
    let start = r.on_start(mgr(), &None, &mut Out::new());
    let election = ReplicaTimer::Raft(crate::raft::RaftTimer::Election);
    run(&start, |cow, o| r.on_timeout(mgr(), cow, &election, o))
}

fn to_replica(r: &ManagerReplica, state: &ReplicaState, src: Id, msg: M) -> Step<ManagerReplica> {
    run(state, |cow, o| r.on_msg(mgr(), cow, src, msg, o))
}

fn published(step: &Step<ManagerReplica>) -> Vec<Config> {
    let mut configs: Vec<Config> = sends(&step.cmds)
        .into_iter()
        .filter_map(|(_, msg)| match msg {
            Msg::NewConfig(config) => Some(config),
            _ => None,
        })
        .collect();
    configs.dedup();
    configs
}

#[test]
fn a_new_leader_starts_the_chain_through_the_log_and_publishes_a_removal_it_applies() {
    let leader = elected(&alone());
    assert!(leader.state.raft.is_leader());
    assert_eq!(
        *leader.state.config(),
        epoch0(),
        "Start committed and applied"
    );
    let halted = to_replica(&alone(), &leader.state, t(), Msg::Halted);
    assert_eq!(*halted.state.config(), without(t()));
    assert_eq!(
        published(&halted),
        vec![without(t())],
        "to the remaining members"
    );
    let again = to_replica(&alone(), &halted.state, t(), Msg::Halted);
    assert_eq!(*again.state.config(), without(t()), "removed once");
}

#[test]
fn a_leader_publishes_only_what_commits_and_the_bug_publishes_its_own_guess() {
    let correct = group(None);
    let leader = {
        let candidate = elected(&correct);
        let vote = Msg::Manager(crate::raft::Msg::Vote {
            term: 1,
            granted: true,
        });
        let leader = to_replica(&correct, &candidate.state, Id::from(4), vote);
        let stored = Msg::Manager(crate::raft::Msg::Appended {
            term: 1,
            success: true,
            index: 1,
            round: 0,
        });
        to_replica(&correct, &leader.state, Id::from(4), stored)
    };
    assert_eq!(*leader.state.config(), epoch0(), "Start committed");
    let halted = to_replica(&correct, &leader.state, t(), Msg::Halted);
    assert!(
        published(&halted).is_empty(),
        "nothing is published before a majority stores the removal"
    );
    assert_eq!(halted.state.raft.last_index(), 2, "Start, then the removal");
    let buggy = group(Some(ManagerBug::PublishOwnState));
    let halted = to_replica(&buggy, &leader.state, t(), Msg::Halted);
    assert_eq!(published(&halted), vec![without(t())], "the bug");
}

#[test]
fn a_follower_keeps_a_failure_notice_for_when_it_leads_and_points_clients_to_the_chain() {
    let follower = group(None);
    let start = follower.on_start(mgr(), &None, &mut Out::new());
    let noticed = to_replica(&follower, &start, t(), Msg::Halted);
    assert!(noticed.state.asked.contains(&ConfigOp::Remove(t())));
    assert_eq!(
        noticed.state.raft.last_index(),
        0,
        "a follower proposes nothing"
    );
    let beat = to_replica(&follower, &start, h(), Msg::Alive { beat: 1 });
    assert!(beat.cmds.is_empty(), "only the leader answers a heartbeat");
    let led = elected(&alone());
    let noticed = to_replica(&alone(), &led.state, t(), Msg::Halted);
    let ask = to_replica(&alone(), &noticed.state, client(), request(1, put("a")));
    let to_head = Msg::Client(ClientMsg::Redirect {
        seq: 1,
        leader: Some(h()),
    });
    assert_eq!(sends(&ask.cmds), vec![(client(), to_head)]);
}

#[test]
fn the_leader_grants_leases_by_read_index_and_removes_a_member_silent_for_its_misses() {
    let r = alone();
    let leader = elected(&r).state;
    let beat = to_replica(&r, &leader, m(), Msg::Alive { beat: 4 });
    let lease = Msg::Lease {
        beat: 4,
        config: epoch0(),
    };
    assert_eq!(sends(&beat.cmds), vec![(m(), lease)]);
    let check = |s: &ReplicaState| {
        run(s, |cow, o| {
            r.on_timeout(mgr(), cow, &ReplicaTimer::Check, o)
        })
    };
    let first = check(&beat.state);
    assert_eq!(*first.state.config(), epoch0(), "one miss is not enough");
    let beat = to_replica(&r, &first.state, m(), Msg::Alive { beat: 5 });
    let beat = to_replica(&r, &beat.state, t(), Msg::Alive { beat: 1 });
    let second = check(&beat.state);
    assert_eq!(*second.state.config(), without(h()), "the silent head");
    assert_eq!(published(&second), vec![without(h())]);
    let gone = to_replica(&r, &second.state, h(), Msg::Alive { beat: 9 });
    let told = Msg::Lease {
        beat: 9,
        config: without(h()),
    };
    assert_eq!(
        sends(&gone.cmds),
        vec![(h(), told)],
        "it learns it was removed"
    );
}

#[test]
fn a_deposed_leader_stops_detecting_and_grants_no_lease() {
    let r = group(None);
    let candidate = elected(&r);
    let vote = Msg::Manager(crate::raft::Msg::Vote {
        term: 1,
        granted: true,
    });
    let leader = to_replica(&r, &candidate.state, Id::from(4), vote).state;
    let newer = Msg::Manager(crate::raft::Msg::RequestVote {
        term: 2,
        last_index: 5,
        last_term: 1,
    });
    let deposed = to_replica(&r, &leader, Id::from(5), newer);
    assert!(matches!(deposed.state.raft.role, Role::Follower { .. }));
    let beat = to_replica(&r, &deposed.state, m(), Msg::Alive { beat: 1 });
    assert!(sends(&beat.cmds).is_empty());
}
