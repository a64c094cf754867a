//! The client port over real loopback sockets, with a stand-in actor that answers every
//! handshake and request at once: the handshake with and without the read-only byte,
//! pipelined requests answered in order, four-letter words, and the ways a connection is
//! closed (a length over the limit, garbage, an unknown opcode, too many connections), each
//! told to the actor.

use super::*;
use crate::net::admit::Admit;
use crate::net::runtime::{Endpoint, Runtime};
use crate::net::test_run::{closed, read_framed, run_beside, write_framed, WAIT};
use crate::net::zk::proto::{err, opcode};
use crate::net::zk::records::ReplyHeader;
use crate::net::zk::reply::Body;
use serde::{Deserialize, Serialize};
use stateright::actor::Out;
use std::borrow::Cow;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};

/// The stand-in actor's messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum Note {
    Connect { timeout: i32 },
    Request { xid: i32 },
    Unknown { xid: i32 },
    Disconnect,
    Connected { timeout: i32 },
    Reply { xid: i32, err: i32 },
    Close,
}

impl Admit for Note {
    fn open_to_anyone(&self) -> bool {
        false
    }
}

/// Answers at once; its state counts the connections it was told are gone.
struct Answerer;

impl Actor for Answerer {
    type Msg = Note;
    type State = u64;
    type Timer = ();
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, _o: &mut Out<Self>) -> u64 {
        0
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<u64>, src: Id, msg: Note, o: &mut Out<Self>) {
        match msg {
            Note::Connect { timeout } => o.send(src, Note::Connected { timeout }),
            Note::Request { xid } => o.send(src, Note::Reply { xid, err: 0 }),
            Note::Unknown { xid } => {
                o.send(
                    src,
                    Note::Reply {
                        xid,
                        err: err::UNIMPLEMENTED,
                    },
                );
                o.send(src, Note::Close);
            }
            Note::Disconnect => *state.to_mut() += 1,
            _ => {}
        }
    }
}

impl Speaker for Answerer {
    fn connect(request: ConnectRequest, _ip: IpAddr) -> Note {
        Note::Connect {
            timeout: request.timeout,
        }
    }

    fn request(request: Request, _time_ms: u64) -> Note {
        Note::Request { xid: request.xid }
    }

    fn unknown(xid: i32, _opcode: i32, _time_ms: u64) -> Note {
        Note::Unknown { xid }
    }

    fn disconnect() -> Note {
        Note::Disconnect
    }

    fn outgoing(msg: Note, _asked: &VecDeque<Asked>) -> Option<Outgoing> {
        match msg {
            Note::Connected { timeout } => Some(Outgoing::Connected(ConnectResponse {
                timeout,
                session_id: 1,
                passwd: vec![0; 16],
                ..ConnectResponse::default()
            })),
            Note::Reply { xid, err } => Some(Outgoing::Frame {
                reply: Reply {
                    header: ReplyHeader { xid, zxid: 0, err },
                    body: Body::Empty,
                },
                answers: true,
            }),
            Note::Close => Some(Outgoing::Close),
            _ => None,
        }
    }

    fn report(_id: Id, state: &u64, report: &mut Report) {
        report.mode = Some("standalone");
        report.node_count = *state;
    }
}

/// Runs the stand-in behind a client port allowing `per_address` connections from one
/// address, while `body` talks to the port.
fn with_door(per_address: usize, body: impl FnOnce(SocketAddr)) {
    let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let endpoint = Endpoint {
        id: Id::from(1),
        bind: local,
        peers: Vec::new(),
        key: None,
        data: None,
    };
    let door = ZkDoor::new(DoorConfig {
        bind: local,
        max_per_address: per_address,
        max_connections: 100,
        conf: vec![("clientPort".into(), "0".into())],
    });
    let node = Runtime::with_door(Answerer, endpoint, |_| String::new(), door).unwrap();
    let port = node.door().local_addr().unwrap();
    run_beside(node, || body(port));
}

