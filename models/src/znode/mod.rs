//! The znode models: ZooKeeper's client protocol over Raft (3 servers unless a check says
//! otherwise) on FIFO channels, with clients running scripts of calls or recipes (the
//! counter, the locks, the election), and the properties of the notes' ZooKeeper parts:
//! linearizable writes, possibly stale reads, `sync`, sessions and ephemeral nodes,
//! watches, mini-transactions, locks.
//!
//! - this module: the configuration, the model, the bounds and the properties every znode
//!   model shares;
//! - [`acl`]: the checks of ACLs (a write's permission decided in log order);
//! - [`counter`]: the counter recipe's checks;
//! - [`lock`]: the checks of the locks and the election;
//! - [`pipeline`]: the checks of clients that pipeline their calls;
//! - [`script`]: the checks of clients running scripts (reads, sync, ephemerals, watches).

pub mod acl;
pub mod counter;
pub mod lock;
pub mod pipeline;
pub mod script;

use crate::build::client_model;
use crate::cfg::{Action, Bounds, ModelCfg};
use crate::check::{designs_then_bugs, Check};
use crate::dead_messages::drop_dead_messages;
use crate::history::{ClientRecord, History};
use crate::node::Node;
use crate::restart::Restarting;
use crate::run::Runnable;
use coord::client::RETRY_AT;
use coord::raft::{Index, RaftServer, Role, Term};
use coord::recipes::fencing::{Resource, ResourceState};
use coord::znode::client::{Held, Program, ZkClient, ZkClientState};
use coord::znode::conn::{Call, Reply, Request};
use coord::znode::server::{Expiry, SessionRules};
use coord::znode::txn::password;
use coord::znode::watch::WatchEvent;
use coord::znode::{Change, ZkBug, ZkMsg, ZkServer, ZkServerState, ZkTimer};
use coord_specs::znode::{SessionId, Stat, ZkOp, ZnodeSpec, Zxid};
use stateright::actor::{
    model_timeout, Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id, Network,
};
use stateright::Expectation;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A znode server, or the resource that a lock protects: the two kinds of server.
pub type Server = Node<ZkServer, Resource>;
pub type ZnodeNode<P> = Node<Server, ZkClient<P>>;
pub type ZnodeModel<P> = ActorModel<ZnodeNode<P>, ZnodeCfg<P>, Seen>;
/// The model that is checked: see [`Restarting`] (server crashes are restarts) and
/// [`ZnodeCfg::allows`] (a session expires only once its client is silent).
pub type Checked<P> = Restarting<ZnodeNode<P>, ZnodeCfg<P>, Seen>;
pub type State<P> = ActorModelState<ZnodeNode<P>, Seen>;
pub type Property<P> = crate::build::Property<ZnodeNode<P>, ZnodeCfg<P>, Seen>;

/// A program whose model has properties of its own (beyond those of every znode model).
pub trait Judged: Program<State: Send + Sync> + Send + Sync + 'static {
    fn properties() -> Vec<Property<Self>>;

    /// Whether clients running this program keep their sessions alive. If they do, the
    /// models assume that a running client's keepalives reach the leader in time: its
    /// session expires only while it is silent (halted, or [`Judged::silent`]), and an
    /// expiry of a client that has not halted counts as one of the model's client faults.
    /// If not (the default), the models send no keepalives, and a session lives only while
    /// its calls keep the leader hearing from it (as in `znode-ephemeral`).
    const KEEPS_SESSION: bool = false;

    /// For a program that keeps its session: whether a client whose program is in state
    /// `program` is silent (it stalls, sending nothing, not even keepalives).
    fn silent(_program: &Self::State) -> bool {
        false
    }

    /// What of a halted client's program state the properties read, the rest forgotten;
    /// `None` (the default) keeps it all. A halted client never acts again, so states
    /// that differ only in what is forgotten have the same futures (see
    /// [`ZnodeCfg::tidy`]).
    fn forget_halted(_program: &Self::State) -> Option<Self::State> {
        None
    }
}

/// What the znode models record of a run besides the actors' states: the history of the
/// clients' calls, if a property judges it (a history tells apart states that differ
/// only in the order of past calls, so it is kept only when needed), and how many watch
/// notifications each deletion sent, by the zxid of the deletion (the herd effect of a
/// lock's release).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Seen {
    pub history: Option<History<ZnodeSpec>>,
    /// With a history: the server each client is connected to (from its `Connect` until
    /// its `Disconnect`). A client takes replies from that connection only, so only they
    /// are returns: a server that answers a connection its client has given up on (the
    /// `Disconnect` still on its way) answers nobody.
    pub links: BTreeMap<Id, Id>,
    pub notified: BTreeMap<Zxid, u8>,
}

