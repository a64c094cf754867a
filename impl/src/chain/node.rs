//! The chain node actor (van Renesse and Schneider, OSDI 2004, with CRAQ's reads, Terrace
//! and Freedman, USENIX ATC 2009): one state machine, a handler per message, no IO.
//!
//! Writes enter at the head and travel down the chain; the tail commits them and answers
//! the client; acknowledgements travel back up so that every node learns which prefix of
//! its history is committed (its "sent" list is the rest). The history and configuration
//! are saved with `o.save(..)` before any message that depends on them.
//!
//! The paper assumes FIFO links that lose nothing, and on such links ([`Links::Fifo`], the
//! models' `chain`, `craq` and `chain-rejoin`) a node runs the paper's protocol as it is.
//! UDP may lose, repeat and reorder messages ([`Links::Lossy`], the runtime and the model
//! `chain-lossy`). The invariant kept is the paper's update propagation: along the chain,
//! each node's history is a prefix of its predecessor's. On lossy links three more rules
//! keep it, and keep every write moving, whatever the links do:
//! - a `Forward` names its update's position, and a node appends only the update at its
//!   own length; on a gap it asks its predecessor for the rest (`Holding`, the message
//!   that repairs a middle failure), and an update it already holds is a retry: known
//!   committed, its client is answered again and the predecessor acknowledged; not yet,
//!   it is passed on down the chain;
//! - a client's retry of a write the head holds drives it again: answered from the
//!   result kept for that client if committed, passed on down the chain otherwise;
//! - on its resend timer a node says again what it holds (`Holding`), and a joining node
//!   asks again for its copy (`Fetch`) or its place (`Join`); the manager publishes its
//!   configuration again on its own timer.

use super::lease::Lease;
use super::store::{advance, latest, note, History, View};
use super::types::{ChainStorage, Config, Epoch, Msg, Update};
use crate::bug::NamedBug;
use crate::client::ClientMsg;
use crate::invariants::{checked, debug_started};
use crate::kv::KvStore;
use coord_specs::kv::{KvOp, KvRet};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

type M = Msg<KvOp, KvRet>;

/// Where reads are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReadMode {
    /// Chain replication: only the tail answers reads.
    Tail,
    /// CRAQ: any member answers; a clean key from its own history, a dirty key at the
    /// version the tail reports committed.
    Craq,
    /// CRAQ's eventual-consistency reads: any member answers from its newest version,
    /// committed or not. Not linearizable; a client reading one node never goes back.
    Newest,
}

/// A deliberate mistake, off by default, that a model switches on to show the checker
/// catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChainBug {
    /// Messages stamped with an older epoch are acted on, so a halted node's last updates
    /// still land after the chain was rebuilt around it.
    OldEpoch,
    /// On a new configuration a node does not resend what its successor reports lacking:
    /// the resend that repairs a middle failure, and that every reconfiguration relies on
    /// for updates held back or dropped as old while the epochs changed.
    NoResend,
    /// A write is acknowledged as soon as the head accepts it, before the tail applies it.
    EarlyReply,
    /// A rejoining node trusts the history it stored before it failed and copies only what
    /// comes after it, so updates the chain never committed (a head's write it had not
    /// forwarded) stay in its history and it commits them as the new tail.
    KeepStale,
    /// On lossy links, a `Forward` is appended wherever it arrives, whatever its position
    /// (what the paper's FIFO links that lose nothing allow): after a lost update the next
    /// one lands one place early, and a repeated one lands twice.
    NoPosition,
    /// At run time, reads are answered without a lease: a node the manager removed while
    /// it was paused or cut off answers from a history the chain has moved past.
    NoLease,
    /// A restarted node ignores what it stored and starts as a new member of the first
    /// chain, its history empty, as a node whose data directory was lost or never read
    /// would: after every node restarts at once, the chain serves without the writes it
    /// acknowledged.
    RestartEmpty,
}

