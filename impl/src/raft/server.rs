//! The Raft server actor: one state machine, a handler per message, no IO.
//!
//! Each handler names the rule of the Raft paper's figure 2 (or section) that it enforces.
//! Persistent state is saved with `o.save(..)` before any message that depends on it.

use super::log::Log;
use super::membership::Membership;
use super::replica::{Replica, StateMachine};
use super::rules::TermOrder;
use super::snapshot::decode;
use super::types::{Entry, Index, Msg, Payload, RaftStorage, Term};
use crate::bug::NamedBug;
use crate::client::ClientMsg;
use crate::invariants::{checked, debug_started};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::ops::Range;
use std::time::Duration;

/// A deliberate mistake, off by default, that a model switches on to show the checker
/// catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RaftBug {
    /// The vote is not written to storage: after a crash a server can vote twice in one
    /// term, and two leaders can be elected in that term.
    ForgetVote,
    /// The leader commits any entry stored on a majority, even one from an earlier term
    /// (the scenario of the Raft paper's figure 8).
    CommitOldTerm,
    /// Retried requests are applied again: a put retried after a lost reply applies twice.
    NoDedup,
    /// The leader answers reads from its own state without a heartbeat round confirming it
    /// is still leader: a deposed leader serves stale reads.
    LocalReads,
    /// A snapshot leaves the session table out: after a server restarts from it or
    /// installs it, a request retried after compaction applies twice.
    SnapshotWithoutSessions,
    /// A new leader starts a membership change before it has committed an entry of its
    /// term (it appends no no-op at election, and does not wait for one), as the
    /// dissertation first had it: two changes made by leaders of different terms can both
    /// be in use, and two leaders are elected in one term (the single-server change bug,
    /// raft-dev, 2015).
    ChangeBeforeCommit,
    /// With pipelining, the leader counts the entries it has sent a follower as stored
    /// there, without waiting for the acknowledgement: it commits an entry that a crash
    /// of the leader and a lost message leave on no majority.
    PipelineCountsSent,
}

impl NamedBug for RaftBug {
    const NAMED: &'static [(&'static str, RaftBug)] = &[
        ("forgotten-vote", RaftBug::ForgetVote),
        ("old-term-commit", RaftBug::CommitOldTerm),
        ("no-dedup", RaftBug::NoDedup),
        ("stale-read", RaftBug::LocalReads),
        ("snapshot-drops-sessions", RaftBug::SnapshotWithoutSessions),
        ("change-before-commit", RaftBug::ChangeBeforeCommit),
        ("pipeline-counts-sent", RaftBug::PipelineCountsSent),
    ];
}

/// The server's timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RaftTimer {
    /// Followers and candidates start an election when it fires.
    Election,
    /// Leaders send AppendEntries (possibly empty) to every follower when it fires.
    Heartbeat,
    /// With check-quorum, a leader steps down when it fires unless a majority has answered
    /// it since it last fired.
    CheckQuorum,
}

