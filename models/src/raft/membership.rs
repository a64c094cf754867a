//! The models of membership changes one server at a time (Raft dissertation §4.1).
//!
//! `raft-membership`: three servers form the initial configuration and a fourth starts
//! outside it; an administrator adds the fourth and then removes `s0` (the first leader,
//! which then steps down), across two terms. Every property of figure 3 must hold.
//!
//! `raft-bug-change-before-commit`: leaders start a change without first committing an
//! entry of their term. The harm needs a configuration of four: from one of three, two
//! changes made on diverging logs leave two configurations whose majorities always
//! overlap (a majority of four and one of two among three servers, or two of two and two
//! of the same three), so no two leaders can share a term. From four, two removals of
//! different servers leave two configurations of three whose majorities of two can be
//! disjoint, and two leaders are elected in one term (Ongaro's example on raft-dev, 2015,
//! has four servers too).

use super::{
    all_hold, raft_bug, raft_model, Check, Links, RaftActors, RaftCfg, Search, State, Violated,
    RAFT_SAFETY,
};
use crate::cfg::Bounds;
use coord::raft::{Admin, Change, RaftBug};
use stateright::actor::{model_timeout, Id};

/// An administrator of a model: the server it asks first, and the changes it asks for,
/// one at a time.
#[derive(Clone, Debug)]
pub struct AdminScript {
    pub first: usize,
    pub changes: Vec<Change>,
}

impl AdminScript {
    /// The administrator actor, which knows every server of the model.
    pub fn admin(&self, servers: &[Id]) -> Admin {
        Admin::new(
            servers.to_vec(),
            self.first,
            self.changes.clone(),
            model_timeout(),
        )
    }
}

pub const ADDED: &str = "a server is added";
pub const REMOVED: &str = "a member is removed";

/// Some live server has applied a configuration that holds a server of the model outside
/// the initial one.
pub fn added(model: &RaftActors, state: &State) -> bool {
    let initial = model.cfg.members.unwrap_or(model.cfg.servers);
    super::live_servers(state)
        .any(|(_, s)| s.replica.config.iter().any(|m| usize::from(*m) >= initial))
}

/// Some live server has applied a configuration without a server of the initial one.
pub fn removed(model: &RaftActors, state: &State) -> bool {
    let initial = model.cfg.members.unwrap_or(model.cfg.servers);
    super::live_servers(state).any(|(_, s)| {
        (0..initial).any(|i| !s.replica.config.contains(&Id::from(i)))
            && !s.replica.config.is_empty()
    })
}

fn admin(first: usize, changes: &[Change]) -> AdminScript {
    AdminScript {
        first,
        changes: changes.to_vec(),
    }
}

/// Servers `s0` to `s2` at first, `s3` outside; an administrator adds `s3` and then
/// removes `s0`. Terms 1 and 2, contested by `s0` and `s1` in turn (see `campaigners`),
/// logs of up to 3 entries (a no-op and the two changes); no client and no crash: with a
/// client's put or one crash the space passed 1.6 million states without finishing.
fn membership_base() -> RaftCfg {
    RaftCfg {
        servers: 4,
        members: Some(3),
        membership: true,
        clients: 0,
        max_crashes: 0,
        max_term: 2,
        max_log: 3,
        admins: vec![admin(
            0,
            &[Change::Add(Id::from(3)), Change::Remove(Id::from(0))],
        )],
        ..super::base()
    }
}

/// The quick size of the membership checks: term 1 only.
const TERM_ONE: Bounds = Bounds {
    max_term: Some(1),
    ..Bounds::NONE
};

/// The `raft-membership` check.
pub fn check() -> Check {
    Check {
        name: "raft-membership",
        about: "raft with membership changes: s3 added to {s0, s1, s2}, then s0 removed, terms 1 and 2, no crash: figure 3 safety",
        search: Search::Dfs,
        expect: all_hold(&[&RAFT_SAFETY, &[ADDED, REMOVED, "every client finishes"]]),
        quick: TERM_ONE,
        build: |b, judged| raft_model(membership_base().with(b), judged),
    }
}

/// Servers `s0` to `s2` at first, `s3` outside; an administrator adds `s3` while a client
/// puts once and any server may crash once and restart from its storage. Terms 1 and 2,
/// logs of up to 3 entries (a no-op, the change and the put).
fn membership_crash_base() -> RaftCfg {
    RaftCfg {
        clients: 1,
        ops: 1,
        max_crashes: 1,
        links: Links::Fifo,
        admins: vec![admin(0, &[Change::Add(Id::from(3))])],
        ..membership_base()
    }
}

/// The `raft-membership-crash` check.
pub fn crash_check() -> Check {
    Check {
        name: "raft-membership-crash",
        about: "raft with a membership change, a client and a crash: s3 added to {s0, s1, s2} while a client puts and any server may crash: figure 3 safety and linearizability",
        search: Search::Dfs,
        expect: all_hold(&[&RAFT_SAFETY, &[ADDED, "a write commits", "every client finishes"]]),
        quick: TERM_ONE,
        build: |b, judged| raft_model(membership_crash_base().with(b), judged),
    }
}

/// `raft-membership` with pre-vote and check-quorum, as kv servers run at run time: a
/// leader counts a server it has just added as in touch, and a server outside the
/// configuration drops its leader's lease when its election timer fires (both rules of
/// `RaftServer` for membership with pre-vote); safety must hold with them.
fn membership_prevote_base() -> RaftCfg {
    RaftCfg {
        pre_vote: true,
        announce: true,
        links: Links::Fifo,
        ..membership_base()
    }
}

/// The `raft-membership-prevote` check.
pub fn prevote_check() -> Check {
    Check {
        name: "raft-membership-prevote",
        about: "raft-membership with pre-vote and check-quorum, as at run time: s3 added to {s0, s1, s2}, then s0 removed: figure 3 safety",
        search: Search::Dfs,
        expect: all_hold(&[&RAFT_SAFETY, &[ADDED, REMOVED, "every client finishes"]]),
        quick: TERM_ONE,
        build: |b, judged| raft_model(membership_prevote_base().with(b), judged),
    }
}

/// The `raft-bug-change-before-commit` hunt: four members, two administrators, one asking
/// `s1` to remove `s0`, the other asking `s0` to remove `s3`; no client, no crash.
pub fn bug_check() -> Check {
    Check {
        name: "raft-bug-change-before-commit",
        about: "deliberate bug: a new leader changes the configuration before it commits an entry of its term, so two leaders are elected in one term",
        search: Search::Bfs,
        expect: vec![("election safety", Violated)],
        quick: Bounds::default(),
        build: |b, judged| {
            let cfg = RaftCfg {
                servers: 4,
                clients: 0,
                membership: true,
                max_crashes: 0,
                max_term: 3,
                max_log: 1,
                links: Links::Fifo,
                schedule: Some(vec![vec![1], vec![0], vec![1, 2]]),
                admins: vec![
                    admin(1, &[Change::Remove(Id::from(0))]),
                    admin(0, &[Change::Remove(Id::from(3))]),
                ],
                ..super::hunt_base()
            };
            raft_bug(RaftBug::ChangeBeforeCommit, cfg, b, judged)
        },
    }
}
