//! The chain node's and the manager's handlers, one story of messages per test: an actor
//! is driven by calling its handlers directly, and each step is checked on the state it
//! leaves and on the messages it sends.
//!
//! The chain is `h()` (id 0, head), `m()` (id 1, middle) and `t()` (id 2, tail), with the
//! manager `mgr()` (id 3) and a client `client()` (id 7).

use super::*;
use crate::client::ClientMsg;
use crate::raft::StateMachine;
use crate::test_util::{run, sends, Step};
use coord_specs::kv::{KvOp, KvRet};
use stateright::actor::{Actor, Command, Id, Out};
use std::time::Duration;

type M = Msg<KvOp, KvRet>;

fn h() -> Id {
    Id::from(0)
}
fn m() -> Id {
    Id::from(1)
}
fn t() -> Id {
    Id::from(2)
}
fn mgr() -> Id {
    Id::from(3)
}
fn client() -> Id {
    Id::from(7)
}

fn chain(reads: ReadMode, bug: Option<ChainBug>) -> ChainNode {
    ChainNode {
        managers: vec![mgr()],
        members: vec![h(), m(), t()],
        reads,
        halt: None,
        heartbeat: None,
        links: Links::Fifo,
        lease: None,
        rejoin: None,
        copy_chunk: 2,
        bug,
    }
}

fn node() -> ChainNode {
    chain(ReadMode::Tail, None)
}

fn epoch0() -> Config {
    Config {
        epoch: 0,
        members: vec![h(), m(), t()],
    }
}

/// The configuration after removing `failed` from the epoch-0 chain.
fn without(failed: Id) -> Config {
    let mut config = epoch0();
    config.apply(&ConfigOp::Remove(failed));
    config
}

fn put(value: &str) -> KvOp {
    KvOp::Put {
        key: "x".into(),
        value: value.into(),
        expected: None,
    }
}

fn get() -> KvOp {
    KvOp::Get { key: "x".into() }
}

fn update(seq: u64, value: &str) -> Update<KvOp> {
    Update {
        epoch: 0,
        client: client(),
        seq,
        op: put(value),
    }
}

/// A read's answer: `value` at `version`.
fn got(value: &str, version: u64) -> KvRet {
    KvRet::GetOk {
        value: Some(value.into()),
        version,
    }
}

fn request(seq: u64, op: KvOp) -> M {
    Msg::Client(ClientMsg::Request { seq, op })
}

fn reply(seq: u64, ret: KvRet) -> M {
    Msg::Client(ClientMsg::Reply { seq, ret })
}

fn forward(config: Config, index: usize, update: Update<KvOp>) -> M {
    Msg::Forward {
        config,
        index,
        update,
    }
}

fn fresh(n: &ChainNode) -> NodeState {
    n.on_start(h(), &None, &mut Out::new())
}

/// A node in the epoch-0 chain holding `history`, of which `committed` is committed.
fn holding(history: Vec<Update<KvOp>>, committed: usize) -> NodeState {
    let mut state = NodeState::recovered(epoch0(), history.into(), 0);
    state.commit_to(committed);
    state
}

/// The history made of `updates`.
fn hist(updates: Vec<Update<KvOp>>) -> store::History {
    updates.into()
}

fn deliver(n: &ChainNode, me: Id, state: &NodeState, src: Id, msg: M) -> Step<ChainNode> {
    run(state, |cow, o| n.on_msg(me, cow, src, msg, o))
}

fn saves(step: &Step<ChainNode>) -> usize {
    step.cmds
        .iter()
        .filter(|c| matches!(c, Command::Save(_)))
        .count()
}

#[test]
fn a_write_at_the_head_is_saved_then_forwarded_and_not_answered() {
    let step = deliver(
        &node(),
        h(),
        &fresh(&node()),
        client(),
        request(1, put("a")),
    );
    assert_eq!(step.state.history, hist(vec![update(1, "a")]));
    assert!(
        matches!(step.cmds[0], Command::Save(_)),
        "saved before the send"
    );
    assert_eq!(
        sends(&step.cmds),
        vec![(m(), forward(epoch0(), 0, update(1, "a")))]
    );
}

#[test]
fn a_retried_write_enters_the_chain_once() {
    let head = holding(vec![update(1, "a")], 0);
    let step = deliver(&node(), h(), &head, client(), request(1, put("a")));
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
}

