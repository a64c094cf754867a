//! The differential tester's seeded plans: a sequence of steps over several sessions,
//! each session at a member of its own, that the tester plays against coord and against
//! ZooKeeper alike. A plan is a pure function of its seed, so a seed names it.
//!
//! The steps cover creates of every mode (persistent, ephemeral, sequential, container,
//! and TTL, which an unconfigured ZooKeeper refuses), conditional sets and deletes,
//! reads with one-shot watches, persistent and recursive watches, removing watches,
//! children, `multi` whose steps may fail, sync, and sessions opened, closed and left to
//! expire. Errors come on purpose: versions that do not match, parents that are missing
//! or ephemeral, nodes that exist or still have children.
//!
//! Left out, as differences known to be under change on coord's side: null data, ACLs
//! other than the open one, and paths ZooKeeper's client would refuse to send.

use coord::net::zk::proto::{add_watch_mode, create_flag, watcher_type};
use coord::net::zk::request::{Create, Op};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Where the steps' paths live: a node of its own per run, created by the first step.
pub const ROOT: &str = "R";
/// The nodes below the root that steps name (parents before children).
const NAMES: [&str; 6] = ["a", "b", "a/x", "a/y", "b/x", "a/x/q"];
/// Parents under which sequential nodes are made, as `PARENT/s-`.
const SEQUENTIAL_PARENTS: [&str; 2] = ["a", "b"];
/// Data a step writes.
const VALUES: [&str; 4] = [
    "",
    "v1",
    "v2",
    "a longer value, to see its length in the stat",
];
/// The most sessions open at once.
const MAX_OPEN: usize = 4;
/// The session timeout most sessions ask for: ZooKeeper's least with its default tick,
/// so that a session left to expire does so within seconds.
pub const SHORT_TIMEOUT_MS: i32 = 4_000;

/// One step of a plan. Sessions are numbered in the order the plan opens them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Opens session `session` at member `member`, asking for `timeout_ms`.
    Open {
        session: usize,
        member: usize,
        timeout_ms: i32,
    },
    /// Session `session` sends `op` (its paths relative to the run's root, as `R/...`).
    Call { session: usize, op: Op },
    /// Session `session` ends itself (`closeSession`).
    Close { session: usize },
    /// Session `session`'s client goes away without a word; the step waits until the
    /// session has surely expired.
    Expire { session: usize },
}

impl Step {
    /// The session the step acts on.
    pub fn session(&self) -> usize {
        match self {
            Step::Open { session, .. }
            | Step::Call { session, .. }
            | Step::Close { session }
            | Step::Expire { session } => *session,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Open {
                session,
                member,
                timeout_ms,
            } => write!(
                f,
                "S{session} opens at member {member}, asking {timeout_ms} ms"
            ),
            Step::Call { session, op } => write!(f, "S{session} {}", show_op(op)),
            Step::Close { session } => write!(f, "S{session} closes its session"),
            Step::Expire { session } => write!(f, "S{session} goes silent until it expires"),
        }
    }
}

