//! The chain node actor (van Renesse and Schneider, OSDI 2004, with CRAQ's reads, Terrace
//! and Freedman, USENIX ATC 2009): one state machine, a handler per message, no IO.
//!
//! Writes enter at the head and travel down the chain; the tail commits them and answers
//! the client; acknowledgements travel back up so that every node learns which prefix of
//! its history is committed (its "sent" list is the rest). The history and configuration
//! are saved with `o.save(..)` before any message that depends on them.

use super::lease::Lease;
use super::store::{advance, latest, note, History, View};
use super::types::{ChainStorage, Config, Msg, Update};
use crate::bug::NamedBug;
use crate::client::ClientMsg;
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
    /// At run time, reads are answered without a lease: a node the manager removed while
    /// it was paused or cut off answers from a history the chain has moved past.
    NoLease,
}

impl NamedBug for ChainBug {
    const NAMED: &'static [(&'static str, ChainBug)] = &[
        ("old-epoch", ChainBug::OldEpoch),
        ("no-resend", ChainBug::NoResend),
        ("early-reply", ChainBug::EarlyReply),
        ("keep-stale", ChainBug::KeepStale),
        ("no-lease", ChainBug::NoLease),
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
}

/// A chain node's configuration.
#[derive(Clone, Debug)]
pub struct ChainNode {
    /// The configuration manager, told when this node halts.
    pub manager: Id,
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
    /// `Some(k)` while the node joins at the tail: it has copied the first `k` updates of
    /// its predecessor's history; any updates after them are stale ones it stored before
    /// it failed, which the copy replaces. A joining node serves nothing, commits nothing
    /// and forwards nothing until its copy is complete.
    pub copied: Option<usize>,
    /// At run time: the read lease from the manager.
    pub lease: Lease,
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
            cuts,
            synced: true,
            halted: false,
            copied: None,
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
    /// map in step; returns the results of the updates newly committed.
    pub(crate) fn commit_to(&mut self, upto: usize) -> Vec<KvRet> {
        let upto = upto.min(self.history.len());
        let results = advance(&mut self.clean, &self.history, self.committed, upto);
        self.committed = self.committed.max(upto);
        results
    }

    /// True while the node is still copying its predecessor's history.
    pub fn is_joining(&self) -> bool {
        self.copied.is_some()
    }

    /// True if this node will never act on `msg`, now or after any later step: a halted
    /// node acts on nothing (what is sent to it while it is down is lost, as for a dead
    /// process, even if it rejoins later), and the epoch never goes down, so a message of
    /// an older epoch stays ignored (under the epoch rule). A model may drop such a message.
    pub fn ignores_forever(&self, msg: &M) -> bool {
        let old = msg.config().is_some_and(|c| c.epoch < self.config.epoch);
        self.halted || old
    }

    /// True if client `client`'s request `seq` (or a later one) is in the history: a
    /// retried write enters the chain once, and its reply comes from the tail.
    fn has_update(&self, client: Id, seq: u64) -> bool {
        self.latest
            .get(&client)
            .is_some_and(|&latest| latest >= seq)
    }

    /// Appends `update` to the history.
    fn append(&mut self, update: Update<KvOp>) {
        note(&mut self.latest, &update);
        self.history.push_back(update);
    }
}

impl ChainNode {
    fn has_bug(&self, bug: ChainBug) -> bool {
        self.bug == Some(bug)
    }

