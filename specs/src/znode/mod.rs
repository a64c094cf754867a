//! ZooKeeper's znode tree, as a sequential specification.
//!
//! The tree is a map from absolute path to node. The root `/` always exists. Every successful
//! write (create, delete, set, close-session, and a whole successful multi) takes the next
//! transaction id, `zxid`; failed writes and reads change nothing. Each node carries the
//! ZooKeeper stat: when it was created (`czxid`), last written (`mzxid`), when its child list
//! last changed (`pzxid`), its data version, its child version, and its ephemeral owner.
//!
//! Session ids are plain numbers; 0 means "no session" (the owner of a persistent node).
//!
//! The tree starts as ZooKeeper's does: the root, `/zookeeper`, and under it `quota` and
//! `config` (all empty, all stat fields 0). These system paths can be neither created nor
//! deleted (`BadArguments`, ZooKeeper's `isSpecialPath`); the root itself neither.
//!
//! Times (`ctime`, `mtime`) are not this spec's business: an operation carries none, and
//! the stats it returns have both 0. Who stamps times, and how they are checked, is the
//! replicated service's rule (see `coord::znode`); compare with [`Stat::without_times`].

pub use bytes::Bytes;
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// An absolute path such as `/a/b`; see [`validate_path`].
pub type Path = SmolStr;
/// The data stored in a node: any bytes, shared (a copy costs a reference count, not the
/// bytes), hashed and compared by content, or null. Rule (ZooKeeper's `DataNode`): a node
/// created or set with null data (a jute buffer of length -1) reads back null, apart from
/// empty data; either has length 0 (the stat's `data_length`). It derefs to its bytes (no
/// bytes for null), and reads and writes as an optional byte string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Data(Option<Bytes>);

impl Data {
    /// Null data.
    pub const NULL: Data = Data(None);

    /// Empty (not null) data.
    pub fn new() -> Data {
        Data(Some(Bytes::new()))
    }

    /// A copy of `bytes`.
    pub fn copy_from_slice(bytes: &[u8]) -> Data {
        Data(Some(Bytes::copy_from_slice(bytes)))
    }

    /// True for null data.
    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    /// The bytes, or `None` for null data.
    pub fn bytes(&self) -> Option<&Bytes> {
        self.0.as_ref()
    }
}

impl Default for Data {
    /// Empty data, as the root and the system nodes hold.
    fn default() -> Data {
        Data::new()
    }
}

impl std::ops::Deref for Data {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }
}

impl PartialEq<[u8]> for Data {
    /// Equal to data holding exactly these bytes (null data equals no bytes).
    fn eq(&self, other: &[u8]) -> bool {
        self.bytes().is_some_and(|bytes| bytes == other)
    }
}

impl From<Bytes> for Data {
    fn from(bytes: Bytes) -> Data {
        Data(Some(bytes))
    }
}

impl From<Vec<u8>> for Data {
    fn from(bytes: Vec<u8>) -> Data {
        Data(Some(bytes.into()))
    }
}

impl From<Option<Vec<u8>>> for Data {
    /// `None` is null data.
    fn from(bytes: Option<Vec<u8>>) -> Data {
        Data(bytes.map(Bytes::from))
    }
}
/// ZooKeeper's largest data (its default `jute.maxbuffer`, 0xfffff bytes): a request
/// carrying more is refused as ZooKeeper refuses it, by closing the connection.
pub const MAX_DATA: usize = 0xfffff;
/// Wall-clock milliseconds since the Unix epoch (ZooKeeper's `ctime`, `mtime`), or, in the
/// models, a logical time.
pub type Millis = i64;
/// The paths that always exist besides the root, in creation order (ZooKeeper's
/// `DataTree` constructor): they can be neither created nor deleted.
pub const SYSTEM_PATHS: [&str; 3] = ["/zookeeper", "/zookeeper/quota", "/zookeeper/config"];

/// True for the root and the [`SYSTEM_PATHS`] (ZooKeeper's `isSpecialPath`).
pub fn is_special_path(path: &str) -> bool {
    path == "/" || SYSTEM_PATHS.contains(&path)
}
/// A transaction id: the number of successful writes so far, 0 before any.
pub type Zxid = u64;
/// A client session; 0 is reserved for "no session".
pub type SessionId = u64;
/// A data or child version, as ZooKeeper's 32-bit `int`.
pub type Version = i32;
/// The expected version that matches any version (ZooKeeper's `-1`).
pub const ANY_VERSION: Version = -1;

