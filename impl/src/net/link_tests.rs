//! Peer links over real loopback sockets: a message too large for a datagram goes over
//! TCP both ways, signed; a link frame that is not signed with the cluster key, or not from
//! a peer, closes the link and reaches nothing.

use super::admin::request_stats;
use super::admit::Admit;
use super::frame::{decode_body, decode_up_to, encode_up_to, ClusterKey, Kind, MAX_LINK_FRAME};
use super::test_run::{closed, read_framed, run_beside, write_framed, WAIT};
use super::{Endpoint, Runtime};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};

/// As large as ZooKeeper's largest data.
const BIG: usize = 0xfffff;

/// A peer-only message that may be large.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Blob(Vec<u8>);

impl Admit for Blob {
    fn open_to_anyone(&self) -> bool {
        false
    }
}

/// Sends every blob it gets back to its peers.
struct Mirror {
    peers: Vec<Id>,
}

impl Actor for Mirror {
    type Msg = Blob;
    type State = ();
    type Timer = ();
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, _o: &mut Out<Self>) {}

    fn on_msg(&self, _id: Id, _state: &mut Cow<()>, _src: Id, blob: Blob, o: &mut Out<Self>) {
        o.broadcast(&self.peers, &blob);
    }
}

/// The test's side: a peer's UDP socket (its id and address) and its link listener.
struct TestPeer {
    id: Id,
    _udp: UdpSocket,
    listener: TcpListener,
}

impl TestPeer {
    fn new() -> Self {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = udp.local_addr().unwrap();
        let listener = TcpListener::bind(addr).unwrap();
        let SocketAddr::V4(v4) = addr else {
            panic!("loopback is IPv4")
        };
        TestPeer {
            id: Id::from(v4),
            _udp: udp,
            listener,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap()
    }
}

#[test]
fn a_megabyte_message_crosses_links_both_ways_and_strangers_are_cut_off() {
    let key = ClusterKey::new("secret");
    let peer = TestPeer::new();
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let node_addr = socket.local_addr().unwrap();
    drop(socket);
    let SocketAddr::V4(v4) = node_addr else {
        panic!("loopback is IPv4")
    };
    let endpoint = Endpoint {
        id: Id::from(v4),
        bind: node_addr,
        peers: vec![(peer.id, peer.addr())],
        key: Some(key.clone()),
        data: None,
    };
    let mirror = Mirror {
        peers: vec![peer.id],
    };
    let node = Runtime::start(mirror, endpoint, |_| String::new()).unwrap();
    run_beside(node, || {
        let blob = Blob((0..BIG).map(|i| i as u8).collect());
        let signed = |sender: Id, key: Option<&ClusterKey>| {
            encode_up_to(Kind::Msg, sender, &blob, key, MAX_LINK_FRAME).unwrap()
        };

        // The peer's megabyte, signed, arrives over a link and comes back over another.
        let mut link = TcpStream::connect(node_addr).unwrap();
        write_framed(&mut link, &signed(peer.id, Some(&key)));
        peer.listener.set_nonblocking(false).unwrap();
        let (mut back, _) = peer.listener.accept().unwrap();
        back.set_read_timeout(Some(WAIT)).unwrap();
        let bytes = read_framed(&mut back);
        let frame = decode_up_to(&bytes, Some(&key), MAX_LINK_FRAME).unwrap();
        assert!(frame.authenticated);
        assert_eq!(decode_body::<Blob>(frame.body).unwrap(), blob);

        // Unsigned, or from someone who is not a peer: the link is closed, nothing echoes.
        let stranger = Id::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));
        for bad in [signed(peer.id, None), signed(stranger, Some(&key))] {
            let mut link = TcpStream::connect(node_addr).unwrap();
            link.set_read_timeout(Some(WAIT)).unwrap();
            write_framed(&mut link, &bad);
            assert!(closed(&mut link), "the node closes the link");
        }
        let stats = request_stats(node_addr, WAIT).unwrap().stats;
        assert_eq!((stats.link_frames_in, stats.link_frames_out), (1, 1));
        assert_eq!(stats.dropped_non_peer, 2);
    });
}
