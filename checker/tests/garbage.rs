//! Garbage at the edge: random bytes, a truncated message, an oversized datagram, an
//! unknown kind, a peer message from a stranger, and an unsigned peer message in a cluster
//! with a key are dropped and counted, and the node keeps serving.

mod common;

use common::Cluster;
use coord::net::frame::{encode, ClusterKey, Kind, MAX_DATAGRAM};
use coord::raft::Msg;
use coord_specs::kv::{KvOp, KvRet};
use stateright::actor::Id;
use std::net::{Ipv4Addr, UdpSocket};

type RaftMsg = Msg<KvOp, KvRet>;

/// A vote request in a term far ahead: a node that accepted it would be deposed.
fn hostile_vote() -> RaftMsg {
    Msg::RequestVote {
        term: 1_000,
        last_index: 1_000,
        last_term: 1_000,
    }
}

fn counters(cluster: &Cluster, node: usize) -> [u64; 4] {
    let s = cluster.stats(node).expect("node answers").stats;
    [
        s.decode_errors,
        s.oversized,
        s.dropped_non_peer,
        s.dropped_unauthenticated,
    ]
}

#[test]
fn garbage_datagrams_are_dropped_and_counted_and_the_node_keeps_serving() {
    let key = "s3cret";
    let mut cluster = Cluster::start(3, Some(key));
    cluster.put("a", "1");
    let target = cluster.addr(0);
    let stranger = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();

    // Not a coord datagram at all.
    let random: Vec<u8> = (0..200).map(|_| rand::random::<u8>() | 0x80).collect();
    stranger.send_to(&random, target).unwrap();
    // A real message cut short.
    let peer1 = Id::from(cluster.addrs[1]);
    let whole = encode(Kind::Msg, peer1, &hostile_vote(), None).unwrap();
    stranger.send_to(&whole[..whole.len() - 3], target).unwrap();
    // A header naming a datagram kind that does not exist.
    let mut unknown = whole.clone();
    unknown[4] = 0x33;
    stranger.send_to(&unknown, target).unwrap();
    // Larger than any coord datagram may be.
    let mut oversized = whole.clone();
    oversized.resize(MAX_DATAGRAM + 1_000, 0);
    stranger.send_to(&oversized, target).unwrap();
    // A peer message claiming to be node 1, correctly signed, but from another address.
    let signed = encode(
        Kind::Msg,
        peer1,
        &hostile_vote(),
        Some(&ClusterKey::new(key)),
    )
    .unwrap();
    stranger.send_to(&signed, target).unwrap();
    cluster.wait_for(0, "counting the garbage", |s| s.stats.dropped_non_peer >= 1);
    assert_eq!(counters(&cluster, 0), [3, 1, 1, 0]);

    // Node 2 is gone; its address now sends an unsigned peer message.
    cluster.kill(2);
    let impostor = UdpSocket::bind(cluster.addrs[2]).unwrap();
    let peer2 = Id::from(cluster.addrs[2]);
    let unsigned = encode(Kind::Msg, peer2, &hostile_vote(), None).unwrap();
    impostor.send_to(&unsigned, target).unwrap();
    cluster.wait_for(0, "dropping the unsigned message", |s| {
        s.stats.dropped_unauthenticated >= 1
    });
    assert_eq!(counters(&cluster, 0), [3, 1, 1, 1]);

    // Nobody adopted the hostile term, and the two nodes left still serve clients.
    for node in 0..2 {
        let status = cluster.stats(node).unwrap().status;
        let term: u64 = Cluster::field(&status, "term").unwrap().parse().unwrap();
        assert!(term < 1_000, "node {node}: {status}");
    }
    assert_eq!(cluster.put("b", "2").trim(), "ok: b is at version 1");
    assert_eq!(cluster.get("a").trim(), "1 (version 1)");
    // A client with the key verifies the servers' signed answers.
    let verified = cluster.coord(&["kv", "get", "b", "--cluster-key", key]);
    assert_eq!(common::expect_ok(verified).trim(), "2 (version 1)");
}