/// Rule (ZooKeeper's `PathUtils.validatePath`): a path is `/`, or `/` followed by one or
/// more non-empty components separated by single `/`s, none of them `.` or `..`, with no
/// NUL or [`is_unprintable`] character anywhere and no trailing `/`.
pub fn validate_path(path: &str) -> bool {
    let valid_name = |name: &str| !name.is_empty() && name != "." && name != "..";
    let absolute = path.starts_with('/') && !path.contains('\0') && !path.contains(is_unprintable);
    path == "/" || (absolute && path[1..].split('/').all(valid_name))
}

/// The characters ZooKeeper's `PathUtils.validatePath` refuses besides NUL: the control
/// characters (U+0001 to U+001F, U+007F to U+009F), the private use area up to U+F8FF,
/// and U+FFF0 to U+FFFF.
pub fn is_unprintable(c: char) -> bool {
    matches!(c, '\u{1}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
}

/// Rule (ZooKeeper's `validatePath(path, isSequential)`): the path a create names is valid
/// if `path` is, or, for a sequential create, if `path` with a digit appended is (the
/// server appends the sequence number), so `/lock/` makes `/lock/0000000003`.
pub fn validate_create_path(path: &str, mode: CreateMode) -> bool {
    match mode.is_sequential() {
        true => validate_path(&format!("{path}1")),
        false => validate_path(path),
    }
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
/// A container (ZooKeeper's `createContainer`) is a persistent node here: ZooKeeper's
/// server deletes an empty container some time after its last child went; coord does not
/// (yet), which a client cannot tell from a slow ZooKeeper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    Sequential,
    EphemeralSequential,
    Container,
}

impl CreateMode {
    pub fn is_ephemeral(self) -> bool {
        matches!(self, Self::Ephemeral | Self::EphemeralSequential)
    }

    pub fn is_sequential(self) -> bool {
        matches!(self, Self::Sequential | Self::EphemeralSequential)
    }
}

/// A node's metadata: ZooKeeper's `Stat`, all eleven fields. (A field left out of a
/// recorded history reads as 0.)
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(default)]
pub struct Stat {
    /// The zxid of the write that created the node.
    pub czxid: Zxid,
    /// The zxid of the last write to the node's data (its creation, or a set).
    pub mzxid: Zxid,
    /// When the node was created: the time of the write that created it.
    pub ctime: Millis,
    /// When the data was last written: the time of the write with zxid `mzxid`.
    pub mtime: Millis,
    /// The zxid of the last create or delete of a child (the creation if none since).
    pub pzxid: Zxid,
    /// How many times the data was set.
    pub version: Version,
    /// How many children were created or deleted.
    pub cversion: Version,
    /// How many times the ACL was set.
    pub aversion: Version,
    /// The owning session of an ephemeral node; 0 for a persistent node.
    pub ephemeral_owner: SessionId,
    /// The length of the data in bytes.
    pub data_length: u32,
    /// How many children the node has now.
    pub num_children: u32,
}

impl Stat {
    /// This stat with both times 0: what the spec, which knows no times, returns.
    pub fn without_times(self) -> Stat {
        Stat {
            ctime: 0,
            mtime: 0,
            ..self
        }
    }
}

/// An entry of an access control list (ZooKeeper's `ACL`: permissions for an identity).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Acl {
    /// ZooKeeper's permission bits: read 1, write 2, create 4, delete 8, admin 16.
    pub perms: i32,
    pub scheme: SmolStr,
    pub id: SmolStr,
}

impl Acl {
    /// Every permission (ZooKeeper's `Perms.ALL`).
    pub const ALL: i32 = perms::ALL;
    /// Read only (ZooKeeper's `Perms.READ`).
    pub const READ: i32 = perms::READ;

    /// `world:anyone` with the permissions `perms`.
    pub fn anyone(perms: i32) -> Acl {
        Acl {
            perms,
            scheme: "world".into(),
            id: "anyone".into(),
        }
    }

    /// `world:anyone` with every permission (ZooKeeper's `OPEN_ACL_UNSAFE`), the ACL
    /// a create gives unless it says otherwise.
    pub fn open() -> Vec<Acl> {
        vec![Acl::anyone(Acl::ALL)]
    }

    /// Rule (ZooKeeper's `fixupACL`): an entry is valid if it is `world:anyone`, or a
    /// `digest` id of the form `user:hash` (split at `:` into exactly two parts, trailing
    /// empty parts dropped, as Java's `split`), or an `ip` address, optionally with
    /// `/bits` of mask. Any other scheme is invalid (`auth` is expanded before this is
    /// asked: see [`fixup_acl`]).
    pub fn is_valid(&self) -> bool {
        match self.scheme.as_str() {
            "world" => self.id == "anyone",
            "digest" => {
                let parts: Vec<&str> = self.id.split(':').collect();
                let kept = parts
                    .iter()
                    .rposition(|p| !p.is_empty())
                    .map_or(0, |i| i + 1);
                kept == 2
            }
            "ip" => is_valid_ip_pattern(&self.id),
            _ => false,
        }
    }
}

