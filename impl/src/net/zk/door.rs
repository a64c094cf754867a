//! The client port: ZooKeeper's client protocol over TCP, on the node's event loop.
//!
//! Each accepted connection gets an actor id of its own ([`connection_id`]). Its first
//! four bytes may be a four-letter word, answered and closed; otherwise its first frame is
//! a `ConnectRequest` and every later frame a request. Each is handed to the actor as the
//! message [`Speaker`] makes of it, from the connection's id, in the order it arrived; the
//! actor's messages to that id come back as frames, in the order it sent them. The door
//! remembers which opcode each outstanding xid had, since a reply's record depends on it.
//!
//! The door decides nothing about sessions, requests or watches. It closes a connection
//! only for what breaks the framing (a length over [`MAX_FRAME`], a record that does not
//! decode), for a handshake that never comes, for a client that reads nothing while
//! [`MAX_UNREAD`] bytes wait for it, or when the actor says so; the actor is then told the
//! connection is gone. Limits: [`DoorConfig::max_per_address`] connections per client
//! address (ZooKeeper's `maxClientCnxns`) and [`DoorConfig::max_connections`] in all; a
//! connection beyond them is closed at once. A connection stops being read while
//! [`MAX_OUTSTANDING`] of its requests await answers or [`MAX_QUEUED_OUT`] bytes await the
//! client, so no buffer grows without bound, and at most [`FRAMES_PER_TURN`] of its frames
//! go to the actor per turn of the event loop.

use super::four::{self, Report};
use super::jute::MAX_BUFFER;
use super::records::{ConnectRequest, ConnectResponse, Record};
use super::reply::Reply;
use super::request::{Op, Request, RequestError};
use crate::net::admit::unix_millis;
use crate::net::door::{Door, NodeView};
use crate::net::link::DOOR_TOKENS;
use crate::net::stats::Stats;
use crate::net::stream::{Fill, Next, Stream};
use mio::net::TcpListener;
use mio::{Interest, Registry, Token};
use stateright::actor::{Actor, Id};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// The largest frame a client may send: a request carrying ZooKeeper's largest data
/// (`jute.maxbuffer`, 0xfffff bytes) with room for its path and headers. The actor, not
/// the door, refuses data over the limit, with ZooKeeper's answer.
pub const MAX_FRAME: usize = MAX_BUFFER + 16 * 1024;
/// The most requests of one connection awaiting answers before the door stops reading it.
pub const MAX_OUTSTANDING: usize = 1_000;
/// The most bytes waiting for a client before the door stops reading its requests.
pub const MAX_QUEUED_OUT: usize = 4 << 20;
/// The most bytes waiting for a client that does not read (events keep coming) before
/// the door closes its connection.
pub const MAX_UNREAD: usize = 64 << 20;
/// The most frames of one connection handed to the actor in one turn of the event loop,
/// so that a client pipelining thousands of requests does not starve the node's peer
/// traffic (each request may send a datagram to the leader at once).
pub const FRAMES_PER_TURN: usize = 64;
/// How long a connection may go without its handshake (ZooKeeper's sessionless
/// connection timeout).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The listener's token.
const LISTENER: Token = Token(DOOR_TOKENS);

/// Bit 62 marks a connection's id: never a peer's (top 16 bits clear) nor a UDP client's
/// (bit 63 set).
const CONNECTION_BIT: u64 = 1 << 62;

/// The id of this process's `n`th client connection.
pub fn connection_id(n: u64) -> Id {
    Id::from((CONNECTION_BIT | n) as usize)
}

/// True if `id` names a client connection (of this node: connection ids never leave it).
pub fn is_connection(id: Id) -> bool {
    (usize::from(id) as u64) >> 62 == 1
}

/// What a request asked, kept until its reply: the reply's record depends on the opcode
/// (and, for a multi, on each step's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    pub xid: i32,
    pub opcode: i32,
    pub steps: Vec<i32>,
    pub at: Instant,
}

/// What the door writes for one of the actor's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// The handshake's answer (the door adds or leaves out the read-only byte, as the
    /// client's request had it).
    Connected(ConnectResponse),
    /// A reply, a ping's answer or an event; `answers` is true for a reply to a request.
    Frame { reply: Reply, answers: bool },
    /// Close the connection once what came before is written.
    Close,
}

