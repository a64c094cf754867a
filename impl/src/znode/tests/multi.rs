//! Writes of many nodes at one zxid: multi and session close.

use super::*;

#[test]
fn a_successful_multi_takes_one_zxid_and_each_step_sees_the_last() {
    let mut tree = tree_with_a_b();
    let ops = vec![
        step_check("/a", 0),
        step_create("/a/s", EphemeralSequential),
        step_create("/a/s", Sequential),
        step_set("/a/b", "d", ANY_VERSION),
        step_delete("/a/b", 1),
        step_check("/a", 0),
    ];
    let results = vec![
        OpResult::Checked,
        step_created("/a/s0000000001"),
        step_created("/a/s0000000002"),
        OpResult::Set(stat(2, 3, 2, 1, 0, 1, 0)),
        OpResult::Deleted,
        OpResult::Checked,
    ];
    story(
        &mut tree,
        vec![
            (multi(ops, 9), ZkRet::Multi(results)),
            (kids("/a"), names(&["s0000000001", "s0000000002"])),
            (exists("/a"), found(stat(1, 1, 3, 0, 4, 0, 2))),
        ],
    );
    assert_eq!(tree.zxid(), 3);
    assert_eq!(tree.stat("/a/s0000000001"), Some(fresh(3, 9)));
    assert_eq!(tree.stat("/a/s0000000002"), Some(fresh(3, 0)));
    // An empty multi succeeds and still takes a zxid; a node may come and go in one multi.
    let come_and_go = vec![step_create("/t", Persistent), step_delete("/t", 0)];
    story(
        &mut tree,
        vec![
            (multi(vec![], 9), ZkRet::Multi(vec![])),
            (
                multi(come_and_go, 9),
                ZkRet::Multi(vec![gone_created("/t", 5), OpResult::Deleted]),
            ),
            (exists("/t"), ZkRet::Exists(None)),
            (get("/"), data("", stat(0, 0, 5, 0, 3, 0, 2))),
        ],
    );
    assert_eq!(tree.zxid(), 5);
}

#[test]
fn a_failed_multi_changes_nothing() {
    let mut tree = tree_with_a_b();
    let before = tree.clone();
    let half_way = vec![
        step_create("/c", Persistent),
        step_set("/a", "x", 0),
        step_delete("/a", ANY_VERSION),
        step_create("/d", Persistent),
    ];
    // Half way through, after a create and a set took effect on the way.
    assert_eq!(
        tree.run_with_changes(&multi(half_way, 1)),
        (multi_failed(2, NotEmpty), vec![])
    );
    story(
        &mut tree,
        vec![
            (exists("/c"), ZkRet::Exists(None)),
            (get("/a"), data("", stat(1, 1, 2, 0, 1, 0, 1))),
            (
                multi(vec![step_check("/a/b", 3)], 1),
                multi_failed(0, BadVersion),
            ),
            (
                multi(vec![step_check("/nope", ANY_VERSION)], 1),
                multi_failed(0, NoNode),
            ),
            (
                multi(vec![step_create("/e", Ephemeral)], 0),
                multi_failed(0, BadArguments),
            ),
            (
                multi(
                    vec![
                        step_create("/e", Ephemeral),
                        step_create("/e/f", Persistent),
                    ],
                    1,
                ),
                multi_failed(1, NoChildrenForEphemerals),
            ),
            // Later steps see earlier ones, also when they fail because of them.
            (
                multi(vec![step_create("/c", Persistent); 2], 1),
                multi_failed(1, NodeExists),
            ),
            (
                multi(vec![step_delete("/a/b", ANY_VERSION); 2], 1),
                multi_failed(1, NoNode),
            ),
            (
                multi(vec![step_create("/c", Persistent), step_check("/c", 1)], 1),
                multi_failed(1, BadVersion),
            ),
        ],
    );
    assert_eq!(tree, before);
    assert_eq!(tree.zxid(), 2);
}

#[test]
fn close_session_deletes_only_its_own_ephemerals_in_one_write() {
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (create("/p", "", Persistent, 1), created("/p")),
            (create("/p/mine", "", Ephemeral, 1), created("/p/mine")),
            (
                create("/p/seq", "", EphemeralSequential, 1),
                created("/p/seq0000000001"),
            ),
            (create("/theirs", "", Ephemeral, 2), created("/theirs")),
            (create("/kept", "", Persistent, 1), created("/kept")),
        ],
    );
    assert_eq!(tree.ephemerals(1), ["/p/mine", "/p/seq0000000001"]);
    assert_eq!(tree.ephemerals(2), ["/theirs"]);
    assert!(tree.ephemerals(0).is_empty() && tree.ephemerals(3).is_empty());
    story(
        &mut tree,
        vec![
            (close(1), SessionClosed),
            (kids("/"), names(&["kept", "p", "theirs", "zookeeper"])),
            (kids("/p"), names(&[])),
            (exists("/p"), found(stat(1, 1, 6, 0, 4, 0, 0))),
        ],
    );
    assert_eq!(tree.zxid(), 6);
    assert!(tree.ephemerals(1).is_empty());
    // Closing a session that owns nothing is still one write; session 0 is no session.
    story(
        &mut tree,
        vec![
            (close(1), SessionClosed),
            (close(3), SessionClosed),
            (close(0), Fail(BadArguments)),
        ],
    );
    assert_eq!(tree.zxid(), 8);
    // A closed session's late ephemeral create fails (see `a_closed_session_stays_closed`).
    let late = create("/late", "", Ephemeral, 1);
    story(&mut tree, vec![(late, Fail(SessionExpired))]);
    assert!(tree.ephemerals(1).is_empty());
}

/// The result of a multi step that created `path` at `zxid`, a persistent empty node that
/// a later step of the same multi deleted (so the tree cannot pin its stat).
fn gone_created(path: &str, zxid: Zxid) -> OpResult {
    let (path, stat) = (path.into(), fresh(zxid, 0));
    OpResult::Created { path, stat }
}
