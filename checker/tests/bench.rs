//! `coord bench kv|zk|chain` drives a real cluster and reports every phase.

mod common;

use common::{expect_ok, Cluster};

/// Runs a short `coord bench SYSTEM` on `cluster` and checks that each of `phases`
/// completed operations; returns the leader's last log index.
fn bench(cluster: &Cluster, system: &str, phases: &[&str]) -> u64 {
    run_phases(cluster, system, phases);
    let leader = cluster.leader();
    let status = cluster.stats(leader).unwrap().status;
    Cluster::field(&status, "last").unwrap().parse().unwrap()
}

/// Runs a short `coord bench SYSTEM` on `cluster`, checks that each of `phases`
/// completed operations, and returns what it printed.
fn run_phases(cluster: &Cluster, system: &str, phases: &[&str]) -> String {
    // A phase of a second: a read dropped by a node whose lease lapsed while the loaded
    // machine starved the manager is retried elsewhere within it.
    let args = ["bench", system, "--clients", "3", "--duration", "1"];
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
    out
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
    // Wait for a leader: a synced read goes through it. (Not a create: a call pipelined
    // behind a `Connect` whose answer is lost may apply in a session the client never
    // learns, so a create retried in the next session can find its own node.)
    expect_ok(cluster.coord(&["zk", "ls", "/", "--sync"]));
    let last = bench(&cluster, "zk", &["writes", "reads", "synced reads"]);
    assert!(last > 1);
    // The bench's nodes are in the tree.
    let nodes = expect_ok(cluster.coord(&["zk", "ls", "/bench", "--sync"]));
    assert!(nodes.lines().any(|n| n == "0-1"), "{nodes}");
}

#[test]
fn bench_chain_compares_tail_reads_with_craq_reads_and_says_who_served_them() {
    let cluster = Cluster::start_with("chain", 4, None, |_| {});
    expect_ok(cluster.coord(&["chain", "put", "warm", "up"]));
    let phases = [
        "writes",
        "tail reads",
        "tail mixed",
        "craq reads",
        "craq mixed",
    ];
    let out = run_phases(&cluster, "chain", &phases);
    let served: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("reads served:"))
        .collect();
    assert_eq!(served.len(), 4, "{out}");
    // Classic reads are all served by the tail; CRAQ readers are spread over the nodes.
    assert!(served[0].ends_with("n0 0%, n1 0%, n2 100%"), "{out}");
    assert!(served[1].contains("n0 0%, n1 0%, n2 100%;"), "{out}");
    assert!(!served[2].contains("n2 100%"), "{out}");
    assert!(served[3].contains("writes"), "{out}");
    // The writes really happened: the tail holds them.
    let status = cluster.stats(2).unwrap().status;
    let len: u64 = Cluster::field(&status, "len").unwrap().parse().unwrap();
    assert!(len > 1, "{status}");
}

/// `bench zk --both` starts a coord zk cluster and a ZooKeeper 3.8 ensemble and drives
/// both with the same client code over ZooKeeper's protocol: every load's row has
/// operations on each, and the ratio of their rates.
#[test]
fn bench_zk_drives_coord_and_zookeeper_with_the_same_client_side_by_side() {
    let out = std::process::Command::new(common::COORD)
        .args(["bench", "zk", "--both", "--sweep", "2", "--warmup", "0.2"])
        .args(["--duration", "0.5", "--members", "3"])
        .output()
        .unwrap();
    let out = expect_ok(out);
    for load in [
        "create seq 64 B",
        "setData 64 B",
        "setData 1 KiB",
        "getData",
        "sync+getData",
    ] {
        let row = (out.lines())
            .find(|l| l.starts_with(load) && l[load.len()..].starts_with("  "))
            .unwrap_or_else(|| panic!("no {load} row in:\n{out}"));
        let cells: Vec<&str> = row[load.len()..].split_whitespace().collect();
        // clients, coord/s, p50 / p99, ZK/s, p50 / p99, ratio, CPU, CPU
        assert_eq!(cells[0], "2", "{row}");
        let coord: f64 = cells[1].parse().unwrap();
        let zookeeper: f64 = cells[5].parse().unwrap();
        assert!(coord > 0.0 && zookeeper > 0.0, "{row}");
        assert!(cells[9].ends_with('x'), "{row}");
    }
    assert!(out.contains("client CPU:"), "{out}");
}
