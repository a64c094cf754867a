//! The checks of a client that pipelines: ZooKeeper's clients send requests without
//! waiting for the answers before, and rely on the answers coming back in order, each
//! read showing the session's writes sent before it and none sent after it. Also: a
//! node's times are the same on every server.

use super::{
    clients_with_ids, live_servers, znode_bug, znode_model, Judged, Property, State, ZnodeCfg,
    ZnodeModel,
};
use crate::cfg::Bounds;
use crate::check::{all_hold, bug_check, Check};
use crate::run::Search;
use coord::znode::client::{Call, Pipeline};
use coord::znode::ZkBug;
use coord_specs::znode::build::{create, get, set};
use coord_specs::znode::{CreateMode, ZkOp, ZkRet};
use stateright::Expectation;

/// See [`in_request_order`].
pub const IN_ORDER: &str = "replies come in request order";
/// See [`reads_own_writes`].
pub const OWN_WRITES: &str = "a pipelined read shows the session's writes before it and none after";
/// See [`same_times`].
pub const SAME_TIMES: &str = "a node's times are the same on every server";

impl Judged for Pipeline {
    fn properties() -> Vec<Property<Pipeline>> {
        use Expectation::Always;
        vec![
            (Always, IN_ORDER, in_request_order),
            (Always, OWN_WRITES, reads_own_writes),
            (Always, SAME_TIMES, same_times),
        ]
    }
}

/// No client got a reply before the reply to a request it sent earlier.
fn in_request_order(_: &ZnodeModel<Pipeline>, state: &State<Pipeline>) -> bool {
    clients_with_ids(state).all(|(_, c)| !c.out_of_order)
}

/// Each read's answer shows the data of the session's last write to the path before it
/// in the pipeline (the model's clients are alone on their paths), or no node if none.
fn reads_own_writes(model: &ZnodeModel<Pipeline>, state: &State<Pipeline>) -> bool {
    clients_with_ids(state).all(|(id, c)| {
        let calls = &model.cfg.program(id).0;
        (c.program.iter().enumerate()).all(|(i, ret)| {
            let Some(ZkOp::GetData { path }) = calls[i].op() else {
                return true;
            };
            let written = (calls[..i].iter().rev()).find_map(|call| match call.op()? {
                ZkOp::Create { path: p, data, .. } | ZkOp::SetData { path: p, data, .. }
                    if p == path =>
                {
                    Some(data)
                }
                _ => None,
            });
            match (written, ret) {
                (Some(data), ZkRet::Data { data: read, .. }) => read == data,
                (None, ZkRet::Err(_)) => true,
                _ => false,
            }
        })
    })
}

/// Rule: a write is stamped once, where it is ordered, and every replica applies that
/// stamp. Two live servers that both show a node written last by the same write show the
/// same times for it.
fn same_times(_: &ZnodeModel<Pipeline>, state: &State<Pipeline>) -> bool {
    let servers: Vec<_> = live_servers(state).map(|(_, s)| s.tree()).collect();
    let paths = ["/x", "/y"];
    paths.iter().all(|path| {
        let stats: Vec<_> = servers.iter().filter_map(|t| t.stat(path)).collect();
        stats.iter().all(|a| {
            (stats.iter()).all(|b| a.mzxid != b.mzxid || (a.ctime, a.mtime) == (b.ctime, b.mtime))
        })
    })
}

/// `znode-pipeline`: two clients at the followers of a fixed leader, each pipelining a
/// create, a read, a set and a read of its own node.
pub fn pipelined() -> ZnodeCfg<Pipeline> {
    let program = |path: &str| {
        Pipeline(vec![
            Call::plain(create(path, "1", CreateMode::Persistent, 0)),
            Call::plain(get(path)),
            Call::plain(set(path, "2", -1)),
            Call::plain(get(path)),
        ])
    };
    ZnodeCfg::new(vec![(1, program("/x")), (2, program("/y"))])
}

/// The default size of the pipelining checks: the first client alone, with every server
/// standing for election, so that leaders change under its pipeline. Both clients
/// (`--clients 2`) with even a fixed leader pass two million states in five minutes.
const ONE_CLIENT: Bounds = Bounds {
    clients: Some(1),
    ..Bounds::NONE
};

/// The quick size of the pipelining checks: one client and a fixed leader.
const FIXED_LEADER: Bounds = Bounds {
    campaigners: Some(1),
    clients: Some(1),
    ..Bounds::NONE
};

/// The pipelining checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "znode-pipeline",
            about: "znode, a client pipelining writes and reads at a follower while leaders change: replies in order, each read shows the writes before it and none after, times equal on every server",
            search: Search::Dfs,
            expect: all_hold(&[&[IN_ORDER, OWN_WRITES, SAME_TIMES, "every client finishes"]]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(pipelined(), &b.or(&ONE_CLIENT), judged),
        },
        bug_check(
            "znode-bug-read-overtakes-write",
            "deliberate bug: a server answers a read at once, ahead of its session's pending write",
            OWN_WRITES,
            FIXED_LEADER,
            |b, judged| znode_bug(ZkBug::ReadOvertakesWrite, pipelined(), b, judged),
        ),
    ]
}
