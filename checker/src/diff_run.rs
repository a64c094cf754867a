//! Plays a plan ([`crate::diff_plan`]) against one cluster that speaks ZooKeeper's
//! protocol and writes down what each step showed, in words that do not depend on the
//! server: session ids as the plan numbers them (`S1`), zxids and times as labels in the
//! order they were first seen (`z3`, `t2`) with each new one's rank among those seen so
//! far, the run's root as `R`, children sorted (ZooKeeper lists them in no order).
//!
//! After every step each open session sends a `sync` and waits for its answer: every
//! event a change fired is delivered before that answer (and an event for a change
//! before any reply that shows it), so the events a session received are known and in
//! order at the end of each step, whichever member it is at. Reads come after those
//! syncs too, so that they see every write before them at any member.

use crate::diff_plan::{rooted, show_op, Step};
use crate::jute_client::Session;
use coord::net::zk::proto::{err, event, opcode, state};
use coord::net::zk::records::{Stat, WatcherEvent};
use coord::net::zk::reply::{Body, Reply, StepResult};
use coord::net::zk::request::Op;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long one call may take on a loaded machine.
const WAIT: Duration = Duration::from_secs(30);

/// What each step of a plan showed, a line per reply or event.
pub type Transcript = Vec<Vec<String>>;

/// Plays `plan` against the members at `servers`, with its root at `root` (a node that
/// does not exist yet), and returns what each step showed.
pub fn play(servers: &[SocketAddr], plan: &[Step], root: &str) -> Transcript {
    let mut run = Run {
        servers,
        root,
        sessions: BTreeMap::new(),
        timeouts: BTreeMap::new(),
        labels: Labels::default(),
    };
    plan.iter().map(|step| run.step(step)).collect()
}

struct Run<'a> {
    servers: &'a [SocketAddr],
    root: &'a str,
    /// The open sessions, by their number in the plan.
    sessions: BTreeMap<usize, Session>,
    /// Each open session's negotiated timeout.
    timeouts: BTreeMap<usize, Duration>,
    labels: Labels,
}

