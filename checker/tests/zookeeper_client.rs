//! The Rust `zookeeper-client` crate, an independent implementation of ZooKeeper's client
//! protocol, against a cluster given by its connect string: the same scenarios run
//! against a real ZooKeeper 3.8 ensemble (which shows they hold there, so a failure
//! against coord is coord's) and against a coord zk cluster.
//!
//! Scenarios: pipelined requests answered in order (a session's reads see its own
//! pending writes); reconnect to another member with the same session, its watches kept
//! and changes made while it was away delivered; session expiry; one-shot watches firing
//! once, persistent and persistent-recursive watches on every change, one event per
//! change delivered before the reply that shows it; and multi, applied whole or not at
//! all with ZooKeeper's index of the failed operation.

mod common;

use coord_checker::members::Members;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zookeeper_client as zk;

/// How long one call or one awaited event may take on a loaded machine.
const WAIT: Duration = Duration::from_secs(60);
/// How long a restarted member may take to serve again.
const RESTART_WAIT: Duration = Duration::from_secs(120);

/// One test per scenario and cluster, each on a cluster of its own: `against_zookeeper`
/// shows the scenario holds for ZooKeeper, `against_coord` runs it on coord.
macro_rules! scenarios {
    ($($scenario:ident),* $(,)?) => {
        mod against_zookeeper {
            $(
                #[test]
                fn $scenario() {
                    let mut cluster = coord_checker::zookeeper::ZooKeeperEnsemble::start(3)
                        .unwrap_or_else(|e| panic!("{e}"));
                    super::runtime().block_on(super::$scenario(&mut cluster));
                }
            )*
        }
        mod against_coord {
            $(
                #[test]
                fn $scenario() {
                    let exe = std::path::Path::new(super::common::COORD);
                    let mut cluster = coord_checker::coord_zk::CoordZkCluster::start(exe, 3)
                        .unwrap_or_else(|e| panic!("{e}"));
                    super::runtime().block_on(super::$scenario(&mut cluster));
                }
            )*
        }
    };
}

scenarios!(
    pipelined_requests_are_answered_in_order,
    one_shot_watches_fire_once_and_before_the_reply_that_shows_the_change,
    persistent_watches_fire_on_every_change,
    multi_is_applied_whole_or_not_at_all,
    a_session_survives_the_loss_of_its_server_with_its_watches,
    an_abandoned_session_expires_and_takes_its_ephemerals,
);

/// The client's tasks run on worker threads, so that a scenario that blocks (stopping
/// a member) does not stall the client's heartbeats.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn open() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

fn ephemeral() -> zk::CreateOptions<'static> {
    zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all())
}

/// `future`, or a panic naming `what` if it takes longer than [`WAIT`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: nothing within {WAIT:?}"),
    }
}

async fn connect(cluster: &dyn Members) -> zk::Client {
    let connect = cluster.connect_string();
    within("connect", zk::Client::connect(&connect))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {connect}: {e}"))
}

