//! The checks of clients running scripts: stale and synced reads, sessions and ephemeral
//! nodes, watches.

use super::{
    clients_with_ids, in_flight, live_servers, znode_bug, znode_model, Judged, Property, State,
    ZnodeCfg, ZnodeModel, FIXED_LEADER,
};
use crate::cfg::Bounds;
use crate::check::{all_hold, bug_check, Check};
use crate::node::Node;
use crate::run::{
    Search,
    Verdict::{Holds, Violated},
};
use coord::raft::Entry;
use coord::znode::client::{Call, Script, ZkClientState};
use coord::znode::conn::Call as Ask;
use coord::znode::txn::{Txn, TxnKind};
use coord::znode::watch::AddWatchMode;
use coord::znode::{ZkBug, ZkMsg, ZkTimer};
use coord_specs::znode::build::{create, exists, get, set};
use coord_specs::znode::{CreateMode, Path, ZkOp, ZkRet};
use stateright::actor::Id;
use stateright::Expectation;

impl Judged for Script {
    fn properties() -> Vec<Property<Script>> {
        use Expectation::{Always, Sometimes};
        vec![
            (
                Always,
                "no ephemeral node of an expired session",
                no_orphan_ephemerals,
            ),
            (
                Always,
                "sequential names are unique and increasing",
                sequential_names,
            ),
            (
                Sometimes,
                "an ephemeral node disappears after expiry",
                ephemeral_gone,
            ),
            (Always, "a watch fires once per registration", fires_once),
            (
                Always,
                "a watch fires only after its change is applied",
                fires_after_apply,
            ),
            (
                Always,
                "a client hears of a change before it reads it",
                event_before_data,
            ),
            (Sometimes, "a watch fires", watch_fired),
            (Always, WATCH_MODES, watch_modes),
            (Sometimes, PERSISTENT_TWICE, persistent_twice),
            (Always, SETTLED_CLEAN, settled_clean),
            (Sometimes, CLOSED_AFTER_FAILOVER, closed_after_failover),
            (Sometimes, super::acl::REFUSED, super::acl::refused),
        ]
    }
}

/// See [`watch_modes`].
pub const WATCH_MODES: &str = "a persistent watch fires on every change, a standard one once";
/// See [`persistent_twice`].
pub const PERSISTENT_TWICE: &str = "a persistent watch fires twice";

/// See [`settled_clean`].
pub const SETTLED_CLEAN: &str = "a settled run leaves no ephemeral node of a failed session";
/// See [`closed_after_failover`].
pub const CLOSED_AFTER_FAILOVER: &str =
    "an ephemeral node of a failed client disappears after a leader change";

/// A client that will never send again: halted, or done with its script (a script client
/// sends no keepalives, so once done it is as silent to the servers as a crashed one).
fn failed(c: &ZkClientState<Vec<ZkRet>>) -> bool {
    c.halted || c.done
}

/// ZooKeeper: every session that stops talking expires, whoever leads (notes, part I), so
/// its ephemeral nodes go. A bounded model cannot say "eventually"; it says it of the runs
/// that have settled: every client failed, no message in flight, and a live leader with no
/// session deadline left to pass. Then nothing more will happen at that leader, and its
/// tree must hold no ephemeral node of an open session. (A leader that has not applied an
/// entry of an earlier term will not until a write of its own term commits it: its tree
/// does not show that node yet, so the property says nothing about it.)
fn settled_clean(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    let clients: Vec<_> = clients_with_ids(state).collect();
    if !clients.iter().all(|(_, c)| failed(c)) || !in_flight(state).is_empty() {
        return true;
    }
    let deadline_left = |id: Id| {
        (state.timers_set[usize::from(id)].iter())
            .any(|t| matches!(t, Node::Server(Node::Server(ZkTimer::Expire(_)))))
    };
    let mut settled =
        live_servers(state).filter(|(id, s)| s.raft.is_leader() && !deadline_left(*id));
    settled.all(|(_, leader)| {
        (clients.iter()).all(|(_, c)| leader.tree().ephemerals(c.session_id()).is_empty())
    })
}

