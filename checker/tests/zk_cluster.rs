//! A real 3-process znode cluster driven through the CLI: ZooKeeper's calls and their
//! errors, an ephemeral node that goes when its session expires, sequential nodes, a
//! watch, concurrent counter increments, `kill -9` of the leader without losing an
//! acknowledged write nor keeping an ephemeral node whose session died with it, and the killed node's catch-up from its data directory; and a
//! write forwarded by a stranger, dropped.

mod common;

use common::{expect_ok, Background, Cluster, WAIT};
use coord::net::admit::unix_millis;
use coord::net::frame::{encode, Kind};
use coord::znode::txn::{Origin, Seat, Txn, TxnKind};
use coord::znode::ZkMsg;
use coord_specs::znode::build::create;
use coord_specs::znode::CreateMode;
use stateright::actor::Id;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, UdpSocket};
use std::process::Output;
use std::time::{Duration, Instant};

/// Short sessions, so that the ephemeral node's expiry comes soon.
const SESSION_MS: u64 = 1_500;
/// Concurrent `coord counter incr`s.
const INCREMENTS: u64 = 5;

fn start() -> Cluster {
    Cluster::start_with("zk", 3, None, |c| c.session_ms = SESSION_MS)
}

/// `coord zk ARGS`, which must succeed; what it printed.
fn zk(cluster: &Cluster, args: &[&str]) -> String {
    expect_ok(cluster.coord(&[&["zk"], args].concat()))
}

/// `coord zk ARGS`, which must fail with exit status 1; what it printed on stderr.
fn zk_fails(cluster: &Cluster, args: &[&str]) -> String {
    failure(cluster.coord(&[&["zk"], args].concat()))
}

fn failure(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    stderr
}

/// Every acknowledged write of the test so far reads back, after a sync.
fn acknowledged_writes_are_there(cluster: &Cluster, counter: u64) {
    assert_eq!(zk(cluster, &["get", "/a", "--sync"]), "world\n");
    assert_eq!(
        zk(cluster, &["ls", "/q", "--sync"]),
        "job-0000000000\njob-0000000001\n"
    );
    assert_eq!(zk(cluster, &["get", "/w", "--sync"]), "hi\n");
    assert_eq!(
        zk(cluster, &["get", "/ctr", "--sync"]),
        format!("{counter}\n")
    );
}

/// Waits until node `i` has applied everything node `leader` had committed.
fn catch_up(cluster: &Cluster, i: usize, leader: usize) {
    let status = cluster.stats(leader).unwrap().status;
    let commit: u64 = Cluster::field(&status, "commit").unwrap().parse().unwrap();
    cluster.wait_for(i, "catching up with the leader", |s| {
        Cluster::field(&s.status, "applied").and_then(|a| a.parse::<u64>().ok()) >= Some(commit)
    });
}

