//! What writes report they changed, for watches.

use super::*;

#[test]
fn writes_report_what_they_changed() {
    use Change::{ChildrenChanged, Created, DataChanged, Deleted};
    let mut tree = ZnodeTree::default();
    let mut changes = |op: ZkOp| tree.run_with_changes(&op).1;
    let p = |path: &str| Path::from(path);
    let none: [Change; 0] = [];
    assert_eq!(
        changes(create("/a", "", Persistent, 1)),
        [Created(p("/a")), ChildrenChanged(p("/"))]
    );
    assert_eq!(
        changes(create("/a/s-", "", Sequential, 1)),
        [Created(p("/a/s-0000000000")), ChildrenChanged(p("/a"))]
    );
    assert_eq!(changes(set("/a", "x", ANY_VERSION)), [DataChanged(p("/a"))]);
    assert_eq!(
        changes(delete("/a/s-0000000000", 0)),
        [Deleted(p("/a/s-0000000000")), ChildrenChanged(p("/a"))]
    );
    // Reads and failed writes change nothing.
    assert_eq!(changes(get("/a")), none);
    assert_eq!(changes(create("/a", "", Persistent, 1)), none);
    assert_eq!(changes(set("/a", "x", 0)), none);
    assert_eq!(changes(close(0)), none);
    let fails = vec![step_create("/b", Persistent), step_check("/a", 0)];
    assert_eq!(changes(multi(fails, 4)), none);
    // A multi reports its steps' changes in order, repeats included.
    let steps = vec![
        step_create("/a/e", Ephemeral),
        step_set("/a/e", "v", 0),
        step_delete("/a/e", 1),
        step_create("/b", Persistent),
        step_check("/b", 0),
    ];
    assert_eq!(
        changes(multi(steps, 4)),
        [
            Created(p("/a/e")),
            ChildrenChanged(p("/a")),
            DataChanged(p("/a/e")),
            Deleted(p("/a/e")),
            ChildrenChanged(p("/a")),
            Created(p("/b")),
            ChildrenChanged(p("/")),
        ]
    );
    assert_eq!(changes(multi(vec![], 4)), none);
    // Closing a session deletes each of its ephemeral nodes, in path order.
    changes(create("/b/e2", "", Ephemeral, 4));
    changes(create("/a/e1", "", Ephemeral, 4));
    changes(create("/b/other", "", Ephemeral, 5));
    assert_eq!(
        changes(close(4)),
        [
            Deleted(p("/a/e1")),
            ChildrenChanged(p("/a")),
            Deleted(p("/b/e2")),
            ChildrenChanged(p("/b")),
        ]
    );
    assert_eq!(changes(close(4)), none);
    assert_eq!(Deleted(p("/x")).path(), "/x");
    assert_eq!(ChildrenChanged(p("/")).path(), "/");
}
