//! Waiting on the cluster: for a leader before the run, and for quiescence after it
//! (every node answers and has caught up), by polling every node's stats.

use coord::net::admin::request_stats;
use coord::net::stats::StatsReply;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the nodes are asked.
const POLL: Duration = Duration::from_millis(200);
/// How long one node may take to answer.
const ASK: Duration = Duration::from_secs(1);

/// Polls every node until `done` holds for their answers (every node answering), `wait`
/// passes or `stop` is set; true if it held.
pub fn wait_for(
    addrs: &[SocketAddr],
    wait: Duration,
    stop: &AtomicBool,
    done: impl Fn(&[StatsReply]) -> bool,
) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        let replies: Option<Vec<StatsReply>> = (addrs.iter())
            .map(|&a| request_stats(a, ASK).ok())
            .collect();
        if replies.is_some_and(|r| done(&r)) {
            return true;
        }
        std::thread::sleep(POLL);
    }
    false
}

/// True if a Raft server's status says it leads.
pub fn raft_leads(node: &StatsReply) -> bool {
    node.field("role") == Some("leader")
}

/// The index of the Raft server among `nodes` that says it leads, if any.
pub fn raft_leader(nodes: &[Option<StatsReply>]) -> Option<usize> {
    nodes
        .iter()
        .position(|n| n.as_ref().is_some_and(raft_leads))
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
