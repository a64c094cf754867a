//! The event loop that runs one actor over UDP: datagrams in, real timers, real random
//! choices, durable saves, datagrams out; on one `mio` poll with the peer links (TCP, for
//! messages larger than a datagram) and a front door's sockets, if the node has one.
//!
//! Group commit: the loop handles the events already waiting (up to a batch of datagrams)
//! and then flushes. Timers and random choices take effect at once; saves and sends wait for the
//! flush, which first makes the batch's last `Save` durable (each save is the whole
//! storage, so the last one subsumes the others) and only then sends, in order, every
//! message of the batch. So no message leaves before the storage it depends on is on disk,
//! and concurrent requests share one `fsync`. A random choice (`choose_random`) is resolved
//! with a real random number generator once the handler's commands are done, and delivered
//! to `on_random` as the checker would deliver any one of its choices.

use super::admit::{unix_millis, Admit, Dropped, Origin, PeerTable, Sender, ServersOf};
use super::door::{Door, NoDoor, NodeView};
use super::durable::Durable;
use super::frame::{
    decode_body, decode_up_to, encode, encode_up_to, ClusterKey, Frame, FrameError, Kind,
    MAX_DATAGRAM, MAX_LINK_FRAME,
};
use super::journal::Journal;
use super::link::{Arrived, Links, Sent};
use super::partition::{self, AdminCommand, Partition};
use super::stats::{Stats, StatsReply};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use rand::Rng;
use serde::{de::DeserializeOwned, Serialize};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, SocketAddrV4};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The longest the loop sleeps before it looks at its stop flag again.
const POLL: Duration = Duration::from_millis(100);
/// The most client addresses remembered for replies; the table is emptied when full.
const MAX_ROUTES: usize = 65_536;
/// The most random choices resolved in a row after one event (a guard against an actor
/// that keeps asking).
const MAX_CHOICES: usize = 1_000;
/// The most datagrams handled before one flush.
const BATCH: usize = 64;
/// The UDP socket's token.
const UDP: Token = Token(0);
/// The receive buffer asked for the UDP socket (the kernel may grant less): a burst of
/// requests that each send a datagram, from many pipelining clients, should not overflow
/// it (a lost datagram is resent by Raft, but not every message is).
const UDP_RECEIVE_BUFFER: usize = 4 << 20;

/// How a frame arrived: which checks it must pass, and what to close if it fails them.
#[derive(Clone, Copy, Debug)]
enum Via {
    Udp,
    Link(Token),
}

/// Where one node lives and whom it trusts.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// This node's actor id.
    pub id: Id,
    /// The address to bind.
    pub bind: SocketAddr,
    /// The configured peers: only they may send peer messages, each from its address.
    pub peers: Vec<(Id, SocketAddr)>,
    /// With a key, peer messages must be signed with it, and everything sent is signed.
    pub key: Option<ClusterKey>,
    /// Where storage lives; `None` for an actor that saves nothing (its saves are ignored).
    pub data: Option<PathBuf>,
}

/// Why [`Runtime::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The `until` condition held.
    Done,
    /// The stop flag was set.
    Stopped,
    /// The deadline passed.
    TimedOut,
}

/// A one-line description of an actor's state, for stats replies and logs.
pub type Describe<A> = fn(&<A as Actor>::State) -> String;

/// One actor running over UDP, with front door `D`.
pub struct Runtime<A: Actor, D = NoDoor>
where
    A::Storage: Durable,
{
    actor: A,
    id: Id,
    poll: Poll,
    /// `None` only while the loop looks at the events it polled.
    events: Option<Events>,
    socket: UdpSocket,
    /// Whether datagrams may still wait in the socket (a batch stopped short of them).
    udp_waiting: bool,
    links: Links,
    door: D,
    peers: PeerTable,
    /// The servers the actor names as peers, if it names any (see [`PeerTable`]).
    servers_of: Option<ServersOf<A>>,
    key: Option<ClusterKey>,
    journal: Option<Journal<A::Storage>>,
    /// Always `Some`, except while a handler runs: see [`Runtime::step`].
    state: Option<A::State>,
    timers: HashMap<A::Timer, Instant>,
    randoms: BTreeMap<String, Vec<A::Random>>,
    /// The latest storage saved since the last flush, not yet durable.
    unsaved: Option<A::Storage>,
    /// Messages sent since the last flush, waiting for `unsaved` to be durable.
    outbox: Vec<(Id, A::Msg)>,
    routes: HashMap<Id, SocketAddr>,
    /// The peers an operator cut this node off from.
    partition: Partition,
    stats: Stats,
    describe: Describe<A>,
    span: tracing::Span,
}

