//! Membership changes one server at a time (Raft dissertation §4.1).
//!
//! A configuration is a log entry ([`Payload::Config`]) holding the whole set of members.
//! Rules, each enforced below:
//! - Every server uses the latest configuration in its log, committed or not, from the
//!   moment the entry is in its log; if the entry is deleted (a conflicting leader
//!   overwrites it), the server goes back to the one before it. A snapshot carries the
//!   configuration as of its index (in the replica it holds).
//! - Elections, commitment, ReadIndex confirmations and check-quorum count the members of
//!   that configuration; a server that is not in it does not campaign (as etcd's
//!   `promotable`), and a leader not in it does not count itself.
//! - A leader starts a change only once an entry of its own term is committed (it appends
//!   a no-op when elected), and only once the latest configuration in its log is
//!   committed: one change at a time. Without the first rule two changes made by leaders
//!   of different terms can both be in use, and their majorities need not overlap (the
//!   bug of the dissertation's first version, [`RaftBug::ChangeBeforeCommit`]).
//! - A leader removed from the configuration keeps leading until that configuration is
//!   committed, then steps down.
//! - A new server starts with no configuration and no vote of its own; it learns the
//!   configuration from the leader's entries or snapshot. With pre-vote, a server outside
//!   the configuration whose election timer fires no longer believes in the leader it
//!   heard last (as etcd's election ticks run on for a server that may not campaign), so
//!   that it grants pre-votes once the leader is gone: a leader that added it and stepped
//!   down before it learnt the change needs its vote to be elected again.
//! - With check-quorum, a leader counts a server it has just added as in touch.
//!
//! [`RaftBug::ChangeBeforeCommit`]: super::server::RaftBug::ChangeBeforeCommit

use super::replica::StateMachine;
use super::server::{RaftBug, RaftServer, RaftState, RaftTimer, Role};
use super::types::{Change, Entry, Index, Members, Msg, Payload};
use crate::client::ClientMsg;
use serde::Serialize;
use stateright::actor::{Id, Out};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// The configuration a server uses, as it bears on that server: the other members, whether
/// the server itself is one, and the index of the entry that set it (0 when it comes from
/// the snapshot or is the initial one: committed either way).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Membership {
    pub peers: BTreeSet<Id>,
    pub member: bool,
    pub index: Index,
}

impl Membership {
    /// `members` as server `me` sees them, set by the entry at `index`.
    pub fn of(me: Id, members: &Members, index: Index) -> Self {
        Membership {
            peers: members.iter().copied().filter(|&m| m != me).collect(),
            member: members.contains(&me),
            index,
        }
    }

    /// The whole set of members, `me` among them if it is one.
    pub fn members(&self, me: Id) -> Members {
        let mut members = self.peers.clone();
        if self.member {
            members.insert(me);
        }
        members
    }

    /// A majority of the members.
    pub fn quorum(&self) -> usize {
        (self.peers.len() + usize::from(self.member)) / 2 + 1
    }

    /// Whether this server, if a member, and the members among `others` form a majority.
    pub fn majority<'a>(&self, others: impl IntoIterator<Item = &'a Id>) -> bool {
        let peers = others
            .into_iter()
            .filter(|p| self.peers.contains(p))
            .count();
        usize::from(self.member) + peers >= self.quorum()
    }
}

impl<SM: StateMachine> RaftState<SM> {
    /// The latest configuration in the log after the snapshot, with its index; or, with
    /// none there, the replica's (which the snapshot carried or the server started with),
    /// at index 0.
    fn latest_members(&self) -> (Index, &Members) {
        let first = self.log.snapshot_index() + 1;
        let in_log = (first..=self.last_index()).rev().find_map(|i| {
            match &self.log.get(i).expect("held").op {
                Payload::Config(members) => Some((i, members)),
                Payload::Op(_) | Payload::Noop => None,
            }
        });
        in_log.unwrap_or((0, &self.replica.config))
    }

    /// The configuration server `me` uses (§4.1): the latest in its log.
    pub(super) fn latest_config(&self, me: Id) -> Membership {
        let (index, members) = self.latest_members();
        Membership::of(me, members, index)
    }

    /// The servers this one exchanges messages with, beside those it started with: the
    /// other members of the configuration it uses and of the one it has applied (a new
    /// member from the moment its entry is in the log, a removed one until its removal is
    /// applied). A real node takes messages from them and knows where they are
    /// (`net::admit::PeerTable`); the models' network needs no such table.
    pub fn servers(&self, me: Id) -> BTreeSet<Id> {
        let applied = self.replica.config.iter().filter(|&&m| m != me);
        self.config.peers.iter().chain(applied).copied().collect()
    }

    /// Whether the configuration in use is the latest, as far as it can be told without
    /// the server's id: the same index, and the same members but perhaps the server.
    pub(super) fn config_is_latest(&self) -> bool {
        let (index, members) = self.latest_members();
        let count = self.config.peers.len() + usize::from(self.config.member);
        self.config.index == index && self.config.peers.is_subset(members) && count == members.len()
    }

