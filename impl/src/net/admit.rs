//! Which messages a node accepts from anyone: client requests. Everything else must come
//! from a configured peer (and, with a cluster key, be signed).

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
