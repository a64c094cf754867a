//! The fault injector of `coord test`. It alternates calm and trouble: after a calm spell
//! it injects one fault, holds it, and repairs it. Every fault hits a target: a member in
//! the role `--target` names, or in a role chosen at random for each fault. A fault is a
//! `kill -9` (repaired by starting the node again from its data directory, with
//! `restart`; otherwise the node stays down until the end), a partition that cuts the
//! target off from every other member, a pause (SIGSTOP, then SIGCONT) of the target, or
//! a failover pause: one that lasts only until the cluster has replaced the target. Rule
//! (one fault at a time, a minority of each group at most): a majority of each group of
//! members stays up and connected, so the service can go on. A Raft cluster is one group;
//! a chain's nodes are one and its manager's replicas another. At the end everything is
//! repaired: partitions healed, every node running.

use super::processes::Processes;
use super::progress::Progress;
use super::role::Role;
use super::subject::Subject;
use coord::net::admin::command;
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
/// How long a fault lasts before it is repaired, in seconds: well over an election, and
/// over the chain manager's failure detection.
const HOLD: Range<f64> = 2.0..4.0;
/// How long to wait for a node to answer a command or a stats request.
const ASK: Duration = Duration::from_secs(2);
/// How long after its replacement a failover pause lets the target go on, in seconds:
/// within a client's retry timeout, while the clients that waited on it move on.
const WAKE: Range<f64> = 0.0..0.2;
/// How often a failover pause asks whether the target has been replaced.
const WATCH: Duration = Duration::from_millis(20);

/// The kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Fault {
    /// `kill -9` the target.
    Kill,
    /// Start a killed node again from its data (without it a killed node stays down).
    Restart,
    /// Cut the target off from all the other members.
    Partition,
    /// Stop the target's process (SIGSTOP) and later let it go on (SIGCONT), as a long
    /// garbage-collection pause or a stalled disk would: it resumes where it stood, with
    /// whatever arrived meanwhile waiting in its socket.
    Pause,
    /// Stop the target's process only until the cluster has replaced it (another server
    /// leads, or the manager rebuilt the chain without it; at most the longest hold), and
    /// let it go on soon after: it wakes believing it still holds its role, with the
    /// requests of the clients that waited on it in its socket, as those clients move on.
    FailoverPause,
}

/// How many faults of each kind were injected.
#[derive(Clone, Copy, Debug, Default)]
pub struct Injected {
    pub kills: usize,
    pub restarts: usize,
    pub partitions: usize,
    pub pauses: usize,
    pub failover_pauses: usize,
}

/// The cluster as the injector sees it.
pub struct Nemesis<'a> {
    pub nodes: &'a mut dyn Processes,
    pub addrs: Vec<SocketAddr>,
    pub ids: Vec<Id>,
    pub key: Option<ClusterKey>,
    pub faults: BTreeSet<Fault>,
    /// The roles a fault may hit, one chosen at random for each fault.
    pub roles: Vec<Role>,
    pub progress: &'a Progress,
    pub injected: Injected,
    /// Nodes killed and not started again.
    down: BTreeSet<usize>,
    /// The node a partition cuts off, if one is in force.
    cut: Option<usize>,
    /// The node stopped by a pause, if one is.
    paused: Option<usize>,
}

