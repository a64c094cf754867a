//! The Raft model: servers replicating the key-value map, clients running short scripts,
//! a network that reorders messages (and optionally duplicates them, or keeps each link
//! in order), crashes with restarts from storage, log compaction (section 7) when a check
//! turns it on, and the properties of the Raft paper's figure 3 plus linearizability of
//! what clients see.

use crate::build::client_model;
use crate::cfg::{Action, Bounds, ModelCfg, Representative};
use crate::check::{all_hold, Check};
use crate::history::{ClientRecord, History};
use crate::in_flight::any_in_flight;
use crate::node::Node;
use crate::restart::Restarting;
use crate::run::{Runnable, Search, Verdict::Violated};
use crate::symmetry::{canonical, hash_key, without_dead};
use crate::workload::kv_script;

mod membership;
mod stable;
use coord::client::{Client, ClientState, Wire};
use coord::kv::KvStore;
use coord::raft::snapshot::decode;
use coord::raft::{
    Index, Msg, RaftBug, RaftClient, RaftServer, RaftState, RaftTimer, Replica, Role, Term,
};
use coord_specs::kv::{KvOp, KvRet, KvSpec};
pub use membership::AdminScript;
use stateright::actor::{
    model_timeout, Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id, Network,
};
use stateright::Expectation;

pub type KvServer = RaftServer<KvStore>;
pub type KvClient = Client<KvOp, KvRet, Msg<KvOp, KvRet>>;
/// A client of the model: a user of the key-value map, or an administrator.
pub type KvParty = RaftClient<KvOp, KvRet>;
pub type RaftNode = Node<KvServer, KvParty>;
/// The model with crash periods, as stateright's actor model has them.
pub type RaftActors = ActorModel<RaftNode, RaftCfg, Observed>;
/// The model that is checked: crashes are immediate restarts (see [`Restarting`]).
pub type RaftModel = Restarting<RaftNode, RaftCfg, Observed>;
pub type State = ActorModelState<RaftNode, Observed>;
pub type NodeState = Node<RaftState<KvStore>, ClientState>;
pub type RaftMsg = Msg<KvOp, KvRet>;

/// What the properties read besides the actors' states: the clients' history, the
/// lowest term in which a leader crashed (a restart leaves no trace of it otherwise), and
/// the term of the leader that has been stable since the previous step, if any (see
/// [`stable`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Observed {
    pub clients: History<KvSpec>,
    pub crashed_leader: Option<Term>,
    pub stable: Option<Term>,
}

impl Default for Observed {
    fn default() -> Self {
        Observed {
            clients: History::new(KvSpec::default()),
            crashed_leader: None,
            stable: None,
        }
    }
}

impl Observed {
    fn with_clients(&self, clients: History<KvSpec>) -> Self {
        Observed {
            clients,
            ..self.clone()
        }
    }
}

impl ClientRecord<RaftMsg> for Observed {
    fn on_send<C>(cfg: &C, o: &Self, env: Envelope<&RaftMsg>) -> Option<Self> {
        History::on_send(cfg, &o.clients, env).map(|h| o.with_clients(h))
    }

    fn on_receive<C>(cfg: &C, o: &Self, env: Envelope<&RaftMsg>) -> Option<Self> {
        History::on_receive(cfg, &o.clients, env).map(|h| o.with_clients(h))
    }
}

/// How a model's network delivers messages. None is ever lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// In any order, each once.
    Reordering,
    /// In any order, each any number of times.
    Duplicating,
    /// In the order sent on each link (src, dst), each once, as over TCP.
    Fifo,
}

