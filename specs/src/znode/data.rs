//! The znode tree judged without zxids and times: by data, versions and children only.
//!
//! A running ZooKeeper service writes on its own: the leader closes every expired session
//! through the log, and each close takes a zxid. No client call records those closes, so
//! a client history cannot account for the zxids they take. Rule: with no ephemeral nodes
//! in the history, a close changes nothing but the zxid; judged without zxids, a history
//! is the same whether or not any close happened, so its results can be checked against
//! the tree of its own calls alone. Times (`ctime`, `mtime`) come from the servers'
//! clocks, which the spec does not know; they are left out too.

use super::{Stat, ZkOp, ZkRet, ZnodeSpec};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A znode result that compares equal to another that differs only in its zxids. It
/// reads and writes as the plain result, so recorded histories are the same files.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ZkDataRet(pub ZkRet);

/// The znode tree whose results are compared without zxids.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ZnodeDataSpec(ZnodeSpec);

/// `stat` without its zxids and times.
fn unzxid(stat: Stat) -> Stat {
    Stat {
        czxid: 0,
        mzxid: 0,
        pzxid: 0,
        ..stat.without_times()
    }
}

/// `ret` with every stat in it without its zxids and times.
fn without_zxids(ret: &ZkRet) -> ZkRet {
    ret.map_stats(unzxid)
}

impl PartialEq for ZkDataRet {
    fn eq(&self, other: &Self) -> bool {
        without_zxids(&self.0) == without_zxids(&other.0)
    }
}

impl fmt::Display for ZkDataRet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl stateright::semantics::SequentialSpec for ZnodeDataSpec {
    type Op = ZkOp;
    type Ret = ZkDataRet;

    fn invoke(&mut self, op: &ZkOp) -> ZkDataRet {
        ZkDataRet(self.0.invoke(op))
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::{create, get, set};
    use super::super::CreateMode;
    use super::*;
    use stateright::semantics::SequentialSpec;

    #[test]
    fn results_that_differ_only_in_zxids_are_equal_and_others_are_not() {
        let mut tree = ZnodeDataSpec::default();
        tree.invoke(&create("/a", "x", CreateMode::Persistent, 0));
        let set_a = tree.invoke(&set("/a", "y", -1));
        let ZkRet::Set(stat) = set_a.0.clone() else {
            panic!("set succeeds: {set_a}");
        };
        let shifted = Stat {
            mzxid: stat.mzxid + 5,
            pzxid: stat.pzxid + 1,
            ..stat
        };
        assert_eq!(set_a, ZkDataRet(ZkRet::Set(shifted)));
        let newer = Stat {
            version: stat.version + 1,
            ..stat
        };
        assert_ne!(set_a, ZkDataRet(ZkRet::Set(newer)));
        let read = tree.invoke(&get("/a"));
        let stale = ZkRet::Data {
            data: super::super::build::bytes("x"),
            stat,
        };
        assert_ne!(read, ZkDataRet(stale));
    }
}
