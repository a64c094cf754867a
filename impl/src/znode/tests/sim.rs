//! A cluster of znode servers in one test: messages between servers go through one FIFO
//! queue that a test runs, holds or edits; what servers send to connections is collected
//! per connection. Timers fire only when a test fires them.

use crate::raft::{Entry, Msg, Payload, RaftServer, RaftTimer};
use crate::znode::conn::{Call, Connect, Connected, Passwd, Request};
use crate::znode::server::SessionRules;
use crate::znode::txn::Txn;
use crate::znode::{ZkBug, ZkMsg, ZkServer, ZkServerState, ZkTimer};
use coord_specs::znode::{SessionId, ZkOp, Zxid};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::time::Duration;

/// The id of test connection `k` (far above the servers').
pub fn conn(k: usize) -> Id {
    Id::from(100 + k)
}

fn timeout() -> Range<Duration> {
    Duration::from_millis(150)..Duration::from_millis(300)
}

pub struct Sim {
    pub servers: Vec<ZkServer>,
    pub states: Vec<ZkServerState>,
    /// Messages between servers not delivered yet: (from, to, message).
    pub net: VecDeque<(Id, Id, ZkMsg)>,
    /// What each connection received, in order.
    pub inbox: BTreeMap<Id, Vec<ZkMsg>>,
    /// Timers set, by server and timer, with their range.
    pub timers: BTreeMap<(usize, ZkTimer), Range<Duration>>,
}

impl Sim {
    /// `n` servers with these session rules and bug, none elected yet.
    pub fn new(n: usize, rules: SessionRules, bug: Option<ZkBug>) -> Sim {
        let ids: Vec<Id> = (0..n).map(Id::from).collect();
        let servers: Vec<ZkServer> = (ids.iter())
            .map(|&me| {
                let peers = ids.iter().copied().filter(|&p| p != me).collect();
                ZkServer::new(RaftServer::new(peers, timeout()))
                    .with_sessions(rules.clone())
                    .with_bug(bug)
            })
            .collect();
        let mut sim = Sim {
            servers,
            states: Vec::new(),
            net: VecDeque::new(),
            inbox: BTreeMap::new(),
            timers: BTreeMap::new(),
        };
        for i in 0..n {
            let mut out = Out::new();
            let state = sim.servers[i].on_start(Id::from(i), &None, &mut out);
            sim.states.push(state);
            sim.absorb(i, out);
        }
        sim
    }

    /// Three servers, server 0 elected, everything delivered.
    pub fn three() -> Sim {
        Sim::elected(3, SessionRules::default(), None)
    }

    /// `n` servers with these rules and bug, server 0 elected, everything delivered.
    pub fn elected(n: usize, rules: SessionRules, bug: Option<ZkBug>) -> Sim {
        let mut sim = Sim::new(n, rules, bug);
        sim.fire(0, ZkTimer::Raft(RaftTimer::Election));
        sim.run();
        assert!(sim.states[0].raft.is_leader());
        sim
    }

    fn absorb(&mut self, i: usize, out: Out<ZkServer>) {
        for command in out {
            match command {
                Command::Send(to, msg) if usize::from(to) < self.states.len() => {
                    self.net.push_back((Id::from(i), to, msg))
                }
                Command::Send(to, msg) => self.inbox.entry(to).or_default().push(msg),
                Command::SetTimer(t, range) => {
                    self.timers.insert((i, t), range);
                }
                Command::CancelTimer(t) => {
                    self.timers.remove(&(i, t));
                }
                Command::Save(_) | Command::ChooseRandom(..) => {}
            }
        }
    }

    /// Server `i` handles `msg` from `src` now.
    pub fn deliver(&mut self, src: Id, i: usize, msg: ZkMsg) {
        let mut state = Cow::Borrowed(&self.states[i]);
        let mut out = Out::new();
        self.servers[i].on_msg(Id::from(i), &mut state, src, msg, &mut out);
        let next = state.into_owned();
        self.states[i] = next;
        self.absorb(i, out);
    }

    /// Server `i`'s `timer` fires.
    pub fn fire(&mut self, i: usize, timer: ZkTimer) {
        let mut state = Cow::Borrowed(&self.states[i]);
        let mut out = Out::new();
        self.servers[i].on_timeout(Id::from(i), &mut state, &timer, &mut out);
        let next = state.into_owned();
        self.states[i] = next;
        self.absorb(i, out);
    }

