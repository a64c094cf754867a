//! A chain under test as the fault injector and the settling see it: the nodes, in chain
//! order, then the replicas of the configuration manager, a Raft group. A node's role is
//! its position in the chain that the manager's leader publishes; the manager's leader is
//! a role of its own, so that a fault can hit the replica that detects failures and
//! publishes configurations (van Renesse and Schneider, section 3: the master is
//! replicated, and its failure must not stop reconfiguration).

use super::role::Role;
use super::settle::{raft_holders, raft_leads, raft_replaced, raft_settled};
use coord::net::stats::StatsReply;
use stateright::actor::Id;
use std::net::SocketAddrV4;
use std::ops::Range;

/// The chain's nodes, in chain order; the members after them are the manager's replicas.
pub struct Chain {
    pub nodes: Vec<SocketAddrV4>,
}

impl Chain {
    /// The stats of the manager's replicas among every member's.
    fn managers<'a, T>(&self, members: &'a [T]) -> &'a [T] {
        &members[self.nodes.len().min(members.len())..]
    }

    /// The chain the manager's leader (the replica that leads in the highest term among
    /// those answering) publishes, as indexes into the nodes, head first; empty if no
    /// replica answers as leader. A follower's configuration may be behind, so it is not
    /// asked.
    pub fn published(&self, members: &[Option<StatsReply>]) -> Vec<usize> {
        let term = |s: &StatsReply| s.field("term").and_then(|t| t.parse::<u64>().ok());
        let leader = (self.managers(members).iter().flatten())
            .filter(|s| raft_leads(s))
            .max_by_key(|s| term(s));
        let Some(listed) = leader.and_then(|s| s.field("chain")) else {
            return Vec::new();
        };
        (listed.split(',').filter(|m| !m.is_empty()))
            .filter_map(|m| (self.nodes.iter()).position(|&a| Id::from(a).to_string() == m))
            .collect()
    }

    /// True if the manager's leader publishes a chain.
    pub fn ready(&self, members: &[StatsReply]) -> bool {
        !self.published(&answered(members)).is_empty()
    }

    /// The members holding `role`: a position in the published chain, or the manager
    /// replica that leads.
    pub fn holders(&self, members: &[Option<StatsReply>], role: Role) -> Vec<usize> {
        if role == Role::ManagerLeader {
            let offset = self.nodes.len();
            return (raft_holders(self.managers(members), Role::Leader).into_iter())
                .map(|i| i + offset)
                .collect();
        }
        let chain = self.published(members);
        let at = match role {
            Role::Head => chain.first(),
            Role::Middle if chain.len() >= 3 => chain.get(chain.len() / 2),
            Role::Tail => chain.last(),
            _ => None,
        };
        at.copied().into_iter().collect()
    }

    /// A node, in any role, is replaced once the manager's leader publishes a chain
    /// without it; the manager's leader, once another replica leads.
    pub fn replaced(
        &self,
        members: &[Option<StatsReply>],
        target: usize,
        role: Option<Role>,
    ) -> bool {
        let offset = self.nodes.len();
        if target >= offset {
            let leader = role.map(|r| match r {
                Role::ManagerLeader => Role::Leader,
                other => other,
            });
            return raft_replaced(self.managers(members), target - offset, leader);
        }
        let chain = self.published(members);
        !chain.is_empty() && !chain.contains(&target)
    }

    /// The nodes are one group and the manager's replicas another: the injector keeps a
    /// majority of each up (a lone manager, which has no majority to spare, is never hit).
    pub fn groups(&self, members: usize) -> Vec<Range<usize>> {
        let nodes = self.nodes.len().min(members);
        vec![0..nodes, nodes..members]
    }

    /// Every node back in the chain, none still joining, all holding the same history,
    /// all of it committed; and the manager's replicas settled as a Raft group (one
    /// leader, everything applied).
    pub fn settled(&self, members: &[StatsReply]) -> bool {
        let nodes = &members[..self.nodes.len()];
        let lens: Vec<Option<(&str, &str, &str)>> = (nodes.iter())
            .map(|n| Some((n.field("len")?, n.field("committed")?, n.field("joining")?)))
            .collect();
        let first = lens.first().copied().flatten();
        let caught_up =
            first.is_some_and(|(len, _, _)| (lens.iter()).all(|l| *l == Some((len, len, "false"))));
        let whole = self.published(&answered(members)).len() == self.nodes.len();
        caught_up && whole && raft_settled(self.managers(members))
    }
}

