//! Which changes fire which watches (ZooKeeper's watch semantics), and that a watch fires
//! once.

use super::*;
use crate::znode::watch::{fire, Watch, WatchKind};
use std::collections::BTreeSet;
use WatchKind::{Child, Data, Exists};

#[test]
fn each_kind_of_watch_is_fired_by_its_changes_on_its_path() {
    let x = Path::from("/x");
    let created = Change::Created(x.clone());
    let deleted = Change::Deleted(x.clone());
    let set = Change::DataChanged(x.clone());
    let kids = Change::ChildrenChanged(x.clone());
    let fired =
        |kind: WatchKind| [&created, &deleted, &set, &kids].map(|change| kind.fired_by(&x, change));
    assert_eq!(fired(Exists), [true, true, true, false]);
    assert_eq!(fired(Data), [false, true, true, false]);
    assert_eq!(fired(Child), [false, true, false, true]);
    let elsewhere = Change::Created("/y".into());
    assert!([Exists, Data, Child]
        .iter()
        .all(|k| !k.fired_by(&x, &elsewhere)));
}

#[test]
fn the_reads_leave_their_kind_of_watch_and_writes_none() {
    assert_eq!(
        WatchKind::of(&exists("/x")),
        Some((Exists, &Path::from("/x")))
    );
    assert_eq!(WatchKind::of(&get("/x")), Some((Data, &Path::from("/x"))));
    assert_eq!(WatchKind::of(&kids("/x")), Some((Child, &Path::from("/x"))));
    assert_eq!(WatchKind::of(&set("/x", "", -1)), None);
}

#[test]
fn a_fired_watch_is_gone() {
    let watch = |kind, seq| Watch {
        path: "/x".into(),
        kind,
        client: stateright::actor::Id::from(7),
        seq,
    };
    let mut watches = BTreeSet::from([watch(Exists, 1), watch(Child, 2)]);
    let set = Change::DataChanged("/x".into());
    let fired = fire(&mut watches, &set, 4);
    assert_eq!(fired.len(), 1);
    assert_eq!((fired[0].1.seq, fired[0].1.zxid), (1, 4));
    assert!(fire(&mut watches, &set, 5).is_empty());
    assert_eq!(watches, BTreeSet::from([watch(Child, 2)]));
}
