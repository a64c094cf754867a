//! The checks of the lock recipes and the election (notes, part III): clients that each
//! acquire a lock once and release it, or candidates that each run for leader.
//!
//! Faults are explicit and bounded. A client may fail-stop (its `Halt` timer). In
//! `lock-scalable` and `lock-no-fencing` the first client stalls while it holds the lock,
//! before its operation on the resource (a stop-the-world pause of any length). The
//! leader lets a session expire only while its client is halted or stalled: the models'
//! timing assumption is that a running client's keepalives reach the leader in time (see
//! [`Judged::KEEPS_SESSION`]). One client fault per run: a client halts, or the stalled
//! client's session expires (`ZnodeCfg::client_faults`).
//!
//! The models run two znode servers, a leader fixed in term 1 (replication is the Raft
//! checks' job) and a follower whose tree lags the leader's; clients alternate between
//! them.

use super::{
    clients_with_ids, expired, resource, znode_model, Judged, Property, State, ZnodeCfg, ZnodeModel,
};
use crate::cfg::Bounds;
use crate::check::{all_hold, Check};
use crate::run::{
    Search,
    Verdict::{Holds, Violated},
};
use coord::recipes::basic_lock::BasicLock;
use coord::recipes::election;
use coord::recipes::fencing::Resource;
use coord::recipes::lock::{Hold, LockBug, LockState, Phase, Use};
use coord::recipes::scalable_lock::ScalableLock;
use coord::znode::client::{Program, ZkClientState};
use coord::znode::ZkBug;
use stateright::actor::{model_timeout, Id};
use stateright::Expectation;

/// A lock program: its client's progress is a [`LockState`].
pub trait LockProgram: Program<State = LockState> + Judged {}
impl<P: Program<State = LockState> + Judged> LockProgram for P {}

/// The lock programs keep their sessions; a client is silent only while it stalls, and
/// the properties read little of a halted client.
macro_rules! judged_lock {
    ($($program:ty),*) => {$(
        impl Judged for $program {
            const KEEPS_SESSION: bool = true;

            fn properties() -> Vec<Property<Self>> {
                properties()
            }

            fn silent(program: &LockState) -> bool {
                silent(program)
            }

            fn forget_halted(program: &LockState) -> Option<LockState> {
                Some(forget_halted(program))
            }
        }
    )*};
}

judged_lock!(ScalableLock, BasicLock);

/// A lock client is silent while it stalls holding the lock.
fn silent(program: &LockState) -> bool {
    program.phase == Phase::Paused
}

/// What the properties read of a halted lock client: whether it held the lock when it
/// halted, whether it had held it, and its token if it had.
fn forget_halted(program: &LockState) -> LockState {
    let phase = match program.phase {
        phase if phase.holds() => Phase::Holding,
        phase if phase.has_held() => Phase::Released,
        _ => Phase::Creating,
    };
    let token = program.token.filter(|_| phase.has_held());
    LockState {
        phase,
        node: None,
        token,
    }
}

fn properties<P: LockProgram>() -> Vec<Property<P>> {
    use Expectation::{Always, Sometimes};
    vec![
        (Always, "mutual exclusion among live holders", exclusive),
        (
            Always,
            "at most one watch notification per release",
            no_herd,
        ),
        (
            Always,
            "the resource accepts no operation with an older token than one it accepted",
            fenced,
        ),
        (Sometimes, "every client gets the lock", all_held),
        (
            Sometimes,
            "a crashed holder's lock passes on after session expiry",
            passed_on,
        ),
        (Sometimes, "a release notifies a waiter", notified),
        (
            Sometimes,
            "the resource refuses a holder paused past its session's expiry",
            refused,
        ),
        (Always, "at most one leader among live sessions", exclusive),
        (
            Sometimes,
            "a new leader after the leader's session expires",
            passed_on,
        ),
        (Sometimes, "a candidate leads", someone_holds),
    ]
}

/// The clients that hold the lock and whose session is live: holders in ZooKeeper's sense
/// (a halted client whose session has not expired yet still owns its node).
fn live_holders<P: Program<State = LockState>>(
    state: &State<P>,
) -> impl Iterator<Item = (Id, &ZkClientState<LockState>)> {
    clients_with_ids(state).filter(|(id, c)| c.program.phase.holds() && !expired(state, *id))
}

