//! `coord test chain` with the chain's configuration manager a Raft group of 3 replicas
//! and every fault aimed at the replica that leads it, the one that detects failures and
//! publishes configurations: killed (and started again, or left down while the chain's
//! nodes take the later faults), paused, paused until another replica leads, and cut off
//! from every other member. The chain goes on serving through each, and its recorded
//! history is linearizable with no acknowledged write lost. No test asserts a time: each
//! run is bounded by its own duration and timeouts.

mod common;

use common::coord_test::passes;

/// How the run names a fault aimed at the manager's leader.
const AT_THE_LEADER: &str = "(the manager's leader)";

#[test]
fn a_chain_passes_with_its_managers_leader_killed_restarted_cut_off_and_paused() {
    let out = passes(
        "chain",
        "kv",
        "kill,restart,partition,pause,failover-pause",
        &["--target", "manager-leader"],
    );
    assert!(
        out.contains(AT_THE_LEADER),
        "no fault hit the manager's leader"
    );
    assert!(out.contains("3 manager replicas"), "not a Raft group of 3");
}

/// Without `restart` the killed leader stays down, so the two replicas left elect a new
/// leader, and it rebuilds the chain around the node the next fault kills (the
/// managers' group has no minority left to spare, so that fault hits a node).
#[test]
fn a_chain_fails_over_on_two_manager_replicas_after_its_leader_is_killed() {
    let out = passes("chain", "kv", "kill", &["--target", "manager-leader"]);
    let kills: Vec<&str> = (out.lines())
        .filter_map(|l| l.split_once("fault: kill -9 node ").map(|(_, k)| k))
        .collect();
    assert!(
        kills.first().is_some_and(|k| k.ends_with(AT_THE_LEADER)),
        "the manager's leader was not killed first: {kills:?}"
    );
    assert!(
        kills.get(1).is_some_and(|k| k.starts_with(['0', '1', '2'])),
        "no chain node was killed after it: {kills:?}"
    );
}