#[test]
fn a_write_or_read_at_the_wrong_node_is_redirected() {
    let write = deliver(
        &node(),
        m(),
        &fresh(&node()),
        client(),
        request(1, put("a")),
    );
    let read = deliver(&node(), m(), &fresh(&node()), client(), request(1, get()));
    let to = |leader| {
        Msg::Client(ClientMsg::Redirect {
            seq: 1,
            leader: Some(leader),
        })
    };
    assert_eq!(sends(&write.cmds), vec![(client(), to(h()))]);
    assert_eq!(sends(&read.cmds), vec![(client(), to(t()))]);
    assert!(!write.changed && !read.changed);
}

#[test]
fn the_middle_passes_an_update_down_and_an_ack_up() {
    let step = deliver(
        &node(),
        m(),
        &fresh(&node()),
        h(),
        forward(epoch0(), 0, update(1, "a")),
    );
    assert_eq!(
        sends(&step.cmds),
        vec![(t(), forward(epoch0(), 0, update(1, "a")))]
    );
    let ack = Msg::Ack {
        config: epoch0(),
        upto: 1,
    };
    let step = deliver(&node(), m(), &step.state, t(), ack.clone());
    assert_eq!(step.state.committed, 1);
    assert_eq!(sends(&step.cmds), vec![(h(), ack)]);
}

#[test]
fn the_tail_commits_answers_the_client_and_acknowledges() {
    let step = deliver(
        &node(),
        t(),
        &fresh(&node()),
        m(),
        forward(epoch0(), 0, update(1, "a")),
    );
    assert_eq!(step.state.committed, 1);
    assert_eq!(saves(&step), 1);
    let ack = Msg::Ack {
        config: epoch0(),
        upto: 1,
    };
    assert_eq!(
        sends(&step.cmds),
        vec![
            (client(), reply(1, KvRet::PutOk { version: 1 })),
            (m(), ack)
        ]
    );
    let read = deliver(&node(), t(), &step.state, client(), request(2, get()));
    let value = got("a", 1);
    assert_eq!(sends(&read.cmds), vec![(client(), reply(2, value))]);
}

#[test]
fn a_message_of_an_older_epoch_is_ignored() {
    let tail = NodeState {
        config: without(m()),
        ..fresh(&node())
    };
    let step = deliver(
        &node(),
        t(),
        &tail,
        m(),
        forward(epoch0(), 0, update(1, "a")),
    );
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
    // The deliberate bug acts on it.
    let buggy = chain(ReadMode::Tail, Some(ChainBug::OldEpoch));
    let step = deliver(
        &buggy,
        t(),
        &tail,
        m(),
        forward(epoch0(), 0, update(1, "a")),
    );
    assert_eq!(step.state.history.len(), 1);
}

#[test]
fn when_the_head_fails_its_successor_becomes_head() {
    let middle = holding(vec![update(1, "a")], 0);
    let step = deliver(&node(), m(), &middle, mgr(), Msg::NewConfig(without(h())));
    assert!(step.state.is_head(m()));
    assert!(
        !step.state.synced,
        "waits for its successor to say what it holds"
    );
    assert!(sends(&step.cmds).is_empty());
    let step = deliver(&node(), m(), &step.state, client(), request(2, put("b")));
    assert_eq!(step.state.history.len(), 2);
    assert!(sends(&step.cmds).is_empty(), "held back until in sync");
    let holding_one = Msg::Holding {
        config: without(h()),
        len: 1,
    };
    let step = deliver(&node(), m(), &step.state, t(), holding_one);
    let second = Update {
        epoch: 1,
        ..update(2, "b")
    };
    assert_eq!(
        sends(&step.cmds),
        vec![(t(), forward(without(h()), 1, second))]
    );
}

#[test]
fn when_the_tail_fails_its_predecessor_commits_and_answers() {
    let middle = holding(vec![update(1, "a")], 0);
    let step = deliver(&node(), m(), &middle, mgr(), Msg::NewConfig(without(t())));
    assert!(step.state.is_tail(m()));
    assert_eq!(step.state.committed, 1);
    let config = without(t());
    assert_eq!(
        sends(&step.cmds),
        vec![
            (
                h(),
                Msg::Holding {
                    config: config.clone(),
                    len: 1
                }
            ),
            (client(), reply(1, KvRet::PutOk { version: 1 })),
            (h(), Msg::Ack { config, upto: 1 }),
        ]
    );
}

