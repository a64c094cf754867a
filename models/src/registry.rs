//! The named checks: each is a model at a size, with every property's expected verdict.
//!
//! Names are `<system>`, `<system>-<variant>` and `<system>-bug-<what>` for a deliberate
//! mistake that the checker must catch, so that a prefix selects a family.

use crate::chain::{self, ChainCfg};
use crate::raft::{self, Links, RaftCfg};
use crate::run::{Runnable, Search, Verdict};
use crate::znode::{counter, lock, script, Judged, ZnodeCfg};
use coord::chain::{ChainBug, ReadMode};
use coord::raft::RaftBug;
use coord::recipes::lock::LockBug;
use coord::znode::ZkBug;
use stateright::actor::{Actor, ActorModelAction, ActorModelState, Id};

/// Size overrides from the command line; `None` keeps the check's own value.
#[derive(Clone, Debug, Default)]
pub struct Bounds {
    pub servers: Option<usize>,
    pub clients: Option<usize>,
    pub ops: Option<usize>,
    pub max_term: Option<u64>,
    pub max_log: Option<usize>,
    pub max_crashes: Option<usize>,
    pub max_resends: Option<u8>,
    pub campaigners: Option<usize>,
}

impl Bounds {
    /// These bounds, with `base`'s where these have none.
    pub fn or(&self, base: &Bounds) -> Bounds {
        Bounds {
            servers: self.servers.or(base.servers),
            clients: self.clients.or(base.clients),
            ops: self.ops.or(base.ops),
            max_term: self.max_term.or(base.max_term),
            max_log: self.max_log.or(base.max_log),
            max_crashes: self.max_crashes.or(base.max_crashes),
            max_resends: self.max_resends.or(base.max_resends),
            campaigners: self.campaigners.or(base.campaigners),
        }
    }
}

/// What a model's configuration tells the runner beyond stateright's model.
pub trait ModelCfg<A: Actor, H> {
    /// How counterexamples name actor `id`.
    fn actor_name(&self, id: Id) -> String;

    /// How counterexamples show an actor's random choice `key` falling on `random`.
    fn choice_name(&self, key: &str, random: &A::Random) -> String {
        format!("{key} {random:?}")
    }

    /// A function mapping each state to the representative of its class of equivalent
    /// states (states no property and no future step can tell apart), for DFS to visit one
    /// state per class. `None` to visit every state.
    fn representative(&self) -> Option<Representative<A, H>> {
        None
    }

    /// Whether actor `id` may crash (and restart from its storage).
    fn may_crash(&self, _id: Id) -> bool {
        true
    }

    /// Whether `action` may happen in `state`: a timing assumption that an untimed model
    /// would otherwise break (a timer that real time would not let fire yet). Applies to
    /// models run through [`crate::restart::Restarting`].
    fn allows(&self, _state: &ActorModelState<A, H>, _action: &Action<A>) -> bool {
        true
    }

    /// Removes from `state` what no property and no later step can tell from its absence
    /// (a message its receiver will never act on, say). Unlike a [`Self::representative`],
    /// this changes the states the model reaches: a message dropped from the middle of a
    /// FIFO channel no longer holds back the messages behind it, where dropping it only
    /// to compare states would leave them stuck behind it. Applies after every step of
    /// models run through [`crate::restart::Restarting`].
    fn tidy(&self, _state: &mut ActorModelState<A, H>) {}

    /// The history to keep when an actor whose state was `before` restarts from storage,
    /// for properties that need to know about the crash; `None` keeps `history` as it is.
    fn on_restart(&self, _before: &A::State, _history: &H) -> Option<H> {
        None
    }
}

/// See [`ModelCfg::representative`].
pub type Representative<A, H> = fn(&ActorModelState<A, H>) -> ActorModelState<A, H>;

/// A step of an actor model of `A`.
pub type Action<A> = ActorModelAction<<A as Actor>::Msg, <A as Actor>::Timer, <A as Actor>::Random>;

