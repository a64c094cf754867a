//! The recipes' handlers, one story per rule: each step a result, an event or a wake-up
//! in, the next step out.

mod basic_lock;
mod counter;
mod fencing;
mod scalable_lock;

use crate::recipes::lock::{Hold, LockState, Use};
use crate::znode::client::{Next, Program};
use crate::znode::msg::ResourceMsg;
use crate::znode::watch::WatchEvent;
use crate::znode::Change;
use coord_specs::znode::ZkRet;
use stateright::actor::Id;
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The resource the holders in these tests use.
fn resource() -> Id {
    Id::from(3)
}

/// Use the resource at once.
fn use_now() -> Hold {
    Hold::Use(Use {
        resource: resource(),
        pause: None,
    })
}

/// The holder's operation on the resource, showing `token`.
fn operate(token: Option<u64>) -> Next {
    Next::Send(resource(), ResourceMsg::Use { token })
}

/// The resource's answer: done.
fn done() -> ResourceMsg {
    ResourceMsg::Answer { accepted: true }
}

/// Use the resource after a pause of 10 to 20 ms.
fn use_after_pause() -> Hold {
    Hold::Use(Use {
        resource: resource(),
        pause: Some(ms(10)..ms(20)),
    })
}

/// A watch event reporting that `path` was deleted.
fn deleted(path: &str) -> WatchEvent {
    WatchEvent {
        change: Change::Deleted(path.into()),
        zxid: 9,
    }
}

/// Feeds `program` each result in turn, returning the last step.
fn story<P: Program>(program: &P, state: &mut P::State, results: &[ZkRet]) -> Next {
    let mut next = Next::Done;
    for ret in results {
        next = program.on_return(state, ret);
    }
    next
}

/// The state's phase and token, for short asserts.
fn at(state: &LockState) -> (crate::recipes::lock::Phase, Option<u64>) {
    (state.phase, state.token)
}
