//! What `coord test` needs to know of the system it tests; everything else (the cluster,
//! the clients' loop, the faults, the history, the verdict) is the same for every system.

use super::role::Role;
use coord::net::admin::request_stats;
use coord::net::stats::StatsReply;
use coord_specs::history::{Client, History, HistorySpec};
use rand::rngs::StdRng;
use rand::Rng;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// The operations and results of system `S`'s spec.
pub type Op<S> = <<S as Subject>::Spec as stateright::semantics::SequentialSpec>::Op;
pub type Ret<S> = <<S as Subject>::Spec as stateright::semantics::SequentialSpec>::Ret;

/// A system under test: its workload, how its client actor performs one operation, and
/// how to read back and judge what was written.
pub trait Subject: Sync {
    /// The sequential spec its histories are checked against.
    type Spec: HistorySpec<
        Op: Serialize + DeserializeOwned + Send,
        Ret: Serialize + DeserializeOwned + Send,
    >;
    /// The name `coord history check --spec` knows the spec by.
    const SPEC: &'static str;
    /// What one client of the workload keeps from one operation to the next (a session);
    /// the default is what it holds before its first.
    type Conn: Default;

    /// Operations to perform before the workload starts (creating what it works on).
    fn setup(&self) -> Vec<Op<Self>> {
        Vec::new()
    }

    /// The name of the workload's `i`th key.
    fn key(&self, i: u16) -> String;

    /// A write of `value` to `key`, only if its version is `expected` (if given).
    fn write(&self, key: &str, value: &str, expected: Option<i64>) -> Op<Self>;

    /// True if `ret` says the operation did not take effect (Jepsen's `:fail`).
    fn failed(&self, ret: &Ret<Self>) -> bool;

    /// Performs `op` with the system's client actor, on behalf of the client that keeps
    /// `conn`, until its reply, `deadline` or `stop`; calls `on_reply` the moment the reply
    /// arrives. A `strict` read reflects every write acknowledged before it, whatever
    /// reads the workload makes.
    fn perform(
        &self,
        conn: &mut Self::Conn,
        op: Op<Self>,
        strict: bool,
        stop: &AtomicBool,
        deadline: Instant,
        on_reply: &mut dyn FnMut(&Ret<Self>),
    ) -> Result<Option<Ret<Self>>, String>;

    /// What `op` wrote, if it is a write that `ret` acknowledges.
    fn write_of<'a>(&self, op: &'a Op<Self>, ret: &'a Ret<Self>) -> Option<Versioned<'a>>;

    /// What `op` read, if it is a read that returned `ret`.
    fn read_of<'a>(&self, op: &'a Op<Self>, ret: &'a Ret<Self>) -> Option<Versioned<'a>>;

    /// A read of `key`.
    fn read(&self, key: &str) -> Op<Self>;

    /// Member `addr`'s stats, which the judgments below read (`None`: no answer within
    /// `wait`). By default a coord node's stats reply.
    fn stats(&self, addr: SocketAddr, wait: Duration) -> Option<StatsReply> {
        request_stats(addr, wait).ok()
    }

    /// True if the cluster whose members' stats these are can serve (a leader is
    /// elected, a chain is published).
    fn ready(&self, nodes: &[StatsReply]) -> bool;

    /// The members holding `role`, among the members whose stats these are (`None`: no
    /// answer).
    fn holders(&self, nodes: &[Option<StatsReply>], role: Role) -> Vec<usize>;

    /// True if the members whose stats these are (`None`: no answer) serve without member
    /// `target` in `role`, the role it held (`None`: not known): another server leads in
    /// its place, or the chain was rebuilt without it. A follower is never replaced.
    fn replaced(&self, nodes: &[Option<StatsReply>], target: usize, role: Option<Role>) -> bool;

    /// The groups of members (index ranges) the fault injector may hit, each of which
    /// must keep a majority up to serve: by default all the members, as one Raft group.
    fn groups(&self, members: usize) -> Vec<Range<usize>> {
        std::iter::once(0..members).collect()
    }

    /// True if every node's state has caught up with the others' (all answered).
    fn settled(&self, nodes: &[StatsReply]) -> bool;
}

/// The first reply to a client's one call: kept, and told to `on_reply` the moment it
/// arrives. Later copies (a retried call answered twice) are ignored.
pub struct FirstReply<'a, R> {
    pub answer: Option<R>,
    on_reply: &'a mut dyn FnMut(&R),
}

