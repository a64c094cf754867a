//! A coord zk cluster started exactly as a user starts one, `coord cluster up zk`, on
//! free ports, and driven from outside as a ZooKeeper ensemble is: its connect string
//! and member pids read from what the command prints, a member stopped by its pid and
//! started again as `coord node --config FILE --id I`. Everything it started is stopped
//! when it is dropped (on success, error or panic alike); every wait is bounded.

use crate::members::Members;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long `cluster up` may take to print its cluster, and each member to serve.
const START_WAIT: Duration = Duration::from_secs(60);
/// How long a member may take to exit once signalled.
const STOP_WAIT: Duration = Duration::from_secs(10);
/// Client connections a member accepts from one address: kazoo's and the other suites'
/// clients all come from 127.0.0.1 (the ZooKeeper ensemble here sets no limit).
const MAX_CLIENT_CNXNS: usize = 10_000;

/// A running `coord cluster up zk` and the members started again since.
pub struct CoordZkCluster {
    exe: PathBuf,
    up: Child,
    config: PathBuf,
    data: tempfile::TempDir,
    client_addrs: Vec<SocketAddr>,
    /// The pid of each member `cluster up` started, until it is stopped.
    first: Vec<Option<u32>>,
    /// Members started again by this cluster, as its own children.
    again: Vec<Option<Child>>,
}

impl CoordZkCluster {
    /// Runs `exe cluster up zk --nodes NODES` on free ports and waits until every member
    /// serves clients.
    pub fn start(exe: &Path, nodes: usize) -> Result<CoordZkCluster, String> {
        let data = (tempfile::Builder::new().prefix("coord-zk-").tempdir())
            .map_err(|e| format!("cannot make a directory for the cluster: {e}"))?;
        // One run of ports for both: two separate searches can return the same base, and
        // a member's peer port also takes TCP (large entries), so the two must not meet.
        let peer_base = consecutive_free_ports(2 * nodes)?;
        let client_base = peer_base + nodes as u16;
        let mut up = Command::new(exe)
            .args(["cluster", "up", "zk", "--nodes", &nodes.to_string()])
            .args(["--base-port", &peer_base.to_string()])
            .args(["--client-port-base", &client_base.to_string()])
            .args(["--max-client-cnxns", &MAX_CLIENT_CNXNS.to_string()])
            .arg("--data")
            .arg(data.path())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let printed = read_cluster(up.stdout.take().expect("stdout is piped"), nodes);
        let (first, connect, config) = match printed {
            Ok(printed) => printed,
            Err(e) => {
                let _ = up.kill();
                let _ = up.wait();
                return Err(e);
            }
        };
        let client_addrs = (connect.split(','))
            .map(|a| {
                a.parse()
                    .map_err(|e| format!("connect string {connect:?}: {e}"))
            })
            .collect::<Result<Vec<SocketAddr>, String>>()?;
        let cluster = CoordZkCluster {
            exe: exe.to_path_buf(),
            up,
            config,
            data,
            client_addrs,
            first: first.into_iter().map(Some).collect(),
            again: (0..nodes).map(|_| None).collect(),
        };
        for i in 0..nodes {
            cluster.wait_serving(i, START_WAIT)?;
        }
        Ok(cluster)
    }

    /// The directory of the cluster file, the members' data and their logs.
    pub fn dir(&self) -> &Path {
        self.data.path()
    }
}

/// What `cluster up` prints before it serves: each member's pid (`node I: ADDR (pid P)`),
/// the connect string (`connect: ...`) and the cluster file (`config: ...`). The rest
/// of its output is passed on by a thread, so that the command never blocks on it.
fn read_cluster(stdout: ChildStdout, nodes: usize) -> Result<(Vec<u32>, String, PathBuf), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("[cluster up] {line}");
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + START_WAIT;
    let (mut pids, mut connect) = (Vec::new(), None);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = (rx.recv_timeout(left))
            .map_err(|_| "`coord cluster up zk` did not print its cluster".to_string())?;
        if let Some(pid) = line.strip_prefix("node ").and_then(pid_of) {
            pids.push(pid);
        } else if let Some(c) = line.strip_prefix("connect: ") {
            connect = Some(c.trim().to_string());
        } else if let Some(config) = line.strip_prefix("config: ") {
            let connect = connect.ok_or("`coord cluster up zk` printed no connect string")?;
            if pids.len() != nodes {
                return Err(format!("`coord cluster up zk` started {pids:?}"));
            }
            return Ok((pids, connect, PathBuf::from(config.trim())));
        }
    }
}

/// The pid in `I: ADDR (pid P)`.
fn pid_of(line: &str) -> Option<u32> {
    line.split("(pid ").nth(1)?.strip_suffix(')')?.parse().ok()
}

impl Members for CoordZkCluster {
    fn count(&self) -> usize {
        self.client_addrs.len()
    }

    fn client_addr(&self, i: usize) -> SocketAddr {
        self.client_addrs[i]
    }

    /// `kill -9`, as a crash: a coord node keeps every acknowledged write on disk.
    fn stop(&mut self, i: usize) -> Result<(), String> {
        if let Some(mut child) = self.again[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(pid) = self.first[i].take().filter(|&pid| is_member(pid, i)) {
            // SAFETY: kill(2) on the pid `cluster up` printed for member i, still that
            // member (a pid is not reused before its parent reaps it).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let deadline = Instant::now() + STOP_WAIT;
            // Gone once `cluster up` has reaped it (it looks twice a second).
            while unsafe { libc::kill(pid as libc::pid_t, 0) } == 0 {
                if Instant::now() > deadline {
                    return Err(format!("member {i} (pid {pid}) did not exit"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    fn start(&mut self, i: usize) -> Result<(), String> {
        if self.first[i].is_some() || self.again[i].is_some() {
            return Ok(());
        }
        let log = self.data.path().join(format!("node-{i}-again.log"));
        let log = (std::fs::OpenOptions::new().create(true).append(true))
            .open(&log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let copy = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&self.exe)
            .args(["node", "--id", &i.to_string(), "--config"])
            .arg(&self.config)
            .stdout(log)
            .stderr(copy)
            .spawn()
            .map_err(|e| format!("cannot start member {i}: {e}"))?;
        self.again[i] = Some(child);
        Ok(())
    }
}

/// Whether process `pid` is member `i` of a cluster (`coord node --id I`), and not
/// another process that was given the pid of a member that exited by itself.
fn is_member(pid: u32, i: usize) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let id = i.to_string();
    args.windows(2)
        .any(|w| w[0] == b"--id" && w[1] == id.as_bytes())
        && args.contains(&&b"node"[..])
}

/// Ctrl-C for `cluster up`, which stops its members; then whatever is left is killed.
impl Drop for CoordZkCluster {
    fn drop(&mut self) {
        for child in self.again.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.up.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + STOP_WAIT;
        while matches!(self.up.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.up.kill();
        let _ = self.up.wait();
    }
}

/// The first of `n` consecutive ports on 127.0.0.1, each free for both TCP and UDP a
/// moment ago (`cluster up` numbers its members' ports from a base).
pub fn consecutive_free_ports(n: usize) -> Result<u16, String> {
    for _ in 0..100 {
        let base = (TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
            .port();
        let free = (0..n).all(|i| {
            let Some(port) = u16::try_from(i).ok().and_then(|i| base.checked_add(i)) else {
                return false;
            };
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
                && UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        });
        if free {
            return Ok(base);
        }
    }
    Err(format!("no {n} consecutive free ports on 127.0.0.1"))
}
