//! A client of a replicated service: one operation in flight, retries on timeout, and
//! leader discovery through redirects.
//!
//! The client runs a script of operations in order. Request `i` of the script carries
//! sequence number `i + 1`, and every retry of it carries the same number, so that servers
//! can suppress duplicates (exactly-once under retries).

use crate::invariants::{checked, debug_started};
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

impl<Op, Ret> ClientMsg<Op, Ret> {
    pub fn is_request(&self) -> bool {
        matches!(self, ClientMsg::Request { .. })
    }
}

/// A protocol's message type that can carry client traffic.
pub trait Wire<Op, Ret>: Sized {
    fn from_client(msg: ClientMsg<Op, Ret>) -> Self;
    fn as_client(&self) -> Option<&ClientMsg<Op, Ret>>;
}

/// Client traffic on its own is a wire too: a client that is part of another actor (an
/// administrator inside a Raft client, see `raft::admin`) speaks it, and its host wraps it.
impl<Op, Ret> Wire<Op, Ret> for ClientMsg<Op, Ret> {
    fn from_client(msg: ClientMsg<Op, Ret>) -> Self {
        msg
    }

    fn as_client(&self) -> Option<&ClientMsg<Op, Ret>> {
        Some(self)
    }
}

/// The client's only timer: give up on the current server and retry elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClientTimer {
    Retry,
}

/// The key of the client's one random choice: the server to retry at.
pub const RETRY_AT: &str = "retry at";

/// Where a client that got no answer from `target` retries: any other server, chosen at
/// random (as ZooKeeper's client does), since any fixed order would make the servers
/// distinguishable; `target` itself if it is the only one.
pub fn retry_choices(servers: &[Id], target: Id) -> Vec<Id> {
    let others: Vec<Id> = servers.iter().copied().filter(|&s| s != target).collect();
    if others.is_empty() {
        vec![target]
    } else {
        others
    }
}

/// A client actor. `M` is the protocol's message type.
#[derive(Clone, Debug)]
pub struct Client<Op, Ret, M> {
    /// The servers of the service.
    pub servers: Vec<Id>,
    /// Index into `servers` of the server to try first.
    pub first: usize,
    /// The operations to perform, one at a time.
    pub script: Vec<Op>,
    /// How long to wait for an answer before retrying at another server.
    pub retry_timeout: Range<Duration>,
    _types: PhantomData<fn() -> (Ret, M)>,
}

/// Where the client is in its script, and which server it is talking to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ClientState {
    /// Index into the script of the operation in flight; the script's length when done.
    pub next: usize,
    /// The server the request was last sent to.
    pub target: Id,
    /// How many times this client has resent a request (a redirect followed, or a retry
    /// timeout, counted when it fires), over its whole life: a retry budget can bound it.
    pub resends: u8,
}

impl ClientState {
    /// True if the client will never act on `msg`: a reply or redirect for a request it
    /// has already finished (`next` never decreases), or a request. A model may drop such
    /// a message from its network.
    pub fn ignores_forever<Op, Ret>(&self, msg: &ClientMsg<Op, Ret>) -> bool {
        match msg {
            ClientMsg::Reply { seq, .. } | ClientMsg::Redirect { seq, .. } => {
                *seq <= self.next as u64
            }
            ClientMsg::Request { .. } => true,
        }
    }
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
    /// Sends the current operation to the current target and (re)arms the retry timer. A
    /// retry still being chosen is dropped: this send supersedes it.
    fn send_current(&self, state: &ClientState, o: &mut Out<Self>) {
        let msg = ClientMsg::Request {
            seq: state.next as u64 + 1,
            op: self.script[state.next].clone(),
        };
        o.send(state.target, M::from_client(msg));
        o.set_timer(ClientTimer::Retry, self.retry_timeout.clone());
        o.remove_random(RETRY_AT);
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
    /// The server a retry goes to.
    type Random = Id;

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> ClientState {
        let state = ClientState {
            next: 0,
            target: self.servers[self.first],
            resends: 0,
        };
        if !self.script.is_empty() {
            self.send_current(&state, o);
        }
        debug_started(self, &state);
        state
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<ClientState>, src: Id, msg: M, o: &mut Out<Self>) {
        checked(self, state, |state| {
            match msg.as_client() {
                Some(&ClientMsg::Reply { seq, .. }) if self.is_current(state, seq) => {
                    let state = state.to_mut();
                    state.next += 1;
                    if self.servers.contains(&src) {
                        state.target = src;
                    }
                    if state.next < self.script.len() {
                        self.send_current(state, o);
                    } else {
                        o.cancel_timer(ClientTimer::Retry);
                        o.remove_random(RETRY_AT);
                    }
                }
                Some(&ClientMsg::Redirect { seq, leader }) if self.is_current(state, seq) => {
                    match leader.filter(|l| self.servers.contains(l)) {
                        // A known leader: go there at once.
                        Some(leader) if leader != state.target => {
                            let state = state.to_mut();
                            state.target = leader;
                            state.resends = state.resends.saturating_add(1);
                            self.send_current(state, o);
                        }
                        // Nobody known: wait for the retry timer.
                        _ => {}
                    }
                }
                _ => {}
            }
        });
    }

    /// No answer in time: retry at another server, chosen at random (as ZooKeeper's
    /// client does), since any fixed order would make the servers distinguishable.
    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<ClientState>,
        _timer: &ClientTimer,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| {
            if state.next >= self.script.len() {
                return;
            }
            let choices = retry_choices(&self.servers, state.target);
            let state = state.to_mut();
            state.resends = state.resends.saturating_add(1);
            o.choose_random(RETRY_AT, choices);
        });
    }

    fn on_random(&self, _id: Id, state: &mut Cow<ClientState>, server: &Id, o: &mut Out<Self>) {
        checked(self, state, |state| {
            if state.next >= self.script.len() {
                return;
            }
            let state = state.to_mut();
            state.target = *server;
            self.send_current(state, o);
        });
    }
}

mod invariants;
mod rewrite;
#[cfg(test)]
mod tests;
