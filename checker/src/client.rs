//! Running the model-checked client actors against a real cluster: where the servers are
//! (a config file, a list of addresses, or the default addresses of `coord cluster up`),
//! and a client runtime on a fresh random id.

use crate::cluster::{local_members, DEFAULT_BASE_PORT, DEFAULT_NODES};
use crate::system::{System, DEFAULT_MANAGERS};
use coord::client::ClientState;
use coord::net::admit::Admit;
use coord::net::config::ClusterConfig;
use coord::net::frame::ClusterKey;
use coord::net::runtime::{client_id, Describe};
use coord::net::{Endpoint, Outcome, Runtime};
use coord::raft::{Admin, Change, RaftClient};
use coord::znode::client::{Program, ZkClient, ZkClientState};
use coord_models::chain::ChainClient;
use coord_models::raft::KvClient;
use coord_specs::kv::{KvOp, KvRet};
use serde::{de::DeserializeOwned, Serialize};
use stateright::actor::{Actor, Id};
use std::cell::RefCell;
use std::io::ErrorKind;
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// A kv cluster's administrator, as one client actor type with its users.
pub type KvAdmin = RaftClient<KvOp, KvRet>;

/// How long a client waits for an answer before it retries at another server.
const RETRY: Range<Duration> = Duration::from_millis(300)..Duration::from_millis(600);

/// Which cluster a client talks to.
#[derive(clap::Args, Clone, Debug)]
pub struct Target {
    /// The servers' addresses, comma separated [default: 127.0.0.1, ports 7100 to 7102,
    /// where `coord cluster up` puts them; for a chain, the nodes in chain order and then
    /// the manager's replicas, ports 7100 to 7105].
    #[arg(long, value_delimiter = ',', conflicts_with = "config")]
    cluster: Vec<SocketAddrV4>,
    /// The cluster's config file (as written by `coord cluster up`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// With --cluster, how many of its last addresses are a chain's manager replicas.
    #[arg(long, default_value_t = DEFAULT_MANAGERS, conflicts_with = "config")]
    managers: u16,
    /// The cluster's shared secret, to verify the servers' answers.
    #[arg(long)]
    cluster_key: Option<String>,
    /// Seconds to keep trying before giving up.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
}

impl Target {
    /// The servers at `members`, the last `managers` of them a chain's manager replicas,
    /// as `coord test` talks to the cluster it started (it bounds each client's run
    /// itself).
    pub fn of_members(
        members: Vec<SocketAddrV4>,
        managers: u16,
        cluster_key: Option<String>,
    ) -> Self {
        Target {
            managers,
            cluster: members,
            config: None,
            cluster_key,
            timeout: 0.0,
        }
    }

    /// The cluster that the cluster file `config` describes, clients giving up after
    /// `timeout`.
    pub fn of_config(config: PathBuf, cluster_key: Option<String>, timeout: Duration) -> Self {
        Target {
            cluster: Vec::new(),
            config: Some(config),
            managers: DEFAULT_MANAGERS,
            cluster_key,
            timeout: timeout.as_secs_f64(),
        }
    }

    /// The cluster of `system` this target names: its config file (which must run
    /// `system`), or the given or default addresses with the default timeouts.
    pub fn resolve(&self, system: System) -> Result<Cluster, String> {
        let config = match &self.config {
            Some(path) => system.load(path)?.without_removed(),
            None => {
                let members = match self.cluster.is_empty() {
                    true => local_members(
                        DEFAULT_BASE_PORT,
                        system.members(DEFAULT_NODES, DEFAULT_MANAGERS),
                    )?,
                    false => self.cluster.clone(),
                };
                let mut config = ClusterConfig::new(system.name(), members, PathBuf::new());
                config.managers = usize::from(self.managers);
                config
            }
        };
        Ok(Cluster {
            config,
            key: self.cluster_key.as_deref().map(ClusterKey::new),
            timeout: Duration::from_secs_f64(self.timeout.max(0.0)),
        })
    }
}

/// A resolved cluster, ready to start clients of.
pub struct Cluster {
    config: ClusterConfig,
    key: Option<ClusterKey>,
    /// How long a client keeps trying.
    pub timeout: Duration,
}

impl Cluster {
    pub fn size(&self) -> usize {
        self.config.members.len()
    }

    /// A chain's nodes' actor ids, in chain order (the members before the managers).
    pub fn chain_nodes(&self) -> Vec<Id> {
        self.config.chain_roles().0
    }

    /// The deadline of a client started now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// The error of a client that got no answer in time: `what` (a leader, a server) was
    /// not reachable.
    pub fn unreachable(&self, what: &str) -> String {
        format!(
            "no {what} reachable within {:?} (servers: {})",
            self.timeout,
            self.size()
        )
    }

    /// A KV client that runs `script`.
    pub fn kv_client(&self, script: Vec<KvOp>) -> Result<Runtime<KvClient>, String> {
        self.start(
            |_, servers, first| KvClient::new(servers, first, script.clone(), RETRY),
            describe_kv,
        )
    }

    /// An administrator of a kv cluster (Raft dissertation §4.1) that asks for `change`,
    /// answered with the configuration once the change is committed.
    pub fn kv_admin(&self, change: Change) -> Result<Runtime<KvAdmin>, String> {
        self.start(
            |_, servers, first| RaftClient::Admin(Admin::new(servers, first, vec![change], RETRY)),
            describe_kv,
        )
    }

