//! The znode tree judged without zxids: by data, versions and children only.
//!
//! A running ZooKeeper service writes on its own: the leader closes every expired session
//! through the log, and each close takes a zxid. No client call records those closes, so
//! a client history cannot account for the zxids they take. Rule: with no ephemeral nodes
//! in the history, a close changes nothing but the zxid; judged without zxids, a history
//! is the same whether or not any close happened, so its results can be checked against
//! the tree of its own calls alone.

use super::{OpResult, Stat, ZkOp, ZkRet, ZnodeSpec};
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

/// `stat` without its zxids.
fn unzxid(stat: &Stat) -> Stat {
    Stat {
        czxid: 0,
        mzxid: 0,
        pzxid: 0,
        ..*stat
    }
}

/// `ret` with every stat in it without its zxids.
fn without_zxids(ret: &ZkRet) -> ZkRet {
    match ret {
        ZkRet::Exists(stat) => ZkRet::Exists(stat.as_ref().map(unzxid)),
        ZkRet::Data { data, stat } => ZkRet::Data {
            data: data.clone(),
            stat: unzxid(stat),
        },
        ZkRet::Set(stat) => ZkRet::Set(unzxid(stat)),
        ZkRet::Multi(results) => ZkRet::Multi(
            (results.iter())
                .map(|r| match r {
                    OpResult::Set(stat) => OpResult::Set(unzxid(stat)),
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
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
            data: "x".into(),
            stat,
        };
        assert_ne!(read, ZkDataRet(stale));
    }
}
