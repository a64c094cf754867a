//! Paths, the root, and the three reads.

use super::*;

#[test]
fn paths_parse_into_names_and_back() {
    assert_eq!(parse("/"), Ok(vec![]));
    assert_eq!(parse("/a"), Ok(vec!["a"]));
    assert_eq!(parse("/a.b/..c/x y"), Ok(vec!["a.b", "..c", "x y"]));
    let bad = [
        "", "a", "a/b", "/a/", "//", "//a", "/a//b", "/.", "/a/./b", "/a/..", "/a\0b",
    ];
    for bad in bad {
        assert_eq!(parse(bad), Err(BadArguments), "{bad:?}");
    }
    assert_eq!(join::<&str>(&[]), "/");
    assert_eq!(join(&["a", "b"]), "/a/b");
    assert_eq!(
        (child_path("/", "a"), child_path("/a", "b")),
        ("/a".into(), "/a/b".into())
    );
}

#[test]
fn root_exists_initially_with_a_zero_stat() {
    let mut tree = ZnodeTree::default();
    assert_eq!(tree.zxid(), 0);
    story(
        &mut tree,
        vec![
            (get("/"), data("", stat(0, 0, 0, 0, 0, 0, 1))),
            (exists("/"), found(stat(0, 0, 0, 0, 0, 0, 1))),
            (kids("/"), names(&["zookeeper"])),
            (kids("/zookeeper"), names(&["config", "quota"])),
            (get("/zookeeper/quota"), data("", Stat::default())),
        ],
    );
    assert_eq!(tree, ZnodeTree::default());
}

#[test]
fn reads_are_answered_without_the_log_and_writes_are_not() {
    let tree = tree_with_a_b();
    assert_eq!(tree.answer_read(&get("/a/b")), Some(data("", fresh(2, 0))));
    assert_eq!(
        tree.answer_read(&exists("/a")),
        Some(found(stat(1, 1, 2, 0, 1, 0, 1)))
    );
    assert_eq!(tree.answer_read(&exists("/z")), Some(ZkRet::Exists(None)));
    let listed = ZkRet::Children {
        names: vec!["b".into()],
        stat: stat(1, 1, 2, 0, 1, 0, 1),
    };
    assert_eq!(tree.answer_read(&kids("/a")), Some(listed));
    assert_eq!(tree.answer_read(&kids("a")), Some(Fail(BadArguments)));
    let writes = [
        create("/c", "", Persistent, 1),
        delete("/a/b", ANY_VERSION),
        set("/a", "x", ANY_VERSION),
        multi(vec![], 1),
        close(1),
    ];
    for write in writes {
        assert_eq!(tree.answer_read(&write), None, "{write}");
    }
    // Applying a read through the log answers the same and changes nothing.
    let mut applied = tree.clone();
    assert_eq!(
        applied.run(&kids("/a")),
        tree.answer_read(&kids("/a")).unwrap()
    );
    assert_eq!(applied, tree);
}

#[test]
fn invalid_paths_are_bad_arguments_for_every_operation() {
    let mut tree = tree_with_a_b();
    let before = tree.clone();
    let bad_paths = [
        "",          // empty
        "a",         // relative
        "a/b",       // relative, nested
        "/a/",       // trailing slash
        "//a",       // empty first name
        "/a//b",     // empty name in the middle
        "/a/./b",    // `.`
        "/a/..",     // `..`
        "/a\0",      // NUL
        "/a/b\0c",   // NUL inside a name
        "/\u{1e}",   // a control character (kazoo's test_create_invalid_path)
        "/a\u{9f}",  // a C1 control character
        "/\u{f000}", // private use
    ];
    for bad in bad_paths {
        let mut steps = vec![
            (delete(bad, ANY_VERSION), Fail(BadArguments)),
            (exists(bad), Fail(BadArguments)),
            (get(bad), Fail(BadArguments)),
            (set(bad, "", ANY_VERSION), Fail(BadArguments)),
            (kids(bad), Fail(BadArguments)),
        ];
        for mode in [Persistent, Ephemeral, Sequential, EphemeralSequential] {
            // A sequential create appends a number first: `/a/` and `/a/..` are then valid.
            if !(["/a/", "/a/.."].contains(&bad) && mode.is_sequential()) {
                steps.push((create(bad, "", mode, 1), Fail(BadArguments)));
            }
        }
        let in_multi = [
            step_check(bad, ANY_VERSION),
            step_create(bad, Persistent),
            step_delete(bad, ANY_VERSION),
            step_set(bad, "", ANY_VERSION),
        ];
        for step in in_multi {
            let ops = vec![step_check("/a", 0), step];
            steps.push((multi(ops, 1), multi_failed(1, BadArguments)));
        }
        story(&mut tree, steps);
    }
    assert_eq!(tree, before);
    assert_eq!(tree.zxid(), 2);
}