/// A failed client's ephemeral node, created in one term, is gone at a server that applied
/// its session's close proposed in a later term: a new leader expired a session that an
/// earlier one had tracked.
fn closed_after_failover(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state).any(|(_, c)| {
        let session = c.session_id();
        let close = TxnKind::Expire { session };
        let mine = |kind: &TxnKind| {
            matches!(kind, TxnKind::Request { seat, op, .. }
                if seat.session == session && matches!(op.caller().1, ZkOp::Create { .. }))
        };
        failed(c)
            && created(&c.program).any(|path| {
                live_servers(state).any(|(_, s)| {
                    let applied = || s.raft.log.upto(s.raft.replica.applied);
                    let is = |e: &&Entry<Txn>, f: &dyn Fn(&TxnKind) -> bool| {
                        e.op.as_op().is_some_and(|t| f(&t.kind))
                    };
                    let created_in = applied().find(|e| is(e, &mine)).map(|e| e.term);
                    let closed_in = applied().find(|e| is(e, &|k| *k == close)).map(|e| e.term);
                    let later = matches!((created_in, closed_in), (Some(a), Some(b)) if a < b);
                    later && s.tree().stat(path).is_none()
                })
            })
    })
}

/// The paths created for client `c`, in order.
fn created(c: &[ZkRet]) -> impl Iterator<Item = &Path> {
    c.iter().filter_map(|ret| match ret {
        ZkRet::Created { path, .. } => Some(path),
        _ => None,
    })
}

/// Notes, part I: "Ephemeral: deleted when client session expires". At every live server,
/// a session whose close it has applied owns no node.
fn no_orphan_ephemerals(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    live_servers(state).all(|(_, s)| {
        clients_with_ids(state).all(|(_, c)| {
            let session = c.session_id();
            !s.tree().is_closed(session) || s.tree().ephemerals(session).is_empty()
        })
    })
}

/// Notes, part I: "Sequential: unique with increasing numbers". No two creates returned
/// the same name, and each client's names increase.
fn sequential_names(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    let mut all: Vec<&Path> = Vec::new();
    for (_, c) in clients_with_ids(state) {
        let mine: Vec<&Path> = created(&c.program).collect();
        if !mine.is_sorted_by(|a, b| a < b) {
            return false;
        }
        all.extend(mine);
    }
    let names = all.len();
    all.sort();
    all.dedup();
    all.len() == names
}

/// A node created for a client is gone at a server that has applied its session's close.
fn ephemeral_gone(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state).any(|(_, c)| {
        created(&c.program).any(|path| {
            live_servers(state)
                .any(|(_, s)| s.tree().is_closed(c.session_id()) && s.tree().stat(path).is_none())
        })
    })
}

/// The path a call's read names, if it is a read.
fn read_path(call: &Call) -> Option<&Path> {
    match call.op()? {
        ZkOp::Exists { path } | ZkOp::GetData { path } | ZkOp::GetChildren { path } => Some(path),
        _ => None,
    }
}

/// Rule: a standard watch fires once. Every event a client received is for a path it
/// left a watch on, and it has received no more events for a path than it left watches
/// there.
fn fires_once(model: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state).all(|(id, c)| {
        let calls = &model.cfg.program(id).0;
        let left = |path: &Path| {
            (calls.iter())
                .filter(|call| call.watch && read_path(call) == Some(path))
                .count()
        };
        let heard = |path: &Path| {
            c.events
                .iter()
                .filter(|(_, e)| e.change.path() == path)
                .count()
        };
        (c.events.iter()).all(|(_, e)| heard(e.change.path()) <= left(e.change.path()))
    })
}

/// Every watch event, received or on its way, reports a change its server has applied.
fn fires_after_apply(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    let applied = |server: Id, zxid| {
        let at = live_servers(state).find(|(id, _)| *id == server);
        at.is_none_or(|(_, s)| s.tree().zxid() >= zxid)
    };
    let received = clients_with_ids(state)
        .flat_map(|(_, c)| c.events.iter())
        .all(|(server, e)| applied(*server, e.zxid));
    let in_flight = in_flight(state).into_iter().all(|(src, msg)| match msg {
        ZkMsg::Event(e) => applied(src, e.zxid),
        _ => true,
    });
    received && in_flight
}