/// An `ip` ACL id: an IPv4 or IPv6 address, optionally `/bits` with bits at most the
/// address's length in bits (ZooKeeper's `IPAuthenticationProvider.isValid`).
fn is_valid_ip_pattern(id: &str) -> bool {
    let (address, bits) = match id.split_once('/') {
        Some((address, bits)) => (address, Some(bits)),
        None => (id, None),
    };
    let width = match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => 32,
        Ok(std::net::IpAddr::V6(_)) => 128,
        Err(_) => return false,
    };
    bits.is_none_or(|bits| bits.parse::<u32>().is_ok_and(|bits| bits <= width))
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
    /// The request came on a connection that no longer owns its session: the session has
    /// reconnected elsewhere since (ZooKeeper's `SESSIONMOVED`).
    SessionMoved,
    /// In a failed multi, the result of each step after the one that failed.
    RuntimeInconsistency,
    /// An operation this server does not implement (`createTTL`, `multiRead`, an unknown
    /// opcode), as a default ZooKeeper answers.
    Unimplemented,
    /// `reconfig`, which a default ZooKeeper refuses (`reconfigEnabled=false`).
    ReconfigDisabled,
    /// A request whose record does not decode, or carries a value outside its enum (an
    /// `addWatch` mode, a watcher type): ZooKeeper's `FinalRequestProcessor` answers it so
    /// and keeps the connection.
    MarshallingError,
    /// `removeWatches`/`checkWatches`: the connection holds no such watch.
    NoWatcher,
    /// `setAuth` with a scheme this server does not know.
    AuthFailed,
    /// Create or `setACL` with an ACL list that is empty or holds an entry no scheme here
    /// accepts (ZooKeeper's `PrepRequestProcessor.fixupACL`).
    InvalidAcl,
    /// The node's ACL does not give the caller the permission the operation needs (see
    /// [`acl::check_acl`]).
    NoAuth,
    /// Client side only: the connection was lost before the answer came, so the request
    /// may or may not have taken effect (never sent by a server).
    ConnectionLoss,
}

impl ZkError {
    /// ZooKeeper's numeric code for this error (`KeeperException.Code`), as the wire
    /// carries it.
    pub fn code(self) -> i32 {
        match self {
            ZkError::RuntimeInconsistency => -2,
            ZkError::ConnectionLoss => -4,
            ZkError::MarshallingError => -5,
            ZkError::Unimplemented => -6,
            ZkError::BadArguments => -8,
            ZkError::NoNode => -101,
            ZkError::NoAuth => -102,
            ZkError::BadVersion => -103,
            ZkError::NoChildrenForEphemerals => -108,
            ZkError::NodeExists => -110,
            ZkError::NotEmpty => -111,
            ZkError::SessionExpired => -112,
            ZkError::InvalidAcl => -114,
            ZkError::AuthFailed => -115,
            ZkError::SessionMoved => -118,
            ZkError::NoWatcher => -121,
            ZkError::ReconfigDisabled => -123,
        }
    }
}

/// ZooKeeper's per-step results of a multi whose step `index` failed with `error`, out of
/// `steps` steps: `None` (ok, code 0) for the steps before it, `error` at it, and
/// `RuntimeInconsistency` after it (ZooKeeper's `PrepRequestProcessor` and
/// `DataTree.processTxn` for a failed multi). Nothing took effect.
pub fn failed_multi_results(index: usize, error: ZkError, steps: usize) -> Vec<Option<ZkError>> {
    (0..steps)
        .map(|i| match i.cmp(&index) {
            std::cmp::Ordering::Less => None,
            std::cmp::Ordering::Equal => Some(error),
            std::cmp::Ordering::Greater => Some(ZkError::RuntimeInconsistency),
        })
        .collect()
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
        /// Absent in histories recorded before ACLs were kept: the open ACL.
        #[serde(default = "Acl::open")]
        acl: Vec<Acl>,
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

/// What one step of a successful multi returns. A create returns the stat of the new node
/// too (ZooKeeper's `create2` result; a plain `create` step shows only the path).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OpResult {
    Checked,
    Created { path: Path, stat: Stat },
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
        /// The new node's ACL (see [`fixup_acl`]); absent in histories recorded before
        /// ACLs were kept: the open ACL.
        #[serde(default = "Acl::open")]
        acl: Vec<Acl>,
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
    /// ZooKeeper's `sync`: changes nothing, but asks the leader, so that a read sent
    /// after it on the same connection sees every write committed before it.
    Sync {
        path: Path,
    },
    /// ZooKeeper's standalone `check` (3.9): succeeds, changing nothing, if `path` exists
    /// with data version `version` (or any, if `-1`). Goes through the log.
    Check {
        path: Path,
        version: Version,
    },
    /// The node's ACL and stat.
    GetAcl {
        path: Path,
    },
    /// Replace the ACL (see [`fixup_acl`]) if the ACL version is `version` (or any, if
    /// `-1`); the ACL version goes up by one.
    SetAcl {
        path: Path,
        #[serde(default = "Acl::open")]
        acl: Vec<Acl>,
        version: Version,
    },
    /// The paths of the ephemeral nodes `session` owns that start with `prefix` (all of
    /// them for `/`), sorted.
    GetEphemerals {
        prefix: Path,
        session: SessionId,
    },
    /// How many nodes are below `path` (its descendants, not itself).
    GetAllChildrenNumber {
        path: Path,
    },
    /// `op` done by a caller with the identities `ids` (see [`acl::Identity`]). An
    /// operation not wrapped so is done by a caller who is only `world:anyone`. A server
    /// wraps each operation of a connection with the connection's identities, so that
    /// they travel with a write into the log (as ZooKeeper's `Request.authInfo`).
    As {
        ids: Vec<Identity>,
        op: Box<ZkOp>,
    },
}

