//! Which messages a node accepts from anyone: client requests. Everything else must come
//! from a configured peer (and, with a cluster key, be signed).

use crate::chain;
use crate::client::ClientMsg;
use crate::raft::Msg;
use crate::znode::ZkMsg;

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

/// A client's request and its session keepalive are open. Raft's RPCs, a write forwarded
/// to the leader (it names the client it acts for), replies and watch events are
/// peer-only. A stranger's ping can keep any session alive, as anyone who knows a
/// session id could in ZooKeeper.
impl Admit for ZkMsg {
    fn open_to_anyone(&self) -> bool {
        matches!(
            self,
            ZkMsg::Client(ClientMsg::Request { .. }, _) | ZkMsg::Ping { .. }
        )
    }
}

/// A client request is open; everything between nodes and the manager (configurations,
/// updates, acknowledgements, copies, failure and join notices) is peer-only.
impl<Op, Ret> Admit for chain::Msg<Op, Ret> {
    fn open_to_anyone(&self) -> bool {
        matches!(self, chain::Msg::Client(ClientMsg::Request { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::znode::watch::WatchEvent;
    use crate::znode::{Change, Serve};
    use coord_specs::znode::build::get;
    use stateright::actor::Id;

    #[test]
    fn strangers_may_only_call_and_ping_a_znode_server() {
        let request = ClientMsg::Request {
            seq: 1,
            op: get("/"),
        };
        let reply = ClientMsg::Reply {
            seq: 1,
            ret: coord_specs::znode::ZkRet::Deleted,
        };
        let event = WatchEvent {
            seq: 1,
            change: Change::Created("/a".into()),
            zxid: 1,
        };
        let open = [
            ZkMsg::Client(request, Serve::default()),
            ZkMsg::Ping { session: 7 },
        ];
        let closed = [
            ZkMsg::Client(reply, Serve::default()),
            ZkMsg::Forward {
                client: Id::from(9),
                seq: 1,
                op: get("/"),
            },
            ZkMsg::Event(event),
            ZkMsg::Peer(Msg::Vote {
                term: 1,
                granted: true,
            }),
        ];
        assert!(open.iter().all(Admit::open_to_anyone));
        assert!(!closed.iter().any(Admit::open_to_anyone));
    }
}
