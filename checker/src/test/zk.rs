//! The znode service under test: gets and sets (some conditional on the version last
//! seen) of a few persistent nodes, by a client that speaks coord's protocol (the
//! model-checked ZooKeeper client actor, [`Actors`]) or ZooKeeper's own
//! ([`Wire`](super::zk_wire::Wire)), of a coord cluster or a real ZooKeeper ensemble
//! ([`Server`]). Each client of the workload keeps its session from call to call, as an
//! application does. Reads are `sync` reads (linearizable), or plain reads served by the
//! server the session is connected to (ZooKeeper's default, which may be stale: a server
//! cut off from the others keeps answering the sessions it holds from what it has).
//! Histories are judged against the znode spec without zxids and times
//! ([`ZnodeDataSpec`]): the leader's own closes of expired sessions take zxids that no
//! call records, and times are the servers' clocks.

use super::role::Role;
use super::settle::{raft_holders, raft_leads, raft_replaced, raft_settled};
use super::srvr::{srvr_stats, zxids_agree};
use super::subject::{Subject, Versioned};
use crate::client::{run_until, Cluster};
use coord::net::admin::request_stats;
use coord::net::stats::StatsReply;
use coord::net::Runtime;
use coord::znode::client::{Call, Next, Program, ZkClient, ZkClientState, ZkClientTimer};
use coord_specs::znode::build::{create, get, set};
use coord_specs::znode::data::{ZkDataRet, ZnodeDataSpec};
use coord_specs::znode::{
    CreateMode, Data, Path, Stat, Version, ZkError, ZkOp, ZkRet, ANY_VERSION,
};
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A znode cluster, how its clients reach it, the nodes they share, and how reads are
/// served.
pub struct Zk<T> {
    pub via: T,
    pub server: Server,
    pub keys: u16,
    /// Whether the workload's reads are `sync` reads.
    pub sync: bool,
}

/// The servers a run tests (`coord test zk --server`), and so how their roles and
/// progress are asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Server {
    /// coord's zk nodes, whose role and progress their stats replies tell (Raft's role,
    /// commit and applied index).
    Coord,
    /// A real ZooKeeper 3.8 ensemble, whose role and progress its members' `srvr` tells
    /// (mode and last zxid).
    #[value(name = "zookeeper")]
    ZooKeeper,
}

/// How a client of the workload makes its calls, keeping what it needs from one to the
/// next in a `Conn`.
pub trait Transport: Sync {
    type Conn: Default;

    /// Makes `op` (after a `sync` if `synced`) on the client's session, until its answer,
    /// `deadline` or `stop`; `None` if no answer came.
    fn call(
        &self,
        conn: &mut Self::Conn,
        op: ZkOp,
        synced: bool,
        stop: &AtomicBool,
        deadline: Instant,
    ) -> Result<Option<ZkRet>, String>;
}

/// Calls by the model-checked ZooKeeper client actor, over coord's own protocol.
pub struct Actors(pub Cluster);

impl Transport for Actors {
    type Conn = Option<Session>;

    /// The call on the client's session (a new session if it has none). A session whose
    /// call went unanswered, or that expired, is given up: the next call opens another.
    fn call(
        &self,
        conn: &mut Option<Session>,
        op: ZkOp,
        synced: bool,
        stop: &AtomicBool,
        deadline: Instant,
    ) -> Result<Option<ZkRet>, String> {
        let call = match synced {
            true => Call::synced(op),
            false => Call::plain(op),
        };
        let mut session = match conn.take() {
            Some(mut session) => {
                session.feed(call)?;
                session
            }
            None => Session::open(&self.0, call)?,
        };
        let answer = session.answer(stop, deadline)?;
        if answer
            .as_ref()
            .is_some_and(|r| *r != ZkRet::Err(ZkError::SessionExpired))
        {
            *conn = Some(session);
        }
        Ok(answer)
    }
}

impl<T: Transport> Subject for Zk<T> {
    type Spec = ZnodeDataSpec;
    const SPEC: &'static str = "znode-data";
    type Conn = T::Conn;

    /// The nodes the workload reads and writes.
    fn setup(&self) -> Vec<ZkOp> {
        (0..self.keys)
            .map(|i| create(&self.key(i), "", CreateMode::Persistent, 0))
            .collect()
    }

    fn key(&self, i: u16) -> String {
        format!("/k{i}")
    }

    fn write(&self, key: &str, value: &str, expected: Option<i64>) -> ZkOp {
        let version = expected.map_or(ANY_VERSION, |v| v.clamp(0, Version::MAX.into()) as Version);
        set(key, value, version)
    }

    fn failed(&self, ret: &ZkDataRet) -> bool {
        matches!(ret.0, ZkRet::Err(_))
    }

