//! Who may send a node what: client requests come from anyone, an administrator's
//! requests from the operator on this machine, and everything else from a peer (and, with
//! a cluster key, signed). The peers are those of the cluster file and, with membership
//! changes, the servers of the configurations the node's actor knows ([`PeerTable`]).

use super::partition::{self, Refusal};
use crate::chain;
use crate::client::ClientMsg;
use crate::raft::Msg;
use crate::znode::ZkMsg;
use stateright::actor::{Actor, Id};
use std::collections::{BTreeSet, HashMap};
use std::net::{SocketAddr, SocketAddrV4};
use std::time::{SystemTime, UNIX_EPOCH};

/// A message type that knows which of its messages a stranger may send.
pub trait Admit {
    fn open_to_anyone(&self) -> bool;

    /// Whether a stranger may send it as the cluster's operator: from this machine and,
    /// with a cluster key, signed, as an admin command ([`partition::admit`]).
    fn open_to_operator(&self) -> bool {
        false
    }

    /// Takes the receiving server's clock, `now_ms` milliseconds since the Unix epoch,
    /// where the message carries the time of a client's request: as ZooKeeper's servers
    /// stamp a write with their own clock, and coord's client port stamps a request when
    /// it reads its frame. The leader then keeps times from going back in log order.
    fn stamp(&mut self, _now_ms: u64) {}
}

/// Milliseconds since the Unix epoch by this machine's clock (0 before it).
pub fn unix_millis() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as u64)
}

/// A client request is open; an administrator's request for a membership change is the
/// operator's; Raft's RPCs and answers to clients are peer-only.
impl<Op, Ret> Admit for Msg<Op, Ret> {
    fn open_to_anyone(&self) -> bool {
        matches!(self, Msg::Client(ClientMsg::Request { .. }))
    }

    fn open_to_operator(&self) -> bool {
        matches!(self, Msg::Admin(ClientMsg::Request { .. }))
    }
}

/// The servers an actor exchanges peer messages with now, by its id and state, beside
/// those of its cluster file: for a Raft server with membership changes, the members of
/// the configurations it knows ([`crate::raft::RaftState::servers`]).
pub type ServersOf<A> = fn(Id, &<A as Actor>::State) -> BTreeSet<Id>;

/// Where a frame came from, and how it was sent.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    /// The id the frame names as its sender.
    pub sender: Id,
    /// The address it came from.
    pub src: SocketAddr,
    /// Whether it came over a peer link, which was admitted as a peer's already.
    pub link: bool,
    /// Whether the cluster has a key, and whether the frame is signed with it.
    pub keyed: bool,
    pub signed: bool,
}

/// Who sent an accepted message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    Peer,
    /// A client or the operator: its address is where answers go.
    Stranger,
}

/// Why a message was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// A peer message from someone who is not a peer, or not at the peer's address.
    NotPeer,
    /// A peer's message without the cluster key's tag.
    Unsigned,
    /// An operator's message from elsewhere, or unsigned.
    NotOperator(Refusal),
}

/// A node's peers and their addresses.
///
/// Rule: the peers are those of the cluster file the node started with, and the servers
/// its actor names ([`ServersOf`]). With membership changes (Raft dissertation §4.1) a
/// server added after the node started is a peer from the moment its configuration is in
/// the node's log, and a joining server, which knows no configuration yet, hears the
/// leader as a peer of its cluster file. A server that only the actor names is at the
/// address its id is derived from.
#[derive(Clone, Debug, Default)]
pub struct PeerTable {
    configured: HashMap<Id, SocketAddr>,
    peers: HashMap<Id, SocketAddr>,
}

impl PeerTable {
    /// The peers of the cluster file.
    pub fn new(configured: impl IntoIterator<Item = (Id, SocketAddr)>) -> Self {
        let configured: HashMap<Id, SocketAddr> = configured.into_iter().collect();
        PeerTable {
            peers: configured.clone(),
            configured,
        }
    }

    /// The configured peers and `servers` (the actor's, without the node itself); true if
    /// that changed the table.
    pub fn set_servers(&mut self, servers: &BTreeSet<Id>) -> bool {
        let named = servers.iter().filter(|s| !self.configured.contains_key(s));
        let same = named.clone().count() + self.configured.len() == self.peers.len()
            && servers.iter().all(|s| self.peers.contains_key(s));
        if same {
            return false;
        }
        let addressed = named.map(|&s| (s, SocketAddr::from(SocketAddrV4::from(s))));
        self.peers = self
            .configured
            .clone()
            .into_iter()
            .chain(addressed)
            .collect();
        true
    }

    /// Peer `id`'s address, if it is a peer.
    pub fn address(&self, id: Id) -> Option<SocketAddr> {
        self.peers.get(&id).copied()
    }

    pub fn addresses(&self) -> &HashMap<Id, SocketAddr> {
        &self.peers
    }

    /// Rules: a peer's message is accepted from the peer's address (or over a link) and,
    /// with a cluster key, only signed; a stranger may send what is open to anyone, and
    /// what is open to the operator from this machine (signed, with a key).
    pub fn admit<M: Admit>(&self, msg: &M, from: &Origin) -> Result<Sender, Dropped> {
        match self.address(from.sender) {
            Some(addr) if !from.link && addr != from.src => Err(Dropped::NotPeer),
            Some(_) if from.keyed && !from.signed => Err(Dropped::Unsigned),
            Some(_) => Ok(Sender::Peer),
            None if msg.open_to_anyone() => Ok(Sender::Stranger),
            None if msg.open_to_operator() => partition::admit(from.src, from.keyed, from.signed)
                .map(|()| Sender::Stranger)
                .map_err(Dropped::NotOperator),
            None => Err(Dropped::NotPeer),
        }
    }
}

