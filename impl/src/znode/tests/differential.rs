//! The differential test: the tree against its oracle, `coord_specs::znode::ZnodeSpec`.
//!
//! Thousands of pseudo-random histories over a small alphabet (paths that collide, invalid
//! paths, versions around the real ones, every mode, sessions 0 to 2, multis) go to both;
//! every result must be the same, every read must be answerable without the log, every
//! change list must agree with how the spec's tree moved, and at the end of each history
//! the two trees must hold the same nodes (data, children, ACLs).

use super::*;
use coord_specs::znode::{Acl, Data, ZnodeSpec};
use stateright::semantics::SequentialSpec;
use std::collections::BTreeSet;

const HISTORIES: u64 = 10_000;
const MAX_OPS: usize = 40;

const PATHS: &[&str] = &[
    "/",
    "/a",
    "/a/b",
    "/a/b/c",
    "/b",
    "/lock",
    "/lock/n-",
    // Valid only for a sequential create (the name is then the number alone).
    "/lock/",
    "/lock/n-0000000000",
    "/lock/n-0000000001",
    "/lock/n-0000000002",
];
/// Invalid paths, one of every ten picked.
const BAD_PATHS: &[&str] = &["/a/", "a", "/a//b", "", "/a/./b"];
/// `é` is two bytes, so `data_length` counts bytes, not characters; `None` is null data,
/// which must read back null, not empty.
const DATA: &[Option<&str>] = &[Some(""), Some("x"), Some("yé"), None];
/// Half of the expected versions are `-1`.
const VERSIONS: &[Version] = &[ANY_VERSION, ANY_VERSION, ANY_VERSION, 0, 1, 2];
const MODES: &[CreateMode] = &[Persistent, Ephemeral, Sequential, EphemeralSequential];
const SESSIONS: &[SessionId] = &[0, 1, 2];

/// xorshift64* (Vigna): a tiny deterministic generator, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() >> 33) as usize % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn path(&mut self) -> Path {
        match self.below(10) {
            0 => self.pick(BAD_PATHS).into(),
            _ => self.pick(PATHS).into(),
        }
    }

    /// An ACL: mostly the open one; else empty, repeated, a digest, `auth` (the caller's
    /// digest ids), or an invalid entry (one in eight is invalid, so that multis still
    /// succeed often).
    fn acl(&mut self) -> Vec<Acl> {
        let (alice, bob) = (digest("alice", Acl::ALL), digest("bob", Acl::READ));
        let auth = Acl {
            perms: Acl::ALL,
            scheme: "auth".into(),
            id: "".into(),
        };
        match self.below(16) {
            0 => Vec::new(),
            1 => vec![alice.clone(), alice],
            2 => vec![bob, Acl::anyone(Acl::READ)],
            3 => vec![Acl::anyone(Acl::ALL), digest("carol:x", Acl::ALL)],
            4 => vec![auth, Acl::anyone(Acl::READ)],
            _ => Acl::open(),
        }
    }

    /// A caller: nobody but `world:anyone`, alice, or bob (see `as_user`).
    fn caller(&mut self) -> Option<&'static str> {
        self.pick(&[None, Some("alice"), Some("bob")])
    }

    fn data(&mut self) -> Data {
        Data::from(self.pick(DATA).map(|text| text.as_bytes().to_vec()))
    }
}

fn random_step(rng: &mut Rng) -> MultiOp {
    let (path, version) = (rng.path(), rng.pick(VERSIONS));
    match rng.below(6) {
        0 => MultiOp::Check { path, version },
        1..=3 => MultiOp::Create {
            path,
            data: rng.data(),
            mode: rng.pick(MODES),
            acl: rng.acl(),
        },
        4 => MultiOp::Delete { path, version },
        _ => MultiOp::SetData {
            path,
            data: rng.data(),
            version,
        },
    }
}

/// A multi of up to four steps. Random steps mostly make a multi fail, so half the multis
/// are steered: each step is the first of a few random candidates that the spec accepts
/// after the steps before it, which still leaves room for a failure half way.
fn random_multi(rng: &mut Rng, spec: &ZnodeSpec, who: Option<&str>) -> ZkOp {
    let (steps, session) = (rng.below(5), rng.pick(SESSIONS));
    let steered = rng.below(2) == 0;
    let mut scratch = spec.clone();
    let mut ops = Vec::new();
    for _ in 0..steps {
        let mut step = random_step(rng);
        for _ in 0..4 {
            let alone = done_by(
                ZkOp::Multi {
                    ops: vec![step.clone()],
                    session,
                },
                who,
            );
            if !steered || matches!(scratch.clone().invoke(&alone), ZkRet::Multi(_)) {
                break;
            }
            step = random_step(rng);
        }
        let alone = ZkOp::Multi {
            ops: vec![step.clone()],
            session,
        };
        scratch.invoke(&done_by(alone, who));
        ops.push(step);
    }
    ZkOp::Multi { ops, session }
}

