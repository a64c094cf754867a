//! What a chain node and the configuration manager keep.
//!
//! A node: its committed prefix within its history, with the clean map and each
//! client's latest sequence number computed from that history; updates of no later epoch
//! than its own, in epoch order along the history; a joining or halted node that knows
//! nothing committed, so serves nothing; and from one step to the next, an epoch that
//! never goes down and a committed prefix that only grows.
//!
//! The manager: members it was configured with, each once; from one step to the next, an
//! epoch that never goes down and rises with every change of membership. A manager
//! replica: the same of the configuration it has applied, with its Raft server's own.

use super::manager::{ConfigManager, ManagerState};
use super::node::{ChainBug, ChainNode, NodeState};
use super::replica::{ManagerReplica, ReplicaState};
use super::store::{advance, latest};
use super::types::Config;
use crate::invariants::{ensure, Broken, Invariants};
use crate::kv::KvStore;
use stateright::actor::Id;
use std::collections::BTreeSet;

impl Invariants for ChainNode {
    fn invariants(&self, s: &NodeState) -> Result<(), Broken> {
        let (committed, len) = (s.committed, s.history.len());
        ensure(
            "the committed prefix is within the history",
            committed <= len,
            || format!("{committed} committed of {len}"),
        )?;
        let mut clean = KvStore::default();
        advance(&mut clean, &s.history, 0, committed);
        ensure(
            "the clean map is the committed prefix applied",
            clean == s.clean,
            || format!("clean {:?}, committed prefix gives {clean:?}", s.clean),
        )?;
        ensure(
            "each client's latest sequence number is its highest in the history",
            latest(&s.history) == s.latest,
            || format!("latest {:?}", s.latest),
        )?;
        let epoch = s.config.epoch;
        ensure(
            "no update is of a later epoch than the node's",
            s.history.iter().all(|u| u.epoch <= epoch),
            || format!("epoch {epoch}, history {:?}", s.history),
        )?;
        // A joining node's stale updates (and, with the old-epoch bug, an old update that
        // lands late) may follow newer ones.
        let ordered = s.is_joining() || s.halted || self.has_bug(ChainBug::OldEpoch);
        ensure(
            "updates are in epoch order along the history",
            ordered
                || s.history
                    .iter()
                    .zip(s.history.iter().skip(1))
                    .all(|(a, b)| a.epoch <= b.epoch),
            || format!("history {:?}", s.history),
        )?;
        let serves_nothing = committed == 0 && s.answers.is_empty();
        ensure(
            "a joining or halted node knows nothing committed",
            !(s.is_joining() || s.halted) || serves_nothing,
            || format!("{committed} committed, answers {:?}", s.answers),
        )?;
        let copied = s.joining.map_or(0, |j| j.copied);
        ensure(
            "a joining node's copy is within its history",
            s.halted || copied <= len,
            || format!("{copied} copied of {len}"),
        )
    }

    fn step_invariants(&self, before: &NodeState, after: &NodeState) -> Result<(), Broken> {
        let (was, now) = (before.config.epoch, after.config.epoch);
        ensure("the epoch never goes down", now >= was, || {
            format!("epoch {now} after {was}")
        })?;
        // A node that halts or starts again (to join) forgets what it knew committed.
        if after.halted || after.is_joining() {
            return Ok(());
        }
        let kept = before.committed;
        ensure(
            "the committed prefix only grows",
            after.committed >= kept && before.history.take(kept) == after.history.take(kept),
            || format!("{} committed after {kept}", after.committed),
        )
    }
}

/// A configuration holds only `configured` nodes, each once.
fn configuration(configured: &[Id], config: &Config) -> Result<(), Broken> {
    let members = &config.members;
    ensure(
        "the members are nodes the manager was configured with",
        members.iter().all(|m| configured.contains(m)),
        || format!("members {members:?}, configured {configured:?}"),
    )?;
    let distinct: BTreeSet<_> = members.iter().collect();
    ensure(
        "each member is in the chain once",
        distinct.len() == members.len(),
        || format!("members {members:?}"),
    )
}

/// From `was` to `now`, the epoch never goes down and rises with every change.
fn configuration_step(was: &Config, now: &Config) -> Result<(), Broken> {
    ensure("the epoch never goes down", now.epoch >= was.epoch, || {
        format!("epoch {} after {}", now.epoch, was.epoch)
    })?;
    ensure(
        "every change of membership raises the epoch",
        now.members == was.members || now.epoch > was.epoch || was.members.is_empty(),
        || format!("{now:?} after {was:?}"),
    )
}

impl Invariants for ConfigManager {
    fn invariants(&self, s: &ManagerState) -> Result<(), Broken> {
        configuration(&self.members, &s.config)
    }

    fn step_invariants(&self, before: &ManagerState, after: &ManagerState) -> Result<(), Broken> {
        configuration_step(&before.config, &after.config)
    }
}

impl Invariants for ManagerReplica {
    fn invariants(&self, s: &ReplicaState) -> Result<(), Broken> {
        self.raft.invariants(&s.raft)?;
        configuration(&self.members, s.config())
    }

    fn step_invariants(&self, before: &ReplicaState, after: &ReplicaState) -> Result<(), Broken> {
        self.raft.step_invariants(&before.raft, &after.raft)?;
        configuration_step(before.config(), after.config())
    }
}
