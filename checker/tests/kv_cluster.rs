//! A real 3-process Raft KV cluster: writes and reads through the CLI survive `kill -9` of
//! the leader, and the killed node catches up from its data directory after a restart, or
//! by the leader's snapshot when the leader has compacted away what it lacks.

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

/// A number in node `i`'s status line.
fn status_number(cluster: &Cluster, i: usize, name: &str) -> u64 {
    let status = cluster.stats(i).expect("the node answers").status;
    Cluster::field(&status, name)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {status:?}"))
}

/// Raft paper §7: with compaction after every 5 applied entries, a follower killed while
/// 30 writes commit finds, on its return, that the leader has compacted away the entries
/// it lacks; it catches up by the leader's snapshot, with the session table in it, and
/// keeps only the snapshot and a short log.
#[test]
fn a_follower_killed_for_long_catches_up_by_snapshot() {
    let mut cluster = Cluster::start_with("kv", 3, None, |c| c.compact_after = 5);
    cluster.put("k", "v0");
    let leader = cluster.leader();
    let follower = (0..3).find(|&i| i != leader).unwrap();
    // The write's index (after the leader's no-op, see raft.md's membership changes).
    let written = status_number(&cluster, leader, "commit");
    cluster.wait_for(follower, "applying the first write", |s| {
        Cluster::field(&s.status, "applied").and_then(|a| a.parse::<u64>().ok()) >= Some(written)
    });
    cluster.kill(follower);
    for i in 1..=30 {
        cluster.put(&format!("k{}", i % 4), &format!("v{i}"));
    }
    let leader = cluster.leader();
    let compacted = status_number(&cluster, leader, "snapshot");
    assert!(
        compacted > 1,
        "the leader compacted past the follower's log"
    );

    cluster.start_node(follower);
    cluster.wait_for(follower, "catching up with the 30 writes", |s| {
        Cluster::field(&s.status, "applied").and_then(|a| a.parse::<u64>().ok())
            >= Some(written + 30)
    });
    // The entries it lacked were gone from every live log: it installed a snapshot.
    assert!(status_number(&cluster, follower, "snapshot") >= compacted);
    let last = status_number(&cluster, follower, "last");
    assert!(last - status_number(&cluster, follower, "snapshot") <= 5);

    // With the leader down, the follower that caught up by snapshot is needed for every
    // majority: it serves what the snapshot held, and takes new writes.
    cluster.kill(leader);
    assert_eq!(cluster.get("k2").trim(), "v30 (version 8)");
    assert_eq!(cluster.put("k2", "v31").trim(), "ok: k2 is at version 9");
}
