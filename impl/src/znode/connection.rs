//! A server's connections: the handshake, the pipeline of requests, and the answers to
//! what a server decides alone (reads, watches, identities).
//!
//! Rules (ZooKeeper's `ZooKeeperServer.processConnectRequest`, `CommitProcessor`,
//! `FinalRequestProcessor`):
//! - A `Connect` from a client that has seen a newer zxid than this server's tree is
//!   closed without an answer (the client tries another server, so it never reads back
//!   in time). A new session is answered once its creation is applied here; a resumed one
//!   at once, if the session is open here and the password is right, and expired otherwise.
//! - Requests are answered in arrival order. Writes are numbered (1, 2, ...) and go to the
//!   leader in that order as soon as the connection has its session (after the leader is
//!   told who owns it, see `owner`); a read is answered from this server's tree when
//!   every request before it has been answered, so it sees its own connection's writes
//!   and no later one (the server answers after each entry it applies, see `server`).

use super::conn::{
    Call, CloseReason, Connect, Connected, Passwd, Refused, Reply, Request, SetWatches,
};
use super::msg::ZkMsg;
use super::server::{ZkServer, ZkServerState, ZkTimer};
use super::txn::{negotiate, password, Origin, Seat, Txn, TxnKind};
use super::watch::{self, fire, Manager, Mode};
use super::{Change, ZkBug, ZnodeTree};
use coord_specs::znode::acl::{digest_id, user_name};
use coord_specs::znode::{Identity, Path, SessionId, ZkError, ZkOp, ZkRet, MAX_DATA};
use serde::Serialize;
use smol_str::SmolStr;
use stateright::actor::{Id, Out};
use std::borrow::Cow;
use std::collections::VecDeque;

/// One connection to this server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Conn {
    /// Its session; 0 while a new session is being created.
    pub session: SessionId,
    /// Whether the leader has been told of it (the creation of its session sent, or that
    /// it owns the session it resumed).
    pub joined: bool,
    /// The timeout it asked for, negotiated.
    pub timeout_ms: u32,
    /// How many of its requests were writes (the number of the last one).
    pub writes: u64,
    /// Its writes numbered up to this one have gone to a leader.
    pub sent: u64,
    /// How many of its syncs wait for a leader to ask (see `sync`).
    pub unasked: u64,
    /// Resend periods begun while a write it sent or a sync it asked waited for its
    /// answer, since it last had one (see `SessionRules::resend_after`).
    pub waited: u8,
    /// Its requests not answered yet, in arrival order.
    pub queue: VecDeque<Pending>,
    /// Who it is: `ip` from its `Connect`, and every `digest` identity `setAuth` added
    /// (see `Conn::identify`).
    pub ids: Vec<Identity>,
}

/// A request waiting for its answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Pending {
    /// A write: its number among the connection's writes (see [`Seat`]); 0 for any
    /// other request.
    pub n: u64,
    pub request: Request,
    /// A sync: the number under which its server asked the leader for its read index
    /// (see `sync`), 0 until it has.
    pub sync: Option<u64>,
    /// A write or a sync: its result, once applied here (a sync's once its read index is).
    pub done: Option<ZkRet>,
}

/// True if the server answers `call` alone, from its own state: reads and requests about
/// the connection. A sync asks the leader (see `sync`); everything else goes through the
/// log.
fn is_local(call: &Call) -> bool {
    !matches!(call, Call::Op(op) if !op.is_read())
}

/// True if `call` is a sync.
pub(super) fn is_sync(call: &Call) -> bool {
    matches!(call, Call::Op(op) if matches!(op.caller().1, ZkOp::Sync { .. }))
}

impl Pending {
    /// True if this is a write that has gone to a leader and waits for its answer.
    pub fn awaits(&self, sent: u64) -> bool {
        self.n != 0 && self.n <= sent && self.done.is_none()
    }

    /// True if this is a sync asked of a leader and not answered yet.
    pub fn asked(&self) -> bool {
        self.done.is_none() && self.sync.is_some_and(|n| n != 0)
    }
}

