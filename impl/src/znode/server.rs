//! The znode server: ZooKeeper's client protocol on top of a Raft server that replicates
//! the znode tree and its session table (notes, part I).
//!
//! - A connection talks to one server ([`super::connection`]): it opens or resumes a
//!   session, then pipelines requests. Reads are answered there, from the tree as that
//!   server has applied it (possibly stale, never ahead of what is committed); writes go
//!   to the leader, which stamps their time and appends them in the connection's order
//!   ([`super::owner`]); the connection's server answers a write when it applies it.
//!   A `sync` writes nothing: the connection's server answers it once it has applied a
//!   read index the leader confirmed ([`super::sync`]).
//!   Replies go out in request order, and a read waits behind the writes and syncs its
//!   connection sent before it (ZooKeeper's `CommitProcessor`). Rule: a server applies the entries
//!   of one step one at a time and answers after each, so a read queued between two
//!   writes of its connection sees the first and not the second, however many entries
//!   one step commits.
//! - Watches are held by the connection's server and fired as that server applies the
//!   change, in the same step and before any reply that could show the new data.
//! - The leader tracks every open session ([`super::expiry`]), each with its own deadline,
//!   pushed back whenever it hears from the session; a session whose deadline passes
//!   expires through the log, which deletes its ephemeral nodes; every server then closes
//!   the session's connection and drops its watches.
//! - Rule (ZooKeeper's followers restart when their leader goes): a server whose leader
//!   changes closes every connection (`Closed(Lost)`); its clients reconnect. A write
//!   whose answer is slow to come is sent again to the same leader (see
//!   [`SessionRules::resend_after`]), which appends it once.

use super::conn::{CloseReason, Connected};
use super::connection::Conn;
use super::msg::ZkMsg;
use super::owner::Owner;
use super::sync::{Confirming, Ripening};
use super::txn::{Outcome, Txn, TxnKind};
use super::watch::{self, fire, Watches};
use super::{Change, ZkBug, ZnodeTree};
use crate::invariants::checked;
use crate::raft::embed::{self, Stepped};
use crate::raft::{Msg, Payload, RaftServer, RaftState, RaftStorage, RaftTimer};
use coord_specs::znode::{Millis, SessionId, ZkOp, ZkRet};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;

/// The Raft server underneath.
pub type ZkRaft = RaftServer<ZnodeTree>;

/// How the leader expires silent sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// A session expires between its negotiated timeout and one tick more after it was
    /// last heard from (a real run).
    Negotiated,
    /// Every deadline is in this range, whatever the timeout (the models: their timers
    /// may fire at any step anyway).
    Fixed(Range<Duration>),
}

/// The session rules of a server.
#[derive(Clone, Debug)]
pub struct SessionRules {
    /// ZooKeeper's tick: a negotiated timeout is 2 to 20 ticks.
    pub tick_ms: u32,
    /// The key of session passwords; every server of a cluster has the same.
    pub secret: Vec<u8>,
    /// When silent sessions expire; `None` for never.
    pub expiry: Option<Expiry>,
    /// Whether followers report the sessions they hear from to the leader (with the
    /// leader's next AppendEntries). The models leave it off: their `allows` rule stands
    /// for a live client's keepalives.
    pub relay_touches: bool,
    /// A server looks at its connections this often ([`ZkTimer::Resend`]): one whose
    /// writes or syncs have waited a whole period without an answer sends them to the
    /// leader again (a forward may be lost on the way); `None` never does. The models,
    /// whose network loses nothing, leave it off. (A count of the leader's AppendEntries
    /// is no clock: under load they come thousands of times a second, and every write
    /// was sent again dozens of times.)
    pub resend_after: Option<Range<Duration>>,
    /// Sessions open before the cluster starts, with the shortest timeout (the models:
    /// each client's session was opened before the run, so that a check of something else
    /// spends no log entry on it; a run on real clocks has none).
    pub genesis: Vec<SessionId>,
}

impl Default for SessionRules {
    /// ZooKeeper's default tick (2 s), a fixed secret, no expiry, no relayed touches.
    fn default() -> Self {
        SessionRules {
            tick_ms: 2_000,
            secret: b"coord".to_vec(),
            expiry: None,
            relay_touches: false,
            resend_after: None,
            genesis: Vec::new(),
        }
    }
}

/// A znode server's configuration.
#[derive(Clone, Debug)]
pub struct ZkServer {
    /// The Raft server underneath (see [`ZkServer::new`]).
    pub raft: ZkRaft,
    pub sessions: SessionRules,
    /// A deliberate mistake to switch on, `None` for the correct service.
    pub bug: Option<ZkBug>,
}