/// A client that left a watch with a read and later made the same read with a different
/// result has heard from the watch first.
fn event_before_data(model: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state).all(|(id, c)| {
        let calls = &model.cfg.program(id).0;
        let results = &c.program;
        (0..results.len()).all(|i| {
            let path = read_path(&calls[i]);
            let heard = (c.events.iter()).any(|(_, e)| Some(e.change.path()) == path);
            let changed = (i + 1..results.len())
                .any(|j| calls[j].op() == calls[i].op() && results[j] != results[i]);
            !calls[i].watch || !changed || heard
        })
    })
}

/// The path of a persistent (not recursive) `addWatch` call.
fn persistent_path(call: &Call) -> Option<&Path> {
    match &call.ask {
        Ask::AddWatch {
            path,
            mode: AddWatchMode::Persistent,
        } => Some(path),
        _ => None,
    }
}

/// Rule (ZooKeeper's watch modes): a persistent watch stays and reports every change of
/// its path, a standard one reports one. For each path a client watches persistently, it
/// has heard at least one event for each of its own writes there that succeeded after
/// the watch was added (the event comes before the write's reply); for every other path,
/// no more events than it left standard watches there.
fn watch_modes(model: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state).all(|(id, c)| {
        let calls = &model.cfg.program(id).0;
        let results = &c.program;
        let heard = |path: &Path| {
            (c.events.iter())
                .filter(|(_, e)| e.change.path() == path)
                .count()
        };
        let added = (results.iter().enumerate())
            .find_map(|(i, _)| persistent_path(&calls[i]).map(|p| (i, p)));
        let persistent_ok = added.is_none_or(|(i, path)| {
            let writes = (i + 1..results.len())
                .filter(|&j| write_path(&calls[j]) == Some(path))
                .filter(|&j| !matches!(results[j], ZkRet::Err(_)))
                .count();
            heard(path) >= writes
        });
        let left = |path: &Path| {
            (calls.iter())
                .filter(|call| call.watch && read_path(call) == Some(path))
                .count()
        };
        let standard_ok = (c.events.iter())
            .map(|(_, e)| e.change.path())
            .filter(|path| added.is_none_or(|(_, p)| p != *path))
            .all(|path| heard(path) <= left(path));
        persistent_ok && standard_ok
    })
}

/// The path a call's write names, if it is a create, set or delete.
fn write_path(call: &Call) -> Option<&Path> {
    match call.op()? {
        ZkOp::Create { path, .. } | ZkOp::SetData { path, .. } | ZkOp::Delete { path, .. } => {
            Some(path)
        }
        _ => None,
    }
}

/// Some client heard two events for the path it watches persistently.
fn persistent_twice(model: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state).any(|(id, c)| {
        let calls = &model.cfg.program(id).0;
        (calls.iter().filter_map(persistent_path)).any(|path| {
            (c.events.iter())
                .filter(|(_, e)| e.change.path() == path)
                .count()
                >= 2
        })
    })
}

fn watch_fired(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state).any(|(_, c)| !c.events.is_empty())
}

/// A writer creating `/x`, and a reader reading it twice (`first`, then `then`),
/// connected to the two followers of a leader fixed in term 1. The second read may start
/// after the write has completed.
fn writer_and_reader(first: Call, then: Call) -> ZnodeCfg<Script> {
    let write = Call::plain(create("/x", "1", CreateMode::Persistent, 0));
    let reads = Script(vec![first, then]);
    let cfg = ZnodeCfg::new(vec![(1, Script(vec![write])), (2, reads)]);
    ZnodeCfg {
        sequential: true,
        ..cfg
    }
}

/// `znode-stale-read`: the reader reads at its follower, which may lag.
pub fn stale_read() -> ZnodeCfg<Script> {
    writer_and_reader(Call::plain(get("/x")), Call::plain(get("/x")))
}

