//! `sync` without a log entry. ZooKeeper's leader answers a sync once the proposals before
//! it are committed, writing nothing; here a sync is Raft's ReadIndex (dissertation §6.4),
//! which is a little stronger (linearizable).
//!
//! Rules:
//! - A connection's sync asks the leader for a read index (`SyncAsk`, under a number its
//!   server gives it) as soon as its server knows a leader. The leader records an index
//!   and starts a heartbeat round ([`RaftServer::read_index`]; a new leader whose log
//!   holds uncommitted entries of earlier terms and none of its own appends a no-op, so
//!   that the sync does not wait for a client's write), and answers (`SyncIndex`,
//!   with its term) once a majority has acknowledged that round and the index is
//!   committed ([`RaftState::confirms`]): no newer leader can have committed anything
//!   before the sync arrived. With [`ZkBug::SyncUnconfirmed`] it answers its commit index
//!   at once, as a deposed leader that does not know it yet would.
//! - The connection's server takes an index only from the leader it follows, in its term
//!   (when its leader changes it closes every connection, with their syncs), and answers
//!   the sync, in request order, once it has applied that index. A read after the sync
//!   waits for it as it would behind a write, so it sees every write committed before the
//!   sync arrived.
//! - A sync is answered at the latest just before its server applies the first write its
//!   connection sent after it: every entry committed before the sync arrived precedes
//!   that write in the log, and a read after the sync must not see that write.
//! - A sync changes nothing, so a sync asked again (with its connection's stalled writes,
//!   see `SessionRules::resend_after`) keeps its number, and any answer will do.
//!
//! [`RaftServer::read_index`]: crate::raft::RaftServer::read_index
//! [`RaftState::confirms`]: crate::raft::RaftState::confirms

use super::connection::Pending;
use super::msg::ZkMsg;
use super::server::{ZkServer, ZkServerState};
use super::txn::{Origin, TxnKind};
use super::ZkBug;
use crate::raft::{Index, RaftState, Term};
use coord_specs::znode::{ZkOp, ZkRet};
use serde::Serialize;
use stateright::actor::{Id, Out};
use std::borrow::Cow;

/// At the leader: a sync whose read index waits for its heartbeat round to be confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Confirming {
    pub from: Origin,
    /// The number the sync's server gave it.
    pub n: u64,
    pub round: u64,
    pub index: Index,
}

/// At a connection's server: a sync whose read index this server has not applied yet.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Ripening {
    pub index: Index,
    pub conn: Id,
    pub n: u64,
}

impl Pending {
    /// True if this is a sync not answered yet, asked under number `n` (any, for `None`).
    fn waits_as_sync(&self, n: Option<u64>) -> bool {
        self.done.is_none() && self.sync.is_some_and(|k| n.is_none_or(|n| k == n))
    }

    /// This sync's answer: the path it named (ZooKeeper's reply).
    fn synced(&mut self) {
        let super::conn::Call::Op(op) = &self.request.call else {
            unreachable!("only a sync waits as one");
        };
        let ZkOp::Sync { path } = op.caller().1 else {
            unreachable!("only a sync waits as one");
        };
        self.done = Some(ZkRet::Synced(path.clone()));
    }
}

impl ZkServer {
    /// Asks the leader for a read index for each sync of connection `conn` not asked yet,
    /// if this server knows a leader (see the module's rules).
    pub(super) fn ask_syncs(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        conn: Id,
        o: &mut Out<Self>,
    ) {
        let Some(leader) = state.raft.leader_hint(id) else {
            return;
        };
        if state.conns.get(&conn).is_none_or(|c| c.unasked == 0) {
            return;
        }
        let inner = state.to_mut();
        let c = inner.conns.get_mut(&conn).expect("known");
        let mut asks = Vec::new();
        for p in (c.queue.iter_mut()).filter(|p| p.sync == Some(0)) {
            inner.asks += 1;
            p.sync = Some(inner.asks);
            asks.push(inner.asks);
        }
        c.unasked = 0;
        let from = Origin { server: id, conn };
        for n in asks {
            self.send_ask(id, state, leader, from, n, o);
        }
    }

    /// Asks `leader` again for the read index of every sync of connection `conn` still
    /// waiting for one (a message may have been lost).
    pub(super) fn ask_again(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        conn: Id,
        o: &mut Out<Self>,
    ) {
        let Some(leader) = state.raft.leader_hint(id) else {
            return;
        };
        for n in unanswered_asks(state, conn) {
            self.send_ask(id, state, leader, Origin { server: id, conn }, n, o);
        }
    }

    fn send_ask(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        leader: Id,
        from: Origin,
        n: u64,
        o: &mut Out<Self>,
    ) {
        match leader == id {
            true => self.on_sync_ask(id, state, from, n, o),
            false => o.send(leader, ZkMsg::SyncAsk { from, n }),
        }
    }