/// A Raft server's configuration: its peers, its timeouts, and an optional bug.
#[derive(Clone, Debug)]
pub struct RaftServer<SM: StateMachine> {
    /// The other servers of the cluster's initial configuration (with membership changes,
    /// the configuration in use is the latest in the log: see `membership`).
    pub peers: Vec<Id>,
    /// Whether this server starts outside the configuration, to be added to a running
    /// cluster: it then knows no member until the leader's entries or snapshot tell it.
    pub joining: bool,
    /// Membership changes (Raft dissertation §4.1): a new leader appends a no-op, so that
    /// it soon commits an entry of its term, and administrators' changes are served. Off
    /// in the paper's Raft of figure 2 and in the models that check it.
    pub membership: bool,
    /// Randomized election timeout.
    pub election_timeout: Range<Duration>,
    /// Leader heartbeat interval, or `None` for no periodic heartbeats. The models leave
    /// them off: their network loses no message, and every election timeout may fire at any
    /// step anyway, so heartbeats would only multiply states. A real cluster needs them.
    pub heartbeat: Option<Range<Duration>>,
    /// Whether a new leader sends the initial empty AppendEntries (figure 2, "Upon
    /// election") even without periodic heartbeats. With heartbeats on it always does.
    pub announce: bool,
    /// Whether the leader sends AppendEntries as soon as its commit index advances, so
    /// that followers apply at once rather than with the next entry or heartbeat. A service
    /// that answers clients from followers (ZooKeeper's COMMIT message) turns it on.
    /// With `pipeline`, the notice to a follower starts at the index it has acknowledged,
    /// with no entries (as etcd's heartbeat): starting at `next`, past entries still on
    /// their way, it would be rejected and make the leader send them again.
    pub commit_notice: bool,
    /// A deliberate mistake to switch on, `None` for the correct protocol.
    pub bug: Option<RaftBug>,
    /// The most entries one AppendEntries carries, `None` for no limit. The models leave
    /// it off; a real cluster bounds it so that a message fits in one datagram while a
    /// follower far behind catches up.
    pub max_batch: Option<usize>,
    /// The most bytes of entries one AppendEntries carries (as `size` counts them), but
    /// always at least one entry; `None` for no limit. A real cluster bounds it so that a
    /// follower catching up on large entries is sent a few at a time, not the whole log.
    pub max_batch_bytes: Option<BatchBytes<SM>>,
    /// Pre-vote (Raft dissertation §9.6): a server whose election timer fires first asks
    /// whether a majority would vote for it, and raises its term only if so. Off in the
    /// paper's Raft and in the models that check it; a real cluster turns it on.
    pub pre_vote: bool,
    /// Check-quorum (dissertation §6.2): a leader that has not heard from a majority within
    /// an election timeout steps down.
    pub check_quorum: bool,
    /// Log compaction (§7): a server snapshots its state machine and forgets its log up to
    /// the applied index once this many applied entries follow its last snapshot; `None`
    /// for never (the paper's Raft without §7, and the models that check it).
    pub compact_after: Option<u64>,
    /// Pipelined replication (as etcd's `StateReplicate`): once the leader has sent a
    /// follower entries up to some index, its next AppendEntries to it starts after them,
    /// without waiting for the acknowledgement; a rejection moves `next` back to the
    /// follower's hint, as without it. Off in the paper's Raft, where every AppendEntries
    /// carries everything from `next` (at most `max_batch`): each new entry then sends
    /// again every entry still unacknowledged, so a busy leader sends each entry dozens of
    /// times. `next` is only a guess in either case; `matched` moves only on an
    /// acknowledgement.
    pub pipeline: bool,
    /// Whether the actor that embeds this server applies committed entries itself, one at
    /// a time with rules of its own between them (the znode server); the server then only
    /// advances the commit index. Applying here too would apply each entry twice, once to
    /// a copy that is thrown away.
    pub applied_outside: bool,
    _sm: PhantomData<fn() -> SM>,
}

/// A bound on the bytes of one AppendEntries: `limit`, each entry counted by `size`.
pub struct BatchBytes<SM: StateMachine> {
    pub limit: usize,
    pub size: fn(&Entry<SM::Op>) -> usize,
}

impl<SM: StateMachine> Clone for BatchBytes<SM> {
    fn clone(&self) -> Self {
        BatchBytes { ..*self }
    }
}

impl<SM: StateMachine> std::fmt::Debug for BatchBytes<SM> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BatchBytes({})", self.limit)
    }
}

/// A pending ReadIndex read (Raft dissertation §6.4): answerable once a majority has
/// acknowledged heartbeat `round` and the state machine has applied `index`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PendingRead<Op> {
    pub round: u64,
    pub index: Index,
    pub client: Id,
    pub seq: u64,
    pub op: Op,
}

/// Volatile state on leaders (figure 2), plus ReadIndex bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct LeaderState<Op> {
    /// For each follower, the index of the next entry to send.
    pub next: BTreeMap<Id, Index>,
    /// For each follower, the highest index known to be replicated on it.
    pub matched: BTreeMap<Id, Index>,
    /// The latest heartbeat round started, and each follower's latest acknowledged round.
    pub round: u64,
    pub acked: BTreeMap<Id, u64>,
    pub reads: Vec<PendingRead<Op>>,
    /// With check-quorum, the followers that have answered since the last check.
    pub active: BTreeSet<Id>,
}

/// What a server currently is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Role<Op> {
    Follower {
        leader: Option<Id>,
    },
    /// Asking for pre-votes for the next term; `votes` are the servers that granted one.
    PreCandidate {
        votes: BTreeSet<Id>,
    },
    Candidate {
        votes: BTreeSet<Id>,
    },
    Leader(LeaderState<Op>),
}

/// A server's whole state. `term`, `voted_for`, `log` and `snapshot` mirror what was last
/// saved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftState<SM: StateMachine> {
    pub term: Term,
    pub voted_for: Option<Id>,
    pub log: Log<SM::Op>,
    /// The replica as of the log's snapshot index, encoded (see `snapshot`).
    pub snapshot: Bytes,
    pub role: Role<SM::Op>,
    /// Highest log index known to be committed.
    pub commit: Index,
    /// The configuration in use: the latest in the log (see `membership`).
    pub config: Membership,
    /// The state machine with everything up to `commit` applied.
    pub replica: Replica<SM>,
}

impl<SM: StateMachine> RaftState<SM> {
    pub fn last_index(&self) -> Index {
        self.log.last_index()
    }

