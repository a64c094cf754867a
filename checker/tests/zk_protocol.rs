//! ZooKeeper's own protocol against a real 3-process zk cluster, spoken as jute over raw
//! TCP: the handshake, calls and pipelined calls answered in order, four-letter words at
//! every node, a megabyte of data replicated to every node, and bad input (a truncated
//! frame, a length over the limit, garbage, an unknown opcode, a connection flood), each
//! answered as ZooKeeper answers it or with a closed connection, after which the cluster
//! still serves and has lost no write.

mod common;

use common::{Cluster, WAIT};
use coord::net::zk::proto::{create_flag, err, opcode};
use coord::net::zk::records::{Acl, ConnectRequest, ConnectResponse, Record};
use coord::net::zk::reply::{Body, Reply};
use coord::net::zk::request::{Create, Op, Request};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The most connections a node takes from one address, kept small for the flood.
const MAX_CLIENT_CNXNS: usize = 8;
/// ZooKeeper's largest data.
const MAX_DATA: usize = 0xfffff;

/// A zk cluster of three with client ports on free TCP ports.
fn start() -> Cluster {
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap())
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    drop(listeners);
    Cluster::start_with("zk", 3, None, |c| {
        c.client_ports = ports;
        c.max_client_cnxns = MAX_CLIENT_CNXNS;
    })
}

fn client_addr(cluster: &Cluster, i: usize) -> SocketAddr {
    let config = coord::net::config::ClusterConfig::load(&cluster.config).unwrap();
    SocketAddr::from(config.client_addr(i).unwrap())
}

/// A ZooKeeper client reduced to the wire: frames out, frames in, xids counted.
struct Jute {
    stream: TcpStream,
    xid: i32,
    session: i64,
}

impl Jute {
    /// Connects to node `i` with a new session, trying again (bounded) while the node
    /// cannot serve yet (no leader: it closes the connection).
    fn connect(cluster: &Cluster, i: usize) -> Jute {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(jute) = Jute::try_connect(client_addr(cluster, i), Some(false)) {
                return jute;
            }
            assert!(Instant::now() < deadline, "node {i} never took a session");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn try_connect(addr: SocketAddr, read_only: Option<bool>) -> Option<Jute> {
        let mut stream = TcpStream::connect(addr).ok()?;
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let request = ConnectRequest {
            timeout: 10_000,
            passwd: vec![0; 16],
            read_only,
            ..ConnectRequest::default()
        };
        write_frame(&mut stream, &request.to_bytes());
        let response = ConnectResponse::from_bytes(&read_frame(&mut stream)?).ok()?;
        assert_eq!(response.read_only, read_only.map(|_| false));
        (response.timeout > 0).then_some(Jute {
            stream,
            xid: 0,
            session: response.session_id,
        })
    }

    fn send(&mut self, op: Op) -> (i32, i32) {
        self.xid += 1;
        let opcode = op.opcode();
        write_frame(&mut self.stream, &Request { xid: self.xid, op }.encode());
        (self.xid, opcode)
    }

    /// The next reply that is not a watch event, to a request of `opcode`.
    fn reply(&mut self, opcode: i32) -> Reply {
        loop {
            let frame = read_frame(&mut self.stream).expect("a reply");
            let reply = Reply::decode(&frame, opcode).unwrap();
            if !matches!(reply.body, Body::Event(_)) {
                return reply;
            }
        }
    }

    /// Sends `op` and waits for its reply.
    fn call(&mut self, op: Op) -> Reply {
        let (xid, opcode) = self.send(op);
        let reply = self.reply(opcode);
        assert_eq!(reply.header.xid, xid);
        reply
    }

    fn get(&mut self, path: &str) -> Reply {
        self.call(Op::Sync { path: path.into() });
        self.call(Op::GetData {
            path: path.into(),
            watch: false,
        })
    }

    /// True once the server has closed the connection (within the wait).
    fn closed(mut self) -> bool {
        let mut rest = Vec::new();
        self.stream.read_to_end(&mut rest).is_ok()
    }
}

fn write_frame(stream: &mut TcpStream, payload: &[u8]) {
    let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(payload);
    let _ = stream.write_all(&bytes);
}

fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut payload).ok()?;
    Some(payload)
}

fn create(path: &str, data: &[u8]) -> Op {
    Op::Create(Create {
        path: path.into(),
        data: Some(data.to_vec()),
        acl: vec![Acl::open()],
        flags: create_flag::PERSISTENT,
    })
}

fn data_of(reply: &Reply) -> Vec<u8> {
    assert_eq!(reply.header.err, err::OK, "{reply:?}");
    match &reply.body {
        Body::Data(data, stat) => {
            let data = data.clone().unwrap_or_default();
            assert_eq!(stat.data_length as usize, data.len());
            data
        }
        other => panic!("not data: {other:?}"),
    }
}

