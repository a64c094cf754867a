//! The rules for links that lose, repeat and reorder messages (`Links::Lossy`): positions
//! on updates, re-driven retries, resends on timers, and the manager's side of them.

use super::*;

fn lossy(bug: Option<ChainBug>) -> ChainNode {
    ChainNode {
        links: Links::Lossy {
            resend: Duration::from_millis(300)..Duration::from_millis(300),
        },
        ..chain(ReadMode::Tail, bug)
    }
}

fn holding_msg(len: usize) -> M {
    Msg::Holding {
        config: epoch0(),
        len,
    }
}

fn ack(upto: usize) -> M {
    Msg::Ack {
        config: epoch0(),
        upto,
    }
}

fn put_ok(version: u64) -> KvRet {
    KvRet::PutOk { version }
}

#[test]
fn an_update_after_a_gap_is_not_appended_and_the_rest_is_asked_for() {
    let step = deliver(
        &lossy(None),
        t(),
        &fresh(&node()),
        m(),
        forward(epoch0(), 1, update(2, "b")),
    );
    assert!(!step.changed, "update 0 was lost: 1 does not land early");
    assert_eq!(sends(&step.cmds), vec![(m(), holding_msg(0))]);
    // The deliberate bug appends it one place early.
    let buggy = deliver(
        &lossy(Some(ChainBug::NoPosition)),
        t(),
        &fresh(&node()),
        m(),
        forward(epoch0(), 1, update(2, "b")),
    );
    assert_eq!(buggy.state.history, hist(vec![update(2, "b")]));
}

#[test]
fn a_repeated_committed_update_is_answered_and_acknowledged_again() {
    let tail = holding(vec![update(1, "a")], 1);
    let step = deliver(
        &lossy(None),
        t(),
        &tail,
        m(),
        forward(epoch0(), 0, update(1, "a")),
    );
    assert!(!step.changed, "it is not appended twice");
    assert_eq!(
        sends(&step.cmds),
        vec![(client(), reply(1, put_ok(1))), (m(), ack(1))]
    );
}

#[test]
fn a_repeated_update_not_yet_committed_is_passed_on() {
    let middle = holding(vec![update(1, "a")], 0);
    let step = deliver(
        &lossy(None),
        m(),
        &middle,
        h(),
        forward(epoch0(), 0, update(1, "a")),
    );
    assert!(!step.changed);
    assert_eq!(
        sends(&step.cmds),
        vec![(t(), forward(epoch0(), 0, update(1, "a")))]
    );
}

#[test]
fn a_retried_write_is_answered_if_committed_and_driven_again_if_not() {
    let committed = holding(vec![update(1, "a")], 1);
    let step = deliver(
        &lossy(None),
        h(),
        &committed,
        client(),
        request(1, put("a")),
    );
    assert!(!step.changed, "a retry enters the chain once");
    assert_eq!(sends(&step.cmds), vec![(client(), reply(1, put_ok(1)))]);
    let pending = holding(vec![update(1, "a")], 0);
    let step = deliver(&lossy(None), h(), &pending, client(), request(1, put("a")));
    assert_eq!(
        sends(&step.cmds),
        vec![(m(), forward(epoch0(), 0, update(1, "a")))]
    );
    // A request older than the client's newest is past: nothing to do.
    let newer = holding(vec![update(1, "a"), update(2, "b")], 2);
    let step = deliver(&lossy(None), h(), &newer, client(), request(1, put("a")));
    assert!(step.cmds.is_empty());
}

fn resend(n: &ChainNode, me: Id, state: &NodeState) -> Step<ChainNode> {
    run(state, |cow, o| {
        n.on_timeout(me, cow, &ChainTimer::Resend, o)
    })
}

#[test]
fn on_its_resend_timer_a_node_says_again_what_it_holds() {
    let step = resend(&lossy(None), t(), &holding(vec![update(1, "a")], 1));
    assert!(!step.changed);
    assert!(step
        .cmds
        .iter()
        .any(|c| matches!(c, Command::SetTimer(ChainTimer::Resend, _))));
    assert_eq!(sends(&step.cmds), vec![(m(), holding_msg(1))]);
    let head = resend(&lossy(None), h(), &holding(vec![update(1, "a")], 0));
    assert!(sends(&head.cmds).is_empty(), "the head has no predecessor");
}

#[test]
fn a_joining_node_asks_again_for_its_place_then_for_its_copy() {
    // Not yet placed: its join was lost, so it asks the manager again at its epoch.
    let unplaced = NodeState {
        config: without(h()),
        ..restarted_head()
    };
    let step = resend(&lossy(None), h(), &unplaced);
    assert_eq!(sends(&step.cmds), vec![(mgr(), Msg::Join { epoch: 1 })]);
    assert_eq!(step.state.joining.map(|j| j.asked), Some(1));
    // Placed in an epoch newer than its request: it asks its predecessor for the copy.
    let placed = NodeState {
        config: rejoined(),
        joining: Some(Joining {
            copied: 0,
            asked: 1,
            resume: false,
        }),
        ..restarted_head()
    };
    let step = resend(&lossy(None), h(), &placed);
    assert_eq!(sends(&step.cmds), vec![(t(), fetch(0))]);
}

#[test]
fn a_repeated_copy_chunk_is_ignored() {
    let placed = NodeState {
        config: rejoined(),
        joining: Some(Joining {
            copied: 1,
            asked: 1,
            resume: false,
        }),
        ..restarted_head()
    };
    let step = deliver(
        &lossy(None),
        h(),
        &placed,
        t(),
        copy(0, vec![update(1, "a")], 2, 0),
    );
    assert!(!step.changed && step.cmds.is_empty());
}

#[test]
fn a_node_ignores_forever_what_it_already_knows() {
    let tail = holding(vec![update(1, "a")], 1);
    assert!(tail.ignores_forever(&Msg::NewConfig(epoch0())));
    assert!(!tail.ignores_forever(&Msg::NewConfig(without(h()))));
    assert!(tail.ignores_forever(&ack(1)));
    assert!(!holding(vec![update(1, "a")], 0).ignores_forever(&ack(1)));
}

#[test]
fn the_manager_answers_a_stale_join_with_its_configuration() {
    let state = managing(rejoined());
    let step = run(&state, |cow, o| {
        manager().on_msg(mgr(), cow, h(), Msg::Join { epoch: 1 }, o)
    });
    assert!(!step.changed, "a repeated join is not applied twice");
    assert_eq!(sends(&step.cmds), vec![(h(), Msg::NewConfig(rejoined()))]);
}

#[test]
fn the_manager_publishes_its_configuration_again_on_its_timer() {
    let republishing = ConfigManager {
        republish: Some(Duration::from_millis(300)..Duration::from_millis(300)),
        ..manager()
    };
    let step = run(&managing(without(m())), |cow, o| {
        republishing.on_timeout(mgr(), cow, &ManagerTimer::Publish, o)
    });
    assert!(!step.changed);
    assert_eq!(
        sends(&step.cmds),
        vec![
            (h(), Msg::NewConfig(without(m()))),
            (t(), Msg::NewConfig(without(m())))
        ]
    );
}
