//! ZooKeeper's znode tree, as a sequential specification.
//!
//! The tree is a map from absolute path to node. The root `/` always exists. Every successful
//! write (create, delete, set, close-session, and a whole successful multi) takes the next
//! transaction id, `zxid`; failed writes and reads change nothing. Each node carries the
//! ZooKeeper stat: when it was created (`czxid`), last written (`mzxid`), when its child list
//! last changed (`pzxid`), its data version, its child version, and its ephemeral owner.
//!
//! Session ids are plain numbers; 0 means "no session" (the owner of a persistent node).

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// An absolute path such as `/a/b`; see [`validate_path`].
pub type Path = SmolStr;
/// The data stored in a node. Its length in bytes is the stat's `data_length`.
pub type Data = SmolStr;
/// A transaction id: the number of successful writes so far, 0 before any.
pub type Zxid = u64;
/// A client session; 0 is reserved for "no session".
pub type SessionId = u64;
/// A data or child version, as ZooKeeper's 32-bit `int`.
pub type Version = i32;
/// The expected version that matches any version (ZooKeeper's `-1`).
pub const ANY_VERSION: Version = -1;

/// Rule: a path is `/`, or `/` followed by one or more non-empty components separated by
/// single `/`s, none of them `.` or `..`, with no NUL anywhere and no trailing `/`.
pub fn validate_path(path: &str) -> bool {
    let valid_name = |name: &str| !name.is_empty() && name != "." && name != "..";
    let absolute = path.starts_with('/') && !path.contains('\0');
    path == "/" || (absolute && path[1..].split('/').all(valid_name))
}

/// The parent of a valid path (`/a/b` -> `/a`, `/a` -> `/`); `None` for the root.
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    let slash = path.rfind('/')?;
    Some(if slash == 0 { "/" } else { &path[..slash] })
}

/// The last component of a valid path (`/a/b` -> `b`); empty for the root.
pub fn child_name(path: &str) -> &str {
    &path[path.rfind('/').map_or(0, |slash| slash + 1)..]
}

/// How a node is created. Rule: ephemeral nodes belong to the creating session and vanish
/// with it; sequential nodes get the parent's `cversion` appended as ten zero-padded digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    Sequential,
    EphemeralSequential,
}

impl CreateMode {
    pub fn is_ephemeral(self) -> bool {
        matches!(self, Self::Ephemeral | Self::EphemeralSequential)
    }

    pub fn is_sequential(self) -> bool {
        matches!(self, Self::Sequential | Self::EphemeralSequential)
    }
}

/// A node's metadata, as ZooKeeper's `Stat` (without the wall-clock times and ACL version).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Stat {
    /// The zxid of the write that created the node.
    pub czxid: Zxid,
    /// The zxid of the last write to the node's data (its creation, or a set).
    pub mzxid: Zxid,
    /// The zxid of the last create or delete of a child (the creation if none since).
    pub pzxid: Zxid,
    /// How many times the data was set.
    pub version: Version,
    /// How many children were created or deleted.
    pub cversion: Version,
    /// The owning session of an ephemeral node; 0 for a persistent node.
    pub ephemeral_owner: SessionId,
    /// The length of the data in bytes.
    pub data_length: u32,
    /// How many children the node has now.
    pub num_children: u32,
}

/// The ZooKeeper errors a client can see here, named as ZooKeeper names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkError {
    /// The node (or, for create, its parent) does not exist.
    NoNode,
    /// Create: the path (for sequential modes, the generated path) already exists.
    NodeExists,
    /// The expected version is neither `-1` nor the node's data version.
    BadVersion,
    /// Delete: the node has children.
    NotEmpty,
    /// Create: the parent is ephemeral.
    NoChildrenForEphemerals,
    /// An invalid path, the root as the target of create or delete, or a missing session.
    BadArguments,
    /// Create of an ephemeral node for a session that has already been closed (expired).
    SessionExpired,
}

/// One step of a multi; the same rules as the single operations of the same name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MultiOp {
    /// Fail unless `path` exists with data version `version` (or any, if `-1`).
    Check {
        path: Path,
        version: Version,
    },
    Create {
        path: Path,
        data: Data,
        mode: CreateMode,
    },
    Delete {
        path: Path,
        version: Version,
    },
    SetData {
        path: Path,
        data: Data,
        version: Version,
    },
}

/// What one step of a successful multi returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OpResult {
    Checked,
    Created(Path),
    Deleted,
    Set(Stat),
}

