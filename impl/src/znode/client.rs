//! A ZooKeeper client library as an actor: one session, connected to one server at a
//! time, running a program of calls (a script, or a recipe such as the counter).
//!
//! It behaves as ZooKeeper's clients do: it connects (opening a session, then resuming it
//! with its id and password), sends the program's calls as they come (pipelined: a
//! program may make a call while others are in flight, and calls follow the `Connect` at
//! once, as ZooKeeper's Java client sends its first packets), takes the replies in order,
//! and keeps the watches it has left so that, after reconnecting to another server, it
//! sets them again with `setWatches` (from the last zxid it saw, which the new server
//! fires for). It sends its `lastZxid` with every connect, so a server behind it refuses
//! it.
//!
//! A call left unanswered by a lost connection is sent again on the next connection with
//! the same exactly-once key (its call number, see [`Once`]), so the program never sees a
//! connection loss and no write applies twice (kazoo's retry, made safe). A session found
//! expired fails every call in flight and every later one with `SessionExpired`.
//!
//! The connection is lost when the server closes it, or when no answer comes in time
//! (the retry timer, armed while anything is awaited); the client then reconnects to a
//! server chosen at random. In the models a client may fail-stop (its `Halt` timer).

use super::conn::{
    self, CloseReason, Connect, Connected, Once, Passwd, Reply, Request, SetWatches,
};
use super::msg::{ResourceMsg, ZkMsg};
use super::watch::WatchEvent;
use super::Change;
use crate::client::{retry_choices, RETRY_AT};
use coord_specs::znode::{Path, SessionId, ZkError, ZkOp, ZkRet, Zxid};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::ops::Range;
use std::time::Duration;

/// One call of a program: what to ask, whether a read leaves a watch, and whether a
/// `sync` goes first (sent together on the connection, so the read sees every write
/// committed before it; the program sees only the read's answer).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Call {
    pub ask: conn::Call,
    pub watch: bool,
    pub sync: bool,
}

impl Call {
    pub fn plain(op: ZkOp) -> Self {
        Call {
            ask: conn::Call::Op(op),
            watch: false,
            sync: false,
        }
    }

    /// A read that leaves a watch.
    pub fn watched(op: ZkOp) -> Self {
        Call {
            watch: true,
            ..Call::plain(op)
        }
    }

    /// A read preceded by `sync`.
    pub fn synced(op: ZkOp) -> Self {
        Call {
            sync: true,
            ..Call::plain(op)
        }
    }

    /// The tree operation asked, if any.
    pub fn op(&self) -> Option<&ZkOp> {
        match &self.ask {
            conn::Call::Op(op) => Some(op),
            _ => None,
        }
    }
}

/// What a program does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Make this call (while others may still be in flight: they are pipelined).
    Call(Call),
    /// Make these calls one after the other without waiting, pipelined on the connection
    /// as ZooKeeper's clients do (the program hears each return in order).
    Pipeline(Vec<Call>),
    /// Wait for a time in this range, then ask the program again ([`Program::on_wake`]).
    Sleep(Range<Duration>),
    /// Wait for the answers still due, a watch event ([`Program::on_event`]), or for
    /// whoever runs the client to fire its `Wake` timer ([`Program::on_wake`]; a command
    /// line tool does this when told to go on).
    Wait,
    /// Send this message to the resource `Id` outside ZooKeeper, then wait for its
    /// answer ([`Program::on_resource`]).
    Send(Id, ResourceMsg),
    Done,
}

/// What a client does: its calls, each decided from the results of the ones before.
pub trait Program: Clone + Debug {
    type State: Clone + Debug + Hash + Eq;

    /// The program's initial state and first step.
    fn start(&self) -> (Self::State, Next);

    /// The oldest call in flight returned `ret`.
    fn on_return(&self, state: &mut Self::State, ret: &ZkRet) -> Next;

    /// A sleep is over, or a wait was ended by a wake-up from outside.
    fn on_wake(&self, state: &mut Self::State) -> Next;

