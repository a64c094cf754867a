//! The single writes: create (every mode), delete and set, and the stat they leave.

use super::*;

#[test]
fn create_needs_an_existing_parent_and_a_free_name() {
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (create("/a/b", "", Persistent, 1), Fail(NoNode)),
            (create("/x/y/z", "", Persistent, 1), Fail(NoNode)),
            (create("/a", "x", Persistent, 1), created("/a")),
            (create("/a", "y", Persistent, 2), Fail(NodeExists)),
            (create("/a", "y", Ephemeral, 2), Fail(NodeExists)),
            (get("/a"), data("x", stat(1, 1, 1, 0, 0, 1, 0))),
            // Session 0 may create persistent nodes.
            (create("/a/b", "", Persistent, 0), created("/a/b")),
        ],
    );
    assert_eq!(tree.zxid(), 2);
}

#[test]
fn null_data_reads_back_null_apart_from_empty_data() {
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (
                with_null_data(create("/n", "", Persistent, 1)),
                created("/n"),
            ),
            (get("/n"), null_data(stat(1, 1, 1, 0, 0, 0, 0))),
            (
                set("/n", "", ANY_VERSION),
                ZkRet::Set(stat(1, 2, 1, 1, 0, 0, 0)),
            ),
            (get("/n"), data("", stat(1, 2, 1, 1, 0, 0, 0))),
            (
                with_null_data(set("/n", "", ANY_VERSION)),
                ZkRet::Set(stat(1, 3, 1, 2, 0, 0, 0)),
            ),
            (get("/n"), null_data(stat(1, 3, 1, 2, 0, 0, 0))),
        ],
    );
}

#[test]
fn acls_are_kept_and_replaced_in_their_version_and_an_empty_one_is_invalid() {
    let mut tree = ZnodeTree::default();
    let alice = [digest("alice", Acl::ALL)];
    let acl = |acl: &[Acl], aversion| ZkRet::Acl {
        acl: acl.to_vec(),
        stat: Stat {
            aversion,
            ..fresh(1, 0)
        },
    };
    story(
        &mut tree,
        vec![
            (
                with_acl(create("/a", "", Persistent, 1), &[]),
                Fail(InvalidAcl),
            ),
            (
                with_acl(create("/a", "", Persistent, 1), &alice),
                created("/a"),
            ),
            (get_acl("/a"), Fail(NoAuth)),
            (as_user(get_acl("/a"), "alice"), acl(&alice, 0)),
            (set_acl("/a", &[], ANY_VERSION), Fail(InvalidAcl)),
            (
                as_user(set_acl("/a", &Acl::open(), 1), "alice"),
                Fail(BadVersion),
            ),
            (set_acl("/a", &Acl::open(), 0), Fail(NoAuth)),
            (set_acl("/b", &Acl::open(), 0), Fail(NoNode)),
            (
                as_user(set_acl("/a", &Acl::open(), 0), "alice"),
                ZkRet::AclSet(Stat {
                    aversion: 1,
                    ..fresh(1, 0)
                }),
            ),
            (get_acl("/a"), acl(&Acl::open(), 1)),
        ],
    );
    let config = tree.answer_read(&get_acl("/zookeeper/config"));
    assert!(matches!(config, Some(ZkRet::Acl { acl, .. }) if acl == [Acl::anyone(Acl::READ)]));
}

#[test]
fn ephemeral_nodes_have_an_owner_and_no_children() {
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (create("/e", "", Ephemeral, 7), created("/e")),
            (exists("/e"), found(fresh(1, 7))),
            // Session 0 is "no session", so it cannot own an ephemeral node; that is checked
            // before the parent is looked up.
            (create("/f", "", Ephemeral, 0), Fail(BadArguments)),
            (create("/f", "", EphemeralSequential, 0), Fail(BadArguments)),
            (create("/x/f", "", Ephemeral, 0), Fail(BadArguments)),
            // A missing parent is reported before an ephemeral one.
            (create("/e/c/d", "", Persistent, 7), Fail(NoNode)),
        ],
    );
    for mode in [Persistent, Ephemeral, Sequential, EphemeralSequential] {
        let child = create("/e/c", "", mode, 7);
        assert_eq!(tree.run(&child), Fail(NoChildrenForEphemerals));
    }
    assert_eq!((tree.zxid(), tree.stat("/e")), (1, Some(fresh(1, 7))));
}