    /// At the leader: sync `n` of connection `from` asks for a read index (see the
    /// module's rules). A server that does not lead drops it: the asker closes its
    /// connections when it learns of the new leader.
    pub(super) fn on_sync_ask(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        from: Origin,
        n: u64,
        o: &mut Out<Self>,
    ) {
        if !state.raft.is_leader() {
            return;
        }
        if self.bug == Some(ZkBug::SyncUnconfirmed) {
            let (term, index) = (state.raft.term, state.raft.commit);
            return self.send_index(id, state, from, n, term, index, o);
        }
        let asked = self.raft_step(id, state, o, |raft, st, out| raft.read_index(id, st, out));
        let (round, index) = asked.expect("a leader gives a read index");
        let confirming = Confirming {
            from,
            n,
            round,
            index,
        };
        state.to_mut().confirming.push(confirming);
        self.answer_confirmed(id, state, o);
    }

    /// At the leader: every sync whose round a majority has confirmed, and whose index is
    /// committed, gets its index.
    pub(super) fn answer_confirmed(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        o: &mut Out<Self>,
    ) {
        let ready =
            |raft: &RaftState<_>, c: &Confirming| raft.confirms(c.round) && c.index <= raft.commit;
        if !(state.confirming.iter()).any(|c| ready(&state.raft, c)) {
            return;
        }
        let inner = state.to_mut();
        let (ready, waiting) = (std::mem::take(&mut inner.confirming).into_iter())
            .partition(|c| ready(&inner.raft, c));
        inner.confirming = waiting;
        let term = state.raft.term;
        for c in ready {
            self.send_index(id, state, c.from, c.n, term, c.index, o);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_index(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        from: Origin,
        n: u64,
        term: Term,
        index: Index,
        o: &mut Out<Self>,
    ) {
        match from.server == id {
            true => self.on_sync_index(id, state, id, from, n, term, index, o),
            false => o.send(
                from.server,
                ZkMsg::SyncIndex {
                    from,
                    n,
                    term,
                    index,
                },
            ),
        }
    }

    /// At the connection's server: leader `src` of `term` gives sync `n` of connection
    /// `from` its read index. Taken only from the leader this server follows, in its
    /// term; the sync is answered once the index is applied here.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_sync_index(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        src: Id,
        from: Origin,
        n: u64,
        term: Term,
        index: Index,
        o: &mut Out<Self>,
    ) {
        let current = term == state.raft.term && state.raft.leader_hint(id) == Some(src);
        let conn = from.conn;
        let waits = (state.conns.get(&conn))
            .is_some_and(|c| c.queue.iter().any(|p| p.waits_as_sync(Some(n))));
        if !current || from.server != id || !waits {
            return;
        }
        let inner = state.to_mut();
        inner.conns.get_mut(&conn).expect("known").waited = 0;
        inner.ripening.insert(Ripening { index, conn, n });
        self.ripen(state, o);
    }

    /// Answers every sync whose read index this server has applied.
    pub(super) fn ripen(&self, state: &mut Cow<ZkServerState>, o: &mut Out<Self>) {
        let applied = state.raft.replica.applied;
        while let Some(r) = (state.ripening.first()).filter(|r| r.index <= applied) {
            let Ripening { conn, n, .. } = r.clone();
            let inner = state.to_mut();
            inner.ripening.pop_first();
            let c = inner.conns.get_mut(&conn);
            if let Some(p) = c.and_then(|c| c.queue.iter_mut().find(|p| p.waits_as_sync(Some(n)))) {
                p.synced();
            }
            self.drain(state, conn, o);
        }
    }

    /// Before this server applies the next entry of its log: if it is a write of one of
    /// its connections, every sync that connection sent before it is answered now (see
    /// the module's rules).
    pub(super) fn syncs_before_write(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        o: &mut Out<Self>,
    ) {
        let next = state.raft.replica.applied + 1;
        let Some(TxnKind::Request { seat, from, .. }) = (state.raft.log.get(next))
            .and_then(|e| e.op.as_op())
            .map(|t| &t.kind)
        else {
            return;
        };
        let (seat, conn) = (*seat, from.conn);
        let before = |p: &Pending| p.n == 0 || p.n < seat.n;
        let waits = (state.conns.get(&conn).filter(|_| from.server == id))
            .filter(|c| c.session == seat.session)
            .is_some_and(|c| {
                (c.queue.iter().take_while(|p| before(p))).any(|p| p.waits_as_sync(None))
            });
        if !waits {
            return;
        }
        let inner = state.to_mut();
        let c = inner.conns.get_mut(&conn).expect("known");
        let mut answered = Vec::new();
        for p in c.queue.iter_mut().take_while(|p| before(p)) {
            if p.waits_as_sync(None) {
                p.synced();
                answered.extend(p.sync);
            }
        }
        (inner.ripening).retain(|r| r.conn != conn || !answered.contains(&r.n));
        self.drain(state, conn, o);
    }
}

/// The numbers of connection `conn`'s syncs asked and not answered yet.
fn unanswered_asks(state: &ZkServerState, conn: Id) -> Vec<u64> {
    let Some(c) = state.conns.get(&conn) else {
        return Vec::new();
    };
    (c.queue.iter().filter(|p| p.asked()))
        .filter_map(|p| p.sync)
        .collect()
}