impl NamedBug for ChainBug {
    const NAMED: &'static [(&'static str, ChainBug)] = &[
        ("old-epoch", ChainBug::OldEpoch),
        ("no-resend", ChainBug::NoResend),
        ("early-reply", ChainBug::EarlyReply),
        ("keep-stale", ChainBug::KeepStale),
        ("no-position", ChainBug::NoPosition),
        ("no-lease", ChainBug::NoLease),
        ("restart-empty", ChainBug::RestartEmpty),
    ];
    const RUN_TIME_ONLY: &'static [&'static str] = &["no-lease"];
}

/// The node's timers in the models: fail-stop (the paper's failure model) and the
/// recovery of a failed node. When `Halt` fires the node halts and the manager's failure
/// detector reports it; when `Rejoin` fires a halted node restarts from what it stored,
/// as a restarted process does, and asks to join at the tail.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChainTimer {
    Halt,
    Rejoin,
    /// At run time: send the manager a heartbeat.
    Beat,
    /// At run time: the lease asked for by heartbeat `n` runs out.
    LeaseEnd(u64),
    /// On links that may lose messages: say again what this node holds, or (joining)
    /// ask again for its copy or its place.
    Resend,
}

/// What the links between actors may do, which decides the rules a node follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Links {
    /// The paper's assumption: each link is FIFO and loses nothing. An update arrives at
    /// its receiver's end of the history, a retried write needs no re-driving, and no
    /// timer is needed: the paper's protocol as it is.
    Fifo,
    /// Links that lose, repeat and reorder messages (UDP): a `Forward` is appended only
    /// at its position, a retried write drives its update again, and every `resend` the
    /// node says again what it holds, or (joining) asks again for its copy or its place.
    Lossy { resend: Range<Duration> },
}

/// A chain node's configuration.
#[derive(Clone, Debug)]
pub struct ChainNode {
    /// The configuration manager's replicas (one for the paper's single master), each
    /// sent what the node tells the manager: only the leader acts on it.
    pub managers: Vec<Id>,
    /// The chain at epoch 0, head first.
    pub members: Vec<Id>,
    pub reads: ReadMode,
    /// When the node may fail-stop, or `None` for never (at run time the manager's missed
    /// heartbeats find failures instead).
    pub halt: Option<Range<Duration>>,
    /// When a halted node restarts from its storage and rejoins, or `None` for never (at
    /// run time a restarted process does this in `on_start`).
    pub rejoin: Option<Range<Duration>>,
    /// How often to send the manager a heartbeat, or `None` for never (the models, where
    /// failures are reported by the failing node itself).
    pub heartbeat: Option<Range<Duration>>,
    pub links: Links,
    /// How long a lease runs from the heartbeat that asked for it: shorter than the
    /// manager's detector takes to remove a silent member. `None` in the models, where no
    /// node is removed while it runs, and reads need no lease.
    pub lease: Option<Range<Duration>>,
    /// The most updates in one `Copy` message (a datagram's worth at run time).
    pub copy_chunk: usize,
    pub bug: Option<ChainBug>,
}

/// A node's state. `config` and `history` mirror what was last saved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeState {
    pub config: Config,
    /// Every update this node has received, in the order the head accepted them.
    pub history: History,
    /// How many updates of `history` are known to be at the tail; the rest were sent down
    /// the chain but not yet acknowledged.
    pub committed: usize,
    /// The map after the first `committed` updates: the clean version of every key.
    pub clean: KvStore,
    /// Each client's last committed update (sequence number and result), to answer a
    /// retry whose first answer was lost, as Raft's session table does.
    pub answers: BTreeMap<Id, (u64, KvRet)>,
    /// How many times the history lost a suffix (see [`ChainStorage`]).
    pub cuts: u64,
    /// Each client's highest sequence number in the history, for duplicate suppression
    /// without a scan of the history.
    pub latest: BTreeMap<Id, u64>,
    /// False from a change of successor until the new successor says what it holds:
    /// nothing is forwarded meanwhile, so that it receives the updates in history order.
    pub synced: bool,
    /// Fail-stop: a halted node does nothing until it restarts. Unless it may rejoin,
    /// only its configuration is kept, for the models to see which position failed.
    pub halted: bool,
    /// `Some` while the node joins at the tail. A joining node serves nothing, commits
    /// nothing and forwards nothing until its copy is complete.
    pub joining: Option<Joining>,
    /// At run time: the read lease from the manager.
    pub lease: Lease,
}

