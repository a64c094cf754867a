//! The znode service under test: gets and sets (some conditional on the version last
//! seen) of a few persistent nodes, each call by the model-checked ZooKeeper client in a
//! session of its own. Reads are `sync` reads (linearizable), or plain reads served by
//! whichever server the client reaches (ZooKeeper's default, which may be stale).
//! Histories are judged against the znode spec without zxids and times
//! ([`ZnodeDataSpec`]): the leader's own closes of expired sessions take zxids that no
//! call records, and times are the servers' clocks.

use super::role::Role;
use super::settle::{raft_holders, raft_leads, raft_replaced, raft_settled};
use super::subject::{FirstReply, Subject, Versioned};
use crate::client::{run_until, Cluster};
use coord::net::stats::StatsReply;
use coord::znode::client::{Call, Script};
use coord::znode::conn::Reply;
use coord::znode::msg::ZkMsg;
use coord_specs::znode::build::{create, get, set};
use coord_specs::znode::data::{ZkDataRet, ZnodeDataSpec};
use coord_specs::znode::{CreateMode, Data, Path, Version, ZkError, ZkOp, ZkRet, ANY_VERSION};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// A znode cluster, the nodes its clients share, and how reads are served.
pub struct Zk {
    pub cluster: Cluster,
    pub keys: u16,
    /// Whether the workload's reads are `sync` reads.
    pub sync: bool,
}

impl Subject for Zk {
    type Spec = ZnodeDataSpec;
    const SPEC: &'static str = "znode-data";

    /// The nodes the workload reads and writes.
    fn setup(&self) -> Vec<ZkOp> {
        (0..self.keys)
            .map(|i| create(&self.key(i), "", CreateMode::Persistent, 0))
            .collect()
    }

    fn key(&self, i: u16) -> String {
        format!("/k{i}")
    }

    fn write(&self, key: &str, value: &str, expected: Option<i64>) -> ZkOp {
        let version = expected.map_or(ANY_VERSION, |v| v.clamp(0, Version::MAX.into()) as Version);
        set(key, value, version)
    }

    fn failed(&self, ret: &ZkDataRet) -> bool {
        matches!(ret.0, ZkRet::Err(_))
    }

    /// One fresh client (and session) per call, as `coord zk` runs one. A read is a `sync`
    /// read if the workload's are, or if it must be `strict`.
    fn perform(
        &self,
        op: ZkOp,
        strict: bool,
        stop: &AtomicBool,
        deadline: Instant,
        on_reply: &mut dyn FnMut(&ZkDataRet),
    ) -> Result<Option<ZkDataRet>, String> {
        let call = match op.is_read() && (strict || self.sync) {
            true => Call::synced(op),
            false => Call::plain(op),
        };
        let mut client = self.cluster.zk_client(|_| Script(vec![call]))?;
        let mut reply = FirstReply::new(on_reply);
        let observe = |_, msg: &ZkMsg| {
            if let ZkMsg::Reply(Reply { xid: 1, ret, .. }) = msg {
                reply.offer(|| ZkDataRet(ret.clone()));
            }
        };
        run_until(&mut client, stop, Some(deadline), |s| s.done, observe)?;
        Ok(reply.answer)
    }

    fn write_of<'a>(&self, op: &'a ZkOp, ret: &'a ZkDataRet) -> Option<Versioned<'a>> {
        let (ZkOp::SetData { path, data, .. }, ZkRet::Set(stat)) = (op, &ret.0) else {
            return None;
        };
        Some(versioned(path, Some(data), stat.version))
    }

    fn read_of<'a>(&self, op: &'a ZkOp, ret: &'a ZkDataRet) -> Option<Versioned<'a>> {
        match (op, &ret.0) {
            (ZkOp::GetData { path }, ZkRet::Data { data, stat }) => {
                Some(versioned(path, Some(data), stat.version))
            }
            (ZkOp::GetData { path }, ZkRet::Err(ZkError::NoNode)) => {
                Some(versioned(path, None, -1))
            }
            _ => None,
        }
    }

    fn read(&self, key: &str) -> ZkOp {
        get(key)
    }

    fn ready(&self, nodes: &[StatsReply]) -> bool {
        nodes.iter().any(raft_leads)
    }

    fn holders(&self, nodes: &[Option<StatsReply>], role: Role) -> Vec<usize> {
        raft_holders(nodes, role)
    }

    fn replaced(&self, nodes: &[Option<StatsReply>], target: usize, role: Option<Role>) -> bool {
        raft_replaced(nodes, target, role)
    }

    fn faultable(&self, members: usize) -> usize {
        members
    }

    fn settled(&self, nodes: &[StatsReply]) -> bool {
        raft_settled(nodes)
    }
}

/// A node's data and data version.
fn versioned<'a>(path: &'a Path, data: Option<&'a Data>, version: Version) -> Versioned<'a> {
    Versioned {
        key: path,
        value: data.and_then(|d| std::str::from_utf8(d).ok()),
        version: i64::from(version),
    }
}