/// A request in a line: its opcode's name and arguments.
pub fn show_op(op: &Op) -> String {
    let data = |d: &Option<Vec<u8>>| match d {
        Some(d) => format!("{:?}", String::from_utf8_lossy(d)),
        None => "null".into(),
    };
    let create = |name: &str, c: &Create| {
        format!(
            "{name} {} {} flags={}",
            c.path,
            data(&c.data),
            flag_name(c.flags)
        )
    };
    match op {
        Op::Create(c) => create("create", c),
        Op::Create2(c) => create("create2", c),
        Op::CreateContainer(c) => create("createContainer", c),
        Op::CreateTtl(c, ttl) => format!("{} ttl={ttl}", create("createTTL", c)),
        Op::Delete { path, version } => format!("delete {path} version={version}"),
        Op::Exists { path, watch } => format!("exists {path} watch={watch}"),
        Op::GetData { path, watch } => format!("getData {path} watch={watch}"),
        Op::GetChildren { path, watch } => format!("getChildren {path} watch={watch}"),
        Op::GetChildren2 { path, watch } => format!("getChildren2 {path} watch={watch}"),
        Op::SetData {
            path,
            data: d,
            version,
        } => format!("setData {path} {} version={version}", data(d)),
        Op::Check { path, version } => format!("check {path} version={version}"),
        Op::Sync { path } => format!("sync {path}"),
        Op::AddWatch { path, mode } => format!("addWatch {path} mode={mode}"),
        Op::RemoveWatches { path, kind } => format!("removeWatches {path} type={kind}"),
        Op::GetAllChildrenNumber { path } => format!("getAllChildrenNumber {path}"),
        Op::GetEphemerals { prefix } => format!("getEphemerals {prefix}"),
        Op::Multi(steps) | Op::MultiRead(steps) => {
            let name = match op {
                Op::Multi(_) => "multi",
                _ => "multiRead",
            };
            let steps: Vec<String> = steps.iter().map(show_op).collect();
            format!("{name} [{}]", steps.join("; "))
        }
        other => format!("{other:?}"),
    }
}

fn flag_name(flags: i32) -> String {
    match flags {
        create_flag::PERSISTENT => "PERSISTENT".into(),
        create_flag::EPHEMERAL => "EPHEMERAL".into(),
        create_flag::PERSISTENT_SEQUENTIAL => "PERSISTENT_SEQUENTIAL".into(),
        create_flag::EPHEMERAL_SEQUENTIAL => "EPHEMERAL_SEQUENTIAL".into(),
        create_flag::CONTAINER => "CONTAINER".into(),
        create_flag::PERSISTENT_WITH_TTL => "PERSISTENT_WITH_TTL".into(),
        other => other.to_string(),
    }
}

/// What a plan may hold besides its calls.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Steps in the plan, the sessions' final closes not counted.
    pub steps: usize,
    /// Members the sessions are spread over.
    pub members: usize,
    /// Whether a session may be left to expire (which takes seconds of waiting).
    pub expiry: bool,
}

/// The plan of `seed`: it opens the run's root first, and closes every session still
/// open last.
pub fn plan(seed: u64, shape: Shape) -> Vec<Step> {
    let mut g = Generator {
        rng: StdRng::seed_from_u64(seed),
        shape,
        open: Vec::new(),
        opened: 0,
        expired: false,
        watched: BTreeMap::new(),
        persistent: BTreeSet::new(),
        steps: Vec::new(),
    };
    g.open_session();
    let first = g.open[0];
    g.push_call(
        first,
        create_op(ROOT.into(), "", create_flag::PERSISTENT, true),
    );
    while g.steps.len() < shape.steps {
        g.step();
    }
    for session in std::mem::take(&mut g.open) {
        g.steps.push(Step::Close { session });
    }
    g.steps
}

/// The two kinds of watch a plan keeps apart on one path of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Watch {
    OneShot,
    Persistent,
}

struct Generator {
    rng: StdRng,
    shape: Shape,
    /// Open sessions, by number.
    open: Vec<usize>,
    /// Sessions opened so far.
    opened: usize,
    /// Whether a session was left to expire (once per plan at most: it is slow).
    expired: bool,
    /// The kind of watch each session first left on each path.
    watched: BTreeMap<(usize, String), Watch>,
    /// The paths on which each session asked for a persistent watch.
    persistent: BTreeSet<(usize, String)>,
    steps: Vec<Step>,
}

impl Generator {
    fn open_session(&mut self) {
        let session = self.opened;
        self.opened += 1;
        let timeout_ms = match self.rng.random_range(0..10) {
            0 => 1_000,   // below the least: raised to it
            1 => 100_000, // above the most: lowered to it
            _ => SHORT_TIMEOUT_MS,
        };
        let member = self.rng.random_range(0..self.shape.members.max(1));
        self.steps.push(Step::Open {
            session,
            member,
            timeout_ms,
        });
        self.open.push(session);
    }