/// The value of `call`, or a panic naming `what` if it fails or takes longer than
/// [`WAIT`].
async fn ok<T, E: std::fmt::Display>(what: &str, call: impl Future<Output = Result<T, E>>) -> T {
    within(what, call)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Whether an event is ready now, without waiting: after the reply that shows a change,
/// the change's event must already have arrived.
async fn ready_now<T>(future: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(Duration::ZERO, future).await.ok()
}

/// Asserts that `watch` gets exactly these events, as (type, path), in this order: no
/// more by the time a sync's reply comes, which follows every notification the server
/// sent before it.
async fn expect_events(
    client: &zk::Client,
    watch: &mut zk::PersistentWatcher,
    expected: &[(zk::EventType, &str)],
) {
    for (i, &(kind, path)) in expected.iter().enumerate() {
        let event = within("persistent watch event", watch.changed()).await;
        let got = (event.event_type, event.path.as_str());
        assert_eq!(got, (kind, path), "event {i} of {expected:?}");
    }
    ok("sync", client.sync("/")).await;
    if let Some(event) = ready_now(watch.changed()).await {
        panic!("one event too many after {expected:?}: {event:?}");
    }
}

/// Many calls sent before any answer is awaited: each conditional set must find the
/// version the previous one left, and each read must see the set sent just before it,
/// although its answer is awaited first.
async fn pipelined_requests_are_answered_in_order(cluster: &mut dyn Members) {
    const CALLS: i32 = 50;
    let client = connect(cluster).await;
    let root = "/rust-pipeline";
    ok("create", client.create(root, b"0", &open())).await;
    let mut sets = Vec::new();
    let mut gets = Vec::new();
    for i in 1..=CALLS {
        sets.push(client.set_data(root, i.to_string().as_bytes(), Some(i - 1)));
        gets.push(client.get_data(root));
    }
    let child = format!("{root}/child");
    let create = client.create(&child, b"", &open());
    let exists = client.check_stat(&child);
    let delete = client.delete(&child, None);
    let gone = client.check_stat(&child);
    // Awaited in the reverse order: answers are matched to calls, not to awaits.
    assert_eq!(ok("check", gone).await, None);
    ok("delete", delete).await;
    assert!(ok("check", exists).await.is_some());
    ok("create", create).await;
    for (i, (get, set)) in (1..CALLS + 1).zip(gets.into_iter().zip(sets)).rev() {
        let (data, read) = ok("get", get).await;
        assert_eq!(
            data,
            i.to_string().as_bytes(),
            "read {i} missed its session's set"
        );
        let written = ok("set", set).await;
        assert_eq!(written.version, i);
        assert_eq!(
            read, written,
            "read {i} saw another version than set {i} made"
        );
    }
}

async fn one_shot_watches_fire_once_and_before_the_reply_that_shows_the_change(
    cluster: &mut dyn Members,
) {
    let client = connect(cluster).await;
    let writer = connect(cluster).await;
    let root = "/rust-oneshot";
    ok("create", client.create(root, b"", &open())).await;

    // A data watch and a persistent watch on one node, from one session: each change is
    // one notification, which the one-shot watch takes once and the persistent one always.
    let (_, _, data_watch) = ok("get", client.get_and_watch_data(root)).await;
    let mut every = ok("watch", client.watch(root, zk::AddWatchMode::Persistent)).await;
    ok("set", client.set_data(root, b"1", None)).await;
    let event = ready_now(data_watch.changed())
        .await
        .expect("the event was not delivered before the reply to the set that caused it");
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (zk::EventType::NodeDataChanged, root)
    );
    ok("set", client.set_data(root, b"2", None)).await;
    let changed = (zk::EventType::NodeDataChanged, root);
    expect_events(&client, &mut every, &[changed, changed]).await;

    // A watch left by exists on a missing node fires when another session creates it.
    let missing = format!("{root}/later");
    let (stat, exists_watch) = ok("exists", client.check_and_watch_stat(&missing)).await;
    assert_eq!(stat, None);
    ok("create", writer.create(&missing, b"", &open())).await;
    let event = within("exists watch", exists_watch.changed()).await;
    assert_eq!(
        (event.event_type, event.path),
        (zk::EventType::NodeCreated, missing.clone())
    );

    // A child watch fires on a new child, not on a child's data.
    let (_, child_watch) = ok("children", client.list_and_watch_children(root)).await;
    ok("set", writer.set_data(&missing, b"x", None)).await;
    ok(
        "create",
        writer.create(&format!("{root}/other"), b"", &open()),
    )
    .await;
    let event = within("child watch", child_watch.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (zk::EventType::NodeChildrenChanged, root)
    );
}

async fn persistent_watches_fire_on_every_change(cluster: &mut dyn Members) {
    let client = connect(cluster).await;
    let writer = connect(cluster).await;
    let node = "/rust-persistent";
    let tree = "/rust-recursive";
    ok("create", writer.create(node, b"", &open())).await;
    ok("create", writer.create(tree, b"", &open())).await;
    let mut node_watch = ok("watch", client.watch(node, zk::AddWatchMode::Persistent)).await;
    let mut tree_watch = ok(
        "watch",
        client.watch(tree, zk::AddWatchMode::PersistentRecursive),
    )
    .await;

    // The node's own data and children, not its children's data; the watch outlives a
    // delete and sees the node created again.
    let child = format!("{node}/c");
    ok("set", writer.set_data(node, b"1", None)).await;
    ok("create", writer.create(&child, b"", &open())).await;
    ok("set", writer.set_data(&child, b"1", None)).await;
    ok("delete", writer.delete(&child, None)).await;
    ok("delete", writer.delete(node, None)).await;
    ok("create", writer.create(node, b"", &open())).await;
    use zk::EventType::*;
    let expected = [
        (NodeDataChanged, node),
        (NodeChildrenChanged, node),
        (NodeChildrenChanged, node),
        (NodeDeleted, node),
        (NodeCreated, node),
    ];
    expect_events(&client, &mut node_watch, &expected).await;

    // Every node below, at any depth, and no children events.
    let (a, b) = (format!("{tree}/a"), format!("{tree}/a/b"));
    ok("create", writer.create(&a, b"", &open())).await;
    ok("set", writer.set_data(&a, b"1", None)).await;
    ok("create", writer.create(&b, b"", &open())).await;
    ok("delete", writer.delete(&b, None)).await;
    ok("set", writer.set_data(tree, b"1", None)).await;
    let expected = [
        (NodeCreated, a.as_str()),
        (NodeDataChanged, &a),
        (NodeCreated, &b),
        (NodeDeleted, &b),
        (NodeDataChanged, tree),
    ];
    expect_events(&client, &mut tree_watch, &expected).await;
}