/// `znode-sync-read`: the reader syncs before its second read.
pub fn sync_read() -> ZnodeCfg<Script> {
    writer_and_reader(Call::plain(get("/x")), Call::synced(get("/x")))
}

/// `znode-sync-failover`: `znode-sync-read` with the reader at `s0` and the writer at
/// `s1`, both of which may lead, in terms 1 and 2: the reader's sync may reach a leader
/// that a newer one has deposed, before it knows, and after the newer one has committed
/// the write.
pub fn sync_failover() -> ZnodeCfg<Script> {
    let mut cfg = ZnodeCfg {
        max_term: 2,
        campaigners: 2,
        sequential: false,
        ..sync_read()
    };
    cfg.clients[1].0 = 0;
    cfg
}

/// `znode-moving-read`: `znode-stale-read` where servers may crash (a restarted server's
/// tree is empty until it relearns the commit index) and the clients may resend once, at
/// another server, with the leader fixed at `s0`. A reader whose server restarts between
/// its two reads, or that moves, may meet a tree older than its first read: ZooKeeper's
/// `lastZxid` rule keeps it from reading it.
pub fn moving_read() -> ZnodeCfg<Script> {
    ZnodeCfg {
        max_crashes: 1,
        max_resends: 1,
        campaigners: 1,
        ..stale_read()
    }
}

/// `znode-bug-reads-go-back`: the reader at the fixed leader, which applies the write
/// first, and one reconnect, which may take it to a follower that has not applied it
/// (quick: two servers, the writer's the other).
pub fn read_moving_from_leader() -> ZnodeCfg<Script> {
    let mut cfg = ZnodeCfg {
        max_resends: 1,
        campaigners: 1,
        ..stale_read()
    };
    cfg.clients[1].0 = 0;
    cfg
}

/// `znode-ephemeral`: a client creates two ephemeral sequential nodes and then goes quiet;
/// the leader may expire its session at any time.
pub fn ephemeral(servers: usize) -> ZnodeCfg<Script> {
    let node = || Call::plain(create("/e-", "", CreateMode::EphemeralSequential, 0));
    let cfg = ZnodeCfg::new(vec![(0, Script(vec![node(), node()]))]);
    ZnodeCfg {
        servers,
        expiry: true,
        ..cfg
    }
}

/// `znode-failover-ephemeral`: a client creates an ephemeral node at `s1` and is done
/// (silent from then on); the leader may expire its session at any time, and servers may
/// crash (and restart), so the session may outlive its leader. Servers `s0` and `s1` may
/// campaign, in terms 1 and 2. The log holds two entries: the create and one close.
pub fn failover_ephemeral(servers: usize) -> ZnodeCfg<Script> {
    let node = Call::plain(create("/e", "", CreateMode::Ephemeral, 0));
    let cfg = ZnodeCfg::new(vec![(1, Script(vec![node]))]);
    ZnodeCfg {
        servers,
        expiry: true,
        max_crashes: 1,
        max_term: 2,
        max_log: 2,
        campaigners: 2,
        ..cfg
    }
}

/// `znode-watch-modes`: one client at a follower watches `/p` persistently and `/o` with
/// `exists`, then creates and sets both.
pub fn watch_modes_script() -> ZnodeCfg<Script> {
    let persistent = Call {
        ask: Ask::AddWatch {
            path: "/p".into(),
            mode: AddWatchMode::Persistent,
        },
        watch: false,
        sync: false,
    };
    let mut calls = vec![persistent, Call::watched(exists("/o"))];
    for path in ["/p", "/o"] {
        calls.push(Call::plain(create(path, "", CreateMode::Persistent, 0)));
    }
    for path in ["/p", "/o"] {
        calls.push(Call::plain(set(path, "1", -1)));
    }
    ZnodeCfg::new(vec![(1, Script(calls))])
}

