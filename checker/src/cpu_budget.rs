//! A fixed CPU budget per process: each process confined to a cgroup of its own whose CFS
//! quota lets it run a given share of one core per period, however many cores are idle.
//! On a machine of few cores every node of a local cluster otherwise competes for the
//! same cores, so the machine, not a node, is the bottleneck, and a protocol that spreads
//! work over more nodes (CRAQ's reads) cannot show that it scales. Linux's cgroup v1 `cpu`
//! controller, writable by this process (as root), is needed; where it is missing the
//! budget says so and nothing runs.

use std::fs;
use std::path::{Path, PathBuf};

/// Where the cgroup v1 `cpu` controller is mounted.
const ROOT: &str = "/sys/fs/cgroup/cpu";
/// The CFS period, in microseconds: the quota is a share of it.
const PERIOD_US: u32 = 100_000;

/// The groups made for one run, removed (once their processes are gone) when dropped.
pub struct CpuBudget {
    /// The share of one core each process may use, in percent.
    percent: u32,
    groups: Vec<PathBuf>,
}

impl CpuBudget {
    /// A budget of `percent` of one core per process, if the `cpu` controller lets this
    /// process make groups; otherwise an error that says what is missing.
    pub fn new(percent: u32) -> Result<Self, String> {
        let root = Path::new(ROOT);
        if !root.join("cpu.cfs_quota_us").exists() {
            return Err(format!(
                "no cgroup v1 cpu controller at {ROOT} (cpu.cfs_quota_us): --cpu-quota \
                 needs one, writable by this process (as root); without it every node \
                 shares the machine's cores"
            ));
        }
        let mut budget = CpuBudget {
            percent,
            groups: Vec::new(),
        };
        // Make (and later remove) one group now, so that a controller this process may
        // not write is reported before any cluster starts.
        budget.group("probe")?;
        Ok(budget)
    }

    /// Confines process `pid`, and the threads it starts, to a group of its own named
    /// after `name`, with the budget's quota.
    pub fn confine(&mut self, name: &str, pid: u32) -> Result<(), String> {
        let group = self.group(name)?;
        write(&group.join("cgroup.procs"), &pid.to_string())
    }

    /// A new group with the budget's quota.
    fn group(&mut self, name: &str) -> Result<PathBuf, String> {
        let group = Path::new(ROOT).join(format!("coord-{}-{name}", std::process::id()));
        fs::create_dir_all(&group).map_err(|e| {
            format!(
                "cannot make the cgroup {} ({e}): --cpu-quota needs the cgroup v1 cpu \
                 controller writable by this process (as root)",
                group.display()
            )
        })?;
        self.groups.push(group.clone());
        let quota = u64::from(PERIOD_US) * u64::from(self.percent) / 100;
        write(&group.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
        write(&group.join("cpu.cfs_quota_us"), &quota.to_string())?;
        Ok(group)
    }
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    fs::write(path, value).map_err(|e| format!("cannot write {value} to {}: {e}", path.display()))
}

/// Removes every group made (a group can go once its processes have exited).
impl Drop for CpuBudget {
    fn drop(&mut self) {
        for group in &self.groups {
            if let Err(e) = fs::remove_dir(group) {
                tracing::warn!("cannot remove the cgroup {}: {e}", group.display());
            }
        }
    }
}
