//! Waiting on the cluster: for a leader before the run, and for quiescence after it
//! (every node answers and has caught up), by polling every node's stats (as the subject
//! asks for them: see [`Subject::stats`](super::subject::Subject::stats)).

use super::role::Role;
use coord::net::stats::StatsReply;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the nodes are asked.
const POLL: Duration = Duration::from_millis(200);
/// How long one node may take to answer.
pub const ASK: Duration = Duration::from_secs(1);

/// Polls every node with `probe` until `done` holds for their answers (every node
/// answering), `wait` passes or `stop` is set; true if it held.
pub fn wait_for(
    addrs: &[SocketAddr],
    wait: Duration,
    stop: &AtomicBool,
    probe: impl Fn(SocketAddr) -> Option<StatsReply>,
    done: impl Fn(&[StatsReply]) -> bool,
) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        let replies: Option<Vec<StatsReply>> = addrs.iter().map(|&a| probe(a)).collect();
        if replies.is_some_and(|r| done(&r)) {
            return true;
        }
        std::thread::sleep(POLL);
    }
    false
}

/// The highest number a status field `name` shows among the nodes that answer `probe`,
/// if any does: for Raft, the term, which counts the elections started.
pub fn highest(
    addrs: &[SocketAddr],
    name: &str,
    probe: impl Fn(SocketAddr) -> Option<StatsReply>,
) -> Option<u64> {
    (addrs.iter())
        .filter_map(|&a| probe(a))
        .filter_map(|r| r.field(name)?.parse().ok())
        .max()
}

/// True if a Raft server's status says it leads.
pub fn raft_leads(node: &StatsReply) -> bool {
    node.field("role") == Some("leader")
}

/// The Raft servers among `nodes` (`None`: no answer) in `role`: the one that says it
/// leads, or every other that answered.
pub fn raft_holders(nodes: &[Option<StatsReply>], role: Role) -> Vec<usize> {
    let leads = |n: &StatsReply| raft_leads(n) == (role == Role::Leader);
    (nodes.iter().enumerate())
        .filter(|(_, n)| n.as_ref().is_some_and(leads))
        .map(|(i, _)| i)
        .collect()
}

/// True if `target` led (its `role`) and a Raft server among `nodes` other than it says
/// it leads.
pub fn raft_replaced(nodes: &[Option<StatsReply>], target: usize, role: Option<Role>) -> bool {
    let others = |&i: &usize| i != target;
    role == Some(Role::Leader) && raft_holders(nodes, Role::Leader).iter().any(others)
}

/// True if there is one Raft leader and every server has applied all it holds, as far as
/// the leader has committed.
pub fn raft_settled(nodes: &[StatsReply]) -> bool {
    let number = |reply: &StatsReply, name| reply.field(name)?.parse::<u64>().ok();
    let leaders: Vec<&StatsReply> = nodes.iter().filter(|n| raft_leads(n)).collect();
    let [leader] = leaders.as_slice() else {
        return false;
    };
    let target = (number(leader, "commit"), number(leader, "last"));
    (nodes.iter()).all(|n| (number(n, "applied"), number(n, "last")) == target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(role: &str) -> Option<StatsReply> {
        Some(StatsReply {
            stats: Default::default(),
            status: format!("role={role} term=3"),
            partitioned_from: Vec::new(),
        })
    }

    #[test]
    fn a_leader_is_replaced_once_another_server_leads_and_a_follower_never_is() {
        let before = [server("leader"), server("follower"), server("follower")];
        assert_eq!(raft_holders(&before, Role::Leader), vec![0]);
        assert_eq!(raft_holders(&before, Role::Follower), vec![1, 2]);
        let stopped = [None, server("follower"), server("candidate")];
        assert!(!raft_replaced(&stopped, 0, Some(Role::Leader)));
        let after = [None, server("leader"), server("follower")];
        assert!(raft_replaced(&after, 0, Some(Role::Leader)));
        assert!(!raft_replaced(&after, 2, Some(Role::Follower)));
        assert!(!raft_replaced(&after, 0, None));
    }
}
