//! The znode server: ZooKeeper's client protocol on top of a Raft server that replicates
//! the znode tree (notes, part I).
//!
//! - A client talks to one server. Reads are answered there at once, from the tree as that
//!   server has applied it: possibly stale, never ahead of what is committed.
//! - Writes (and reads preceded by `sync`) go to the leader, which appends them to the log
//!   (exactly once per (client, sequence)); the client's own server answers when it applies
//!   the entry. So a client sees its writes in the order it sent them, and its next read at
//!   that server sees them too (FIFO client order).
//! - Watches are held by the client's server and fired as that server applies the change,
//!   in the same step and before any reply that could show the new data.
//! - The leader tracks sessions, each with its own deadline, pushed back whenever the leader
//!   hears from the session. A session whose deadline passes expires: its close is
//!   committed through the log, which deletes its ephemeral nodes, and every server drops
//!   its watches as it applies the close.
//! - A new leader tracks every session that owns an ephemeral node in its tree and is not
//!   closed, each with a whole fresh period (ZooKeeper: every server knows the sessions,
//!   and a new leader gives each a fresh timeout); so does a leader that applies the
//!   creation of an ephemeral node for a session it does not track. A client that failed
//!   under an earlier leader thus still loses its ephemeral nodes.

use super::msg::{Serve, ZkMsg};
use super::watch::{fire, Watch, WatchKind};
use super::{Change, ZkBug, ZnodeTree};
use crate::client::ClientMsg;
use crate::invariants::checked;
use crate::raft::{
    Entry, Msg, RaftServer, RaftState, RaftStorage, RaftTimer, Replica, StateMachine,
};
use coord_specs::znode::{SessionId, ZkOp, ZkRet, Zxid};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;

/// The Raft server underneath.
pub type ZkRaft = RaftServer<ZnodeTree>;

/// The session of client `client`: here a client's session id is its actor id, which is
/// never 0 (the servers come first). ZooKeeper's leader hands out session ids instead.
pub fn session_of(client: Id) -> SessionId {
    usize::from(client) as SessionId
}

/// A znode server's configuration.
#[derive(Clone, Debug)]
pub struct ZkServer {
    /// The Raft server underneath (see [`ZkServer::new`]).
    pub raft: ZkRaft,
    /// The leader's session expiry period; `None` for sessions that never expire.
    pub session_timeout: Option<Range<Duration>>,
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
}

/// A client's call that waits for the log at the client's server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Waiting {
    pub seq: u64,
    pub op: ZkOp,
    pub serve: Serve,
}

/// A znode server's state: the Raft server's, plus what ZooKeeper keeps per server.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZkServerState {
    pub raft: RaftState<ZnodeTree>,
    /// The call of each client connected here that waits for the log (one per client).
    pub waiting: BTreeMap<Id, Waiting>,
    /// The watches left here.
    pub watches: BTreeSet<Watch>,
    /// At the leader: the sessions it tracks, each with its [`ZkTimer::Expire`] deadline.
    pub sessions: BTreeSet<SessionId>,
}

impl ZkServerState {
    /// The tree as this server has applied it.
    pub fn tree(&self) -> &ZnodeTree {
        &self.raft.replica.sm
    }

    /// True if this server will never act on `msg` from `src`, now or after any later step:
    /// Raft traffic that Raft ignores forever (see `RaftState::ignores_forever`), and what
    /// is meant for clients. A model may drop such a message from its network.
    pub fn ignores_forever(&self, src: Id, msg: &ZkMsg) -> bool {
        match msg {
            ZkMsg::Peer(msg) => self.raft.ignores_forever(src, msg),
            ZkMsg::Client(msg, _) => !msg.is_request(),
            ZkMsg::Event(_) | ZkMsg::Resource(_) => true,
            ZkMsg::Forward { .. } | ZkMsg::Ping { .. } => false,
        }
    }
}

/// A log entry this server applied in one step, with its result and what it changed.
struct Applied {
    entry: Entry<ZkOp>,
    ret: Option<ZkRet>,
    changes: Vec<Change>,
    /// The tree's zxid once this entry is applied: the zxid of the write that made the
    /// changes (a step may apply several entries).
    zxid: Zxid,
}

impl ZkServer {
    /// A znode server on `raft`, which it sets to announce a new leader at once (a
    /// follower forwards its clients' writes there, so it must learn who leads before any
    /// write of its own arrives) and to notify followers of commits (they answer their
    /// clients when they apply).
    pub fn new(raft: ZkRaft) -> Self {
        ZkServer {
            raft: raft.with_announce(true).with_commit_notice(true),
            session_timeout: None,
            bug: None,
        }
    }

    pub fn with_session_timeout(mut self, timeout: Option<Range<Duration>>) -> Self {
        self.session_timeout = timeout;
        self
    }

