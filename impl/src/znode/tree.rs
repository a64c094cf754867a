//! The tree and its operations: reads, the writes, multi, and the session table.

use super::conn::Once;
use super::node::Znode;
use super::path::{child_path, join, parse, Name};
use super::txn::{Outcome, SessionEntry, Txn, TxnKind};
use super::{Change, ZkBug};
use coord_specs::znode::acl::{check_acl, redact};
use coord_specs::znode::{
    fixup_acl, is_special_path, perms, system_acl, Acl, CreateMode, Data, Identity, Millis,
    MultiOp, OpResult, Path, SessionId, Stat, Version, ZkError, ZkOp, ZkRet, Zxid, ANY_VERSION,
    SYSTEM_PATHS,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use ZkError::{
    BadArguments, BadVersion, NoChildrenForEphemerals, NoNode, NodeExists, NotEmpty, SessionExpired,
};

/// Who does a write: the identities it carries (see [`ZkOp::As`]), and, with
/// [`ZkBug::AclCheckedOnArrival`], that its permission was decided when it arrived, so
/// that applying it checks none.
#[derive(Clone, Copy)]
struct Caller<'a> {
    ids: &'a [Identity],
    checked: bool,
}

impl Caller<'_> {
    /// Rule: a write is applied only if `acl` gives its caller `perm` (see `check_acl`).
    fn may(&self, acl: &[Acl], perm: i32) -> Result<(), ZkError> {
        match self.checked {
            true => Ok(()),
            false => check_acl(acl, perm, self.ids),
        }
    }
}

/// The znode tree that Raft replicates: the root `/` and the system nodes under
/// `/zookeeper` (which always exist), the zxid of the last successful write (0 before
/// any), and the session table.
///
/// Rule: every write that succeeds (create, delete, set, set-ACL, close-session, and a
/// whole multi) takes the next zxid; a write that fails, every read, and the session
/// table's own changes (a session opened or resumed) take none.
///
/// Rule: a closed session stays closed. Its expiry may be committed while one of its
/// creates is still on its way to the leader; that create must fail (`SessionExpired`)
/// rather than leave an ephemeral node nobody will ever delete.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ZnodeTree {
    zxid: Zxid,
    root: Znode,
    /// Every session opened or closed, by id (ZooKeeper's session table, which every
    /// server knows).
    sessions: im::OrdMap<SessionId, SessionEntry>,
    /// How many sessions the tree has opened (the next id is found from it).
    opened: u64,
    /// A deliberate mistake in the state machine, `None` when correct (see [`ZkBug`]).
    bug: Option<ZkBug>,
}

impl Default for ZnodeTree {
    /// The root and ZooKeeper's system nodes (`/zookeeper`, `/zookeeper/quota`,
    /// `/zookeeper/config`), empty, every stat field 0, with ZooKeeper's ACLs for them,
    /// at zxid 0.
    fn default() -> Self {
        let system = |path| Znode {
            acl: system_acl(path),
            ..Znode::default()
        };
        let mut root = system("/");
        for path in SYSTEM_PATHS {
            let names = parse(path).expect("a valid path");
            let (name, parent) = names.split_last().expect("not the root");
            let parent = root.descendant_mut(parent).expect("created before");
            parent.children.insert(Name::from(*name), system(path));
        }
        ZnodeTree {
            zxid: 0,
            root,
            sessions: im::OrdMap::new(),
            opened: 0,
            bug: None,
        }
    }
}

/// Rule: the expected version `-1` matches any version; any other must equal the node's.
fn check_version(actual: Version, expected: Version) -> Result<(), ZkError> {
    if expected == ANY_VERSION || expected == actual {
        Ok(())
    } else {
        Err(BadVersion)
    }
}

