//! Log compaction and InstallSnapshot (Raft paper §7, figure 13), one story of messages
//! per test. `compacting()` is a server of the three-server cluster that snapshots after
//! every applied entry.

use super::*;
use crate::invariants::assert_kept;
use crate::raft::snapshot::{decode, encode};
use crate::raft::Replica;

fn compacting() -> Server {
    server().with_compaction(Some(1))
}

fn snapshot_msg(term: Term, index: Index, last_term: Term, replica: &Replica<KvStore>) -> M {
    Msg::Snapshot {
        term,
        index,
        last_term,
        data: encode(replica),
        round: 0,
    }
}

/// The replica after client C's puts `x = v1`, ..., `x = vN` (seq 1 to N), as entries
/// [`entries`] makes them.
fn replica_after(n: u64) -> Replica<KvStore> {
    let mut replica = fresh_replica();
    for e in entries(&vec![1; n as usize]) {
        replica.apply(&e, true);
    }
    replica
}

/// A leader of term 1 that committed and applied C's put (seq 1) and compacted it away.
fn compacted_leader(s: &Server) -> (State, Vec<Cmd>) {
    let leader = fresh_leader(s);
    let leader = deliver(s, &leader, client(), request(1, put("x", "a"))).state;
    let step = deliver(s, &leader, p1(), appended(1, 1, 0));
    assert_kept(s, Some(&leader), &step.state);
    (step.state, step.cmds)
}

#[test]
fn a_server_snapshots_its_applied_prefix_with_the_session_table_and_saves_it() {
    let s = compacting();
    let (leader, cmds) = compacted_leader(&s);
    assert_eq!((leader.commit, leader.replica.applied), (1, 1));
    assert_eq!(leader.log.snapshot_index(), 1);
    assert_eq!(leader.log.snapshot_term(), 1);
    assert!(leader.log.is_empty());
    let snapshot = decode::<KvStore>(&leader.snapshot).expect("a snapshot");
    assert_eq!(snapshot, leader.replica);
    assert!(
        snapshot.has_applied(client(), 1),
        "the session table is in it"
    );
    let saved = saves(&cmds).pop().expect("the compaction is saved");
    assert_eq!(
        (saved.log.snapshot_index(), saved.snapshot),
        (1, leader.snapshot)
    );
}

#[test]
fn without_a_threshold_nothing_is_compacted() {
    let s = server();
    let leader = leader_with_committed_put(&s);
    assert_eq!((leader.log.snapshot_index(), leader.log.len()), (0, 1));
    assert!(leader.snapshot.is_empty());
}

#[test]
fn a_restart_loads_the_snapshot_and_a_retried_request_is_still_a_duplicate() {
    let s = compacting();
    let (_, cmds) = compacted_leader(&s);
    let saved = saves(&cmds).pop().unwrap();
    let (restarted, _) = start(&s, Some(saved));
    assert_eq!((restarted.commit, restarted.replica.applied), (1, 1));
    assert_eq!(restarted.replica, replica_after_put_a());
    // Re-elected, the server answers C's retry from the session table, not the log.
    let leader = elect(&s, &restarted);
    let step = deliver(&s, &leader, client(), request(1, put("x", "a")));
    assert_eq!(
        to_client(&step.cmds, client()),
        vec![ClientMsg::Reply {
            seq: 1,
            ret: KvRet::PutOk { version: 1 }
        }]
    );
    assert_eq!(step.state.last_index(), leader.last_index());
}

/// The replica after C's put `x = a` (seq 1).
fn replica_after_put_a() -> Replica<KvStore> {
    let mut replica = fresh_replica();
    replica.apply(&entry(1, 1, put("x", "a")), true);
    replica
}

#[test]
fn with_the_bug_the_snapshot_drops_the_session_table_and_a_retry_is_appended_again() {
    let s = compacting().with_bug(Some(RaftBug::SnapshotWithoutSessions));
    let (_, cmds) = compacted_leader(&s);
    let (restarted, _) = start(&s, saves(&cmds).pop());
    assert!(restarted.replica.sessions.is_empty());
    let leader = elect(&s, &restarted);
    let step = deliver(&s, &leader, client(), request(1, put("x", "a")));
    assert_eq!(step.state.last_index(), leader.last_index() + 1);
}

#[test]
fn a_leader_sends_its_snapshot_to_a_follower_that_needs_a_compacted_entry() {
    let s = compacting();
    let (leader, _) = compacted_leader(&s);
    // P2 never answered: its next entry (1) is compacted away. P1 is sent the new entry.
    let step = deliver(&s, &leader, client(), request(2, put("x", "b")));
    let sent = sends(&step.cmds);
    let to_p2: Vec<_> = sent.iter().filter(|(dst, _)| *dst == p2()).collect();
    assert_eq!(
        to_p2,
        vec![&(p2(), snapshot_msg(1, 1, 1, &replica_after_put_a()))]
    );
    assert!(matches!(
        sent.iter().find(|(dst, _)| *dst == p1()),
        Some((
            _,
            Msg::Append {
                prev_index: 1,
                prev_term: 1,
                ..
            }
        ))
    ));
}

