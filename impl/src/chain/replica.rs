//! The configuration manager as a Raft group (van Renesse and Schneider, section 3: the
//! master "is replicated, using a consensus protocol"): each replica runs a
//! [`RaftServer`] whose state machine is the chain's [`Config`].
//!
//! - Every change of membership goes through the log: the leader proposes the op a
//!   node's failure, join or resume asks for, and a configuration is published by the
//!   replica that applies it as leader, from the log (never from the leader's own guess,
//!   which a deposed leader could still make: [`ManagerBug::PublishOwnState`]). Committed
//!   entries are the same at every replica, so one epoch names one configuration.
//! - Failure detection is local to the leader: it counts its members' silences, and a
//!   new leader starts counting afresh. What nodes ask of the manager (and the failure
//!   notices of the models' fail-stop nodes) reaches every replica; one that does not
//!   lead keeps it, and proposes it once it leads.
//! - A new leader proposes `Start` as its first entry (a no-op once a configuration
//!   exists), so that an entry of its term commits: Raft's rule for applying what earlier
//!   leaders left, and the condition for its ReadIndex reads.
//! - A heartbeat's lease is a ReadIndex read of the configuration: a deposed leader,
//!   which no majority acknowledges, grants none; nor does a leader whose log holds the
//!   sender's removal not yet committed.
//! - A client asking any replica is sent to the head or the tail that replica knows.

use super::manager::{op_for, publish, route, settle, ConfigOp};
use super::types::{Config, Msg};
use crate::bug::NamedBug;
use crate::client::ClientMsg;
use crate::invariants::{checked, debug_started};
use crate::raft::{self, RaftServer, RaftState, RaftStorage, RaftTimer, Replica, StateMachine};
use coord_specs::kv::{KvOp, KvRet};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;

type M = Msg<KvOp, KvRet>;

/// The Raft server underneath a manager replica.
pub type ManagerRaft = RaftServer<Config>;

/// A deliberate mistake, off by default, that a model switches on to show the checker
/// catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ManagerBug {
    /// The leader publishes a change as soon as it proposes it, computed on its own
    /// configuration rather than applied from the log: a leader deposed before its entry
    /// commits has published a configuration that the next leader's epoch contradicts.
    PublishOwnState,
}

impl NamedBug for ManagerBug {
    const NAMED: &'static [(&'static str, ManagerBug)] =
        &[("publish-own-state", ManagerBug::PublishOwnState)];
}

/// The failure detector of a real run (van Renesse and Schneider, section 3: the master
/// detects failures): members send a heartbeat every period, and one that has missed
/// `misses` checks in a row is taken for failed. Off in the models, where a node's
/// fail-stop sends the notice itself (as Raft's heartbeats are off there).
#[derive(Clone, Debug)]
pub struct Detector {
    /// How often the leader checks.
    pub every: Range<Duration>,
    pub misses: u32,
}

/// A manager replica's configuration.
#[derive(Clone, Debug)]
pub struct ManagerReplica {
    /// The Raft server underneath; its peers are the other replicas.
    pub raft: ManagerRaft,
    /// The chain at epoch 0, head first.
    pub members: Vec<Id>,
    pub detector: Option<Detector>,
    /// How often the leader publishes the configuration again, or `None` for never
    /// (links that lose nothing).
    pub republish: Option<Range<Duration>>,
    pub bug: Option<ManagerBug>,
}

/// A replica's state: the Raft server's, and what the failure detection keeps (volatile:
/// a restarted replica, or a new leader, starts afresh).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReplicaState {
    pub raft: RaftState<Config>,
    /// At the leader: how many checks in a row each member has been silent.
    pub silent: BTreeMap<Id, u32>,
    /// What nodes asked of the manager that this replica has not proposed as leader; a
    /// failure notice stays until the node asks to join or resume.
    pub asked: BTreeSet<ConfigOp>,
}

impl ReplicaState {
    /// The configuration as this replica has applied it.
    pub fn config(&self) -> &Config {
        &self.raft.replica.sm
    }

    /// True if `op` waits in this replica's log, not yet committed.
    fn pending(&self, op: &ConfigOp) -> bool {
        self.raft
            .log
            .from(self.raft.commit + 1)
            .any(|e| e.op.as_op() == Some(op))
    }

    /// True if an entry of the leader's own term has committed, so that it may answer
    /// reads by ReadIndex.
    fn term_committed(&self) -> bool {
        self.raft.term_at(self.raft.commit) == self.raft.term
    }
}

/// A replica's timers: Raft's, the leader's failure-detector check, and the leader's
/// periodic publication.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ReplicaTimer {
    Raft(RaftTimer),
    Check,
    Publish,
}