impl<'a> Nemesis<'a> {
    pub fn new(
        nodes: &'a mut dyn Processes,
        addrs: Vec<SocketAddr>,
        key: Option<ClusterKey>,
        faults: BTreeSet<Fault>,
        roles: Vec<Role>,
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
            roles,
            progress,
            injected: Injected::default(),
            down: BTreeSet::new(),
            cut: None,
            paused: None,
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
        let groups = subject.groups(self.nodes.len());
        let minority = |group: &Range<usize>| group.len().saturating_sub(1) / 2;
        let faultable = groups.iter().any(|g| minority(g) > 0);
        if !kinds.is_empty() && !faultable {
            self.progress
                .line("no faults: a cluster of fewer than 3 nodes has no minority to fault");
        }
        while !kinds.is_empty() && faultable {
            let calm = pause(rng.random_range(CALM), end, stop);
            if !calm || Instant::now() + Duration::from_secs_f64(HOLD.start) > end {
                break;
            }
            // Killed nodes stay down without `restart`: a group with a minority down
            // has no room for another fault.
            let down = |g: &Range<usize>| self.down.iter().filter(|i| g.contains(i)).count();
            let up: Vec<usize> = (groups.iter())
                .filter(|g| down(g) < minority(g))
                .flat_map(|g| g.clone().filter(|i| !self.down.contains(i)))
                .collect();
            if up.is_empty() {
                continue;
            }
            let fault = kinds[rng.random_range(0..kinds.len())];
            let (target, held_role) = self.target(subject, &up, rng);
            let role = held_role.map_or("a random node", Role::describe);
            let held = match fault {
                Fault::Kill => {
                    self.kill(target, role);
                    pause(rng.random_range(HOLD), end, stop)
                }
                Fault::Partition => {
                    self.partition(target, role);
                    pause(rng.random_range(HOLD), end, stop)
                }
                Fault::Pause => {
                    self.stop(target, role, "stopped");
                    self.injected.pauses += 1;
                    pause(rng.random_range(HOLD), end, stop)
                }
                Fault::FailoverPause => {
                    self.stop(target, role, "stopped until it is replaced");
                    self.injected.failover_pauses += 1;
                    self.until_replaced(subject, target, held_role, end, stop)
                        && pause(rng.random_range(WAKE), end, stop)
                }
                Fault::Restart => unreachable!("not a fault of its own"),
            };
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

    /// The stats of every member (`None`: no answer), as `subject` asks for them, without
    /// asking the nodes that are down or stopped.
    fn stats<S: Subject>(&self, subject: &S) -> Vec<Option<StatsReply>> {
        let silent = |i: &usize| self.down.contains(i) || self.paused == Some(*i);
        (self.addrs.iter().enumerate())
            .map(|(i, &a)| match silent(&i) {
                true => None,
                false => subject.stats(a, ASK),
            })
            .collect()
    }

    /// A member of `up` in one of the target roles, with that role; a random one of `up`
    /// (role not known) if none holds it.
    fn target<S: Subject>(
        &self,
        subject: &S,
        up: &[usize],
        rng: &mut StdRng,
    ) -> (usize, Option<Role>) {
        let role = self.roles[rng.random_range(0..self.roles.len())];
        let holders: Vec<usize> = (subject.holders(&self.stats(subject), role).into_iter())
            .filter(|t| up.contains(t))
            .collect();
        match holders.is_empty() {
            false => (holders[rng.random_range(0..holders.len())], Some(role)),
            true => (up[rng.random_range(0..up.len())], None),
        }
    }

    /// `kill -9` node `victim`.
    fn kill(&mut self, victim: usize, role: &str) {
        self.nodes.kill(victim);
        self.down.insert(victim);
        self.injected.kills += 1;
        self.progress
            .line(&format!("fault: kill -9 node {victim} ({role})"));
    }

    /// Waits until the cluster has replaced the stopped node `target` in `role`, for at
    /// most the longest hold; false if `end` came first or `stop` was set.
    fn until_replaced<S: Subject>(
        &self,
        subject: &S,
        target: usize,
        role: Option<Role>,
        end: Instant,
        stop: &AtomicBool,
    ) -> bool {
        let since = Instant::now();
        let bound = since + Duration::from_secs_f64(HOLD.end);
        while !subject.replaced(&self.stats(subject), target, role) {
            if Instant::now() >= bound {
                self.progress.line(&format!(
                    "node {target} was not replaced within {} s",
                    HOLD.end
                ));
                return true;
            }
            if !pause(WATCH.as_secs_f64(), end, stop) {
                return false;
            }
        }
        let after = since.elapsed().as_secs_f64();
        self.progress
            .line(&format!("node {target} replaced after {after:.2} s"));
        true
    }

    /// Cuts node `cut` off from every other member: it drops all its peers, and each of
    /// them drops it.
    fn partition(&mut self, cut: usize, role: &str) {
        let others: Vec<Id> = (0..self.ids.len())
            .filter(|&i| i != cut)
            .map(|i| self.ids[i])
            .collect();
        self.progress.line(&format!(
            "fault: partition: node {cut} ({role}) cut off from the others"
        ));
        self.tell(cut, AdminCommand::Partition { peers: others });
        for i in (0..self.ids.len()).filter(|&i| i != cut && !self.down.contains(&i)) {
            let peers = vec![self.ids[cut]];
            self.tell(i, AdminCommand::Partition { peers });
        }
        self.injected.partitions += 1;
        self.cut = Some(cut);
    }

    /// Stops node `target`'s process.
    fn stop(&mut self, target: usize, role: &str, how: &str) {
        self.progress
            .line(&format!("fault: pause: node {target} ({role}) {how}"));
        self.nodes.pause(target);
        self.paused = Some(target);
    }

    /// Heals a partition, lets a paused node go on, and starts the killed nodes again if
    /// `restart`.
    fn repair(&mut self, restart: bool) -> Result<(), String> {
        if let Some(cut) = self.cut.take() {
            for i in (0..self.nodes.len()).filter(|&i| self.nodes.running(i)) {
                self.tell(i, AdminCommand::Heal);
            }
            self.progress
                .line(&format!("repair: the partition of node {cut} healed"));
        }
        if let Some(paused) = self.paused.take() {
            self.nodes.resume(paused);
            self.progress
                .line(&format!("repair: node {paused} goes on"));
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
