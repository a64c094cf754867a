//! The spec's own tests: one story per rule.

use super::build::*;
use super::*;
use stateright::semantics::SequentialSpec;
use CreateMode::*;
use ZkError::*;
use ZkRet::{Deleted, Err as Fail, SessionClosed, Set};

impl ZnodeSpec {
    /// Invokes each op in turn, asserting what it returns.
    fn story(&mut self, steps: Vec<(ZkOp, ZkRet)>) {
        for (i, (op, ret)) in steps.into_iter().enumerate() {
            let got = self.invoke(&op);
            assert_eq!(
                got,
                pin_stats(&ret, &op, |p| self.stat(p)),
                "step {i}: {op}"
            );
        }
    }
}

/// A tree holding persistent `/a` (zxid 1) and `/a/b` (zxid 2).
fn tree_with_a_b() -> ZnodeSpec {
    let mut spec = ZnodeSpec::default();
    spec.story(vec![
        (create("/a", "", Persistent, 1), created("/a")),
        (create("/a/b", "", Persistent, 1), created("/a/b")),
    ]);
    spec
}

#[test]
fn path_helpers() {
    for good in ["/", "/a", "/a/b", "/a.b/..c/x y"] {
        assert!(validate_path(good), "{good}");
    }
    let bad = [
        "",
        "a",
        "a/b",
        "/a/",
        "//a",
        "/a//b",
        "/./a",
        "/a/..",
        "/a\0b",
        "/\u{1e}",
        "/a\u{7f}",
        "/\u{e000}",
        "/\u{fff5}",
    ];
    for bad in bad {
        assert!(!validate_path(bad), "{bad:?}");
    }
    assert!(validate_create_path("/a/", Sequential));
    assert!(validate_create_path("/a/.", EphemeralSequential));
    assert!(!validate_create_path("/a/", Persistent));
    assert!(!validate_create_path("/a//", Sequential));
    assert_eq!(parent("/"), None);
    assert_eq!(parent("/a"), Some("/"));
    assert_eq!(parent("/a/b/c"), Some("/a/b"));
    assert_eq!(child_name("/a/b"), "b");
    assert_eq!(child_name("/"), "");
}

#[test]
fn root_exists_initially_with_zero_stat() {
    let mut spec = ZnodeSpec::default();
    assert_eq!(spec.zxid(), 0);
    spec.story(vec![
        (get("/"), data("", stat(0, 0, 0, 0, 0, 0, 1))),
        (kids("/"), names(&["zookeeper"])),
        (kids("/zookeeper"), names(&["config", "quota"])),
        (
            get("/zookeeper/config"),
            data("", stat(0, 0, 0, 0, 0, 0, 0)),
        ),
    ]);
}

#[test]
fn system_paths_can_be_neither_created_nor_deleted() {
    let mut spec = ZnodeSpec::default();
    for path in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        spec.story(vec![
            (create(path, "", Persistent, 1), Fail(BadArguments)),
            (delete(path, ANY_VERSION), Fail(BadArguments)),
        ]);
    }
    spec.story(vec![(
        create("/zookeeper/mine", "", Persistent, 1),
        created("/zookeeper/mine"),
    )]);
    assert_eq!(spec.zxid(), 1);
}

#[test]
fn invalid_paths_are_bad_arguments_for_every_operation() {
    let mut spec = tree_with_a_b();
    for bad in ["", "a", "/a/", "//a", "/a/./b", "/a/../b", "/a\0"] {
        let ops = [
            create(bad, "", Persistent, 1),
            delete(bad, ANY_VERSION),
            exists(bad),
            get(bad),
            set(bad, "", ANY_VERSION),
            kids(bad),
        ];
        spec.story(ops.map(|op| (op, Fail(BadArguments))).into());
    }
    assert_eq!(spec.zxid(), 2);
}

#[test]
fn root_cannot_be_created_or_deleted() {
    let mut spec = ZnodeSpec::default();
    spec.story(vec![
        (create("/", "", Persistent, 1), Fail(BadArguments)),
        (delete("/", 0), Fail(BadArguments)),
    ]);
    assert_eq!(spec.zxid(), 0);
}