impl Conn {
    fn new(session: SessionId, timeout_ms: u32, client: &SmolStr) -> Conn {
        Conn {
            session,
            joined: false,
            timeout_ms,
            writes: 0,
            sent: 0,
            unasked: 0,
            waited: 0,
            queue: VecDeque::new(),
            ids: vec![("ip".into(), client.clone())],
        }
    }

    /// `call` as it arrived on this connection: an operation done by the connection's
    /// identities; a `digest` `setAuth` adds the identity of its credentials (see
    /// `digest_id`; once), any other call as it is.
    fn identify(&mut self, call: Call) -> Call {
        match call {
            Call::Op(op) => Call::Op(op.by(self.ids.clone())),
            Call::SetAuth { scheme, auth } => {
                let id = (scheme.clone(), digest_id(&auth));
                if scheme == "digest" && !self.ids.contains(&id) {
                    self.ids.push(id);
                }
                Call::SetAuth { scheme, auth }
            }
            other => other,
        }
    }
}

impl ZkServer {
    /// The password of `session` (see [`password`]).
    pub fn password(&self, session: SessionId) -> Passwd {
        password(&self.sessions.secret, session)
    }

    /// A `Connect` from connection `conn` (see the module's rules). A connection that
    /// connects again starts afresh. With [`ZkBug::ReadsGoBack`] the lastZxid rule is
    /// skipped.
    pub(super) fn on_connect(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        conn: Id,
        connect: Connect,
        o: &mut Out<Self>,
    ) {
        self.forget_conn(state, conn);
        if self.bug != Some(ZkBug::ReadsGoBack) && connect.last_zxid > state.tree().zxid() {
            o.send(conn, ZkMsg::Closed(CloseReason::Behind));
            return;
        }
        let timeout = negotiate(connect.timeout_ms, self.sessions.tick_ms);
        if connect.session == 0 {
            let new = Conn::new(0, timeout, &connect.client);
            state.to_mut().conns.insert(conn, new);
            self.send_waiting(id, state, o);
            return;
        }
        let session = connect.session;
        let entry = state.tree().session(session);
        let open = entry.filter(|e| !e.closed && connect.passwd == self.password(session));
        let Some(entry) = open else {
            let expired = Connected {
                session: 0,
                passwd: [0; 16],
                timeout_ms: 0,
            };
            o.send(conn, ZkMsg::Connected(expired));
            o.send(conn, ZkMsg::Closed(CloseReason::SessionExpired));
            return;
        };
        let timeout_ms = entry.timeout_ms;
        let passwd = self.password(session);
        o.send(
            conn,
            ZkMsg::Connected(Connected {
                session,
                passwd,
                timeout_ms,
            }),
        );
        let resumed = Conn::new(session, timeout_ms, &connect.client);
        state.to_mut().conns.insert(conn, resumed);
        self.touch(id, state, session, o);
        self.send_waiting(id, state, o);
    }

    /// A request of connection `conn`: numbered and queued; a write goes to the leader if
    /// it can; then whatever is answerable is answered. Rule (ZooKeeper's
    /// `ServerCnxn.authInfo`, copied into each `Request` as it arrives): an operation
    /// carries the identities its connection has when it arrives (see [`ZkOp::As`];
    /// whatever the client claimed is replaced), and a `setAuth` adds its identity at
    /// once, so that the requests after it carry it. A request of a connection this
    /// server does not know (it restarted, or closed it) is ignored, as a socket that is
    /// gone carries nothing: its client finds the connection lost. One carrying more than
    /// `MAX_DATA` bytes closes its connection (`TooLarge`).
    pub(super) fn on_request(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        conn: Id,
        mut request: Request,
        o: &mut Out<Self>,
    ) {
        let Some(known) = state.conns.get(&conn) else {
            return;
        };
        if matches!(&request.call, Call::Op(op) if op.data_len() > MAX_DATA) {
            o.send(conn, ZkMsg::Closed(CloseReason::TooLarge));
            self.forget_conn(state, conn);
            return;
        }
        let session = known.session;
        if self.bug == Some(ZkBug::EarlyWatch) {
            self.fire_early(state, &request.call, o);
        }
        let c = state.to_mut().conns.get_mut(&conn).expect("known");
        request.call = c.identify(request.call);
        let refused = self.refused_on_arrival(state.tree(), &request.call);
        let c = state.to_mut().conns.get_mut(&conn).expect("known");
        let local = is_local(&request.call);
        let sync = is_sync(&request.call);
        let n = if local || sync || refused.is_some() {
            0
        } else {
            c.writes += 1;
            c.writes
        };
        if sync {
            c.unasked += 1;
        }
        let pending = Pending {
            n,
            sync: sync.then_some(0),
            request,
            done: refused,
        };
        if local && self.bug == Some(ZkBug::ReadOvertakesWrite) {
            self.answer_local(state, conn, pending, o);
        } else {
            c.queue.push_back(pending);
        }
        self.touch(id, state, session, o);
        if sync {
            self.ask_syncs(id, state, conn, o);
        } else if !local {
            self.send_writes(id, state, conn, o);
        }
        self.drain(state, conn, o);
    }