    /// The term of the entry at `index`; 0 for index 0 (or past the end).
    pub fn term_at(&self, index: Index) -> Term {
        self.log.term_at(index)
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The server this one believes leads its term, if any.
    pub fn leader_hint(&self, me: Id) -> Option<Id> {
        match &self.role {
            Role::Follower { leader } => *leader,
            Role::PreCandidate { .. } | Role::Candidate { .. } => None,
            Role::Leader(_) => Some(me),
        }
    }

    /// The answer of a server that does not lead to a client's (or an administrator's)
    /// request `seq`: a redirect to the leader it knows. Knowing none, it stays silent, and
    /// the client's retry timer moves on.
    pub(super) fn redirect<Op, Ret>(&self, me: Id, seq: u64) -> Option<ClientMsg<Op, Ret>> {
        let leader = self.leader_hint(me)?;
        Some(ClientMsg::Redirect {
            seq,
            leader: Some(leader),
        })
    }

    /// True if this server leads and a majority of its configuration (counting itself)
    /// has acknowledged its heartbeat round `round`: it was still the leader after that
    /// round began (ReadIndex's confirmation, dissertation §6.4).
    pub fn confirms(&self, round: u64) -> bool {
        match &self.role {
            Role::Leader(leader) => confirms(&self.config, &leader.acked, round),
            _ => false,
        }
    }

    pub(super) fn leader_mut(&mut self) -> Option<&mut LeaderState<SM::Op>> {
        match &mut self.role {
            Role::Leader(l) => Some(l),
            _ => None,
        }
    }
}

/// True if the followers of `config` that acknowledged heartbeat rounds `acked` make,
/// with the leader, a majority for round `round`.
fn confirms(config: &Membership, acked: &BTreeMap<Id, u64>, round: u64) -> bool {
    config.majority(acked.iter().filter(|(_, &r)| r >= round).map(|(p, _)| p))
}

impl<SM: StateMachine> RaftServer<SM> {
    pub fn new(peers: Vec<Id>, election_timeout: Range<Duration>) -> Self {
        RaftServer {
            peers,
            joining: false,
            membership: false,
            election_timeout,
            heartbeat: None,
            announce: false,
            commit_notice: false,
            bug: None,
            max_batch: None,
            max_batch_bytes: None,
            pre_vote: false,
            check_quorum: false,
            compact_after: None,
            pipeline: false,
            applied_outside: false,
            _sm: PhantomData,
        }
    }

    pub fn with_heartbeat(mut self, interval: Range<Duration>) -> Self {
        self.heartbeat = Some(interval);
        self
    }

    pub fn with_announce(mut self, announce: bool) -> Self {
        self.announce = announce;
        self
    }

    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = Some(max_batch);
        self
    }

    pub fn with_max_batch_bytes(mut self, limit: usize, size: fn(&Entry<SM::Op>) -> usize) -> Self {
        self.max_batch_bytes = Some(BatchBytes { limit, size });
        self
    }

    pub fn with_commit_notice(mut self, commit_notice: bool) -> Self {
        self.commit_notice = commit_notice;
        self
    }

    /// Pre-vote and check-quorum together, as etcd's `PreVote` and `CheckQuorum`.
    pub fn with_pre_vote(mut self, on: bool) -> Self {
        self.pre_vote = on;
        self.check_quorum = on;
        self
    }

    /// Committed entries applied by the embedding actor (see `applied_outside`).
    pub fn applied_outside(mut self) -> Self {
        self.applied_outside = true;
        self
    }

    /// Pipelined replication (see `pipeline`).
    pub fn with_pipeline(mut self, on: bool) -> Self {
        self.pipeline = on;
        self
    }

    /// Log compaction once `entries` applied entries follow the last snapshot (see
    /// `compact_after`); `None` for none.
    pub fn with_compaction(mut self, entries: Option<u64>) -> Self {
        self.compact_after = entries.map(|n| n.max(1));
        self
    }

    /// Membership changes served (see `membership`).
    pub fn with_membership(mut self, on: bool) -> Self {
        self.membership = on;
        self
    }

    /// A server that starts outside the configuration, to be added (see `joining`).
    pub fn joining(mut self, joining: bool) -> Self {
        self.joining = joining;
        self
    }

    pub fn with_bug(mut self, bug: Option<RaftBug>) -> Self {
        self.bug = bug;
        self
    }

    pub(super) fn has_bug(&self, bug: RaftBug) -> bool {
        self.bug == Some(bug)
    }

    /// What goes to stable storage. With [`RaftBug::ForgetVote`] the vote is left out.
    fn storage(&self, state: &RaftState<SM>) -> RaftStorage<SM::Op> {
        RaftStorage {
            term: state.term,
            voted_for: if self.has_bug(RaftBug::ForgetVote) {
                None
            } else {
                state.voted_for
            },
            log: state.log.clone(),
            snapshot: state.snapshot.clone(),
        }
    }

    pub(super) fn save(&self, state: &RaftState<SM>, o: &mut Out<Self>) {
        o.save(self.storage(state));
    }

    pub(super) fn reset_election_timer(&self, o: &mut Out<Self>) {
        o.set_timer(RaftTimer::Election, self.election_timeout.clone());
    }