fn connect(port: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(port).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

fn handshake(stream: &mut TcpStream, read_only: Option<bool>) -> Vec<u8> {
    let request = ConnectRequest {
        timeout: 6_000,
        passwd: vec![0; 16],
        read_only,
        ..ConnectRequest::default()
    };
    write_framed(stream, &request.to_bytes());
    read_framed(stream)
}

/// What a four-letter word gets: the whole answer, up to the close.
fn word(port: SocketAddr, word: &[u8; 4]) -> String {
    let mut stream = connect(port);
    stream.write_all(word).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn the_handshake_answers_with_the_read_only_byte_only_if_the_client_sent_one() {
    with_door(10, |port| {
        for read_only in [None, Some(false), Some(true)] {
            let mut stream = connect(port);
            let answer = ConnectResponse::from_bytes(&handshake(&mut stream, read_only));
            let answer = answer.unwrap();
            assert_eq!(answer.timeout, 6_000);
            assert_eq!(answer.read_only, read_only.map(|_| false));
        }
    });
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    with_door(10, |port| {
        let mut stream = connect(port);
        handshake(&mut stream, Some(false));
        let xids = 1..=50;
        let mut burst = Vec::new();
        for xid in xids.clone() {
            let request = Request {
                xid,
                op: Op::Exists {
                    path: "/a".into(),
                    watch: false,
                },
            };
            let payload = request.encode();
            burst.extend((payload.len() as u32).to_be_bytes());
            burst.extend(payload);
        }
        stream.write_all(&burst).unwrap();
        for xid in xids {
            let reply = Reply::decode(&read_framed(&mut stream), opcode::DELETE).unwrap();
            assert_eq!(reply.header.xid, xid);
        }
    });
}

#[test]
fn four_letter_words_are_answered_and_the_connection_closed() {
    with_door(10, |port| {
        assert_eq!(word(port, b"ruok"), "imok");
        assert_eq!(word(port, b"isro"), "rw");
        assert!(word(port, b"srvr").contains("Mode: standalone\n"));
        assert_eq!(word(port, b"conf"), "clientPort=0\n");
    });
}

#[test]
fn bad_frames_close_the_connection_and_the_actor_hears_of_it() {
    with_door(10, |port| {
        // A length over the limit, before the handshake.
        let mut over = connect(port);
        over.write_all(&((MAX_FRAME + 1) as u32).to_be_bytes())
            .unwrap();
        assert!(closed(&mut over));
        // A negative length after it.
        let mut negative = connect(port);
        handshake(&mut negative, None);
        negative.write_all(&(-1i32).to_be_bytes()).unwrap();
        assert!(closed(&mut negative));
        // A record that does not decode.
        let mut garbage = connect(port);
        handshake(&mut garbage, None);
        write_framed(&mut garbage, &[0, 0, 0, 1, 0, 0, 0, 4, 0xff]);
        assert!(closed(&mut garbage));
        // A handshake that is not one.
        let mut junk = connect(port);
        write_framed(&mut junk, b"junk");
        assert!(closed(&mut junk));
        // Each of the four was told to the actor; the port still serves.
        let deadline = Instant::now() + WAIT;
        while !word(port, b"srvr").contains("Node count: 4\n") {
            assert!(Instant::now() < deadline, "{}", word(port, b"srvr"));
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut fine = connect(port);
        assert!(handshake(&mut fine, None).len() > 16);
    });
}

#[test]
fn an_unknown_opcode_goes_to_the_actor_which_answers_and_closes() {
    with_door(10, |port| {
        let mut stream = connect(port);
        handshake(&mut stream, None);
        write_framed(&mut stream, &[0, 0, 0, 7, 0, 0, 0, 99]);
        let reply = Reply::decode(&read_framed(&mut stream), 99).unwrap();
        assert_eq!(
            (reply.header.xid, reply.header.err),
            (7, err::UNIMPLEMENTED)
        );
        assert!(closed(&mut stream));
    });
}

#[test]
fn connections_beyond_the_limit_per_address_are_closed_at_once() {
    with_door(3, |port| {
        let mut kept: Vec<TcpStream> = (0..3).map(|_| connect(port)).collect();
        for stream in &mut kept {
            assert!(handshake(stream, None).len() > 16);
        }
        let mut extra = connect(port);
        assert!(closed(&mut extra));
        // One goes away: there is room again.
        drop(kept.pop());
        let deadline = Instant::now() + WAIT;
        loop {
            let mut again = connect(port);
            let request = ConnectRequest::default().to_bytes();
            let _ = again.write_all(&(request.len() as u32).to_be_bytes());
            let _ = again.write_all(&request);
            let mut len = [0u8; 4];
            if again.read_exact(&mut len).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "no room after a close");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}