    pub fn with_bug(mut self, bug: Option<ZkBug>) -> Self {
        self.bug = bug;
        self
    }

    /// Runs one step `f` of the Raft server on the Raft part of `state`, then does what
    /// ZooKeeper does for every entry that step applied: fire the watches it triggers and
    /// answer the client connected here that waits for it. If the step changed the leader,
    /// waiting calls go to the new one.
    fn raft_step<R>(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        o: &mut Out<Self>,
        f: impl FnOnce(&ZkRaft, &mut Cow<RaftState<ZnodeTree>>, &mut Out<ZkRaft>) -> R,
    ) -> R {
        let mut raft = Cow::Borrowed(&state.raft);
        let mut out = Out::new();
        let result = f(&self.raft, &mut raft, &mut out);
        let next = match raft {
            Cow::Owned(next) => Some(next),
            Cow::Borrowed(_) => None,
        };
        lift(out, o);
        if let Some(next) = next {
            let applied = replay(&state.raft.replica, &next);
            let leader_changed = next.leader_hint(id) != state.raft.leader_hint(id);
            let elected = next.is_leader() && !state.raft.is_leader();
            let inner = state.to_mut();
            inner.raft = next;
            let mut created = BTreeSet::new();
            for applied in applied {
                created.extend(self.on_applied(inner, applied, o));
            }
            if elected {
                self.adopt_sessions(state, state.tree().ephemeral_owners(), o);
            } else if state.raft.is_leader() {
                created.retain(|s| !state.sessions.contains(s) && !closing(&state.raft, *s));
                self.adopt_sessions(state, created, o);
            }
            if leader_changed {
                self.forward_waiting(id, state, o);
            }
        }
        result
    }

    /// At a leader: tracks each of `sessions` that is not closed, with a whole period
    /// before its deadline (see the module's rule on a new leader). With
    /// [`ZkBug::ForgetSessionsOnFailover`], it tracks none of them.
    fn adopt_sessions(
        &self,
        state: &mut Cow<ZkServerState>,
        sessions: BTreeSet<SessionId>,
        o: &mut Out<Self>,
    ) {
        if self.bug == Some(ZkBug::ForgetSessionsOnFailover) {
            return;
        }
        for session in sessions {
            if !state.tree().is_closed(session) {
                self.heard_from(state, session, o);
            }
        }
    }

    /// An entry applied here: its changes fire this server's watches (first, so that the
    /// client hears of a change before any answer showing it), then the client waiting
    /// here for this entry gets its answer.
    ///
    /// Rule: a closed session hears of nothing more. Its watches go with it (in ZooKeeper
    /// they belong to its connection), before the close's own changes fire any.
    ///
    /// Returns the owners of the ephemeral nodes the entry created that are still there.
    fn on_applied(
        &self,
        state: &mut ZkServerState,
        applied: Applied,
        o: &mut Out<Self>,
    ) -> BTreeSet<SessionId> {
        if let (ZkOp::CloseSession { session }, Some(ZkRet::SessionClosed)) =
            (&applied.entry.op, &applied.ret)
        {
            if self.bug != Some(ZkBug::WatchesOutliveSession) {
                state.watches.retain(|w| session_of(w.client) != *session);
            }
        }
        let mut owners = BTreeSet::new();
        for change in &applied.changes {
            for (client, event) in fire(&mut state.watches, change, applied.zxid) {
                o.send(client, ZkMsg::Event(event));
            }
            if let Change::Created(path) = change {
                let stat = state.tree().stat(path);
                owners.extend(stat.map(|s| s.ephemeral_owner).filter(|&s| s != 0));
            }
        }
        self.answer_waiting(state, applied.entry, applied.ret, o);
        owners
    }

    /// The client waiting here for `entry` gets its answer `ret`, if it waits for it.
    fn answer_waiting(
        &self,
        state: &mut ZkServerState,
        entry: Entry<ZkOp>,
        ret: Option<ZkRet>,
        o: &mut Out<Self>,
    ) {
        let Entry { client, seq, .. } = entry;
        let (Some(ret), Some(waiting)) = (ret, state.waiting.get(&client)) else {
            return;
        };
        if waiting.seq != seq {
            return;
        }
        let waiting = state.waiting.remove(&client).expect("checked above");
        if let Some(watch) = self.leaves_watch(state.tree(), client, &waiting, &ret) {
            state.watches.insert(watch);
        }
        reply(state.tree(), client, seq, ret, o);
    }

    /// Sends every waiting call to the leader: proposed directly if this server leads,
    /// forwarded if it knows the leader, kept until it learns one otherwise.
    fn forward_waiting(&self, id: Id, state: &mut Cow<ZkServerState>, o: &mut Out<Self>) {
        let calls: Vec<(Id, u64, ZkOp)> = (state.waiting.iter())
            .map(|(client, w)| (*client, w.seq, w.op.clone()))
            .collect();
        for (client, seq, op) in calls {
            self.to_leader(id, state, client, seq, op, o);
        }
    }