    /// Rules for candidates: increment the term, vote for self, ask every peer for a vote.
    pub(super) fn start_election(&self, id: Id, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        state.term += 1;
        state.voted_for = Some(id);
        state.role = Role::Candidate {
            votes: BTreeSet::from([id]),
        };
        self.save(state, o);
        let msg = Msg::RequestVote {
            term: state.term,
            last_index: state.last_index(),
            last_term: state.term_at(state.last_index()),
        };
        o.broadcast(state.config.peers.iter(), &msg);
        self.reset_election_timer(o);
        self.become_leader_if_elected(id, state, o);
    }

    /// Rules for candidates: with votes from a majority of the configuration, become
    /// leader and send initial empty AppendEntries to every server; with membership
    /// changes on, append a no-op (see `membership`; not with
    /// [`RaftBug::ChangeBeforeCommit`]).
    fn become_leader_if_elected(&self, id: Id, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        let Role::Candidate { votes } = &state.role else {
            return;
        };
        if !state.config.majority(votes) {
            return;
        }
        if self.check_quorum {
            o.set_timer(RaftTimer::CheckQuorum, self.election_timeout.clone());
        }
        let next = state.last_index() + 1;
        let peers = &state.config.peers;
        state.role = Role::Leader(LeaderState {
            next: peers.iter().map(|p| (*p, next)).collect(),
            matched: peers.iter().map(|p| (*p, 0)).collect(),
            round: 0,
            acked: BTreeMap::new(),
            reads: Vec::new(),
            active: BTreeSet::new(),
        });
        o.cancel_timer(RaftTimer::Election);
        // Figure 2, "Upon election: send initial empty AppendEntries RPCs to each server" is
        // the first heartbeat. The models usually leave it off (see `heartbeat` and
        // `announce`) to keep their state spaces small, and followers then learn of the
        // leader from its first replication; but without it a new leader brings a
        // follower's log up to date only at the next client request, which makes the
        // figure-8 scenario unreachable, so the figure-8 check turns it on.
        if let Some(interval) = &self.heartbeat {
            o.set_timer(RaftTimer::Heartbeat, interval.clone());
        }
        if self.membership && !self.has_bug(RaftBug::ChangeBeforeCommit) {
            self.append_noop(id, state, o);
        } else if self.heartbeat.is_some() || self.announce {
            self.broadcast_append(state, o);
        }
    }

    /// AppendEntries to one follower: everything from its `next` index on (at most
    /// `max_batch` entries, and `max_batch_bytes` bytes unless the first entry alone is
    /// larger). With `pipeline`, `next` then moves past what was sent.
    fn send_append(&self, state: &mut RaftState<SM>, peer: Id, o: &mut Out<Self>) {
        let Role::Leader(leader) = &state.role else {
            return;
        };
        let next = leader.next[&peer];
        if next <= state.log.snapshot_index() {
            o.send(peer, self.snapshot_for(state, leader.round));
            return;
        }
        let prev_index = next - 1;
        let entries = self.batch(state.log.from(next));
        let sent = prev_index + entries.len() as Index;
        o.send(
            peer,
            Msg::Append {
                term: state.term,
                prev_index,
                prev_term: state.term_at(prev_index),
                entries,
                commit: state.commit,
                round: leader.round,
            },
        );
        if self.pipeline && sent > prev_index {
            let leader = state.leader_mut().expect("a leader");
            leader.next.insert(peer, sent + 1);
            if self.has_bug(RaftBug::PipelineCountsSent) {
                leader.matched.insert(peer, sent);
            }
        }
    }

