//! The runtime over real loopback sockets: a node obeys partition and heal commands from
//! its operator, drops traffic from and to the peers cut off, and counts what it dropped;
//! a timer that came due while a datagram waited fires first; a timer fired from outside
//! runs at once.

use super::admin::command;
use super::admit::Admit;
use super::durable::Durable;
use super::frame::{decode, decode_body, encode, ClusterKey, Kind, MAX_DATAGRAM};
use super::partition::AdminCommand;
use super::stats::StatsReply;
use super::test_run::{run_beside, WAIT};
use super::{Endpoint, Runtime};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

/// A peer-only message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Note(u64);

impl Admit for Note {
    fn open_to_anyone(&self) -> bool {
        false
    }
}

/// An actor that passes every note it gets on to all its peers, and sends them note 0
/// when its timer fires.
struct Echo {
    peers: Vec<Id>,
}

impl Actor for Echo {
    type Msg = Note;
    type State = ();
    type Timer = ();
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, _o: &mut Out<Self>) {}

    fn on_msg(&self, _id: Id, _state: &mut Cow<()>, _src: Id, msg: Note, o: &mut Out<Self>) {
        o.broadcast(&self.peers, &msg);
    }

    fn on_timeout(&self, _id: Id, _state: &mut Cow<()>, _timer: &(), o: &mut Out<Self>) {
        o.broadcast(&self.peers, &Note(0));
    }
}

/// An actor that answers each note with whether its timer, set for a second when it
/// starts, has fired; note 0 holds the node past that second, as a process paused by the
/// operating system is held, while the next note waits in its socket.
struct Gate {
    peers: Vec<Id>,
}

/// [`Gate`]'s one timer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Close;

impl Actor for Gate {
    type Msg = Note;
    type State = bool;
    type Timer = Close;
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> bool {
        o.set_timer(Close, Duration::from_secs(1)..Duration::from_secs(1));
        false
    }

    fn on_msg(&self, _id: Id, closed: &mut Cow<bool>, _src: Id, note: Note, o: &mut Out<Self>) {
        let reply = Note(u64::from(**closed));
        if note.0 == 0 {
            std::thread::sleep(Duration::from_millis(1500));
        }
        o.broadcast(&self.peers, &reply);
    }

    fn on_timeout(&self, _id: Id, closed: &mut Cow<bool>, _timer: &Close, _o: &mut Out<Self>) {
        *closed.to_mut() = true;
    }
}

/// A peer played by the test: a socket on loopback and the id derived from it.
struct Peer {
    socket: UdpSocket,
    id: Id,
}

impl Peer {
    fn new() -> Self {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let id = Id::from(loopback(&socket));
        Peer { socket, id }
    }

    fn send(&self, to: SocketAddr, note: u64, key: Option<&ClusterKey>) {
        let bytes = encode(Kind::Msg, self.id, &Note(note), key).unwrap();
        self.socket.send_to(&bytes, to).unwrap();
    }

    /// The next note that arrives, waiting at most [`WAIT`].
    fn receive(&self) -> u64 {
        self.socket.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        let (n, _) = self.socket.recv_from(&mut buf).expect("a note arrives");
        let frame = decode(&buf[..n], None).unwrap();
        decode_body::<Note>(frame.body).unwrap().0
    }

    /// True if nothing has arrived. Loopback delivers a datagram into the receiver's
    /// buffer during the sender's call, so this is exact once a later note has arrived.
    fn got_nothing(&self) -> bool {
        self.socket.set_nonblocking(true).unwrap();
        let got = self.socket.recv_from(&mut [0u8; 64]);
        self.socket.set_nonblocking(false).unwrap();
        matches!(got, Err(e) if e.kind() == ErrorKind::WouldBlock)
    }
}

/// Runs an [`Echo`] node whose peers are `peers` while `body` talks to it at its address.
fn with_node(peers: &[&Peer], key: Option<ClusterKey>, body: impl FnOnce(SocketAddr)) {
    with_actor(echo(peers), peers, key, body)
}

/// An [`Echo`] to `peers`.
fn echo(peers: &[&Peer]) -> Echo {
    Echo {
        peers: peers.iter().map(|p| p.id).collect(),
    }
}

