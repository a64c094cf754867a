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

/// What a connection sends is open: its handshake, requests, keepalives and goodbye.
/// Raft's RPCs, a transaction forwarded to the leader (it names the connection it acts
/// for), session touches, replies and watch events are peer-only.
impl Admit for ZkMsg {
    fn open_to_anyone(&self) -> bool {
        matches!(
            self,
            ZkMsg::Connect(_) | ZkMsg::Request(_) | ZkMsg::Ping | ZkMsg::Disconnect
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
    use crate::znode::conn::{Call, Connect, Reply, Request};
    use crate::znode::txn::{Txn, TxnKind};
    use crate::znode::watch::WatchEvent;
    use crate::znode::Change;
    use coord_specs::znode::build::get;
    use coord_specs::znode::ZkRet;

    #[test]
    fn strangers_may_only_connect_call_ping_and_leave_a_znode_server() {
        let request = Request {
            xid: 1,
            call: Call::Op(get("/")),
            watch: false,
            time: 0,
            once: None,
        };
        let connect = Connect {
            session: 0,
            passwd: [0; 16],
            timeout_ms: 4_000,
            last_zxid: 0,
            client: "127.0.0.1".into(),
        };
        let reply = Reply {
            xid: 1,
            zxid: 0,
            ret: ZkRet::Deleted,
        };
        let event = WatchEvent {
            change: Change::Created("/a".into()),
            zxid: 1,
        };
        let expire = Txn {
            kind: TxnKind::Expire { session: 7 },
            time: 0,
        };
        let open = [
            ZkMsg::Connect(connect),
            ZkMsg::Request(request),
            ZkMsg::Ping,
            ZkMsg::Disconnect,
        ];
        let closed = [
            ZkMsg::Reply(reply),
            ZkMsg::Forward(expire),
            ZkMsg::Touch(vec![7]),
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