impl<A> Runtime<A>
where
    A: Actor,
    A::Msg: Admit + Serialize + DeserializeOwned,
    A::Storage: Durable,
{
    /// Binds the socket, recovers storage from the data directory, and starts the actor.
    pub fn start(actor: A, endpoint: Endpoint, describe: Describe<A>) -> io::Result<Self> {
        Runtime::with_door(actor, endpoint, describe, NoDoor)
    }
}

impl<A, D> Runtime<A, D>
where
    A: Actor,
    A::Msg: Admit + Serialize + DeserializeOwned,
    A::Storage: Durable,
    D: Door<A>,
{
    /// [`Runtime::start`] with a front door, whose sockets the loop serves too.
    pub fn with_door(
        actor: A,
        endpoint: Endpoint,
        describe: Describe<A>,
        mut door: D,
    ) -> io::Result<Self> {
        let span = tracing::info_span!("node", id = %endpoint.id);
        let poll = Poll::new()?;
        let mut socket = UdpSocket::bind(endpoint.bind)?;
        if let Err(e) = socket2::SockRef::from(&socket).set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
            tracing::warn!(error = %e, "cannot enlarge the receive buffer");
        }
        poll.registry()
            .register(&mut socket, UDP, Interest::READABLE)?;
        let peers = PeerTable::new(endpoint.peers);
        let bound = socket.local_addr()?;
        let links = Links::new(poll.registry(), bound, peers.addresses(), MAX_LINK_FRAME)?;
        door.register(poll.registry())?;
        let (journal, storage) = match &endpoint.data {
            Some(dir) => {
                let opened = Journal::open(dir)?;
                (Some(opened.journal), opened.storage)
            }
            None => (None, None),
        };
        span.in_scope(|| {
            tracing::info!(
                addr = %socket.local_addr().map_or("?".into(), |a| a.to_string()),
                recovered = storage.is_some(),
                "starting"
            )
        });
        let mut out = Out::new();
        let state = actor.on_start(endpoint.id, &storage, &mut out);
        let mut runtime = Runtime {
            actor,
            id: endpoint.id,
            poll,
            events: Some(Events::with_capacity(1024)),
            socket,
            udp_waiting: true,
            links,
            door,
            peers,
            servers_of: None,
            key: endpoint.key,
            journal,
            state: Some(state),
            timers: HashMap::new(),
            randoms: BTreeMap::new(),
            unsaved: None,
            outbox: Vec::new(),
            routes: HashMap::new(),
            partition: Partition::default(),
            stats: Stats::default(),
            describe,
            span,
        };
        runtime.execute(out);
        runtime.resolve_randoms();
        runtime.flush()?;
        Ok(runtime)
    }

    /// Takes the servers that `servers_of` names in the actor's state as peers too, from
    /// now on and after every step (see [`PeerTable`]).
    pub fn with_servers(mut self, servers_of: ServersOf<A>) -> Self {
        self.servers_of = Some(servers_of);
        self.refresh_peers();
        self
    }

    /// Brings the peer table, and the links', up to the servers the actor names now.
    fn refresh_peers(&mut self) {
        let Some(servers_of) = self.servers_of else {
            return;
        };
        let servers = servers_of(self.id, self.state());
        if self.peers.set_servers(&servers) {
            tracing::info!(?servers, "peers changed");
            (self.links).set_peers(self.poll.registry(), self.peers.addresses());
        }
    }

    pub fn state(&self) -> &A::State {
        self.state.as_ref().expect("no handler is running")
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The front door (to learn the port it bound, say).
    pub fn door(&self) -> &D {
        &self.door
    }

    /// Runs until `until` holds for the state, `stop` is set, or `deadline` passes.
    /// `observe` sees every accepted message before the actor does. An error means a save
    /// failed: the node must not go on without its storage (nothing that depends on the
    /// failed save was sent).
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        deadline: Option<Instant>,
        mut until: impl FnMut(&A::State) -> bool,
        mut observe: impl FnMut(Id, &A::Msg),
    ) -> io::Result<Outcome> {
        let span = self.span.clone();
        let _entered = span.enter();
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            self.settle_door(&mut observe)?;
            if until(self.state()) {
                return Ok(Outcome::Done);
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(Outcome::Stopped);
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Ok(Outcome::TimedOut);
            }
            if self.fire_due_timer(now) {
                continue;
            }
            let wake = match self.udp_waiting {
                true => Duration::ZERO,
                false => (self.timers.values().copied())
                    .chain(deadline)
                    .chain(self.door.deadline())
                    .min()
                    .map_or(POLL, |at| at.saturating_duration_since(now))
                    .clamp(Duration::from_millis(1), POLL),
            };
            let tokens = self.wait(wake)?;
            let mut arrived = Vec::new();
            let mut inbox = Vec::new();
            for token in tokens {
                match token {
                    UDP => self.udp_waiting = true,
                    t if Links::owns(t) => self.links.ready(self.poll.registry(), t, &mut arrived),
                    t => {
                        let node = NodeView {
                            id: self.id,
                            state: self.state.as_ref().expect("no handler is running"),
                            stats: &self.stats,
                        };
                        let mut stats = self.stats.clone();
                        self.door
                            .ready(self.poll.registry(), t, node, &mut stats, &mut inbox);
                        self.stats = stats;
                    }
                }
            }
            if self.udp_waiting {
                self.drain_waiting(&mut buf, &mut observe);
            }
            for Arrived { bytes, from, token } in arrived {
                self.on_frame(&bytes, from, Via::Link(token), &mut observe);
            }
            self.take_inbox(inbox, &mut observe);
        }
    }

    /// Polls for events, up to `wake`; the tokens that are ready.
    fn wait(&mut self, wake: Duration) -> io::Result<Vec<Token>> {
        let mut events = self.events.take().expect("events are kept between polls");
        let polled = self.poll.poll(&mut events, Some(wake));
        let tokens = events.iter().map(|e| e.token()).collect();
        self.events = Some(events);
        match polled {
            Err(e) if e.kind() != ErrorKind::Interrupted => Err(e),
            _ => Ok(tokens),
        }
    }

    /// Messages from the door's connections, each handled as a message from that id.
    fn take_inbox(&mut self, inbox: Vec<(Id, A::Msg)>, observe: &mut impl FnMut(Id, &A::Msg)) {
        for (src, msg) in inbox {
            self.stats.msgs_in += 1;
            tracing::debug!(%src, ?msg, "received at the door");
            observe(src, &msg);
            let id = self.id;
            self.step(|actor, state, out| actor.on_msg(id, state, src, msg, out));
            self.resolve_randoms();
        }
    }

    /// Flushes (see [`Runtime::flush`]), then lets the door write what it was given and
    /// close what must close; what it tells the actor then is handled, and flushed, at once.
    fn settle_door(&mut self, observe: &mut impl FnMut(Id, &A::Msg)) -> io::Result<()> {
        for _ in 0..2 {
            self.flush()?;
            let mut inbox = Vec::new();
            let mut stats = self.stats.clone();
            let node = NodeView {
                id: self.id,
                state: self.state.as_ref().expect("no handler is running"),
                stats: &self.stats,
            };
            (self.door).settle(
                self.poll.registry(),
                Instant::now(),
                node,
                &mut stats,
                &mut inbox,
            );
            self.stats = stats;
            if inbox.is_empty() {
                break;
            }
            self.take_inbox(inbox, observe);
        }
        Ok(())
    }

    /// Handles the datagrams that are already waiting, up to a batch, without blocking.
    fn drain_waiting(&mut self, buf: &mut [u8], observe: &mut impl FnMut(Id, &A::Msg)) {
        for _ in 0..BATCH {
            match self.socket.recv_from(buf) {
                Ok((n, src)) => self.on_frame(&buf[..n], src, Via::Udp, observe),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.udp_waiting = false;
                    return;
                }
                // An ICMP "port unreachable" from an earlier send to a stopped peer.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(error = %e, "receive failed");
                    return;
                }
            }
        }
    }

    /// Makes the latest save durable, then sends every message waiting for it.
    fn flush(&mut self) -> io::Result<()> {
        if let (Some(storage), Some(journal)) = (self.unsaved.take(), &mut self.journal) {
            let bytes = journal.save(&storage)?;
            self.stats.saves += 1;
            self.stats.bytes_saved += bytes;
        }
        for (dst, msg) in std::mem::take(&mut self.outbox) {
            let partitioned = self.partition.cuts(dst);
            let msg = match partitioned || self.peers.address(dst).is_some() {
                true => Some(msg),
                false => self.door.deliver(dst, msg, &mut self.stats),
            };
            if let Some(msg) = msg {
                self.send(dst, &msg);
            }
        }
        Ok(())
    }

    /// Fires the earliest timer that is due, if any.
    fn fire_due_timer(&mut self, now: Instant) -> bool {
        let due = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .min_by_key(|(_, at)| **at)
            .map(|(t, _)| t.clone());
        let Some(timer) = due else {
            return false;
        };
        self.fire_timer(timer);
        true
    }

    /// Fires `timer` now, whether it is set or not, and sends what the actor sends: how
    /// whoever runs an actor wakes it from outside (a command line lock holder told to
    /// release). An error means a save failed, as in [`Runtime::run`].
    pub fn fire(&mut self, timer: A::Timer) -> io::Result<()> {
        let _entered = self.span.clone().entered();
        self.fire_timer(timer);
        self.flush()
    }

    fn fire_timer(&mut self, timer: A::Timer) {
        self.timers.remove(&timer);
        self.stats.timers_fired += 1;
        tracing::trace!(?timer, "timer fired");
        let id = self.id;
        self.step(|actor, state, out| actor.on_timeout(id, state, &timer, out));
        self.resolve_randoms();
    }

    fn on_frame(
        &mut self,
        bytes: &[u8],
        src: SocketAddr,
        via: Via,
        observe: &mut impl FnMut(Id, &A::Msg),
    ) {
        // A timer whose deadline passed while the datagram waited fires first, as it
        // would have had the process not been held up (a pause, a slow batch): a lease
        // that ran out while a node was stopped must be over before it answers anyone.
        let now = Instant::now();
        while self.fire_due_timer(now) {}
        self.stats.bytes_in += bytes.len() as u64;
        let limit = match via {
            Via::Udp => MAX_DATAGRAM,
            Via::Link(_) => MAX_LINK_FRAME,
        };
        let frame = match decode_up_to(bytes, self.key.as_ref(), limit) {
            Ok(frame) => frame,
            Err(e) => {
                self.count_bad(&e, src);
                return;
            }
        };
        if let Via::Link(token) = via {
            if !self.admit_link(&frame, src) {
                self.links.close(self.poll.registry(), token);
                return;
            }
            self.stats.link_frames_in += 1;
        }
        match frame.kind {
            Kind::Msg => {}
            Kind::StatsRequest => {
                self.send_stats(src);
                return;
            }
            Kind::StatsReply => {
                tracing::debug!(%src, "ignoring a stats reply");
                return;
            }
            Kind::Admin => {
                self.on_admin(&frame, src);
                return;
            }
        }
        if self.partition.cuts(frame.sender) {
            self.stats.partitioned_in += 1;
            tracing::trace!(sender = %frame.sender, "dropped: partitioned");
            return;
        }
        let mut msg: A::Msg = match decode_body(frame.body) {
            Ok(msg) => msg,
            Err(e) => {
                self.count_bad(&e, src);
                return;
            }
        };
        let sender = frame.sender;
        let origin = Origin {
            sender,
            src,
            link: matches!(via, Via::Link(_)),
            keyed: self.key.is_some(),
            signed: frame.authenticated,
        };
        match self.peers.admit(&msg, &origin) {
            Ok(Sender::Peer) => {}
            Ok(Sender::Stranger) => {
                msg.stamp(unix_millis());
                if self.routes.len() >= MAX_ROUTES {
                    self.routes.clear();
                }
                self.routes.insert(sender, src);
            }
            Err(Dropped::NotPeer) => {
                self.stats.dropped_non_peer += 1;
                tracing::warn!(%src, %sender, "dropped a peer message from a non-peer");
                return;
            }
            Err(Dropped::Unsigned) => {
                self.stats.dropped_unauthenticated += 1;
                tracing::warn!(%src, %sender, "dropped a peer message without a valid tag");
                return;
            }
            Err(Dropped::NotOperator(refusal)) => {
                self.stats.dropped_admin += 1;
                tracing::warn!(%src, %sender, %refusal, "dropped an operator's message");
                return;
            }
        }
        self.stats.msgs_in += 1;
        tracing::debug!(%sender, ?msg, "received");
        observe(sender, &msg);
        let id = self.id;
        self.step(|actor, state, out| actor.on_msg(id, state, sender, msg, out));
        self.resolve_randoms();
    }

    /// Rule: a link carries only peer messages, from a configured peer's machine (its
    /// port is the connection's own) and, with a cluster key, signed.
    fn admit_link(&mut self, frame: &Frame, src: SocketAddr) -> bool {
        let peer = self.peers.address(frame.sender);
        let admitted = frame.kind == Kind::Msg
            && peer.is_some_and(|p| p.ip() == src.ip())
            && (self.key.is_none() || frame.authenticated);
        if !admitted {
            self.stats.dropped_non_peer += 1;
            tracing::warn!(%src, sender = %frame.sender, "closed a link: not a peer's");
        }
        admitted
    }

    fn count_bad(&mut self, e: &FrameError, src: SocketAddr) {
        match e {
            FrameError::TooLarge(_) => self.stats.oversized += 1,
            _ => self.stats.decode_errors += 1,
        }
        tracing::warn!(%src, error = %e, "dropped a datagram");
    }

    /// An operator's command, obeyed only from this machine (and signed, with a key), and
    /// acknowledged with the node's stats.
    fn on_admin(&mut self, frame: &Frame, src: SocketAddr) {
        let keyed = self.key.is_some();
        if let Err(refusal) = partition::admit(src, keyed, frame.authenticated) {
            self.stats.dropped_admin += 1;
            tracing::warn!(%src, %refusal, "refused an admin command");
            return;
        }
        let command: AdminCommand = match decode_body(frame.body) {
            Ok(command) => command,
            Err(e) => {
                self.count_bad(&e, src);
                return;
            }
        };
        tracing::info!(?command, "admin command");
        self.stats.admin_commands += 1;
        self.partition.apply(command);
        self.send_stats(src);
    }

    fn send_stats(&mut self, to: SocketAddr) {
        let reply = StatsReply {
            stats: self.stats.clone(),
            status: (self.describe)(self.state()),
            partitioned_from: self.partition.peers(),
        };
        match encode(Kind::StatsReply, self.id, &reply, self.key.as_ref()) {
            Ok(bytes) => {
                if let Err(e) = self.socket.send_to(&bytes, to) {
                    tracing::warn!(%to, error = %e, "stats reply not sent");
                }
            }
            Err(e) => tracing::warn!(error = %e, "stats reply does not encode"),
        }
    }

    /// Runs one handler and executes its commands. The handler gets the state owned, so
    /// that changing it does not copy the whole state first, as a borrowed `Cow` would
    /// (a Raft log grows with every write); the handler sees the same state either way.
    fn step(&mut self, handle: impl FnOnce(&A, &mut Cow<A::State>, &mut Out<A>)) {
        let mut out = Out::new();
        let state = self.state.take().expect("no handler is running");
        let mut state = Cow::Owned(state);
        handle(&self.actor, &mut state, &mut out);
        self.state = Some(state.into_owned());
        self.execute(out);
        self.refresh_peers();
    }

    /// Executes commands in order; saves and sends wait for the next flush.
    fn execute(&mut self, out: Out<A>) {
        for command in out {
            match command {
                Command::Save(storage) => self.unsaved = Some(storage),
                Command::Send(dst, msg) => self.outbox.push((dst, msg)),
                Command::SetTimer(timer, range) => {
                    let at = Instant::now() + pick_duration(range);
                    self.timers.insert(timer, at);
                }
                Command::CancelTimer(timer) => {
                    self.timers.remove(&timer);
                }
                Command::ChooseRandom(key, choices) if choices.is_empty() => {
                    self.randoms.remove(&key);
                }
                Command::ChooseRandom(key, choices) => {
                    self.randoms.insert(key, choices);
                }
            }
        }
    }

    /// Resolves every pending random choice, one at a time, with a real random pick.
    fn resolve_randoms(&mut self) {
        for _ in 0..MAX_CHOICES {
            let Some((key, choices)) = self.randoms.pop_first() else {
                return;
            };
            let choice = &choices[rand::rng().random_range(0..choices.len())];
            tracing::trace!(key, ?choice, "random choice");
            let id = self.id;
            self.step(|actor, state, out| actor.on_random(id, state, choice, out));
        }
        tracing::warn!("random choices still pending after {MAX_CHOICES} in a row");
    }

    fn send(&mut self, dst: Id, msg: &A::Msg) {
        if self.partition.cuts(dst) {
            self.stats.partitioned_out += 1;
            tracing::trace!(%dst, "not sent: partitioned");
            return;
        }
        let peer = self.peers.address(dst);
        let route = peer.or(self.routes.get(&dst).copied());
        let Some(to) = route.or_else(|| client_address(dst)) else {
            self.stats.unroutable += 1;
            tracing::debug!(%dst, "no address for a message");
            return;
        };
        let limit = match peer {
            Some(_) => MAX_LINK_FRAME,
            None => MAX_DATAGRAM,
        };
        let bytes = match encode_up_to(Kind::Msg, self.id, msg, self.key.as_ref(), limit) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.stats.send_errors += 1;
                tracing::warn!(%dst, error = %e, "message not sent");
                return;
            }
        };
        if bytes.len() > MAX_DATAGRAM {
            match self.links.send(self.poll.registry(), dst, &bytes) {
                Sent::Queued => {
                    self.stats.msgs_out += 1;
                    self.stats.link_frames_out += 1;
                    self.stats.bytes_out += bytes.len() as u64;
                }
                Sent::Dropped => self.stats.link_dropped += 1,
            }
            return;
        }
        match self.socket.send_to(&bytes, to) {
            Ok(n) => {
                self.stats.msgs_out += 1;
                self.stats.bytes_out += n as u64;
                tracing::debug!(%dst, ?msg, "sent");
            }
            Err(e) => {
                self.stats.send_errors += 1;
                tracing::debug!(%dst, error = %e, "send failed");
            }
        }
    }
}

/// The address a client's id names, if it is a client's: a client that a node never
/// heard from directly (the tail of a chain answers the writes that clients sent to the
/// head) is reached there. A client id has its top bit set and its address in its low
/// 48 bits, as stateright's address-derived ids (see [`client_id`]).
fn client_address(id: Id) -> Option<SocketAddr> {
    let raw = usize::from(id) as u64;
    (raw >> 63 == 1).then(|| SocketAddr::from(SocketAddrV4::from(id)))
}

/// A client id for a client at `addr`: a random 15-bit tag above the top bit, so that it
/// is never a server's (an address-derived id has its top 16 bits clear) and a later
/// client on the same port is most likely a new client, and the address below them.
pub fn client_id(addr: SocketAddrV4, tag: u16) -> Id {
    let raw = u64::from(tag | 0x8000) << 48 | usize::from(Id::from(addr)) as u64;
    Id::from(raw as usize)
}

/// A uniformly random duration in `range` (its start if the range is empty).
fn pick_duration(range: Range<Duration>) -> Duration {
    if range.end <= range.start {
        return range.start;
    }
    let nanos = rand::rng().random_range(range.start.as_nanos()..range.end.as_nanos());
    Duration::from_nanos(nanos as u64)
}