/// The size and bounds of one Raft model.
#[derive(Clone, Debug)]
pub struct RaftCfg {
    pub servers: usize,
    pub clients: usize,
    /// Operations per client: put and get alternating, starting with a put.
    pub ops: usize,
    /// States with a server in a higher term are not explored.
    pub max_term: Term,
    /// States with a longer log on any server are not explored.
    pub max_log: usize,
    /// Whether servers crash: with 1 or more, any server may crash at any step and restart
    /// from its storage (see [`Restarting`]); with 0, none does.
    pub max_crashes: usize,
    /// When fewer than `servers`, only servers `s0` up to this many stand for election,
    /// taking turns: term `t` is contested by `s((t - 1) mod campaigners)` alone. The
    /// others vote and replicate. States outside this are not explored.
    pub campaigners: usize,
    /// When set, the servers (by index) that may stand for election in each term, from
    /// term 1 on (none in a later term), in place of `campaigners`: a hunt for a scenario
    /// that needs several campaigners in one term. States outside it are not explored.
    /// `--campaigners` replaces it.
    pub schedule: Option<Vec<Vec<usize>>>,
    /// States where the clients together have resent more requests are not explored.
    pub max_resends: u8,
    /// How the network delivers messages.
    pub links: Links,
    /// Whether a new leader sends the initial empty AppendEntries at once.
    pub announce: bool,
    /// Whether servers ask for pre-votes and leaders check their quorum.
    pub pre_vote: bool,
    /// Whether the model follows stable leaders (see [`stable`]); set when a check judges
    /// the property that reads them.
    pub watch_stable: bool,
    /// Log compaction: servers snapshot once this many applied entries follow their last
    /// snapshot; `None` for never.
    pub compact_after: Option<u64>,
    /// Whether a leader tells its followers of a new commit index at once (see
    /// `RaftServer::commit_notice`): without heartbeats, the models' followers otherwise
    /// learn it only with the next request.
    pub commit_notice: bool,
    /// Whether leaders pipeline their AppendEntries (see `RaftServer::pipeline`).
    pub pipeline: bool,
    /// How many servers, `s0` on, the initial configuration holds; the others start
    /// outside it, to be added (see `RaftServer::joining`). `None` for all.
    pub members: Option<usize>,
    /// Whether servers serve membership changes (see `RaftServer::membership`).
    pub membership: bool,
    /// The administrators, after the clients, each with its script of changes.
    pub admins: Vec<AdminScript>,
    pub bug: Option<RaftBug>,
}

impl RaftCfg {
    /// Applies the size overrides given on the command line.
    pub fn with(mut self, b: &Bounds) -> Self {
        self.servers = b.servers.unwrap_or(self.servers);
        self.clients = b.clients.unwrap_or(self.clients);
        self.ops = b.ops.unwrap_or(self.ops);
        self.max_term = b.max_term.unwrap_or(self.max_term);
        self.max_log = b.max_log.unwrap_or(self.max_log);
        self.max_crashes = b.max_crashes.unwrap_or(self.max_crashes);
        self.max_resends = b.max_resends.unwrap_or(self.max_resends);
        if let Some(campaigners) = b.campaigners {
            // Campaigners given replace a hunt's fixed schedule of campaigns.
            self.campaigners = campaigners;
            self.schedule = None;
        }
        self
    }

    /// Builds the model that is checked, with the properties named in `judged` (see
    /// [`PROPERTIES`]).
    pub fn into_model(self, judged: &[&str]) -> RaftModel {
        Restarting::new(self.into_actors(judged))
    }

    /// Builds the model with crash periods, with the properties named in `judged`.
    pub fn into_actors(mut self, judged: &[&str]) -> RaftActors {
        self.watch_stable = judged.contains(&stable::NOT_DEPOSED);
        let server_ids: Vec<Id> = (0..self.servers).map(Id::from).collect();
        let members = self.members.unwrap_or(self.servers);
        let servers = server_ids.iter().map(|&me| {
            let initial = server_ids[..members].iter().copied();
            let peers = initial.filter(|&p| p != me).collect();
            let server = KvServer::new(peers, model_timeout())
                .joining(usize::from(me) >= members)
                .with_membership(self.membership)
                .with_announce(self.announce)
                .with_pre_vote(self.pre_vote)
                .with_compaction(self.compact_after)
                .with_commit_notice(self.commit_notice)
                .with_pipeline(self.pipeline)
                .with_bug(self.bug);
            Node::Server(server)
        });
        let clients = (0..self.clients).map(|c| {
            let client = KvClient::new(
                server_ids.clone(),
                c,
                kv_script(c, self.ops),
                model_timeout(),
            );
            Node::Client(RaftClient::User(client))
        });
        let admins = self.admins.iter().map(|a| {
            let admin = a.admin(&server_ids);
            Node::Client(RaftClient::Admin(admin))
        });
        let network = match self.links {
            Links::Duplicating => Network::new_unordered_duplicating([]),
            Links::Fifo => Network::new_ordered([]),
            Links::Reordering => Network::new_unordered_nonduplicating([]),
        };
        client_model(
            self.clone(),
            Observed::default(),
            servers.chain(clients).chain(admins),
            network,
            self.max_crashes,
            PROPERTIES,
            judged,
        )
        .within_boundary(within_boundary)
    }
}

