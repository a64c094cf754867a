//! What a Raft server keeps, as one server sees it (Raft paper, figures 2 and 3): its
//! indexes in order, its vote in step with its term and role, a leader's view of each
//! peer within its log; and, from one step to the next, a term and a commit index that
//! never go down, one vote per term, committed entries never overwritten, log terms that
//! never go down along the log, a snapshot that never goes back and holds the replica as
//! of its index, and a replica that changes only by applying the newly committed entries
//! in order or by installing a snapshot past the commit index.

use super::log::Log;
use super::replica::{Replica, StateMachine};
use super::server::{LeaderState, RaftBug, RaftServer, RaftState, Role};
use super::snapshot::{decode, same};
use super::types::Index;
use crate::invariants::{ensure, Broken, Invariants};

impl<SM: StateMachine> Invariants for RaftServer<SM> {
    fn invariants(&self, s: &RaftState<SM>) -> Result<(), Broken> {
        let (commit, applied, last) = (s.commit, s.replica.applied, s.last_index());
        ensure("the commit index is within the log", commit <= last, || {
            format!("commit index {commit}, last index {last}")
        })?;
        ensure(
            "the applied index is not past the commit index",
            applied <= commit,
            || format!("applied {applied}, commit index {commit}"),
        )?;
        let snapshot = s.log.snapshot_index();
        ensure(
            "the snapshot covers only applied entries",
            snapshot <= applied,
            || format!("snapshot up to {snapshot}, applied {applied}"),
        )?;
        ensure(
            "no entry is of a later term than the server's",
            s.term_at(last) <= s.term,
            || format!("last entry of term {}, term {}", s.term_at(last), s.term),
        )?;
        ensure(
            "the configuration in use is the latest in the log",
            s.config_is_latest(),
            || format!("configuration {:?}", s.config),
        )?;
        self.vote_invariants(s)?;
        match &s.role {
            Role::Leader(leader) => self.leader_invariants(s, leader),
            Role::Follower { .. } | Role::PreCandidate { .. } | Role::Candidate { .. } => Ok(()),
        }
    }

    fn step_invariants(&self, before: &RaftState<SM>, after: &RaftState<SM>) -> Result<(), Broken> {
        ensure(
            "the term never goes down",
            after.term >= before.term,
            || format!("term {} after {}", after.term, before.term),
        )?;
        let revoted = after.term == before.term
            && before.voted_for.is_some()
            && after.voted_for != before.voted_for;
        ensure("one vote per term", !revoted, || {
            let (was, now) = (before.voted_for, after.voted_for);
            format!("vote {now:?} after {was:?} in term {}", after.term)
        })?;
        ensure(
            "the commit index never goes down",
            after.commit >= before.commit,
            || format!("commit index {} after {}", after.commit, before.commit),
        )?;
        self.snapshot_kept(before, after)?;
        // Two moments of one log with one snapshot are compared fast (see
        // `Log::common_prefix`); across a new snapshot, entry by entry after it (what the
        // snapshot covers is checked as the replica it holds, in `replayed`).
        let kept = after.log.common_prefix(&before.log);
        let committed_kept = match after.log.snapshot_index() == before.log.snapshot_index() {
            true => kept >= before.commit,
            false => after.log.same_upto(&before.log, before.commit),
        };
        // With the figure-8 bug a leader commits what a later leader may overwrite: the
        // check `raft-bug-old-term-commit` must reach the property it breaks.
        let overwritten = !committed_kept && !self.has_bug(RaftBug::CommitOldTerm);
        ensure(
            "committed entries are never overwritten",
            !overwritten,
            || {
                format!(
                    "entries kept up to {kept}, committed up to {}",
                    before.commit
                )
            },
        )?;
        ensure(
            "log terms never go down along the log",
            terms_rise_from(&after.log, kept),
            || {
                format!(
                    "log {:?}",
                    after.log.iter().map(|e| e.term).collect::<Vec<_>>()
                )
            },
        )?;
        self.replayed(before, after)
    }
}

impl<SM: StateMachine> RaftServer<SM> {
    /// Nobody votes or campaigns in term 0; a candidate or a leader voted for itself (a
    /// server that is none of its peers), and a candidate's votes are its own and its
    /// peers'; a pre-candidate's pre-votes are its peers' and one other server's, its
    /// own; only a server with pre-vote on asks for them.
    fn vote_invariants(&self, s: &RaftState<SM>) -> Result<(), Broken> {
        let peers = &s.config.peers;
        if let Role::PreCandidate { votes } = &s.role {
            let own = votes.iter().filter(|v| !peers.contains(v)).count();
            ensure(
                "a pre-candidate counts its own pre-vote and its peers' only",
                self.pre_vote && own == 1,
                || format!("pre-votes {votes:?}, peers {peers:?}"),
            )?;
        }
        let campaigns = matches!(s.role, Role::Candidate { .. } | Role::Leader(_));
        ensure(
            "the vote is in step with the term",
            s.term > 0 || (s.voted_for.is_none() && !campaigns),
            || format!("term 0, vote {:?}, role {:?}", s.voted_for, s.role),
        )?;
        let for_itself = s.voted_for.is_some_and(|v| !peers.contains(&v));
        ensure(
            "a candidate or a leader voted for itself",
            !campaigns || for_itself,
            || format!("vote {:?}, peers {peers:?}", s.voted_for),
        )?;
        if let Role::Candidate { votes } = &s.role {
            ensure("only a member campaigns", s.config.member, || {
                format!("configuration {:?}", s.config)
            })?;
            let known = |v| s.voted_for == Some(v) || peers.contains(&v);
            let own = s.voted_for.is_some_and(|v| votes.contains(&v));
            ensure(
                "a candidate counts its own vote and its peers' only",
                own && votes.iter().all(|&v| known(v)),
                || format!("votes {votes:?}, vote {:?}", s.voted_for),
            )?;
        }
        Ok(())
    }