/// Where a joining node is (van Renesse and Schneider, section 3, "extending a chain").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Joining {
    /// It has copied the first `copied` updates of its predecessor's history; any updates
    /// after them are stale ones it stored before it failed, which the copy replaces.
    pub copied: usize,
    /// The epoch of its last `Join`. It copies only in a newer epoch, which the manager
    /// made after that request (by applying it, or before it arrived): so no later
    /// reconfiguration can be its own join applied late, moving it once it serves.
    /// Resuming, the epoch of its stored configuration.
    pub asked: Epoch,
    /// True while a node restarted on a whole history asks to keep its place
    /// ([`Msg::Resume`]) rather than to join at the tail.
    pub resume: bool,
}

impl NodeState {
    /// A node that starts with `config` and `history` (fresh, or as found in storage):
    /// nothing is known to be committed, and nothing is held back.
    pub fn recovered(config: Config, history: History, cuts: u64) -> Self {
        NodeState {
            latest: latest(&history),
            config,
            history,
            committed: 0,
            clean: KvStore::default(),
            answers: BTreeMap::new(),
            cuts,
            synced: true,
            halted: false,
            joining: None,
            lease: Lease::default(),
        }
    }

    pub fn is_head(&self, me: Id) -> bool {
        self.config.head() == Some(me)
    }

    pub fn is_tail(&self, me: Id) -> bool {
        self.config.tail() == Some(me)
    }

    pub fn view(&self) -> View<'_> {
        View {
            history: &self.history,
            committed: self.committed,
            clean: &self.clean,
        }
    }

    /// Whether this node's history starts with all of `other`'s (update propagation).
    pub fn extends(&self, other: &NodeState) -> bool {
        other.history.len() <= self.history.len()
            && self
                .history
                .iter()
                .zip(other.history.iter())
                .all(|(a, b)| a == b)
    }

    /// Marks the first `upto` updates (at most the history) committed, keeping the clean
    /// map and the clients' answers in step; returns the results of the updates newly
    /// committed.
    pub(crate) fn commit_to(&mut self, upto: usize) -> Vec<KvRet> {
        let upto = upto.min(self.history.len());
        let from = self.committed;
        let results = advance(&mut self.clean, &self.history, from, upto);
        for (update, ret) in self.history.skip(from).iter().zip(&results) {
            self.answers
                .insert(update.client, (update.seq, ret.clone()));
        }
        self.committed = self.committed.max(upto);
        results
    }

    /// True while the node is still copying its predecessor's history.
    pub fn is_joining(&self) -> bool {
        self.joining.is_some()
    }

    /// The result of client `client`'s request `seq`, if it is the client's last
    /// committed update.
    fn answer(&self, client: Id, seq: u64) -> Option<&KvRet> {
        let (last, ret) = self.answers.get(&client)?;
        (*last == seq).then_some(ret)
    }

    /// The position of client `client`'s request `seq` among the updates not yet known
    /// committed.
    fn pending(&self, client: Id, seq: u64) -> Option<usize> {
        let at = (self.history.skip(self.committed).iter())
            .position(|u| u.client == client && u.seq == seq)?;
        Some(self.committed + at)
    }

    /// True if this node will never act on `msg`, now or after any later step: a halted
    /// node acts on nothing (what is sent to it while it is down is lost, as for a dead
    /// process, even if it rejoins later), and the epoch never goes down, so a message of
    /// an older epoch stays ignored (under the epoch rule). A model may drop such a message.
    pub fn ignores_forever(&self, msg: &M) -> bool {
        let old = msg.config().is_some_and(|c| c.epoch < self.config.epoch);
        self.halted || old || self.knows(msg)
    }

    /// True if `msg` tells this node nothing it will ever act on, now or later: a
    /// configuration no newer than its own, or (once it serves) an acknowledgement of no
    /// more than it knows committed, since neither the epoch nor the committed count of
    /// a serving node goes down. Links that repeat messages deliver these again and again.
    fn knows(&self, msg: &M) -> bool {
        match msg {
            Msg::NewConfig(config) => config.epoch <= self.config.epoch,
            Msg::Ack { config, upto } => {
                config.epoch == self.config.epoch && !self.is_joining() && *upto <= self.committed
            }
            _ => false,
        }
    }

    /// True if client `client`'s request `seq` (or a later one) is in the history: a
    /// retried write enters the chain once (and drives it again, see `on_retry`).
    fn has_update(&self, client: Id, seq: u64) -> bool {
        self.latest
            .get(&client)
            .is_some_and(|&latest| latest >= seq)
    }

    /// Appends `update` to the history.
    pub(super) fn append(&mut self, update: Update<KvOp>) {
        note(&mut self.latest, &update);
        self.history.push_back(update);
    }
}