impl ModelCfg<RaftNode, Observed> for RaftCfg {
    fn actor_name(&self, id: Id) -> String {
        let i = usize::from(id);
        if i < self.servers {
            format!("s{i}")
        } else if i < self.servers + self.clients {
            format!("c{}", i - self.servers)
        } else {
            format!("a{}", i - self.servers - self.clients)
        }
    }

    /// The only choice is a client's: which server to retry at.
    fn choice_name(&self, key: &str, random: &<RaftNode as Actor>::Random) -> String {
        match random {
            Node::Client(server) => format!("{key} {}", self.actor_name(*server)),
            Node::Server(()) => key.to_string(),
        }
    }

    /// Only servers crash: a client's script and history are not stored anywhere.
    fn may_crash(&self, id: Id) -> bool {
        usize::from(id) < self.servers
    }

    /// A leader's crash is noted, for "a new leader after the old one crashed", unless no
    /// later term is explored.
    fn on_restart(&self, _id: Id, before: &NodeState, history: &Observed) -> Option<Observed> {
        let term = before
            .server()
            .filter(|s| s.is_leader() && s.term < self.max_term)?
            .term;
        Some(Observed {
            crashed_leader: Some(history.crashed_leader.map_or(term, |t| t.min(term))),
            ..history.clone()
        })
    }

    /// With pre-vote, a server's election timer fires only once the pre-vote round it
    /// started last is over: no PreVote it sent, and no reply to it, is still in flight. A
    /// round lasts an election timeout, far longer than a message takes; without this, an
    /// untimed model lets a server start rounds faster than they are answered, and piles
    /// up copies of one message without end.
    fn allows(&self, state: &State, action: &Action<RaftNode>) -> bool {
        let ActorModelAction::Timeout(id, Node::Server(RaftTimer::Election)) = action else {
            return true;
        };
        let of_round = |env: Envelope<&RaftMsg>| match env.msg {
            Msg::PreVote { .. } => env.src == *id,
            Msg::PreVoted { .. } => env.dst == *id,
            _ => false,
        };
        !self.pre_vote || !any_in_flight(&state.network, of_round)
    }

    /// Follows the stable leader, when a check judges whether one is deposed.
    fn tidy(&self, state: &mut State) {
        if self.watch_stable {
            state.history.stable = stable::stable_after(state);
        }
    }

    /// Servers are interchangeable unless only some may campaign, or membership changes
    /// name some of them.
    fn representative(&self) -> Option<Representative<RaftNode, Observed>> {
        if self.campaigners >= self.servers && self.admins.is_empty() && self.members.is_none() {
            Some(forget_and_sort)
        } else {
            Some(forget)
        }
    }
}

/// The state without the messages that no receiver will act on (see
/// [`without_dead`]), and without the note of a crashed leader once a later leader
/// has been seen (see [`forget_crash_note`]).
fn forget(state: &State) -> State {
    let mut state = without_dead(state, ignored_forever);
    forget_crash_note(&mut state);
    state
}

/// Drops the note of a crashed leader once a later leader has been seen: only
/// [`leader_after_crash`] reads it, and it holds from then on.
fn forget_crash_note(state: &mut State) {
    if leader_after_crash_seen(state) {
        state.history.crashed_leader = None;
    }
}

/// Whether an actor in state `receiver` will never act on `msg` from `src`.
pub fn ignored_forever(receiver: &NodeState, src: Id, msg: &RaftMsg) -> bool {
    match receiver {
        Node::Server(s) => s.ignores_forever(src, msg),
        Node::Client(c) => match msg {
            Msg::Admin(m) => c.ignores_forever(m),
            _ => msg.as_client().is_some_and(|m| c.ignores_forever(m)),
        },
    }
}

