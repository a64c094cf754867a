//! `coord bench kv|zk` drives a real cluster and reports every phase.

mod common;

use common::{expect_ok, Cluster};

/// Runs a short `coord bench SYSTEM` on `cluster` and checks that each of `phases`
/// completed operations; returns the leader's last log index.
fn bench(cluster: &Cluster, system: &str, phases: &[&str]) -> u64 {
    let args = ["bench", system, "--clients", "2", "--duration", "0.5"];
    let out = expect_ok(cluster.coord(&args));
    for phase in phases {
        let row = out
            .lines()
            .find(|l| l.starts_with(phase) && l[phase.len()..].starts_with("  "))
            .unwrap_or_else(|| panic!("no {phase} row in:\n{out}"));
        let ops: u64 = row[phase.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(ops > 0, "{out}");
    }
    assert!(out.contains("client CPU:"), "{out}");
    let leader = cluster.leader();
    let status = cluster.stats(leader).unwrap().status;
    Cluster::field(&status, "last").unwrap().parse().unwrap()
}

#[test]
fn bench_kv_reports_writes_and_reads_against_a_real_cluster() {
    let cluster = Cluster::start(3, None);
    // Wait for a leader first, so that the short phases measure a serving cluster.
    cluster.put("warm", "up");
    // The writes really happened: the leader's log holds them.
    assert!(bench(&cluster, "kv", &["writes", "reads"]) > 1);
}

#[test]
fn bench_zk_reports_writes_and_both_reads_against_a_real_cluster() {
    let cluster = Cluster::start_with("zk", 3, None, |_| {});
    expect_ok(cluster.coord(&["zk", "create", "/warm"]));
    let last = bench(&cluster, "zk", &["writes", "reads", "synced reads"]);
    assert!(last > 1);
    // The bench's nodes are in the tree.
    let nodes = expect_ok(cluster.coord(&["zk", "ls", "/bench", "--sync"]));
    assert!(nodes.lines().any(|n| n == "0-1"), "{nodes}");
}
