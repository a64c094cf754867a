//! The node processes of a local cluster: `coord node --config FILE --id I` started as
//! children of this process, each killed or started again on demand, and all of them
//! stopped when the set is dropped (on success, error, panic or Ctrl-C alike); and any
//! member's process stopped by the pid it wrote, whoever started it.

use coord::net::config::ClusterConfig;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a node may take to stop after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(3);

/// The nodes of one cluster file, running or not.
pub struct Nodes {
    exe: PathBuf,
    config: PathBuf,
    key: Option<String>,
    /// Where node `i` appends its output (`node-i.log`); `None`: this process's output.
    logs: Option<PathBuf>,
    children: Vec<Option<Child>>,
}

impl Nodes {
    /// `count` nodes of the cluster file `config`, none started yet.
    pub fn new(
        config: &Path,
        count: usize,
        key: Option<String>,
        logs: Option<PathBuf>,
    ) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find coord itself: {e}"))?;
        Ok(Nodes {
            exe,
            config: config.to_path_buf(),
            key,
            logs,
            children: (0..count).map(|_| None).collect(),
        })
    }

    /// Starts node `i` from whatever its data directory holds; returns its pid.
    pub fn start(&mut self, i: usize) -> Result<u32, String> {
        assert!(!self.running(i), "node {i} is already running");
        let mut command = Command::new(&self.exe);
        command
            .arg("node")
            .arg("--config")
            .arg(&self.config)
            .arg("--id")
            .arg(i.to_string());
        if let Some(key) = &self.key {
            command.arg("--cluster-key").arg(key);
        }
        if let Some(dir) = &self.logs {
            let log = append(&dir.join(format!("node-{i}.log")))?;
            let copy = log.try_clone().map_err(|e| e.to_string())?;
            command.stdout(Stdio::from(log)).stderr(Stdio::from(copy));
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start node {i}: {e}"))?;
        let pid = child.id();
        self.children[i] = Some(child);
        Ok(pid)
    }

    /// Lets node `i` run on after this set is dropped (a member added to a cluster that
    /// another process runs); false if it was not running.
    pub fn release(&mut self, i: usize) -> bool {
        self.children[i].take().is_some()
    }

    /// `kill -9` node `i` and reap it; false if it was not running.
    pub fn kill(&mut self, i: usize) -> bool {
        let Some(mut child) = self.children[i].take() else {
            return false;
        };
        let _ = child.kill();
        let _ = child.wait();
        true
    }

    /// Stops node `i`'s process (SIGSTOP) until [`Nodes::resume`].
    pub fn pause(&self, i: usize) {
        self.signal(i, libc::SIGSTOP);
    }

    /// Lets a paused node `i` go on (SIGCONT).
    pub fn resume(&self, i: usize) {
        self.signal(i, libc::SIGCONT);
    }

    fn signal(&self, i: usize, signal: libc::c_int) {
        if let Some(child) = &self.children[i] {
            // SAFETY: kill(2) on a child's pid has no memory effects.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        }
    }

    pub fn running(&self, i: usize) -> bool {
        self.children[i].is_some()
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// The nodes that exited by themselves since the last call, with their exit status;
    /// they count as not running from now on.
    pub fn reap(&mut self) -> Vec<(usize, ExitStatus)> {
        let mut exited = Vec::new();
        for (i, slot) in self.children.iter_mut().enumerate() {
            if let Some(Ok(Some(status))) = slot.as_mut().map(Child::try_wait) {
                exited.push((i, status));
                *slot = None;
            }
        }
        exited
    }
}

/// Stops member `i` of the cluster whose file is `config` (read as `cluster`), whoever
/// started it, by the pid its process wrote ([`ClusterConfig::pid_file`]): SIGTERM, then
/// SIGKILL after a grace time. The pid it stopped; `None` if no process of that member ran.
pub fn stop_member(cluster: &ClusterConfig, config: &Path, i: usize) -> Option<u32> {
    let pid_file = cluster.pid_file(i);
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if !runs_member(pid, config, i) {
        return None;
    }
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        if !runs_member(pid, config, i) {
            break;
        }
        // SAFETY: kill(2) on a pid that runs our node has no memory effects.
        unsafe { libc::kill(pid as libc::pid_t, signal) };
        let deadline = Instant::now() + GRACE;
        while runs_member(pid, config, i) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = std::fs::remove_file(&pid_file);
    Some(pid)
}

/// Whether process `pid` is alive and runs `coord node --config CONFIG --id I` (a pid
/// file may outlive its process, and the pid be taken by another; a zombie's command
/// line is empty).
fn runs_member(pid: u32, config: &Path, i: usize) -> bool {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let Ok(cmdline) = std::fs::read(proc.join("cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let after = |flag: &str| {
        (args.windows(2))
            .find(|w| w[0] == flag.as_bytes())
            .map(|w| String::from_utf8_lossy(w[1]).to_string())
    };
    let same_file = |given: String| {
        let given = proc.join("cwd").join(given);
        given.canonicalize().ok() == config.canonicalize().ok()
    };
    args.get(1) == Some(&b"node".as_slice())
        && after("--id") == Some(i.to_string())
        && after("--config").is_some_and(same_file)
}

fn append(path: &Path) -> Result<File, String> {
    (OpenOptions::new().create(true).append(true).open(path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Stops every node still running: SIGTERM, so that each prints its counters, then
/// SIGKILL after a grace time.
impl Drop for Nodes {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.signal(i, libc::SIGTERM);
            // A paused node must go on to act on it.
            self.resume(i);
        }
        let deadline = Instant::now() + GRACE;
        for child in self.children.iter_mut().flatten() {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