/// How an actor's messages carry ZooKeeper's client protocol: the mapping between jute
/// records and the actor's own messages. It holds no rule: each request becomes one
/// message, each message one frame (or a close).
pub trait Speaker: Actor {
    /// A handshake from a client at `ip`.
    fn connect(request: ConnectRequest, ip: IpAddr) -> Self::Msg;
    /// A request, received at `time_ms` (milliseconds since the Unix epoch).
    fn request(request: Request, time_ms: u64) -> Self::Msg;
    /// A request whose opcode ZooKeeper does not have.
    fn unknown(xid: i32, opcode: i32, time_ms: u64) -> Self::Msg;
    /// The connection is gone (the client closed it, or the door did).
    fn disconnect() -> Self::Msg;
    /// What `msg`, sent to a connection, is on the wire. `asked` holds the connection's
    /// outstanding requests, oldest first: a reply's record depends on its request's.
    fn outgoing(msg: Self::Msg, asked: &VecDeque<Asked>) -> Option<Outgoing>;
    /// What the four-letter words report of node `id`'s `state`.
    fn report(id: Id, state: &Self::State, report: &mut Report);
}

/// The client port's settings.
#[derive(Clone, Debug)]
pub struct DoorConfig {
    pub bind: SocketAddr,
    pub max_per_address: usize,
    pub max_connections: usize,
    /// `key=value` lines `conf` answers.
    pub conf: Vec<(String, String)>,
}

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Nothing read yet: the first four bytes may be a four-letter word.
    Fresh,
    /// The handshake went to the actor; `read_only` says whether the client sent the
    /// read-only byte, so that the answer carries it or not.
    Connecting {
        read_only: bool,
    },
    Open,
    /// Closing once what is queued is written.
    Closing,
}

struct Conn {
    id: Id,
    stream: Stream,
    remote: SocketAddr,
    phase: Phase,
    opened: Instant,
    asked: VecDeque<Asked>,
    received: u64,
    sent: u64,
    /// The door stopped reading it (too much outstanding or unread): read again once
    /// there is room.
    held: bool,
}

/// ZooKeeper's client port for actor `A`.
pub struct ZkDoor<A: Speaker> {
    config: DoorConfig,
    listener: Option<TcpListener>,
    conns: BTreeMap<Token, Conn>,
    tokens: HashMap<Id, Token>,
    next: u64,
    latency: (u64, u64, u64, u64),
    _actor: std::marker::PhantomData<fn() -> A>,
}

impl<A: Speaker> ZkDoor<A> {
    pub fn new(config: DoorConfig) -> Self {
        ZkDoor {
            config,
            listener: None,
            conns: BTreeMap::new(),
            tokens: HashMap::new(),
            next: 1,
            latency: (u64::MAX, 0, 0, 0),
            _actor: std::marker::PhantomData,
        }
    }