#[test]
fn delete_checks_existence_then_version_then_children() {
    let mut tree = tree_with_a_b();
    story(
        &mut tree,
        vec![
            (delete("/x", ANY_VERSION), Fail(NoNode)),
            (delete("/x", 5), Fail(NoNode)),
            (delete("/a", ANY_VERSION), Fail(NotEmpty)),
            (delete("/a", 1), Fail(BadVersion)),
            (set("/a/b", "v", 0), ZkRet::Set(stat(2, 3, 2, 1, 0, 1, 0))),
            (delete("/a/b", 0), Fail(BadVersion)),
            // Version -1 deletes whatever the version.
            (delete("/a/b", ANY_VERSION), Deleted),
            (exists("/a"), found(stat(1, 1, 4, 0, 2, 0, 0))),
            (delete("/a", 0), Deleted),
            (exists("/a"), ZkRet::Exists(None)),
            (kids("/"), names(&["zookeeper"])),
            (delete("/a", ANY_VERSION), Fail(NoNode)),
        ],
    );
    assert_eq!(tree.zxid(), 5);
}

#[test]
fn set_data_checks_the_version_and_bumps_it() {
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (set("/a", "x", ANY_VERSION), Fail(NoNode)),
            (create("/a", "x", Persistent, 1), created("/a")),
            (set("/a", "yy", 1), Fail(BadVersion)),
            (set("/a", "yy", -2), Fail(BadVersion)),
            (set("/a", "yy", 0), ZkRet::Set(stat(1, 2, 1, 1, 0, 2, 0))),
            // Version -1 sets whatever the version.
            (
                set("/a", "zzz", ANY_VERSION),
                ZkRet::Set(stat(1, 3, 1, 2, 0, 3, 0)),
            ),
            (set("/a", "", 2), ZkRet::Set(stat(1, 4, 1, 3, 0, 0, 0))),
            (get("/a"), data("", stat(1, 4, 1, 3, 0, 0, 0))),
            (set("/", "r", 0), ZkRet::Set(stat(0, 5, 1, 1, 1, 1, 2))),
        ],
    );
    assert_eq!(tree.zxid(), 5);
}

#[test]
fn the_sequence_number_is_the_parents_child_version() {
    let mut tree = ZnodeTree::default();
    let lock = create("/lock/n-", "", EphemeralSequential, 5);
    story(
        &mut tree,
        vec![
            (create("/lock", "", Persistent, 1), created("/lock")),
            (create("/other", "", Persistent, 1), created("/other")),
            (lock.clone(), created("/lock/n-0000000000")),
            (lock.clone(), created("/lock/n-0000000001")),
            // Each parent counts on its own.
            (
                create("/other/n", "", Sequential, 5),
                created("/other/n0000000000"),
            ),
            // A delete bumps the counter, so numbers are never reused...
            (delete("/lock/n-0000000000", ANY_VERSION), Deleted),
            (lock.clone(), created("/lock/n-0000000003")),
            // ...and so does a plain create, but a failed create does not.
            (create("/lock/p", "", Persistent, 1), created("/lock/p")),
            (create("/lock/p", "", Persistent, 1), Fail(NodeExists)),
            (
                create("/lock/n-", "", EphemeralSequential, 0),
                Fail(BadArguments),
            ),
            (
                create("/lock/n-", "", Sequential, 0),
                created("/lock/n-0000000005"),
            ),
            // The root counts too.
            (create("/s", "", Sequential, 1), created("/s0000000002")),
        ],
    );
    let owner = |path| tree.stat(path).unwrap().ephemeral_owner;
    assert_eq!(owner("/lock/n-0000000003"), 5);
    assert_eq!(owner("/lock/n-0000000005"), 0);
    assert_eq!(owner("/other/n0000000000"), 0);
}

