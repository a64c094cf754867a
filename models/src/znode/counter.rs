//! The counter recipe's checks: clients each increment one counter once, with the
//! mini-transaction of the notes' part II.

use super::{
    clients, live_servers, znode_bug, znode_model, Judged, Property, State, ZnodeCfg, ZnodeModel,
    FIXED_LEADER,
};
use crate::check::{all_hold, bug_check, Check};
use crate::run::Search;
use coord::recipes::counter::{Counter, Phase};
use coord::znode::ZkBug;
use coord_specs::znode::build::get;
use coord_specs::znode::ZkRet;
use stateright::actor::model_timeout;
use stateright::Expectation;

/// The counter's path: the root, which always exists (its empty data counts as 0), so
/// that the model spends no log entries on creating it.
const PATH: &str = "/";

impl Judged for Counter {
    fn properties() -> Vec<Property<Counter>> {
        vec![
            (Expectation::Always, "no lost update", no_lost_update),
            (
                Expectation::Sometimes,
                "a conditional set fails with bad version and the retry succeeds",
                conflict_retried,
            ),
        ]
    }
}

/// When every client is done, the counter equals the number of increments, as read at the
/// live server that has applied the most (the leader, once all is committed), and the
/// increments set the values 1 to n, each once (what `coord counter incr` prints).
fn no_lost_update(model: &ZnodeModel<Counter>, state: &State<Counter>) -> bool {
    if !clients(state).all(|c| c.done) {
        return true;
    }
    let mut values: Vec<u64> = clients(state).map(|c| c.program.value).collect();
    values.sort_unstable();
    if !values.iter().copied().eq(1..=values.len() as u64) {
        return false;
    }
    let Some((_, freshest)) = live_servers(state).max_by_key(|(_, s)| s.raft.replica.applied)
    else {
        return true;
    };
    let increments = model.cfg.clients.len().to_string();
    let read = freshest.tree().answer_read(&get(PATH));
    matches!(read, Some(ZkRet::Data { data, .. }) if data == *increments.as_bytes())
}

/// A client whose conditional set failed with a bad version has since succeeded.
fn conflict_retried(_: &ZnodeModel<Counter>, state: &State<Counter>) -> bool {
    clients(state).any(|c| c.program.conflicts > 0 && c.program.phase == Phase::Done)
}

/// `znode-counter`: two counter clients, connected to the two followers of a leader fixed
/// in term 1.
pub fn base() -> ZnodeCfg<Counter> {
    let counter = Counter::new(PATH, model_timeout(), 3);
    ZnodeCfg::new(vec![(1, counter.clone()), (2, counter)])
}

// ---------------------------------------------------------------------------------------
// The named checks of the counter.
// ---------------------------------------------------------------------------------------

const COUNTER: [&str; 4] = [
    "linearizable",
    "no lost update",
    "a conditional set fails with bad version and the retry succeeds",
    "every client finishes",
];

/// The counter's checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "znode-counter",
            about: "znode, 3 servers, 2 counter clients at the followers: linearizable, no lost update, conflicts retried",
            search: Search::Dfs,
            expect: all_hold(&[&COUNTER]),
            quick: FIXED_LEADER,
            build: |b, judged| znode_model(base(), b, judged),
        },
        bug_check(
            "znode-bug-ignore-version",
            "deliberate bug: set ignores the expected version, so two increments make one",
            "no lost update",
            FIXED_LEADER,
            |b, judged| znode_bug(ZkBug::IgnoreVersion, base(), b, judged),
        ),
    ]
}
