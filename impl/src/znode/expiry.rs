//! The leader's session tracker (ZooKeeper's `SessionTrackerImpl`): one deadline per open
//! session, pushed back whenever the leader hears from the session; a session whose
//! deadline passes expires through the log.
//!
//! Rules:
//! - The leader tracks every open session: each one in its tree when it is elected (with a
//!   whole fresh period, as ZooKeeper's new leader gives each session a fresh timeout),
//!   and each one it applies the creation of.
//! - It hears from a session when one of the session's connections is connected to it, or
//!   sends it a transaction, or a follower reports the session's activity (`Touch`).
//! - A closed session is tracked no more.

use super::msg::ZkMsg;
use super::server::{Expiry, ZkServer, ZkServerState, ZkTimer};
use super::txn::{Txn, TxnKind};
use super::ZkBug;
use super::ZnodeTree;
use crate::raft::RaftState;
use coord_specs::znode::SessionId;
use stateright::actor::{Id, Out};
use std::borrow::Cow;
use std::time::Duration;

impl ZkServer {
    /// At a newly elected leader: tracks every open session of its tree. With
    /// [`ZkBug::ForgetSessionsOnFailover`], none: only those it hears from later.
    pub(super) fn adopt_sessions(&self, state: &mut Cow<ZkServerState>, o: &mut Out<Self>) {
        if self.bug == Some(ZkBug::ForgetSessionsOnFailover) {
            return;
        }
        let open: Vec<SessionId> = state.tree().open_sessions().map(|(s, _)| s).collect();
        for session in open {
            self.heard_from(state, session, o);
        }
    }

    /// At the leader: `session` is alive, so its deadline is a whole period away (setting
    /// a timer that is already set moves it). Nothing for a closed session, or without
    /// expiry.
    pub(super) fn heard_from(
        &self,
        state: &mut Cow<ZkServerState>,
        session: SessionId,
        o: &mut Out<Self>,
    ) {
        let Some(expiry) = &self.sessions.expiry else {
            return;
        };
        if state.tree().is_closed(session) {
            return;
        }
        if !state.sessions.contains(&session) {
            state.to_mut().sessions.insert(session);
        }
        let period = match expiry {
            Expiry::Fixed(range) => range.clone(),
            Expiry::Negotiated => {
                let tick = u64::from(self.sessions.tick_ms);
                let timeout =
                    (state.tree().session(session)).map_or(20 * tick, |s| s.timeout_ms.into());
                Duration::from_millis(timeout)..Duration::from_millis(timeout + tick)
            }
        };
        o.set_timer(ZkTimer::Expire(session), period);
    }

    /// At the leader: `session` is closed; it is tracked no more.
    pub(super) fn untrack(
        &self,
        state: &mut Cow<ZkServerState>,
        session: SessionId,
        o: &mut Out<Self>,
    ) {
        if state.sessions.contains(&session) {
            state.to_mut().sessions.remove(&session);
            o.cancel_timer(ZkTimer::Expire(session));
        }
    }

    /// A connection here heard from `session`: the leader notes it alive; a follower that
    /// relays touches keeps it to report to the leader.
    pub(super) fn touch(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        session: SessionId,
        o: &mut Out<Self>,
    ) {
        if state.raft.leader_hint(id) == Some(id) {
            self.heard_from(state, session, o);
        } else if self.sessions.relay_touches && !state.touched.contains(&session) {
            state.to_mut().touched.insert(session);
        }
    }

    /// At a follower that heard from its leader: reports the sessions touched since the
    /// last report (ZooKeeper's learners send them with their pings).
    pub(super) fn report_touches(&self, id: Id, state: &mut Cow<ZkServerState>, o: &mut Out<Self>) {
        if state.touched.is_empty() {
            return;
        }
        if let Some(leader) = state.raft.leader_hint(id).filter(|&l| l != id) {
            let touched = std::mem::take(&mut state.to_mut().touched);
            o.send(leader, ZkMsg::Touch(touched.into_iter().collect()));
        }
    }

    /// A follower's report: at the leader, each session is alive.
    pub(super) fn on_touch(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        sessions: Vec<SessionId>,
        o: &mut Out<Self>,
    ) {
        if state.raft.leader_hint(id) != Some(id) {
            return;
        }
        for session in sessions {
            self.heard_from(state, session, o);
        }
    }

    /// `session`'s deadline passed: at the leader, the session expires and its close goes
    /// through the log. A server that no longer leads forgets the session; the next
    /// leader tracks it from its tree.
    pub(super) fn on_expire(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        session: SessionId,
        o: &mut Out<Self>,
    ) {
        if !state.sessions.contains(&session) {
            return;
        }
        state.to_mut().sessions.remove(&session);
        if state.raft.is_leader() && !closing(&state.raft, session) {
            let kind = TxnKind::Expire { session };
            self.propose(id, state, Txn { kind, time: 0 }, o);
        }
    }
}

/// True if the leader `raft` has already proposed `session`'s expiry in its own term: the
/// close will commit while it leads, so the session needs no new deadline. (An expiry left
/// by an earlier leader counts for nothing: it commits only with an entry of this term.)
fn closing(raft: &RaftState<ZnodeTree>, session: SessionId) -> bool {
    let expire = TxnKind::Expire { session };
    (raft.log.from(raft.replica.applied + 1))
        .any(|e| e.term == raft.term && e.op.as_op().is_some_and(|t| t.kind == expire))
}