    /// The first entries of `entries` that one AppendEntries carries.
    fn batch<'a>(&self, entries: impl Iterator<Item = &'a Entry<SM::Op>>) -> Vec<Entry<SM::Op>>
    where
        SM::Op: 'a,
    {
        let mut bytes = 0;
        let mut batch = Vec::new();
        for entry in entries.take(self.max_batch.unwrap_or(usize::MAX)) {
            if let Some(BatchBytes { limit, size }) = &self.max_batch_bytes {
                bytes += size(entry);
                if bytes > *limit && !batch.is_empty() {
                    break;
                }
            }
            batch.push(entry.clone());
        }
        batch
    }

    /// The commit index, to every follower (see [`RaftServer::notify_commit_to`]).
    fn notify_commit(&self, state: &RaftState<SM>, o: &mut Out<Self>) {
        for peer in &state.config.peers {
            self.notify_commit_to(state, *peer, o);
        }
    }

    /// The commit index, to `peer`, in an AppendEntries with no entries after the last
    /// one it acknowledged (see `commit_notice`): it commits up to there.
    fn notify_commit_to(&self, state: &RaftState<SM>, peer: Id, o: &mut Out<Self>) {
        let Role::Leader(leader) = &state.role else {
            return;
        };
        let matched = leader.matched[&peer];
        if matched < state.log.snapshot_index() {
            return; // a snapshot is on its way to it
        }
        let notice = Msg::Append {
            term: state.term,
            prev_index: matched,
            prev_term: state.term_at(matched),
            entries: Vec::new(),
            commit: state.commit,
            round: leader.round,
        };
        o.send(peer, notice);
    }

    fn broadcast_append(&self, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        for peer in state.config.peers.clone() {
            self.send_append(state, peer, o);
        }
    }

    /// Applies every committed entry not yet applied (figure 2: "If commitIndex >
    /// lastApplied: increment lastApplied, apply log[lastApplied]"). The leader answers
    /// the client of each entry it appended itself (those of its term); a duplicate is
    /// answered with the cached result. A request appended by an earlier leader is answered
    /// when its client retries, from the session table.
    fn apply_committed(&self, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        let dedup = !self.has_bug(RaftBug::NoDedup);
        while state.replica.applied < state.commit && !self.applied_outside {
            let entry = state
                .log
                .get(state.replica.applied + 1)
                .expect("committed entries are in the log");
            let ret = state.replica.apply(entry, dedup);
            let answers = state.is_leader() && entry.term == state.term;
            if let (true, Some(ret)) = (answers, ret) {
                let reply = ClientMsg::Reply {
                    seq: entry.seq,
                    ret,
                };
                o.send(entry.client, Msg::Client(reply));
            } else if answers {
                self.answer_admin(entry, o);
            }
        }
        self.answer_confirmed_reads(state, o);
        self.compact_if_due(state, o);
    }

    /// Rules for leaders: commit the highest index N stored on a majority of the
    /// configuration whose entry is of the current term (§5.4.2: never count replicas of an
    /// earlier term's entry). A leader that the newly committed configuration leaves out
    /// then steps down (see `membership`).
    fn advance_commit(&self, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        let Role::Leader(leader) = &state.role else {
            return;
        };
        let new_commit = (state.commit + 1..=state.last_index()).rev().find(|&n| {
            let stored = leader.matched.iter().filter(|(_, &m)| m >= n);
            let term_ok = state.term_at(n) == state.term || self.has_bug(RaftBug::CommitOldTerm);
            term_ok && state.config.majority(stored.map(|(p, _)| p))
        });
        if let Some(n) = new_commit {
            state.commit = n;
            self.apply_committed(state, o);
            match (self.commit_notice, self.pipeline) {
                (true, true) => self.notify_commit(state, o),
                (true, false) => self.broadcast_append(state, o),
                (false, _) => {}
            }
            self.step_down_if_removed(state, o);
        }
    }

    /// ReadIndex: answer each pending read once a majority (counting the leader) has
    /// acknowledged its heartbeat round and its read index has been applied.
    fn answer_confirmed_reads(&self, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        let applied = state.replica.applied;
        let sm = &state.replica.sm;
        let config = &state.config;
        let Role::Leader(leader) = &mut state.role else {
            return;
        };
        let acked = &leader.acked;
        leader.reads.retain(|read| {
            if !confirms(config, acked, read.round) || applied < read.index {
                return true;
            }
            if let Some(ret) = sm.read(&read.op) {
                let reply = ClientMsg::Reply { seq: read.seq, ret };
                o.send(read.client, Msg::Client(reply));
            }
            false
        });
    }

    /// Figure 2, "Rules for Servers": a message of a newer term makes this server adopt that
    /// term, with no vote in it yet, and follow; the term is saved at once. A deposed
    /// leader, which has no election timer running, arms one; a follower or candidate keeps
    /// its own (it restarts only on granting a vote or on hearing from the term's leader).
    fn adopt_term(&self, state: &mut Cow<RaftState<SM>>, term: Term, o: &mut Out<Self>) {
        if state.is_leader() {
            self.reset_election_timer(o);
            if self.check_quorum {
                o.cancel_timer(RaftTimer::CheckQuorum);
            }
        }
        let adopted = state.to_mut();
        adopted.term = term;
        adopted.voted_for = None;
        adopted.role = Role::Follower { leader: None };
        self.save(state, o);
    }

    /// RequestVote receiver (figure 2), in the current term: a vote granted by
    /// [`RaftState::grants_vote`] is saved before it is sent, and resets the election
    /// timer. A refusal in the candidate's own term tells it nothing (candidates count only
    /// grants), so it is not sent.
    fn on_request_vote(
        &self,
        state: &mut Cow<RaftState<SM>>,
        src: Id,
        last_index: Index,
        last_term: Term,
        o: &mut Out<Self>,
    ) {
        if !state.grants_vote(src, last_index, last_term) {
            return;
        }
        if state.voted_for != Some(src) {
            state.to_mut().voted_for = Some(src);
            self.save(state, o);
        }
        self.reset_election_timer(o);
        let vote = Msg::Vote {
            term: state.term,
            granted: true,
        };
        o.send(src, vote);
    }

    /// RequestVote reply, in the current term: a vote that [`RaftState::counts_vote`] is
    /// counted, and a majority elects this server.
    fn on_vote(
        &self,
        id: Id,
        state: &mut Cow<RaftState<SM>>,
        src: Id,
        granted: bool,
        o: &mut Out<Self>,
    ) {
        if !state.counts_vote(src, granted) {
            return;
        }
        let state = state.to_mut();
        if let Role::Candidate { votes } = &mut state.role {
            votes.insert(src);
        }
        self.become_leader_if_elected(id, state, o);
    }

    /// A message from the leader of the current term: recognize it, and restart the
    /// election timer.
    pub(super) fn follow(
        &self,
        id: Id,
        state: &mut Cow<RaftState<SM>>,
        src: Id,
        o: &mut Out<Self>,
    ) {
        if state.leader_hint(id) != Some(src) {
            state.to_mut().role = Role::Follower { leader: Some(src) };
        }
        self.reset_election_timer(o);
    }

    /// AppendEntries receiver (figure 2), in the current term: recognize the sender as the
    /// term's leader; if the log matches at `prev_index` (see [`RaftState::matches_log`],
    /// which also says where the leader should retry), delete conflicting entries, append
    /// new ones, save, and advance the commit index; acknowledge either way. Entries from
    /// before the snapshot are committed here already, so they match: the reply says the
    /// log matches up to the commit index, and the leader sends what follows.
    #[allow(clippy::too_many_arguments)]
    fn on_append(
        &self,
        id: Id,
        state: &mut Cow<RaftState<SM>>,
        src: Id,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry<SM::Op>>,
        commit: Index,
        round: u64,
        o: &mut Out<Self>,
    ) {
        self.follow(id, state, src, o);
        let mut changed = false;
        let matched = match prev_index < state.log.snapshot_index() {
            true => Err(None),
            false => state.matches_log(prev_index, prev_term).map_err(Some),
        };
        let (success, index) = match matched {
            // Compacted here, so committed: the log matches up to the commit index.
            Err(None) => (true, state.commit),
            Err(Some(retry)) => (false, retry),
            Ok(()) => {
                for (offset, entry) in entries.iter().enumerate() {
                    let index = prev_index + 1 + offset as Index;
                    if state.term_at(index) == entry.term && index <= state.last_index() {
                        continue;
                    }
                    let state = state.to_mut();
                    state.truncate_log(id, index - 1);
                    state.push_entry(id, entry.clone());
                    changed = true;
                }
                (true, prev_index + entries.len() as Index)
            }
        };
        if changed {
            self.save(state, o);
        }
        if success && commit > state.commit {
            let new_commit = commit.min(index);
            if new_commit > state.commit {
                let state = state.to_mut();
                state.commit = new_commit;
                self.apply_committed(state, o);
            }
        }
        let reply = Msg::Appended {
            term: state.term,
            success,
            index,
            round,
        };
        o.send(src, reply);
    }

    /// AppendEntries reply at the leader, in the current term: record the acknowledged
    /// heartbeat round; on success record the match and try to commit; on failure move
    /// `next` back to the follower's hint and resend.
    fn on_appended(
        &self,
        state: &mut Cow<RaftState<SM>>,
        src: Id,
        success: bool,
        index: Index,
        round: u64,
        o: &mut Out<Self>,
    ) {
        let Role::Leader(leader) = &state.role else {
            return;
        };
        let (Some(&matched), Some(&next)) = (leader.matched.get(&src), leader.next.get(&src))
        else {
            return; // not a member of this cluster
        };
        let new_ack = leader.acked.get(&src).is_none_or(|&r| r < round);
        let progress = if success {
            index > matched
        } else {
            index > matched && index < next
        };
        let newly_active = self.check_quorum && !leader.active.contains(&src);
        if !new_ack && !progress && !newly_active {
            return;
        }
        let state = state.to_mut();
        let leader = state.leader_mut().expect("checked above");
        if newly_active {
            leader.active.insert(src);
        }
        if new_ack {
            leader.acked.insert(src, round);
        }
        if success && progress {
            leader.matched.insert(src, index);
            let next = leader.next.get_mut(&src).expect("a member, checked above");
            *next = match self.pipeline {
                true => (*next).max(index + 1),
                false => index + 1,
            };
            let more = self.pipeline && *next <= state.last_index();
            let commit = state.commit;
            self.advance_commit(state, o);
            // A notice that reached this follower before its acknowledgement reached the
            // leader told it the commit index only up to what it had acknowledged then.
            let told = state.commit > commit;
            if self.pipeline && self.commit_notice && !told && commit > matched {
                self.notify_commit_to(state, src, o);
            }
            if more {
                self.send_append(state, src, o);
            }
        } else if progress {
            leader.next.insert(src, index);
            self.send_append(state, src, o);
        }
        self.answer_confirmed_reads(state, o);
    }

    /// A client request. Followers and candidates redirect to the leader they know. The
    /// leader answers a duplicate from the session table; serves a read by ReadIndex once
    /// an entry of its own term is committed (before that, a read goes through the log);
    /// and appends any other request to its log.
    fn on_request(
        &self,
        id: Id,
        state: &mut Cow<RaftState<SM>>,
        client: Id,
        seq: u64,
        op: SM::Op,
        o: &mut Out<Self>,
    ) {
        if !state.is_leader() {
            if let Some(redirect) = state.redirect(id, seq) {
                o.send(client, Msg::Client(redirect));
            }
            return;
        }
        if !self.has_bug(RaftBug::NoDedup) {
            if let Some(ret) = state.replica.cached(client, seq) {
                let reply = ClientMsg::Reply {
                    seq,
                    ret: ret.clone(),
                };
                o.send(client, Msg::Client(reply));
                return;
            }
            if state.replica.has_applied(client, seq) {
                return;
            }
        }
        let term_committed = state.term_at(state.commit) == state.term;
        if let (true, Some(ret)) = (
            self.has_bug(RaftBug::LocalReads),
            state.replica.sm.read(&op),
        ) {
            o.send(client, Msg::Client(ClientMsg::Reply { seq, ret }));
            return;
        }
        let state = state.to_mut();
        if term_committed && state.replica.sm.read(&op).is_some() {
            let index = state.commit;
            let round = self.start_round(state, o);
            let leader = state.leader_mut().expect("checked above");
            leader.reads.push(PendingRead {
                round,
                index,
                client,
                seq,
                op,
            });
            self.answer_confirmed_reads(state, o);
        } else {
            self.append(state, client, seq, op, o);
        }
    }

    /// Rules for leaders: a command from a client is appended to the local log (saved
    /// before it is sent) and replicated; a cluster of one commits it at once.
    fn append(
        &self,
        state: &mut RaftState<SM>,
        client: Id,
        seq: u64,
        op: SM::Op,
        o: &mut Out<Self>,
    ) {
        let term = state.term;
        state.log.push(Entry {
            term,
            client,
            seq,
            op: Payload::Op(op),
        });
        self.replicate_new_entry(state, o);
    }

    /// Rules for leaders, after appending an entry: save it before sending it, replicate
    /// it; a configuration of one commits it at once.
    pub(super) fn replicate_new_entry(&self, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        self.save(state, o);
        self.broadcast_append(state, o);
        self.advance_commit(state, o);
        self.answer_confirmed_reads(state, o);
    }

    /// A hook for services built on this server: the leader appends `client`'s request
    /// `seq` to its log, unless that request has already been applied (exactly-once), and
    /// returns true; any other server returns false and changes nothing. Whoever answers
    /// the client does so when it applies the entry.
    pub fn propose(
        &self,
        state: &mut Cow<RaftState<SM>>,
        client: Id,
        seq: u64,
        op: SM::Op,
        o: &mut Out<Self>,
    ) -> bool {
        if !state.is_leader() {
            return false;
        }
        if !state.replica.has_applied(client, seq) {
            self.append(state.to_mut(), client, seq, op, o);
        }
        true
    }

    /// A hook for services built on this server that answer reads at any server
    /// (ReadIndex, dissertation §6.4): at the leader, a read index for a read that arrived
    /// now, with the heartbeat round, started here, that confirms it; `None` at any other
    /// server. The index is the commit index if an entry of the leader's term is
    /// committed, or if its whole log is (every committed entry is in its log, the Leader
    /// Completeness property). Otherwise it is the last index, which only an entry of the
    /// term can commit: the leader appends a no-op if its log has none yet (the
    /// dissertation's blank entry at the start of a term, here only when a read needs it),
    /// so that a read never waits for a client's write. The read may be answered once
    /// [`RaftState::confirms`] the round and the index is committed: no other leader can
    /// have committed anything newer when a majority still answered this one after the
    /// read arrived.
    pub fn read_index(
        &self,
        id: Id,
        state: &mut Cow<RaftState<SM>>,
        o: &mut Out<Self>,
    ) -> Option<(u64, Index)> {
        if !state.is_leader() {
            return None;
        }
        let state = state.to_mut();
        let settled = state.last_index() == state.commit;
        if !settled && state.term_at(state.commit) != state.term {
            if state.term_at(state.last_index()) != state.term {
                self.append_noop(id, state, o);
            }
            return Some((self.start_round(state, o), state.last_index()));
        }
        Some((self.start_round(state, o), state.commit))
    }

    /// At the leader: appends an entry of its term that changes nothing, and replicates it,
    /// so that an entry of its term can commit without a client's write.
    fn append_noop(&self, id: Id, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        let noop = Entry {
            term: state.term,
            client: id,
            seq: 0,
            op: Payload::Noop,
        };
        state.push_entry(id, noop);
        self.replicate_new_entry(state, o);
    }

    /// At the leader: a new heartbeat round, sent to every follower at once; its number.
    fn start_round(&self, state: &mut RaftState<SM>, o: &mut Out<Self>) -> u64 {
        let leader = state.leader_mut().expect("only a leader starts a round");
        leader.round += 1;
        let round = leader.round;
        self.broadcast_append(state, o);
        round
    }

    /// One message: the term rule first, then the handler of its kind.
    fn step(
        &self,
        id: Id,
        state: &mut Cow<RaftState<SM>>,
        src: Id,
        msg: Msg<SM::Op, SM::Ret>,
        o: &mut Out<Self>,
    ) {
        // The term rule, once for every message between servers (as etcd's `Step`): a
        // newer term is adopted first, an older one answered (or ignored) here alone, and
        // the handlers below see only messages of the current term, but for a pre-vote and
        // its grant, which may carry the next term and leave the term as it is.
        match msg.term().map(|term| (term, state.term_order(term))) {
            Some((_, TermOrder::Older)) => {
                if let Some(answer) = state.answer_to_older(&msg) {
                    o.send(src, answer);
                }
                return;
            }
            Some((term, TermOrder::Newer)) if RaftState::<SM>::adopts_term(&msg) => {
                self.adopt_term(state, term, o)
            }
            Some((_, TermOrder::Newer | TermOrder::Current)) | None => {}
        }
        match msg {
            Msg::RequestVote {
                last_index,
                last_term,
                ..
            } => self.on_request_vote(state, src, last_index, last_term, o),
            Msg::Vote { granted, .. } => self.on_vote(id, state, src, granted, o),
            Msg::PreVote {
                term,
                last_index,
                last_term,
            } => self.on_pre_vote(state, src, term, last_index, last_term, o),
            Msg::PreVoted { term, granted } => self.on_pre_voted(id, state, src, term, granted, o),
            Msg::Append {
                prev_index,
                prev_term,
                entries,
                commit,
                round,
                ..
            } => self.on_append(
                id, state, src, prev_index, prev_term, entries, commit, round, o,
            ),
            Msg::Appended {
                success,
                index,
                round,
                ..
            } => self.on_appended(state, src, success, index, round, o),
            Msg::Snapshot {
                index,
                last_term,
                data,
                round,
                ..
            } => self.on_snapshot(id, state, src, index, last_term, data, round, o),
            Msg::Client(ClientMsg::Request { seq, op }) => {
                self.on_request(id, state, src, seq, op, o)
            }
            Msg::Admin(ClientMsg::Request { seq, op }) => self.on_admin(id, state, src, seq, op, o),
            Msg::Client(_) | Msg::Admin(_) => {}
        }
    }
}

