//! The state-space reductions of the Raft, chain and znode models are sound: checked on
//! every state of small models explored without them.
//!
//! - Dropping ignored messages: a message declared ignored forever is not acted on when
//!   delivered, and stays declared so after every step; so is a znode request of a
//!   connection its server does not know, at the front of its channel.
//! - Tidying znode states (dropping ignored messages, forgetting what a halted client no
//!   longer needs): the tidied model reaches exactly the tidied states of the untidied
//!   one, and tidying changes no verdict.
//! - Symmetry: renaming servers maps the transition system onto itself (the successors of
//!   a renamed state are the renamed successors) and changes no property.
//! - Both at once: the one-pass representative is the renamed state without its ignored
//!   messages.
//! - Crashes as restarts: every state with crashed servers, reachable with crash periods,
//!   becomes a state reachable with restarts once its crashed servers recover, and every
//!   Always property that holds there holds in the state with servers down.

use coord::recipes::counter::Counter;
use coord::recipes::scalable_lock::ScalableLock;
use coord::znode::client::Script;
use coord_models::cfg::ModelCfg;
use coord_models::chain::{self, ChainCfg};
use coord_models::dead_messages::drop_dead_messages;
use coord_models::raft::Links;
use coord_models::raft::{self, ignored_forever, RaftCfg, State, PROPERTIES};
use coord_models::symmetry::{as_key, canonical, rename, server_order, Renaming};
use coord_models::znode::{self, lock, script, ZnodeCfg};
use coord_models::Bounds;
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Id};
use stateright::{Expectation, Model, RewritePlan};
use std::collections::{HashSet, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;

/// Up to `cap` states reachable in `model` within `depth` steps, breadth first, with no
/// reduction.
fn reachable<M: Model>(model: &M, depth: usize, cap: usize) -> Vec<M::State>
where
    M::State: Clone + Eq + Hash,
{
    let mut seen: HashSet<M::State> = HashSet::new();
    let mut queue: VecDeque<(M::State, usize)> =
        model.init_states().into_iter().map(|s| (s, 0)).collect();
    let mut states = Vec::new();
    while let Some((state, d)) = queue.pop_front() {
        if states.len() >= cap {
            break;
        }
        if !seen.insert(state.clone()) {
            continue;
        }
        if d < depth {
            for next in successors(model, &state) {
                if !seen.contains(&next) {
                    queue.push_back((next, d + 1));
                }
            }
        }
        states.push(state);
    }
    states
}

fn successors<M: Model>(model: &M, state: &M::State) -> Vec<M::State> {
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    actions
        .into_iter()
        .filter_map(|a| model.next_state(state, a))
        .filter(|s| model.within_boundary(s))
        .collect()
}

type Envelope<A> = (Id, Id, <A as Actor>::Msg);

/// The envelopes in flight that their receiver ignores forever, by `dead`.
fn ignored<A: Actor, H>(
    state: &ActorModelState<A, H>,
    dead: &impl Fn(&A::State, Id, &A::Msg) -> bool,
) -> Vec<Envelope<A>> {
    state
        .network
        .iter_deliverable()
        .filter(|e| dead(&state.actor_states[usize::from(e.dst)], e.src, e.msg))
        .map(|e| (e.src, e.dst, e.msg.clone()))
        .collect()
}

fn small_models() -> Vec<(&'static str, RaftCfg)> {
    vec![
        (
            "1 client, 1 op, 1 resend",
            RaftCfg {
                clients: 1,
                ops: 1,
                max_resends: 1,
                ..raft::base()
            },
        ),
        (
            "2 clients, 1 op each",
            RaftCfg {
                ops: 1,
                max_crashes: 1,
                ..raft::base()
            },
        ),
    ]
}

const CAP: usize = 60_000;

/// On every state of `model` (up to [`CAP`]): delivering a message that `dead` declares
/// ignored changes nothing but the network (an ordered network consumes it), and after
/// any step a message still in flight is still declared ignored. At least `min` such
/// deliveries must be seen.
fn assert_ignored_sound<A, C, H>(
    name: &str,
    model: &ActorModel<A, C, H>,
    dead: impl Fn(&A::State, Id, &A::Msg) -> bool,
    min: usize,
) where
    A: Actor,
    A::Msg: Debug + Ord,
    A::Timer: Ord,
    A::State: Eq,
    H: Clone + Debug + Eq + Hash,
{
    let mut checked = 0;
    for state in reachable(model, usize::MAX, CAP) {
        let dead_now = ignored(&state, &dead);
        for (src, dst, msg) in &dead_now {
            let deliver = ActorModelAction::Deliver {
                src: *src,
                dst: *dst,
                msg: msg.clone(),
            };
            if !state.crashed[usize::from(*dst)] {
                let acted = model.next_state(&state, deliver).is_some_and(|next| {
                    next.actor_states != state.actor_states
                        || next.timers_set != state.timers_set
                        || next.history != state.history
                        || next.network.len() + 1 != state.network.len()
                });
                assert!(
                    !acted,
                    "{name}: {msg:?} from {src:?} to {dst:?} was declared ignored but acted on"
                );
                checked += 1;
            }
        }
        for next in successors(model, &state) {
            let still = ignored(&next, &dead);
            for envelope in &dead_now {
                let in_flight = next
                    .network
                    .iter_deliverable()
                    .any(|e| (e.src, e.dst, e.msg) == (envelope.0, envelope.1, &envelope.2));
                assert!(
                    !in_flight || still.contains(envelope),
                    "{name}: {envelope:?} was ignored, then no longer"
                );
            }
        }
    }
    assert!(
        checked >= min,
        "{name}: only {checked} ignored deliveries seen"
    );
}

#[test]
fn ignored_messages_are_never_acted_on_and_stay_ignored() {
    for (name, cfg) in small_models() {
        assert_ignored_sound(name, &cfg.into_actors(&[]), ignored_forever, 1000);
    }
}

#[test]
fn chain_messages_dropped_as_ignored_are_never_acted_on_and_stay_ignored() {
    let cfg = ChainCfg {
        clients: 1,
        ..chain::base()
    };
    assert_ignored_sound("chain", &cfg.into_model(&[]), chain::ignored_forever, 1000);
}

/// The lock model the znode reductions are checked on: `lock-scalable` with one server and
/// two clients (one stalls while it holds the lock, one may halt).
fn small_lock_model() -> znode::Checked<ScalableLock> {
    let b = Bounds {
        servers: Some(1),
        clients: Some(2),
        ..Bounds::default()
    };
    let cfg = lock::scalable(&b, true);
    let judged: Vec<&str> = coord_models::checks()
        .into_iter()
        .find(|c| c.name == "lock-scalable")
        .expect("lock-scalable is registered")
        .expect
        .iter()
        .map(|(p, _)| *p)
        .collect();
    cfg.with(&b).into_model(&judged).unwrap()
}

#[test]
fn znode_messages_dropped_as_ignored_are_never_acted_on_and_stay_ignored() {
    let model = small_lock_model();
    let dead = znode::ignored_forever::<ScalableLock>;
    assert_ignored_sound("lock-scalable", &model.actors, dead, 100);
    let counter = znode::counter::base().into_model(&[]).unwrap();
    let dead = znode::ignored_forever::<Counter>;
    assert_ignored_sound("znode-counter", &counter.actors, dead, 100);
    // Two servers, leader changes, an expiry: AppendEntries replies that acknowledge
    // nothing new, and a client that found its session expired. No crash: this unwrapped
    // model would restart the client too, which the checked one never does.
    let cfg = ZnodeCfg {
        max_crashes: 0,
        ..script::failover_ephemeral(2)
    };
    let failover = cfg.into_model(&[]).unwrap();
    let dead = znode::ignored_forever::<Script>;
    assert_ignored_sound("znode-failover-ephemeral", &failover.actors, dead, 100);
}

/// A request, ping or disconnect at the front of its channel, of a connection its server
/// does not know: the tidy drops it (`ZkServerState::ignores_until_connect`). At the front
/// of a FIFO channel nothing can overtake it, so no `Connect` can reach the server first.
#[test]
fn znode_requests_of_unknown_connections_are_never_acted_on_and_stay_ignored() {
    let failover = script::failover_ephemeral(2).into_model(&[]).unwrap();
    let orphan = |receiver: &<znode::ZnodeNode<Script> as Actor>::State, src, msg: &_| {
        let server = receiver.server().and_then(|s| s.server());
        server.is_some_and(|s| s.ignores_until_connect(src, msg))
    };
    assert_ignored_sound("znode-failover-ephemeral", &failover.actors, orphan, 100);
}

/// Every state reachable from `init` by `next` (no cap: for small models only).
fn closure<S: Clone + Eq + Hash>(init: Vec<S>, next: impl Fn(&S) -> Vec<S>) -> HashSet<S> {
    let mut seen: HashSet<S> = HashSet::new();
    let mut queue: VecDeque<S> = init.into();
    while let Some(state) = queue.pop_front() {
        if seen.insert(state.clone()) {
            queue.extend(next(&state));
        }
    }
    seen
}

#[test]
fn tidying_znode_states_reaches_exactly_the_tidied_states_and_keeps_every_verdict() {
    let model = small_lock_model();
    let (actors, cfg) = (&model.actors, &model.actors.cfg);
    let tidy = |s: &znode::State<ScalableLock>| {
        let mut s = s.clone();
        cfg.tidy(&mut s);
        s
    };
    // The same steps, untidied.
    let untidied = closure(actors.init_states(), |s| {
        let mut actions = Vec::new();
        actors.actions(s, &mut actions);
        (actions.into_iter())
            .filter(|a| cfg.allows(s, a))
            .filter_map(|a| actors.next_state(s, a))
            .filter(|t| actors.within_boundary(t))
            .collect()
    });
    let tidied = closure(model.init_states(), |s| successors(&model, s));
    let images: HashSet<_> = untidied.iter().map(tidy).collect();
    assert!(
        tidied.len() < untidied.len(),
        "tidying reduced nothing ({} states)",
        tidied.len()
    );
    assert!(
        tidied == images,
        "tidying reaches other states than the tidied ones"
    );
    let halted = untidied
        .iter()
        .filter(|s| tidy(s).actor_states != s.actor_states);
    assert!(
        halted.count() > 1000,
        "few states with a halted client to forget"
    );
    for state in &untidied {
        let tidied = tidy(state);
        assert_eq!(
            actors.within_boundary(state),
            actors.within_boundary(&tidied)
        );
        for p in actors.properties() {
            let (before, after) = ((p.condition)(actors, state), (p.condition)(actors, &tidied));
            assert_eq!(before, after, "tidying changes {:?}", p.name);
        }
    }
}

/// The renaming that maps server `i` to `perm[i]` and leaves clients alone.
fn renaming(perm: &[usize], actors: usize) -> Renaming {
    let targets: Vec<usize> = (0..actors)
        .map(|i| perm.get(i).copied().unwrap_or(i))
        .collect();
    RewritePlan::from_values_to_sort(&targets)
}

#[test]
fn renaming_servers_maps_steps_onto_steps_and_keeps_every_property() {
    let perms: [[usize; 3]; 5] = [[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for (name, cfg) in small_models() {
        let actors = cfg.servers + cfg.clients;
        let model = cfg.into_model(&[]);
        let states = reachable(&model, usize::MAX, CAP / 10);
        assert!(states.len() > 1000, "{name}: explored too little");
        for state in &states {
            for perm in &perms {
                let plan = renaming(perm, actors);
                let renamed = rename(state, &plan, |_, _, _| true);
                for (_, property, holds) in PROPERTIES {
                    assert_eq!(
                        holds(&model.actors, state),
                        holds(&model.actors, &renamed),
                        "{name}: renaming by {perm:?} changes {property:?}"
                    );
                }
                let expected: HashSet<State> = successors(&model, state)
                    .iter()
                    .map(|s| rename(s, &plan, |_, _, _| true))
                    .collect();
                let actual: HashSet<State> = successors(&model, &renamed).into_iter().collect();
                assert_eq!(
                    actual, expected,
                    "{name}: renaming by {perm:?} does not commute with a step"
                );
            }
        }
    }
}

/// The state with every crashed server recovered from storage, and no note of crashed
/// leaders (which only a restart makes).
fn recovered(model: &raft::RaftActors, state: &State) -> State {
    let mut state =
        (0..state.crashed.len())
            .filter(|&i| state.crashed[i])
            .fold(state.clone(), |s, i| {
                model
                    .next_state(&s, ActorModelAction::Recover(Id::from(i)))
                    .expect("a crashed server can recover")
            });
    state.history.crashed_leader = None;
    state
}

#[test]
fn crash_periods_end_in_states_that_restarts_reach() {
    let cfg = RaftCfg {
        clients: 1,
        ops: 1,
        ..raft::base()
    };
    // A restart is one step where a crash period is two, so restarts reach within `DEPTH`
    // steps every recovered state of a crash period that ends within `DEPTH` steps.
    const DEPTH: usize = 9;
    let restarting = cfg.clone().into_model(&[]);
    let reached: HashSet<State> = reachable(&restarting, DEPTH, usize::MAX)
        .into_iter()
        .map(|mut s| {
            s.history.crashed_leader = None;
            s
        })
        .collect();
    let actors = cfg.into_actors(&PROPERTIES.map(|(_, name, _)| name));
    let mut with_crashes = 0;
    for state in reachable(&actors, DEPTH, usize::MAX) {
        if !state.crashed.contains(&true) {
            continue;
        }
        with_crashes += 1;
        let twin = recovered(&actors, &state);
        assert!(
            reached.contains(&twin),
            "a state with a server down recovers into a state that restarts do not reach"
        );
        for (expectation, name, holds) in PROPERTIES {
            if matches!(expectation, Expectation::Always) {
                assert!(
                    !holds(&actors, &twin) || holds(&actors, &state),
                    "{name:?} holds once the crashed servers recover but not while they are down"
                );
            }
        }
    }
    assert!(
        with_crashes > 1000,
        "only {with_crashes} states with a crash seen"
    );
}

#[test]
fn the_representative_is_the_sorted_state_without_its_ignored_messages() {
    let links = [Links::Reordering, Links::Duplicating, Links::Fifo];
    for links in links {
        let cfg = RaftCfg {
            ops: 1,
            links,
            ..raft::base()
        };
        let model = cfg.into_model(&[]);
        // A key that ties often, so that both sorted and unsorted states occur.
        let key = |s: &coord::raft::RaftState<coord::kv::KvStore>, crashed: bool| {
            (crashed, s.term, s.last_index())
        };
        let mut renamed = 0;
        for state in reachable(&model, usize::MAX, CAP / 10) {
            let plan = server_order(&state, key);
            renamed += usize::from(plan.is_some());
            let mut expected =
                plan.map_or_else(|| state.clone(), |p| rename(&state, &p, |_, _, _| true));
            drop_dead_messages(&mut expected, ignored_forever);
            expected.network = as_key(&expected.network);
            assert_eq!(
                canonical(&state, ignored_forever, key),
                expected,
                "{links:?}: the one-pass representative differs"
            );
        }
        assert!(renamed > 100, "{links:?}: only {renamed} states renamed");
    }
}