    fn push_call(&mut self, session: usize, op: Op) {
        self.steps.push(Step::Call { session, op });
    }

    fn step(&mut self) {
        let roll = self.rng.random_range(0..100);
        if self.open.is_empty() || (roll < 4 && self.open.len() < MAX_OPEN) {
            return self.open_session();
        }
        let session = *self.open.choose(&mut self.rng).expect("a session is open");
        match roll {
            4..=6 if self.open.len() > 1 => {
                self.open.retain(|&s| s != session);
                self.steps.push(Step::Close { session });
            }
            7 if self.shape.expiry && !self.expired && self.open.len() > 1 => {
                // Only a session that asked for the shortest timeout (or less) is left
                // to expire, so that the wait is short.
                let short = self.steps.iter().any(|s| {
                    matches!(s, Step::Open { session: o, timeout_ms, .. }
                        if *o == session && *timeout_ms <= SHORT_TIMEOUT_MS)
                });
                if short {
                    self.expired = true;
                    self.open.retain(|&s| s != session);
                    self.steps.push(Step::Expire { session });
                }
            }
            _ => {
                let op = self.op(session);
                self.push_call(session, op);
            }
        }
    }

    fn path(&mut self) -> String {
        match self.rng.random_range(0..10) {
            0 => ROOT.into(),
            1 => format!("{ROOT}/missing/z"),
            _ => format!("{ROOT}/{}", NAMES.choose(&mut self.rng).unwrap()),
        }
    }