impl ClientRecord<ZkMsg> for Seen {
    /// A client's first send of a request on the tree is an invocation, named by its xid
    /// (a model client's call number: a call sent again after a lost connection is the
    /// same operation); a `sync` a client sends before a read is not one. A server's
    /// notification of a deletion is counted.
    fn on_send<C>(_: &C, seen: &Self, env: Envelope<&ZkMsg>) -> Option<Self> {
        match env.msg {
            ZkMsg::Event(WatchEvent {
                change: Change::Deleted(_),
                zxid,
            }) => {
                let mut next = seen.clone();
                let count = next.notified.entry(*zxid).or_default();
                *count = count.saturating_add(1);
                Some(next)
            }
            ZkMsg::Connect(_) if seen.history.is_some() => {
                let mut next = seen.clone();
                next.links.insert(env.src, env.dst);
                Some(next)
            }
            ZkMsg::Disconnect if seen.links.get(&env.src) == Some(&env.dst) => {
                let mut next = seen.clone();
                next.links.remove(&env.src);
                Some(next)
            }
            ZkMsg::Request(Request {
                xid,
                call: Call::Op(op),
                ..
            }) if !matches!(op.caller().1, ZkOp::Sync { .. }) => {
                let history = seen.history.as_ref()?.invoke(env.src, *xid as u64, op)?;
                Some(seen.with(history))
            }
            _ => None,
        }
    }

    /// A reply to a client's request on the tree is its return, judged without its times
    /// (the spec knows none; the times have checks of their own).
    fn on_receive<C>(_: &C, seen: &Self, env: Envelope<&ZkMsg>) -> Option<Self> {
        let ZkMsg::Reply(Reply { xid, ret, .. }) = env.msg else {
            return None;
        };
        if seen.links.get(&env.dst) != Some(&env.src) {
            return None;
        }
        let seq = u64::try_from(*xid).ok()?;
        let ret = ret.map_stats(Stat::without_times);
        let history = seen.history.as_ref()?.complete(env.dst, seq, &ret)?;
        Some(seen.with(history))
    }
}

impl Seen {
    fn with(&self, history: History<ZnodeSpec>) -> Seen {
        Seen {
            history: Some(history),
            ..self.clone()
        }
    }
}

/// The size, bounds and faults of one znode model.
#[derive(Clone, Debug)]
pub struct ZnodeCfg<P> {
    pub servers: usize,
    /// Each client's first server (an index into the servers) and program.
    pub clients: Vec<(usize, P)>,
    /// A resource the clients' programs use, the actor right after the servers.
    pub resource: Option<Resource>,
    /// Only servers `s0` up to this many may campaign (1: a leader fixed in term 1).
    pub campaigners: usize,
    pub max_term: Term,
    pub max_log: usize,
    pub max_crashes: usize,
    /// Whether clients may fail-stop (each client's `Halt` timer is set).
    pub halts: bool,
    /// How many clients may fail in a run: halt, or, for a program that keeps its
    /// session, lose the session by a stall ([`Judged::KEEPS_SESSION`]).
    pub client_faults: usize,
    /// States where the clients together have resent more calls are not explored.
    pub max_resends: u8,
    /// Whether the leader expires sessions.
    pub expiry: bool,
    /// Whether the history is also judged for sequential consistency.
    pub sequential: bool,
    /// Whether each client has its session from the start (its id is the client's actor
    /// id: `SessionRules::genesis`), so that the model spends no log entry on opening it;
    /// if not, each client opens its session through the log first.
    pub genesis: bool,
    pub bug: Option<ZkBug>,
}

impl<P: Judged> ZnodeCfg<P> {
    /// Three servers, any of which may be elected in term 1, no faults, the given clients.
    pub fn new(clients: Vec<(usize, P)>) -> Self {
        ZnodeCfg {
            servers: 3,
            clients,
            resource: None,
            campaigners: 3,
            max_term: 1,
            max_log: 6,
            max_crashes: 0,
            halts: false,
            client_faults: 0,
            max_resends: 0,
            expiry: false,
            sequential: false,
            genesis: true,
            bug: None,
        }
    }

    /// Applies the size overrides given on the command line.
    pub fn with(mut self, b: &Bounds) -> Self {
        self.servers = b.servers.unwrap_or(self.servers);
        if let Some(n) = b.clients {
            self.clients.truncate(n);
        }
        self.max_term = b.max_term.unwrap_or(self.max_term);
        self.max_log = b.max_log.unwrap_or(self.max_log);
        self.max_crashes = b.max_crashes.unwrap_or(self.max_crashes);
        self.max_resends = b.max_resends.unwrap_or(self.max_resends);
        self.campaigners = b.campaigners.unwrap_or(self.campaigners);
        self
    }