    /// A ping: answered at once with the tree's zxid; the session is alive. (A ping of a
    /// connection this server does not know is ignored, as a request.)
    pub(super) fn on_ping(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        conn: Id,
        o: &mut Out<Self>,
    ) {
        let Some(c) = state.conns.get(&conn) else {
            return;
        };
        let session = c.session;
        o.send(conn, ZkMsg::Pong(state.tree().zxid()));
        if session != 0 {
            self.touch(id, state, session, o);
        }
    }

    /// Forgets connection `conn` and its watches (it closed, or was closed).
    pub(super) fn forget_conn(&self, state: &mut Cow<ZkServerState>, conn: Id) {
        if state.conns.contains_key(&conn) || state.watches.iter().any(|w| w.conn == conn) {
            let inner = state.to_mut();
            inner.conns.remove(&conn);
            watch::drop_conn(&mut inner.watches, conn);
            inner.ripening.retain(|r| r.conn != conn);
        }
    }

    /// Sends to the leader everything of the connections here that can go and has not
    /// gone: the creation of a new session or the ownership of a resumed one, then the
    /// writes of each connection that has its session.
    pub(super) fn send_waiting(&self, id: Id, state: &mut Cow<ZkServerState>, o: &mut Out<Self>) {
        let Some(leader) = state.raft.leader_hint(id) else {
            return;
        };
        let unjoined: Vec<Id> = (state.conns.iter())
            .filter(|(_, c)| !c.joined)
            .map(|(conn, _)| *conn)
            .collect();
        for conn in unjoined {
            let from = Origin { server: id, conn };
            let c = state.to_mut().conns.get_mut(&conn).expect("listed");
            c.joined = true;
            match c.session {
                0 => {
                    let timeout_ms = c.timeout_ms;
                    let kind = TxnKind::CreateSession { timeout_ms, from };
                    self.to_leader(id, state, Txn { kind, time: 0 }, o);
                }
                session if leader == id => self.on_own(id, state, session, from, o),
                session => o.send(leader, ZkMsg::Own { session, from }),
            }
        }
        let conns: Vec<Id> = state.conns.keys().copied().collect();
        for conn in conns {
            self.ask_syncs(id, state, conn, o);
            self.send_writes(id, state, conn, o);
        }
    }