    /// The call on the client's session. A read is a `sync` read if the workload's are,
    /// or if it must be `strict`.
    fn perform(
        &self,
        conn: &mut T::Conn,
        op: ZkOp,
        strict: bool,
        stop: &AtomicBool,
        deadline: Instant,
        on_reply: &mut dyn FnMut(&ZkDataRet),
    ) -> Result<Option<ZkDataRet>, String> {
        let synced = op.is_read() && (strict || self.sync);
        let answer = (self.via.call(conn, op, synced, stop, deadline)?).map(ZkDataRet);
        if let Some(ret) = &answer {
            on_reply(ret);
        }
        Ok(answer)
    }

    fn write_of<'a>(&self, op: &'a ZkOp, ret: &'a ZkDataRet) -> Option<Versioned<'a>> {
        let (ZkOp::SetData { path, data, .. }, ZkRet::Set(stat)) = (op, &ret.0) else {
            return None;
        };
        Some(versioned(path, Some(data), Some(stat)))
    }

    fn read_of<'a>(&self, op: &'a ZkOp, ret: &'a ZkDataRet) -> Option<Versioned<'a>> {
        match (op, &ret.0) {
            (ZkOp::GetData { path }, ZkRet::Data { data, stat }) => {
                Some(versioned(path, Some(data), Some(stat)))
            }
            (ZkOp::GetData { path }, ZkRet::Err(ZkError::NoNode)) => {
                Some(versioned(path, None, None))
            }
            _ => None,
        }
    }

    fn read(&self, key: &str) -> ZkOp {
        get(key)
    }

    fn stats(&self, addr: SocketAddr, wait: Duration) -> Option<StatsReply> {
        match self.server {
            Server::Coord => request_stats(addr, wait).ok(),
            Server::ZooKeeper => srvr_stats(addr),
        }
    }

    /// A member leads: Raft's role, or ZooKeeper's mode, as [`Subject::stats`] reads them.
    fn ready(&self, nodes: &[StatsReply]) -> bool {
        nodes.iter().any(raft_leads)
    }

    fn holders(&self, nodes: &[Option<StatsReply>], role: Role) -> Vec<usize> {
        raft_holders(nodes, role)
    }

    fn replaced(&self, nodes: &[Option<StatsReply>], target: usize, role: Option<Role>) -> bool {
        raft_replaced(nodes, target, role)
    }

    fn settled(&self, nodes: &[StatsReply]) -> bool {
        match self.server {
            Server::Coord => raft_settled(nodes),
            Server::ZooKeeper => zxids_agree(nodes),
        }
    }
}

/// A node's data, data version and the zxid that set it (`None`: no node, version -1).
fn versioned<'a>(path: &'a Path, data: Option<&'a Data>, stat: Option<&Stat>) -> Versioned<'a> {
    Versioned {
        key: path,
        value: data.and_then(|d| std::str::from_utf8(d).ok()),
        version: stat.map_or(-1, |s| i64::from(s.version)),
        zxid: stat.map(|s| s.mzxid),
    }
}

/// One client's ZooKeeper session: the client actor, running the calls the workload feeds
/// it one at a time.
pub struct Session {
    client: Runtime<ZkClient<Fed>>,
    inbox: Arc<Mutex<Option<Call>>>,
}

impl Session {
    /// A new session whose first call is `call`.
    fn open(cluster: &crate::client::Cluster, call: Call) -> Result<Self, String> {
        let inbox = Arc::new(Mutex::new(Some(call)));
        let program = Fed(inbox.clone());
        let client = cluster.zk_client(|_| program.clone())?;
        Ok(Session { client, inbox })
    }

    /// Hands `call` to the client, which is waiting for one.
    fn feed(&mut self, call: Call) -> Result<(), String> {
        *self.inbox.lock().expect("inbox") = Some(call);
        let wake = self.client.fire(ZkClientTimer::Wake);
        wake.map_err(|e| format!("client: {e}"))
    }

    /// Runs the client until its call is answered (it holds a result for every call
    /// it made), `deadline` or `stop`.
    fn answer(&mut self, stop: &AtomicBool, deadline: Instant) -> Result<Option<ZkRet>, String> {
        let answered = |s: &ZkClientState<Vec<ZkRet>>| s.program.len() as u64 == s.calls;
        run_until(&mut self.client, stop, Some(deadline), answered, |_, _| {})?;
        let state = self.client.state();
        Ok(answered(state)
            .then(|| state.program.last().cloned())
            .flatten())
    }
}

/// A program fed from outside: it makes the call it is handed, then waits for the next.
/// Its state is the results so far.
#[derive(Clone, Debug)]
struct Fed(Arc<Mutex<Option<Call>>>);

impl Fed {
    fn next(&self) -> Next {
        let call = self.0.lock().expect("inbox").take();
        call.map_or(Next::Wait, Next::Call)
    }
}

impl Program for Fed {
    type State = Vec<ZkRet>;

    fn start(&self) -> (Vec<ZkRet>, Next) {
        (Vec::new(), self.next())
    }

    fn on_return(&self, results: &mut Vec<ZkRet>, ret: &ZkRet) -> Next {
        results.push(ret.clone());
        self.next()
    }

    fn on_wake(&self, _: &mut Vec<ZkRet>) -> Next {
        self.next()
    }
}