/// Waits (a bounded time) until a synced read finds no node at `path`: its owner session
/// has expired.
fn wait_gone(cluster: &Cluster, path: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let out = cluster.coord(&["zk", "get", path, "--sync"]);
        if !out.status.success() {
            assert!(failure(out).contains(&format!("error: no node {path}")));
            return;
        }
        assert!(Instant::now() < deadline, "{path} outlived its session");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn znodes_survive_the_leaders_kill_and_a_restarted_node_catches_up() {
    let mut cluster = start();

    // Calls and their errors. A write's times are the receiving server's clock.
    let before = unix_millis();
    assert_eq!(zk(&cluster, &["create", "/a", "hello"]), "created /a\n");
    let stat = zk(&cluster, &["stat", "/a", "--sync"]);
    let ctime = (stat.lines())
        .find_map(|l| l.strip_prefix("ctime "))
        .and_then(|t| t.parse::<u64>().ok());
    assert!(
        ctime.is_some_and(|t| (before..=unix_millis()).contains(&t)),
        "{stat}"
    );
    assert_eq!(zk(&cluster, &["get", "/a", "--sync"]), "hello\n");
    let exists = zk_fails(&cluster, &["create", "/a", "again"]);
    assert!(exists.contains("error: node /a already exists"), "{exists}");
    let set = zk(&cluster, &["set", "/a", "world", "-v", "0"]);
    assert_eq!(set, "ok: /a is at version 1\n");
    let stale = zk_fails(&cluster, &["set", "/a", "lost", "-v", "0"]);
    assert!(
        stale.contains("error: bad version: /a is not at version 0"),
        "{stale}"
    );
    let missing = zk_fails(&cluster, &["get", "/missing"]);
    assert!(missing.contains("error: no node /missing"), "{missing}");
    let orphan = zk_fails(&cluster, &["create", "/x/y"]);
    assert!(
        orphan.contains("the parent of /x/y does not exist"),
        "{orphan}"
    );

    // Sequential nodes take the parent's next number; a parent with children stays.
    zk(&cluster, &["create", "/q"]);
    for n in 0..2 {
        let created = zk(&cluster, &["create", "-s", "/q/job-", "work"]);
        assert_eq!(created, format!("created /q/job-000000000{n}\n"));
    }
    let not_empty = zk_fails(&cluster, &["delete", "/q"]);
    assert!(not_empty.contains("node /q is not empty"), "{not_empty}");

    // An ephemeral node belongs to the session of the command that created it, and goes
    // once that session, silent since the command ended, expires.
    zk(&cluster, &["create", "-e", "/e", "mine"]);
    let stat = zk(&cluster, &["stat", "/e", "--sync"]);
    let owner = stat.lines().find(|l| l.starts_with("ephemeral_owner"));
    assert!(owner.is_some_and(|l| l != "ephemeral_owner 0x0"), "{stat}");
    wait_gone(&cluster, "/e");

    // A watch left on a missing node fires when the node is created.
    let mut watch = Background::spawn(cluster.client(&["zk", "watch", "/w", "--wait", "60"]));
    let mut lines = BufReader::new(watch.stdout()).lines();
    let first = lines.next().expect("the watch is set").unwrap();
    assert_eq!(first, "watching /w: no node");
    zk(&cluster, &["create", "/w", "hi"]);
    let event = lines.next().expect("the watch fires").unwrap();
    assert!(event.starts_with("created /w (zxid "), "{event}");
    assert!(watch.finish().status.success());

    // Concurrent increments: each sees a distinct new value, and none is lost.
    let incrs: Vec<Background> = (0..INCREMENTS)
        .map(|_| Background::spawn(cluster.client(&["counter", "incr", "/ctr"])))
        .collect();
    let mut values: Vec<u64> = incrs
        .into_iter()
        .map(|b| expect_ok(b.finish()).trim().parse().unwrap())
        .collect();
    values.sort_unstable();
    assert_eq!(values, (1..=INCREMENTS).collect::<Vec<_>>());
    acknowledged_writes_are_there(&cluster, INCREMENTS);

    // The leader dies: a new one is elected, and every acknowledged write is there.
    // Just before, a command leaves an ephemeral node and ends without closing its
    // session: the new leader, which never heard from that session, expires it too.
    zk(&cluster, &["create", "-e", "/f", "orphan"]);
    let leader = cluster.leader();
    cluster.kill(leader);
    acknowledged_writes_are_there(&cluster, INCREMENTS);
    zk(&cluster, &["create", "/b", "after"]);
    let incr = expect_ok(cluster.coord(&["counter", "incr", "/ctr"]));
    assert_eq!(incr.trim(), (INCREMENTS + 1).to_string());
    wait_gone(&cluster, "/f");

    // The killed node recovers its log from disk and catches up.
    cluster.start_node(leader);
    let now_leading = cluster.leader();
    catch_up(&cluster, leader, now_leading);
    let local = cluster.coord_at(leader, &["zk", "get", "/b"]);
    assert_eq!(expect_ok(local), "after\n");

    // With the third node down, the restarted one is needed for every majority.
    let other = (0..3).find(|&i| i != leader && i != now_leading).unwrap();
    cluster.kill(other);
    acknowledged_writes_are_there(&cluster, INCREMENTS + 1);
    assert_eq!(zk(&cluster, &["create", "/c"]), "created /c\n");

    // Alone, the restarted node opens no session: a session is created through the log,
    // which needs a majority (ZooKeeper's server without a quorum serves no client,
    // read-only mode aside). The client gives up clearly.
    catch_up(&cluster, leader, now_leading);
    cluster.kill(now_leading);
    let alone = cluster.coord_at(leader, &["zk", "get", "/c", "--timeout", "1"]);
    assert!(!alone.status.success(), "{alone:?}");
    let lost = zk_fails(&cluster, &["create", "/z", "--timeout", "1"]);
    assert!(lost.contains("reachable within 1s"), "{lost}");
}

/// Only a peer may forward a write to the leader (a forward names the client it acts
/// for); anyone may call and ping.
#[test]
fn a_stranger_cannot_forward_a_write_but_may_ping() {
    let cluster = start();
    zk(&cluster, &["create", "/a"]);
    let leader = cluster.leader();
    let before = cluster.stats(leader).unwrap().stats;
    let stranger = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let client = Id::from(7);
    let ping = ZkMsg::Ping;
    let seat = Seat { session: 7, n: 1 };
    let from = Origin {
        server: Id::from(0),
        conn: client,
    };
    let op = create("/forged", "", CreateMode::Persistent, 0);
    let kind = TxnKind::Request {
        op,
        seat,
        once: None,
        from,
    };
    let forged = ZkMsg::Forward(Txn { kind, time: 0 });
    // The ping goes first: by the time the forward is seen dropped, it was handled.
    for msg in [ping, forged] {
        let datagram = encode(Kind::Msg, client, &msg, None).unwrap();
        stranger.send_to(&datagram, cluster.addr(leader)).unwrap();
    }
    cluster.wait_for(leader, "dropping the forward", |s| {
        s.stats.dropped_non_peer > before.dropped_non_peer
    });
    let after = cluster.stats(leader).unwrap().stats;
    assert_eq!(after.dropped_non_peer, before.dropped_non_peer + 1);
    assert_eq!(after.decode_errors, before.decode_errors);
    let forged = zk_fails(&cluster, &["get", "/forged", "--sync"]);
    assert!(forged.contains("error: no node /forged"), "{forged}");
}
