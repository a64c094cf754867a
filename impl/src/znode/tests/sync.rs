//! `sync` by a read index the leader confirms: no log entry, no answer before a majority
//! acknowledges the leader's round, a read after it that sees every committed write, an
//! answer before its connection's later writes apply, a lost ask asked again, and a new
//! leader's no-op rather than a wait for a write.

use super::pipeline::replies;
use super::sim::{conn, connect, request, Sim};
use crate::raft::{Msg, Payload, RaftTimer};
use crate::znode::conn::{Call, Reply};
use crate::znode::server::SessionRules;
use crate::znode::txn::password;
use crate::znode::{ZkBug, ZkMsg, ZkTimer};
use coord_specs::znode::build::{create, get, set};
use coord_specs::znode::{CreateMode, ZkOp, ZkRet};
use stateright::actor::Id;
use std::time::Duration;

type Sent = (Id, Id, ZkMsg);

fn sync(path: &str) -> Call {
    Call::Op(ZkOp::Sync { path: path.into() })
}

/// Delivers messages between servers until none is left, but those matching `hold`,
/// which are taken out and returned.
fn run_holding(sim: &mut Sim, hold: impl Fn(&Sent) -> bool) -> Vec<Sent> {
    let mut held = Vec::new();
    for _ in 0..10_000 {
        held.extend(sim.intercept(&hold));
        let Some((src, to, msg)) = sim.net.pop_front() else {
            return held;
        };
        sim.deliver(src, usize::from(to), msg);
    }
    panic!("the servers never fall quiet");
}

fn to(server: usize) -> impl Fn(&Sent) -> bool {
    move |(_, dst, _)| usize::from(*dst) == server
}

/// The answer to request `xid` among `msgs`.
fn answer(msgs: &[ZkMsg], xid: i32) -> Option<&ZkRet> {
    msgs.iter().find_map(|m| match m {
        ZkMsg::Reply(Reply { xid: x, ret, .. }) if *x == xid => Some(ret),
        _ => None,
    })
}

#[test]
fn a_sync_writes_nothing_and_the_read_after_it_sees_every_committed_write() {
    let mut sim = Sim::three();
    sim.open(conn(1), 1);
    sim.open(conn(2), 0);
    let write = Call::Op(create("/x", "1", CreateMode::Persistent, 0));
    sim.deliver(conn(2), 0, request(1, write, false));
    run_holding(&mut sim, to(1));
    assert!(answer(&sim.take(conn(2)), 1).is_some(), "the write is done");
    sim.op(conn(1), 1, 1, get("/x"));
    assert_eq!(replies(&sim.take(conn(1))), [(1, None)], "server 1 lags");
    let log = sim.states[0].raft.last_index();
    sim.deliver(conn(1), 1, request(2, sync("/x"), false));
    sim.deliver(conn(1), 1, request(3, Call::Op(get("/x")), false));
    sim.run();
    let got = sim.take(conn(1));
    assert_eq!(answer(&got, 2), Some(&ZkRet::Synced("/x".into())));
    assert_eq!(replies(&got), [(2, None), (3, Some("1".into()))]);
    assert_eq!(
        sim.states[0].raft.last_index(),
        log,
        "a sync appends nothing"
    );
}

#[test]
fn a_sync_is_answered_only_once_a_majority_acknowledges_the_leaders_round() {
    for (bug, at_once) in [(None, false), (Some(ZkBug::SyncUnconfirmed), true)] {
        let mut sim = Sim::elected(3, SessionRules::default(), bug);
        sim.open(conn(1), 0);
        sim.deliver(conn(1), 0, request(1, sync("/"), false));
        let acks = |(_, _, m): &Sent| matches!(m, ZkMsg::Peer(Msg::Appended { .. }));
        let held = run_holding(&mut sim, acks);
        assert_eq!(
            replies(&sim.take(conn(1))).len(),
            usize::from(at_once),
            "{bug:?}"
        );
        sim.net.extend(held);
        sim.run();
        assert_eq!(
            replies(&sim.take(conn(1))).len(),
            usize::from(!at_once),
            "{bug:?}"
        );
    }
}

