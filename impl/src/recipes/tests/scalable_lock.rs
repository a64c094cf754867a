//! The scalable lock and the election built on it.

use super::{at, deleted, done, ms, operate, story, use_after_pause, use_now};
use crate::recipes::election::candidate;
use crate::recipes::lock::{Hold, LockBug, Phase};
use crate::recipes::scalable_lock::{sequence, ScalableLock};
use crate::znode::client::{Call, Next, Program};
use crate::znode::msg::ResourceMsg;
use coord_specs::znode::build::{create, created, delete, exists, found, kids, names, stat};
use coord_specs::znode::{CreateMode, ZkError, ZkRet};

/// Client 5 of the lock under `/lock`.
fn lock(hold: Hold) -> ScalableLock {
    ScalableLock::new("/lock", 5, hold)
}

fn call(op: coord_specs::znode::ZkOp) -> Next {
    Next::Call(Call::plain(op))
}

fn watch(path: &str) -> Next {
    Next::Call(Call::watched(exists(path)))
}

fn mine() -> ZkRet {
    created("/lock/lock-5-0000000003")
}

fn there() -> ZkRet {
    found(stat(1, 1, 1, 0, 0, 0, 0))
}

#[test]
fn the_client_creates_an_ephemeral_sequential_node_named_with_its_guid() {
    let (state, first) = lock(use_now()).start();
    let node = create("/lock/lock-5-", "", CreateMode::EphemeralSequential, 0);
    assert_eq!(first, call(node));
    assert_eq!(state.phase, Phase::Creating);
}

#[test]
fn the_lowest_node_holds_the_lock_and_release_deletes_it() {
    let l = lock(use_now());
    let (mut state, _) = l.start();
    assert_eq!(l.on_return(&mut state, &mine()), call(kids("/lock")));
    let held = l.on_return(&mut state, &names(&["lock-5-0000000003"]));
    assert_eq!(held, operate(Some(3)));
    assert_eq!(at(&state), (Phase::Using, Some(3)));
    let release = l.on_resource(&mut state, &done());
    assert_eq!(release, Some(call(delete("/lock/lock-5-0000000003", -1))));
    assert_eq!(at(&state), (Phase::Releasing, Some(3)));
    assert_eq!(l.on_return(&mut state, &ZkRet::Deleted), Next::Done);
    assert_eq!(state.phase, Phase::Released);
}

#[test]
fn a_waiter_watches_only_the_node_just_before_its_own_and_rechecks_when_it_goes() {
    let l = lock(use_now());
    let (mut state, _) = l.start();
    let queue = names(&[
        "lock-7-0000000002",
        "lock-5-0000000003",
        "lock-6-0000000000",
        "lock-8-0000000001",
    ]);
    let next = story(&l, &mut state, &[mine(), queue]);
    assert_eq!(next, watch("/lock/lock-7-0000000002"));
    assert_eq!(l.on_return(&mut state, &there()), Next::Wait);
    assert_eq!(at(&state), (Phase::Waiting, Some(3)));
    // The predecessor went (a waiter whose session expired): the lock may still be held.
    let event = deleted("/lock/lock-7-0000000002");
    assert_eq!(l.on_event(&mut state, &event), Some(call(kids("/lock"))));
    let rest = names(&["lock-5-0000000003", "lock-6-0000000000"]);
    assert_eq!(
        l.on_return(&mut state, &rest),
        watch("/lock/lock-6-0000000000")
    );
    l.on_return(&mut state, &there());
    l.on_event(&mut state, &deleted("/lock/lock-6-0000000000"));
    let alone = names(&["lock-5-0000000003"]);
    assert_eq!(l.on_return(&mut state, &alone), operate(Some(3)));
}

#[test]
fn a_predecessor_gone_already_means_list_again() {
    let l = lock(use_now());
    let (mut state, _) = l.start();
    story(
        &l,
        &mut state,
        &[mine(), names(&["lock-6-0000000000", "lock-5-0000000003"])],
    );
    assert_eq!(
        l.on_return(&mut state, &ZkRet::Exists(None)),
        call(kids("/lock"))
    );
}

#[test]
fn the_client_finds_its_node_by_its_guid() {
    let l = lock(use_now());
    let (mut state, _) = l.start();
    // Client 51's node shares the digits, not the guid.
    let queue = names(&["lock-51-0000000000", "lock-5-0000000001", "other"]);
    let next = story(&l, &mut state, &[mine(), queue]);
    assert_eq!(next, watch("/lock/lock-51-0000000000"));
    assert_eq!(state.node.as_deref(), Some("/lock/lock-5-0000000001"));
    assert_eq!(state.token, Some(1));
}

#[test]
fn a_missing_lock_node_is_created_first() {
    let l = lock(use_now());
    let (mut state, first) = l.start();
    let parent = create("/lock", "", CreateMode::Persistent, 0);
    assert_eq!(
        l.on_return(&mut state, &ZkRet::Err(ZkError::NoNode)),
        call(parent)
    );
    // Created by someone else in between: create the client's node all the same.
    let exists = ZkRet::Err(ZkError::NodeExists);
    assert_eq!(l.on_return(&mut state, &exists), first);
}