/// [`forget`], with the servers renamed in the order of their term, role, log and commit
/// index (see [`canonical`]).
fn forget_and_sort(state: &State) -> State {
    let mut state = canonical(state, ignored_forever, |s, crashed| {
        let role = match s.role {
            Role::Follower { .. } => 0,
            Role::PreCandidate { .. } => 1,
            Role::Candidate { .. } => 2,
            Role::Leader(_) => 3,
        };
        hash_key((crashed, s.term, role, &s.log, s.commit))
    });
    forget_crash_note(&mut state);
    state
}

type Condition = fn(&RaftActors, &State) -> bool;

/// Every property of the Raft model; a check includes those it judges.
pub const PROPERTIES: [(Expectation, &str, Condition); 16] = [
    (Expectation::Always, "election safety", election_safety),
    (Expectation::Always, "log matching", log_matching),
    (
        Expectation::Always,
        "leader completeness",
        leader_completeness,
    ),
    (
        Expectation::Always,
        "state machine safety",
        state_machine_safety,
    ),
    (Expectation::Always, "linearizable", linearizable),
    (
        Expectation::Sometimes,
        "a leader is elected",
        leader_elected,
    ),
    (Expectation::Sometimes, "a write commits", write_commits),
    (
        Expectation::Sometimes,
        "a new leader after the old one crashed",
        leader_after_crash,
    ),
    (
        Expectation::Sometimes,
        "a retried request is suppressed as a duplicate",
        duplicate_suppressed,
    ),
    (Expectation::Sometimes, "every client finishes", all_done),
    (
        Expectation::Always,
        stable::NOT_DEPOSED,
        stable::not_deposed,
    ),
    (Expectation::Sometimes, stable::SEEN, stable::seen),
    (Expectation::Sometimes, COMPACTED, compacted),
    (Expectation::Sometimes, INSTALLS, installs_snapshot),
    (Expectation::Sometimes, membership::ADDED, membership::added),
    (
        Expectation::Sometimes,
        membership::REMOVED,
        membership::removed,
    ),
];

/// Live servers with their index.
pub(crate) fn live_servers(state: &State) -> impl Iterator<Item = (usize, &RaftState<KvStore>)> {
    state
        .actor_states
        .iter()
        .enumerate()
        .filter(|(i, _)| !state.crashed[*i])
        .filter_map(|(i, s)| s.server().map(|s| (i, s)))
}

fn clients(state: &State) -> impl Iterator<Item = &ClientState> {
    state.actor_states.iter().filter_map(|s| s.client())
}

/// The bounds of the search. Crashes of actors that may not crash are outside it:
/// stateright's `max_crashes` applies to every actor.
fn within_boundary(cfg: &RaftCfg, state: &State) -> bool {
    let crashes_ok =
        (0..state.crashed.len()).all(|i| !state.crashed[i] || cfg.may_crash(Id::from(i)));
    let servers_ok = state
        .actor_states
        .iter()
        .filter_map(|s| s.server())
        .enumerate()
        .all(|(i, s)| {
            // A pre-candidate campaigns for the term after its own.
            let (campaigns, term) = match s.role {
                Role::Follower { .. } => (false, s.term),
                Role::PreCandidate { .. } => (true, s.term + 1),
                Role::Candidate { .. } | Role::Leader(_) => (true, s.term),
            };
            let in_turn = match &cfg.schedule {
                Some(schedule) => (term as usize)
                    .checked_sub(1)
                    .and_then(|t| schedule.get(t))
                    .is_some_and(|turn| turn.contains(&i)),
                None => {
                    cfg.campaigners >= cfg.servers
                        || (i < cfg.campaigners
                            && (term as usize).saturating_sub(1) % cfg.campaigners == i)
                }
            };
            s.term <= cfg.max_term
                && s.last_index() <= cfg.max_log as Index
                && (!campaigns || in_turn)
        });
    let resends: usize = clients(state).map(|c| usize::from(c.resends)).sum();
    crashes_ok && servers_ok && resends <= usize::from(cfg.max_resends)
}