/// `op` done by `who` (see `as_user`), or by nobody but `world:anyone`.
fn done_by(op: ZkOp, who: Option<&str>) -> ZkOp {
    match who {
        Some(user) => as_user(op, user),
        None => op,
    }
}

fn random_op(rng: &mut Rng, spec: &ZnodeSpec) -> ZkOp {
    let (path, version) = (rng.path(), rng.pick(VERSIONS));
    let who = rng.caller();
    let op = match rng.below(23) {
        0..=5 => ZkOp::Create {
            path,
            data: rng.data(),
            mode: rng.pick(MODES),
            acl: rng.acl(),
            session: rng.pick(SESSIONS),
        },
        6..=8 => ZkOp::Delete { path, version },
        9..=10 => ZkOp::SetData {
            path,
            data: rng.data(),
            version,
        },
        11 => ZkOp::Exists { path },
        12 => ZkOp::GetData { path },
        13 => ZkOp::GetChildren { path },
        14..=18 => random_multi(rng, spec, who),
        19 => ZkOp::GetAcl { path },
        20 => ZkOp::SetAcl {
            path,
            acl: rng.acl(),
            version,
        },
        _ => ZkOp::CloseSession {
            session: rng.pick(SESSIONS),
        },
    };
    done_by(op, who)
}

/// The changes reported by one op agree with how the spec moved from `before` to `after`:
/// none unless it wrote; on every path involved, `Created` and `Deleted` alternate with the
/// node's existence from before to after; on a node that was there throughout,
/// `DataChanged` iff `mzxid` moved and `ChildrenChanged` iff `cversion` moved.
fn check_changes(before: &ZnodeSpec, after: &ZnodeSpec, changes: &[Change]) -> Result<(), String> {
    if before.zxid() == after.zxid() {
        return match changes.is_empty() {
            true => Ok(()),
            false => Err(format!("changes without a write: {changes:?}")),
        };
    }
    let mut paths: BTreeSet<Path> = PATHS.iter().copied().map(Path::from).collect();
    paths.extend(changes.iter().map(|change| change.path().clone()));
    for path in paths {
        let on_path: Vec<&Change> = changes.iter().filter(|c| *c.path() == path).collect();
        let mut exists = before.stat(&path).is_some();
        for change in &on_path {
            let ok = match change {
                Change::Created(_) => !std::mem::replace(&mut exists, true),
                Change::Deleted(_) => std::mem::replace(&mut exists, false),
                Change::DataChanged(_) | Change::ChildrenChanged(_) => exists,
            };
            if !ok {
                return Err(format!("{change:?} does not fit, in {changes:?}"));
            }
        }
        if exists != after.stat(&path).is_some() {
            return Err(format!("{path} existence is not what {changes:?} says"));
        }
        let has = |wanted: fn(&Change) -> bool| on_path.iter().any(|c| wanted(c));
        if let (Some(b), Some(a)) = (before.stat(&path), after.stat(&path)) {
            let data_changed = has(|c| matches!(c, Change::DataChanged(_)));
            let children_changed = has(|c| matches!(c, Change::ChildrenChanged(_)));
            let same_node = a.czxid == b.czxid;
            if same_node
                && (a.mzxid != b.mzxid, a.cversion != b.cversion)
                    != (data_changed, children_changed)
            {
                return Err(format!(
                    "{path}: {b} became {a}, but changes are {changes:?}"
                ));
            }
        }
    }
    Ok(())
}