    /// Sends `client`'s call `seq` to the leader: proposed directly if this server leads,
    /// forwarded if it knows the leader; nothing yet otherwise.
    fn to_leader(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        client: Id,
        seq: u64,
        op: ZkOp,
        o: &mut Out<Self>,
    ) {
        match state.raft.leader_hint(id) {
            Some(leader) if leader == id => self.propose(id, state, client, seq, op, o),
            Some(leader) => o.send(leader, ZkMsg::Forward { client, seq, op }),
            None => {}
        }
    }

    /// At the leader: append `client`'s call to the log (see [`RaftServer::propose`]), and
    /// note that its session is alive.
    fn propose(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        client: Id,
        seq: u64,
        op: ZkOp,
        o: &mut Out<Self>,
    ) {
        let leads = self.raft_step(id, state, o, |raft, st, out| {
            raft.propose(st, client, seq, op, out)
        });
        if leads {
            self.heard_from(state, session_of(client), o);
        }
    }

    /// At the leader: `session` is alive, so its deadline is a whole period away (setting
    /// a timer that is already set moves it).
    fn heard_from(&self, state: &mut Cow<ZkServerState>, session: SessionId, o: &mut Out<Self>) {
        let Some(timeout) = &self.session_timeout else {
            return;
        };
        if !state.sessions.contains(&session) {
            state.to_mut().sessions.insert(session);
        }
        o.set_timer(ZkTimer::Expire(session), timeout.clone());
    }

    /// Rule (ZooKeeper's `lastZxid`): a server whose tree is older than what its client
    /// has already seen does not answer a plain read; the client's retry goes on, possibly
    /// at another server. (Not with [`ZkBug::ReadsGoBack`].)
    fn behind(&self, tree: &ZnodeTree, serve: &Serve) -> bool {
        self.bug != Some(ZkBug::ReadsGoBack) && serve.zxid > tree.zxid()
    }

    /// A client's request. A read without `sync` is answered here and now from the local
    /// tree, unless the tree is [behind](Self::behind) the client. Any other call is answered from the session table if it was already applied
    /// here (a retry), and otherwise waits here while it goes to the leader.
    fn on_request(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        client: Id,
        call: Waiting,
        o: &mut Out<Self>,
    ) {
        let Waiting { seq, op, serve } = call;
        if op.is_read() && !serve.sync {
            if self.behind(state.tree(), &serve) {
                return;
            }
            let ret = state.tree().read(&op).expect("a read");
            let call = Waiting { seq, op, serve };
            if let Some(watch) = self.leaves_watch(state.tree(), client, &call, &ret) {
                state.to_mut().watches.insert(watch);
            }
            reply(state.tree(), client, seq, ret, o);
            return;
        }
        if let Some(ret) = state.raft.replica.cached(client, seq) {
            reply(state.tree(), client, seq, ret.clone(), o);
            return;
        }
        if state.waiting.get(&client).is_some_and(|w| w.seq > seq) {
            return;
        }
        if self.bug == Some(ZkBug::EarlyWatch) {
            self.fire_early(state, &op, o);
        }
        let call = Waiting {
            seq,
            op: op.clone(),
            serve,
        };
        if state.waiting.get(&client) != Some(&call) {
            state.to_mut().waiting.insert(client, call);
        }
        self.to_leader(id, state, client, seq, op, o);
    }

    /// [`ZkBug::EarlyWatch`]: fire the watches a write will trigger as soon as it arrives,
    /// from what it would change if it were applied now.
    fn fire_early(&self, state: &mut Cow<ZkServerState>, op: &ZkOp, o: &mut Out<Self>) {
        let mut preview = state.tree().clone();
        let (_, changes) = preview.apply_with_changes(op);
        let zxid = preview.zxid();
        for change in &changes {
            let fired = fire(&mut state.to_mut().watches, change, zxid);
            for (client, event) in fired {
                o.send(client, ZkMsg::Event(event));
            }
        }
    }

    /// A keepalive: the leader notes the session alive; another server passes it on.
    fn on_ping(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        session: SessionId,
        o: &mut Out<Self>,
    ) {
        match state.raft.leader_hint(id) {
            Some(leader) if leader == id => self.heard_from(state, session, o),
            Some(leader) => o.send(leader, ZkMsg::Ping { session }),
            None => {}
        }
    }