    /// A watch event arrived while no call was in flight: the next step, or `None` to go
    /// on as before. By default events are only kept (in the client's `events`).
    fn on_event(&self, _state: &mut Self::State, _event: &WatchEvent) -> Option<Next> {
        None
    }

    /// A resource answered while no call was in flight: the next step, or `None` to go on
    /// as before.
    fn on_resource(&self, _state: &mut Self::State, _answer: &ResourceMsg) -> Option<Next> {
        None
    }
}

/// A fixed list of calls, made one at a time. Its state is the results so far.
#[derive(Clone, Debug)]
pub struct Script(pub Vec<Call>);

impl Script {
    fn step(&self, done: usize) -> Next {
        self.0.get(done).cloned().map_or(Next::Done, Next::Call)
    }
}

impl Program for Script {
    type State = Vec<ZkRet>;

    fn start(&self) -> (Vec<ZkRet>, Next) {
        (Vec::new(), self.step(0))
    }

    fn on_return(&self, results: &mut Vec<ZkRet>, ret: &ZkRet) -> Next {
        results.push(ret.clone());
        self.step(results.len())
    }

    fn on_wake(&self, results: &mut Vec<ZkRet>) -> Next {
        self.step(results.len())
    }
}

/// A fixed list of calls, all made at once (pipelined). Its state is the results so far.
#[derive(Clone, Debug)]
pub struct Pipeline(pub Vec<Call>);

impl Program for Pipeline {
    type State = Vec<ZkRet>;

    fn start(&self) -> (Vec<ZkRet>, Next) {
        (Vec::new(), Next::Pipeline(self.0.clone()))
    }

    fn on_return(&self, results: &mut Vec<ZkRet>, ret: &ZkRet) -> Next {
        results.push(ret.clone());
        if results.len() == self.0.len() {
            Next::Done
        } else {
            Next::Wait
        }
    }

    fn on_wake(&self, _: &mut Vec<ZkRet>) -> Next {
        Next::Wait
    }
}

/// The client's timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkClientTimer {
    /// No answer in time: the connection is taken as lost, and the client reconnects.
    Retry,
    /// A program's sleep is over.
    Wake,
    /// Time to send a keepalive.
    Ping,
    /// Fail-stop: the client stops for good (in the models only).
    Halt,
}

/// A client's configuration.
#[derive(Clone, Debug)]
pub struct ZkClient<P> {
    pub servers: Vec<Id>,
    /// Index into `servers` of the server to connect to first.
    pub first: usize,
    pub program: P,
    pub retry_timeout: Range<Duration>,
    /// The session timeout asked for.
    pub timeout_ms: u32,
    /// The keepalive interval; `None` sends none.
    pub ping: Option<Range<Duration>>,
    /// When the client may fail-stop, or `None` for never (a real client's process just
    /// dies).
    pub halt: Option<Range<Duration>>,
    /// Who the client says it is (`Connect::client`).
    pub name: smol_str::SmolStr,
    /// A session the client has from the start (the models' genesis sessions, see
    /// `SessionRules::genesis`); `None` to open one.
    pub session: Option<(SessionId, Passwd)>,
}

/// A call sent and not yet answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InFlight {
    /// The call's number: its place among the client's calls, from 1 (its exactly-once
    /// key, and what a history names it by).
    pub number: u64,
    pub call: Call,
}

/// The watches a client holds (ZooKeeper's client-side `ZKWatchManager`), by the list of
/// `setWatches` each one goes back into after a reconnect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Held {
    pub data: BTreeSet<Path>,
    pub exist: BTreeSet<Path>,
    pub child: BTreeSet<Path>,
}

impl Held {
    fn is_empty(&self) -> bool {
        self.data.is_empty() && self.exist.is_empty() && self.child.is_empty()
    }