impl Run<'_> {
    fn step(&mut self, step: &Step) -> Vec<String> {
        let s = step.session();
        let mut lines = Vec::new();
        match step {
            Step::Open {
                member, timeout_ms, ..
            } => {
                let server = self.servers[member % self.servers.len()];
                match Session::connect(server, *timeout_ms, WAIT) {
                    Ok(session) => {
                        self.labels.sessions.insert(session.id(), s);
                        let timeout = session.handshake.timeout;
                        lines.push(format!("S{s} open, timeout {timeout} ms"));
                        let timeout = Duration::from_millis(timeout.max(0) as u64);
                        self.timeouts.insert(s, timeout);
                        self.sessions.insert(s, session);
                    }
                    Err(e) => lines.push(format!("S{s} cannot open: {}", e.kind())),
                }
            }
            Step::Call { op, .. } => {
                let op = rooted(op, self.root);
                let answer = self
                    .sessions
                    .get_mut(&s)
                    .map(|session| session.call(op.clone()));
                match answer {
                    Some(Ok((events, reply))) => {
                        self.events(s, &events, &mut lines);
                        lines.push(format!(
                            "S{s} {}",
                            self.labels.reply(&op, &reply, self.root)
                        ));
                    }
                    Some(Err(e)) => self.lost(s, &e, &mut lines),
                    None => lines.push(format!("S{s} is not open")),
                }
            }
            Step::Close { .. } => match self.sessions.remove(&s).map(Session::close) {
                Some(Ok((events, reply))) => {
                    self.events(s, &events, &mut lines);
                    let shown = self.labels.reply(&Op::CloseSession, &reply, self.root);
                    lines.push(format!("S{s} {shown}"));
                }
                Some(Err(e)) => lines.push(format!("S{s} close: {}", e.kind())),
                None => lines.push(format!("S{s} is not open")),
            },
            Step::Expire { .. } => {
                if let Some(session) = self.sessions.remove(&s) {
                    session.abandon();
                }
                let timeout = self.timeouts.get(&s).copied().unwrap_or_default();
                self.keep_alive_for(2 * timeout + Duration::from_secs(2), &mut lines);
                lines.push(format!("S{s} left to expire"));
            }
        }
        self.settle(&mut lines);
        self.labels.new_ranks(&mut lines);
        lines
    }

    /// Every other session pings at a third of its timeout while `wait` passes, and the
    /// events it receives meanwhile are written down.
    fn keep_alive_for(&mut self, wait: Duration, lines: &mut Vec<String>) {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            let numbers: Vec<usize> = self.sessions.keys().copied().collect();
            for s in numbers {
                let answer = self.sessions.get_mut(&s).map(Session::ping);
                match answer {
                    Some(Ok(events)) => self.events(s, &events, lines),
                    Some(Err(e)) => self.lost(s, &e, lines),
                    None => {}
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Each open session syncs, and what it received before the answer is written down.
    fn settle(&mut self, lines: &mut Vec<String>) {
        let numbers: Vec<usize> = self.sessions.keys().copied().collect();
        for s in numbers {
            let sync = Op::Sync {
                path: self.root.to_string(),
            };
            let answer = self.sessions.get_mut(&s).map(|session| session.call(sync));
            match answer {
                Some(Ok((events, reply))) => {
                    self.events(s, &events, lines);
                    if reply.header.err != err::OK {
                        lines.push(format!(
                            "S{s} sync failed: {}",
                            error_name(reply.header.err)
                        ));
                    }
                }
                Some(Err(e)) => self.lost(s, &e, lines),
                None => {}
            }
        }
    }

    fn events(&self, s: usize, events: &[WatcherEvent], lines: &mut Vec<String>) {
        for e in events {
            let path = unroot(&e.path, self.root);
            let state = match e.state {
                state::SYNC_CONNECTED => String::new(),
                other => format!(" (state {other})"),
            };
            lines.push(format!("S{s} event {} {path}{state}", event_name(e.kind)));
        }
    }

    fn lost(&mut self, s: usize, e: &std::io::Error, lines: &mut Vec<String>) {
        self.sessions.remove(&s);
        lines.push(format!("S{s} lost its connection: {}", e.kind()));
    }
}

/// Server-independent names for session ids, zxids and times.
#[derive(Default)]
struct Labels {
    /// Session ids, by the plan's number.
    sessions: BTreeMap<i64, usize>,
    zxids: Vec<i64>,
    times: Vec<i64>,
    /// Labels given in the current step, for which a rank line is owed.
    fresh: Vec<(char, usize)>,
}

impl Labels {
    fn label(&mut self, kind: char, value: i64) -> String {
        let seen = match kind {
            'z' => &mut self.zxids,
            _ => &mut self.times,
        };
        let n = match seen.iter().position(|&v| v == value) {
            Some(i) => i + 1,
            None => {
                seen.push(value);
                self.fresh.push((kind, seen.len()));
                seen.len()
            }
        };
        format!("{kind}{n}")
    }

    /// A line giving each label new in this step its place among all seen so far.
    fn new_ranks(&mut self, lines: &mut Vec<String>) {
        let mut ranks = Vec::new();
        for (kind, n) in std::mem::take(&mut self.fresh) {
            let seen = match kind {
                'z' => &self.zxids,
                _ => &self.times,
            };
            let value = seen[n - 1];
            let below = seen.iter().filter(|&&v| v < value).count();
            ranks.push(format!("{kind}{n}>{below}"));
        }
        if !ranks.is_empty() {
            lines.push(format!("order: {}", ranks.join(" ")));
        }
    }

    fn owner(&self, id: i64) -> String {
        match (id, self.sessions.get(&id)) {
            (0, _) => "0".into(),
            (_, Some(s)) => format!("S{s}"),
            (id, None) => format!("{id:#x}"),
        }
    }

    fn stat(&mut self, s: &Stat) -> String {
        format!(
            "stat(c={} m={} p={} ct={} mt={} v={} cv={} av={} eph={} len={} kids={})",
            self.label('z', s.czxid),
            self.label('z', s.mzxid),
            self.label('z', s.pzxid),
            self.label('t', s.ctime),
            self.label('t', s.mtime),
            s.version,
            s.cversion,
            s.aversion,
            self.owner(s.ephemeral_owner),
            s.data_length,
            s.num_children
        )
    }

    /// A reply in a line. The header's zxid is shown for a write that succeeded, whose
    /// txn it is; a read's is the last its server applied, which a server-independent line
    /// cannot say. A failed write's is not compared either: ZooKeeper's leader makes a
    /// failed write an error txn of its own, with a zxid of its own, where coord's answers
    /// it with the last zxid applied (a known difference, in the book).
    fn reply(&mut self, op: &Op, reply: &Reply, root: &str) -> String {
        let code = op.opcode();
        let write = matches!(
            code,
            opcode::CREATE
                | opcode::CREATE2
                | opcode::CREATE_CONTAINER
                | opcode::CREATE_TTL
                | opcode::DELETE
                | opcode::SET_DATA
                | opcode::MULTI
                | opcode::CLOSE_SESSION
        );
        // A multi that failed says so in its results (its header's error is 0).
        let failed = match &reply.body {
            Body::Multi(results) => results.iter().any(|r| matches!(r, StepResult::Error(_))),
            _ => false,
        };
        let header = match (reply.header.err, write && !failed) {
            (err::OK, true) => format!("ok {}", self.label('z', reply.header.zxid)),
            (err::OK, false) => "ok".into(),
            (e, _) => error_name(e),
        };
        let body = self.body(&reply.body, root);
        let name = show_op(op)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        match body.is_empty() {
            true => format!("{name}: {header}"),
            false => format!("{name}: {header} {body}"),
        }
    }

    fn body(&mut self, body: &Body, root: &str) -> String {
        let data = |d: &Option<Vec<u8>>| match d {
            Some(d) => format!("{:?}", String::from_utf8_lossy(d)),
            None => "null".into(),
        };
        let names = |n: &[String]| {
            let mut n = n.to_vec();
            n.sort();
            format!("[{}]", n.join(","))
        };
        match body {
            Body::Empty => String::new(),
            Body::Path(p) => unroot(p, root),
            Body::Created(p, s) => format!("{} {}", unroot(p, root), self.stat(s)),
            Body::Stat(s) => self.stat(s),
            Body::Data(d, s) => format!("{} {}", data(d), self.stat(s)),
            Body::Acl(acl, s) => format!("{acl:?} {}", self.stat(s)),
            Body::Names(n) => {
                let n: Vec<String> = n.iter().map(|p| unroot(p, root)).collect();
                names(&n)
            }
            Body::Children2(n, s) => format!("{} {}", names(n), self.stat(s)),
            Body::Int(n) => n.to_string(),
            Body::Multi(results) => {
                let shown: Vec<String> = results.iter().map(|r| self.result(r, root)).collect();
                format!("[{}]", shown.join("; "))
            }
            Body::ClientInfo(info) => format!("{info:?}"),
            Body::Event(e) => format!("{e:?}"),
        }
    }

    fn result(&mut self, result: &StepResult, root: &str) -> String {
        match result {
            StepResult::Create(p) => format!("create {}", unroot(p, root)),
            StepResult::Create2(p, s) => format!("create2 {} {}", unroot(p, root), self.stat(s)),
            StepResult::Delete => "delete".into(),
            StepResult::SetData(s) => format!("setData {}", self.stat(s)),
            StepResult::Check => "check".into(),
            StepResult::GetChildren(n) => format!("getChildren {n:?}"),
            StepResult::GetData(d, s) => format!("getData {d:?} {}", self.stat(s)),
            StepResult::Error(e) => format!("error {}", error_name(*e)),
        }
    }
}

/// `path` with the run's root written `R`.
fn unroot(path: &str, root: &str) -> String {
    match path.strip_prefix(root) {
        Some(rest) => format!("R{rest}"),
        None => path.to_string(),
    }
}

/// An error code's name, as `KeeperException.Code` spells it.
pub fn error_name(code: i32) -> String {
    let name = match code {
        err::OK => "OK",
        err::SYSTEM_ERROR => "SYSTEMERROR",
        err::RUNTIME_INCONSISTENCY => "RUNTIMEINCONSISTENCY",
        err::CONNECTION_LOSS => "CONNECTIONLOSS",
        err::MARSHALLING_ERROR => "MARSHALLINGERROR",
        err::UNIMPLEMENTED => "UNIMPLEMENTED",
        err::BAD_ARGUMENTS => "BADARGUMENTS",
        err::NO_NODE => "NONODE",
        err::NO_AUTH => "NOAUTH",
        err::BAD_VERSION => "BADVERSION",
        err::NO_CHILDREN_FOR_EPHEMERALS => "NOCHILDRENFOREPHEMERALS",
        err::NODE_EXISTS => "NODEEXISTS",
        err::NOT_EMPTY => "NOTEMPTY",
        err::SESSION_EXPIRED => "SESSIONEXPIRED",
        err::INVALID_ACL => "INVALIDACL",
        err::SESSION_MOVED => "SESSIONMOVED",
        err::NO_WATCHER => "NOWATCHER",
        err::RECONFIG_DISABLED => "RECONFIGDISABLED",
        other => return format!("error {other}"),
    };
    name.to_string()
}

fn event_name(kind: i32) -> String {
    let name = match kind {
        event::NONE => "None",
        event::NODE_CREATED => "NodeCreated",
        event::NODE_DELETED => "NodeDeleted",
        event::NODE_DATA_CHANGED => "NodeDataChanged",
        event::NODE_CHILDREN_CHANGED => "NodeChildrenChanged",
        event::DATA_WATCH_REMOVED => "DataWatchRemoved",
        event::CHILD_WATCH_REMOVED => "ChildWatchRemoved",
        event::PERSISTENT_WATCH_REMOVED => "PersistentWatchRemoved",
        other => return format!("event type {other}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_first_sight_and_ranks_show_the_order() {
        let mut labels = Labels::default();
        assert_eq!(labels.label('z', 700), "z1");
        assert_eq!(labels.label('z', 900), "z2");
        assert_eq!(labels.label('z', 700), "z1");
        assert_eq!(labels.label('z', 800), "z3");
        let mut lines = Vec::new();
        labels.new_ranks(&mut lines);
        assert_eq!(lines, ["order: z1>0 z2>2 z3>1"]);
        labels.new_ranks(&mut lines);
        assert_eq!(lines.len(), 1, "no line when nothing is new");
    }
}