#[test]
fn a_sync_is_answered_before_its_connections_next_write_applies() {
    let mut sim = Sim::three();
    sim.open(conn(1), 1);
    sim.op(conn(1), 1, 1, create("/p", "v0", CreateMode::Persistent, 0));
    sim.beat();
    sim.take(conn(1));
    let calls = [
        (2, sync("/p")),
        (3, Call::Op(get("/p"))),
        (4, Call::Op(set("/p", "v1", -1))),
        (5, Call::Op(get("/p"))),
    ];
    for (xid, call) in calls {
        sim.deliver(conn(1), 1, request(xid, call, false));
    }
    let index = |(_, _, m): &Sent| matches!(m, ZkMsg::SyncIndex { .. });
    let late = run_holding(&mut sim, index);
    assert_eq!(late.len(), 1, "the leader's answer to the sync is held");
    let read = |data: &str| Some(data.to_string());
    let expected = [(2, None), (3, read("v0")), (4, None), (5, read("v1"))];
    assert_eq!(replies(&sim.take(conn(1))), expected);
    sim.net.extend(late);
    sim.run();
    assert!(sim.take(conn(1)).is_empty(), "a sync is answered once");
}

/// A sync whose ask was lost is asked again once it has waited a whole resend period,
/// with no write of its connection stalled beside it, and is answered once.
#[test]
fn a_lost_ask_is_asked_again_and_answered_once() {
    let rules = SessionRules {
        resend_after: Some(Duration::from_millis(200)..Duration::from_millis(200)),
        ..SessionRules::default()
    };
    let mut sim = Sim::elected(3, rules, None);
    sim.open(conn(1), 1);
    sim.deliver(conn(1), 1, request(1, sync("/"), false));
    let lost = |(_, _, m): &Sent| matches!(m, ZkMsg::SyncAsk { .. });
    assert_eq!(run_holding(&mut sim, lost).len(), 1, "the ask is lost");
    sim.beat();
    sim.resend(1);
    assert!(sim.take(conn(1)).is_empty(), "not a whole period yet");
    sim.resend(1);
    sim.beat();
    assert_eq!(replies(&sim.take(conn(1))), [(1, None)]);
    sim.resend(1);
    sim.resend(1);
    sim.beat();
    assert!(sim.take(conn(1)).is_empty(), "answered once");
}

#[test]
fn a_new_leader_commits_a_no_op_of_its_term_for_a_sync_rather_than_wait_for_a_write() {
    let rules = SessionRules {
        genesis: vec![77],
        ..SessionRules::default()
    };
    let mut sim = Sim::elected(3, rules.clone(), None);
    sim.open(conn(2), 0);
    let write = Call::Op(create("/x", "1", CreateMode::Persistent, 0));
    sim.deliver(conn(2), 0, request(1, write, false));
    let notices = |(src, _, m): &Sent| {
        usize::from(*src) == 0
            && matches!(m, ZkMsg::Peer(Msg::Append { entries, .. }) if entries.is_empty())
    };
    run_holding(&mut sim, notices);
    let s1 = &sim.states[1].raft;
    assert!(
        s1.commit < s1.last_index(),
        "server 1 has not learned the last commit"
    );
    sim.fire(1, ZkTimer::Raft(RaftTimer::Election));
    run_holding(&mut sim, |_| false);
    assert!(sim.states[1].raft.is_leader());
    let passwd = password(&rules.secret, 77);
    sim.send(conn(1), 1, connect(77, passwd, 0));
    sim.take(conn(1));
    sim.deliver(conn(1), 1, request(1, sync("/x"), false));
    sim.deliver(conn(1), 1, request(2, Call::Op(get("/x")), false));
    sim.run();
    assert_eq!(
        replies(&sim.take(conn(1))),
        [(1, None), (2, Some("1".into()))]
    );
    let s1 = &sim.states[1].raft;
    let last = s1.log.get(s1.last_index()).unwrap();
    assert_eq!((last.term, &last.op), (2, &Payload::Noop));
}