/// `actor` as a node whose peers are `peers`, started but not running, and its address.
fn start_actor<A>(actor: A, peers: &[&Peer], key: Option<ClusterKey>) -> (Runtime<A>, SocketAddr)
where
    A: Actor,
    A::Msg: Admit + Serialize + DeserializeOwned,
    A::Storage: Durable,
{
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = loopback(&socket);
    drop(socket);
    let endpoint = Endpoint {
        id: Id::from(addr),
        bind: SocketAddr::from(addr),
        peers: peers
            .iter()
            .map(|p| (p.id, p.socket.local_addr().unwrap()))
            .collect(),
        key,
        data: None,
    };
    let node = Runtime::start(actor, endpoint, |_| "test node".into()).unwrap();
    (node, SocketAddr::from(addr))
}

/// Runs `actor` as a node whose peers are `peers` while `body` talks to it at its address.
fn with_actor<A>(actor: A, peers: &[&Peer], key: Option<ClusterKey>, body: impl FnOnce(SocketAddr))
where
    A: Actor,
    A::Msg: Admit + Serialize + DeserializeOwned,
    A::Storage: Durable,
    Runtime<A>: Send,
{
    let (node, addr) = start_actor(actor, peers, key);
    run_beside(node, || body(addr));
}

/// The IPv4 loopback address a socket is bound to.
fn loopback(socket: &UdpSocket) -> SocketAddrV4 {
    match socket.local_addr().unwrap() {
        SocketAddr::V4(addr) => addr,
        other => panic!("{other} is not IPv4"),
    }
}

fn obey(node: SocketAddr, what: AdminCommand, key: Option<&ClusterKey>) -> StatsReply {
    command(node, &what, key, WAIT).expect("the node acknowledges")
}

#[test]
fn a_partitioned_node_drops_traffic_from_and_to_the_cut_peers_until_healed() {
    let (b, d) = (Peer::new(), Peer::new());
    with_node(&[&b, &d], None, |node| {
        d.send(node, 1, None);
        assert_eq!((b.receive(), d.receive()), (1, 1));

        let cut = AdminCommand::Partition { peers: vec![b.id] };
        let ack = obey(node, cut, None);
        assert_eq!(ack.partitioned_from, vec![b.id]);
        assert_eq!(ack.stats.admin_commands, 1);

        // From b: dropped. From d: passed on to d, but not to b.
        b.send(node, 2, None);
        d.send(node, 3, None);
        assert_eq!(d.receive(), 3);
        assert!(b.got_nothing());

        let healed = obey(node, AdminCommand::Heal, None);
        assert!(healed.partitioned_from.is_empty());
        let s = &healed.stats;
        assert_eq!((s.partitioned_in, s.partitioned_out), (1, 1));
        assert_eq!((s.msgs_in, s.msgs_out, s.admin_commands), (2, 3, 2));

        b.send(node, 4, None);
        assert_eq!((b.receive(), d.receive()), (4, 4));
    });
}

#[test]
fn a_timer_that_came_due_while_a_datagram_waited_fires_before_it_is_handled() {
    let b = Peer::new();
    with_actor(Gate { peers: vec![b.id] }, &[&b], None, |node| {
        b.send(node, 0, None);
        b.send(node, 1, None);
        assert_eq!(b.receive(), 0, "note 0 is handled before its timer is due");
        assert_eq!(
            b.receive(),
            1,
            "the timer, due by then, fired before note 1"
        );
    });
}

#[test]
fn with_a_cluster_key_only_a_signed_command_is_obeyed() {
    let key = ClusterKey::new("secret");
    let b = Peer::new();
    with_node(&[&b], Some(key.clone()), |node| {
        let cut = AdminCommand::Partition { peers: vec![b.id] };
        let unsigned = command(node, &cut, None, Duration::from_millis(600));
        assert_eq!(unsigned.unwrap_err().kind(), ErrorKind::TimedOut);
        let wrong = command(node, &cut, Some(&ClusterKey::new("guess")), WAIT / 50);
        assert!(wrong.is_err());

        let ack = obey(node, cut, Some(&key));
        assert_eq!(ack.partitioned_from, vec![b.id]);
        assert_eq!(ack.stats.admin_commands, 1);
        assert!(ack.stats.dropped_admin >= 2, "{:?}", ack.stats);
        b.send(node, 1, Some(&key));
        let healed = obey(node, AdminCommand::Heal, Some(&key));
        assert_eq!(healed.stats.partitioned_in, 1);
    });
}

#[test]
fn a_timer_fired_from_outside_runs_at_once_and_sends_what_it_sends() {
    let b = Peer::new();
    let (mut node, _) = start_actor(echo(&[&b]), &[&b], None);
    assert!(b.got_nothing());
    node.fire(()).unwrap();
    assert_eq!(b.receive(), 0);
    assert_eq!(node.stats().timers_fired, 1);
}