/// Every node of the spec's tree, reached from the root by listing children, reads the
/// same in the tree; and each session's ephemeral nodes are the same.
fn check_same_nodes(tree: &ZnodeTree, spec: &mut ZnodeSpec) -> Result<(), String> {
    let mut owned: [Vec<Path>; 3] = Default::default();
    let mut pending = vec![Path::from("/")];
    while let Some(path) = pending.pop() {
        // alice and bob together may read every node the histories make
        let both = [user_ids("alice"), user_ids("bob")].concat();
        for read in [
            ZkOp::GetData { path: path.clone() },
            ZkOp::GetChildren { path: path.clone() },
            ZkOp::GetAcl { path: path.clone() },
        ] {
            let read = read.by(both.clone());
            let expected = spec.invoke(&read);
            if tree.answer_read(&read).as_ref() != Some(&expected) {
                return Err(format!(
                    "{read}: spec {expected}, tree {:?}",
                    tree.answer_read(&read)
                ));
            }
            if let ZkRet::Children { names, .. } = expected {
                pending.extend(names.iter().map(|name| match path.as_str() {
                    "/" => Path::from(format!("/{name}")),
                    _ => Path::from(format!("{path}/{name}")),
                }));
            }
        }
        let owner = spec.stat(&path).expect("listed").ephemeral_owner as usize;
        owned[owner].push(path);
    }
    for session in [1, 2] {
        owned[session].sort();
        if tree.ephemerals(session as SessionId) != owned[session] {
            return Err(format!("ephemerals of session {session} differ"));
        }
    }
    Ok(())
}

/// How often each kind of outcome happened, to show the histories are not vacuous.
#[derive(Debug, Default)]
struct Coverage {
    reads: usize,
    writes: usize,
    failed_writes: usize,
    multis: usize,
    failed_multis: usize,
    sequential_creates: usize,
    closes_deleting: usize,
    refused: usize,
}

impl Coverage {
    fn count(&mut self, op: &ZkOp, ret: &ZkRet, changes: &[Change]) {
        let counter = match (op.caller().1, ret) {
            (_, ZkRet::Err(NoAuth) | ZkRet::MultiFailed { error: NoAuth, .. }) => &mut self.refused,
            _ if op.is_read() => &mut self.reads,
            (_, ZkRet::Err(_)) => &mut self.failed_writes,
            (_, ZkRet::MultiFailed { .. }) => &mut self.failed_multis,
            (ZkOp::Multi { ops, .. }, _) if ops.len() >= 2 => &mut self.multis,
            (ZkOp::Create { path, .. }, ZkRet::Created { path: created, .. })
                if path != created =>
            {
                &mut self.sequential_creates
            }
            (ZkOp::CloseSession { .. }, _) if !changes.is_empty() => &mut self.closes_deleting,
            _ => &mut self.writes,
        };
        *counter += 1;
    }
}

/// Runs history `seed` on both; the first disagreement, with the history that led to it.
fn run_history(seed: u64, coverage: &mut Coverage) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let (mut tree, mut spec) = (ZnodeTree::default(), ZnodeSpec::default());
    let mut history = Vec::new();
    for _ in 0..=rng.below(MAX_OPS) {
        let op = random_op(&mut rng, &spec);
        history.push(op.to_string());
        let before = spec.clone();
        let expected = spec.invoke(&op);
        let read = tree.answer_read(&op);
        let (ret, changes) = tree.run_with_changes(&op);
        coverage.count(&op, &ret, &changes);
        let check = || {
            if ret != expected {
                return Err(format!("spec returned {expected}, tree {ret}"));
            }
            if read != op.is_read().then(|| expected.clone()) {
                return Err(format!("read answered {read:?}"));
            }
            if tree.zxid() != spec.zxid() {
                let zxids = (tree.zxid(), spec.zxid());
                return Err(format!("zxid (tree, spec) = {zxids:?}"));
            }
            check_changes(&before, &spec, &changes)
        };
        if let Err(why) = check() {
            return Err(format!(
                "seed {seed}: {why}; history:\n  {}",
                history.join("\n  ")
            ));
        }
    }
    check_same_nodes(&tree, &mut spec).map_err(|why| {
        format!(
            "seed {seed}, at the end: {why}; history:\n  {}",
            history.join("\n  ")
        )
    })
}

#[test]
fn the_tree_agrees_with_the_spec_on_random_histories() {
    let mut coverage = Coverage::default();
    for seed in 1..=HISTORIES {
        if let Err(why) = run_history(seed, &mut coverage) {
            panic!("{why}");
        }
    }
    let Coverage {
        reads,
        writes,
        failed_writes,
        multis,
        failed_multis,
        sequential_creates,
        closes_deleting,
        refused,
    } = coverage;
    println!("{coverage:?}");
    let counts = [reads, writes, failed_writes, multis, failed_multis];
    let rarer = [sequential_creates, closes_deleting, refused];
    assert!(
        counts.iter().all(|&n| n > 2000) && rarer.iter().all(|&n| n > 500),
        "{coverage:?}"
    );
}
