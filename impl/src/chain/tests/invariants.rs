//! The invariants of a chain node and of the manager: each one catches a state (or a
//! step) that breaks it, and the stories' states keep them all.

use super::*;
use crate::invariants::{assert_kept, Broken, Invariants};
use crate::kv::KvStore;

fn broken(r: Result<(), Broken>) -> &'static str {
    r.unwrap_err().invariant
}

/// An update of `epoch` by the client, numbered `seq`.
fn of_epoch(epoch: Epoch, seq: u64) -> Update<KvOp> {
    Update {
        epoch,
        ..update(seq, "v")
    }
}

#[test]
fn the_states_of_these_stories_keep_every_invariant() {
    let n = node();
    let at_head = deliver(&n, h(), &fresh(&n), client(), request(1, put("a")));
    let states = [
        fresh(&n),
        at_head.state,
        holding(vec![update(1, "a"), update(2, "b")], 1),
    ];
    for state in &states {
        assert_eq!(n.invariants(state), Ok(()), "{state:?}");
    }
}

#[test]
fn a_committed_prefix_past_the_history_is_caught() {
    let mut state = holding(vec![update(1, "a")], 1);
    state.committed = 2;
    let found = broken(node().invariants(&state));
    assert_eq!(found, "the committed prefix is within the history");
}

#[test]
fn a_clean_map_out_of_step_with_the_committed_prefix_is_caught() {
    let mut state = holding(vec![update(1, "a")], 1);
    state.clean = KvStore::default();
    let found = broken(node().invariants(&state));
    assert_eq!(found, "the clean map is the committed prefix applied");
}

#[test]
fn a_latest_sequence_number_out_of_step_with_the_history_is_caught() {
    let mut state = holding(vec![update(1, "a")], 0);
    state.latest.insert(client(), 5);
    let found = broken(node().invariants(&state));
    let expected = "each client's latest sequence number is its highest in the history";
    assert_eq!(found, expected);
}

#[test]
fn an_update_of_a_later_epoch_than_the_node_is_caught() {
    let state = holding(vec![of_epoch(1, 1)], 0);
    let found = broken(node().invariants(&state));
    assert_eq!(found, "no update is of a later epoch than the node's");
}

#[test]
fn updates_out_of_epoch_order_are_caught_unless_the_old_epoch_bug_is_on() {
    let mut state = holding(vec![of_epoch(1, 1), of_epoch(0, 2)], 0);
    state.config = without(m());
    let found = broken(node().invariants(&state));
    assert_eq!(found, "updates are in epoch order along the history");
    let old_epoch = chain(ReadMode::Tail, Some(ChainBug::OldEpoch));
    assert_eq!(old_epoch.invariants(&state), Ok(()));
}

#[test]
fn a_joining_node_that_knows_something_committed_is_caught() {
    let mut state = holding(vec![update(1, "a")], 1);
    state.joining = Some(Joining {
        copied: 1,
        asked: 0,
        resume: false,
    });
    let found = broken(node().invariants(&state));
    assert_eq!(found, "a joining or halted node knows nothing committed");
}

#[test]
fn a_joining_node_that_copied_more_than_it_holds_is_caught() {
    let mut state = holding(vec![update(1, "a")], 0);
    state.joining = Some(Joining {
        copied: 2,
        asked: 0,
        resume: false,
    });
    let found = broken(node().invariants(&state));
    assert_eq!(found, "a joining node's copy is within its history");
}

#[test]
fn an_epoch_going_down_is_caught() {
    let before = NodeState::recovered(without(m()), hist(vec![]), 0);
    let after = NodeState::recovered(epoch0(), hist(vec![]), 0);
    let found = broken(node().step_invariants(&before, &after));
    assert_eq!(found, "the epoch never goes down");
}

#[test]
fn a_committed_update_lost_in_a_step_is_caught() {
    let before = holding(vec![update(1, "a"), update(2, "b")], 2);
    let after = holding(vec![update(1, "a"), update(3, "c")], 2);
    let found = broken(node().step_invariants(&before, &after));
    assert_eq!(found, "the committed prefix only grows");
    let halted = NodeState {
        halted: true,
        ..holding(vec![], 0)
    };
    assert_eq!(node().step_invariants(&before, &halted), Ok(()));
}

#[test]
#[should_panic(expected = "invariant broken: the committed prefix is within the history")]
fn a_broken_node_invariant_panics_naming_it() {
    let mut state = holding(vec![], 0);
    state.committed = 1;
    assert_kept(&node(), None, &state);
}

#[test]
fn a_manager_with_an_unconfigured_member_is_caught() {
    let mut config = epoch0();
    config.members.push(client());
    let found = broken(manager().invariants(&managing(config)));
    assert_eq!(
        found,
        "the members are nodes the manager was configured with"
    );
}

#[test]
fn a_manager_with_a_member_twice_is_caught() {
    let mut config = epoch0();
    config.members.push(h());
    let found = broken(manager().invariants(&managing(config)));
    assert_eq!(found, "each member is in the chain once");
}

#[test]
fn a_manager_epoch_going_down_is_caught() {
    let (before, after) = (managing(without(m())), managing(epoch0()));
    let found = broken(manager().step_invariants(&before, &after));
    assert_eq!(found, "the epoch never goes down");
}

#[test]
fn a_change_of_membership_in_the_same_epoch_is_caught() {
    let mut same_epoch = without(m());
    same_epoch.epoch = 0;
    let (before, after) = (managing(epoch0()), managing(same_epoch));
    let found = broken(manager().step_invariants(&before, &after));
    assert_eq!(found, "every change of membership raises the epoch");
}

#[test]
fn the_manager_ignores_a_join_from_a_node_it_was_not_configured_with() {
    let stranger = Id::from(5);
    let state = managing(epoch0());
    let step = run(&state, |cow, o| {
        manager().on_msg(mgr(), cow, stranger, Msg::Join { epoch: 0 }, o)
    });
    assert!(!step.changed);
    assert!(step.cmds.is_empty());
    assert_eq!(manager().invariants(&step.state), Ok(()));
}