/// What an operation returns. Where ZooKeeper has two forms of an answer (`create` and
/// `create2`, `getChildren` and `getChildren2`), this is the fuller one; the front door
/// sends the part its client's opcode asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkRet {
    /// The path actually created (with any sequence suffix) and the new node's stat.
    Created {
        path: Path,
        stat: Stat,
    },
    Deleted,
    /// The node's stat, or `None` if there is no such node.
    Exists(Option<Stat>),
    Data {
        data: Data,
        stat: Stat,
    },
    /// The node's stat after a successful set.
    Set(Stat),
    /// The children's names (not paths), sorted, and the parent's stat.
    Children {
        names: Vec<SmolStr>,
        stat: Stat,
    },
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
    /// `sync` is done: the path it named.
    Synced(Path),
    /// A standalone `check` succeeded: the node's stat.
    Checked(Stat),
    /// The node's ACL and stat.
    Acl {
        acl: Vec<Acl>,
        stat: Stat,
    },
    /// The ACL version was set: the node's new stat.
    AclSet(Stat),
    /// The session's ephemeral nodes under the prefix, sorted.
    Ephemerals(Vec<Path>),
    /// The number of nodes below a path.
    Count(u32),
    /// A request about the connection rather than the tree succeeded with nothing to say
    /// (`addWatch`, `setWatches`, `removeWatches`, `checkWatches`, `setAuth`).
    Done,
    /// `whoAmI`: each identity of the connection as (scheme, user).
    WhoAmI(Vec<(SmolStr, SmolStr)>),
    Err(ZkError),
}

impl ZkRet {
    /// This result with every stat in it replaced by `f` of it (to compare results
    /// without the fields a judge ignores: zxids, times).
    pub fn map_stats(&self, f: impl Fn(Stat) -> Stat) -> ZkRet {
        let step = |r: &OpResult| match r {
            OpResult::Created { path, stat } => OpResult::Created {
                path: path.clone(),
                stat: f(*stat),
            },
            OpResult::Set(stat) => OpResult::Set(f(*stat)),
            other => other.clone(),
        };
        match self {
            ZkRet::Created { path, stat } => ZkRet::Created {
                path: path.clone(),
                stat: f(*stat),
            },
            ZkRet::Exists(stat) => ZkRet::Exists(stat.map(&f)),
            ZkRet::Data { data, stat } => ZkRet::Data {
                data: data.clone(),
                stat: f(*stat),
            },
            ZkRet::Set(stat) => ZkRet::Set(f(*stat)),
            ZkRet::Children { names, stat } => ZkRet::Children {
                names: names.clone(),
                stat: f(*stat),
            },
            ZkRet::Multi(results) => ZkRet::Multi(results.iter().map(step).collect()),
            ZkRet::Checked(stat) => ZkRet::Checked(f(*stat)),
            ZkRet::Acl { acl, stat } => ZkRet::Acl {
                acl: acl.clone(),
                stat: f(*stat),
            },
            ZkRet::AclSet(stat) => ZkRet::AclSet(f(*stat)),
            other => other.clone(),
        }
    }
}

impl ZkOp {
    /// True for operations that never change the tree and are answered by the server a
    /// client is connected to, from its own tree (`sync` and `check` change nothing either
    /// but go to the leader, so they are not reads).
    pub fn is_read(&self) -> bool {
        use ZkOp::*;
        matches!(
            self.caller().1,
            Exists { .. }
                | GetData { .. }
                | GetChildren { .. }
                | GetAcl { .. }
                | GetEphemerals { .. }
                | GetAllChildrenNumber { .. }
        )
    }