/// What a four-letter word gets at `addr`.
fn word(addr: SocketAddr, word: &[u8; 4]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(word).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn the_client_port_speaks_jute_in_order_with_four_letter_words_at_every_node() {
    let cluster = start();
    cluster.leader();
    let mut zk = Jute::connect(&cluster, 0);
    assert!(zk.session != 0);
    let created = zk.call(create("/a", b"hello"));
    assert_eq!(created.body, Body::Path("/a".into()));
    assert_eq!(data_of(&zk.get("/a")), b"hello");
    let again = zk.call(create("/a", b"again"));
    assert_eq!(again.header.err, err::NODE_EXISTS);
    assert_eq!(again.body, Body::Empty);
    let missing = zk.call(Op::Exists {
        path: "/missing".into(),
        watch: false,
    });
    assert_eq!(missing.header.err, err::NO_NODE);

    // A pipelined burst: writes and reads in one go, answered in order, each read seeing
    // the write sent before it on this connection.
    let mut sent = Vec::new();
    for n in 0..40 {
        let value = format!("v{n}").into_bytes();
        sent.push(zk.send(Op::SetData {
            path: "/a".into(),
            data: Some(value.clone()),
            version: -1,
        }));
        sent.push(zk.send(Op::GetData {
            path: "/a".into(),
            watch: false,
        }));
    }
    for (i, (xid, opcode)) in sent.into_iter().enumerate() {
        let reply = zk.reply(opcode);
        assert_eq!(reply.header.xid, xid, "replies come in request order");
        if opcode == opcode::GET_DATA {
            assert_eq!(data_of(&reply), format!("v{}", i / 2).into_bytes());
        }
    }

    // An old client without the read-only byte is answered without it.
    let old = Jute::try_connect(client_addr(&cluster, 1), None);
    assert!(old.is_some(), "a handshake without the read-only byte");

    for i in 0..3 {
        let addr = client_addr(&cluster, i);
        assert_eq!(word(addr, b"ruok"), "imok");
        assert_eq!(word(addr, b"isro"), "rw");
        let srvr = word(addr, b"srvr");
        assert!(
            srvr.starts_with("Zookeeper version: 3.8.0-coord-"),
            "{srvr}"
        );
        assert!(
            srvr.contains("Mode: leader\n") || srvr.contains("Mode: follower\n"),
            "{srvr}"
        );
        assert!(!srvr.contains("Node count: 0\n"), "{srvr}");
        assert!(word(addr, b"mntr").contains("zk_server_state\t"));
        assert!(word(addr, b"stat").contains("Clients:\n"));
        assert!(word(addr, b"conf").contains("clientPort="));
        assert!(word(addr, b"envi").contains("zookeeper.version=3.8.0-coord-"));
    }
}

#[test]
fn a_megabyte_of_data_is_replicated_to_every_node_and_more_is_refused() {
    let cluster = start();
    cluster.leader();
    let mut zk = Jute::connect(&cluster, 0);
    let big: Vec<u8> = (0..MAX_DATA).map(|i| (i % 251) as u8).collect();
    assert_eq!(zk.call(create("/big", b"")).header.err, err::OK);
    let set = zk.call(Op::SetData {
        path: "/big".into(),
        data: Some(big.clone()),
        version: 0,
    });
    assert_eq!(set.header.err, err::OK);
    for i in 0..3 {
        let mut reader = Jute::connect(&cluster, i);
        assert!(
            data_of(&reader.get("/big")) == big,
            "node {i} has the megabyte"
        );
    }
    // One byte more is refused as ZooKeeper refuses it: the connection closes.
    let mut over = Jute::connect(&cluster, 1);
    over.send(Op::SetData {
        path: "/big".into(),
        data: Some(vec![0; MAX_DATA + 1]),
        version: -1,
    });
    assert!(over.closed());
    let mut after = Jute::connect(&cluster, 2);
    assert!(data_of(&after.get("/big")) == big);
}

#[test]
fn bad_input_closes_the_connection_and_the_cluster_keeps_every_write() {
    let cluster = start();
    cluster.leader();
    let addr = client_addr(&cluster, 0);
    let mut zk = Jute::connect(&cluster, 0);
    assert_eq!(zk.call(create("/kept", b"safe")).header.err, err::OK);

    // A truncated frame: a length, then fewer bytes, then the client goes.
    let mut truncated = Jute::connect(&cluster, 0);
    let _ = truncated.stream.write_all(&[0, 0, 0, 50, 0, 0, 0, 1, 0, 0]);
    drop(truncated);
    // A length over the limit, before and after the handshake.
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    raw.write_all(&0x7fff_ffffu32.to_be_bytes()).unwrap();
    assert!(raw.read_to_end(&mut Vec::new()).is_ok(), "closed");
    let mut over = Jute::connect(&cluster, 0);
    let _ = over.stream.write_all(&(-7i32).to_be_bytes());
    assert!(over.closed());
    // Garbage: a body that is no request.
    let mut garbage = Jute::connect(&cluster, 0);
    write_frame(
        &mut garbage.stream,
        &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 4, 0xff],
    );
    assert!(garbage.closed());
    // An unknown opcode: ZUNIMPLEMENTED, then the connection closes.
    let mut unknown = Jute::connect(&cluster, 0);
    write_frame(&mut unknown.stream, &[0, 0, 0, 9, 0, 0, 0, 77]);
    let reply = unknown.reply(77);
    assert_eq!(
        (reply.header.xid, reply.header.err),
        (9, err::UNIMPLEMENTED)
    );
    assert!(unknown.closed());
    // A flood: connections beyond the limit per address are closed at once.
    let flood: Vec<TcpStream> = (0..MAX_CLIENT_CNXNS + 4)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    let refused = flood
        .into_iter()
        .filter_map(|mut s| {
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            s.read(&mut [0u8; 1]).ok()
        })
        .filter(|&n| n == 0)
        .count();
    assert!(refused >= 4, "{refused} connections refused");

    // Every node still serves, and the write made before is there.
    for i in 0..3 {
        let mut reader = Jute::connect(&cluster, i);
        assert_eq!(data_of(&reader.get("/kept")), b"safe");
    }
    assert_eq!(zk.call(create("/after", b"")).header.err, err::OK);
}