    /// Sends to the leader, in order, the writes of connection `conn` that have not gone
    /// (none before it has its session and the leader is told of it). They are marked
    /// sent before any is sent, as sending may apply (a cluster of one commits at once)
    /// and come back here. Rule: only the unsent tail of the queue is read, so a request
    /// costs the same however many wait before it.
    pub(super) fn send_writes(
        &self,
        id: Id,
        state: &mut Cow<ZkServerState>,
        conn: Id,
        o: &mut Out<Self>,
    ) {
        let Some(c) = state.conns.get(&conn) else {
            return;
        };
        if c.session == 0 || !c.joined || c.sent == c.writes {
            return;
        }
        if state.raft.leader_hint(id).is_none() {
            return;
        }
        let (session, sent) = (c.session, c.sent);
        let from = Origin { server: id, conn };
        let unsent = (c.queue.iter().rev())
            .take_while(|p| p.n == 0 || p.n > sent)
            .filter(|p| p.n != 0);
        let mut txns: Vec<Txn> = unsent
            .map(|p| {
                let Call::Op(op) = &p.request.call else {
                    unreachable!("only operations go to the log");
                };
                let seat = Seat { session, n: p.n };
                let op = op.clone().for_session(session);
                let once = p.request.once;
                let kind = TxnKind::Request {
                    op,
                    seat,
                    once,
                    from,
                };
                Txn {
                    kind,
                    time: p.request.time,
                }
            })
            .collect();
        txns.reverse();
        let c = state.to_mut().conns.get_mut(&conn).expect("known");
        c.sent = c.writes;
        for txn in txns {
            self.to_leader(id, state, txn, o);
        }
    }

    /// The resend period began (see [`SessionRules::resend_after`]): a connection whose
    /// sent writes or asked syncs have waited since the period before, with no answer in
    /// between, sends its writes again, from the first unanswered one, in order, and asks
    /// again for its syncs' read indexes. The leader appends each write only once; a sync
    /// changes nothing, and any answer to it will do.
    ///
    /// [`SessionRules::resend_after`]: super::server::SessionRules::resend_after
    pub(super) fn resend_stalled(&self, id: Id, state: &mut Cow<ZkServerState>, o: &mut Out<Self>) {
        let Some(period) = &self.sessions.resend_after else {
            return;
        };
        o.set_timer(ZkTimer::Resend, period.clone());
        let stalled: Vec<Id> = (state.conns.iter())
            .filter(|(_, c)| c.queue.iter().any(|p| p.awaits(c.sent) || p.asked()))
            .map(|(conn, _)| *conn)
            .collect();
        for conn in stalled {
            let c = state.to_mut().conns.get_mut(&conn).expect("listed");
            c.waited = c.waited.saturating_add(1);
            if c.waited < 2 {
                continue;
            }
            c.waited = 0;
            let sent = c.sent;
            if let Some(first) = (c.queue.iter()).find(|p| p.awaits(sent)) {
                c.sent = first.n - 1;
            }
            self.send_writes(id, state, conn, o);
            self.ask_again(id, state, conn, o);
        }
    }

    /// Answers `conn`'s requests from the head of its queue for as long as they can be
    /// answered: a local request once its connection has a session, a write once applied.
    pub(super) fn drain(&self, state: &mut Cow<ZkServerState>, conn: Id, o: &mut Out<Self>) {
        loop {
            let Some(c) = state.conns.get(&conn) else {
                return;
            };
            let Some(head) = c.queue.front() else {
                return;
            };
            let ready = match &head.done {
                Some(_) => true,
                None => is_local(&head.request.call) && c.session != 0,
            };
            if !ready {
                return;
            }
            let head = state
                .to_mut()
                .conns
                .get_mut(&conn)
                .expect("known")
                .queue
                .pop_front()
                .expect("a head");
            match head.done.clone() {
                Some(ret) => self.reply_done(state, conn, head, ret, o),
                None => self.answer_local(state, conn, head, o),
            }
        }
    }

    /// The answer to an applied write: a client's `closeSession` closes the connection
    /// after its reply.
    fn reply_done(
        &self,
        state: &mut Cow<ZkServerState>,
        conn: Id,
        pending: Pending,
        ret: ZkRet,
        o: &mut Out<Self>,
    ) {
        let closes = ret == ZkRet::SessionClosed;
        reply(state.tree(), conn, pending.request.xid, ret, o);
        if closes {
            o.send(conn, ZkMsg::Closed(CloseReason::SessionClosed));
            self.forget_conn(state, conn);
        }
    }