impl ChainNode {
    pub(super) fn has_bug(&self, bug: ChainBug) -> bool {
        self.bug == Some(bug)
    }

    fn lossy(&self) -> bool {
        self.links != Links::Fifo
    }

    fn arm_resend(&self, o: &mut Out<Self>) {
        if let Links::Lossy { resend } = &self.links {
            o.set_timer(ChainTimer::Resend, resend.clone());
        }
    }

    pub(super) fn save(&self, state: &NodeState, o: &mut Out<Self>) {
        o.save(ChainStorage {
            config: state.config.clone(),
            history: state.history.clone(),
            cuts: state.cuts,
            serving: state.joining.is_none_or(|j| j.resume),
        });
    }

    fn reply(&self, client: Id, seq: u64, ret: KvRet, o: &mut Out<Self>) {
        o.send(client, Msg::Client(ClientMsg::Reply { seq, ret }));
    }

    fn redirect(&self, client: Id, seq: u64, to: Option<Id>, o: &mut Out<Self>) {
        o.send(client, Msg::Client(ClientMsg::Redirect { seq, leader: to }));
    }

    /// Update propagation: the tail commits the whole history and answers the client of
    /// every update it newly commits, then acknowledges upstream; any other node sends the
    /// update down the chain once its successor is in sync.
    fn propagate(&self, me: Id, state: &mut NodeState, o: &mut Out<Self>) {
        if state.is_tail(me) {
            self.commit_all(me, state, o);
        } else {
            self.pass_on(me, state, state.history.len() - 1, o);
        }
    }

    /// Sends update `index` of the history to the successor, with its position, once the
    /// successor is in sync.
    fn pass_on(&self, me: Id, state: &NodeState, index: usize, o: &mut Out<Self>) {
        if let (true, Some(next)) = (state.synced, state.config.successor(me)) {
            let config = state.config.clone();
            let update = state.history[index].clone();
            o.send(
                next,
                Msg::Forward {
                    config,
                    index,
                    update,
                },
            );
        }
    }

    /// Update `index`, which this node holds, came again: a repeat, or a write driven
    /// again by its client's retry. Known committed, its client is answered again (the
    /// first answer may be lost) and the predecessor acknowledged (so may the last `Ack`
    /// be); not yet, it is passed on, in case a later node lost it.
    fn redrive(&self, me: Id, state: &NodeState, index: usize, o: &mut Out<Self>) {
        if index >= state.committed {
            return self.pass_on(me, state, index, o);
        }
        let update = &state.history[index];
        if let Some(ret) = state.answer(update.client, update.seq) {
            self.reply(update.client, update.seq, ret.clone(), o);
        }
        if let Some(prev) = state.config.predecessor(me) {
            let config = state.config.clone();
            let upto = state.committed;
            o.send(prev, Msg::Ack { config, upto });
        }
    }

    /// Tells the predecessor, if any, how many updates this node holds, so that it sends
    /// the rest.
    fn say_holding(&self, me: Id, state: &NodeState, o: &mut Out<Self>) {
        if let Some(prev) = state.config.predecessor(me) {
            let config = state.config.clone();
            let len = state.history.len();
            o.send(prev, Msg::Holding { config, len });
        }
    }