    /// Rule: a successful read with a watch holds one (`exists` of a missing node an exist
    /// watch, of an existing one a data watch); an event consumes the one-shot watches it
    /// fires: data and exist watches on the path for a data event, child watches for a
    /// children event, all three for a deletion.
    fn on_reply(&mut self, call: &Call, ret: &ZkRet) {
        let Some(op) = call.op().filter(|_| call.watch) else {
            return;
        };
        match (op, ret) {
            (ZkOp::Exists { path }, ZkRet::Exists(None)) => self.exist.insert(path.clone()),
            (ZkOp::Exists { path }, ZkRet::Exists(Some(_)))
            | (ZkOp::GetData { path }, ZkRet::Data { .. }) => self.data.insert(path.clone()),
            (ZkOp::GetChildren { path }, ZkRet::Children { .. }) => self.child.insert(path.clone()),
            _ => false,
        };
    }

    fn on_event(&mut self, change: &Change) {
        match change {
            Change::Created(p) | Change::DataChanged(p) => {
                self.data.remove(p);
                self.exist.remove(p);
            }
            Change::ChildrenChanged(p) => {
                self.child.remove(p);
            }
            Change::Deleted(p) => {
                self.data.remove(p);
                self.exist.remove(p);
                self.child.remove(p);
            }
        }
    }
}

/// A client's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZkClientState<S> {
    pub program: S,
    /// The session and its password, once the cluster has given one.
    pub session: Option<(SessionId, Passwd)>,
    /// The server of the current connection.
    pub target: Id,
    /// Whether a connection to `target` is open or opening (its `Connect` sent, not lost).
    pub linked: bool,
    /// Whether the current connection's `Connected` has come.
    pub connected: bool,
    /// The session was found expired: every call fails from then on.
    pub expired: bool,
    /// How many calls the program has made.
    pub calls: u64,
    /// The calls not yet answered, oldest first (sent on the current connection if it is
    /// linked, waiting for the next one otherwise).
    pub in_flight: Vec<InFlight>,
    pub done: bool,
    /// How many times the client lost a connection (closed by its server, or given up
    /// for want of an answer), over its life.
    pub resends: u8,
    /// The watch events received, each with the server that sent it.
    pub events: Vec<(Id, WatchEvent)>,
    /// The watches it holds.
    pub held: Held,
    /// A reply came for a call that was not the oldest in flight (the protocol forbids it).
    pub out_of_order: bool,
    /// Fail-stop: a halted client does nothing more; its program state is as it was.
    pub halted: bool,
    /// The highest zxid seen in any reply or event (ZooKeeper's `lastZxid`).
    pub zxid: Zxid,
}

impl<S> ZkClientState<S> {
    /// True if the client will never act on `msg`, now or after any later step: a halted
    /// client acts on nothing, nor does one that found its session expired (it stays
    /// expired, and fails every later call itself). A model may drop such a message from
    /// its network.
    pub fn ignores_forever(&self, msg: &ZkMsg) -> bool {
        self.halted
            || self.expired
            || matches!(
                msg,
                ZkMsg::Connect(_) | ZkMsg::Request(_) | ZkMsg::Ping | ZkMsg::Forward(_)
            )
    }

    /// The session id, 0 before the cluster gave one.
    pub fn session_id(&self) -> SessionId {
        self.session.map_or(0, |(s, _)| s)
    }
}

impl<P: Program> ZkClient<P> {
    pub fn new(servers: Vec<Id>, first: usize, program: P, retry_timeout: Range<Duration>) -> Self {
        assert!(!servers.is_empty(), "a client needs at least one server");
        ZkClient {
            first: first % servers.len(),
            servers,
            program,
            retry_timeout,
            timeout_ms: 4_000,
            ping: None,
            halt: None,
            name: "coord".into(),
            session: None,
        }
    }

    pub fn with_session(mut self, session: Option<(SessionId, Passwd)>) -> Self {
        self.session = session;
        self
    }

    pub fn with_ping(mut self, ping: Option<Range<Duration>>) -> Self {
        self.ping = ping;
        self
    }