#[test]
fn after_a_middle_failure_the_predecessor_resends_what_the_successor_lacks() {
    let head = holding(vec![update(1, "a"), update(2, "b")], 0);
    let holding_one = Msg::Holding {
        config: without(m()),
        len: 1,
    };
    let step = deliver(&node(), h(), &head, t(), holding_one.clone());
    assert_eq!(step.state.config, without(m()), "a newer epoch is adopted");
    assert_eq!(
        sends(&step.cmds),
        vec![(t(), forward(without(m()), 1, update(2, "b")))]
    );
    let buggy = chain(ReadMode::Tail, Some(ChainBug::NoResend));
    let step = deliver(&buggy, h(), &head, t(), holding_one);
    assert!(step.state.synced);
    assert!(sends(&step.cmds).is_empty());
}

#[test]
fn craq_reads_a_clean_key_locally_and_asks_the_tail_for_a_dirty_one() {
    let craq = chain(ReadMode::Craq, None);
    let clean = holding(vec![update(1, "a")], 1);
    let step = deliver(&craq, m(), &clean, client(), request(2, get()));
    let a = got("a", 1);
    assert_eq!(sends(&step.cmds), vec![(client(), reply(2, a.clone()))]);

    let dirty = holding(vec![update(1, "a"), update(2, "b")], 1);
    let step = deliver(&craq, m(), &dirty, client(), request(3, get()));
    let query = Msg::Query {
        config: epoch0(),
        client: client(),
        seq: 3,
        op: get(),
    };
    assert_eq!(sends(&step.cmds), vec![(t(), query.clone())]);

    let tail = holding(vec![update(1, "a")], 1);
    let step = deliver(&craq, t(), &tail, m(), query);
    let committed = Msg::Committed {
        config: epoch0(),
        client: client(),
        seq: 3,
        op: get(),
        upto: 1,
    };
    assert_eq!(sends(&step.cmds), vec![(m(), committed.clone())]);
    let step = deliver(&craq, m(), &dirty, t(), committed);
    assert_eq!(sends(&step.cmds), vec![(client(), reply(3, a))]);
}

#[test]
fn eventual_reads_return_the_newest_local_version() {
    let newest = chain(ReadMode::Newest, None);
    let dirty = holding(vec![update(1, "a"), update(2, "b")], 1);
    let step = deliver(&newest, m(), &dirty, client(), request(3, get()));
    let b = got("b", 2);
    assert_eq!(sends(&step.cmds), vec![(client(), reply(3, b))]);
}

#[test]
fn the_early_reply_bug_answers_at_the_head() {
    let buggy = chain(ReadMode::Tail, Some(ChainBug::EarlyReply));
    let step = deliver(&buggy, h(), &fresh(&buggy), client(), request(1, put("a")));
    assert_eq!(
        sends(&step.cmds)[0],
        (client(), reply(1, KvRet::PutOk { version: 1 }))
    );
}

#[test]
fn a_halted_node_tells_the_manager_and_does_nothing_more() {
    let state = holding(vec![update(1, "a")], 1);
    let step = run(&state, |cow, o| {
        node().on_timeout(m(), cow, &ChainTimer::Halt, o)
    });
    assert!(step.state.halted);
    assert_eq!(sends(&step.cmds), vec![(mgr(), Msg::Halted)]);
    let after = deliver(
        &node(),
        m(),
        &step.state,
        h(),
        forward(epoch0(), 1, update(2, "b")),
    );
    assert!(!after.changed && after.cmds.is_empty());
}