impl ManagerReplica {
    /// Runs one step `f` of the Raft server on the Raft part of `state`; then, at the
    /// leader, answers for the entries that step applied (see [`settle`]), and on its
    /// election starts its term.
    fn raft_step<R>(
        &self,
        id: Id,
        state: &mut Cow<ReplicaState>,
        o: &mut Out<Self>,
        f: impl FnOnce(&ManagerRaft, &mut Cow<RaftState<Config>>, &mut Out<ManagerRaft>) -> R,
    ) -> R {
        let raft::embed::Stepped { result, out, next } =
            raft::embed::step(&self.raft, &state.raft, f);
        self.lift(id, out, o);
        let Some(next) = next else {
            return result;
        };
        let was_leader = state.raft.is_leader();
        let ops = applied_ops(&state.raft.replica, &next);
        let before = state.config().clone();
        let state = state.to_mut();
        state.raft = next;
        if !state.raft.is_leader() {
            state.silent.clear();
            return result;
        }
        if !ops.is_empty() {
            settle(&before, state.config(), &ops, o);
        }
        if !was_leader {
            self.on_elected(id, state, o);
        }
        result
    }

    /// A new leader: its term begins with `Start` (see the module's rules), then what
    /// nodes asked while it did not lead.
    fn on_elected(&self, id: Id, state: &mut ReplicaState, o: &mut Out<Self>) {
        let mut cow = Cow::Borrowed(&*state);
        self.propose(id, &mut cow, ConfigOp::Start(self.members.clone()), o);
        for op in cow.asked.clone() {
            self.on_asked(id, &mut cow, op, o);
        }
        if let Cow::Owned(next) = cow {
            *state = next;
        }
    }

    /// A node asks for `op`: the leader proposes it; a failure notice is kept until the
    /// node asks to join or resume, and any other request until this replica proposes it.
    fn on_asked(&self, id: Id, state: &mut Cow<ReplicaState>, op: ConfigOp, o: &mut Out<Self>) {
        let node = match &op {
            ConfigOp::Join(node, _) | ConfigOp::Resume(node, _) => Some(*node),
            _ => None,
        };
        let removal = node.map(ConfigOp::Remove);
        let keep = !state.raft.is_leader() || matches!(op, ConfigOp::Remove(_));
        let kept = state.asked.contains(&op);
        let stale = removal.as_ref().is_some_and(|r| state.asked.contains(r));
        if keep != kept || stale {
            let asked = &mut state.to_mut().asked;
            if let Some(removal) = &removal {
                asked.remove(removal);
            }
            match keep {
                true => asked.insert(op.clone()),
                false => asked.remove(&op),
            };
        }
        self.propose(id, state, op, o);
    }

    /// At the leader: appends `op` to the log unless it waits there already, as the
    /// leader's own request numbered by its log index (so never taken for a duplicate).
    fn propose(&self, id: Id, state: &mut Cow<ReplicaState>, op: ConfigOp, o: &mut Out<Self>) {
        if !state.raft.is_leader() || state.pending(&op) {
            return;
        }
        if self.bug == Some(ManagerBug::PublishOwnState) {
            let mut guess = state.config().clone();
            if guess.apply(&op) != *state.config() {
                publish(&guess, o);
            }
        }
        let seq = state.raft.last_index() + 1;
        self.raft_step(id, state, o, |raft, st, out| {
            raft.propose(st, id, seq, op, out)
        });
    }

    /// Re-tags the Raft server's commands as this replica's. Its answers to reads from
    /// nodes are their leases; its answers to the leader's own proposals, and its
    /// redirects, go nowhere.
    fn lift(&self, id: Id, inner: Out<ManagerRaft>, o: &mut Out<Self>) {
        for command in inner {
            match command {
                Command::Send(to, raft::Msg::Client(ClientMsg::Reply { seq, ret }))
                    if to != id && !self.raft.peers.contains(&to) =>
                {
                    o.send(
                        to,
                        Msg::Lease {
                            beat: seq,
                            config: ret,
                        },
                    )
                }
                Command::Send(_, raft::Msg::Client(_)) => {}
                Command::Send(to, msg) => o.send(to, Msg::Manager(msg)),
                Command::SetTimer(t, range) => o.set_timer(ReplicaTimer::Raft(t), range),
                Command::CancelTimer(t) => o.cancel_timer(ReplicaTimer::Raft(t)),
                Command::Save(storage) => o.save(storage),
                Command::ChooseRandom(..) => unreachable!("a Raft server makes no random choice"),
            }
        }
    }