#[test]
fn a_lock_node_that_cannot_be_made_or_hold_children_fails_the_try() {
    let l = lock(use_now());
    // The lock node's parent is missing.
    let (mut state, _) = l.start();
    let missing = ZkRet::Err(ZkError::NoNode);
    l.on_return(&mut state, &missing);
    assert_eq!(l.on_return(&mut state, &missing), Next::Done);
    assert_eq!(state.phase, Phase::Failed(ZkError::NoNode));
    // The lock node is ephemeral.
    let (mut state, _) = l.start();
    let ephemeral = ZkRet::Err(ZkError::NoChildrenForEphemerals);
    assert_eq!(l.on_return(&mut state, &ephemeral), Next::Done);
    assert_eq!(state.phase, Phase::Failed(ZkError::NoChildrenForEphemerals));
}

#[test]
fn a_client_whose_node_vanished_has_lost() {
    let l = lock(use_now());
    let (mut state, _) = l.start();
    let next = story(&l, &mut state, &[mine(), names(&["lock-6-0000000004"])]);
    assert_eq!((next, state.phase), (Next::Done, Phase::Lost));
}

#[test]
fn the_holder_pauses_then_shows_its_token_to_the_resource_then_releases() {
    let l = lock(use_after_pause());
    let (mut state, _) = l.start();
    let next = story(&l, &mut state, &[mine(), names(&["lock-5-0000000003"])]);
    assert_eq!(next, Next::Sleep(ms(10)..ms(20)));
    assert_eq!(at(&state), (Phase::Paused, Some(3)));
    assert_eq!(l.on_wake(&mut state), operate(Some(3)));
    // Refused (the lock had passed on): release all the same.
    let refused = ResourceMsg::Answer { accepted: false };
    let release = l.on_resource(&mut state, &refused);
    assert_eq!(release, Some(call(delete("/lock/lock-5-0000000003", -1))));
    // Its session's expiry deleted the node first.
    let gone = ZkRet::Err(ZkError::NoNode);
    assert_eq!(l.on_return(&mut state, &gone), Next::Done);
}

#[test]
fn events_and_answers_change_nothing_unless_awaited() {
    let l = lock(use_after_pause());
    let (mut state, _) = l.start();
    assert_eq!(l.on_event(&mut state, &deleted("/lock/x")), None);
    assert_eq!(l.on_resource(&mut state, &done()), None);
    assert_eq!(state.phase, Phase::Creating);
}

#[test]
fn watch_lowest_bug_watches_the_first_node() {
    let l = lock(use_now()).with_bug(Some(LockBug::WatchLowest));
    let (mut state, _) = l.start();
    let queue = names(&[
        "lock-6-0000000000",
        "lock-7-0000000001",
        "lock-5-0000000003",
    ]);
    let next = story(&l, &mut state, &[mine(), queue]);
    assert_eq!(next, watch("/lock/lock-6-0000000000"));
}

#[test]
fn no_recheck_bug_takes_the_lock_when_the_predecessor_goes() {
    let l = lock(use_now()).with_bug(Some(LockBug::NoRecheck));
    let (mut state, _) = l.start();
    let queue = names(&[
        "lock-6-0000000000",
        "lock-7-0000000001",
        "lock-5-0000000003",
    ]);
    story(&l, &mut state, &[mine(), queue, there()]);
    let next = l.on_event(&mut state, &deleted("/lock/lock-7-0000000001"));
    assert_eq!(next, Some(operate(Some(3))));
}

#[test]
fn a_leader_leads_until_woken_and_shows_its_epoch() {
    let c = candidate("/election", 5);
    let (mut state, _) = c.start();
    let won = names(&["lock-5-0000000002"]);
    let next = story(
        &c,
        &mut state,
        &[created("/election/lock-5-0000000002"), won],
    );
    assert_eq!(next, Next::Wait);
    assert_eq!((state.phase, state.held_token()), (Phase::Holding, Some(2)));
    // Woken to resign: its node goes, and the next candidate takes over.
    let resign = call(delete("/election/lock-5-0000000002", -1));
    assert_eq!(c.on_wake(&mut state), resign);
    assert_eq!(state.held_token(), None);
}

#[test]
fn a_waiting_candidate_woken_goes_on_waiting() {
    let c = candidate("/election", 5);
    let (mut state, _) = c.start();
    let queue = names(&["lock-4-0000000001", "lock-5-0000000002"]);
    story(
        &c,
        &mut state,
        &[created("/election/lock-5-0000000002"), queue, there()],
    );
    assert_eq!(
        (c.on_wake(&mut state), state.phase),
        (Next::Wait, Phase::Waiting)
    );
}

#[test]
fn sequence_numbers_are_the_last_ten_digits() {
    assert_eq!(sequence("lock-5-0000000042"), Some(42));
    assert_eq!(sequence("0000000007"), Some(7));
    assert_eq!(sequence("lock-5-00000042"), None);
    assert_eq!(sequence("lock-5-000000004x"), None);
    assert_eq!(sequence("lock"), None);
}