#[test]
fn create_needs_a_parent_and_a_free_path() {
    let mut spec = ZnodeSpec::default();
    spec.story(vec![
        (create("/a/b", "", Persistent, 1), Fail(NoNode)),
        (create("/a", "x", Persistent, 1), created("/a")),
        (create("/a", "y", Persistent, 2), Fail(NodeExists)),
        (get("/a"), data("x", stat(1, 1, 1, 0, 0, 1, 0))),
    ]);
    assert_eq!(spec.zxid(), 1);
}

#[test]
fn ephemeral_nodes_have_an_owner_and_no_children() {
    let mut spec = ZnodeSpec::default();
    let owned = Stat {
        ephemeral_owner: 7,
        ..stat(1, 1, 1, 0, 0, 0, 0)
    };
    spec.story(vec![
        (create("/e", "", Ephemeral, 7), created("/e")),
        (exists("/e"), ZkRet::Exists(Some(owned))),
        // Session 0 means "no session", so it cannot own an ephemeral node.
        (create("/f", "", Ephemeral, 0), Fail(BadArguments)),
    ]);
    for mode in [Persistent, Ephemeral, Sequential, EphemeralSequential] {
        let child = create("/e/c", "", mode, 7);
        assert_eq!(spec.invoke(&child), Fail(NoChildrenForEphemerals));
    }
    assert_eq!(spec.zxid(), 1);
}

#[test]
fn delete_checks_existence_then_version_then_children() {
    let mut spec = tree_with_a_b();
    spec.story(vec![
        (delete("/x", ANY_VERSION), Fail(NoNode)),
        (delete("/a", ANY_VERSION), Fail(NotEmpty)),
        (delete("/a", 1), Fail(BadVersion)),
        (set("/a/b", "v", 0), ZkRet::Set(stat(2, 3, 2, 1, 0, 1, 0))),
        (delete("/a/b", 0), Fail(BadVersion)),
        (delete("/a/b", 1), Deleted),
        (delete("/a", ANY_VERSION), Deleted),
        (exists("/a"), ZkRet::Exists(None)),
        (kids("/"), names(&["zookeeper"])),
    ]);
    assert_eq!(spec.zxid(), 5);
}

#[test]
fn set_data_checks_the_version_and_bumps_it() {
    let mut spec = ZnodeSpec::default();
    spec.story(vec![
        (set("/a", "x", ANY_VERSION), Fail(NoNode)),
        (create("/a", "x", Persistent, 1), created("/a")),
        (set("/a", "yy", 1), Fail(BadVersion)),
        (set("/a", "yy", 0), ZkRet::Set(stat(1, 2, 1, 1, 0, 2, 0))),
        (
            set("/a", "zzz", ANY_VERSION),
            ZkRet::Set(stat(1, 3, 1, 2, 0, 3, 0)),
        ),
        (get("/a"), data("zzz", stat(1, 3, 1, 2, 0, 3, 0))),
    ]);
}

#[test]
fn reads_of_a_missing_node() {
    ZnodeSpec::default().story(vec![
        (get("/x"), Fail(NoNode)),
        (kids("/x"), Fail(NoNode)),
        (exists("/x"), ZkRet::Exists(None)),
    ]);
}

#[test]
fn children_are_the_sorted_names_of_direct_children() {
    let mut spec = tree_with_a_b();
    spec.story(vec![
        (create("/a/a", "", Persistent, 1), created("/a/a")),
        (create("/a/b/deep", "", Persistent, 1), created("/a/b/deep")),
        (create("/ab", "", Persistent, 1), created("/ab")),
        (kids("/a"), names(&["a", "b"])),
        (kids("/"), names(&["a", "ab", "zookeeper"])),
        (kids("/a/b/deep"), names(&[])),
    ]);
    assert_eq!(spec.stat("/a").unwrap().num_children, 2);
}

