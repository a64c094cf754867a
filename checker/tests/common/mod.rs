//! A real cluster of `coord node` processes on 127.0.0.1 for integration tests: free
//! ports, a temporary data directory, the CLI as the client, and every process killed
//! when the cluster is dropped. Every wait is bounded; nothing asserts wall-clock times.
// Each test binary uses its own part of these helpers.
#![allow(dead_code)]

pub mod coord_test;

use coord::net::admin::request_stats;
use coord::net::config::ClusterConfig;
use coord::net::stats::StatsReply;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const COORD: &str = env!("CARGO_BIN_EXE_coord");
/// Generous bounds for a loaded machine: how long a client keeps trying, and how long a
/// test waits for the cluster to reach a state.
pub const CLIENT_TIMEOUT: &str = "30";
pub const WAIT: Duration = Duration::from_secs(60);

/// `n` distinct UDP ports on 127.0.0.1 that were free a moment ago.
pub fn free_ports(n: usize) -> Vec<u16> {
    let sockets: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap())
        .collect();
    sockets
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect()
}

/// The first of `n` consecutive UDP ports on 127.0.0.1 that were free a moment ago (for
/// `cluster up --base-port`), found by trying bases that ephemeral ports point at.
pub fn consecutive_free_ports(n: u16) -> u16 {
    for _ in 0..100 {
        let base = free_ports(1)[0];
        let Some(top) = base.checked_add(n - 1) else {
            continue;
        };
        let bound: Vec<_> = (base..=top)
            .filter_map(|p| UdpSocket::bind((Ipv4Addr::LOCALHOST, p)).ok())
            .collect();
        if bound.len() == usize::from(n) {
            return base;
        }
    }
    panic!("no {n} consecutive free ports");
}

/// A `coord cluster up` process: interrupted (then killed if need be) when dropped.
pub struct ClusterUp(pub Child);

impl ClusterUp {
    /// Sends the process SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGINT) };
    }

    /// Waits for the process to exit; true if it exited successfully within `WAIT`.
    pub fn wait(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for ClusterUp {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.interrupt();
            self.wait();
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A running cluster; dropping it kills every node.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub addrs: Vec<SocketAddrV4>,
    key: Option<String>,
    nodes: Vec<Option<Child>>,
}

impl Cluster {
    /// A KV cluster of `n` nodes.
    pub fn start(n: usize, key: Option<&str>) -> Cluster {
        Cluster::start_with("kv", n, key, |_| {})
    }

    /// A cluster of `n` nodes running `system`, its config changed by `tweak` first.
    pub fn start_with(
        system: &str,
        n: usize,
        key: Option<&str>,
        tweak: impl FnOnce(&mut ClusterConfig),
    ) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let addrs: Vec<SocketAddrV4> = free_ports(n)
            .into_iter()
            .map(|p| SocketAddrV4::new(Ipv4Addr::LOCALHOST, p))
            .collect();
        let config = dir.path().join("cluster.json");
        let mut cluster_config = ClusterConfig::new(system, addrs.clone(), dir.path().into());
        tweak(&mut cluster_config);
        cluster_config.save(&config).unwrap();
        let mut cluster = Cluster {
            dir,
            config,
            addrs,
            key: key.map(str::to_string),
            nodes: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            cluster.start_node(i);
        }
        cluster
    }

    /// Starts node `i` (again), from whatever its data directory holds.
    pub fn start_node(&mut self, i: usize) {
        assert!(self.nodes[i].is_none(), "node {i} is running");
        let log = File::create(self.dir.path().join(format!("node-{i}.log"))).unwrap();
        let mut command = Command::new(COORD);
        command
            .args(["node", "--id", &i.to_string(), "--config"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(key) = &self.key {
            command.args(["--cluster-key", key]);
        }
        self.nodes[i] = Some(command.spawn().unwrap());
    }

    /// `kill -9` node `i`.
    pub fn kill(&mut self, i: usize) {
        let mut node = self.nodes[i].take().expect("node is running");
        node.kill().unwrap();
        node.wait().unwrap();
    }

    pub fn addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from(self.addrs[i])
    }

    /// Runs `coord ARGS --config FILE`, with the generous client timeout unless ARGS
    /// name one.
    pub fn coord(&self, args: &[&str]) -> Output {
        self.client(args).output().unwrap()
    }

    /// `coord ARGS --config FILE` (with the generous client timeout unless ARGS name
    /// one), to run or spawn.
    pub fn client(&self, args: &[&str]) -> Command {
        let mut command = Command::new(COORD);
        command.args(args).arg("--config").arg(&self.config);
        if !args.contains(&"--timeout") {
            command.args(["--timeout", CLIENT_TIMEOUT]);
        }
        command
    }

    /// Runs `coord ARGS` against node `i` alone (`--cluster ADDR`).
    pub fn coord_at(&self, i: usize, args: &[&str]) -> Output {
        let mut command = Command::new(COORD);
        command
            .args(args)
            .args(["--cluster", &self.addrs[i].to_string()]);
        if !args.contains(&"--timeout") {
            command.args(["--timeout", CLIENT_TIMEOUT]);
        }
        command.output().unwrap()
    }

    /// `coord kv put`, which must succeed; returns what it printed.
    pub fn put(&self, key: &str, value: &str) -> String {
        expect_ok(self.coord(&["kv", "put", key, value]))
    }

    /// `coord kv get`, which must succeed; returns what it printed.
    pub fn get(&self, key: &str) -> String {
        expect_ok(self.coord(&["kv", "get", key]))
    }

    /// Node `i`'s counters and status, if it answers.
    pub fn stats(&self, i: usize) -> Option<StatsReply> {
        request_stats(self.addr(i), Duration::from_secs(2)).ok()
    }

    /// A field of a status line such as `role=leader term=2 ...`.
    pub fn field(status: &str, name: &str) -> Option<String> {
        status
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    }

    /// Waits until `check` holds for node `i`'s status; panics after `WAIT`.
    pub fn wait_for(&self, i: usize, what: &str, check: impl Fn(&StatsReply) -> bool) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if self.stats(i).is_some_and(|s| check(&s)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "node {i}: {what} did not happen; last status {:?}",
            self.stats(i)
        );
    }

    /// The running node that says it leads the highest term; waits for one.
    pub fn leader(&self) -> usize {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let leader = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].is_some())
                .filter_map(|i| Some((i, self.stats(i)?.status)))
                .filter(|(_, s)| Self::field(s, "role").as_deref() == Some("leader"))
                .max_by_key(|(_, s)| Self::field(s, "term").and_then(|t| t.parse::<u64>().ok()));
            if let Some((i, _)) = leader {
                return i;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no leader within {WAIT:?}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in self.nodes.iter_mut().flatten() {
            let _ = node.kill();
            let _ = node.wait();
        }
    }
}

/// A client process started in the background, its output piped; killed when dropped
/// unless it was finished.
pub struct Background(Option<Child>);

impl Background {
    pub fn spawn(mut command: Command) -> Background {
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Background(Some(child))
    }

    /// The process's stdout, to read as it runs.
    pub fn stdout(&mut self) -> std::process::ChildStdout {
        let child = self.0.as_mut().expect("running");
        child.stdout.take().expect("stdout not taken yet")
    }

    /// Sends the process SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let child = self.0.as_ref().expect("running");
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    }

    /// Waits for the process to end (its own timeouts bound the wait); its output.
    pub fn finish(mut self) -> Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The command's stdout; panics with its stderr if it failed.
pub fn expect_ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "coord failed ({}): {stdout}{stderr}",
        out.status
    );
    stdout
}