#[test]
fn a_node_restarted_on_a_whole_history_asks_to_resume_and_serves_once_told_yes() {
    let storage = ChainStorage {
        config: without(h()),
        history: hist(vec![update(1, "a")]),
        cuts: 0,
        serving: true,
    };
    let mut o = Out::new();
    let state = node().on_start(t(), &Some(storage.clone()), &mut o);
    assert!(
        state.is_joining(),
        "it serves nothing before the manager's answer"
    );
    let cmds: Vec<_> = o.into_iter().collect();
    assert_eq!(sends(&cmds), vec![(mgr(), Msg::Resume { epoch: 1 })]);
    let read = deliver(&node(), t(), &state, client(), request(2, get()));
    assert!(read.cmds.is_empty(), "no read before the answer");
    let yes = deliver(&node(), t(), &state, mgr(), Msg::Resumed(without(h())));
    assert!(!yes.state.is_joining());
    assert_eq!(yes.state.committed, 1, "the tail commits what it holds");
    let read = deliver(&node(), t(), &yes.state, client(), request(2, get()));
    assert_eq!(sends(&read.cmds), vec![(client(), reply(2, got("a", 1)))]);

    let mut removed = without(h());
    removed.apply(&ConfigOp::Remove(t()));
    let no = deliver(&node(), t(), &state, mgr(), Msg::NewConfig(removed));
    assert_eq!(
        no.state.joining.map(|j| (j.resume, j.copied)),
        Some((false, 0)),
        "no longer named: it joins, its history not trusted"
    );
}

#[test]
fn a_node_restarted_on_a_history_not_whole_asks_to_join() {
    let storage = ChainStorage {
        config: without(h()),
        history: hist(vec![update(1, "a")]),
        cuts: 0,
        serving: false,
    };
    let mut o = Out::new();
    let state = node().on_start(m(), &Some(storage), &mut o);
    assert_eq!(state.config, without(h()));
    assert_eq!(state.history, hist(vec![update(1, "a")]));
    assert_eq!(
        state.committed, 0,
        "nothing is known committed after a restart"
    );
    assert_eq!(
        state.joining,
        Some(Joining {
            copied: 0,
            asked: 1,
            resume: false,
        }),
        "its stored history is not trusted"
    );
    let cmds: Vec<_> = o.into_iter().collect();
    assert_eq!(sends(&cmds), vec![(mgr(), Msg::Join { epoch: 1 })]);
}

#[test]
fn a_new_node_outside_the_first_chain_joins_and_a_first_member_does_not() {
    let mut o = Out::new();
    let newcomer = node().on_start(Id::from(4), &None, &mut o);
    assert_eq!(newcomer.joining.map(|j| j.copied), Some(0));
    let cmds: Vec<_> = o.into_iter().collect();
    assert_eq!(sends(&cmds), vec![(mgr(), Msg::Join { epoch: 0 })]);
    let mut o = Out::new();
    let member = node().on_start(t(), &None, &mut o);
    assert_eq!(member.joining, None);
    assert!(o.into_iter().next().is_none());
}

// ---------------------------------------------------------------------------------------
// Extending the chain: a restarted node rejoins at the tail.
// ---------------------------------------------------------------------------------------

/// The chain after the head failed (epoch 1) and then rejoined at the tail (epoch 2).
fn rejoined() -> Config {
    let mut config = without(h());
    config.apply(&ConfigOp::Join(h(), 1));
    config
}

/// The old head restarted with a stale update `b` that it accepted and never forwarded.
fn restarted_head() -> NodeState {
    NodeState {
        joining: Some(Joining {
            copied: 0,
            asked: 0,
            resume: false,
        }),
        ..holding(vec![update(1, "a"), update(2, "b")], 0)
    }
}

fn fetch(from: usize) -> M {
    Msg::Fetch {
        config: rejoined(),
        from,
    }
}

fn copy(from: usize, updates: Vec<Update<KvOp>>, total: usize, committed: usize) -> M {
    Msg::Copy {
        config: rejoined(),
        from,
        updates,
        total,
        committed,
    }
}

#[test]
fn the_manager_adds_a_joining_node_at_the_tail_with_a_new_epoch() {
    assert_eq!(
        rejoined(),
        Config {
            epoch: 2,
            members: vec![m(), t(), h()]
        }
    );
    let mut config = epoch0();
    assert_eq!(
        config.apply(&ConfigOp::Join(m(), 0)).members,
        vec![h(), t(), m()],
        "a member that restarted moves to the tail"
    );
    let step = run(&managing(without(h())), |cow, o| {
        manager().on_msg(mgr(), cow, h(), Msg::Join { epoch: 1 }, o)
    });
    assert_eq!(step.state.config, rejoined());
    assert!(
        matches!(step.cmds[0], Command::Save(_)),
        "saved before published"
    );
    let publish = Msg::NewConfig(rejoined());
    assert_eq!(
        sends(&step.cmds),
        vec![
            (m(), publish.clone()),
            (t(), publish.clone()),
            (h(), publish)
        ]
    );
}

