//! Running the model-checked KV client actor against a real cluster: where the servers
//! are, and a client runtime on a fresh random id.

use coord::client::ClientState;
use coord::net::config::ClusterConfig;
use coord::net::frame::ClusterKey;
use coord::net::{Endpoint, Runtime};
use coord_models::raft::KvClient;
use coord_specs::kv::KvOp;
use stateright::actor::Id;
use std::net::{SocketAddr, SocketAddrV4};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

/// How long a client waits for an answer before it retries at another server.
const RETRY: Range<Duration> = Duration::from_millis(300)..Duration::from_millis(600);

/// Which cluster a client talks to.
#[derive(clap::Args, Clone, Debug)]
pub struct Target {
    /// The servers' addresses, comma separated.
    #[arg(long, value_delimiter = ',', conflicts_with = "config")]
    cluster: Vec<SocketAddrV4>,
    /// The cluster's config file (as written by `coord cluster up`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The cluster's shared secret, to verify the servers' answers.
    #[arg(long)]
    cluster_key: Option<String>,
    /// Seconds to keep trying before giving up.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
}

impl Target {
    /// The servers at `members`, as `coord test` talks to the cluster it started.
    pub fn of_members(members: Vec<SocketAddrV4>, cluster_key: Option<String>) -> Self {
        Target {
            cluster: members,
            config: None,
            cluster_key,
            timeout: 0.0,
        }
    }

    pub fn servers(&self) -> Result<Vec<SocketAddrV4>, String> {
        match &self.config {
            Some(path) => Ok(ClusterConfig::load(path)?.members),
            None if self.cluster.is_empty() => {
                Err("name the cluster with --cluster ADDR,ADDR,.. or --config FILE".into())
            }
            None => Ok(self.cluster.clone()),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout.max(0.0))
    }

    /// A client that runs `script` against the servers, starting at a random one.
    pub fn client(&self, script: Vec<KvOp>) -> Result<Runtime<KvClient>, String> {
        let servers = self.servers()?;
        let ids: Vec<Id> = servers.iter().map(|&a| Id::from(a)).collect();
        let first = rand::random_range(0..ids.len());
        let client = KvClient::new(ids.clone(), first, script, RETRY);
        let endpoint = Endpoint {
            id: fresh_id(),
            bind: SocketAddr::from(([0, 0, 0, 0], 0)),
            peers: ids
                .into_iter()
                .zip(servers.into_iter().map(SocketAddr::from))
                .collect(),
            key: self.cluster_key.as_deref().map(ClusterKey::new),
            data: None,
        };
        Runtime::start(client, endpoint, describe).map_err(|e| format!("client: {e}"))
    }
}

/// A random client id with the top bit set, so it is never a server's (an address-derived
/// id has its top 16 bits clear) and a later client reusing a port is a new client.
fn fresh_id() -> Id {
    Id::from((rand::random::<u64>() | 1 << 63) as usize)
}

fn describe(state: &ClientState) -> String {
    format!("next={} target={}", state.next, state.target)
}