#[test]
fn sequential_suffix_is_the_parents_cversion() {
    let mut spec = ZnodeSpec::default();
    let lock = create("/lock/lock-", "", EphemeralSequential, 5);
    spec.story(vec![
        (create("/lock", "", Persistent, 1), created("/lock")),
        (create("/other", "", Persistent, 1), created("/other")),
        (lock.clone(), created("/lock/lock-0000000000")),
        (lock.clone(), created("/lock/lock-0000000001")),
        // Each parent counts on its own.
        (
            create("/other/n", "", Sequential, 5),
            created("/other/n0000000000"),
        ),
        // A delete bumps the counter too, so numbers are never reused...
        (delete("/lock/lock-0000000000", ANY_VERSION), Deleted),
        (lock.clone(), created("/lock/lock-0000000003")),
        // ...and so does a plain create.
        (
            create("/lock/plain", "", Persistent, 1),
            created("/lock/plain"),
        ),
        (lock, created("/lock/lock-0000000005")),
    ]);
    let owner = |path| spec.stat(path).unwrap().ephemeral_owner;
    assert_eq!(owner("/lock/lock-0000000003"), 5);
    assert_eq!(owner("/other/n0000000000"), 0);
}

#[test]
fn sequential_create_fails_if_the_generated_path_exists() {
    let mut spec = ZnodeSpec::default();
    spec.story(vec![
        (create("/q", "", Persistent, 1), created("/q")),
        (
            create("/q/x0000000001", "", Persistent, 1),
            created("/q/x0000000001"),
        ),
        (create("/q/x", "", Sequential, 1), Fail(NodeExists)),
    ]);
    assert_eq!((spec.stat("/q").unwrap().cversion, spec.zxid()), (1, 2));
}

#[test]
fn successful_multi_takes_one_zxid() {
    let mut spec = tree_with_a_b();
    let ops = vec![
        MultiOp::Check {
            path: "/a".into(),
            version: 0,
        },
        step_create("/a/s", EphemeralSequential),
        step_create("/a/s", Sequential),
        MultiOp::SetData {
            path: "/a/b".into(),
            data: bytes("d"),
            version: ANY_VERSION,
        },
        MultiOp::Delete {
            path: "/a/b".into(),
            version: 1,
        },
    ];
    let results = vec![
        OpResult::Checked,
        step_created("/a/s0000000001"),
        step_created("/a/s0000000002"),
        OpResult::Set(stat(2, 3, 2, 1, 0, 1, 0)),
        OpResult::Deleted,
    ];
    spec.story(vec![
        (multi(ops, 9), ZkRet::Multi(results)),
        (kids("/a"), names(&["s0000000001", "s0000000002"])),
    ]);
    assert_eq!(spec.zxid(), 3);
    assert_eq!(spec.stat("/a/s0000000001").unwrap().ephemeral_owner, 9);
    assert_eq!(spec.stat("/a/s0000000002").unwrap().czxid, 3);
    // An empty multi succeeds and still takes a zxid.
    spec.story(vec![(multi(vec![], 9), ZkRet::Multi(vec![]))]);
    assert_eq!(spec.zxid(), 4);
}

#[test]
fn failed_multi_changes_nothing() {
    let mut spec = tree_with_a_b();
    let before = spec.clone();
    let half_way = vec![
        step_create("/c", Persistent),
        MultiOp::SetData {
            path: "/a".into(),
            data: bytes("x"),
            version: 0,
        },
        MultiOp::Delete {
            path: "/a".into(),
            version: ANY_VERSION,
        },
        step_create("/d", Persistent),
    ];
    let bad_check = vec![MultiOp::Check {
        path: "/a/b".into(),
        version: 3,
    }];
    let under_ephemeral = vec![
        step_create("/e", Ephemeral),
        step_create("/e/f", Persistent),
    ];
    spec.story(vec![
        (multi(half_way, 1), multi_failed(2, NotEmpty)),
        (exists("/c"), ZkRet::Exists(None)),
        (multi(bad_check, 1), multi_failed(0, BadVersion)),
        (
            multi(under_ephemeral, 1),
            multi_failed(1, NoChildrenForEphemerals),
        ),
    ]);
    assert_eq!(spec, before);
    assert_eq!(spec.zxid(), 2);
}