impl<SM: StateMachine> Actor for RaftServer<SM> {
    type Msg = Msg<SM::Op, SM::Ret>;
    type State = RaftState<SM>;
    type Timer = RaftTimer;
    type Storage = RaftStorage<SM::Op>;
    type Random = ();

    /// Starts as a follower from whatever storage survived (figure 2: volatile state is
    /// reinitialized; the state machine is rebuilt as the commit index is relearned), from
    /// the snapshot if there is one: its state machine, with the snapshot's last index
    /// committed and applied (§7).
    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        let saved = storage.clone().unwrap_or(RaftStorage {
            term: 0,
            voted_for: None,
            log: Log::default(),
            snapshot: Bytes::new(),
        });
        self.reset_election_timer(o);
        let mut replica: Replica<SM> = decode(&saved.snapshot).expect("the saved snapshot decodes");
        if saved.snapshot.is_empty() {
            replica.config = self.initial_members(id);
        }
        let mut state = RaftState {
            term: saved.term,
            voted_for: saved.voted_for,
            commit: saved.log.snapshot_index(),
            log: saved.log,
            snapshot: saved.snapshot,
            role: Role::Follower { leader: None },
            config: Membership::of(id, &replica.config, 0),
            replica,
        };
        state.config = state.latest_config(id);
        debug_started(self, &state);
        state
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| self.step(id, state, src, msg, o));
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &RaftTimer,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| match timer {
            RaftTimer::Election if !state.config.member => self.lease_over(state),
            RaftTimer::Election if !state.is_leader() && self.pre_vote => {
                self.start_pre_vote(id, state.to_mut(), o);
            }
            RaftTimer::Election if !state.is_leader() => {
                self.start_election(id, state.to_mut(), o);
            }
            RaftTimer::CheckQuorum if state.is_leader() => self.check_quorum(state, o),
            RaftTimer::Heartbeat if state.is_leader() => {
                self.broadcast_append(state.to_mut(), o);
                if let Some(interval) = &self.heartbeat {
                    o.set_timer(RaftTimer::Heartbeat, interval.clone());
                }
            }
            _ => {}
        });
    }
}
