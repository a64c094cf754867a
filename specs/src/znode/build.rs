//! Shorthands for writing znode operations, multi steps and results: for tests, models
//! and tools, so that a story of operations reads like ZooKeeper's client calls. Data is
//! written as text here (the tree stores bytes).

use super::acl::digest_id;
use super::{
    Acl, CreateMode, Data, Identity, MultiOp, OpResult, Path, SessionId, Stat, Version, ZkError,
    ZkOp, ZkRet, Zxid,
};

/// `text` as node data.
pub fn bytes(text: &str) -> Data {
    Data::copy_from_slice(text.as_bytes())
}

pub fn create(path: &str, data: &str, mode: CreateMode, session: SessionId) -> ZkOp {
    let (path, data) = (path.into(), bytes(data));
    ZkOp::Create {
        path,
        data,
        mode,
        acl: Acl::open(),
        session,
    }
}

pub fn delete(path: &str, version: Version) -> ZkOp {
    let path = path.into();
    ZkOp::Delete { path, version }
}

pub fn set(path: &str, data: &str, version: Version) -> ZkOp {
    let (path, data) = (path.into(), bytes(data));
    ZkOp::SetData {
        path,
        data,
        version,
    }
}

/// `op` (a create or a set) with null data instead of its data (ZooKeeper's `null`).
pub fn with_null_data(mut op: ZkOp) -> ZkOp {
    if let ZkOp::Create { data, .. } | ZkOp::SetData { data, .. } = &mut op {
        *data = Data::NULL;
    }
    op
}

/// `op` (a create, a create step or a set-ACL) with `acl` instead of its ACL.
pub fn with_acl<T: HasAcl>(mut op: T, acl: &[Acl]) -> T {
    *op.acl_mut() = acl.to_vec();
    op
}

/// An operation or step that carries an ACL (see [`with_acl`]).
pub trait HasAcl {
    fn acl_mut(&mut self) -> &mut Vec<Acl>;
}

impl HasAcl for ZkOp {
    fn acl_mut(&mut self) -> &mut Vec<Acl> {
        match self {
            ZkOp::Create { acl, .. } | ZkOp::SetAcl { acl, .. } => acl,
            other => panic!("{other} has no ACL"),
        }
    }
}

impl HasAcl for MultiOp {
    fn acl_mut(&mut self) -> &mut Vec<Acl> {
        match self {
            MultiOp::Create { acl, .. } => acl,
            other => panic!("{other} has no ACL"),
        }
    }
}

pub fn get_acl(path: &str) -> ZkOp {
    ZkOp::GetAcl { path: path.into() }
}

pub fn set_acl(path: &str, acl: &[Acl], version: Version) -> ZkOp {
    let (path, acl) = (path.into(), acl.to_vec());
    ZkOp::SetAcl { path, acl, version }
}

/// A `digest` ACL entry with `perms` for `user` with the password `pw` (see [`as_user`]).
pub fn digest(user: &str, perms: i32) -> Acl {
    let (scheme, id) = ("digest".into(), digest_id(format!("{user}:pw").as_bytes()));
    Acl { perms, scheme, id }
}

/// The identities of a caller at 127.0.0.1 who added the credentials `user:pw`.
pub fn user_ids(user: &str) -> Vec<Identity> {
    let digest = digest_id(format!("{user}:pw").as_bytes());
    vec![("ip".into(), "127.0.0.1".into()), ("digest".into(), digest)]
}

/// `op` done by the caller of [`user_ids`]`(user)`.
pub fn as_user(op: ZkOp, user: &str) -> ZkOp {
    op.by(user_ids(user))
}

/// A get-data result of null data.
pub fn null_data(stat: Stat) -> ZkRet {
    let data = Data::NULL;
    ZkRet::Data { data, stat }
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
    let (path, data) = (path.into(), Data::new());
    let acl = Acl::open();
    MultiOp::Create {
        path,
        data,
        mode,
        acl,
    }
}

pub fn step_delete(path: &str, version: Version) -> MultiOp {
    let path = path.into();
    MultiOp::Delete { path, version }
}

pub fn step_set(path: &str, data: &str, version: Version) -> MultiOp {
    let (path, data) = (path.into(), bytes(data));
    MultiOp::SetData {
        path,
        data,
        version,
    }
}

/// A create's result naming `path`, with a default stat: a story that expects it checks
/// the path, and that the stat returned is the new node's (see `Stat::default`).
pub fn created(path: &str) -> ZkRet {
    let (path, stat) = (path.into(), Stat::default());
    ZkRet::Created { path, stat }
}

/// A get-children result naming `names`, with a default stat (as [`created`]).
pub fn names(names: &[&str]) -> ZkRet {
    let names = names.iter().map(|name| Path::from(*name)).collect();
    let stat = Stat::default();
    ZkRet::Children { names, stat }
}

pub fn data(data: &str, stat: Stat) -> ZkRet {
    let data = bytes(data);
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
        ..Stat::default()
    }
}

/// `expected` with each default stat that [`created`] and [`names`] leave filled in from
/// the tree just after the operation (`stat_of` a path): a story then checks that a
/// create returns the new node's stat and a get-children its parent's, without spelling
/// them out. Any other result is returned as it is.
pub fn pin_stats(expected: &ZkRet, op: &ZkOp, stat_of: impl Fn(&str) -> Option<Stat>) -> ZkRet {
    let unset = |stat: &Stat| *stat == Stat::default();
    let pin = |path: &str, stat: &Stat| match unset(stat) {
        true => stat_of(path).unwrap_or_default(),
        false => *stat,
    };
    match (expected, op) {
        (ZkRet::Created { path, stat }, _) => ZkRet::Created {
            path: path.clone(),
            stat: pin(path, stat),
        },
        (ZkRet::Children { names, stat }, ZkOp::GetChildren { path }) => ZkRet::Children {
            names: names.clone(),
            stat: pin(path, stat),
        },
        (ZkRet::Multi(results), _) => ZkRet::Multi(
            (results.iter())
                .map(|r| match r {
                    OpResult::Created { path, stat } => OpResult::Created {
                        path: path.clone(),
                        stat: pin(path, stat),
                    },
                    other => other.clone(),
                })
                .collect(),
        ),
        _ => expected.clone(),
    }
}

/// A multi step's create result naming `path` (its stat pinned as [`created`]'s).
pub fn step_created(path: &str) -> OpResult {
    let (path, stat) = (path.into(), Stat::default());
    OpResult::Created { path, stat }
}
