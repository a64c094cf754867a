//! A real 3-process Raft KV cluster: writes and reads through the CLI survive `kill -9` of
//! the leader, and the killed node catches up from its data directory after a restart.

mod common;

use common::{expect_ok, Cluster};

#[test]
fn killing_the_leader_loses_no_acknowledged_write_and_a_restarted_node_catches_up() {
    let mut cluster = Cluster::start(3, None);
    for i in 0..4 {
        let out = cluster.put(&format!("k{i}"), &format!("v{i}"));
        assert_eq!(out.trim(), format!("ok: k{i} is at version 1"));
    }
    let leader = cluster.leader();
    cluster.kill(leader);

    // A new leader is elected among the other two and serves reads and writes.
    for i in 0..4 {
        assert_eq!(
            cluster.get(&format!("k{i}")).trim(),
            format!("v{i} (version 1)")
        );
    }
    for i in 4..6 {
        cluster.put(&format!("k{i}"), &format!("v{i}"));
    }
    assert_eq!(cluster.put("k0", "w0").trim(), "ok: k0 is at version 2");

    // The killed node recovers its log from disk and catches up with the 7 writes.
    cluster.start_node(leader);
    cluster.wait_for(leader, "catching up to 7 applied entries", |s| {
        Cluster::field(&s.status, "applied").and_then(|a| a.parse::<u64>().ok()) >= Some(7)
    });

    // With a third node down, the restarted one is needed for every majority.
    let other = (0..3)
        .find(|&i| i != leader && i != cluster.leader())
        .unwrap();
    cluster.kill(other);
    for i in 1..6 {
        assert_eq!(
            cluster.get(&format!("k{i}")).trim(),
            format!("v{i} (version 1)")
        );
    }
    assert_eq!(cluster.get("k0").trim(), "w0 (version 2)");

    // A conditional put with a stale version fails clearly and exits non-zero.
    let stale = cluster.coord(&["kv", "put", "k0", "x", "--expect-version", "1"]);
    assert!(!stale.status.success());
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(
        stderr.contains("version mismatch: k0 is at version 2, not 1"),
        "{stderr}"
    );
    expect_ok(cluster.coord(&["kv", "put", "k0", "x", "--expect-version", "2"]));

    // With only one node left there is no majority: a client gives up clearly.
    let survivor = (0..3).find(|&i| i != other && i != leader).unwrap();
    cluster.kill(survivor);
    let lost = cluster.coord(&["kv", "get", "k0", "--timeout", "1"]);
    assert_eq!(lost.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&lost.stderr);
    assert!(
        stderr.contains("error: no leader reachable within 1s"),
        "{stderr}"
    );
}
