//! Watches at the server: one event per connection per change, before any reply that
//! shows the change; standard watches fire once, persistent ones every time;
//! `setWatches` on reconnect fires for what changed while the client was away;
//! `removeWatches` and `checkWatches`.

use super::sim::{conn, connect, request, Sim};
use crate::znode::conn::{Call, SetWatches};
use crate::znode::watch::{AddWatchMode, WatchEvent, WatcherType};
use crate::znode::{Change, ZkBug, ZkMsg};
use coord_specs::znode::build::{create, delete, exists, get, set};
use coord_specs::znode::{CreateMode, ZkError, ZkRet};

/// What `msgs` are, shortly: `E` and the change for an event, `R` and the xid for a reply.
fn shapes(msgs: &[ZkMsg]) -> Vec<String> {
    (msgs.iter())
        .map(|m| match m {
            ZkMsg::Event(WatchEvent { change, .. }) => format!("E {change:?}"),
            ZkMsg::Reply(r) => format!("R {}", r.xid),
            other => format!("{other:?}"),
        })
        .collect()
}

fn ev(change: Change) -> String {
    format!("E {change:?}")
}

#[test]
fn one_event_per_connection_per_change_before_the_reply_showing_it() {
    let mut sim = Sim::three();
    sim.open(conn(1), 1);
    sim.open(conn(2), 1);
    sim.watch(conn(1), 1, 1, exists("/x"));
    sim.watch(conn(1), 1, 2, exists("/x"));
    sim.watch(conn(2), 1, 1, exists("/x"));
    sim.take(conn(1));
    sim.take(conn(2));
    sim.op(conn(1), 1, 3, create("/x", "", CreateMode::Persistent, 0));
    assert_eq!(
        shapes(&sim.take(conn(1))),
        [ev(Change::Created("/x".into())), "R 3".to_string()]
    );
    assert_eq!(
        shapes(&sim.take(conn(2))),
        [ev(Change::Created("/x".into()))]
    ); // The watches fired are gone (mntr counts what is left).
    assert_eq!(sim.states[1].watch_count(), 0);
}

#[test]
fn a_standard_watch_fires_once_and_a_persistent_one_on_every_change() {
    let mut sim = Sim::three();
    sim.open(conn(1), 1);
    sim.open(conn(2), 1);
    sim.op(conn(1), 1, 1, create("/x", "", CreateMode::Persistent, 0));
    sim.watch(conn(1), 1, 2, get("/x"));
    let add = |path: &str, mode| Call::AddWatch {
        path: path.into(),
        mode,
    };
    sim.send(
        conn(2),
        1,
        request(1, add("/x", AddWatchMode::Persistent), false),
    );
    sim.send(
        conn(2),
        1,
        request(2, add("/", AddWatchMode::PersistentRecursive), false),
    );
    sim.take(conn(1));
    sim.take(conn(2));
    // A getData watch, and persistent: a data and a child part, and a recursive one.
    assert_eq!(sim.states[1].watch_count(), 4);
    for (xid, data) in [(3, "a"), (4, "b")] {
        sim.op(conn(1), 1, xid, set("/x", data, -1));
    }
    sim.op(conn(1), 1, 5, create("/x/y", "", CreateMode::Persistent, 0));
    assert_eq!(
        shapes(&sim.take(conn(1))),
        [
            ev(Change::DataChanged("/x".into())),
            "R 3".into(),
            "R 4".into(),
            "R 5".into()
        ],
        "the getData watch fired once"
    );
    // conn 2: one event per change, though both its watches match the sets; the
    // recursive watch reports the child's creation, the persistent one the new child.
    assert_eq!(
        shapes(&sim.take(conn(2))),
        [
            ev(Change::DataChanged("/x".into())),
            ev(Change::DataChanged("/x".into())),
            ev(Change::Created("/x/y".into())),
            ev(Change::ChildrenChanged("/x".into())),
        ]
    );
}

fn replay_after_changes(bug: Option<ZkBug>) -> Vec<String> {
    let mut sim = Sim::elected(3, Default::default(), bug);
    let (session, passwd) = sim.open(conn(1), 1);
    sim.open(conn(2), 2);
    sim.op(conn(2), 2, 1, create("/d", "", CreateMode::Persistent, 0));
    sim.op(
        conn(2),
        2,
        2,
        create("/gone", "", CreateMode::Persistent, 0),
    );
    sim.op(
        conn(2),
        2,
        3,
        create("/same", "", CreateMode::Persistent, 0),
    );
    sim.beat();
    let seen = sim.states[1].tree().zxid();
    // Connection 1 is gone; while it is away /d changes, /gone goes, /new comes.
    sim.send(conn(1), 1, ZkMsg::Disconnect);
    sim.op(conn(2), 2, 4, set("/d", "x", -1));
    sim.op(conn(2), 2, 5, delete("/gone", -1));
    sim.op(conn(2), 2, 6, create("/new", "", CreateMode::Persistent, 0));
    sim.beat();
    sim.take(conn(1));
    sim.send(conn(3), 1, connect(session, passwd, seen));
    let set = SetWatches {
        relative_zxid: seen,
        data: vec!["/d".into(), "/gone".into(), "/same".into()],
        exist: vec!["/new".into()],
        ..SetWatches::default()
    };
    sim.send(conn(3), 1, request(1, Call::SetWatches(set), false));
    let got = sim.take(conn(3));
    shapes(&got[1..])
}

#[test]
fn set_watches_on_reconnect_fires_for_what_changed_while_away() {
    assert_eq!(
        replay_after_changes(None),
        [
            ev(Change::DataChanged("/d".into())),
            ev(Change::Deleted("/gone".into())),
            ev(Change::Created("/new".into())),
            "R 1".into()
        ]
    );
    assert_eq!(
        replay_after_changes(Some(ZkBug::ReplaySkipsChanges)),
        ["R 1".to_string()],
        "the bug fires nothing"
    );
}

#[test]
fn check_watches_tells_whether_one_is_held_and_remove_watches_removes_it() {
    let mut sim = Sim::three();
    sim.open(conn(1), 1);
    sim.watch(conn(1), 1, 1, exists("/x"));
    let call = |kind, remove| Call::RemoveWatches {
        path: "/x".into(),
        kind,
        remove,
    };
    sim.send(
        conn(1),
        1,
        request(2, call(WatcherType::Children, false), false),
    );
    sim.send(
        conn(1),
        1,
        request(3, call(WatcherType::Data, false), false),
    );
    sim.send(conn(1), 1, request(4, call(WatcherType::Any, true), false));
    sim.send(
        conn(1),
        1,
        request(5, call(WatcherType::Data, false), false),
    );
    sim.op(conn(1), 1, 6, create("/x", "", CreateMode::Persistent, 0));
    let got = sim.take(conn(1));
    let rets: Vec<ZkRet> = (got.iter())
        .filter_map(|m| match m {
            ZkMsg::Reply(r) if (2..=5).contains(&r.xid) => Some(r.ret.clone()),
            _ => None,
        })
        .collect();
    let no = ZkRet::Err(ZkError::NoWatcher);
    assert_eq!(rets, [no.clone(), ZkRet::Done, ZkRet::Done, no]);
    assert!(
        !got.iter().any(|m| matches!(m, ZkMsg::Event(_))),
        "a removed watch does not fire"
    );
}