/// Mutual exclusion (for the election: one leader): at most one live holder.
fn exclusive<P: LockProgram>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    live_holders(state).nth(1).is_none()
}

/// No herd: every deletion sent at most one watch notification, counted as the servers
/// send them (so a notification to a client that has halted counts too).
fn no_herd<P: LockProgram>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    state.history.notified.values().all(|&n| n <= 1)
}

/// Fencing: the operations the resource accepted come in the order of their clients'
/// tokens, taken from the clients' own nodes (not from what the messages showed).
fn fenced<P: LockProgram>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    let Some(resource) = resource(state) else {
        return true;
    };
    let token = |client: Id| {
        let c = clients_with_ids(state).find(|(id, _)| *id == client);
        c.and_then(|(_, c)| c.program.token)
    };
    let tokens: Vec<Option<u64>> = (resource.log.iter())
        .filter(|(_, accepted)| *accepted)
        .map(|(client, _)| token(*client))
        .collect();
    tokens.is_sorted()
}

fn all_held<P: LockProgram>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    clients_with_ids(state).all(|(_, c)| c.program.phase.has_held())
}

/// A client halted while holding the lock, its session expired, and a running client
/// holds the lock now.
fn passed_on<P: LockProgram>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    let holds = |c: &ZkClientState<LockState>| c.program.phase.holds();
    let crashed_holder =
        clients_with_ids(state).any(|(id, c)| c.halted && holds(c) && expired(state, id));
    crashed_holder && clients_with_ids(state).any(|(_, c)| !c.halted && holds(c))
}

fn notified<P: LockProgram>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    !state.history.notified.is_empty()
}

/// The resource refused an operation of a client that has not halted: its holder showed a
/// token older than one the resource had accepted, so the lock had passed on while the
/// holder stalled. (A holder that halted with its operation on the way is refused too.)
fn refused<P: LockProgram>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    let running = |client: &Id| clients_with_ids(state).any(|(id, c)| id == *client && !c.halted);
    resource(state).is_some_and(|r| r.log.iter().any(|(c, accepted)| !accepted && running(c)))
}

fn someone_holds<P: LockProgram>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    clients_with_ids(state).any(|(_, c)| election::leads(&c.program))
}

/// How many znode servers the lock models run by default: a leader, fixed in term 1
/// (replication is the Raft checks' job), and a follower, whose tree lags the leader's.
const SERVERS: usize = 2;

/// The layout of a lock model at bounds `b`: the servers, and each client's id with the server it connects to first. Clients alternate between the
/// follower `s1` and the leader `s0`, starting at the follower.
fn layout(b: &Bounds, resource: bool, clients: usize) -> (usize, Vec<(usize, Id)>) {
    let servers = b.servers.unwrap_or(SERVERS);
    let clients = b.clients.unwrap_or(clients);
    let first = servers + usize::from(resource);
    let placed = (0..clients)
        .map(|k| ((k + 1) % servers, Id::from(first + k)))
        .collect();
    (servers, placed)
}

/// A lock model's configuration: `program` makes client `k`'s program from its guid (its
/// actor id) and, if the model has a resource, the holder's use of it. The leader is fixed in term
/// 1, sessions expire, and the log is long enough for every client's create and delete
/// and two expiries.
fn lock_cfg<P: LockProgram>(
    b: &Bounds,
    resource: Option<Resource>,
    program: impl Fn(usize, u64, Option<Id>) -> P,
) -> ZnodeCfg<P> {
    let (servers, placed) = layout(b, resource.is_some(), 3);
    let resource_id = resource.is_some().then(|| Id::from(servers));
    let clients = (placed.iter().enumerate())
        .map(|(k, (first, id))| (*first, program(k, usize::from(*id) as u64, resource_id)))
        .collect();
    ZnodeCfg {
        servers,
        resource,
        campaigners: 1,
        max_log: 12,
        expiry: true,
        ..ZnodeCfg::new(clients)
    }
}

/// The holder's use of `resource`: client `k` stalls first if `stalls(k)`.
fn user(resource: Option<Id>, stalls: bool) -> Hold {
    let resource = resource.expect("a lock model with a resource");
    let pause = stalls.then(model_timeout);
    Hold::Use(Use { resource, pause })
}