/// Figure 3, Election Safety: at most one leader in a term.
fn election_safety(_: &RaftActors, state: &State) -> bool {
    let mut leader_terms: Vec<Term> = live_servers(state)
        .filter(|(_, s)| s.is_leader())
        .map(|(_, s)| s.term)
        .collect();
    let leaders = leader_terms.len();
    leader_terms.sort_unstable();
    leader_terms.dedup();
    leader_terms.len() == leaders
}

/// Figure 3, Log Matching: if two logs have an entry with the same index and term, the
/// logs are identical up to that index. Of the indexes both servers still hold (see
/// [`agree_upto`] for the compacted prefix).
fn log_matching(model: &RaftActors, state: &State) -> bool {
    let servers: Vec<_> = live_servers(state).map(|(_, s)| s).collect();
    servers.iter().enumerate().all(|(i, a)| {
        servers[i + 1..].iter().all(|b| {
            let common = a.last_index().min(b.last_index());
            let held = a.log.snapshot_index().max(b.log.snapshot_index());
            match (held..=common)
                .rev()
                .find(|&k| a.term_at(k) == b.term_at(k))
            {
                Some(k) => agree_upto(model, a, b, k),
                None => true,
            }
        })
    })
}

/// Figure 3, Leader Completeness: an entry committed in some term is in the log of the
/// leader of every later term. A server's commit index was learned in a term no later
/// than its current term, so every live leader of a term at least that one must hold it.
fn leader_completeness(model: &RaftActors, state: &State) -> bool {
    live_servers(state).all(|(_, s)| {
        live_servers(state)
            .filter(|(_, l)| l.is_leader() && l.term >= s.term)
            .all(|(_, l)| agree_upto(model, l, s, s.commit))
    })
}

/// Figure 3, State Machine Safety: no two servers apply different entries at one index.
fn state_machine_safety(model: &RaftActors, state: &State) -> bool {
    let servers: Vec<_> = live_servers(state).map(|(_, s)| s).collect();
    servers.iter().enumerate().all(|(i, a)| {
        servers[i + 1..]
            .iter()
            .all(|b| agree_upto(model, a, b, a.commit.min(b.commit)))
    })
}

/// Whether two servers' logs agree up to index `k`, as far as they can be compared: the
/// entries both hold (past the later of their two snapshots) are the same, and, when that
/// later snapshot is at or below `k`, the term there is the same and so is the state
/// machine there: the later snapshot's, and the other server's snapshot with its entries
/// up to that index replayed on it. Entries that both have compacted away are compared
/// only through that state.
fn agree_upto(model: &RaftActors, a: &NodeRaft, b: &NodeRaft, k: Index) -> bool {
    let later = a.log.snapshot_index().max(b.log.snapshot_index());
    if !a.log.same_upto(&b.log, k) {
        return false;
    }
    if later == 0 || later > k {
        return true;
    }
    let dedup = model.cfg.bug != Some(RaftBug::NoDedup);
    let (x, y) = (state_at(a, later, dedup), state_at(b, later, dedup));
    x.is_some() && x.map(|r| r.sm) == y.map(|r| r.sm)
}

/// A server's replica as of index `at`: its snapshot with its entries up to `at` replayed
/// on it; `None` if its snapshot is past `at` or it lacks an entry.
fn state_at(s: &NodeRaft, at: Index, dedup: bool) -> Option<Replica<KvStore>> {
    let mut replica = decode::<KvStore>(&s.snapshot)?;
    if replica.applied > at {
        return None;
    }
    while replica.applied < at {
        replica.apply(s.log.get(replica.applied + 1)?, dedup);
    }
    Some(replica)
}

type NodeRaft = RaftState<KvStore>;

const COMPACTED: &str = "a server compacts its log";
const INSTALLS: &str = "a snapshot is sent to a server behind it";

/// Some live server holds a snapshot.
fn compacted(_: &RaftActors, state: &State) -> bool {
    live_servers(state).any(|(_, s)| s.log.snapshot_index() > 0)
}

/// An InstallSnapshot of a term that a live server has reached is on its way to it, and
/// goes past its commit index: delivered, it will be installed.
fn installs_snapshot(_: &RaftActors, state: &State) -> bool {
    any_in_flight(&state.network, |env| {
        let Msg::Snapshot { term, index, .. } = env.msg else {
            return false;
        };
        let dst = usize::from(env.dst);
        let receiver = state.actor_states.get(dst).and_then(|n| n.server());
        !state.crashed[dst] && receiver.is_some_and(|r| r.term <= *term && r.commit < *index)
    })
}