async fn multi_is_applied_whole_or_not_at_all(cluster: &mut dyn Members) {
    let client = connect(cluster).await;
    let root = "/rust-multi";
    let (a, b, c) = (
        format!("{root}/a"),
        format!("{root}/b"),
        format!("{root}/c"),
    );
    ok("create", client.create(root, b"", &open())).await;

    let mut multi = client.new_multi_writer();
    multi.add_create(&a, b"a", &open()).unwrap();
    multi.add_create(&b, b"b", &open()).unwrap();
    multi.add_set_data(&a, b"a1", Some(0)).unwrap();
    multi.add_check_version(&b, 0).unwrap();
    multi.add_delete(&b, Some(0)).unwrap();
    let results = ok("multi", multi.commit()).await;
    let shape: Vec<String> = results.iter().map(|r| format!("{r:?}")).collect();
    match results.as_slice() {
        [zk::MultiWriteResult::Create { path: p1, .. }, zk::MultiWriteResult::Create { path: p2, .. }, zk::MultiWriteResult::SetData { stat }, zk::MultiWriteResult::Check, zk::MultiWriteResult::Delete] =>
        {
            assert_eq!((p1, p2), (&a, &b));
            assert_eq!(stat.version, 1);
        }
        _ => panic!("unexpected results of a multi: {shape:?}"),
    }
    let (data, stat) = ok("get", client.get_data(&a)).await;
    assert_eq!((data.as_slice(), stat.version), (&b"a1"[..], 1));
    assert_eq!(ok("check", client.check_stat(&b)).await, None);

    // A failed check at index 2: nothing before it is applied.
    let mut multi = client.new_multi_writer();
    multi.add_set_data(&a, b"lost", None).unwrap();
    multi.add_create(&c, b"lost", &open()).unwrap();
    multi.add_check_version(&a, 42).unwrap();
    assert_eq!(failure(multi).await, (2, zk::Error::BadVersion));
    // A create of an existing node at index 1.
    let mut multi = client.new_multi_writer();
    multi.add_create(&c, b"lost", &open()).unwrap();
    multi.add_create(&a, b"lost", &open()).unwrap();
    assert_eq!(failure(multi).await, (1, zk::Error::NodeExists));
    let (data, after) = ok("get", client.get_data(&a)).await;
    assert_eq!((data.as_slice(), after), (&b"a1"[..], stat));
    assert_eq!(ok("check", client.check_stat(&c)).await, None);
}

/// The index and error of the one operation that failed `multi`.
async fn failure(mut multi: zk::MultiWriter<'_>) -> (usize, zk::Error) {
    match within("multi", multi.commit()).await {
        Err(zk::MultiWriteError::OperationFailed { index, source }) => (index, source),
        other => panic!("the multi did not fail at one operation: {other:?}"),
    }
}