#[test]
fn a_joining_node_serves_nothing_and_fetches_from_its_new_predecessor() {
    let joining = restarted_head();
    let write = deliver(&node(), h(), &joining, client(), request(3, put("c")));
    assert!(!write.changed && write.cmds.is_empty(), "not serving yet");
    let ack = Msg::Ack {
        config: epoch0(),
        upto: 2,
    };
    let acked = deliver(&node(), h(), &joining, m(), ack);
    assert!(!acked.changed && acked.cmds.is_empty());
    let step = deliver(&node(), h(), &joining, mgr(), Msg::NewConfig(rejoined()));
    assert!(step.state.is_tail(h()));
    assert_eq!(step.state.committed, 0, "a joining tail commits nothing");
    assert_eq!(sends(&step.cmds), vec![(t(), fetch(0))]);
}

#[test]
fn the_old_tail_sends_its_history_in_chunks_then_forwards_again() {
    let old_tail = NodeState {
        config: rejoined(),
        synced: false,
        ..holding(vec![update(1, "a"), update(3, "c"), update(4, "d")], 3)
    };
    let step = deliver(&node(), t(), &old_tail, h(), fetch(0));
    assert!(step.state.synced);
    assert_eq!(
        sends(&step.cmds),
        vec![
            (h(), copy(0, vec![update(1, "a"), update(3, "c")], 3, 3)),
            (h(), copy(2, vec![update(4, "d")], 3, 3)),
        ]
    );
    let stranger = deliver(&node(), t(), &old_tail, m(), fetch(0));
    assert!(
        !stranger.changed && stranger.cmds.is_empty(),
        "only its successor"
    );
    let step = deliver(&node(), t(), &old_tail, h(), fetch(3));
    assert_eq!(sends(&step.cmds), vec![(h(), copy(3, vec![], 3, 3))]);
}

#[test]
fn a_joining_node_replaces_its_stale_history_and_commits_once_complete() {
    let installed = NodeState {
        config: rejoined(),
        ..restarted_head()
    };
    let first = deliver(
        &node(),
        h(),
        &installed,
        t(),
        copy(0, vec![update(1, "a"), update(3, "c")], 3, 2),
    );
    assert_eq!(
        first.state.history,
        hist(vec![update(1, "a"), update(3, "c")])
    );
    assert_eq!(first.state.cuts, 1, "the stale suffix was cut");
    assert_eq!(first.state.joining.map(|j| j.copied), Some(2));
    assert!(
        sends(&first.cmds).is_empty(),
        "not complete: nothing committed"
    );
    let repeated = deliver(&node(), h(), &first.state, t(), copy(0, vec![], 3, 2));
    assert!(!repeated.changed, "a chunk that does not continue the copy");
    let last = deliver(
        &node(),
        h(),
        &first.state,
        t(),
        copy(2, vec![update(4, "d")], 3, 2),
    );
    assert_eq!(last.state.joining, None);
    assert_eq!(last.state.committed, 3);
    assert!(matches!(last.cmds[0], Command::Save(_)));
    assert_eq!(
        sends(&last.cmds),
        vec![
            (client(), reply(4, KvRet::PutOk { version: 3 })),
            (
                t(),
                Msg::Ack {
                    config: rejoined(),
                    upto: 3
                }
            ),
        ],
        "only the update its predecessor had not seen committed is answered"
    );
    let read = deliver(&node(), h(), &last.state, client(), request(5, get()));
    let d = got("d", 3);
    assert_eq!(sends(&read.cmds), vec![(client(), reply(5, d))]);
}

#[test]
fn the_keep_stale_bug_trusts_the_stored_history() {
    let buggy = chain(ReadMode::Tail, Some(ChainBug::KeepStale));
    let storage = ChainStorage {
        config: epoch0(),
        history: hist(vec![update(1, "a"), update(2, "b")]),
        cuts: 0,
        serving: false,
    };
    let state = buggy.on_start(h(), &Some(storage), &mut Out::new());
    assert_eq!(state.joining.map(|j| j.copied), Some(2));
    let step = deliver(&buggy, h(), &state, mgr(), Msg::NewConfig(rejoined()));
    assert_eq!(sends(&step.cmds), vec![(t(), fetch(2))]);
}

