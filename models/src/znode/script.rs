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
use coord::znode::client::{Call, Script, ZkClientState};
use coord::znode::server::session_of;
use coord::znode::{ZkBug, ZkMsg, ZkTimer};
use coord_specs::znode::build::{create, exists, get};
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
            (Always, SETTLED_CLEAN, settled_clean),
            (Sometimes, CLOSED_AFTER_FAILOVER, closed_after_failover),
        ]
    }
}

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
        (clients.iter()).all(|(id, _)| leader.tree().ephemerals(session_of(*id)).is_empty())
    })
}

/// A failed client's ephemeral node, created in one term, is gone at a server that applied
/// its session's close proposed in a later term: a new leader expired a session that an
/// earlier one had tracked.
fn closed_after_failover(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state).any(|(id, c)| {
        let session = session_of(id);
        let close = ZkOp::CloseSession { session };
        failed(c)
            && created(&c.program).any(|path| {
                live_servers(state).any(|(_, s)| {
                    let applied = || s.raft.log.upto(s.raft.replica.applied);
                    let created_in = applied().find(|e| e.client == id).map(|e| e.term);
                    let closed_in = applied().find(|e| e.op == close).map(|e| e.term);
                    let later = matches!((created_in, closed_in), (Some(a), Some(b)) if a < b);
                    later && s.tree().stat(path).is_none()
                })
            })
    })
}

/// The paths created for client `c`, in order.
fn created(c: &[ZkRet]) -> impl Iterator<Item = &Path> {
    c.iter().filter_map(|ret| match ret {
        ZkRet::Created(path) => Some(path),
        _ => None,
    })
}

/// Notes, part I: "Ephemeral: deleted when client session expires". At every live server,
/// a session whose close it has applied owns no node.
fn no_orphan_ephemerals(_: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    live_servers(state).all(|(_, s)| {
        clients_with_ids(state).all(|(id, _)| {
            let session = session_of(id);
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
    clients_with_ids(state).any(|(id, c)| {
        created(&c.program).any(|path| {
            live_servers(state)
                .any(|(_, s)| s.tree().is_closed(session_of(id)) && s.tree().stat(path).is_none())
        })
    })
}

/// Every event a client received answers a call of its that left a watch, and no two
/// events answer the same call.
fn fires_once(model: &ZnodeModel<Script>, state: &State<Script>) -> bool {
    clients_with_ids(state).all(|(id, c)| {
        let calls = &model.cfg.program(id).0;
        let mut seqs: Vec<u64> = c.events.iter().map(|(_, e)| e.seq).collect();
        let watched = (seqs.iter()).all(|&seq| calls[seq as usize - 1].serve.watch);
        let events = seqs.len();
        seqs.sort_unstable();
        seqs.dedup();
        watched && seqs.len() == events
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
            let heard = c.events.iter().any(|(_, e)| e.seq == i as u64 + 1);
            let changed = (i + 1..results.len())
                .any(|j| calls[j].op == calls[i].op && results[j] != results[i]);
            !calls[i].serve.watch || !changed || heard
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

/// `znode-ephemeral`: a client creates two ephemeral sequential nodes and then goes quiet;
/// the leader may expire its session at any time.
pub fn ephemeral(servers: usize) -> ZnodeCfg<Script> {
    let session = session_of(Id::from(servers));
    let node = || Call::plain(create("/e-", "", CreateMode::EphemeralSequential, session));
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
    let session = session_of(Id::from(servers));
    let node = Call::plain(create("/e", "", CreateMode::Ephemeral, session));
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
/// The quick size of `znode-failover-ephemeral`: two servers (a new leader needs the
/// restarted old one's vote).
const FAILOVER_QUICK: Bounds = Bounds {
    servers: Some(2),
    ..Bounds::NONE
};
/// The quick size of `znode-moving-read`: no resend (a reader still meets a restarted
/// server's empty tree).
const NO_RESENDS: Bounds = Bounds {
    max_resends: Some(0),
    ..Bounds::NONE
};
const WATCH: [&str; 5] = [
    "linearizable",
    "a watch fires once per registration",
    "a watch fires only after its change is applied",
    "a client hears of a change before it reads it",
    "a watch fires",
];

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
            name: "znode-moving-read",
            about: "znode-stale-read with server restarts and one resend elsewhere: a client never reads older data than it has seen",
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
            quick: FAILOVER_QUICK,
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
            FAILOVER_QUICK,
            |b, judged| {
                let cfg = failover_ephemeral(b.servers.unwrap_or(3));
                znode_bug(ZkBug::ForgetSessionsOnFailover, cfg, b, judged)
            },
        ),
        bug_check(
            "znode-bug-reads-go-back",
            "deliberate bug: a server answers a plain read from a tree older than its client has seen",
            "sequentially consistent",
            NO_RESENDS,
            |b, judged| znode_bug(ZkBug::ReadsGoBack, moving_read(), b, judged),
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