/// An operation a client invokes on the tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkOp {
    Create {
        path: Path,
        data: Data,
        mode: CreateMode,
        session: SessionId,
    },
    /// Delete a childless node whose data version is `version` (or any, if `-1`).
    Delete {
        path: Path,
        version: Version,
    },
    Exists {
        path: Path,
    },
    GetData {
        path: Path,
    },
    /// Replace the data if the data version is `version` (or any, if `-1`).
    SetData {
        path: Path,
        data: Data,
        version: Version,
    },
    GetChildren {
        path: Path,
    },
    /// All steps or none, at a single zxid; ephemeral creates belong to `session`.
    Multi {
        ops: Vec<MultiOp>,
        session: SessionId,
    },
    /// The session closes or expires: all its ephemeral nodes go, as one write.
    CloseSession {
        session: SessionId,
    },
}

/// What an operation returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkRet {
    /// The path actually created (with any sequence suffix).
    Created(Path),
    Deleted,
    /// The node's stat, or `None` if there is no such node.
    Exists(Option<Stat>),
    Data {
        data: Data,
        stat: Stat,
    },
    /// The node's stat after a successful set.
    Set(Stat),
    /// The children's names (not paths), sorted.
    Children(Vec<SmolStr>),
    /// Every step of the multi took effect; one result per step.
    Multi(Vec<OpResult>),
    /// Step `index` of the multi failed with `error`, so no step took effect. ZooKeeper
    /// reports this as a per-step list: `Ok` for the steps before `index`, `error` at
    /// `index`, and `RuntimeInconsistency` after; that list follows from these two fields.
    MultiFailed {
        index: usize,
        error: ZkError,
    },
    SessionClosed,
    Err(ZkError),
}

impl ZkOp {
    /// True for operations that never change the tree.
    pub fn is_read(&self) -> bool {
        use ZkOp::*;
        matches!(self, Exists { .. } | GetData { .. } | GetChildren { .. })
    }
}

impl fmt::Display for CreateMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CreateMode::Persistent => "persistent",
            CreateMode::Ephemeral => "ephemeral",
            CreateMode::Sequential => "sequential",
            CreateMode::EphemeralSequential => "ephemeral-sequential",
        })
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self;
        write!(
            f,
            "{{czxid {} mzxid {} pzxid {} ",
            s.czxid, s.mzxid, s.pzxid
        )?;
        write!(f, "version {} cversion {} ", s.version, s.cversion)?;
        write!(f, "owner {} length {} ", s.ephemeral_owner, s.data_length)?;
        write!(f, "children {}}}", s.num_children)
    }
}

impl fmt::Display for ZkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Display for MultiOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultiOp::Check { path, version } => write!(f, "check({path}, version {version})"),
            MultiOp::Create { path, data, mode } => write!(f, "create({path}, {data:?}, {mode})"),
            MultiOp::Delete { path, version } => write!(f, "delete({path}, version {version})"),
            MultiOp::SetData {
                path,
                data,
                version: v,
            } => write!(f, "set({path}, {data:?}, version {v})"),
        }
    }
}

impl fmt::Display for OpResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpResult::Checked => write!(f, "checked"),
            OpResult::Created(path) => write!(f, "created {path}"),
            OpResult::Deleted => write!(f, "deleted"),
            OpResult::Set(stat) => write!(f, "set {stat}"),
        }
    }
}

/// Writes `items` as `[a, b, c]`.
fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    let items: Vec<String> = items.iter().map(T::to_string).collect();
    write!(f, "[{}]", items.join(", "))
}

impl fmt::Display for ZkOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZkOp::Create {
                path,
                data,
                mode,
                session: s,
            } => write!(f, "create({path}, {data:?}, {mode}, session {s})"),
            ZkOp::Delete { path, version } => write!(f, "delete({path}, version {version})"),
            ZkOp::Exists { path } => write!(f, "exists({path})"),
            ZkOp::GetData { path } => write!(f, "get({path})"),
            ZkOp::SetData {
                path,
                data,
                version: v,
            } => write!(f, "set({path}, {data:?}, version {v})"),
            ZkOp::GetChildren { path } => write!(f, "children({path})"),
            ZkOp::Multi { ops, session } => {
                write!(f, "multi(session {session}, ")?;
                write_list(f, ops)?;
                write!(f, ")")
            }
            ZkOp::CloseSession { session } => write!(f, "close(session {session})"),
        }
    }
}

impl fmt::Display for ZkRet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZkRet::Created(path) => write!(f, "created {path}"),
            ZkRet::Deleted => write!(f, "deleted"),
            ZkRet::Exists(None) => write!(f, "absent"),
            ZkRet::Exists(Some(stat)) => write!(f, "exists {stat}"),
            ZkRet::Data { data, stat } => write!(f, "{data:?} {stat}"),
            ZkRet::Set(stat) => write!(f, "set {stat}"),
            ZkRet::Children(names) => write_list(f, names),
            ZkRet::Multi(results) => write_list(f, results),
            ZkRet::MultiFailed { index, error } => {
                write!(f, "multi failed at step {index}: {error}")
            }
            ZkRet::SessionClosed => write!(f, "session closed"),
            ZkRet::Err(error) => write!(f, "error {error}"),
        }
    }
}