    /// The id of the first client: the clients come after the servers and the resource.
    pub fn first_client(&self) -> usize {
        self.servers + usize::from(self.resource.is_some())
    }

    /// The program of client `id`.
    pub fn program(&self, id: Id) -> &P {
        &self.clients[usize::from(id) - self.first_client()].1
    }

    /// Builds the model with the properties named in `judged`.
    pub fn into_model(self, judged: &[&str]) -> Result<Checked<P>, String> {
        if self.servers == 0 || self.first_client() + self.clients.len() > 16 {
            return Err("a znode model needs 1 to 16 actors, at least one a server".into());
        }
        let server_ids: Vec<Id> = (0..self.servers).map(Id::from).collect();
        let first = self.first_client();
        let client_ids = (first..first + self.clients.len()).map(|i| i as SessionId);
        let genesis: Vec<SessionId> = client_ids.filter(|_| self.genesis).collect();
        let sessions = SessionRules {
            expiry: self.expiry.then(|| Expiry::Fixed(model_timeout())),
            genesis: genesis.clone(),
            ..SessionRules::default()
        };
        let servers = server_ids.iter().map(|&me| {
            let peers = server_ids.iter().copied().filter(|&p| p != me).collect();
            let raft = RaftServer::new(peers, model_timeout());
            let server = ZkServer::new(raft)
                .with_sessions(sessions.clone())
                .with_bug(self.bug);
            Node::Server(Node::Server(server))
        });
        let resource = (self.resource.iter()).map(|r| Node::Server(Node::Client(r.clone())));
        let halt = self.halts.then(model_timeout);
        let secret = sessions.secret.clone();
        let clients = self
            .clients
            .iter()
            .enumerate()
            .map(|(k, (first, program))| {
                let session = genesis.get(k).map(|&id| (id, password(&secret, id)));
                let client =
                    ZkClient::new(server_ids.clone(), *first, program.clone(), model_timeout())
                        .with_halt(halt.clone())
                        .with_session(session);
                Node::Client(client)
            });
        // ZooKeeper runs over TCP, and its atomic broadcast relies on FIFO channels: every
        // channel (a pair of actors, one way) delivers in order, and loses nothing.
        let network = Network::new_ordered([]);
        let recorded = judged.contains(&LINEARIZABLE) || judged.contains(&SEQUENTIAL);
        let history = recorded.then(|| {
            if self.sequential {
                History::with_sequential(ZnodeSpec::default())
            } else {
                History::new(ZnodeSpec::default())
            }
        });
        let seen = Seen {
            history,
            links: BTreeMap::new(),
            notified: BTreeMap::new(),
        };
        let properties = common().into_iter().chain(P::properties());
        let model = client_model(
            self.clone(),
            seen,
            servers.chain(resource).chain(clients),
            network,
            self.max_crashes,
            properties,
            judged,
        );
        Ok(Restarting::new(model.within_boundary(within_boundary)))
    }
}

impl<P: Judged> ModelCfg<ZnodeNode<P>, Seen> for ZnodeCfg<P> {
    fn actor_name(&self, id: Id) -> String {
        let i = usize::from(id);
        if i < self.servers {
            format!("s{i}")
        } else if i < self.first_client() {
            "r".to_string()
        } else {
            format!("c{}", i - self.first_client())
        }
    }

    /// Only servers crash (and restart from storage).
    fn may_crash(&self, id: Id) -> bool {
        usize::from(id) < self.servers
    }

    /// Messages their receiver will never act on are dropped (see [`ignored_forever`]),
    /// and halted clients keep only what the properties read ([`Judged::forget_halted`]).
    fn tidy(&self, state: &mut State<P>) {
        drop_dead_messages(state, ignored_forever::<P>);
        drop_orphan_requests(state);
        forget_halted(state);
    }

    /// For a program that keeps its session ([`Judged::KEEPS_SESSION`]), the leader's
    /// deadline for a session passes only while the session's client is silent (halted,
    /// or silent by its program). The model has no clock, so without this a timer could
    /// fire before a running client's keepalive, however prompt.
    fn allows(&self, state: &State<P>, action: &Action<ZnodeNode<P>>) -> bool {
        let ActorModelAction::Timeout(_, Node::Server(Node::Server(ZkTimer::Expire(session)))) =
            action
        else {
            return true;
        };
        let client = clients(state).find(|c| c.session_id() == *session);
        client.is_none_or(|c| !P::KEEPS_SESSION || c.halted || P::silent(&c.program))
    }

