//! TCP links between peers, for the messages too large for one datagram (a Raft
//! AppendEntries carrying an entry of up to ZooKeeper's 1 MB limit).
//!
//! Why TCP rather than fragments over UDP: a 1 MB message is some twenty 60 KB datagrams
//! sent back to back, more than a default socket receive buffer holds (208 KB on Linux),
//! so fragments would be lost, and lost again each time Raft sends the message again. TCP's
//! flow control delivers them at the pace the receiver reads. Messages that fit a datagram
//! still go over UDP, as before: Raft tolerates the two paths reordering messages, as it
//! tolerates UDP's own reordering and loss.
//!
//! Each node listens for links on TCP at its own member address (the port number of its
//! UDP socket). A frame is a datagram's bytes ([`super::frame`]: header, body, HMAC tag
//! with a cluster key) with a 4-byte length before it, so a link authenticates exactly as
//! a datagram does. A link that fails, or whose queue is full (a stopped peer), drops what
//! it held: Raft sends it again, as it does after a lost datagram.

use super::stream::{Fill, Next, Stream};
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use stateright::actor::Id;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, ErrorKind};
use std::net::SocketAddr;

/// The first token of the links' connections; tokens below are the runtime's own.
pub const FIRST_TOKEN: usize = 2;
/// Tokens from here on belong to a front door.
pub const DOOR_TOKENS: usize = 1 << 32;
/// The listener's token.
pub const LISTENER: Token = Token(1);
/// The most bytes queued on one outgoing link; a message that would go beyond is dropped.
const MAX_QUEUED: usize = 16 << 20;
/// The most incoming links at once, per peer: a peer reconnects after a failure, and the
/// old link may not have noticed yet.
const INCOMING_PER_PEER: usize = 4;

/// Which way a link goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// To this peer, for our messages.
    Out(Id),
    /// From someone who connected, for theirs.
    In,
}

struct Link {
    stream: Stream,
    side: Side,
    remote: SocketAddr,
}

/// A frame that arrived over a link, with the address it came from.
pub struct Arrived {
    pub bytes: Vec<u8>,
    pub from: SocketAddr,
    /// The link's token, to close it if the frame is not admitted.
    pub token: Token,
}

/// What happened to a frame given to [`Links::send`].
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Queued,
    /// The link could not be opened or its queue is full.
    Dropped,
}

/// The links of one node.
pub struct Links {
    bind: SocketAddr,
    listener: Option<TcpListener>,
    peers: HashMap<Id, SocketAddr>,
    links: BTreeMap<Token, Link>,
    outgoing: HashMap<Id, Token>,
    next: usize,
    frame_limit: usize,
}

impl Links {
    /// Links for a node with `peers`, listening at `bind` (nothing to listen for without
    /// peers: a client has none).
    pub fn new(
        registry: &Registry,
        bind: SocketAddr,
        peers: &HashMap<Id, SocketAddr>,
        frame_limit: usize,
    ) -> io::Result<Links> {
        let mut links = Links {
            bind,
            listener: None,
            peers: HashMap::new(),
            links: BTreeMap::new(),
            outgoing: HashMap::new(),
            next: FIRST_TOKEN,
            frame_limit,
        };
        links.listen(registry, peers)?;
        Ok(links)
    }

    /// Takes `peers` as the node's peers, listening from now on if it has any.
    fn listen(&mut self, registry: &Registry, peers: &HashMap<Id, SocketAddr>) -> io::Result<()> {
        self.peers = peers.clone();
        if self.listener.is_none() && !peers.is_empty() {
            let mut listener = TcpListener::bind(self.bind)?;
            registry.register(&mut listener, LISTENER, Interest::READABLE)?;
            self.listener = Some(listener);
        }
        Ok(())
    }

    /// The node's peers changed (a membership change): links go to the new ones, and the
    /// link to a peer that is one no more is closed.
    pub fn set_peers(&mut self, registry: &Registry, peers: &HashMap<Id, SocketAddr>) {
        let gone: Vec<Token> = (self.outgoing.iter())
            .filter(|(peer, _)| !peers.contains_key(peer))
            .map(|(_, &token)| token)
            .collect();
        for token in gone {
            self.close(registry, token);
        }
        if let Err(e) = self.listen(registry, peers) {
            tracing::warn!(error = %e, "cannot listen for links");
        }
    }