#[test]
fn a_sequential_create_fails_if_the_generated_name_is_taken() {
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (create("/q", "", Persistent, 1), created("/q")),
            (
                create("/q/x0000000001", "", Persistent, 1),
                created("/q/x0000000001"),
            ),
            (create("/q/x", "", Sequential, 1), Fail(NodeExists)),
        ],
    );
    assert_eq!((tree.stat("/q").unwrap().cversion, tree.zxid()), (1, 2));
    story(
        &mut tree,
        vec![
            (create("/q/y", "", Sequential, 1), created("/q/y0000000001")),
            (create("/q/x", "", Sequential, 1), created("/q/x0000000002")),
        ],
    );
}

#[test]
fn stat_fields_follow_a_sequence_of_writes() {
    let mut tree = ZnodeTree::default();
    let multi_set_then_create = vec![
        step_set("/a", "abc", ANY_VERSION),
        step_create("/a/z", Persistent),
    ];
    story(
        &mut tree,
        vec![
            (create("/a", "héllo", Persistent, 1), created("/a")), // zxid 1; é is two bytes
            (get("/a"), data("héllo", stat(1, 1, 1, 0, 0, 6, 0))),
            (create("/a/x", "", Persistent, 1), created("/a/x")), // zxid 2
            (create("/a/y", "", Persistent, 1), created("/a/y")), // zxid 3
            (set("/a", "hi", 0), ZkRet::Set(stat(1, 4, 3, 1, 2, 2, 2))), // zxid 4
            (delete("/a/x", 0), Deleted),                         // zxid 5
            (set("/a/y", "1", 0), ZkRet::Set(stat(3, 6, 3, 1, 0, 1, 0))), // zxid 6, not /a's
            (exists("/a"), found(stat(1, 4, 5, 1, 3, 2, 1))),
            (get("/"), data("", stat(0, 0, 1, 0, 1, 0, 2))),
            // In a multi, the set sees the tree before the create that follows it (zxid 7).
            (
                multi(multi_set_then_create, 1),
                ZkRet::Multi(vec![
                    OpResult::Set(stat(1, 7, 5, 2, 3, 3, 1)),
                    step_created("/a/z"),
                ]),
            ),
            (exists("/a"), found(stat(1, 7, 7, 2, 4, 3, 2))),
            (close(1), SessionClosed), // zxid 8, owns nothing
            (get("/"), data("", stat(0, 0, 1, 0, 1, 0, 2))),
            (get("/a/z"), data("", fresh(7, 0))),
        ],
    );
    assert_eq!(tree.zxid(), 8);
}

#[test]
fn a_closed_session_stays_closed() {
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (create("/e", "", Ephemeral, 7), created("/e")),
            (close(7), SessionClosed),
            // A create sent before the expiry but applied after it leaves no orphan.
            (create("/late", "", Ephemeral, 7), Fail(SessionExpired)),
            (
                multi(vec![step_create("/late", EphemeralSequential)], 7),
                multi_failed(0, SessionExpired),
            ),
            // The session may still create persistent nodes; other sessions are untouched.
            (create("/kept", "", Persistent, 7), created("/kept")),
            (create("/other", "", Ephemeral, 8), created("/other")),
        ],
    );
    assert!(tree.is_closed(7) && !tree.is_closed(8));
    assert_eq!(tree.ephemerals(7), Vec::<Path>::new());
}

#[test]
fn deliberate_bugs_in_the_tree() {
    let mut lost_update = ZnodeTree::with_bug(Some(ZkBug::IgnoreVersion));
    story(
        &mut lost_update,
        vec![
            (create("/c", "0", Persistent, 0), created("/c")),
            (set("/c", "1", 0), ZkRet::Set(stat(1, 2, 1, 1, 0, 1, 0))),
            // Both read version 0; the second set should fail but succeeds.
            (set("/c", "1", 0), ZkRet::Set(stat(1, 3, 1, 2, 0, 1, 0))),
        ],
    );
    let mut orphans = ZnodeTree::with_bug(Some(ZkBug::KeepEphemerals));
    story(
        &mut orphans,
        vec![
            (create("/e", "", Ephemeral, 7), created("/e")),
            (close(7), SessionClosed),
        ],
    );
    assert!(orphans.is_closed(7));
    assert_eq!(orphans.ephemerals(7), vec![Path::from("/e")]);
}