#[test]
fn a_trailing_slash_names_only_the_number_of_a_sequential_create() {
    // ZooKeeper validates a sequential create's path with the number appended: `/lock/`
    // makes `/lock/0000000001`; as a plain create it stays invalid, as does `/lock//`.
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (create("/lock", "", Persistent, 1), created("/lock")),
            (
                create("/lock/a", "", Sequential, 1),
                created("/lock/a0000000000"),
            ),
            (
                create("/lock/", "", Sequential, 1),
                created("/lock/0000000001"),
            ),
            (create("/lock/", "", Persistent, 1), Fail(BadArguments)),
            (create("/lock//", "", Sequential, 1), Fail(BadArguments)),
            (
                create("/lock/.", "", Sequential, 1),
                created("/lock/.0000000002"),
            ),
            (create("/nope/", "", Sequential, 1), Fail(NoNode)),
        ],
    );
}

#[test]
fn the_root_cannot_be_created_or_deleted() {
    let mut tree = ZnodeTree::default();
    story(
        &mut tree,
        vec![
            (create("/", "", Persistent, 1), Fail(BadArguments)),
            (create("/", "", Sequential, 1), Fail(BadArguments)),
            (delete("/", ANY_VERSION), Fail(BadArguments)),
            // The root check comes before the version check.
            (delete("/", 7), Fail(BadArguments)),
            (
                multi(vec![step_delete("/", 0)], 1),
                multi_failed(0, BadArguments),
            ),
            (exists("/"), found(stat(0, 0, 0, 0, 0, 0, 1))),
        ],
    );
    assert_eq!(tree.zxid(), 0);
}

#[test]
fn reads_of_a_missing_node() {
    let mut tree = tree_with_a_b();
    story(
        &mut tree,
        vec![
            (get("/x"), Fail(NoNode)),
            (kids("/x"), Fail(NoNode)),
            (exists("/x"), ZkRet::Exists(None)),
            (get("/a/b/c"), Fail(NoNode)),
        ],
    );
}

#[test]
fn children_are_the_sorted_names_of_direct_children() {
    let mut tree = tree_with_a_b();
    story(
        &mut tree,
        vec![
            (create("/a/c", "", Persistent, 1), created("/a/c")),
            (create("/a/a", "", Persistent, 1), created("/a/a")),
            (create("/a/b/deep", "", Persistent, 1), created("/a/b/deep")),
            (create("/ab", "", Persistent, 1), created("/ab")),
            (create("/a/B", "", Persistent, 1), created("/a/B")),
            (kids("/a"), names(&["B", "a", "b", "c"])),
            (kids("/"), names(&["a", "ab", "zookeeper"])),
            (kids("/a/b/deep"), names(&[])),
        ],
    );
    assert_eq!(tree.stat("/a").unwrap().num_children, 4);
}

#[test]
fn the_approximate_data_size_sums_paths_and_data() {
    let mut tree = ZnodeTree::default();
    let system = tree.approximate_data_size();
    // "/zookeeper" (10), "/zookeeper/quota" (16), "/zookeeper/config" (17).
    assert_eq!(system, 43);
    tree.run(&create("/a", "xyz", Persistent, 0));
    tree.run(&create("/a/b", "", Persistent, 0));
    assert_eq!(tree.approximate_data_size(), system + 2 + 3 + 4);
}
