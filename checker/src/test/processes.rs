//! The server processes of a run, as the fault injector handles them: by pid, whichever
//! server they run. A coord cluster's `coord node`s and a real ZooKeeper ensemble's JVMs
//! are both killed with `kill -9`, started again on their data, and paused with SIGSTOP
//! until SIGCONT.

use crate::nodes::Nodes;
use coord_checker::members::Members;
use coord_checker::zookeeper::ZooKeeperEnsemble;

/// The processes of one cluster, running or not, each stopped when the set is dropped.
pub trait Processes: Send {
    fn len(&self) -> usize;
    fn running(&self, i: usize) -> bool;
    /// `kill -9` process `i` and reap it.
    fn kill(&mut self, i: usize);
    /// Starts process `i` again from its data.
    fn start(&mut self, i: usize) -> Result<(), String>;
    /// Stops process `i` (SIGSTOP) until [`Processes::resume`].
    fn pause(&self, i: usize);
    /// Lets a paused process `i` go on (SIGCONT).
    fn resume(&self, i: usize);
}

impl Processes for Nodes {
    fn len(&self) -> usize {
        Nodes::len(self)
    }

    fn running(&self, i: usize) -> bool {
        Nodes::running(self, i)
    }

    fn kill(&mut self, i: usize) {
        Nodes::kill(self, i);
    }

    fn start(&mut self, i: usize) -> Result<(), String> {
        Nodes::start(self, i).map(drop)
    }

    fn pause(&self, i: usize) {
        Nodes::pause(self, i);
    }

    fn resume(&self, i: usize) {
        Nodes::resume(self, i);
    }
}

impl Processes for ZooKeeperEnsemble {
    fn len(&self) -> usize {
        self.count()
    }

    fn running(&self, i: usize) -> bool {
        self.pid(i).is_some()
    }

    fn kill(&mut self, i: usize) {
        ZooKeeperEnsemble::kill(self, i);
    }

    fn start(&mut self, i: usize) -> Result<(), String> {
        Members::start(self, i)
    }

    fn pause(&self, i: usize) {
        self.signal(i, libc::SIGSTOP);
    }

    fn resume(&self, i: usize) {
        self.signal(i, libc::SIGCONT);
    }
}
