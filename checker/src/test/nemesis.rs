//! The fault injector of `coord test`. It alternates calm and trouble: after a calm spell
//! it injects one fault, holds it, and repairs it. A fault is a `kill -9` of a random node
//! (repaired by starting it again from its data directory, with `restart`; otherwise the
//! node stays down until the end), or a partition that cuts the leader (any node if no
//! leader answers) off from every other node. Rule (one fault at a time, a minority at
//! most): a majority stays up and connected, so the service can go on. At the end
//! everything is repaired: partitions healed, every node running.

use super::progress::Progress;
use super::subject::Subject;
use crate::nodes::Nodes;
use coord::net::admin::{command, request_stats};
use coord::net::frame::ClusterKey;
use coord::net::partition::AdminCommand;
use coord::net::stats::StatsReply;
use rand::rngs::StdRng;
use rand::Rng;
use stateright::actor::Id;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the cluster is left alone between faults, in seconds.
const CALM: Range<f64> = 1.0..2.0;
/// How long a fault lasts before it is repaired, in seconds: well over an election.
const HOLD: Range<f64> = 2.0..4.0;
/// How long to wait for a node to answer a command or a stats request.
const ASK: Duration = Duration::from_secs(2);

/// The kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Fault {
    /// `kill -9` a node.
    Kill,
    /// Start a killed node again from its data (without it a killed node stays down).
    Restart,
    /// Cut a node (the leader, if one answers) off from all the others.
    Partition,
}

/// How many faults of each kind were injected.
#[derive(Clone, Copy, Debug, Default)]
pub struct Injected {
    pub kills: usize,
    pub restarts: usize,
    pub partitions: usize,
}

/// The cluster as the injector sees it.
pub struct Nemesis<'a> {
    pub nodes: &'a mut Nodes,
    pub addrs: Vec<SocketAddr>,
    pub ids: Vec<Id>,
    pub key: Option<ClusterKey>,
    pub faults: BTreeSet<Fault>,
    pub progress: &'a Progress,
    pub injected: Injected,
    /// Nodes killed and not started again.
    down: BTreeSet<usize>,
    /// Whether a partition is in force.
    partitioned: bool,
}

impl<'a> Nemesis<'a> {
    pub fn new(
        nodes: &'a mut Nodes,
        addrs: Vec<SocketAddr>,
        key: Option<ClusterKey>,
        faults: BTreeSet<Fault>,
        progress: &'a Progress,
    ) -> Self {
        let ids = (addrs.iter())
            .map(|a| match a {
                SocketAddr::V4(v4) => Id::from(*v4),
                SocketAddr::V6(_) => unreachable!("members are IPv4"),
            })
            .collect();
        Nemesis {
            nodes,
            addrs,
            ids,
            key,
            faults,
            progress,
            injected: Injected::default(),
            down: BTreeSet::new(),
            partitioned: false,
        }
    }

    /// Injects faults until `end` or `stop`, then repairs everything.
    pub fn run<S: Subject>(
        &mut self,
        subject: &S,
        rng: &mut StdRng,
        end: Instant,
        stop: &AtomicBool,
    ) -> Result<(), String> {
        let kinds: Vec<Fault> = (self.faults.iter().copied())
            .filter(|&f| f != Fault::Restart)
            .collect();
        let minority = (self.nodes.len() - 1) / 2;
        if !kinds.is_empty() && minority == 0 {
            self.progress
                .line("no faults: a cluster of fewer than 3 nodes has no minority to fault");
        }
        while !kinds.is_empty() && minority > 0 {
            let calm = pause(rng.random_range(CALM), end, stop);
            if !calm || Instant::now() + Duration::from_secs_f64(HOLD.start) > end {
                break;
            }
            if self.down.len() >= minority {
                // Killed nodes stay down without `restart`: no room for another fault.
                continue;
            }
            match kinds[rng.random_range(0..kinds.len())] {
                Fault::Kill => self.kill(rng),
                Fault::Partition => self.partition(subject, rng),
                Fault::Restart => unreachable!("not a fault of its own"),
            }
            let held = pause(rng.random_range(HOLD), end, stop);
            self.repair(self.faults.contains(&Fault::Restart))?;
            if !held {
                break;
            }
        }
        if !stop.load(Ordering::Relaxed) {
            self.repair(true)?;
        }
        Ok(())
    }

    /// `kill -9` a random running node.
    fn kill(&mut self, rng: &mut StdRng) {
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|i| !self.down.contains(i))
            .collect();
        let victim = up[rng.random_range(0..up.len())];
        self.nodes.kill(victim);
        self.down.insert(victim);
        self.injected.kills += 1;
        self.progress.line(&format!("fault: kill -9 node {victim}"));
    }

    /// Cuts the leader (a random running node if none answers) off from every other node:
    /// it drops all its peers, and each of them drops it.
    fn partition<S: Subject>(&mut self, subject: &S, rng: &mut StdRng) {
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|i| !self.down.contains(i))
            .collect();
        let stats: Vec<(usize, StatsReply)> = (up.iter())
            .filter_map(|&i| Some((i, request_stats(self.addrs[i], ASK).ok()?)))
            .collect();
        let leader = stats
            .iter()
            .find(|(_, s)| subject.leads(s))
            .map(|&(i, _)| i);
        let cut = leader.unwrap_or_else(|| up[rng.random_range(0..up.len())]);
        let others: Vec<Id> = (0..self.ids.len())
            .filter(|&i| i != cut)
            .map(|i| self.ids[i])
            .collect();
        let role = if leader.is_some() {
            " (the leader)"
        } else {
            ""
        };
        self.progress.line(&format!(
            "fault: partition: node {cut}{role} cut off from the others"
        ));
        self.tell(cut, AdminCommand::Partition { peers: others });
        for &i in up.iter().filter(|&&i| i != cut) {
            self.tell(
                i,
                AdminCommand::Partition {
                    peers: vec![self.ids[cut]],
                },
            );
        }
        self.injected.partitions += 1;
        self.partitioned = true;
    }

    /// Heals every partition, and starts the killed nodes again if `restart`.
    fn repair(&mut self, restart: bool) -> Result<(), String> {
        if std::mem::take(&mut self.partitioned) {
            for i in (0..self.nodes.len()).filter(|i| !self.down.contains(i)) {
                self.tell(i, AdminCommand::Heal);
            }
            self.progress.line("repair: partition healed");
        }
        if restart {
            for i in std::mem::take(&mut self.down) {
                self.nodes.start(i)?;
                self.injected.restarts += 1;
                self.progress
                    .line(&format!("repair: node {i} started again from its data"));
            }
        }
        Ok(())
    }

    /// Sends `what` to node `i` until it acknowledges; says so if it does not (a node
    /// that stopped answering is itself a finding, and the run goes on).
    fn tell(&self, i: usize, what: AdminCommand) {
        if let Err(e) = command(self.addrs[i], &what, self.key.as_ref(), ASK) {
            self.progress
                .line(&format!("node {i} did not take the command {what:?}: {e}"));
        }
    }
}

/// Sleeps `seconds` in short steps; false if `end` came first or `stop` was set.
fn pause(seconds: f64, end: Instant, stop: &AtomicBool) -> bool {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < until {
        if stop.load(Ordering::Relaxed) || Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}