    /// The only choice is a client's: which server to retry at.
    fn choice_name(&self, key: &str, random: &<ZnodeNode<P> as Actor>::Random) -> String {
        match random {
            Node::Client(server) if key == RETRY_AT => {
                format!("{key} {}", self.actor_name(*server))
            }
            _ => key.to_string(),
        }
    }
}

/// Reduces halted clients to what the properties read: their program's
/// [`Judged::forget_halted`], their resends (a bound) and the fact that they halted. A
/// halted client has no timer and takes no message, so nothing else of it matters.
fn forget_halted<P: Judged>(state: &mut State<P>) {
    for actor in state.actor_states.iter_mut() {
        let Node::Client(c) = &**actor else {
            continue;
        };
        let Some(program) = c.halted.then(|| P::forget_halted(&c.program)).flatten() else {
            continue;
        };
        let forgotten = ZkClientState {
            program,
            session: c.session,
            target: Id::from(0),
            linked: false,
            connected: false,
            expired: false,
            calls: 0,
            in_flight: Vec::new(),
            done: false,
            resends: c.resends,
            events: Vec::new(),
            held: Held::default(),
            out_of_order: false,
            halted: true,
            zxid: 0,
        };
        *actor = Arc::new(Node::Client(forgotten));
    }
}

/// Drops, from the front of each channel into a znode server, the requests, pings and
/// disconnects of a connection the server does not know (it restarted, or closed the
/// connection when its leader changed), up to the sender's next `Connect`: the server
/// ignores them (see `ZkServerState::ignores_until_connect`), and on a FIFO channel
/// nothing behind them can reach it first.
fn drop_orphan_requests<P: Program>(state: &mut State<P>) {
    let actors = &state.actor_states;
    let Network::Ordered(flows) = &mut state.network else {
        unreachable!("znode models run on FIFO channels")
    };
    for ((src, dst), flow) in flows.iter_mut() {
        let Some(server) = actors[usize::from(*dst)].server().and_then(|s| s.server()) else {
            continue;
        };
        while (flow.front()).is_some_and(|m| server.ignores_until_connect(*src, m)) {
            flow.pop_front();
        }
    }
    flows.retain(|_, flow| !flow.is_empty());
}

/// Whether an actor in state `receiver` will never act on `msg` from `src`: see the
/// servers' and the clients' `ignores_forever`, and, at a leader, an AppendEntries reply
/// that acknowledges nothing new (`RaftState::acknowledges_nothing_new`: the models' Raft
/// servers run without check-quorum and without pipelining). The resource acts on every
/// operation.
pub fn ignored_forever<P: Program>(
    receiver: &<ZnodeNode<P> as Actor>::State,
    src: Id,
    msg: &ZkMsg,
) -> bool {
    match receiver {
        Node::Server(Node::Server(s)) => {
            let peer =
                |m: &ZkMsg| matches!(m, ZkMsg::Peer(m) if s.raft.acknowledges_nothing_new(src, m));
            s.ignores_forever(src, msg) || peer(msg)
        }
        Node::Server(Node::Client(_)) => false,
        Node::Client(c) => c.ignores_forever(msg),
    }
}

/// The bounds of the search: terms, log length and campaigners as in the Raft models,
/// resends across all clients, client faults.
fn within_boundary<P: Judged>(cfg: &ZnodeCfg<P>, state: &State<P>) -> bool {
    let servers_ok = servers(state).enumerate().all(|(i, s)| {
        let campaigns = !matches!(s.raft.role, Role::Follower { .. });
        s.raft.term <= cfg.max_term
            && s.raft.last_index() <= cfg.max_log as Index
            && (i < cfg.campaigners || !campaigns)
    });
    let resends: usize = clients(state).map(|c| usize::from(c.resends)).sum();
    let failed = clients_with_ids(state)
        .filter(|(id, c)| c.halted || (P::KEEPS_SESSION && expired(state, *id)));
    servers_ok && resends <= usize::from(cfg.max_resends) && failed.count() <= cfg.client_faults
}

/// Every znode server's state, crashed or not.
fn servers<P: Program>(state: &State<P>) -> impl Iterator<Item = &ZkServerState> {
    state
        .actor_states
        .iter()
        .filter_map(|s| s.server()?.server())
}