    fn value(&mut self) -> &'static str {
        VALUES.choose(&mut self.rng).unwrap()
    }

    fn version(&mut self) -> i32 {
        *[-1, -1, 0, 0, 1, 2, 7].choose(&mut self.rng).unwrap()
    }

    fn watch(&mut self) -> bool {
        self.rng.random_bool(0.4)
    }

    /// Whether session `session` may leave a watch of `kind` on `path` (or, for a one-shot
    /// kind, remove its watches there): not if it left one of the other kind there. A
    /// ZooKeeper 3.8 server keeps one mode per connection and path, so that a one-shot
    /// watch or a second `addWatch` replaces a persistent watch's mode, and a persistent
    /// watch answers `removeWatches` of either type (ZOOKEEPER-4466, fixed in 3.9); coord
    /// keeps the kinds apart, as 3.9 does. Plans stay clear of that difference.
    fn claim(&mut self, session: usize, path: &str, kind: Watch) -> bool {
        let first = *self
            .watched
            .entry((session, path.to_string()))
            .or_insert(kind);
        first == kind && (kind == Watch::OneShot || !self.persistent_twice(session, path))
    }

    /// Whether `session` already asked for a persistent watch on `path` (then asking
    /// again, in either mode, is left out), and notes that it now has.
    fn persistent_twice(&mut self, session: usize, path: &str) -> bool {
        !self.persistent.insert((session, path.to_string()))
    }

    /// One call's request, by session `session`.
    fn op(&mut self, session: usize) -> Op {
        match self.rng.random_range(0..100) {
            0..=24 => self.create(),
            25..=38 => {
                let (path, value, version) = (self.path(), self.value(), self.version());
                Op::SetData {
                    path,
                    data: Some(value.as_bytes().to_vec()),
                    version,
                }
            }
            39..=49 => Op::Delete {
                path: self.path(),
                version: self.version(),
            },
            50..=71 => {
                let path = self.path();
                let watch = self.watch() && self.claim(session, &path, Watch::OneShot);
                match self.rng.random_range(0..4) {
                    0 => Op::Exists { path, watch },
                    1 => Op::GetData { path, watch },
                    2 => Op::GetChildren { path, watch },
                    _ => Op::GetChildren2 { path, watch },
                }
            }
            72..=80 => {
                let n = self.rng.random_range(1..=4);
                Op::Multi((0..n).map(|_| self.multi_step()).collect())
            }
            81..=86 => {
                let mode = match self.rng.random_bool(0.5) {
                    true => add_watch_mode::PERSISTENT,
                    false => add_watch_mode::PERSISTENT_RECURSIVE,
                };
                let path = self.path();
                match self.claim(session, &path, Watch::Persistent) {
                    true => Op::AddWatch { path, mode },
                    false => Op::Sync { path },
                }
            }
            87..=89 => {
                let kind = *[
                    watcher_type::CHILDREN,
                    watcher_type::DATA,
                    watcher_type::ANY,
                ]
                .choose(&mut self.rng)
                .unwrap();
                let path = self.path();
                match self.claim(session, &path, Watch::OneShot) {
                    true => Op::RemoveWatches { path, kind },
                    false => Op::Sync { path },
                }
            }
            90..=92 => Op::Sync { path: self.path() },
            93..=95 => Op::GetAllChildrenNumber { path: self.path() },
            _ => Op::GetEphemerals {
                prefix: self.path(),
            },
        }
    }

    fn create(&mut self) -> Op {
        let sequential = self.rng.random_range(0..4) == 0;
        let path = match sequential {
            true => format!(
                "{ROOT}/{}/s-",
                SEQUENTIAL_PARENTS.choose(&mut self.rng).unwrap()
            ),
            false => self.path(),
        };
        let value = self.value();
        let ephemeral = self.rng.random_range(0..3) == 0;
        let flags = match (sequential, ephemeral) {
            (false, false) => create_flag::PERSISTENT,
            (false, true) => create_flag::EPHEMERAL,
            (true, false) => create_flag::PERSISTENT_SEQUENTIAL,
            (true, true) => create_flag::EPHEMERAL_SEQUENTIAL,
        };
        match self.rng.random_range(0..20) {
            // A container at a leaf no step makes children of (ZooKeeper deletes a
            // container once its last child goes, on a timer of its own).
            0 => Op::CreateContainer(open_create(
                format!("{ROOT}/b/x"),
                value,
                create_flag::CONTAINER,
            )),
            1 => Op::CreateTtl(
                open_create(path, value, create_flag::PERSISTENT_WITH_TTL),
                60_000,
            ),
            _ => create_op(path, value, flags, self.rng.random_bool(0.5)),
        }
    }

    /// A step of a multi: a create, delete, setData or check.
    fn multi_step(&mut self) -> Op {
        match self.rng.random_range(0..4) {
            0 => {
                let (path, value) = (self.path(), self.value());
                let flags = match self.rng.random_range(0..4) {
                    0 => create_flag::EPHEMERAL,
                    _ => create_flag::PERSISTENT,
                };
                create_op(path, value, flags, self.rng.random_bool(0.5))
            }
            1 => Op::Delete {
                path: self.path(),
                version: self.version(),
            },
            2 => {
                let (path, value, version) = (self.path(), self.value(), self.version());
                Op::SetData {
                    path,
                    data: Some(value.as_bytes().to_vec()),
                    version,
                }
            }
            _ => Op::Check {
                path: self.path(),
                version: self.version(),
            },
        }
    }
}

fn open_create(path: String, value: &str, flags: i32) -> Create {
    Create {
        path,
        data: Some(value.as_bytes().to_vec()),
        acl: vec![coord::net::zk::records::Acl::open()],
        flags,
    }
}

/// A create with open ACLs: `create2` (which answers the stat) or the older `create`.
fn create_op(path: String, value: &str, flags: i32, with_stat: bool) -> Op {
    let create = open_create(path, value, flags);
    match with_stat {
        true => Op::Create2(create),
        false => Op::Create(create),
    }
}