    /// The session this operation acts for, if it names one (ephemeral creates, closes,
    /// `getEphemerals`).
    pub fn session(&self) -> Option<SessionId> {
        match self.caller().1 {
            ZkOp::Create { session, .. }
            | ZkOp::Multi { session, .. }
            | ZkOp::CloseSession { session }
            | ZkOp::GetEphemerals { session, .. } => Some(*session),
            _ => None,
        }
    }

    /// This operation acting for `session` (see [`ZkOp::session`]): a server sets the
    /// session of its connection, whatever the client wrote.
    pub fn for_session(mut self, owner: SessionId) -> ZkOp {
        self.set_session(owner);
        self
    }

    fn set_session(&mut self, owner: SessionId) {
        match self {
            ZkOp::As { op, .. } => op.set_session(owner),
            ZkOp::Create { session, .. }
            | ZkOp::Multi { session, .. }
            | ZkOp::CloseSession { session }
            | ZkOp::GetEphemerals { session, .. } => *session = owner,
            _ => {}
        }
    }

    /// The identities of the caller (none besides `world:anyone` unless wrapped in
    /// [`ZkOp::As`]) and the operation itself.
    pub fn caller(&self) -> (&[Identity], &ZkOp) {
        match self {
            ZkOp::As { ids, op } => (ids, op.caller().1),
            op => (&[], op),
        }
    }

    /// This operation done by a caller with the identities `ids`, whatever identities it
    /// claimed before (a server trusts only its connection's).
    pub fn by(self, ids: Vec<Identity>) -> ZkOp {
        let op = match self {
            ZkOp::As { op, .. } => *op,
            op => op,
        };
        ZkOp::As {
            ids,
            op: Box::new(op),
        }
    }

    /// The data this operation writes, summed over a multi's steps (ZooKeeper bounds a
    /// request's size, of which the data is nearly all: see [`MAX_DATA`]).
    pub fn data_len(&self) -> usize {
        let step = |op: &MultiOp| match op {
            MultiOp::Create { data, .. } | MultiOp::SetData { data, .. } => data.len(),
            MultiOp::Check { .. } | MultiOp::Delete { .. } => 0,
        };
        match self.caller().1 {
            ZkOp::Create { data, .. } | ZkOp::SetData { data, .. } => data.len(),
            ZkOp::Multi { ops, .. } => ops.iter().map(step).sum(),
            _ => 0,
        }
    }
}

impl fmt::Display for CreateMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CreateMode::Persistent => "persistent",
            CreateMode::Ephemeral => "ephemeral",
            CreateMode::Sequential => "sequential",
            CreateMode::EphemeralSequential => "ephemeral-sequential",
            CreateMode::Container => "container",
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
        if (s.ctime, s.mtime) != (0, 0) {
            write!(f, "ctime {} mtime {} ", s.ctime, s.mtime)?;
        }
        write!(f, "version {} cversion {} ", s.version, s.cversion)?;
        if s.aversion != 0 {
            write!(f, "aversion {} ", s.aversion)?;
        }
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
            MultiOp::Create {
                path,
                data,
                mode,
                acl,
            } => write!(
                f,
                "create({path}, {}, {mode}{})",
                Shown(data),
                ShownAcl(acl)
            ),
            MultiOp::Delete { path, version } => write!(f, "delete({path}, version {version})"),
            MultiOp::SetData {
                path,
                data,
                version: v,
            } => write!(f, "set({path}, {}, version {v})", Shown(data)),
        }
    }
}

impl fmt::Display for OpResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpResult::Checked => write!(f, "checked"),
            OpResult::Created { path, .. } => write!(f, "created {path}"),
            OpResult::Deleted => write!(f, "deleted"),
            OpResult::Set(stat) => write!(f, "set {stat}"),
        }
    }
}

/// Data as a quoted string if it is text, as bytes otherwise, `null` if null.
pub struct Shown<'a>(pub &'a Data);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(bytes) = self.0.bytes() else {
            return f.write_str("null");
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => write!(f, "{text:?}"),
            Err(_) => write!(f, "{bytes:?}"),
        }
    }
}

/// An ACL as `[scheme:id:perms, ...]`.
struct AclList<'a>(&'a [Acl]);

impl fmt::Display for AclList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let acl: Vec<String> = (self.0.iter())
            .map(|a| format!("{}:{}:{}", a.scheme, a.id, a.perms))
            .collect();
        write!(f, "[{}]", acl.join(", "))
    }
}

/// An operation's ACL as `, acl [...]`, or nothing for the open ACL (so that the traces
/// of clients that never set one read as before).
struct ShownAcl<'a>(&'a [Acl]);

