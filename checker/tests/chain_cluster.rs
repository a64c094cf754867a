//! A real chain of 3 node processes and its manager on 127.0.0.1: writes survive
//! `kill -9` of the head and then of the tail, the manager reconfigures the chain each
//! time, and a killed node restarted from its data directory rejoins at the tail and
//! catches up. With the manager a Raft group of 3, its leader killed in the middle of a
//! failover and then a power loss of every process lose no acknowledged write.

mod common;

use common::{expect_ok, Cluster};
use stateright::actor::Id;

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

/// The three chain nodes come first; the manager's replicas after them.
const NODES: usize = 3;

/// The manager replica that leads in the highest term among those that answer, with its
/// status.
fn leading_manager(cluster: &Cluster) -> Option<(usize, String)> {
    let term = |status: &str| Cluster::field(status, "term")?.parse::<u64>().ok();
    (NODES..cluster.addrs.len())
        .filter_map(|i| Some((i, cluster.stats(i)?.status)))
        .filter(|(_, s)| Cluster::field(s, "role").as_deref() == Some("leader"))
        .max_by_key(|(_, s)| term(s))
}

/// The epoch and the chain that the manager's leader publishes, the chain as member
/// indexes, head first.
fn published(cluster: &Cluster) -> Option<(u64, Vec<usize>)> {
    let (_, status) = leading_manager(cluster)?;
    let epoch = Cluster::field(&status, "epoch")?.parse().ok()?;
    let members = Cluster::field(&status, "chain")?;
    let chain = (members.split(',').filter(|m| !m.is_empty()))
        .map(|m| (0..NODES).find(|&i| Id::from(cluster.addrs[i]).to_string() == m))
        .collect::<Option<_>>()?;
    Some((epoch, chain))
}

/// Waits until the manager's leader publishes `expected`; returns its epoch.
fn wait_for_chain(cluster: &Cluster, expected: &[usize]) -> u64 {
    let deadline = std::time::Instant::now() + common::WAIT;
    while std::time::Instant::now() < deadline {
        match published(cluster) {
            Some((epoch, chain)) if chain == expected => return epoch,
            _ => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
    panic!(
        "the chain never became {expected:?}: {:?}",
        published(cluster)
    );
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
    let mut cluster = Cluster::start_with("chain", NODES + 1, None, |_| {});
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
    Cluster::start_with("chain", NODES + 3, None, |config| config.managers = 3)
}

/// A failover with its manager's leader lost in the middle: the head is killed, and the
/// leader is killed before it has published the chain without the head (its epoch is
/// still the one it published before). Another replica is elected, detects the failure
/// afresh, and publishes the chain of the two nodes left; every acknowledged write is
/// there. Then a power loss: every process stops at once, and all start again on their
/// data and serve.
#[test]
fn the_manager_leader_killed_in_a_failover_and_then_a_power_loss_lose_no_acknowledged_write() {
    let mut cluster = replicated();
    let epoch = wait_for_chain(&cluster, &[0, 1, 2]);
    for i in 0..3 {
        put(&cluster, &format!("k{i}"), &format!("v{i}"));
    }
    let (leader, _) = leading_manager(&cluster).expect("the chain was published");

    cluster.kill(0);
    let (still, status) = leading_manager(&cluster).expect("the leader answers");
    assert_eq!(still, leader, "the manager's leader changed on its own");
    assert_eq!(
        Cluster::field(&status, "epoch"),
        Some(epoch.to_string()),
        "the failover finished before the leader was killed"
    );
    cluster.kill(leader);

    let rebuilt = wait_for_chain(&cluster, &[1, 2]);
    assert!(rebuilt > epoch, "epoch {rebuilt} after {epoch}");
    let (successor, _) = leading_manager(&cluster).expect("a new leader");
    assert_ne!(successor, leader);
    all_there(&cluster, 3);
    put(&cluster, "k3", "v3");

    // A power loss: every process stops at once, and all start again on their data.
    for i in 1..cluster.addrs.len() {
        if i != leader {
            cluster.kill(i);
        }
    }
    for i in 0..cluster.addrs.len() {
        cluster.start_node(i);
    }
    all_there(&cluster, 4);
    put(&cluster, "k4", "v4");
    all_there(&cluster, 5);
}