    /// The tail's rule: everything it holds is committed. The client of each newly
    /// committed update gets its result, and the predecessor learns the committed prefix.
    pub(super) fn commit_all(&self, me: Id, state: &mut NodeState, o: &mut Out<Self>) {
        let len = state.history.len();
        let from = state.committed;
        for (i, ret) in (from..).zip(state.commit_to(len)) {
            let update = &state.history[i];
            self.reply(update.client, update.seq, ret, o);
        }
        if let Some(prev) = state.config.predecessor(me).filter(|_| len > 0) {
            let config = state.config.clone();
            o.send(prev, Msg::Ack { config, upto: len });
        }
    }

    /// Adopts a newer configuration (saved first). Messages of the older epoch are ignored
    /// from now on, so every link starts afresh: each node tells its predecessor how much
    /// it holds and forwards nothing until its successor has done the same (this is how a
    /// predecessor resends exactly what its new successor lacks after a middle failure).
    /// The tail commits what it holds, which makes the predecessor of a failed tail the
    /// tail. A joining node instead asks for the rest of its copy, or for its place.
    pub(super) fn install(
        &self,
        me: Id,
        state: &mut Cow<NodeState>,
        config: Config,
        o: &mut Out<Self>,
    ) {
        let node = state.to_mut();
        node.config = config;
        self.save(node, o);
        node.synced = node.config.successor(me).is_none();
        if node.is_joining() {
            return self.resume_join(me, state, o);
        }
        self.say_holding(me, node, o);
        if node.is_tail(me) {
            self.commit_all(me, node, o);
        }
    }

    /// A node starts again from what it stored, as a restarted process does, and joins:
    /// after a halt in the models, or at run time once it learns the manager removed it
    /// (it was silent too long: paused, cut off). Its heartbeats and their timers go on.
    fn rejoin(&self, state: &mut NodeState, o: &mut Out<Self>) {
        let lease = std::mem::take(&mut state.lease);
        let stored = (state.config.clone(), state.history.clone(), state.cuts);
        *state = NodeState::recovered(stored.0, stored.1, stored.2);
        state.lease = lease;
        self.join(state, o);
    }

    /// The manager's answer to a heartbeat. A node it names a member in the node's epoch
    /// (after adopting a newer one) holds a lease; a node it no longer names, unless it is
    /// joining already, was removed while it ran, and joins again at the tail.
    fn on_lease(
        &self,
        me: Id,
        state: &mut Cow<NodeState>,
        beat: u64,
        config: Config,
        o: &mut Out<Self>,
    ) {
        if config.epoch < state.config.epoch || state.is_joining() {
            return;
        }
        if !config.members.contains(&me) {
            return self.rejoin(state.to_mut(), o);
        }
        if config.epoch > state.config.epoch {
            self.install(me, state, config, o);
        }
        state.to_mut().lease.grant(beat);
    }

    /// Whether this node may answer a read from its own state: always in the models, and
    /// at run time while it holds a lease.
    fn may_read(&self, state: &NodeState) -> bool {
        self.lease.is_none() || state.lease.holds() || self.has_bug(ChainBug::NoLease)
    }

    /// A client's request: writes at the head, reads where the read mode allows;
    /// anywhere else the client is sent to the right node.
    fn on_request(
        &self,
        me: Id,
        state: &mut Cow<NodeState>,
        client: Id,
        seq: u64,
        op: KvOp,
        o: &mut Out<Self>,
    ) {
        if !state.config.members.contains(&me) || state.is_joining() {
            return;
        }
        if op.is_read() {
            if !self.may_read(state) {
                return;
            }
            return self.on_read(me, state, client, seq, op, o);
        }
        if !state.is_head(me) {
            return self.redirect(client, seq, state.config.head(), o);
        }
        if state.has_update(client, seq) {
            if self.lossy() {
                self.on_retry(me, state, client, seq, o);
            }
            return;
        }
        let state = state.to_mut();
        let epoch = state.config.epoch;
        state.append(Update {
            epoch,
            client,
            seq,
            op,
        });
        self.save(state, o);
        if self.has_bug(ChainBug::EarlyReply) {
            let i = state.history.len() - 1;
            self.reply(client, seq, state.view().result_of(i), o);
        }
        self.propagate(me, state, o);
    }