/// A node as stored. Its `stat.data_length` and `stat.num_children` stay 0: they are
/// derived from the data and the tree whenever the stat is read, so they cannot drift.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Znode {
    data: Data,
    stat: Stat,
}

/// The sequential specification: the last zxid, the map from path to node, and the
/// sessions closed so far (a closed session never owns a node again).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ZnodeSpec {
    zxid: Zxid,
    nodes: BTreeMap<Path, Znode>,
    closed: BTreeSet<SessionId>,
}

impl Default for ZnodeSpec {
    /// Only the root, with empty data and an all-zero stat, at zxid 0.
    fn default() -> Self {
        let root = (Path::new("/"), Znode::default());
        ZnodeSpec {
            zxid: 0,
            nodes: BTreeMap::from([root]),
            closed: BTreeSet::new(),
        }
    }
}

/// Rule: an expected version of `-1` matches anything, any other must equal the actual one.
fn check_version(actual: Version, expected: Version) -> Result<(), ZkError> {
    if expected == ANY_VERSION || expected == actual {
        Ok(())
    } else {
        Err(ZkError::BadVersion)
    }
}

impl ZnodeSpec {
    /// The zxid of the last successful write.
    pub fn zxid(&self) -> Zxid {
        self.zxid
    }

    /// The stat of the node at `path`, if there is one.
    pub fn stat(&self, path: &str) -> Option<Stat> {
        let node = self.nodes.get(path)?;
        Some(Stat {
            data_length: node.data.len() as u32,
            num_children: self.children(path).len() as u32,
            ..node.stat
        })
    }

    /// The sorted names of the children of `path` (none if there is no such node).
    pub fn children(&self, path: &str) -> Vec<SmolStr> {
        let mut names: Vec<SmolStr> = (self.nodes.keys())
            .filter(|child| parent(child) == Some(path))
            .map(|child| SmolStr::new(child_name(child)))
            .collect();
        names.sort();
        names
    }

    /// The data and stat at `path`: `BadArguments` for an invalid path, `NoNode` if absent.
    fn read(&self, path: &str) -> Result<(Data, Stat), ZkError> {
        if !validate_path(path) {
            return Err(ZkError::BadArguments);
        }
        let node = self.nodes.get(path).ok_or(ZkError::NoNode)?;
        Ok((node.data.clone(), self.stat(path).expect("the node exists")))
    }

    /// Rule: a child of `path` was created or deleted at `zxid`.
    fn child_changed(&mut self, path: &str, zxid: Zxid) {
        let stat = &mut self.nodes.get_mut(path).expect("the parent exists").stat;
        stat.cversion += 1;
        stat.pzxid = zxid;
    }

    /// Runs one write at the next zxid, which it consumes only if the write succeeds.
    /// Each write checks everything before it changes anything, so a failure changes nothing.
    fn write<T>(
        &mut self,
        step: impl FnOnce(&mut Self, Zxid) -> Result<T, ZkError>,
    ) -> Result<T, ZkError> {
        let zxid = self.zxid + 1;
        let out = step(self, zxid)?;
        self.zxid = zxid;
        Ok(out)
    }

    fn create(
        &mut self,
        zxid: Zxid,
        path: &str,
        data: &Data,
        mode: CreateMode,
        session: SessionId,
    ) -> Result<Path, ZkError> {
        if !validate_path(path) || (mode.is_ephemeral() && session == 0) {
            return Err(ZkError::BadArguments);
        }
        let parent_path = parent(path).ok_or(ZkError::BadArguments)?;
        if mode.is_ephemeral() && self.closed.contains(&session) {
            return Err(ZkError::SessionExpired);
        }
        let parent_node = self.nodes.get(parent_path).ok_or(ZkError::NoNode)?;
        if parent_node.stat.ephemeral_owner != 0 {
            return Err(ZkError::NoChildrenForEphemerals);
        }
        let path = if mode.is_sequential() {
            Path::from(format!("{path}{:010}", parent_node.stat.cversion))
        } else {
            Path::from(path)
        };
        if self.nodes.contains_key(&path) {
            return Err(ZkError::NodeExists);
        }
        self.child_changed(parent_path, zxid);
        let stat = Stat {
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ephemeral_owner: if mode.is_ephemeral() { session } else { 0 },
            ..Stat::default()
        };
        let data = data.clone();
        self.nodes.insert(path.clone(), Znode { data, stat });
        Ok(path)
    }