    /// A node's heartbeat, at the leader: its silence ends, and its lease is a ReadIndex
    /// read of the configuration, once an entry of this term has committed and unless
    /// the node's removal waits in the log.
    fn on_alive(
        &self,
        id: Id,
        state: &mut Cow<ReplicaState>,
        src: Id,
        beat: u64,
        o: &mut Out<Self>,
    ) {
        if !state.raft.is_leader() || !self.members.contains(&src) {
            return;
        }
        if state.silent.get(&src).is_some_and(|&n| n > 0) {
            state.to_mut().silent.insert(src, 0);
        }
        if !state.term_committed() || state.pending(&ConfigOp::Remove(src)) {
            return;
        }
        let read = raft::Msg::Client(ClientMsg::Request {
            seq: beat,
            op: ConfigOp::Read,
        });
        self.raft_step(id, state, o, |raft, st, out| {
            raft.on_msg(id, st, src, read, out)
        });
    }

    /// The leader's check: every member's silence grows by one (a heartbeat resets it);
    /// a member silent for `misses` checks is proposed for removal, one per check.
    fn on_check(
        &self,
        id: Id,
        state: &mut Cow<ReplicaState>,
        detector: &Detector,
        o: &mut Out<Self>,
    ) {
        if !state.raft.is_leader() {
            return;
        }
        let members = state.config().members.clone();
        let silent = &mut state.to_mut().silent;
        silent.retain(|m, _| members.contains(m));
        for member in &members {
            *silent.entry(*member).or_default() += 1;
        }
        let failed = members
            .into_iter()
            .find(|m| silent.get(m).is_some_and(|&n| n >= detector.misses));
        if let Some(failed) = failed {
            self.propose(id, state, ConfigOp::Remove(failed), o);
        }
    }
}

/// The ops of the entries `next` applied beyond `before`, replayed on a copy of `before`
/// (applying is deterministic) to leave out duplicates.
fn applied_ops(before: &Replica<Config>, next: &RaftState<Config>) -> Vec<ConfigOp> {
    let count = next.replica.applied.saturating_sub(before.applied) as usize;
    let mut copy = before.clone();
    (next.log.from(before.applied + 1).take(count))
        .filter_map(|entry| copy.apply(entry, true).and(entry.op.as_op().cloned()))
        .collect()
}

impl Actor for ManagerReplica {
    type Msg = M;
    type State = ReplicaState;
    type Timer = ReplicaTimer;
    type Storage = RaftStorage<ConfigOp>;
    type Random = ();

    /// Starts the Raft server from storage; the configuration is rebuilt as the log is
    /// applied again, and what the detector knew is forgotten.
    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> ReplicaState {
        let mut out = Out::new();
        let raft = self.raft.on_start(id, storage, &mut out);
        self.lift(id, out, o);
        if let Some(detector) = &self.detector {
            o.set_timer(ReplicaTimer::Check, detector.every.clone());
        }
        if let Some(republish) = &self.republish {
            o.set_timer(ReplicaTimer::Publish, republish.clone());
        }
        let state = ReplicaState {
            raft,
            silent: BTreeMap::new(),
            asked: BTreeSet::new(),
        };
        debug_started(self, &state);
        state
    }

    /// Raft traffic goes to the Raft server; a heartbeat to [`Self::on_alive`]; a failure
    /// notice, a join or a resume request to [`Self::on_asked`]; a client is told where
    /// to go by this replica's configuration.
    fn on_msg(&self, id: Id, state: &mut Cow<ReplicaState>, src: Id, msg: M, o: &mut Out<Self>) {
        checked(self, state, |state| match msg {
            Msg::Manager(msg) => self.raft_step(id, state, o, |raft, st, out| {
                raft.on_msg(id, st, src, msg, out)
            }),
            Msg::Alive { beat } => self.on_alive(id, state, src, beat, o),
            Msg::Client(ClientMsg::Request { seq, op }) => route(state.config(), src, seq, &op, o),
            msg => {
                if let Some(op) = op_for(&self.members, src, &msg) {
                    self.on_asked(id, state, op, o);
                }
            }
        });
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<ReplicaState>,
        timer: &ReplicaTimer,
        o: &mut Out<Self>,
    ) {
        checked(self, state, |state| match timer {
            ReplicaTimer::Raft(t) => self.raft_step(id, state, o, |raft, st, out| {
                raft.on_timeout(id, st, t, out)
            }),
            ReplicaTimer::Check => {
                if let Some(detector) = &self.detector {
                    o.set_timer(ReplicaTimer::Check, detector.every.clone());
                    self.on_check(id, state, detector, o);
                }
            }
            ReplicaTimer::Publish => {
                if let Some(republish) = &self.republish {
                    o.set_timer(ReplicaTimer::Publish, republish.clone());
                    if state.raft.is_leader() && !state.config().members.is_empty() {
                        publish(state.config(), o);
                    }
                }
            }
        });
    }
}