    pub fn with_halt(mut self, halt: Option<Range<Duration>>) -> Self {
        self.halt = halt;
        self
    }

    pub fn with_timeout(mut self, timeout_ms: u32) -> Self {
        self.timeout_ms = timeout_ms;
        self
    }

    /// Does what the program decided.
    fn follow(&self, state: &mut ZkClientState<P::State>, next: Next, o: &mut Out<Self>) {
        match next {
            Next::Call(call) => self.call(state, call, o),
            Next::Pipeline(calls) => {
                for call in calls {
                    self.call(state, call, o);
                }
            }
            Next::Sleep(range) => o.set_timer(ZkClientTimer::Wake, range),
            Next::Send(resource, msg) => o.send(resource, ZkMsg::Resource(msg)),
            Next::Done => {
                state.done = true;
                o.cancel_timer(ZkClientTimer::Ping);
                o.cancel_timer(ZkClientTimer::Halt);
            }
            Next::Wait => {}
        }
    }

    /// A new call: failed at once if the session is expired, otherwise sent on the
    /// current connection if it is linked (kept for the next connection if not).
    fn call(&self, state: &mut ZkClientState<P::State>, call: Call, o: &mut Out<Self>) {
        state.calls += 1;
        if state.expired {
            let ret = ZkRet::Err(ZkError::SessionExpired);
            let next = self.program.on_return(&mut state.program, &ret);
            return self.follow(state, next, o);
        }
        let sent = InFlight {
            number: state.calls,
            call,
        };
        state.in_flight.push(sent.clone());
        if state.linked {
            self.send(state, &sent, o);
        }
    }

    /// Sends `call` on the current connection, its sync first if it has one, and arms
    /// the retry timer. Its operation names the client's session (the server would put
    /// it in anyway; a history of the client's calls then reads as the server applies
    /// them). Its xid is its number (kept on every connection, as ZooKeeper's
    /// Java client counts on), and its exactly-once key is its number too, above the
    /// oldest call still awaited.
    fn send(&self, state: &ZkClientState<P::State>, call: &InFlight, o: &mut Out<Self>) {
        let floor = state
            .in_flight
            .first()
            .map_or(call.number, |c| c.number.min(call.number));
        let once = Some(Once {
            id: call.number,
            floor,
        });
        let time = call.number as i64;
        if let (true, Some(op)) = (call.call.sync, call.call.op()) {
            let path = read_path(op);
            let sync = Request {
                xid: -(call.number as i32),
                call: conn::Call::Op(ZkOp::Sync { path }),
                watch: false,
                time,
                once: None,
            };
            o.send(state.target, ZkMsg::Request(sync));
        }
        let ask = match &call.call.ask {
            conn::Call::Op(op) => conn::Call::Op(op.clone().for_session(state.session_id())),
            other => other.clone(),
        };
        let request = Request {
            xid: call.number as i32,
            call: ask,
            watch: call.call.watch,
            time,
            once,
        };
        o.send(state.target, ZkMsg::Request(request));
        o.set_timer(ZkClientTimer::Retry, self.retry_timeout.clone());
    }

    /// Connects to the current target: a new session, or the one it has. A resumed
    /// session's watches are set again first; then every call still awaited is sent
    /// again, in order.
    fn connect(&self, state: &mut ZkClientState<P::State>, o: &mut Out<Self>) {
        let (session, passwd) = state.session.unwrap_or((0, [0; 16]));
        let connect = Connect {
            session,
            passwd,
            timeout_ms: self.timeout_ms,
            last_zxid: state.zxid,
            client: self.name.clone(),
        };
        state.linked = true;
        o.send(state.target, ZkMsg::Connect(connect));
        o.set_timer(ZkClientTimer::Retry, self.retry_timeout.clone());
        o.remove_random(RETRY_AT);
        if session != 0 && !state.held.is_empty() {
            let set = SetWatches {
                relative_zxid: state.zxid,
                data: state.held.data.iter().cloned().collect(),
                exist: state.held.exist.iter().cloned().collect(),
                child: state.held.child.iter().cloned().collect(),
                ..SetWatches::default()
            };
            let request = Request {
                xid: SET_WATCHES_XID,
                call: conn::Call::SetWatches(set),
                watch: false,
                time: state.calls as i64,
                once: None,
            };
            o.send(state.target, ZkMsg::Request(request));
        }
        for call in state.in_flight.clone() {
            self.send(state, &call, o);
        }
    }