    /// A retried write that the head already holds: its client is answered if it is
    /// committed (the first answer was lost), and it is passed on down the chain if not
    /// (its first trip may have been lost). An older request is ignored: the client is
    /// past it.
    fn on_retry(&self, me: Id, state: &NodeState, client: Id, seq: u64, o: &mut Out<Self>) {
        if let Some(ret) = state.answer(client, seq) {
            self.reply(client, seq, ret.clone(), o);
        } else if let Some(index) = state.pending(client, seq) {
            self.pass_on(me, state, index, o);
        }
    }

    fn on_read(
        &self,
        me: Id,
        state: &NodeState,
        client: Id,
        seq: u64,
        op: KvOp,
        o: &mut Out<Self>,
    ) {
        let newest = state.history.len();
        match self.reads {
            ReadMode::Tail if !state.is_tail(me) => {
                self.redirect(client, seq, state.config.tail(), o)
            }
            ReadMode::Craq if state.view().is_dirty(op.key()) => {
                let tail = state.config.tail().expect("a member knows a tail");
                let config = state.config.clone();
                o.send(
                    tail,
                    Msg::Query {
                        config,
                        client,
                        seq,
                        op,
                    },
                );
            }
            ReadMode::Tail | ReadMode::Craq | ReadMode::Newest => {
                self.reply(client, seq, state.view().read_at(newest, &op), o)
            }
        }
    }

    /// Update `index` from the predecessor. On FIFO links it is always the next one, and
    /// appended as it arrives (the paper's rule). On lossy links it is appended if it is
    /// the next one, else it is a gap (an update before it was lost or is late), for which
    /// the predecessor is asked to send the rest, or one this node holds (see
    /// [`ChainNode::redrive`]).
    fn on_forward(
        &self,
        me: Id,
        state: &mut Cow<NodeState>,
        index: usize,
        update: Update<KvOp>,
        o: &mut Out<Self>,
    ) {
        let len = state.history.len();
        if index == len || !self.lossy() || self.has_bug(ChainBug::NoPosition) {
            let state = state.to_mut();
            state.append(update);
            self.save(state, o);
            self.propagate(me, state, o);
        } else if index > len {
            self.say_holding(me, state, o);
        } else {
            self.redrive(me, state, index, o);
        }
    }

    /// A message from another node, stamped with its sender's configuration: an older
    /// epoch is ignored (the rule that keeps a failed node's last words out of the rebuilt
    /// chain), a newer one is adopted first.
    fn on_peer(&self, me: Id, state: &mut Cow<NodeState>, src: Id, msg: M, o: &mut Out<Self>) {
        if state.ignores_forever(&msg) && !self.has_bug(ChainBug::OldEpoch) {
            return;
        }
        if let Some(config) = msg.config().filter(|c| c.epoch > state.config.epoch) {
            let config = config.clone();
            self.install(me, state, config, o);
        }
        if state.is_joining() {
            return self.on_copy(me, state, msg, o);
        }
        match msg {
            Msg::Forward { index, update, .. } => self.on_forward(me, state, index, update, o),
            Msg::Ack { upto, .. } if upto > state.committed => {
                let state = state.to_mut();
                state.commit_to(upto);
                if let Some(prev) = state.config.predecessor(me) {
                    let config = state.config.clone();
                    o.send(prev, Msg::Ack { config, upto });
                }
            }
            Msg::Holding { len, .. } if state.config.successor(me) == Some(src) => {
                if !state.synced {
                    state.to_mut().synced = true;
                }
                if !self.has_bug(ChainBug::NoResend) {
                    for index in len..state.history.len() {
                        self.pass_on(me, state, index, o);
                    }
                }
            }
            Msg::Query {
                client, seq, op, ..
            } if state.is_tail(me) && self.may_read(state) => {
                let config = state.config.clone();
                let upto = state.committed;
                o.send(
                    src,
                    Msg::Committed {
                        config,
                        client,
                        seq,
                        op,
                        upto,
                    },
                );
            }
            Msg::Committed {
                client,
                seq,
                op,
                upto,
                ..
            } => self.reply(client, seq, state.view().read_at(upto, &op), o),
            Msg::Fetch { from, .. } => self.on_fetch(me, state, src, from, o),
            _ => {}
        }
    }
}