    /// A ZooKeeper client session that runs the program `program(guid)` (a number unique
    /// to this client: its actor id) and sends keepalives while it runs.
    pub fn zk_client<P: Program>(
        &self,
        program: impl Fn(u64) -> P,
    ) -> Result<Runtime<ZkClient<P>>, String> {
        let ping = self.config.ping_interval();
        let timeout_ms = u32::try_from(self.config.session_ms).unwrap_or(u32::MAX);
        self.start(
            |id, servers, first| {
                let guid = usize::from(id) as u64;
                ZkClient::new(servers, first, program(guid), RETRY)
                    .with_ping(Some(ping.clone()))
                    .with_timeout(timeout_ms)
            },
            describe_zk::<P::State>,
        )
    }

    /// A chain client that runs `script`, starting at the manager (which redirects a
    /// write to the head and a read to the tail), or at node `at`, which answers reads
    /// itself (CRAQ).
    pub fn chain_client(
        &self,
        script: Vec<KvOp>,
        at: Option<usize>,
    ) -> Result<Runtime<ChainClient>, String> {
        let first = at.unwrap_or(self.size() - 1);
        self.start_at(
            |_, servers, first| ChainClient::new(servers, first, script.clone(), RETRY),
            describe_kv,
            Some(first),
        )
    }

    /// Starts the client `make(id, servers, first)` on a fresh id, with a random first
    /// server.
    fn start<A>(
        &self,
        make: impl Fn(Id, Vec<Id>, usize) -> A,
        describe: Describe<A>,
    ) -> Result<Runtime<A>, String>
    where
        A: Actor<Storage = ()>,
        A::Msg: Admit + Serialize + DeserializeOwned,
    {
        self.start_at(make, describe, None)
    }

    /// Starts the client `make(id, servers, first)` on a fresh id, first at server
    /// `first`, or at a random one. Its port is one the system found free a moment
    /// before; another process may take it meanwhile, and then a new port is tried.
    fn start_at<A>(
        &self,
        make: impl Fn(Id, Vec<Id>, usize) -> A,
        describe: Describe<A>,
        first: Option<usize>,
    ) -> Result<Runtime<A>, String>
    where
        A: Actor<Storage = ()>,
        A::Msg: Admit + Serialize + DeserializeOwned,
    {
        let ids = self.config.ids();
        let first = first.unwrap_or_else(|| rand::random_range(0..ids.len()));
        let mut tries = 0;
        loop {
            let bind = local_address(self.config.members[first])
                .map_err(|e| format!("client: no local address: {e}"))?;
            let id = client_id(bind, rand::random());
            let client = make(id, ids.clone(), first);
            let endpoint = Endpoint {
                id,
                bind: SocketAddr::from(bind),
                peers: (ids.iter().copied())
                    .zip(self.config.members.iter().map(|&a| SocketAddr::from(a)))
                    .collect(),
                key: self.key.clone(),
                data: None,
            };
            match Runtime::start(client, endpoint, describe) {
                Err(e) if e.kind() == ErrorKind::AddrInUse && tries < BIND_TRIES => tries += 1,
                started => return started.map_err(|e| format!("client: {e}")),
            }
        }
    }
}

/// How many more ports a client tries when the one found free was taken meanwhile.
const BIND_TRIES: u32 = 8;

/// Runs `client` until `done` holds for its state (true), or until `stop` is set or
/// `deadline` passes (false).
pub fn run_until<A>(
    client: &mut Runtime<A>,
    stop: &AtomicBool,
    deadline: Option<Instant>,
    done: impl FnMut(&A::State) -> bool,
    observe: impl FnMut(Id, &A::Msg),
) -> Result<bool, String>
where
    A: Actor<Storage = ()>,
    A::Msg: Admit + Serialize + DeserializeOwned,
{
    let outcome = client
        .run(stop, deadline, done, observe)
        .map_err(|e| e.to_string())?;
    Ok(outcome == Outcome::Done)
}

/// Runs `client` until `pick` finds its answer in a message it receives, or until the
/// cluster's timeout passes (`None`).
pub fn first_answer<A, T>(
    cluster: &Cluster,
    client: &mut Runtime<A>,
    pick: impl Fn(&A::Msg) -> Option<T>,
) -> Result<Option<T>, String>
where
    A: Actor<Storage = ()>,
    A::Msg: Admit + Serialize + DeserializeOwned,
{
    let answer = RefCell::new(None);
    run_until(
        client,
        &AtomicBool::new(false),
        Some(cluster.deadline()),
        |_| answer.borrow().is_some(),
        |_, msg| {
            if let Some(found) = pick(msg) {
                *answer.borrow_mut() = Some(found);
            }
        },
    )?;
    Ok(answer.into_inner())
}

/// A free local address from which `server` is reachable: the client binds it and its id
/// names it (see `client_id`), so that any server can answer it, not only those it
/// wrote to. In the znode service the id is also the client's session id.
fn local_address(server: SocketAddrV4) -> std::io::Result<SocketAddrV4> {
    let probe = UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], 0)))?;
    probe.connect(server)?;
    match probe.local_addr()? {
        SocketAddr::V4(addr) => Ok(addr),
        SocketAddr::V6(_) => Err(std::io::Error::other("not an IPv4 address")),
    }
}

fn describe_kv(state: &ClientState) -> String {
    format!("next={} target={}", state.next, state.target)
}

fn describe_zk<S>(state: &ZkClientState<S>) -> String {
    let session = state.session_id();
    let (calls, waiting) = (state.calls, state.in_flight.len());
    format!(
        "session={session:#x} calls={calls} waiting={waiting} target={}",
        state.target
    )
}