    /// A leader tracks every peer, each with a next index from 1 to just past its log, and
    /// a match index below it; a peer acknowledged only heartbeat rounds this leader
    /// started; a pending read waits for a committed index, in a round already started.
    fn leader_invariants(
        &self,
        s: &RaftState<SM>,
        leader: &LeaderState<SM::Op>,
    ) -> Result<(), Broken> {
        ensure(
            "a leader tracks every peer of its configuration, and only those",
            leader.next.keys().eq(s.config.peers.iter())
                && leader.matched.keys().eq(s.config.peers.iter()),
            || format!("next {:?}, configuration {:?}", leader.next, s.config),
        )?;
        for peer in &s.config.peers {
            let (next, matched) = (leader.next[peer], leader.matched[peer]);
            let last = s.last_index();
            ensure("a next index is at least 1", next >= 1, || {
                format!("peer {peer:?}: next {next}")
            })?;
            ensure(
                "a match index is below the next index",
                matched < next,
                || format!("peer {peer:?}: match {matched}, next {next}"),
            )?;
            ensure(
                "a next index is at most just past the log",
                next <= last + 1,
                || format!("peer {peer:?}: next {next}, last index {last}"),
            )?;
        }
        ensure(
            "a leader counts only its peers as in touch, and only with check-quorum",
            (self.check_quorum || leader.active.is_empty())
                && leader.active.iter().all(|p| s.config.peers.contains(p)),
            || format!("in touch {:?}", leader.active),
        )?;
        let started = |round| round <= leader.round;
        ensure(
            "a peer acknowledged only rounds the leader started",
            leader
                .acked
                .iter()
                .all(|(peer, &round)| s.config.peers.contains(peer) && started(round)),
            || format!("acknowledged {:?}, round {}", leader.acked, leader.round),
        )?;
        let waits =
            |read_index: Index, round| read_index <= s.commit && started(round) && round > 0;
        ensure(
            "a pending read waits for a committed index in a started round",
            leader.reads.iter().all(|r| waits(r.index, r.round)),
            || {
                format!(
                    "reads {:?}, commit {}, round {}",
                    leader.reads, s.commit, leader.round
                )
            },
        )
    }

    /// A snapshot never goes back, and a new one is the replica as it stands at the end of
    /// the step that made or installed it (the state machine with its session table;
    /// without the table with [`RaftBug::SnapshotWithoutSessions`]), at the log's
    /// snapshot index.
    fn snapshot_kept(&self, before: &RaftState<SM>, after: &RaftState<SM>) -> Result<(), Broken> {
        let (was, now) = (before.log.snapshot_index(), after.log.snapshot_index());
        ensure("a snapshot never goes back", now >= was, || {
            format!("snapshot up to {now} after {was}")
        })?;
        if same(&before.snapshot, &after.snapshot) {
            return Ok(());
        }
        let snapshot = decode::<SM>(&after.snapshot);
        let of_replica = |r: &Replica<SM>| {
            let without_sessions = || r.sm == after.replica.sm && r.sessions.is_empty();
            *r == after.replica
                || (self.has_bug(RaftBug::SnapshotWithoutSessions) && without_sessions())
        };
        ensure(
            "a new snapshot is the replica at the snapshot index",
            after.replica.applied == now && snapshot.as_ref().is_some_and(of_replica),
            || {
                format!(
                    "snapshot up to {now}: {snapshot:?}, replica {:?}",
                    after.replica
                )
            },
        )
    }

    /// The replica changes only by applying, in order and each once, the entries from the
    /// one after the last applied to the new applied index: what `before`'s replica
    /// becomes when they are replayed on it; or by installing a snapshot past the commit
    /// index, when it becomes the snapshot's. Entries that a follower received, applied and
    /// compacted away in one step are in neither log, and are not replayed (the new
    /// snapshot is then checked to be the replica, by `snapshot_kept`).
    fn replayed(&self, before: &RaftState<SM>, after: &RaftState<SM>) -> Result<(), Broken> {
        let (was, now) = (before.replica.applied, after.replica.applied);
        ensure("the applied index never goes down", now >= was, || {
            format!("applied {now} after {was}")
        })?;
        let entry = |i| after.log.get(i).or_else(|| before.log.get(i));
        let replays = (was + 1..=now)
            .map(entry)
            .collect::<Option<Vec<_>>>()
            .map(|entries| {
                let mut replay = before.replica.clone();
                for entry in entries {
                    replay.apply(entry, !self.has_bug(RaftBug::NoDedup));
                }
                replay == after.replica
            });
        let installed = after.log.snapshot_index() > before.commit
            && decode::<SM>(&after.snapshot).as_ref() == Some(&after.replica);
        ensure(
            "the replica is the committed entries applied in order, or an installed snapshot",
            replays.unwrap_or(true) || installed,
            || format!("from {:?} to {:?}", before.replica, after.replica),
        )
    }
}

/// True if no entry after the first `from` of `log` has a lower term than the one before
/// it (the first `from` were checked when they were appended).
fn terms_rise_from<Op: Clone>(log: &Log<Op>, from: Index) -> bool {
    let mut previous = log.term_at(from);
    log.from(from + 1).all(|entry| {
        let rises = entry.term >= previous;
        previous = entry.term;
        rises
    })
}