    /// Delivers messages between servers until none is left.
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            let Some((src, to, msg)) = self.net.pop_front() else {
                return;
            };
            self.deliver(src, usize::from(to), msg);
        }
        panic!("the servers never fall quiet");
    }

    /// A heartbeat of the leader (server 0), delivered.
    pub fn beat(&mut self) {
        self.fire(0, ZkTimer::Raft(RaftTimer::Heartbeat));
        self.run();
    }

    /// Server `i`'s resend period begins (see `SessionRules::resend_after`), and everything
    /// is delivered.
    pub fn resend(&mut self, i: usize) {
        self.fire(i, ZkTimer::Resend);
        self.run();
    }

    /// Takes what connection `c` received so far.
    pub fn take(&mut self, c: Id) -> Vec<ZkMsg> {
        self.inbox.remove(&c).unwrap_or_default()
    }

    /// The one message connection `c` received since it was last taken.
    pub fn one(&mut self, c: Id) -> ZkMsg {
        match <[ZkMsg; 1]>::try_from(self.take(c)) {
            Ok([msg]) => msg,
            Err(got) => panic!("not one message: {got:?}"),
        }
    }

    /// Connection `c` sends `msg` to server `i`, and the cluster runs.
    pub fn send(&mut self, c: Id, i: usize, msg: ZkMsg) {
        self.deliver(c, i, msg);
        self.run();
    }

    /// Connection `c` opens a new session at server `i`; returns its id and password.
    pub fn open(&mut self, c: Id, i: usize) -> (SessionId, Passwd) {
        self.send(c, i, connect(0, [0; 16], 0));
        match self.take(c).as_slice() {
            [ZkMsg::Connected(Connected {
                session, passwd, ..
            })] => (*session, *passwd),
            other => panic!("no session: {other:?}"),
        }
    }

    /// Connection `c` sends request `xid` for `op` to server `i` (at time `xid`).
    pub fn op(&mut self, c: Id, i: usize, xid: i32, op: ZkOp) {
        self.send(c, i, request(xid, Call::Op(op), false));
    }

    /// The same, leaving a watch.
    pub fn watch(&mut self, c: Id, i: usize, xid: i32, op: ZkOp) {
        self.send(c, i, request(xid, Call::Op(op), true));
    }

    /// Takes the messages between servers that match `keep`, leaving the others queued.
    pub fn intercept(&mut self, keep: impl Fn(&(Id, Id, ZkMsg)) -> bool) -> Vec<(Id, Id, ZkMsg)> {
        let (taken, left) = std::mem::take(&mut self.net).into_iter().partition(keep);
        self.net = left;
        Vec::from(taken)
    }
}

/// A `Connect` for `session` (0: new) with `passwd`, having seen `last_zxid`.
pub fn connect(session: SessionId, passwd: Passwd, last_zxid: Zxid) -> ZkMsg {
    ZkMsg::Connect(Connect {
        session,
        passwd,
        timeout_ms: 30_000,
        last_zxid,
        client: "127.0.0.1".into(),
    })
}

/// Request `xid` for `call` (at time `xid` ms).
pub fn request(xid: i32, call: Call, watch: bool) -> ZkMsg {
    ZkMsg::Request(Request {
        xid,
        call,
        watch,
        time: i64::from(xid),
        once: None,
    })
}

/// Leader 0's AppendEntries of `term` to a follower whose log ends at `prev` (of `term`),
/// carrying `txns` and committing all of them.
pub fn append(term: u64, prev: u64, txns: Vec<Txn>) -> ZkMsg {
    let commit = prev + txns.len() as u64;
    let entries = (txns.into_iter().enumerate())
        .map(|(k, op)| Entry {
            term,
            client: Id::from(0),
            seq: prev + 1 + k as u64,
            op: Payload::Op(op),
        })
        .collect();
    ZkMsg::Peer(Msg::Append {
        term,
        prev_index: prev,
        prev_term: if prev == 0 { 0 } else { term },
        entries,
        commit,
        round: 0,
    })
}
