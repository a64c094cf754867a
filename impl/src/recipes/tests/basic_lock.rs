//! The basic lock.

use super::{deleted, done, operate, story, use_now};
use crate::recipes::basic_lock::BasicLock;
use crate::recipes::lock::Phase;
use crate::znode::client::{Call, Next, Program};
use coord_specs::znode::build::{create, created, delete, exists, found, stat};
use coord_specs::znode::{CreateMode, ZkError, ZkRet};

fn lock() -> BasicLock {
    BasicLock::new("/lock", use_now())
}

fn create_lock() -> Next {
    Next::Call(Call::plain(create("/lock", "", CreateMode::Ephemeral, 0)))
}

const TAKEN: ZkRet = ZkRet::Err(ZkError::NodeExists);

#[test]
fn the_client_that_creates_the_node_holds_the_lock() {
    let l = lock();
    let (mut state, first) = l.start();
    assert_eq!(first, create_lock());
    // It has no token to show.
    assert_eq!(l.on_return(&mut state, &created("/lock")), operate(None));
    let release = Next::Call(Call::plain(delete("/lock", -1)));
    assert_eq!(l.on_resource(&mut state, &done()), Some(release));
    assert_eq!((state.phase, state.token), (Phase::Releasing, None));
    assert_eq!(l.on_return(&mut state, &ZkRet::Deleted), Next::Done);
}

#[test]
fn a_taken_lock_is_watched_and_tried_again_when_it_goes() {
    let l = lock();
    let (mut state, _) = l.start();
    let watch = Next::Call(Call::watched(exists("/lock")));
    assert_eq!(l.on_return(&mut state, &TAKEN), watch);
    let there = found(stat(1, 1, 1, 0, 0, 0, 0));
    assert_eq!(l.on_return(&mut state, &there), Next::Wait);
    assert_eq!(
        l.on_event(&mut state, &deleted("/lock")),
        Some(create_lock())
    );
    // Another waiter was quicker: watch again.
    assert_eq!(l.on_return(&mut state, &TAKEN), watch);
}

#[test]
fn a_lock_gone_already_is_tried_again_at_once() {
    let l = lock();
    let (mut state, _) = l.start();
    let next = story(&l, &mut state, &[TAKEN, ZkRet::Exists(None)]);
    assert_eq!(next, create_lock());
}

#[test]
fn an_event_while_creating_changes_nothing() {
    let l = lock();
    let (mut state, _) = l.start();
    assert_eq!(l.on_event(&mut state, &deleted("/lock")), None);
    assert_eq!(state.phase, Phase::Creating);
}

#[test]
fn an_expired_session_loses() {
    let l = lock();
    let (mut state, _) = l.start();
    let expired = ZkRet::Err(ZkError::SessionExpired);
    assert_eq!(l.on_return(&mut state, &expired), Next::Done);
    assert_eq!(state.phase, Phase::Lost);
}