/// Live znode servers with their id.
pub fn live_servers<P: Program>(state: &State<P>) -> impl Iterator<Item = (Id, &ZkServerState)> {
    (state.actor_states.iter().enumerate())
        .filter(|(i, _)| !state.crashed[*i])
        .filter_map(|(i, s)| s.server()?.server().map(|s| (Id::from(i), s)))
}

/// True if a live znode server has applied the close of client `id`'s session.
pub fn expired<P: Program>(state: &State<P>, id: Id) -> bool {
    let session = clients_with_ids(state)
        .find(|(c, _)| *c == id)
        .map(|(_, c)| c.session_id());
    session.is_some_and(|s| live_servers(state).any(|(_, srv)| srv.tree().is_closed(s)))
}

/// The resource's state, if the model has one.
pub fn resource<P: Program>(state: &State<P>) -> Option<&ResourceState> {
    state.actor_states.iter().find_map(|s| s.server()?.client())
}

/// Every message in flight, with its sender. (stateright 0.31's `Network::iter_all` never
/// ends on an ordered network with a channel holding two messages, so the channels are
/// walked here.)
pub fn in_flight<P: Program>(state: &State<P>) -> Vec<(Id, &ZkMsg)> {
    match &state.network {
        Network::Ordered(channels) => (channels.iter())
            .flat_map(|((src, _), msgs)| msgs.iter().map(|m| (*src, m)))
            .collect(),
        _ => unreachable!("znode models run on FIFO channels"),
    }
}

/// Every client's state, with its id.
pub fn clients_with_ids<P: Program>(
    state: &State<P>,
) -> impl Iterator<Item = (Id, &ZkClientState<P::State>)> {
    (state.actor_states.iter().enumerate())
        .filter_map(|(i, s)| s.client().map(|c| (Id::from(i), c)))
}

pub fn clients<P: Program>(state: &State<P>) -> impl Iterator<Item = &ZkClientState<P::State>> {
    clients_with_ids(state).map(|(_, c)| c)
}

const LINEARIZABLE: &str = "linearizable";
const SEQUENTIAL: &str = "sequentially consistent";

/// The properties every znode model may judge.
fn common<P: Judged>() -> Vec<Property<P>> {
    vec![
        (Expectation::Always, LINEARIZABLE, linearizable),
        (Expectation::Always, SEQUENTIAL, sequentially_consistent),
        (
            Expectation::Sometimes,
            "a leader is elected",
            leader_elected,
        ),
        (Expectation::Sometimes, "every client finishes", all_done),
    ]
}

/// Linearizability of what clients saw, against the znode spec (stateright's
/// `LinearizabilityTester`).
fn linearizable<P: Judged>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    (state.history.history.as_ref()).is_none_or(History::is_linearizable)
}

/// Sequential consistency (stateright's `SequentialConsistencyTester`): one order of all
/// operations that keeps each client's order, real time aside. ZooKeeper promises this
/// for reads, and linearizability for writes.
fn sequentially_consistent<P: Judged>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    (state.history.history.as_ref()).is_none_or(History::is_sequentially_consistent)
}

fn leader_elected<P: Judged>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    live_servers(state).any(|(_, s)| s.raft.is_leader())
}

fn all_done<P: Judged>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    clients(state).all(|c| c.done)
}

// ---------------------------------------------------------------------------------------
// What the named checks of every znode model share.
// ---------------------------------------------------------------------------------------

/// A znode model at its size with `b` applied.
fn znode_model<P: Judged>(
    cfg: ZnodeCfg<P>,
    b: &Bounds,
    judged: &[&str],
) -> Result<Box<dyn Runnable>, String> {
    Ok(Box::new(cfg.with(b).into_model(judged)?))
}

/// A znode model with the deliberate mistake `bug`.
fn znode_bug<P: Judged>(
    bug: ZkBug,
    cfg: ZnodeCfg<P>,
    b: &Bounds,
    judged: &[&str],
) -> Result<Box<dyn Runnable>, String> {
    let bug = Some(bug);
    znode_model(ZnodeCfg { bug, ..cfg }, b, judged)
}

/// The znode checks' quick size: only `s0` may campaign, so the leader is fixed.
const FIXED_LEADER: Bounds = Bounds {
    campaigners: Some(1),
    ..Bounds::NONE
};

/// The znode checks: the counter's and the scripts', designs first, then deliberate bugs;
/// then those of the locks and the election.
pub fn checks() -> Vec<Check> {
    let designs = (counter::checks().into_iter()).chain(script::checks());
    let designs = designs.chain(pipeline::checks()).chain(acl::checks());
    let mut checks = designs_then_bugs(designs);
    checks.extend(lock::checks());
    checks
}
