//! Which messages a node accepts from anyone: client requests. Everything else must come
//! from a configured peer (and, with a cluster key, be signed).

use crate::chain;
use crate::client::ClientMsg;
use crate::raft::Msg;

/// A message type that knows which of its messages a stranger may send.
pub trait Admit {
    fn open_to_anyone(&self) -> bool;
}

/// A client request is open; Raft's RPCs and answers to clients are peer-only.
impl<Op, Ret> Admit for Msg<Op, Ret> {
    fn open_to_anyone(&self) -> bool {
        matches!(self, Msg::Client(ClientMsg::Request { .. }))
    }
}

/// A client request is open; everything between nodes and the manager (configurations,
/// updates, acknowledgements, copies, failure and join notices) is peer-only.
impl<Op, Ret> Admit for chain::Msg<Op, Ret> {
    fn open_to_anyone(&self) -> bool {
        matches!(self, chain::Msg::Client(ClientMsg::Request { .. }))
    }
}