#[test]
fn a_halted_node_that_may_rejoin_keeps_its_history_and_restarts_from_it() {
    let rejoining = ChainNode {
        rejoin: Some(Duration::from_secs(1)..Duration::from_secs(2)),
        ..node()
    };
    let state = holding(vec![update(1, "a")], 1);
    let halted = run(&state, |cow, o| {
        rejoining.on_timeout(h(), cow, &ChainTimer::Halt, o)
    });
    assert!(halted.state.halted);
    assert_eq!(halted.state.history, hist(vec![update(1, "a")]));
    assert!(halted
        .cmds
        .iter()
        .any(|c| matches!(c, Command::SetTimer(ChainTimer::Rejoin, _))));
    let back = run(&halted.state, |cow, o| {
        rejoining.on_timeout(h(), cow, &ChainTimer::Rejoin, o)
    });
    assert_eq!(
        back.state,
        NodeState {
            joining: Some(Joining {
                copied: 0,
                asked: 0,
                resume: false,
            }),
            ..NodeState::recovered(epoch0(), hist(vec![update(1, "a")]), 0)
        }
    );
    assert_eq!(sends(&back.cmds), vec![(mgr(), Msg::Join { epoch: 0 })]);
}

// ---------------------------------------------------------------------------------------
// The manager.
// ---------------------------------------------------------------------------------------

fn manager() -> ConfigManager {
    ConfigManager {
        members: vec![h(), m(), t()],
        republish: None,
    }
}

/// The manager's state with `config`.
fn managing(config: Config) -> ManagerState {
    ManagerState { config }
}

#[test]
fn a_node_with_heartbeats_on_beats_at_start_and_on_every_beat() {
    let beating = ChainNode {
        heartbeat: Some(Duration::from_millis(50)..Duration::from_millis(50)),
        ..node()
    };
    let mut o = Out::new();
    let state = beating.on_start(h(), &None, &mut o);
    assert!(o
        .into_iter()
        .any(|c| matches!(c, Command::SetTimer(ChainTimer::Beat, _))));
    let step = run(&state, |cow, o| {
        beating.on_timeout(h(), cow, &ChainTimer::Beat, o)
    });
    assert_eq!(sends(&step.cmds), vec![(mgr(), Msg::Alive { beat: 1 })]);
    assert!(step
        .cmds
        .iter()
        .any(|c| matches!(c, Command::SetTimer(ChainTimer::Beat, _))));
}

#[test]
fn a_restarted_manager_resumes_from_its_stored_configuration() {
    let state = manager().on_start(mgr(), &Some(without(m())), &mut Out::new());
    assert_eq!(state.config, without(m()));
}

#[test]
fn removing_a_member_raises_the_epoch_and_keeps_the_order() {
    assert_eq!(
        without(m()),
        Config {
            epoch: 1,
            members: vec![h(), t()]
        }
    );
    let mut config = without(m());
    assert_eq!(
        config.apply(&ConfigOp::Remove(m())),
        without(m()),
        "not a member"
    );
    assert_eq!(
        config.apply(&ConfigOp::Start(vec![m()])),
        without(m()),
        "started once"
    );
}

#[test]
fn the_manager_publishes_the_chain_without_a_halted_node() {
    let start = manager().on_start(mgr(), &None, &mut Out::new());
    assert_eq!(start, managing(epoch0()));
    let step = run(&start, |cow, o| {
        manager().on_msg(mgr(), cow, t(), Msg::Halted, o)
    });
    assert_eq!(step.state.config, without(t()));
    let publish = Msg::NewConfig(without(t()));
    assert_eq!(
        sends(&step.cmds),
        vec![(h(), publish.clone()), (m(), publish)]
    );
    let again = run(&step.state, |cow, o| {
        manager().on_msg(mgr(), cow, t(), Msg::Halted, o)
    });
    assert!(!again.changed && again.cmds.is_empty());
}