    fn save(&self, state: &NodeState, o: &mut Out<Self>) {
        o.save(ChainStorage {
            config: state.config.clone(),
            history: state.history.clone(),
            cuts: state.cuts,
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
        } else if let (true, Some(next)) = (state.synced, state.config.successor(me)) {
            let update = state.history.back().expect("propagating an update").clone();
            let config = state.config.clone();
            o.send(next, Msg::Forward { config, update });
        }
    }

    /// The tail's rule: everything it holds is committed. The client of each newly
    /// committed update gets its result, and the predecessor learns the committed prefix.
    fn commit_all(&self, me: Id, state: &mut NodeState, o: &mut Out<Self>) {
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
    /// tail. A joining node instead asks its predecessor for the rest of its copy.
    fn install(&self, me: Id, state: &mut NodeState, config: Config, o: &mut Out<Self>) {
        state.config = config;
        self.save(state, o);
        state.synced = state.config.successor(me).is_none();
        if let Some(prev) = state.config.predecessor(me) {
            let config = state.config.clone();
            let msg = match state.copied {
                Some(from) => Msg::Fetch { config, from },
                None => Msg::Holding {
                    config,
                    len: state.history.len(),
                },
            };
            o.send(prev, msg);
        }
        if state.is_tail(me) && !state.is_joining() {
            self.commit_all(me, state, o);
        }
    }

    /// Extending a chain (van Renesse and Schneider, section 3), the old tail's side: the
    /// joining successor gets the history from `from` on, in chunks, with how much of it
    /// is committed; updates that arrive later are forwarded after the copy (FIFO links).
    /// A node that is itself still joining has no trusted history to give.
    fn on_fetch(
        &self,
        me: Id,
        state: &mut Cow<NodeState>,
        src: Id,
        from: usize,
        o: &mut Out<Self>,
    ) {
        let len = state.history.len();
        if state.is_joining() || state.config.successor(me) != Some(src) || from > len {
            return;
        }
        state.to_mut().synced = true;
        let chunk = self.copy_chunk.max(1);
        let mut at = from;
        loop {
            let updates: Vec<_> = state.history.skip(at).iter().take(chunk).cloned().collect();
            let n = updates.len();
            o.send(
                src,
                Msg::Copy {
                    config: state.config.clone(),
                    from: at,
                    updates,
                    total: len,
                    committed: state.committed,
                },
            );
            at += n;
            if at == len {
                break;
            }
        }
    }

    /// Extending a chain, the joining node's side: a chunk that continues the copy
    /// replaces whatever stale updates followed the copied prefix; once the node holds
    /// all `total` updates it is a full member, and as the tail it commits them (answering
    /// the clients of those its predecessor had not seen committed).
    fn on_copy(&self, me: Id, state: &mut Cow<NodeState>, copy: M, o: &mut Out<Self>) {
        let Msg::Copy {
            from,
            updates,
            total,
            committed,
            ..
        } = copy
        else {
            return;
        };
        if state.copied != Some(from) {
            return;
        }
        let state = state.to_mut();
        if state.history.len() > from {
            state.history.truncate(from);
            state.cuts += 1;
            state.latest = latest(&state.history);
        }
        for update in updates {
            state.append(update);
        }
        let copied = state.history.len();
        state.copied = (copied < total).then_some(copied);
        self.save(state, o);
        if !state.is_joining() {
            state.commit_to(committed);
            if state.is_tail(me) {
                self.commit_all(me, state, o);
            }
        }
    }

    /// A node starting from its storage (a restart) or not in the chain at epoch 0 (a new
    /// node) joins at the tail: it asks the manager, then copies its predecessor's
    /// history. Its stored history may hold updates the chain never committed, so it is
    /// not trusted (unless the `KeepStale` bug is on).
    fn join(&self, state: &mut NodeState, o: &mut Out<Self>) {
        let trusted = if self.has_bug(ChainBug::KeepStale) {
            state.history.len()
        } else {
            0
        };
        state.copied = Some(trusted);
        o.send(self.manager, Msg::Join);
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
        let state = state.to_mut();
        if config.epoch > state.config.epoch {
            self.install(me, state, config, o);
        }
        state.lease.grant(beat);
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

    /// A message from another node, stamped with its sender's configuration: an older
    /// epoch is ignored (the rule that keeps a failed node's last words out of the rebuilt
    /// chain), a newer one is adopted first.
    fn on_peer(&self, me: Id, state: &mut Cow<NodeState>, src: Id, msg: M, o: &mut Out<Self>) {
        if state.ignores_forever(&msg) && !self.has_bug(ChainBug::OldEpoch) {
            return;
        }
        if let Some(config) = msg.config().filter(|c| c.epoch > state.config.epoch) {
            let config = config.clone();
            self.install(me, state.to_mut(), config, o);
        }
        if state.is_joining() {
            return self.on_copy(me, state, msg, o);
        }
        match msg {
            Msg::Forward { update, .. } => {
                let state = state.to_mut();
                state.append(update);
                self.save(state, o);
                self.propagate(me, state, o);
            }
            Msg::Ack { upto, .. } if upto > state.committed => {
                let state = state.to_mut();
                state.commit_to(upto);
                if let Some(prev) = state.config.predecessor(me) {
                    let config = state.config.clone();
                    o.send(prev, Msg::Ack { config, upto });
                }
            }
            Msg::Holding { len, .. } if state.config.successor(me) == Some(src) => {
                state.to_mut().synced = true;
                if !self.has_bug(ChainBug::NoResend) {
                    for update in state.history.skip(len).iter() {
                        let config = state.config.clone();
                        let update = update.clone();
                        o.send(src, Msg::Forward { config, update });
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
    /// storage, with nothing known to be committed, and joins at the tail, as does a new
    /// node that is not in the epoch-0 chain.
    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> NodeState {
        if let Some(halt) = &self.halt {
            o.set_timer(ChainTimer::Halt, halt.clone());
        }
        if let Some(beat) = &self.heartbeat {
            o.set_timer(ChainTimer::Beat, beat.clone());
        }
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
        if storage.is_some() || !self.members.contains(&id) {
            self.join(&mut state, o);
        }
        state
    }

    fn on_msg(&self, me: Id, state: &mut Cow<NodeState>, src: Id, msg: M, o: &mut Out<Self>) {
        if state.halted {
            return;
        }
        match msg {
            Msg::Client(ClientMsg::Request { seq, op }) => {
                self.on_request(me, state, src, seq, op, o)
            }
            Msg::Lease { beat, config } => self.on_lease(me, state, beat, config, o),
            Msg::Client(_) | Msg::Halted | Msg::Alive { .. } | Msg::Join => {}
            peer => self.on_peer(me, state, src, peer, o),
        }
    }

    /// Fail-stop: halt and tell the manager. A node that will never rejoin forgets its
    /// history (no step reads it again); one that may rejoin keeps it, as its storage.
    /// Rejoin: a halted node restarts from what it stored, as a restarted process would.
    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<NodeState>,
        timer: &ChainTimer,
        o: &mut Out<Self>,
    ) {
        match timer {
            ChainTimer::Halt if !state.halted => {
                let state = state.to_mut();
                state.halted = true;
                state.committed = 0;
                state.clean = KvStore::default();
                match &self.rejoin {
                    Some(rejoin) => o.set_timer(ChainTimer::Rejoin, rejoin.clone()),
                    None => {
                        state.history.clear();
                        state.latest.clear();
                    }
                }
                o.send(self.manager, Msg::Halted);
            }
            ChainTimer::Rejoin if state.halted => self.rejoin(state.to_mut(), o),
            ChainTimer::Beat => {
                if let Some(every) = &self.heartbeat {
                    o.set_timer(ChainTimer::Beat, every.clone());
                }
                let beat = state.to_mut().lease.ask();
                if let Some(lease) = &self.lease {
                    o.set_timer(ChainTimer::LeaseEnd(beat), lease.clone());
                }
                o.send(self.manager, Msg::Alive { beat });
            }
            ChainTimer::LeaseEnd(beat) => state.to_mut().lease.expire(*beat),
            ChainTimer::Halt | ChainTimer::Rejoin => {}
        }
    }
}
