//! The protected resource's fencing rule.

use crate::invariants::{Broken, Invariants};
use crate::recipes::fencing::{Resource, ResourceState};
use crate::test_util::{run, sends, Step};
use crate::znode::msg::{ResourceMsg, ZkMsg};
use stateright::actor::{Actor, Id};

fn a() -> Id {
    Id::from(4)
}
fn b() -> Id {
    Id::from(5)
}

fn operate(r: &Resource, state: &ResourceState, src: Id, token: Option<u64>) -> Step<Resource> {
    let msg = ZkMsg::Resource(ResourceMsg::Use { token });
    run(state, |cow, o| r.on_msg(Id::from(3), cow, src, msg, o))
}

fn answer(accepted: bool) -> ZkMsg {
    ZkMsg::Resource(ResourceMsg::Answer { accepted })
}

#[test]
fn a_token_at_least_as_high_as_any_seen_is_accepted_an_older_one_refused() {
    let r = Resource { fencing: true };
    let first = operate(&r, &ResourceState::default(), b(), Some(2));
    assert_eq!(sends(&first.cmds), [(b(), answer(true))]);
    let same = operate(&r, &first.state, b(), Some(2));
    assert_eq!(sends(&same.cmds), [(b(), answer(true))]);
    // A holder paused past its session's expiry comes back with its old token.
    let stale = operate(&r, &same.state, a(), Some(1));
    assert_eq!(sends(&stale.cmds), [(a(), answer(false))]);
    let none = operate(&r, &stale.state, a(), None);
    assert_eq!(sends(&none.cmds), [(a(), answer(false))]);
    assert_eq!(none.state.highest, Some(2));
    assert_eq!(
        none.state.log,
        [(b(), true), (b(), true), (a(), false), (a(), false)]
    );
}

#[test]
fn without_fencing_every_operation_is_accepted() {
    let r = Resource { fencing: false };
    let newer = operate(&r, &ResourceState::default(), b(), Some(2));
    let stale = operate(&r, &newer.state, a(), Some(1));
    assert_eq!(sends(&stale.cmds), [(a(), answer(true))]);
    assert_eq!(stale.state.log, [(b(), true), (a(), true)]);
}

#[test]
fn answers_are_ignored() {
    let r = Resource { fencing: true };
    let step = run(&ResourceState::default(), |cow, o| {
        r.on_msg(Id::from(3), cow, a(), answer(true), o)
    });
    assert!(!step.changed && step.cmds.is_empty());
}

// Invariants: each one catches a state or a step that breaks it.

fn broken(r: Result<(), Broken>) -> &'static str {
    r.unwrap_err().invariant
}

fn state(highest: Option<u64>, log: Vec<(Id, bool)>) -> ResourceState {
    ResourceState { highest, log }
}

#[test]
fn the_resources_of_these_stories_keep_every_invariant() {
    let r = Resource { fencing: true };
    let first = operate(&r, &ResourceState::default(), b(), Some(2));
    let stale = operate(&r, &first.state, a(), Some(1));
    for s in [&first.state, &stale.state] {
        assert_eq!(r.invariants(s), Ok(()));
    }
    assert_eq!(r.step_invariants(&first.state, &stale.state), Ok(()));
}

#[test]
fn a_fencing_resource_that_accepted_without_a_token_is_caught() {
    let r = Resource { fencing: true };
    let found = broken(r.invariants(&state(None, vec![(a(), true)])));
    assert_eq!(
        found,
        "a fencing resource knows a token once it has accepted an operation"
    );
    let unfenced = Resource { fencing: false };
    assert_eq!(unfenced.invariants(&state(None, vec![(a(), true)])), Ok(()));
}

#[test]
fn a_highest_token_going_down_is_caught() {
    let r = Resource { fencing: true };
    let (before, after) = (
        state(Some(2), vec![(a(), true)]),
        state(Some(1), vec![(a(), true)]),
    );
    let found = broken(r.step_invariants(&before, &after));
    assert_eq!(found, "the highest token never goes down");
}

#[test]
fn a_resource_forgetting_an_operation_is_caught() {
    let r = Resource { fencing: true };
    let (before, after) = (state(Some(2), vec![(a(), true)]), state(Some(2), vec![]));
    let found = broken(r.step_invariants(&before, &after));
    assert_eq!(found, "the resource's log only grows");
}