    /// The connection is lost: tell its server (as a closed socket would), and choose
    /// where to reconnect. Every reconnect counts as a resend (a model bounds them).
    fn lose(&self, state: &mut ZkClientState<P::State>, o: &mut Out<Self>) {
        state.resends = state.resends.saturating_add(1);
        o.send(state.target, ZkMsg::Disconnect);
        state.linked = false;
        state.connected = false;
        o.cancel_timer(ZkClientTimer::Retry);
        o.choose_random(RETRY_AT, retry_choices(&self.servers, state.target));
    }

    /// The session is expired: every call in flight fails, and every later one.
    fn expire(&self, state: &mut ZkClientState<P::State>, o: &mut Out<Self>) {
        state.expired = true;
        state.linked = false;
        state.connected = false;
        o.cancel_timer(ZkClientTimer::Retry);
        o.cancel_timer(ZkClientTimer::Ping);
        for _ in std::mem::take(&mut state.in_flight) {
            let ret = ZkRet::Err(ZkError::SessionExpired);
            let next = self.program.on_return(&mut state.program, &ret);
            self.follow(state, next, o);
        }
    }

    /// Connected: the session is the client's (an expired one fails every call).
    fn on_connected(
        &self,
        state: &mut ZkClientState<P::State>,
        connected: Connected,
        o: &mut Out<Self>,
    ) {
        if connected.timeout_ms == 0 {
            return self.expire(state, o);
        }
        state.session = Some((connected.session, connected.passwd));
        state.connected = true;
        if state.in_flight.is_empty() {
            o.cancel_timer(ZkClientTimer::Retry);
        }
    }

    /// A reply: the answer to the oldest call in flight goes to the program. Replies to
    /// the client's own requests (its syncs and `setWatches`) are only noted.
    fn on_reply(&self, state: &mut ZkClientState<P::State>, reply: Reply, o: &mut Out<Self>) {
        state.zxid = state.zxid.max(reply.zxid);
        let Some(at) = (state.in_flight.iter()).position(|c| c.number as i32 == reply.xid) else {
            return;
        };
        state.out_of_order |= at != 0;
        let call = state.in_flight.remove(at);
        state.held.on_reply(&call.call, &reply.ret);
        if state.in_flight.is_empty() {
            o.cancel_timer(ZkClientTimer::Retry);
        }
        let next = self.program.on_return(&mut state.program, &reply.ret);
        self.follow(state, next, o);
    }

    /// Asks the program, idle (no call in flight, not done), what to do about something
    /// that arrived (`ask`), and does it; the state is left untouched if the program goes
    /// on as before.
    fn consult(
        &self,
        state: &mut Cow<ZkClientState<P::State>>,
        o: &mut Out<Self>,
        ask: impl FnOnce(&mut P::State) -> Option<Next>,
    ) {
        if !state.in_flight.is_empty() || state.done {
            return;
        }
        let mut program = state.program.clone();
        if let Some(next) = ask(&mut program) {
            let state = state.to_mut();
            state.program = program;
            self.follow(state, next, o);
        }
    }
}

/// The xid of the client's own `setWatches` (ZooKeeper's `SET_WATCHES_XID`).
pub const SET_WATCHES_XID: i32 = -8;

/// The path a read names (a sync before it names the same).
fn read_path(op: &ZkOp) -> Path {
    match op {
        ZkOp::Exists { path }
        | ZkOp::GetData { path }
        | ZkOp::GetChildren { path }
        | ZkOp::GetAcl { path }
        | ZkOp::GetAllChildrenNumber { path } => path.clone(),
        _ => Path::from("/"),
    }
}