/// `znode-watch-replay`: the watcher of `znode-watch` at a follower, the writer at the
/// first server (the leader, when it is fixed), and one reconnect: the watcher may leave
/// its server before the create reaches it and set its watch again elsewhere after.
pub fn watch_replay() -> ZnodeCfg<Script> {
    let watcher = Script(vec![Call::watched(exists("/w")), Call::plain(exists("/w"))]);
    let writer = Script(vec![Call::plain(create(
        "/w",
        "",
        CreateMode::Persistent,
        0,
    ))]);
    ZnodeCfg {
        max_resends: 1,
        ..ZnodeCfg::new(vec![(1, watcher), (0, writer)])
    }
}

/// `znode-watch`: a watcher asks whether `/w` exists, leaving a watch, and asks again; a
/// writer connected to the same follower creates `/w`.
pub fn watch() -> ZnodeCfg<Script> {
    let watcher = Script(vec![Call::watched(exists("/w")), Call::plain(exists("/w"))]);
    let create_w = create("/w", "", CreateMode::Persistent, 0);
    let writer = Script(vec![Call::plain(create_w)]);
    ZnodeCfg::new(vec![(1, watcher), (1, writer)])
}

// ---------------------------------------------------------------------------------------
// The named checks of scripts.
// ---------------------------------------------------------------------------------------

const EPHEMERAL: [&str; 3] = [
    "no ephemeral node of an expired session",
    "sequential names are unique and increasing",
    "an ephemeral node disappears after expiry",
];
const FAILOVER: [&str; 2] = [SETTLED_CLEAN, CLOSED_AFTER_FAILOVER];
/// The quick size of `znode-failover-ephemeral` (a new leader needs the restarted old
/// one's vote) and of `znode-bug-reads-go-back` (the reader's reconnect can only take it
/// to the follower): two servers.
const TWO_SERVERS: Bounds = Bounds {
    servers: Some(2),
    ..Bounds::NONE
};
/// The quick size of `znode-moving-read`: a crash and no resend (a reader still meets a
/// restarted server, which has lost its connection).
const NO_RESENDS: Bounds = Bounds {
    max_resends: Some(0),
    max_crashes: Some(1),
    ..Bounds::NONE
};
const WATCH: [&str; 5] = [
    "linearizable",
    "a watch fires once per registration",
    "a watch fires only after its change is applied",
    "a client hears of a change before it reads it",
    "a watch fires",
];

/// See `znode-watch-modes`.
const WATCH_MODES_CHECKED: [&str; 3] = [WATCH_MODES, PERSISTENT_TWICE, "every client finishes"];
/// See `znode-watch-replay`.
const REPLAY: [&str; 3] = [
    "a client hears of a change before it reads it",
    "a watch fires",
    "every client finishes",
];
/// The quick size of `znode-watch-replay`: two servers, a fixed leader, and the
/// watcher's one reconnect (to the leader, where the writer is).
const REPLAY_QUICK: Bounds = Bounds {
    servers: Some(2),
    campaigners: Some(1),
    max_resends: Some(1),
    ..Bounds::NONE
};