/// The server's timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkTimer {
    Raft(RaftTimer),
    /// At the leader: this session's deadline passed without a word from it, so it
    /// expires (ZooKeeper's session tracker, one deadline per session).
    Expire(SessionId),
    /// Time to send again what waited too long (see [`SessionRules::resend_after`]).
    Resend,
}

/// A znode server's state: the Raft server's, plus what ZooKeeper keeps per server.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZkServerState {
    pub raft: RaftState<ZnodeTree>,
    /// The connections to this server, by their id.
    pub conns: BTreeMap<Id, Conn>,
    /// The watches left here.
    pub watches: Watches,
    /// At the leader: the sessions it tracks, each with its [`ZkTimer::Expire`] deadline.
    pub sessions: BTreeSet<SessionId>,
    /// At a follower: sessions heard from since it last told the leader.
    pub touched: BTreeSet<SessionId>,
    /// At the leader: the connection that owns each session it has heard of since it was
    /// elected (ZooKeeper's session owner), and how far its writes are appended (see
    /// [`super::owner`]).
    pub owners: BTreeMap<SessionId, Owner>,
    /// How many syncs this server has asked a leader about (it numbers them; see
    /// [`super::sync`]).
    pub asks: u64,
    /// At the leader: the syncs whose read index waits for its round to be confirmed.
    pub confirming: Vec<Confirming>,
    /// The syncs of connections here whose read index this server has not applied yet.
    pub ripening: BTreeSet<Ripening>,
}

impl ZkServerState {
    /// The tree as this server has applied it.
    pub fn tree(&self) -> &ZnodeTree {
        &self.raft.replica.sm
    }

    /// How many watches this server holds (mntr's `zk_watch_count`): one per connection,
    /// path and kind, a persistent watch counting as its data and child parts.
    pub fn watch_count(&self) -> usize {
        self.watches.len()
    }

    /// True if this server will never act on `msg` from `src`, now or after any later step:
    /// Raft traffic that Raft ignores forever (see `RaftState::ignores_forever`), and what
    /// is meant for connections. A model may drop such a message from its network.
    pub fn ignores_forever(&self, src: Id, msg: &ZkMsg) -> bool {
        match msg {
            ZkMsg::Peer(msg) => self.raft.ignores_forever(src, msg),
            ZkMsg::Connected(_)
            | ZkMsg::Reply(_)
            | ZkMsg::Pong(_)
            | ZkMsg::Event(_)
            | ZkMsg::Closed(_)
            | ZkMsg::Resource(_) => true,
            ZkMsg::Forward(_)
            | ZkMsg::SyncAsk { .. }
            | ZkMsg::SyncIndex { .. }
            | ZkMsg::Touch(_)
            | ZkMsg::Own { .. }
            | ZkMsg::Refuse { .. }
            | ZkMsg::Connect(_)
            | ZkMsg::Request(_)
            | ZkMsg::Ping
            | ZkMsg::Disconnect => false,
        }
    }

    /// True if this server ignores `msg` from connection `src` until a `Connect` of `src`
    /// arrives: a request, ping or disconnect of a connection it does not know (it
    /// restarted, or closed it) and holds no watch of. Only `on_connect` makes a
    /// connection known, so on a FIFO channel such a message ahead of every `Connect` of
    /// its sender is never acted on, and a model may drop it.
    pub fn ignores_until_connect(&self, src: Id, msg: &ZkMsg) -> bool {
        matches!(msg, ZkMsg::Request(_) | ZkMsg::Ping | ZkMsg::Disconnect)
            && !self.conns.contains_key(&src)
            && !self.watches.iter().any(|w| w.conn == src)
    }
}

/// A log entry this server applied, with its outcome and what it changed.
struct Applied {
    txn: Txn,
    outcome: Option<Outcome>,
    changes: Vec<Change>,
}

impl ZkServer {
    /// A znode server on `raft`, which it sets to announce a new leader at once (a
    /// follower forwards its connections' writes there, so it must learn who leads before
    /// any write arrives) and to notify followers of commits (they answer their
    /// connections when they apply).
    pub fn new(raft: ZkRaft) -> Self {
        ZkServer {
            raft: (raft.with_announce(true).with_commit_notice(true)).applied_outside(),
            sessions: SessionRules::default(),
            bug: None,
        }
    }

    pub fn with_sessions(mut self, sessions: SessionRules) -> Self {
        self.sessions = sessions;
        self
    }

    pub fn with_bug(mut self, bug: Option<ZkBug>) -> Self {
        self.bug = bug;
        self
    }