impl<P: Program> Actor for ZkClient<P> {
    type Msg = ZkMsg;
    type State = ZkClientState<P::State>;
    type Timer = ZkClientTimer;
    type Storage = ();
    /// The server a reconnect goes to.
    type Random = Id;

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> Self::State {
        let (program, next) = self.program.start();
        let mut state = ZkClientState {
            program,
            session: self.session,
            target: self.servers[self.first],
            linked: false,
            connected: false,
            expired: false,
            calls: 0,
            in_flight: Vec::new(),
            done: false,
            resends: 0,
            events: Vec::new(),
            held: Held::default(),
            out_of_order: false,
            halted: false,
            zxid: 0,
        };
        if let Some(ping) = &self.ping {
            o.set_timer(ZkClientTimer::Ping, ping.clone());
        }
        if let Some(halt) = &self.halt {
            o.set_timer(ZkClientTimer::Halt, halt.clone());
        }
        self.connect(&mut state, o);
        self.follow(&mut state, next, o);
        state
    }

    /// Messages of the current connection: the handshake, replies, events, closes; a
    /// resource's answer goes to an idle program.
    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: ZkMsg,
        o: &mut Out<Self>,
    ) {
        if state.halted || state.expired {
            return;
        }
        if let ZkMsg::Resource(answer) = msg {
            return self.consult(state, o, |program| {
                self.program.on_resource(program, &answer)
            });
        }
        if src != state.target {
            return;
        }
        match msg {
            ZkMsg::Connected(connected) if state.linked && !state.connected => {
                self.on_connected(state.to_mut(), connected, o)
            }
            ZkMsg::Reply(reply) if state.linked => self.on_reply(state.to_mut(), reply, o),
            ZkMsg::Pong(zxid) if zxid > state.zxid => state.to_mut().zxid = zxid,
            ZkMsg::Event(event) if state.linked => {
                let inner = state.to_mut();
                inner.zxid = inner.zxid.max(event.zxid);
                inner.held.on_event(&event.change);
                self.consult(state, o, |program| self.program.on_event(program, &event));
                state.to_mut().events.push((src, event));
            }
            ZkMsg::Closed(CloseReason::SessionExpired) if state.linked => {
                self.expire(state.to_mut(), o)
            }
            ZkMsg::Closed(_) if state.linked => self.lose(state.to_mut(), o),
            _ => {}
        }
    }

    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<Self::State>,
        timer: &ZkClientTimer,
        o: &mut Out<Self>,
    ) {
        if state.halted {
            return;
        }
        match timer {
            ZkClientTimer::Retry
                if state.linked && (!state.connected || !state.in_flight.is_empty()) =>
            {
                self.lose(state.to_mut(), o)
            }
            ZkClientTimer::Wake if !state.done && state.in_flight.is_empty() => {
                let state = state.to_mut();
                let next = self.program.on_wake(&mut state.program);
                self.follow(state, next, o);
            }
            ZkClientTimer::Ping if !state.done && !state.expired => {
                if state.connected {
                    o.send(state.target, ZkMsg::Ping);
                }
                if let Some(ping) = &self.ping {
                    o.set_timer(ZkClientTimer::Ping, ping.clone());
                }
            }
            ZkClientTimer::Halt if !state.done => {
                state.to_mut().halted = true;
                for timer in [
                    ZkClientTimer::Retry,
                    ZkClientTimer::Wake,
                    ZkClientTimer::Ping,
                ] {
                    o.cancel_timer(timer);
                }
                o.remove_random(RETRY_AT);
            }
            _ => {}
        }
    }

    /// Reconnects at the server chosen.
    fn on_random(&self, _id: Id, state: &mut Cow<Self::State>, server: &Id, o: &mut Out<Self>) {
        if state.halted || state.expired || state.linked {
            return;
        }
        let state = state.to_mut();
        state.target = *server;
        self.connect(state, o);
    }
}