impl fmt::Display for ShownAcl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 == Acl::open().as_slice() {
            true => Ok(()),
            false => write!(f, ", acl {}", AclList(self.0)),
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
                acl,
                session: s,
            } => write!(
                f,
                "create({path}, {}, {mode}{}, session {s})",
                Shown(data),
                ShownAcl(acl)
            ),
            ZkOp::Delete { path, version } => write!(f, "delete({path}, version {version})"),
            ZkOp::Exists { path } => write!(f, "exists({path})"),
            ZkOp::GetData { path } => write!(f, "get({path})"),
            ZkOp::SetData {
                path,
                data,
                version: v,
            } => write!(f, "set({path}, {}, version {v})", Shown(data)),
            ZkOp::GetChildren { path } => write!(f, "children({path})"),
            ZkOp::Multi { ops, session } => {
                write!(f, "multi(session {session}, ")?;
                write_list(f, ops)?;
                write!(f, ")")
            }
            ZkOp::CloseSession { session } => write!(f, "close(session {session})"),
            ZkOp::Sync { path } => write!(f, "sync({path})"),
            ZkOp::Check { path, version } => write!(f, "check({path}, version {version})"),
            ZkOp::GetAcl { path } => write!(f, "get-acl({path})"),
            ZkOp::SetAcl { path, acl, version } => {
                let acl = ShownAcl(acl);
                write!(f, "set-acl({path}{acl}, version {version})")
            }
            ZkOp::GetEphemerals { prefix, session } => {
                write!(f, "ephemerals({prefix}, session {session})")
            }
            ZkOp::GetAllChildrenNumber { path } => write!(f, "count({path})"),
            ZkOp::As { ids, op } => {
                let ids: Vec<String> = ids.iter().map(|(s, id)| format!("{s}:{id}")).collect();
                write!(f, "{op} as [{}]", ids.join(", "))
            }
        }
    }
}