/// The lock node of the models: the root, which always exists, so that no log entry goes
/// to creating it. The scalable lock's nodes are the root's children.
const DIR: &str = "/";

/// `lock-scalable` (and, with `fencing` false, `lock-no-fencing`): three clients of the
/// scalable lock, each using the resource once; the first stalls before its operation;
/// one fault: a client halts, or the first one's session expires while it stalls.
pub fn scalable(b: &Bounds, fencing: bool) -> ZnodeCfg<ScalableLock> {
    let resource = Some(Resource { fencing });
    let cfg = lock_cfg(b, resource, |k, session, r| {
        ScalableLock::new(DIR, session, user(r, k == 0))
    });
    ZnodeCfg {
        halts: true,
        client_faults: 1,
        ..cfg
    }
}

/// A deliberate-bug hunt on the scalable lock: three clients using a fenced resource,
/// none stalling; one of them may halt if `halts`.
pub fn scalable_bug(b: &Bounds, bug: LockBug, halts: bool) -> ZnodeCfg<ScalableLock> {
    let resource = Some(Resource { fencing: true });
    let cfg = lock_cfg(b, resource, |_, session, r| {
        ScalableLock::new(DIR, session, user(r, false)).with_bug(Some(bug))
    });
    ZnodeCfg {
        halts,
        client_faults: usize::from(halts),
        ..cfg
    }
}

/// `lock-basic`: three clients of the basic lock on `/lock`, each using the resource
/// once (unfenced: the basic lock has no token); no faults.
pub fn basic(b: &Bounds) -> ZnodeCfg<BasicLock> {
    let resource = Some(Resource { fencing: false });
    let cfg = lock_cfg(b, resource, |_, _, r| {
        BasicLock::new("/lock", user(r, false))
    });
    ZnodeCfg {
        expiry: false,
        ..cfg
    }
}

/// `election`: three candidates; any one may halt, and its session then expires.
pub fn election(b: &Bounds) -> ZnodeCfg<ScalableLock> {
    let cfg = lock_cfg(b, None, |_, session, _| election::candidate(DIR, session));
    ZnodeCfg {
        halts: true,
        client_faults: 1,
        ..cfg
    }
}

// ---------------------------------------------------------------------------------------
// The named checks of the locks and the election.
// ---------------------------------------------------------------------------------------

/// The quick size of the lock checks that need three clients: one znode server.
const ONE_SERVER: Bounds = Bounds {
    servers: Some(1),
    ..Bounds::NONE
};

const MUTEX: &str = "mutual exclusion among live holders";
const NO_HERD: &str = "at most one watch notification per release";
const FENCED: &str = "the resource accepts no operation with an older token than one it accepted";
const EVERY_CLIENT_LOCKS: &str = "every client gets the lock";
const NOTIFIES: &str = "a release notifies a waiter";

/// The checks of the locks and the election.
pub fn checks() -> Vec<Check> {
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
                ..Bounds::NONE
            },
            build: |b, judged| znode_model(scalable(b, true), b, judged),
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
            build: |b, judged| znode_model(basic(b), b, judged),
        },
        Check {
            name: "lock-no-fencing",
            about: "lock-scalable with a resource that checks no token, no halts: a holder stalled past its session's expiry acts after the next holder",
            search: Search::Bfs,
            expect: vec![(FENCED, Violated)],
            quick: Bounds {
                clients: Some(2),
                ..Bounds::NONE
            },
            build: |b, judged| {
                // No halts, so that the stall is the run's one fault: with halts, a
                // holder's operation still on its way when it halts shows the same.
                let cfg = ZnodeCfg {
                    halts: false,
                    ..scalable(b, false)
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
                ..Bounds::NONE
            },
            build: |b, judged| znode_model(election(b), b, judged),
        },
        Check {
            name: "lock-bug-watch-lowest",
            about: "deliberate bug: waiters watch the lowest node, not their predecessor, so a release wakes them all",
            search: Search::Bfs,
            expect: vec![(NO_HERD, Violated)],
            quick: ONE_SERVER,
            build: |b, judged| {
                znode_model(scalable_bug(b, LockBug::WatchLowest, false), b, judged)
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
                    ..scalable(b, true)
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
            build: |b, judged| znode_model(scalable_bug(b, LockBug::NoRecheck, true), b, judged),
        },
    ]
}