fn linearizable(_: &RaftActors, state: &State) -> bool {
    state.history.clients.is_linearizable()
}

fn leader_elected(_: &RaftActors, state: &State) -> bool {
    live_servers(state).any(|(_, s)| s.is_leader())
}

/// Some live server has committed a write: it holds one, or its state machine shows one
/// (compacted away).
fn write_commits(_: &RaftActors, state: &State) -> bool {
    live_servers(state).any(|(_, s)| {
        s.log
            .upto(s.commit)
            .any(|e| e.op.as_op().is_some_and(|op| !op.is_read()))
            || !s.replica.sm.data.is_empty()
    })
}

/// A leader crashed, and a live server leads a later term.
fn leader_after_crash(_: &RaftActors, state: &State) -> bool {
    leader_after_crash_seen(state)
}

fn leader_after_crash_seen(state: &State) -> bool {
    state
        .history
        .crashed_leader
        .is_some_and(|t| live_servers(state).any(|(_, s)| s.is_leader() && s.term > t))
}

/// Some server has applied two log entries of a client's operation with the same
/// (client, sequence).
fn duplicate_suppressed(_: &RaftActors, state: &State) -> bool {
    live_servers(state).any(|(_, s)| {
        let ops = s
            .log
            .upto(s.replica.applied)
            .filter(|e| e.op.as_op().is_some());
        let applied: Vec<_> = ops.collect();
        applied.iter().enumerate().any(|(i, a)| {
            applied[i + 1..]
                .iter()
                .any(|b| (a.client, a.seq) == (b.client, b.seq))
        })
    })
}

/// Every client and every administrator is through its script.
fn all_done(model: &RaftActors, state: &State) -> bool {
    let cfg = &model.cfg;
    let scripts = (0..cfg.clients)
        .map(|_| cfg.ops)
        .chain(cfg.admins.iter().map(|a| a.changes.len()));
    clients(state).zip(scripts).all(|(c, len)| c.next == len)
}

/// The default `raft` check: 3 servers, 2 clients with a put and a get each.
pub fn base() -> RaftCfg {
    RaftCfg {
        servers: 3,
        clients: 2,
        ops: 2,
        max_term: 2,
        max_log: 2,
        max_crashes: 1,
        campaigners: 3,
        max_resends: 0,
        links: Links::Reordering,
        announce: false,
        pre_vote: false,
        watch_stable: false,
        compact_after: None,
        commit_notice: false,
        pipeline: false,
        members: None,
        schedule: None,
        membership: false,
        admins: Vec::new(),
        bug: None,
    }
}

// ---------------------------------------------------------------------------------------
// The named checks of Raft.
// ---------------------------------------------------------------------------------------

const RAFT_SAFETY: [&str; 5] = [
    "election safety",
    "log matching",
    "leader completeness",
    "state machine safety",
    "linearizable",
];
const RAFT_EXAMPLES: [&str; 4] = [
    "a leader is elected",
    "a write commits",
    "a new leader after the old one crashed",
    "every client finishes",
];
const RETRY_EXAMPLE: &str = "a retried request is suppressed as a duplicate";

/// Checks the sizes that every Raft model needs to make sense.
fn raft_model(cfg: RaftCfg, judged: &[&str]) -> Result<Box<dyn Runnable>, String> {
    if cfg.servers == 0 {
        return Err("--servers must be at least 1".into());
    }
    if cfg.servers + cfg.clients > 16 {
        return Err("at most 16 actors (servers + clients) fit a model".into());
    }
    Ok(Box::new(cfg.into_model(judged)))
}

/// A deliberate-bug hunt: the base model with the bug, no crashes and no resends unless
/// the bug needs them, so that the counterexample is found fast and reads short.
fn raft_bug(
    bug: RaftBug,
    base: RaftCfg,
    b: &Bounds,
    judged: &[&str],
) -> Result<Box<dyn Runnable>, String> {
    raft_model(
        RaftCfg {
            bug: Some(bug),
            ..base
        }
        .with(b),
        judged,
    )
}

