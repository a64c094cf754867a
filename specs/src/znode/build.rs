//! Shorthands for writing znode operations, multi steps and results: for tests, models
//! and tools, so that a story of operations reads like ZooKeeper's client calls.

use super::{CreateMode, MultiOp, Path, SessionId, Stat, Version, ZkError, ZkOp, ZkRet, Zxid};

pub fn create(path: &str, data: &str, mode: CreateMode, session: SessionId) -> ZkOp {
    let (path, data) = (path.into(), data.into());
    ZkOp::Create {
        path,
        data,
        mode,
        session,
    }
}

pub fn delete(path: &str, version: Version) -> ZkOp {
    let path = path.into();
    ZkOp::Delete { path, version }
}

pub fn set(path: &str, data: &str, version: Version) -> ZkOp {
    let (path, data) = (path.into(), data.into());
    ZkOp::SetData {
        path,
        data,
        version,
    }
}

pub fn exists(path: &str) -> ZkOp {
    ZkOp::Exists { path: path.into() }
}

pub fn get(path: &str) -> ZkOp {
    ZkOp::GetData { path: path.into() }
}

pub fn kids(path: &str) -> ZkOp {
    ZkOp::GetChildren { path: path.into() }
}

pub fn multi(ops: Vec<MultiOp>, session: SessionId) -> ZkOp {
    ZkOp::Multi { ops, session }
}

pub fn close(session: SessionId) -> ZkOp {
    ZkOp::CloseSession { session }
}

pub fn step_check(path: &str, version: Version) -> MultiOp {
    let path = path.into();
    MultiOp::Check { path, version }
}

pub fn step_create(path: &str, mode: CreateMode) -> MultiOp {
    let (path, data) = (path.into(), "".into());
    MultiOp::Create { path, data, mode }
}

pub fn step_delete(path: &str, version: Version) -> MultiOp {
    let path = path.into();
    MultiOp::Delete { path, version }
}

pub fn step_set(path: &str, data: &str, version: Version) -> MultiOp {
    let (path, data) = (path.into(), data.into());
    MultiOp::SetData {
        path,
        data,
        version,
    }
}

pub fn created(path: &str) -> ZkRet {
    ZkRet::Created(path.into())
}

pub fn names(names: &[&str]) -> ZkRet {
    ZkRet::Children(names.iter().map(|name| Path::from(*name)).collect())
}

pub fn data(data: &str, stat: Stat) -> ZkRet {
    let data = data.into();
    ZkRet::Data { data, stat }
}

pub fn found(stat: Stat) -> ZkRet {
    ZkRet::Exists(Some(stat))
}

pub fn multi_failed(index: usize, error: ZkError) -> ZkRet {
    ZkRet::MultiFailed { index, error }
}

/// The stat of a persistent node, its fields in order (the owner left out).
pub fn stat(c: Zxid, m: Zxid, p: Zxid, v: Version, cv: Version, len: u32, n: u32) -> Stat {
    let (czxid, mzxid, pzxid) = (c, m, p);
    let (version, cversion, data_length, num_children) = (v, cv, len, n);
    Stat {
        czxid,
        mzxid,
        pzxid,
        version,
        cversion,
        ephemeral_owner: 0,
        data_length,
        num_children,
    }
}