    /// The client port's address, once registered.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref()?.local_addr().ok()
    }

    fn accept(&mut self, registry: &Registry, stats: &mut Stats) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            let (mut socket, remote) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a client failed");
                    return;
                }
            };
            let same = (self.conns.values())
                .filter(|c| c.remote.ip() == remote.ip())
                .count();
            if same >= self.config.max_per_address
                || self.conns.len() >= self.config.max_connections
            {
                stats.client_refused += 1;
                tracing::warn!(%remote, same, "too many client connections: refused");
                continue;
            }
            let n = self.next;
            self.next += 1;
            let token = Token(DOOR_TOKENS + n as usize);
            let interest = Interest::READABLE | Interest::WRITABLE;
            if let Err(e) = registry.register(&mut socket, token, interest) {
                tracing::warn!(%remote, error = %e, "cannot watch a client");
                continue;
            }
            let _ = socket.set_nodelay(true);
            stats.client_accepted += 1;
            let id = connection_id(n);
            tracing::debug!(%remote, %id, "client connected");
            self.tokens.insert(id, token);
            self.conns.insert(
                token,
                Conn {
                    id,
                    stream: Stream::new(socket),
                    remote,
                    phase: Phase::Fresh,
                    opened: Instant::now(),
                    asked: VecDeque::new(),
                    received: 0,
                    sent: 0,
                    held: false,
                },
            );
        }
    }

    /// Reads what `token`'s client sent: frames to the actor, a four-letter word answered.
    fn read(
        &mut self,
        registry: &Registry,
        token: Token,
        node: &NodeView<A>,
        stats: &mut Stats,
        inbox: &mut Vec<(Id, A::Msg)>,
    ) {
        let mut budget = FRAMES_PER_TURN;
        loop {
            let Some(conn) = self.conns.get_mut(&token) else {
                return;
            };
            conn.held =
                conn.asked.len() >= MAX_OUTSTANDING || conn.stream.pending() >= MAX_QUEUED_OUT;
            if conn.held || conn.phase == Phase::Closing {
                return;
            }
            let fill = conn.stream.fill(MAX_FRAME + 4);
            if conn.phase == Phase::Fresh {
                if let Some(word) = four_letter_word(conn.stream.unread()) {
                    let text = four::answer(&word, &self.report(node)).expect("a known word");
                    let conn = self.conns.get_mut(&token).expect("looked up above");
                    stats.client_frames_in += 1;
                    conn.stream.queue_raw(text.as_bytes());
                    conn.phase = Phase::Closing;
                    return;
                }
            }
            while conn.asked.len() < MAX_OUTSTANDING && budget > 0 {
                budget -= 1;
                let why = match conn.stream.next_frame(MAX_FRAME) {
                    Next::Partial => break,
                    Next::Frame(frame) => {
                        stats.client_frames_in += 1;
                        conn.received += 1;
                        match take_frame::<A>(conn, &frame, inbox) {
                            Ok(()) => continue,
                            Err(why) => why,
                        }
                    }
                    Next::BadLength(len) => format!("a frame length of {len}"),
                };
                tracing::warn!(remote = %conn.remote, %why, "closing a client");
                stats.client_bad_frames += 1;
                self.drop_conn(registry, token, inbox);
                return;
            }
            if conn.asked.len() >= MAX_OUTSTANDING || budget == 0 {
                // Frames may wait in the buffer: `settle` reads on at the next turn (once
                // answers come, if too many are outstanding).
                conn.held = true;
                return;
            }
            match fill {
                Fill::Closed => return self.drop_conn(registry, token, inbox),
                Fill::Drained => return,
                Fill::Full => {}
            }
        }
    }

    /// Forgets a connection and tells the actor it is gone.
    fn drop_conn(&mut self, registry: &Registry, token: Token, inbox: &mut Vec<(Id, A::Msg)>) {
        if let Some(mut conn) = self.conns.remove(&token) {
            let _ = registry.deregister(&mut conn.stream.socket);
            self.tokens.remove(&conn.id);
            tracing::debug!(remote = %conn.remote, id = %conn.id, "client gone");
            inbox.push((conn.id, A::disconnect()));
        }
    }

    /// What the four-letter words say now.
    fn report(&self, node: &NodeView<A>) -> Report {
        let mut report = Report::default();
        A::report(node.id, node.state, &mut report);
        let (min, total, count, max) = self.latency;
        report.latency_min = if count == 0 { 0 } else { min };
        report.latency_total = total;
        report.latency_count = count;
        report.latency_max = max;
        report.received = node.stats.client_frames_in;
        report.sent = node.stats.client_frames_out;
        report.connections = self.conns.len() as u64;
        report.outstanding = self.conns.values().map(|c| c.asked.len() as u64).sum();
        report.clients = (self.conns.values())
            .map(|c| {
                let queued = c.asked.len();
                let (remote, recved, sent) = (c.remote, c.received, c.sent);
                format!(" /{remote}[1](queued={queued},recved={recved},sent={sent})")
            })
            .collect();
        report.conf = self.config.conf.clone();
        report
    }
}

/// The four-letter word `bytes` start with, if they are one this server answers.
fn four_letter_word(bytes: &[u8]) -> Option<[u8; 4]> {
    let word: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    four::WORDS.contains(&&word).then_some(word)
}

/// Hands one frame of `conn` to the actor, as its phase reads it; an error closes it.
fn take_frame<A: Speaker>(
    conn: &mut Conn,
    frame: &[u8],
    inbox: &mut Vec<(Id, A::Msg)>,
) -> Result<(), String> {
    match conn.phase {
        Phase::Fresh => {
            let request = ConnectRequest::from_bytes(frame).map_err(|e| e.to_string())?;
            conn.phase = Phase::Connecting {
                read_only: request.read_only.is_some(),
            };
            inbox.push((conn.id, A::connect(request, conn.remote.ip())));
        }
        Phase::Connecting { .. } | Phase::Open => match Request::decode(frame) {
            Ok(request) => {
                if request.op != Op::Ping {
                    conn.asked.push_back(asked(&request));
                }
                inbox.push((conn.id, A::request(request, unix_millis())));
            }
            Err(RequestError::UnknownOpcode { xid, opcode }) => {
                conn.asked.push_back(Asked {
                    xid,
                    opcode,
                    steps: Vec::new(),
                    at: Instant::now(),
                });
                inbox.push((conn.id, A::unknown(xid, opcode, unix_millis())));
            }
            Err(e) => return Err(e.to_string()),
        },
        Phase::Closing => {}
    }
    Ok(())
}