/// The parent's names and the new node's name (for a sequential create, the part before
/// its sequence number, possibly empty) of a create of `path` in `mode`.
///
/// Rule (ZooKeeper's `validatePath(path, isSequential)`): `path` must be valid as it is,
/// or, for a sequential create, with a digit appended (the number the server appends), so
/// a sequential `/lock/` is valid and names `/lock/0000000003`. Otherwise `BadArguments`.
fn create_target(path: &str, mode: CreateMode) -> Result<(Vec<&str>, &str), ZkError> {
    let (parent, name) = path.rsplit_once('/').ok_or(BadArguments)?;
    let probe = match mode.is_sequential() {
        true => format!("{path}1"),
        false => path.to_string(),
    };
    if parse(&probe)?.is_empty() {
        return Err(BadArguments);
    }
    // The probe is valid, so is its parent: the root (`""`) or a path.
    let parent_names = if parent.is_empty() {
        Vec::new()
    } else {
        parse(parent)?
    };
    Ok((parent_names, name))
}

impl ZnodeTree {
    /// An empty tree whose writes make the deliberate mistake `bug` (see [`ZkBug`]).
    pub fn with_bug(bug: Option<ZkBug>) -> Self {
        ZnodeTree {
            bug,
            ..ZnodeTree::default()
        }
    }

    /// This tree with `sessions` open from the start, each with timeout `timeout_ms` (see
    /// `SessionRules::genesis`).
    pub fn with_sessions(mut self, sessions: &[SessionId], timeout_ms: u32) -> Self {
        for &session in sessions {
            let entry = SessionEntry {
                timeout_ms,
                results: im::OrdMap::new(),
                closed: false,
            };
            self.sessions.insert(session, entry);
        }
        self
    }

    /// True if `session` has been closed (its expiry committed).
    pub fn is_closed(&self, session: SessionId) -> bool {
        self.sessions.get(&session).is_some_and(|s| s.closed)
    }

    /// The sessions open now, with their entries (a leader tracks each of them).
    pub fn open_sessions(&self) -> impl Iterator<Item = (SessionId, &SessionEntry)> {
        (self.sessions.iter())
            .filter(|(_, s)| !s.closed)
            .map(|(id, s)| (*id, s))
    }

    /// The entry of `session`, open or closed.
    pub fn session(&self, session: SessionId) -> Option<&SessionEntry> {
        self.sessions.get(&session)
    }

    /// The zxid of the last successful write.
    pub fn zxid(&self) -> Zxid {
        self.zxid
    }

