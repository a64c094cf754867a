//! A real chain of 3 node processes and its manager on 127.0.0.1: writes survive
//! `kill -9` of the head and then of the tail, the manager reconfigures the chain each
//! time, and a killed node restarted from its data directory rejoins at the tail and
//! catches up.

mod common;

use common::{expect_ok, Cluster};
use stateright::actor::Id;

/// The manager is the last member of a chain cluster.
const MANAGER: usize = 3;

fn put(cluster: &Cluster, key: &str, value: &str) {
    let out = expect_ok(cluster.coord(&["chain", "put", key, value]));
    assert_eq!(out.trim(), format!("ok: {key} is at version 1"));
}

fn get(cluster: &Cluster, key: &str, craq: bool) -> String {
    let mut args = vec!["chain", "get", key];
    if craq {
        args.push("--craq");
    }
    expect_ok(cluster.coord(&args)).trim().to_string()
}

/// The chain the manager publishes, as member indexes, head first.
fn chain(cluster: &Cluster) -> Option<Vec<usize>> {
    let status = cluster.stats(MANAGER)?.status;
    let members = Cluster::field(&status, "chain")?;
    members
        .split(',')
        .filter(|m| !m.is_empty())
        .map(|m| (0..MANAGER).find(|&i| Id::from(cluster.addrs[i]).to_string() == m))
        .collect()
}

fn wait_for_chain(cluster: &Cluster, expected: &[usize]) {
    let deadline = std::time::Instant::now() + common::WAIT;
    while std::time::Instant::now() < deadline {
        if chain(cluster).as_deref() == Some(expected) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the chain never became {expected:?}: {:?}", chain(cluster));
}

/// Every key written so far reads back, at the tail and (CRAQ) at a random node.
fn all_there(cluster: &Cluster, written: usize) {
    for i in 0..written {
        let expected = format!("v{i} (version 1)");
        assert_eq!(get(cluster, &format!("k{i}"), false), expected);
        assert_eq!(get(cluster, &format!("k{i}"), true), expected);
    }
}

#[test]
fn the_chain_survives_the_head_and_the_tail_and_a_restarted_node_rejoins_at_the_tail() {
    let mut cluster = Cluster::start_with("chain", MANAGER + 1, None, |_| {});
    wait_for_chain(&cluster, &[0, 1, 2]);
    for i in 0..3 {
        put(&cluster, &format!("k{i}"), &format!("v{i}"));
    }

    // The head fails: its successor becomes head, and nothing acknowledged is lost.
    cluster.kill(0);
    wait_for_chain(&cluster, &[1, 2]);
    all_there(&cluster, 3);
    put(&cluster, "k3", "v3");

    // The tail fails: its predecessor becomes tail.
    cluster.kill(2);
    wait_for_chain(&cluster, &[1]);
    all_there(&cluster, 4);
    put(&cluster, "k4", "v4");

    // The old head restarts from its data directory: it rejoins at the tail, copies
    // the chain's history, and serves it.
    cluster.start_node(0);
    wait_for_chain(&cluster, &[1, 0]);
    cluster.wait_for(0, "copying the 5 writes", |s| {
        Cluster::field(&s.status, "joining").as_deref() == Some("false")
            && Cluster::field(&s.status, "committed").as_deref() == Some("5")
    });
    put(&cluster, "k5", "v5");
    all_there(&cluster, 6);

    // With the first node down again, the rejoined one holds everything.
    cluster.kill(1);
    wait_for_chain(&cluster, &[0]);
    all_there(&cluster, 6);
}

/// A chain of 3 nodes whose manager is a Raft group of 3 replicas (members 3 to 5).
fn replicated() -> Cluster {
    Cluster::start_with("chain", 6, None, |config| config.managers = 3)
}

/// The manager replica that leads, if one says so.
fn leading_manager(cluster: &Cluster) -> Option<usize> {
    (3..6).find(|&i| {
        cluster
            .stats(i)
            .is_some_and(|s| Cluster::field(&s.status, "role").as_deref() == Some("leader"))
    })
}

#[test]
fn the_manager_leader_killed_in_a_failover_and_then_a_power_loss_lose_no_acknowledged_write() {
    let mut cluster = replicated();
    let deadline = std::time::Instant::now() + common::WAIT;
    let leader = loop {
        if let Some(leader) = leading_manager(&cluster) {
            break leader;
        }
        assert!(std::time::Instant::now() < deadline, "no manager leader");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    for i in 0..3 {
        put(&cluster, &format!("k{i}"), &format!("v{i}"));
    }
    // The head fails, and the manager's leader with it, in the middle of the failover:
    // another replica detects the failure and the chain goes on without the head.
    cluster.kill(0);
    cluster.kill(leader);
    all_there(&cluster, 3);
    put(&cluster, "k3", "v3");

    // A power loss: every process stops at once, and all start again on their data.
    for i in 1..6 {
        if i != leader {
            cluster.kill(i);
        }
    }
    for i in 0..6 {
        cluster.start_node(i);
    }
    all_there(&cluster, 4);
    put(&cluster, "k4", "v4");
    all_there(&cluster, 5);
}