impl fmt::Display for ZkRet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZkRet::Created { path, .. } => write!(f, "created {path}"),
            ZkRet::Deleted => write!(f, "deleted"),
            ZkRet::Exists(None) => write!(f, "absent"),
            ZkRet::Exists(Some(stat)) => write!(f, "exists {stat}"),
            ZkRet::Data { data, stat } => write!(f, "{} {stat}", Shown(data)),
            ZkRet::Set(stat) => write!(f, "set {stat}"),
            ZkRet::Children { names, .. } => write_list(f, names),
            ZkRet::Multi(results) => write_list(f, results),
            ZkRet::MultiFailed { index, error } => {
                write!(f, "multi failed at step {index}: {error}")
            }
            ZkRet::SessionClosed => write!(f, "session closed"),
            ZkRet::Synced(path) => write!(f, "synced {path}"),
            ZkRet::Checked(stat) => write!(f, "checked {stat}"),
            ZkRet::Acl { acl, stat } => write!(f, "acl {} {stat}", AclList(acl)),
            ZkRet::AclSet(stat) => write!(f, "acl set {stat}"),
            ZkRet::Ephemerals(paths) => write_list(f, paths),
            ZkRet::Count(n) => write!(f, "{n} nodes"),
            ZkRet::Done => write!(f, "done"),
            ZkRet::WhoAmI(ids) => {
                let ids: Vec<String> = ids.iter().map(|(s, u)| format!("{s}:{u}")).collect();
                write!(f, "[{}]", ids.join(", "))
            }
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
    acl: Vec<Acl>,
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
    /// The root and the [`SYSTEM_PATHS`], with empty data and all-zero stats, at zxid 0.
    fn default() -> Self {
        let paths = std::iter::once("/").chain(SYSTEM_PATHS);
        ZnodeSpec {
            zxid: 0,
            nodes: (paths.map(|p| {
                let acl = system_acl(p);
                (
                    Path::new(p),
                    Znode {
                        acl,
                        ..Znode::default()
                    },
                )
            }))
            .collect(),
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

    /// [`ZnodeSpec::read`], then: the node's ACL gives a caller with `ids` the permission
    /// `perm` (`NoAuth`; see [`acl::check_acl`]).
    fn read_as(&self, path: &str, perm: i32, ids: &[Identity]) -> Result<(Data, Stat), ZkError> {
        let read = self.read(path)?;
        acl::check_acl(&self.nodes[path].acl, perm, ids)?;
        Ok(read)
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

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        zxid: Zxid,
        path: &str,
        data: &Data,
        mode: CreateMode,
        acl: &[Acl],
        (session, ids): (SessionId, &[Identity]),
    ) -> Result<Path, ZkError> {
        if !validate_create_path(path, mode)
            || is_special_path(path)
            || (mode.is_ephemeral() && session == 0)
        {
            return Err(ZkError::BadArguments);
        }
        let parent_path = parent(path).ok_or(ZkError::BadArguments)?;
        if mode.is_ephemeral() && self.closed.contains(&session) {
            return Err(ZkError::SessionExpired);
        }
        let acl = fixup_acl(acl, ids)?;
        let parent_node = self.nodes.get(parent_path).ok_or(ZkError::NoNode)?;
        acl::check_acl(&parent_node.acl, perms::CREATE, ids)?;
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
        self.nodes.insert(path.clone(), Znode { data, stat, acl });
        Ok(path)
    }

    /// Rule (ZooKeeper's `PrepRequestProcessor`, delete): before the node is looked at,
    /// its parent must exist (`NoNode`) and give the caller DELETE (`NoAuth`); then
    /// [`ZnodeSpec::delete`].
    fn delete_as(
        &mut self,
        zxid: Zxid,
        path: &str,
        version: Version,
        ids: &[Identity],
    ) -> Result<(), ZkError> {
        if !validate_path(path) {
            return Err(ZkError::BadArguments);
        }
        if let Some(parent_path) = parent(path) {
            let parent_node = self.nodes.get(parent_path).ok_or(ZkError::NoNode)?;
            acl::check_acl(&parent_node.acl, perms::DELETE, ids)?;
        }
        self.delete(zxid, path, version)
    }

    fn delete(&mut self, zxid: Zxid, path: &str, version: Version) -> Result<(), ZkError> {
        let (_, stat) = self.read(path)?;
        if is_special_path(path) {
            return Err(ZkError::BadArguments);
        }
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
        (version, ids): (Version, &[Identity]),
    ) -> Result<Stat, ZkError> {
        let (_, stat) = self.read_as(path, perms::WRITE, ids)?;
        check_version(stat.version, version)?;
        let node = self.nodes.get_mut(path).expect("the node exists");
        node.data = data.clone();
        node.stat.version += 1;
        node.stat.mzxid = zxid;
        Ok(self.stat(path).expect("the node exists"))
    }

    /// Applies one step of a multi at `zxid`.
    fn apply(
        &mut self,
        zxid: Zxid,
        op: &MultiOp,
        (session, ids): (SessionId, &[Identity]),
    ) -> Result<OpResult, ZkError> {
        match op {
            MultiOp::Check { path, version } => {
                let (_, stat) = self.read_as(path, perms::READ, ids)?;
                check_version(stat.version, *version).map(|()| OpResult::Checked)
            }
            MultiOp::Create {
                path,
                data,
                mode,
                acl,
            } => {
                let path = self.create(zxid, path, data, *mode, acl, (session, ids))?;
                let stat = self.stat(&path).expect("just created");
                Ok(OpResult::Created { path, stat })
            }
            MultiOp::Delete { path, version } => {
                (self.delete_as(zxid, path, *version, ids)).map(|()| OpResult::Deleted)
            }
            MultiOp::SetData {
                path,
                data,
                version,
            } => (self.set_data(zxid, path, data, (*version, ids))).map(OpResult::Set),
        }
    }

    /// Rule: the steps run in order on a copy, all at the same zxid; the copy replaces the
    /// tree only if every step succeeds. An empty multi succeeds (and takes a zxid).
    fn multi(&mut self, ops: &[MultiOp], caller: (SessionId, &[Identity])) -> ZkRet {
        let zxid = self.zxid + 1;
        let mut scratch = self.clone();
        let mut results = Vec::new();
        for (index, op) in ops.iter().enumerate() {
            match scratch.apply(zxid, op, caller) {
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

/// The ACL of the root and the [`SYSTEM_PATHS`], as ZooKeeper sets them: `world:anyone`
/// with every permission, read only for `/zookeeper/config`.
pub fn system_acl(path: &str) -> Vec<Acl> {
    match path == SYSTEM_PATHS[2] {
        true => vec![Acl::anyone(Acl::READ)],
        false => Acl::open(),
    }
}

/// True if `path` is `ancestor` or below it.
fn is_below(path: &str, ancestor: &str) -> bool {
    ancestor == "/" || path == ancestor || path.starts_with(&format!("{ancestor}/"))
}

impl ZnodeSpec {
    /// Rule (ZooKeeper `setACL`), checked in this order: a valid path (`BadArguments`), a
    /// valid ACL (`InvalidAcl`, see [`fixup_acl`]), an existing node (`NoNode`) that gives
    /// the caller ADMIN (`NoAuth`) with the expected ACL version (`BadVersion`). The ACL
    /// is replaced and its version goes up by one. Takes a zxid, as every successful
    /// write; `mzxid` stays.
    fn set_acl(
        &mut self,
        path: &str,
        acl: &[Acl],
        (version, ids): (Version, &[Identity]),
    ) -> Result<ZkRet, ZkError> {
        if !validate_path(path) {
            return Err(ZkError::BadArguments);
        }
        let acl = fixup_acl(acl, ids)?;
        let (_, stat) = self.read_as(path, perms::ADMIN, ids)?;
        check_version(stat.aversion, version)?;
        let node = self.nodes.get_mut(path).expect("the node exists");
        node.stat.aversion += 1;
        node.acl = acl;
        Ok(ZkRet::AclSet(self.stat(path).expect("the node exists")))
    }
}

impl stateright::semantics::SequentialSpec for ZnodeSpec {
    type Op = ZkOp;
    type Ret = ZkRet;

    /// Rules (ZooKeeper 3.8's `PrepRequestProcessor` for writes, `FinalRequestProcessor`
    /// for reads; see [`acl::check_acl`]): create needs CREATE on the parent, delete
    /// DELETE on the parent, setData WRITE, setACL ADMIN, check (alone or in a multi)
    /// READ, each step of a multi what its operation needs; getData, getChildren,
    /// getAllChildrenNumber and (as from 3.8.4) exists of an existing node need READ;
    /// getACL needs READ or ADMIN; sync, getEphemerals and closeSession need nothing.
    fn invoke(&mut self, op: &ZkOp) -> ZkRet {
        use ZkOp::*;
        let (ids, op) = op.caller();
        let ret = match op {
            Create {
                path,
                data,
                mode,
                acl,
                session,
            } => {
                let caller = (*session, ids);
                let created =
                    self.write(|tree, zxid| tree.create(zxid, path, data, *mode, acl, caller));
                created.map(|path| {
                    let stat = self.stat(&path).expect("just created");
                    ZkRet::Created { path, stat }
                })
            }
            Delete { path, version } => {
                let deleted = self.write(|tree, zxid| tree.delete_as(zxid, path, *version, ids));
                deleted.map(|()| ZkRet::Deleted)
            }
            SetData {
                path,
                data,
                version,
            } => {
                let set = self.write(|tree, zxid| tree.set_data(zxid, path, data, (*version, ids)));
                set.map(ZkRet::Set)
            }
            CloseSession { session } => {
                let closed = self.write(|tree, zxid| tree.close_session(zxid, *session));
                closed.map(|()| ZkRet::SessionClosed)
            }
            Multi { ops, session } => Ok(self.multi(ops, (*session, ids))),
            Exists { path } => match self.read_as(path, perms::READ, ids) {
                Err(ZkError::NoNode) => Ok(ZkRet::Exists(None)),
                found => found.map(|(_, stat)| ZkRet::Exists(Some(stat))),
            },
            GetData { path } => {
                let read = self.read_as(path, perms::READ, ids);
                read.map(|(data, stat)| ZkRet::Data { data, stat })
            }
            GetChildren { path } => {
                let read = self.read_as(path, perms::READ, ids);
                read.map(|(_, stat)| ZkRet::Children {
                    names: self.children(path),
                    stat,
                })
            }
            Sync { path } => Ok(ZkRet::Synced(path.clone())),
            Check { path, version } => self
                .read_as(path, perms::READ, ids)
                .and_then(|(_, stat)| check_version(stat.version, *version).map(|()| stat))
                .map(ZkRet::Checked),
            GetAcl { path } => {
                self.read_as(path, perms::READ | perms::ADMIN, ids)
                    .map(|(_, stat)| {
                        let acl = &self.nodes[path].acl;
                        let acl = match acl::check_acl(acl, perms::ADMIN, ids) {
                            Ok(()) => acl.clone(),
                            Err(_) => acl::redact(acl),
                        };
                        ZkRet::Acl { acl, stat }
                    })
            }
            SetAcl { path, acl, version } => {
                self.write(|tree, _| tree.set_acl(path, acl, (*version, ids)))
            }
            GetEphemerals { prefix, session } => Ok(ZkRet::Ephemerals(
                (self.nodes.iter())
                    .filter(|(_, n)| n.stat.ephemeral_owner == *session && *session != 0)
                    .filter(|(p, _)| prefix == "/" || p.starts_with(prefix.as_str()))
                    .map(|(p, _)| p.clone())
                    .collect(),
            )),
            GetAllChildrenNumber { path } => self.read_as(path, perms::READ, ids).map(|_| {
                let below = |p: &&Path| p.as_str() != path && is_below(p, path);
                ZkRet::Count(self.nodes.keys().filter(below).count() as u32)
            }),
            As { .. } => unreachable!("caller() unwraps every As"),
        };
        ret.unwrap_or_else(ZkRet::Err)
    }
}

pub mod acl;
pub mod build;
pub mod data;
pub use acl::{fixup_acl, perms, Identity};

#[cfg(test)]
mod tests;
