//! Network partitions on an operator's command. A node told to cut itself off from some
//! peers drops every message from them and to them until it is told to heal. Fault
//! injection (`coord test`) partitions a cluster this way, without a firewall or root.

use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;

/// What an admin datagram tells a node to do. Each node is told its own side of a
/// partition: to isolate a node, it is told to drop all its peers, and each of them to
/// drop it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminCommand {
    /// Drop every message from and to these peers, instead of any earlier set.
    Partition { peers: Vec<Id> },
    /// Drop no message any more.
    Heal,
}

/// Why an admin datagram was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It did not come from this machine.
    NotLoopback,
    /// The cluster has a key and the datagram was not signed with it.
    Unsigned,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotLoopback => write!(f, "not from a loopback address"),
            Refusal::Unsigned => write!(f, "not signed with the cluster key"),
        }
    }
}

/// Rule: a node obeys an admin command only from its own machine (a loopback source
/// address) and, in a cluster with a key, only when the command is signed with it.
pub fn admit(src: SocketAddr, keyed: bool, authenticated: bool) -> Result<(), Refusal> {
    if !src.ip().is_loopback() {
        return Err(Refusal::NotLoopback);
    }
    if keyed && !authenticated {
        return Err(Refusal::Unsigned);
    }
    Ok(())
}

/// The peers a node is cut off from. Rule: a partition drops traffic in both directions,
/// so a message is dropped whether its sender or its destination is cut off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partition {
    cut: BTreeSet<Id>,
}

impl Partition {
    pub fn apply(&mut self, command: AdminCommand) {
        self.cut = match command {
            AdminCommand::Partition { peers } => peers.into_iter().collect(),
            AdminCommand::Heal => BTreeSet::new(),
        };
    }

    /// True if messages from or to `peer` are dropped.
    pub fn cuts(&self, peer: Id) -> bool {
        self.cut.contains(&peer)
    }

    /// The peers cut off, in order.
    pub fn peers(&self) -> Vec<Id> {
        self.cut.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn only_this_machine_may_command_and_with_a_key_only_when_signed() {
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 4000));
        let local6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 4000));
        let remote = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 7), 4000));
        assert_eq!(admit(local, false, false), Ok(()));
        assert_eq!(admit(local6, true, true), Ok(()));
        assert_eq!(admit(remote, false, false), Err(Refusal::NotLoopback));
        assert_eq!(admit(remote, true, true), Err(Refusal::NotLoopback));
        assert_eq!(admit(local, true, false), Err(Refusal::Unsigned));
    }

    #[test]
    fn a_partition_replaces_the_last_and_a_heal_ends_it() {
        let (a, b, c) = (Id::from(1), Id::from(2), Id::from(3));
        let mut partition = Partition::default();
        partition.apply(AdminCommand::Partition { peers: vec![b, a] });
        assert!(partition.cuts(a) && partition.cuts(b) && !partition.cuts(c));
        assert_eq!(partition.peers(), vec![a, b]);
        partition.apply(AdminCommand::Partition { peers: vec![c] });
        assert!(!partition.cuts(a) && partition.cuts(c));
        partition.apply(AdminCommand::Heal);
        assert_eq!(partition, Partition::default());
    }
}
