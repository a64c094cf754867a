//! A front door: sockets of the node's own beside the runtime's UDP socket and peer links,
//! where outsiders speak another protocol (ZooKeeper's, see [`super::zk`]). The door turns
//! what they send into the actor's messages and the actor's messages back into their
//! protocol; the runtime drives it on the same event loop. It keeps no protocol rule of its
//! own: it frames, decodes and routes.

use super::stats::Stats;
use mio::{Registry, Token};
use stateright::actor::{Actor, Id};
use std::io;
use std::time::Instant;

/// What a door may read of its node: for status answers such as ZooKeeper's `srvr`.
pub struct NodeView<'a, A: Actor> {
    pub id: Id,
    pub state: &'a A::State,
    pub stats: &'a Stats,
}

/// Where a door's outsiders exchange messages with the actor. Its sockets use tokens from
/// [`super::link::DOOR_TOKENS`] on.
pub trait Door<A: Actor> {
    /// Registers the door's listening sockets.
    fn register(&mut self, registry: &Registry) -> io::Result<()>;

    /// Handles readiness of one of the door's tokens (reading and writing what it can). Messages for the actor go to `inbox`,
    /// each with the id of the connection it comes from.
    fn ready(
        &mut self,
        registry: &Registry,
        token: Token,
        node: NodeView<A>,
        stats: &mut Stats,
        inbox: &mut Vec<(Id, A::Msg)>,
    );

    /// Takes `msg` if `dst` is one of the door's connections, open or closed (a message for a
    /// closed one is dropped); gives it back otherwise.
    fn deliver(&mut self, dst: Id, msg: A::Msg, stats: &mut Stats) -> Option<A::Msg>;

    /// After each batch of events: writes what was delivered, resumes connections that
    /// waited for room, closes those that must close. Messages for the actor (a connection
    /// that closed) go to `inbox`.
    fn settle(
        &mut self,
        registry: &Registry,
        now: Instant,
        node: NodeView<A>,
        stats: &mut Stats,
        inbox: &mut Vec<(Id, A::Msg)>,
    );

    /// When the door next needs [`Door::settle`] without an event (a deadline of its own).
    fn deadline(&self) -> Option<Instant>;
}

/// No door: the runtime's own sockets only.
pub struct NoDoor;

impl<A: Actor> Door<A> for NoDoor {
    fn register(&mut self, _registry: &Registry) -> io::Result<()> {
        Ok(())
    }

    fn ready(
        &mut self,
        _registry: &Registry,
        _token: Token,
        _node: NodeView<A>,
        _stats: &mut Stats,
        _inbox: &mut Vec<(Id, A::Msg)>,
    ) {
    }

    fn deliver(&mut self, _dst: Id, msg: A::Msg, _stats: &mut Stats) -> Option<A::Msg> {
        Some(msg)
    }

    fn settle(
        &mut self,
        _registry: &Registry,
        _now: Instant,
        _node: NodeView<A>,
        _stats: &mut Stats,
        _inbox: &mut Vec<(Id, A::Msg)>,
    ) {
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }
}