/// `op` with `R` at the start of each path replaced by `root`.
pub fn rooted(op: &Op, root: &str) -> Op {
    let at = |path: &str| match path.strip_prefix(ROOT) {
        Some(rest) => format!("{root}{rest}"),
        None => path.to_string(),
    };
    let create = |c: &Create| Create {
        path: at(&c.path),
        ..c.clone()
    };
    match op {
        Op::Create(c) => Op::Create(create(c)),
        Op::Create2(c) => Op::Create2(create(c)),
        Op::CreateContainer(c) => Op::CreateContainer(create(c)),
        Op::CreateTtl(c, ttl) => Op::CreateTtl(create(c), *ttl),
        Op::Delete { path, version } => Op::Delete {
            path: at(path),
            version: *version,
        },
        Op::Exists { path, watch } => Op::Exists {
            path: at(path),
            watch: *watch,
        },
        Op::GetData { path, watch } => Op::GetData {
            path: at(path),
            watch: *watch,
        },
        Op::GetChildren { path, watch } => Op::GetChildren {
            path: at(path),
            watch: *watch,
        },
        Op::GetChildren2 { path, watch } => Op::GetChildren2 {
            path: at(path),
            watch: *watch,
        },
        Op::SetData {
            path,
            data,
            version,
        } => Op::SetData {
            path: at(path),
            data: data.clone(),
            version: *version,
        },
        Op::Check { path, version } => Op::Check {
            path: at(path),
            version: *version,
        },
        Op::Sync { path } => Op::Sync { path: at(path) },
        Op::AddWatch { path, mode } => Op::AddWatch {
            path: at(path),
            mode: *mode,
        },
        Op::RemoveWatches { path, kind } => Op::RemoveWatches {
            path: at(path),
            kind: *kind,
        },
        Op::GetAllChildrenNumber { path } => Op::GetAllChildrenNumber { path: at(path) },
        Op::GetEphemerals { prefix } => Op::GetEphemerals { prefix: at(prefix) },
        Op::Multi(steps) => Op::Multi(steps.iter().map(|s| rooted(s, root)).collect()),
        Op::MultiRead(steps) => Op::MultiRead(steps.iter().map(|s| rooted(s, root)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            steps: 60,
            members: 3,
            expiry: true,
        }
    }

    #[test]
    fn a_seed_names_one_plan() {
        assert_eq!(plan(7, shape()), plan(7, shape()));
        assert_ne!(plan(7, shape()), plan(8, shape()));
    }

    #[test]
    fn a_plan_opens_before_it_calls_and_closes_every_session_it_leaves_open() {
        for seed in 0..50 {
            let steps = plan(seed, shape());
            let mut open = std::collections::BTreeSet::new();
            for step in &steps {
                match step {
                    Step::Open { session, .. } => assert!(open.insert(*session)),
                    Step::Call { session, .. } => assert!(open.contains(session), "{step}"),
                    Step::Close { session } | Step::Expire { session } => {
                        assert!(open.remove(session), "{step}")
                    }
                }
            }
            assert!(open.is_empty(), "seed {seed} leaves {open:?} open");
            let expiries = steps.iter().filter(|s| matches!(s, Step::Expire { .. }));
            assert!(expiries.count() <= 1);
        }
    }

    #[test]
    fn some_plans_leave_a_session_to_expire_and_none_without_expiry() {
        let expiring = |seed, expiry| {
            let shape = Shape { expiry, ..shape() };
            plan(seed, shape)
                .iter()
                .any(|s| matches!(s, Step::Expire { .. }))
        };
        let seeds: Vec<u64> = (0..10).filter(|&seed| expiring(seed, true)).collect();
        assert!(!seeds.is_empty());
        assert_eq!(
            seeds.first(),
            Some(&1),
            "the seed checker/tests/zk_diff.rs names"
        );
        assert!((0..50).all(|seed| !expiring(seed, false)));
    }

    #[test]
    fn paths_are_moved_under_the_root_of_a_run() {
        let op = Op::Multi(vec![Op::Check {
            path: "R/a".into(),
            version: 0,
        }]);
        let moved = rooted(&op, "/diff-7");
        assert_eq!(show_op(&moved), "multi [check /diff-7/a version=0]");
    }
}