#[test]
fn the_snapshot_goes_with_every_round_until_acknowledged_then_the_entries_after_it() {
    let s = compacting();
    let (leader, _) = compacted_leader(&s);
    let leader = deliver(&s, &leader, client(), request(2, put("x", "b"))).state;
    let is_snapshot = |m: &M| matches!(m, Msg::Snapshot { index: 1, .. });
    // The first snapshot was lost: the next round sends it again.
    let step = deliver(&s, &leader, other_client(), request(1, put("y", "c")));
    assert!(sends(&step.cmds)
        .iter()
        .any(|(dst, m)| *dst == p2() && is_snapshot(m)));
    let step = deliver(&s, &step.state, p2(), appended(1, 1, 0));
    assert_eq!(leader_state(&step.state).matched[&p2()], 1);
    assert_eq!(leader_state(&step.state).next[&p2()], 2);
    let step = deliver(&s, &step.state, client(), request(3, put("x", "d")));
    let to_p2: Vec<_> = appends(&step.cmds)
        .into_iter()
        .filter(|(d, _)| *d == p2())
        .collect();
    assert!(matches!(
        to_p2.as_slice(),
        [(_, Msg::Append { prev_index: 1, prev_term: 1, entries, .. })] if entries.len() == 3
    ));
}

#[test]
fn a_follower_behind_installs_the_snapshot_and_answers_up_to_it() {
    let s = server();
    let follower = follower_with(&s, 1, vec![]);
    let step = deliver(
        &s,
        &follower,
        p1(),
        snapshot_msg(1, 2, 1, &replica_after(2)),
    );
    assert_kept(&s, Some(&follower), &step.state);
    assert_eq!(step.state.replica, replica_after(2));
    assert_eq!((step.state.commit, step.state.last_index()), (2, 2));
    assert_eq!(step.state.log.snapshot_index(), 2);
    assert_eq!(step.state.role, Role::Follower { leader: Some(p1()) });
    assert_saved_before(&step.cmds, |m| matches!(m, Msg::Appended { .. }));
    assert_eq!(the_only_send(&step.cmds), (p1(), appended(1, 2, 0)));
}

/// A follower of `term` holding three entries of term 1, after the leader's snapshot up to
/// index 2, whose last entry is of `last_term`: what it keeps (snapshot index, last index).
fn installed_over_three_entries(term: Term, last_term: Term) -> (Index, Index) {
    let s = server();
    let follower = follower_with(&s, term, entries(&[1, 1, 1]));
    let msg = snapshot_msg(term, 2, last_term, &replica_after(2));
    let step = deliver(&s, &follower, p1(), msg);
    assert_kept(&s, Some(&follower), &step.state);
    assert_eq!(
        step.state.log.get(3),
        follower.log.get(3).filter(|_| last_term == 1)
    );
    (step.state.log.snapshot_index(), step.state.last_index())
}

#[test]
fn a_follower_keeps_the_entries_after_a_snapshot_whose_last_entry_it_holds() {
    assert_eq!(installed_over_three_entries(1, 1), (2, 3));
}

#[test]
fn a_follower_whose_entry_at_the_snapshot_conflicts_discards_its_log() {
    assert_eq!(installed_over_three_entries(2, 2), (2, 2));
}

#[test]
fn a_follower_never_installs_a_snapshot_at_or_below_its_commit_index() {
    let s = server();
    let follower = follower_with(&s, 1, entries(&[1, 1]));
    let committed = deliver(&s, &follower, p1(), heartbeat(1, 2, 1, 2)).state;
    assert_eq!(committed.commit, 2);
    // A snapshot up to 1, delayed in the network, arrives after entry 2 was committed.
    let step = deliver(
        &s,
        &committed,
        p1(),
        snapshot_msg(1, 1, 1, &replica_after(1)),
    );
    assert_eq!(step.state, committed);
    assert!(saves(&step.cmds).is_empty());
    assert_eq!(the_only_send(&step.cmds), (p1(), appended(1, 2, 0)));
}

#[test]
fn an_append_from_before_the_snapshot_matches_up_to_the_commit_index() {
    let s = server();
    let follower = follower_with(&s, 1, vec![]);
    let installed = deliver(
        &s,
        &follower,
        p1(),
        snapshot_msg(1, 2, 1, &replica_after(2)),
    )
    .state;
    let step = deliver(&s, &installed, p1(), append(1, 0, 0, entries(&[1, 1, 1])));
    assert_eq!(step.state, installed);
    assert_eq!(the_only_send(&step.cmds), (p1(), appended(1, 2, 0)));
}

#[test]
fn a_snapshot_of_an_older_term_is_refused_with_the_current_term() {
    let s = server();
    let follower = follower_with(&s, 3, vec![]);
    let step = deliver(
        &s,
        &follower,
        p1(),
        snapshot_msg(2, 2, 1, &replica_after(2)),
    );
    assert_eq!(step.state, follower);
    assert_eq!(the_only_send(&step.cmds), (p1(), rejected(3, 0, 0)));
}