/// One named check.
pub struct Check {
    pub name: &'static str,
    /// One line: what the check proves.
    pub about: &'static str,
    /// The search used unless the command line says otherwise: DFS (flat memory) to prove
    /// properties and to hunt deep counterexamples, BFS where a short trace is cheap to find.
    pub search: Search,
    /// Every property judged, with its expected verdict.
    pub expect: Vec<(&'static str, Verdict)>,
    /// A reduced size with the same expected verdicts, for `cargo test` and
    /// `coord check --quick`.
    pub quick: Bounds,
    build: Build,
}

/// Builds a check's model from its bounds and the names of the properties it judges.
type Build = fn(&Bounds, &[&str]) -> Result<Box<dyn Runnable>, String>;

impl Check {
    /// Builds the model at its default size with `bounds` applied.
    pub fn model(&self, bounds: &Bounds) -> Result<Box<dyn Runnable>, String> {
        let judged: Vec<&str> = self.expect.iter().map(|(p, _)| *p).collect();
        (self.build)(bounds, &judged)
    }
}

use Verdict::{Holds, Violated};

const RAFT_SAFETY: [&str; 5] = [
    "election safety",
    "log matching",
    "leader completeness",
    "state machine safety",
    "linearizable",
];
const RAFT_EXAMPLES: [&str; 4] = [
    "a leader is elected",
    "a write commits",
    "a new leader after the old one crashed",
    "every client finishes",
];
const RETRY_EXAMPLE: &str = "a retried request is suppressed as a duplicate";

fn all_hold(groups: &[&[&'static str]]) -> Vec<(&'static str, Verdict)> {
    groups
        .iter()
        .flat_map(|g| g.iter().map(|p| (*p, Holds)))
        .collect()
}

/// Checks the sizes that every Raft model needs to make sense.
fn raft_model(cfg: RaftCfg, judged: &[&str]) -> Result<Box<dyn Runnable>, String> {
    if cfg.servers == 0 {
        return Err("--servers must be at least 1".into());
    }
    if cfg.servers + cfg.clients > 16 {
        return Err("at most 16 actors (servers + clients) fit a model".into());
    }
    Ok(Box::new(cfg.into_model(judged)))
}

/// A deliberate-bug hunt: the base model with the bug, no crashes and no resends unless
/// the bug needs them, so that the counterexample is found fast and reads short.
fn raft_bug(
    bug: RaftBug,
    base: RaftCfg,
    b: &Bounds,
    judged: &[&str],
) -> Result<Box<dyn Runnable>, String> {
    raft_model(
        RaftCfg {
            bug: Some(bug),
            ..base
        }
        .with(b),
        judged,
    )
}

fn hunt_base() -> RaftCfg {
    RaftCfg {
        max_crashes: 0,
        max_resends: 0,
        ..raft::base()
    }
}

const CHAIN_SAFETY: [&str; 4] = [
    "linearizable",
    "no split brain",
    "update propagation",
    "an acknowledged write is never lost",
];
const CHAIN_FAILOVERS: [&str; 4] = [
    "the head fails and a later write commits",
    "a middle node fails and a later write commits",
    "the tail fails and a later write commits",
    "every client finishes",
];

/// The failovers judged on lossy links: a head's failure needs the client's retry (its
/// request went to the failed head), which the quick size (no resends) leaves out.
const LOSSY_FAILOVERS: [&str; 3] = [
    "a middle node fails and a later write commits",
    "the tail fails and a later write commits",
    "every client finishes",
];

const REJOIN_EXAMPLE: &str = "a failed node rejoins at the tail and a later write commits";

/// The `chain-rejoin` model: the chain, where the failed node restarts from its storage
/// and rejoins at the tail.
/// Each client writes once and the clients resend at most once: with 2 resends the
/// model has 6.5M states (650 s on the shared machine), with 1 it has 0.6M.
fn rejoin_base() -> ChainCfg {
    ChainCfg {
        rejoin: true,
        ops: 1,
        max_resends: 1,
        ..chain::base()
    }
}

/// The `chain-lossy` model: the chain on links that lose and repeat messages, in any
/// order, with the nodes' and the manager's resend timers on. Two nodes and two clients
/// writing at once, so that an update can arrive after a gap as well as twice; no
/// failure (see `chain-lossy-failover`). With 3 nodes the model has more than 5M states.
fn lossy_base() -> ChainCfg {
    ChainCfg {
        lossy: true,
        nodes: 2,
        ops: 1,
        max_failures: 0,
        max_resends: 1,
        ..chain::base()
    }
}

/// The `chain-lossy-failover` model: 3 nodes on lossy links, one client's write, and one
/// failure (head, middle or tail), so that configurations, `Holding` and `Halted` may be
/// lost or repeated too.
fn lossy_failover_base() -> ChainCfg {
    ChainCfg {
        nodes: 3,
        clients: 1,
        max_failures: 1,
        ..lossy_base()
    }
}

/// Checks the sizes that every chain model needs to make sense.
fn chain_model(cfg: ChainCfg, judged: &[&str]) -> Result<Box<dyn Runnable>, String> {
    if cfg.nodes == 0 {
        return Err("--servers (chain nodes) must be at least 1".into());
    }
    if cfg.nodes + 1 + cfg.clients > 16 {
        return Err("at most 16 actors (nodes + manager + clients) fit a model".into());
    }
    Ok(Box::new(cfg.into_model(judged)))
}

/// A deliberate-bug hunt on the chain: the base model with the bug.
fn chain_bug(bug: ChainBug, b: &Bounds, judged: &[&str]) -> Result<Box<dyn Runnable>, String> {
    let cfg = ChainCfg {
        bug: Some(bug),
        ..chain::base()
    };
    chain_model(cfg.with(b), judged)
}

/// A znode model at its size with `b` applied.
fn znode_model<P: Judged>(
    cfg: ZnodeCfg<P>,
    b: &Bounds,
    judged: &[&str],
) -> Result<Box<dyn Runnable>, String> {
    Ok(Box::new(cfg.with(b).into_model(judged)?))
}

/// A znode model with the deliberate mistake `bug`.
fn znode_bug<P: Judged>(
    bug: ZkBug,
    cfg: ZnodeCfg<P>,
    b: &Bounds,
    judged: &[&str],
) -> Result<Box<dyn Runnable>, String> {
    let bug = Some(bug);
    znode_model(ZnodeCfg { bug, ..cfg }, b, judged)
}

/// The znode checks' quick size: only `s0` may campaign, so the leader is fixed.
const FIXED_LEADER: Bounds = Bounds {
    campaigners: Some(1),
    ..NO_BOUNDS
};
const NO_BOUNDS: Bounds = Bounds {
    servers: None,
    clients: None,
    ops: None,
    max_term: None,
    max_log: None,
    max_crashes: None,
    max_resends: None,
    campaigners: None,
};

const COUNTER: [&str; 4] = [
    "linearizable",
    "no lost update",
    "a conditional set fails with bad version and the retry succeeds",
    "every client finishes",
];
const EPHEMERAL: [&str; 3] = [
    "no ephemeral node of an expired session",
    "sequential names are unique and increasing",
    "an ephemeral node disappears after expiry",
];
const FAILOVER: [&str; 2] = [script::SETTLED_CLEAN, script::CLOSED_AFTER_FAILOVER];
/// The quick size of `znode-failover-ephemeral`: two servers (a new leader needs the
/// restarted old one's vote).
const FAILOVER_QUICK: Bounds = Bounds {
    servers: Some(2),
    ..NO_BOUNDS
};
/// The quick size of `znode-moving-read`: its full size, one reconnect (a connection does
/// not outlive its server's restart, so a reader meets a restarted server's empty tree
/// only by connecting to it again: the model's one resend).
const ONE_RESEND: Bounds = NO_BOUNDS;
const WATCH: [&str; 5] = [
    "linearizable",
    "a watch fires once per registration",
    "a watch fires only after its change is applied",
    "a client hears of a change before it reads it",
    "a watch fires",
];

/// A deliberate-bug check that DFS must catch violating `violated`.
fn bug_check(
    name: &'static str,
    about: &'static str,
    violated: &'static str,
    quick: Bounds,
    build: Build,
) -> Check {
    Check {
        name,
        about,
        search: Search::Dfs,
        expect: vec![(violated, Violated)],
        quick,
        build,
    }
}

/// The znode checks.
fn znode_checks() -> Vec<Check> {
    vec![
        Check {
            name: "znode-counter",
            about: "znode, 3 servers, 2 counter clients at the followers: linearizable, no lost update, conflicts retried",
            search: Search::Dfs,
            expect: all_hold(&[&COUNTER]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(counter::base(), b, judged),
        },
        Check {
            name: "znode-stale-read",
            about: "znode, a writer and a reader at different followers: reads are sequentially consistent, not linearizable",
            search: Search::Dfs,
            expect: vec![
                ("linearizable", Violated),
                ("sequentially consistent", Holds),
                ("every client finishes", Holds),
            ],
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(script::stale_read(), b, judged),
        },
        Check {
            name: "znode-sync-read",
            about: "znode-stale-read with sync before the read: linearizable",
            search: Search::Dfs,
            expect: all_hold(&[&["linearizable", "sequentially consistent", "every client finishes"]]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(script::sync_read(), b, judged),
        },
        Check {
            name: "znode-moving-read",
            about: "znode-stale-read with server restarts and one resend elsewhere: a client never reads older data than it has seen",
            search: Search::Dfs,
            expect: all_hold(&[&["sequentially consistent", "every client finishes"]]),
            quick: ONE_RESEND,
            build: |b, judged| znode_model(script::moving_read(), b, judged),
        },
        Check {
            name: "znode-ephemeral",
            about: "znode, a client's session expires: its ephemeral nodes go; sequential names unique and increasing",
            search: Search::Dfs,
            expect: all_hold(&[&EPHEMERAL]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(script::ephemeral(3), b, judged),
        },
        Check {
            name: "znode-failover-ephemeral",
            about: "znode, a client fails owning an ephemeral node, then the leader may crash: a new leader expires the session",
            search: Search::Dfs,
            expect: all_hold(&[&FAILOVER]),
            quick: FAILOVER_QUICK,
            build: |b, judged| znode_model(script::failover_ephemeral(b.servers.unwrap_or(3)), b, judged),
        },
        Check {
            name: "znode-watch",
            about: "znode, a watcher and a writer on one follower: a watch fires once, after the change is applied, before the new data is read",
            search: Search::Dfs,
            expect: all_hold(&[&WATCH]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(script::watch(), b, judged),
        },
        bug_check(
            "znode-bug-ignore-version",
            "deliberate bug: set ignores the expected version, so two increments make one",
            "no lost update",
            FIXED_LEADER,
            |b, judged| znode_bug(ZkBug::IgnoreVersion, counter::base(), b, judged),
        ),
        bug_check(
            "znode-bug-keep-ephemerals",
            "deliberate bug: closing an expired session keeps its ephemeral nodes",
            "no ephemeral node of an expired session",
            FIXED_LEADER,
            |b, judged| znode_bug(ZkBug::KeepEphemerals, script::ephemeral(3), b, judged),
        ),
        bug_check(
            "znode-bug-forget-sessions-on-failover",
            "deliberate bug: a new leader tracks only the sessions it hears from, so a failed client's ephemeral node stays",
            script::SETTLED_CLEAN,
            FAILOVER_QUICK,
            |b, judged| {
                let cfg = script::failover_ephemeral(b.servers.unwrap_or(3));
                znode_bug(ZkBug::ForgetSessionsOnFailover, cfg, b, judged)
            },
        ),
        bug_check(
            "znode-bug-reads-go-back",
            "deliberate bug: a server answers a plain read from a tree older than its client has seen",
            "sequentially consistent",
            ONE_RESEND,
            |b, judged| znode_bug(ZkBug::ReadsGoBack, script::moving_read(), b, judged),
        ),
        bug_check(
            "znode-bug-early-watch",
            "deliberate bug: a server fires a watch when the write arrives, before applying it",
            "a watch fires only after its change is applied",
            FIXED_LEADER,
            |b, judged| znode_bug(ZkBug::EarlyWatch, script::watch(), b, judged),
        ),
    ]
}

/// The quick size of the lock checks that need three clients: one znode server.
const ONE_SERVER: Bounds = Bounds {
    servers: Some(1),
    ..NO_BOUNDS
};

const MUTEX: &str = "mutual exclusion among live holders";
const NO_HERD: &str = "at most one watch notification per release";
const FENCED: &str = "the resource accepts no operation with an older token than one it accepted";
const EVERY_CLIENT_LOCKS: &str = "every client gets the lock";
const NOTIFIES: &str = "a release notifies a waiter";

/// The checks of the locks and the election.
fn lock_checks() -> Vec<Check> {
    vec![
        Check {
            name: "lock-scalable",
            about: "scalable lock, 3 clients using a fenced resource, c0 stalls while holding, 1 may halt: mutual exclusion, no herd, fencing",
            search: Search::Dfs,
            expect: all_hold(&[&[
                MUTEX,
                NO_HERD,
                FENCED,
                EVERY_CLIENT_LOCKS,
                "a crashed holder's lock passes on after session expiry",
                NOTIFIES,
                "the resource refuses a holder paused past its session's expiry",
            ]]),
            quick: Bounds {
                clients: Some(2),
                ..NO_BOUNDS
            },
            build: |b, judged| znode_model(lock::scalable(b, true), b, judged),
        },
        Check {
            name: "lock-basic",
            about: "basic lock, 3 clients: mutual exclusion holds; each release wakes every waiter (the herd)",
            search: Search::Dfs,
            expect: vec![
                (MUTEX, Holds),
                (NO_HERD, Violated),
                (EVERY_CLIENT_LOCKS, Holds),
                (NOTIFIES, Holds),
            ],
            quick: ONE_SERVER,
            build: |b, judged| znode_model(lock::basic(b), b, judged),
        },
        Check {
            name: "lock-no-fencing",
            about: "lock-scalable with a resource that checks no token, no halts: a holder stalled past its session's expiry acts after the next holder",
            search: Search::Bfs,
            expect: vec![(FENCED, Violated)],
            quick: Bounds {
                clients: Some(2),
                ..NO_BOUNDS
            },
            build: |b, judged| {
                // No halts, so that the stall is the run's one fault: with halts, a
                // holder's operation still on its way when it halts shows the same.
                let cfg = ZnodeCfg {
                    halts: false,
                    ..lock::scalable(b, false)
                };
                znode_model(cfg, b, judged)
            },
        },
        Check {
            name: "election",
            about: "leader election on the scalable lock's nodes, 3 candidates, 1 may halt: one leader among live sessions, a new one after expiry",
            search: Search::Dfs,
            expect: all_hold(&[&[
                "at most one leader among live sessions",
                NO_HERD,
                "a new leader after the leader's session expires",
                "a candidate leads",
            ]]),
            quick: Bounds {
                clients: Some(2),
                ..NO_BOUNDS
            },
            build: |b, judged| znode_model(lock::election(b), b, judged),
        },
        Check {
            name: "lock-bug-watch-lowest",
            about: "deliberate bug: waiters watch the lowest node, not their predecessor, so a release wakes them all",
            search: Search::Bfs,
            expect: vec![(NO_HERD, Violated)],
            quick: ONE_SERVER,
            build: |b, judged| {
                znode_model(lock::scalable_bug(b, LockBug::WatchLowest, false), b, judged)
            },
        },
        Check {
            name: "znode-bug-watches-outlive-session",
            about: "deliberate bug: a server keeps a closed session's watches, so a crashed waiter's watch fires with its successor's",
            search: Search::Dfs,
            expect: vec![(NO_HERD, Violated)],
            quick: ONE_SERVER,
            build: |b, judged| {
                let cfg = ZnodeCfg {
                    bug: Some(ZkBug::WatchesOutliveSession),
                    ..lock::scalable(b, true)
                };
                znode_model(cfg, b, judged)
            },
        },
        Check {
            name: "lock-bug-no-recheck",
            about: "deliberate bug: a waiter takes its predecessor's deletion as the lock, so a middle waiter's expiry makes two holders",
            search: Search::Bfs,
            expect: vec![(MUTEX, Violated)],
            quick: ONE_SERVER,
            build: |b, judged| znode_model(lock::scalable_bug(b, LockBug::NoRecheck, true), b, judged),
        },
    ]
}

/// Every named check, in the order `coord list` prints them.
pub fn checks() -> Vec<Check> {
    let mut checks = raft_checks();
    checks.extend(znode_checks());
    checks.extend(lock_checks());
    checks
}

/// The Raft checks.
fn raft_checks() -> Vec<Check> {
    vec![
        Check {
            name: "raft",
            about: "Raft KV, 3 servers, 2 clients x (put, get), 1 crash at a time: figure 3 safety and linearizability",
            search: Search::Dfs,
            expect: all_hold(&[&RAFT_SAFETY, &RAFT_EXAMPLES]),
            quick: Bounds {
                clients: Some(1),
                ops: Some(1),
                ..Bounds::default()
            },
            build: |b, judged| raft_model(raft::base().with(b), judged),
        },
        Check {
            name: "raft-retry",
            about: "raft with a client that resends: the retried put is committed twice and applied once",
            search: Search::Dfs,
            expect: all_hold(&[&RAFT_SAFETY, &[RETRY_EXAMPLE, "every client finishes"]]),
            quick: Bounds {
                max_crashes: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| {
                let cfg = RaftCfg {
                    clients: 1,
                    ops: 1,
                    max_resends: 1,
                    ..raft::base()
                };
                raft_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "raft-dup",
            about: "raft, 2 clients x put, no crashes, on a network that delivers messages more than once: exactly-once",
            search: Search::Dfs,
            expect: all_hold(&[
                &RAFT_SAFETY,
                &["a leader is elected", "a write commits", "every client finishes"],
            ]),
            quick: Bounds {
                clients: Some(1),
                ..Bounds::default()
            },
            build: |b, judged| {
                // Crashes are covered by `raft` and `raft-retry`; with them and re-delivery
                // together the full size passes 2.6M states in 150 s without finishing.
                let cfg = RaftCfg {
                    links: Links::Duplicating,
                    ops: 1,
                    max_crashes: 0,
                    ..raft::base()
                };
                raft_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "raft-bug-forgotten-vote",
            about: "deliberate bug: the vote is not persisted, so a restarted server votes twice in a term",
            search: Search::Bfs,
            expect: vec![("election safety", Violated)],
            quick: Bounds { clients: Some(0), ..Bounds::default() },
            build: |b, judged| {
                let cfg = RaftCfg {
                    max_crashes: 1,
                    ..hunt_base()
                };
                raft_bug(RaftBug::ForgetVote, cfg, b, judged)
            },
        },
        Check {
            name: "raft-bug-old-term-commit",
            about: "deliberate bug: a leader commits an earlier term's entry by counting replicas (figure 8)",
            search: Search::Dfs,
            expect: vec![("leader completeness", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                // Figure 8 needs two servers taking turns as leader, the third only voting,
                // and a new leader that replicates its log at once. Reordering adds nothing to
                // the scenario, so links are FIFO (as over TCP).
                let cfg = RaftCfg {
                    max_term: 4,
                    max_log: 1,
                    ops: 1,
                    campaigners: 2,
                    announce: true,
                    links: Links::Fifo,
                    ..hunt_base()
                };
                raft_bug(RaftBug::CommitOldTerm, cfg, b, judged)
            },
        },
        Check {
            name: "raft-bug-no-dedup",
            about: "deliberate bug: no duplicate suppression, so a retried put applies twice",
            search: Search::Dfs,
            expect: vec![("linearizable", Violated)],
            quick: Bounds { clients: Some(1), ..Bounds::default() },
            build: |b, judged| {
                let cfg = RaftCfg {
                    max_resends: 1,
                    ..hunt_base()
                };
                raft_bug(RaftBug::NoDedup, cfg, b, judged)
            },
        },
        Check {
            name: "raft-bug-stale-read",
            about: "deliberate bug: a leader serves reads without confirming it still leads",
            search: Search::Dfs,
            expect: vec![("linearizable", Violated)],
            quick: Bounds::default(),
            build: |b, judged| raft_bug(RaftBug::LocalReads, hunt_base(), b, judged),
        },
        Check {
            name: "chain",
            about: "chain replication, 3 nodes + manager, 2 clients x (put, get), 1 fail-stop failure: linearizable, update propagation, failover",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &CHAIN_FAILOVERS]),
            quick: Bounds {
                clients: Some(1),
                ..Bounds::default()
            },
            build: |b, judged| chain_model(chain::base().with(b), judged),
        },
        Check {
            name: "craq",
            about: "chain with CRAQ reads at every node: dirty reads resolved by a version query to the tail",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &["a dirty read is resolved by the tail", "every client finishes"]]),
            quick: Bounds {
                ops: Some(1),
                max_crashes: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| {
                let cfg = ChainCfg {
                    reads: ReadMode::Craq,
                    ..chain::base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "craq-eventual",
            about: "documented weakness: CRAQ reads of the newest local version without asking the tail are not linearizable",
            search: Search::Bfs,
            expect: vec![
                ("linearizable", Violated),
                ("reads at one node never go back", Holds),
            ],
            quick: Bounds::default(),
            build: |b, judged| {
                let cfg = ChainCfg {
                    reads: ReadMode::Newest,
                    clients: 3,
                    max_failures: 0,
                    max_resends: 0,
                    ..chain::base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "chain-rejoin",
            about: "chain, 2 clients x put, 1 failure: the failed node restarts from storage and rejoins at the tail after copying its predecessor's history",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &CHAIN_FAILOVERS, &[REJOIN_EXAMPLE]]),
            quick: Bounds {
                clients: Some(1),
                ..Bounds::default()
            },
            build: |b, judged| chain_model(rejoin_base().with(b), judged),
        },
        Check {
            name: "chain-lossy",
            about: "chain of 2 on links that lose, repeat and reorder messages, 2 clients x put: positions on updates, resends on timers, retries answered from the results kept",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &["every client finishes"]]),
            quick: Bounds {
                clients: Some(1),
                max_resends: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| chain_model(lossy_base().with(b), judged),
        },
        Check {
            name: "chain-lossy-failover",
            about: "chain of 3 on lossy links, 1 client x put, 1 fail-stop failure (head, middle or tail): failover when configurations, resends and failure notices may be lost or repeated",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &LOSSY_FAILOVERS]),
            quick: Bounds {
                max_resends: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| chain_model(lossy_failover_base().with(b), judged),
        },
        Check {
            name: "chain-bug-no-position",
            about: "deliberate bug: an update is appended wherever it arrives, so after a lost or repeated one the histories diverge",
            search: Search::Dfs,
            expect: vec![("update propagation", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                let cfg = ChainCfg {
                    bug: Some(ChainBug::NoPosition),
                    ..lossy_base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "chain-bug-keep-stale",
            about: "deliberate bug: a rejoining node keeps the history it stored before it failed, updates the chain never committed included",
            search: Search::Dfs,
            expect: vec![("update propagation", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                // One client's one write: the head accepts it, fails before forwarding
                // it, and the client's retry at the new head commits it in a later epoch.
                let cfg = ChainCfg {
                    bug: Some(ChainBug::KeepStale),
                    clients: 1,
                    ..rejoin_base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "chain-bug-old-epoch",
            about: "deliberate bug: nodes act on messages of an older epoch, so a failed node's last update lands twice",
            search: Search::Dfs,
            expect: vec![("update propagation", Violated)],
            quick: Bounds::default(),
            build: |b, judged| chain_bug(ChainBug::OldEpoch, b, judged),
        },
        Check {
            name: "chain-bug-no-resend",
            about: "deliberate bug: after a reconfiguration a node does not resend what its successor lacks (the middle-failure repair)",
            search: Search::Dfs,
            expect: vec![("update propagation", Violated)],
            quick: Bounds::default(),
            build: |b, judged| chain_bug(ChainBug::NoResend, b, judged),
        },
        Check {
            name: "chain-bug-early-reply",
            about: "deliberate bug: a write is acknowledged when the head accepts it, before the tail applies it",
            search: Search::Bfs,
            expect: vec![("an acknowledged write is never lost", Violated), ("linearizable", Violated)],
            quick: Bounds::default(),
            build: |b, judged| chain_bug(ChainBug::EarlyReply, b, judged),
        },
    ]
}

/// Whether `name` selects `check`: an exact name selects that check alone; any other name
/// selects its family, every check named `name-...`.
fn selects(name: &str, check: &str, all: &[Check]) -> bool {
    if all.iter().any(|c| c.name == name) {
        check == name
    } else {
        check
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('-'))
    }
}

/// The checks selected by `names` (see [`selects`]), all for no names. A name that selects
/// nothing is an error naming it.
pub fn select(names: &[String]) -> Result<Vec<Check>, String> {
    let all = checks();
    if names.is_empty() {
        return Ok(all);
    }
    if let Some(unknown) = names
        .iter()
        .find(|n| !all.iter().any(|c| selects(n, c.name, &all)))
    {
        return Err(format!(
            "unknown check {unknown:?}; `coord list` shows the names"
        ));
    }
    let chosen: Vec<bool> = all
        .iter()
        .map(|c| names.iter().any(|n| selects(n, c.name, &all)))
        .collect();
    Ok(all
        .into_iter()
        .zip(chosen)
        .filter_map(|(c, keep)| keep.then_some(c))
        .collect())
}