fn hunt_base() -> RaftCfg {
    RaftCfg {
        max_crashes: 0,
        max_resends: 0,
        ..base()
    }
}

const STABLE: [&str; 2] = [stable::NOT_DEPOSED, stable::SEEN];

/// The model of pre-vote: elections alone, with no client (a client's one put multiplies
/// the space more than tenfold, and adds no way to depose a leader); a new leader
/// announces itself at once, so that its followers know it and refuse pre-votes. Three
/// servers: see [`stable`] for why not five.
fn prevote_base(pre_vote: bool) -> RaftCfg {
    RaftCfg {
        clients: 0,
        announce: true,
        pre_vote,
        ..base()
    }
}

/// The model of pipelined replication: two clients put once each, so that a leader has
/// two entries to send and sends the second before the first is acknowledged; messages
/// are reordered, so a follower may get the second before the first and reject it, and a
/// server may crash, losing what was in flight to it. The leader tells its followers of
/// each new commit index at once, as it does at run time, from what each acknowledged.
fn pipeline_base() -> RaftCfg {
    RaftCfg {
        ops: 1,
        pipeline: true,
        commit_notice: true,
        ..base()
    }
}

const SNAPSHOT_EXAMPLES: [&str; 3] = [COMPACTED, INSTALLS, "every client finishes"];

/// The model of log compaction (section 7): every server snapshots after each entry it
/// applies, so with logs of up to 2 entries every committed entry is compacted away, a
/// server that missed one is sent a snapshot, and a restart starts from one. A leader
/// tells its followers of each new commit index at once (as a heartbeat would at run
/// time), so that they compact too. One client puts, and may resend once: the retry of a
/// compacted put must still be suppressed.
fn snapshot_base() -> RaftCfg {
    RaftCfg {
        clients: 1,
        ops: 1,
        max_resends: 1,
        compact_after: Some(1),
        commit_notice: true,
        ..base()
    }
}