    /// Answers a request the server answers alone, now.
    fn answer_local(
        &self,
        state: &mut Cow<ZkServerState>,
        conn: Id,
        pending: Pending,
        o: &mut Out<Self>,
    ) {
        let Request {
            xid, call, watch, ..
        } = pending.request;
        let session = state.conns.get(&conn).map_or(0, |c| c.session);
        let (ret, close) = match call {
            Call::Op(op) => {
                let op = op.for_session(session);
                let ret = state.tree().answer_read(&op).expect("a read");
                if watch {
                    self.leave_watch(state, conn, &op, &ret);
                }
                (ret, None)
            }
            Call::SetWatches(set) => {
                self.set_watches(state, conn, &set, o);
                (ZkRet::Done, None)
            }
            Call::AddWatch { path, mode } => {
                watch::add_persistent(&mut state.to_mut().watches, conn, &path, mode);
                (ZkRet::Done, None)
            }
            Call::RemoveWatches { path, kind, remove } => {
                let mut watches = state.watches.clone();
                let held = watch::remove(&mut watches, conn, &path, kind, remove);
                if remove && held {
                    state.to_mut().watches = watches;
                }
                let ret = if held {
                    ZkRet::Done
                } else {
                    ZkRet::Err(ZkError::NoWatcher)
                };
                (ret, None)
            }
            Call::SetAuth { scheme, .. } => set_auth(&scheme),
            Call::WhoAmI => {
                let ids = state.conns.get(&conn).map_or(&[][..], |c| &c.ids);
                let users = (ids.iter())
                    .map(|(scheme, id)| (scheme.clone(), user_name(scheme, id)))
                    .collect();
                (ZkRet::WhoAmI(users), None)
            }
            Call::Refused(refused) => match refused {
                Refused::Reconfig => (ZkRet::Err(ZkError::ReconfigDisabled), None),
                Refused::CreateTtl | Refused::MultiRead => {
                    (ZkRet::Err(ZkError::Unimplemented), None)
                }
                Refused::Error(error) => (ZkRet::Err(error), None),
                Refused::Unknown(_) => (
                    ZkRet::Err(ZkError::Unimplemented),
                    Some(CloseReason::Unimplemented),
                ),
            },
        };
        reply(state.tree(), conn, xid, ret, o);
        if let Some(reason) = close {
            o.send(conn, ZkMsg::Closed(reason));
            self.forget_conn(state, conn);
        }
    }

    /// Rule: a read with `watch` leaves a standard watch on its path: `exists` a data
    /// watch whether or not the node exists, `getData` a data watch and `getChildren` a
    /// child watch if the node exists. Other reads leave none.
    fn leave_watch(&self, state: &mut Cow<ZkServerState>, conn: Id, op: &ZkOp, ret: &ZkRet) {
        let failed = matches!(ret, ZkRet::Err(_));
        let (manager, path) = match op.caller().1 {
            ZkOp::Exists { path } if !matches!(ret, ZkRet::Err(ZkError::BadArguments)) => {
                (Manager::Data, path)
            }
            ZkOp::GetData { path } if !failed => (Manager::Data, path),
            ZkOp::GetChildren { path } if !failed => (Manager::Child, path),
            _ => return,
        };
        watch::add(
            &mut state.to_mut().watches,
            conn,
            path,
            manager,
            Mode::Standard,
        );
    }