/// What a connection sends is open: its handshake, requests, keepalives and goodbye.
/// Raft's RPCs, a transaction forwarded to the leader (it names the connection it acts
/// for), session touches, a sync's read index asked and given, replies and watch events
/// are peer-only.
impl Admit for ZkMsg {
    fn open_to_anyone(&self) -> bool {
        matches!(
            self,
            ZkMsg::Connect(_) | ZkMsg::Request(_) | ZkMsg::Ping | ZkMsg::Disconnect
        )
    }

    /// A request over UDP carries its client's own count as its time (what the models
    /// use); a real write's ctime and mtime are the receiving server's clock instead.
    fn stamp(&mut self, now_ms: u64) {
        if let ZkMsg::Request(request) = self {
            request.time = now_ms as i64;
        }
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
    use crate::znode::txn::{self, Txn, TxnKind};
    use crate::znode::watch::WatchEvent;
    use crate::znode::Change;
    use coord_specs::znode::build::get;
    use coord_specs::znode::ZkRet;
    use std::net::Ipv4Addr;

    type KvMsg = Msg<u8, u8>;

    fn server(port: u16) -> (Id, SocketAddr) {
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        (Id::from(addr), SocketAddr::from(addr))
    }

    fn origin(sender: Id, src: SocketAddr) -> Origin {
        Origin {
            sender,
            src,
            link: false,
            keyed: false,
            signed: false,
        }
    }

    fn vote() -> KvMsg {
        Msg::Vote {
            term: 1,
            granted: true,
        }
    }

    #[test]
    fn a_server_of_the_actors_configuration_is_a_peer_at_the_address_of_its_id() {
        let (a, b, c) = (server(7100), server(7101), server(7102));
        let mut table = PeerTable::new([a]);
        let from_c = origin(c.0, c.1);
        assert_eq!(table.admit(&vote(), &from_c), Err(Dropped::NotPeer));
        assert!(table.set_servers(&BTreeSet::from([a.0, c.0])));
        assert!(!table.set_servers(&BTreeSet::from([a.0, c.0])));
        assert_eq!(table.address(c.0), Some(c.1));
        assert_eq!(table.admit(&vote(), &from_c), Ok(Sender::Peer));
        // From another address, or unsigned in a cluster with a key: not the peer's.
        assert_eq!(
            table.admit(&vote(), &origin(c.0, b.1)),
            Err(Dropped::NotPeer)
        );
        let unsigned = Origin {
            keyed: true,
            ..from_c
        };
        assert_eq!(table.admit(&vote(), &unsigned), Err(Dropped::Unsigned));
        // A server the configuration no longer names is no peer; one of the cluster file
        // stays one.
        assert!(table.set_servers(&BTreeSet::from([b.0])));
        assert_eq!(table.admit(&vote(), &from_c), Err(Dropped::NotPeer));
        assert_eq!(table.address(a.0), Some(a.1));
        assert_eq!(table.address(b.0), Some(b.1));
    }

    #[test]
    fn an_administrators_request_is_the_operators_and_a_clients_anyones() {
        let table = PeerTable::new([server(7100)]);
        let (stranger, local) = server(9000);
        let remote = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 7), 9000));
        let change: KvMsg = Msg::Admin(ClientMsg::Request {
            seq: 1,
            op: crate::raft::Change::Add(stranger),
        });
        let put: KvMsg = Msg::Client(ClientMsg::Request { seq: 1, op: 0 });
        assert_eq!(
            table.admit(&change, &origin(stranger, local)),
            Ok(Sender::Stranger)
        );
        assert_eq!(
            table.admit(&change, &origin(stranger, remote)),
            Err(Dropped::NotOperator(Refusal::NotLoopback))
        );
        let unsigned = Origin {
            keyed: true,
            ..origin(stranger, local)
        };
        assert_eq!(
            table.admit(&change, &unsigned),
            Err(Dropped::NotOperator(Refusal::Unsigned))
        );
        assert_eq!(
            table.admit(&put, &origin(stranger, remote)),
            Ok(Sender::Stranger)
        );
        let answer: KvMsg = Msg::Admin(ClientMsg::Reply {
            seq: 1,
            ret: BTreeSet::new(),
        });
        assert_eq!(
            table.admit(&answer, &origin(stranger, local)),
            Err(Dropped::NotPeer)
        );
    }

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
        let from = txn::Origin {
            server: Id::from(0),
            conn: Id::from(9),
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
            ZkMsg::SyncAsk { from, n: 1 },
            ZkMsg::SyncIndex {
                from,
                n: 1,
                term: 1,
                index: 0,
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

    #[test]
    fn a_znode_request_takes_the_receiving_servers_clock_and_nothing_else_changes() {
        let request = || {
            ZkMsg::Request(Request {
                xid: 3,
                call: Call::Op(get("/")),
                watch: false,
                time: 3,
                once: None,
            })
        };
        let mut stamped = request();
        stamped.stamp(1_700_000_000_000);
        let ZkMsg::Request(r) = &stamped else {
            unreachable!()
        };
        assert_eq!(r.time, 1_700_000_000_000);
        let mut forwarded = ZkMsg::Forward(Txn {
            kind: TxnKind::Expire { session: 7 },
            time: 5,
        });
        forwarded.stamp(1_700_000_000_000);
        assert_eq!(
            forwarded,
            ZkMsg::Forward(Txn {
                kind: TxnKind::Expire { session: 7 },
                time: 5,
            })
        );
        assert!(unix_millis() > 1_700_000_000_000);
    }
}