    /// Runs one step `f` of the Raft server on the Raft part of `state`, then applies
    /// every entry that step committed and does what ZooKeeper does for each (see
    /// [`ZkServer::on_applied`]), one entry at a time: the tree this server answers from
    /// is the tree right after that entry. (The Raft server leaves applying to it.)
    /// If the step changed the leader this server knows, it closes its connections (or,
    /// on learning its first leader, sends what waited for one); a newly elected leader
    /// tracks every open session.
    pub(super) fn raft_step<R>(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        o: &mut Out<Self>,
        f: impl FnOnce(&ZkRaft, &mut Cow<RaftState<ZnodeTree>>, &mut Out<ZkRaft>) -> R,
    ) -> R {
        let Stepped { result, out, next } = embed::step(&self.raft, &state.raft, f);
        lift(out, o);
        let Some(next) = next else {
            return result;
        };
        let (before, after) = (state.raft.leader_hint(id), next.leader_hint(id));
        let elected = next.is_leader() && !state.raft.is_leader();
        let deposed = state.raft.is_leader() && !next.is_leader();
        let upto = next.commit;
        let inner = state.to_mut();
        inner.raft = next;
        if elected || deposed {
            inner.owners.clear();
            inner.confirming.clear();
        }
        if before.is_some() && before != after {
            self.close_all(state, o);
        }
        while state.raft.replica.applied < upto {
            self.syncs_before_write(id, state, o);
            if let Some(applied) = apply_next(&mut state.to_mut().raft) {
                self.on_applied(id, state, applied, o);
            }
            self.ripen(state, o);
        }
        if elected {
            self.adopt_sessions(state, o);
        }
        self.answer_confirmed(id, state, o);
        self.send_waiting(id, state, o);
        result
    }

    /// Rule: a server whose leader changed drops its clients (ZooKeeper's follower
    /// shuts down and restarts its client service): every connection is closed, with its
    /// watches.
    fn close_all(&self, state: &mut Cow<ZkServerState>, o: &mut Out<Self>) {
        let inner = state.to_mut();
        for conn in std::mem::take(&mut inner.conns).into_keys() {
            o.send(conn, ZkMsg::Closed(CloseReason::Lost));
            watch::drop_conn(&mut inner.watches, conn);
        }
        inner.touched.clear();
        inner.ripening.clear();
    }

    /// An entry applied here: its changes fire this server's watches (first, so that a
    /// connection hears of a change before any answer showing it), then the connection
    /// it came from, if it is here, gets its answer, and a closed session's connections
    /// here are closed.
    ///
    /// Rule: a closed session hears of nothing more. Its watches go with it, before the
    /// close's own changes fire any. At the leader, a session opened starts its deadline
    /// and a session closed is tracked no more.
    fn on_applied(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        applied: Applied,
        o: &mut Out<Self>,
    ) {
        let Applied {
            txn,
            outcome,
            changes,
        } = applied;
        let zxid = state.tree().zxid();
        let closed = closed_session(&txn, outcome.as_ref());
        if let Some(session) = closed {
            if self.bug != Some(ZkBug::WatchesOutliveSession) {
                let inner = state.to_mut();
                let gone: Vec<Id> = (inner.conns.iter())
                    .filter(|(_, c)| c.session == session)
                    .map(|(id, _)| *id)
                    .collect();
                for conn in gone {
                    watch::drop_conn(&mut inner.watches, conn);
                }
            }
        }
        for change in &changes {
            let fired = fire(&mut state.to_mut().watches, change, zxid);
            for (conn, event) in fired {
                o.send(conn, ZkMsg::Event(event));
            }
        }
        if let Some(outcome) = outcome {
            if let (true, TxnKind::CreateSession { from, .. }, Outcome::Session(session)) =
                (state.raft.is_leader(), &txn.kind, &outcome)
            {
                self.set_owner(state, *session, *from);
                self.heard_from(state, *session, o);
            }
            self.answer_applied(id, state, &txn.kind, outcome, o);
        }
        if let Some(session) = closed {
            self.close_session_conns(state, session, o);
            self.untrack(state, session, o);
            if state.owners.contains_key(&session) {
                state.to_mut().owners.remove(&session);
            }
        }
    }