impl Actor for ChainNode {
    type Msg = M;
    type State = NodeState;
    type Timer = ChainTimer;
    type Storage = ChainStorage<KvOp>;
    type Random = ();

    /// A fresh member starts in the epoch-0 chain. A restarted node starts from its
    /// storage, with nothing known to be committed: on a whole history it asks to resume
    /// its place, otherwise it joins at the tail, as does a new node that is not in the
    /// epoch-0 chain.
    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> NodeState {
        if let Some(halt) = &self.halt {
            o.set_timer(ChainTimer::Halt, halt.clone());
        }
        if let Some(beat) = &self.heartbeat {
            o.set_timer(ChainTimer::Beat, beat.clone());
        }
        self.arm_resend(o);
        let storage = match self.bug {
            Some(ChainBug::RestartEmpty) => &None,
            _ => storage,
        };
        let mut state = match storage {
            Some(s) => NodeState::recovered(s.config.clone(), s.history.clone(), s.cuts),
            None => {
                let config = Config {
                    epoch: 0,
                    members: self.members.clone(),
                };
                NodeState::recovered(config, History::new(), 0)
            }
        };
        match storage {
            Some(s) if s.serving => self.resume(&mut state, o),
            Some(_) => self.join(&mut state, o),
            None if !self.members.contains(&id) => self.join(&mut state, o),
            None => {}
        }
        debug_started(self, &state);
        state
    }

    fn on_msg(&self, me: Id, state: &mut Cow<NodeState>, src: Id, msg: M, o: &mut Out<Self>) {
        checked(self, state, |state| {
            if state.halted {
                return;
            }
            match msg {
                Msg::Client(ClientMsg::Request { seq, op }) => {
                    self.on_request(me, state, src, seq, op, o)
                }
                Msg::Lease { beat, config } => self.on_lease(me, state, beat, config, o),
                Msg::Resumed(config) => self.on_resumed(me, state, config, o),
                Msg::Client(_)
                | Msg::Halted
                | Msg::Alive { .. }
                | Msg::Join { .. }
                | Msg::Resume { .. }
                | Msg::Manager(_) => {}
                peer => self.on_peer(me, state, src, peer, o),
            }
        });
    }

    /// Fail-stop: halt and tell the manager. A node that will never rejoin forgets its
    /// history (no step reads it again); one that may rejoin keeps it, as its storage.
    /// Rejoin: a halted node restarts from what it stored, as a restarted process would.
    /// Resend: a joining node asks again for its copy or its place, any other says again
    /// what it holds (its last `Holding`, or an update after it, may have been lost).
    fn on_timeout(
        &self,
        me: Id,
        state: &mut Cow<NodeState>,
        timer: &ChainTimer,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| match timer {
            ChainTimer::Halt if !state.halted => {
                let state = state.to_mut();
                state.halted = true;
                state.committed = 0;
                state.clean = KvStore::default();
                state.answers.clear();
                o.cancel_timer(ChainTimer::Resend);
                match &self.rejoin {
                    Some(rejoin) => o.set_timer(ChainTimer::Rejoin, rejoin.clone()),
                    None => {
                        state.history.clear();
                        state.latest.clear();
                    }
                }
                o.broadcast(&self.managers, &Msg::Halted);
            }
            ChainTimer::Rejoin if state.halted => {
                self.rejoin(state.to_mut(), o);
                self.arm_resend(o);
            }
            ChainTimer::Resend if !state.halted => {
                self.arm_resend(o);
                if state.is_joining() {
                    self.resume_join(me, state, o);
                } else {
                    self.say_holding(me, state, o);
                }
            }
            ChainTimer::Beat => {
                if let Some(every) = &self.heartbeat {
                    o.set_timer(ChainTimer::Beat, every.clone());
                }
                let beat = state.to_mut().lease.ask();
                if let Some(lease) = &self.lease {
                    o.set_timer(ChainTimer::LeaseEnd(beat), lease.clone());
                }
                o.broadcast(&self.managers, &Msg::Alive { beat });
            }
            ChainTimer::LeaseEnd(beat) => state.to_mut().lease.expire(*beat),
            ChainTimer::Halt | ChainTimer::Rejoin | ChainTimer::Resend => {}
        });
    }
}
