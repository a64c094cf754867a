//! `coord bench kv` drives a real cluster and reports both phases.

mod common;

use common::{expect_ok, Cluster};

#[test]
fn bench_reports_writes_and_reads_against_a_real_cluster() {
    let cluster = Cluster::start(3, None);
    // Wait for a leader first, so that the short phases measure a serving cluster.
    cluster.put("warm", "up");
    let out = expect_ok(cluster.coord(&["bench", "kv", "--clients", "2", "--duration", "0.5"]));
    for phase in ["writes", "reads"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(phase))
            .unwrap_or_else(|| panic!("no {phase} row in:\n{out}"));
        let ops: u64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(ops > 0, "{out}");
    }
    assert!(out.contains("client CPU:"), "{out}");
    // The writes really happened: the leader's log holds them.
    let leader = cluster.leader();
    let status = cluster.stats(leader).unwrap().status;
    let last: u64 = Cluster::field(&status, "last").unwrap().parse().unwrap();
    assert!(last > 1, "{status}");
}