impl<'a, R> FirstReply<'a, R> {
    pub fn new(on_reply: &'a mut dyn FnMut(&R)) -> Self {
        let answer = None;
        FirstReply { answer, on_reply }
    }

    /// A reply arrived; `ret` makes the result.
    pub fn offer(&mut self, ret: impl FnOnce() -> R) {
        if self.answer.is_none() {
            let ret = ret();
            (self.on_reply)(&ret);
            self.answer = Some(ret);
        }
    }
}

/// What a client of the workload remembers: the newest version it saw of each key (the
/// version its next conditional write expects), and how many values it has written (each
/// value is unique, `c<client>-<n>`, so a read names the write it saw).
pub struct Session {
    pub client: Client,
    seen: BTreeMap<String, i64>,
    written: u64,
}

impl Session {
    pub fn new(client: Client) -> Self {
        Session {
            client,
            seen: BTreeMap::new(),
            written: 0,
        }
    }

    /// The client's next operation among `keys` keys: a read `reads` times in a hundred,
    /// otherwise a write, two in five of them conditional on the version last seen.
    pub fn next<S: Subject>(
        &mut self,
        subject: &S,
        keys: u16,
        reads: u8,
        rng: &mut StdRng,
    ) -> Op<S> {
        let key = subject.key(rng.random_range(0..keys));
        let roll = rng.random_range(0..100u8);
        if roll < reads {
            return subject.read(&key);
        }
        self.written += 1;
        let value = format!("c{}-{}", self.client, self.written);
        let conditional = 5 * u16::from(roll - reads) >= 3 * u16::from(100 - reads);
        let expected = conditional.then(|| self.seen.get(&key).copied().unwrap_or(0));
        subject.write(&key, &value, expected)
    }

    /// The client saw `ret` for `op`.
    pub fn saw<S: Subject>(&mut self, subject: &S, op: &Op<S>, ret: &Ret<S>) {
        let shown = subject
            .write_of(op, ret)
            .or_else(|| subject.read_of(op, ret));
        if let Some(shown) = shown {
            self.seen.insert(shown.key.to_string(), shown.version);
        }
    }
}

/// A key's value and version, as a write wrote it or a read returned it. Rule: every
/// write that takes effect raises its key's version by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versioned<'a> {
    pub key: &'a str,
    /// `None` for a key that does not exist.
    pub value: Option<&'a str>,
    pub version: i64,
    /// Where the write that made this state stands in the order of all the system's
    /// writes (ZooKeeper's `mzxid`), if the system numbers its writes in one order.
    pub zxid: Option<u64>,
}

/// The reads that read back every key that an acknowledged write of `history` wrote.
pub fn read_back<S: Subject>(subject: &S, history: &History<S::Spec>) -> Vec<Op<S>> {
    let keys: BTreeSet<&str> = (history.iter())
        .filter_map(|op| subject.write_of(&op.op, op.ret()?))
        .map(|w| w.key)
        .collect();
    keys.into_iter().map(|key| subject.read(key)).collect()
}

/// How many acknowledged writes of `history` the final reads (the operations of `reader`)
/// show, lost, or do not cover. Rule (versions): an acknowledged write at version v is
/// lost if the final read shows a version below v, or v with another value.
pub fn lost_writes<S: Subject>(subject: &S, history: &History<S::Spec>, reader: Client) -> Writes {
    let mut last: BTreeMap<&str, Versioned> = BTreeMap::new();
    for op in history.iter().filter(|op| op.client == reader) {
        if let Some(read) = op.ret().and_then(|ret| subject.read_of(&op.op, ret)) {
            last.insert(read.key, read);
        }
    }
    let mut writes = Writes::default();
    for op in history.iter().filter(|op| op.client != reader) {
        let Some(write) = op.ret().and_then(|ret| subject.write_of(&op.op, ret)) else {
            continue;
        };
        writes.acknowledged += 1;
        match last.get(write.key) {
            None => writes.unverified += 1,
            Some(last) => {
                let kept = write.version < last.version
                    || (write.version == last.version && write.value == last.value);
                writes.lost += usize::from(!kept);
            }
        }
    }
    writes
}

/// The acknowledged writes of a run, as the final reads found them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Writes {
    pub acknowledged: usize,
    /// Acknowledged, but the final read shows an older state.
    pub lost: usize,
    /// Acknowledged on a key whose final read got no reply.
    pub unverified: usize,
}