    /// The connection here that `kind` came from, if any, learns its outcome: a new
    /// session is answered, and its writes can go; a request gets its result. Then
    /// whatever it can be answered is.
    fn answer_applied(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        kind: &TxnKind,
        outcome: Outcome,
        o: &mut Out<Self>,
    ) {
        let from = match kind {
            TxnKind::CreateSession { from, .. } | TxnKind::Request { from, .. } => *from,
            TxnKind::Expire { .. } => return,
        };
        let conn = from.conn;
        let Some(c) = state.conns.get(&conn).filter(|_| from.server == id) else {
            return;
        };
        match (kind, outcome) {
            (TxnKind::CreateSession { .. }, Outcome::Session(session)) if c.session == 0 => {
                let timeout_ms = c.timeout_ms;
                state.to_mut().conns.get_mut(&conn).expect("known").session = session;
                let passwd = self.password(session);
                let connected = Connected {
                    session,
                    passwd,
                    timeout_ms,
                };
                o.send(conn, ZkMsg::Connected(connected));
            }
            (TxnKind::Request { seat, .. }, Outcome::Ret(ret)) if c.session == seat.session => {
                let c = state.to_mut().conns.get_mut(&conn).expect("known");
                let sent = c.sent;
                if let Some(p) = (c.queue.iter_mut()).find(|p| p.n == seat.n && p.awaits(sent)) {
                    p.done = Some(ret);
                    c.waited = 0;
                }
            }
            _ => {}
        }
        self.drain(state, conn, o);
    }

    /// `session` closed: its connections here are closed (one that asked for the close has
    /// had its answer and is gone already).
    fn close_session_conns(
        &self,
        state: &mut Cow<ZkServerState>,
        session: SessionId,
        o: &mut Out<Self>,
    ) {
        let gone: Vec<Id> = (state.conns.iter())
            .filter(|(_, c)| c.session == session)
            .map(|(id, _)| *id)
            .collect();
        for conn in gone {
            o.send(conn, ZkMsg::Closed(CloseReason::SessionExpired));
            state.to_mut().conns.remove(&conn);
        }
    }

    /// Sends a transaction of a connection here to the leader: proposed directly if this
    /// server leads, forwarded if it knows the leader. Returns false, sending nothing, if
    /// it knows no leader (the transaction waits for one).
    pub(super) fn to_leader(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        txn: Txn,
        o: &mut Out<Self>,
    ) -> bool {
        match state.raft.leader_hint(id) {
            Some(leader) if leader == id => {
                self.propose(id, state, txn, o);
                true
            }
            Some(leader) => {
                o.send(leader, ZkMsg::Forward(txn));
                true
            }
            None => false,
        }
    }

    /// At the leader: stamps `txn` (never earlier than the last entry of the log, so that
    /// times never go back in log order) and appends it to the log, as the leader's own
    /// request numbered by its log index (a znode transaction names its own seat), if the
    /// session's owner rules admit it (see [`super::owner`]). A server that does not lead
    /// drops it: the server that sent it closes its connections when it learns of the new
    /// leader.
    pub(super) fn propose(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        mut txn: Txn,
        o: &mut Out<Self>,
    ) {
        if !state.raft.is_leader() {
            return;
        }
        txn.time = txn.time.max(last_time(&state.raft));
        let session = match &txn.kind {
            TxnKind::Request { seat, from, .. } => {
                if !self.admits(id, state, *seat, *from, o) {
                    return;
                }
                Some(seat.session)
            }
            TxnKind::CreateSession { .. } | TxnKind::Expire { .. } => None,
        };
        let seq = state.raft.last_index() + 1;
        self.raft_step(id, state, o, |raft, st, out| {
            raft.propose(st, id, seq, txn, out)
        });
        if let Some(session) = session {
            self.heard_from(state, session, o);
        }
    }
}

/// The time of the last transaction of `raft`'s log, past any no-op after it (0 for
/// none).
fn last_time(raft: &RaftState<ZnodeTree>) -> Millis {
    let first = raft.log.snapshot_index() + 1;
    (first..=raft.last_index())
        .rev()
        .find_map(|i| {
            let entry = raft.log.get(i)?;
            match &entry.op {
                Payload::Noop => None,
                op => Some(op.as_op().map_or(0, |t| t.time)),
            }
        })
        .unwrap_or(0)
}

/// The session a transaction closed, if it did: an expiry, or a client's `closeSession`.
fn closed_session(txn: &Txn, outcome: Option<&Outcome>) -> Option<SessionId> {
    let Some(Outcome::Ret(ZkRet::SessionClosed)) = outcome else {
        return None;
    };
    match &txn.kind {
        TxnKind::Expire { session } => Some(*session),
        TxnKind::Request {
            op: ZkOp::CloseSession { session },
            ..
        } => Some(*session),
        _ => None,
    }
}

