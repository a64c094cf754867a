//! `coord node`: one member of a cluster described by a config file, in the foreground
//! until SIGINT or SIGTERM, when it prints its counters. Which server it runs is the
//! cluster's system's business (`system.rs`); this is what every node shares.

use crate::logging;
use crate::system::System;
use coord::net::admit::{Admit, ServersOf};
use coord::net::config::ClusterConfig;
use coord::net::door::{Door, NoDoor};
use coord::net::durable::Durable;
use coord::net::frame::ClusterKey;
use coord::net::runtime::Describe;
use coord::net::{Endpoint, Outcome, Runtime};
use serde::{de::DeserializeOwned, Serialize};
use stateright::actor::{Actor, Id};
use std::io::Write;
use std::net::{SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct NodeArgs {
    /// The cluster's config file (system, members, data directory, timeouts).
    #[arg(long)]
    config: PathBuf,
    /// Which member this is: an index into the config's members.
    #[arg(long)]
    id: usize,
    /// A shared secret: peer messages must carry an HMAC made with it.
    #[arg(long)]
    cluster_key: Option<String>,
}

pub fn run(args: &NodeArgs) -> Result<bool, String> {
    logging::init();
    let config = ClusterConfig::load(&args.config)?;
    let system = System::named(&config.system)?;
    let Some(&addr) = config.members.get(args.id) else {
        return Err(format!(
            "no member {} in {}",
            args.id,
            args.config.display()
        ));
    };
    if config.removed.contains(&args.id) {
        return Err(format!(
            "member {} was removed from the cluster of {}",
            args.id,
            args.config.display()
        ));
    }
    let member = Member::new(&config, args.id, addr, args.cluster_key.as_deref());
    system.serve(&config, member)
}

/// One member of a cluster: where it listens, whom it trusts, where it keeps its data.
pub struct Member {
    index: usize,
    addr: SocketAddrV4,
    endpoint: Endpoint,
    /// The cluster key's text, if the cluster has one.
    secret: Option<String>,
    /// Where the process writes its pid while it runs.
    pid_file: PathBuf,
}

impl Member {
    fn new(config: &ClusterConfig, index: usize, addr: SocketAddrV4, key: Option<&str>) -> Self {
        let me = Id::from(addr);
        let peers = (config.without_removed().members.into_iter())
            .map(|a| (Id::from(a), SocketAddr::from(a)))
            .filter(|&(id, _)| id != me)
            .collect();
        let endpoint = Endpoint {
            id: me,
            bind: SocketAddr::from(addr),
            peers,
            key: key.map(ClusterKey::new),
            data: Some(config.node_dir(index)),
        };
        Member {
            index,
            addr,
            endpoint,
            secret: key.map(str::to_string),
            pid_file: config.pid_file(index),
        }
    }

    /// The key of the znode service's session passwords: the cluster key, or the same
    /// fixed text on every member of a cluster without one (whose passwords then guard
    /// nothing against someone who knows the session id, as without a key peers are not
    /// authenticated either).
    pub fn session_secret(&self) -> Vec<u8> {
        self.secret
            .as_deref()
            .unwrap_or("coord")
            .as_bytes()
            .to_vec()
    }

    /// Which member this is: its index in the cluster file.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The other members' actor ids (those the cluster file names, removed ones left out).
    pub fn peer_ids(&self) -> Vec<Id> {
        self.endpoint.peers.iter().map(|p| p.0).collect()
    }

    /// Runs `server` here until SIGINT or SIGTERM, then prints its status and counters.
    pub fn serve<A>(self, server: A, describe: Describe<A>) -> Result<bool, String>
    where
        A: Actor,
        A::Msg: Admit + Serialize + DeserializeOwned,
        A::Storage: Durable,
    {
        self.serve_with_door(server, describe, NoDoor, None)
    }

    /// [`Member::serve`] with a front door on the same event loop, and with the servers
    /// the actor names as its peers too, if `servers_of` is given (see
    /// [`coord::net::admit::PeerTable`]).
    pub fn serve_with_door<A, D>(
        self,
        server: A,
        describe: Describe<A>,
        door: D,
        servers_of: Option<ServersOf<A>>,
    ) -> Result<bool, String>
    where
        A: Actor,
        A::Msg: Admit + Serialize + DeserializeOwned,
        A::Storage: Durable,
        D: Door<A>,
    {
        let (index, addr) = (self.index, self.addr);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
            .map_err(|e| format!("cannot handle signals: {e}"))?;
        let mut runtime = Runtime::with_door(server, self.endpoint, describe, door)
            .map_err(|e| format!("node {addr}: {e}"))?;
        if let Some(servers_of) = servers_of {
            runtime = runtime.with_servers(servers_of);
        }
        let pid = std::process::id().to_string();
        std::fs::write(&self.pid_file, pid + "\n")
            .map_err(|e| format!("{}: {e}", self.pid_file.display()))?;
        let outcome = runtime.run(&stop, None, |_| false, |_, _| {});
        let _ = std::fs::remove_file(&self.pid_file);
        // One write, so that nodes stopping together do not interleave their lines.
        let report = format!(
            "node {index} ({addr}) stopping: {}\n{}",
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
}
