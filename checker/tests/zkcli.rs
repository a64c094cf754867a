//! zkCli.sh, ZooKeeper's own command-line client, runs one scripted session against a
//! real ZooKeeper 3.8 ensemble and against a coord zk cluster: once ids and times are
//! normalised, the transcripts must be the same. Against ZooKeeper it also must match
//! itself across two runs, which shows the normaliser removes what differs between
//! correct runs (and only that: its unit tests show it keeps what must match).

mod common;

use coord_checker::coord_zk::CoordZkCluster;
use coord_checker::members::Members;
use coord_checker::zkcli;
use coord_checker::zookeeper::ZooKeeperEnsemble;

/// The session's transcript against `connect`, raw and normalised.
fn session(connect: &str) -> (String, String) {
    let raw = zkcli::run(connect, zkcli::SESSION).unwrap_or_else(|e| panic!("{e}"));
    let normal = zkcli::normalise(&raw, connect);
    (raw, normal)
}

#[test]
fn zkcli_session_against_zookeeper_matches_itself_once_normalised() {
    let zookeeper = ZooKeeperEnsemble::start(3).unwrap_or_else(|e| panic!("{e}"));
    let (raw_1, normal_1) = session(&zookeeper.connect_string());
    let (raw_2, normal_2) = session(&zookeeper.connect_string());
    assert_ne!(
        raw_1, raw_2,
        "two runs should differ in zxids and session ids"
    );
    let diff = zkcli::differences(&normal_1, &normal_2);
    assert!(
        diff.is_empty(),
        "two runs differ:\n{diff}\nfirst run:\n{raw_1}"
    );
    // The session did what the script asks, so the comparison is not of two failures.
    for expected in [
        "Created /zkcli/a/seq-0000000002",
        "Created /zkcli/a/eseq-0000000003",
        "Node already exists: /zkcli/a",
        "version No is not valid : /zkcli/a",
        "ephemeralOwner = <session-1>",
        "Node not empty: /zkcli/a",
        "Sync is OK",
        "WatchedEvent state:SyncConnected type:NodeDataChanged path:/zkcli/a/b",
        "WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/zkcli",
        "Node does not exist: /zkcli",
    ] {
        assert!(
            normal_1.contains(expected),
            "{expected:?} missing:\n{normal_1}"
        );
    }
}

#[test]
fn zkcli_session_against_coord_matches_zookeeper() {
    let zookeeper = ZooKeeperEnsemble::start(3).unwrap_or_else(|e| panic!("{e}"));
    let coord = CoordZkCluster::start(common::COORD.as_ref(), 3).unwrap_or_else(|e| panic!("{e}"));
    let (_, expected) = session(&zookeeper.connect_string());
    let (raw, got) = session(&coord.connect_string());
    let diff = zkcli::differences(&expected, &got);
    assert!(
        diff.is_empty(),
        "coord (+) differs from ZooKeeper (-):\n{diff}\ncoord's transcript:\n{raw}"
    );
}
