//! A ZooKeeper member's role and progress, from its `srvr` four-letter word (`Mode:` and
//! `Zxid:`), read into the status line (`role=leader zxid=...`) that the judgments of
//! [`Subject`](super::subject::Subject) read from a coord node's stats: so a run waits for
//! a leader, finds the leader or a follower to fault, sees it replaced, and waits for the
//! members to agree, by the same rules for ZooKeeper as for coord's Raft.

use coord::net::stats::StatsReply;
use coord_checker::members::four_letter_word;
use std::net::SocketAddr;

/// Member `addr`'s status from its `srvr`; `None` if it does not answer, or answers that
/// it does not serve (a member outside a quorum has no mode). A standalone server (an
/// ensemble of one) leads itself.
pub fn srvr_stats(addr: SocketAddr) -> Option<StatsReply> {
    status(&four_letter_word(addr, "srvr").ok()?)
}

/// The status line in `srvr`'s answer.
fn status(srvr: &str) -> Option<StatsReply> {
    let field = |name: &str| {
        srvr.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let role = match field("Mode:")? {
        "standalone" => "leader",
        mode => mode,
    };
    let zxid = field("Zxid:")?;
    Some(StatsReply {
        stats: Default::default(),
        status: format!("role={role} zxid={zxid}"),
        partitioned_from: Vec::new(),
    })
}

/// True if one member leads and every member has applied the same last zxid: no write
/// is on its way to any of them.
pub fn zxids_agree(nodes: &[StatsReply]) -> bool {
    let leaders = nodes.iter().filter(|n| n.field("role") == Some("leader"));
    let zxid = nodes.first().and_then(|n| n.field("zxid"));
    leaders.count() == 1 && nodes.iter().all(|n| n.field("zxid") == zxid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srvr(mode: &str, zxid: &str) -> String {
        format!(
            "Zookeeper version: 3.8.0-debian, built on 2023-01-01\nLatency min/avg/max: \
             0/0.1/3\nReceived: 9\nSent: 8\nConnections: 1\nOutstanding: 0\n\
             Zxid: {zxid}\nMode: {mode}\nNode count: 9\n"
        )
    }

    #[test]
    fn srvr_reads_as_a_role_and_a_zxid_and_members_agree_once_their_zxids_do() {
        let leader = status(&srvr("leader", "0x100000007")).unwrap();
        assert_eq!(leader.field("role"), Some("leader"));
        assert_eq!(leader.field("zxid"), Some("0x100000007"));
        let alone = status(&srvr("standalone", "0x3")).unwrap();
        assert_eq!(alone.field("role"), Some("leader"));
        assert!(status("This ZooKeeper instance is not currently serving requests\n").is_none());

        let follower = |zxid| status(&srvr("follower", zxid)).unwrap();
        let caught_up = [leader.clone(), follower("0x100000007")];
        assert!(zxids_agree(&caught_up));
        assert!(!zxids_agree(&[leader.clone(), follower("0x100000006")]));
        assert!(!zxids_agree(&[follower("0x7"), follower("0x7")]));
    }
}