/// The Raft checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "raft",
            about: "Raft KV, 3 servers, 2 clients x (put, get), 1 crash at a time: figure 3 safety and linearizability",
            search: Search::Dfs,
            expect: all_hold(&[&RAFT_SAFETY, &RAFT_EXAMPLES]),
            quick: Bounds {
                clients: Some(1),
                ops: Some(1),
                ..Bounds::default()
            },
            build: |b, judged| raft_model(base().with(b), judged),
        },
        Check {
            name: "raft-retry",
            about: "raft with a client that resends: the retried put is committed twice and applied once",
            search: Search::Dfs,
            expect: all_hold(&[&RAFT_SAFETY, &[RETRY_EXAMPLE, "every client finishes"]]),
            quick: Bounds {
                max_crashes: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| {
                let cfg = RaftCfg {
                    clients: 1,
                    ops: 1,
                    max_resends: 1,
                    ..base()
                };
                raft_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "raft-dup",
            about: "raft, 2 clients x put, no crashes, on a network that delivers messages more than once: exactly-once",
            search: Search::Dfs,
            expect: all_hold(&[
                &RAFT_SAFETY,
                &["a leader is elected", "a write commits", "every client finishes"],
            ]),
            quick: Bounds {
                clients: Some(1),
                ..Bounds::default()
            },
            build: |b, judged| {
                // Crashes are covered by `raft` and `raft-retry`; with them and re-delivery
                // together the full size passes 2.6M states in 150 s without finishing.
                let cfg = RaftCfg {
                    links: Links::Duplicating,
                    ops: 1,
                    max_crashes: 0,
                    ..base()
                };
                raft_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "raft-prevote",
            about: "raft with pre-vote and check-quorum, 3 servers, no client, 1 crash: a leader that a majority follows is never deposed",
            search: Search::Dfs,
            expect: all_hold(&[&RAFT_SAFETY[..4], &STABLE]),
            quick: Bounds {
                max_crashes: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| raft_model(prevote_base(true).with(b), judged),
        },
        Check {
            name: "raft-no-prevote",
            about: "the paper's Raft (no pre-vote): a server that timed out deposes a leader that a majority follows",
            search: Search::Bfs,
            expect: vec![(stable::NOT_DEPOSED, Violated)],
            quick: Bounds {
                max_crashes: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| raft_model(prevote_base(false).with(b), judged),
        },
        Check {
            name: "raft-pipeline",
            about: "raft with pipelined AppendEntries and commit notices, 2 clients x put, reordered, 1 crash: figure 3 safety and linearizability",
            search: Search::Dfs,
            expect: all_hold(&[
                &RAFT_SAFETY,
                &["a leader is elected", "a write commits", "every client finishes"],
            ]),
            quick: Bounds {
                max_crashes: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| raft_model(pipeline_base().with(b), judged),
        },
        Check {
            name: "raft-bug-pipeline-counts-sent",
            about: "deliberate bug: a pipelining leader counts what it sent a follower as stored there, and commits an entry no follower has",
            search: Search::Dfs,
            expect: vec![("leader completeness", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                let cfg = RaftCfg {
                    clients: 1,
                    ..pipeline_base()
                };
                raft_bug(RaftBug::PipelineCountsSent, RaftCfg { max_crashes: 0, ..cfg }, b, judged)
            },
        },
        Check {
            name: "raft-snapshot",
            about: "raft with log compaction after every applied entry and InstallSnapshot, 1 client x put that may resend, 1 crash: figure 3 safety and linearizability",
            search: Search::Dfs,
            expect: all_hold(&[&RAFT_SAFETY, &SNAPSHOT_EXAMPLES]),
            quick: Bounds {
                max_crashes: Some(0),
                max_resends: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| raft_model(snapshot_base().with(b), judged),
        },
        Check {
            name: "raft-bug-snapshot-drops-sessions",
            about: "deliberate bug: a snapshot leaves out the session table, so a put retried after compaction applies twice",
            search: Search::Dfs,
            expect: vec![("linearizable", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                // The shortest way in needs no crash: a follower installs the leader's
                // snapshot, leads the next term and takes the retry.
                let cfg = RaftCfg {
                    max_crashes: 0,
                    ..snapshot_base()
                };
                raft_bug(RaftBug::SnapshotWithoutSessions, cfg, b, judged)
            },
        },
        Check {
            name: "raft-bug-forgotten-vote",
            about: "deliberate bug: the vote is not persisted, so a restarted server votes twice in a term",
            search: Search::Bfs,
            expect: vec![("election safety", Violated)],
            quick: Bounds { clients: Some(0), ..Bounds::default() },
            build: |b, judged| {
                let cfg = RaftCfg {
                    max_crashes: 1,
                    ..hunt_base()
                };
                raft_bug(RaftBug::ForgetVote, cfg, b, judged)
            },
        },
        Check {
            name: "raft-bug-old-term-commit",
            about: "deliberate bug: a leader commits an earlier term's entry by counting replicas (figure 8)",
            search: Search::Dfs,
            expect: vec![("leader completeness", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                // Figure 8 needs two servers taking turns as leader, the third only voting,
                // and a new leader that replicates its log at once. Reordering adds nothing to
                // the scenario, so links are FIFO (as over TCP).
                let cfg = RaftCfg {
                    max_term: 4,
                    max_log: 1,
                    ops: 1,
                    campaigners: 2,
                    announce: true,
                    links: Links::Fifo,
                    ..hunt_base()
                };
                raft_bug(RaftBug::CommitOldTerm, cfg, b, judged)
            },
        },
        Check {
            name: "raft-bug-no-dedup",
            about: "deliberate bug: no duplicate suppression, so a retried put applies twice",
            search: Search::Dfs,
            expect: vec![("linearizable", Violated)],
            quick: Bounds { clients: Some(1), ..Bounds::default() },
            build: |b, judged| {
                let cfg = RaftCfg {
                    max_resends: 1,
                    ..hunt_base()
                };
                raft_bug(RaftBug::NoDedup, cfg, b, judged)
            },
        },
        Check {
            name: "raft-bug-stale-read",
            about: "deliberate bug: a leader serves reads without confirming it still leads",
            search: Search::Dfs,
            expect: vec![("linearizable", Violated)],
            quick: Bounds::default(),
            build: |b, judged| raft_bug(RaftBug::LocalReads, hunt_base(), b, judged),
        },
        membership::check(),
        membership::crash_check(),
        membership::prevote_check(),
        membership::bug_check(),
    ]
}
