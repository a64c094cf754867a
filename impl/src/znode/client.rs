//! A ZooKeeper client: one session, connected to one server at a time, running a program
//! of calls (a script, or a recipe such as the counter) one call at a time.
//!
//! Call `i` carries sequence number `i`, and every retry of it the same number, so that
//! servers suppress duplicates. A call that gets no answer in time is resent to another
//! server, chosen at random. Watch events are kept, in the order they arrive, and passed
//! to a program that waits for one (so do the answers of a resource the program guards).
//!
//! Every reply tells the client the zxid of the server's tree; the client sends the
//! highest it has seen with each call, so a server that is behind it does not answer its
//! plain reads (ZooKeeper's `lastZxid`).
//!
//! In the models a client may fail-stop (its `Halt` timer), as a chain node does.

use super::msg::{ResourceMsg, Serve, ZkMsg};
use super::server::session_of;
use super::watch::WatchEvent;
use crate::client::{retry_choices, ClientMsg, RETRY_AT};
use coord_specs::znode::{ZkOp, ZkRet, Zxid};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::Hash;
use std::ops::Range;
use std::time::Duration;

/// One call: an operation and how to serve it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Call {
    pub op: ZkOp,
    pub serve: Serve,
}

impl Call {
    pub fn plain(op: ZkOp) -> Self {
        let serve = Serve::default();
        Call { op, serve }
    }

    /// A read that leaves a watch.
    pub fn watched(op: ZkOp) -> Self {
        let serve = Serve {
            watch: true,
            ..Serve::default()
        };
        Call { op, serve }
    }

    /// A read preceded by `sync`.
    pub fn synced(op: ZkOp) -> Self {
        let serve = Serve {
            sync: true,
            ..Serve::default()
        };
        Call { op, serve }
    }
}

/// What a program does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    Call(Call),
    /// Wait for a time in this range, then ask the program again ([`Program::on_wake`]).
    Sleep(Range<Duration>),
    /// Wait, with nothing in flight and no timer, for a watch event
    /// ([`Program::on_event`]), or for whoever runs the client to fire its `Wake` timer
    /// ([`Program::on_wake`]; a command line tool does this when told to go on).
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

    /// The call in flight returned `ret`.
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

/// A fixed list of calls. Its state is the results so far.
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

/// The client's timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ZkClientTimer {
    /// No answer in time: resend elsewhere.
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
    /// The keepalive interval; `None` sends none (the session then lives only as long as
    /// its calls keep the leader hearing from it).
    pub ping: Option<Range<Duration>>,
    /// When the client may fail-stop, or `None` for never (a real client's process just
    /// dies).
    pub halt: Option<Range<Duration>>,
}

/// A client's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZkClientState<S> {
    pub program: S,
    /// The number of the latest call (0 before the first).
    pub seq: u64,
    /// The call in flight, if any.
    pub call: Option<Call>,
    pub done: bool,
    /// The server the client is connected to.
    pub target: Id,
    /// How many times the client has resent a call, over its life.
    pub resends: u8,
    /// The watch events received, each with the server that sent it.
    pub events: Vec<(Id, WatchEvent)>,
    /// Fail-stop: a halted client does nothing more; its program state is as it was.
    pub halted: bool,
    /// The highest zxid seen in any reply (ZooKeeper's `lastZxid`), sent with every call.
    pub zxid: Zxid,
}

