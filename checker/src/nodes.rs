//! The node processes of a local cluster: `coord node --config FILE --id I` started as
//! children of this process, each killed or started again on demand, and all of them
//! stopped when the set is dropped (on success, error, panic or Ctrl-C alike).

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