    fn delete(&mut self, zxid: Zxid, path: &str, version: Version) -> Result<(), ZkError> {
        let (_, stat) = self.read(path)?;
        let parent_path = parent(path).ok_or(ZkError::BadArguments)?;
        check_version(stat.version, version)?;
        if stat.num_children > 0 {
            return Err(ZkError::NotEmpty);
        }
        self.nodes.remove(path);
        self.child_changed(parent_path, zxid);
        Ok(())
    }

    fn set_data(
        &mut self,
        zxid: Zxid,
        path: &str,
        data: &Data,
        version: Version,
    ) -> Result<Stat, ZkError> {
        check_version(self.read(path)?.1.version, version)?;
        let node = self.nodes.get_mut(path).expect("the node exists");
        node.data = data.clone();
        node.stat.version += 1;
        node.stat.mzxid = zxid;
        Ok(self.stat(path).expect("the node exists"))
    }

    /// Applies one step of a multi at `zxid`.
    fn apply(&mut self, zxid: Zxid, op: &MultiOp, session: SessionId) -> Result<OpResult, ZkError> {
        match op {
            MultiOp::Check { path, version } => {
                check_version(self.read(path)?.1.version, *version).map(|()| OpResult::Checked)
            }
            MultiOp::Create { path, data, mode } => {
                (self.create(zxid, path, data, *mode, session)).map(OpResult::Created)
            }
            MultiOp::Delete { path, version } => {
                (self.delete(zxid, path, *version)).map(|()| OpResult::Deleted)
            }
            MultiOp::SetData {
                path,
                data,
                version,
            } => (self.set_data(zxid, path, data, *version)).map(OpResult::Set),
        }
    }

    /// Rule: the steps run in order on a copy, all at the same zxid; the copy replaces the
    /// tree only if every step succeeds. An empty multi succeeds (and takes a zxid).
    fn multi(&mut self, ops: &[MultiOp], session: SessionId) -> ZkRet {
        let zxid = self.zxid + 1;
        let mut scratch = self.clone();
        let mut results = Vec::new();
        for (index, op) in ops.iter().enumerate() {
            match scratch.apply(zxid, op, session) {
                Ok(result) => results.push(result),
                Err(error) => return ZkRet::MultiFailed { index, error },
            }
        }
        scratch.zxid = zxid;
        *self = scratch;
        ZkRet::Multi(results)
    }

    /// Rule: closing a session deletes every ephemeral node it owns, each delete bumping its
    /// parent's `cversion`, all at one zxid (taken even if the session owns nothing). The
    /// session is remembered as closed, so that a create it sent before it expired but
    /// that is applied after cannot leave an orphan ephemeral node.
    fn close_session(&mut self, zxid: Zxid, session: SessionId) -> Result<(), ZkError> {
        if session == 0 {
            return Err(ZkError::BadArguments);
        }
        let owned: Vec<Path> = (self.nodes.iter())
            .filter(|(_, node)| node.stat.ephemeral_owner == session)
            .map(|(path, _)| path.clone())
            .collect();
        for path in owned {
            let deleted = self.delete(zxid, &path, ANY_VERSION);
            assert_eq!(deleted, Ok(()), "ephemeral nodes have no children");
        }
        self.closed.insert(session);
        Ok(())
    }
}

impl stateright::semantics::SequentialSpec for ZnodeSpec {
    type Op = ZkOp;
    type Ret = ZkRet;

    fn invoke(&mut self, op: &ZkOp) -> ZkRet {
        use ZkOp::*;
        let ret = match op {
            Create {
                path,
                data,
                mode,
                session,
            } => {
                let created =
                    self.write(|tree, zxid| tree.create(zxid, path, data, *mode, *session));
                created.map(ZkRet::Created)
            }
            Delete { path, version } => {
                let deleted = self.write(|tree, zxid| tree.delete(zxid, path, *version));
                deleted.map(|()| ZkRet::Deleted)
            }
            SetData {
                path,
                data,
                version,
            } => {
                let set = self.write(|tree, zxid| tree.set_data(zxid, path, data, *version));
                set.map(ZkRet::Set)
            }
            CloseSession { session } => {
                let closed = self.write(|tree, zxid| tree.close_session(zxid, *session));
                closed.map(|()| ZkRet::SessionClosed)
            }
            Multi { ops, session } => Ok(self.multi(ops, *session)),
            Exists { path } => match self.read(path) {
                Err(ZkError::NoNode) => Ok(ZkRet::Exists(None)),
                found => found.map(|(_, stat)| ZkRet::Exists(Some(stat))),
            },
            GetData { path } => {
                let read = self.read(path);
                read.map(|(data, stat)| ZkRet::Data { data, stat })
            }
            GetChildren { path } => {
                let read = self.read(path);
                read.map(|_| ZkRet::Children(self.children(path)))
            }
        };
        ret.unwrap_or_else(ZkRet::Err)
    }
}

pub mod build;
pub mod data;

#[cfg(test)]
mod tests;
