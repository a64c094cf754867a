//! A cluster under test, as seen from outside: the connect string its clients use, and
//! members that a test may stop and start again. A real ZooKeeper ensemble and a coord
//! cluster both are one, so a harness written once drives either.

/// The members of a running cluster that speaks ZooKeeper's client protocol.
pub trait Members {
    /// `host:port,host:port,...`: every member's client address, in member order.
    fn connect_string(&self) -> String;
    /// How many members the cluster has, running or not.
    fn count(&self) -> usize;
    /// Stops member `i` (its clients see their connection close); its data stays.
    fn stop(&mut self, i: usize) -> Result<(), String>;
    /// Starts member `i` again on its data; it rejoins the cluster by itself.
    fn start(&mut self, i: usize) -> Result<(), String>;
}