#[test]
fn close_session_deletes_only_its_own_ephemerals() {
    let mut spec = ZnodeSpec::default();
    spec.story(vec![
        (create("/p", "", Persistent, 1), created("/p")),
        (create("/p/mine", "", Ephemeral, 1), created("/p/mine")),
        (
            create("/p/seq", "", EphemeralSequential, 1),
            created("/p/seq0000000001"),
        ),
        (create("/theirs", "", Ephemeral, 2), created("/theirs")),
        (create("/kept", "", Persistent, 1), created("/kept")),
        (close(1), SessionClosed),
        (kids("/"), names(&["kept", "p", "theirs", "zookeeper"])),
        (kids("/p"), names(&[])),
    ]);
    assert_eq!(spec.zxid(), 6);
    assert_eq!(spec.stat("/p"), Some(stat(1, 1, 6, 0, 4, 0, 0)));
    // Closing a session that owns nothing is still one write; session 0 is no session.
    spec.story(vec![
        (close(1), SessionClosed),
        (close(0), Fail(BadArguments)),
    ]);
    assert_eq!(spec.zxid(), 7);
}

#[test]
fn a_closed_session_cannot_create_an_ephemeral_node_again() {
    let mut spec = ZnodeSpec::default();
    spec.story(vec![
        (close(1), SessionClosed),
        (create("/late", "", Ephemeral, 1), Fail(SessionExpired)),
        (
            multi(vec![step_create("/late", EphemeralSequential)], 1),
            multi_failed(0, SessionExpired),
        ),
        (create("/kept", "", Persistent, 1), created("/kept")),
        (create("/other", "", Ephemeral, 2), created("/other")),
    ]);
    assert_eq!(spec.zxid(), 3);
}

#[test]
fn stat_fields_follow_a_sequence_of_writes() {
    let mut spec = ZnodeSpec::default();
    spec.story(vec![
        (create("/a", "héllo", Persistent, 1), created("/a")), // zxid 1; é is two bytes
        (create("/a/x", "", Persistent, 1), created("/a/x")),  // zxid 2
        (create("/a/y", "", Persistent, 1), created("/a/y")),  // zxid 3
        (set("/a", "hi", 0), ZkRet::Set(stat(1, 4, 3, 1, 2, 2, 2))), // zxid 4
        (delete("/a/x", 0), Deleted),                          // zxid 5
        (set("/a/y", "1", 0), ZkRet::Set(stat(3, 6, 3, 1, 0, 1, 0))), // zxid 6, not /a's
        (exists("/a"), ZkRet::Exists(Some(stat(1, 4, 5, 1, 3, 2, 1)))),
        (get("/"), data("", stat(0, 0, 1, 0, 1, 0, 2))),
        (create("/b", "héllo", Persistent, 1), created("/b")), // zxid 7
        (get("/b"), data("héllo", stat(7, 7, 7, 0, 0, 6, 0))),
    ]);
}

#[test]
fn checks_histories_and_reads_well() {
    let mut spec = ZnodeSpec::default();
    assert!(!spec.clone().is_valid_history([(delete("/a", 0), Deleted)]));
    let made = ZkRet::Created {
        path: "/a".into(),
        stat: stat(1, 1, 1, 0, 0, 0, 0),
    };
    let history = [
        (create("/a", "", Persistent, 1), made),
        (delete("/a", 0), Deleted),
    ];
    assert!(spec.is_valid_history(history));
    assert_eq!(spec.zxid(), 2);
    let op = create("/l/x-", "d", EphemeralSequential, 3);
    assert_eq!(
        op.to_string(),
        "create(/l/x-, \"d\", ephemeral-sequential, session 3)"
    );
    assert_eq!(
        multi_failed(1, BadVersion).to_string(),
        "multi failed at step 1: BadVersion"
    );
    assert_eq!(names(&["a", "b"]).to_string(), "[a, b]");
    assert!(kids("/").is_read() && !close(1).is_read());
}

#[test]
fn a_sequential_create_of_a_trailing_slash_names_only_the_number() {
    let mut spec = tree_with_a_b();
    spec.story(vec![
        (create("/a/", "", Sequential, 1), created("/a/0000000001")),
        (create("/a/", "", Persistent, 1), Fail(BadArguments)),
    ]);
}

