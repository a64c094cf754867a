//! A client of a replicated service: one operation in flight, retries on timeout, and
//! leader discovery through redirects.
//!
//! The client runs a script of operations in order. Request `i` of the script carries
//! sequence number `i + 1`, and every retry of it carries the same number, so that servers
//! can suppress duplicates (exactly-once under retries).

use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::Range;
use std::time::Duration;

/// Messages between a client and the servers of a replicated service.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClientMsg<Op, Ret> {
    /// Perform `op`; `seq` numbers the client's operations from 1.
    Request { seq: u64, op: Op },
    /// The result of the client's request `seq`.
    Reply { seq: u64, ret: Ret },
    /// This server cannot serve request `seq`; `leader` is its best guess of who can.
    Redirect { seq: u64, leader: Option<Id> },
}

/// A protocol's message type that can carry client traffic.
pub trait Wire<Op, Ret>: Sized {
    fn from_client(msg: ClientMsg<Op, Ret>) -> Self;
    fn as_client(&self) -> Option<&ClientMsg<Op, Ret>>;
}

/// The client's only timer: give up on the current server and retry elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClientTimer {
    Retry,
}

/// A client actor. `M` is the protocol's message type.
#[derive(Clone, Debug)]
pub struct Client<Op, Ret, M> {
    /// The servers of the service, in the order the client tries them.
    pub servers: Vec<Id>,
    /// Index into `servers` of the server to try first.
    pub first: usize,
    /// The operations to perform, one at a time.
    pub script: Vec<Op>,
    /// How long to wait for an answer before trying the next server.
    pub retry_timeout: Range<Duration>,
    _types: PhantomData<fn() -> (Ret, M)>,
}

/// Where the client is in its script.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ClientState {
    /// Index into the script of the operation in flight; the script's length when done.
    pub next: usize,
    /// Index into `servers` of the server the request was last sent to.
    pub target: usize,
    /// How many times this client has sent a request again (retry or redirect), over its
    /// whole life: a retry budget can bound it.
    pub resends: u8,
}

impl<Op, Ret, M> Client<Op, Ret, M> {
    pub fn new(
        servers: Vec<Id>,
        first: usize,
        script: Vec<Op>,
        retry_timeout: Range<Duration>,
    ) -> Self {
        assert!(!servers.is_empty(), "a client needs at least one server");
        Client {
            first: first % servers.len(),
            servers,
            script,
            retry_timeout,
            _types: PhantomData,
        }
    }
}

impl<Op, Ret, M> Client<Op, Ret, M>
where
    Op: Clone + Debug + Eq + Hash,
    Ret: Clone + Debug + Eq + Hash,
    M: Wire<Op, Ret> + Clone + Debug + Eq + Hash,
{
    /// Sends the current operation to the current target and (re)arms the retry timer.
    fn send_current(&self, state: &ClientState, o: &mut Out<Self>) {
        let msg = ClientMsg::Request {
            seq: state.next as u64 + 1,
            op: self.script[state.next].clone(),
        };
        o.send(self.servers[state.target], M::from_client(msg));
        o.set_timer(ClientTimer::Retry, self.retry_timeout.clone());
    }

    fn is_current(&self, state: &ClientState, seq: u64) -> bool {
        state.next < self.script.len() && seq == state.next as u64 + 1
    }
}

impl<Op, Ret, M> Actor for Client<Op, Ret, M>
where
    Op: Clone + Debug + Eq + Hash,
    Ret: Clone + Debug + Eq + Hash,
    M: Wire<Op, Ret> + Clone + Debug + Eq + Hash,
{
    type Msg = M;
    type State = ClientState;
    type Timer = ClientTimer;
    type Storage = ();
    type Random = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> ClientState {
        let state = ClientState {
            next: 0,
            target: self.first,
            resends: 0,
        };
        if !self.script.is_empty() {
            self.send_current(&state, o);
        }
        state
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<ClientState>, src: Id, msg: M, o: &mut Out<Self>) {
        match msg.as_client() {
            Some(&ClientMsg::Reply { seq, .. }) if self.is_current(state, seq) => {
                let state = state.to_mut();
                state.next += 1;
                if let Some(target) = self.servers.iter().position(|s| *s == src) {
                    state.target = target;
                }
                if state.next < self.script.len() {
                    self.send_current(state, o);
                } else {
                    o.cancel_timer(ClientTimer::Retry);
                }
            }
            Some(&ClientMsg::Redirect { seq, leader }) if self.is_current(state, seq) => {
                match leader.and_then(|l| self.servers.iter().position(|s| *s == l)) {
                    // A known leader: go there at once.
                    Some(target) if target != state.target => {
                        let state = state.to_mut();
                        state.target = target;
                        state.resends = state.resends.saturating_add(1);
                        self.send_current(state, o);
                    }
                    // Nobody known: wait for the retry timer, which moves on.
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<ClientState>,
        _timer: &ClientTimer,
        o: &mut Out<Self>,
    ) {
        if state.next >= self.script.len() {
            return;
        }
        let state = state.to_mut();
        state.target = (state.target + 1) % self.servers.len();
        state.resends = state.resends.saturating_add(1);
        self.send_current(state, o);
    }
}

#[cfg(test)]
mod tests;