/// Stats that every member answered, as the injector's view holds them.
fn answered(members: &[StatsReply]) -> Vec<Option<StatsReply>> {
    members.iter().cloned().map(Some).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of `n` nodes (ports 1 to n on 127.0.0.1) and 3 manager replicas, of which
    /// the first leads and publishes `published` (indexes into the nodes); the stats of
    /// every member, `None` for those in `silent`.
    fn chain_stats(
        n: u16,
        published: &[usize],
        silent: &[usize],
    ) -> (Chain, Vec<Option<StatsReply>>) {
        let nodes: Vec<SocketAddrV4> = (1..=n)
            .map(|port| SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port))
            .collect();
        let listed: Vec<String> = (published.iter())
            .map(|&i| Id::from(nodes[i]).to_string())
            .collect();
        let reply = |status: String| StatsReply {
            stats: Default::default(),
            status,
            partitioned_from: Vec::new(),
        };
        let mut stats: Vec<Option<StatsReply>> = (0..usize::from(n))
            .map(|_| Some(reply("len=0 committed=0 joining=false".into())))
            .collect();
        let chain = listed.join(",");
        stats.push(Some(reply(format!("role=leader term=2 chain={chain}"))));
        // A deposed leader of an older term, its chain behind.
        stats.push(Some(reply("role=leader term=1 chain=".into())));
        stats.push(Some(reply(format!("role=follower term=2 chain={chain}"))));
        for &i in silent {
            stats[i] = None;
        }
        (Chain { nodes }, stats)
    }

    #[test]
    fn chain_roles_are_positions_in_the_leaders_chain_and_a_node_left_out_is_replaced() {
        let (chain, stats) = chain_stats(3, &[2, 0, 1], &[]);
        assert_eq!(chain.holders(&stats, Role::Head), vec![2]);
        assert_eq!(chain.holders(&stats, Role::Middle), vec![0]);
        assert_eq!(chain.holders(&stats, Role::Tail), vec![1]);
        assert!(chain.holders(&stats, Role::Leader).is_empty());
        assert!(!chain.replaced(&stats, 2, Some(Role::Head)));

        let (chain, stats) = chain_stats(3, &[0, 1], &[2]);
        assert!(
            chain.holders(&stats, Role::Middle).is_empty(),
            "2 nodes have no middle"
        );
        assert!(chain.replaced(&stats, 2, Some(Role::Head)));
        assert!(chain.replaced(&stats, 2, None), "whatever role it had");

        let (chain, stats) = chain_stats(3, &[0, 1], &[2, 3]);
        assert!(
            !chain.replaced(&stats, 2, Some(Role::Head)),
            "the manager's leader is silent, and the deposed one knows no chain"
        );
    }

    #[test]
    fn the_managers_leader_is_a_role_replaced_once_another_replica_leads() {
        let (chain, mut stats) = chain_stats(3, &[0, 1, 2], &[]);
        assert_eq!(chain.holders(&stats, Role::ManagerLeader), vec![3, 4]);
        stats[3] = None;
        stats[4] = None;
        assert!(!chain.replaced(&stats, 3, Some(Role::ManagerLeader)));
        stats[5] = Some(StatsReply {
            status: "role=leader term=3 chain=".into(),
            ..stats[0].clone().unwrap()
        });
        assert!(chain.replaced(&stats, 3, Some(Role::ManagerLeader)));
        assert_eq!(chain.groups(6), vec![0..3, 3..6]);
    }
}