/// The checks of clients running scripts.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "znode-stale-read",
            about: "znode, a writer and a reader at different followers: reads are sequentially consistent, not linearizable",
            search: Search::Dfs,
            expect: vec![
                ("linearizable", Violated),
                ("sequentially consistent", Holds),
                ("every client finishes", Holds),
            ],
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(stale_read(), b, judged),
        },
        Check {
            name: "znode-sync-read",
            about: "znode-stale-read with sync before the read: linearizable",
            search: Search::Dfs,
            expect: all_hold(&[&["linearizable", "sequentially consistent", "every client finishes"]]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(sync_read(), b, judged),
        },
        Check {
            name: "znode-sync-failover",
            about: "znode, a synced read at a leader that a newer one may depose: linearizable",
            search: Search::Dfs,
            expect: all_hold(&[&["linearizable", "every client finishes"]]),
            quick: Bounds::NONE,
            build: |b, judged| znode_model(sync_failover(), b, judged),
        },
        Check {
            name: "znode-moving-read",
            about: "znode-stale-read with one resend elsewhere and a server restart (quick: the restart alone): a client never reads older data than it has seen",
            search: Search::Dfs,
            expect: all_hold(&[&["sequentially consistent", "every client finishes"]]),
            quick: NO_RESENDS,
            build: |b, judged| znode_model(moving_read(), b, judged),
        },
        Check {
            name: "znode-ephemeral",
            about: "znode, a client's session expires: its ephemeral nodes go; sequential names unique and increasing",
            search: Search::Dfs,
            expect: all_hold(&[&EPHEMERAL]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(ephemeral(3), b, judged),
        },
        Check {
            name: "znode-failover-ephemeral",
            about: "znode, a client fails owning an ephemeral node, then the leader may crash: a new leader expires the session",
            search: Search::Dfs,
            expect: all_hold(&[&FAILOVER]),
            quick: TWO_SERVERS,
            build: |b, judged| znode_model(failover_ephemeral(b.servers.unwrap_or(3)), b, judged),
        },
        Check {
            name: "znode-watch",
            about: "znode, a watcher and a writer on one follower: a watch fires once, after the change is applied, before the new data is read",
            search: Search::Dfs,
            expect: all_hold(&[&WATCH]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(watch(), b, judged),
        },
        Check {
            name: "znode-watch-modes",
            about: "znode, a client with a persistent and a standard watch writes both paths: the persistent one fires on every change, the standard one once",
            search: Search::Dfs,
            expect: all_hold(&[&WATCH_MODES_CHECKED]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(watch_modes_script(), b, judged),
        },
        Check {
            name: "znode-watch-replay",
            about: "znode-watch with the writer at another server and one reconnect of the watcher: setWatches replays what changed while it was away",
            search: Search::Dfs,
            expect: all_hold(&[&REPLAY]),
            quick: REPLAY_QUICK,
            // With any of the three servers free to lead, the space passed 3.3 million
            // states in 7 minutes unfinished: the default fixes the leader.
            build: |b, judged| znode_model(watch_replay(), &b.or(&FIXED_LEADER), judged),
        },
        bug_check(
            "znode-bug-replay-skips-changes",
            "deliberate bug: setWatches on reconnect leaves the watches without firing for what changed meanwhile",
            "a client hears of a change before it reads it",
            REPLAY_QUICK,
            |b, judged| {
                let b = b.or(&FIXED_LEADER);
                znode_bug(ZkBug::ReplaySkipsChanges, watch_replay(), &b, judged)
            },
        ),
        bug_check(
            "znode-bug-keep-ephemerals",
            "deliberate bug: closing an expired session keeps its ephemeral nodes",
            "no ephemeral node of an expired session",
            FIXED_LEADER,
            |b, judged| znode_bug(ZkBug::KeepEphemerals, ephemeral(3), b, judged),
        ),
        bug_check(
            "znode-bug-forget-sessions-on-failover",
            "deliberate bug: a new leader tracks only the sessions it hears from, so a failed client's ephemeral node stays",
            SETTLED_CLEAN,
            TWO_SERVERS,
            |b, judged| {
                let cfg = failover_ephemeral(b.servers.unwrap_or(3));
                znode_bug(ZkBug::ForgetSessionsOnFailover, cfg, b, judged)
            },
        ),
        bug_check(
            "znode-bug-reads-go-back",
            "deliberate bug: a server answers a plain read from a tree older than its client has seen",
            "sequentially consistent",
            TWO_SERVERS,
            |b, judged| znode_bug(ZkBug::ReadsGoBack, read_moving_from_leader(), b, judged),
        ),
        bug_check(
            "znode-bug-sync-unconfirmed",
            "deliberate bug: the leader answers a sync with its commit index, without a round a majority acknowledges",
            "linearizable",
            Bounds::NONE,
            |b, judged| znode_bug(ZkBug::SyncUnconfirmed, sync_failover(), b, judged),
        ),
        bug_check(
            "znode-bug-early-watch",
            "deliberate bug: a server fires a watch when the write arrives, before applying it",
            "a watch fires only after its change is applied",
            FIXED_LEADER,
            |b, judged| znode_bug(ZkBug::EarlyWatch, watch(), b, judged),
        ),
    ]
}