#[test]
fn the_manager_tells_a_client_where_to_go() {
    let config = managing(epoch0());
    let write = run(&config, |cow, o| {
        manager().on_msg(mgr(), cow, client(), request(1, put("a")), o)
    });
    let read = run(&config, |cow, o| {
        manager().on_msg(mgr(), cow, client(), request(2, get()), o)
    });
    let to = |seq, leader| {
        Msg::Client(ClientMsg::Redirect {
            seq,
            leader: Some(leader),
        })
    };
    assert_eq!(sends(&write.cmds), vec![(client(), to(1, h()))]);
    assert_eq!(sends(&read.cmds), vec![(client(), to(2, t()))]);
}

#[test]
fn raft_can_replicate_the_manager_and_suppresses_a_repeated_removal() {
    use crate::raft::{Entry, Payload, Replica};
    let detector = Id::from(9);
    let entry = |seq, op| Entry {
        term: 1,
        client: detector,
        seq,
        op: Payload::Op(op),
    };
    let mut replica = Replica::<Config>::default();
    replica.apply(&entry(1, ConfigOp::Start(vec![h(), m(), t()])), true);
    let removed = replica.apply(&entry(2, ConfigOp::Remove(m())), true);
    assert_eq!(removed, Some(without(m())));
    let retried = replica.apply(&entry(2, ConfigOp::Remove(m())), true);
    assert_eq!(
        retried,
        Some(without(m())),
        "the cached answer, applied once"
    );
    assert_eq!(replica.sm, without(m()));
}

/// A tail at run time: heartbeats every 50 ms, leases of 100 ms.
fn leasing(bug: Option<ChainBug>) -> ChainNode {
    ChainNode {
        heartbeat: Some(Duration::from_millis(50)..Duration::from_millis(50)),
        lease: Some(Duration::from_millis(100)..Duration::from_millis(100)),
        ..chain(ReadMode::Tail, bug)
    }
}

/// The state after `n` heartbeats, with the commands of the last.
fn beat(n: &ChainNode, state: &NodeState) -> Step<ChainNode> {
    run(state, |cow, o| n.on_timeout(t(), cow, &ChainTimer::Beat, o))
}

#[test]
fn at_run_time_a_tail_answers_reads_only_while_an_answered_heartbeat_has_not_run_out() {
    let tail = leasing(None);
    let state = holding(vec![update(1, "a")], 1);
    let unleased = deliver(&tail, t(), &state, client(), request(2, get()));
    assert!(sends(&unleased.cmds).is_empty(), "no lease yet: no answer");

    let asked = beat(&tail, &state);
    assert!(asked
        .cmds
        .iter()
        .any(|c| matches!(c, Command::SetTimer(ChainTimer::LeaseEnd(1), _))));
    let lease = Msg::Lease {
        beat: 1,
        config: epoch0(),
    };
    let leased = deliver(&tail, t(), &asked.state, mgr(), lease.clone());
    let read = deliver(&tail, t(), &leased.state, client(), request(2, get()));
    assert_eq!(sends(&read.cmds), vec![(client(), reply(2, got("a", 1)))]);

    let ran_out = run(&leased.state, |cow, o| {
        tail.on_timeout(t(), cow, &ChainTimer::LeaseEnd(1), o)
    });
    let read = deliver(&tail, t(), &ran_out.state, client(), request(3, get()));
    assert!(sends(&read.cmds).is_empty(), "the lease ran out");
    let late = deliver(&tail, t(), &ran_out.state, mgr(), lease);
    let read = deliver(&tail, t(), &late.state, client(), request(3, get()));
    assert!(sends(&read.cmds).is_empty(), "an answer read too late");

    let buggy = leasing(Some(ChainBug::NoLease));
    let read = deliver(&buggy, t(), &ran_out.state, client(), request(3, get()));
    assert_eq!(
        sends(&read.cmds).len(),
        1,
        "the bug answers without a lease"
    );
}

#[test]
fn a_node_the_manager_no_longer_names_joins_again_at_the_tail() {
    let tail = leasing(None);
    let state = holding(vec![update(1, "a")], 1);
    let asked = beat(&tail, &state);
    let removed = Msg::Lease {
        beat: 1,
        config: without(t()),
    };
    let step = deliver(&tail, t(), &asked.state, mgr(), removed);
    assert!(step.state.is_joining(), "it copies its predecessor again");
    assert_eq!(sends(&step.cmds), vec![(mgr(), Msg::Join { epoch: 0 })]);
}

mod invariants;
mod lossy;
mod replica;