/// Each member in turn is stopped and started again, so that the client's own server
/// goes at least once: the client reconnects to another member with the same session,
/// its ephemeral node stays, and a watch it left sees a change another session made
/// while it was away.
async fn a_session_survives_the_loss_of_its_server_with_its_watches(cluster: &mut dyn Members) {
    let client = connect(cluster).await;
    let writer = connect(cluster).await;
    let session = client.session_id();
    let root = "/rust-reconnect";
    let eph = format!("{root}/eph");
    ok("create", client.create(root, b"", &open())).await;
    ok("create", client.create(&eph, b"", &ephemeral())).await;
    let states = record_states(&client);
    for i in 0..cluster.count() {
        let (_, _, watch) = ok("get", client.get_and_watch_data(root)).await;
        cluster.stop(i).unwrap();
        let value = format!("while member {i} was stopped");
        retry("set", || writer.set_data(root, value.as_bytes(), None)).await;
        let event = within("watch across a reconnect", watch.changed()).await;
        assert_eq!(
            event.event_type,
            zk::EventType::NodeDataChanged,
            "{event:?}"
        );
        cluster.start(i).unwrap();
        cluster.wait_serving(i, RESTART_WAIT).unwrap();
    }
    // A watch event carries no zxid a client keeps, so the client's server now may be
    // behind the one that fired it: sync first.
    retry("sync", || client.sync(root)).await;
    let (data, _) = retry("get", || client.get_data(root)).await;
    assert_eq!(
        data,
        format!("while member {} was stopped", cluster.count() - 1).as_bytes()
    );
    // The writer's server may be one just started and behind the client's: sync first.
    retry("sync", || writer.sync(root)).await;
    let stat = retry("check", || writer.check_stat(&eph)).await;
    assert_eq!(stat.map(|s| s.ephemeral_owner), Some(session.0));
    assert_eq!(client.session_id(), session);
    let seen = states.lock().unwrap().clone();
    assert!(
        seen.contains(&zk::SessionState::Disconnected),
        "the client never lost its server: {seen:?}"
    );
    assert!(!seen.contains(&zk::SessionState::Expired), "{seen:?}");
}

/// A session whose client goes away without closing it expires once its negotiated
/// timeout passes: its ephemeral node is deleted (a watcher sees it go), and the
/// session can no longer be resumed.
async fn an_abandoned_session_expires_and_takes_its_ephemerals(cluster: &mut dyn Members) {
    let connect = cluster.connect_string();
    let watcher = self::connect(cluster).await;
    let root = "/rust-expiry";
    let eph = format!("{root}/eph");
    ok("create", watcher.create(root, b"", &open())).await;

    // The server bounds the timeout asked for, from below and from above.
    let short = Duration::from_secs(1);
    let client = session_asking(&connect, short, true).await;
    assert!(
        client.session_timeout() >= short,
        "{:?}",
        client.session_timeout()
    );
    let long = Duration::from_secs(3600);
    let other = session_asking(&connect, long, false).await;
    assert!(
        other.session_timeout() < long,
        "{:?}",
        other.session_timeout()
    );

    ok("create", client.create(&eph, b"", &ephemeral())).await;
    // Another session's server may not have applied the create yet: sync first.
    ok("sync", watcher.sync(root)).await;
    let (stat, gone) = ok("exists", watcher.check_and_watch_stat(&eph)).await;
    assert!(stat.is_some());
    let session = client.into_session();
    let event = within("the ephemeral's deletion", gone.changed()).await;
    assert_eq!(
        (event.event_type, event.path),
        (zk::EventType::NodeDeleted, eph)
    );
    let resumed = within(
        "connect",
        zk::Client::connector()
            .with_session(session)
            .connect(&connect),
    )
    .await;
    assert_eq!(resumed.unwrap_err(), zk::Error::SessionExpired);
}

/// A new session that asks to last `asked`, and that the client leaves open when it
/// goes away if `detached`.
async fn session_asking(connect: &str, asked: Duration, detached: bool) -> zk::Client {
    let mut connector = zk::Client::connector().with_session_timeout(asked);
    if detached {
        connector = connector.with_detached();
    }
    ok("connect", connector.connect(connect)).await
}

/// Every session state `client` goes through from now on.
fn record_states(client: &zk::Client) -> Arc<Mutex<Vec<zk::SessionState>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut watcher = client.state_watcher();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let state = watcher.changed().await;
            record.lock().unwrap().push(state);
            if state.is_terminated() {
                break;
            }
        }
    });
    seen
}

/// `call()` again while it fails because the connection was lost (its outcome unknown)
/// or the cluster is choosing a leader, up to [`WAIT`].
async fn retry<T, F: Future<Output = Result<T, zk::Error>>>(
    what: &str,
    mut call: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, call()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(zk::Error::ConnectionLoss)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(Err(e)) => panic!("{what}: {e}"),
            Err(_) => panic!("{what}: no answer within {WAIT:?}"),
        }
    }
}