    /// True for the listener's and the links' tokens.
    pub fn owns(token: Token) -> bool {
        token == LISTENER || (FIRST_TOKEN..DOOR_TOKENS).contains(&token.0)
    }

    /// Handles readiness of `token`: accepts links, writes what waits, reads frames into
    /// `arrived`.
    pub fn ready(&mut self, registry: &Registry, token: Token, arrived: &mut Vec<Arrived>) {
        if token == LISTENER {
            self.accept(registry);
            return;
        }
        let Some(link) = self.links.get_mut(&token) else {
            return;
        };
        if link.stream.flush().is_err() {
            self.close(registry, token);
            return;
        }
        if link.side != Side::In {
            // A peer sends nothing back on our link: reading only notices that it closed.
            let fill = link.stream.fill(1024);
            link.stream.take(usize::MAX);
            if fill == Fill::Closed {
                self.close(registry, token);
            }
            return;
        }
        let fill = link.stream.fill(self.frame_limit + 4);
        loop {
            match link.stream.next_frame(self.frame_limit) {
                Next::Frame(bytes) => arrived.push(Arrived {
                    bytes,
                    from: link.remote,
                    token,
                }),
                Next::Partial => break,
                Next::BadLength(len) => {
                    tracing::warn!(from = %link.remote, len, "a link frame of a bad length");
                    self.close(registry, token);
                    return;
                }
            }
        }
        match fill {
            Fill::Closed => self.close(registry, token),
            // A whole frame fits the buffer, so a full buffer was emptied above: read on.
            Fill::Full => self.ready(registry, token, arrived),
            Fill::Drained => {}
        }
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            let (socket, remote) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a link failed");
                    return;
                }
            };
            let incoming = self.links.values().filter(|l| l.side == Side::In).count();
            if incoming >= INCOMING_PER_PEER * self.peers.len() {
                tracing::warn!(%remote, "too many incoming links: refused");
                continue;
            }
            self.add(registry, socket, Side::In, remote, Interest::READABLE);
        }
    }

    fn add(
        &mut self,
        registry: &Registry,
        mut socket: TcpStream,
        side: Side,
        remote: SocketAddr,
        interest: Interest,
    ) -> Option<Token> {
        let token = Token(self.next);
        self.next = if self.next + 1 >= DOOR_TOKENS {
            FIRST_TOKEN
        } else {
            self.next + 1
        };
        if let Err(e) = registry.register(&mut socket, token, interest) {
            tracing::warn!(%remote, error = %e, "cannot watch a link");
            return None;
        }
        let _ = socket.set_nodelay(true);
        let stream = Stream::new(socket);
        self.links.insert(
            token,
            Link {
                stream,
                side,
                remote,
            },
        );
        Some(token)
    }

    /// Closes the link `token` (an incoming link whose frame was not admitted, say).
    pub fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(mut link) = self.links.remove(&token) {
            let _ = registry.deregister(&mut link.stream.socket);
            if let Side::Out(peer) = link.side {
                self.outgoing.remove(&peer);
            }
        }
    }

    /// Queues `frame` to `peer` on its link, opening one if needed, and writes what it can.
    pub fn send(&mut self, registry: &Registry, peer: Id, frame: &[u8]) -> Sent {
        let token = match self.outgoing.get(&peer) {
            Some(&token) => token,
            None => {
                let Some(&addr) = self.peers.get(&peer) else {
                    return Sent::Dropped;
                };
                let Ok(socket) = TcpStream::connect(addr) else {
                    return Sent::Dropped;
                };
                let interest = Interest::WRITABLE | Interest::READABLE;
                let Some(token) = self.add(registry, socket, Side::Out(peer), addr, interest)
                else {
                    return Sent::Dropped;
                };
                self.outgoing.insert(peer, token);
                token
            }
        };
        let link = self
            .links
            .get_mut(&token)
            .expect("an outgoing link is kept");
        if link.stream.pending() + frame.len() > MAX_QUEUED {
            return Sent::Dropped;
        }
        link.stream.queue_frame(frame);
        if let Err(e) = link.stream.flush() {
            // Not connected yet is not an error: the writable event comes once it is.
            if e.kind() != ErrorKind::NotConnected {
                tracing::debug!(%peer, error = %e, "a link failed");
                self.close(registry, token);
                return Sent::Dropped;
            }
        }
        Sent::Queued
    }
}