impl<S> ZkClientState<S> {
    /// True if the client will never act on `msg`, now or after any later step: a halted
    /// client acts on nothing, and a reply to a call that is no longer in flight stays
    /// stale (`seq` never decreases). A model may drop such a message from its network.
    pub fn ignores_forever(&self, msg: &ZkMsg) -> bool {
        match msg {
            _ if self.halted => true,
            ZkMsg::Client(ClientMsg::Reply { seq, .. }, _) => {
                *seq < self.seq || (*seq == self.seq && self.call.is_none())
            }
            _ => false,
        }
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
            ping: None,
            halt: None,
        }
    }

    pub fn with_ping(mut self, ping: Option<Range<Duration>>) -> Self {
        self.ping = ping;
        self
    }

    pub fn with_halt(mut self, halt: Option<Range<Duration>>) -> Self {
        self.halt = halt;
        self
    }

    /// Does what the program decided.
    fn follow(&self, state: &mut ZkClientState<P::State>, next: Next, o: &mut Out<Self>) {
        let Next::Call(call) = next else {
            state.call = None;
            o.cancel_timer(ZkClientTimer::Retry);
            match next {
                Next::Sleep(range) => o.set_timer(ZkClientTimer::Wake, range),
                Next::Send(resource, msg) => o.send(resource, ZkMsg::Resource(msg)),
                Next::Done => {
                    state.done = true;
                    o.cancel_timer(ZkClientTimer::Ping);
                    o.cancel_timer(ZkClientTimer::Halt);
                }
                Next::Wait | Next::Call(_) => {}
            }
            return;
        };
        state.seq += 1;
        state.call = Some(call);
        self.send_call(state, o);
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
        if state.call.is_some() || state.done {
            return;
        }
        let mut program = state.program.clone();
        if let Some(next) = ask(&mut program) {
            let state = state.to_mut();
            state.program = program;
            self.follow(state, next, o);
        }
    }

    /// Sends the call in flight to the current server and (re)arms the retry timer; a
    /// retry still being chosen is dropped.
    fn send_call(&self, state: &ZkClientState<P::State>, o: &mut Out<Self>) {
        let Some(call) = &state.call else {
            return;
        };
        let request = ClientMsg::Request {
            seq: state.seq,
            op: call.op.clone(),
        };
        let serve = Serve {
            zxid: state.zxid,
            ..call.serve
        };
        o.send(state.target, ZkMsg::Client(request, serve));
        o.set_timer(ZkClientTimer::Retry, self.retry_timeout.clone());
        o.remove_random(RETRY_AT);
    }
}

impl<P: Program> Actor for ZkClient<P> {
    type Msg = ZkMsg;
    type State = ZkClientState<P::State>;
    type Timer = ZkClientTimer;
    type Storage = ();
    /// The server a retry goes to.
    type Random = Id;

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> Self::State {
        let (program, next) = self.program.start();
        let mut state = ZkClientState {
            program,
            seq: 0,
            call: None,
            done: false,
            target: self.servers[self.first],
            resends: 0,
            events: Vec::new(),
            halted: false,
            zxid: 0,
        };
        if let Some(ping) = &self.ping {
            o.set_timer(ZkClientTimer::Ping, ping.clone());
        }
        if let Some(halt) = &self.halt {
            o.set_timer(ZkClientTimer::Halt, halt.clone());
        }
        self.follow(&mut state, next, o);
        state
    }

    /// The answer to the call in flight goes to the program; a watch event is kept, and
    /// goes to an idle program with a resource's answer.
    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: ZkMsg,
        o: &mut Out<Self>,
    ) {
        if state.halted {
            return;
        }
        match msg {
            ZkMsg::Client(ClientMsg::Reply { seq, ret }, serve)
                if state.call.is_some() && seq == state.seq =>
            {
                let state = state.to_mut();
                state.zxid = state.zxid.max(serve.zxid);
                if self.servers.contains(&src) {
                    state.target = src;
                }
                let next = self.program.on_return(&mut state.program, &ret);
                self.follow(state, next, o);
            }
            ZkMsg::Event(event) => {
                self.consult(state, o, |program| self.program.on_event(program, &event));
                state.to_mut().events.push((src, event));
            }
            ZkMsg::Resource(answer) => self.consult(state, o, |program| {
                self.program.on_resource(program, &answer)
            }),
            _ => {}
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &ZkClientTimer,
        o: &mut Out<Self>,
    ) {
        if state.halted {
            return;
        }
        match timer {
            ZkClientTimer::Retry if state.call.is_some() => {
                let choices = retry_choices(&self.servers, state.target);
                let state = state.to_mut();
                state.resends = state.resends.saturating_add(1);
                o.choose_random(RETRY_AT, choices);
            }
            ZkClientTimer::Wake if !state.done && state.call.is_none() => {
                let state = state.to_mut();
                let next = self.program.on_wake(&mut state.program);
                self.follow(state, next, o);
            }
            ZkClientTimer::Ping if !state.done => {
                let session = session_of(id);
                o.send(state.target, ZkMsg::Ping { session });
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

    fn on_random(&self, _id: Id, state: &mut Cow<Self::State>, server: &Id, o: &mut Out<Self>) {
        if state.call.is_none() || state.halted {
            return;
        }
        let state = state.to_mut();
        state.target = *server;
        self.send_call(state, o);
    }
}