    /// Appends `entry`; a configuration is used from now on.
    pub(super) fn push_entry(&mut self, me: Id, entry: Entry<SM::Op>) {
        if let Payload::Config(members) = &entry.op {
            self.config = Membership::of(me, members, self.last_index() + 1);
        }
        self.log.push(entry);
    }

    /// Deletes the entries after `index`; if the configuration in use was one of them,
    /// goes back to the latest one before.
    pub(super) fn truncate_log(&mut self, me: Id, index: Index) {
        self.log.truncate(index);
        if self.config.index > index {
            self.config = self.latest_config(me);
        }
    }

    /// After compaction, a configuration whose entry the snapshot now covers is the
    /// replica's (the latest entry applied): its index becomes 0, so that one
    /// configuration has one form, whether compacted here or installed.
    pub(super) fn config_compacted(&mut self) {
        if self.config.index <= self.log.snapshot_index() {
            self.config.index = 0;
        }
    }

    /// Whether the leader may start a change: its latest configuration is committed (one
    /// change at a time) and so is an entry of its own term (with
    /// [`RaftBug::ChangeBeforeCommit`], the first alone).
    fn may_change(&self, bug: bool) -> bool {
        let own_term_committed = self.term_at(self.commit) == self.term;
        self.config.index <= self.commit && (own_term_committed || bug)
    }
}

impl<SM: StateMachine> RaftServer<SM> {
    /// The configuration a server starts with before its log or snapshot tells it one:
    /// itself and its peers, or nothing for a server that joins a running cluster.
    pub(super) fn initial_members(&self, me: Id) -> Members {
        match self.joining {
            true => Members::new(),
            false => self.peers.iter().copied().chain([me]).collect(),
        }
    }

    /// An administrator's request for a change (§4.1). A server that does not lead
    /// redirects it as a client's request. At the leader: a change already made is
    /// answered with the configuration once that is committed (a retry waits for its
    /// entry); a new one is appended as a configuration entry, used at once, if the leader
    /// may change now ([`RaftState::may_change`]); otherwise the request is dropped and
    /// the administrator retries. The answer goes when the entry is applied.
    pub(super) fn on_admin(
        &self,
        id: Id,
        state: &mut Cow<RaftState<SM>>,
        admin: Id,
        seq: u64,
        change: Change,
        o: &mut Out<Self>,
    ) {
        if !self.membership {
            return;
        }
        if !state.is_leader() {
            if let Some(redirect) = state.redirect(id, seq) {
                o.send(admin, Msg::Admin(redirect));
            }
            return;
        }
        let members = state.config.members(id);
        let target = change.applied_to(&members);
        if target == members {
            if state.config.index <= state.commit {
                let reply = ClientMsg::Reply { seq, ret: members };
                o.send(admin, Msg::Admin(reply));
            }
            return;
        }
        if !state.may_change(self.has_bug(RaftBug::ChangeBeforeCommit)) {
            return;
        }
        let state = state.to_mut();
        let entry = Entry {
            term: state.term,
            client: admin,
            seq,
            op: Payload::Config(target),
        };
        let next = state.last_index() + 1;
        state.push_entry(id, entry);
        let peers = state.config.peers.clone();
        let leader = state.leader_mut().expect("checked above");
        leader.next.retain(|p, _| peers.contains(p));
        leader.matched.retain(|p, _| peers.contains(p));
        leader.acked.retain(|p, _| peers.contains(p));
        leader.active.retain(|p| peers.contains(p));
        for peer in peers {
            // With check-quorum, a server just added counts as in touch (as etcd marks it
            // recently active): the next check must not depose the leader before the new
            // server had a chance to answer.
            if self.check_quorum && !leader.next.contains_key(&peer) {
                leader.active.insert(peer);
            }
            leader.next.entry(peer).or_insert(next);
            leader.matched.entry(peer).or_insert(0);
        }
        self.replicate_new_entry(state, o);
    }

    /// §4.2.2: a leader that the committed configuration leaves out steps down (it led
    /// until then without counting itself); it will not campaign outside the configuration.
    pub(super) fn step_down_if_removed(&self, state: &mut RaftState<SM>, o: &mut Out<Self>) {
        if !state.is_leader() || state.config.member || state.config.index > state.commit {
            return;
        }
        state.role = Role::Follower { leader: None };
        o.cancel_timer(RaftTimer::Heartbeat);
        if self.check_quorum {
            o.cancel_timer(RaftTimer::CheckQuorum);
        }
    }

    /// The answer to the administrator of a configuration entry the leader appended, now
    /// applied: the configuration.
    pub(super) fn answer_admin(&self, entry: &Entry<SM::Op>, o: &mut Out<Self>) {
        if let Payload::Config(members) = &entry.op {
            let reply = ClientMsg::Reply {
                seq: entry.seq,
                ret: members.clone(),
            };
            o.send(entry.client, Msg::Admin(reply));
        }
    }
}