/// Applies the next committed entry of `raft`'s log to its replica, as Raft's own apply
/// would (the server leaves it to this, see `RaftServer::applied_outside`), and says what
/// it did: nothing for a leader's no-op (see `RaftServer::read_index`); the log holds
/// transactions otherwise.
fn apply_next(raft: &mut RaftState<ZnodeTree>) -> Option<Applied> {
    let entry = (raft.log.get(raft.replica.applied + 1)).expect("a committed entry");
    let txn = entry.op.as_op().cloned();
    let applied = (raft.replica).apply_with(entry, true, |tree, txn| tree.apply_txn(txn));
    let (outcome, changes) = applied.map_or((None, Vec::new()), |(r, c)| (Some(r), c));
    Some(Applied {
        txn: txn?,
        outcome,
        changes,
    })
}

/// Re-tags the Raft server's commands as this server's. Raft's own answers to clients are
/// dropped: here the server a connection is connected to answers it.
fn lift(inner: Out<ZkRaft>, o: &mut Out<ZkServer>) {
    for command in inner {
        match command {
            Command::Send(_, Msg::Client(_)) => {}
            Command::Send(to, msg) => o.send(to, ZkMsg::Peer(msg)),
            Command::SetTimer(t, range) => o.set_timer(ZkTimer::Raft(t), range),
            Command::CancelTimer(t) => o.cancel_timer(ZkTimer::Raft(t)),
            Command::Save(storage) => o.save(storage),
            Command::ChooseRandom(..) => unreachable!("a Raft server makes no random choice"),
        }
    }
}

impl Actor for ZkServer {
    type Msg = ZkMsg;
    type State = ZkServerState;
    type Timer = ZkTimer;
    type Storage = RaftStorage<Txn>;
    type Random = ();

    /// Starts the Raft server from storage, with an empty tree (but for the genesis
    /// sessions) that makes this server's deliberate mistake if any; connections, watches
    /// and session liveness are volatile.
    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        let mut out = Out::new();
        let mut raft = self.raft.on_start(id, storage, &mut out);
        lift(out, o);
        if let Some(period) = &self.sessions.resend_after {
            o.set_timer(ZkTimer::Resend, period.clone());
        }
        let shortest = 2 * self.sessions.tick_ms;
        raft.replica.sm =
            ZnodeTree::with_bug(self.bug).with_sessions(&self.sessions.genesis, shortest);
        ZkServerState {
            raft,
            conns: BTreeMap::new(),
            watches: Watches::new(),
            sessions: BTreeSet::new(),
            touched: BTreeSet::new(),
            owners: BTreeMap::new(),
            asks: 0,
            confirming: Vec::new(),
            ripening: BTreeSet::new(),
        }
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| match msg {
            ZkMsg::Peer(msg) => {
                let from_leader = matches!(msg, Msg::Append { .. });
                self.raft_step(id, state, o, |raft, st, out| {
                    raft.on_msg(id, st, src, msg, out)
                });
                if from_leader {
                    self.report_touches(id, state, o);
                }
            }
            ZkMsg::Forward(txn) => self.propose(id, state, txn, o),
            ZkMsg::SyncAsk { from, n } => self.on_sync_ask(id, state, from, n, o),
            ZkMsg::SyncIndex {
                from,
                n,
                term,
                index,
            } => self.on_sync_index(id, state, src, from, n, term, index, o),
            ZkMsg::Touch(sessions) => self.on_touch(id, state, sessions, o),
            ZkMsg::Own { session, from } => self.on_own(id, state, session, from, o),
            ZkMsg::Refuse { from, seat, reason } => {
                self.on_refuse(id, state, from, seat, reason, o)
            }
            ZkMsg::Connect(connect) => self.on_connect(id, state, src, connect, o),
            ZkMsg::Request(request) => self.on_request(id, state, src, request, o),
            ZkMsg::Ping => self.on_ping(id, state, src, o),
            ZkMsg::Disconnect => self.forget_conn(state, src),
            ZkMsg::Connected(_)
            | ZkMsg::Reply(_)
            | ZkMsg::Pong(_)
            | ZkMsg::Event(_)
            | ZkMsg::Closed(_)
            | ZkMsg::Resource(_) => {}
        });
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<Self::State>, timer: &ZkTimer, o: &mut Out<Self>) {
        checked(self, state, |state| match timer {
            ZkTimer::Raft(t) => self.raft_step(id, state, o, |raft, st, out| {
                raft.on_timeout(id, st, t, out)
            }),
            ZkTimer::Expire(session) => self.on_expire(id, state, *session, o),
            ZkTimer::Resend => self.resend_stalled(id, state, o),
        });
    }
}