fn asked(request: &Request) -> Asked {
    let steps = match &request.op {
        Op::Multi(steps) | Op::MultiRead(steps) => steps.iter().map(Op::opcode).collect(),
        _ => Vec::new(),
    };
    Asked {
        xid: request.xid,
        opcode: request.op.opcode(),
        steps,
        at: Instant::now(),
    }
}

impl<A: Speaker> Door<A> for ZkDoor<A> {
    fn register(&mut self, registry: &Registry) -> io::Result<()> {
        let mut listener = TcpListener::bind(self.config.bind)?;
        registry.register(&mut listener, LISTENER, Interest::READABLE)?;
        tracing::info!(addr = %listener.local_addr()?, "client port open");
        self.listener = Some(listener);
        Ok(())
    }

    fn ready(
        &mut self,
        registry: &Registry,
        token: Token,
        node: NodeView<A>,
        stats: &mut Stats,
        inbox: &mut Vec<(Id, A::Msg)>,
    ) {
        if token == LISTENER {
            self.accept(registry, stats);
            return;
        }
        self.read(registry, token, &node, stats, inbox);
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.stream.flush().is_err() {
            self.drop_conn(registry, token, inbox);
        }
    }

    fn deliver(&mut self, dst: Id, msg: A::Msg, stats: &mut Stats) -> Option<A::Msg> {
        if !is_connection(dst) {
            return Some(msg);
        }
        let Some(conn) = self.tokens.get(&dst).and_then(|t| self.conns.get_mut(t)) else {
            tracing::debug!(%dst, "a message for a closed connection");
            return None;
        };
        if conn.phase == Phase::Closing {
            return None;
        }
        match A::outgoing(msg, &conn.asked) {
            Some(Outgoing::Connected(mut response)) => {
                if let Phase::Connecting { read_only } = conn.phase {
                    response.read_only = read_only.then_some(false);
                    conn.phase = Phase::Open;
                }
                conn.stream.queue_frame(&response.to_bytes());
                stats.client_frames_out += 1;
                conn.sent += 1;
            }
            Some(Outgoing::Frame { reply, answers }) => {
                conn.stream.queue_frame(&reply.encode());
                stats.client_frames_out += 1;
                conn.sent += 1;
                if answers {
                    // Replies come in request order: the answered request is the oldest
                    // with this xid, and any older one without a reply is forgotten.
                    let xid = reply.header.xid;
                    while let Some(asked) = conn.asked.pop_front() {
                        if asked.xid == xid {
                            let ms = asked.at.elapsed().as_millis() as u64;
                            let (min, total, count, max) = self.latency;
                            self.latency = (min.min(ms), total + ms, count + 1, max.max(ms));
                            break;
                        }
                    }
                }
            }
            Some(Outgoing::Close) => conn.phase = Phase::Closing,
            None => {}
        }
        None
    }

    fn settle(
        &mut self,
        registry: &Registry,
        now: Instant,
        node: NodeView<A>,
        stats: &mut Stats,
        inbox: &mut Vec<(Id, A::Msg)>,
    ) {
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            let conn = self.conns.get_mut(&token).expect("listed above");
            let failed = conn.stream.flush().is_err();
            let done = conn.phase == Phase::Closing && conn.stream.pending() == 0;
            let late = conn.phase == Phase::Fresh && now >= conn.opened + HANDSHAKE_TIMEOUT;
            let unread = conn.stream.pending() > MAX_UNREAD;
            if late || unread {
                tracing::warn!(remote = %conn.remote, late, unread, "closing a client");
            }
            if failed || done || late || unread {
                self.drop_conn(registry, token, inbox);
            } else if conn.held {
                // A held connection's bytes wait in its socket, with no new event to come.
                self.read(registry, token, &node, stats, inbox);
            }
        }
    }

    /// The next handshake deadline; now, if a held connection has room to be read.
    fn deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        (self.conns.values())
            .filter_map(|c| match c.phase {
                Phase::Fresh => Some(c.opened + HANDSHAKE_TIMEOUT),
                _ if c.held && c.asked.len() < MAX_OUTSTANDING => Some(now),
                _ => None,
            })
            .min()
    }
}

#[cfg(test)]
#[path = "door_tests.rs"]
mod tests;
