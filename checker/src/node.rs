//! `coord node`: one member of a cluster described by a config file, in the foreground
//! until SIGINT or SIGTERM, when it prints its counters.

use crate::logging;
use coord::kv::KvStore;
use coord::net::config::ClusterConfig;
use coord::net::frame::ClusterKey;
use coord::net::{Endpoint, Outcome, Runtime};
use coord::raft::{RaftBug, RaftState, Role};
use coord_models::raft::KvServer;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The most log entries in one AppendEntries: a batch of small puts well under a datagram.
const MAX_BATCH: usize = 128;

#[derive(clap::Args, Debug)]
pub struct NodeArgs {
    /// The cluster's config file (members, data directory, timeouts).
    #[arg(long)]
    config: PathBuf,
    /// Which member this is: an index into the config's members.
    #[arg(long)]
    id: usize,
    /// A shared secret: peer messages must carry an HMAC made with it.
    #[arg(long)]
    cluster_key: Option<String>,
}

/// A Raft KV server's one-line status, as `coord stats` prints it.
pub fn describe(state: &RaftState<KvStore>) -> String {
    let role = match state.role {
        Role::Follower { .. } => "follower",
        Role::Candidate { .. } => "candidate",
        Role::Leader(_) => "leader",
    };
    format!(
        "role={role} term={} last={} commit={} applied={}",
        state.term,
        state.last_index(),
        state.commit,
        state.replica.applied
    )
}

pub fn run(args: &NodeArgs) -> Result<bool, String> {
    logging::init();
    let config = ClusterConfig::load(&args.config)?;
    if config.system != "kv" {
        return Err(format!(
            "system {:?} cannot run yet (only kv)",
            config.system
        ));
    }
    let Some(&addr) = config.members.get(args.id) else {
        return Err(format!(
            "no member {} in {}",
            args.id,
            args.config.display()
        ));
    };
    let ids = config.ids();
    let me = ids[args.id];
    let peers: Vec<_> = ids
        .iter()
        .zip(&config.members)
        .filter(|(&id, _)| id != me)
        .map(|(&id, &a)| (id, SocketAddr::from(a)))
        .collect();
    let bug = (config.bug.as_deref())
        .map(|name| RaftBug::named(name).ok_or(format!("no Raft bug named {name:?}")))
        .transpose()?;
    if let Some(bug) = bug {
        tracing::warn!(?bug, "running with a deliberate bug");
    }
    let server = KvServer::new(
        peers.iter().map(|p| p.0).collect(),
        config.election_timeout(),
    )
    .with_heartbeat(config.heartbeat())
    .with_max_batch(MAX_BATCH)
    .with_bug(bug);
    let endpoint = Endpoint {
        id: me,
        bind: SocketAddr::from(addr),
        peers,
        key: args.cluster_key.as_deref().map(ClusterKey::new),
        data: Some(config.node_dir(args.id)),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .map_err(|e| format!("cannot handle signals: {e}"))?;
    let mut runtime =
        Runtime::start(server, endpoint, describe).map_err(|e| format!("node {addr}: {e}"))?;
    let outcome = runtime.run(&stop, None, |_| false, |_, _| {});
    // One write, so that nodes stopping together do not interleave their lines.
    let report = format!(
        "node {} ({addr}) stopping: {}\n{}",
        args.id,
        describe(runtime.state()),
        runtime.stats()
    );
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush());
    match outcome {
        Ok(Outcome::Stopped) => Ok(true),
        Ok(other) => Err(format!("node {addr} stopped unexpectedly: {other:?}")),
        Err(e) => Err(format!("node {addr} cannot save its state: {e}")),
    }
}