#[test]
fn null_data_reads_back_null_and_empty_data_empty() {
    let mut spec = ZnodeSpec::default();
    spec.story(vec![
        (
            with_null_data(create("/n", "", Persistent, 1)),
            created("/n"),
        ),
        (create("/e", "", Persistent, 1), created("/e")),
        (get("/n"), null_data(stat(1, 1, 1, 0, 0, 0, 0))),
        (get("/e"), data("", stat(2, 2, 2, 0, 0, 0, 0))),
        (set("/n", "x", ANY_VERSION), Set(stat(1, 3, 1, 1, 0, 1, 0))),
        (
            with_null_data(set("/e", "", ANY_VERSION)),
            Set(stat(2, 4, 2, 1, 0, 0, 0)),
        ),
        (get("/n"), data("x", stat(1, 3, 1, 1, 0, 1, 0))),
        (get("/e"), null_data(stat(2, 4, 2, 1, 0, 0, 0))),
    ]);
    assert_eq!(Shown(&Data::NULL).to_string(), "null");
}

#[test]
fn acls_are_kept_versioned_and_checked_for_form() {
    let mut spec = ZnodeSpec::default();
    let (alice, bob) = (digest("alice", Acl::ALL), [digest("bob", Acl::READ)]);
    let acl_of = |spec: &mut ZnodeSpec, path| match spec.invoke(&as_user(get_acl(path), "alice")) {
        ZkRet::Acl { acl, stat } => (acl, stat.aversion),
        other => panic!("not an ACL: {other}"),
    };
    spec.story(vec![
        (create("/open", "", Persistent, 1), created("/open")),
        (
            with_acl(
                create("/a", "", Persistent, 1),
                &[alice.clone(), alice.clone()],
            ),
            created("/a"),
        ),
        (
            with_acl(create("/b", "", Persistent, 1), &[]),
            Fail(InvalidAcl),
        ),
        (set_acl("/a", &[], ANY_VERSION), Fail(InvalidAcl)),
        (set_acl("/nope", &bob, ANY_VERSION), Fail(NoNode)),
        (set_acl("/a/", &[], ANY_VERSION), Fail(BadArguments)),
        (as_user(set_acl("/a", &bob, 1), "alice"), Fail(BadVersion)),
        (set_acl("/a", &bob, 0), Fail(NoAuth)),
    ]);
    assert_eq!(spec.zxid(), 2, "refused writes take no zxid");
    assert_eq!(acl_of(&mut spec, "/open"), (Acl::open(), 0));
    assert_eq!(acl_of(&mut spec, "/a"), (vec![alice], 0), "repeats dropped");
    let by_alice = as_user(set_acl("/a", &bob, 0), "alice");
    assert!(matches!(spec.invoke(&by_alice), ZkRet::AclSet(s) if s.aversion == 1));
    let by_bob = as_user(get_acl("/a"), "bob");
    assert!(matches!(spec.invoke(&by_bob), ZkRet::Acl { acl, .. } if acl == acl::redact(&bob)));
    assert_eq!(
        acl_of(&mut spec, "/zookeeper/config").0,
        vec![Acl::anyone(Acl::READ)]
    );
    let failed = multi(vec![with_acl(step_create("/m", Persistent), &[])], 1);
    assert_eq!(spec.invoke(&failed), multi_failed(0, InvalidAcl));
}

#[test]
fn an_acl_entry_is_valid_only_in_a_scheme_zookeeper_knows() {
    let entry = |scheme: &str, id: &str| Acl {
        perms: Acl::ALL,
        scheme: scheme.into(),
        id: id.into(),
    };
    let valid = [
        ("world", "anyone"),
        ("digest", "u:h"),
        ("digest", ":h"),
        ("ip", "127.0.0.1"),
        ("ip", "10.0.0.0/8"),
        ("ip", "::1/128"),
    ];
    for (scheme, id) in valid {
        assert!(entry(scheme, id).is_valid(), "{scheme}:{id}");
    }
    let invalid = [
        ("world", "someone"),
        ("digest", "u"),
        ("digest", "u:"),
        ("digest", "u:h:x"),
        ("ip", "10.0.0.0/33"),
        ("ip", "host"),
        ("auth", ""),
        ("sasl", "u"),
    ];
    for (scheme, id) in invalid {
        assert!(!entry(scheme, id).is_valid(), "{scheme}:{id}");
    }
}
