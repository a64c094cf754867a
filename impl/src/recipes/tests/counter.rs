//! The counter recipe, one story per rule: each step a result in, the next call out.

use super::ms;
use crate::recipes::counter::{Counter, CounterState, Phase};
use crate::znode::client::{Call, Next, Program};
use coord_specs::znode::build::{create, created, data, get, set, stat};
use coord_specs::znode::{CreateMode, ZkError, ZkRet};

fn counter() -> Counter {
    Counter::new("/c", ms(10)..ms(20), 2)
}

/// The counter's value `v` at data version `version`.
fn value(v: &str, version: i32) -> ZkRet {
    data(v, stat(1, 1, 1, version, 0, v.len() as u32, 0))
}

#[test]
fn one_increment_reads_and_sets_at_the_version_read() {
    let c = counter();
    let (mut state, first) = c.start();
    assert_eq!(first, Next::Call(Call::plain(get("/c"))));
    assert_eq!(
        c.on_return(&mut state, &value("41", 3)),
        Next::Call(Call::plain(set("/c", "42", 3)))
    );
    let ok = ZkRet::Set(stat(1, 2, 1, 4, 0, 2, 0));
    assert_eq!(c.on_return(&mut state, &ok), Next::Done);
    let done = CounterState {
        phase: Phase::Done,
        conflicts: 0,
        value: 42,
    };
    assert_eq!(state, done);
}

#[test]
fn a_missing_counter_is_created_then_read() {
    let c = counter();
    let (mut state, _) = c.start();
    let create = create("/c", "0", CreateMode::Persistent, 0);
    let missing = ZkRet::Err(ZkError::NoNode);
    assert_eq!(
        c.on_return(&mut state, &missing),
        Next::Call(Call::plain(create))
    );
    let read = Next::Call(Call::plain(get("/c")));
    assert_eq!(c.on_return(&mut state, &created("/c")), read);
    // Created by someone else in between: read it all the same.
    c.on_return(&mut state, &missing);
    let exists = ZkRet::Err(ZkError::NodeExists);
    assert_eq!(c.on_return(&mut state, &exists), read);
}

#[test]
fn empty_data_counts_as_zero() {
    let c = counter();
    let (mut state, _) = c.start();
    assert_eq!(
        c.on_return(&mut state, &value("", 0)),
        Next::Call(Call::plain(set("/c", "1", 0)))
    );
}

#[test]
fn a_conflict_backs_off_then_reads_again() {
    let c = counter();
    let (mut state, _) = c.start();
    c.on_return(&mut state, &value("0", 0));
    let conflict = ZkRet::Err(ZkError::BadVersion);
    assert_eq!(
        c.on_return(&mut state, &conflict),
        Next::Sleep(ms(10)..ms(20))
    );
    assert_eq!((state.phase, state.conflicts), (Phase::Sleeping, 1));
    assert_eq!(c.on_wake(&mut state), Next::Call(Call::plain(get("/c"))));
    c.on_return(&mut state, &value("1", 1));
    assert_eq!(
        c.on_return(&mut state, &conflict),
        Next::Sleep(ms(20)..ms(40))
    );
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let c = counter();
    let ranges: Vec<_> = (1..=5).map(|k| c.backoff(k)).collect();
    assert_eq!(
        ranges,
        [
            ms(10)..ms(20),
            ms(20)..ms(40),
            ms(40)..ms(80),
            ms(40)..ms(80),
            ms(40)..ms(80)
        ]
    );
}

#[test]
fn the_value_after_a_conflict_is_the_one_finally_set() {
    let c = counter();
    let (mut state, _) = c.start();
    c.on_return(&mut state, &value("4", 4));
    c.on_return(&mut state, &ZkRet::Err(ZkError::BadVersion));
    c.on_wake(&mut state);
    c.on_return(&mut state, &value("6", 6));
    let ok = ZkRet::Set(stat(1, 2, 1, 7, 0, 1, 0));
    assert_eq!(c.on_return(&mut state, &ok), Next::Done);
    assert_eq!((state.phase, state.value), (Phase::Done, 7));
}

#[test]
fn an_error_no_retry_mends_fails_the_increment() {
    let c = counter();
    // The parent of the counter is missing: its creation fails.
    let (mut state, _) = c.start();
    c.on_return(&mut state, &ZkRet::Err(ZkError::NoNode));
    let no_parent = ZkRet::Err(ZkError::NoNode);
    assert_eq!(c.on_return(&mut state, &no_parent), Next::Done);
    assert_eq!(state.phase, Phase::Failed(ZkError::NoNode));
    // The counter was deleted between the read and the set.
    let (mut state, _) = c.start();
    c.on_return(&mut state, &value("1", 1));
    assert_eq!(c.on_return(&mut state, &no_parent), Next::Done);
    assert_eq!(state.phase, Phase::Failed(ZkError::NoNode));
    // An invalid path.
    let (mut state, _) = Counter::new("c", ms(10)..ms(20), 2).start();
    let bad = ZkRet::Err(ZkError::BadArguments);
    assert_eq!(c.on_return(&mut state, &bad), Next::Done);
    assert_eq!(state.phase, Phase::Failed(ZkError::BadArguments));
}