    /// Rule: a read with `watch` leaves a watch on its path, unless it failed (`exists` always
    /// leaves one: it also watches for the node's creation), or the client's session is
    /// closed in `tree` (a closed session hears of nothing more; a read of its may still
    /// arrive, sent before its client stopped).
    fn leaves_watch(
        &self,
        tree: &ZnodeTree,
        client: Id,
        call: &Waiting,
        ret: &ZkRet,
    ) -> Option<Watch> {
        let (kind, path) = WatchKind::of(&call.op)?;
        let failed = matches!(ret, ZkRet::Err(_));
        let open =
            self.bug == Some(ZkBug::WatchesOutliveSession) || !tree.is_closed(session_of(client));
        (open && call.serve.watch && (kind == WatchKind::Exists || !failed)).then(|| Watch {
            path: path.clone(),
            kind,
            client,
            seq: call.seq,
        })
    }

    /// `session`'s deadline passed: at the leader, the session expires and its close goes
    /// through the log (as the leader's own request, numbered by its log index so that it
    /// is never mistaken for a duplicate). A server that no longer leads forgets the
    /// session; the next leader tracks it from its tree, or once it hears from it.
    fn on_expire(
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
        if state.raft.is_leader() {
            let seq = state.raft.last_index() + 1;
            let close = ZkOp::CloseSession { session };
            self.raft_step(id, state, o, |raft, st, out| {
                raft.propose(st, id, seq, close, out)
            });
        }
    }
}

/// True if the leader `raft` has already proposed `session`'s close in its own term: the
/// close will commit while it leads, so the session needs no new deadline. (A close left
/// by an earlier leader counts for nothing: it commits only with an entry of this term.)
fn closing(raft: &RaftState<ZnodeTree>, session: SessionId) -> bool {
    let close = ZkOp::CloseSession { session };
    (raft.log.from(raft.replica.applied + 1)).any(|e| e.term == raft.term && e.op == close)
}

/// Answers `client`'s request `seq` from `tree`, telling it the tree's zxid.
fn reply(tree: &ZnodeTree, client: Id, seq: u64, ret: ZkRet, o: &mut Out<ZkServer>) {
    let reply = ClientMsg::Reply { seq, ret };
    let serve = Serve {
        zxid: tree.zxid(),
        ..Serve::default()
    };
    o.send(client, ZkMsg::Client(reply, serve));
}

/// The entries `next` applied beyond `before`, each replayed on a copy of `before` to learn
/// its result and its changes. Applying is deterministic, so the replay ends where the Raft
/// server's own apply did.
fn replay(before: &Replica<ZnodeTree>, next: &RaftState<ZnodeTree>) -> Vec<Applied> {
    if next.replica.applied <= before.applied {
        return Vec::new();
    }
    let mut copy = before.clone();
    let entries =
        (next.log.from(before.applied + 1)).take((next.replica.applied - before.applied) as usize);
    let applied = entries
        .map(|entry| {
            let applied = copy.apply_with(entry, true, |tree, op| tree.apply_with_changes(op));
            let (ret, changes) = applied.map_or((None, Vec::new()), |(r, c)| (Some(r), c));
            Applied {
                entry: entry.clone(),
                ret,
                changes,
                zxid: copy.sm.zxid(),
            }
        })
        .collect();
    debug_assert_eq!(copy, next.replica, "the replay applies as Raft did");
    applied
}

/// Re-tags the Raft server's commands as this server's. Raft's own answers to clients are
/// dropped: here the server a client is connected to answers it.
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
    type Storage = RaftStorage<ZkOp>;
    type Random = ();

    /// Starts the Raft server from storage, with an empty tree that makes this server's
    /// deliberate mistake if any; watches and session liveness are volatile.
    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        let mut out = Out::new();
        let mut raft = self.raft.on_start(id, storage, &mut out);
        lift(out, o);
        raft.replica.sm = ZnodeTree::with_bug(self.bug);
        ZkServerState {
            raft,
            waiting: BTreeMap::new(),
            watches: BTreeSet::new(),
            sessions: BTreeSet::new(),
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
            ZkMsg::Peer(msg) => self.raft_step(id, state, o, |raft, st, out| {
                raft.on_msg(id, st, src, msg, out)
            }),
            ZkMsg::Client(ClientMsg::Request { seq, op }, serve) => {
                self.on_request(id, state, src, Waiting { seq, op, serve }, o)
            }
            ZkMsg::Forward { client, seq, op } => self.propose(id, state, client, seq, op, o),
            ZkMsg::Ping { session } => self.on_ping(id, state, session, o),
            ZkMsg::Client(..) | ZkMsg::Event(_) | ZkMsg::Resource(_) => {}
        });
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<Self::State>, timer: &ZkTimer, o: &mut Out<Self>) {
        checked(self, state, |state| match timer {
            ZkTimer::Raft(t) => self.raft_step(id, state, o, |raft, st, out| {
                raft.on_timeout(id, st, t, out)
            }),
            ZkTimer::Expire(session) => self.on_expire(id, state, *session, o),
        });
    }
}
