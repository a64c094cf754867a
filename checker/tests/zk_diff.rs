//! The differential tester (`coord diff zk`) against a real ZooKeeper 3.8 ensemble and a
//! coord zk cluster, both started here on free ports: a few seeds' plans, session expiry
//! included, must get the same answers from both but for the documented known
//! differences; and a plan made to meet a known difference shows that the comparison
//! does see what differs between the two servers.

mod common;

use coord::net::zk::proto::create_flag;
use coord::net::zk::request::Op;
use coord_checker::coord_zk::CoordZkCluster;
use coord_checker::diff_plan::{Shape, Step, SHORT_TIMEOUT_MS};
use coord_checker::diff_run::play;
use coord_checker::jute_client::create;
use coord_checker::members::Members;
use coord_checker::zk_diff::{first_difference, Pair, KNOWN};
use coord_checker::zookeeper::ZooKeeperEnsemble;
use std::net::SocketAddr;
use std::path::Path;

fn addrs(cluster: &dyn Members) -> Vec<SocketAddr> {
    (0..cluster.count())
        .map(|i| cluster.client_addr(i))
        .collect()
}

/// A sequential child, its session's close, and another sequential child: the second's
/// number is where ZooKeeper 3.8 (which does not count the delete) and coord part.
fn sequential_after_a_close() -> Vec<Step> {
    let open = |session, member| Step::Open {
        session,
        member,
        timeout_ms: SHORT_TIMEOUT_MS,
    };
    let call = |session, op| Step::Call { session, op };
    let seq = |flags| create("R/a/s-", b"", flags);
    vec![
        open(0, 0),
        call(0, create("R", b"", create_flag::PERSISTENT)),
        call(0, create("R/a", b"", create_flag::PERSISTENT)),
        open(1, 1),
        call(1, seq(create_flag::EPHEMERAL_SEQUENTIAL)),
        Step::Close { session: 1 },
        call(
            0,
            Op::GetChildren2 {
                path: "R/a".into(),
                watch: false,
            },
        ),
        call(0, seq(create_flag::PERSISTENT_SEQUENTIAL)),
        Step::Close { session: 0 },
    ]
}

#[test]
fn coord_answers_as_zookeeper_does_on_seeded_plans() {
    let zookeeper = ZooKeeperEnsemble::start(3).unwrap_or_else(|e| panic!("{e}"));
    let coord =
        CoordZkCluster::start(Path::new(common::COORD), 3).unwrap_or_else(|e| panic!("{e}"));
    let (coord, zookeeper) = (addrs(&coord), addrs(&zookeeper));
    let pair = Pair {
        coord: &coord,
        zookeeper: &zookeeper,
    };

    // The comparison sees a difference between the servers, and names it.
    let plan = sequential_after_a_close();
    let root = format!("/diff-test-{}", std::process::id());
    let (on_coord, on_zookeeper) = (play(&coord, &plan, &root), play(&zookeeper, &plan, &root));
    assert_ne!(on_coord, on_zookeeper);
    let (at, known) = first_difference(&on_coord, &on_zookeeper);
    assert_eq!(
        at, None,
        "coord:\n{on_coord:#?}\nZooKeeper:\n{on_zookeeper:#?}"
    );
    assert!(std::ptr::eq(known[0].1, &KNOWN[0]), "{:?}", known[0].0);

    // Seed 1's plan leaves a session to expire.
    let shape = Shape {
        steps: 60,
        members: 3,
        expiry: true,
    };
    assert!(coord_checker::diff_plan::plan(1, shape)
        .iter()
        .any(|s| matches!(s, Step::Expire { .. })));
    for seed in 0..4 {
        if let Err(mismatch) = pair.compare(seed, shape, "test") {
            panic!("{mismatch}");
        }
    }
}