    /// The stat of the node at `path`; `None` if the path is invalid or there is no node.
    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.node(path).ok().map(Znode::stat)
    }

    /// ZooKeeper's `approximateDataSize` (mntr's `zk_approximate_data_size`): the length
    /// of every node's path (the root's is empty, as ZooKeeper keys it) plus the length
    /// of its data, summed over the tree.
    pub fn approximate_data_size(&self) -> u64 {
        fn size(node: &Znode, path_len: u64) -> u64 {
            let children = (node.children.iter())
                .map(|(name, child)| size(child, path_len + 1 + name.len() as u64));
            path_len + node.data.len() as u64 + children.sum::<u64>()
        }
        size(&self.root, 0)
    }

    /// The paths of the ephemeral nodes `session` owns, sorted (none for session 0).
    pub fn ephemerals(&self, session: SessionId) -> Vec<Path> {
        self.owned_by(session)
            .iter()
            .map(|names| join(names))
            .collect()
    }

    /// Every session that owns an ephemeral node (ZooKeeper's session tracker learns of
    /// them from the tree it loads: see `ZkServer`'s election rule).
    pub fn ephemeral_owners(&self) -> BTreeSet<SessionId> {
        let mut owners = BTreeSet::new();
        self.root.collect_owners(&mut owners);
        owners
    }

    /// The names of every node `session` owns; session 0 owns no ephemeral node.
    fn owned_by(&self, session: SessionId) -> Vec<Vec<Name>> {
        let mut owned = Vec::new();
        if session != 0 {
            self.root
                .collect_owned(session, &mut Vec::new(), &mut owned);
        }
        owned
    }

    /// The node at `path`: `BadArguments` for an invalid path, `NoNode` if there is none.
    fn node(&self, path: &str) -> Result<&Znode, ZkError> {
        self.root.descendant(&parse(path)?).ok_or(NoNode)
    }

    /// The node at `path` if its ACL gives a caller with `ids` the permission `perm`:
    /// [`ZnodeTree::node`]'s errors first, then `NoAuth` (see `check_acl`).
    fn node_for(&self, path: &str, perm: i32, ids: &[Identity]) -> Result<&Znode, ZkError> {
        let node = self.node(path)?;
        check_acl(&node.acl, perm, ids)?;
        Ok(node)
    }

    /// The answer `op` gets if this tree, checking permissions, refuses it now for want
    /// of one (`NoAuth`, alone or at a step of a multi); `None` otherwise. Only
    /// [`ZkBug::AclCheckedOnArrival`] asks this, of a write that has not been ordered.
    pub fn refuses(&self, op: &ZkOp) -> Option<ZkRet> {
        let mut preview = ZnodeTree {
            bug: None,
            ..self.clone()
        };
        let (ret, _) = preview.apply_op(op, 0);
        let refused = matches!(
            ret,
            ZkRet::Err(ZkError::NoAuth)
                | ZkRet::MultiFailed {
                    error: ZkError::NoAuth,
                    ..
                }
        );
        refused.then_some(ret)
    }

    /// How many nodes the tree holds, the root and the system nodes included (whatever
    /// their ACLs: the server's own count, as `mntr` shows it).
    pub fn node_count(&self) -> u64 {
        u64::from(self.root.descendants()) + 1
    }

    /// The answer to a read (exists, get data, get children); `None` for a write.
    /// Rule: `exists` reports a missing node as `Exists(None)`, the other reads as `NoNode`.
    /// Rule (ZooKeeper 3.8's `FinalRequestProcessor`): getData, getChildren,
    /// getAllChildrenNumber and (as from 3.8.4) exists of an existing node need READ on
    /// it; getACL needs READ or ADMIN, and without ADMIN shows `digest` ids as `user:x`;
    /// getEphemerals needs nothing.
    pub fn answer_read(&self, op: &ZkOp) -> Option<ZkRet> {
        let (ids, op) = op.caller();
        let read = |path: &str| self.node_for(path, perms::READ, ids);
        let ret = match op {
            ZkOp::Exists { path } => match read(path) {
                Err(NoNode) => Ok(ZkRet::Exists(None)),
                found => found.map(|node| ZkRet::Exists(Some(node.stat()))),
            },
            ZkOp::GetData { path } => read(path).map(|node| ZkRet::Data {
                data: node.data.clone(),
                stat: node.stat(),
            }),
            ZkOp::GetChildren { path } => read(path).map(|node| ZkRet::Children {
                names: node.children.keys().cloned().collect(),
                stat: node.stat(),
            }),
            ZkOp::GetAcl { path } => {
                let node = self.node_for(path, perms::READ | perms::ADMIN, ids);
                node.map(|node| ZkRet::Acl {
                    acl: match check_acl(&node.acl, perms::ADMIN, ids) {
                        Ok(()) => node.acl.clone(),
                        Err(_) => redact(&node.acl),
                    },
                    stat: node.stat(),
                })
            }
            ZkOp::GetEphemerals { prefix, session } => {
                let mine = self.ephemerals(*session).into_iter();
                let under = |p: &Path| prefix == "/" || p.starts_with(prefix.as_str());
                Ok(ZkRet::Ephemerals(mine.filter(under).collect()))
            }
            ZkOp::GetAllChildrenNumber { path } => {
                read(path).map(|node| ZkRet::Count(node.descendants()))
            }
            _ => return None,
        };
        Some(ret.unwrap_or_else(ZkRet::Err))
    }

    /// Applies one transaction of the log (see [`TxnKind`]); returns its outcome and, for
    /// a successful write, every change in the order it happened. A request of a closed
    /// session is applied by the tree's own rules (an ephemeral create fails
    /// `SessionExpired`): the leader refuses requests of sessions that moved away from
    /// their connection before they reach the log.
    pub fn apply_txn(&mut self, txn: &Txn) -> (Outcome, Vec<Change>) {
        match &txn.kind {
            TxnKind::CreateSession { timeout_ms, .. } => {
                let session = self.new_session_id();
                let entry = SessionEntry {
                    timeout_ms: *timeout_ms,
                    results: im::OrdMap::new(),
                    closed: false,
                };
                self.sessions.insert(session, entry);
                self.opened += 1;
                (Outcome::Session(session), Vec::new())
            }
            TxnKind::Request { op, seat, once, .. } => {
                self.apply_request(op, seat.session, *once, txn.time)
            }
            TxnKind::Expire { session } => {
                let close = ZkOp::CloseSession { session: *session };
                let (ret, changes) = self.apply_op(&close, txn.time);
                (Outcome::Ret(ret), changes)
            }
        }
    }

    /// A request: applied, unless its exactly-once key says it was applied already (then
    /// its first result is the answer).
    fn apply_request(
        &mut self,
        op: &ZkOp,
        session: SessionId,
        once: Option<Once>,
        time: Millis,
    ) -> (Outcome, Vec<Change>) {
        let cached = match (self.sessions.get_mut(&session), once) {
            (Some(entry), Some(once)) => {
                let (_, at, above) = entry.results.split_lookup(&once.floor);
                entry.results = above;
                if let Some(ret) = at {
                    entry.results.insert(once.floor, ret);
                }
                entry.results.get(&once.id).cloned()
            }
            _ => None,
        };
        if let Some(ret) = cached {
            return (Outcome::Ret(ret), Vec::new());
        }
        let (ret, changes) = self.apply_op(op, time);
        if let (Some(entry), Some(once)) = (self.sessions.get_mut(&session), once) {
            entry.results.insert(once.id, ret.clone());
        }
        (Outcome::Ret(ret), changes)
    }

    /// The smallest session id above the sessions opened so far that the table does not
    /// hold (a session it learned of only by its close keeps its id).
    fn new_session_id(&self) -> SessionId {
        let mut id = self.opened + 1;
        while self.sessions.contains_key(&id) {
            id += 1;
        }
        id
    }

    /// Applies `op` at `time`; returns what the client sees and, for a successful write,
    /// every change in the order it happened (see [`Change`]). Reads and failed writes
    /// change nothing. A write's permission is checked here, as it is applied, against
    /// the tree as of its place in the log, with the identities it carries (see
    /// [`ZkOp::As`]): ZooKeeper's leader checks it likewise in its `PrepRequestProcessor`,
    /// in order, against the changes before it.
    pub fn apply_op(&mut self, op: &ZkOp, time: Millis) -> (ZkRet, Vec<Change>) {
        if let Some(ret) = self.answer_read(op) {
            return (ret, Vec::new());
        }
        let (ids, op) = op.caller();
        let ids = Caller {
            ids,
            checked: self.bug == Some(ZkBug::AclCheckedOnArrival),
        };
        let zxid = self.zxid + 1;
        let mut changes = Vec::new();
        let out = &mut changes;
        let ret = match op {
            ZkOp::Create {
                path,
                data,
                mode,
                acl,
                session,
            } => (self.create(zxid, time, (path, data, acl), *mode, (*session, ids), out)).map(
                |path| {
                    let stat = self.stat(&path).expect("just created");
                    ZkRet::Created { path, stat }
                },
            ),
            ZkOp::Delete { path, version } => {
                (self.delete(zxid, path, (*version, ids), out)).map(|()| ZkRet::Deleted)
            }
            ZkOp::SetData {
                path,
                data,
                version,
            } => (self.set_data(zxid, time, (path, data), (*version, ids), out)).map(ZkRet::Set),
            ZkOp::Multi { ops, session } => Ok(self.multi(zxid, time, ops, (*session, ids), out)),
            ZkOp::CloseSession { session } => {
                (self.close_session(zxid, *session, out)).map(|()| ZkRet::SessionClosed)
            }
            ZkOp::SetAcl { path, acl, version } => {
                self.set_acl(path, acl, (*version, ids)).map(ZkRet::AclSet)
            }
            ZkOp::Sync { path } => return (ZkRet::Synced(path.clone()), changes),
            ZkOp::Check { path, version } => {
                return (
                    self.check(path, (*version, ids))
                        .map_or_else(ZkRet::Err, ZkRet::Checked),
                    changes,
                );
            }
            ZkOp::Exists { .. }
            | ZkOp::GetData { .. }
            | ZkOp::GetChildren { .. }
            | ZkOp::GetAcl { .. }
            | ZkOp::GetEphemerals { .. }
            | ZkOp::GetAllChildrenNumber { .. } => unreachable!("reads are answered above"),
            ZkOp::As { .. } => unreachable!("caller() unwraps every As"),
        };
        let ret = ret.unwrap_or_else(ZkRet::Err);
        if !matches!(ret, ZkRet::Err(_) | ZkRet::MultiFailed { .. }) {
            self.zxid = zxid;
        }
        (ret, changes)
    }

    // The writes below run at `zxid`. Each checks everything before it changes anything, so
    // an error leaves the tree as it was and records no change.

    /// Rule (ZooKeeper `create`), checked in this order: a valid path (see
    /// [`create_target`]) that is not the root or a system path, and a real session for an ephemeral node (`BadArguments`); an
    /// open session for an ephemeral node (`SessionExpired`); a valid ACL (`InvalidAcl`,
    /// see `fixup_acl`, which expands `auth` to the caller's ids); an existing parent
    /// (`NoNode`) that gives the caller CREATE (`NoAuth`, ZooKeeper's
    /// `PrepRequestProcessor`) and is not ephemeral (`NoChildrenForEphemerals`); a sequential node gets
    /// the parent's `cversion` appended as ten digits; the final name must be free
    /// (`NodeExists`). The parent's `cversion` and `pzxid` record the new child.
    fn create(
        &mut self,
        zxid: Zxid,
        time: Millis,
        (path, data, acl): (&str, &Data, &[Acl]),
        mode: CreateMode,
        (session, ids): (SessionId, Caller),
        changes: &mut Vec<Change>,
    ) -> Result<Path, ZkError> {
        let (parent_names, name) = create_target(path, mode)?;
        if is_special_path(path) || (mode.is_ephemeral() && session == 0) {
            return Err(BadArguments);
        }
        if mode.is_ephemeral() && self.is_closed(session) {
            return Err(SessionExpired);
        }
        let acl = fixup_acl(acl, ids.ids)?;
        let parent = self.root.descendant_mut(&parent_names).ok_or(NoNode)?;
        ids.may(&parent.acl, perms::CREATE)?;
        if parent.is_ephemeral() {
            return Err(NoChildrenForEphemerals);
        }
        let name = match mode.is_sequential() {
            true => Name::from(format!("{name}{:010}", parent.cversion)),
            false => Name::from(name),
        };
        if parent.children.contains_key(&name) {
            return Err(NodeExists);
        }
        let owner = if mode.is_ephemeral() { session } else { 0 };
        parent.child_changed(zxid);
        let node = Znode::new(data.clone(), acl, zxid, time, owner);
        parent.children.insert(name.clone(), node);
        let parent_path = join(&parent_names);
        let created = child_path(&parent_path, &name);
        changes.push(Change::Created(created.clone()));
        changes.push(Change::ChildrenChanged(parent_path));
        Ok(created)
    }

    /// Rule (ZooKeeper `delete`), checked in this order: a valid path (`BadArguments`);
    /// an existing parent (`NoNode`) that gives the caller DELETE (`NoAuth`; ZooKeeper's
    /// `PrepRequestProcessor` asks the parent before it looks for the node); an existing
    /// node (`NoNode`) that is not the root or a system path (`BadArguments`), the
    /// expected version (`BadVersion`), no children (`NotEmpty`). The parent records the
    /// removed child.
    fn delete(
        &mut self,
        zxid: Zxid,
        path: &str,
        (version, ids): (Version, Caller),
        changes: &mut Vec<Change>,
    ) -> Result<(), ZkError> {
        let names = parse(path)?;
        if let Some((_, parent_names)) = names.split_last() {
            let parent = self.root.descendant(parent_names).ok_or(NoNode)?;
            ids.may(&parent.acl, perms::DELETE)?;
        }
        let node = self.root.descendant(&names).ok_or(NoNode)?;
        let (name, parent_names) = names.split_last().ok_or(BadArguments)?;
        if is_special_path(path) {
            return Err(BadArguments);
        }
        check_version(node.version, version)?;
        if !node.children.is_empty() {
            return Err(NotEmpty);
        }
        self.remove(zxid, parent_names, name, changes);
        Ok(())
    }

    /// Removes the childless node `name` under `parent_names`, and records it.
    fn remove<S: AsRef<str>>(
        &mut self,
        zxid: Zxid,
        parent_names: &[S],
        name: &str,
        changes: &mut Vec<Change>,
    ) {
        let parent = (self.root.descendant_mut(parent_names)).expect("the parent exists");
        let removed = parent.children.remove(name).expect("the node exists");
        assert!(removed.children.is_empty(), "only a leaf is removed");
        parent.child_changed(zxid);
        let parent_path = join(parent_names);
        changes.push(Change::Deleted(child_path(&parent_path, name)));
        changes.push(Change::ChildrenChanged(parent_path));
    }

    /// Rule (ZooKeeper `setData`): a valid path (`BadArguments`) to an existing node
    /// (`NoNode`) that gives the caller WRITE (`NoAuth`) with the expected version
    /// (`BadVersion`); the data is replaced, the version
    /// goes up by one and `mzxid` becomes `zxid`. Returns the new stat. With
    /// [`ZkBug::IgnoreVersion`] the expected version is not checked.
    fn set_data(
        &mut self,
        zxid: Zxid,
        time: Millis,
        (path, data): (&str, &Data),
        (version, ids): (Version, Caller),
        changes: &mut Vec<Change>,
    ) -> Result<Stat, ZkError> {
        let names = parse(path)?;
        let ignore_version = self.bug == Some(ZkBug::IgnoreVersion);
        let node = self.root.descendant_mut(&names).ok_or(NoNode)?;
        ids.may(&node.acl, perms::WRITE)?;
        if !ignore_version {
            check_version(node.version, version)?;
        }
        node.data = data.clone();
        node.version += 1;
        node.mzxid = zxid;
        node.mtime = time;
        let stat = node.stat();
        changes.push(Change::DataChanged(join(&names)));
        Ok(stat)
    }

    /// Rule (ZooKeeper `check`): a valid path to an existing node that gives the caller
    /// READ (`NoAuth`) with the expected version; it changes nothing. Returns the node's
    /// stat.
    fn check(&self, path: &str, (version, ids): (Version, Caller)) -> Result<Stat, ZkError> {
        let node = self.node(path)?;
        ids.may(&node.acl, perms::READ)?;
        check_version(node.version, version)?;
        Ok(node.stat())
    }

    /// Rule (ZooKeeper `setACL`), checked in this order: a valid path (`BadArguments`), a
    /// valid ACL (`InvalidAcl`, see `fixup_acl`), an existing node (`NoNode`) that gives
    /// the caller ADMIN (`NoAuth`) with the expected ACL version (`BadVersion`); the ACL
    /// is replaced and its version goes up by one. Returns the new stat.
    fn set_acl(
        &mut self,
        path: &str,
        acl: &[Acl],
        (version, ids): (Version, Caller),
    ) -> Result<Stat, ZkError> {
        let names = parse(path)?;
        let acl = fixup_acl(acl, ids.ids)?;
        let node = self.root.descendant_mut(&names).ok_or(NoNode)?;
        ids.may(&node.acl, perms::ADMIN)?;
        check_version(node.aversion, version)?;
        node.aversion += 1;
        node.acl = acl;
        Ok(node.stat())
    }

    /// One step of a multi: the same rules as the operation of the same name.
    fn step(
        &mut self,
        zxid: Zxid,
        time: Millis,
        op: &MultiOp,
        (session, ids): (SessionId, Caller),
        changes: &mut Vec<Change>,
    ) -> Result<OpResult, ZkError> {
        match op {
            MultiOp::Check { path, version } => {
                self.check(path, (*version, ids)).map(|_| OpResult::Checked)
            }
            MultiOp::Create {
                path,
                data,
                mode,
                acl,
            } => {
                let target = (path.as_str(), data, acl.as_slice());
                let path = self.create(zxid, time, target, *mode, (session, ids), changes)?;
                let stat = self.stat(&path).expect("just created");
                Ok(OpResult::Created { path, stat })
            }
            MultiOp::Delete { path, version } => {
                (self.delete(zxid, path, (*version, ids), changes)).map(|()| OpResult::Deleted)
            }
            MultiOp::SetData {
                path,
                data,
                version,
            } => {
                let write = (path.as_str(), data);
                (self.set_data(zxid, time, write, (*version, ids), changes)).map(OpResult::Set)
            }
        }
    }

    /// Rule (ZooKeeper `multi`): the steps run in order, all at one `zxid`, each seeing the
    /// effects of the steps before it. If step `index` fails with `error`, the tree goes back
    /// to how it was before the first step, and the result is `MultiFailed { index, error }`.
    /// An empty multi succeeds. (Going back is restoring a copy of the root taken first: a
    /// multi costs a copy of the tree, which is small here.)
    fn multi(
        &mut self,
        zxid: Zxid,
        time: Millis,
        ops: &[MultiOp],
        caller: (SessionId, Caller),
        changes: &mut Vec<Change>,
    ) -> ZkRet {
        let before = self.root.clone();
        let mut done = Vec::new();
        let mut results = Vec::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            match self.step(zxid, time, op, caller, &mut done) {
                Ok(result) => results.push(result),
                Err(error) => {
                    self.root = before;
                    return ZkRet::MultiFailed { index, error };
                }
            }
        }
        changes.append(&mut done);
        ZkRet::Multi(results)
    }

    /// Rule (ZooKeeper `closeSession`): session 0 is no session (`BadArguments`); otherwise
    /// every ephemeral node the session owns is deleted, each parent recording it, all in
    /// one write, which takes a zxid even when the session owns nothing. The session is
    /// remembered as closed. With [`ZkBug::KeepEphemerals`] its nodes stay.
    fn close_session(
        &mut self,
        zxid: Zxid,
        session: SessionId,
        changes: &mut Vec<Change>,
    ) -> Result<(), ZkError> {
        if session == 0 {
            return Err(BadArguments);
        }
        let entry = self.sessions.entry(session).or_insert(SessionEntry {
            timeout_ms: 0,
            results: im::OrdMap::new(),
            closed: true,
        });
        entry.closed = true;
        entry.results = im::OrdMap::new();
        if self.bug == Some(ZkBug::KeepEphemerals) {
            return Ok(());
        }
        for names in self.owned_by(session) {
            let (name, parent_names) = names.split_last().expect("the root has no owner");
            self.remove(zxid, parent_names, name, changes);
        }
        Ok(())
    }
}