    /// Rule (ZooKeeper's `DataTree.setWatches`): for each data watch, a missing node
    /// fires `NodeDeleted` and a node written after `relative_zxid` fires
    /// `NodeDataChanged`, at once; for each exist watch, a node that exists fires
    /// `NodeCreated`; for each child watch, a missing node fires `NodeDeleted` and a child
    /// list changed after `relative_zxid` fires `NodeChildrenChanged`. A watch that fires
    /// is not left; every other is, and persistent ones always are. With
    /// [`ZkBug::ReplaySkipsChanges`] every watch is left and none fires: a client misses
    /// what changed while it was disconnected.
    fn set_watches(
        &self,
        state: &mut Cow<ZkServerState>,
        conn: Id,
        set: &SetWatches,
        o: &mut Out<Self>,
    ) {
        let skip = self.bug == Some(ZkBug::ReplaySkipsChanges);
        let zxid = state.tree().zxid();
        let mut events = Vec::new();
        let mut keep = Vec::new();
        for path in &set.data {
            let stat = state.tree().stat(path);
            let change = match stat {
                None => Some(Change::Deleted(path.clone())),
                Some(s) if s.mzxid > set.relative_zxid => Some(Change::DataChanged(path.clone())),
                Some(_) => None,
            };
            changed_or_kept(skip, change, (path, Manager::Data), &mut events, &mut keep);
        }
        for path in &set.exist {
            let change = (state.tree().stat(path).is_some()).then(|| Change::Created(path.clone()));
            changed_or_kept(skip, change, (path, Manager::Data), &mut events, &mut keep);
        }
        for path in &set.child {
            let change = match state.tree().stat(path) {
                None => Some(Change::Deleted(path.clone())),
                Some(s) if s.pzxid > set.relative_zxid => {
                    Some(Change::ChildrenChanged(path.clone()))
                }
                Some(_) => None,
            };
            changed_or_kept(skip, change, (path, Manager::Child), &mut events, &mut keep);
        }
        let watches = &mut state.to_mut().watches;
        for (path, manager) in keep {
            watch::add(watches, conn, path, manager, Mode::Standard);
        }
        for path in &set.persistent {
            watch::add_persistent(watches, conn, path, watch::AddWatchMode::Persistent);
        }
        for path in &set.persistent_recursive {
            watch::add_persistent(
                watches,
                conn,
                path,
                watch::AddWatchMode::PersistentRecursive,
            );
        }
        for change in events {
            o.send(
                conn,
                ZkMsg::Event(super::watch::WatchEvent { change, zxid }),
            );
        }
    }

    /// [`ZkBug::AclCheckedOnArrival`]: the answer to a write that this server's tree
    /// refuses now for want of permission (the write then goes nowhere); `None` for any
    /// other request, and without the bug.
    fn refused_on_arrival(&self, tree: &ZnodeTree, call: &Call) -> Option<ZkRet> {
        match call {
            Call::Op(op) if self.bug == Some(ZkBug::AclCheckedOnArrival) && !is_local(call) => {
                tree.refuses(op)
            }
            _ => None,
        }
    }

    /// [`ZkBug::EarlyWatch`]: fire the watches a write will trigger as soon as it arrives,
    /// from what it would change if it were applied now.
    fn fire_early(&self, state: &mut Cow<ZkServerState>, call: &Call, o: &mut Out<Self>) {
        let Call::Op(op) = call else {
            return;
        };
        if op.is_read() {
            return;
        }
        let mut preview = state.tree().clone();
        let (_, changes) = preview.apply_op(op, 0);
        let zxid = preview.zxid();
        for change in &changes {
            let fired = fire(&mut state.to_mut().watches, change, zxid);
            for (conn, event) in fired {
                o.send(conn, ZkMsg::Event(event));
            }
        }
    }
}

/// ZooKeeper's `setAuth`: the `digest` scheme succeeds (its identity was added as the
/// request arrived: see `Conn::identify`); any other fails and closes the connection.
fn set_auth(scheme: &str) -> (ZkRet, Option<CloseReason>) {
    match scheme {
        "digest" => (ZkRet::Done, None),
        _ => (
            ZkRet::Err(ZkError::AuthFailed),
            Some(CloseReason::AuthFailed),
        ),
    }
}

/// One watch of a `setWatches`: fires at once if `change` says so (and the replay is not
/// skipped), otherwise is left.
fn changed_or_kept<'a>(
    skip: bool,
    change: Option<Change>,
    watch: (&'a Path, Manager),
    events: &mut Vec<Change>,
    keep: &mut Vec<(&'a Path, Manager)>,
) {
    match change {
        Some(change) if !skip => events.push(change),
        _ => keep.push(watch),
    }
}

/// Answers request `xid` of `conn` with `ret` and the zxid of `tree`.
pub(super) fn reply(tree: &ZnodeTree, conn: Id, xid: i32, ret: ZkRet, o: &mut Out<ZkServer>) {
    let zxid = tree.zxid();
    o.send(conn, ZkMsg::Reply(Reply { xid, zxid, ret }));
}
